/* The transports as a whole: built from the configuration, found, routed
 * to, rebuilt on reload, and stopped; and the spooler's own status row. */
#include "spool.h"

#include <grp.h>
#include <malloc.h>
#include <netdb.h>

#include "log.h"
#include "netwatch.h"
#include "nmwatch.h"
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

/* The machine's mail domain: Debian's /etc/mailname, else the host's name
 * when it is qualified, else the canonical name the resolver gives it (once,
 * when the configuration is read), else the host name as it is. */
static int machine_mail_domain(char **ret)
{
        _cleanup_fclose_ FILE *f = fopen("/etc/mailname", "re");
        char line[256];
        if (f && fgets(line, sizeof(line), f)) {
                line[strcspn(line, " \t\r\n")] = '\0';
                if (line[0])
                        return (*ret = strdup(line)) ? 0 : -ENOMEM;
        }
        char host[256] = "localhost";
        if (gethostname(host, sizeof(host) - 1) < 0)
                snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        if (!strchr(host, '.')) {
                struct addrinfo hints = {.ai_flags = AI_CANONNAME}, *ai = NULL;
                if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai && ai->ai_canonname &&
                    strchr(ai->ai_canonname, '.'))
                        snprintf(host, sizeof(host), "%s", ai->ai_canonname);
                if (ai)
                        freeaddrinfo(ai);
        }
        return (*ret = strdup(host)) ? 0 : -ENOMEM;
}

/* The store's checkpointer did a pass while its WAL waited to start over,
 * and transports held off their next messages meanwhile. */
static int wal_passed(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct spool *s = userdata;
        if (!store_wal_check(s->store))
                return 0;
        (void) store_drop_done_bodies(s->store);
        for (size_t i = 0; i < s->n_transports; i++)
                transport_kick(s->transports[i]);
        return 0;
}

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
        /* Until netwatch and NetworkManager say otherwise. */
        s->online = s->kernel_online = true;
        int fd = store_wal_fd(store);
        int r = fd >= 0 ? sd_event_add_io(event, &s->wal_source, fd, EPOLLIN, wal_passed, s) : 0;
        if (r < 0) {
                spool_free(s);
                return r;
        }
        /* Found once: the resolver is not asked again while mail is submitted. */
        if (machine_mail_domain(&s->machine_domain) < 0) {
                spool_free(s);
                return -ENOMEM;
        }
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
        netwatch_free(s->netwatch);
        nmwatch_free(s->nmwatch);
        sd_event_source_disable_unref(s->due_timer);
        sd_event_source_disable_unref(s->wal_source);
        s->copy_timer = sd_event_source_disable_unref(s->copy_timer);
        spool_config_clear(&s->config);
        free((char *) s->status.status_string);
        free(s->config_dir);
        free(s->state_dir);
        free(s->machine_domain);
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

/* What every transport of configuration c is created with. */
static struct transport_env spool_transport_env(struct spool *s, const struct spool_config *c)
{
        return (struct transport_env){
            .event = s->event,
            .store = s->store,
            .max_message_size = c->max_message_size,
            .session_bus = s->session_bus,
            .queue_lifetime = c->queue_lifetime,
            .uncertain_hold = c->uncertain_hold,
            .listener = s->listener.transport,
            .userdata = s->listener.userdata,
        };
}

static int spool_new_transport(struct spool *s, const struct transport_env *env,
                               const struct transport_config *c, uint32_t row_id,
                               struct transport **ret)
{
        int r = transport_new(env, c, row_id, ret);
        if (r < 0)
                return r;
        if (s->stopping)
                transport_set_stopping(*ret);
        transport_set_network(*ret, s->online);
        log_info("transport \"%s\" (%s) ready at %s", c->id, transport_kind_to_string(c->kind),
                 (*ret)->path);
        return 0;
}

int spool_start_transports(struct spool *s)
{
        spool_resolve_admin_group(s);
        s->transports =
            calloc(s->config.n_transports ? s->config.n_transports : 1, sizeof(struct transport *));
        if (!s->transports)
                return -ENOMEM;
        struct transport_env env = spool_transport_env(s, &s->config);
        for (size_t i = 0; i < s->config.n_transports; i++) {
                struct transport *t;
                int r =
                    spool_new_transport(s, &env, &s->config.transports[i], (uint32_t) i + 1, &t);
                if (r < 0)
                        return r;
                s->transports[s->n_transports++] = t;
        }
        return 0;
}

/* The spooler-wide settings every transport was created with. */
static bool same_transport_env(const struct spool_config *a, const struct spool_config *b)
{
        return a->max_message_size == b->max_message_size &&
               a->queue_lifetime == b->queue_lifetime && a->uncertain_hold == b->uncertain_hold;
}

/* For each transport of fresh, the running one whose configuration is the
 * same (kept[j] marks it taken), or NULL. */
