/* The daemon's objects on the bus as a whole: the object manager and every
 * face registered at start, and all of it released at the end. */
#pragma once

#include "bus-faces.h"

int bus_faces_init(struct bus_faces *b, sd_bus *bus, sd_event *event, bool system_bus,
                   struct spool *spool, struct flushes *flushes);
void bus_faces_done(struct bus_faces *b);
