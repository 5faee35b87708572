/* Non-delivery reports (service/core/ndr.c): the report is read back with GMime
 * and checked part by part against RFC 3464's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <gmime/gmime.h>

#include "mail-parse.h"
#include "ndr.h"

static const char original[] = "From: Alice <alice@example.org>\n"
                               "To: bob@example.org\n"
                               "Subject: Quarterly figures\n"
                               "Message-ID: <q3@example.org>\n"
                               "\n"
                               "The secret body must not be quoted.\n";

static char *const recipients[] = {"bob@example.org", "carol@example.net", NULL};

static GMimeMessage *parse(const char *data, size_t size)
{
        GMimeStream *stream = g_mime_stream_mem_new_with_buffer(data, size);
        GMimeParser *parser = g_mime_parser_new_with_stream(stream);
        GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
        g_object_unref(parser);
        g_object_unref(stream);
        assert_non_null(msg);
        return msg;
}

static char *part_text(GMimeObject *part)
{
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(part));
        GMimeStream *out = g_mime_stream_mem_new();
        g_mime_data_wrapper_write_to_stream(content, out);
        GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
        char *text = g_strndup((const char *) bytes->data, bytes->len);
        g_object_unref(out);
        return text;
}

static void test_report_shape(void **state)
{
        struct ndr_input in = {
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = recipients,
            .diagnostic = "127.0.0.1:25 refused the message: 550 5.1.1 No such user",
            .submitted_usec = UINT64_C(1700000000000000),
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        char *report = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(&in, &report, &size), 0);
        assert_int_equal(strlen(report), size);

        GMimeMessage *msg = parse(report, size);
        InternetAddressList *to = g_mime_message_get_to(msg);
        assert_int_equal(internet_address_list_length(to), 1);
        assert_string_equal(internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
                            "alice@example.org");
        assert_non_null(strstr(g_mime_message_get_subject(msg), "Undelivered"));

        GMimeObject *body = g_mime_message_get_mime_part(msg);
        GMimeContentType *type = g_mime_object_get_content_type(body);
        assert_true(g_mime_content_type_is_type(type, "multipart", "report"));
        assert_string_equal(g_mime_content_type_get_parameter(type, "report-type"),
                            "delivery-status");
        GMimeMultipart *mp = GMIME_MULTIPART(body);
        assert_int_equal(g_mime_multipart_get_count(mp), 3);

        GMimeObject *human = g_mime_multipart_get_part(mp, 0);
        assert_true(
            g_mime_content_type_is_type(g_mime_object_get_content_type(human), "text", "plain"));
        char *text = part_text(human);
        assert_non_null(strstr(text, "carol@example.net"));
        assert_non_null(strstr(text, "550 5.1.1 No such user"));
        g_free(text);

        GMimeObject *status = g_mime_multipart_get_part(mp, 1);
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(status), "message",
                                                "delivery-status"));
        char *fields = part_text(status);
        assert_non_null(strstr(fields, "Reporting-MTA: dns; spool.example.org"));
        assert_non_null(strstr(fields, "Final-Recipient: rfc822; bob@example.org"));
        assert_non_null(strstr(fields, "Final-Recipient: rfc822; carol@example.net"));
        assert_non_null(strstr(fields, "Action: failed"));
        assert_non_null(strstr(fields, "Status: 5.1.1"));
        g_free(fields);

        GMimeObject *headers = g_mime_multipart_get_part(mp, 2);
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(headers), "text",
                                                "rfc822-headers"));
        char *quoted = part_text(headers);
        assert_non_null(strstr(quoted, "Subject: Quarterly figures"));
        assert_null(strstr(quoted, "secret body"));
        g_free(quoted);

        g_object_unref(msg);
        free(report);
}

static void test_no_sender_still_reports(void **state)
{
        struct ndr_input in = {
            .reporting_host = "h",
            .sender = "",
            .recipients = recipients,
            .diagnostic = "gave up",
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        char *report = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(&in, &report, &size), 0);
        GMimeMessage *msg = parse(report, size);
        assert_int_equal(internet_address_list_length(g_mime_message_get_to(msg)), 0);
        g_object_unref(msg);
        free(report);
}

/* What a failed report said before delayed and expired reports existed: an
 * input that does not set .action must keep getting exactly this (as read
 * back: GMime writes the part with \n line ends). */
static const char failed_text[] =
    "This is the mail spooler on spool.example.org.\n"
    "\n"
    "Your message could not be delivered to the following recipients and will not be tried "
    "again:\n"
    "\n"
    "  bob@example.org: 451 4.2.2 Mailbox full\n"
    "  carol@example.net: 127.0.0.1:25 refused the message: 550 5.1.1 No such user\n"
    "\n"
    "The header of your message follows.\n";

