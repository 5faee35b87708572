/* mailspool-sendmail: what a mail program runs as /usr/sbin/sendmail. The
 * message comes on stdin, goes to mailspoold over the bus, and the exit code
 * is 0 only once the daemon has stored it durably; failures use the exit
 * codes of sysexits.h, so that callers know whether to try again. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
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

static struct {
        enum mailspool_bus bus;
        bool from_headers; /* -t */
        bool dot_ends;     /* without -i: a line "." ends the message */
        bool verbose;
        bool hold;               /* --hold */
        uint64_t deferred_until; /* --at, µs since the epoch */
        const char *sender;      /* -f, -r */
        const char *fullname;    /* -F */
} arg = {.bus = MAILSPOOL_BUS_DEFAULT, .dot_ends = true};

static void help(void)
{
        printf("Usage: mailspool-sendmail [OPTIONS] [RECIPIENT...] < MESSAGE\n"
               "\n"
               "Hand a message to the mail spooler mailspoold, as sendmail(8) does.\n"
               "\n"
               "  -t              take the recipients from To, Cc and Bcc (Bcc is removed)\n"
               "  -i, -oi         a line with a single \".\" does not end the message\n"
               "  -f ADDRESS      the envelope sender (also -r)\n"
               "  -F NAME         the full name for the From header this program adds\n"
               "                  when the message has none\n"
               "  -v              say where the message was queued\n"
               "      --at TIME   send no earlier than TIME (\"2026-12-01 09:00\", \"+2h\",\n"
               "                  \"@1800000000\"; see systemd.time(7)): stored \"scheduled\"\n"
               "      --hold      store it \"held\": not sent until mailspoolctl release\n"
               "  -o OPTION, -B TYPE, -N DSN, -R RET, -V ENVID, -L LABEL, -C FILE, -bm\n"
               "                  accepted for compatibility and ignored\n"
               "      --user      use the spooler on your session bus\n"
               "      --system    use the system spooler (default, or $MAILSPOOL_BUS)\n"
               "  -h, --help      show this help\n"
               "\n"
               "Exit status (sysexits.h): 0 stored; 64 bad usage; 65 the spooler refused\n"
               "the message; 71/74 a local error; 75 try again later (the spooler is not\n"
               "running or busy, your quota or the disk is full); 77 not allowed; 70 any\n"
               "other lasting failure.\n");
}

static int parse_args(int argc, char **argv)
{
        enum { OPT_USER = 0x100, OPT_SYSTEM, OPT_AT, OPT_HOLD };
        static const struct option options[] = {
            {"help", no_argument, NULL, 'h'},
            {"user", no_argument, NULL, OPT_USER},
            {"system", no_argument, NULL, OPT_SYSTEM},
            /* The submit options DeferredUntil and Hold. */
            {"at", required_argument, NULL, OPT_AT},
            {"hold", no_argument, NULL, OPT_HOLD},
            {},
        };
        struct timespec now;
        int c;
        /* "+": recipients end the options, as in sendmail. */
        while ((c = getopt_long(argc, argv, "+tivf:r:F:o:B:N:R:V:L:C:b:h", options, NULL)) >= 0) {
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
                case 'b':
                        if (strcmp(optarg, "m") != 0) {
                                fprintf(stderr,
                                        "mailspool-sendmail: -b%s is not supported; "
                                        "only -bm (deliver mail)\n",
                                        optarg);
                                return -1;
                        }
                        break;
                case 'B':
                case 'N':
                case 'R':
                case 'V':
                case 'L':
                case 'C':
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
                case 'h':
                        help();
                        exit(0);
                default:
                        return -1;
                }
        }
        return optind;
}

