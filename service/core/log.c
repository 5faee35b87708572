#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int log_max_level = LOG_INFO;

static const char *const level_names[] = {
    [LOG_ERR] = "err",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
    [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s)
{
        for (int i = 0; i < (int) (sizeof(level_names) / sizeof(level_names[0])); i++)
                if (level_names[i] && strcmp(level_names[i], s) == 0)
                        return i;
        return -EINVAL;
}

void log_emit(int level, const char *fmt, ...)
{
        if (level > log_max_level)
                return;

        /* One write per line so that lines of a crash-looping daemon never mix. */
        char line[2048];
        int n = snprintf(line, sizeof(line), "<%d>", level);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
        va_end(ap);
        size_t len = strlen(line);
        line[len++] = '\n';
        fwrite(line, 1, len, stderr);
        fflush(stderr);
}
