/* The smtp kind: up to MaxConnections SMTP sessions of our own
 * (smtp-session.c: libcurl opens them, with TLS and the logon), each
 * carrying message after message and closed after a minute unused. Per
 * message: MAIL FROM with what the server offers and the message needs
 * (SIZE=, BODY=8BITMIME, SMTPUTF8), one RCPT TO per recipient, DATA; with
 * PIPELINING (RFC 2920) all of them in one write, else each after the
 * reply to the one before. Then the message with dots doubled. What a
 * server's reply means for the message (sent, retry later, give up) is
 * decided here; retries and reports live in transport.c, flush rounds in
 * spool/flush.c. */

#include "curl-session.h"
#include "log.h"
#include "smtp-session.h"
#include "transport.h"

/* A session unused this long is closed. */
#define IDLE_CLOSE_USEC (60 * USEC_PER_SEC)

struct smtp_conn;

struct smtp_delivery {
        struct transport *t;
        uint64_t id;
        bool check; /* ValidateState's NOOP, not a message */
        struct smtp_conn *conn;
        char *from;
        char *dsn_notify, *dsn_return, *dsn_envid; /* "" when not asked for */
        char **rcpt_address;
        size_t n_rcpt;
        struct smtp_reply *rcpt; /* each recipient's reply to RCPT TO */
        /* The refusal of MAIL FROM or DATA, which decides the message's
         * fate when no reply after the data does. */
        struct smtp_reply refusal;
        bool mail_taken;
        char *data; /* DATA's text: CRLF, dots doubled, ".\r\n" */
        size_t data_size;
        struct smtp_data_traits traits;
        bool pipelined;
        size_t replied;   /* replies read in this transaction */
        bool abandoned;   /* 354 came with nobody to send to: the data is empty */
        bool data_handed; /* the data and its final "." were handed to the session */
        struct smtp_delivery *prev, *next; /* waiting for a session */
};

struct smtp_conn {
        struct transport *t;
        struct smtp_session *session;
        bool open;
        struct smtp_delivery *x; /* the transaction (or check) at hand */
        unsigned swallow;        /* replies to a RSET, not a transaction's */
        sd_event_source *idle_timer;
        struct smtp_conn *prev, *next;
};

struct smtp_driver {
        char *host_port; /* "host:port", for sentences a person reads */
        struct smtp_conn *conns;
        size_t n_conns;
        struct smtp_delivery *waiting, *waiting_last;
        /* Sessions ended, to be freed from the loop: never inside one of
         * their own events. */
        struct smtp_session **dead;
        size_t n_dead;
        sd_event_source *reap;
};

static struct smtp_driver *driver(struct transport *t)
{
        return t->driver;
}

static void waiting_unlink(struct smtp_driver *d, struct smtp_delivery *x)
{
        if (x->prev)
                x->prev->next = x->next;
        else if (d->waiting == x)
                d->waiting = x->next;
        if (x->next)
                x->next->prev = x->prev;
        else if (d->waiting_last == x)
                d->waiting_last = x->prev;
        x->prev = x->next = NULL;
}

static void delivery_free(struct smtp_delivery *x)
{
        if (!x)
                return;
        waiting_unlink(driver(x->t), x);
        if (x->conn && x->conn->x == x)
                x->conn->x = NULL;
        free(x->from);
        free(x->dsn_notify);
        free(x->dsn_return);
        free(x->dsn_envid);
        strv_free(x->rcpt_address);
        free(x->rcpt);
        free(x->data);
        free(x);
}

/* Takes c out of use (quit: politely) at once; its session is freed from
 * the loop. */
static void conn_free(struct smtp_conn *c, bool quit)
{
        if (!c)
                return;
        struct smtp_driver *d = driver(c->t);
        if (c->prev)
                c->prev->next = c->next;
        else if (d->conns == c)
                d->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        d->n_conns--;
        if (c->x)
                c->x->conn = NULL;
        sd_event_source_disable_unref(c->idle_timer);
        if (c->session) {
                smtp_session_end(c->session, quit);
                struct smtp_session **more = reallocarray(d->dead, d->n_dead + 1, sizeof(*d->dead));
                if (more) {
                        d->dead = more;
                        d->dead[d->n_dead++] = c->session;
                        sd_event_source_set_enabled(d->reap, SD_EVENT_ONESHOT);
                } else
                        log_error("out of memory: an ended SMTP session is not freed");
        }
        free(c);
}

