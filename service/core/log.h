/* Log lines on stderr with the <N> priority prefix that journald and
 * systemd's stderr capture understand. */
#pragma once

#include <syslog.h>

extern int log_max_level;

int log_level_from_string(
    const char *s); /* "err", "warning", "notice", "info", "debug"; or -EINVAL */
void log_emit(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_emit(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_emit(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_emit(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_emit(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_emit(LOG_DEBUG, __VA_ARGS__)
