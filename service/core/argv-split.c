/* Splitting a command line into words (see argv-split.h). */
#include "argv-split.h"

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* One word starting at *p (not blank, not the end): its text in a new
 * string; *p moves past it. */
static int next_word(const char **p, char **ret, const char **ret_why)
{
        const char *s = *p;
        size_t n = 0;
        _cleanup_free_ char *word = malloc(strlen(s) + 1);
        if (!word)
                return -ENOMEM;
        while (*s && !is_blank(*s)) {
                char c = *s++;
                if ((unsigned char) c < 0x20 || c == 0x7f) {
                        *ret_why = "a control character in the command";
                        return -EINVAL;
                }
                if (c == '\\') {
                        if (!*s) {
                                *ret_why = "a backslash ends the command";
                                return -EINVAL;
                        }
                        word[n++] = *s++;
                } else if (c == '\'' || c == '"') {
                        for (;;) {
                                if (!*s) {
                                        *ret_why =
                                            c == '\'' ? "a ' is not closed" : "a \" is not closed";
                                        return -EINVAL;
                                }
                                if (*s == c) {
                                        s++;
                                        break;
                                }
                                if (c == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                                        s++;
                                word[n++] = *s++;
                        }
                } else
                        word[n++] = c;
        }
        word[n] = '\0';
        *p = s;
        *ret = TAKE_PTR(word);
        return 0;
}

int argv_split(const char *line, char ***ret, const char **ret_why)
{
        char **words = NULL;
        const char *p = line;
        int r = 0;

        *ret_why = NULL;
        for (;;) {
                while (is_blank(*p))
                        p++;
                if (!*p)
                        break;
                char *word;
                r = next_word(&p, &word, ret_why);
                if (r < 0)
                        break;
                r = strv_push(&words, word);
                if (r < 0)
                        break;
        }
        if (r >= 0 && !words) {
                *ret_why = "no command";
                r = -EINVAL;
        }
        if (r < 0) {
                strv_free(words);
                return r;
        }
        *ret = words;
        return 0;
}
