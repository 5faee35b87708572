/* mailspool-sendmail: what a mail program runs as /usr/sbin/sendmail. The
 * message comes on stdin, goes to mailspoold over the bus, and the exit code
 * is 0 only once the daemon has stored it durably; failures use the exit
 * codes of sysexits.h, so that callers know whether to try again.
 *
 * It takes every option of Postfix's sendmail(1) and of Sendmail's
 * sendmail(8): what has a meaning here is done (-bp lists the queue, -q
 * flushes it, -bs speaks SMTP on stdin and stdout), the rest is accepted and
 * ignored, as mailspool-sendmail(8) lists with the reasons. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "ctl-time.h"
#include "mailspool.h"

/* At most this many recipients in one message (the spooler's limit). */
#define MAX_RECIPIENTS 1000

enum mode {
        MODE_DELIVER, /* -bm, -ba: the message on stdin (the default) */
        MODE_SMTP,    /* -bs: SMTP on stdin and stdout */
        MODE_LIST,    /* -bp: the queue, as mailq shows it */
        MODE_COUNT,   /* -bP: how many messages wait */
        MODE_FLUSH,   /* -q: a queue run */
        MODE_VERIFY,  /* -bv: the recipients, without a message */
        MODE_DAEMON,  /* -bd, -bD, -bl: whether the spooler answers */
        MODE_NOTHING, /* -bi, -I, -bh, -bH, -bC, -qINTERVAL, -Q: nothing to do here */
        MODE_TEST,    /* -bt: address test mode, which does not exist here */
};

static struct {
        enum mode mode;
        char mode_option[16]; /* the option that chose the mode, for messages */
        const char *nothing;  /* MODE_NOTHING: why there is nothing to do */
        enum mailspool_bus bus;
        bool from_headers; /* -t */
        bool dot_ends;     /* without -i: a line "." ends the message */
        bool verbose;
        bool hold;               /* --hold */
        uint64_t deferred_until; /* --at, µs since the epoch */
        const char *sender;      /* -f, -r */
        const char *fullname;    /* -F */
        /* -N, -R, -V: DsnNotify, DsnReturn, DsnEnvelopeId */
        const char *dsn_notify, *dsn_return, *dsn_envid;
} arg = {.mode = MODE_DELIVER, .bus = MAILSPOOL_BUS_DEFAULT, .dot_ends = true};

static void help(void)
{
        printf("Usage: mailspool-sendmail [OPTIONS] [RECIPIENT...] < MESSAGE\n"
               "\n"
               "Hand a message to the mail spooler mailspoold, as sendmail(8) does.\n"
               "\n"
               "  -t              take the recipients from To, Cc and Bcc (Bcc is removed)\n"
               "  -i, -oi         a line with a single \".\" does not end the message\n"
               "                  (also -O IgnoreDots)\n"
               "  -f ADDRESS      the envelope sender (also -r)\n"
               "  -F NAME         the full name for the From header this program adds\n"
               "                  when the message has none\n"
               "  -v              say where the message was queued (and what -q did)\n"
               "      --at TIME   send no earlier than TIME (\"2026-12-01 09:00\", \"+2h\",\n"
               "                  \"@1800000000\"; see systemd.time(7)): stored \"scheduled\"\n"
               "      --hold      store it \"held\": not sent until mailspoolctl release\n"
               "  -bm             deliver the message on stdin (the default; also -ba)\n"
               "  -bs             speak SMTP on stdin and stdout, each message submitted\n"
               "  -bp             list the waiting messages, as mailq does (-bP: count them)\n"
               "  -q              flush the queue now (-qRSITE, -qIID...: the whole queue)\n"
               "  -bv             print the recipients; read and send nothing\n"
               "  -bd, -bD, -bl   check that the spooler answers (it is the daemon)\n"
               "  -bi, -I, -bh, -bH, -bC, -qINTERVAL, -Q\n"
               "                  nothing to do here: exit 0 (-v says why)\n"
               "  -N DSN          delivery status notifications: never, or success, failure,\n"
               "                  delay joined by commas (sent where the server offers DSN)\n"
               "  -R RET          what a notification returns: full or hdrs\n"
               "  -V ENVID        the envelope id notifications carry\n"
               "  -A, -B, -C, -c, -D, -d, -e, -G, -h NUMBER, -L, -M, -m, -n, -O, -o, -p,\n"
               "  -s, -T, -U, -X, -x\n"
               "                  accepted for compatibility and ignored (see the man page)\n"
               "      --user      use the spooler on your session bus\n"
               "      --system    use the system spooler (default, or $MAILSPOOL_BUS)\n"
               "  -h, --help      show this help\n"
               "\n"
               "Exit status (sysexits.h): 0 stored; 64 bad usage; 65 the spooler refused\n"
               "the message; 69 a mode that is not available (-bt); 71/74 a local error;\n"
               "75 try again later (the spooler is not running or busy, your quota or the\n"
               "disk is full); 77 not allowed; 70 any other lasting failure.\n");
}

