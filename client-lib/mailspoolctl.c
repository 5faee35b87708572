/* mailspoolctl: the spooler for a person or a script, on libmailspool.
 * Exit codes (also in --help and mailspoolctl(1)) let a script tell a busy
 * spooler from a transport that cannot do what was asked. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-import.h"
#include "ctl-output.h"
#include "ctl-time.h"
#include "mailspool.h"

enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1,
        EXIT_USAGE = 2,
        EXIT_NOT_FOUND = 3,
        EXIT_ACCESS = 4,
        EXIT_BUSY = 5,
        EXIT_NO_SUPPORT = 6,
        EXIT_NETWORK = 7,
        EXIT_LOGON = 8,
        EXIT_CANCELLED = 9,
        EXIT_NOT_QUEUED = 10,
        EXIT_UNREACHABLE = 11,
        EXIT_TRANSPORT_ERRORS = 12,
        EXIT_CERTIFICATE = 13,
};

static struct {
        enum mailspool_bus bus;
        bool json, quiet, async, force, no_fallback;
        uint32_t directions;
        uint32_t validate_flags;
        const char *state, *transport, *direction, *config_dir;
} arg = {.bus = MAILSPOOL_BUS_DEFAULT};

static void help(void)
{
        printf("Usage: mailspoolctl [OPTIONS] COMMAND [ARGUMENTS]\n"
               "\n"
               "Show and drive the mail spooler mailspoold over D-Bus.\n"
               "\n"
               "Commands:\n"
               "  status                  the status table: the spooler and every transport\n"
               "  flush [TRANSPORT]       send and receive now (every transport, or one)\n"
               "  cancel [TRANSPORT]      stop a running flush\n"
               "  list                    your messages (every message for an admin)\n"
               "  show MESSAGE            one message's properties (number or object path)\n"
               "  abort MESSAGE...        withdraw messages not yet sent\n"
               "  hold MESSAGE...         keep messages from being sent until released\n"
               "  release MESSAGE...      queue held or scheduled messages now\n"
               "  schedule MESSAGE TIME   send a message no earlier than TIME\n"
               "                          (\"2026-12-01 09:00\", \"+2h\", \"@1800000000\")\n"
               "  validate [TRANSPORT]    connect, log on and report (no TRANSPORT: spooler)\n"
               "  reload                  re-read the configuration (admin)\n"
               "  import-accounts         make transports of your GNOME Online Accounts mail\n"
               "                          accounts (for mailspoold --session)\n"
               "\n"
               "Options:\n"
               "      --system            talk to the system service (default, or $MAILSPOOL_BUS)\n"
               "      --user              talk to the service on your session bus\n"
               "      --json              status, list, show: print JSON\n"
               "  -q, --quiet             flush: no progress, no summary (FLUSH_NO_UI)\n"
               "      --upload            flush: only send (default: send and receive)\n"
               "      --download          flush: only receive\n"
               "      --async             flush: return once started (FLUSH_ASYNC_OK)\n"
               "      --force             flush: also transports marked Asynchronous\n"
               "      --no-fallback       flush TRANSPORT: fail with NoSupport instead of\n"
               "                          asking the spooler to flush that transport\n"
               "      --state=STATE       list: only messages in STATE (queued, held,\n"
               "                          scheduled, deferred, ...)\n"
               "      --transport=ID      list: only messages of this transport\n"
               "      --inbound, --outbound  list: one direction\n"
               "      --connect           validate: bring the transport online\n"
               "      --disconnect        validate: take the transport offline\n"
               "      --config-dir=DIR    import-accounts: the session daemon's configuration\n"
               "                          (default $XDG_CONFIG_HOME/mailspool)\n"
               "  -h, --help              show this help\n"
               "      --version           show the version\n"
               "\n"
               "Exit status: 0 done; 1 failed; 2 bad usage or arguments; 3 no such transport\n"
               "or message; 4 access denied; 5 busy; 6 not supported; 7 network error;\n"
               "8 logon failed; 9 cancelled; 10 message no longer waiting to be sent;\n"
               "11 the spooler cannot be reached; 12 the flush ran but a transport reported\n"
               "an error; 13 the server's TLS certificate was not accepted.\n");
}

/* What a NetworkError's message holds when the server's certificate was not
 * accepted (mailspoold(8), TLS). */
