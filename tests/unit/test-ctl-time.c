/* TIME as the clients read it (client-lib/ctl-time.c): the systemd.time(7)
 * timestamps a person types, in UTC and in a zone with summer time, and what
 * is refused rather than guessed. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "ctl-time.h"

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define USEC_PER_SEC  UINT64_C(1000000)
#define SEC(s)        ((uint64_t) (s) *USEC_PER_SEC)
#define MIN(m)        SEC((m) *60)
#define HOUR(h)       MIN((h) *60)
#define DAY(d)        HOUR((d) *24)

/* 2026-06-15 12:34:56.789012 UTC: a "now" with microseconds, so that a
 * result that drops or keeps them shows. */
#define NOW (SEC(1781526896) + 789012)
/* 2026-06-15 00:00:00 UTC */
#define NOW_MIDNIGHT SEC(1781481600)
/* 2026-12-01 09:00:00 UTC, a Tuesday */
#define DEC_1_0900 SEC(1796115600)

/* The last microsecond the parser answers: 9999-12-31 23:59:59.999999 UTC. */
#define MAX_USEC (SEC(UINT64_C(253402300799)) + 999999)

/* Needs no tzdata: Central European Time as a POSIX TZ string, summer time
 * from the last Sunday in March 02:00 to the last Sunday in October 03:00. */
#define BERLIN "CET-1CEST,M3.5.0,M10.5.0/3"

struct accepted {
        const char *text;
        uint64_t usec;
};

static int set_zone(const char *tz)
{
        if (setenv("TZ", tz, 1) < 0)
                return -1;
        tzset();
        return 0;
}

static void assert_accepted(const struct accepted *cases, size_t n, uint64_t now)
{
        for (size_t i = 0; i < n; i++) {
                uint64_t usec = 0;
                int r = ctl_time_parse(cases[i].text, now, &usec);
                if (r != 0 || usec != cases[i].usec)
                        print_error("\"%s\": %d, %" PRIu64 " (expected %" PRIu64 ")\n",
                                    cases[i].text, r, usec, cases[i].usec);
                assert_int_equal(r, 0);
                assert_int_equal(usec, cases[i].usec);
        }
}

static void assert_refused(const char *const *texts, size_t n, uint64_t now)
{
        for (size_t i = 0; i < n; i++) {
                /* A refusal leaves the result as it was. */
                uint64_t usec = 42;
                int r = ctl_time_parse(texts[i], now, &usec);
                if (r != -EINVAL)
                        print_error("\"%s\": %d, %" PRIu64 " (expected -EINVAL)\n", texts[i], r,
                                    usec);
                assert_int_equal(r, -EINVAL);
                assert_int_equal(usec, 42);
        }
}