static void set_mode(enum mode mode, char option, const char *value, const char *nothing)
{
        arg.mode = mode;
        arg.nothing = nothing;
        snprintf(arg.mode_option, sizeof(arg.mode_option), "-%c%.8s", option, value ? value : "");
}

/* Sendmail's and Postfix's -b modes; only the first letter counts, as in both. */
static int parse_b(const char *value)
{
        switch (value[0]) {
        case 'm': /* deliver mail */
        case 'a': /* Sendmail's ARPANET mode: a message as with -bm */
                set_mode(MODE_DELIVER, 'b', value, NULL);
                return 0;
        case 's':
                set_mode(MODE_SMTP, 'b', value, NULL);
                return 0;
        case 'p':
                set_mode(MODE_LIST, 'b', value, NULL);
                return 0;
        case 'P':
                set_mode(MODE_COUNT, 'b', value, NULL);
                return 0;
        case 'v':
                set_mode(MODE_VERIFY, 'b', value, NULL);
                return 0;
        case 'd':
        case 'D':
        case 'l':
                set_mode(MODE_DAEMON, 'b', value, NULL);
                return 0;
        case 'i':
                set_mode(MODE_NOTHING, 'b', value,
                         "there is no alias database: mailspoold sends to the addresses as given");
                return 0;
        case 'h':
        case 'H':
                set_mode(MODE_NOTHING, 'b', value,
                         "there is no host status database: each transport keeps its own state");
                return 0;
        case 'C':
                set_mode(MODE_NOTHING, 'b', value,
                         "there is no sendmail.cf to check: mailspoold reads mailspool.conf(5)");
                return 0;
        case 't':
                set_mode(MODE_TEST, 'b', value, NULL);
                return 0;
        default:
                fprintf(stderr,
                        "mailspool-sendmail: -b%s is not a mode of sendmail; see "
                        "mailspool-sendmail(8)\n",
                        value);
                return -1;
        }
}

/* -q: a queue run now (also with Sendmail's and Postfix's selections such as
 * -qRSITE or -qIID, which the spooler cannot make: the whole queue goes), or
 * with an interval the period of a queue runner, which there is none of. */
static void parse_q(const char *value)
{
        if (value && isdigit((unsigned char) value[0])) {
                if (arg.mode == MODE_DELIVER)
                        set_mode(MODE_NOTHING, 'q', value,
                                 "there is no queue runner to start: mailspoold retries "
                                 "deferred mail on its own schedule");
        } else if (arg.mode == MODE_DELIVER)
                set_mode(MODE_FLUSH, 'q', value, NULL);
}

/* Sendmail's -O IgnoreDots[=BOOLEAN], the long name of -oi. */
static void parse_long_option(const char *value)
{
        static const char name[] = "IgnoreDots";
        if (strncasecmp(value, name, strlen(name)) != 0)
                return;
        const char *v = value + strlen(name);
        if (*v == '\0')
                arg.dot_ends = false;
        else if (*v == '=')
                /* Sendmail's booleans: empty, or beginning with t, T, y or Y. */
                arg.dot_ends = !(v[1] == '\0' || strchr("tTyY", v[1]));
}

