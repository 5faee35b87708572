/* What SMTP PIPELINING (RFC 2920) would win for a flush. Sends N messages of
 * 4 KiB to an SMTP server (Postfix's smtp-sink on loopback) over C
 * connections kept open between messages, four ways, and prints messages/s
 * for each and its ratio to the first:
 *   lock-step   MAIL, RCPT, DATA and the data each wait for their reply, as
 *               libcurl sends them: four round trips a message;
 *   pipelined   MAIL, RCPT and DATA in one write, then the data: two;
 *   next        as pipelined, with the next message's MAIL, RCPT and DATA
 *               written right after the final dot: one;
 *   libcurl     an easy handle per message on one multi handle that keeps the
 *               connections, set up as the smtp transport sets it up.
 * The first three are plain sockets on one poll() loop; libcurl runs on
 * curl_multi_poll(), not the daemon's loop. The ways take turns in rounds of
 * N/5 messages, so that other work on the machine falls on all alike; each
 * also shows this process's CPU time per message. Every reply code is
 * checked; with -d, smtp-sink's dump directory is emptied before each turn
 * and must then hold all its messages. Benchmarks print figures and assert
 * nothing.
 *
 * Usage: smtp-pipelining-probe [-d DUMP_DIR] HOST:PORT [N] [CONNECTIONS...]
 * Defaults: N 10000, connections 4 then 1. */
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "util.h"

#define MESSAGE_SIZE    4096
#define MAX_CONNECTIONS 64
#define MAX_PENDING     8 /* replies awaited on one connection */
#define POLL_TIMEOUT_MS 30000
#define ROUNDS          5 /* turns of each way */
#define SENDER          "<bench@example.org>"
#define RECIPIENT       "<sink@example.org>"
#define ENVELOPE        "MAIL FROM:" SENDER "\r\nRCPT TO:" RECIPIENT "\r\nDATA\r\n"

enum way { LOCK_STEP, PIPELINED, PIPELINED_NEXT, LIBCURL, N_WAYS };

static const char *const way_name[N_WAYS] = {
    [LOCK_STEP] = "lock-step (MAIL, RCPT, DATA, data: 4 round trips)",
    [PIPELINED] = "pipelined (MAIL+RCPT+DATA, data: 2 round trips)",
    [PIPELINED_NEXT] = "next (envelope after the dot: 1 round trip)",
    [LIBCURL] = "libcurl (an easy handle a message, 4 round trips)",
};

/* What a reply answers, in the order the commands went out. */
enum answer { TO_GREETING, TO_EHLO, TO_MAIL, TO_RCPT, TO_DATA, TO_DOT, TO_QUIT };

static const int expected_code[] = {
    [TO_GREETING] = 220, [TO_EHLO] = 250, [TO_MAIL] = 250, [TO_RCPT] = 250,
    [TO_DATA] = 354,     [TO_DOT] = 250,  [TO_QUIT] = 221,
};

static const char *const answer_name[] = {
    [TO_GREETING] = "greeting", [TO_EHLO] = "EHLO", [TO_MAIL] = "MAIL FROM",
    [TO_RCPT] = "RCPT TO",      [TO_DATA] = "DATA", [TO_DOT] = "end of data",
    [TO_QUIT] = "QUIT",
};

struct conn {
        int fd;
        enum answer pending[MAX_PENDING]; /* a ring */
        unsigned head, n_pending;
        bool pipelining; /* the server offered it */
        char in[1024];
        size_t in_len;
        char out[2 * MESSAGE_SIZE];
        size_t out_start, out_len;
};

struct run {
        enum way way;
        const char *data; /* the message, dot-terminated */
        size_t data_len;
        unsigned total, started, delivered;
};

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A 4 KiB message with CRLF line ends, its lines of 78 characters, none
 * starting with a dot; *ret_body excludes the final ".\r\n". */
