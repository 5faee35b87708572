/* PasswordCommand= and TokenCommand= as argument vectors
 * (service/core/argv-split.c): words, quotes and escapes as docs/bus-api.md
 * says, and a clear refusal of what a shell would read differently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "argv-split.h"

static void assert_words(const char *line, const char *const *expected)
{
        char **words = NULL;
        const char *why = NULL;
        assert_int_equal(argv_split(line, &words, &why), 0);
        size_t n = 0;
        while (expected[n])
                n++;
        assert_int_equal(strv_length(words), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(words[i], expected[i]);
        strv_free(words);
}

static void test_words_and_quotes(void **state)
{
        assert_words("secret-tool lookup service mail",
                     (const char *[]){"secret-tool", "lookup", "service", "mail", NULL});
        assert_words("  /bin/echo\t 'two words'  ",
                     (const char *[]){"/bin/echo", "two words", NULL});
        assert_words("pass show \"mail/my account\"",
                     (const char *[]){"pass", "show", "mail/my account", NULL});
        /* Quotes join with what touches them, as in a shell. */
        assert_words("a'b c'd", (const char *[]){"ab cd", NULL});
        assert_words("say \"a \\\"quoted\\\" \\\\ word\"",
                     (const char *[]){"say", "a \"quoted\" \\ word", NULL});
        assert_words("one\\ word 'it''s'", (const char *[]){"one word", "its", NULL});
        /* No expansion of any kind: these are plain characters. */
        assert_words("echo $HOME ~ *; | `x`",
                     (const char *[]){"echo", "$HOME", "~", "*;", "|", "`x`", NULL});
        /* Inside '...' a backslash is itself. */
        assert_words("'a\\b'", (const char *[]){"a\\b", NULL});
}

static void test_bad_lines_are_refused(void **state)
{
        const char *bad[] = {"",
                             "   ",
                             "echo 'open",
                             "echo \"open",
                             "echo trailing\\",
                             "echo a\x1b"
                             "b"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **words = NULL;
                const char *why = NULL;
                assert_int_equal(argv_split(bad[i], &words, &why), -EINVAL);
                assert_null(words);
                assert_non_null(why);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_words_and_quotes),
            cmocka_unit_test(test_bad_lines_are_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
