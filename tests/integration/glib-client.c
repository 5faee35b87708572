/* A C program on libmailspool-glib for test_glib_binding: every call of
 * MailspoolClient once, the way an app makes them, then everything released.
 * In a sanitizer build ASan's leak check at exit covers the library's own
 * allocations (tasks, variants, signal handlers), which the Python test cannot:
 * there the interpreter's allocations drown them. The daemon runs on the
 * session bus of DBUS_SESSION_BUS_ADDRESS with its built-in "local" Maildir
 * transport. Exit 0 when all went as the contract says. */
#include <glib/gstdio.h>
#include <mailspool-glib.h>
#include <stdio.h>
#include <unistd.h>

#define WAIT_SECONDS 15

static GMainLoop *loop;

static void fail(const char *what, const GError *error)
{
        fprintf(stderr, "%s: %s\n", what, error ? error->message : "unexpected result");
        exit(1);
}

static gboolean on_timeout(gpointer what)
{
        fail(what, NULL);
        return G_SOURCE_REMOVE;
}

static void on_result(GObject *source, GAsyncResult *result, gpointer slot)
{
        *(GAsyncResult **) slot = g_object_ref(result);
        g_main_loop_quit(loop);
}

/* Runs the loop until on_result has filled *slot, at most WAIT_SECONDS. */
static GAsyncResult *wait_for(GAsyncResult **slot, const char *what)
{
        guint bound = g_timeout_add_seconds(WAIT_SECONDS, on_timeout, (gpointer) what);
        while (!*slot)
                g_main_loop_run(loop);
        g_source_remove(bound);
        return *slot;
}

static void on_progress(const gchar *transport, guint done, guint total, const gchar *text,
                        gpointer last)
{
        ((guint *) last)[0] = done;
        ((guint *) last)[1] = total;
}

static void count_destroy(gpointer last)
{
        ((guint *) last)[2]++;
}

static void on_flush_finished(MailspoolStatus *status, const gchar *target, guint flags,
                              GVariant *summary, gpointer seen)
{
        *(gboolean *) seen = TRUE;
        g_main_loop_quit(loop);
}

static GVariant *on_demand(void)
{
        GVariantDict d;
        g_variant_dict_init(&d, NULL);
        g_variant_dict_insert(&d, "OnDemand", "b", TRUE);
        return g_variant_dict_end(&d);
}

static void submit_two(MailspoolClient *client)
{
        static const char text[] = "From: <alice@example.org>\r\nTo: <bob@example.org>\r\n"
                                   "Subject: from C\r\n\r\nHello.\r\n";
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) bytes = g_bytes_new_static(text, sizeof(text) - 1);
        g_autofree gchar *first =
            mailspool_client_submit_bytes_sync(client, bytes, on_demand(), NULL, &error);
        if (!first)
                fail("submit_bytes_sync", error);

        g_autofree gchar *name = NULL;
        gint fd = g_file_open_tmp("glib-client-XXXXXX.eml", &name, &error);
        if (fd < 0 || !g_file_set_contents(name, text, -1, &error))
                fail("a temporary file", error);
        close(fd);
        g_autoptr(GFile) file = g_file_new_for_path(name);
        g_autoptr(GAsyncResult) result = NULL;
        mailspool_client_submit_file(client, file, on_demand(), NULL, on_result, &result);
        g_autofree gchar *second =
            mailspool_client_submit_file_finish(client, wait_for(&result, "submit_file"), &error);
        g_unlink(name);
        if (!second)
                fail("submit_file", error);

        g_autoptr(GFile) missing = g_file_new_for_path("/nonexistent/message.eml");
        g_autofree gchar *none =
            mailspool_client_submit_file_sync(client, missing, NULL, NULL, &error);
        if (none || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
                fail("submit_file_sync of a missing file", error);
        g_clear_error(&error);

        g_autoptr(GBytes) junk = g_bytes_new_static("junk", 4);
        none = mailspool_client_submit_bytes_sync(client, junk, NULL, NULL, &error);
        if (none || !g_error_matches(error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS))
                fail("submit_bytes_sync of junk", error);
}