static int reap_cb(sd_event_source *s, void *userdata)
{
        struct smtp_driver *d = userdata;
        for (size_t i = 0; i < d->n_dead; i++)
                smtp_session_free(d->dead[i]);
        d->dead = mfree(d->dead);
        d->n_dead = 0;
        return 0;
}

static int smtp_init(struct transport *t)
{
        struct smtp_driver *d = driver(t);
        int r = curl_session_host_port(t->config->server, &d->host_port);
        if (r < 0) {
                log_error("transport \"%s\": cannot read the server URL %s", t->config->id,
                          t->config->server);
                return r;
        }
        r = sd_event_add_defer(t->env.event, &d->reap, reap_cb, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->reap, "smtp-reap");
        return sd_event_source_set_enabled(d->reap, SD_EVENT_OFF);
}

static void smtp_done(struct transport *t)
{
        struct smtp_driver *d = driver(t);
        /* Messages in transit stay "sending" in the store and go back to the
         * queue at the next start. */
        while (d->conns) {
                delivery_free(d->conns->x);
                conn_free(d->conns, false);
        }
        while (d->waiting)
                delivery_free(d->waiting);
        reap_cb(NULL, d);
        sd_event_source_disable_unref(d->reap);
        free(d->host_port);
}

static unsigned smtp_max_in_transit(struct transport *t)
{
        return t->config->max_connections > 0 ? t->config->max_connections : 1;
}

/* Recipients the server took share the message's fate; the others have
 * their own reply. */
static void done_per_recipient(struct transport *t, uint64_t id, const struct smtp_delivery *x,
                               enum delivery_outcome message_outcome, const char *text)
{
        _cleanup_free_ struct recipient_outcome *r = calloc(x->n_rcpt, sizeof(*r));
        _cleanup_free_ char *summary = NULL;
        size_t refused = 0;

        if (!r) {
                transport_delivery_done(t, id, DELIVERY_DEFERRED, "out of memory");
                return;
        }
        for (size_t i = 0; i < x->n_rcpt; i++) {
                r[i].address = x->rcpt_address[i];
                r[i].reply = x->rcpt[i].text;
                switch (smtp_reply_class(x->rcpt[i].code)) {
                case SMTP_REPLY_POSITIVE:
                        r[i].outcome = message_outcome;
                        break;
                case SMTP_REPLY_PERMANENT:
                        r[i].outcome = DELIVERY_FAILED;
                        refused++;
                        break;
                default:
                        r[i].outcome = DELIVERY_DEFERRED;
                        refused++;
                        break;
                }
        }
        const char *first = "";
        for (size_t i = 0; i < x->n_rcpt && !first[0]; i++)
                if (smtp_reply_class(x->rcpt[i].code) != SMTP_REPLY_POSITIVE)
                        first = x->rcpt[i].text;
        if (asprintf(&summary, "%s refused %zu of %zu recipients: %s", driver(t)->host_port,
                     refused, x->n_rcpt, first) < 0)
                summary = NULL;
        transport_delivery_done_per_recipient(t, id, r, x->n_rcpt,
                                              message_outcome == DELIVERY_SENT ? summary : text);
}

static bool some_recipient_refused(const struct smtp_delivery *x)
{
        if (!x->mail_taken || x->replied < 1 + x->n_rcpt)
                return false;
        for (size_t i = 0; i < x->n_rcpt; i++)
                if (smtp_reply_class(x->rcpt[i].code) != SMTP_REPLY_POSITIVE)
                        return true;
        return false;
}

static bool some_recipient_taken(const struct smtp_delivery *x)
{
        for (size_t i = 0; i < x->n_rcpt; i++)
                if (smtp_reply_class(x->rcpt[i].code) == SMTP_REPLY_POSITIVE)
                        return true;
        return false;
}

/* The outcome a reply gives the message, and the sentence for it. */
static enum delivery_outcome outcome_of(struct transport *t, const struct smtp_reply *r,
                                        char **ret_text)
{
        const char *where = driver(t)->host_port;
        int k = 0;
        enum delivery_outcome o;
        *ret_text = NULL;
        switch (smtp_reply_class(r->code)) {
        case SMTP_REPLY_POSITIVE:
                return DELIVERY_SENT;
        case SMTP_REPLY_PERMANENT:
                o = DELIVERY_FAILED;
                k = asprintf(ret_text, "%s refused the message: %s", where, r->text);
                break;
        default:
                o = DELIVERY_DEFERRED;
                k = asprintf(ret_text, "%s deferred the message: %s", where, r->text);
                break;
        }
        if (k < 0)
                *ret_text = NULL;
        return o;
}

