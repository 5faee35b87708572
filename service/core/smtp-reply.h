/* The last reply of an SMTP server, as libcurl shows it line by line: kept
 * so that a person reads what the server said ("550 5.1.1 No such user"),
 * and classed by its code (RFC 5321 4.2.1). */
#pragma once

#include <stddef.h>

struct smtp_reply {
        char text[512]; /* the reply's last line, without CRLF; "" if none */
        int code;       /* its three-digit code; 0 if none */
};

enum smtp_reply_class {
        SMTP_REPLY_NONE,      /* no reply: the connection ended first */
        SMTP_REPLY_POSITIVE,  /* 2xx, 3xx */
        SMTP_REPLY_TRANSIENT, /* 4xx: try again later */
        SMTP_REPLY_PERMANENT, /* 5xx: do not try again */
};

/* Takes one line the server sent (with or without CRLF). Continuation lines
 * ("250-...") replace the text too, so the text is the reply's last line;
 * but once a 4xx or 5xx reply is kept, later positive ones ("221 Bye") do not
 * replace it. */
void smtp_reply_feed(struct smtp_reply *r, const char *line, size_t size);
enum smtp_reply_class smtp_reply_class(long code);
