/* TIME for the clients (see ctl-time.h): systemd.time(7) timestamps read with
 * libc alone, so that the unit test can build this file by itself. Whatever
 * could be read two ways is refused: a mail sent at a guessed time cannot be
 * called back. */
#include "ctl-time.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define USEC_PER_MSEC   UINT64_C(1000)
#define USEC_PER_SEC    UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR   (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY    (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK   (7 * USEC_PER_DAY)
/* As systemd counts them: a year of 365.25 days and a month of a twelfth of
 * that (30.44 days), so that "12M" and "1y" are the same span. */
#define USEC_PER_YEAR  (31557600 * USEC_PER_SEC)
#define USEC_PER_MONTH (2629800 * USEC_PER_SEC)

/* 9999-12-31 23:59:59 UTC: a date has four digits of year, and a bound keeps
 * every result within what time_t, struct tm and the daemon can hold. */
#define TIME_MAX_SEC  INT64_C(253402300799)
#define TIME_MAX_USEC ((uint64_t) TIME_MAX_SEC * USEC_PER_SEC + USEC_PER_SEC - 1)

static const struct {
        const char *name;
        uint64_t usec;
} span_units[] = {
    {"usec", 1},
    {"us", 1},
    {"\xc2\xb5s", 1}, /* U+00B5 MICRO SIGN */
    {"\xce\xbcs", 1}, /* U+03BC GREEK SMALL LETTER MU */
    {"msec", USEC_PER_MSEC},
    {"ms", USEC_PER_MSEC},
    {"seconds", USEC_PER_SEC},
    {"second", USEC_PER_SEC},
    {"sec", USEC_PER_SEC},
    {"s", USEC_PER_SEC},
    {"minutes", USEC_PER_MINUTE},
    {"minute", USEC_PER_MINUTE},
    {"min", USEC_PER_MINUTE},
    {"m", USEC_PER_MINUTE},
    {"hours", USEC_PER_HOUR},
    {"hour", USEC_PER_HOUR},
    {"hr", USEC_PER_HOUR},
    {"h", USEC_PER_HOUR},
    {"days", USEC_PER_DAY},
    {"day", USEC_PER_DAY},
    {"d", USEC_PER_DAY},
    {"weeks", USEC_PER_WEEK},
    {"week", USEC_PER_WEEK},
    {"w", USEC_PER_WEEK},
    {"months", USEC_PER_MONTH},
    {"month", USEC_PER_MONTH},
    {"M", USEC_PER_MONTH},
    {"years", USEC_PER_YEAR},
    {"year", USEC_PER_YEAR},
    {"y", USEC_PER_YEAR},
};

/* Indexed by tm_wday. systemd prints the short name and reads either, in any
 * case. */
static const char *const weekday_names[7][2] = {
    {"Sun", "Sunday"},   {"Mon", "Monday"}, {"Tue", "Tuesday"},  {"Wed", "Wednesday"},
    {"Thu", "Thursday"}, {"Fri", "Friday"}, {"Sat", "Saturday"},
};

/* The text still to read, [p, end): suffixes (" UTC", " ago") are taken off
 * end before the rest is read, so no reader has to look ahead for them. */
struct scan {
        const char *p, *end;
};

/* Not isdigit(): that depends on the locale. */
static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Bytes a unit name is made of: ASCII letters, and the UTF-8 bytes of µ. */
static bool is_unit_byte(char c)
{
        unsigned char u = (unsigned char) c;
        return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0x80;
}

