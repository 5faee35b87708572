#include "imap-lines.h"

#include <ctype.h>
#include <strings.h>

/* The size N of a literal "{N}" or "{N+}" (RFC 7888) ending text; false if
 * text does not end with one. */
static bool literal_at_end(const char *text, size_t size, uint64_t *ret)
{
        if (size < 3 || text[size - 1] != '}')
                return false;
        size_t end = size - 1;
        if (text[end - 1] == '+')
                end--;
        size_t start = end;
        while (start > 0 && isdigit((unsigned char) text[start - 1]))
                start--;
        /* 19 digits always fit in 64 bits. */
        if (start == end || end - start > 19 || start == 0 || text[start - 1] != '{')
                return false;
        uint64_t n = 0;
        for (size_t i = start; i < end; i++)
                n = n * 10 + (uint64_t) (text[i] - '0');
        *ret = n;
        return true;
}

static void append(struct imap_line_reader *r, char c)
{
        if (r->size < IMAP_LINE_MAX)
                r->line[r->size++] = c;
        else
                r->overlong = true;
        if (r->tail_size == sizeof(r->tail)) {
                memmove(r->tail, r->tail + 1, sizeof(r->tail) - 1);
                r->tail_size--;
        }
        r->tail[r->tail_size++] = c;
}

int imap_line_reader_feed(struct imap_line_reader *r, const char *data, size_t n, imap_line_fn fn,
                          void *userdata)
{
        for (size_t i = 0; i < n; i++) {
                if (r->literal > 0) {
                        size_t skip = n - i < r->literal ? n - i : (size_t) r->literal;
                        r->literal -= skip;
                        i += skip - 1;
                        continue;
                }
                if (data[i] != '\n') {
                        append(r, data[i]);
                        continue;
                }
                size_t tail = r->tail_size;
                if (tail > 0 && r->tail[tail - 1] == '\r')
                        tail--;
                if (r->size > 0 && r->line[r->size - 1] == '\r' && !r->overlong)
                        r->size--;
                if (literal_at_end(r->tail, tail, &r->literal)) {
                        /* The response goes on after the literal's bytes,
                         * which are data, not lines. */
                        r->tail_size = 0;
                        continue;
                }
                r->line[r->size] = '\0';
                int k = fn(r->line, r->size, r->overlong, userdata);
                r->size = r->tail_size = 0;
                r->overlong = false;
                if (k < 0)
                        return k;
        }
        return 0;
}

/* The next word of line[*at, size), up to a space; *at moves past it and
 * the space. */
static size_t next_word(const char *line, size_t size, size_t *at, const char **ret)
{
        size_t start = *at, end = start;
        while (end < size && line[end] != ' ')
                end++;
        *ret = line + start;
        *at = end < size ? end + 1 : end;
        return end - start;
}

static bool word_is(const char *word, size_t n, const char *s)
{
        return n == strlen(s) && strncasecmp(word, s, n) == 0;
}

static bool word_number(const char *word, size_t n, uint64_t *ret)
{
        if (n == 0 || n > 19)
                return false;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                if (!isdigit((unsigned char) word[i]))
                        return false;
                v = v * 10 + (uint64_t) (word[i] - '0');
        }
        *ret = v;
        return true;
}

void imap_response_read(const char *line, size_t size, const char *tag, struct imap_response *ret)
{
        *ret = (struct imap_response){.kind = IMAP_RESPONSE_OTHER};
        size_t at = 0;
        const char *first, *second, *third;
        size_t n1 = next_word(line, size, &at, &first);
        size_t n2 = next_word(line, size, &at, &second);

        if (n1 == 1 && first[0] == '+') {
                ret->kind = IMAP_RESPONSE_CONTINUE;
                return;
        }
        /* A tag comes back as it was sent, byte for byte. */
        if (tag[0] && n1 == strlen(tag) && memcmp(first, tag, n1) == 0) {
                if (word_is(second, n2, "OK") || word_is(second, n2, "NO") ||
                    word_is(second, n2, "BAD")) {
                        ret->kind = IMAP_RESPONSE_TAGGED;
                        ret->ok = word_is(second, n2, "OK");
                }
                return;
        }
        if (!(n1 == 1 && first[0] == '*'))
                return;
        if (word_is(second, n2, "BYE")) {
                ret->kind = IMAP_RESPONSE_BYE;
                return;
        }
        if (word_is(second, n2, "CAPABILITY")) {
                ret->kind = IMAP_RESPONSE_CAPABILITY;
                while (at < size) {
                        size_t n = next_word(line, size, &at, &third);
                        if (word_is(third, n, "IDLE"))
                                ret->idle = true;
                }
                return;
        }
        uint64_t number;
        if (!word_number(second, n2, &number))
                return;
        size_t n3 = next_word(line, size, &at, &third);
        if (at < size)
                return; /* "* N EXISTS" has nothing after its word */
        if (word_is(third, n3, "EXISTS"))
                ret->kind = IMAP_RESPONSE_EXISTS;
        else if (word_is(third, n3, "EXPUNGE"))
                ret->kind = IMAP_RESPONSE_EXPUNGE;
        else
                return;
        ret->number = number;
}
