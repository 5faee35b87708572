/* Whether a submission fits (service/core/quota.c): a uid's queue and the
 * disk reserve, with the defaults a share of the file system. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "quota.h"

#define GIB (UINT64_C(1) << 30)

static void test_defaults_are_a_share_of_the_disk(void **state)
{
        struct spool_config c = {.user_queue_messages = CONFIG_DEFAULT_USER_QUEUE_MESSAGES,
                                 .user_queue_size = CONFIG_FROM_DISK,
                                 .disk_reserve = CONFIG_FROM_DISK};
        /* A small disk: a tenth per user, a twentieth kept back. */
        struct quota_limits l = quota_limits_for(&c, 10 * GIB);
        assert_int_equal(l.messages, 10000);
        assert_int_equal(l.bytes, GIB);
        assert_int_equal(l.reserve, GIB / 2);
        /* A large one: capped, so that a user never holds gigabytes more. */
        l = quota_limits_for(&c, 1000 * GIB);
        assert_int_equal(l.bytes, 2 * GIB);
        assert_int_equal(l.reserve, GIB);
        /* Configured values stand. */
        c.user_queue_size = 12345;
        c.disk_reserve = 0;
        l = quota_limits_for(&c, 1000 * GIB);
        assert_int_equal(l.bytes, 12345);
        assert_int_equal(l.reserve, 0);
}

static void test_verdicts(void **state)
{
        struct quota_limits l = {.messages = 3, .bytes = 1000, .reserve = 500};
        assert_int_equal(quota_check(&l, 2, 900, 100, 10000, false), QUOTA_OK);
        assert_int_equal(quota_check(&l, 3, 0, 1, 10000, false), QUOTA_MESSAGES);
        assert_int_equal(quota_check(&l, 0, 900, 101, 10000, false), QUOTA_BYTES);
        assert_int_equal(quota_check(&l, 0, 0, 100, 599, false), QUOTA_RESERVE);
        assert_int_equal(quota_check(&l, 0, 0, 100, 599, true), QUOTA_OK);
        assert_int_equal(quota_check(&l, 0, 0, 1, 400, false), QUOTA_RESERVE);
        /* The reserve is no exemption from one's own quota. */
        assert_int_equal(quota_check(&l, 3, 0, 1, 10000, true), QUOTA_MESSAGES);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults_are_a_share_of_the_disk),
            cmocka_unit_test(test_verdicts),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