/* Tells the transport what became of x, which is freed first: the
 * transport may at once hand this driver the next message. */
static void report(struct smtp_delivery *x, enum delivery_outcome outcome, const char *text,
                   bool per_recipient)
{
        struct transport *t = x->t;
        uint64_t id = x->id;
        if (per_recipient) {
                done_per_recipient(t, id, x, outcome, text);
                delivery_free(x);
                return;
        }
        delivery_free(x);
        transport_delivery_done(t, id, outcome, text);
}

static void transaction_start(struct smtp_conn *c);

/* The session could not take x's next command or data: the connection
 * broke before the server could have taken the message. */
static void report_unsent(struct smtp_delivery *x)
{
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "%s lost the connection: cannot send", driver(x->t)->host_port) < 0)
                text = NULL;
        report(x, DELIVERY_DEFERRED, text ? text : "cannot send to the server", false);
}

/* c has nothing to do: the next waiting message, or the idle timer. */
static void conn_available(struct smtp_conn *c)
{
        struct smtp_driver *d = driver(c->t);
        if (d->waiting) {
                struct smtp_delivery *x = d->waiting;
                waiting_unlink(d, x);
                c->x = x;
                x->conn = c;
                sd_event_source_set_enabled(c->idle_timer, SD_EVENT_OFF);
                transaction_start(c);
                return;
        }
        sd_event_source_set_time(c->idle_timer, now_monotonic_usec() + IDLE_CLOSE_USEC);
        sd_event_source_set_enabled(c->idle_timer, SD_EVENT_ONESHOT);
}

/* x's transaction is over; final is the reply to its data, or NULL when
 * it ended before: the message's fate by what the server said. */
static void transaction_end(struct smtp_conn *c, const struct smtp_reply *final)
{
        struct smtp_delivery *x = c->x;
        _cleanup_free_ char *text = NULL;
        enum delivery_outcome outcome;
        int k = 0;

        if (final && !x->abandoned)
                outcome = outcome_of(x->t, final, &text);
        else if (x->refusal.code)
                outcome = outcome_of(x->t, &x->refusal, &text);
        else {
                /* Nobody was taken: each recipient has a refusal of its own. */
                outcome = DELIVERY_FAILED;
                k = asprintf(&text, "%s refused every recipient: %s", driver(x->t)->host_port,
                             x->n_rcpt > 0 ? x->rcpt[0].text : "none given");
        }
        if (k < 0)
                text = NULL;
        bool per_recipient = some_recipient_refused(x);

        /* A transaction the server opened and did not close is reset
         * before the session carries the next. */
        bool reset = x->mail_taken && !final;
        /* 421: the server closes the session (smtp-session.c says so next). */
        bool closing = (final && final->code == 421) || x->refusal.code == 421;
        c->x = NULL;
        x->conn = NULL;
        if (closing)
                conn_free(c, false);
        else if (!reset)
                conn_available(c);
        else if (smtp_session_send(c->session, "RSET\r\n", 6, 1) >= 0)
                c->swallow++;
        else
                conn_free(c, false);
        report(x, outcome, text, per_recipient);
}

static int send_line(struct smtp_conn *c, unsigned replies, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool is_ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s > 127)
                        return false;
        return true;
}