#define CERTIFICATE_MARK ": certificate: "

/* One error report on stderr, and the exit code for it. */
static int fail(mailspool *m, int r, const char *what)
{
        const char *message = m ? mailspool_error_message(m) : NULL;
        const char *name = m ? mailspool_error_name(m) : NULL;
        fprintf(stderr, "mailspoolctl: %s: ", what);
        print_text(stderr, message ? message : strerror(-r));
        fputc('\n', stderr);
        if (name && (strcmp(name, "org.freedesktop.DBus.Error.ServiceUnknown") == 0 ||
                     strcmp(name, "org.freedesktop.DBus.Error.NameHasNoOwner") == 0 ||
                     strcmp(name, "org.freedesktop.DBus.Error.NoReply") == 0))
                return EXIT_UNREACHABLE;
        if (name && (strcmp(name, "org.freedesktop.DBus.Error.UnknownObject") == 0 ||
                     strcmp(name, "org.freedesktop.DBus.Error.UnknownMethod") == 0))
                return EXIT_NOT_FOUND;
        switch (-r) {
        case EBUSY:
                return EXIT_BUSY;
        case EOPNOTSUPP:
                return EXIT_NO_SUPPORT;
        case ENOENT:
                return EXIT_NOT_FOUND;
        case EKEYREJECTED:
                return EXIT_LOGON;
        case EHOSTUNREACH:
                /* The daemon's words say when it is the server's certificate. */
                return message && strstr(message, CERTIFICATE_MARK) ? EXIT_CERTIFICATE
                                                                    : EXIT_NETWORK;
        case ECANCELED:
                return EXIT_CANCELLED;
        case EALREADY:
                return EXIT_NOT_QUEUED;
        case EACCES:
        case EPERM:
                return EXIT_ACCESS;
        case EINVAL:
        case ENXIO:
                return EXIT_USAGE;
        case ECONNREFUSED:
        case ENOMEDIUM:
                return EXIT_UNREACHABLE;
        default:
                return EXIT_FAILED;
        }
}

static int cmd_status(mailspool *m, int argc, char **argv)
{
        struct mailspool_status_row *rows = NULL;
        int n = mailspool_status_table(m, &rows);
        if (n < 0)
                return fail(m, n, "cannot read the status table");

        if (arg.json) {
                printf("[");
                for (int i = 0; i < n; i++) {
                        const struct mailspool_status_row *r = &rows[i];
                        char words[256];
                        status_code_words(r->status_code, words, sizeof(words));
                        printf("%s{\"id\":", i ? "," : "");
                        json_print_string(stdout, r->id);
                        json_print_member(stdout, "path", r->path);
                        printf(",\"row_id\":%" PRIu32 ",\"resource_type\":%" PRIu32
                               ",\"resource_methods\":%" PRIu32 ",\"resource_flags\":%" PRIu32
                               ",\"status_code\":%" PRIu32,
                               r->row_id, r->resource_type, r->resource_methods, r->resource_flags,
                               r->status_code);
                        json_print_member(stdout, "status", words);
                        json_print_member(stdout, "display_name", r->display_name);
                        json_print_member(stdout, "provider", r->provider_display);
                        json_print_member(stdout, "status_string", r->status_string);
                        json_print_member(stdout, "identity", r->identity_display);
                        printf("}");
                }
                printf("]\n");
        } else {
                static const char *const headers[] = {"TRANSPORT", "PROVIDER", "NAME",
                                                      "STATUS",    "IDENTITY", "STATE"};
                struct table *t = table_new(6, headers);
                for (int i = 0; t && i < n; i++) {
                        const struct mailspool_status_row *r = &rows[i];
                        char words[256];
                        status_code_words(r->status_code, words, sizeof(words));
                        const char *cells[] = {
                            r->resource_type == MAILSPOOL_RESOURCE_SPOOLER ? "(spooler)" : r->id,
                            r->provider_display,
                            r->display_name,
                            r->status_string,
                            r->identity_display[0] ? r->identity_display : "-",
                            words};
                        if (table_add_row(t, cells) < 0) {
                                table_free(t);
                                t = NULL;
                        }
                }
                if (!t) {
                        mailspool_status_rows_free(rows, (size_t) n);
                        return fail(NULL, -ENOMEM, "cannot print the table");
                }
                table_print(t, stdout);
                table_free(t);
        }
        mailspool_status_rows_free(rows, (size_t) n);
        return EXIT_OK;
}

