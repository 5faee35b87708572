/* MailspoolClient: construction and the proxies it holds. */
#include "client-private.h"

#include "mailspool-bus.h"
#include "mailspool-error.h"

G_DEFINE_FINAL_TYPE(MailspoolClient, mailspool_client, G_TYPE_OBJECT)

static void mailspool_client_dispose(GObject *object)
{
        MailspoolClient *client = MAILSPOOL_CLIENT(object);
        g_clear_object(&client->status);
        g_clear_object(&client->spooler);
        g_clear_object(&client->connection);
        G_OBJECT_CLASS(mailspool_client_parent_class)->dispose(object);
}

static void mailspool_client_class_init(MailspoolClientClass *klass)
{
        G_OBJECT_CLASS(klass)->dispose = mailspool_client_dispose;
        /* Before the first call can fail: the daemon's errors then arrive in
         * MAILSPOOL_DAEMON_ERROR, with their names kept. */
        (void) mailspool_daemon_error_quark();
}

static void mailspool_client_init(MailspoolClient *client)
{
}

/**
 * mailspool_client_new_sync:
 * @connection: a connection to the bus the daemon is on
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Makes the proxies of the spooler object (/org/mailspool/Spool1/spooler) on
 * @connection and loads their properties. The daemon need not run: a proxy
 * follows the bus name, and a call starts the daemon where the bus can
 * activate it. Use the client from the thread-default main context it was
 * made in: its signals and replies arrive there.
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 */
MailspoolClient *mailspool_client_new_sync(GDBusConnection *connection, GCancellable *cancellable,
                                           GError **error)
{
        g_return_val_if_fail(G_IS_DBUS_CONNECTION(connection), NULL);

        g_autoptr(MailspoolClient) client = g_object_new(MAILSPOOL_TYPE_CLIENT, NULL);
        client->connection = g_object_ref(connection);
        client->spooler = mailspool_spooler_proxy_new_sync(
            connection, G_DBUS_PROXY_FLAGS_NONE, MAILSPOOL_BUS_NAME, MAILSPOOL_SPOOLER_PATH,
            cancellable, error);
        if (!client->spooler)
                return NULL;
        client->status =
            mailspool_status_proxy_new_sync(connection, G_DBUS_PROXY_FLAGS_NONE, MAILSPOOL_BUS_NAME,
                                            MAILSPOOL_SPOOLER_PATH, cancellable, error);
        if (!client->status)
                return NULL;
        return g_steal_pointer(&client);
}

static void on_status_proxy(GObject *source, GAsyncResult *result, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        MailspoolClient *client = g_task_get_task_data(task);
        GError *error = NULL;
        client->status = mailspool_status_proxy_new_finish(result, &error);
        if (client->status)
                g_task_return_pointer(task, g_object_ref(client), g_object_unref);
        else
                g_task_return_error(task, error);
}

static void on_spooler_proxy(GObject *source, GAsyncResult *result, gpointer user_data)
{
        GTask *task = user_data;
        MailspoolClient *client = g_task_get_task_data(task);
        GError *error = NULL;
        client->spooler = mailspool_spooler_proxy_new_finish(result, &error);
        if (!client->spooler) {
                g_task_return_error(task, error);
                g_object_unref(task);
                return;
        }
        mailspool_status_proxy_new(client->connection, G_DBUS_PROXY_FLAGS_NONE, MAILSPOOL_BUS_NAME,
                                   MAILSPOOL_SPOOLER_PATH, g_task_get_cancellable(task),
                                   on_status_proxy, task);
}

/**
 * mailspool_client_new:
 * @connection: a connection to the bus the daemon is on
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the client
 * @user_data: (closure): data for @callback
 *
 * mailspool_client_new_sync() without blocking, for a program whose main
 * loop must go on meanwhile (a window). On the process's shared connection,
 * get it with g_bus_get() first.
 */
void mailspool_client_new(GDBusConnection *connection, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(G_IS_DBUS_CONNECTION(connection));

        MailspoolClient *client = g_object_new(MAILSPOOL_TYPE_CLIENT, NULL);
        client->connection = g_object_ref(connection);
        GTask *task = g_task_new(NULL, cancellable, callback, user_data);
        g_task_set_source_tag(task, mailspool_client_new);
        g_task_set_task_data(task, client, g_object_unref);
        mailspool_spooler_proxy_new(connection, G_DBUS_PROXY_FLAGS_NONE, MAILSPOOL_BUS_NAME,
                                    MAILSPOOL_SPOOLER_PATH, cancellable, on_spooler_proxy, task);
}

/**
 * mailspool_client_new_finish:
 * @result: the #GAsyncResult given to the callback of mailspool_client_new()
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 */
MailspoolClient *mailspool_client_new_finish(GAsyncResult *result, GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/**
 * mailspool_client_new_for_bus_sync:
 * @bus_type: %G_BUS_TYPE_SESSION for a user's own daemon (mailspoold
 *   --session), %G_BUS_TYPE_SYSTEM for the system service
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * mailspool_client_new_sync() on the process's shared connection to that bus.
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 */
MailspoolClient *mailspool_client_new_for_bus_sync(GBusType bus_type, GCancellable *cancellable,
                                                   GError **error)
{
        g_autoptr(GDBusConnection) connection = g_bus_get_sync(bus_type, cancellable, error);
        if (!connection)
                return NULL;
        return mailspool_client_new_sync(connection, cancellable, error);
}

/**
 * mailspool_client_get_connection:
 * @client: a #MailspoolClient
 *
 * Returns: (transfer none): the connection the client uses, for the proxies
 *   of transports and messages (mailspool_transport_proxy_new_sync() with
 *   the bus name "org.mailspool.Spool1")
 */
GDBusConnection *mailspool_client_get_connection(MailspoolClient *client)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        return client->connection;
}

/**
 * mailspool_client_get_spooler:
 * @client: a #MailspoolClient
 *
 * Returns: (transfer none): the proxy of the spooler's Spooler interface:
 *   QueryStatusTable, ListMessages, CancelFlush, TransportOrder, Version
 */
MailspoolSpooler *mailspool_client_get_spooler(MailspoolClient *client)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        return client->spooler;
}

/**
 * mailspool_client_get_status:
 * @client: a #MailspoolClient
 *
 * Returns: (transfer none): the proxy of the spooler's Status interface:
 *   StatusCode, StatusString, ValidateState, and the flush signals
 */
MailspoolStatus *mailspool_client_get_status(MailspoolClient *client)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        return client->status;
}

GVariant *client_options_or_empty(GVariant *options)
{
        return options ? options : g_variant_new("a{sv}", NULL);
}
