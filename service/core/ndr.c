/* Building delivery status notifications with GMime (see ndr.h). */
#include "ndr.h"

#include <ctype.h>
#include <gmime/gmime.h>

#include "mail-parse.h"

static void gobject_unrefp(void *p)
{
        if (*(void **) p)
                g_object_unref(*(void **) p);
}
#define _cleanup_gobject_ _cleanup_(gobject_unrefp)

static void g_date_time_unref_safe(GDateTime **p)
{
        if (*p)
                g_date_time_unref(*p);
}

static void gfreep(void *p)
{
        g_free(*(void **) p);
}
#define _cleanup_gfree_ _cleanup_(gfreep)

const char *ndr_status_code(const char *text, char *buf, size_t size)
{
        /* class "." subject "." detail, each part digits, class 2, 4 or 5. */
        for (const char *p = text; p && *p; p++) {
                if ((p != text && !isspace((unsigned char) p[-1])) || !strchr("245", *p) ||
                    p[1] != '.')
                        continue;
                const char *q = p + 2;
                size_t subject = strspn(q, "0123456789");
                if (subject == 0 || subject > 3 || q[subject] != '.')
                        continue;
                q += subject + 1;
                size_t detail = strspn(q, "0123456789");
                if (detail == 0 || detail > 3 || (q[detail] && !isspace((unsigned char) q[detail])))
                        continue;
                snprintf(buf, size, "%.*s", (int) (q + detail - p), p);
                return buf;
        }
        snprintf(buf, size, "5.0.0");
        return buf;
}

/* The original's header section, which the report quotes. */
static size_t header_length(const char *data, size_t size)
{
        for (size_t i = 0; i + 1 < size; i++) {
                if (data[i] == '\n' && data[i + 1] == '\n')
                        return i + 1;
                if (data[i] == '\n' && data[i + 1] == '\r' && i + 2 < size && data[i + 2] == '\n')
                        return i + 1;
        }
        return size;
}

static GMimePart *part_with_content(const char *type, const char *subtype, const char *data,
                                    size_t size)
{
        GMimePart *part = g_mime_part_new_with_type(type, subtype);
        _cleanup_gobject_ GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
        _cleanup_gobject_ GMimeDataWrapper *wrapper =
            g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
        g_mime_part_set_content(part, wrapper);
        return part;
}

static const char *recipient_diagnostic(const struct ndr_input *in, size_t i)
{
        return in->diagnostics && in->diagnostics[i] && in->diagnostics[i][0]
                   ? in->diagnostics[i]
                   : strempty(in->diagnostic);
}

/* An RFC 5322 date-time, or NULL when GLib cannot represent the time (after
 * the year 9999, such as a "never" of UINT64_MAX). */
static char *format_date(uint64_t usec)
{
        _cleanup_(g_date_time_unref_safe) GDateTime *t =
            g_date_time_new_from_unix_utc((gint64) (usec / USEC_PER_SEC));
        return t ? g_mime_utils_header_format_date(t) : NULL;
}

static const char *recipient_status(const struct ndr_input *in, const char *why, char *buf,
                                    size_t size)
{
        switch (in->action) {
        case NDR_FAILED:
                break;
        case NDR_DELAYED:
                /* A delayed recipient's status is transient, class 4 (RFC
                 * 3464 2.3.3). A 5.x.x in the text is a permanent reply we are
                 * retrying anyway: turning it into 4.x.x would put words in the
                 * server's mouth, so only "transient, other" is said and the
                 * reply itself goes in Diagnostic-Code. */
                ndr_status_code(why, buf, size);
                if (buf[0] != '4')
                        snprintf(buf, size, "4.0.0");
                return buf;
        case NDR_EXPIRED:
                /* RFC 3463: delivery time expired. What went wrong on the way
                 * stays in Diagnostic-Code. */
                return "4.4.7";
        }
        return ndr_status_code(why, buf, size);
}

static char *delivery_status(const struct ndr_input *in, const char *retry_until)
{
        static const char *const actions[] = {
            [NDR_FAILED] = "failed",
            [NDR_DELAYED] = "delayed",
            [NDR_EXPIRED] = "failed",
        };
        _cleanup_gfree_ char *date = format_date(in->submitted_usec);
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "Reporting-MTA: dns; %s\r\n", in->reporting_host);
        if (date)
                g_string_append_printf(s, "Arrival-Date: %s\r\n", date);
        for (size_t i = 0; in->recipients && in->recipients[i]; i++) {
                char status[32];
                const char *why = recipient_diagnostic(in, i);
                g_string_append_printf(s,
                                       "\r\nFinal-Recipient: rfc822; %s\r\n"
                                       "Action: %s\r\n"
                                       "Status: %s\r\n",
                                       in->recipients[i], actions[in->action],
                                       recipient_status(in, why, status, sizeof(status)));
                /* Failed reports have always carried the field, even empty,
                 * and keep doing so; the other kinds leave the optional field
                 * (RFC 3464 2.3.6) out when there is nothing to say. */
                if (why[0] || in->action == NDR_FAILED)
                        g_string_append_printf(s, "Diagnostic-Code: smtp; %s\r\n", why);
                /* RFC 3464 2.3.7: only with Action: delayed. */
                if (retry_until && in->action == NDR_DELAYED)
                        g_string_append_printf(s, "Will-Retry-Until: %s\r\n", retry_until);
        }
        return g_string_free(s, FALSE);
}

