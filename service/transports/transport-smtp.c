/* The smtp kind: each message is one libcurl SMTP transfer on the daemon's
 * loop (curl-event.c), up to MaxConnections at once; libcurl keeps
 * the connections open between messages. What a server's reply means for
 * the message (sent, retry later, give up) is decided here; retries and
 * reports live in transport.c, flush rounds in spool/flush.c. */

#include "curl-event.h"
#include "curl-logon.h"
#include "curl-session.h"
#include "log.h"
#include "smtp-reply.h"
#include "transport.h"

struct smtp_delivery {
        struct transport *t;
        uint64_t id;
        CURL *easy;
        struct curl_slist *recipients;
        char *data; /* the message with CRLF line ends */
        size_t size, offset;
        struct smtp_reply reply; /* the server's last reply */
        /* Each recipient's reply to RCPT TO, in the order they were sent. */
        struct smtp_reply *rcpt;
        char **rcpt_address;
        size_t n_rcpt, rcpt_sent;
        bool rcpt_awaiting; /* the last command sent was RCPT TO */
        bool data_ended;    /* all of the message was handed to libcurl */
        char curl_error[CURL_ERROR_SIZE];
        struct curl_logon logon;
        bool check; /* ValidateState's NOOP, not a message */
        struct smtp_delivery *prev, *next;
};

struct smtp_driver {
        struct curl_event *curl;
        char *host_port; /* "host:port", for sentences a person reads */
        struct smtp_delivery *deliveries;
};

static struct smtp_driver *driver(struct transport *t)
{
        return t->driver;
}

static void delivery_free(struct smtp_delivery *x)
{
        if (!x)
                return;
        struct smtp_driver *s = driver(x->t);
        if (x->prev)
                x->prev->next = x->next;
        else if (s->deliveries == x)
                s->deliveries = x->next;
        if (x->next)
                x->next->prev = x->prev;
        curl_logon_cancel(&x->logon);
        if (x->easy) {
                curl_event_remove(s->curl, x->easy);
                curl_easy_cleanup(x->easy);
        }
        curl_slist_free_all(x->recipients);
        free(x->rcpt);
        strv_free(x->rcpt_address);
        free(x->data);
        free(x);
}

static int smtp_init(struct transport *t)
{
        struct smtp_driver *s = driver(t);
        int r = curl_session_host_port(t->config->server, &s->host_port);
        if (r < 0) {
                log_error("transport \"%s\": cannot read the server URL %s", t->config->id,
                          t->config->server);
                return r;
        }
        r = curl_event_new(t->env.event, &s->curl);
        if (r < 0)
                return r;
        curl_event_set_max_connections(s->curl, t->config->max_connections);
        return 0;
}

static void smtp_done(struct transport *t)
{
        struct smtp_driver *s = driver(t);
        /* Messages in transit stay "sending" in the store and go back to the
         * queue at the next start. */
        while (s->deliveries)
                delivery_free(s->deliveries);
        s->curl = curl_event_free(s->curl);
        free(s->host_port);
}

static unsigned smtp_max_in_transit(struct transport *t)
{
        return t->config->max_connections > 0 ? t->config->max_connections : 1;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct smtp_delivery *x = userdata;
        size_t n = size * nitems;
        if (n > x->size - x->offset)
                n = x->size - x->offset;
        memcpy(buf, x->data + x->offset, n);
        x->offset += n;
        /* Asked again with nothing left: libcurl now ends the data with "."
         * (when it knows the size, it may not ask: offset == size says it). */
        if (n == 0)
                x->data_ended = true;
        return n;
}

/* The connection broke after the final "." and before the server's reply
 * to it: the server may have taken the message (RFC 1047). The last reply
 * we heard is then the 354 that invited the data. */
static bool delivery_uncertain(const struct smtp_delivery *x, CURLcode result)
{
        return result != CURLE_OK && (x->data_ended || x->offset == x->size) &&
               x->reply.code == 354;
}

