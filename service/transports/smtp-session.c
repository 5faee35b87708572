/* An SMTP session of our own on a connection libcurl opened (see
 * smtp-session.h). */
#include "smtp-session.h"

#include <strings.h>
#include <sys/epoll.h>

#include "curl-event.h"
#include "curl-logon.h"
#include "curl-session.h"
#include "log.h"
#include "utf8.h"

/* How long a reply may take (libcurl's own transfers waited as long). */
#define REPLY_TIMEOUT_USEC (300 * USEC_PER_SEC)
/* A reply line longer than RFC 5321's 512 keeps its start. */
#define LINE_MAX_SIZE 1024
/* Reads per wakeup: a server that never stops talking cannot hold the loop. */
#define READS_PER_WAKEUP 16

struct smtp_session {
        struct transport *t;
        const struct smtp_session_events *events;
        void *userdata;
        char *host_port; /* "host:port", for sentences a person reads */
        struct curl_event *curl;
        CURL *easy;
        bool open; /* connected and logged on */
        struct curl_logon logon;
        char curl_error[CURL_ERROR_SIZE];
        struct smtp_reply said; /* the server's last reply while libcurl spoke */
        struct smtp_caps caps;
        sd_event_source *io;
        sd_event_source *timer; /* the awaited reply's deadline */

        char line[LINE_MAX_SIZE];
        size_t line_size;
        struct smtp_reply reply; /* the reply being read */
        unsigned awaited;        /* replies the commands sent still ask for */

        char *out; /* what the kernel has not taken yet */
        size_t out_size, out_sent;
};

static void session_close(struct smtp_session *s)
{
        s->io = sd_event_source_disable_unref(s->io);
        s->timer = sd_event_source_disable_unref(s->timer);
        curl_logon_cancel(&s->logon);
        if (s->easy) {
                curl_event_remove(s->curl, s->easy);
                curl_easy_cleanup(s->easy);
                s->easy = NULL;
        }
        s->open = false;
        /* out_size and out_sent stay: smtp_session_unsent() is asked after a loss. */
        s->out = mfree(s->out);
        s->awaited = 0;
}

struct smtp_session *smtp_session_free(struct smtp_session *s)
{
        if (!s)
                return NULL;
        session_close(s);
        s->curl = curl_event_free(s->curl);
        free(s->host_port);
        free(s);
        return NULL;
}

const struct smtp_caps *smtp_session_caps(const struct smtp_session *s)
{
        return &s->caps;
}

size_t smtp_session_unsent(const struct smtp_session *s)
{
        return s->out_size - s->out_sent;
}

/* The end of an open session: what (with the server's name before it)
 * and detail, told to the owner. */
static void lost(struct smtp_session *s, const char *what, const char *detail)
{
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "%s %s%s", s->host_port, what, detail) < 0)
                text = NULL;
        session_close(s);
        s->events->lost(s, text ? text : "connection lost", s->userdata);
}