static void append_recipients(GString *s, const struct ndr_input *in)
{
        for (size_t i = 0; in->recipients && in->recipients[i]; i++) {
                const char *why = recipient_diagnostic(in, i);
                /* As in Diagnostic-Code, failed reports keep their old shape. */
                if (why[0] || in->action == NDR_FAILED)
                        g_string_append_printf(s, "  %s: %s\n", in->recipients[i], why);
                else
                        g_string_append_printf(s, "  %s\n", in->recipients[i]);
        }
}

static char *explanation(const struct ndr_input *in, const char *retry_until)
{
        GString *s = g_string_new("This is the mail spooler on ");
        g_string_append_printf(s, "%s.\n\n", in->reporting_host);
        switch (in->action) {
        case NDR_FAILED:
                g_string_append(s, "Your message could not be delivered to the following "
                                   "recipients and will not be tried again:\n\n");
                append_recipients(s, in);
                break;
        case NDR_DELAYED:
                /* Senders read "delivery problem" as "send it again"; say
                 * first that it is not lost and they need not act. */
                g_string_append(s, "Your message has NOT been delivered yet to the following "
                                   "recipients. It is still being retried: there is nothing "
                                   "you need to do, and no need to send it again.\n\n");
                append_recipients(s, in);
                if (retry_until)
                        g_string_append_printf(s,
                                               "\nThe spooler will keep trying until %s; "
                                               "after that it gives up.\n",
                                               retry_until);
                else
                        g_string_append(s, "\nThe spooler will keep trying for a while before "
                                           "it gives up.\n");
                break;
        case NDR_EXPIRED:
                g_string_append(s, "Your message could not be delivered to the following "
                                   "recipients within the time it was allowed, and will not "
                                   "be tried again:\n\n");
                append_recipients(s, in);
                break;
        }
        g_string_append(s, "\nThe header of your message follows.\n");
        return g_string_free(s, FALSE);
}

int ndr_build(const struct ndr_input *in, char **ret, size_t *ret_size)
{
        static const char *const subjects[] = {
            [NDR_FAILED] = "Undelivered Mail Returned to Sender",
            [NDR_DELAYED] = "Delayed Mail (still being retried)",
            [NDR_EXPIRED] = "Undelivered Mail: delivery time expired",
        };
        /* The tables here and in delivery_status() are indexed by it. */
        if ((unsigned) in->action >= ELEMENTSOF(subjects))
                return -EINVAL;

        gmime_init_once();

        _cleanup_gobject_ GMimeMessage *msg = g_mime_message_new(TRUE);
        _cleanup_free_ char *daemon_address = NULL;
        if (asprintf(&daemon_address, "MAILER-DAEMON@%s", in->reporting_host) < 0)
                return -ENOMEM;
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, "Mail Delivery System",
                                   daemon_address);
        if (in->sender && in->sender[0])
                g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, in->sender);
        g_mime_message_set_subject(msg, subjects[in->action], "utf-8");
        _cleanup_(g_date_time_unref_safe) GDateTime *now = g_date_time_new_now_utc();
        g_mime_message_set_date(msg, now);
        _cleanup_gfree_ char *message_id = g_mime_utils_generate_message_id(in->reporting_host);
        g_mime_message_set_message_id(msg, message_id);

        _cleanup_gobject_ GMimeMultipart *report = g_mime_multipart_new_with_subtype("report");
        g_mime_object_set_content_type_parameter(GMIME_OBJECT(report), "report-type",
                                                 "delivery-status");

        _cleanup_gfree_ char *retry_until = in->action == NDR_DELAYED && in->retry_until_usec
                                                ? format_date(in->retry_until_usec)
                                                : NULL;
        _cleanup_gfree_ char *text = explanation(in, retry_until);
        _cleanup_gobject_ GMimeTextPart *human = g_mime_text_part_new_with_subtype("plain");
        g_mime_text_part_set_text(human, text);
        g_mime_multipart_add(report, GMIME_OBJECT(human));

        _cleanup_gfree_ char *fields = delivery_status(in, retry_until);
        _cleanup_gobject_ GMimePart *machine =
            part_with_content("message", "delivery-status", fields, strlen(fields));
        g_mime_multipart_add(report, GMIME_OBJECT(machine));

        _cleanup_gobject_ GMimePart *headers = part_with_content(
            "text", "rfc822-headers", in->original, header_length(in->original, in->original_size));
        g_mime_multipart_add(report, GMIME_OBJECT(headers));

        g_mime_message_set_mime_part(msg, GMIME_OBJECT(report));
        _cleanup_gfree_ char *out = g_mime_object_to_string(GMIME_OBJECT(msg), NULL);
        if (!out)
                return -ENOMEM;
        /* Our callers free() what they get. */
        *ret_size = strlen(out);
        *ret = strdup(out);
        if (!*ret)
                return -ENOMEM;
        return 0;
}
