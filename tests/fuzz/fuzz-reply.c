/* Fuzz target: a server's reply lines as the transports keep them, and any
 * text the daemon puts on the bus. The input is split on '\n' into lines fed
 * to the SMTP reply keeper and to the EHLO offers; the whole input also goes
 * through the UTF-8 repair, and, as a message, through the DATA encoding.
 * Checks what the bus needs: valid UTF-8, no control character, and a cut
 * that never falls inside a character; and that no message ends DATA early:
 * the only line of a lone "." is the last. */
#include <assert.h>

#include "smtp-data.h"
#include "smtp-reply.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void assert_line_text(const char *s)
{
        assert(utf8_is_valid(s));
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                assert(*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct smtp_reply r = {};
        struct smtp_caps caps = {};
        const char *text = (const char *) data;
        size_t start = 0;
        for (size_t i = 0; i <= size; i++)
                if (i == size || text[i] == '\n') {
                        smtp_reply_feed(&r, text + start, i - start);
                        smtp_caps_feed(&caps, text + start, i - start);
                        assert_line_text(r.text);
                        start = i + 1;
                }

        char *out = NULL;
        size_t out_size = 0;
        struct smtp_data_traits traits;
        if (smtp_data_encode(text, size, &out, &out_size, &traits) == 0) {
                assert(out_size >= 3 && memcmp(out + out_size - 3, ".\r\n", 3) == 0);
                assert(out_size == 3 ||
                       (out_size >= 5 && out[out_size - 4] == '\n' && out[out_size - 5] == '\r'));
                const char *end = memmem(out, out_size, "\r\n.\r\n", 5);
                assert(!end || end == out + out_size - 5);
                assert(out_size == 3 || memcmp(out, ".\r\n", 3) != 0);
                free(out);
        }

        char small[7];
        utf8_copy_line(small, sizeof(small), text, size);
        assert_line_text(small);

        char *copy = strndup(text, size); /* up to the first NUL, as a C string */
        if (!copy)
                return 0;
        char *valid = utf8_make_valid(copy);
        assert(valid && utf8_is_valid(valid));
        if (utf8_is_valid(copy))
                assert(strcmp(copy, valid) == 0); /* valid text is left alone */
        free(valid);
        free(copy);
        return 0;
}