static const char failed_fields[] =
    "Reporting-MTA: dns; spool.example.org\n"
    "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
    "\n"
    "Final-Recipient: rfc822; bob@example.org\n"
    "Action: failed\n"
    "Status: 4.2.2\n"
    "Diagnostic-Code: smtp; 451 4.2.2 Mailbox full\n"
    "\n"
    "Final-Recipient: rfc822; carol@example.net\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Diagnostic-Code: smtp; 127.0.0.1:25 refused the message: 550 5.1.1 No such user\n";

static void check_failed_unchanged(const struct ndr_input *in)
{
        char *report = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(in, &report, &size), 0);
        GMimeMessage *msg = parse(report, size);
        assert_string_equal(g_mime_message_get_subject(msg), "Undelivered Mail Returned to Sender");
        GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(msg));
        assert_int_equal(g_mime_multipart_get_count(mp), 3);
        char *text = part_text(g_mime_multipart_get_part(mp, 0));
        assert_string_equal(text, failed_text);
        g_free(text);
        char *fields = part_text(g_mime_multipart_get_part(mp, 1));
        assert_string_equal(fields, failed_fields);
        g_free(fields);
        g_object_unref(msg);
        free(report);
}

static void test_failed_report_unchanged(void **state)
{
        static char *const diagnostics[] = {"451 4.2.2 Mailbox full", NULL, NULL};
        struct ndr_input in = {
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = recipients,
            .diagnostic = "127.0.0.1:25 refused the message: 550 5.1.1 No such user",
            .diagnostics = diagnostics,
            .submitted_usec = UINT64_C(1700000000000000),
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        check_failed_unchanged(&in);

        /* Saying it outright changes nothing, nor does a retry time, which
         * only a delayed report may carry (RFC 3464 2.3.7). */
        in.action = NDR_FAILED;
        in.retry_until_usec = UINT64_C(1700432000000000);
        check_failed_unchanged(&in);
}

static void test_failed_report_without_diagnostic_unchanged(void **state)
{
        /* With nothing to say, a failed report still says it, as before. */
        struct ndr_input in = {
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = recipients,
            .diagnostic = "",
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        char *report = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(&in, &report, &size), 0);
        GMimeMessage *msg = parse(report, size);
        GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(msg));
        char *text = part_text(g_mime_multipart_get_part(mp, 0));
        assert_non_null(strstr(text, "\n  bob@example.org: \n  carol@example.net: \n"));
        g_free(text);
        char *fields = part_text(g_mime_multipart_get_part(mp, 1));
        assert_non_null(strstr(fields, "Final-Recipient: rfc822; bob@example.org\n"
                                       "Action: failed\n"
                                       "Status: 5.0.0\n"
                                       "Diagnostic-Code: smtp; \n"));
        g_free(fields);
        g_object_unref(msg);
        free(report);
}

static void test_status_code_found_or_default(void **state)
{
        char buf[32];
        assert_string_equal(ndr_status_code("550 5.1.1 No such user", buf, sizeof(buf)), "5.1.1");
        assert_string_equal(ndr_status_code("x refused: 552 5.3.4 Too big", buf, sizeof(buf)),
                            "5.3.4");
        assert_string_equal(ndr_status_code("452 4.5.3 Too many", buf, sizeof(buf)), "4.5.3");
        assert_string_equal(ndr_status_code("version 5.1.12345 here", buf, sizeof(buf)), "5.0.0");
        assert_string_equal(ndr_status_code("at 10.5.1.1", buf, sizeof(buf)), "5.0.0");
        assert_string_equal(ndr_status_code("no code at all", buf, sizeof(buf)), "5.0.0");
        assert_string_equal(ndr_status_code(NULL, buf, sizeof(buf)), "5.0.0");
}

/* A report read back: its human-readable text, its delivery-status fields cut
 * into blocks (the per-message block, then one per recipient), and the quoted
 * header. */
struct report {
        GMimeMessage *msg;
        char *text;
        char **blocks;
        char *headers;
};

static void build(const struct ndr_input *in, struct report *r)
{
        char *data = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(in, &data, &size), 0);
        assert_int_equal(strlen(data), size);
        r->msg = parse(data, size);
        free(data);

        GMimeObject *body = g_mime_message_get_mime_part(r->msg);
        GMimeContentType *type = g_mime_object_get_content_type(body);
        assert_true(g_mime_content_type_is_type(type, "multipart", "report"));
        assert_string_equal(g_mime_content_type_get_parameter(type, "report-type"),
                            "delivery-status");
        GMimeMultipart *mp = GMIME_MULTIPART(body);
        assert_int_equal(g_mime_multipart_get_count(mp), 3);
        GMimeObject *human = g_mime_multipart_get_part(mp, 0);
        GMimeObject *status = g_mime_multipart_get_part(mp, 1);
        GMimeObject *headers = g_mime_multipart_get_part(mp, 2);
        assert_true(
            g_mime_content_type_is_type(g_mime_object_get_content_type(human), "text", "plain"));
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(status), "message",
                                                "delivery-status"));
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(headers), "text",
                                                "rfc822-headers"));
        r->text = part_text(human);
        char *fields = part_text(status);
        r->blocks = g_strsplit(fields, "\n\n", -1);
        g_free(fields);
        r->headers = part_text(headers);
}