static void arm_deadline(struct smtp_session *s)
{
        if (s->awaited == 0) {
                sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(s->timer, now_monotonic_usec() + REPLY_TIMEOUT_USEC);
        sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* Hands the kernel what it takes of s->out; EPOLLOUT is watched until all
 * of it is gone. */
static int flush_out(struct smtp_session *s)
{
        int r = curl_session_send(s->easy, s->out, s->out_size, &s->out_sent);
        if (r < 0)
                return r;
        bool done = r == 0;
        if (done) {
                s->out = mfree(s->out);
                s->out_size = s->out_sent = 0;
        }
        return sd_event_source_set_io_events(s->io, EPOLLIN | (done ? 0 : EPOLLOUT));
}

int smtp_session_send(struct smtp_session *s, const char *data, size_t size, unsigned replies)
{
        if (!s->open)
                return -ENOTCONN;
        size_t left = s->out_size - s->out_sent;
        char *out = malloc(left + size);
        if (!out)
                return -ENOMEM;
        if (left > 0)
                memcpy(out, s->out + s->out_sent, left);
        memcpy(out + left, data, size);
        free(s->out);
        s->out = out;
        s->out_size = left + size;
        s->out_sent = 0;
        bool was_waiting = s->awaited > 0;
        s->awaited += replies;
        if (!was_waiting)
                arm_deadline(s);
        return flush_out(s);
}

/* A whole line of a reply (without its line end). */
static int reply_line(struct smtp_session *s, const char *line, size_t size)
{
        smtp_reply_feed(&s->reply, line, size);
        /* "250-" goes on; "250 " or a bare "250" ends the reply. */
        if (size >= 4 && line[3] == '-')
                return 0;
        struct smtp_reply r = s->reply;
        s->reply = (struct smtp_reply){};
        if (s->awaited == 0) {
                /* Unasked: a server closing (421, RFC 5321 3.8) or confused. */
                lost(s, "closed the session: ", r.text);
                return -ECANCELED;
        }
        s->awaited--;
        arm_deadline(s);
        /* A 421 answers the command (the message is not taken) and then
         * ends the session. */
        s->events->reply(s, &r, s->userdata);
        /* The callee may have closed the session. */
        if (!s->open)
                return -ECANCELED;
        if (r.code == 421) {
                lost(s, "closed the session: ", r.text);
                return -ECANCELED;
        }
        return 0;
}

static int io_cb(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct smtp_session *s = userdata;
        if ((revents & EPOLLOUT) && s->out && flush_out(s) < 0) {
                lost(s, "lost the connection: ", "cannot send");
                return 0;
        }
        for (unsigned n = 0; n < READS_PER_WAKEUP && s->open; n++) {
                char buf[16384];
                size_t got = 0;
                CURLcode k = curl_easy_recv(s->easy, buf, sizeof(buf), &got);
                if (k == CURLE_AGAIN)
                        return 0;
                if (k != CURLE_OK || got == 0) {
                        lost(s, "lost the connection: ",
                             k != CURLE_OK ? curl_easy_strerror(k) : "closed by the server");
                        return 0;
                }
                for (size_t i = 0; i < got; i++) {
                        if (buf[i] != '\n') {
                                if (s->line_size < sizeof(s->line))
                                        s->line[s->line_size++] = buf[i];
                                continue;
                        }
                        size_t size = s->line_size;
                        if (size > 0 && s->line[size - 1] == '\r')
                                size--;
                        s->line_size = 0;
                        if (reply_line(s, s->line, size) < 0)
                                return 0;
                }
        }
        return 0;
}

static int timer_cb(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct smtp_session *s = userdata;
        lost(s, "did not answer in time", "");
        return 0;
}

/* libcurl's conversation until the session is ours: the EHLO reply's
 * offers, the last reply, the logon's mechanism. */
static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        struct smtp_session *s = userdata;
        if (type == CURLINFO_HEADER_OUT) {
                curl_logon_see_line(&s->logon, data, size);
                /* After STARTTLS the server offers anew. */
                if (size >= 4 && strncasecmp(data, "EHLO", 4) == 0)
                        s->caps = (struct smtp_caps){};
        } else if (type == CURLINFO_HEADER_IN) {
                smtp_caps_feed(&s->caps, data, size);
                s->said = (struct smtp_reply){};
                smtp_reply_feed(&s->said, data, size);
        }
        return 0;
}

static void opened_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct smtp_session *s = userdata;
        if (curl_logon_retry(&s->logon, result))
                return; /* easy goes again once the new secret is here */
        if (result != CURLE_OK) {
                _cleanup_free_ char *text = NULL;
                enum mapi_error code = curl_session_failure(easy, result, s->host_port,
                                                            s->curl_error, s->said.text, &text);
                if (!code) {
                        code = MAPI_E_CALL_FAILED;
                        if (asprintf(&text, "%s refused the session: %s", s->host_port,
                                     s->said.text[0]    ? s->said.text
                                     : s->curl_error[0] ? s->curl_error
                                                        : curl_easy_strerror(result)) < 0)
                                text = NULL;
                }
                /* It has left the multi handle. */
                curl_easy_cleanup(easy);
                s->easy = NULL;
                struct smtp_reply said = s->said;
                session_close(s);
                s->events->opened(s, code, &said, text ? text : "cannot open a session",
                                  s->userdata);
                return;
        }
        if (s->logon.mechanism[0])
                transport_logged_on(s->t, s->logon.mechanism);
        curl_socket_t fd = CURL_SOCKET_BAD;
        int r = -EBADF;
        if (curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
            fd != CURL_SOCKET_BAD)
                r = sd_event_add_io(s->t->env.event, &s->io, fd, EPOLLIN, io_cb, s);
        if (r >= 0)
                r = sd_event_add_time(s->t->env.event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX,
                                      USEC_PER_SEC, timer_cb, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        if (r < 0) {
                session_close(s);
                s->events->opened(s, MAPI_E_CALL_FAILED, &(struct smtp_reply){},
                                  "cannot watch the connection", s->userdata);
                return;
        }
        (void) sd_event_source_set_description(s->io, "smtp-session");
        (void) sd_event_source_set_description(s->timer, "smtp-session-timer");
        s->open = true;
        s->events->opened(s, MAPI_OK, &s->said, NULL, s->userdata);
}

static void logon_go(struct curl_logon *l, const char *error)
{
        struct smtp_session *s = container_of(l, struct smtp_session, logon);
        if (!error && curl_event_add_connect_only(s->curl, s->easy, opened_cb, s) >= 0)
                return;
        session_close(s);
        s->events->opened(s, error ? MAPI_E_LOGON_FAILED : MAPI_E_CALL_FAILED,
                          &(struct smtp_reply){}, error ? error : "cannot start the connection",
                          s->userdata);
}

int smtp_session_open(struct transport *t, const struct smtp_session_events *events, void *userdata,
                      struct smtp_session **ret)
{
        _cleanup_(smtp_session_freep) struct smtp_session *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->t = t;
        s->events = events;
        s->userdata = userdata;
        int r = curl_session_host_port(t->config->server, &s->host_port);
        if (r >= 0)
                r = curl_event_new(t->env.event, &s->curl);
        if (r < 0)
                return r;
        s->easy = curl_event_easy_new(s->curl);
        if (!s->easy)
                return -ENOMEM;
        s->logon = (struct curl_logon){
            .easy = s->easy,
            .source = t->secret,
            .config = t->config,
            .go = logon_go,
        };
        r = curl_session_setup(s->easy, t->config, NULL, s->curl_error);
        CURLcode k = r < 0 ? CURLE_OUT_OF_MEMORY : CURLE_OK;
        if (k == CURLE_OK)
                k = curl_easy_setopt(s->easy, CURLOPT_DEBUGFUNCTION, debug_cb);
        if (k == CURLE_OK)
                k = curl_easy_setopt(s->easy, CURLOPT_DEBUGDATA, s);
        if (k == CURLE_OK)
                k = curl_easy_setopt(s->easy, CURLOPT_VERBOSE, 1L); /* feeds debug_cb only */
        if (r >= 0 && k != CURLE_OK)
                r = -ENOMEM;
        if (r < 0)
                return r;
        r = curl_logon_begin(&s->logon);
        if (r < 0)
                return r;
        if (r > 0) {
                r = curl_event_add_connect_only(s->curl, s->easy, opened_cb, s);
                if (r < 0)
                        return r;
        }
        /* r == 0: logon_go() goes on once the secret is here. */
        *ret = TAKE_PTR(s);
        return 0;
}

void smtp_session_end(struct smtp_session *s, bool quit)
{
        if (quit && s->open && !s->out) {
                size_t n = 0;
                (void) curl_easy_send(s->easy, "QUIT\r\n", 6, &n);
        }
        session_close(s);
}