static char *make_message(size_t *ret_body)
{
        char *m = malloc(MESSAGE_SIZE + 4);
        if (!m)
                return NULL;
        size_t n = (size_t) snprintf(m, MESSAGE_SIZE,
                                     "From: bench@example.org\r\nTo: sink@example.org\r\n"
                                     "Subject: pipelining probe\r\n\r\n");
        while (n < MESSAGE_SIZE) {
                /* Lines of 80 bytes, the last two sharing what is left. */
                size_t left = MESSAGE_SIZE - n;
                size_t line = left > 160 ? 80 : left > 80 ? left / 2 : left;
                for (size_t i = 0; i + 2 < line; i++)
                        m[n + i] = (char) ('a' + (n + i) % 26);
                memcpy(m + n + line - 2, "\r\n", 2);
                n += line;
        }
        memcpy(m + MESSAGE_SIZE, ".\r\n", 4);
        *ret_body = MESSAGE_SIZE;
        return m;
}

static int flush_out(struct conn *c)
{
        while (c->out_len > 0) {
                ssize_t k = send(c->fd, c->out + c->out_start, c->out_len, MSG_NOSIGNAL);
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->out_start += (size_t) k;
                c->out_len -= (size_t) k;
        }
        c->out_start = 0;
        return 0;
}

/* Writes text and notes the replies it asks for. */
static int say(struct conn *c, const char *text, size_t len, unsigned n_answers,
               const enum answer *answers)
{
        if (c->out_len == 0)
                c->out_start = 0;
        if (c->out_start + c->out_len + len > sizeof(c->out)) {
                memmove(c->out, c->out + c->out_start, c->out_len);
                c->out_start = 0;
        }
        if (c->out_len + len > sizeof(c->out) || c->n_pending + n_answers > MAX_PENDING)
                return -ENOBUFS;
        memcpy(c->out + c->out_start + c->out_len, text, len);
        c->out_len += len;
        for (unsigned i = 0; i < n_answers; i++)
                c->pending[(c->head + c->n_pending++) % MAX_PENDING] = answers[i];
        return flush_out(c);
}

#define SAY(c, text, ...)                                                                          \
        say((c), (text), strlen(text), ELEMENTSOF(((enum answer[]){__VA_ARGS__})),                 \
            (enum answer[]){__VA_ARGS__})

/* The next message's envelope on c, or QUIT when none is left. */
static int start_next(struct run *run, struct conn *c)
{
        if (run->started == run->total)
                return SAY(c, "QUIT\r\n", TO_QUIT);
        run->started++;
        if (run->way == LOCK_STEP)
                return SAY(c, "MAIL FROM:" SENDER "\r\n", TO_MAIL);
        return SAY(c, ENVELOPE, TO_MAIL, TO_RCPT, TO_DATA);
}

/* A whole reply with code came to c: the conversation goes on. */
static int answered(struct run *run, struct conn *c, int code, const char *line)
{
        if (c->n_pending == 0) {
                fprintf(stderr, "a reply nobody asked for: %s\n", line);
                return -EPROTO;
        }
        enum answer a = c->pending[c->head];
        c->head = (c->head + 1) % MAX_PENDING;
        c->n_pending--;
        if (code != expected_code[a]) {
                fprintf(stderr, "%s: %d expected, the server said: %s\n", answer_name[a],
                        expected_code[a], line);
                return -EPROTO;
        }
        switch (a) {
        case TO_GREETING:
                return SAY(c, "EHLO probe.example.org\r\n", TO_EHLO);
        case TO_EHLO:
                if (run->way != LOCK_STEP && !c->pipelining) {
                        fprintf(stderr, "the server does not offer PIPELINING\n");
                        return -EPROTO;
                }
                return start_next(run, c);
        case TO_MAIL:
                return run->way == LOCK_STEP ? SAY(c, "RCPT TO:" RECIPIENT "\r\n", TO_RCPT) : 0;
        case TO_RCPT:
                return run->way == LOCK_STEP ? SAY(c, "DATA\r\n", TO_DATA) : 0;
        case TO_DATA: {
                enum answer dot = TO_DOT;
                int r = say(c, run->data, run->data_len, 1, &dot);
                if (r < 0 || run->way != PIPELINED_NEXT)
                        return r;
                return start_next(run, c);
        }
        case TO_DOT:
                run->delivered++;
                return run->way == PIPELINED_NEXT ? 0 : start_next(run, c);
        case TO_QUIT:
                close(c->fd);
                c->fd = -1;
                return 0;
        }
        return -EINVAL;
}

