/* Keeping an SMTP server's last reply (see smtp-reply.h). */
#include "smtp-reply.h"

#include <ctype.h>
#include <stdio.h>

void smtp_reply_feed(struct smtp_reply *r, const char *line, size_t size)
{
        while (size > 0 && (line[size - 1] == '\n' || line[size - 1] == '\r'))
                size--;
        if (size < 3 || !isdigit((unsigned char) line[0]) || !isdigit((unsigned char) line[1]) ||
            !isdigit((unsigned char) line[2]))
                return; /* not a reply line */
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        /* The refusal is what matters, not the "221 Bye" that follows it. */
        if (r->code >= 400 && code < 400)
                return;
        if (size >= sizeof(r->text))
                size = sizeof(r->text) - 1;
        /* Control characters from the wire never reach a log or a property. */
        for (size_t i = 0; i < size; i++) {
                unsigned char c = (unsigned char) line[i];
                r->text[i] = c < 0x20 || c == 0x7f ? ' ' : (char) c;
        }
        r->text[size] = '\0';
        r->code = code;
}

enum smtp_reply_class smtp_reply_class(long code)
{
        if (code >= 200 && code < 400)
                return SMTP_REPLY_POSITIVE;
        if (code >= 400 && code < 500)
                return SMTP_REPLY_TRANSIENT;
        if (code >= 500 && code < 600)
                return SMTP_REPLY_PERMANENT;
        return SMTP_REPLY_NONE;
}