static void on_progress(const char *transport, uint32_t done, uint32_t total, const char *text,
                        void *userdata)
{
        progress_report(userdata, transport, done, total, text);
}

/* "      Subject: text", the label right-aligned, the text made safe. */
static void show_field(const char *label, const char *value)
{
        printf("%13s%s ", label, *label ? ":" : " ");
        print_text(stdout, value);
        putchar('\n');
}

static int print_summary(const struct mailspool_flush_summary *s)
{
        if (!arg.quiet)
                printf("%" PRIu32 " sent, %" PRIu32 " deferred, %" PRIu32 " failed, %" PRIu32
                       " received\n",
                       s->sent, s->deferred, s->failed, s->received);
        for (char **p = s->skipped; p && *p; p++) {
                char *id = NULL;
                if (!arg.quiet)
                        printf("skipped %s (Asynchronous; use --force)\n",
                               mailspool_transport_id(*p, &id) == 0 ? id : *p);
                free(id);
        }
        for (size_t i = 0; i < s->n_errors; i++) {
                char *id = NULL;
                fprintf(stderr, "mailspoolctl: %s: ",
                        mailspool_transport_id(s->errors[i].transport, &id) == 0
                            ? id
                            : s->errors[i].transport);
                print_text(stderr, s->errors[i].message);
                fputc('\n', stderr);
                free(id);
        }
        return s->n_errors ? EXIT_TRANSPORT_ERRORS : EXIT_OK;
}

static int cmd_flush(mailspool *m, int argc, char **argv)
{
        if (argc > 2)
                return fprintf(stderr, "mailspoolctl: flush takes at most one transport\n"),
                       EXIT_USAGE;
        const char *transport = argc == 2 ? argv[1] : NULL;
        uint32_t flags =
            arg.directions ? arg.directions : MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_DOWNLOAD;
        if (arg.quiet)
                flags |= MAILSPOOL_FLUSH_NO_UI;
        if (arg.force)
                flags |= MAILSPOOL_FLUSH_FORCE;
        if (arg.async)
                flags |= MAILSPOOL_FLUSH_ASYNC_OK;

        struct progress p;
        progress_init(&p, stdout);
        struct mailspool_flush_summary s;
        /* The seed's order: a transport flushes itself; one that cannot
         * (NoSupport) is flushed by the spooler. ASYNC_OK is the spooler's. */
        bool via_spooler = transport && arg.async;
        int r = mailspool_flush(m, transport, via_spooler, flags, on_progress, &p, &s);
        if (r == -EOPNOTSUPP && transport && !via_spooler && !arg.no_fallback) {
                if (!arg.quiet)
                        printf("%s does not flush itself; the spooler flushes it\n", transport);
                r = mailspool_flush(m, transport, true, flags, on_progress, &p, &s);
        }
        progress_end(&p);
        if (r < 0)
                return fail(m, r, transport ? transport : "flush");
        if (arg.async) {
                if (!arg.quiet)
                        printf("flush started\n");
                mailspool_flush_summary_clear(&s);
                return EXIT_OK;
        }
        int code = print_summary(&s);
        mailspool_flush_summary_clear(&s);
        return code;
}