static int parse_args(int argc, char **argv)
{
        enum { OPT_USER = 0x100, OPT_SYSTEM, OPT_AT, OPT_HOLD, OPT_HELP };
        static const struct option options[] = {
            {"help", no_argument, NULL, OPT_HELP},
            {"user", no_argument, NULL, OPT_USER},
            {"system", no_argument, NULL, OPT_SYSTEM},
            /* The submit options DeferredUntil and Hold. */
            {"at", required_argument, NULL, OPT_AT},
            {"hold", no_argument, NULL, OPT_HOLD},
            {},
        };
        /* "+": recipients end the options, as in sendmail. The options of
         * Sendmail ("A:B:b:C:cD:d:e:F:f:Gh:IiL:M:mN:nO:o:p:Q:q:R:r:sTtV:vX:")
         * and Postfix ("A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"); C, d,
         * h, q and Q take their value attached or, as in Sendmail, as the next
         * word when it looks like one (see below). */
        static const char shortopts[] =
            "+A:B:b:C::cD:d::e:F:f:Gh::IiL:M:mN:nO:o:p:Q::q::R:r:sTtUV:vX:x";
        struct timespec now;
        int c;
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0) {
                /* Sendmail's "-C FILE", "-Q REASON" (a next word that is not an
                 * option), "-d 0-99.1", "-h 17" and "-q 30m" (one that begins
                 * with a digit): the value as the next word. */
                if (!optarg && optind < argc) {
                        const char *next = argv[optind];
                        if (((c == 'C' || c == 'Q') && next[0] != '-') ||
                            ((c == 'd' || c == 'h' || c == 'q') &&
                             isdigit((unsigned char) next[0])))
                                optarg = argv[optind++];
                }
                switch (c) {
                case 't':
                        arg.from_headers = true;
                        break;
                case 'i':
                        arg.dot_ends = false;
                        break;
                case 'v':
                        arg.verbose = true;
                        break;
                case 'f':
                case 'r':
                        arg.sender = optarg;
                        break;
                case 'F':
                        arg.fullname = optarg;
                        break;
                case 'o':
                        if (strcmp(optarg, "i") == 0)
                                arg.dot_ends = false;
                        break;
                case 'O':
                        parse_long_option(optarg);
                        break;
                case 'b':
                        if (parse_b(optarg) < 0)
                                return -1;
                        break;
                case 'q':
                        parse_q(optarg);
                        break;
                case 'Q':
                        if (arg.mode == MODE_DELIVER)
                                set_mode(MODE_NOTHING, 'Q', optarg,
                                         "there is no quarantine (mailspoolctl hold keeps a "
                                         "message back)");
                        break;
                case 'I':
                        set_mode(MODE_NOTHING, 'I', NULL,
                                 "there is no alias database: mailspoold sends to the "
                                 "addresses as given");
                        break;
                case 'h':
                        if (!optarg) {
                                help();
                                exit(0);
                        }
                        break; /* a hop count */
                /* Delivery status notifications (RFC 3461), checked by
                 * the daemon. */
                case 'N':
                        arg.dsn_notify = optarg;
                        break;
                case 'R':
                        arg.dsn_return = optarg;
                        break;
                case 'V':
                        arg.dsn_envid = optarg;
                        break;
                /* Nothing here for them to change; see mailspool-sendmail(8). */
                case 'A':
                case 'B':
                case 'C':
                case 'c':
                case 'D':
                case 'd':
                case 'e':
                case 'G':
                case 'L':
                case 'M':
                case 'm':
                case 'n':
                case 'p':
                case 's':
                case 'T':
                case 'U':
                case 'X':
                case 'x':
                        break;
                case OPT_USER:
                        arg.bus = MAILSPOOL_BUS_SESSION;
                        break;
                case OPT_SYSTEM:
                        arg.bus = MAILSPOOL_BUS_SYSTEM;
                        break;
                case OPT_AT:
                        if (clock_gettime(CLOCK_REALTIME, &now) < 0 ||
                            ctl_time_parse(optarg,
                                           (uint64_t) now.tv_sec * 1000000 +
                                               (uint64_t) now.tv_nsec / 1000,
                                           &arg.deferred_until) < 0) {
                                fprintf(stderr,
                                        "mailspool-sendmail: --at: cannot read the time \"%s\" "
                                        "(try \"2026-12-01 09:00\", \"+2h\", \"@1800000000\"; "
                                        "see systemd.time(7))\n",
                                        optarg);
                                return -1;
                        }
                        break;
                case OPT_HOLD:
                        arg.hold = true;
                        break;
                case OPT_HELP:
                        help();
                        exit(0);
                default:
                        return -1;
                }
        }
        return optind;
}

/* A growing buffer of bytes. */
struct buffer {
        char *data;
        size_t size, alloc;
};

static int buffer_append(struct buffer *b, const char *data, size_t size)
{
        if (b->size + size + 1 > b->alloc) {
                size_t alloc = b->alloc ? b->alloc : 4096;
                while (alloc < b->size + size + 1)
                        alloc *= 2;
                char *more = realloc(b->data, alloc);
                if (!more)
                        return -ENOMEM;
                b->data = more;
                b->alloc = alloc;
        }
        memcpy(b->data + b->size, data, size);
        b->size += size;
        return 0;
}

/* stdin up to its end, or up to a line "." unless -i. */
static int read_message(struct buffer *b)
{
        char *line = NULL;
        size_t line_alloc = 0;
        ssize_t n;
        int r = 0;
        while (r == 0 && (n = getline(&line, &line_alloc, stdin)) > 0) {
                if (arg.dot_ends && (strcmp(line, ".\n") == 0 || strcmp(line, ".\r\n") == 0 ||
                                     strcmp(line, ".") == 0))
                        break;
                r = buffer_append(b, line, (size_t) n);
        }
        if (r == 0 && ferror(stdin))
                r = -EIO;
        free(line);
        return r;
}

