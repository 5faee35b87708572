/* IDLE for an imap transport (see imap-idle.h).
 *
 * libcurl has no IDLE, but with CURLOPT_CONNECT_ONLY it connects, does TLS
 * or STARTTLS and the logon, and stops: the session's TLS, trust settings,
 * logon mechanisms and secrets are the same as every transfer's. On that
 * session we send CAPABILITY, EXAMINE (read-only: waiting changes nothing on
 * the server) and IDLE with curl_easy_send(), and read with curl_easy_recv()
 * when the loop finds the socket readable. While idling nothing wakes the
 * daemon but the server: no timer runs except the one that renews IDLE
 * before a server's 30 minutes of patience end (RFC 2177), and TCP
 * keepalives, which the kernel sends, find a peer that vanished.
 *
 * Any failure (no connection, logon refused, BYE, the connection closed, no
 * answer in time) closes the session and opens a new one after a back-off
 * that doubles up to five minutes; once the new one idles, a download
 * fetches what came meanwhile. */
#include "imap-idle.h"

#include <sys/epoll.h>

#include "curl-event.h"
#include "curl-logon.h"
#include "curl-session.h"
#include "imap-lines.h"
#include "log.h"
#include "utf8.h"

/* How long a command may wait for its answer. */
#define COMMAND_TIMEOUT_USEC (60 * USEC_PER_SEC)
/* IDLE is renewed this often: RFC 2177 has servers log out after 30 minutes. */
#define RENEW_USEC       (25 * 60 * USEC_PER_SEC)
#define RETRY_FIRST_USEC (1 * USEC_PER_SEC)
#define RETRY_MAX_USEC   (300 * USEC_PER_SEC)
/* A session that idled this long was good: the next failure's back-off
 * starts from the first again. */
#define STEADY_USEC (60 * USEC_PER_SEC)
/* TCP keepalive: probes after this many seconds of silence, then apart. */
#define KEEPALIVE_IDLE_SEC     120L
#define KEEPALIVE_INTERVAL_SEC 30L
/* Reads per wakeup: a server that never stops talking cannot hold the loop. */
#define READS_PER_WAKEUP 64

enum idle_step {
        STEP_CLOSED,      /* not wanted: Idle=no, offline or stopping */
        STEP_CONNECTING,  /* libcurl connects and logs on */
        STEP_CAPABILITY,  /* CAPABILITY sent */
        STEP_EXAMINE,     /* EXAMINE sent */
        STEP_IDLE,        /* IDLE sent, its "+" awaited */
        STEP_IDLING,      /* the server tells us of new mail */
        STEP_DONE,        /* DONE sent (to renew), IDLE's OK awaited */
        STEP_WAITING,     /* after a failure, until the back-off ends */
        STEP_NOT_OFFERED, /* the server has no IDLE: the transport polls */
};

struct imap_idle {
        struct transport *t;
        struct curl_event *curl; /* a multi handle of its own: its session is never reused */
        CURL *easy;
        struct curl_logon logon;
        char curl_error[CURL_ERROR_SIZE];
        char server_said[256];
        char *host_port;
        enum idle_step step;
        sd_event_source *io;    /* the session's socket, once connected */
        sd_event_source *timer; /* back-off, a command's deadline, IDLE's renewal */
        struct imap_line_reader reader;
        unsigned tag_number;
        char tag[16];        /* of the command waiting for its answer */
        char idle_tag[16];   /* of the IDLE in progress */
        bool idle_offered;   /* CAPABILITY named IDLE */
        uint64_t exists;     /* messages in the mailbox, as the server last said */
        uint64_t retry_usec; /* the next back-off */
        uint64_t idling_since;
        char *out; /* a command not yet sent whole */
        size_t out_size, out_sent;
};

static void session_close(struct imap_idle *i)
{
        i->io = sd_event_source_disable_unref(i->io);
        sd_event_source_set_enabled(i->timer, SD_EVENT_OFF);
        curl_logon_cancel(&i->logon);
        if (i->easy) {
                curl_event_remove(i->curl, i->easy);
                curl_easy_cleanup(i->easy);
                i->easy = NULL;
        }
        i->out = mfree(i->out);
        i->out_size = i->out_sent = 0;
        i->reader = (struct imap_line_reader){0};
        i->tag[0] = i->idle_tag[0] = '\0';
}

static void timer_in(struct imap_idle *i, uint64_t usec)
{
        sd_event_source_set_time(i->timer, now_monotonic_usec() + usec);
        sd_event_source_set_enabled(i->timer, SD_EVENT_ONESHOT);
}

