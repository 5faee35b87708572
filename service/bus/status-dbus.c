/* The org.mailspool.Spool1.Status face (MAPI's IMAPIStatus): one vtable for
 * the spooler and every transport, its property changes, FlushQueues and
 * its replies and signals, ValidateState, SettingsDialog and ChangePassword
 * (docs/bus-api.md, "Status"). */
#include "bus-error.h"
#include "bus-faces.h"
#include "notify-dbus.h"
#include "flush-flags.h"
#include "log.h"
#include "mailspool-bus.h"
#include "secret-file.h"

static const char *status_name(const struct status_object *o)
{
        return o->t ? o->t->config->id : "spooler";
}

static int no_support(sd_bus_error *error, const struct status_object *o, const char *method,
                      uint32_t bit)
{
        return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                              "%s \"%s\" does not offer %s (ResourceMethods 0x%X lacks 0x%X)",
                              o->t ? "transport" : "the", status_name(o), method,
                              o->row->resource_methods, bit);
}

/* One typed getter per property, each reading the object's status row. */
#define STATUS_GETTER(name, type, value)                                                           \
        static int get_##name(sd_bus *bus, const char *path, const char *iface,                    \
                              const char *property, sd_bus_message *reply, void *userdata,         \
                              sd_bus_error *error)                                                 \
        {                                                                                          \
                const struct status_row *row = ((const struct status_object *) userdata)->row;     \
                return sd_bus_message_append(reply, type, value);                                  \
        }
STATUS_GETTER(resource_type, "u", row->resource_type)
STATUS_GETTER(display_name, "s", strempty(row->display_name))
STATUS_GETTER(provider_display, "s", strempty(row->provider_display))
STATUS_GETTER(resource_methods, "u", row->resource_methods)
STATUS_GETTER(resource_flags, "u", row->resource_flags)
STATUS_GETTER(status_code, "u", row->status_code)
STATUS_GETTER(status_string, "s", strempty(row->status_string))
STATUS_GETTER(identity_display, "s", strempty(row->identity_display))

/* The properties that transport_change bits name, by bit. */
static const char *const status_change_names[] = {
    [__builtin_ctz(TRANSPORT_CHANGED_STATUS_CODE)] = "StatusCode",
    [__builtin_ctz(TRANSPORT_CHANGED_STATUS_STRING)] = "StatusString",
};

void status_dbus_changed(struct bus_faces *b, const char *path, unsigned changes)
{
        unsigned mask = changes & (TRANSPORT_CHANGED_STATUS_CODE | TRANSPORT_CHANGED_STATUS_STRING);
        /* The text alone ("Sending 3 of 40", with every message of a flush)
         * is paced; a status bit that moves goes at once, with the text. */
        if (mask == TRANSPORT_CHANGED_STATUS_STRING)
                bus_changes_mark_paced(b->changes, path, MAILSPOOL_IFACE_STATUS,
                                       status_change_names, mask);
        else if (mask)
                bus_changes_mark(b->changes, path, MAILSPOOL_IFACE_STATUS, status_change_names,
                                 mask);
}

/* --- FlushQueues ----------------------------------------------------------- */

/* What the bus keeps of a running flush: the call to answer at the end (NULL
 * once answered, or with FLUSH_ASYNC_OK) and whom progress goes to. */
struct flush_call {
        sd_bus_message *call;
        char *caller; /* unique name; NULL: no progress (FLUSH_NO_UI) */
        uid_t owner;  /* who may cancel it without privileges, from any connection:
                       * an asynchronous flush outlives the call that started it */

        /* FlushProgress at most every PROGRESS_INTERVAL_USEC: the latest
         * report waits in pending (transport path, done, total, text) for
         * the timer, and goes out before FlushFinished at the latest. */
        struct bus_faces *b;
        const char *emitter; /* the flush's, which outlives this */
        uint64_t last_sent;
        sd_event_source *timer;
        bool pending;
        char *pending_path, *pending_id, *pending_text;
        struct flush_notice *notice; /* the desktop's notification of it (session bus) */
        uint32_t pending_done, pending_total;
};

/* What a person can see: twenty updates a second. */
#define PROGRESS_INTERVAL_USEC (50 * USEC_PER_MSEC)

