/* The SMTP reply we keep for a person and the class that decides a
 * message's fate (service/core/smtp-reply.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "smtp-reply.h"

static void feed(struct smtp_reply *r, const char *line)
{
        smtp_reply_feed(r, line, strlen(line));
}

static void test_last_line_without_crlf(void **state)
{
        struct smtp_reply r = {};
        feed(&r, "250-smtp.example.org\r\n");
        feed(&r, "250-PIPELINING\r\n");
        feed(&r, "250 8BITMIME\r\n");
        assert_string_equal(r.text, "250 8BITMIME");
        assert_int_equal(r.code, 250);
}

static void test_refusal_survives_the_goodbye(void **state)
{
        struct smtp_reply r = {};
        feed(&r, "250 2.1.0 Ok\r\n");
        feed(&r, "550 5.1.1 <b@example.org>: Recipient address rejected\r\n");
        feed(&r, "221 2.0.0 Bye\r\n");
        assert_int_equal(r.code, 550);
        assert_string_equal(r.text, "550 5.1.1 <b@example.org>: Recipient address rejected");
}

static void test_later_refusal_replaces_earlier(void **state)
{
        struct smtp_reply r = {};
        feed(&r, "452 4.5.3 Too many recipients\r\n");
        feed(&r, "554 5.5.1 No valid recipients\r\n");
        assert_int_equal(r.code, 554);
}

static void test_non_reply_lines_are_ignored(void **state)
{
        struct smtp_reply r = {};
        feed(&r, "");
        feed(&r, "\r\n");
        feed(&r, "ok");
        feed(&r, "25x nope");
        assert_int_equal(r.code, 0);
        assert_string_equal(r.text, "");
}

static void test_control_characters_are_blanked(void **state)
{
        struct smtp_reply r = {};
        const char line[] = "421 bad\x1b[31m\x7fhost\r\n";
        smtp_reply_feed(&r, line, sizeof(line) - 1);
        assert_string_equal(r.text, "421 bad [31m host");
}

static void test_long_reply_is_cut(void **state)
{
        struct smtp_reply r = {};
        char line[2000];
        memset(line, 'x', sizeof(line));
        memcpy(line, "550 ", 4);
        smtp_reply_feed(&r, line, sizeof(line));
        assert_int_equal(strlen(r.text), sizeof(r.text) - 1);
        assert_int_equal(r.code, 550);
}

static void test_classes(void **state)
{
        assert_int_equal(smtp_reply_class(0), SMTP_REPLY_NONE);
        assert_int_equal(smtp_reply_class(199), SMTP_REPLY_NONE);
        assert_int_equal(smtp_reply_class(250), SMTP_REPLY_POSITIVE);
        assert_int_equal(smtp_reply_class(354), SMTP_REPLY_POSITIVE);
        assert_int_equal(smtp_reply_class(421), SMTP_REPLY_TRANSIENT);
        assert_int_equal(smtp_reply_class(452), SMTP_REPLY_TRANSIENT);
        assert_int_equal(smtp_reply_class(500), SMTP_REPLY_PERMANENT);
        assert_int_equal(smtp_reply_class(554), SMTP_REPLY_PERMANENT);
        assert_int_equal(smtp_reply_class(600), SMTP_REPLY_NONE);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_last_line_without_crlf),
            cmocka_unit_test(test_refusal_survives_the_goodbye),
            cmocka_unit_test(test_later_refusal_replaces_earlier),
            cmocka_unit_test(test_non_reply_lines_are_ignored),
            cmocka_unit_test(test_control_characters_are_blanked),
            cmocka_unit_test(test_long_reply_is_cut),
            cmocka_unit_test(test_classes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
