/* PropertiesChanged from marks, once per dispatch: see bus-changes.h. */
#include "bus-changes.h"

#include "log.h"
#include "util.h"

/* A paced object's changes go out at most this often: as fast as FlushProgress, what a
 * person can follow. */
#define PACE_USEC (50 * USEC_PER_MSEC)

struct change {
        char *path;
        const char *iface;
        const char *const *names;
        unsigned mask; /* 0: nothing marked; kept only to pace the next mark */
        /* Every mark since the last signal was paced: it may wait (as a
         * batched one does). */
        bool paced;
        /* Marked paced once: kept after its signal, which last_usec dates. */
        bool pacing;
        /* Marked batched only: due at the end of its PACE_USEC window, dated
         * by last_usec, and gone after its signal. */
        bool batched;
        uint64_t last_usec;
};

struct bus_changes {
        sd_bus *bus;
        sd_event_source *defer;
        sd_event_source *pace_timer; /* when the next paced change is due */
        struct change *marks;
        size_t n_marks, allocated;
        const char *private_iface;
        bus_changes_emit_fn private_emit;
        void *private_userdata;
};

static void emit_due(struct bus_changes *c, bool all);

static int emit_cb(sd_event_source *s, void *userdata)
{
        emit_due(userdata, false);
        return 0;
}

static int pace_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        emit_due(userdata, false);
        return 0;
}

int bus_changes_new(sd_bus *bus, sd_event *event, struct bus_changes **ret)
{
        struct bus_changes *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->bus = bus;
        int r = sd_event_add_defer(event, &c->defer, emit_cb, c);
        if (r < 0) {
                free(c);
                return r;
        }
        /* Before the next call and the next normal-priority work: changes
         * leave right after the dispatch that made them, so a later change
         * is a later signal. */
        (void) sd_event_source_set_priority(c->defer, BUS_CHANGES_EVENT_PRIORITY);
        (void) sd_event_source_set_description(c->defer, "bus-properties-changed");
        sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        r = sd_event_add_time(event, &c->pace_timer, CLOCK_MONOTONIC, 0, 0, pace_cb, c);
        if (r < 0) {
                sd_event_source_disable_unref(c->defer);
                free(c);
                return r;
        }
        (void) sd_event_source_set_priority(c->pace_timer, BUS_CHANGES_EVENT_PRIORITY);
        (void) sd_event_source_set_description(c->pace_timer, "bus-properties-paced");
        sd_event_source_set_enabled(c->pace_timer, SD_EVENT_OFF);
        *ret = c;
        return 0;
}

static void drop_marks(struct bus_changes *c)
{
        for (size_t i = 0; i < c->n_marks; i++)
                free(c->marks[i].path);
        c->n_marks = 0;
}

struct bus_changes *bus_changes_free(struct bus_changes *c)
{
        if (!c)
                return NULL;
        drop_marks(c);
        free(c->marks);
        sd_event_source_disable_unref(c->defer);
        sd_event_source_disable_unref(c->pace_timer);
        free(c);
        return NULL;
}

enum mark_kind { MARK_AT_ONCE, MARK_PACED, MARK_BATCHED };

static void mark(struct bus_changes *c, const char *path, const char *iface,
                 const char *const *names, unsigned mask, enum mark_kind kind)
{
        bool paced = kind == MARK_PACED;
        sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
        /* A handful of objects change per dispatch: a list is enough. */
        for (size_t i = 0; i < c->n_marks; i++)
                if (c->marks[i].iface == iface && streq(c->marks[i].path, path)) {
                        struct change *m = &c->marks[i];
                        m->paced = (m->mask == 0 || m->paced) && paced;
                        m->pacing |= paced;
                        m->batched &= kind == MARK_BATCHED;
                        m->mask |= mask;
                        return;
                }
        if (c->n_marks == c->allocated) {
                size_t want = c->allocated ? c->allocated * 2 : 16;
                struct change *more = reallocarray(c->marks, want, sizeof(*more));
                if (!more)
                        return; /* the change is not announced; a read shows it */
                c->marks = more;
                c->allocated = want;
        }
        char *copy = strdup(path);
        if (!copy)
                return;
        struct change m = {copy, iface, names, mask, paced, paced, false, 0};
        if (kind == MARK_BATCHED) {
                m.batched = true;
                m.last_usec = now_monotonic_usec();
        }
        c->marks[c->n_marks++] = m;
}

