/* Reads the StatusCode property of one object every 10 ms over one bus
 * connection until SIGINT or SIGTERM, then prints how long the reads took:
 * count, p50, p99 and max in milliseconds. Used by tests/bench/flush-vs-postfix
 * to show that a flush never delays a status read.
 * Usage: status-probe OBJECT_PATH */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "mailspool-bus.h"

#define PERIOD_NSEC 10000000L

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        stop = 1;
}

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int compare_doubles(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: %s OBJECT_PATH\n", argv[0]);
                return 2;
        }
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);

        sd_bus *bus = NULL;
        int r = sd_bus_open_user(&bus);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the session bus: %s\n", strerror(-r));
                return 1;
        }
        /* The connection is set up (authentication, Hello) before the first
         * read, which would otherwise count that in its time. */
        const char *unique = NULL;
        r = sd_bus_get_unique_name(bus, &unique);
        if (r < 0) {
                fprintf(stderr, "cannot connect to the session bus: %s\n", strerror(-r));
                return 1;
        }

        size_t n = 0, allocated = 0;
        double *samples = NULL;
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        while (!stop) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                uint32_t code = 0;
                double t0 = now_ms();
                r = sd_bus_get_property_trivial(bus, MAILSPOOL_BUS_NAME, argv[1],
                                                MAILSPOOL_IFACE_STATUS, "StatusCode", &error, 'u',
                                                &code);
                double took = now_ms() - t0;
                if (r < 0 && !stop) {
                        fprintf(stderr, "StatusCode read failed: %s\n",
                                error.message ? error.message : strerror(-r));
                        sd_bus_error_free(&error);
                        return 1;
                }
                sd_bus_error_free(&error);
                if (n == allocated) {
                        allocated = allocated ? allocated * 2 : 4096;
                        double *more = realloc(samples, allocated * sizeof(double));
                        if (!more)
                                return 1;
                        samples = more;
                }
                samples[n++] = took;

                next.tv_nsec += PERIOD_NSEC;
                if (next.tv_nsec >= 1000000000L) {
                        next.tv_nsec -= 1000000000L;
                        next.tv_sec++;
                }
                while (!stop &&
                       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
                        ;
        }

        if (n == 0) {
                printf("reads 0\n");
                return 0;
        }
        qsort(samples, n, sizeof(double), compare_doubles);
        printf("reads %zu p50 %.2f ms p99 %.2f ms max %.2f ms\n", n, samples[n / 2],
               samples[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], samples[n - 1]);
        free(samples);
        sd_bus_flush_close_unref(bus);
        return 0;
}