/* The session failed: a new one after the back-off. */
static void session_failed(struct imap_idle *i, const char *why)
{
        struct transport *t = i->t;
        if (i->step == STEP_IDLING && now_monotonic_usec() - i->idling_since >= STEADY_USEC)
                i->retry_usec = RETRY_FIRST_USEC;
        session_close(i);
        i->step = STEP_WAITING;
        log_warning("transport \"%s\": waiting for new mail failed: %s; trying again in %" PRIu64
                    " s",
                    t->config->id, why, i->retry_usec / USEC_PER_SEC);
        timer_in(i, i->retry_usec);
        i->retry_usec = i->retry_usec * 2 < RETRY_MAX_USEC ? i->retry_usec * 2 : RETRY_MAX_USEC;
        transport_push_changed(t, TRANSPORT_PUSH_RETRYING, why);
}

/* Sends what is left of i->out; EPOLLOUT is watched until it is gone. */
static int send_pending(struct imap_idle *i)
{
        int r = curl_session_send(i->easy, i->out, i->out_size, &i->out_sent);
        if (r < 0)
                return r;
        bool done = r == 0;
        if (done) {
                i->out = mfree(i->out);
                i->out_size = i->out_sent = 0;
        }
        return sd_event_source_set_io_events(i->io, EPOLLIN | (done ? 0 : EPOLLOUT));
}

/* Sends text as it is (DONE), or as a command with a new tag (tagged). */
static int send_line(struct imap_idle *i, const char *text, bool tagged)
{
        if (i->out)
                return -EBUSY; /* one command at a time, each answered before the next */
        if (tagged)
                snprintf(i->tag, sizeof(i->tag), "m%u", ++i->tag_number);
        int n = tagged ? asprintf(&i->out, "%s %s\r\n", i->tag, text)
                       : asprintf(&i->out, "%s\r\n", text);
        if (n < 0) {
                i->out = NULL;
                return -ENOMEM;
        }
        i->out_size = (size_t) n;
        i->out_sent = 0;
        timer_in(i, COMMAND_TIMEOUT_USEC);
        return send_pending(i);
}

static void command(struct imap_idle *i, enum idle_step step, const char *text)
{
        i->step = step;
        int r = send_line(i, text, true);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "%s: cannot send: %s", i->host_port, strerror(-r)) < 0)
                        why = NULL;
                session_failed(i, why ? why : "cannot send");
        }
}

static void idling(struct imap_idle *i)
{
        struct transport *t = i->t;
        i->step = STEP_IDLING;
        timer_in(i, RENEW_USEC);
        if (i->idling_since != 0)
                return; /* renewed: the server told of all that came meanwhile */
        i->idling_since = now_monotonic_usec();
        log_info("transport \"%s\": waiting for new mail in %s with IDLE", t->config->id,
                 t->config->mailbox);
        transport_push_changed(t, TRANSPORT_PUSH_ON, NULL);
        /* What came while there was no session (or before the first). */
        transport_new_mail(t);
}

/* A tagged answer to the command of the step at hand. */
static void tagged(struct imap_idle *i, bool ok, const char *line)
{
        struct transport *t = i->t;
        _cleanup_free_ char *why = NULL, *examine = NULL;
        switch (i->step) {
        case STEP_CAPABILITY:
                if (!ok)
                        break;
                if (!i->idle_offered) {
                        session_close(i);
                        i->step = STEP_NOT_OFFERED;
                        log_info("transport \"%s\": %s offers no IDLE; PollInterval it is",
                                 t->config->id, i->host_port);
                        transport_push_changed(t, TRANSPORT_PUSH_NOT_OFFERED, NULL);
                        return;
                }
                /* config.c lets no '"' or '\' into a mailbox name. */
                if (asprintf(&examine, "EXAMINE \"%s\"", t->config->mailbox) < 0) {
                        session_failed(i, "out of memory");
                        return;
                }
                command(i, STEP_EXAMINE, examine);
                return;
        case STEP_EXAMINE:
                if (!ok)
                        break;
                i->idling_since = 0;
                command(i, STEP_IDLE, "IDLE");
                snprintf(i->idle_tag, sizeof(i->idle_tag), "%s", i->tag);
                return;
        case STEP_DONE:
                if (!ok)
                        break;
                command(i, STEP_IDLE, "IDLE");
                snprintf(i->idle_tag, sizeof(i->idle_tag), "%s", i->tag);
                return;
        default:
                /* IDLE ended by the server: refused, or over. */
                break;
        }
        _cleanup_free_ char *said = utf8_make_valid(line);
        if (asprintf(&why, "%s answered \"%s\"", i->host_port, said ? said : "") < 0)
                why = NULL;
        session_failed(i, why ? why : "refused");
}

