/* mailspoold: command line, start-up order, signals and exit codes
 * (docs/bus-api.md, "The daemon's command line"). */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "bus-changes.h"
#include "daemon.h"
#include "log.h"
#include "mailspool-bus.h"

enum {
        EXIT_CLEAN = 0,
        EXIT_BAD_CONFIG = 1,
        EXIT_UNAVAILABLE = 2,
};

struct options {
        bool system_bus;
        char *config_dir;
        char *state_dir;
};

static void help(void)
{
        printf("Usage: mailspoold [--system | --session] [--config-dir DIR] [--state-dir DIR]\n"
               "                  [--log-level LEVEL]\n"
               "\n"
               "The mailspool mail spooler: durable mail queues and transports on D-Bus\n"
               "(bus name " MAILSPOOL_BUS_NAME ").\n"
               "\n"
               "  --system           serve the system bus (default); config /etc/mailspool,\n"
               "                     state /var/lib/mailspool\n"
               "  --session          serve the session bus; config $XDG_CONFIG_HOME/mailspool,\n"
               "                     state $XDG_STATE_HOME/mailspool\n"
               "  --config-dir DIR   read mailspool.conf and transports.d/ from DIR; without it\n"
               "                     one local Maildir transport is used\n"
               "  --state-dir DIR    keep the message store and Maildirs in DIR\n"
               "  --log-level LEVEL  err, warning, notice, info (default) or debug\n"
               "  -h, --help         show this help\n"
               "  --version          show the version\n"
               "\n"
               "Exit status: 0 clean stop, 1 bad configuration, 2 bus or store unavailable.\n");
}

static int xdg_dir(const char *env, const char *fallback, char **ret)
{
        const char *base = getenv(env);
        if (base && base[0] == '/')
                return asprintf(ret, "%s/mailspool", base) < 0 ? -ENOMEM : 0;
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
                return -ENXIO;
        return asprintf(ret, "%s/%s/mailspool", home, fallback) < 0 ? -ENOMEM : 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
        enum { ARG_SYSTEM = 0x100, ARG_SESSION, ARG_CONFIG, ARG_STATE, ARG_LOG, ARG_VERSION };
        static const struct option longopts[] = {
            {"system", no_argument, NULL, ARG_SYSTEM},
            {"session", no_argument, NULL, ARG_SESSION},
            {"config-dir", required_argument, NULL, ARG_CONFIG},
            {"state-dir", required_argument, NULL, ARG_STATE},
            {"log-level", required_argument, NULL, ARG_LOG},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, ARG_VERSION},
            {},
        };
        int c;

        o->system_bus = true;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0)
                switch (c) {
                case ARG_SYSTEM:
                        o->system_bus = true;
                        break;
                case ARG_SESSION:
                        o->system_bus = false;
                        break;
                case ARG_CONFIG:
                        free(o->config_dir);
                        o->config_dir = strdup(optarg);
                        break;
                case ARG_STATE:
                        free(o->state_dir);
                        o->state_dir = strdup(optarg);
                        break;
                case ARG_LOG: {
                        int l = log_level_from_string(optarg);
                        if (l < 0) {
                                fprintf(stderr, "mailspoold: unknown log level \"%s\"\n", optarg);
                                return -EINVAL;
                        }
                        log_max_level = l;
                        break;
                }
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("mailspoold %s\n", MAILSPOOL_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "mailspoold: unexpected argument \"%s\"\n", argv[optind]);
                return -EINVAL;
        }

        int r = 0;
        if (!o->config_dir)
                r = o->system_bus ? ((o->config_dir = strdup("/etc/mailspool")) ? 0 : -ENOMEM)
                                  : xdg_dir("XDG_CONFIG_HOME", ".config", &o->config_dir);
        if (r >= 0 && !o->state_dir)
                r = o->system_bus ? ((o->state_dir = strdup("/var/lib/mailspool")) ? 0 : -ENOMEM)
                                  : xdg_dir("XDG_STATE_HOME", ".local/state", &o->state_dir);
        if (r < 0) {
                fprintf(stderr, "mailspoold: cannot tell the config and state directories: set "
                                "HOME, or pass --config-dir and --state-dir\n");
                return r;
        }
        return 1;
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;
        (void) sd_notify(false, "STOPPING=1");
        spool_stop(d->spool);
        return 0;
}

static int on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        (void) sd_notify(false, "RELOADING=1");
        daemon_reload(d);
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int open_bus(struct daemon *d)
{
        int r = d->system_bus ? sd_bus_open_system(&d->bus) : sd_bus_open_user(&d->bus);
        if (r < 0) {
                log_error("cannot connect to the %s bus: %s", d->system_bus ? "system" : "session",
                          strerror(-r));
                return r;
        }
        /* Calls before transfers and deliveries (bus-changes.h). */
        r = sd_bus_attach_event(d->bus, d->event, BUS_EVENT_PRIORITY);
        if (r < 0)
                log_error("cannot attach to the bus: %s", strerror(-r));
        return r;
}

