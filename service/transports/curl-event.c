/* libcurl's multi-socket interface driven by sd_event: an I/O source per
 * socket curl wants watched, one timer for curl's own timeouts, and the
 * finished transfers handed back to their owners. libcurl itself (its
 * global state, the TLS library it sets up, the multi handle) is brought up
 * by the first transfer: a daemon whose libcurl transports send nothing
 * never pays for it. */
#include "curl-event.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "log.h"
#include "util.h"

struct transfer {
        CURL *easy;
        curl_event_done_t done;
        void *userdata;
        /* CURLOPT_CONNECT_ONLY: once connected, the handle stays in the multi
         * handle, which would close the connection if it left. */
        bool connect_only, connected;
        struct transfer *prev, *next;
};

struct curl_event {
        sd_event *event;
        CURLM *multi; /* NULL until the first transfer */
        sd_event_source *timer;
        /* curl's "act at once": the next iteration, with no timer to arm
         * (it asks this once or twice per transfer). */
        sd_event_source *at_once;
        struct transfer *transfers;
        long max_connections, connection_cache; /* -1: libcurl's default */
};

static void transfer_unlink(struct curl_event *c, struct transfer *x)
{
        if (x->prev)
                x->prev->next = x->next;
        else
                c->transfers = x->next;
        if (x->next)
                x->next->prev = x->prev;
}

/* Hands every finished transfer back to its owner. */
static void curl_event_collect(struct curl_event *c)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(c->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                CURL *easy = msg->easy_handle;
                CURLcode result = msg->data.result;
                struct transfer *x = NULL;
                curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &x);
                if (x && x->connect_only && result == CURLE_OK) {
                        x->connected = true;
                        x->done(easy, result, x->userdata);
                        continue;
                }
                curl_multi_remove_handle(c->multi, easy);
                if (!x)
                        continue;
                transfer_unlink(c, x);
                curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
                curl_event_done_t done = x->done;
                void *userdata = x->userdata;
                free(x);
                done(easy, result, userdata);
        }
}

static void curl_event_act(struct curl_event *c, curl_socket_t fd, int action)
{
        int running;
        CURLMcode m = curl_multi_socket_action(c->multi, fd, action, &running);
        if (m != CURLM_OK)
                log_warning("curl: %s", curl_multi_strerror(m));
        curl_event_collect(c);
}

static int io_cb(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        int action = 0;
        if (revents & EPOLLIN)
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                action |= CURL_CSELECT_ERR;
        curl_event_act(userdata, fd, action);
        return 0;
}

static int timer_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        curl_event_act(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

static int at_once_cb(sd_event_source *s, void *userdata)
{
        curl_event_act(userdata, CURL_SOCKET_TIMEOUT, 0);
        return 0;
}

/* curl: watch fd for `what`, or stop watching it. */
static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct curl_event *c = userp;
        sd_event_source *io = socketp;

        if (what == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        curl_multi_assign(c->multi, fd, NULL);
                }
                return 0;
        }

        uint32_t events = 0;
        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (io)
                return sd_event_source_set_io_events(io, events) < 0 ? -1 : 0;
        int r = sd_event_add_io(c->event, &io, fd, events, io_cb, c);
        if (r < 0) {
                log_warning("curl: cannot watch socket %d: %s", fd, strerror(-r));
                return -1;
        }
        curl_multi_assign(c->multi, fd, io);
        return 0;
}

/* How late curl's timer may fire. A short timeout paces curl's own work and
 * is kept to the microsecond; a long one (the connect and response
 * timeouts, set anew with every transfer) may be 1% late, so that sd-event
 * keeps the timer it has armed rather than re-arming it for each transfer. */
static uint64_t timer_accuracy_usec(long timeout_ms)
{
        return timeout_ms >= 1000 ? (uint64_t) timeout_ms * 10 : 1;
}