/* stdin up to its end, or up to a line "." unless -i. */
static int read_message(char **ret, size_t *ret_size)
{
        char *data = NULL, *line = NULL;
        size_t size = 0, line_alloc = 0;
        ssize_t n;
        while ((n = getline(&line, &line_alloc, stdin)) > 0) {
                if (arg.dot_ends && (strcmp(line, ".\n") == 0 || strcmp(line, ".\r\n") == 0 ||
                                     strcmp(line, ".") == 0))
                        break;
                char *more = realloc(data, size + (size_t) n + 1);
                if (!more) {
                        free(data);
                        free(line);
                        return -ENOMEM;
                }
                data = more;
                memcpy(data + size, line, (size_t) n);
                size += (size_t) n;
        }
        bool failed = ferror(stdin);
        free(line);
        if (failed) {
                free(data);
                return -EIO;
        }
        *ret = data;
        *ret_size = size;
        return 0;
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

/* "From: Full Name <user@host>" for a message without From, from -f (or
 * the login name at this host) and -F. */
static int from_header(char **ret)
{
        char address[512];
        if (arg.sender)
                snprintf(address, sizeof(address), "%s", arg.sender);
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
        /* Every temporary condition: busy, slow, not running, no room. */
        case EBUSY:
        case ETIMEDOUT:
        case ECONNREFUSED:
        case ENOENT:
        case ENOMEDIUM:
        case EDQUOT:
        case ENOSPC:
        case EIO:
        case EAGAIN:
                return EX_TEMPFAIL;
        case ENOMEM:
                return EX_OSERR;
        default:
                return EX_SOFTWARE;
        }
}

int main(int argc, char **argv)
{
        int first = parse_args(argc, argv);
        if (first < 0) {
                fprintf(stderr, "Try 'mailspool-sendmail --help'.\n");
                return EX_USAGE;
        }
        char **recipients = argv + first;
        if (arg.from_headers && first < argc) {
                fprintf(stderr, "mailspool-sendmail: with -t, put every recipient in To, Cc or "
                                "Bcc, not on the command line\n");
                return EX_USAGE;
        }
        if (!arg.from_headers && first >= argc) {
                fprintf(stderr, "mailspool-sendmail: no recipients (give them as arguments, "
                                "or -t)\n");
                return EX_USAGE;
        }

        char *data = NULL;
        size_t size = 0;
        int r = read_message(&data, &size);
        if (r < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot read the message: %s\n", strerror(-r));
                return r == -EIO ? EX_IOERR : EX_OSERR;
        }

        /* The message goes as a descriptor: no copy through the bus. */
        int fd = memfd_create("mailspool-sendmail", MFD_CLOEXEC);
        char *from = NULL;
        bool ok = fd >= 0;
        if (ok && !has_from_header(data, size)) {
                ok = from_header(&from) == 0 &&
                     write(fd, from, strlen(from)) == (ssize_t) strlen(from);
        }
        for (size_t done = 0; ok && done < size;) {
                ssize_t n = write(fd, data + done, size - done);
                if (n <= 0)
                        ok = false;
                else
                        done += (size_t) n;
        }
        free(from);
        free(data);
        if (!ok || lseek(fd, 0, SEEK_SET) < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot buffer the message: %m\n");
                if (fd >= 0)
                        close(fd);
                return EX_OSERR;
        }

        mailspool *m = NULL;
        r = mailspool_open(arg.bus, &m);
        if (r < 0) {
                fprintf(stderr, "mailspool-sendmail: cannot connect to the bus: %s\n",
                        strerror(-r));
                close(fd);
                return EX_TEMPFAIL;
        }
        struct mailspool_submit_options options = {
            .sender = arg.sender,
            .recipients = arg.from_headers ? NULL : (const char *const *) recipients,
            .hold = arg.hold,
            .deferred_until = arg.deferred_until,
        };
        char *path = NULL;
        r = mailspool_submit_fd(m, fd, &options, &path);
        close(fd);
        int code = 0;
        if (r < 0) {
                const char *message = mailspool_error_message(m);
                fprintf(stderr, "mailspool-sendmail: the spooler did not take the message: %s\n",
                        message ? message : strerror(-r));
                code = exit_code_for(m, r);
        } else if (arg.verbose)
                printf("mailspool-sendmail: queued as %s\n", path);
        free(path);
        mailspool_close(m);
        return code;
}
