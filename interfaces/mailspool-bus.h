/* The names and numbers of the mailspool bus contract, written once for the
 * daemon, libmailspool and the clients (docs/bus-api.md explains each; the
 * interfaces' XML in this folder is the machine-checked form). The numbers
 * are MAPI's own, so that a person who knows MAPI reads them without a table.
 * Installed beside mailspool.h, which includes it. */
#pragma once

/* --- Names --------------------------------------------------------------- */

#define MAILSPOOL_BUS_NAME         "org.mailspool.Spool1"
#define MAILSPOOL_OBJECT_ROOT      "/org/mailspool/Spool1"
#define MAILSPOOL_SPOOLER_PATH     MAILSPOOL_OBJECT_ROOT "/spooler"
#define MAILSPOOL_TRANSPORT_PREFIX MAILSPOOL_OBJECT_ROOT "/transport"
#define MAILSPOOL_MESSAGE_PREFIX   MAILSPOOL_OBJECT_ROOT "/message"

#define MAILSPOOL_IFACE_STATUS    MAILSPOOL_BUS_NAME ".Status"
#define MAILSPOOL_IFACE_SPOOLER   MAILSPOOL_BUS_NAME ".Spooler"
#define MAILSPOOL_IFACE_TRANSPORT MAILSPOOL_BUS_NAME ".Transport"
#define MAILSPOOL_IFACE_MESSAGE   MAILSPOOL_BUS_NAME ".Message"

/* --- Errors: the D-Bus name and the MAPI code each one stands for --------- */

#define MAILSPOOL_ERROR_BUSY           MAILSPOOL_BUS_NAME ".Error.Busy"
#define MAILSPOOL_ERROR_NO_SUPPORT     MAILSPOOL_BUS_NAME ".Error.NoSupport"
#define MAILSPOOL_ERROR_NOT_FOUND      MAILSPOOL_BUS_NAME ".Error.NotFound"
#define MAILSPOOL_ERROR_LOGON_FAILED   MAILSPOOL_BUS_NAME ".Error.LogonFailed"
#define MAILSPOOL_ERROR_NETWORK_ERROR  MAILSPOOL_BUS_NAME ".Error.NetworkError"
#define MAILSPOOL_ERROR_CANCELLED      MAILSPOOL_BUS_NAME ".Error.Cancelled"
#define MAILSPOOL_ERROR_NOT_QUEUED     MAILSPOOL_BUS_NAME ".Error.NotQueued"
#define MAILSPOOL_ERROR_TIMEOUT        MAILSPOOL_BUS_NAME ".Error.Timeout"
#define MAILSPOOL_ERROR_QUOTA_EXCEEDED MAILSPOOL_BUS_NAME ".Error.QuotaExceeded"
#define MAILSPOOL_ERROR_DISK_FULL      MAILSPOOL_BUS_NAME ".Error.DiskFull"
/* The bus's standard errors, for bad arguments, refused callers, store
 * failures and anything else that went wrong. */
#define MAILSPOOL_ERROR_INVALID_ARGS  "org.freedesktop.DBus.Error.InvalidArgs"
#define MAILSPOOL_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define MAILSPOOL_ERROR_IO_ERROR      "org.freedesktop.DBus.Error.IOError"
#define MAILSPOOL_ERROR_FAILED        "org.freedesktop.DBus.Error.Failed"

#define MAILSPOOL_MAPI_E_BUSY                 0x8004010Bu
#define MAILSPOOL_MAPI_E_NO_SUPPORT           0x80040102u
#define MAILSPOOL_MAPI_E_NOT_FOUND            0x8004010Fu
#define MAILSPOOL_MAPI_E_LOGON_FAILED         0x80040111u
#define MAILSPOOL_MAPI_E_NETWORK_ERROR        0x80040115u
#define MAILSPOOL_MAPI_E_USER_CANCEL          0x80040113u
#define MAILSPOOL_MAPI_E_UNABLE_TO_ABORT      0x80040114u
#define MAILSPOOL_MAPI_E_INVALID_PARAMETER    0x80070057u
#define MAILSPOOL_MAPI_E_UNKNOWN_FLAGS        0x80040106u
#define MAILSPOOL_MAPI_E_BAD_COLUMN           0x80040118u
#define MAILSPOOL_MAPI_E_TOO_COMPLEX          0x80040117u
#define MAILSPOOL_MAPI_E_NO_ACCESS            0x80070005u
#define MAILSPOOL_MAPI_E_DISK_ERROR           0x80040116u
#define MAILSPOOL_MAPI_E_CALL_FAILED          0x80004005u
#define MAILSPOOL_MAPI_E_TIMEOUT              0x80040401u
#define MAILSPOOL_MAPI_E_NOT_ENOUGH_RESOURCES 0x8007000Eu
#define MAILSPOOL_MAPI_E_NOT_ENOUGH_DISK      0x8004010Du

