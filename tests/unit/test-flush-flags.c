/* The flag rules of FlushQueues and ValidateState (docs/bus-api.md, Status). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "flush-flags.h"
#include "mailspool-bus.h"

enum target { ON_TRANSPORT = false, ON_SPOOLER = true };

typedef int (*flags_check_fn)(uint32_t flags, bool on_spooler, enum mapi_error *ret_code,
                              const char **ret_error);

static void assert_accepted(flags_check_fn check, uint32_t flags, bool on_spooler)
{
        enum mapi_error code = _MAPI_E_MAX;
        const char *error = NULL;
        int r = check(flags, on_spooler, &code, &error);
        if (r != 0)
                fail_msg("flags 0x%X on the %s rejected: %s", flags,
                         on_spooler ? "spooler" : "transport", error ? error : "?");
}

/* Returns the sentence so that callers can tell the rules apart. */
static const char *assert_rejected(flags_check_fn check, uint32_t flags, bool on_spooler,
                                   enum mapi_error want)
{
        enum mapi_error code = _MAPI_E_MAX;
        const char *error = NULL;
        int r = check(flags, on_spooler, &code, &error);
        if (r != -EINVAL || code != want)
                fail_msg("flags 0x%X on the %s gave %d/%s, expected -EINVAL/%s", flags,
                         on_spooler ? "spooler" : "transport", r,
                         code < _MAPI_E_MAX ? mapi_error_name(code) : "no code",
                         mapi_error_name(want));
        /* Words a user can act on; the bus layer adds the MAPI prefix. */
        assert_non_null(error);
        assert_true(strlen(error) > 20);
        assert_null(strstr(error, "MAPI_E_"));
        return error;
}

static void test_flush_directions_accepted(void **state)
{
        static const uint32_t directions[] = {MAILSPOOL_FLUSH_UPLOAD, MAILSPOOL_FLUSH_DOWNLOAD,
                                              MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_DOWNLOAD};
        static const uint32_t extras[] = {0, MAILSPOOL_FLUSH_FORCE, MAILSPOOL_FLUSH_NO_UI,
                                          MAILSPOOL_FLUSH_FORCE | MAILSPOOL_FLUSH_NO_UI};
        for (size_t d = 0; d < ELEMENTSOF(directions); d++)
                for (size_t e = 0; e < ELEMENTSOF(extras); e++) {
                        assert_accepted(flush_flags_check, directions[d] | extras[e], ON_SPOOLER);
                        assert_accepted(flush_flags_check, directions[d] | extras[e], ON_TRANSPORT);
                }
}

static void test_flush_unknown_bits(void **state)
{
        /* Each bit outside the five known ones, with a valid direction set. */
        for (int bit = 0; bit < 32; bit++) {
                uint32_t b = 1u << bit;
                if (b & MAILSPOOL_FLUSH_ALL_FLAGS)
                        continue;
                assert_rejected(flush_flags_check, MAILSPOOL_FLUSH_UPLOAD | b, ON_SPOOLER,
                                MAPI_E_UNKNOWN_FLAGS);
                assert_rejected(flush_flags_check, MAILSPOOL_FLUSH_DOWNLOAD | b, ON_TRANSPORT,
                                MAPI_E_UNKNOWN_FLAGS);
        }
        assert_rejected(flush_flags_check, 0xFFFFFFFFu, ON_SPOOLER, MAPI_E_UNKNOWN_FLAGS);
}

/* An unknown bit is reported as such even when the request has other faults
 * too: it may be a newer flag that means what the caller needs. */
static void test_flush_unknown_bits_reported_first(void **state)
{
        assert_rejected(flush_flags_check, 0x1, ON_SPOOLER, MAPI_E_UNKNOWN_FLAGS);
        assert_rejected(flush_flags_check, 0x40 | MAILSPOOL_FLUSH_ASYNC_OK, ON_TRANSPORT,
                        MAPI_E_UNKNOWN_FLAGS);
}