static void flush_call_free(struct flush_call *c)
{
        if (!c)
                return;
        sd_bus_message_unref(c->call);
        sd_event_source_disable_unref(c->timer);
        flush_notice_free(c->notice);
        free(c->caller);
        free(c->pending_path);
        free(c->pending_id);
        free(c->pending_text);
        free(c);
}

static int append_summary(sd_bus_message *m, const struct flush *f)
{
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}", "sent", "u", f->sent, "deferred",
                                          "u", f->deferred, "failed", "u", f->failed, "received",
                                          "u", f->received);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "skipped");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "o");
        STRV_FOREACH (p, f->skipped)
                if (r >= 0)
                        r = sd_bus_message_append(m, "o", *p);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "errors");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(oss)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(oss)");
        for (size_t i = 0; r >= 0 && i < f->n_errors; i++) {
                const struct flush_error *e = &f->errors[i];
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "%s (0x%08X): %s", mapi_error_name(e->code),
                             mapi_error_value(e->code), e->text) < 0)
                        return -ENOMEM;
                r = sd_bus_message_append(m, "(oss)", e->path, mapi_error_dbus_name(e->code), text);
        }
        for (int k = 0; r >= 0 && k < 4; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The reply to a FLUSH_ASYNC_OK flush, which says what it means: started,
 * with which transports, and which were skipped; the counts come with
 * FlushFinished. */
static int reply_started(sd_bus_message *call, const struct flush *f)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}", "started", "b", 1);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "transports");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < f->n_parts; i++)
                r = sd_bus_message_append(reply, "o", f->parts[i].t->path);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "skipped");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        STRV_FOREACH (p, f->skipped)
                if (r >= 0)
                        r = sd_bus_message_append(reply, "o", *p);
        for (int k = 0; r >= 0 && k < 4; k++)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static int reply_summary(sd_bus_message *call, const struct flush *f)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = append_summary(reply, f);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static void emit_finished(struct bus_faces *b, const struct flush *f)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r = sd_bus_message_new_signal(b->bus, &sig, f->emitter, MAILSPOOL_IFACE_STATUS,
                                          "FlushFinished");
        if (r >= 0)
                r = sd_bus_message_append(sig, "ou", f->target, f->flags);
        if (r >= 0)
                r = append_summary(sig, f);
        if (r >= 0)
                r = sd_bus_send(b->bus, sig, NULL);
        if (r < 0)
                log_warning("cannot emit FlushFinished: %s", strerror(-r));
}

/* Sends the pending report. */
static void progress_send(struct flush_call *c)
{
        if (!c->pending)
                return;
        c->pending = false;
        c->last_sent = now_monotonic_usec();
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r = sd_bus_message_new_signal(c->b->bus, &sig, c->emitter, MAILSPOOL_IFACE_STATUS,
                                          "FlushProgress");
        /* Unicast: only the caller asked to be shown progress. */
        if (r >= 0)
                r = sd_bus_message_set_destination(sig, c->caller);
        if (r >= 0)
                r = sd_bus_message_append(sig, "ouus", c->pending_path, c->pending_done,
                                          c->pending_total, c->pending_text);
        if (r >= 0)
                r = sd_bus_send(c->b->bus, sig, NULL);
        if (r < 0)
                log_debug("cannot send FlushProgress: %s", strerror(-r));
        flush_notice_progress(c->b, &c->notice, c->pending_id, c->pending_done, c->pending_total,
                              c->pending_text);
}

static int progress_timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        progress_send(userdata);
        return 0;
}

