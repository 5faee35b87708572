/* The daemon's own D-Bus errors as a GError domain. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/**
 * MAILSPOOL_DAEMON_ERROR:
 *
 * The domain of the errors the daemon names org.mailspool.Spool1.Error.*
 * (the errors it shares with D-Bus, such as InvalidArgs, stay in
 * G_DBUS_ERROR). g_dbus_error_get_remote_error() still gives the D-Bus name.
 */
#define MAILSPOOL_DAEMON_ERROR (mailspool_daemon_error_quark())

/**
 * MailspoolDaemonError:
 * @MAILSPOOL_DAEMON_ERROR_BUSY: Error.Busy (MAPI_E_BUSY): part of a flush
 *   already runs, the daemon is stopping, or too many submissions at once
 * @MAILSPOOL_DAEMON_ERROR_NO_SUPPORT: Error.NoSupport (MAPI_E_NO_SUPPORT)
 * @MAILSPOOL_DAEMON_ERROR_NOT_FOUND: Error.NotFound (MAPI_E_NOT_FOUND): no
 *   such transport, message or flush
 * @MAILSPOOL_DAEMON_ERROR_LOGON_FAILED: Error.LogonFailed (MAPI_E_LOGON_FAILED)
 * @MAILSPOOL_DAEMON_ERROR_NETWORK_ERROR: Error.NetworkError (MAPI_E_NETWORK_ERROR)
 * @MAILSPOOL_DAEMON_ERROR_CANCELLED: Error.Cancelled (MAPI_E_USER_CANCEL):
 *   CancelFlush stopped the flush
 * @MAILSPOOL_DAEMON_ERROR_NOT_QUEUED: Error.NotQueued (MAPI_E_UNABLE_TO_ABORT)
 * @MAILSPOOL_DAEMON_ERROR_TIMEOUT: Error.Timeout (MAPI_E_TIMEOUT)
 * @MAILSPOOL_DAEMON_ERROR_QUOTA_EXCEEDED: Error.QuotaExceeded
 *   (MAPI_E_NOT_ENOUGH_RESOURCES)
 * @MAILSPOOL_DAEMON_ERROR_DISK_FULL: Error.DiskFull (MAPI_E_NOT_ENOUGH_DISK)
 *
 * The codes of #MAILSPOOL_DAEMON_ERROR, one per error of the bus contract.
 */
typedef enum {
        MAILSPOOL_DAEMON_ERROR_BUSY,
        MAILSPOOL_DAEMON_ERROR_NO_SUPPORT,
        MAILSPOOL_DAEMON_ERROR_NOT_FOUND,
        MAILSPOOL_DAEMON_ERROR_LOGON_FAILED,
        MAILSPOOL_DAEMON_ERROR_NETWORK_ERROR,
        MAILSPOOL_DAEMON_ERROR_CANCELLED,
        MAILSPOOL_DAEMON_ERROR_NOT_QUEUED,
        MAILSPOOL_DAEMON_ERROR_TIMEOUT,
        MAILSPOOL_DAEMON_ERROR_QUOTA_EXCEEDED,
        MAILSPOOL_DAEMON_ERROR_DISK_FULL,
} MailspoolDaemonError;

GQuark mailspool_daemon_error_quark(void);

#define MAILSPOOL_TYPE_DAEMON_ERROR (mailspool_daemon_error_get_type())
GType mailspool_daemon_error_get_type(void);

G_END_DECLS