/* Whether the header block (up to the first empty line) has a From field. */
static bool has_from_header(const char *data, size_t size)
{
        const char *p = data, *end = data + size;
        while (p < end) {
                if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
                        return false;
                if (end - p >= 5 && strncasecmp(p, "From:", 5) == 0)
                        return true;
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        break;
                p = nl + 1;
        }
        return false;
}

/* "From: Full Name <user@host>" for a message without From, from the
 * envelope sender (or the login name at this host) and -F. Without either
 * there is none: the daemon adds From (the transport's Identity, or the
 * login name at MailDomain), Date and Message-ID. */
static int from_header(const char *sender, char **ret)
{
        char address[512];
        *ret = NULL;
        if (!(sender && *sender) && !arg.fullname)
                return 0;
        if (sender && *sender)
                snprintf(address, sizeof(address), "%s", sender);
        else {
                struct passwd *pw = getpwuid(getuid());
                char host[256] = "localhost";
                gethostname(host, sizeof(host) - 1);
                host[sizeof(host) - 1] = '\0';
                snprintf(address, sizeof(address), "%s@%s", pw ? pw->pw_name : "nobody", host);
        }
        if (!arg.fullname)
                return asprintf(ret, "From: <%s>\n", address) < 0 ? -ENOMEM : 0;
        /* A quoted phrase: backslash-escape what would end it. */
        char quoted[512];
        size_t o = 0;
        for (const char *p = arg.fullname; *p && o + 2 < sizeof(quoted); p++) {
                if (*p == '"' || *p == '\\')
                        quoted[o++] = '\\';
                if (*p != '\r' && *p != '\n')
                        quoted[o++] = *p;
        }
        quoted[o] = '\0';
        return asprintf(ret, "From: \"%s\" <%s>\n", quoted, address) < 0 ? -ENOMEM : 0;
}

/* The message in a memory file, a From: field in front when it has none:
 * the daemon reads it from the descriptor, with no copy through the bus.
 * Returns the descriptor at offset 0, or -errno. */
static int buffer_message(const char *data, size_t size, const char *sender)
{
        int fd = memfd_create("mailspool-sendmail", MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        char *from = NULL;
        int r = 0;
        if (!has_from_header(data, size)) {
                r = from_header(sender, &from);
                if (r == 0 && from && write(fd, from, strlen(from)) != (ssize_t) strlen(from))
                        r = -EIO;
        }
        for (size_t done = 0; r == 0 && done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n <= 0)
                        r = n < 0 ? -errno : -EIO;
                else
                        done += (size_t) n;
        }
        free(from);
        if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = -errno;
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

static int exit_code_for(mailspool *m, int r)
{
        const char *name = m ? mailspool_error_name(m) : NULL;
        if (name && (strstr(name, "ServiceUnknown") || strstr(name, "NameHasNoOwner") ||
                     strstr(name, "NoReply") || strstr(name, "Timeout")))
                return EX_TEMPFAIL;
        switch (-r) {
        case EINVAL:
                return EX_DATAERR;
        case EACCES:
        case EPERM:
                return EX_NOPERM;
        /* Every temporary condition: busy, slow, not running, no room;
         * for -q also a server that cannot be reached or refused the
         * log-on, and a flush that was cancelled: the mail stays queued. */
        case EBUSY:
        case ETIMEDOUT:
        case ECONNREFUSED:
        case ENOENT:
        case ENOMEDIUM:
        case EDQUOT:
        case ENOSPC:
        case EIO:
        case EAGAIN:
        case EHOSTUNREACH:
        case EKEYREJECTED:
        case ECANCELED:
                return EX_TEMPFAIL;
        case ENOMEM:
                return EX_OSERR;
        default:
                return EX_SOFTWARE;
        }
}

/* The daemon's explanation of the last failure, or the errno's. */
static const char *error_text(mailspool *m, int r)
{
        const char *message = m ? mailspool_error_message(m) : NULL;
        return message ? message : strerror(-r);
}

static int open_bus(mailspool **ret)
{
        int r = mailspool_open(arg.bus, ret);
        if (r < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot connect to the bus: %s\n",
                        strerror(-r));
                return EX_TEMPFAIL;
        }
        return 0;
}

/* Text from the daemon on a terminal or in a reply: no control characters. */
static void print_clean(FILE *f, const char *text)
{
        for (const unsigned char *p = (const unsigned char *) text; *p; p++)
                fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
}

/* --- -bm: one message from stdin ------------------------------------------- */

