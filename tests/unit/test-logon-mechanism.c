/* What ValidateState reports as the way a transport logged on
 * (service/core/logon-mechanism.c): the mechanism of each protocol's logon
 * command, and nothing from a line that is not one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "logon-mechanism.h"

static void assert_mechanism(const char *line, const char *expected)
{
        char buf[LOGON_MECHANISM_MAX + 1] = "unset";
        bool found = logon_mechanism_of_line(line, strlen(line), buf);
        if (!expected) {
                assert_false(found);
                return;
        }
        assert_true(found);
        assert_string_equal(buf, expected);
}

static void test_logon_commands(void **state)
{
        assert_mechanism("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", "PLAIN"); /* SMTP, POP3 */
        assert_mechanism("AUTH LOGIN\r\n", "LOGIN");
        assert_mechanism("auth xoauth2 dXNlcj1h\r\n", "XOAUTH2");
        assert_mechanism("AUTH OAUTHBEARER", "OAUTHBEARER"); /* no line end */
        assert_mechanism("A001 AUTHENTICATE SCRAM-SHA-256 biwsbj1h\r\n", "SCRAM-SHA-256");
        assert_mechanism("A002 LOGIN alice \"secret\"\r\n", "LOGIN");
        assert_mechanism("USER alice\r\n", "USER"); /* POP3 USER/PASS */
}

static void test_other_lines(void **state)
{
        assert_mechanism("EHLO example.org\r\n", NULL);
        assert_mechanism("MAIL FROM:<a@example.org>\r\n", NULL);
        assert_mechanism("A003 SELECT INBOX\r\n", NULL);
        assert_mechanism("AUTHX PLAIN\r\n", NULL);
        assert_mechanism("AUTH \r\n", NULL);
        assert_mechanism("", NULL);
        assert_mechanism("A001 AUTHENTICATE\r\n", NULL);
        /* Longer than any SASL name: not taken, not overflowed. */
        assert_mechanism("AUTH ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n", NULL);
        assert_mechanism("USERS\r\n", NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_logon_commands),
            cmocka_unit_test(test_other_lines),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
