/* Who is calling: the uid the bus vouches for, and whether it may act on
 * everything (docs/bus-api.md, "Access"). */
#pragma once

#include <systemd/sd-bus.h>

#include "spool.h"

int bus_caller_uid(sd_bus_message *m, uid_t *ret);
/* Root or a member of the AdminGroup (in the user database) on the system
 * bus; anyone on a session bus, where the one user owns everything. */
bool bus_caller_is_privileged(const struct spool *spool, bool system_bus, sd_bus_message *m);