static void query_transports(MailspoolClient *client)
{
        const gchar *const columns[] = {"EntryID", NULL};
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) rows = mailspool_client_query_status_table_sync(
            client, columns, g_variant_new_parsed("[('ResourceType', '==', <uint32 36>)]"), NULL,
            &error);
        if (!rows || g_variant_n_children(rows) != 1)
                fail("query_status_table_sync", error);
}

static void flush_both(MailspoolClient *client)
{
        guint last[3] = {0, 0, 0}; /* done, total, progress_destroy calls */
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        mailspool_client_flush(client, NULL, MAILSPOOL_FLUSH_FLAGS_UPLOAD, on_progress, last,
                               count_destroy, NULL, on_result, &result);
        g_autoptr(GVariant) summary =
            mailspool_client_flush_finish(client, wait_for(&result, "flush"), &error);
        guint sent = 0;
        if (!summary || !g_variant_lookup(summary, "sent", "u", &sent) || sent != 2 ||
            last[0] != 2 || last[1] != 2)
                fail("flush", error);
        g_clear_object(&result);
        if (last[2] != 1)
                fail("progress_destroy once the flush has ended", NULL);

        mailspool_client_flush(client, "/org/mailspool/Spool1/transport/nowhere",
                               MAILSPOOL_FLUSH_FLAGS_UPLOAD, NULL, NULL, NULL, NULL, on_result,
                               &result);
        g_autoptr(GVariant) refused =
            mailspool_client_flush_finish(client, wait_for(&result, "refused flush"), &error);
        if (refused ||
            !g_error_matches(error, MAILSPOOL_DAEMON_ERROR, MAILSPOOL_DAEMON_ERROR_NOT_FOUND))
                fail("a flush of an unknown transport", error);
}

/* Cancelled before the reply: the client sends CancelFlush once it comes. The
 * flush's own FlushFinished tells that the reply was handled (it comes after). */
static void flush_cancelled(MailspoolClient *client)
{
        gboolean finished = FALSE;
        gulong handler = g_signal_connect(mailspool_client_get_status(client), "flush-finished",
                                          G_CALLBACK(on_flush_finished), &finished);
        g_autoptr(GCancellable) cancellable = g_cancellable_new();
        g_autoptr(GError) error = NULL;
        g_autoptr(GAsyncResult) result = NULL;
        mailspool_client_flush(client, NULL, MAILSPOOL_FLUSH_FLAGS_UPLOAD, NULL, NULL, NULL,
                               cancellable, on_result, &result);
        g_cancellable_cancel(cancellable);
        g_autoptr(GVariant) none =
            mailspool_client_flush_finish(client, wait_for(&result, "cancelled flush"), &error);
        if (none || !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
                fail("a cancelled flush", error);
        guint bound = g_timeout_add_seconds(WAIT_SECONDS, on_timeout, "FlushFinished");
        while (!finished)
                g_main_loop_run(loop);
        g_source_remove(bound);
        g_signal_handler_disconnect(mailspool_client_get_status(client), handler);
}

int main(void)
{
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusConnection) connection = g_dbus_connection_new_for_address_sync(
            g_getenv("DBUS_SESSION_BUS_ADDRESS"),
            G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
            NULL, NULL, &error);
        if (!connection)
                fail("the session bus", error);
        loop = g_main_loop_new(NULL, FALSE);

        g_autoptr(GAsyncResult) result = NULL;
        mailspool_client_new(connection, NULL, on_result, &result);
        g_autoptr(MailspoolClient) client =
            mailspool_client_new_finish(wait_for(&result, "mailspool_client_new"), &error);
        if (!client)
                fail("mailspool_client_new", error);

        submit_two(client);
        query_transports(client);
        flush_both(client);
        flush_cancelled(client);

        g_clear_object(&client);
        if (!g_dbus_connection_close_sync(connection, NULL, &error))
                fail("closing the connection", error);
        /* What GDBus still has to hand back (the answer to the fire-and-forget
         * CancelFlush, the proxies' unsubscriptions) comes through the loop. */
        while (g_main_context_iteration(NULL, FALSE))
                ;
        g_main_loop_unref(loop);
        printf("ok\n");
        return 0;
}