/* libcurl shows us each line the server sent; we keep the last reply. */
static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        struct smtp_delivery *x = userdata;
        if (type == CURLINFO_HEADER_OUT) {
                curl_logon_see_line(&x->logon, data, size);
                /* libcurl sends one RCPT TO per recipient, in list order,
                 * each waiting for its reply. */
                x->rcpt_awaiting =
                    size >= 8 && strncasecmp(data, "RCPT TO:", 8) == 0 && x->rcpt_sent < x->n_rcpt;
                if (x->rcpt_awaiting)
                        x->rcpt_sent++;
        } else if (type == CURLINFO_HEADER_IN) {
                smtp_reply_feed(&x->reply, data, size);
                /* "250-" continues a reply; "250 " or a bare "250" ends it. */
                bool last_line = size < 4 || data[3] == ' ' || data[3] == '\r' || data[3] == '\n';
                if (x->rcpt_awaiting && last_line) {
                        smtp_reply_feed(&x->rcpt[x->rcpt_sent - 1], data, size);
                        x->rcpt_awaiting = false;
                }
        }
        return 0;
}

/* What the transfer's end means: an outcome for the message and, when the
 * server could not be reached or refused our logon, a failure of the whole
 * transport. */
static void classify(struct smtp_delivery *x, CURLcode result, enum delivery_outcome *ret_outcome,
                     enum mapi_error *ret_transport_error, char **ret_text)
{
        const char *where = driver(x->t)->host_port;
        const char *detail = x->curl_error[0] ? x->curl_error : curl_easy_strerror(result);
        long code = 0;
        int r;

        *ret_text = NULL;
        *ret_transport_error = MAPI_OK;
        if (result == CURLE_OK) {
                *ret_outcome = DELIVERY_SENT;
                return;
        }
        *ret_transport_error =
            curl_session_failure(x->easy, result, where, x->curl_error, x->reply.text, ret_text);
        if (*ret_transport_error) {
                *ret_outcome = DELIVERY_DEFERRED; /* the message is not at fault */
                return;
        }

        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        switch (smtp_reply_class(code)) {
        case SMTP_REPLY_PERMANENT:
                *ret_outcome = DELIVERY_FAILED;
                r = asprintf(ret_text, "%s refused the message: %s", where,
                             x->reply.text[0] ? x->reply.text : detail);
                break;
        case SMTP_REPLY_TRANSIENT:
                *ret_outcome = DELIVERY_DEFERRED;
                r = asprintf(ret_text, "%s deferred the message: %s", where,
                             x->reply.text[0] ? x->reply.text : detail);
                break;
        default:
                /* Dropped in mid-conversation, or a reply we could not read:
                 * the message may not have arrived, so it is tried again. */
                *ret_outcome = DELIVERY_DEFERRED;
                r = asprintf(ret_text, "Connection to %s lost: %s", where, detail);
                break;
        }
        if (r < 0)
                *ret_text = NULL;
}

/* True if the server answered every RCPT TO and refused at least one. */
static bool some_recipient_refused(const struct smtp_delivery *x)
{
        if (x->n_rcpt == 0 || x->rcpt_sent < x->n_rcpt)
                return false;
        for (size_t i = 0; i < x->n_rcpt; i++)
                if (x->rcpt[i].code == 0)
                        return false;
        for (size_t i = 0; i < x->n_rcpt; i++)
                if (smtp_reply_class(x->rcpt[i].code) != SMTP_REPLY_POSITIVE)
                        return true;
        return false;
}

/* Recipients the server took share the message's fate; the others have
 * their own reply. */
