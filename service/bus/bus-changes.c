/* PropertiesChanged from marks, once per dispatch: see bus-changes.h. */
#include "bus-changes.h"

#include "log.h"
#include "util.h"

struct change {
        char *path;
        const char *iface;
        const char *const *names;
        unsigned mask;
};

struct bus_changes {
        sd_bus *bus;
        sd_event_source *defer;
        struct change *marks;
        size_t n_marks, allocated;
        const char *private_iface;
        bus_changes_emit_fn private_emit;
        void *private_userdata;
};

static int emit_cb(sd_event_source *s, void *userdata)
{
        bus_changes_emit(userdata);
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
        free(c);
        return NULL;
}

void bus_changes_mark(struct bus_changes *c, const char *path, const char *iface,
                      const char *const *names, unsigned mask)
{
        /* A handful of objects change per dispatch: a list is enough. */
        for (size_t i = 0; i < c->n_marks; i++)
                if (c->marks[i].iface == iface && streq(c->marks[i].path, path)) {
                        c->marks[i].mask |= mask;
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
        c->marks[c->n_marks++] = (struct change){copy, iface, names, mask};
        sd_event_source_set_enabled(c->defer, SD_EVENT_ONESHOT);
}

void bus_changes_set_emitter(struct bus_changes *c, const char *iface, bus_changes_emit_fn emit,
                             void *userdata)
{
        c->private_iface = iface;
        c->private_emit = emit;
        c->private_userdata = userdata;
}

void bus_changes_emit(struct bus_changes *c)
{
        for (size_t i = 0; i < c->n_marks; i++) {
                const struct change *m = &c->marks[i];
                const char *names[sizeof(unsigned) * 8 + 1];
                size_t n = 0;
                for (unsigned bit = 0; bit < sizeof(unsigned) * 8; bit++)
                        if (m->mask & (1u << bit))
                                names[n++] = m->names[bit];
                names[n] = NULL;
                if (c->private_emit && streq(m->iface, c->private_iface)) {
                        c->private_emit(m->path, (char **) names, c->private_userdata);
                        continue;
                }
                int r =
                    sd_bus_emit_properties_changed_strv(c->bus, m->path, m->iface, (char **) names);
                if (r < 0)
                        log_debug("cannot announce the change of %s: %s", m->path, strerror(-r));
        }
        drop_marks(c);
        sd_event_source_set_enabled(c->defer, SD_EVENT_OFF);
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
