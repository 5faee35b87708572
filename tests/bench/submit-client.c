/* Submits N messages of SIZE bytes with SubmitData, one after the other from
 * one client, and prints the rate. Used by tests/bench/submit-rate. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "mailspool-bus.h"

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *make_message(size_t size, unsigned n)
{
        char *m = malloc(size + 1);
        if (!m)
                return NULL;
        int h = snprintf(m, size,
                         "From: bench@example.org\r\nTo: sink@example.org\r\n"
                         "Subject: bench %u\r\nMessage-ID: <bench-%u@example.org>\r\n\r\n",
                         n, n);
        for (size_t i = (size_t) h; i < size; i++)
                m[i] = (i % 78 == 77) ? '\n' : (char) ('a' + i % 26);
        return m;
}

int main(int argc, char **argv)
{
        unsigned count = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 1000;
        size_t size = argc > 2 ? strtoul(argv[2], NULL, 10) : 4096;
        sd_bus *bus = NULL;
        int r = sd_bus_open_user(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the session bus: %s\n", strerror(-r));
                return 1;
        }

        double start = now_seconds();
        for (unsigned i = 0; i < count; i++) {
                sd_bus_message *m = NULL, *reply = NULL;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char *data = make_message(size, i);
                r = sd_bus_message_new_method_call(bus, &m, MAILSPOOL_BUS_NAME,
                                                   MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_SPOOLER,
                                                   "SubmitData");
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', data, size);
                if (r >= 0)
                        r = sd_bus_message_append(m, "a{sv}", 1, "OnDemand", "b", 1);
                if (r >= 0)
                        r = sd_bus_call(bus, m, 0, &error, &reply);
                free(data);
                sd_bus_message_unref(m);
                sd_bus_message_unref(reply);
                if (r < 0) {
                        fprintf(stderr, "SubmitData %u failed: %s\n", i,
                                error.message ? error.message : strerror(-r));
                        sd_bus_error_free(&error);
                        return 1;
                }
        }
        double elapsed = now_seconds() - start;
        printf("%u messages of %zu bytes in %.3f s: %.0f messages/s\n", count, size, elapsed,
               count / elapsed);
        sd_bus_flush_close_unref(bus);
        return 0;
}
