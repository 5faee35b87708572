/* A flush as one asynchronous call: FlushQueues with FLUSH_ASYNC_OK, the
 * FlushProgress reports (sent to this connection only) handed to a callback,
 * and the FlushFinished of that flush as the result. With FLUSH_ASYNC_OK the
 * call returns at once, so a long flush never meets the D-Bus call timeout. */
#include "client-private.h"

#include "mailspool-bus.h"

/* Registered, so that introspection makes it a flags type (UPLOAD | DOWNLOAD). */
G_DEFINE_FLAGS_TYPE(MailspoolFlushFlags, mailspool_flush_flags,
                    G_DEFINE_ENUM_VALUE(MAILSPOOL_FLUSH_FLAGS_UPLOAD, "upload"),
                    G_DEFINE_ENUM_VALUE(MAILSPOOL_FLUSH_FLAGS_DOWNLOAD, "download"),
                    G_DEFINE_ENUM_VALUE(MAILSPOOL_FLUSH_FLAGS_FORCE, "force"),
                    G_DEFINE_ENUM_VALUE(MAILSPOOL_FLUSH_FLAGS_NO_UI, "no-ui"))

struct flush_wait {
        MailspoolClient *client;
        gchar *target;
        guint flags; /* as sent, FLUSH_ASYNC_OK included: FlushFinished repeats them */
        MailspoolFlushProgressFunc progress;
        gpointer progress_data;
        GDestroyNotify progress_destroy;
        gulong progress_handler;
        gulong finished_handler;
        GSource *cancel_source;
        /* The reply came. The daemon sends it before anything of the flush
         * and GDBus keeps that order, so a FlushFinished of this target seen
         * earlier ended someone else's flush. */
        gboolean started;
        gboolean returned; /* the task has its result; what comes later is ignored */
};

static void flush_wait_free(gpointer data)
{
        struct flush_wait *w = data;
        g_clear_signal_handler(&w->progress_handler, w->client->status);
        g_clear_signal_handler(&w->finished_handler, w->client->status);
        if (w->cancel_source) {
                g_source_destroy(w->cancel_source);
                g_source_unref(w->cancel_source);
        }
        if (w->progress_destroy)
                w->progress_destroy(w->progress_data);
        g_free(w->target);
        g_object_unref(w->client);
        g_free(w);
}

/* Stops listening; the task's reference is given up by the caller. */
static void flush_wait_end(struct flush_wait *w)
{
        w->returned = TRUE;
        g_clear_signal_handler(&w->progress_handler, w->client->status);
        g_clear_signal_handler(&w->finished_handler, w->client->status);
        if (w->cancel_source)
                g_source_destroy(w->cancel_source);
}

static void on_flush_progress(MailspoolStatus *status, const gchar *transport, guint done,
                              guint total, const gchar *text, gpointer user_data)
{
        struct flush_wait *w = g_task_get_task_data(user_data);
        if (w->started && !w->returned && w->progress)
                w->progress(transport, done, total, text, w->progress_data);
}

static void on_flush_finished(MailspoolStatus *status, const gchar *target, guint flags,
                              GVariant *summary, gpointer user_data)
{
        GTask *task = user_data;
        struct flush_wait *w = g_task_get_task_data(task);
        if (!w->started || w->returned || flags != w->flags || g_strcmp0(target, w->target) != 0)
                return;
        flush_wait_end(w);
        g_task_return_pointer(task, g_variant_ref(summary), (GDestroyNotify) g_variant_unref);
        g_object_unref(task);
}

static gboolean on_cancelled(GCancellable *cancellable, gpointer user_data)
{
        GTask *task = user_data;
        struct flush_wait *w = g_task_get_task_data(task);
        /* A started flush is stopped in the daemon too; before the reply,
         * on_flush_reply does it. */
        if (w->started)
                mailspool_spooler_call_cancel_flush(w->client->spooler, w->target, NULL, NULL,
                                                    NULL);
        flush_wait_end(w);
        g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the flush was cancelled");
        g_object_unref(task);
        return G_SOURCE_REMOVE;
}