static int cmd_cancel(mailspool *m, int argc, char **argv)
{
        int r = mailspool_cancel_flush(m, argc > 1 ? argv[1] : NULL);
        return r < 0 ? fail(m, r, "cannot cancel") : EXIT_OK;
}

static void format_time(uint64_t usec, char *buf, size_t size)
{
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (usec == 0 || !localtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm))
                snprintf(buf, size, "-");
}

/* What ListMessages does not carry, from each message's properties. */
struct list_extra {
        bool possibly_delivered;
        uint64_t deferred_until;
};

/* A message that left the store since ListMessages keeps the defaults. */
static void list_extra_read(mailspool *m, const struct mailspool_message_entry *e,
                            struct list_extra *x)
{
        *x = (struct list_extra){0};
        /* Only these states can have either (a possibly delivered message is
         * deferred or held until it is sent again): a long queue of queued
         * or sent mail costs no call per message. */
        if (strcmp(e->state, "scheduled") != 0 && strcmp(e->state, "deferred") != 0 &&
            strcmp(e->state, "held") != 0)
                return;
        struct mailspool_message msg;
        if (mailspool_get_message(m, e->path, &msg) < 0)
                return;
        x->possibly_delivered = msg.possibly_delivered;
        x->deferred_until = msg.deferred_until;
        mailspool_message_clear(&msg);
}

/* What list prints after its table when a STATE is marked. */
#define POSSIBLY_DELIVERED_NOTE                                                                    \
        "!: possibly delivered: the connection broke after the final \".\" and before the "        \
        "server's reply\n"

static int cmd_list(mailspool *m, int argc, char **argv)
{
        struct mailspool_message_filter filter = {arg.state, arg.transport, arg.direction};
        struct mailspool_message_entry *e = NULL;
        int n = mailspool_list_messages(m, &filter, &e);
        if (n < 0)
                return fail(m, n, "cannot list messages");
        struct list_extra *extra = calloc((size_t) n + 1, sizeof(*extra));
        if (!extra) {
                mailspool_message_entries_free(e, (size_t) n);
                return fail(NULL, -ENOMEM, "cannot list messages");
        }
        for (int i = 0; i < n; i++)
                list_extra_read(m, &e[i], &extra[i]);
        if (arg.json) {
                printf("[");
                for (int i = 0; i < n; i++) {
                        printf("%s{\"path\":", i ? "," : "");
                        json_print_string(stdout, e[i].path);
                        json_print_member(stdout, "state", e[i].state);
                        json_print_member(stdout, "transport", e[i].transport);
                        json_print_member(stdout, "subject", e[i].subject);
                        printf(",\"size\":%" PRIu32 ",\"attempts\":%" PRIu32
                               ",\"submitted_usec\":%" PRIu64 ",\"deferred_until_usec\":%" PRIu64
                               ",\"possibly_delivered\":%s}",
                               e[i].size, e[i].attempts, e[i].submitted_usec,
                               extra[i].deferred_until,
                               extra[i].possibly_delivered ? "true" : "false");
                }
                printf("]\n");
        } else {
                static const char *const headers[] = {"ID",    "STATE",     "TRANSPORT", "SIZE",
                                                      "TRIES", "SUBMITTED", "SCHEDULED", "SUBJECT"};
                struct table *t = table_new(8, headers);
                bool marked = false;
                for (int i = 0; t && i < n; i++) {
                        const char *slash = strrchr(e[i].path, '/');
                        char state[64], size[32], tries[16], when[32], due[32];
                        /* "deferred!": it may have been delivered (the note below). */
                        snprintf(state, sizeof(state), "%s%s", e[i].state,
                                 extra[i].possibly_delivered ? "!" : "");
                        marked = marked || extra[i].possibly_delivered;
                        snprintf(size, sizeof(size), "%" PRIu32, e[i].size);
                        snprintf(tries, sizeof(tries), "%" PRIu32, e[i].attempts);
                        format_time(e[i].submitted_usec, when, sizeof(when));
                        format_time(extra[i].deferred_until, due, sizeof(due));
                        const char *cells[] = {slash ? slash + 1 : e[i].path,
                                               state,
                                               e[i].transport,
                                               size,
                                               tries,
                                               when,
                                               due,
                                               e[i].subject};
                        if (table_add_row(t, cells) < 0) {
                                table_free(t);
                                t = NULL;
                        }
                }
                if (t)
                        table_print(t, stdout);
                table_free(t);
                if (!t) {
                        free(extra);
                        mailspool_message_entries_free(e, (size_t) n);
                        return fail(NULL, -ENOMEM, "cannot print the list");
                }
                if (marked)
                        printf("\n" POSSIBLY_DELIVERED_NOTE);
        }
        free(extra);
        mailspool_message_entries_free(e, (size_t) n);
        return EXIT_OK;
}

