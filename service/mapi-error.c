#include "mapi-error.h"

#define ERR(n)       "org.mailspool.Spool1.Error." n
#define INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"

static const struct {
        const char *name;
        uint32_t value;
        const char *dbus;
} table[_MAPI_E_MAX] = {
    [MAPI_E_BUSY] = {"MAPI_E_BUSY", 0x8004010B, ERR("Busy")},
    [MAPI_E_NO_SUPPORT] = {"MAPI_E_NO_SUPPORT", 0x80040102, ERR("NoSupport")},
    [MAPI_E_NOT_FOUND] = {"MAPI_E_NOT_FOUND", 0x8004010F, ERR("NotFound")},
    [MAPI_E_LOGON_FAILED] = {"MAPI_E_LOGON_FAILED", 0x80040111, ERR("LogonFailed")},
    [MAPI_E_NETWORK_ERROR] = {"MAPI_E_NETWORK_ERROR", 0x80040115, ERR("NetworkError")},
    [MAPI_E_USER_CANCEL] = {"MAPI_E_USER_CANCEL", 0x80040113, ERR("Cancelled")},
    [MAPI_E_UNABLE_TO_ABORT] = {"MAPI_E_UNABLE_TO_ABORT", 0x80040114, ERR("NotQueued")},
    [MAPI_E_INVALID_PARAMETER] = {"MAPI_E_INVALID_PARAMETER", 0x80070057, INVALID_ARGS},
    [MAPI_E_UNKNOWN_FLAGS] = {"MAPI_E_UNKNOWN_FLAGS", 0x80040106, INVALID_ARGS},
    [MAPI_E_BAD_COLUMN] = {"MAPI_E_BAD_COLUMN", 0x80040118, INVALID_ARGS},
    [MAPI_E_TOO_COMPLEX] = {"MAPI_E_TOO_COMPLEX", 0x80040117, INVALID_ARGS},
    [MAPI_E_NO_ACCESS] = {"MAPI_E_NO_ACCESS", 0x80070005,
                          "org.freedesktop.DBus.Error.AccessDenied"},
    /* Store failures (disk full, read-only state dir): the standard IOError. */
    [MAPI_E_DISK_ERROR] = {"MAPI_E_DISK_ERROR", 0x80040116, "org.freedesktop.DBus.Error.IOError"},
    [MAPI_E_CALL_FAILED] = {"MAPI_E_CALL_FAILED", 0x80004005, "org.freedesktop.DBus.Error.Failed"},
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