static int run(struct daemon *d, struct spool_config *config)
{
        int r = sd_event_default(&d->event);
        if (r < 0)
                return EXIT_UNAVAILABLE;

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        /* For the loop's child sources (PasswordCommand=, TokenCommand=). */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        if (sd_event_add_signal(d->event, NULL, SIGTERM, on_terminate, d) < 0 ||
            sd_event_add_signal(d->event, NULL, SIGINT, on_terminate, d) < 0 ||
            sd_event_add_signal(d->event, NULL, SIGHUP, on_reload, d) < 0)
                return EXIT_UNAVAILABLE;

        r = mkdir_p(d->state_dir, 0700);
        if (r < 0) {
                log_error("cannot create the state directory %s: %s", d->state_dir, strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        _cleanup_free_ char *db = NULL;
        if (asprintf(&db, "%s/spool.db", d->state_dir) < 0)
                return EXIT_UNAVAILABLE;
        r = store_open(db, &d->store);
        if (r < 0) {
                log_error("cannot open the message store %s: %s", db, strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        unsigned requeued = 0;
        r = store_recover(d->store, &requeued);
        if (r < 0) {
                log_error("cannot recover the message store %s: %s", db, strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        if (requeued > 0)
                log_notice("%u message%s caught in transit by the last stop go out again", requeued,
                           requeued == 1 ? "" : "s");

        if (open_bus(d) < 0)
                return EXIT_UNAVAILABLE;
        r = daemon_start(d, config);
        if (r < 0)
                return r == -EOPNOTSUPP ? EXIT_BAD_CONFIG : EXIT_UNAVAILABLE;

        r = sd_bus_request_name(d->bus, MAILSPOOL_BUS_NAME, 0);
        if (r < 0) {
                log_error("cannot own the bus name %s: %s", MAILSPOOL_BUS_NAME, strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        log_notice("mailspoold %s serving %s on the %s bus (%zu transport%s, state in %s)",
                   MAILSPOOL_VERSION, MAILSPOOL_BUS_NAME, d->system_bus ? "system" : "session",
                   d->spool->n_transports, d->spool->n_transports == 1 ? "" : "s", d->state_dir);
        (void) sd_notify(false, "READY=1\nSTATUS=Serving " MAILSPOOL_BUS_NAME);

        r = sd_event_loop(d->event);
        if (r < 0) {
                log_error("event loop failed: %s", strerror(-r));
                return EXIT_UNAVAILABLE;
        }
        log_notice("stopped");
        return EXIT_CLEAN;
}

static void release(struct daemon *d)
{
        daemon_done(d);
        if (d->bus) {
                sd_bus_flush(d->bus);
                sd_bus_flush_close_unref(d->bus);
        }
        store_close(d->store);
        sd_event_unref(d->event);
        free(d->config_dir);
        free(d->state_dir);
}

int main(int argc, char **argv)
{
        /* free() gives the top of the heap back to the system beyond 128 KiB
         * by default; storing each batch of downloaded messages (SQLite's
         * statement and sorting tables among them) then grew and shrank the
         * heap several times per message, each growth faulting in zeroed
         * pages again. spool_heap_settle() trims it every thousand messages. */
        mallopt(M_TRIM_THRESHOLD, 4 << 20);
        /* The units start the daemon with GNUTLS_NO_IMPLICIT_INIT=1: GnuTLS,
         * loaded with libcurl and never used here, then skips setting itself
         * up (0.7 MB). Read as the libraries load, so it has done its work;
         * no program the daemon starts (a SecretCommand) inherits it, as one
         * that relies on GnuTLS setting itself up would fail. */
        unsetenv("GNUTLS_NO_IMPLICIT_INIT");

        struct options o = {};
        int r = parse_args(argc, argv, &o);
        if (r <= 0) {
                free(o.config_dir);
                free(o.state_dir);
                return r == 0 ? EXIT_CLEAN : EXIT_BAD_CONFIG;
        }

        struct daemon d = {
            .system_bus = o.system_bus,
            .config_dir = o.config_dir,
            .state_dir = o.state_dir,
        };
        _cleanup_free_ char *error = NULL;
        struct spool_config config = {};
        r = config_load(d.config_dir, d.state_dir, !d.system_bus, &config, &error);
        if (r < 0) {
                log_error("bad configuration: %s", error ? error : strerror(-r));
                free(d.config_dir);
                free(d.state_dir);
                return EXIT_BAD_CONFIG;
        }
        if (config.builtin)
                log_info("no configuration in %s: using one local Maildir transport", d.config_dir);

        int code = run(&d, &config);
        spool_config_clear(&config); /* when run() did not get as far as taking it */
        release(&d);
        return code;
}