/* --- FlushQueues flags ----------------------------------------------------- */

#define MAILSPOOL_FLUSH_UPLOAD   0x02u
#define MAILSPOOL_FLUSH_DOWNLOAD 0x04u
#define MAILSPOOL_FLUSH_FORCE    0x08u
#define MAILSPOOL_FLUSH_NO_UI    0x10u
#define MAILSPOOL_FLUSH_ASYNC_OK 0x20u
#define MAILSPOOL_FLUSH_ALL_FLAGS                                                                  \
        (MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_DOWNLOAD | MAILSPOOL_FLUSH_FORCE |               \
         MAILSPOOL_FLUSH_NO_UI | MAILSPOOL_FLUSH_ASYNC_OK)

/* --- ResourceMethods ------------------------------------------------------- */

#define MAILSPOOL_STATUS_VALIDATE_STATE  0x1u
#define MAILSPOOL_STATUS_SETTINGS_DIALOG 0x2u
#define MAILSPOOL_STATUS_CHANGE_PASSWORD 0x4u
#define MAILSPOOL_STATUS_FLUSH_QUEUES    0x8u

/* --- StatusCode ------------------------------------------------------------ */

#define MAILSPOOL_STATUS_AVAILABLE        0x1u
#define MAILSPOOL_STATUS_OFFLINE          0x2u
#define MAILSPOOL_STATUS_FAILURE          0x4u
#define MAILSPOOL_STATUS_INBOUND_ENABLED  0x10000u
#define MAILSPOOL_STATUS_INBOUND_ACTIVE   0x20000u
#define MAILSPOOL_STATUS_INBOUND_FLUSH    0x40000u
#define MAILSPOOL_STATUS_OUTBOUND_ENABLED 0x100000u
#define MAILSPOOL_STATUS_OUTBOUND_ACTIVE  0x200000u
#define MAILSPOOL_STATUS_OUTBOUND_FLUSH   0x400000u
#define MAILSPOOL_STATUS_REMOTE_ACCESS    0x800000u

/* --- ResourceFlags --------------------------------------------------------- */

#define MAILSPOOL_STATUS_DEFAULT_OUTBOUND 0x1u

/* --- ResourceType and ObjectType ------------------------------------------ */

#define MAILSPOOL_RESOURCE_TRANSPORT 36u  /* MAPI_TRANSPORT_PROVIDER */
#define MAILSPOOL_RESOURCE_SPOOLER   37u  /* MAPI_SPOOLER */
#define MAILSPOOL_OBJECT_STATUS      0xAu /* MAPI_STATUS */

/* --- ValidateState flags --------------------------------------------------- */

#define MAILSPOOL_VALIDATE_SUPPRESS_UI               0x1u
#define MAILSPOOL_VALIDATE_REFRESH_XP_HEADER_CACHE   0x10000u
#define MAILSPOOL_VALIDATE_PROCESS_XP_HEADER_CACHE   0x20000u
#define MAILSPOOL_VALIDATE_FORCE_CONNECT             0x40000u /* FORCE_XP_CONNECT */
#define MAILSPOOL_VALIDATE_FORCE_DISCONNECT          0x80000u /* FORCE_XP_DISCONNECT */
#define MAILSPOOL_VALIDATE_CONFIG_CHANGED            0x100000u
#define MAILSPOOL_VALIDATE_ABORT_XP_HEADER_OPERATION 0x200000u
#define MAILSPOOL_VALIDATE_SHOW_XP_SESSION_UI        0x400000u
#define MAILSPOOL_VALIDATE_ALL_FLAGS                                                               \
        (MAILSPOOL_VALIDATE_SUPPRESS_UI | MAILSPOOL_VALIDATE_REFRESH_XP_HEADER_CACHE |             \
         MAILSPOOL_VALIDATE_PROCESS_XP_HEADER_CACHE | MAILSPOOL_VALIDATE_FORCE_CONNECT |           \
         MAILSPOOL_VALIDATE_FORCE_DISCONNECT | MAILSPOOL_VALIDATE_CONFIG_CHANGED |                 \
         MAILSPOOL_VALIDATE_ABORT_XP_HEADER_OPERATION | MAILSPOOL_VALIDATE_SHOW_XP_SESSION_UI)
#define MAILSPOOL_VALIDATE_HEADER_CACHE_FLAGS                                                      \
        (MAILSPOOL_VALIDATE_REFRESH_XP_HEADER_CACHE | MAILSPOOL_VALIDATE_PROCESS_XP_HEADER_CACHE | \
         MAILSPOOL_VALIDATE_ABORT_XP_HEADER_OPERATION)
