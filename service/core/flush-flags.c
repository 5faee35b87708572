/* The flag rules of FlushQueues and ValidateState. The sentences are what a
 * caller reads after the MAPI code the bus layer puts in front of them, so
 * each one says what to change. */
#include "flush-flags.h"
#include "mailspool-bus.h"

/* Sets the outputs of a rejected call in one place. */
static int flags_reject(enum mapi_error code, const char *sentence, enum mapi_error *ret_code,
                        const char **ret_error)
{
        if (ret_code)
                *ret_code = code;
        if (ret_error)
                *ret_error = sentence;
        return -EINVAL;
}

int flush_flags_check(uint32_t flags, bool on_spooler, enum mapi_error *ret_code,
                      const char **ret_error)
{
        /* Unknown bits first: a caller who sends a newer flag should learn
         * that we do not know it, not be told something else is missing. */
        if (flags & ~MAILSPOOL_FLUSH_ALL_FLAGS)
                return flags_reject(MAPI_E_UNKNOWN_FLAGS,
                                    "FlushQueues knows only FLUSH_UPLOAD (0x02), FLUSH_DOWNLOAD "
                                    "(0x04), FLUSH_FORCE (0x08), FLUSH_NO_UI (0x10) and "
                                    "FLUSH_ASYNC_OK (0x20); clear the other bits",
                                    ret_code, ret_error);

        if (!(flags & (MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_DOWNLOAD)))
                return flags_reject(MAPI_E_INVALID_PARAMETER,
                                    "nothing to flush: set FLUSH_UPLOAD (0x02) to send the "
                                    "outgoing queue, FLUSH_DOWNLOAD (0x04) to fetch the incoming "
                                    "one, or both",
                                    ret_code, ret_error);

        /* Only the spooler can answer early and report the end by signal;
         * a transport's own flush always replies when it is done. */
        if ((flags & MAILSPOOL_FLUSH_ASYNC_OK) && !on_spooler)
                return flags_reject(MAPI_E_INVALID_PARAMETER,
                                    "FLUSH_ASYNC_OK (0x20) is for the spooler alone: drop it, or "
                                    "call FlushQueues on /org/mailspool/Spool1/spooler with this "
                                    "transport as the target",
                                    ret_code, ret_error);
        return 0;
}

int validate_flags_check(uint32_t flags, bool on_spooler, enum mapi_error *ret_code,
                         const char **ret_error)
{
        if (flags & ~MAILSPOOL_VALIDATE_ALL_FLAGS)
                return flags_reject(MAPI_E_UNKNOWN_FLAGS,
                                    "ValidateState knows only SUPPRESS_UI (0x1), "
                                    "REFRESH_XP_HEADER_CACHE (0x10000), PROCESS_XP_HEADER_CACHE "
                                    "(0x20000), FORCE_XP_CONNECT (0x40000), FORCE_XP_DISCONNECT "
                                    "(0x80000), CONFIG_CHANGED (0x100000), "
                                    "ABORT_XP_HEADER_OPERATION (0x200000) and SHOW_XP_SESSION_UI "
                                    "(0x400000); clear the other bits",
                                    ret_code, ret_error);

        /* The configuration is read as a whole, so one transport cannot
         * re-read just its own part. */
        if ((flags & MAILSPOOL_VALIDATE_CONFIG_CHANGED) && !on_spooler)
                return flags_reject(MAPI_E_INVALID_PARAMETER,
                                    "CONFIG_CHANGED (0x100000) re-reads the whole configuration "
                                    "and is for the spooler alone: call ValidateState on "
                                    "/org/mailspool/Spool1/spooler",
                                    ret_code, ret_error);

        if ((flags & MAILSPOOL_VALIDATE_FORCE_CONNECT) &&
            (flags & MAILSPOOL_VALIDATE_FORCE_DISCONNECT))
                return flags_reject(MAPI_E_INVALID_PARAMETER,
                                    "FORCE_XP_CONNECT (0x40000) and FORCE_XP_DISCONNECT (0x80000) "
                                    "contradict each other; pass only one of them",
                                    ret_code, ret_error);
        return 0;
}

const char *flush_flags_to_string(uint32_t flags, char *buf, size_t size)
{
        static const struct {
                uint32_t bit;
                const char *name;
        } names[] = {
            {MAILSPOOL_FLUSH_UPLOAD, "UPLOAD"},     {MAILSPOOL_FLUSH_DOWNLOAD, "DOWNLOAD"},
            {MAILSPOOL_FLUSH_FORCE, "FORCE"},       {MAILSPOOL_FLUSH_NO_UI, "NO_UI"},
            {MAILSPOOL_FLUSH_ASYNC_OK, "ASYNC_OK"},
        };
        size_t used = 0;

        if (!buf || size == 0)
                return "";
        buf[0] = '\0';

        /* snprintf's return may exceed what fit; clamp so that a short
         * buffer ends truncated instead of being written past. */
#define APPEND(...)                                                                                \
        do {                                                                                       \
                if (used < size) {                                                                 \
                        int k = snprintf(buf + used, size - used, __VA_ARGS__);                    \
                        used = k < 0 ? size : used + (size_t) k;                                   \
                }                                                                                  \
        } while (0)

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (flags & names[i].bit)
                        APPEND("%s%s", used > 0 ? "|" : "", names[i].name);
        if (flags & ~MAILSPOOL_FLUSH_ALL_FLAGS)
                APPEND("%s0x%X", used > 0 ? "|" : "",
                       (unsigned) (flags & ~MAILSPOOL_FLUSH_ALL_FLAGS));
        if (flags == 0)
                APPEND("none");
#undef APPEND
        return buf;
}