static int send_line(struct smtp_conn *c, unsigned replies, const char *fmt, ...)
{
        _cleanup_free_ char *line = NULL;
        va_list ap;
        va_start(ap, fmt);
        int n = vasprintf(&line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -ENOMEM;
        return smtp_session_send(c->session, line, (size_t) n, replies);
}

/* MAIL FROM with the parameters the server offers and the message needs;
 * written to f. */
static int write_mail(struct smtp_conn *c, struct smtp_delivery *x, FILE *f)
{
        const struct smtp_caps *caps = smtp_session_caps(c->session);
        bool utf8 = x->traits.utf8_headers || !is_ascii(x->from);
        for (size_t i = 0; i < x->n_rcpt && !utf8; i++)
                utf8 = !is_ascii(x->rcpt_address[i]);
        char size[32] = "";
        if (caps->size)
                snprintf(size, sizeof(size), " SIZE=%zu", x->traits.size);
        /* RFC 3461: where the server offers DSN. */
        bool dsn = caps->dsn;
        _cleanup_free_ char *envid = dsn && x->dsn_envid[0] ? xtext_encode(x->dsn_envid) : NULL;
        if (dsn && x->dsn_envid[0] && !envid)
                return -ENOMEM;
        if (fprintf(f, "MAIL FROM:<%s>%s%s%s%s%s%s%s\r\n", x->from, size,
                    x->traits.eight_bit && caps->eight_bit ? " BODY=8BITMIME" : "",
                    utf8 && caps->smtputf8 ? " SMTPUTF8" : "",
                    dsn && x->dsn_return[0] ? " RET=" : "", dsn ? x->dsn_return : "",
                    envid ? " ENVID=" : "", strempty(envid)) < 0)
                return -ENOMEM;
        return 0;
}

/* RCPT TO for recipient i, with NOTIFY and ORCPT where DSN was asked for
 * and the server offers it; written to f. */
static int write_rcpt(struct smtp_conn *c, struct smtp_delivery *x, size_t i, FILE *f)
{
        const char *address = x->rcpt_address[i];
        bool dsn = smtp_session_caps(c->session)->dsn &&
                   (x->dsn_notify[0] || x->dsn_return[0] || x->dsn_envid[0]);
        _cleanup_free_ char *orcpt = dsn ? xtext_encode(address) : NULL;
        if (dsn && !orcpt)
                return -ENOMEM;
        if (fprintf(f, "RCPT TO:<%s>%s%s%s%s\r\n", address,
                    dsn && x->dsn_notify[0] ? " NOTIFY=" : "", dsn ? x->dsn_notify : "",
                    orcpt ? " ORCPT=rfc822;" : "", strempty(orcpt)) < 0)
                return -ENOMEM;
        return 0;
}

/* Envelope commands in one write: MAIL when mail, RCPT for recipients
 * [first, first + n), then DATA when data; each asks for its reply. */
static int send_envelope(struct smtp_conn *c, struct smtp_delivery *x, bool mail, size_t first,
                         size_t n, bool data)
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        int r = mail ? write_mail(c, x, f) : 0;
        for (size_t i = first; r >= 0 && i < first + n; i++)
                r = write_rcpt(c, x, i, f);
        if (r >= 0 && data && fputs("DATA\r\n", f) < 0)
                r = -ENOMEM;
        if (r >= 0 && fflush(f) != 0)
                r = -ENOMEM;
        if (r < 0)
                return r;
        return smtp_session_send(c->session, text, size, (unsigned) (mail + n + data));
}

static void transaction_start(struct smtp_conn *c)
{
        struct smtp_delivery *x = c->x;
        int r;
        if (x->check)
                r = send_line(c, 1, "NOOP\r\n");
        else {
                /* With PIPELINING (RFC 2920) MAIL, every RCPT and DATA go
                 * at once; otherwise each waits for the reply before it. */
                x->pipelined = smtp_session_caps(c->session)->pipelining;
                r = x->pipelined ? send_envelope(c, x, true, 0, x->n_rcpt, true)
                                 : send_envelope(c, x, true, 0, 0, false);
        }
        if (r < 0) {
                /* The session cannot take it: the message waits for a retry. */
                c->x = NULL;
                x->conn = NULL;
                conn_free(c, false);
                report_unsent(x);
        }
}

static void check_end(struct smtp_conn *c, enum mapi_error code, const char *text)
{
        struct smtp_delivery *x = c->x;
        struct transport *t = x->t;
        c->x = NULL;
        delivery_free(x);
        /* A check is of the server now: its session is not kept. */
        conn_free(c, true);
        transport_validate_done(t, code, text);
}

