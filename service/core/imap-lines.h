/* What an IMAP server says on a session kept open to wait for new mail
 * (IDLE, RFC 2177): its bytes cut into responses, and the few responses such
 * a session acts on. Pure parsing of untrusted text: a response longer than
 * IMAP_LINE_MAX keeps only its start, and a literal ("{N}" at a line's end,
 * RFC 3501 section 4.3) is skipped whatever its size, so memory stays
 * bounded; no bus, no loop, no store. */
#pragma once

#include "util.h"

#define IMAP_LINE_MAX 8192

struct imap_line_reader {
        char line[IMAP_LINE_MAX + 1];
        size_t size;
        bool overlong; /* the response at hand outgrew line: its tail is dropped */
        /* The last bytes of the line at hand, kept even when it is
         * overlong: where a literal's "{N}" is looked for. */
        char tail[24];
        size_t tail_size;
        uint64_t literal; /* bytes of a literal still to skip */
};

/* Called for each whole response: its text (NUL-terminated, without the
 * CRLF and with its literals left out), its size and whether its tail was
 * dropped. A negative return stops the reading with that value. */
typedef int (*imap_line_fn)(const char *line, size_t size, bool overlong, void *userdata);

/* Feeds n bytes the server sent. Returns 0, or fn's negative return. */
int imap_line_reader_feed(struct imap_line_reader *r, const char *data, size_t n, imap_line_fn fn,
                          void *userdata);

enum imap_response_kind {
        IMAP_RESPONSE_OTHER,
        IMAP_RESPONSE_CONTINUE,   /* "+ ...": the server waits (IDLE: idling) */
        IMAP_RESPONSE_EXISTS,     /* "* N EXISTS" */
        IMAP_RESPONSE_EXPUNGE,    /* "* N EXPUNGE" */
        IMAP_RESPONSE_BYE,        /* "* BYE ...": the server closes the session */
        IMAP_RESPONSE_CAPABILITY, /* "* CAPABILITY ..." */
        IMAP_RESPONSE_TAGGED,     /* "TAG OK|NO|BAD ...", tag the one asked for */
};

struct imap_response {
        enum imap_response_kind kind;
        uint64_t number; /* EXISTS, EXPUNGE */
        bool ok;         /* TAGGED: OK (else NO or BAD) */
        bool idle;       /* CAPABILITY: IDLE is among them */
};

/* Reads a response from imap_line_reader_feed(); tag is the tag of the
 * command waiting for its answer ("" for none). */
void imap_response_read(const char *line, size_t size, const char *tag, struct imap_response *ret);