static void match_transports(struct spool *s, const struct spool_config *fresh,
                             struct transport **next, bool *kept)
{
        if (!same_transport_env(&s->config, fresh))
                return;
        for (size_t i = 0; i < fresh->n_transports; i++)
                for (size_t j = 0; j < s->n_transports; j++)
                        if (!kept[j] && transport_config_equal(s->transports[j]->config,
                                                               &fresh->transports[i])) {
                                next[i] = s->transports[j];
                                kept[j] = true;
                                break;
                        }
}

int spool_reload(struct spool *s, char **ret_error)
{
        _cleanup_(spool_config_clear) struct spool_config fresh = {};
        int r = config_load(s->config_dir, s->state_dir, s->session_bus != NULL, &fresh, ret_error);
        if (r < 0)
                return r;

        size_t n = fresh.n_transports, n_old = s->n_transports;
        _cleanup_free_ struct transport **next = calloc(n ? n : 1, sizeof(*next));
        _cleanup_free_ bool *kept = calloc(n_old ? n_old : 1, sizeof(*kept));
        _cleanup_free_ bool *created = calloc(n ? n : 1, sizeof(*created));
        if (!next || !kept || !created)
                return -ENOMEM;
        /* A transport whose file did not change keeps running, and keeps its
         * bus object: a client's proxy of it stays good. */
        match_transports(s, &fresh, next, kept);

        /* The new ones start first: if one cannot, nothing has changed. */
        struct transport_env env = spool_transport_env(s, &fresh);
        for (size_t i = 0; i < n && r >= 0; i++)
                if (!next[i]) {
                        r = spool_new_transport(s, &env, &fresh.transports[i], (uint32_t) i + 1,
                                                &next[i]);
                        created[i] = r >= 0;
                }
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        if (created[i])
                                transport_free(next[i]);
                if (asprintf(ret_error,
                             "cannot start the new transports (%s); the previous "
                             "configuration stays",
                             strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }

        /* Queued mail lives in the store, keyed by transport id: replacing a
         * transport loses none of it. */
        size_t gone = 0;
        for (size_t j = 0; j < n_old; j++)
                if (!kept[j]) {
                        if (s->listener.transport_removed)
                                s->listener.transport_removed(s, s->transports[j],
                                                              s->listener.userdata);
                        transport_free(s->transports[j]);
                        gone++;
                }
        for (size_t i = 0; i < n; i++)
                if (!created[i])
                        transport_set_config(next[i], &fresh.transports[i], (uint32_t) i + 1);
        free(s->transports);
        s->transports = TAKE_PTR(next);
        s->n_transports = n;
        spool_config_clear(&s->config);
        s->config = fresh;
        fresh = (struct spool_config){};
        spool_resolve_admin_group(s);
        if (s->listener.transports_added)
                s->listener.transports_added(s, s->listener.userdata);
        log_notice("configuration re-read: %zu transport%s, %zu kept as they were", n,
                   n == 1 ? "" : "s", n_old - gone);
        return 0;
}

/* Online: the kernel has a route out, and NetworkManager (if it is there)
 * does not say otherwise. */
static void network_apply(struct spool *s)
{
        s->online = s->kernel_online && !s->nm_offline;
        for (size_t i = 0; i < s->n_transports; i++)
                transport_set_network(s->transports[i], s->online);
}

static void kernel_changed(bool online, void *userdata)
{
        struct spool *s = userdata;
        s->kernel_online = online;
        network_apply(s);
}

static void nm_changed(bool offline, void *userdata)
{
        struct spool *s = userdata;
        s->nm_offline = offline;
        network_apply(s);
}

int spool_network_start(struct spool *s, sd_bus *system_bus)
{
        int r = netwatch_new(s->event, kernel_changed, s, &s->netwatch, &s->kernel_online);
        if (r < 0) {
                /* No rtnetlink (a sandbox): the network is taken as there. */
                log_warning("cannot watch the network: %s", strerror(-r));
                s->kernel_online = true;
        }
        if (system_bus) {
                r = nmwatch_new(system_bus, nm_changed, s, &s->nmwatch);
                if (r < 0)
                        log_warning("cannot watch NetworkManager: %s", strerror(-r));
        }
        network_apply(s);
        return 0;
}

const char *spool_mail_domain(const struct spool *s)
{
        return s->config.mail_domain ? s->config.mail_domain : s->machine_domain;
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

/* Once this many messages have been submitted or flushed since, the heap is
 * given back. */
#define TRIM_AFTER_MESSAGES 1000

void spool_heap_settle(struct spool *s, unsigned messages)
{
        /* Each message frees what held, parsed or sent it, in pieces
         * scattered between what outlives it (its record on the bus, the
         * store's cache); free() alone returns none of those pages. */
        s->untrimmed_messages += messages;
        if (s->untrimmed_messages < TRIM_AFTER_MESSAGES)
                return;
        s->untrimmed_messages = 0;
        malloc_trim(0);
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