void bus_changes_mark(struct bus_changes *c, const char *path, const char *iface,
                      const char *const *names, unsigned mask)
{
        mark(c, path, iface, names, mask, MARK_AT_ONCE);
}

void bus_changes_mark_paced(struct bus_changes *c, const char *path, const char *iface,
                            const char *const *names, unsigned mask)
{
        mark(c, path, iface, names, mask, MARK_PACED);
}

void bus_changes_mark_batched(struct bus_changes *c, const char *path, const char *iface,
                              const char *const *names, unsigned mask)
{
        mark(c, path, iface, names, mask, MARK_BATCHED);
}

void bus_changes_set_emitter(struct bus_changes *c, const char *iface, bus_changes_emit_fn emit,
                             void *userdata)
{
        c->private_iface = iface;
        c->private_emit = emit;
        c->private_userdata = userdata;
}

static void emit_one(struct bus_changes *c, struct change *m)
{
        const char *names[sizeof(unsigned) * 8 + 1];
        size_t n = 0;
        for (unsigned bit = 0; bit < sizeof(unsigned) * 8; bit++)
                if (m->mask & (1u << bit))
                        names[n++] = m->names[bit];
        names[n] = NULL;
        if (c->private_emit && streq(m->iface, c->private_iface)) {
                c->private_emit(m->path, (char **) names, c->private_userdata);
                return;
        }
        int r = sd_bus_emit_properties_changed_strv(c->bus, m->path, m->iface, (char **) names);
        if (r < 0)
                log_debug("cannot announce the change of %s: %s", m->path, strerror(-r));
}

/* Emits the marks that are due (all of them with all): an unpaced one at
 * once, a paced one PACE_USEC after its object's last signal; arms the
 * timer for the first that is not. */
static void emit_due(struct bus_changes *c, bool all)
{
        uint64_t now = now_monotonic_usec(), next = UINT64_MAX;
        size_t kept = 0;
        for (size_t i = 0; i < c->n_marks; i++) {
                struct change *m = &c->marks[i];
                uint64_t due = m->last_usec + PACE_USEC;
                bool waits = m->paced || m->batched;
                if (m->mask && (all || !waits || now >= due)) {
                        emit_one(c, m);
                        m->mask = 0;
                        m->last_usec = now;
                        due = now + PACE_USEC;
                }
                if (m->mask)
                        next = due < next ? due : next;
                /* An idle paced object is kept while it paces; the rest goes. */
                if (m->mask || (m->pacing && now < due))
                        c->marks[kept++] = *m;
                else
                        free(m->path);
        }
        c->n_marks = kept;
        sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
        if (next == UINT64_MAX)
                sd_event_source_set_enabled(c->pace_timer, SD_EVENT_OFF);
        else {
                sd_event_source_set_time(c->pace_timer, next);
                sd_event_source_set_enabled(c->pace_timer, SD_EVENT_ONESHOT);
        }
}

void bus_changes_emit(struct bus_changes *c)
{
        emit_due(c, true);
}

void bus_changes_forget(struct bus_changes *c, const char *path)
{
        size_t kept = 0;
        for (size_t i = 0; i < c->n_marks; i++) {
                if (streq(c->marks[i].path, path))
                        free(c->marks[i].path);
                else
                        c->marks[kept++] = c->marks[i];
        }
        c->n_marks = kept;
}