static int cmd_show(mailspool *m, int argc, char **argv)
{
        if (argc != 2)
                return fprintf(stderr, "mailspoolctl: show takes one message\n"), EXIT_USAGE;
        struct mailspool_message msg;
        int r = mailspool_get_message(m, argv[1], &msg);
        if (r < 0)
                return fail(m, r, argv[1]);
        char submitted[32], next[32], due[32], expiry[32];
        format_time(msg.submitted_usec, submitted, sizeof(submitted));
        format_time(msg.next_attempt_usec, next, sizeof(next));
        format_time(msg.deferred_until, due, sizeof(due));
        format_time(msg.expiry_time, expiry, sizeof(expiry));
        if (arg.json) {
                printf("{\"path\":");
                json_print_string(stdout, msg.path);
                printf(",\"id\":%" PRIu64, msg.id);
                json_print_member(stdout, "direction", msg.direction);
                json_print_member(stdout, "state", msg.state);
                json_print_member(stdout, "transport", msg.transport);
                json_print_member(stdout, "sender", msg.sender);
                printf(",\"recipients\":[");
                for (char **p = msg.recipients; p && *p; p++) {
                        printf("%s", p == msg.recipients ? "" : ",");
                        json_print_string(stdout, *p);
                }
                printf("]");
                json_print_member(stdout, "subject", msg.subject);
                json_print_member(stdout, "message_id", msg.message_id);
                printf(",\"size\":%" PRIu64 ",\"submitted_usec\":%" PRIu64 ",\"attempts\":%" PRIu32
                       ",\"next_attempt_usec\":%" PRIu64 ",\"owner\":%" PRIu32,
                       msg.size, msg.submitted_usec, msg.attempts, msg.next_attempt_usec,
                       msg.owner);
                json_print_member(stdout, "last_error", msg.last_error);
                json_print_member(stdout, "file", msg.file);
                printf(",\"on_demand\":%s,\"deferred_until_usec\":%" PRIu64
                       ",\"expiry_time_usec\":%" PRIu64
                       ",\"possibly_delivered\":%s,\"delay_reported\":%s",
                       msg.on_demand ? "true" : "false", msg.deferred_until, msg.expiry_time,
                       msg.possibly_delivered ? "true" : "false",
                       msg.delay_reported ? "true" : "false");
                json_print_member(stdout, "sent_copy", msg.sent_copy ? msg.sent_copy : "");
                json_print_member(stdout, "sent_copy_error",
                                  msg.sent_copy_error ? msg.sent_copy_error : "");
                printf("}\n");
        } else {
                show_field("Message", msg.path);
                show_field("Direction", msg.direction);
                show_field("State", msg.state);
                show_field("Transport", msg.transport);
                show_field("Sender", msg.sender);
                for (char **p = msg.recipients; p && *p; p++)
                        show_field(p == msg.recipients ? "Recipients" : "", *p);
                show_field("Subject", msg.subject);
                show_field("Message-ID", msg.message_id);
                printf("         Size: %" PRIu64 " bytes\n", msg.size);
                printf("    Submitted: %s\n", submitted);
                printf("     Attempts: %" PRIu32 "\n", msg.attempts);
                printf(" Next attempt: %s\n", next);
                printf("Scheduled for: %s\n", due);
                printf("      Expires: %s\n", expiry);
                printf("    On demand: %s\n", msg.on_demand ? "yes" : "no");
                printf("        Owner: %" PRIu32 "\n", msg.owner);
                if (msg.last_error && *msg.last_error)
                        show_field("Last error", msg.last_error);
                if (msg.possibly_delivered)
                        printf("      Warning: possibly delivered: the connection broke after the "
                               "final \".\" and before the server's reply\n");
                if (msg.delay_reported)
                        printf(" Delay report: sent to the owner\n");
                if (msg.sent_copy && *msg.sent_copy)
                        show_field("Sent copy", msg.sent_copy);
                if (msg.sent_copy_error && *msg.sent_copy_error)
                        show_field("Copy error", msg.sent_copy_error);
                if (msg.file && *msg.file)
                        show_field("File", msg.file);
        }
        mailspool_message_clear(&msg);
        return EXIT_OK;
}

