/* Named errors on the bus: the D-Bus error name of a MAPI code, and a message
 * that starts with the code's name and value (docs/bus-api.md, "Errors"). */
#pragma once

#include <systemd/sd-bus.h>

#include "mapi-error.h"

/* Sets *error and returns the negative errno sd-bus method handlers return. */
int bus_error_mapi(sd_bus_error *error, enum mapi_error code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The store's negative errno as a bus error (disk full, read-only, ...). */
int bus_error_store(sd_bus_error *error, int r, const char *what);
