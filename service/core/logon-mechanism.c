/* The mechanism of a logon command (see logon-mechanism.h). */
#include "logon-mechanism.h"

#include <strings.h>

static bool is_mechanism_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
}

/* The word at line[*i], if it is word (any case) followed by a space or the
 * end of the line; *i then moves past the space. */
static bool skip_word(const char *line, size_t size, size_t *i, const char *word)
{
        size_t n = strlen(word);
        if (size - *i < n || strncasecmp(line + *i, word, n) != 0)
                return false;
        size_t end = *i + n;
        if (end < size && line[end] != ' ' && line[end] != '\r' && line[end] != '\n')
                return false;
        *i = end < size && line[end] == ' ' ? end + 1 : end;
        return true;
}

/* Copies the SASL name at line[i] into buf; false if there is none. */
static bool copy_mechanism(const char *line, size_t size, size_t i, char *buf)
{
        size_t n = 0;
        while (i + n < size && is_mechanism_char(line[i + n])) {
                if (n == LOGON_MECHANISM_MAX)
                        return false;
                n++;
        }
        if (n == 0)
                return false;
        for (size_t k = 0; k < n; k++) {
                char c = line[i + k];
                buf[k] = c >= 'a' && c <= 'z' ? (char) (c - 'a' + 'A') : c;
        }
        buf[n] = '\0';
        return true;
}

bool logon_mechanism_of_line(const char *line, size_t size, char *buf)
{
        size_t i = 0;
        if (skip_word(line, size, &i, "AUTH"))
                return copy_mechanism(line, size, i, buf);
        if (skip_word(line, size, &i, "USER")) {
                strcpy(buf, "USER");
                return true;
        }
        /* IMAP: a tag first. */
        while (i < size && line[i] != ' ' && line[i] != '\r' && line[i] != '\n')
                i++;
        if (i == 0 || i >= size || line[i] != ' ')
                return false;
        i++;
        if (skip_word(line, size, &i, "AUTHENTICATE"))
                return copy_mechanism(line, size, i, buf);
        if (skip_word(line, size, &i, "LOGIN")) {
                strcpy(buf, "LOGIN");
                return true;
        }
        return false;
}