static int line_cb(const char *line, size_t size, bool overlong, void *userdata)
{
        struct imap_idle *i = userdata;
        struct imap_response res;
        imap_response_read(line, size, i->tag, &res);
        switch (res.kind) {
        case IMAP_RESPONSE_CAPABILITY:
                i->idle_offered = res.idle;
                return 0;
        case IMAP_RESPONSE_EXISTS:
                if (res.number > i->exists &&
                    (i->step == STEP_IDLING || i->step == STEP_DONE || i->step == STEP_IDLE)) {
                        log_debug("transport \"%s\": the server says new mail came (%" PRIu64
                                  " messages)",
                                  i->t->config->id, res.number);
                        i->exists = res.number;
                        transport_new_mail(i->t);
                } else
                        i->exists = res.number;
                return 0;
        case IMAP_RESPONSE_EXPUNGE:
                if (i->exists > 0)
                        i->exists--;
                return 0;
        case IMAP_RESPONSE_CONTINUE:
                if (i->step != STEP_IDLE)
                        return 0;
                i->tag[0] = '\0'; /* IDLE's OK comes only after our DONE */
                idling(i);
                return 0;
        case IMAP_RESPONSE_BYE: {
                _cleanup_free_ char *said = utf8_make_valid(line), *why = NULL;
                if (asprintf(&why, "%s ended the session: \"%s\"", i->host_port, said ? said : "") <
                    0)
                        why = NULL;
                session_failed(i, why ? why : "the server ended the session");
                break;
        }
        case IMAP_RESPONSE_TAGGED:
                tagged(i, res.ok, line);
                break;
        case IMAP_RESPONSE_OTHER:
                break;
        }
        /* Closed (failed, or no IDLE offered): nothing more to read. */
        return i->easy ? 0 : -ECANCELED;
}

static int io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct imap_idle *i = userdata;
        if ((revents & EPOLLOUT) && i->out && send_pending(i) < 0) {
                session_failed(i, "the connection broke while sending");
                return 0;
        }
        for (unsigned n = 0; n < READS_PER_WAKEUP; n++) {
                char buf[16384];
                size_t got = 0;
                CURLcode k = curl_easy_recv(i->easy, buf, sizeof(buf), &got);
                if (k == CURLE_AGAIN)
                        return 0;
                if (k != CURLE_OK || got == 0) {
                        _cleanup_free_ char *why = NULL;
                        if (asprintf(&why, "%s closed the connection%s%s", i->host_port,
                                     k != CURLE_OK ? ": " : "",
                                     k != CURLE_OK ? curl_easy_strerror(k) : "") < 0)
                                why = NULL;
                        session_failed(i, why ? why : "the connection closed");
                        return 0;
                }
                if (imap_line_reader_feed(&i->reader, buf, got, line_cb, i) < 0)
                        return 0; /* the session ended */
        }
        return 0;
}

static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        struct imap_idle *i = userdata;
        if (type == CURLINFO_HEADER_OUT)
                curl_logon_see_line(&i->logon, data, size);
        if (type != CURLINFO_HEADER_IN)
                return 0;
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
                size--;
        utf8_copy_line(i->server_said, sizeof(i->server_said), data, size);
        return 0;
}

static void connected_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct imap_idle *i = userdata;
        struct transport *t = i->t;
        if (curl_logon_retry(&i->logon, result))
                return; /* easy goes again once the new secret is here */
        if (result != CURLE_OK) {
                _cleanup_free_ char *text = NULL;
                enum mapi_error code = curl_session_failure(easy, result, i->host_port,
                                                            i->curl_error, i->server_said, &text);
                if (!code &&
                    asprintf(&text, "%s: %s", i->host_port,
                             i->curl_error[0] ? i->curl_error : curl_easy_strerror(result)) < 0)
                        text = NULL;
                /* It has left the multi handle. */
                curl_easy_cleanup(easy);
                i->easy = NULL;
                session_failed(i, text ? text : "cannot connect");
                return;
        }
        if (i->logon.mechanism[0])
                transport_logged_on(t, i->logon.mechanism);
        curl_socket_t fd = CURL_SOCKET_BAD;
        int r = -EBADF;
        if (curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
            fd != CURL_SOCKET_BAD)
                r = sd_event_add_io(t->env.event, &i->io, fd, EPOLLIN, io_cb, i);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "cannot watch the connection: %s", strerror(-r)) < 0)
                        why = NULL;
                session_failed(i, why ? why : "cannot watch the connection");
                return;
        }
        (void) sd_event_source_set_description(i->io, "imap-idle");
        i->idle_offered = false;
        command(i, STEP_CAPABILITY, "CAPABILITY");
}

