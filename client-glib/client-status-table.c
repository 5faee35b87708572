/* QueryStatusTable with the columns as a string array that introspection
 * understands (the generated call's `as` argument reaches Python and GJS as
 * one string) and the restriction optional. */
#include "client-private.h"

static GVariant *query_args(const gchar *const *columns, GVariant *restriction)
{
        const gchar *const none[] = {NULL};
        GVariant *terms = restriction ? restriction : g_variant_new("a(ssv)", NULL);
        return g_variant_new("(^as@a(ssv))", columns ? columns : none, terms);
}

static gboolean check_restriction(GVariant *restriction)
{
        return !restriction || g_variant_is_of_type(restriction, G_VARIANT_TYPE("a(ssv)"));
}

/* The rows (aa{sv}) of the reply, or NULL for NULL. */
static GVariant *rows_of(GVariant *reply)
{
        return reply ? g_variant_get_child_value(reply, 0) : NULL;
}

static void on_table_reply(GObject *source, GAsyncResult *result, gpointer user_data)
{
        g_autoptr(GTask) task = user_data;
        GError *error = NULL;
        g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), result, &error);
        if (reply)
                g_task_return_pointer(task, rows_of(reply), (GDestroyNotify) g_variant_unref);
        else
                g_task_return_error(task, error);
}

/**
 * mailspool_client_query_status_table:
 * @client: a #MailspoolClient
 * @columns: (array zero-terminated=1) (nullable): the columns each row
 *   gets (EntryID, RowID, ObjectType, ResourceType, DisplayName,
 *   ProviderDisplay, ResourceMethods, ResourceFlags, StatusCode, StatusString,
 *   IdentityDisplay); %NULL or empty for all
 * @restriction: (nullable): the a(ssv) terms a row must all match, as
 *   ("ResourceType", "==", <uint32 36>); %NULL for every row
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the rows
 * @user_data: (closure): data for @callback
 *
 * The spooler's status table (Spooler.QueryStatusTable): one row for the
 * spooler and one per transport, in RowID order.
 */
void mailspool_client_query_status_table(MailspoolClient *client, const gchar *const *columns,
                                         GVariant *restriction, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
        g_return_if_fail(MAILSPOOL_IS_CLIENT(client));
        g_return_if_fail(check_restriction(restriction));

        GTask *task = g_task_new(client, cancellable, callback, user_data);
        g_task_set_source_tag(task, mailspool_client_query_status_table);
        g_dbus_proxy_call(G_DBUS_PROXY(client->spooler), "QueryStatusTable",
                          query_args(columns, restriction), G_DBUS_CALL_FLAGS_NONE, -1, cancellable,
                          on_table_reply, task);
}

/**
 * mailspool_client_query_status_table_finish:
 * @client: a #MailspoolClient
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the rows, aa{sv}, or %NULL with @error set (an
 *   unknown column or a term the daemon cannot use is InvalidArgs)
 */
GVariant *mailspool_client_query_status_table_finish(MailspoolClient *client, GAsyncResult *result,
                                                     GError **error)
{
        g_return_val_if_fail(g_task_is_valid(result, client), NULL);
        return g_task_propagate_pointer(G_TASK(result), error);
}

/**
 * mailspool_client_query_status_table_sync:
 * @client: a #MailspoolClient
 * @columns: (array zero-terminated=1) (nullable): the columns; %NULL or empty for all
 * @restriction: (nullable): the a(ssv) terms; %NULL for every row
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * mailspool_client_query_status_table(), blocking.
 *
 * Returns: (transfer full): the rows, aa{sv}, or %NULL with @error set
 */
GVariant *mailspool_client_query_status_table_sync(MailspoolClient *client,
                                                   const gchar *const *columns,
                                                   GVariant *restriction, GCancellable *cancellable,
                                                   GError **error)
{
        g_return_val_if_fail(MAILSPOOL_IS_CLIENT(client), NULL);
        g_return_val_if_fail(check_restriction(restriction), NULL);

        g_autoptr(GVariant) reply = g_dbus_proxy_call_sync(
            G_DBUS_PROXY(client->spooler), "QueryStatusTable", query_args(columns, restriction),
            G_DBUS_CALL_FLAGS_NONE, -1, cancellable, error);
        return rows_of(reply);
}