/* verb on each message; the exit code is that of the last one that failed. */
static int each_message(mailspool *m, int argc, char **argv,
                        int (*call)(mailspool *m, const char *message))
{
        if (argc < 2)
                return fprintf(stderr, "mailspoolctl: %s takes messages\n", argv[0]), EXIT_USAGE;
        int code = EXIT_OK;
        for (int i = 1; i < argc; i++) {
                int r = call(m, argv[i]);
                if (r < 0)
                        code = fail(m, r, argv[i]);
        }
        return code;
}

static int cmd_abort(mailspool *m, int argc, char **argv)
{
        return each_message(m, argc, argv, mailspool_abort);
}

static int cmd_hold(mailspool *m, int argc, char **argv)
{
        return each_message(m, argc, argv, mailspool_hold);
}

static int cmd_release(mailspool *m, int argc, char **argv)
{
        return each_message(m, argc, argv, mailspool_release);
}

static int cmd_schedule(mailspool *m, int argc, char **argv)
{
        if (argc != 3)
                return fprintf(stderr, "mailspoolctl: schedule takes a message and a time\n"),
                       EXIT_USAGE;
        struct timespec now;
        uint64_t when;
        if (clock_gettime(CLOCK_REALTIME, &now) < 0 ||
            ctl_time_parse(argv[2], (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000,
                           &when) < 0) {
                fprintf(stderr, "mailspoolctl: schedule: cannot read the time \"");
                print_text(stderr, argv[2]);
                fprintf(stderr, "\" (try \"2026-12-01 09:00\", \"+2h\", \"@1800000000\"; see "
                                "systemd.time(7))\n");
                return EXIT_USAGE;
        }
        int r = mailspool_reschedule(m, argv[1], when);
        return r < 0 ? fail(m, r, argv[1]) : EXIT_OK;
}

static int cmd_validate(mailspool *m, int argc, char **argv)
{
        if (argc > 2)
                return fprintf(stderr, "mailspoolctl: validate takes at most one transport\n"),
                       EXIT_USAGE;
        int r = mailspool_validate(m, argc == 2 ? argv[1] : NULL, arg.validate_flags);
        if (r < 0)
                return fail(m, r, argc == 2 ? argv[1] : "spooler");
        if (argc < 2 || arg.quiet || arg.validate_flags)
                return EXIT_OK;
        /* What the check logged on with: the mechanism and the secret's source. */
        char *source = NULL, *mechanism = NULL;
        r = mailspool_transport_logon(m, argv[1], &source, &mechanism);
        if (r < 0)
                return fail(m, r, argv[1]);
        if (arg.json) {
                printf("{\"transport\":");
                json_print_string(stdout, argv[1]);
                json_print_member(stdout, "logon_mechanism", mechanism);
                json_print_member(stdout, "secret_source", source);
                printf("}\n");
        } else {
                print_text(stdout, argv[1]);
                if (mechanism[0]) {
                        printf(": logged on with ");
                        print_text(stdout, mechanism);
                } else
                        printf(": ok");
                if (source[0]) {
                        printf(", secret from ");
                        print_text(stdout, source);
                }
                printf("\n");
        }
        free(source);
        free(mechanism);
        return EXIT_OK;
}

/* Writes the files, then has the session daemon read them, if it runs. */
static int cmd_import_accounts(mailspool *m, int argc, char **argv)
{
        char *dir = NULL;
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (!arg.config_dir && (xdg && xdg[0] == '/' ? asprintf(&dir, "%s/mailspool", xdg)
                                : home               ? asprintf(&dir, "%s/.config/mailspool", home)
                                                     : -1) < 0)
                return fprintf(stderr, "mailspoolctl: no $HOME: give --config-dir\n"), EXIT_USAGE;
        int r = ctl_import_accounts(arg.config_dir ? arg.config_dir : dir, stdout);
        free(dir);
        if (r <= 0)
                return r < 0 ? EXIT_FAILED : EXIT_OK;
        mailspool *session = NULL;
        if (mailspool_open(MAILSPOOL_BUS_SESSION, &session) >= 0 &&
            mailspool_validate(session, NULL, MAILSPOOL_VALIDATE_CONFIG_CHANGED) >= 0)
                printf("mailspoold on the session bus has read them\n");
        else
                printf("they take effect when mailspoold --session starts (or mailspoolctl "
                       "--user reload)\n");
        mailspool_close(session);
        return EXIT_OK;
}

static int cmd_reload(mailspool *m, int argc, char **argv)
{
        int r = mailspool_validate(m, NULL, MAILSPOOL_VALIDATE_CONFIG_CHANGED);
        return r < 0 ? fail(m, r, "cannot reload") : EXIT_OK;
}

static const struct {
        const char *name;
        int (*run)(mailspool *m, int argc, char **argv);
        int max_args;   /* -1: any */
        bool no_daemon; /* run without a connection to mailspoold (m is NULL) */
} commands[] = {
    {"status", cmd_status, 0, false},
    {"flush", cmd_flush, 1, false},
    {"cancel", cmd_cancel, 1, false},
    {"list", cmd_list, 0, false},
    {"show", cmd_show, 1, false},
    /* The methods of a message: Abort, Hold, Release, Reschedule. */
    {"abort", cmd_abort, -1, false},
    {"hold", cmd_hold, -1, false},
    {"release", cmd_release, -1, false},
    {"schedule", cmd_schedule, 2, false},
    {"validate", cmd_validate, 1, false},
    {"reload", cmd_reload, 0, false},
    {"import-accounts", cmd_import_accounts, 0, true},
};

static int parse_args(int argc, char **argv)
{
        enum {
                OPT_SYSTEM = 0x100,
                OPT_USER,
                OPT_JSON,
                OPT_UPLOAD,
                OPT_DOWNLOAD,
                OPT_ASYNC,
                OPT_FORCE,
                OPT_NO_FALLBACK,
                OPT_STATE,
                OPT_TRANSPORT,
                OPT_INBOUND,
                OPT_OUTBOUND,
                OPT_CONNECT,
                OPT_DISCONNECT,
                OPT_VERSION,
                OPT_CONFIG_DIR,
        };
        static const struct option options[] = {
            {"system", no_argument, NULL, OPT_SYSTEM},
            {"user", no_argument, NULL, OPT_USER},
            {"json", no_argument, NULL, OPT_JSON},
            {"quiet", no_argument, NULL, 'q'},
            {"upload", no_argument, NULL, OPT_UPLOAD},
            {"download", no_argument, NULL, OPT_DOWNLOAD},
            {"async", no_argument, NULL, OPT_ASYNC},
            {"force", no_argument, NULL, OPT_FORCE},
            {"no-fallback", no_argument, NULL, OPT_NO_FALLBACK},
            {"state", required_argument, NULL, OPT_STATE},
            {"transport", required_argument, NULL, OPT_TRANSPORT},
            {"inbound", no_argument, NULL, OPT_INBOUND},
            {"outbound", no_argument, NULL, OPT_OUTBOUND},
            {"connect", no_argument, NULL, OPT_CONNECT},
            {"disconnect", no_argument, NULL, OPT_DISCONNECT},
            {"config-dir", required_argument, NULL, OPT_CONFIG_DIR},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, OPT_VERSION},
            {},
        };
        int c;
        while ((c = getopt_long(argc, argv, "qh", options, NULL)) >= 0) {
                switch (c) {
                case OPT_SYSTEM:
                        arg.bus = MAILSPOOL_BUS_SYSTEM;
                        break;
                case OPT_USER:
                        arg.bus = MAILSPOOL_BUS_SESSION;
                        break;
                case OPT_JSON:
                        arg.json = true;
                        break;
                case 'q':
                        arg.quiet = true;
                        break;
                case OPT_UPLOAD:
                        arg.directions |= MAILSPOOL_FLUSH_UPLOAD;
                        break;
                case OPT_DOWNLOAD:
                        arg.directions |= MAILSPOOL_FLUSH_DOWNLOAD;
                        break;
                case OPT_ASYNC:
                        arg.async = true;
                        break;
                case OPT_FORCE:
                        arg.force = true;
                        break;
                case OPT_NO_FALLBACK:
                        arg.no_fallback = true;
                        break;
                case OPT_STATE:
                        arg.state = optarg;
                        break;
                case OPT_TRANSPORT:
                        arg.transport = optarg;
                        break;
                case OPT_INBOUND:
                        arg.direction = "inbound";
                        break;
                case OPT_OUTBOUND:
                        arg.direction = "outbound";
                        break;
                case OPT_CONNECT:
                        arg.validate_flags = MAILSPOOL_VALIDATE_FORCE_CONNECT;
                        break;
                case OPT_DISCONNECT:
                        arg.validate_flags = MAILSPOOL_VALIDATE_FORCE_DISCONNECT;
                        break;
                case OPT_CONFIG_DIR:
                        arg.config_dir = optarg;
                        break;
                case 'h':
                        help();
                        exit(EXIT_OK);
                case OPT_VERSION:
                        printf("mailspoolctl %s\n", MAILSPOOL_VERSION);
                        exit(EXIT_OK);
                default:
                        return -1;
                }
        }
        return optind;
}

