/* The connections that called the daemon, with their uid: see bus-watchers.h. */
#include "bus-watchers.h"

#include "bus-caller.h"
#include "log.h"

/* Bounds: a connection past them pushes out the longest known of its uid
 * (or of all), which then hears nothing until it calls again. */
#define WATCHERS_MAX         4096
#define WATCHERS_PER_UID_MAX 64
#define BUCKETS              256

struct watcher {
        char *name; /* unique name */
        uid_t uid;
        bool privileged;
        uint64_t seq; /* when it was first seen: the oldest goes first */
        sd_bus_slot *gone;
        struct watcher *next; /* in its bucket */
};

struct bus_watchers {
        sd_bus *bus;
        const struct spool *spool;
        sd_bus_slot *filter;
        struct watcher *buckets[BUCKETS];
        unsigned n;
        uint64_t seq;
};

static unsigned bucket_of(const char *name)
{
        uint32_t h = 2166136261u;
        for (; *name; name++)
                h = (h ^ (unsigned char) *name) * 16777619u;
        return h % BUCKETS;
}

static struct watcher **find(struct bus_watchers *w, const char *name)
{
        struct watcher **p = &w->buckets[bucket_of(name)];
        while (*p && !streq((*p)->name, name))
                p = &(*p)->next;
        return p;
}

static void drop(struct bus_watchers *w, struct watcher **p)
{
        struct watcher *x = *p;
        *p = x->next;
        sd_bus_slot_unref(x->gone);
        free(x->name);
        free(x);
        w->n--;
}

/* The oldest of uid (any uid when all is true). */
static struct watcher **oldest(struct bus_watchers *w, uid_t uid, bool all, unsigned *count)
{
        struct watcher **best = NULL;
        *count = 0;
        for (unsigned i = 0; i < BUCKETS; i++)
                for (struct watcher **p = &w->buckets[i]; *p; p = &(*p)->next)
                        if (all || (*p)->uid == uid) {
                                (*count)++;
                                if (!best || (*p)->seq < (*best)->seq)
                                        best = p;
                        }
        return best;
}

static int on_gone(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct bus_watchers *w = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || *new_owner)
                return 0;
        struct watcher **p = find(w, name);
        if (*p)
                drop(w, p);
        return 0;
}

static void remember(struct bus_watchers *w, sd_bus_message *call, const char *sender)
{
        uid_t uid;
        if (bus_caller_uid(call, &uid) < 0)
                return; /* gone already */
        unsigned count;
        struct watcher **old = oldest(w, uid, false, &count);
        if (count >= WATCHERS_PER_UID_MAX)
                drop(w, old);
        else if (w->n >= WATCHERS_MAX)
                drop(w, oldest(w, 0, true, &count));

        struct watcher *x = calloc(1, sizeof(*x));
        if (!x || !(x->name = strdup(sender))) {
                free(x);
                return;
        }
        x->uid = uid;
        x->privileged = bus_caller_is_privileged(w->spool, true, call);
        x->seq = w->seq++;
        _cleanup_free_ char *match = NULL;
        if (asprintf(&match,
                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='%s'",
                     sender) < 0 ||
            sd_bus_add_match_async(w->bus, &x->gone, match, on_gone, NULL, w) < 0)
                log_debug("cannot watch %s leave the bus; it is forgotten when pushed out", sender);
        struct watcher **p = find(w, sender);
        *p = x;
        w->n++;
}

/* Every incoming call: a new caller is remembered. */
static int filter(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct bus_watchers *w = userdata;
        const char *sender = sd_bus_message_get_sender(m);
        if (sender && sd_bus_message_is_method_call(m, NULL, NULL) > 0 && !*find(w, sender))
                remember(w, m, sender);
        return 0; /* on to the object that was called */
}

int bus_watchers_new(sd_bus *bus, const struct spool *spool, struct bus_watchers **ret)
{
        struct bus_watchers *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->bus = bus;
        w->spool = spool;
        int r = sd_bus_add_filter(bus, &w->filter, filter, w);
        if (r < 0) {
                free(w);
                return r;
        }
        *ret = w;
        return 0;
}

struct bus_watchers *bus_watchers_free(struct bus_watchers *w)
{
        if (!w)
                return NULL;
        for (unsigned i = 0; i < BUCKETS; i++)
                while (w->buckets[i])
                        drop(w, &w->buckets[i]);
        sd_bus_slot_unref(w->filter);
        free(w);
        return NULL;
}

void bus_watchers_unicast(struct bus_watchers *w, uid_t owner, bus_watchers_build_fn build,
                          void *userdata)
{
        for (unsigned i = 0; i < BUCKETS; i++)
                for (struct watcher *x = w->buckets[i]; x; x = x->next) {
                        if (x->uid != owner && !x->privileged)
                                continue;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                        int r = build(w->bus, &m, userdata);
                        if (r >= 0)
                                r = sd_bus_message_set_destination(m, x->name);
                        if (r >= 0)
                                r = sd_bus_send(w->bus, m, NULL);
                        if (r < 0)
                                log_debug("cannot tell %s: %s", x->name, strerror(-r));
                }
}
