/* The spooler object: the Status interface (status-dbus.c's vtable) and the
 * org.mailspool.Spool1.Spooler face, apart from Submit (submit-dbus.c)
 * (docs/bus-api.md, "Spooler"). */
#include "bus-error.h"
#include "bus-faces.h"
#include "bus-read.h"
#include "mailspool-bus.h"
#include "status-table.h"

/* One string at a time: a client may send 100 000 column names, and the
 * loop must not spend more than reading them takes. */
static int read_columns(sd_bus_message *m, bool selected[_COL_MAX], sd_bus_error *error)
{
        bool any = false;
        for (int c = 0; c < _COL_MAX; c++)
                selected[c] = false;
        int r = sd_bus_message_enter_container(m, 'a', "s");
        const char *name;
        while (r >= 0 && (r = sd_bus_message_read_basic(m, 's', &name)) > 0) {
                int c = status_column_from_name(name);
                if (c < 0)
                        return bus_error_mapi(error, MAPI_E_BAD_COLUMN,
                                              "the status table has no column \"%s\"", name);
                selected[c] = any = true;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        if (!any) /* no columns: all of them */
                for (int c = 0; c < _COL_MAX; c++)
                        selected[c] = true;
        return 0;
}

/* A restriction's number of any D-Bus integer type, as a uint32_t: *fits
 * says whether it is within 0..UINT32_MAX. */
static int read_integer(sd_bus_message *m, char type, uint32_t *ret, bool *fits)
{
        union {
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
        } v = {};
        int r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        int64_t n = 0;
        uint64_t big = 0;
        bool negative = false;
        switch (type) {
        case 'y':
                big = v.y;
                break;
        case 'n':
                n = v.n;
                negative = n < 0;
                big = (uint64_t) n;
                break;
        case 'q':
                big = v.q;
                break;
        case 'i':
                n = v.i;
                negative = n < 0;
                big = (uint64_t) n;
                break;
        case 'u':
                big = v.u;
                break;
        case 'x':
                n = v.x;
                negative = n < 0;
                big = (uint64_t) n;
                break;
        default:
                big = v.t;
                break;
        }
        *fits = !negative && big <= UINT32_MAX;
        *ret = *fits ? (uint32_t) big : 0;
        return 0;
}

static int read_restriction(sd_bus_message *m, struct restriction_term **ret, size_t *ret_n,
                            sd_bus_error *error)
{
        struct restriction_term *terms = NULL;
        size_t n = 0;
        int r = sd_bus_message_enter_container(m, 'a', "(ssv)");
        if (r < 0)
                return r;
        for (;;) {
                const char *column, *op, *contents;
                char type;
                r = sd_bus_message_enter_container(m, 'r', "ssv");
                if (r <= 0)
                        break;
                r = sd_bus_message_read(m, "ss", &column, &op);
                if (r >= 0)
                        r = sd_bus_message_peek_type(m, &type, &contents);
                if (r >= 0)
                        r = sd_bus_message_enter_container(m, 'v', contents);
                if (r < 0)
                        break;

                uint32_t u = 0;
                const char *s = NULL;
                const void *value = NULL;
                char vtype = contents[0];
                if (contents[0] && !contents[1] && strchr("ynqiuxt", contents[0])) {
                        /* Any integer type: dbus-python and gdbus send a plain
                         * number as int32. It counts if it fits a u column. */
                        bool fits = false;
                        r = read_integer(m, contents[0], &u, &fits);
                        if (r >= 0 && !fits) {
                                r = bus_error_mapi(error, MAPI_E_TOO_COMPLEX,
                                                   "the number compared with column \"%s\" "
                                                   "does not fit its range, 0 to 4294967295",
                                                   column);
                                break;
                        }
                        vtype = 'u';
                        value = &u;
                } else if (streq(contents, "s") || streq(contents, "o")) {
                        r = sd_bus_message_read_basic(m, vtype, &s);
                        value = s;
                } else {
                        r = sd_bus_message_skip(m, contents);
                        vtype = contents[1] == '\0' ? contents[0] : '?';
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        break;

                struct restriction_term *more = realloc(terms, sizeof(*terms) * (n + 1));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                terms = more;
                enum mapi_error code;
                _cleanup_free_ char *text = NULL;
                r = restriction_term_make(column, op, vtype, value, &terms[n], &code, &text);
                if (r < 0) {
                        r = bus_error_mapi(error, code, "%s", text ? text : "bad restriction");
                        break;
                }
                n++;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0) {
                restriction_terms_free(terms, n);
                return r;
        }
        *ret = terms;
        *ret_n = n;
        return 0;
}

static int append_row(sd_bus_message *reply, const struct status_row *row,
                      const bool selected[_COL_MAX])
{
        int r = sd_bus_message_open_container(reply, 'a', "{sv}");
        for (int c = 0; r >= 0 && c < _COL_MAX; c++) {
                if (!selected[c])
                        continue;
                uint32_t u;
                const char *s;
                status_row_get(row, c, &u, &s);
                char type[2] = {status_column_type(c), 0};
                if (type[0] == 'u')
                        r = sd_bus_message_append(reply, "{sv}", status_column_name(c), type, u);
                else
                        r = sd_bus_message_append(reply, "{sv}", status_column_name(c), type, s);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* IMAPISession::GetStatusTable, SetColumns and HrQueryAllRows with a
 * property restriction, in one call. */
static int method_query_status_table(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct bus_faces *b = userdata;
        struct spool *s = b->spool;
        bool selected[_COL_MAX];
        struct restriction_term *terms = NULL;
        size_t n_terms = 0;

        int r = read_columns(m, selected, error);
        if (r < 0)
                return r;
        r = read_restriction(m, &terms, &n_terms, error);
        if (r < 0)
                return r;

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i <= s->n_transports; i++) {
                const struct status_row *row = i == 0 ? &s->status : &s->transports[i - 1]->status;
                if (restriction_match(row, terms, n_terms))
                        r = append_row(reply, row, selected);
        }
        restriction_terms_free(terms, n_terms);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

struct list_filter {
        struct spool *spool;
        struct store_filter *filter;
};

static int read_filter_entry(sd_bus_message *m, const char *key, void *userdata,
                             sd_bus_error *error)
{
        struct list_filter *lf = userdata;
        struct store_filter *f = lf->filter;
        const char *value;

        const char *want = streq(key, "Transport") ? "o" : "s";
        if (!streq(key, "State") && !streq(key, "Transport") && !streq(key, "Direction"))
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "unknown filter key \"%s\" (State, Transport and "
                                      "Direction are known)",
                                      key);
        int r = bus_enter_variant(m, "filter key", key, want, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read_basic(m, want[0], &value);
        if (r < 0)
                return r;
        if (streq(key, "State")) {
                f->state = msg_state_from_string(value);
                if (f->state < 0)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "unknown message state \"%s\"", value);
        } else if (streq(key, "Direction")) {
                f->direction = msg_direction_from_string(value);
                if (f->direction < 0)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "Direction is \"outbound\" or \"inbound\", "
                                              "not \"%s\"",
                                              value);
        } else {
                struct transport *t = spool_find_transport_by_path(lf->spool, value);
                if (!t)
                        return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no transport at %s", value);
                f->transport = t->config->id;
        }
        return sd_bus_message_exit_container(m);
}

static int method_list_messages(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct bus_faces *b = userdata;
        struct store_filter f = STORE_FILTER_ALL;

        int r = bus_read_dict(m, read_filter_entry, &(struct list_filter){b->spool, &f}, error);
        if (r < 0)
                return r;
        if (!bus_faces_privileged(b, m)) {
                uid_t uid;
                r = bus_caller_uid(m, &uid);
                if (r < 0)
                        return r;
                f.owner = uid;
        }

        struct msg_record *msgs = NULL;
        size_t n = 0;
        r = store_list(b->spool->store, &f, &msgs, &n);
        if (r < 0)
                return bus_error_store(error, r, "cannot list messages");

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(osssuut)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *path = NULL;
                r = message_record_for_bus(&msgs[i]);
                if (r >= 0)
                        r = message_path_for_id(msgs[i].id, &path);
                if (r >= 0)
                        r = sd_bus_message_append(
                            reply, "(osssuut)", path, msg_state_to_string(msgs[i].state),
                            msgs[i].transport, msgs[i].subject,
                            (uint32_t) (msgs[i].size > UINT32_MAX ? UINT32_MAX : msgs[i].size),
                            msgs[i].attempts, msgs[i].submitted_usec);
        }
        msg_record_array_free(msgs, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_cancel_flush(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        const char *target;
        int r = sd_bus_message_read(m, "o", &target);
        if (r < 0)
                return r;
        return status_dbus_cancel_flush(userdata, m, target, error);
}

static int get_transport_order(sd_bus *bus, const char *path, const char *iface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        const struct spool *s = ((const struct bus_faces *) userdata)->spool;
        int r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < s->n_transports; i++)
                r = sd_bus_message_append(reply, "o", s->transports[i]->path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int get_version(sd_bus *bus, const char *path, const char *iface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "s", MAILSPOOL_VERSION);
}

static const sd_bus_vtable spooler_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("TransportOrder", "ao", get_transport_order, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Version", "s", get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_METHOD_WITH_NAMES(
        "QueryStatusTable", "asa(ssv)", SD_BUS_PARAM(columns) SD_BUS_PARAM(restriction), "aa{sv}",
        SD_BUS_PARAM(rows), method_query_status_table, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Submit", "ha{sv}", SD_BUS_PARAM(message) SD_BUS_PARAM(options), "o",
                             SD_BUS_PARAM(message), method_submit, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("SubmitData", "aya{sv}", SD_BUS_PARAM(message) SD_BUS_PARAM(options),
                             "o", SD_BUS_PARAM(message), method_submit_data,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("ListMessages", "a{sv}", SD_BUS_PARAM(filter), "a(osssuut)",
                             SD_BUS_PARAM(messages), method_list_messages,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("CancelFlush", "o", SD_BUS_PARAM(target), "", "", method_cancel_flush,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int spooler_dbus_register(struct bus_faces *b)
{
        b->spooler_status = (struct status_object){.b = b, .row = &b->spool->status};
        int r = sd_bus_add_object_vtable(b->bus, &b->spooler_slots[0], MAILSPOOL_SPOOLER_PATH,
                                         MAILSPOOL_IFACE_STATUS, status_vtable, &b->spooler_status);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(b->bus, &b->spooler_slots[1], MAILSPOOL_SPOOLER_PATH,
                                        MAILSPOOL_IFACE_SPOOLER, spooler_vtable, b);
}

static const char *const order_names[] = {"TransportOrder"};

void spooler_dbus_order_changed(struct bus_faces *b)
{
        bus_changes_mark(b->changes, MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_SPOOLER, order_names,
                         1u);
}