static void done_per_recipient(struct smtp_delivery *x, enum delivery_outcome message_outcome,
                               const char *text)
{
        _cleanup_free_ struct recipient_outcome *r = calloc(x->n_rcpt, sizeof(*r));
        _cleanup_free_ char *summary = NULL;
        struct transport *t = x->t;
        uint64_t id = x->id;
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

/* A logon the server took: what ValidateState reports. */
static void note_logon(struct smtp_delivery *x, enum mapi_error transport_error)
{
        if (!transport_error && x->logon.mechanism[0])
                transport_logged_on(x->t, x->logon.mechanism);
}

static void delivery_done_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct smtp_delivery *x = userdata;
        struct transport *t = x->t;
        uint64_t id = x->id;
        enum delivery_outcome outcome;
        enum mapi_error transport_error;
        _cleanup_free_ char *text = NULL;

        if (curl_logon_retry(&x->logon, result))
                return;
        classify(x, result, &outcome, &transport_error, &text);
        note_logon(x, transport_error);
        /* The transfer already left the multi handle. */
        curl_easy_cleanup(x->easy);
        x->easy = NULL;

        if (transport_error) {
                delivery_free(x);
                transport_connection_failed(t, transport_error, text);
                transport_delivery_done(t, id, outcome, text);
        } else if (delivery_uncertain(x, result)) {
                delivery_free(x);
                transport_delivery_uncertain(t, id, text);
        } else if (some_recipient_refused(x)) {
                done_per_recipient(x, outcome, text);
                delivery_free(x);
        } else {
                delivery_free(x);
                transport_delivery_done(t, id, outcome, text);
        }
}

#define SET(e, k, opt, val)                                                                        \
        do {                                                                                       \
                if ((k) == CURLE_OK)                                                               \
                        (k) = curl_easy_setopt((e), (opt), (val));                                 \
        } while (0)

