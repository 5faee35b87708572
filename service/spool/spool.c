/* The transports as a whole: built from the configuration, found, routed
 * to, rebuilt on reload, and stopped; and the spooler's own status row. */
#include "spool.h"

#include <grp.h>

#include "log.h"
#include "mailspool-bus.h"

/* The spooler's row of the status table: fixed but for its status, and set
 * here alone (the words are those of the Status interface's documentation). */
static const struct status_row spooler_row = {
    .entry_id = MAILSPOOL_SPOOLER_PATH,
    .row_id = 0,
    .object_type = MAILSPOOL_OBJECT_STATUS,
    .resource_type = MAILSPOOL_RESOURCE_SPOOLER,
    .display_name = "Spooler",
    .provider_display = "Spooler",
    .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_FLUSH_QUEUES,
    .resource_flags = 0,
    .status_code = MAILSPOOL_STATUS_AVAILABLE,
    .identity_display = "",
};

int spool_new(sd_event *event, struct store *store, const char *config_dir, const char *state_dir,
              struct spool_config *config, const struct spool_listener *listener,
              struct spool **ret)
{
        struct spool *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = event;
        s->store = store;
        s->listener = *listener;
        s->status = spooler_row;
        s->status.status_string = strdup("Ready");
        s->config_dir = strdup(config_dir);
        s->state_dir = strdup(state_dir);
        if (!s->status.status_string || !s->config_dir || !s->state_dir) {
                spool_free(s);
                return -ENOMEM;
        }
        s->config = *config;
        *config = (struct spool_config){};
        *ret = s;
        return 0;
}

static void spool_stop_transports(struct spool *s)
{
        for (size_t i = 0; i < s->n_transports; i++)
                transport_free(s->transports[i]);
        s->transports = mfree(s->transports);
        s->n_transports = 0;
}

struct spool *spool_free(struct spool *s)
{
        if (!s)
                return NULL;
        spool_stop_transports(s);
        sd_event_source_disable_unref(s->due_timer);
        spool_config_clear(&s->config);
        free((char *) s->status.status_string);
        free(s->config_dir);
        free(s->state_dir);
        free(s);
        return NULL;
}

/* Resolved once per configuration, so that no bus call waits on NSS. */
static void spool_resolve_admin_group(struct spool *s)
{
        s->has_admin_gid = false;
        if (!s->config.admin_group)
                return;
        struct group *g = getgrnam(s->config.admin_group);
        if (!g) {
                log_warning("AdminGroup \"%s\" does not exist; only root may administer",
                            s->config.admin_group);
                return;
        }
        s->admin_gid = g->gr_gid;
        s->has_admin_gid = true;
}

int spool_start_transports(struct spool *s)
{
        spool_resolve_admin_group(s);
        s->transports =
            calloc(s->config.n_transports ? s->config.n_transports : 1, sizeof(struct transport *));
        if (!s->transports)
                return -ENOMEM;
        struct transport_env env = {
            .event = s->event,
            .store = s->store,
            .max_message_size = s->config.max_message_size,
            .session_bus = s->session_bus,
            .queue_lifetime = s->config.queue_lifetime,
            .uncertain_hold = s->config.uncertain_hold,
            .listener = s->listener.transport,
            .userdata = s->listener.userdata,
        };
        for (size_t i = 0; i < s->config.n_transports; i++) {
                struct transport *t;
                int r = transport_new(&env, &s->config.transports[i], (uint32_t) i + 1, &t);
                if (r < 0)
                        return r;
                s->transports[s->n_transports++] = t;
                if (s->stopping)
                        transport_set_stopping(t);
                log_info("transport \"%s\" (%s) ready at %s", t->config->id,
                         transport_kind_to_string(t->config->kind), t->path);
        }
        return 0;
}

static void announce(struct spool *s, bool added)
{
        void (*f)(struct spool *, void *) =
            added ? s->listener.transports_added : s->listener.transports_removed;
        if (f)
                f(s, s->listener.userdata);
}

int spool_reload(struct spool *s, char **ret_error)
{
        struct spool_config fresh = {};
        int r = config_load(s->config_dir, s->state_dir, s->session_bus != NULL, &fresh, ret_error);
        if (r < 0)
                return r;

        /* Queued mail lives in the store, keyed by transport id: rebuilding
         * the transports loses none of it. */
        announce(s, false);
        spool_stop_transports(s);
        struct spool_config previous = s->config;
        s->config = fresh;
        r = spool_start_transports(s);
        if (r < 0) {
                /* Back to the transports of the previous configuration, so
                 * that "not changed" stays true. */
                spool_stop_transports(s);
                spool_config_clear(&s->config);
                s->config = previous;
                int k = spool_start_transports(s);
                if (k < 0)
                        log_error("cannot restart the previous transports: %s", strerror(-k));
                announce(s, true);
                if (asprintf(ret_error,
                             "cannot start the new transports (%s); the previous "
                             "configuration stays",
                             strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        spool_config_clear(&previous);
        announce(s, true);
        log_notice("configuration re-read: %zu transport%s", s->n_transports,
                   s->n_transports == 1 ? "" : "s");
        return 0;
}

struct transport *spool_find_transport(struct spool *s, const char *id)
{
        for (size_t i = 0; i < s->n_transports; i++)
                if (streq(s->transports[i]->config->id, id))
                        return s->transports[i];
        return NULL;
}

struct transport *spool_find_transport_by_path(struct spool *s, const char *path)
{
        for (size_t i = 0; i < s->n_transports; i++)
                if (streq(s->transports[i]->path, path))
                        return s->transports[i];
        return NULL;
}

struct transport *spool_route(struct spool *s, const char *from)
{
        struct transport *first = NULL, *fallback = NULL;
        for (size_t i = 0; i < s->n_transports; i++) {
                struct transport *t = s->transports[i];
                if (!transport_kind_is_outbound(t->config->kind))
                        continue;
                if (from && from[0] && t->config->identity && t->config->identity[0] &&
                    strcasecmp(t->config->identity, from) == 0)
                        return t;
                if (!first)
                        first = t;
                if (t->config->is_default && !fallback)
                        fallback = t;
        }
        return fallback ? fallback : first;
}

bool spool_busy(const struct spool *s)
{
        for (size_t i = 0; i < s->n_transports; i++)
                if (s->transports[i]->in_transit > 0 || s->transports[i]->downloading)
                        return true;
        return false;
}

void spool_set_status(struct spool *s, uint32_t code, const char *text)
{
        unsigned changes = 0;

        if (code != s->status.status_code) {
                s->status.status_code = code;
                changes |= TRANSPORT_CHANGED_STATUS_CODE;
        }
        if (!streq_ptr(text, s->status.status_string)) {
                char *c = strdup(text);
                if (c) {
                        free((char *) s->status.status_string);
                        s->status.status_string = c;
                        changes |= TRANSPORT_CHANGED_STATUS_STRING;
                }
        }
        if (changes && s->listener.spooler_changed)
                s->listener.spooler_changed(s, changes, s->listener.userdata);
}

void spool_stop(struct spool *s)
{
        if (!s->stopping)
                log_notice("stopping: finishing the messages in transit");
        s->stopping = true;
        for (size_t i = 0; i < s->n_transports; i++)
                transport_set_stopping(s->transports[i]);
        spool_check_stop(s);
}

void spool_check_stop(struct spool *s)
{
        if (!s->stopping)
                return;
        for (size_t i = 0; i < s->n_transports; i++)
                if (s->transports[i]->in_transit > 0)
                        return;
        sd_event_exit(s->event, 0);
}
