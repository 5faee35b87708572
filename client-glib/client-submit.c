/* Submit and SubmitData with a GFile or GBytes. A local file goes as its
 * descriptor (Submit, the daemon reads it), anything else GIO can read as
 * bytes (SubmitData). Either way the path comes once the message is stored. */
#include "client-private.h"

#include <gio/gfiledescriptorbased.h>
#include <gio/gunixfdlist.h>

#include "mailspool-bus.h"

/* The message path of Submit's or SubmitData's reply (o); NULL stays NULL. */
static gchar *path_of(GVariant *reply)
{
        gchar *path = NULL;
        if (reply)
                g_variant_get(reply, "(o)", &path);
        return path;
}

static void on_submit_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        GError *error = NULL;
        g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
        if (reply)
                g_task_return_pointer(task, path_of(reply), g_free);
        else
                g_task_return_error(task, error);
}

static GVariant *submit_data_args(GBytes *message, GVariant *options)
{
        GVariant *data = g_variant_new_from_bytes(G_VARIANT_TYPE_BYTESTRING, message, TRUE);
        return g_variant_new("(@ay@a{sv})", data, client_options_or_empty(options));
}

/* The descriptor goes as index 0 of the call's descriptor list, which holds
 * a duplicate of it (the stream keeps its own); NULL when that fails. */
static GUnixFDList *fd_list_of(GInputStream *stream, GError **error)
{
        g_autoptr(GUnixFDList) fds = g_unix_fd_list_new();
        gint fd = g_file_descriptor_based_get_fd(G_FILE_DESCRIPTOR_BASED(stream));
        if (g_unix_fd_list_append(fds, fd, error) < 0)
                return NULL;
        return g_steal_pointer(&fds);
}

static GVariant *submit_args(GVariant *options)
{
        return g_variant_new("(h@a{sv})", 0, client_options_or_empty(options));
}

static gboolean check_options(GVariant *options)
{
        return !options || g_variant_is_of_type(options, G_VARIANT_TYPE_VARDICT);
}

/**
 * mailspool_client_submit_bytes:
 * @client: a #MailspoolClient
 * @message: the RFC 5322 message
 * @options: (nullable): the options a{sv} of SubmitData (Transport, Sender,
 *   Recipients, OnDemand, Hold, DeferredUntil, ExpiryTime, DsnNotify, DsnReturn,
 *   DsnEnvelopeId), or %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the daemon has stored the message or refused it
 * @user_data: (closure): data for @callback
 *
 * Spooler.SubmitData with @message, without copying it.
 */
void mailspool_client_submit_bytes(MailspoolClient *client, GBytes *message, GVariant *options,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data)
{
        g_return_if_fail(MAILSPOOL_IS_CLIENT(client));
        g_return_if_fail(message != NULL);
        g_return_if_fail(check_options(options));

        GTask *task = g_task_new(client, cancellable, callback, user_data);
        g_task_set_source_tag(task, mailspool_client_submit_bytes);
        g_dbus_proxy_call(G_DBUS_PROXY(client->spooler), "SubmitData",
                          submit_data_args(message, options), G_DBUS_CALL_FLAGS_NONE, -1,
                          cancellable, on_submit_reply, task);
}

/**
 * mailspool_client_submit_bytes_finish:
 * @client: a #MailspoolClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the object path of the stored message
 *   (/org/mailspool/Spool1/message/N), or %NULL with @error set: the daemon's
 *   refusal keeps its D-Bus name (g_dbus_error_get_remote_error())
 */
gchar *mailspool_client_submit_bytes_finish(MailspoolClient *client, GAsyncResult *result,
                                            GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, client), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/**
 * mailspool_client_submit_bytes_sync:
 * @client: a #MailspoolClient
 * @message: the RFC 5322 message
 * @options: (nullable): the options a{sv} of SubmitData, or %NULL for none
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * mailspool_client_submit_bytes(), blocking.
 *
 * Returns: (transfer full): the object path of the stored message, or %NULL
 *   with @error set
 */
gchar *mailspool_client_submit_bytes_sync(MailspoolClient *client, GBytes *message,
                                          GVariant *options, GCancellable *cancellable,
                                          GError **error)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        g_return_val_if_fail(message != NULL, NULL);
        g_return_val_if_fail(check_options(options), NULL);

        g_autoptr(GVariant) reply = g_dbus_proxy_call_sync(
            G_DBUS_PROXY(client->spooler), "SubmitData", submit_data_args(message, options),
            G_DBUS_CALL_FLAGS_NONE, -1, cancellable, error);
        return path_of(reply);
}