static void test_flush_needs_a_direction(void **state)
{
        static const uint32_t no_direction[] = {
            0, MAILSPOOL_FLUSH_FORCE, MAILSPOOL_FLUSH_NO_UI, MAILSPOOL_FLUSH_ASYNC_OK,
            MAILSPOOL_FLUSH_FORCE | MAILSPOOL_FLUSH_NO_UI | MAILSPOOL_FLUSH_ASYNC_OK};
        for (size_t i = 0; i < ELEMENTSOF(no_direction); i++) {
                assert_rejected(flush_flags_check, no_direction[i], ON_SPOOLER,
                                MAPI_E_INVALID_PARAMETER);
                assert_rejected(flush_flags_check, no_direction[i] & ~MAILSPOOL_FLUSH_ASYNC_OK,
                                ON_TRANSPORT, MAPI_E_INVALID_PARAMETER);
        }
}

static void test_flush_async_ok_is_for_the_spooler(void **state)
{
        assert_accepted(flush_flags_check, MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_ASYNC_OK,
                        ON_SPOOLER);
        assert_accepted(flush_flags_check, MAILSPOOL_FLUSH_ALL_FLAGS, ON_SPOOLER);
        const char *async =
            assert_rejected(flush_flags_check, MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_ASYNC_OK,
                            ON_TRANSPORT, MAPI_E_INVALID_PARAMETER);
        assert_rejected(flush_flags_check, MAILSPOOL_FLUSH_ALL_FLAGS, ON_TRANSPORT,
                        MAPI_E_INVALID_PARAMETER);
        /* Not the no-direction sentence: the caller must learn which rule. */
        const char *direction =
            assert_rejected(flush_flags_check, 0, ON_TRANSPORT, MAPI_E_INVALID_PARAMETER);
        assert_string_not_equal(async, direction);
        assert_non_null(strstr(async, "ASYNC_OK"));
}

static void test_flush_error_is_static(void **state)
{
        /* The header promises a static sentence: two calls, one string, and
         * nothing for the caller to free (ASan would see a leak otherwise). */
        const char *first =
            assert_rejected(flush_flags_check, 0, ON_SPOOLER, MAPI_E_INVALID_PARAMETER);
        const char *second =
            assert_rejected(flush_flags_check, 0, ON_SPOOLER, MAPI_E_INVALID_PARAMETER);
        assert_ptr_equal(first, second);
}

static void test_validate_known_flags_accepted(void **state)
{
        static const uint32_t each[] = {
            0,
            MAILSPOOL_VALIDATE_SUPPRESS_UI,
            MAILSPOOL_VALIDATE_REFRESH_XP_HEADER_CACHE,
            MAILSPOOL_VALIDATE_PROCESS_XP_HEADER_CACHE,
            MAILSPOOL_VALIDATE_FORCE_CONNECT,
            MAILSPOOL_VALIDATE_FORCE_DISCONNECT,
            MAILSPOOL_VALIDATE_ABORT_XP_HEADER_OPERATION,
            MAILSPOOL_VALIDATE_SHOW_XP_SESSION_UI,
            MAILSPOOL_VALIDATE_SUPPRESS_UI | MAILSPOOL_VALIDATE_FORCE_CONNECT |
                MAILSPOOL_VALIDATE_HEADER_CACHE_FLAGS,
        };
        for (size_t i = 0; i < ELEMENTSOF(each); i++) {
                assert_accepted(validate_flags_check, each[i], ON_SPOOLER);
                assert_accepted(validate_flags_check, each[i], ON_TRANSPORT);
        }
}

static void test_validate_unknown_bits(void **state)
{
        for (int bit = 0; bit < 32; bit++) {
                uint32_t b = 1u << bit;
                if (b & MAILSPOOL_VALIDATE_ALL_FLAGS)
                        continue;
                assert_rejected(validate_flags_check, b, ON_SPOOLER, MAPI_E_UNKNOWN_FLAGS);
                assert_rejected(validate_flags_check, MAILSPOOL_VALIDATE_SUPPRESS_UI | b,
                                ON_TRANSPORT, MAPI_E_UNKNOWN_FLAGS);
        }
        /* FlushQueues' bits are not ValidateState's. */
        assert_rejected(validate_flags_check, MAILSPOOL_FLUSH_UPLOAD, ON_SPOOLER,
                        MAPI_E_UNKNOWN_FLAGS);
}

