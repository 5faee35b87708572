#include "mapi-error.h"

#include <stddef.h>

#include "mailspool-bus.h"

#define E(code, dbus) [code] = {#code, MAILSPOOL_##code, dbus}

static const struct {
        const char *name;
        uint32_t value;
        const char *dbus;
} table[_MAPI_E_MAX] = {
    [MAPI_OK] = {"S_OK", 0, NULL},
    E(MAPI_E_BUSY, MAILSPOOL_ERROR_BUSY),
    E(MAPI_E_NO_SUPPORT, MAILSPOOL_ERROR_NO_SUPPORT),
    E(MAPI_E_NOT_FOUND, MAILSPOOL_ERROR_NOT_FOUND),
    E(MAPI_E_LOGON_FAILED, MAILSPOOL_ERROR_LOGON_FAILED),
    E(MAPI_E_NETWORK_ERROR, MAILSPOOL_ERROR_NETWORK_ERROR),
    E(MAPI_E_USER_CANCEL, MAILSPOOL_ERROR_CANCELLED),
    E(MAPI_E_UNABLE_TO_ABORT, MAILSPOOL_ERROR_NOT_QUEUED),
    E(MAPI_E_INVALID_PARAMETER, MAILSPOOL_ERROR_INVALID_ARGS),
    E(MAPI_E_UNKNOWN_FLAGS, MAILSPOOL_ERROR_INVALID_ARGS),
    E(MAPI_E_BAD_COLUMN, MAILSPOOL_ERROR_INVALID_ARGS),
    E(MAPI_E_TOO_COMPLEX, MAILSPOOL_ERROR_INVALID_ARGS),
    E(MAPI_E_NO_ACCESS, MAILSPOOL_ERROR_ACCESS_DENIED),
    /* Store failures (disk full, read-only state dir): the standard IOError. */
    E(MAPI_E_DISK_ERROR, MAILSPOOL_ERROR_IO_ERROR),
    E(MAPI_E_CALL_FAILED, MAILSPOOL_ERROR_FAILED),
    E(MAPI_E_TIMEOUT, MAILSPOOL_ERROR_TIMEOUT),
    E(MAPI_E_NOT_ENOUGH_RESOURCES, MAILSPOOL_ERROR_QUOTA_EXCEEDED),
    E(MAPI_E_NOT_ENOUGH_DISK, MAILSPOOL_ERROR_DISK_FULL),
};

const char *mapi_error_name(enum mapi_error e)
{
        return table[e].name;
}

uint32_t mapi_error_value(enum mapi_error e)
{
        return table[e].value;
}

const char *mapi_error_dbus_name(enum mapi_error e)
{
        return table[e].dbus;
}