/* Reads what came and acts on each reply that is complete. */
static int receive(struct run *run, struct conn *c)
{
        ssize_t k = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len - 1, 0);
        if (k < 0)
                return errno == EAGAIN ? 0 : -errno;
        if (k == 0) {
                fprintf(stderr, "the server closed a connection\n");
                return -ECONNRESET;
        }
        c->in_len += (size_t) k;
        char *line = c->in, *end;
        while (c->fd >= 0 && (end = memchr(line, '\n', c->in_len - (size_t) (line - c->in)))) {
                *end = '\0';
                char *next = end + 1;
                if (end > line && end[-1] == '\r')
                        end[-1] = '\0';
                if (strlen(line) < 3 || line[0] < '2' || line[0] > '5') {
                        fprintf(stderr, "not a reply: %s\n", line);
                        return -EPROTO;
                }
                /* An EHLO keyword: "250-PIPELINING" (or "250 PIPELINING"). */
                if (strlen(line) >= 14 && strncasecmp(line + 4, "PIPELINING", 10) == 0 &&
                    (line[14] == '\0' || line[14] == ' '))
                        c->pipelining = true;
                if (line[3] != '-') {
                        int r = answered(run, c, atoi(line), line);
                        if (r < 0)
                                return r;
                }
                line = next;
        }
        c->in_len -= (size_t) (line - c->in);
        memmove(c->in, line, c->in_len);
        if (c->in_len == sizeof(c->in) - 1) {
                fprintf(stderr, "a reply line longer than %zu bytes\n", sizeof(c->in));
                return -EPROTO;
        }
        return 0;
}

static int connect_to(const struct addrinfo *ai)
{
        _cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
            fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
                return -errno;
        int ret = fd;
        fd = -1;
        return ret;
}

/* The three ways on plain sockets: one poll() loop over all connections. */
static int run_sockets(struct run *run, const struct addrinfo *ai, unsigned n_conns)
{
        struct conn conns[MAX_CONNECTIONS] = {};
        struct pollfd fds[MAX_CONNECTIONS];
        unsigned which[MAX_CONNECTIONS];
        int r = 0;

        for (unsigned i = 0; i < n_conns; i++)
                conns[i].fd = -1;
        for (unsigned i = 0; i < n_conns && r >= 0; i++) {
                conns[i].fd = r = connect_to(ai);
                conns[i].pending[0] = TO_GREETING;
                conns[i].n_pending = 1;
        }
        while (r >= 0) {
                nfds_t n = 0;
                for (unsigned i = 0; i < n_conns; i++) {
                        if (conns[i].fd < 0)
                                continue;
                        fds[n] = (struct pollfd){
                            .fd = conns[i].fd,
                            .events = POLLIN | (conns[i].out_len ? POLLOUT : 0),
                        };
                        which[n++] = i;
                }
                if (n == 0)
                        break;
                r = poll(fds, n, POLL_TIMEOUT_MS);
                if (r <= 0) {
                        r = r < 0 ? -errno : -ETIMEDOUT;
                        break;
                }
                for (nfds_t i = 0; i < n && r >= 0; i++) {
                        struct conn *c = &conns[which[i]];
                        if (fds[i].revents & POLLOUT)
                                r = flush_out(c);
                        if (r >= 0 && fds[i].revents & (POLLIN | POLLERR | POLLHUP))
                                r = receive(run, c);
                }
        }
        for (unsigned i = 0; i < n_conns; i++)
                closep(&conns[i].fd);
        return r < 0 ? r : 0;
}

/* libcurl: what the smtp transport sets for a message on a plain
 * connection, and its debug callback that sees every line. */
struct upload {
        CURL *easy;
        struct curl_slist *rcpt;
        size_t offset;
        const struct run *run;
};

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct upload *u = userdata;
        size_t n = size * nitems, left = u->run->data_len - u->offset;
        if (n > left)
                n = left;
        memcpy(buf, u->run->data + u->offset, n);
        u->offset += n;
        return n;
}

static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        unsigned *lines = userdata;
        if (type == CURLINFO_HEADER_IN)
                (*lines)++;
        return 0;
}