static void report_clear(struct report *r)
{
        g_object_unref(r->msg);
        g_free(r->text);
        g_strfreev(r->blocks);
        g_free(r->headers);
}

/* The value of the field called name in one block, NULL when it has none;
 * a field given twice fails the test. */
static char *field(const char *block, const char *name)
{
        char **lines = g_strsplit(block, "\n", -1);
        size_t len = strlen(name);
        char *value = NULL;
        for (char **l = lines; *l; l++) {
                if (g_ascii_strncasecmp(*l, name, len) != 0 || (*l)[len] != ':')
                        continue;
                assert_null(value);
                value = g_strstrip(g_strdup(*l + len + 1));
        }
        g_strfreev(lines);
        return value;
}

static void assert_field(const char *block, const char *name, const char *expected)
{
        char *value = field(block, name);
        if (expected)
                assert_string_equal(value, expected);
        else
                assert_null(value);
        g_free(value);
}

static void assert_quotes_header_only(const struct report *r)
{
        assert_non_null(strstr(r->headers, "Subject: Quarterly figures"));
        assert_null(strstr(r->headers, "secret body"));
}

static char *const three[] = {"bob@example.org", "carol@example.net", "dave@example.com", NULL};

static void test_delayed_report(void **state)
{
        /* A 4.x.x reply keeps its code; a 5.x.x one (a permanent refusal we
         * retry anyway) and one without a code become 4.0.0. */
        static char *const diagnostics[] = {"451 4.2.2 Mailbox full", "550 5.1.1 No such user",
                                            "connection to mx.example.com timed out", NULL};
        static const char *const statuses[] = {"4.2.2", "4.0.0", "4.0.0"};
        const gint64 retry_until = 1700000000 + 5 * 24 * 3600;
        struct ndr_input in = {
            .action = NDR_DELAYED,
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = three,
            .diagnostics = diagnostics,
            .submitted_usec = UINT64_C(1700000000000000),
            .retry_until_usec = (uint64_t) retry_until * USEC_PER_SEC,
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        struct report r;
        build(&in, &r);

        assert_string_equal(g_mime_message_get_subject(r.msg),
                            "Delayed Mail (still being retried)");
        InternetAddressList *to = g_mime_message_get_to(r.msg);
        assert_int_equal(internet_address_list_length(to), 1);
        assert_string_equal(internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
                            "alice@example.org");

        assert_non_null(strstr(r.text, "has NOT been delivered yet"));
        assert_non_null(strstr(r.text, "still being retried"));
        assert_non_null(strstr(r.text, "nothing you need to do"));
        assert_null(strstr(r.text, "will not be tried again"));
        for (size_t i = 0; three[i]; i++) {
                char *line = g_strdup_printf("  %s: %s\n", three[i], diagnostics[i]);
                assert_non_null(strstr(r.text, line));
                g_free(line);
        }

        assert_int_equal(g_strv_length(r.blocks), 4);
        assert_field(r.blocks[0], "Reporting-MTA", "dns; spool.example.org");
        assert_field(r.blocks[0], "Arrival-Date", "Tue, 14 Nov 2023 22:13:20 +0000");
        assert_field(r.blocks[0], "Will-Retry-Until", NULL);
        for (size_t i = 0; three[i]; i++) {
                const char *b = r.blocks[i + 1];
                char *expected = g_strdup_printf("rfc822; %s", three[i]);
                assert_field(b, "Final-Recipient", expected);
                g_free(expected);
                assert_field(b, "Action", "delayed");
                assert_field(b, "Status", statuses[i]);
                expected = g_strdup_printf("smtp; %s", diagnostics[i]);
                assert_field(b, "Diagnostic-Code", expected);
                g_free(expected);

                /* An RFC 5322 date-time, of the time we were given. */
                char *until = field(b, "Will-Retry-Until");
                assert_non_null(until);
                GDateTime *t = g_mime_utils_header_decode_date(until);
                assert_non_null(t);
                assert_int_equal(g_date_time_to_unix(t), retry_until);
                g_date_time_unref(t);
                /* The text names the same time. */
                assert_non_null(strstr(r.text, until));
                g_free(until);
        }

        assert_quotes_header_only(&r);
        report_clear(&r);
}

static void test_delayed_report_without_details(void **state)
{
        struct ndr_input in = {
            .action = NDR_DELAYED,
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = recipients,
            .diagnostic = "",
            .submitted_usec = UINT64_C(1700000000000000),
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        /* No retry time; then one too far off to write down (a "never"). */
        const uint64_t retry_untils[] = {0, UINT64_MAX};
        for (size_t n = 0; n < 2; n++) {
                in.retry_until_usec = retry_untils[n];
                struct report r;
                build(&in, &r);
                assert_string_equal(g_mime_message_get_subject(r.msg),
                                    "Delayed Mail (still being retried)");
                assert_non_null(strstr(r.text, "has NOT been delivered yet"));
                assert_non_null(strstr(r.text, "  bob@example.org\n"));
                assert_non_null(strstr(r.text, "  carol@example.net\n"));
                assert_int_equal(g_strv_length(r.blocks), 3);
                for (size_t i = 0; i < 3; i++)
                        assert_field(r.blocks[i], "Will-Retry-Until", NULL);
                for (size_t i = 1; i < 3; i++) {
                        assert_field(r.blocks[i], "Action", "delayed");
                        assert_field(r.blocks[i], "Status", "4.0.0");
                        assert_field(r.blocks[i], "Diagnostic-Code", NULL);
                }
                assert_quotes_header_only(&r);
                report_clear(&r);
        }
}

static void test_expired_report(void **state)
{
        static char *const diagnostics[] = {"451 4.2.2 Mailbox full", NULL, NULL};
        struct ndr_input in = {
            .action = NDR_EXPIRED,
            .reporting_host = "spool.example.org",
            .sender = "alice@example.org",
            .recipients = recipients,
            .diagnostic = "550 5.1.1 No such user",
            .diagnostics = diagnostics,
            .submitted_usec = UINT64_C(1700000000000000),
            /* Only a delayed report says when it gives up. */
            .retry_until_usec = UINT64_C(1700432000000000),
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        struct report r;
        build(&in, &r);

        assert_string_equal(g_mime_message_get_subject(r.msg),
                            "Undelivered Mail: delivery time expired");
        assert_non_null(strstr(r.text, "within the time it was allowed"));
        assert_non_null(strstr(r.text, "will not be tried again"));
        assert_null(strstr(r.text, "NOT been delivered yet"));
        assert_non_null(strstr(r.text, "  bob@example.org: 451 4.2.2 Mailbox full\n"));
        assert_non_null(strstr(r.text, "  carol@example.net: 550 5.1.1 No such user\n"));

        assert_int_equal(g_strv_length(r.blocks), 3);
        assert_field(r.blocks[0], "Will-Retry-Until", NULL);
        /* Whatever the server said on the way, the reason is the time. */
        assert_field(r.blocks[1], "Final-Recipient", "rfc822; bob@example.org");
        assert_field(r.blocks[1], "Action", "failed");
        assert_field(r.blocks[1], "Status", "4.4.7");
        assert_field(r.blocks[1], "Diagnostic-Code", "smtp; 451 4.2.2 Mailbox full");
        assert_field(r.blocks[1], "Will-Retry-Until", NULL);
        assert_field(r.blocks[2], "Final-Recipient", "rfc822; carol@example.net");
        assert_field(r.blocks[2], "Action", "failed");
        assert_field(r.blocks[2], "Status", "4.4.7");
        assert_field(r.blocks[2], "Diagnostic-Code", "smtp; 550 5.1.1 No such user");
        assert_field(r.blocks[2], "Will-Retry-Until", NULL);

        assert_quotes_header_only(&r);
        report_clear(&r);
}

static void test_unknown_action_refused(void **state)
{
        struct ndr_input in = {
            .action = (enum ndr_action) 3,
            .reporting_host = "h",
            .sender = "",
            .recipients = recipients,
            .original = original,
            .original_size = sizeof(original) - 1,
        };
        char *report = NULL;
        size_t size = 0;
        assert_int_equal(ndr_build(&in, &report, &size), -EINVAL);
        assert_null(report);
        in.action = (enum ndr_action) - 1;
        assert_int_equal(ndr_build(&in, &report, &size), -EINVAL);
        assert_null(report);
}

int main(void)
{
        gmime_init_once();
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_report_shape),
            cmocka_unit_test(test_no_sender_still_reports),
            cmocka_unit_test(test_status_code_found_or_default),
            cmocka_unit_test(test_failed_report_unchanged),
            cmocka_unit_test(test_failed_report_without_diagnostic_unchanged),
            cmocka_unit_test(test_delayed_report),
            cmocka_unit_test(test_delayed_report_without_details),
            cmocka_unit_test(test_expired_report),
            cmocka_unit_test(test_unknown_action_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