static bool is_letter(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool scan_at_end(const struct scan *s)
{
        return s->p == s->end;
}

static bool scan_peek_digit(const struct scan *s)
{
        return s->p < s->end && is_digit(*s->p);
}

static bool scan_char(struct scan *s, char c)
{
        if (s->p == s->end || *s->p != c)
                return false;
        s->p++;
        return true;
}

/* Whether the rest is exactly word; reads it if so. */
static bool scan_word(struct scan *s, const char *word)
{
        size_t n = strlen(word);
        if ((size_t) (s->end - s->p) != n || memcmp(s->p, word, n) != 0)
                return false;
        s->p = s->end;
        return true;
}

static bool strip_suffix(struct scan *s, const char *suffix)
{
        size_t n = strlen(suffix);
        if ((size_t) (s->end - s->p) < n || memcmp(s->end - n, suffix, n) != 0)
                return false;
        s->end -= n;
        return true;
}

static void skip_spaces(struct scan *s)
{
        while (s->p < s->end && *s->p == ' ')
                s->p++;
}

/* A field of min_digits to max_digits digits, with no further digit after it:
 * "123" is not a two-digit hour followed by something else. */
static bool scan_field(struct scan *s, unsigned min_digits, unsigned max_digits, int *ret)
{
        int value = 0;
        unsigned n = 0;
        while (scan_peek_digit(s) && n < max_digits) {
                value = value * 10 + (*s->p++ - '0');
                n++;
        }
        if (n < min_digits || scan_peek_digit(s))
                return false;
        *ret = value;
        return true;
}

/* An optional "." and 1 to 6 digits, as microseconds. More digits are refused
 * rather than rounded: the result cannot hold them. */
static bool scan_usec_fraction(struct scan *s, uint64_t *ret)
{
        uint64_t usec = 0, scale = USEC_PER_SEC;
        *ret = 0;
        if (!scan_char(s, '.'))
                return true;
        if (!scan_peek_digit(s))
                return false;
        while (scan_peek_digit(s)) {
                if (scale == 1)
                        return false;
                scale /= 10;
                usec += (uint64_t) (*s->p++ - '0') * scale;
        }
        *ret = usec;
        return true;
}

/* Digits up to the first non-digit, refused if the value does not fit. */
static bool scan_uint64(struct scan *s, uint64_t *ret)
{
        uint64_t value = 0;
        if (!scan_peek_digit(s))
                return false;
        while (scan_peek_digit(s)) {
                unsigned digit = (unsigned) (*s->p++ - '0');
                if (value > (UINT64_MAX - digit) / 10)
                        return false;
                value = value * 10 + digit;
        }
        *ret = value;
        return true;
}

static bool lookup_unit(const char *name, size_t n, uint64_t *ret)
{
        for (size_t i = 0; i < sizeof(span_units) / sizeof(span_units[0]); i++)
                if (strlen(span_units[i].name) == n && memcmp(span_units[i].name, name, n) == 0) {
                        *ret = span_units[i].usec;
                        return true;
                }
        return false;
}

/* The digits [digits, end) after a decimal point, times multiplier, rounded
 * down to the microsecond without floating point: from the last digit to the
 * first, r = (r + digit × multiplier) / 10. r stays below multiplier, so
 * nothing overflows for any unit. */
static uint64_t fraction_times(const char *digits, const char *end, uint64_t multiplier)
{
        uint64_t r = 0;
        for (const char *q = end; q > digits; q--)
                r = (r + (uint64_t) (q[-1] - '0') * multiplier) / 10;
        return r;
}

/* SPAN: "NUMBER[.FRACTION][ ]UNIT" parts, optionally spaced, added up; the
 * whole of s. A NUMBER without a unit is seconds, but only alone: "+5 10" is
 * no span anyone means. */
static int parse_span(struct scan *s, uint64_t *ret)
{
        uint64_t total = 0;
        unsigned n_parts = 0;
        bool unitless = false;

        for (;;) {
                uint64_t whole, multiplier, part;
                const char *fraction = NULL, *fraction_end = NULL;

                if (!scan_uint64(s, &whole))
                        return -EINVAL;
                if (scan_char(s, '.')) {
                        fraction = s->p;
                        while (scan_peek_digit(s))
                                s->p++;
                        fraction_end = s->p;
                        if (fraction == fraction_end)
                                return -EINVAL;
                }

                /* "5 min" is one part; the space belongs to it only if a unit
                 * follows, else it separates this part from the next. */
                struct scan unit = *s;
                skip_spaces(&unit);
                const char *unit_start = unit.p;
                while (unit.p < unit.end && is_unit_byte(*unit.p))
                        unit.p++;
                if (unit.p == unit_start) {
                        multiplier = USEC_PER_SEC;
                        unitless = true;
                } else {
                        if (!lookup_unit(unit_start, (size_t) (unit.p - unit_start), &multiplier))
                                return -EINVAL;
                        *s = unit;
                }

                if (whole > UINT64_MAX / multiplier)
                        return -EINVAL;
                part = whole * multiplier;
                if (fraction) {
                        uint64_t rest = fraction_times(fraction, fraction_end, multiplier);
                        if (part > UINT64_MAX - rest)
                                return -EINVAL;
                        part += rest;
                }
                if (total > UINT64_MAX - part)
                        return -EINVAL;
                total += part;
                n_parts++;

                if (scan_at_end(s))
                        break;
                /* Spaces between parts are optional ("1h30min"); after the
                 * last one they are trailing text, refused by scan_uint64(). */
                skip_spaces(s);
        }

        if (unitless && n_parts > 1)
                return -EINVAL;
        *ret = total;
        return 0;
}

static int now_plus_span(uint64_t now_usec, uint64_t span, bool later, uint64_t *ret)
{
        if (later) {
                if (span > TIME_MAX_USEC - now_usec)
                        return -EINVAL;
                *ret = now_usec + span;
        } else {
                /* Before the epoch is no time the daemon can keep. */
                if (span > now_usec)
                        return -EINVAL;
                *ret = now_usec - span;
        }
        return 0;
}

/* @SECONDS[.FRACTION] */
static int parse_epoch(struct scan *s, uint64_t *ret)
{
        uint64_t seconds, usec;
        if (!scan_uint64(s, &seconds) || !scan_usec_fraction(s, &usec) || !scan_at_end(s))
                return -EINVAL;
        if (seconds > (uint64_t) TIME_MAX_SEC)
                return -EINVAL;
        *ret = seconds * USEC_PER_SEC + usec;
        return 0;
}

static int seconds_to_usec(time_t t, uint64_t usec, uint64_t *ret)
{
        /* mktime()'s error, (time_t) -1, is before the epoch as well. */
        if (t < 0 || (int64_t) t > TIME_MAX_SEC)
                return -EINVAL;
        *ret = (uint64_t) t * USEC_PER_SEC + usec;
        return 0;
}

/* The calendar fields of t in UTC or in the local zone. */
static bool break_down(time_t t, bool utc, struct tm *ret)
{
        if (utc)
                return gmtime_r(&t, ret);
        /* localtime_r(), unlike localtime(), need not read TZ again. */
        tzset();
        return localtime_r(&t, ret);
}

static time_t make_time(struct tm *tm, bool utc)
{
        tm->tm_isdst = -1;
        return utc ? timegm(tm) : mktime(tm);
}

static bool same_wall_time(const struct tm *a, const struct tm *b)
{
        return a->tm_year == b->tm_year && a->tm_mon == b->tm_mon && a->tm_mday == b->tm_mday &&
               a->tm_hour == b->tm_hour && a->tm_min == b->tm_min && a->tm_sec == b->tm_sec;
}

/* Whether the local wall time want, which t shows, shows at another instant
 * too: when the clocks are put back, 02:30 comes twice and mktime() silently
 * takes one. The other instant differs by the change of UTC offset, which is
 * looked for a day either side of t. */
static bool local_time_is_ambiguous(time_t t, const struct tm *want)
{
        struct tm at;
        if (!break_down(t, false, &at))
                return true;
        const time_t around[] = {t - 86400, t + 86400};
        for (size_t i = 0; i < sizeof(around) / sizeof(around[0]); i++) {
                struct tm other, shown;
                if (!break_down(around[i], false, &other) || other.tm_gmtoff == at.tm_gmtoff)
                        continue;
                time_t twin = t + (at.tm_gmtoff - other.tm_gmtoff);
                if (break_down(twin, false, &shown) && same_wall_time(&shown, want))
                        return true;
        }
        return false;
}

/* today, tomorrow, yesterday: the first moment of that day. Unlike a typed
 * time, midnight is not checked: where the clocks change at midnight the day
 * starts at 01:00, and that is what mktime() says. */
static int parse_day_word(struct scan *s, bool utc, uint64_t now_usec, uint64_t *ret)
{
        static const struct {
                const char *word;
                int days;
        } words[] = {{"yesterday", -1}, {"today", 0}, {"tomorrow", 1}};

        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
                if (!scan_word(s, words[i].word))
                        continue;
                struct tm tm;
                if (!break_down((time_t) (now_usec / USEC_PER_SEC), utc, &tm))
                        return -EINVAL;
                tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
                tm.tm_mday += words[i].days;
                return seconds_to_usec(make_time(&tm, utc), 0, ret);
        }
        return -ENOENT;
}