/* curl: wake me in timeout_ms (0: at once, -1: never). */
static int timer_set_cb(CURLM *multi, long timeout_ms, void *userp)
{
        struct curl_event *c = userp;

        if (sd_event_source_set_enabled(c->at_once,
                                        timeout_ms == 0 ? SD_EVENT_ONESHOT : SD_EVENT_OFF) < 0)
                return -1;
        /* "At once" leaves an armed timer be: curl sets it again soon, and
         * if it fired meanwhile curl would find nothing due, whereas
         * disarming and re-arming the same time costs two system calls per
         * transfer. "Never" disarms it, so an idle daemon sleeps. */
        if (timeout_ms == 0)
                return 0;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(c->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        uint64_t now = 0;
        sd_event_now(c->event, CLOCK_MONOTONIC, &now);
        if (sd_event_source_set_time_accuracy(c->timer, timer_accuracy_usec(timeout_ms)) < 0 ||
            sd_event_source_set_time(c->timer, now + (uint64_t) timeout_ms * 1000) < 0 ||
            sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

int curl_event_new(sd_event *event, struct curl_event **ret)
{
        struct curl_event *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->event = sd_event_ref(event);
        c->max_connections = c->connection_cache = -1;
        /* Accuracy 1 µs until timer_set_cb() says otherwise: sd-event's
         * default (0 means 250 ms) would hold curl back by up to a quarter
         * second. */
        int r = sd_event_add_time(event, &c->timer, CLOCK_MONOTONIC, UINT64_MAX, 1, timer_cb, c);
        if (r < 0) {
                curl_event_free(c);
                return r;
        }
        sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        r = sd_event_add_defer(event, &c->at_once, at_once_cb, c);
        if (r < 0) {
                curl_event_free(c);
                return r;
        }
        sd_event_source_set_enabled(c->at_once, SD_EVENT_OFF);
        *ret = c;
        return 0;
}

/* libcurl's global set-up, once. curl_global_init() must not run while
 * another thread uses the libraries it sets up (the TLS library and the
 * like): the daemon's other thread, the store's checkpointer, runs SQLite
 * alone, and libcurl starts its resolver threads only for transfers, which
 * come after this. */
static int curl_global_init_once(void)
{
        static bool done = false;
        if (!done) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                        return -ENOMEM;
                done = true;
        }
        return 0;
}

/* The multi handle, made on first use. */
static int curl_event_multi(struct curl_event *c)
{
        if (c->multi)
                return 0;
        int r = curl_global_init_once();
        if (r < 0)
                return r;
        c->multi = curl_multi_init();
        if (!c->multi)
                return -ENOMEM;
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_set_cb);
        curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
        if (c->max_connections >= 0)
                curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->max_connections);
        if (c->connection_cache >= 0)
                curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->connection_cache);
        return 0;
}

CURL *curl_event_easy_new(struct curl_event *c)
{
        return curl_event_multi(c) < 0 ? NULL : curl_easy_init();
}

struct curl_event *curl_event_free(struct curl_event *c)
{
        if (!c)
                return NULL;
        while (c->transfers) {
                struct transfer *x = c->transfers;
                transfer_unlink(c, x);
                curl_multi_remove_handle(c->multi, x->easy);
                curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
                free(x);
        }
        if (c->multi)
                curl_multi_cleanup(c->multi);
        sd_event_source_disable_unref(c->timer);
        sd_event_source_disable_unref(c->at_once);
        sd_event_unref(c->event);
        free(c);
        return NULL;
}

void curl_event_set_max_connections(struct curl_event *c, unsigned max)
{
        c->max_connections = (long) max;
        if (c->multi)
                curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, c->max_connections);
}

void curl_event_set_connection_cache(struct curl_event *c, unsigned max)
{
        c->connection_cache = (long) max;
        if (c->multi)
                curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, c->connection_cache);
}

static int transfer_add(struct curl_event *c, CURL *easy, bool connect_only, curl_event_done_t done,
                        void *userdata)
{
        int r = curl_event_multi(c);
        if (r < 0)
                return r;
        struct transfer *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        *x = (struct transfer){
            .easy = easy, .done = done, .userdata = userdata, .connect_only = connect_only};
        curl_easy_setopt(easy, CURLOPT_PRIVATE, x);
        CURLMcode m = curl_multi_add_handle(c->multi, easy);
        if (m != CURLM_OK) {
                curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
                free(x);
                return m == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
        }
        x->next = c->transfers;
        if (x->next)
                x->next->prev = x;
        c->transfers = x;
        return 0;
}

int curl_event_add(struct curl_event *c, CURL *easy, curl_event_done_t done, void *userdata)
{
        return transfer_add(c, easy, false, done, userdata);
}

int curl_event_add_connect_only(struct curl_event *c, CURL *easy, curl_event_done_t done,
                                void *userdata)
{
        CURLcode k = curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
        if (k != CURLE_OK)
                return -EINVAL;
        return transfer_add(c, easy, true, done, userdata);
}

void curl_event_remove(struct curl_event *c, CURL *easy)
{
        struct transfer *x = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &x);
        if (!x)
                return;
        transfer_unlink(c, x);
        curl_multi_remove_handle(c->multi, easy);
        curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
        free(x);
}