int main(int argc, char **argv)
{
        int first = parse_args(argc, argv);
        if (first < 0) {
                fprintf(stderr, "Try 'mailspoolctl --help'.\n");
                return EXIT_USAGE;
        }
        /* getopt_long() moved the options first: "flush work --quiet" works. */
        static char *status_argv[] = {(char *) "status", NULL};
        char **rest = first < argc ? argv + first : status_argv;
        int n = first < argc ? argc - first : 1;
        const char *verb = rest[0];
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(commands[i].name, verb) != 0)
                        continue;
                if (commands[i].max_args >= 0 && n - 1 > commands[i].max_args) {
                        fprintf(stderr, "mailspoolctl: %s: too many arguments\n", verb);
                        return EXIT_USAGE;
                }
                mailspool *m = NULL;
                int r = commands[i].no_daemon ? 0 : mailspool_open(arg.bus, &m);
                if (r < 0) {
                        fprintf(stderr, "mailspoolctl: cannot connect to the bus: %s\n",
                                strerror(-r));
                        return EXIT_UNREACHABLE;
                }
                int code = commands[i].run(m, n, rest);
                mailspool_close(m);
                return code;
        }
        fprintf(stderr, "mailspoolctl: unknown command \"%s\"; try 'mailspoolctl --help'.\n", verb);
        return EXIT_USAGE;
}