/* An optional weekday and a space: its tm_wday, -1 if there is none, -2 if
 * the letters are no weekday. */
static int scan_weekday(struct scan *s)
{
        const char *start = s->p;
        while (s->p < s->end && is_letter(*s->p))
                s->p++;
        size_t n = (size_t) (s->p - start);
        if (n == 0)
                return -1;
        if (!scan_char(s, ' '))
                return -2;
        for (int day = 0; day < 7; day++)
                for (size_t form = 0; form < 2; form++)
                        if (strlen(weekday_names[day][form]) == n &&
                            strncasecmp(weekday_names[day][form], start, n) == 0)
                                return day;
        return -2;
}

/* [WEEKDAY ]YYYY-M-D[( |T)TIME], or TIME alone (today); TIME is
 * H:MM[:SS[.FRACTION]][Z]. Minutes and seconds take two digits: "9:5" could
 * be 09:05 or 09:50. */
static int parse_absolute(struct scan *s, bool utc, uint64_t now_usec, uint64_t *ret)
{
        int weekday, year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
        uint64_t usec = 0;
        bool has_date = false, has_time = true;

        weekday = scan_weekday(s);
        if (weekday == -2)
                return -EINVAL;

        struct scan date = *s;
        if (scan_field(&date, 4, 4, &year) && scan_char(&date, '-')) {
                *s = date;
                if (!scan_field(s, 1, 2, &month) || !scan_char(s, '-') ||
                    !scan_field(s, 1, 2, &day))
                        return -EINVAL;
                has_date = true;
                if (scan_at_end(s))
                        has_time = false;
                else if (!scan_char(s, ' ') && !scan_char(s, 'T'))
                        return -EINVAL;
        } else if (weekday >= 0)
                return -EINVAL;

        if (has_time) {
                if (!scan_field(s, 1, 2, &hour) || !scan_char(s, ':') ||
                    !scan_field(s, 2, 2, &minute))
                        return -EINVAL;
                if (scan_char(s, ':') &&
                    (!scan_field(s, 2, 2, &second) || !scan_usec_fraction(s, &usec)))
                        return -EINVAL;
                if (scan_char(s, 'Z')) {
                        if (utc)
                                return -EINVAL;
                        utc = true;
                }
        }
        if (!scan_at_end(s))
                return -EINVAL;

        if ((has_date && (month < 1 || month > 12 || day < 1 || day > 31)) || hour > 23 ||
            minute > 59 || second > 59)
                return -EINVAL;

        struct tm tm;
        if (has_date)
                tm = (struct tm){.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day};
        else if (!break_down((time_t) (now_usec / USEC_PER_SEC), utc, &tm))
                return -EINVAL;
        tm.tm_hour = hour;
        tm.tm_min = minute;
        tm.tm_sec = second;

        /* mktime() and timegm() carry what does not exist into the next field
         * (February 30 into March 2, 02:30 in the hour the clocks skip into
         * 03:30); a field that changed was not a time there is. */
        struct tm want = tm;
        time_t t = make_time(&tm, utc);
        if (!same_wall_time(&tm, &want))
                return -EINVAL;
        if (weekday >= 0 && tm.tm_wday != weekday)
                return -EINVAL;
        if (!utc && local_time_is_ambiguous(t, &want))
                return -EINVAL;
        return seconds_to_usec(t, usec, ret);
}