static int curl_error_to_errno(CURLcode k)
{
        return k == CURLE_OK ? 0 : k == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

static void check_done_cb(CURL *easy, CURLcode result, void *userdata);

/* No transfer for x after all: error says why. A secret that could not be
 * had is a failed logon. */
static void delivery_not_started(struct smtp_delivery *x, enum mapi_error code, const char *error)
{
        struct transport *t = x->t;
        uint64_t id = x->id;
        bool check = x->check;
        _cleanup_free_ char *text = strdup(error);
        delivery_free(x);
        if (check)
                transport_validate_done(t, code, text ? text : error);
        else {
                if (code == MAPI_E_LOGON_FAILED)
                        transport_connection_failed(t, code, text ? text : error);
                transport_delivery_done(t, id, DELIVERY_DEFERRED, text ? text : error);
        }
}

/* Starts (or, after a refused logon, starts again) x's transfer, with what
 * an earlier try left behind cleared. */
static int delivery_add(struct smtp_delivery *x)
{
        x->offset = 0;
        x->data_ended = false;
        x->reply = (struct smtp_reply){};
        if (x->rcpt)
                memset(x->rcpt, 0, x->n_rcpt * sizeof(*x->rcpt));
        x->rcpt_sent = 0;
        x->rcpt_awaiting = false;
        x->curl_error[0] = '\0';
        return curl_event_add(driver(x->t)->curl, x->easy,
                              x->check ? check_done_cb : delivery_done_cb, x);
}

/* The secret came (or did not) for a logon that waited for it. */
static void logon_go(struct curl_logon *l, const char *error)
{
        struct smtp_delivery *x = container_of(l, struct smtp_delivery, logon);
        if (error)
                delivery_not_started(x, MAPI_E_LOGON_FAILED, error);
        else if (delivery_add(x) < 0)
                delivery_not_started(x, MAPI_E_CALL_FAILED, "cannot start the transfer");
}

/* The transfer, at once or once the secret is at hand. */
static int delivery_begin(struct smtp_delivery *x)
{
        int r = curl_logon_begin(&x->logon);
        return r > 0 ? delivery_add(x) : r;
}

/* The session of curl-session.c, and the server's replies into debug_cb. */
static int session_setup(struct smtp_delivery *x)
{
        CURLcode k = CURLE_OK;
        x->logon = (struct curl_logon){
            .easy = x->easy,
            .source = x->t->secret,
            .config = x->t->config,
            .go = logon_go,
        };
        int r = curl_session_setup(x->easy, x->t->config, NULL, x->curl_error);
        if (r < 0)
                return r;
        SET(x->easy, k, CURLOPT_DEBUGFUNCTION, debug_cb);
        SET(x->easy, k, CURLOPT_DEBUGDATA, x);
        SET(x->easy, k, CURLOPT_VERBOSE, 1L); /* feeds debug_cb; nothing is printed */
        return curl_error_to_errno(k);
}

/* The envelope and the message of one delivery. */
static int message_setup(struct smtp_delivery *x, const struct msg_record *m)
{
        CURL *e = x->easy;

        x->n_rcpt = strv_length(m->recipients);
        x->rcpt = calloc(x->n_rcpt ? x->n_rcpt : 1, sizeof(*x->rcpt));
        x->rcpt_address = strv_copy(m->recipients);
        if (!x->rcpt || !x->rcpt_address)
                return -ENOMEM;
        for (char **r = m->recipients; r && *r; r++) {
                _cleanup_free_ char *angle = NULL;
                if (asprintf(&angle, "<%s>", *r) < 0)
                        return -ENOMEM;
                struct curl_slist *l = curl_slist_append(x->recipients, angle);
                if (!l)
                        return -ENOMEM;
                x->recipients = l;
        }
        _cleanup_free_ char *from = NULL;
        if (asprintf(&from, "<%s>", strempty(m->sender)) < 0)
                return -ENOMEM;

        CURLcode k = CURLE_OK;
        SET(e, k, CURLOPT_MAIL_FROM, from);
        SET(e, k, CURLOPT_MAIL_RCPT, x->recipients);
        /* Go on with the recipients the server takes; debug_cb notes the
         * others, who are retried or reported one by one. */
        SET(e, k, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
        SET(e, k, CURLOPT_UPLOAD, 1L);
        SET(e, k, CURLOPT_READFUNCTION, read_cb);
        SET(e, k, CURLOPT_READDATA, x);
        SET(e, k, CURLOPT_INFILESIZE_LARGE, (curl_off_t) x->size);
        return curl_error_to_errno(k);
}

static size_t discard_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        return size * nmemb;
}

/* ValidateState: greeting, EHLO, STARTTLS and AUTH as for a message, then
 * NOOP instead of a transaction, then QUIT. */
static int check_setup(struct smtp_delivery *x)
{
        CURLcode k = CURLE_OK;
        SET(x->easy, k, CURLOPT_CUSTOMREQUEST, "NOOP");
        SET(x->easy, k, CURLOPT_WRITEFUNCTION, discard_cb);
        return curl_error_to_errno(k);
}
#undef SET

static struct smtp_delivery *delivery_new(struct transport *t, uint64_t id)
{
        struct smtp_driver *s = driver(t);
        struct smtp_delivery *x = calloc(1, sizeof(*x));
        if (!x)
                return NULL;
        x->t = t;
        x->id = id;
        x->next = s->deliveries;
        if (x->next)
                x->next->prev = x;
        s->deliveries = x;
        x->easy = curl_event_easy_new(s->curl);
        if (!x->easy) {
                delivery_free(x);
                return NULL;
        }
        return x;
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

        struct smtp_delivery *x = delivery_new(t, id);
        if (!x)
                return -ENOMEM;
        r = text_to_crlf(body, size, &x->data, &x->size);
        if (r >= 0)
                r = session_setup(x);
        if (r >= 0)
                r = message_setup(x, &m);
        if (r >= 0)
                r = delivery_begin(x);
        if (r < 0)
                delivery_free(x);
        return r;
}

static void check_done_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct smtp_delivery *x = userdata;
        struct transport *t = x->t;
        enum delivery_outcome outcome;
        enum mapi_error code;
        _cleanup_free_ char *text = NULL;

        if (curl_logon_retry(&x->logon, result))
                return;
        classify(x, result, &outcome, &code, &text);
        note_logon(x, code);
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
        delivery_free(x);

        if (outcome == DELIVERY_SENT)
                transport_validate_done(t, MAPI_OK, NULL);
        else
                transport_validate_done(t, code ? code : MAPI_E_NETWORK_ERROR,
                                        text ? text : "the server check failed");
}

static int smtp_validate(struct transport *t)
{
        struct smtp_delivery *x = delivery_new(t, 0);
        if (!x)
                return -ENOMEM;
        x->check = true;
        int r = session_setup(x);
        if (r >= 0)
                r = check_setup(x);
        if (r >= 0)
                r = delivery_begin(x);
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
