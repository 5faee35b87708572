#include "bus-error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

int bus_error_mapi(sd_bus_error *error, enum mapi_error code, const char *fmt, ...)
{
        _cleanup_free_ char *text = NULL;
        va_list ap;

        va_start(ap, fmt);
        int r = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        /* The words may quote a server or a file name: the bus takes only UTF-8. */
        if (utf8_make_valid_in_place(&text) < 0)
                return -ENOMEM;

        sd_bus_error_setf(error, mapi_error_dbus_name(code), "%s (0x%08X): %s",
                          mapi_error_name(code), mapi_error_value(code), text);
        /* A non-zero return that sd-bus turns into the error we set. */
        return -EIO;
}

int bus_error_store(sd_bus_error *error, int r, const char *what)
{
        switch (r) {
        case -ENOSPC:
                return bus_error_mapi(error, MAPI_E_DISK_ERROR,
                                      "%s: the state directory is full; nothing was stored", what);
        case -EROFS:
                return bus_error_mapi(error, MAPI_E_DISK_ERROR,
                                      "%s: the state directory is read-only; nothing was stored",
                                      what);
        case -ENOMEM:
                return -ENOMEM;
        default:
                return bus_error_mapi(error, MAPI_E_DISK_ERROR, "%s: the message store failed: %s",
                                      what, strerror(-r));
        }
}