static int upload_start(CURLM *multi, struct upload *u, const char *url, unsigned *lines)
{
        CURLcode k = CURLE_OK;
        u->offset = 0;
        u->easy = curl_easy_init();
        u->rcpt = curl_slist_append(NULL, RECIPIENT);
        if (!u->easy || !u->rcpt)
                return -ENOMEM;
#define SET(opt, val)                                                                              \
        do {                                                                                       \
                if (k == CURLE_OK)                                                                 \
                        k = curl_easy_setopt(u->easy, opt, val);                                   \
        } while (0)
        SET(CURLOPT_URL, url);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, 30L);
        SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, 300L);
        SET(CURLOPT_USE_SSL, (long) CURLUSESSL_NONE);
        SET(CURLOPT_DEBUGFUNCTION, debug_cb);
        SET(CURLOPT_DEBUGDATA, lines);
        SET(CURLOPT_VERBOSE, 1L);
        SET(CURLOPT_MAIL_FROM, SENDER);
        SET(CURLOPT_MAIL_RCPT, u->rcpt);
        SET(CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_READFUNCTION, read_cb);
        SET(CURLOPT_READDATA, u);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t) u->run->data_len);
        SET(CURLOPT_PRIVATE, u);
#undef SET
        if (k != CURLE_OK || curl_multi_add_handle(multi, u->easy) != CURLM_OK)
                return -EINVAL;
        return 0;
}

static void upload_end(CURLM *multi, struct upload *u)
{
        if (u->easy) {
                curl_multi_remove_handle(multi, u->easy);
                curl_easy_cleanup(u->easy);
        }
        curl_slist_free_all(u->rcpt);
        u->easy = NULL;
        u->rcpt = NULL;
}

static int run_libcurl(struct run *run, const char *host_port, unsigned n_conns)
{
        struct upload uploads[MAX_CONNECTIONS] = {};
        _cleanup_free_ char *url = NULL;
        unsigned lines = 0;
        int running = 0, left, r = 0;
        CURLM *multi = curl_multi_init();

        if (!multi || asprintf(&url, "smtp://%s", host_port) < 0)
                return -ENOMEM;
        curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) n_conns);
        for (unsigned i = 0; i < n_conns && run->started < run->total && r >= 0;
             i++, run->started++) {
                uploads[i].run = run;
                r = upload_start(multi, &uploads[i], url, &lines);
        }
        while (r >= 0 && run->delivered < run->total) {
                if (curl_multi_perform(multi, &running) != CURLM_OK)
                        r = -EIO;
                CURLMsg *msg;
                while (r >= 0 && (msg = curl_multi_info_read(multi, &left))) {
                        struct upload *u = NULL;
                        long code = 0;
                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &u);
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
                        if (msg->data.result != CURLE_OK || code != 250) {
                                fprintf(stderr, "libcurl: %s, last reply %ld\n",
                                        curl_easy_strerror(msg->data.result), code);
                                r = -EPROTO;
                                break;
                        }
                        run->delivered++;
                        upload_end(multi, u);
                        if (run->started < run->total) {
                                run->started++;
                                r = upload_start(multi, u, url, &lines);
                        }
                }
                if (r >= 0 && run->delivered < run->total &&
                    curl_multi_poll(multi, NULL, 0, POLL_TIMEOUT_MS, NULL) != CURLM_OK)
                        r = -EIO;
        }
        for (unsigned i = 0; i < n_conns; i++)
                upload_end(multi, &uploads[i]);
        curl_multi_cleanup(multi); /* QUIT on each connection */
        return r;
}

/* The files in dir; with empty, after removing them. */
static int dump_files(const char *dir, bool empty)
{
        DIR *d = opendir(dir);
        int n = 0;
        if (!d)
                return -errno;
        for (struct dirent *e; (e = readdir(d));) {
                if (e->d_name[0] == '.')
                        continue;
                if (empty && unlinkat(dirfd(d), e->d_name, 0) < 0) {
                        n = -errno;
                        break;
                }
                n++;
        }
        closedir(d);
        return n;
}

