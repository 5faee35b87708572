/* See bus-objects.h. */
#include "bus-objects.h"

#include "log.h"
#include "mailspool-bus.h"

int bus_faces_init(struct bus_faces *b, sd_bus *bus, sd_event *event, bool system_bus,
                   struct spool *spool, struct flushes *flushes)
{
        *b = (struct bus_faces){
            .bus = bus,
            .event = event,
            .system_bus = system_bus,
            .spool = spool,
            .flushes = flushes,
        };
        submit_limits_init(&b->submit_limits);
        int r = bus_changes_new(bus, event, &b->changes);
        if (r >= 0 && system_bus)
                r = bus_watchers_new(bus, spool, &b->watchers);
        if (r >= 0)
                r = sd_bus_add_object_manager(bus, &b->manager_slot, MAILSPOOL_OBJECT_ROOT);
        if (r >= 0)
                r = spooler_dbus_register(b);
        if (r >= 0)
                r = message_dbus_register(b);
        if (r < 0)
                log_error("cannot register the bus objects: %s", strerror(-r));
        return r;
}

void bus_faces_done(struct bus_faces *b)
{
        transport_dbus_remove_all(b, false);
        for (size_t i = 0; i < ELEMENTSOF(b->spooler_slots); i++)
                b->spooler_slots[i] = sd_bus_slot_unref(b->spooler_slots[i]);
        b->message_slot = sd_bus_slot_unref(b->message_slot);
        b->message_enumerator_slot = sd_bus_slot_unref(b->message_enumerator_slot);
        b->manager_slot = sd_bus_slot_unref(b->manager_slot);
        message_dbus_release(b);
        message_dbus_forget_announced(b);
        submit_readers_free(b);
        b->messages_release = sd_event_source_disable_unref(b->messages_release);
        b->changes = bus_changes_free(b->changes);
        b->watchers = bus_watchers_free(b->watchers);
}
