/* Reading what a caller sends: dictionaries of options (a{sv}) and the
 * variants in them, with InvalidArgs that names the key at fault. */
#pragma once

#include <systemd/sd-bus.h>

/* Called for each entry with the message at the entry's variant, which it
 * must read whole; a negative return stops the reading. */
typedef int (*bus_dict_entry_fn)(sd_bus_message *m, const char *key, void *userdata,
                                 sd_bus_error *error);
int bus_read_dict(sd_bus_message *m, bus_dict_entry_fn entry, void *userdata, sd_bus_error *error);
/* Enters the variant of key, which must hold type; what names the kind of
 * key in the error ("option", "filter key"). */
int bus_enter_variant(sd_bus_message *m, const char *what, const char *key, const char *type,
                      sd_bus_error *error);
