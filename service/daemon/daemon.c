/* The daemon as a whole: its transports, routing, reload, the spooler's own
 * status, and who the caller is. */
#include "daemon.h"

#include <grp.h>
#include <pwd.h>

#include "flush.h"
#include "log.h"
#include "mailspool-bus.h"
#include "transport.h"

int transport_path_for_id(const char *id, char **ret)
{
        return sd_bus_path_encode(MAILSPOOL_TRANSPORT_PREFIX, id, ret);
}

struct transport *daemon_find_transport(struct daemon *d, const char *id)
{
        for (size_t i = 0; i < d->n_transports; i++)
                if (streq(d->transports[i]->config->id, id))
                        return d->transports[i];
        return NULL;
}

struct transport *daemon_find_transport_by_path(struct daemon *d, const char *path)
{
        for (size_t i = 0; i < d->n_transports; i++)
                if (streq(d->transports[i]->path, path))
                        return d->transports[i];
        return NULL;
}

struct transport *daemon_route(struct daemon *d, const char *from)
{
        struct transport *first = NULL, *fallback = NULL;
        for (size_t i = 0; i < d->n_transports; i++) {
                struct transport *t = d->transports[i];
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

/* Resolved once per configuration, so that no bus call waits on NSS. */
static void daemon_resolve_admin_group(struct daemon *d)
{
        d->has_admin_gid = false;
        if (!d->config.admin_group)
                return;
        struct group *g = getgrnam(d->config.admin_group);
        if (!g) {
                log_warning("AdminGroup \"%s\" does not exist; only root may administer",
                            d->config.admin_group);
                return;
        }
        d->admin_gid = g->gr_gid;
        d->has_admin_gid = true;
}

int daemon_start_transports(struct daemon *d)
{
        daemon_resolve_admin_group(d);
        d->transports =
            calloc(d->config.n_transports ? d->config.n_transports : 1, sizeof(struct transport *));
        if (!d->transports)
                return -ENOMEM;
        for (size_t i = 0; i < d->config.n_transports; i++) {
                struct transport *t;
                int r = transport_new(d, &d->config.transports[i], (uint32_t) i + 1, &t);
                if (r < 0)
                        return r;
                d->transports[d->n_transports++] = t;
                r = transport_object_register(t);
                if (r < 0)
                        return r;
                log_info("transport \"%s\" (%s) ready at %s", t->config->id,
                         transport_kind_to_string(t->config->kind), t->path);
        }
        return 0;
}

void daemon_stop_transports(struct daemon *d)
{
        for (size_t i = 0; i < d->n_transports; i++)
                transport_free(d->transports[i]);
        free(d->transports);
        d->transports = NULL;
        d->n_transports = 0;
}

static bool daemon_is_idle(struct daemon *d)
{
        if (d->flushes)
                return false;
        for (size_t i = 0; i < d->n_transports; i++)
                if (d->transports[i]->in_transit > 0 || d->transports[i]->downloading)
                        return false;
        return true;
}

static void announce_transports(struct daemon *d, bool added)
{
        for (size_t i = 0; i < d->n_transports; i++) {
                const char *path = d->transports[i]->path;
                if (added)
                        sd_bus_emit_interfaces_added(d->bus, path, MAILSPOOL_IFACE_STATUS, MAILSPOOL_IFACE_TRANSPORT,
                                                     NULL);
                else
                        sd_bus_emit_interfaces_removed(d->bus, path, MAILSPOOL_IFACE_STATUS, MAILSPOOL_IFACE_TRANSPORT,
                                                       NULL);
        }
}

int daemon_reload(struct daemon *d, char **ret_error)
{
        if (!daemon_is_idle(d))
                return -EBUSY;

        struct spool_config fresh = {};
        int r = config_load(d->config_dir, d->state_dir, &fresh, ret_error);
        if (r < 0)
                return r;

        /* Queued mail lives in the store, keyed by transport id: rebuilding
         * the transports loses none of it. */
        announce_transports(d, false);
        daemon_stop_transports(d);
        struct spool_config previous = d->config;
        d->config = fresh;
        r = daemon_start_transports(d);
        if (r < 0) {
                /* Back to the transports of the previous configuration, so
                 * that "not changed" stays true. */
                daemon_stop_transports(d);
                spool_config_clear(&d->config);
                d->config = previous;
                int k = daemon_start_transports(d);
                if (k < 0)
                        log_error("cannot restart the previous transports: %s", strerror(-k));
                announce_transports(d, true);
                if (asprintf(ret_error,
                             "cannot start the new transports (%s); the previous "
                             "configuration stays",
                             strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        spool_config_clear(&previous);
        announce_transports(d, true);
        sd_bus_emit_properties_changed(d->bus, MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_SPOOLER, "TransportOrder", NULL);
        log_notice("configuration re-read: %zu transport%s", d->n_transports,
                   d->n_transports == 1 ? "" : "s");
        return 0;
}

void daemon_set_status(struct daemon *d, uint32_t code, const char *text)
{
        const char *changed[3] = {};
        size_t n = 0;

        if (code != d->status_code) {
                d->status_code = code;
                changed[n++] = "StatusCode";
        }
        if (!streq_ptr(text, d->status_string)) {
                char *c = strdup(text);
                if (c) {
                        free(d->status_string);
                        d->status_string = c;
                        changed[n++] = "StatusString";
                }
        }
        if (n > 0 && d->spooler_slots[0])
                sd_bus_emit_properties_changed(d->bus, MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_STATUS, changed[0],
                                               changed[1], NULL);
}

void daemon_check_stop(struct daemon *d)
{
        if (!d->stopping)
                return;
        for (size_t i = 0; i < d->n_transports; i++)
                if (d->transports[i]->in_transit > 0)
                        return;
        sd_event_exit(d->event, 0);
}

int bus_caller_uid(sd_bus_message *m, uid_t *ret)
{
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        int r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        return sd_bus_creds_get_euid(creds, ret);
}

/* Whether the user uid belongs to gid in the user database (its primary
 * group or a supplementary one). The database, not the calling process's
 * groups: the bus vouches for the uid alone, and "add the user to the
 * group" is how an administrator grants the right. */
static bool user_in_group(uid_t uid, gid_t gid)
{
        struct passwd pw, *found = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
                return false;
        if (pw.pw_gid == gid)
                return true;
        int n = 64;
        for (int attempt = 0; attempt < 4; attempt++) {
                _cleanup_free_ gid_t *groups = calloc((size_t) n, sizeof(gid_t));
                if (!groups)
                        return false;
                int want = n;
                if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &want) >= 0) {
                        for (int i = 0; i < want; i++)
                                if (groups[i] == gid)
                                        return true;
                        return false;
                }
                n = want > n ? want : n * 2;
        }
        return false;
}

bool bus_caller_is_privileged(struct daemon *d, sd_bus_message *m)
{
        /* On a session bus the one user owns everything (docs/api.md, Access). */
        if (!d->system_bus)
                return true;
        uid_t uid;
        if (bus_caller_uid(m, &uid) < 0)
                return false;
        if (uid == 0)
                return true;
        return d->has_admin_gid && user_in_group(uid, d->admin_gid);
}