void status_dbus_flush_progress(struct bus_faces *b, struct flush *f, struct transport *t,
                                const char *text)
{
        struct flush_call *c = f->userdata;
        if (!c || !c->caller)
                return;
        char *path = strdup(t->path), *words = strdup(text), *id = strdup(t->config->id);
        if (!path || !words || !id) {
                free(path);
                free(words);
                free(id);
                return;
        }
        free(c->pending_path);
        free(c->pending_id);
        free(c->pending_text);
        c->pending_id = id;
        c->pending_path = path;
        c->pending_text = words;
        c->pending_done = f->done;
        c->pending_total = f->total;
        c->pending = true;
        c->b = b;
        c->emitter = f->emitter;
        uint64_t now = now_monotonic_usec(), next = c->last_sent + PROGRESS_INTERVAL_USEC;
        if (now >= next) {
                progress_send(c);
                return;
        }
        /* Too soon after the last: this one (or a later) goes when the interval is up. */
        if (!c->timer && sd_event_add_time(b->event, &c->timer, CLOCK_MONOTONIC, next, 0,
                                           progress_timer_cb, c) < 0) {
                progress_send(c);
                return;
        }
        sd_event_source_set_time(c->timer, next);
        sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

void status_dbus_flush_finished(struct bus_faces *b, struct flush *f)
{
        struct flush_call *c = TAKE_PTR(f->userdata);

        /* The last progress report always goes, and before the end; then
         * the desktop shows the end. */
        if (c && c->caller) {
                progress_send(c);
                const char *why = NULL;
                bool failed = flush_result(f, &why) != MAPI_OK;
                c->b = b;
                flush_notice_finished(b, &c->notice, f->sent, f->deferred, f->failed, f->received,
                                      failed ? why : NULL);
        }
        /* The status bits that fell with the flush go out before its end. */
        bus_changes_emit(b->changes);
        if (c && c->call) {
                const char *text;
                enum mapi_error code = flush_result(f, &text);
                if (code != MAPI_OK) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        bus_error_mapi(&e, code, "%s", text);
                        sd_bus_reply_method_error(c->call, &e);
                } else if (reply_summary(c->call, f) < 0)
                        log_warning("cannot reply to FlushQueues");
        }
        emit_finished(b, f);
        flush_call_free(c);
}

static int flush_queues(struct bus_faces *b, struct transport *on_transport, sd_bus_message *m,
                        const char *target, uint32_t flags, sd_bus_error *error)
{
        struct flush *f;
        enum mapi_error code;
        _cleanup_free_ char *text = NULL;

        int r = flush_new(b->flushes, on_transport, target, flags, &f, &code, &text);
        if (r < 0)
                return text ? bus_error_mapi(error, code, "%s", text) : r;

        uid_t owner;
        r = bus_caller_uid(m, &owner);
        if (r < 0) {
                flush_free(f);
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "the bus cannot tell who is calling (%s)", strerror(-r));
        }
        struct flush_call *c = calloc(1, sizeof(*c));
        if (!c || (!(flags & MAILSPOOL_FLUSH_NO_UI) &&
                   !(c->caller = strdup(strempty(sd_bus_message_get_sender(m)))))) {
                flush_call_free(c);
                flush_free(f);
                return -ENOMEM;
        }
        c->owner = owner;
        if (flags & MAILSPOOL_FLUSH_ASYNC_OK)
                r = reply_started(m, f);
        else
                c->call = sd_bus_message_ref(m);
        if (r < 0) {
                flush_call_free(c);
                flush_free(f);
                return r;
        }
        f->userdata = c;
        flush_run(f);
        return 1;
}

static int method_flush_queues(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        const char *target;
        uint32_t flags;

        int r = sd_bus_message_read(m, "ou", &target, &flags);
        if (r < 0)
                return r;
        if (!(o->row->resource_methods & MAILSPOOL_STATUS_FLUSH_QUEUES))
                return bus_error_mapi(
                    error, MAPI_E_NO_SUPPORT,
                    "transport \"%s\" does not flush itself (ResourceMethods 0x%X lacks "
                    "STATUS_FLUSH_QUEUES); ask the spooler to flush it with this transport as "
                    "target",
                    status_name(o), o->row->resource_methods);
        return flush_queues(o->b, o->t, m, target, flags, error);
}

