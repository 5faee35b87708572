/* Non-delivery reports: when a message fails for good, its sender gets a
 * report in the RFC 3464 shape (multipart/report, report-type
 * delivery-status), built with GMime. */
#pragma once

#include "util.h"

struct ndr_input {
        const char *reporting_host; /* this machine's name */
        const char *sender;         /* the failed message's envelope sender; "" for none */
        char *const *recipients;    /* the recipients that did not get it */
        const char *diagnostic;     /* what the server said, or why we gave up */
        char *const *diagnostics;   /* per recipient, parallel to recipients; NULL: diagnostic */
        uint64_t submitted_usec;    /* when the failed message was submitted */
        const void *original;       /* the failed message, whose header is quoted */
        size_t original_size;
};

/* The enhanced status code (RFC 3463) in text such as "550 5.1.1 No such
 * user", copied into buf; "5.0.0" when text holds none. */
const char *ndr_status_code(const char *text, char *buf, size_t size);

/* Builds the report, addressed to in->sender when there is one. The report
 * is kept in the owner's inbound store, never sent, so it cannot loop. */
int ndr_build(const struct ndr_input *in, char **ret, size_t *ret_size);