/* One reply in x's transaction. */
static void transaction_reply(struct smtp_conn *c, const struct smtp_reply *r)
{
        struct smtp_delivery *x = c->x;
        size_t i = x->replied++;
        bool positive = smtp_reply_class(r->code) == SMTP_REPLY_POSITIVE;
        int k = 0;

        if (i == 0) {
                x->mail_taken = positive;
                if (!positive)
                        x->refusal = *r;
                if (x->pipelined)
                        return; /* the RCPT and DATA replies follow */
                if (!positive) {
                        transaction_end(c, NULL);
                        return;
                }
                k = send_envelope(c, x, false, 0, x->n_rcpt > 0, x->n_rcpt == 0);
        } else if (i <= x->n_rcpt) {
                x->rcpt[i - 1] = *r;
                if (x->pipelined)
                        return;
                if (i < x->n_rcpt || some_recipient_taken(x))
                        k = send_envelope(c, x, false, i, i < x->n_rcpt, i == x->n_rcpt);
                else {
                        transaction_end(c, NULL);
                        return;
                }
        } else if (i == x->n_rcpt + 1) {
                if (r->code != 354) {
                        if (!x->refusal.code)
                                x->refusal = *r;
                        transaction_end(c, NULL);
                        return;
                }
                if (x->mail_taken && some_recipient_taken(x))
                        k = smtp_session_send(c->session, x->data, x->data_size, 1);
                else {
                        /* Pipelined DATA taken although nobody is to get
                         * the message: an empty one ends it. */
                        x->abandoned = true;
                        k = smtp_session_send(c->session, ".\r\n", 3, 1);
                }
                x->data_handed = k >= 0;
        } else {
                transaction_end(c, r);
                return;
        }
        if (k < 0) {
                c->x = NULL;
                x->conn = NULL;
                conn_free(c, false);
                report_unsent(x);
        }
}

static void session_reply(struct smtp_session *s, const struct smtp_reply *r, void *userdata)
{
        struct smtp_conn *c = userdata;
        if (c->swallow > 0) {
                if (r->code == 421)
                        conn_free(c, false); /* the server closes the session */
                else if (--c->swallow == 0 && !c->x)
                        conn_available(c);
                return;
        }
        if (!c->x) {
                /* A reply nobody asked for: the session is confused. */
                conn_free(c, true);
                return;
        }
        if (c->x->check) {
                bool ok = smtp_reply_class(r->code) == SMTP_REPLY_POSITIVE;
                _cleanup_free_ char *text = NULL;
                if (!ok && asprintf(&text, "%s: %s", driver(c->t)->host_port, r->text) < 0)
                        text = NULL;
                check_end(c, ok ? MAPI_OK : MAPI_E_NETWORK_ERROR,
                          ok     ? NULL
                          : text ? text
                                 : "the server check failed");
                return;
        }
        transaction_reply(c, r);
}

/* Messages still waiting for a session get what the one that failed got. */
static void fail_waiting(struct transport *t, enum delivery_outcome outcome, const char *text)
{
        struct smtp_driver *d = driver(t);
        while (d->waiting)
                report(d->waiting, outcome, text, false);
}

static void session_lost(struct smtp_session *s, const char *text, void *userdata)
{
        struct smtp_conn *c = userdata;
        struct smtp_delivery *x = c->x;
        size_t unsent = smtp_session_unsent(s);
        bool check = x && x->check;
        c->x = NULL;
        if (x)
                x->conn = NULL;
        conn_free(c, false);
        if (!x)
                return;
        if (check) {
                struct transport *t = x->t;
                delivery_free(x);
                transport_validate_done(t, MAPI_E_NETWORK_ERROR, text);
                return;
        }
        if (x->data_handed && !x->abandoned && unsent == 0 && x->replied == x->n_rcpt + 2) {
                /* After the final "." and before its reply: the server may
                 * have taken the message (RFC 1047). */
                struct transport *t = x->t;
                uint64_t id = x->id;
                delivery_free(x);
                transport_delivery_uncertain(t, id, text);
                return;
        }
        _cleanup_free_ char *refused = NULL;
        if (x->refusal.code) {
                enum delivery_outcome o = outcome_of(x->t, &x->refusal, &refused);
                report(x, o, refused ? refused : text, false);
                return;
        }
        report(x, DELIVERY_DEFERRED, text, false);
}

static void session_opened(struct smtp_session *s, enum mapi_error code,
                           const struct smtp_reply *reply, const char *text, void *userdata)
{
        struct smtp_conn *c = userdata;
        struct transport *t = c->t;
        if (code == MAPI_OK) {
                c->open = true;
                if (c->x)
                        transaction_start(c);
                else
                        conn_available(c);
                return;
        }
        struct smtp_delivery *x = c->x;
        c->x = NULL;
        if (x)
                x->conn = NULL;
        conn_free(c, false);
        if (x && x->check) {
                delivery_free(x);
                transport_validate_done(t, code == MAPI_E_CALL_FAILED ? MAPI_E_NETWORK_ERROR : code,
                                        text);
                return;
        }
        _cleanup_free_ char *refused = NULL;
        enum delivery_outcome outcome = DELIVERY_DEFERRED;
        if (code == MAPI_E_CALL_FAILED && reply->code)
                /* A server that refuses service (a 421 or 554 greeting):
                 * reachable, so no failure of the transport. */
                outcome = outcome_of(t, reply, &refused);
        else if (code != MAPI_E_CALL_FAILED)
                transport_connection_failed(t, code, text);
        if (outcome == DELIVERY_SENT)
                outcome = DELIVERY_DEFERRED;
        const char *why = refused ? refused : text;
        if (x)
                report(x, outcome, why, false);
        fail_waiting(t, outcome, why);
}