int status_dbus_cancel_flush(struct bus_faces *b, sd_bus_message *m, const char *target,
                             sd_bus_error *error)
{
        struct flush *f = flushes_find(b->flushes, target);
        if (!f)
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no flush of %s is running", target);

        const struct flush_call *c = f->userdata;
        uid_t uid;
        bool own = c && bus_caller_uid(m, &uid) >= 0 && uid == c->owner;
        if (!own && !bus_faces_privileged(b, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "the flush of %s belongs to another client", target);
        flush_cancel(f);
        return sd_bus_reply_method_return(m, NULL);
}

/* --- ValidateState --------------------------------------------------------- */

static int spooler_validate(struct bus_faces *b, uint32_t flags, sd_bus_error *error)
{
        if (flags & MAILSPOOL_VALIDATE_CONFIG_CHANGED) {
                _cleanup_free_ char *text = NULL;
                int r = flushes_reload(b->flushes, &text);
                if (r == -EBUSY)
                        return bus_error_mapi(error, MAPI_E_BUSY,
                                              "the configuration cannot be re-read while a flush "
                                              "runs or mail is in transit; try again when it ends");
                if (r < 0)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "the configuration was not changed: %s",
                                              text ? text : strerror(-r));
        }
        /* FORCE_XP_* on the spooler applies to every transport. */
        uint32_t force =
            flags & (MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT);
        for (size_t i = 0; force && i < b->spool->n_transports; i++)
                (void) transport_validate(b->spool->transports[i], force);
        return 0;
}

/* Waits for the transport's check; the reply comes from its end. */
static int validate_wait(struct status_object *o, sd_bus_message *m)
{
        sd_bus_message **calls =
            reallocarray(o->validate_calls, o->n_validate_calls + 1, sizeof(*calls));
        if (!calls)
                return -ENOMEM;
        o->validate_calls = calls;
        calls[o->n_validate_calls++] = sd_bus_message_ref(m);
        return 0;
}

static void validate_reply(struct status_object *o, enum mapi_error code, const char *error)
{
        sd_bus_message **calls = TAKE_PTR(o->validate_calls);
        size_t n = o->n_validate_calls;

        o->n_validate_calls = 0;
        for (size_t i = 0; i < n; i++) {
                if (error) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        bus_error_mapi(&e, code, "transport \"%s\": %s", status_name(o), error);
                        sd_bus_reply_method_error(calls[i], &e);
                } else
                        sd_bus_reply_method_return(calls[i], NULL);
                sd_bus_message_unref(calls[i]);
        }
        free(calls);
}

static int transport_validate_call(struct status_object *o, uint32_t flags, sd_bus_message *m,
                                   sd_bus_error *error)
{
        if (flags & MAILSPOOL_VALIDATE_HEADER_CACHE_FLAGS)
                return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                                      "transport \"%s\" has no remote header cache",
                                      status_name(o));
        /* Waiting before the check starts: it may end before it returns. */
        int r = validate_wait(o, m);
        if (r < 0)
                return r;
        if (transport_validate(o->t, flags) > 0)
                return 1;
        /* Nothing to wait for: the call is the last one waiting. */
        o->n_validate_calls--;
        sd_bus_message_unref(o->validate_calls[o->n_validate_calls]);
        return 0;
}

void status_dbus_validate_done(struct bus_faces *b, struct transport *t, enum mapi_error code,
                               const char *error)
{
        for (size_t i = 0; i < b->n_transports; i++)
                if (b->transports[i]->t == t)
                        validate_reply(&b->transports[i]->status, code, error);
}

void status_dbus_object_removed(struct status_object *o)
{
        validate_reply(o, MAPI_E_CALL_FAILED, "the transport was removed");
}

static int method_validate_state(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        enum mapi_error code;
        const char *text;
        uint32_t flags;

        int r = sd_bus_message_read(m, "u", &flags);
        if (r < 0)
                return r;
        if (!(o->row->resource_methods & MAILSPOOL_STATUS_VALIDATE_STATE))
                return no_support(error, o, "ValidateState", MAILSPOOL_STATUS_VALIDATE_STATE);
        if (validate_flags_check(flags, !o->t, &code, &text) < 0)
                return bus_error_mapi(error, code, "%s", text);
        if ((flags & (MAILSPOOL_VALIDATE_FORCE_CONNECT | MAILSPOOL_VALIDATE_FORCE_DISCONNECT |
                      MAILSPOOL_VALIDATE_CONFIG_CHANGED)) &&
            !bus_faces_privileged(o->b, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "only root or the admin group may connect, disconnect or "
                                      "reconfigure transports");

        r = o->t ? transport_validate_call(o, flags, m, error)
                 : spooler_validate(o->b, flags, error);
        if (r != 0)
                return r; /* an error, or the transport replies when its check ends */
        return sd_bus_reply_method_return(m, NULL);
}

static int method_settings_dialog(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                              "a system service has no settings dialog; edit the configuration "
                              "files and call ValidateState with CONFIG_CHANGED");
}

