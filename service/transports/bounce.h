/* The bounce side of delivery: when a message fails for good, its owner gets
 * a non-delivery report (built by core/ndr.c) in the failing transport's
 * inbound store. This file gathers what the report says; the transport keeps
 * it like any message that comes in. */
#pragma once

#include "ndr.h"
#include "store.h"

struct bounce {
        char *report; /* the whole report, an RFC 5322 message */
        size_t size;
        char *source_key; /* one report per message and first refused recipient */
        char *file_name;  /* its Maildir file name */
        uid_t owner;      /* the failed message's owner */
};
void bounce_clear(struct bounce *b);

/* The report of message id (action: it failed, expired, or is delayed and
 * tried until retry_until) for recipients (NULL: all of its recipients)
 * with error, or with diagnostics[i] for recipients[i]. */
int bounce_build(struct store *store, uint64_t id, enum ndr_action action, uint64_t retry_until,
                 const char *error, char *const *recipients, char *const *diagnostics,
                 struct bounce *ret);
