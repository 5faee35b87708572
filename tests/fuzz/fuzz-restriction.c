/* Fuzz target: the status-table restriction of QueryStatusTable, an array of
 * (column, op, variant) from any client. The input is split on NUL bytes into
 * triples "column", "op", "T value" (T the variant's type character). Checks
 * that a term is either made or refused with a named MAPI code, and that
 * matching never reads outside the row. */
#include <assert.h>

#include "status-table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *copy = malloc(size + 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        copy[size] = '\0';

        const struct status_row row = {
            .entry_id = "/org/mailspool/Spool1/transport/work",
            .row_id = 1,
            .object_type = 0,
            .resource_type = 36,
            .display_name = "Work mail",
            .provider_display = "SMTP",
            .resource_methods = 0xd,
            .resource_flags = 1,
            .status_code = 0x100001,
            .status_string = "Ready",
            .identity_display = "alice@example.org",
        };
        /* restriction_terms_free() frees the array too. */
        struct restriction_term *terms = calloc(8, sizeof(*terms));
        size_t n = 0;
        if (!terms) {
                free(copy);
                return 0;
        }
        char *p = copy, *end = copy + size;
        while (p < end && n < 8) {
                const char *column = p;
                p += strlen(p) + 1;
                const char *op = p < end ? p : "";
                p += p < end ? strlen(p) + 1 : 0;
                const char *value = p < end ? p : "";
                p += p < end ? strlen(p) + 1 : 0;

                char type = value[0] ? value[0] : 'u';
                const char *text = value[0] ? value + 1 : "";
                uint32_t u = (uint32_t) strtoul(text, NULL, 0);
                const void *v = type == 'u' ? (const void *) &u : (const void *) &text;
                enum mapi_error code = 0;
                char *error = NULL;
                int r = restriction_term_make(column, op, type, v, &terms[n], &code, &error);
                if (r == 0)
                        n++;
                else {
                        assert(r == -ENOENT || r == -EINVAL || r == -ENOMEM);
                        assert(r == -ENOMEM || (code != 0 && error != NULL));
                }
                free(error);
        }
        (void) restriction_match(&row, terms, n);
        restriction_terms_free(terms, n);
        free(copy);
        return 0;
}