static const struct smtp_session_events session_events = {
    .opened = session_opened,
    .reply = session_reply,
    .lost = session_lost,
};

static int idle_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct smtp_conn *c = userdata;
        if (!c->x && c->swallow == 0)
                conn_free(c, true);
        return 0;
}

static int conn_new(struct transport *t, struct smtp_conn **ret)
{
        struct smtp_driver *d = driver(t);
        struct smtp_conn *c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->t = t;
        c->next = d->conns;
        if (c->next)
                c->next->prev = c;
        d->conns = c;
        d->n_conns++;
        int r = sd_event_add_time(t->env.event, &c->idle_timer, CLOCK_MONOTONIC, UINT64_MAX,
                                  USEC_PER_SEC, idle_cb, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->idle_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = smtp_session_open(t, &session_events, c, &c->session);
        if (r < 0) {
                conn_free(c, false);
                return r;
        }
        *ret = c;
        return 0;
}

/* x goes on a free session, a new one, or waits for one. */
static int delivery_place(struct transport *t, struct smtp_delivery *x)
{
        struct smtp_driver *d = driver(t);
        for (struct smtp_conn *c = d->conns; c && !x->check; c = c->next)
                if (c->open && !c->x && c->swallow == 0) {
                        c->x = x;
                        x->conn = c;
                        sd_event_source_set_enabled(c->idle_timer, SD_EVENT_OFF);
                        transaction_start(c);
                        return 0;
                }
        /* A check always gets a session of its own: it is of the server now. */
        if (x->check || d->n_conns < smtp_max_in_transit(t)) {
                struct smtp_conn *c;
                int r = conn_new(t, &c);
                if (r < 0)
                        return r;
                c->x = x;
                x->conn = c;
                return 0;
        }
        x->prev = d->waiting_last;
        if (x->prev)
                x->prev->next = x;
        else
                d->waiting = x;
        d->waiting_last = x;
        return 0;
}

static int smtp_deliver(struct transport *t, uint64_t id)
{
        _cleanup_(msg_record_clear) struct msg_record m = {};
        _cleanup_free_ void *body = NULL;
        size_t size = 0;

        int r = store_get(t->env.store, id, &m);
        if (r >= 0)
                r = store_get_body(t->env.store, id, &body, &size);
        if (r < 0)
                return r;
        struct smtp_delivery *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->t = t;
        x->id = id;
        x->n_rcpt = strv_length(m.recipients);
        x->rcpt = calloc(x->n_rcpt ? x->n_rcpt : 1, sizeof(*x->rcpt));
        x->rcpt_address = strv_copy(m.recipients);
        x->from = strdup(strempty(m.sender));
        x->dsn_notify = strdup(strempty(m.dsn_notify));
        x->dsn_return = strdup(strempty(m.dsn_return));
        x->dsn_envid = strdup(strempty(m.dsn_envid));
        r = x->rcpt && x->rcpt_address && x->from && x->dsn_notify && x->dsn_return && x->dsn_envid
                ? 0
                : -ENOMEM;
        if (r >= 0)
                r = smtp_data_encode(body, size, &x->data, &x->data_size, &x->traits);
        /* Placed in this call, its outcome comes from a later iteration. */
        if (r >= 0)
                r = delivery_place(t, x);
        if (r < 0)
                delivery_free(x);
        return r;
}

static int smtp_validate(struct transport *t)
{
        struct smtp_delivery *x = calloc(1, sizeof(*x));
        if (!x)
                return -ENOMEM;
        x->t = t;
        x->check = true;
        int r = delivery_place(t, x);
        if (r < 0)
                delivery_free(x);
        return r;
}

const struct transport_ops smtp_transport_ops = {
    .provider_display = "SMTP",
    .driver_size = sizeof(struct smtp_driver),
    .init = smtp_init,
    .done = smtp_done,
    .max_in_transit = smtp_max_in_transit,
    .deliver = smtp_deliver,
    .validate = smtp_validate,
};