static void test_absolute_times(void **state)
{
        const struct accepted cases[] = {
            {"2026-12-01 09:00", DEC_1_0900},
            {"2026-12-01 09:00:30", DEC_1_0900 + SEC(30)},
            {"2026-12-01 09:00:30.25", DEC_1_0900 + SEC(30) + 250000},
            {"2026-12-01 09:00:30.000001", DEC_1_0900 + SEC(30) + 1},
            {"2026-12-01", DEC_1_0900 - HOUR(9)},
            {"2026-12-01T09:00:00", DEC_1_0900},
            {"2026-12-01T09:00", DEC_1_0900},
            {"2026-12-01 09:00 UTC", DEC_1_0900},
            {"2026-12-01T09:00:00Z", DEC_1_0900},
            {"2026-12-01 09:00Z", DEC_1_0900},
            {"2026-12-01 UTC", DEC_1_0900 - HOUR(9)},
            /* One-digit month, day and hour, as strptime() reads them. */
            {"2026-12-1 9:00", DEC_1_0900},
            {"2026-2-3 9:05", SEC(1770109500)},
            /* A time alone is today, even when it has passed. */
            {"09:00", NOW_MIDNIGHT + HOUR(9)},
            {"09:00:30", NOW_MIDNIGHT + HOUR(9) + SEC(30)},
            {"23:59:59", NOW_MIDNIGHT + DAY(1) - SEC(1)},
            {"00:00", NOW_MIDNIGHT},
            {"9:00Z", NOW_MIDNIGHT + HOUR(9)},
            {"09:00 UTC", NOW_MIDNIGHT + HOUR(9)},
            {"2028-02-29", SEC(1835395200)},
            {"1970-01-01 00:00:00", 0},
            {"9999-12-31 23:59:59.999999", MAX_USEC},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
}

/* As systemd prints a timestamp: a weekday first, which must be right. */
static void test_weekday(void **state)
{
        const struct accepted cases[] = {
            {"Tue 2026-12-01 09:00", DEC_1_0900},
            {"Tuesday 2026-12-01 09:00:00 UTC", DEC_1_0900},
            {"tue 2026-12-01", DEC_1_0900 - HOUR(9)},
            {"TUESDAY 2026-12-01T09:00Z", DEC_1_0900},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
        const char *const refused[] = {
            "Mon 2026-12-01 09:00", /* December 1 is a Tuesday */
            "Tues 2026-12-01",      "Tue  2026-12-01", "Tue,2026-12-01", "Tue 09:00", "Tue", "Tue ",
        };
        assert_refused(refused, ELEMENTSOF(refused), NOW);
}

static void test_epoch_seconds(void **state)
{
        const struct accepted cases[] = {
            {"@1764579600", SEC(1764579600)},
            {"@0", 0},                 /* the epoch itself */
            {"@1.5", SEC(1) + 500000}, /* a fraction, to the microsecond */
            {"@001", SEC(1)},          /* leading zeros are still decimal */
            {"@253402300799.999999", MAX_USEC},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
}

static void test_relative_spans(void **state)
{
        const struct accepted cases[] = {
            {"+10min", NOW + MIN(10)},
            {"+2h", NOW + HOUR(2)},
            {"+1h 30min", NOW + MIN(90)},
            {"+1h30min", NOW + MIN(90)},
            {"+1h   30min", NOW + MIN(90)},
            {"+1 h 30 min", NOW + MIN(90)},
            {"+90s", NOW + SEC(90)},
            {"+90", NOW + SEC(90)}, /* a lone number is seconds */
            {"+0s", NOW},
            {"-5min", NOW - MIN(5)},
            {"10min left", NOW + MIN(10)},
            {"5min ago", NOW - MIN(5)},
            {"1d 2h 3min 4s 5ms 6us ago", NOW - DAY(1) - HOUR(2) - MIN(3) - SEC(4) - 5006},
            {"+2w", NOW + DAY(14)},
            {"+12M", NOW + DAY(365) + HOUR(6)},
            {"+1y", NOW + DAY(365) + HOUR(6)},
            {"+1y 12M", NOW + DAY(730) + HOUR(12)},
            /* Fractions, to the microsecond, rounded down. */
            {"+1.5h", NOW + MIN(90)},
            {"+0.5", NOW + 500000},
            {"+1.0000019s", NOW + SEC(1) + 1},
            {"+0.25d", NOW + HOUR(6)},
            {"+0.5M", NOW + SEC(1314900)},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
}

/* Every spelling systemd.time(7) lists, with and without a space. */
static void test_every_unit(void **state)
{
        const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
            {"usec", 1},
            {"us", 1},
            {"\xc2\xb5s", 1}, /* MICRO SIGN */
            {"\xce\xbcs", 1}, /* GREEK SMALL LETTER MU */
            {"msec", 1000},
            {"ms", 1000},
            {"seconds", SEC(1)},
            {"second", SEC(1)},
            {"sec", SEC(1)},
            {"s", SEC(1)},
            {"minutes", MIN(1)},
            {"minute", MIN(1)},
            {"min", MIN(1)},
            {"m", MIN(1)},
            {"hours", HOUR(1)},
            {"hour", HOUR(1)},
            {"hr", HOUR(1)},
            {"h", HOUR(1)},
            {"days", DAY(1)},
            {"day", DAY(1)},
            {"d", DAY(1)},
            {"weeks", DAY(7)},
            {"week", DAY(7)},
            {"w", DAY(7)},
            /* A twelfth of a year of 365.25 days: 30.4375 days. */
            {"months", SEC(2629800)},
            {"month", SEC(2629800)},
            {"M", SEC(2629800)},
            {"years", DAY(365) + HOUR(6)},
            {"year", DAY(365) + HOUR(6)},
            {"y", DAY(365) + HOUR(6)},
        };
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                char plus[32], spaced_ago[32];
                snprintf(plus, sizeof(plus), "+3%s", units[i].unit);
                snprintf(spaced_ago, sizeof(spaced_ago), "3 %s ago", units[i].unit);
                const struct accepted cases[] = {
                    {plus, NOW + 3 * units[i].usec},
                    {spaced_ago, NOW - 3 * units[i].usec},
                };
                assert_accepted(cases, ELEMENTSOF(cases), NOW);
        }
}

static void test_words(void **state)
{
        const struct accepted cases[] = {
            {"now", NOW},
            {"today", NOW_MIDNIGHT},
            {"tomorrow", NOW_MIDNIGHT + DAY(1)},
            {"yesterday", NOW_MIDNIGHT - DAY(1)},
            {"today UTC", NOW_MIDNIGHT},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
}

static void test_refused(void **state)
{
        const char *const refused[] = {
            /* Nothing, or more than a timestamp. */
            "",
            " ",
            "now ",
            " now",
            "Now",
            "NOW",
            "now\n",
            "today 09:00",
            "tomorrow 9:00",
            "2026-12-01 09:00\n",
            "2026-12-01 09:00 ",
            " 2026-12-01",
            "2026-12-01 09:00 x",
            "next week",
            "noon",
            /* Dates that do not exist or are out of range. */
            "2026-02-29",
            "2026-02-30",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-12-00",
            "2026-12-32",
            "2026-012-01",
            "2026-12-001",
            /* Times out of range. */
            "24:00",
            "23:60",
            "23:59:60",
            "99:00",
            "-1:00",
            /* Other shapes: minutes and seconds take two digits, years four. */
            "9:5",
            "09:00:5",
            "0900",
            "09",
            "09:",
            "09:00:",
            "09.00",
            "26-12-01",
            "20261-12-01",
            "2026/12/01",
            "2026-12",
            "2026-12-01 09",
            "2026-12-01T",
            "2026-12-01 T09:00",
            "2026-12-01  09:00",
            "2026-12-01t09:00",
            "2026-12-01 09:00:00.",
            "2026-12-01 09:00:00.1234567",
            "2026-12-01 09:00.5",
            "12/01/2026",
            /* Zones: Z only right after a time, UTC spelled so, once. */
            "2026-12-01Z",
            "2026-12-01 09:00 Z",
            "09:00z",
            "2026-12-01 09:00 utc",
            "2026-12-01 09:00UTC",
            "2026-12-01 09:00 UTCx",
            "09:00Z UTC",
            "09:00 UTC UTC",
            "2026-12-01 09:00 CET",
            "2026-12-01 09:00 +01:00",
            "now UTC",
            "+1h UTC",
            "@0 UTC",
            "1h ago UTC",
            /* Before 1970. */
            "1969-12-31 23:59:59",
            "1969-12-31",
            "0000-01-01",
            /* Spans need a sign or " ago"/" left", and units systemd knows. */
            "10min",
            "10",
            "1h30min",
            "+",
            "-",
            "+ 10min",
            "+-10min",
            "--10min",
            "++10min",
            "+min",
            "+h30min",
            "+10mins",
            "+10 mn",
            "+10MIN",
            "+10H",
            "+1h30",
            "+5 10",
            "+10min 5",
            "+1.h",
            "+.5h",
            "+1..5h",
            "+1.5.5h",
            "+10min ",
            "+10min,5s",
            "+10min+5s",
            "+1e3s",
            "+0x10s",
            "10min  ago",
            "10minago",
            "ago",
            " ago",
            "left",
            "+10min ago",
            "-10min left",
            "10min ago ago",
            "+\xc2\xb5",
            "+1\xc2s",
            "+1\xe2\x80\x8bs",
            /* Epoch seconds: digits, an optional fraction, nothing else. */
            "@",
            "@-1",
            "@+1",
            "@ 1",
            "@1 ",
            "@1.",
            "@1.1234567",
            "@1e3",
            "@0x10",
            "@1s",
            "@@1",
            /* Out of range: after 9999, overflowing, before 1970. */
            "@253402300800",
            "@99999999999999999999",
            "10000-01-01",
            "+10000y",
            "+18446744073709551615us",
            "+18446744073709551616us",
            "+99999999999999999999999h",
            "+18446744073709551615us 1us",
            "-100y",
            "100y ago",
        };
        assert_refused(refused, ELEMENTSOF(refused), NOW);
}

static void test_limits(void **state)
{
        uint64_t usec = 42;
        assert_int_equal(ctl_time_parse(NULL, NOW, &usec), -EINVAL);
        assert_int_equal(usec, 42);
        assert_int_equal(ctl_time_parse("now", NOW, NULL), -EINVAL);

        /* The epoch itself is a time; a microsecond before it is not. */
        const struct accepted at_epoch[] = {{"now", 0}, {"-0s", 0}, {"+1us", 1}, {"today", 0}};
        assert_accepted(at_epoch, ELEMENTSOF(at_epoch), 0);
        const char *const before_epoch[] = {"-1us", "1us ago", "yesterday"};
        assert_refused(before_epoch, ELEMENTSOF(before_epoch), 0);

        /* Up to the last microsecond of 9999, not one after. */
        const struct accepted at_max[] = {{"now", MAX_USEC}, {"-1us", MAX_USEC - 1}};
        assert_accepted(at_max, ELEMENTSOF(at_max), MAX_USEC);
        const char *const after_max[] = {"+1us", "tomorrow"};
        assert_refused(after_max, ELEMENTSOF(after_max), MAX_USEC);
        char span[64];
        snprintf(span, sizeof(span), "+%" PRIu64 "us", MAX_USEC - NOW);
        const struct accepted to_max[] = {{span, MAX_USEC}};
        assert_accepted(to_max, ELEMENTSOF(to_max), NOW);

        /* A clock past 9999 is broken: nothing is read against it. */
        const char *const any[] = {"now", "@0", "2026-12-01"};
        assert_refused(any, ELEMENTSOF(any), MAX_USEC + 1);
}

static int setup_berlin(void **state)
{
        return set_zone(BERLIN);
}

static int teardown_berlin(void **state)
{
        return set_zone("UTC");
}

static void test_local_time(void **state)
{
        /* 2026-12-01 23:30 UTC: already December 2 in Berlin. */
        const uint64_t now = SEC(1796167800);
        const struct accepted cases[] = {
            {"2026-12-01 09:00", DEC_1_0900 - HOUR(1)}, /* CET, UTC+1 */
            {"2026-07-01 09:00", SEC(1782889200)},      /* CEST, UTC+2 */
            {"2026-12-01", SEC(1796079600)},
            {"2026-12-01 09:00 UTC", DEC_1_0900},
            {"2026-12-01T09:00:00Z", DEC_1_0900},
            /* Today is the day where the time is. */
            {"09:00", SEC(1796198400)}, /* December 2, 08:00 UTC */
            {"09:00 UTC", DEC_1_0900},  /* December 1 */
            {"today", SEC(1796166000)}, /* December 2, 00:00 CET */
            {"tomorrow", SEC(1796252400)},
            {"yesterday", SEC(1796079600)},
            {"today UTC", DEC_1_0900 - HOUR(9)},
            {"Wed 2026-12-02 00:00", SEC(1796166000)},
            /* Spans and epoch seconds know no zone. */
            {"+1h", now + HOUR(1)},
            {"@1796167800", now},
            /* 1970-01-01 01:00 CET is the epoch. */
            {"1970-01-01 01:00", 0},
        };
        assert_accepted(cases, ELEMENTSOF(cases), now);
        const char *const refused[] = {"1970-01-01 00:59:59", "1970-01-01"};
        assert_refused(refused, ELEMENTSOF(refused), now);
}

/* Where the clocks change, a local time may not exist, or exist twice;
 * either is refused, not moved to a time the person did not type. */
static void test_clock_changes(void **state)
{
        const struct accepted cases[] = {
            /* Spring: 02:00 CET becomes 03:00 CEST. */
            {"2026-03-29 01:59", SEC(1774745940)},
            {"2026-03-29 03:00", SEC(1774746000)},
            {"2026-03-29 02:30 UTC", SEC(1774751400)},
            /* Autumn: 03:00 CEST becomes 02:00 CET; 02:00-02:59 comes twice. */
            {"2026-10-25 01:59", SEC(1792886340)},
            {"2026-10-25 03:00", SEC(1792893600)},
            {"2026-10-25 02:30 UTC", SEC(1792895400)},
        };
        assert_accepted(cases, ELEMENTSOF(cases), NOW);
        const char *const refused[] = {
            "2026-03-29 02:00", "2026-03-29 02:30", "2026-03-29 02:59:59",
            "2026-10-25 02:00", "2026-10-25 02:30", "2026-10-25 02:59:59",
        };
        assert_refused(refused, ELEMENTSOF(refused), NOW);

        /* A day is a calendar day, not 24 hours: from noon on the day summer
         * time ends, today began 25 hours before tomorrow does. */
        const uint64_t noon = SEC(1792926000); /* 2026-10-25 12:00 CET */
        const struct accepted days[] = {
            {"today", SEC(1792879200)},
            {"tomorrow", SEC(1792969200)},
            {"+1d", noon + DAY(1)},
        };
        assert_accepted(days, ELEMENTSOF(days), noon);
        /* A time alone on such a day is checked as well. */
        const char *const today_twice[] = {"02:30"};
        assert_refused(today_twice, ELEMENTSOF(today_twice), noon);
}

int main(void)
{
        /* Local time is UTC unless a test says otherwise. */
        if (set_zone("UTC") < 0)
                return 1;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_absolute_times),
            cmocka_unit_test(test_weekday),
            cmocka_unit_test(test_epoch_seconds),
            cmocka_unit_test(test_relative_spans),
            cmocka_unit_test(test_every_unit),
            cmocka_unit_test(test_words),
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_limits),
            cmocka_unit_test_setup_teardown(test_local_time, setup_berlin, teardown_berlin),
            cmocka_unit_test_setup_teardown(test_clock_changes, setup_berlin, teardown_berlin),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
