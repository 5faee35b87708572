#include "utf8.h"

#define REPLACEMENT     "\xEF\xBF\xBD" /* U+FFFD */
#define REPLACEMENT_LEN 3

/* Length of the valid UTF-8 character at s (at most n bytes), or 0 if the
 * bytes there are not one (overlong forms, surrogates and values past
 * U+10FFFF included). */
static size_t char_length(const unsigned char *s, size_t n)
{
        if (n == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        size_t len;
        uint32_t min, c;
        if ((s[0] & 0xE0) == 0xC0)
                len = 2, min = 0x80, c = s[0] & 0x1F;
        else if ((s[0] & 0xF0) == 0xE0)
                len = 3, min = 0x800, c = s[0] & 0x0F;
        else if ((s[0] & 0xF8) == 0xF0)
                len = 4, min = 0x10000, c = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
                return 0;
        return len;
}

bool utf8_is_valid(const char *s)
{
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);
        while (n > 0) {
                size_t len = char_length(p, n);
                if (len == 0)
                        return false;
                p += len;
                n -= len;
        }
        return true;
}

char *utf8_make_valid(const char *s)
{
        size_t n = strlen(s);
        /* Each invalid byte grows to at most three. */
        char *out = malloc(n * REPLACEMENT_LEN + 1);
        if (!out)
                return NULL;
        const unsigned char *p = (const unsigned char *) s;
        char *o = out;
        while (n > 0) {
                size_t len = char_length(p, n);
                if (len == 0) {
                        memcpy(o, REPLACEMENT, REPLACEMENT_LEN);
                        o += REPLACEMENT_LEN;
                        len = 1;
                } else {
                        memcpy(o, p, len);
                        o += len;
                }
                p += len;
                n -= len;
        }
        *o = '\0';
        return out;
}

int utf8_make_valid_in_place(char **s)
{
        if (!*s || utf8_is_valid(*s))
                return 0;
        char *valid = utf8_make_valid(*s);
        if (!valid)
                return -ENOMEM;
        free(*s);
        *s = valid;
        return 0;
}

void utf8_copy_line(char *dst, size_t size, const char *src, size_t n)
{
        const unsigned char *p = (const unsigned char *) src;
        size_t used = 0;
        while (n > 0) {
                size_t len = char_length(p, n);
                const char *piece = (const char *) p;
                size_t piece_len = len;
                char space = ' ';
                if (len == 0) {
                        piece = REPLACEMENT;
                        piece_len = REPLACEMENT_LEN;
                        len = 1;
                } else if (len == 1 && (*p < 0x20 || *p == 0x7f)) {
                        piece = &space;
                }
                if (used + piece_len > size - 1)
                        break; /* whole characters only */
                memcpy(dst + used, piece, piece_len);
                used += piece_len;
                p += len;
                n -= len;
        }
        dst[used] = '\0';
}
