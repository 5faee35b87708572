#include "fetch-parse.h"

#include <ctype.h>

char *fetch_response_code_number(const char *line, size_t size, const char *tag, size_t max_digits)
{
        const char *p = memmem(line, size, tag, strlen(tag));
        if (!p)
                return NULL;
        p += strlen(tag);
        size_t digits = 0;
        while (p + digits < line + size && isdigit((unsigned char) p[digits]))
                digits++;
        return digits > 0 && digits <= max_digits ? strndup(p, digits) : NULL;
}

int fetch_parse_listing(bool imap, char *data, fetch_listing_fn fn, void *userdata)
{
        char *save = NULL;
        for (char *line = strtok_r(data, "\r\n", &save); line;
             line = strtok_r(NULL, "\r\n", &save)) {
                char *fields = NULL;
                if (imap) {
                        if (strncasecmp(line, "* SEARCH", 8) != 0)
                                continue;
                        for (char *word = strtok_r(line + 8, " ", &fields); word;
                             word = strtok_r(NULL, " ", &fields)) {
                                if (strspn(word, "0123456789") != strlen(word))
                                        return -EBADMSG;
                                int r = fn(word, word, userdata);
                                if (r < 0)
                                        return r;
                        }
                } else {
                        char *number = strtok_r(line, " ", &fields);
                        char *uid = strtok_r(NULL, " ", &fields);
                        if (!number || !uid || strspn(number, "0123456789") != strlen(number))
                                continue; /* not a listing line */
                        int r = fn(uid, number, userdata);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The bodies parser reads from here to end; a read past end is -ENOMSG (the
 * rest never came), a wrong byte -EBADMSG. */
struct cursor {
        const char *p, *end;
};

/* Lists nest no deeper than this in a FETCH response (BODYSTRUCTURE of a
 * deep MIME tree is the deepest a server sends unasked). */
#define FETCH_MAX_DEPTH 64
/* Digits of a literal's size or a UID. */
#define FETCH_MAX_DIGITS 10

static bool cursor_at(const struct cursor *c, const char *s)
{
        size_t n = strlen(s);
        return (size_t) (c->end - c->p) >= n && memcmp(c->p, s, n) == 0;
}

static int expect(struct cursor *c, const char *s)
{
        for (; *s; s++, c->p++) {
                if (c->p >= c->end)
                        return -ENOMSG;
                if (*c->p != *s)
                        return -EBADMSG;
        }
        return 0;
}

/* A number of 1 to FETCH_MAX_DIGITS digits. */
static int read_number(struct cursor *c, uint64_t *ret)
{
        uint64_t v = 0;
        size_t digits = 0;
        while (c->p < c->end && isdigit((unsigned char) *c->p)) {
                if (++digits > FETCH_MAX_DIGITS)
                        return -EBADMSG;
                v = v * 10 + (uint64_t) (*c->p++ - '0');
        }
        if (c->p >= c->end)
                return -ENOMSG; /* a number is always followed by something */
        if (digits == 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* "{n}\r\n" and n bytes (also "~{n}" of RFC 3516 and "{n+}" of RFC 7888),
 * at c->p on '{' or '~'; the bytes in *data, *size. */
static int read_literal(struct cursor *c, size_t max, const char **data, size_t *size)
{
        if (c->p < c->end && *c->p == '~')
                c->p++;
        int r = expect(c, "{");
        uint64_t n = 0;
        if (r >= 0)
                r = read_number(c, &n);
        if (r >= 0 && *c->p == '+')
                c->p++;
        if (r >= 0)
                r = expect(c, "}\r\n");
        if (r < 0)
                return r;
        if (n > max)
                return -EBADMSG;
        if ((uint64_t) (c->end - c->p) < n)
                return -ENOMSG;
        *data = c->p;
        *size = (size_t) n;
        c->p += n;
        return 0;
}

/* "..." with \\ and \" inside, no line end. */
static int read_quoted(struct cursor *c, const char **data, size_t *size)
{
        int r = expect(c, "\"");
        if (r < 0)
                return r;
        const char *start = c->p;
        for (; c->p < c->end; c->p++) {
                if (*c->p == '\r' || *c->p == '\n')
                        return -EBADMSG;
                if (*c->p == '\\') {
                        if (++c->p >= c->end)
                                return -ENOMSG;
                        continue;
                }
                if (*c->p == '"') {
                        *data = start;
                        *size = (size_t) (c->p - start);
                        c->p++;
                        return 0;
                }
        }
        return -ENOMSG;
}

static bool atom_char(char ch, int brackets)
{
        /* Inside [...] (BODY[HEADER.FIELDS (FROM)]) spaces and parentheses
         * belong to the name. */
        if (brackets > 0)
                return ch != '\r' && ch != '\n' && ch != ']';
        return ch != ' ' && ch != '(' && ch != ')' && ch != '{' && ch != '"' && ch != '\r' &&
               ch != '\n' && ch != '[' && ch != ']' && (unsigned char) ch >= 0x20 && ch != 0x7f;
}

/* An atom, a number or NIL; or an attribute name such as BODY[] or
 * BODY[HEADER]<0>. Not empty. */
static int read_atom(struct cursor *c, const char **data, size_t *size)
{
        const char *start = c->p;
        int brackets = 0;
        while (c->p < c->end) {
                char ch = *c->p;
                if (ch == '[') {
                        if (brackets++ > 0)
                                return -EBADMSG;
                } else if (ch == ']') {
                        if (brackets-- == 0)
                                return -EBADMSG;
                } else if (!atom_char(ch, brackets))
                        break;
                c->p++;
        }
        if (c->p >= c->end)
                return -ENOMSG;
        if (c->p == start || brackets != 0)
                return -EBADMSG;
        *data = start;
        *size = (size_t) (c->p - start);
        return 0;
}

/* Any value: an atom, a quoted string, a literal or a list of values. A
 * string's bytes in *data, *size (NULL for a list or an atom). */
static int read_value(struct cursor *c, size_t max, unsigned depth, const char **data, size_t *size)
{
        *data = NULL;
        *size = 0;
        if (c->p >= c->end)
                return -ENOMSG;
        if (*c->p == '"')
                return read_quoted(c, data, size);
        if (*c->p == '{' || *c->p == '~')
                return read_literal(c, max, data, size);
        if (*c->p != '(') {
                const char *atom;
                size_t n;
                return read_atom(c, &atom, &n);
        }
        if (depth >= FETCH_MAX_DEPTH)
                return -EBADMSG;
        c->p++;
        for (bool first = true;; first = false) {
                if (c->p >= c->end)
                        return -ENOMSG;
                if (*c->p == ')') {
                        c->p++;
                        return 0;
                }
                int r = first ? 0 : expect(c, " ");
                const char *d;
                size_t n;
                if (r >= 0)
                        r = read_value(c, max, depth + 1, &d, &n);
                if (r < 0)
                        return r;
        }
}

/* "(NAME value NAME value ...)\r\n" after "* n FETCH ". */
static int read_fetch(struct cursor *c, size_t max_body, fetch_body_fn fn, void *userdata)
{
        int r = expect(c, "(");
        if (r < 0)
                return r;
        struct fetch_body body = {0};
        bool have_uid = false, have_body = false;
        for (bool first = true;; first = false) {
                if (c->p >= c->end)
                        return -ENOMSG;
                if (*c->p == ')') {
                        c->p++;
                        break;
                }
                const char *name, *value;
                size_t name_size, value_size;
                r = first ? 0 : expect(c, " ");
                if (r >= 0)
                        r = read_atom(c, &name, &name_size);
                if (r >= 0)
                        r = expect(c, " ");
                if (r < 0)
                        return r;
                if (name_size == 3 && strncasecmp(name, "UID", 3) == 0) {
                        uint64_t uid = 0;
                        r = read_number(c, &uid);
                        if (r < 0)
                                return r;
                        if (uid == 0 || uid > UINT32_MAX)
                                return -EBADMSG;
                        body.uid = uid;
                        have_uid = true;
                        continue;
                }
                r = read_value(c, max_body, 0, &value, &value_size);
                if (r < 0)
                        return r;
                if (name_size == 6 && strncasecmp(name, "BODY[]", 6) == 0 && value) {
                        body.data = value;
                        body.size = value_size;
                        have_body = true;
                }
        }
        r = expect(c, "\r\n");
        if (r < 0)
                return r;
        return have_uid && have_body ? fn(&body, userdata) : 0;
}

/* The rest of a response line that is not a FETCH: text, with a literal
 * wherever a line ends in {n}. */
static int skip_line(struct cursor *c, size_t max)
{
        for (;;) {
                const char *lf = memchr(c->p, '\n', (size_t) (c->end - c->p));
                if (!lf)
                        return -ENOMSG;
                const char *brace = lf;
                if (brace > c->p && brace[-1] == '\r')
                        brace--;
                /* "{" FETCH_MAX_DIGITS digits "+}" at most. */
                const char *open = NULL;
                size_t back = (size_t) (brace - c->p);
                if (back > FETCH_MAX_DIGITS + 3)
                        back = FETCH_MAX_DIGITS + 3;
                if (back >= 3 && brace[-1] == '}')
                        for (size_t i = 2; i <= back; i++)
                                if (brace[-(ptrdiff_t) i] == '{') {
                                        open = brace - i;
                                        break;
                                }
                if (!open) {
                        c->p = lf + 1;
                        return 0;
                }
                c->p = open;
                const char *d;
                size_t n;
                int r = read_literal(c, max, &d, &n);
                if (r < 0)
                        return r;
        }
}

int fetch_parse_bodies(const char *data, size_t size, const char *tag, size_t max_body,
                       fetch_body_fn fn, void *userdata)
{
        struct cursor c = {data, data + size};
        size_t tag_size = strlen(tag);
        if (tag_size == 0)
                return -EINVAL;
        while (c.p < c.end) {
                int r;
                if ((size_t) (c.end - c.p) > tag_size && memcmp(c.p, tag, tag_size) == 0 &&
                    c.p[tag_size] == ' ') {
                        c.p += tag_size + 1;
                        /* The tagged line must be whole: else it was cut. */
                        if (!memchr(c.p, '\n', (size_t) (c.end - c.p)))
                                return -ENOMSG;
                        /* NO, BAD, or anything else: refused. */
                        return cursor_at(&c, "OK ") || cursor_at(&c, "OK\r") ? 0 : -EBADMSG;
                }
                r = expect(&c, "* ");
                if (r < 0)
                        return r;
                const char *number_start = c.p;
                uint64_t n;
                if (c.p < c.end && isdigit((unsigned char) *c.p) && read_number(&c, &n) >= 0 &&
                    cursor_at(&c, " FETCH ")) {
                        c.p += strlen(" FETCH ");
                        r = read_fetch(&c, max_body, fn, userdata);
                } else {
                        c.p = number_start;
                        r = skip_line(&c, max_body);
                }
                if (r < 0)
                        return r;
        }
        return -ENOMSG;
}