static void on_flush_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
        g_autoptr(GTask) task = user_data; /* the call's own reference */
        struct flush_wait *w = g_task_get_task_data(task);
        GError *error = NULL;
        g_autoptr(GVariant) started = NULL;
        if (!mailspool_status_call_flush_queues_finish(MAILSPOOL_STATUS(source), &started, result,
                                                       &error)) {
                if (w->returned) {
                        g_error_free(error);
                        return;
                }
                flush_wait_end(w);
                g_task_return_error(task, error);
                g_object_unref(task); /* the reference of the wait */
                return;
        }
        w->started = TRUE;
        if (w->returned) /* cancelled before the daemon had answered */
                mailspool_spooler_call_cancel_flush(w->client->spooler, w->target, NULL, NULL,
                                                    NULL);
}

/**
 * mailspool_client_flush:
 * @client: a #MailspoolClient
 * @target: (nullable): a transport's object path to flush that transport
 *   alone, or %NULL (or "/") for every transport of TransportOrder
 * @flags: what to flush: #MAILSPOOL_FLUSH_FLAGS_UPLOAD, #MAILSPOOL_FLUSH_FLAGS_DOWNLOAD
 *   or both, maybe with #MAILSPOOL_FLUSH_FLAGS_FORCE or #MAILSPOOL_FLUSH_FLAGS_NO_UI
 * @progress: (nullable) (scope notified) (closure progress_data) (destroy progress_destroy):
 *   called with each progress report of this flush
 * @progress_data: data for @progress
 * @progress_destroy: (nullable): frees @progress_data once the flush has ended
 * @cancellable: (nullable): cancelling it stops the flush (CancelFlush): messages
 *   already handed to a server stay sent, the rest stay queued
 * @callback: (scope async): called when the flush has ended, with FlushFinished
 * @user_data: (closure): data for @callback
 *
 * The spooler's FlushQueues with FLUSH_ASYNC_OK added: the call returns once
 * the flush has started, @progress hears the FlushProgress reports the daemon
 * sends to this connection, and the flush ends with its FlushFinished. Without
 * #MAILSPOOL_FLUSH_FLAGS_NO_UI a session daemon also shows the progress as a
 * desktop notification.
 */
void mailspool_client_flush(MailspoolClient *client, const gchar *target, MailspoolFlushFlags flags,
                            MailspoolFlushProgressFunc progress, gpointer progress_data,
                            GDestroyNotify progress_destroy, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(MAILSPOOL_IS_CLIENT(client));
        g_return_if_fail(target == NULL || g_variant_is_object_path(target));

        GTask *task = g_task_new(client, cancellable, callback, user_data);
        g_task_set_source_tag(task, mailspool_client_flush);
        struct flush_wait *w = g_new0(struct flush_wait, 1);
        w->client = g_object_ref(client);
        w->target = g_strdup(target ? target : "/");
        w->flags = (guint) flags | MAILSPOOL_FLUSH_ASYNC_OK;
        w->progress = progress;
        w->progress_data = progress_data;
        w->progress_destroy = progress_destroy;
        g_task_set_task_data(task, w, flush_wait_free);

        /* Listening before the call: no report or end can come first. */
        w->progress_handler =
            g_signal_connect(client->status, "flush-progress", G_CALLBACK(on_flush_progress), task);
        w->finished_handler =
            g_signal_connect(client->status, "flush-finished", G_CALLBACK(on_flush_finished), task);
        if (cancellable) {
                w->cancel_source = g_cancellable_source_new(cancellable);
                g_source_set_callback(w->cancel_source, G_SOURCE_FUNC(on_cancelled), task, NULL);
                g_source_attach(w->cancel_source, g_main_context_get_thread_default());
        }
        /* Two references: one for the call's reply, one for the wait, given up
         * by whichever of the reply, FlushFinished or cancellation ends it. */
        mailspool_status_call_flush_queues(client->status, w->target, w->flags, NULL,
                                           on_flush_reply, g_object_ref(task));
}

/**
 * mailspool_client_flush_finish:
 * @client: a #MailspoolClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * The flush's summary, the a{sv} of FlushFinished: "sent", "deferred",
 * "failed", "received" (u), "skipped" (ao) and "errors" (a(oss): transport,
 * D-Bus error name, message), one per part that failed as a whole. The
 * call's own refusal (Busy, NotFound, InvalidArgs, ...) is @error instead.
 *
 * Returns: (transfer full): the summary, or %NULL with @error set
 */
GVariant *mailspool_client_flush_finish(MailspoolClient *client, GAsyncResult *result,
                                        GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, client), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}
