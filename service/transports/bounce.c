/* What a non-delivery report says about a failed message: see bounce.h. */
#include "bounce.h"

#include <inttypes.h>

#include "maildir.h"
#include "ndr.h"

/* FNV-1a: a short, stable name for a key in a file name. */
static uint64_t fnv1a64(const char *s)
{
        uint64_t h = UINT64_C(14695981039346656037);
        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return h;
}

void bounce_clear(struct bounce *b)
{
        free(b->report);
        free(b->source_key);
        free(b->file_name);
        *b = (struct bounce){};
}

int bounce_build(struct store *store, uint64_t id, enum ndr_action action, uint64_t retry_until,
                 const char *error, char *const *recipients, char *const *diagnostics,
                 struct bounce *ret)
{
        _cleanup_(msg_record_clear) struct msg_record m = {};
        _cleanup_free_ void *body = NULL;
        _cleanup_free_ char *host = NULL;
        struct bounce b = {};
        size_t size = 0;

        int r = store_get(store, id, &m);
        if (r >= 0)
                r = store_get_body(store, id, &body, &size);
        if (r >= 0)
                r = maildir_hostname(&host);
        if (r < 0)
                return r;
        struct ndr_input in = {
            .action = action,
            .retry_until_usec = retry_until,
            .reporting_host = host,
            .sender = m.sender,
            .recipients = recipients ? recipients : m.recipients,
            .diagnostics = diagnostics,
            .diagnostic = strempty(error),
            .submitted_usec = m.submitted_usec,
            .original = body,
            .original_size = size,
        };
        r = ndr_build(&in, &b.report, &b.size);
        if (r < 0)
                return r;
        /* A refused recipient leaves the message for good, so the first one
         * refused names this report among all of the message's reports. */
        const char *first = recipients && recipients[0] ? recipients[0] : "";
        /* A "delayed" report is one per message, and must not take the
         * name of the final report that may follow it. */
        if (action == NDR_DELAYED ? asprintf(&b.source_key, "delayed:%" PRIu64, id) < 0
                                  : asprintf(&b.source_key, "ndr:%" PRIu64 ":%s", id, first) < 0)
                b.source_key = NULL;
        /* The file name comes from the key too: two reports of one message
         * in one attempt (one recipient refused, another expired) are two
         * files. */
        else if (asprintf(&b.file_name, "%" PRIu64 ".R%" PRIu64 "_%u_%016" PRIx64 ".%s",
                          now_realtime_usec() / USEC_PER_SEC, id, m.attempts, fnv1a64(b.source_key),
                          host) < 0)
                b.file_name = NULL;
        if (!b.source_key || !b.file_name) {
                bounce_clear(&b);
                return -ENOMEM;
        }
        b.owner = m.owner;
        *ret = b;
        return 0;
}
