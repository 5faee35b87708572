/* Delivery status notifications: when a message fails for good, runs out of
 * time, or is still being retried after a while, its sender gets a report in
 * the RFC 3464 shape (multipart/report, report-type delivery-status), built
 * with GMime. */
#pragma once

#include "util.h"

/* What the report tells the sender. */
enum ndr_action {
        /* Refused for good: "Action: failed", the server's status (5.0.0 when
         * it gave none). */
        NDR_FAILED,
        /* Not delivered yet, still being retried: "Action: delayed", a 4.x.x
         * status, and "Will-Retry-Until:" when retry_until_usec is set. */
        NDR_DELAYED,
        /* Given up because the message's ExpiryTime or the QueueLifetime
         * passed: "Action: failed", status 4.4.7 (RFC 3463: delivery time
         * expired). */
        NDR_EXPIRED,
};

struct ndr_input {
        enum ndr_action action;     /* zero: NDR_FAILED */
        const char *reporting_host; /* this machine's name */
        const char *sender;         /* the message's envelope sender; "" for none */
        char *const *recipients;    /* the recipients it has not reached */
        const char *diagnostic;     /* what the server said last, or why we gave up */
        char *const *diagnostics;   /* per recipient, parallel to recipients; NULL: diagnostic */
        uint64_t submitted_usec;    /* when the message was submitted */
        uint64_t retry_until_usec;  /* NDR_DELAYED: when we give up, CLOCK_REALTIME; 0: not said */
        const void *original;       /* the message, whose header is quoted */
        size_t original_size;
};

/* The enhanced status code (RFC 3463) in text such as "550 5.1.1 No such
 * user", copied into buf; "5.0.0" when text holds none. */
const char *ndr_status_code(const char *text, char *buf, size_t size);

/* Builds the report, addressed to in->sender when there is one. The report
 * is kept in the owner's inbound store, never sent, so it cannot loop.
 * -EINVAL for an action not in enum ndr_action. */
int ndr_build(const struct ndr_input *in, char **ret, size_t *ret_size);
