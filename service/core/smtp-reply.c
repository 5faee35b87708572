/* Keeping an SMTP server's last reply (see smtp-reply.h). */
#include "smtp-reply.h"

#include <ctype.h>
#include <stdio.h>

#include "utf8.h"

void smtp_reply_feed(struct smtp_reply *r, const char *line, size_t size)
{
        while (size > 0 && (line[size - 1] == '\n' || line[size - 1] == '\r'))
                size--;
        if (size < 3 || !isdigit((unsigned char) line[0]) || !isdigit((unsigned char) line[1]) ||
            !isdigit((unsigned char) line[2]))
                return; /* not a reply line */
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        /* The refusal is what matters, not the "221 Bye" that follows it. */
        if (r->code >= 400 && code < 400)
                return;
        /* Control characters and invalid UTF-8 from the wire never reach a
         * log or a property. */
        utf8_copy_line(r->text, sizeof(r->text), line, size);
        r->code = code;
}

enum smtp_reply_class smtp_reply_class(long code)
{
        if (code >= 200 && code < 400)
                return SMTP_REPLY_POSITIVE;
        if (code >= 400 && code < 500)
                return SMTP_REPLY_TRANSIENT;
        if (code >= 500 && code < 600)
                return SMTP_REPLY_PERMANENT;
        return SMTP_REPLY_NONE;
}