static int deliver(char **recipients)
{
        struct buffer b = {0};
        int r = read_message(&b);
        if (r < 0) {
                free(b.data);
                fprintf(stderr, "mailspool-sendmail: cannot read the message: %s\n", strerror(-r));
                return r == -EIO ? EX_IOERR : EX_OSERR;
        }
        int fd = buffer_message(b.data ? b.data : "", b.size, arg.sender);
        free(b.data);
        if (fd < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot buffer the message: %s\n",
                        strerror(-fd));
                return EX_OSERR;
        }

        mailspool *m = NULL;
        int code = open_bus(&m);
        if (code != 0) {
                close(fd);
                return code;
        }
        struct mailspool_submit_options options = {
            .sender = arg.sender,
            .recipients = arg.from_headers ? NULL : (const char *const *) recipients,
            .hold = arg.hold,
            .deferred_until = arg.deferred_until,
            .dsn_notify = arg.dsn_notify,
            .dsn_return = arg.dsn_return,
            .dsn_envid = arg.dsn_envid,
        };
        char *path = NULL;
        r = mailspool_submit_fd(m, fd, &options, &path);
        close(fd);
        if (r < 0) {
                fprintf(stderr, "mailspool-sendmail: the spooler did not take the message: %s\n",
                        error_text(m, r));
                code = exit_code_for(m, r);
        } else if (arg.verbose)
                printf("mailspool-sendmail: queued as %s\n", path);
        free(path);
        mailspool_close(m);
        return code;
}

/* --- -bs: SMTP on stdin and stdout ----------------------------------------- */

static bool smtp_write_failed;

