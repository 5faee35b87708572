/* NetworkManager's view of the network, read on the loop: the name's owner
 * (it may come and go), its properties when it appears, and its
 * PropertiesChanged. No call blocks; nothing is polled. */
#include "nmwatch.h"

#include <inttypes.h>

#include "log.h"

#define NM_NAME  "org.freedesktop.NetworkManager"
#define NM_PATH  "/org/freedesktop/NetworkManager"
#define NM_IFACE "org.freedesktop.NetworkManager"

/* NMConnectivityState and NMState, as NetworkManager's D-Bus API numbers them. */
#define NM_CONNECTIVITY_UNKNOWN  0
#define NM_CONNECTIVITY_NONE     1
#define NM_STATE_UNKNOWN         0
#define NM_STATE_CONNECTED_LOCAL 50

/* NetworkManager takes its name before it shows its object: GetAll is
 * asked again after 0.1 s, 0.2 s, ... (8 times, 12.7 s in all). */
#define ASK_AGAIN_FIRST_USEC (100 * USEC_PER_MSEC)
#define ASK_AGAIN_TIMES      8

struct nmwatch {
        sd_bus *bus;
        sd_bus_slot *owner_slot, *changed_slot, *get_slot;
        sd_event_source *ask_again;
        unsigned asked; /* GetAll calls since the name got its owner */
        nmwatch_changed_t changed;
        void *userdata;
        bool present;
        uint32_t connectivity, state;
        bool offline; /* the last answer told */
};

/* Offline when NetworkManager says there is no connectivity, or, while it
 * does not know (its check is off), when it is not connected at all. */
static void tell(struct nmwatch *w)
{
        bool offline =
            w->present && (w->connectivity == NM_CONNECTIVITY_NONE ||
                           (w->connectivity == NM_CONNECTIVITY_UNKNOWN &&
                            w->state != NM_STATE_UNKNOWN && w->state < NM_STATE_CONNECTED_LOCAL));
        if (offline == w->offline)
                return;
        w->offline = offline;
        log_notice("NetworkManager says the machine is %s (state %" PRIu32 ", connectivity %" PRIu32
                   ")",
                   offline ? "offline" : "online", w->state, w->connectivity);
        w->changed(offline, w->userdata);
}

/* Reads Connectivity and State from an a{sv}; the others are skipped. */
static int read_properties(struct nmwatch *w, sd_bus_message *m)
{
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                uint32_t *field = streq(name, "Connectivity") ? &w->connectivity
                                  : streq(name, "State")      ? &w->state
                                                              : NULL;
                if (field)
                        r = sd_bus_message_read(m, "v", "u", field);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int ask_again_cb(sd_event_source *s, uint64_t usec, void *userdata);

static int get_all_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct nmwatch *w = userdata;
        w->get_slot = sd_bus_slot_unref(w->get_slot);
        if (sd_bus_message_is_method_error(reply, "org.freedesktop.DBus.Error.UnknownMethod") ||
            sd_bus_message_is_method_error(reply, "org.freedesktop.DBus.Error.UnknownObject")) {
                /* Its name is there, its object not yet. */
                if (w->asked < ASK_AGAIN_TIMES) {
                        uint64_t now = 0;
                        (void) sd_event_now(sd_bus_get_event(w->bus), CLOCK_MONOTONIC, &now);
                        w->ask_again = sd_event_source_disable_unref(w->ask_again);
                        (void) sd_event_add_time(
                            sd_bus_get_event(w->bus), &w->ask_again, CLOCK_MONOTONIC,
                            now + (ASK_AGAIN_FIRST_USEC << (w->asked - 1)), 0, ask_again_cb, w);
                }
                return 0;
        }
        if (sd_bus_message_is_method_error(reply, NULL))
                return 0; /* not there, or gone again */
        if (read_properties(w, reply) < 0) {
                log_debug("cannot read NetworkManager's properties");
                return 0;
        }
        w->present = true;
        tell(w);
        return 0;
}

static void ask(struct nmwatch *w)
{
        w->asked++;
        w->get_slot = sd_bus_slot_unref(w->get_slot);
        int r = sd_bus_call_method_async(w->bus, &w->get_slot, NM_NAME, NM_PATH,
                                         "org.freedesktop.DBus.Properties", "GetAll", get_all_reply,
                                         w, "s", NM_IFACE);
        if (r < 0)
                log_debug("cannot ask NetworkManager: %s", strerror(-r));
}

static int ask_again_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct nmwatch *w = userdata;
        w->ask_again = sd_event_source_disable_unref(w->ask_again);
        ask(w);
        return 0;
}

static int owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct nmwatch *w = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        w->present = false;
        w->connectivity = NM_CONNECTIVITY_UNKNOWN;
        w->state = NM_STATE_UNKNOWN;
        w->asked = 0;
        w->ask_again = sd_event_source_disable_unref(w->ask_again);
        if (*new_owner)
                ask(w); /* present once it answered */
        else
                w->get_slot = sd_bus_slot_unref(w->get_slot);
        tell(w);
        return 0;
}

static int properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct nmwatch *w = userdata;
        const char *iface;
        if (!w->present || sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, NM_IFACE))
                return 0;
        if (read_properties(w, m) >= 0)
                tell(w);
        return 0;
}

int nmwatch_new(sd_bus *bus, nmwatch_changed_t changed, void *userdata, struct nmwatch **ret)
{
        struct nmwatch *w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->bus = sd_bus_ref(bus);
        w->changed = changed;
        w->userdata = userdata;
        /* Only NetworkManager's name: a system bus changes owners often. */
        int r = sd_bus_add_match_async(bus, &w->owner_slot,
                                       "type='signal',sender='org.freedesktop.DBus',"
                                       "path='/org/freedesktop/DBus',"
                                       "interface='org.freedesktop.DBus',"
                                       "member='NameOwnerChanged',arg0='" NM_NAME "'",
                                       owner_changed, NULL, w);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &w->changed_slot, NM_NAME, NM_PATH,
                                              "org.freedesktop.DBus.Properties",
                                              "PropertiesChanged", properties_changed, NULL, w);
        if (r < 0) {
                nmwatch_free(w);
                return r;
        }
        /* Whoever owns the name now answers, or the call fails: not there. */
        ask(w);
        *ret = w;
        return 0;
}

struct nmwatch *nmwatch_free(struct nmwatch *w)
{
        if (!w)
                return NULL;
        sd_bus_slot_unref(w->owner_slot);
        sd_bus_slot_unref(w->changed_slot);
        sd_bus_slot_unref(w->get_slot);
        sd_event_source_disable_unref(w->ask_again);
        sd_bus_unref(w->bus);
        free(w);
        return NULL;
}
