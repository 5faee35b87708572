/* TIME on the command line of the clients: when mail is to go out
 * (mailspoolctl schedule, mailspool-sendmail --at). libc only. */
#pragma once

#include <stdint.h>

/* TIME as the clients take it (mailspoolctl schedule, mailspool-sendmail --at):
 * the timestamp forms systemd.time(7) accepts that a person types:
 *
 *   [WEEKDAY ]YYYY-M-D[( |T)H:MM[:SS[.FRACTION]]][Z| UTC]   (Z only after a time)
 *   H:MM[:SS[.FRACTION]][Z| UTC]       today, in the zone the time is in
 *   today, tomorrow, yesterday[ UTC]   midnight starting that day
 *   now
 *   @SECONDS[.FRACTION]                since the epoch
 *   +SPAN, SPAN left                   now_usec + SPAN
 *   -SPAN, SPAN ago                    now_usec - SPAN
 *
 * Without Z or UTC the time is local (TZ). A SPAN is one or more "NUMBER
 * UNIT" parts that add up ("1h 30min", "1h30min", "1.5h"); the units are
 * those of systemd.time(7): us, ms, s, min, h, d, w, M (a twelfth of a
 * year), y (365.25 days) and their long spellings. A lone NUMBER without a
 * unit is seconds ("+90").
 *
 * Returns 0 and *ret_usec, microseconds since the epoch (CLOCK_REALTIME), or
 * -EINVAL for anything else: a date that does not exist ("2026-02-30"), a
 * local time that does not exist or exists twice (when the clocks change),
 * trailing text, a result before 1970 or after 9999. now_usec is "now". */
int ctl_time_parse(const char *text, uint64_t now_usec, uint64_t *ret_usec);
