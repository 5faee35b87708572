/* Who hears about a message on the system bus. Signals about one user's
 * mail (a message's PropertiesChanged, MessageReceived) are sent, unicast,
 * to the connections of its owner and of privileged users that have called
 * the daemon, never to the whole bus: another user who listens sees none.
 * A connection is known from its first call until it leaves the bus. */
#pragma once

#include <systemd/sd-bus.h>

#include "spool.h"

struct bus_watchers;

/* Watches the calls that reach bus; spool says who is privileged. */
int bus_watchers_new(sd_bus *bus, const struct spool *spool, struct bus_watchers **ret);
struct bus_watchers *bus_watchers_free(struct bus_watchers *w);

/* Builds the signal, once per destination (a sent message cannot be sent
 * again); a negative errno skips that one. */
typedef int (*bus_watchers_build_fn)(sd_bus *bus, sd_bus_message **ret, void *userdata);
/* Sends build's signal to every known connection of owner and of privileged
 * users. */
void bus_watchers_unicast(struct bus_watchers *w, uid_t owner, bus_watchers_build_fn build,
                          void *userdata);
