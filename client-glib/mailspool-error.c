/* Registers the daemon's error names with GDBus, so that a remote error
 * arrives as a MailspoolDaemonError code rather than G_IO_ERROR_DBUS_ERROR. */
#include "mailspool-error.h"

#include <gio/gio.h>

#include "mailspool-bus.h"

/* Registered, so that introspection sees an error domain (and Python
 * matches codes by name). */
G_DEFINE_ENUM_TYPE(MailspoolDaemonError, mailspool_daemon_error,
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_BUSY, "busy"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_NO_SUPPORT, "no-support"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_NOT_FOUND, "not-found"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_LOGON_FAILED, "logon-failed"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_NETWORK_ERROR, "network-error"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_CANCELLED, "cancelled"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_NOT_QUEUED, "not-queued"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_TIMEOUT, "timeout"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_QUOTA_EXCEEDED, "quota-exceeded"),
                   G_DEFINE_ENUM_VALUE(MAILSPOOL_DAEMON_ERROR_DISK_FULL, "disk-full"))

static const GDBusErrorEntry daemon_errors[] = {
    {MAILSPOOL_DAEMON_ERROR_BUSY, MAILSPOOL_ERROR_BUSY},
    {MAILSPOOL_DAEMON_ERROR_NO_SUPPORT, MAILSPOOL_ERROR_NO_SUPPORT},
    {MAILSPOOL_DAEMON_ERROR_NOT_FOUND, MAILSPOOL_ERROR_NOT_FOUND},
    {MAILSPOOL_DAEMON_ERROR_LOGON_FAILED, MAILSPOOL_ERROR_LOGON_FAILED},
    {MAILSPOOL_DAEMON_ERROR_NETWORK_ERROR, MAILSPOOL_ERROR_NETWORK_ERROR},
    {MAILSPOOL_DAEMON_ERROR_CANCELLED, MAILSPOOL_ERROR_CANCELLED},
    {MAILSPOOL_DAEMON_ERROR_NOT_QUEUED, MAILSPOOL_ERROR_NOT_QUEUED},
    {MAILSPOOL_DAEMON_ERROR_TIMEOUT, MAILSPOOL_ERROR_TIMEOUT},
    {MAILSPOOL_DAEMON_ERROR_QUOTA_EXCEEDED, MAILSPOOL_ERROR_QUOTA_EXCEEDED},
    {MAILSPOOL_DAEMON_ERROR_DISK_FULL, MAILSPOOL_ERROR_DISK_FULL},
};

/**
 * mailspool_daemon_error_quark:
 *
 * Returns: the quark of #MAILSPOOL_DAEMON_ERROR. The first call registers the
 * daemon's error names with GDBus; creating a #MailspoolClient makes it.
 */
GQuark mailspool_daemon_error_quark(void)
{
        static gsize quark;
        g_dbus_error_register_error_domain("mailspool-daemon-error-quark", &quark, daemon_errors,
                                           G_N_ELEMENTS(daemon_errors));
        return (GQuark) quark;
}
