/* The MAPI error codes the daemon answers with, and the D-Bus error each maps
 * to (docs/bus-api.md, "Errors"). Every error message starts with the code's
 * name and value, e.g. "MAPI_E_BUSY (0x8004010B): ...". */
#pragma once

#include <stdint.h>

enum mapi_error {
        MAPI_OK, /* no error: what a report of success carries */
        MAPI_E_BUSY,
        MAPI_E_NO_SUPPORT,
        MAPI_E_NOT_FOUND,
        MAPI_E_LOGON_FAILED,
        MAPI_E_NETWORK_ERROR,
        MAPI_E_USER_CANCEL,
        MAPI_E_UNABLE_TO_ABORT,
        MAPI_E_INVALID_PARAMETER,
        MAPI_E_UNKNOWN_FLAGS,
        MAPI_E_BAD_COLUMN,
        MAPI_E_TOO_COMPLEX,
        MAPI_E_NO_ACCESS,
        MAPI_E_DISK_ERROR,
        MAPI_E_CALL_FAILED,
        MAPI_E_TIMEOUT,
        MAPI_E_NOT_ENOUGH_RESOURCES, /* a per-user quota */
        MAPI_E_NOT_ENOUGH_DISK,      /* the disk reserve */
        _MAPI_E_MAX,
};

const char *mapi_error_name(enum mapi_error e);      /* "MAPI_E_BUSY" */
uint32_t mapi_error_value(enum mapi_error e);        /* 0x8004010B */
const char *mapi_error_dbus_name(enum mapi_error e); /* "org.mailspool.Spool1.Error.Busy" */