int ctl_time_parse(const char *text, uint64_t now_usec, uint64_t *ret_usec)
{
        uint64_t span;
        int r;

        /* A clock past 9999 is broken; anything read against it would be too. */
        if (!text || !ret_usec || now_usec > TIME_MAX_USEC)
                return -EINVAL;
        struct scan s = {text, text + strlen(text)};

        bool ago = strip_suffix(&s, " ago");
        if (ago || strip_suffix(&s, " left")) {
                r = parse_span(&s, &span);
                return r < 0 ? r : now_plus_span(now_usec, span, !ago, ret_usec);
        }
        if (scan_char(&s, '+') || scan_char(&s, '-')) {
                r = parse_span(&s, &span);
                return r < 0 ? r : now_plus_span(now_usec, span, text[0] == '+', ret_usec);
        }
        if (scan_char(&s, '@'))
                return parse_epoch(&s, ret_usec);
        if (scan_word(&s, "now")) {
                *ret_usec = now_usec;
                return 0;
        }

        /* Only where the zone changes the answer: "now UTC", "+1h UTC" and
         * "@0 UTC" fail above as trailing text. */
        bool utc = strip_suffix(&s, " UTC");
        r = parse_day_word(&s, utc, now_usec, ret_usec);
        if (r != -ENOENT)
                return r;
        return parse_absolute(&s, utc, now_usec, ret_usec);
}
