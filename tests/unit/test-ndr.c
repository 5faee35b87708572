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

int main(void)
{
        gmime_init_once();
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_report_shape),
            cmocka_unit_test(test_no_sender_still_reports),
            cmocka_unit_test(test_status_code_found_or_default),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
