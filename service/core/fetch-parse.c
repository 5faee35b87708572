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
