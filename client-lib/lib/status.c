/* The status table (QueryStatusTable with every column) and ValidateState. */
#include "internal.h"

/* One column of a row into the matching field; unknown columns (a newer
 * daemon) are skipped. */
static int read_column(sd_bus_message *reply, const char *name, void *userdata)
{
        struct mailspool_status_row *row = userdata;
        struct {
                const char *name;
                char type;
                void *field;
        } const columns[] = {
            {"RowID", 'u', &row->row_id},
            {"ResourceType", 'u', &row->resource_type},
            {"ResourceMethods", 'u', &row->resource_methods},
            {"ResourceFlags", 'u', &row->resource_flags},
            {"StatusCode", 'u', &row->status_code},
            {"EntryID", 'o', &row->path},
            {"DisplayName", 's', &row->display_name},
            {"ProviderDisplay", 's', &row->provider_display},
            {"StatusString", 's', &row->status_string},
            {"IdentityDisplay", 's', &row->identity_display},
        };
        for (size_t i = 0; i < sizeof(columns) / sizeof(columns[0]); i++)
                if (strcmp(name, columns[i].name) == 0)
                        return ms_read_variant(reply, columns[i].type, columns[i].field);
        return sd_bus_message_skip(reply, "v");
}

static int fill_missing(struct mailspool_status_row *row)
{
        char **strings[] = {&row->path, &row->display_name, &row->provider_display,
                            &row->status_string, &row->identity_display};
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
                if (!*strings[i] && !(*strings[i] = strdup("")))
                        return -ENOMEM;
        row->id = ms_transport_id(row->path);
        return row->id ? 0 : -ENOMEM;
}

MS_EXPORT int mailspool_status_table(mailspool *m, struct mailspool_status_row **ret_rows)
{
        if (!m || !ret_rows)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, MAILSPOOL_SPOOLER_PATH,
                                   MAILSPOOL_IFACE_SPOOLER, "QueryStatusTable", &m->error, &reply,
                                   "asa(ssv)", 0, 0);
        if (r < 0)
                return ms_fail(m, r);

        struct mailspool_status_row *rows = NULL;
        size_t n = 0;
        r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        while (r >= 0 && (r = sd_bus_message_at_end(reply, false)) == 0) {
                struct mailspool_status_row *more = realloc(rows, (n + 1) * sizeof(*rows));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                rows = more;
                rows[n++] = (struct mailspool_status_row){0};
                r = ms_read_dict(reply, read_column, &rows[n - 1]);
                if (r >= 0)
                        r = fill_missing(&rows[n - 1]);
        }
        if (r < 0) {
                mailspool_status_rows_free(rows, n);
                return ms_fail(m, r);
        }
        *ret_rows = rows;
        return (int) n;
}

MS_EXPORT void mailspool_status_rows_free(struct mailspool_status_row *rows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(rows[i].path);
                free(rows[i].id);
                free(rows[i].display_name);
                free(rows[i].provider_display);
                free(rows[i].status_string);
                free(rows[i].identity_display);
        }
        free(rows);
}

MS_EXPORT int mailspool_validate(mailspool *m, const char *transport, uint32_t flags)
{
        if (!m)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_free_ char *path = NULL;
        int r = ms_status_path(transport, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, path, MAILSPOOL_IFACE_STATUS,
                               "ValidateState", &m->error, NULL, "u", flags);
        return r < 0 ? ms_fail(m, r) : 0;
}

MS_EXPORT int mailspool_transport_logon(mailspool *m, const char *transport,
                                        char **ret_secret_source, char **ret_mechanism)
{
        if (!m || !transport || !ret_secret_source || !ret_mechanism)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_free_ char *path = NULL, *source = NULL, *mechanism = NULL;
        int r = mailspool_transport_path(transport, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(m->bus, MAILSPOOL_BUS_NAME, path, MAILSPOOL_IFACE_TRANSPORT,
                                       "SecretSource", &m->error, &source);
        if (r >= 0)
                r = sd_bus_get_property_string(m->bus, MAILSPOOL_BUS_NAME, path,
                                               MAILSPOOL_IFACE_TRANSPORT, "LogonMechanism",
                                               &m->error, &mechanism);
        if (r < 0)
                return ms_fail(m, r);
        *ret_secret_source = source;
        *ret_mechanism = mechanism;
        source = mechanism = NULL;
        return 0;
}
