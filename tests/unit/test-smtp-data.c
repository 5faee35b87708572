/* A message as DATA carries it (service/core/smtp-data.c): CRLF line ends,
 * dots doubled at a line's start only, a last line end added, the final
 * ".\r\n"; what MAIL FROM says of it; and what an EHLO reply offers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "smtp-data.h"

static char *encode(const char *text, struct smtp_data_traits *tr)
{
        char *out = NULL;
        size_t size = 0;
        assert_int_equal(smtp_data_encode(text, strlen(text), &out, &size, tr), 0);
        char *z = strndup(out, size);
        free(out);
        return z;
}

static void test_crlf_dots_and_end(void **state)
{
        struct smtp_data_traits tr;
        char *d = encode("Subject: x\n\n.one\nmid.dle\n..two\n.\nlast", &tr);
        assert_string_equal(d,
                            "Subject: x\r\n\r\n..one\r\nmid.dle\r\n...two\r\n..\r\nlast\r\n.\r\n");
        free(d);
        /* SIZE counts the message with CRLF and its last line end, not the
         * doubled dots nor the final ".". */
        assert_int_equal(tr.size,
                         strlen("Subject: x\r\n\r\n.one\r\nmid.dle\r\n..two\r\n.\r\nlast\r\n"));
        assert_false(tr.eight_bit);
        assert_false(tr.utf8_headers);

        d = encode("A: b\r\n\r\n.x\r\n", &tr);
        assert_string_equal(d, "A: b\r\n\r\n..x\r\n.\r\n");
        assert_int_equal(tr.size, strlen("A: b\r\n\r\n.x\r\n"));
        free(d);

        d = encode("", &tr);
        assert_string_equal(d, ".\r\n");
        free(d);
}

static void test_eight_bit(void **state)
{
        struct smtp_data_traits tr;
        free(encode("Subject: x\n\nGr\xc3\xbc\xc3\x9f"
                    "e\n",
                    &tr));
        assert_true(tr.eight_bit);
        assert_false(tr.utf8_headers);
        free(encode("Subject: K\xc3\xb6ln\n\nplain\n", &tr));
        assert_true(tr.eight_bit);
        assert_true(tr.utf8_headers);
        /* CRLF input: the empty line still ends the headers. */
        free(encode("Subject: x\r\n\r\n\xc3\xb6\r\n", &tr));
        assert_true(tr.eight_bit);
        assert_false(tr.utf8_headers);
}

static void test_caps(void **state)
{
        struct smtp_caps c = {0};
        const char *lines[] = {"250-smtp.example.org Hello",
                               "250-PIPELINING",
                               "250-SIZE 10240000",
                               "250-8bitmime",
                               "250-DSN\r\n",
                               "250 SMTPUTF8"};
        for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
                smtp_caps_feed(&c, lines[i], strlen(lines[i]));
        assert_true(c.pipelining && c.size && c.eight_bit && c.dsn && c.smtputf8);

        struct smtp_caps none = {0};
        const char *other[] = {"250-PIPELININGX", "220 PIPELINING", "250-",
                               "250 SIZEX",       "550-8BITMIME",   "250PIPELINING"};
        for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
                smtp_caps_feed(&none, other[i], strlen(other[i]));
        assert_false(none.pipelining || none.size || none.eight_bit || none.dsn || none.smtputf8);
}

static void test_dsn(void **state)
{
        char *out = NULL;
        assert_int_equal(dsn_notify_normalize("delay,Success", &out), 0);
        assert_string_equal(out, "SUCCESS,DELAY");
        free(out);
        assert_int_equal(dsn_notify_normalize("never", &out), 0);
        assert_string_equal(out, "NEVER");
        free(out);
        const char *bad[] = {"",         "never,success", "success,",
                             ",failure", "sometimes",     "success failure"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(dsn_notify_normalize(bad[i], &out), -EINVAL);
        assert_int_equal(dsn_return_normalize("hdrs", &out), 0);
        assert_string_equal(out, "HDRS");
        free(out);
        assert_int_equal(dsn_return_normalize("body", &out), -EINVAL);
        assert_true(dsn_envid_valid("QQ314159 x"));
        assert_false(dsn_envid_valid(""));
        assert_false(dsn_envid_valid("caf\xc3\xa9"));
        char long_id[102];
        memset(long_id, 'a', 101);
        long_id[101] = '\0';
        assert_false(dsn_envid_valid(long_id));
        long_id[100] = '\0';
        assert_true(dsn_envid_valid(long_id));
        char *x = xtext_encode("a+b=c d\x7f!~");
        assert_string_equal(x, "a+2Bb+3Dc+20d+7F!~");
        free(x);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_crlf_dots_and_end),
            cmocka_unit_test(test_eight_bit),
            cmocka_unit_test(test_caps),
            cmocka_unit_test(test_dsn),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
