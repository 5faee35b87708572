/* The daemon: one event loop, one bus connection, one store, and the parts
 * wired together. It is the only place that knows every layer: it hands the
 * transports a listener that passes their reports on to the flush engine
 * and to the bus faces (docs/architecture.md, "Layers"). */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-objects.h"
#include "flush.h"
#include "spool.h"

struct daemon {
        sd_event *event;
        sd_bus *bus;
        bool system_bus;
        char *config_dir;
        char *state_dir;

        struct store *store;
        struct spool *spool;
        struct flushes flushes;
        struct bus_faces faces;
        /* On a session bus: a connection to the system bus, where
         * NetworkManager is (NULL without one). */
        sd_bus *system_bus_for_nm;
};

/* The spool, its flushes and their bus faces, on d->event, d->bus and
 * d->store; takes config. */
int daemon_start(struct daemon *d, struct spool_config *config);
void daemon_done(struct daemon *d);
/* SIGHUP. */
void daemon_reload(struct daemon *d);