static double cpu_seconds(void)
{
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct probe {
        const char *host_port;
        const struct addrinfo *ai;
        const char *dump;
        const char *message;
        size_t body_len;
};

/* count messages one way over n_conns connections; adds the time taken and
 * this process's CPU time to *wall and *cpu. */
static int measure(const struct probe *p, enum way w, unsigned n_conns, unsigned count,
                   double *wall, double *cpu)
{
        struct run run = {
            .way = w,
            .data = p->message,
            .data_len = w == LIBCURL ? p->body_len : p->body_len + 3, /* libcurl adds the dot */
            .total = count,
        };
        int r = p->dump ? dump_files(p->dump, true) : 0;
        if (r < 0)
                return r;
        double t0 = now_seconds(), c0 = cpu_seconds();
        r = w == LIBCURL ? run_libcurl(&run, p->host_port, n_conns)
                         : run_sockets(&run, p->ai, n_conns);
        *wall += now_seconds() - t0;
        *cpu += cpu_seconds() - c0;
        if (r < 0)
                return r;
        if (run.delivered != count) {
                fprintf(stderr, "%u of %u messages accepted\n", run.delivered, count);
                return -EPROTO;
        }
        int in_sink = p->dump ? dump_files(p->dump, false) : (int) count;
        if (in_sink != (int) count) {
                fprintf(stderr, "the dump directory has %d files, not %u\n", in_sink, count);
                return -EPROTO;
        }
        return 0;
}

/* The ways take turns, ROUNDS times, in a rotating order: other work on the
 * machine then falls on all of them alike. */
static int compare(const struct probe *p, unsigned n_conns, unsigned total)
{
        double wall[N_WAYS] = {}, cpu[N_WAYS] = {};
        int r = 0;

        printf("%u connection%s:\n", n_conns, n_conns == 1 ? "" : "s");
        for (unsigned round = 0; round < ROUNDS && r >= 0; round++) {
                unsigned count = total / ROUNDS + (round == 0 ? total % ROUNDS : 0);
                for (unsigned i = 0; i < N_WAYS && r >= 0; i++) {
                        enum way w = (round + i) % N_WAYS;
                        r = measure(p, w, n_conns, count, &wall[w], &cpu[w]);
                }
        }
        if (r < 0)
                return r;
        for (enum way w = 0; w < N_WAYS; w++)
                printf("  %-50s %7.3f s %6.0f msg/s %5.2fx  client CPU %5.1f us/msg\n", way_name[w],
                       wall[w], total / wall[w], wall[LOCK_STEP] / wall[w], cpu[w] * 1e6 / total);
        fflush(stdout);
        return 0;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: smtp-pipelining-probe [-d DUMP_DIR] HOST:PORT [N] [CONNECTIONS...]\n");
        return 2;
}

int main(int argc, char **argv)
{
        struct probe p = {};
        int opt;

        while ((opt = getopt(argc, argv, "d:")) != -1) {
                if (opt != 'd')
                        return usage();
                p.dump = optarg;
        }
        if (optind >= argc)
                return usage();
        p.host_port = argv[optind++];
        unsigned total = optind < argc ? (unsigned) strtoul(argv[optind++], NULL, 10) : 10000;
        unsigned conn_list[16] = {4, 1}, n_lists = 2;
        if (optind < argc)
                for (n_lists = 0; optind < argc && n_lists < ELEMENTSOF(conn_list);)
                        conn_list[n_lists++] = (unsigned) strtoul(argv[optind++], NULL, 10);
        for (unsigned i = 0; i < n_lists; i++)
                if (conn_list[i] < 1 || conn_list[i] > MAX_CONNECTIONS)
                        return usage();
        if (total < ROUNDS)
                return usage();

        _cleanup_free_ char *host = strdup(p.host_port);
        char *colon = host ? strrchr(host, ':') : NULL;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        if (!colon)
                return usage();
        *colon = '\0';
        int r = getaddrinfo(host, colon + 1, &hints, &ai);
        if (r != 0) {
                fprintf(stderr, "%s: %s\n", p.host_port, gai_strerror(r));
                return 1;
        }
        p.ai = ai;
        _cleanup_free_ char *message = make_message(&p.body_len);
        p.message = message;
        if (!message || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return 1;

        printf("%u messages of %d bytes to %s each way, connections kept between messages; "
               "the ways take turns in %d rounds; ratio: lock-step's time / the way's\n",
               total, MESSAGE_SIZE, p.host_port, ROUNDS);
        for (unsigned l = 0; l < n_lists && r >= 0; l++)
                r = compare(&p, conn_list[l], total);
        if (p.dump)
                dump_files(p.dump, true);
        freeaddrinfo(ai);
        curl_global_cleanup();
        if (r < 0) {
                fprintf(stderr, "smtp-pipelining-probe: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
