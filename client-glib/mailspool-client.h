/* MailspoolClient: the spooler object's two proxies on one connection, and
 * the calls whose generated form is awkward (a message as bytes or a file, a
 * flush that reports progress and ends with FlushFinished, the status table's
 * column list). */
#pragma once

#include <gio/gio.h>

#include <mailspool-generated.h>

G_BEGIN_DECLS

/**
 * MailspoolFlushFlags:
 * @MAILSPOOL_FLUSH_FLAGS_UPLOAD: send the outgoing queue (FLUSH_UPLOAD)
 * @MAILSPOOL_FLUSH_FLAGS_DOWNLOAD: fetch the incoming queue (FLUSH_DOWNLOAD)
 * @MAILSPOOL_FLUSH_FLAGS_FORCE: include transports marked Asynchronous, and
 *   send what waits in its undo window (FLUSH_FORCE)
 * @MAILSPOOL_FLUSH_FLAGS_NO_UI: no progress reports, no desktop notification
 *   (FLUSH_NO_UI)
 *
 * The flags of mailspool_client_flush(), with the bus contract's values.
 * FLUSH_ASYNC_OK is not among them: the client always adds it.
 */
typedef enum {
        MAILSPOOL_FLUSH_FLAGS_UPLOAD = 0x02,
        MAILSPOOL_FLUSH_FLAGS_DOWNLOAD = 0x04,
        MAILSPOOL_FLUSH_FLAGS_FORCE = 0x08,
        MAILSPOOL_FLUSH_FLAGS_NO_UI = 0x10,
} MailspoolFlushFlags;

#define MAILSPOOL_TYPE_FLUSH_FLAGS (mailspool_flush_flags_get_type())
GType mailspool_flush_flags_get_type(void);

/**
 * MailspoolFlushProgressFunc:
 * @transport: the object path of the transport the report is about
 * @done: messages dealt with so far
 * @total: messages of the flush's upload snapshots
 * @text: the report in words, e.g. "work: 3 of 40 done (2 sent, 1 deferred, 0 failed)"
 * @user_data: the data given with the function
 *
 * Called for each FlushProgress signal of a flush (at most twenty a second;
 * the last report always comes before the flush ends).
 */
typedef void (*MailspoolFlushProgressFunc)(const gchar *transport, guint done, guint total,
                                           const gchar *text, gpointer user_data);

#define MAILSPOOL_TYPE_CLIENT (mailspool_client_get_type())
G_DECLARE_FINAL_TYPE(MailspoolClient, mailspool_client, MAILSPOOL, CLIENT, GObject)

MailspoolClient *mailspool_client_new_sync(GDBusConnection *connection, GCancellable *cancellable,
                                           GError **error);
void mailspool_client_new(GDBusConnection *connection, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);
MailspoolClient *mailspool_client_new_finish(GAsyncResult *result, GError **error);
MailspoolClient *mailspool_client_new_for_bus_sync(GBusType bus_type, GCancellable *cancellable,
                                                   GError **error);

GDBusConnection *mailspool_client_get_connection(MailspoolClient *client);
MailspoolSpooler *mailspool_client_get_spooler(MailspoolClient *client);
MailspoolStatus *mailspool_client_get_status(MailspoolClient *client);

void mailspool_client_submit_bytes(MailspoolClient *client, GBytes *message, GVariant *options,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
gchar *mailspool_client_submit_bytes_finish(MailspoolClient *client, GAsyncResult *result,
                                            GError **error);
gchar *mailspool_client_submit_bytes_sync(MailspoolClient *client, GBytes *message,
                                          GVariant *options, GCancellable *cancellable,
                                          GError **error);

void mailspool_client_submit_file(MailspoolClient *client, GFile *file, GVariant *options,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gchar *mailspool_client_submit_file_finish(MailspoolClient *client, GAsyncResult *result,
                                           GError **error);
gchar *mailspool_client_submit_file_sync(MailspoolClient *client, GFile *file, GVariant *options,
                                         GCancellable *cancellable, GError **error);

void mailspool_client_query_status_table(MailspoolClient *client, const gchar *const *columns,
                                         GVariant *restriction, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
GVariant *mailspool_client_query_status_table_finish(MailspoolClient *client, GAsyncResult *result,
                                                     GError **error);
GVariant *mailspool_client_query_status_table_sync(MailspoolClient *client,
                                                   const gchar *const *columns,
                                                   GVariant *restriction, GCancellable *cancellable,
                                                   GError **error);

void mailspool_client_flush(MailspoolClient *client, const gchar *target, MailspoolFlushFlags flags,
                            MailspoolFlushProgressFunc progress, gpointer progress_data,
                            GDestroyNotify progress_destroy, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data);
GVariant *mailspool_client_flush_finish(MailspoolClient *client, GAsyncResult *result,
                                        GError **error);

G_END_DECLS