static void test_validate_config_changed_is_for_the_spooler(void **state)
{
        assert_accepted(validate_flags_check, MAILSPOOL_VALIDATE_CONFIG_CHANGED, ON_SPOOLER);
        assert_accepted(validate_flags_check,
                        MAILSPOOL_VALIDATE_CONFIG_CHANGED | MAILSPOOL_VALIDATE_SUPPRESS_UI,
                        ON_SPOOLER);
        assert_rejected(validate_flags_check, MAILSPOOL_VALIDATE_CONFIG_CHANGED, ON_TRANSPORT,
                        MAPI_E_INVALID_PARAMETER);
        assert_rejected(validate_flags_check,
                        MAILSPOOL_VALIDATE_CONFIG_CHANGED | MAILSPOOL_VALIDATE_SUPPRESS_UI,
                        ON_TRANSPORT, MAPI_E_INVALID_PARAMETER);
}

static void test_validate_connect_and_disconnect_conflict(void **state)
{
        const uint32_t both =
            MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT;
        assert_rejected(validate_flags_check, both, ON_SPOOLER, MAPI_E_INVALID_PARAMETER);
        const char *conflict =
            assert_rejected(validate_flags_check, both | MAILSPOOL_VALIDATE_SUPPRESS_UI,
                            ON_TRANSPORT, MAPI_E_INVALID_PARAMETER);
        assert_non_null(strstr(conflict, "FORCE_XP_DISCONNECT"));
        const char *config =
            assert_rejected(validate_flags_check, MAILSPOOL_VALIDATE_CONFIG_CHANGED, ON_TRANSPORT,
                            MAPI_E_INVALID_PARAMETER);
        assert_string_not_equal(conflict, config);
}

static void test_flags_to_string(void **state)
{
        char buf[64];
        assert_string_equal(
            flush_flags_to_string(MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_NO_UI, buf, sizeof(buf)),
            "UPLOAD|NO_UI");
        assert_string_equal(flush_flags_to_string(MAILSPOOL_FLUSH_ALL_FLAGS, buf, sizeof(buf)),
                            "UPLOAD|DOWNLOAD|FORCE|NO_UI|ASYNC_OK");
        assert_string_equal(
            flush_flags_to_string(MAILSPOOL_FLUSH_DOWNLOAD | 0x40, buf, sizeof(buf)),
            "DOWNLOAD|0x40");
        assert_string_equal(flush_flags_to_string(0x1, buf, sizeof(buf)), "0x1");
        assert_string_equal(flush_flags_to_string(0, buf, sizeof(buf)), "none");
        /* Every bit set still fits the documented 64 bytes. */
        const char *all = flush_flags_to_string(0xFFFFFFFFu, buf, sizeof(buf));
        assert_string_equal(all, "UPLOAD|DOWNLOAD|FORCE|NO_UI|ASYNC_OK|0xFFFFFFC1");

        /* A short buffer is truncated, never overrun. */
        char small[8];
        memset(small, 'x', sizeof(small));
        flush_flags_to_string(MAILSPOOL_FLUSH_ALL_FLAGS, small, 5);
        assert_int_equal(strlen(small), 4);
        assert_int_equal(small[5], 'x');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_flush_directions_accepted),
            cmocka_unit_test(test_flush_unknown_bits),
            cmocka_unit_test(test_flush_unknown_bits_reported_first),
            cmocka_unit_test(test_flush_needs_a_direction),
            cmocka_unit_test(test_flush_async_ok_is_for_the_spooler),
            cmocka_unit_test(test_flush_error_is_static),
            cmocka_unit_test(test_validate_known_flags_accepted),
            cmocka_unit_test(test_validate_unknown_bits),
            cmocka_unit_test(test_validate_config_changed_is_for_the_spooler),
            cmocka_unit_test(test_validate_connect_and_disconnect_conflict),
            cmocka_unit_test(test_flags_to_string),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