static void smtp_reply(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void smtp_reply(const char *format, ...)
{
        va_list ap;
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        fputs("\r\n", stdout);
        if (fflush(stdout) != 0)
                smtp_write_failed = true;
}

/* The address of "FROM:<address> PARAMETERS" (or "TO:..."): between the
 * angle brackets (a source route "@a,@b:" dropped), or the word after the
 * colon. NULL when it is not there. */
static char *smtp_path(const char *text, const char *keyword)
{
        size_t n = strlen(keyword);
        if (strncasecmp(text, keyword, n) != 0)
                return NULL;
        const char *p = text + n, *end;
        while (*p == ' ')
                p++;
        if (*p == '<') {
                p++;
                end = strchr(p, '>');
                if (!end)
                        return NULL;
        } else
                end = p + strcspn(p, " ");
        if (*p == '@') {
                const char *colon = memchr(p, ':', (size_t) (end - p));
                if (colon)
                        p = colon + 1;
        }
        return strndup(p, (size_t) (end - p));
}

struct smtp_transaction {
        char *sender; /* NULL: no MAIL yet; "": the null sender */
        char *recipients[MAX_RECIPIENTS + 1];
        size_t n_recipients;
};

static void smtp_reset(struct smtp_transaction *t)
{
        free(t->sender);
        for (size_t i = 0; i < t->n_recipients; i++)
                free(t->recipients[i]);
        *t = (struct smtp_transaction){0};
}

/* DATA: the lines up to ".", with the dot-stuffing undone. -EPIPE when the
 * input ends first. */
static int smtp_read_data(struct buffer *b)
{
        char *line = NULL;
        size_t alloc = 0;
        ssize_t n;
        int r = -EPIPE;
        while ((n = getline(&line, &alloc, stdin)) > 0) {
                if (strcmp(line, ".\r\n") == 0 || strcmp(line, ".\n") == 0) {
                        r = 0;
                        break;
                }
                const char *p = line[0] == '.' ? line + 1 : line;
                if (buffer_append(b, p, (size_t) n - (size_t) (p - line)) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        if (r == -EPIPE && ferror(stdin))
                r = -EIO;
        free(line);
        return r;
}

/* Submits the transaction's message; the reply says how it went. */
static void smtp_submit(mailspool **m, struct smtp_transaction *t, const struct buffer *b)
{
        int fd = buffer_message(b->data ? b->data : "", b->size, t->sender);
        if (fd < 0) {
                smtp_reply("451 4.3.0 Error: cannot buffer the message: %s", strerror(-fd));
                return;
        }
        int r = 0;
        if (!*m) {
                r = mailspool_open(arg.bus, m);
                if (r < 0) {
                        *m = NULL;
                        close(fd);
                        smtp_reply("451 4.3.0 Error: cannot connect to the bus: %s", strerror(-r));
                        return;
                }
        }
        struct mailspool_submit_options options = {
            .sender = *t->sender ? t->sender : NULL,
            .recipients = (const char *const *) t->recipients,
            .hold = arg.hold,
            .deferred_until = arg.deferred_until,
        };
        char *path = NULL;
        r = mailspool_submit_fd(*m, fd, &options, &path);
        close(fd);
        if (r >= 0) {
                const char *slash = strrchr(path, '/');
                smtp_reply("250 2.0.0 Ok: queued as %s", slash ? slash + 1 : path);
                free(path);
                return;
        }
        const char *status;
        switch (exit_code_for(*m, r)) {
        case EX_TEMPFAIL:
        case EX_OSERR:
                status = "451 4.3.0";
                break;
        case EX_DATAERR:
                status = "554 5.6.0";
                break;
        case EX_NOPERM:
                status = "554 5.7.1";
                break;
        default:
                status = "554 5.3.0";
                break;
        }
        printf("%s Error: the spooler did not take the message: ", status);
        print_clean(stdout, error_text(*m, r));
        smtp_reply("%s", "");
}

static int smtp_session(void)
{
        char host[256] = "localhost";
        gethostname(host, sizeof(host) - 1);
        host[sizeof(host) - 1] = '\0';
        /* A client that goes away is an error to report, not a signal. */
        signal(SIGPIPE, SIG_IGN);

        mailspool *m = NULL;
        struct smtp_transaction t = {0};
        char *line = NULL;
        size_t alloc = 0;
        ssize_t n;
        int code = 0;
        smtp_reply("220 %s ESMTP mailspool-sendmail", host);
        while (!smtp_write_failed && (n = getline(&line, &alloc, stdin)) > 0) {
                while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                        line[--n] = '\0';
                size_t verb_len = strcspn(line, " ");
                char *rest = line + verb_len;
                while (*rest == ' ')
                        rest++;
#define VERB(name) (verb_len == strlen(name) && strncasecmp(line, name, verb_len) == 0)
                if (VERB("EHLO")) {
                        smtp_reset(&t);
                        smtp_reply("250-%s", host);
                        smtp_reply("250-PIPELINING");
                        smtp_reply("250-8BITMIME");
                        smtp_reply("250 ENHANCEDSTATUSCODES");
                } else if (VERB("HELO")) {
                        smtp_reset(&t);
                        smtp_reply("250 %s", host);
                } else if (VERB("MAIL")) {
                        char *sender = smtp_path(rest, "FROM:");
                        if (t.sender) {
                                smtp_reply("503 5.5.1 Error: nested MAIL command");
                                free(sender);
                        } else if (!sender)
                                smtp_reply("501 5.5.4 Syntax: MAIL FROM:<address>");
                        else {
                                t.sender = sender;
                                smtp_reply("250 2.1.0 Ok");
                        }
                } else if (VERB("RCPT")) {
                        char *recipient = smtp_path(rest, "TO:");
                        if (!t.sender) {
                                smtp_reply("503 5.5.1 Error: need MAIL command");
                                free(recipient);
                        } else if (!recipient || !*recipient) {
                                smtp_reply("501 5.5.4 Syntax: RCPT TO:<address>");
                                free(recipient);
                        } else if (t.n_recipients >= MAX_RECIPIENTS) {
                                smtp_reply("452 4.5.3 Error: too many recipients");
                                free(recipient);
                        } else {
                                t.recipients[t.n_recipients++] = recipient;
                                smtp_reply("250 2.1.5 Ok");
                        }
                } else if (VERB("DATA")) {
                        if (!t.sender) {
                                smtp_reply("503 5.5.1 Error: need MAIL command");
                                continue;
                        }
                        if (t.n_recipients == 0) {
                                smtp_reply("503 5.5.1 Error: need RCPT command");
                                continue;
                        }
                        smtp_reply("354 End data with <CR><LF>.<CR><LF>");
                        struct buffer b = {0};
                        int r = smtp_read_data(&b);
                        if (r == -ENOMEM)
                                smtp_reply("452 4.3.1 Error: out of memory");
                        else if (r == 0)
                                smtp_submit(&m, &t, &b);
                        free(b.data);
                        smtp_reset(&t);
                        if (r == -EPIPE || r == -EIO) {
                                fprintf(stderr,
                                        "mailspool-sendmail: -bs: %s inside DATA; "
                                        "that message is not stored\n",
                                        r == -EIO ? "cannot read the input" : "the input ended");
                                code = EX_IOERR;
                                break;
                        }
                } else if (VERB("RSET")) {
                        smtp_reset(&t);
                        smtp_reply("250 2.0.0 Ok");
                } else if (VERB("NOOP")) {
                        smtp_reply("250 2.0.0 Ok");
                } else if (VERB("VRFY")) {
                        smtp_reply("252 2.0.0 Cannot VRFY; send mail and it will be tried");
                } else if (VERB("HELP")) {
                        smtp_reply("214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP VRFY QUIT");
                } else if (VERB("QUIT")) {
                        smtp_reply("221 2.0.0 Bye");
                        break;
                } else if (verb_len == 0) {
                        smtp_reply("500 5.5.2 Error: bad syntax");
                } else
                        smtp_reply("502 5.5.2 Error: command not recognized");
#undef VERB
        }
        if (code == 0 && (ferror(stdin) || smtp_write_failed)) {
                fprintf(stderr, "mailspool-sendmail: -bs: the connection broke: %s\n",
                        ferror(stdin) ? "cannot read the input" : "cannot write the replies");
                code = EX_IOERR;
        }
        smtp_reset(&t);
        free(line);
        mailspool_close(m);
        return code;
}

/* --- -bp, -bP: the queue --------------------------------------------------- */

static bool waiting(const char *state)
{
        static const char *const states[] = {"queued", "deferred", "sending", "held", "scheduled"};
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
                if (strcmp(state, states[i]) == 0)
                        return true;
        return false;
}

/* The arrival as mailq shows it ("Mon Nov 23 10:00:00"), or a date and time. */
static void format_time(uint64_t usec, bool arrival, char *buf, size_t size)
{
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;
        if (!localtime_r(&t, &tm) || !(arrival ? strftime(buf, size, "%a %b %e %H:%M:%S", &tm)
                                               : strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm)))
                snprintf(buf, size, "-");
}

/* One message as Postfix's mailq shows one: number (and '!' held, '*' being
 * sent), size, arrival, sender; why it waits; the recipients. */
static void print_queue_entry(const struct mailspool_message *msg)
{
        char id[32], arrival[32];
        const char *number = strrchr(msg->path, '/');
        char mark = strcmp(msg->state, "held") == 0      ? '!'
                    : strcmp(msg->state, "sending") == 0 ? '*'
                                                         : ' ';
        snprintf(id, sizeof(id), "%s%c", number ? number + 1 : msg->path, mark);
        format_time(msg->submitted_usec, true, arrival, sizeof(arrival));
        printf("%-11s %7" PRIu64 " %-20.20s ", id, msg->size, arrival);
        print_clean(stdout, *msg->sender ? msg->sender : "MAILER-DAEMON");
        putchar('\n');
        if (strcmp(msg->state, "scheduled") == 0 && msg->deferred_until) {
                char due[32];
                format_time(msg->deferred_until, false, due, sizeof(due));
                printf("(scheduled for %s)\n", due);
        } else if (strcmp(msg->state, "held") == 0)
                printf("(held until mailspoolctl release %s)\n", number ? number + 1 : msg->path);
        else if (msg->last_error && *msg->last_error) {
                putchar('(');
                print_clean(stdout, msg->last_error);
                puts(")");
        }
        for (char **r = msg->recipients; r && *r; r++) {
                printf("%41s", "");
                print_clean(stdout, *r);
                putchar('\n');
        }
        putchar('\n');
}

static int list_queue(mailspool *m, bool count_only)
{
        struct mailspool_message_filter filter = {.direction = "outbound"};
        struct mailspool_message_entry *e = NULL;
        int n = mailspool_list_messages(m, &filter, &e);
        if (n < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot list the queue: %s\n",
                        error_text(m, n));
                return exit_code_for(m, n);
        }
        size_t shown = 0;
        uint64_t bytes = 0;
        int code = 0;
        for (int i = 0; i < n && code == 0; i++) {
                if (!waiting(e[i].state))
                        continue;
                if (count_only) {
                        shown++;
                        continue;
                }
                struct mailspool_message msg;
                int r = mailspool_get_message(m, e[i].path, &msg);
                if (r == -ENOENT)
                        continue; /* gone since the list was made */
                if (r < 0) {
                        fprintf(stderr, "mailspool-sendmail: cannot read %s: %s\n", e[i].path,
                                error_text(m, r));
                        code = exit_code_for(m, r);
                        break;
                }
                if (!waiting(msg.state)) {
                        mailspool_message_clear(&msg);
                        continue;
                }
                if (shown++ == 0)
                        puts("-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------");
                bytes += msg.size;
                print_queue_entry(&msg);
                mailspool_message_clear(&msg);
        }
        mailspool_message_entries_free(e, (size_t) n);
        if (code != 0)
                return code;
        if (count_only)
                printf("mailspoold: entries=%zu\n", shown);
        else if (shown == 0)
                puts("Mail queue is empty");
        else
                printf("-- %" PRIu64 " Kbytes in %zu Request%s.\n", (bytes + 1023) / 1024, shown,
                       shown == 1 ? "" : "s");
        return 0;
}

/* --- -q: a queue run ------------------------------------------------------- */

static int flush_queue(mailspool *m)
{
        struct mailspool_flush_summary s;
        int r = mailspool_flush(m, NULL, false, MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_NO_UI,
                                NULL, NULL, &s);
        if (r == -EBUSY) {
                /* A flush is running: that is the queue run asked for. */
                if (arg.verbose)
                        printf("mailspool-sendmail: a flush is running already\n");
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "mailspool-sendmail: the spooler did not flush: %s\n",
                        error_text(m, r));
                return exit_code_for(m, r);
        }
        if (arg.verbose)
                printf("mailspool-sendmail: %" PRIu32 " sent, %" PRIu32 " deferred, %" PRIu32
                       " failed\n",
                       s.sent, s.deferred, s.failed);
        /* What did not go stays queued and is tried again: reported, not
         * an error of the queue run. */
        for (size_t i = 0; i < s.n_errors; i++) {
                char *id = NULL;
                fprintf(stderr, "mailspool-sendmail: %s: ",
                        mailspool_transport_id(s.errors[i].transport, &id) == 0
                            ? id
                            : s.errors[i].transport);
                print_clean(stderr, s.errors[i].message ? s.errors[i].message : "");
                fputc('\n', stderr);
                free(id);
        }
        mailspool_flush_summary_clear(&s);
        return 0;
}

