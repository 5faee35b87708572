/* Text made fit for the bus (service/core/utf8.c): what is valid stays as it
 * is, what is not becomes U+FFFD, a line is cut between characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void test_valid_text_is_kept(void **state)
{
        const char *ok[] = {"", "plain", "caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x93\xa7 mail"};
        for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
                assert_true(utf8_is_valid(ok[i]));
                _cleanup_free_ char *v = utf8_make_valid(ok[i]);
                assert_string_equal(v, ok[i]);
        }
}

static void test_invalid_sequences_become_replacement(void **state)
{
        const struct {
                const char *in, *out;
        } cases[] = {
            {"a\xff"
             "b",
             "a\xef\xbf\xbd"
             "b"},                                    /* a byte no character starts with */
            {"\xc3", "\xef\xbf\xbd"},                 /* cut short at the end */
            {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"}, /* overlong '/' */
            {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* a surrogate */
            {"\xf4\x90\x80\x80",
             "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* past U+10FFFF */
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_false(utf8_is_valid(cases[i].in));
                _cleanup_free_ char *v = utf8_make_valid(cases[i].in);
                assert_string_equal(v, cases[i].out);
                assert_true(utf8_is_valid(v));
        }
}

static void test_line_is_cut_between_characters(void **state)
{
        char buf[6];
        /* "ab€" is 5 bytes: it fits; "abc€" is 6: the euro sign does not. */
        utf8_copy_line(buf, sizeof(buf), "ab\xe2\x82\xac", 5);
        assert_string_equal(buf, "ab\xe2\x82\xac");
        utf8_copy_line(buf, sizeof(buf), "abc\xe2\x82\xac", 6);
        assert_string_equal(buf, "abc");
        /* Control characters and line ends become spaces. */
        utf8_copy_line(buf, sizeof(buf), "a\x1b[\r\n", 5);
        assert_string_equal(buf, "a [  ");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_text_is_kept),
            cmocka_unit_test(test_invalid_sequences_become_replacement),
            cmocka_unit_test(test_line_is_cut_between_characters),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
