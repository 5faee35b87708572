/* A mail program's ear, for the tests of a shared machine: connects to the
 * system bus, calls Spooler.ListMessages once (so that the daemon knows this
 * connection and its user), prints "READY", then dumps every signal it
 * receives to stdout until it is killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "mailspool-bus.h"

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        (void) sd_bus_message_dump(m, stdout, SD_BUS_MESSAGE_DUMP_WITH_HEADER);
        fflush(stdout);
        return 0;
}

int main(void)
{
        sd_bus *bus = NULL;
        sd_bus_message *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_add_match(bus, NULL, "type='signal'", on_signal, NULL);
        if (r >= 0)
                r = sd_bus_call_method(bus, MAILSPOOL_BUS_NAME, MAILSPOOL_SPOOLER_PATH,
                                       MAILSPOOL_IFACE_SPOOLER, "ListMessages", &error, &reply,
                                       "a{sv}", 0);
        if (r < 0) {
                fprintf(stderr, "bus-listen: %s\n", error.message ? error.message : strerror(-r));
                return 1;
        }
        sd_bus_message_unref(reply);
        printf("READY\n");
        fflush(stdout);
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return 1;
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        return 1;
        }
}