/* --- -bd: the spooler answers ---------------------------------------------- */

static int check_spooler(mailspool *m)
{
        struct mailspool_status_row *rows = NULL;
        int n = mailspool_status_table(m, &rows);
        if (n < 0) {
                fprintf(stderr, "mailspool-sendmail: the spooler does not answer: %s\n",
                        error_text(m, n));
                return exit_code_for(m, n);
        }
        mailspool_status_rows_free(rows, (size_t) n);
        if (arg.verbose)
                printf("mailspool-sendmail: %s: mailspoold is the daemon, and it answers\n",
                       arg.mode_option);
        return 0;
}

/* --- -bv: the recipients --------------------------------------------------- */

static int verify(char **recipients)
{
        for (char **r = recipients; *r; r++)
                printf("%s... accepted: mailspoold checks an address when a message to it is "
                       "submitted\n",
                       *r);
        return 0;
}

int main(int argc, char **argv)
{
        int first = parse_args(argc, argv);
        if (first < 0) {
                fprintf(stderr, "Try 'mailspool-sendmail --help'.\n");
                return EX_USAGE;
        }
        char **recipients = argv + first;
        bool have_recipients = first < argc;
        if (arg.mode != MODE_DELIVER && arg.from_headers) {
                fprintf(stderr, "mailspool-sendmail: -t is for a message on stdin, not with %s\n",
                        arg.mode_option);
                return EX_USAGE;
        }
        if (arg.mode == MODE_VERIFY && !have_recipients) {
                fprintf(stderr, "mailspool-sendmail: %s: no recipients\n", arg.mode_option);
                return EX_USAGE;
        }
        if (arg.mode != MODE_DELIVER && arg.mode != MODE_VERIFY && have_recipients) {
                fprintf(stderr, "mailspool-sendmail: %s takes no recipients\n", arg.mode_option);
                return EX_USAGE;
        }
        if (arg.mode == MODE_DELIVER && arg.from_headers && have_recipients) {
                fprintf(stderr, "mailspool-sendmail: with -t, put every recipient in To, Cc or "
                                "Bcc, not on the command line\n");
                return EX_USAGE;
        }
        if (arg.mode == MODE_DELIVER && !arg.from_headers && !have_recipients) {
                fprintf(stderr, "mailspool-sendmail: no recipients (give them as arguments, "
                                "or -t)\n");
                return EX_USAGE;
        }

        mailspool *m = NULL;
        int code;
        switch (arg.mode) {
        case MODE_DELIVER:
                return deliver(recipients);
        case MODE_SMTP:
                return smtp_session();
        case MODE_VERIFY:
                return verify(recipients);
        case MODE_NOTHING:
                if (arg.verbose)
                        printf("mailspool-sendmail: %s: nothing to do: %s\n", arg.mode_option,
                               arg.nothing);
                return 0;
        case MODE_TEST:
                fprintf(stderr,
                        "mailspool-sendmail: %s (address test mode) is not available: "
                        "mailspoold has no rewriting rules to test\n",
                        arg.mode_option);
                return EX_UNAVAILABLE;
        case MODE_LIST:
        case MODE_COUNT:
        case MODE_FLUSH:
        case MODE_DAEMON:
                code = open_bus(&m);
                if (code != 0)
                        return code;
                code = arg.mode == MODE_FLUSH    ? flush_queue(m)
                       : arg.mode == MODE_DAEMON ? check_spooler(m)
                                                 : list_queue(m, arg.mode == MODE_COUNT);
                mailspool_close(m);
                return code;
        }
        return EX_SOFTWARE;
}
