/* Fuzz target: a submitted message as a client could send it (Submit and
 * SubmitData), and a downloaded one. Beyond "no crash, no leak", checks what
 * the daemon relies on: an accepted message has a valid sender and at least
 * one recipient, every recipient valid, and no Bcc field left to send. */
#include <assert.h>
#include <strings.h>

#include "mail-parse.h"

/* A header field name at the start of a line of the header section. */
static bool header_present(const char *data, size_t size, const char *name)
{
        size_t n = strlen(name);
        const char *p = data, *end = data + size;
        while (p < end) {
                if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
                        return false; /* end of the header section */
                if ((size_t) (end - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':')
                        return true;
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        return false;
                p = nl + 1;
        }
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct parsed_mail m = {0};
        char *error = NULL;
        int r = mail_parse(data, size, NULL, NULL, &m, &error);
        if (r == 0) {
                assert(m.sender && mail_address_is_valid(m.sender));
                assert(m.recipients && m.recipients[0]);
                STRV_FOREACH (rcpt, m.recipients)
                        assert(mail_address_is_valid(*rcpt));
                assert(m.data && m.size <= size);
                assert(!header_present(m.data, m.size, "Bcc"));
                assert(m.subject && m.message_id && m.from);
        } else
                assert(r == -EINVAL ? error != NULL : true);
        parsed_mail_clear(&m);
        free(error);

        error = NULL;
        r = mail_parse_inbound(data, size, &m, &error);
        if (r == 0)
                assert(m.subject && m.message_id && !m.data);
        parsed_mail_clear(&m);
        free(error);

        /* A local submission completed with what it lacks: after that, it
         * lacks nothing of it, and the original follows the added fields. */
        unsigned missing = 0;
        if (mail_missing_fields(data, size, &missing) == 0 && missing) {
                void *done = NULL;
                size_t done_size = 0;
                assert(mail_prepend_fields(data, size, missing, "a@example.org", "example.org",
                                           UINT64_C(1796000000000000), &done, &done_size) == 0);
                assert(done_size > size &&
                       memcmp((char *) done + done_size - size, data, size) == 0);
                unsigned still = 0;
                if (mail_missing_fields(done, done_size, &still) == 0)
                        assert(still == 0);
                free(done);
        }
        return 0;
}