static void submit_stream(GTask *task, GInputStream *stream)
{
        MailspoolClient *client = g_task_get_source_object(task);
        GError *error = NULL;
        g_autoptr(GUnixFDList) fds = fd_list_of(stream, &error);
        if (!fds) {
                g_task_return_error(task, error);
                g_object_unref(task);
                return;
        }
        g_dbus_proxy_call_with_unix_fd_list(
            G_DBUS_PROXY(client->spooler), "Submit", submit_args(g_task_get_task_data(task)),
            G_DBUS_CALL_FLAGS_NONE, -1, fds, g_task_get_cancellable(task), on_submit_reply, task);
}

static void on_contents_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
        GTask *task = user_data;
        GError *error = NULL;
        gchar *contents;
        gsize size;
        if (!g_file_load_contents_finish(G_FILE(source), result, &contents, &size, NULL, &error)) {
                g_task_return_error(task, error);
                g_object_unref(task);
                return;
        }
        MailspoolClient *client = g_task_get_source_object(task);
        g_autoptr(GBytes) message = g_bytes_new_take(contents, size);
        g_dbus_proxy_call(G_DBUS_PROXY(client->spooler), "SubmitData",
                          submit_data_args(message, g_task_get_task_data(task)),
                          G_DBUS_CALL_FLAGS_NONE, -1, g_task_get_cancellable(task), on_submit_reply,
                          task);
}

static void on_file_opened(GObject *source, GAsyncResult *result, gpointer user_data)
{
        GTask *task = user_data;
        GError *error = NULL;
        g_autoptr(GFileInputStream) stream = g_file_read_finish(G_FILE(source), result, &error);
        if (!stream) {
                g_task_return_error(task, error);
                g_object_unref(task);
                return;
        }
        if (G_IS_FILE_DESCRIPTOR_BASED(stream))
                submit_stream(task, G_INPUT_STREAM(stream));
        else
                g_file_load_contents_async(G_FILE(source), g_task_get_cancellable(task),
                                           on_contents_loaded, task);
}

/**
 * mailspool_client_submit_file:
 * @client: a #MailspoolClient
 * @file: the RFC 5322 message
 * @options: (nullable): the options a{sv} of Submit (as for SubmitData), or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the daemon has stored the message or refused it
 * @user_data: (closure): data for @callback
 *
 * Spooler.Submit with @file's descriptor when it is a local file: the daemon
 * reads it, nothing is copied here. A file of another GIO backend is read
 * here first and goes as SubmitData.
 */
void mailspool_client_submit_file(MailspoolClient *client, GFile *file, GVariant *options,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
        g_return_if_fail(MAILSPOOL_IS_CLIENT(client));
        g_return_if_fail(G_IS_FILE(file));
        g_return_if_fail(check_options(options));

        GTask *task = g_task_new(client, cancellable, callback, user_data);
        g_task_set_source_tag(task, mailspool_client_submit_file);
        if (options)
                g_task_set_task_data(task, g_variant_ref_sink(options),
                                     (GDestroyNotify) g_variant_unref);
        g_file_read_async(file, G_PRIORITY_DEFAULT, cancellable, on_file_opened, task);
}

/**
 * mailspool_client_submit_file_finish:
 * @client: a #MailspoolClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the object path of the stored message, or %NULL
 *   with @error set (the file could not be read, or the daemon refused it)
 */
gchar *mailspool_client_submit_file_finish(MailspoolClient *client, GAsyncResult *result,
                                           GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, client), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/**
 * mailspool_client_submit_file_sync:
 * @client: a #MailspoolClient
 * @file: the RFC 5322 message
 * @options: (nullable): the options a{sv} of Submit, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * mailspool_client_submit_file(), blocking.
 *
 * Returns: (transfer full): the object path of the stored message, or %NULL
 *   with @error set
 */
gchar *mailspool_client_submit_file_sync(MailspoolClient *client, GFile *file, GVariant *options,
                                         GCancellable *cancellable, GError **error)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        g_return_val_if_fail(G_IS_FILE(file), NULL);
        g_return_val_if_fail(check_options(options), NULL);

        g_autoptr(GFileInputStream) stream = g_file_read(file, cancellable, error);
        if (!stream)
                return NULL;
        if (!G_IS_FILE_DESCRIPTOR_BASED(stream)) {
                g_autoptr(GBytes) message = g_file_load_bytes(file, cancellable, NULL, error);
                return message ? mailspool_client_submit_bytes_sync(client, message, options,
                                                                    cancellable, error)
                               : NULL;
        }
        g_autoptr(GUnixFDList) fds = fd_list_of(G_INPUT_STREAM(stream), error);
        if (!fds)
                return NULL;
        g_autoptr(GVariant) reply = g_dbus_proxy_call_with_unix_fd_list_sync(
            G_DBUS_PROXY(client->spooler), "Submit", submit_args(options), G_DBUS_CALL_FLAGS_NONE,
            -1, fds, NULL, cancellable, error);
        return path_of(reply);
}