static int method_change_password(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct status_object *o = userdata;
        const char *old_secret, *new_secret;
        uint32_t flags;

        int r = sd_bus_message_read(m, "ssu", &old_secret, &new_secret, &flags);
        if (r < 0)
                return r;
        if (!(o->row->resource_methods & MAILSPOOL_STATUS_CHANGE_PASSWORD))
                return no_support(error, o, "ChangePassword", MAILSPOOL_STATUS_CHANGE_PASSWORD);
        if (flags != 0)
                return bus_error_mapi(error, MAPI_E_UNKNOWN_FLAGS,
                                      "ChangePassword takes no flags, got 0x%X", flags);
        if (!bus_faces_privileged(o->b, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "only root or the admin group may change a password");
        const char *file = o->t->config->password_file;
        if (!file)
                return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                                      "transport \"%s\" has no PasswordFile to change",
                                      o->t->config->id);
        if (strpbrk(new_secret, "\r\n") || !new_secret[0])
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the new password must be one non-empty line");

        /* The new password goes to the state directory, which the daemon
         * owns under its unit; the configuration stays the administrator's. */
        const char *stored = o->t->config->stored_secret;
        _cleanup_free_ char *current = NULL;
        r = secret_file_read_current(stored, file, &current);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_CALL_FAILED,
                                      "cannot read the password of transport \"%s\": %s",
                                      o->t->config->id, strerror(-r));
        bool right = streq(current, old_secret);
        explicit_bzero(current, strlen(current));
        if (!right)
                return bus_error_mapi(error, MAPI_E_LOGON_FAILED,
                                      "the old password of transport \"%s\" is not right",
                                      o->t->config->id);
        r = secret_file_write(stored, new_secret);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_DISK_ERROR, "cannot write %s: %s", stored,
                                      strerror(-r));
        log_notice("transport \"%s\": password changed", o->t->config->id);
        return sd_bus_reply_method_return(m, NULL);
}

#define PROP_CHANGING SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define METHOD_FLAGS  SD_BUS_VTABLE_UNPRIVILEGED

const sd_bus_vtable status_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ResourceType", "u", get_resource_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("DisplayName", "s", get_display_name, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ProviderDisplay", "s", get_provider_display, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ResourceMethods", "u", get_resource_methods, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("ResourceFlags", "u", get_resource_flags, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("StatusCode", "u", get_status_code, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("StatusString", "s", get_status_string, 0, PROP_CHANGING),
    SD_BUS_PROPERTY("IdentityDisplay", "s", get_identity_display, 0, PROP_CHANGING),
    SD_BUS_METHOD_WITH_NAMES("FlushQueues", "ou",
                             SD_BUS_PARAM(target_transport) SD_BUS_PARAM(flags), "a{sv}",
                             SD_BUS_PARAM(summary), method_flush_queues, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("ValidateState", "u", SD_BUS_PARAM(flags), "", "",
                             method_validate_state, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("SettingsDialog", "u", SD_BUS_PARAM(flags), "", "",
                             method_settings_dialog, METHOD_FLAGS),
    SD_BUS_METHOD_WITH_NAMES("ChangePassword", "ssu",
                             SD_BUS_PARAM(old_password) SD_BUS_PARAM(new_password)
                                 SD_BUS_PARAM(flags),
                             "", "", method_change_password, METHOD_FLAGS),
    SD_BUS_SIGNAL_WITH_NAMES(
        "FlushProgress", "ouus",
        SD_BUS_PARAM(transport) SD_BUS_PARAM(done) SD_BUS_PARAM(total) SD_BUS_PARAM(text), 0),
    SD_BUS_SIGNAL_WITH_NAMES("FlushFinished", "oua{sv}",
                             SD_BUS_PARAM(target) SD_BUS_PARAM(flags) SD_BUS_PARAM(summary), 0),
    SD_BUS_VTABLE_END,
};
