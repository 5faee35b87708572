#include "bus-read.h"

#include "bus-error.h"

int bus_read_dict(sd_bus_message *m, bus_dict_entry_fn entry, void *userdata, sd_bus_error *error)
{
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;
                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = entry(m, key, userdata, error);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

int bus_enter_variant(sd_bus_message *m, const char *what, const char *key, const char *type,
                      sd_bus_error *error)
{
        int r = sd_bus_message_enter_container(m, 'v', type);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "%s \"%s\" takes a value of type %s", what, key, type);
        return r;
}
