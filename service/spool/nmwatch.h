/* What NetworkManager says of the machine's connectivity, when it is on the
 * system bus: its Connectivity, or (while that is unknown) its State.
 * Besides the kernel's routes (netwatch.h): NetworkManager knows when a
 * network is there but leads nowhere. */
#pragma once

#include <systemd/sd-bus.h>

#include "util.h"

struct nmwatch;

/* Called when the answer changes: offline is true while NetworkManager is on
 * the bus and says the machine has no connectivity. */
typedef void (*nmwatch_changed_t)(bool offline, void *userdata);

/* Watches on bus, a connection to the system bus attached to the loop. The
 * first answer comes by the callback too, once NetworkManager answered (if
 * it says the machine is offline). */
int nmwatch_new(sd_bus *bus, nmwatch_changed_t changed, void *userdata, struct nmwatch **ret);
struct nmwatch *nmwatch_free(struct nmwatch *w);
