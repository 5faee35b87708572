/* A transport's PasswordFile, as the transports read it and ChangePassword
 * writes it (service/core/secret-file.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "secret-file.h"

static char dir[] = "/tmp/test-secret-file.XXXXXX";

static char *path_of(const char *name)
{
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        return p;
}

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_first_line_only(void **state)
{
        _cleanup_free_ char *p = path_of("two-lines"), *s = NULL;
        put(p, "s3cret\r\nsecond line\n");
        assert_int_equal(secret_file_read(p, &s), 0);
        assert_string_equal(s, "s3cret");
}

static void test_too_large_and_links_refused(void **state)
{
        _cleanup_free_ char *big = path_of("big"), *link = path_of("link"), *s = NULL;
        char text[5000];
        memset(text, 'x', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        put(big, text);
        assert_int_equal(secret_file_read(big, &s), -EFBIG);
        assert_int_equal(symlink(big, link), 0);
        assert_int_equal(secret_file_read(link, &s), -ELOOP);
        assert_null(s);
}

static void test_write_then_read(void **state)
{
        _cleanup_free_ char *p = path_of("written"), *s = NULL;
        put(p, "old\n");
        assert_int_equal(secret_file_write(p, "new one"), 0);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(secret_file_read(p, &s), 0);
        assert_string_equal(s, "new one");
}

int main(void)
{
        assert_non_null(mkdtemp(dir));
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_line_only),
            cmocka_unit_test(test_too_large_and_links_refused),
            cmocka_unit_test(test_write_then_read),
        };
        int failed = cmocka_run_group_tests(tests, NULL, NULL);
        char *cmd = NULL;
        if (asprintf(&cmd, "rm -rf %s", dir) > 0 && system(cmd) != 0)
                failed++;
        free(cmd);
        return failed;
}
