/* Fuzz target: a server's reply lines as the transports keep them, and any
 * text the daemon puts on the bus. The input is split on '\n' into lines fed
 * to the SMTP reply keeper; the whole input also goes through the UTF-8
 * repair. Checks what the bus needs: valid UTF-8, no control character, and
 * a cut that never falls inside a character. */
#include <assert.h>

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
        const char *text = (const char *) data;
        size_t start = 0;
        for (size_t i = 0; i <= size; i++)
                if (i == size || text[i] == '\n') {
                        smtp_reply_feed(&r, text + start, i - start);
                        assert_line_text(r.text);
                        start = i + 1;
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