static void logon_go(struct curl_logon *l, const char *error)
{
        struct imap_idle *i = container_of(l, struct imap_idle, logon);
        if (error)
                session_failed(i, error);
        else if (curl_event_add_connect_only(i->curl, i->easy, connected_cb, i) < 0)
                session_failed(i, "cannot start the connection");
}

static void session_open(struct imap_idle *i)
{
        struct transport *t = i->t;
        i->step = STEP_CONNECTING;
        i->curl_error[0] = i->server_said[0] = '\0';
        i->easy = curl_event_easy_new(i->curl);
        if (!i->easy) {
                session_failed(i, "out of memory");
                return;
        }
        i->logon = (struct curl_logon){
            .easy = i->easy,
            .source = t->secret,
            .config = t->config,
            .go = logon_go,
        };
        int r = curl_session_setup(i->easy, t->config, NULL, i->curl_error);
        CURLcode k = r < 0 ? CURLE_OUT_OF_MEMORY : CURLE_OK;
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_DEBUGFUNCTION, debug_cb);
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_DEBUGDATA, i);
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_VERBOSE, 1L); /* feeds debug_cb only */
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_TCP_KEEPIDLE, KEEPALIVE_IDLE_SEC);
        if (k == CURLE_OK)
                k = curl_easy_setopt(i->easy, CURLOPT_TCP_KEEPINTVL, KEEPALIVE_INTERVAL_SEC);
        if (r >= 0 && k != CURLE_OK)
                r = -ENOMEM;
        if (r >= 0)
                r = curl_logon_begin(&i->logon);
        if (r > 0)
                r = curl_event_add_connect_only(i->curl, i->easy, connected_cb, i);
        if (r < 0)
                session_failed(i, "cannot start the connection");
        /* r == 0: logon_go() goes on once the secret is here. */
}

static int timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct imap_idle *i = userdata;
        _cleanup_free_ char *why = NULL;
        switch (i->step) {
        case STEP_CLOSED:
                /* The first look, from the loop once the transport is in place. */
                imap_idle_update(i);
                return 0;
        case STEP_WAITING:
                session_open(i);
                return 0;
        case STEP_IDLING:
                /* Renew IDLE before the server tires of it. */
                i->step = STEP_DONE;
                if (send_line(i, "DONE", false) < 0)
                        session_failed(i, "cannot send DONE");
                else
                        snprintf(i->tag, sizeof(i->tag), "%s", i->idle_tag);
                return 0;
        default:
                if (asprintf(&why, "%s did not answer within %u s", i->host_port,
                             (unsigned) (COMMAND_TIMEOUT_USEC / USEC_PER_SEC)) < 0)
                        why = NULL;
                session_failed(i, why ? why : "no answer");
                return 0;
        }
}

int imap_idle_new(struct transport *t, struct imap_idle **ret)
{
        struct imap_idle *i = calloc(1, sizeof(*i));
        if (!i)
                return -ENOMEM;
        i->t = t;
        i->retry_usec = RETRY_FIRST_USEC;
        int r = curl_session_host_port(t->config->server, &i->host_port);
        if (r >= 0)
                r = curl_event_new(t->env.event, &i->curl);
        if (r >= 0)
                r = sd_event_add_time(t->env.event, &i->timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC,
                                      timer_cb, i);
        if (r >= 0)
                r = sd_event_source_set_enabled(i->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                imap_idle_free(i);
                return r;
        }
        (void) sd_event_source_set_description(i->timer, "imap-idle-timer");
        *ret = i;
        return 0;
}

struct imap_idle *imap_idle_free(struct imap_idle *i)
{
        if (!i)
                return NULL;
        session_close(i);
        i->curl = curl_event_free(i->curl);
        sd_event_source_disable_unref(i->timer);
        free(i->host_port);
        free(i);
        return NULL;
}

void imap_idle_update(struct imap_idle *i)
{
        struct transport *t = i->t;
        bool want = transport_may_connect(t) && t->config->idle;
        if (!want) {
                if (i->step == STEP_CLOSED) {
                        sd_event_source_set_enabled(i->timer, SD_EVENT_OFF);
                        return;
                }
                session_close(i);
                i->step = STEP_CLOSED;
                i->retry_usec = RETRY_FIRST_USEC;
                transport_push_changed(t, TRANSPORT_PUSH_OFF, NULL);
                return;
        }
        if (i->step != STEP_CLOSED && i->step != STEP_WAITING)
                return;
        /* On line again (or for the first time): at once. */
        bool first = i->step == STEP_CLOSED;
        session_close(i);
        i->retry_usec = RETRY_FIRST_USEC;
        if (first)
                transport_push_changed(t, TRANSPORT_PUSH_CONNECTING, NULL);
        session_open(i);
}
