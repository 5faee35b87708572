/* A transport's life: creation from its configuration, its status bits, and
 * its outgoing delivery queue. Drivers (service/transport-*.c) move single
 * messages; everything about order, retries and flush rounds lives here so
 * that every kind behaves the same. */
#include "transport.h"

#include <stdarg.h>

#include "bus-error.h"
#include "flush.h"
#include "log.h"
#include "mail-parse.h"
#include "maildir.h"
#include "ndr.h"
#include "mailspool-bus.h"

/* Back-off of a deferred message: 1 min, doubling per attempt, at most 1 h. */
#define RETRY_FIRST_USEC (60 * USEC_PER_SEC)
#define RETRY_MAX_USEC   (3600 * USEC_PER_SEC)
/* A message still deferred this long after submission fails (Postfix's
 * maximal_queue_lifetime default). */
#define USEC_PER_DAY            (24 * 3600 * USEC_PER_SEC)
#define MAX_QUEUE_LIFETIME_USEC (5 * USEC_PER_DAY)

static int pump_cb(sd_event_source *s, void *userdata);
static int retry_cb(sd_event_source *s, uint64_t usec, void *userdata);
static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata);
static int hold_cb(sd_event_source *s, uint64_t usec, void *userdata);

const struct transport_ops *transport_ops_for_kind(enum transport_kind kind)
{
        switch (kind) {
        case TRANSPORT_MAILDIR:
                return &maildir_transport_ops;
        case TRANSPORT_SMTP:
                return &smtp_transport_ops;
        case TRANSPORT_IMAP:
                return &imap_transport_ops;
        case TRANSPORT_POP3:
                return &pop3_transport_ops;
        default:
                return NULL;
        }
}

static void transport_arm_poll(struct transport *t)
{
        if (!t->poll_timer || t->config->poll_interval == 0 ||
            !transport_kind_is_inbound(t->config->kind))
                return;
        uint64_t usec = now_monotonic_usec() + t->config->poll_interval * USEC_PER_SEC;
        sd_event_source_set_time(t->poll_timer, usec);
        sd_event_source_set_enabled(t->poll_timer, SD_EVENT_ONESHOT);
}

int transport_new(struct daemon *d, const struct transport_config *c, uint32_t row_id,
                  struct transport **ret)
{
        const struct transport_ops *ops = transport_ops_for_kind(c->kind);
        if (!ops) {
                log_error("transport \"%s\": kind %s is not available in this build", c->id,
                          transport_kind_to_string(c->kind));
                return -EOPNOTSUPP;
        }

        struct transport *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->daemon = d;
        t->status.d = d;
        t->status.t = t;
        t->config = c;
        t->ops = ops;
        t->row_id = row_id;
        t->last_error = strdup("");
        int r = transport_path_for_id(c->id, &t->path);
        if (r < 0 || !t->last_error)
                goto fail;
        if (ops->driver_size > 0) {
                t->driver = calloc(1, ops->driver_size);
                if (!t->driver) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        r = store_count_outbound_waiting(d->store, c->id, &t->queued_outbound);
        if (r < 0)
                goto fail;
        r = store_next_retry(d->store, c->id, &t->next_retry);
        if (r < 0)
                goto fail;

        r = sd_event_add_defer(d->event, &t->pump_source, pump_cb, t);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(t->pump_source, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &t->retry_timer, CLOCK_REALTIME, UINT64_MAX, USEC_PER_SEC,
                              retry_cb, t);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(t->retry_timer, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &t->poll_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC,
                              poll_cb, t);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(t->poll_timer, SD_EVENT_OFF);
        r = sd_event_add_time(d->event, &t->hold_timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC,
                              hold_cb, t);
        if (r < 0)
                goto fail;
        sd_event_source_set_enabled(t->hold_timer, SD_EVENT_OFF);

        /* Every kind may receive: downloads, pickups, reports of failed mail. */
        r = maildir_create(c->maildir);
        if (r < 0) {
                log_error("transport \"%s\": cannot create %s: %s", c->id, c->maildir,
                          strerror(-r));
                goto fail;
        }
        if (ops->init) {
                r = ops->init(t);
                if (r < 0)
                        goto fail;
        }

        t->status_code = 0;
        t->status_string = strdup("");
        if (!t->status_string) {
                r = -ENOMEM;
                goto fail;
        }
        transport_update_status(t);
        transport_arm_poll(t);
        if (t->next_retry > 0) {
                sd_event_source_set_time(t->retry_timer, t->next_retry);
                sd_event_source_set_enabled(t->retry_timer, SD_EVENT_ONESHOT);
        }
        /* Mail queued before a restart goes now if the transport sends at once. */
        transport_kick(t);
        *ret = t;
        return 0;
fail:
        transport_free(t);
        return r < 0 ? r : -ENOMEM;
}

struct transport *transport_free(struct transport *t)
{
        if (!t)
                return NULL;
        if (t->ops && t->ops->done && t->driver)
                t->ops->done(t);
        for (size_t i = 0; i < ELEMENTSOF(t->slots); i++)
                sd_bus_slot_unref(t->slots[i]);
        sd_event_source_disable_unref(t->pump_source);
        sd_event_source_disable_unref(t->retry_timer);
        sd_event_source_disable_unref(t->poll_timer);
        sd_event_source_disable_unref(t->hold_timer);
        transport_validate_done(t, MAPI_E_CALL_FAILED, "the transport was removed");
        free(t->round.error);
        free(t->round.ids);
        free(t->round.resolved);
        free(t->pending);
        free(t->driver);
        free(t->path);
        free(t->status_string);
        free(t->last_error);
        free(t);
        return NULL;
}

uint32_t transport_resource_methods(const struct transport *t)
{
        return t->config->methods;
}

uint32_t transport_resource_flags(const struct transport *t)
{
        return t->config->is_default ? MAILSPOOL_STATUS_DEFAULT_OUTBOUND : 0;
}

static uint32_t transport_compute_status_code(const struct transport *t)
{
        uint32_t c = t->offline ? MAILSPOOL_STATUS_OFFLINE : MAILSPOOL_STATUS_AVAILABLE;

        if (t->failed)
                c |= MAILSPOOL_STATUS_FAILURE;
        if (!t->offline && transport_kind_is_outbound(t->config->kind))
                c |= MAILSPOOL_STATUS_OUTBOUND_ENABLED;
        if (!t->offline && transport_kind_is_inbound(t->config->kind))
                c |= MAILSPOOL_STATUS_INBOUND_ENABLED;
        if (t->in_transit > 0)
                c |= MAILSPOOL_STATUS_OUTBOUND_ACTIVE;
        if (t->flush[FLUSH_DIR_UPLOAD])
                c |= MAILSPOOL_STATUS_OUTBOUND_FLUSH;
        if (t->downloading)
                c |= MAILSPOOL_STATUS_INBOUND_ACTIVE;
        if (t->flush[FLUSH_DIR_DOWNLOAD])
                c |= MAILSPOOL_STATUS_INBOUND_FLUSH;
        return c;
}

static char *transport_compute_status_string(const struct transport *t)
{
        char *s = NULL;
        int r;

        if (t->offline)
                r = asprintf(&s, "Offline");
        else if (t->flush[FLUSH_DIR_UPLOAD] && t->round.n > 0)
                r = asprintf(&s, "Sending %zu of %zu",
                             t->round.n_resolved < t->round.n ? t->round.n_resolved + 1
                                                              : t->round.n,
                             t->round.n);
        else if (t->downloading)
                r = asprintf(&s, "Receiving");
        else if (t->in_transit > 0)
                r = asprintf(&s, "Sending");
        else if (t->failed && t->last_error[0])
                r = asprintf(&s, "%s", t->last_error);
        else if (t->queued_outbound > 0)
                r = asprintf(&s, "%u waiting to be sent", t->queued_outbound);
        else
                r = asprintf(&s, "Ready");
        return r < 0 ? NULL : s;
}

void transport_update_status(struct transport *t)
{
        uint32_t code = transport_compute_status_code(t);
        _cleanup_free_ char *text = transport_compute_status_string(t);
        const char *changed[3] = {};
        size_t n = 0;

        if (code != t->status_code) {
                t->status_code = code;
                changed[n++] = "StatusCode";
        }
        if (text && !streq(text, t->status_string)) {
                free(t->status_string);
                t->status_string = TAKE_PTR(text);
                changed[n++] = "StatusString";
        }
        if (n > 0 && t->slots[0])
                sd_bus_emit_properties_changed(t->daemon->bus, t->path, MAILSPOOL_IFACE_STATUS, changed[0],
                                               changed[1], NULL);
}

void transport_set_last_error(struct transport *t, const char *text)
{
        if (streq(t->last_error, strempty(text)))
                return;
        char *c = strdup(strempty(text));
        if (!c)
                return;
        free(t->last_error);
        t->last_error = c;
        if (t->slots[1])
                sd_bus_emit_properties_changed(t->daemon->bus, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                               "LastError", NULL);
}

static void transport_set_queued(struct transport *t, uint32_t n)
{
        if (n == t->queued_outbound)
                return;
        t->queued_outbound = n;
        if (t->slots[1])
                sd_bus_emit_properties_changed(t->daemon->bus, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                               "QueuedOutbound", NULL);
}

static void transport_refresh_next_retry(struct transport *t)
{
        uint64_t next = 0;
        if (store_next_retry(t->daemon->store, t->config->id, &next) < 0)
                return;
        if (next > 0) {
                sd_event_source_set_time(t->retry_timer, next);
                sd_event_source_set_enabled(t->retry_timer, SD_EVENT_ONESHOT);
        } else
                sd_event_source_set_enabled(t->retry_timer, SD_EVENT_OFF);
        if (next == t->next_retry)
                return;
        t->next_retry = next;
        if (t->slots[1])
                sd_bus_emit_properties_changed(t->daemon->bus, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                               "NextRetry", NULL);
}

void transport_kick(struct transport *t)
{
        sd_event_source_set_enabled(t->pump_source, SD_EVENT_ONESHOT);
}

void transport_message_added(struct transport *t, bool hold)
{
        transport_set_queued(t, t->queued_outbound + 1);
        transport_update_status(t);
        if (!hold && t->config->send_mode == SEND_IMMEDIATE)
                transport_kick(t);
}

void transport_message_aborted(struct transport *t)
{
        if (t->queued_outbound > 0)
                transport_set_queued(t, t->queued_outbound - 1);
        transport_update_status(t);
}

/* Index of id in the running upload round, or -1. */
static ssize_t round_find(const struct upload_round *r, uint64_t id)
{
        size_t lo = 0, hi = r->n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r->ids[mid] == id)
                        return (ssize_t) mid;
                if (r->ids[mid] < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return -1;
}

/* Marks id settled in the round; true if it was a member not yet settled. */
static bool round_resolve(struct transport *t, uint64_t id)
{
        if (!t->flush[FLUSH_DIR_UPLOAD])
                return false;
        ssize_t i = round_find(&t->round, id);
        if (i < 0 || t->round.resolved[i])
                return false;
        t->round.resolved[i] = true;
        t->round.n_resolved++;
        return true;
}

static void round_check_finished(struct transport *t)
{
        struct flush *f = t->flush[FLUSH_DIR_UPLOAD];
        if (f && transport_upload_round_finished(t))
                flush_part_done(f, t, FLUSH_DIR_UPLOAD, t->round.error_code, t->round.error);
}

/* The next message to try: first the running flush round, then what waits
 * on its own (immediate sending, retries that are due). */
static bool next_candidate(struct transport *t, bool *refilled, uint64_t *ret)
{
        struct upload_round *r = &t->round;

        if (t->flush[FLUSH_DIR_UPLOAD])
                while (r->next < r->n) {
                        size_t i = r->next++;
                        if (!r->resolved[i]) {
                                *ret = r->ids[i];
                                return true;
                        }
                }

        /* Own work waits while the server is known to be unreachable. */
        if (t->holding)
                return false;
        for (;;) {
                if (t->pending_next < t->n_pending) {
                        *ret = t->pending[t->pending_next++];
                        return true;
                }
                if (*refilled)
                        return false;
                *refilled = true;
                free(t->pending);
                t->pending = NULL;
                t->n_pending = t->pending_next = 0;
                bool queued = t->config->send_mode == SEND_IMMEDIATE;
                if (store_list_pending(t->daemon->store, t->config->id, queued, false,
                                       now_realtime_usec(), &t->pending, &t->n_pending) < 0)
                        return false;
        }
}

static void transport_pump(struct transport *t)
{
        struct daemon *d = t->daemon;
        unsigned max = t->ops->max_in_transit ? t->ops->max_in_transit(t) : 1;
        bool refilled = false;

        if (d->stopping || t->offline || !t->ops->deliver)
                return;

        /* At most `max` starts per iteration, so that bus calls are served
         * between messages even when a driver completes synchronously. */
        for (unsigned started = 0; started < max && t->in_transit < max;) {
                uint64_t id;
                if (!next_candidate(t, &refilled, &id))
                        break;

                int r = store_set_state(d->store, id, MSG_SENDING, NULL, 0);
                if (r == -EBUSY || r == -ENOENT) {
                        /* Aborted or gone since it was listed: settled. */
                        round_resolve(t, id);
                        continue;
                }
                if (r < 0) {
                        log_error("transport \"%s\": cannot mark message %" PRIu64
                                  " as sending: %s",
                                  t->config->id, id, strerror(-r));
                        break;
                }
                started++;
                t->in_transit++;
                message_emit_changed(d, id, false);
                transport_update_status(t);
                r = t->ops->deliver(t, id);
                if (r < 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text, "delivery could not start: %s", strerror(-r)) < 0)
                                text = NULL;
                        transport_delivery_done(t, id, DELIVERY_DEFERRED, text);
                }
        }
        round_check_finished(t);
}

static int pump_cb(sd_event_source *s, void *userdata)
{
        transport_pump(userdata);
        return 0;
}

static int hold_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct transport *t = userdata;
        t->holding = false;
        transport_kick(t);
        return 0;
}

static int retry_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct transport *t = userdata;
        transport_kick(t);
        return 0;
}

static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct transport *t = userdata;
        if (!t->downloading && !t->offline && !t->daemon->stopping)
                (void) transport_download_start(t);
        transport_arm_poll(t);
        return 0;
}

static uint64_t retry_delay_usec(uint32_t attempts)
{
        uint64_t delay = RETRY_FIRST_USEC;
        for (uint32_t i = 1; i < attempts && delay < RETRY_MAX_USEC; i++)
                delay *= 2;
        return delay < RETRY_MAX_USEC ? delay : RETRY_MAX_USEC;
}

/* The owner of a message that failed for good finds a report in this
 * transport's Maildir and the inbound store. */
static void transport_report_failure(struct transport *t, uint64_t id, const char *error,
                                     char *const *recipients, char *const *diagnostics)
{
        struct daemon *d = t->daemon;
        _cleanup_(msg_record_clear) struct msg_record m = {};
        _cleanup_free_ void *body = NULL;
        _cleanup_free_ char *host = NULL, *report = NULL, *key = NULL, *name = NULL;
        size_t size = 0, report_size = 0;

        int r = store_get(d->store, id, &m);
        if (r >= 0)
                r = store_get_body(d->store, id, &body, &size);
        if (r >= 0)
                r = maildir_hostname(&host);
        if (r >= 0) {
                struct ndr_input in = {
                    .reporting_host = host,
                    .sender = m.sender,
                    .recipients = recipients ? recipients : m.recipients,
                    .diagnostics = diagnostics,
                    .diagnostic = strempty(error),
                    .submitted_usec = m.submitted_usec,
                    .original = body,
                    .original_size = size,
                };
                r = ndr_build(&in, &report, &report_size);
        }
        /* A refused recipient leaves the message for good, so the first one
         * refused names this report among all of the message's reports. */
        const char *first = recipients && recipients[0] ? recipients[0] : "";
        if (r >= 0 && (asprintf(&key, "ndr:%" PRIu64 ":%s", id, first) < 0 ||
                       asprintf(&name, "%" PRIu64 ".R%" PRIu64 "_%u.%s",
                                now_realtime_usec() / USEC_PER_SEC, id, m.attempts, host) < 0))
                r = -ENOMEM;
        if (r >= 0)
                r = transport_store_inbound(t, report, report_size, key, name, m.owner, NULL, NULL);
        if (r < 0 && r != -EEXIST)
                log_error("transport \"%s\": cannot write the non-delivery report of message "
                          "%" PRIu64 ": %s",
                          t->config->id, id, strerror(-r));
}

void transport_connection_failed(struct transport *t, enum mapi_error code, const char *error)
{
        struct upload_round *r = &t->round;
        struct flush *f = t->flush[FLUSH_DIR_UPLOAD];

        t->failed = true;
        transport_set_last_error(t, error);
        if (f && !r->error) {
                r->error_code = code;
                r->error = strdup(strempty(error));
        }
        /* Messages of the round not tried yet would meet the same closed
         * door: they stay queued for a later attempt. */
        for (size_t i = r->next; f && i < r->n; i++)
                if (!r->resolved[i]) {
                        r->resolved[i] = true;
                        r->n_resolved++;
                        flush_message_outcome(f, t, DELIVERY_DEFERRED);
                }
        r->next = r->n;
        t->holding = true;
        sd_event_source_set_time(t->hold_timer, now_monotonic_usec() + RETRY_FIRST_USEC);
        sd_event_source_set_enabled(t->hold_timer, SD_EVENT_ONESHOT);
        transport_update_status(t);
}

/* Ends a delivery. retry (DELIVERY_DEFERRED only; NULL = every recipient)
 * narrows who is tried again; refused/refusals name recipients refused for
 * good while others got the message, for the report. */
static void delivery_finish(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                            const char *error, char *const *retry, char *const *refused,
                            char *const *refusals)
{
        struct daemon *d = t->daemon;
        enum msg_state to = outcome == DELIVERY_SENT       ? MSG_SENT
                            : outcome == DELIVERY_DEFERRED ? MSG_DEFERRED
                                                           : MSG_FAILED;
        uint64_t next_attempt = 0;

        /* Reports go before the state change: a crash in between sends the
         * message again, and the report's source key keeps it one. */
        if (refused)
                transport_report_failure(t, id, error, refused, refusals);

        _cleanup_free_ char *gave_up = NULL;
        if (outcome == DELIVERY_DEFERRED) {
                _cleanup_(msg_record_clear) struct msg_record m = {};
                uint32_t attempts = 1;
                uint64_t now = now_realtime_usec();
                if (store_get(d->store, id, &m) >= 0)
                        attempts = m.attempts;
                if (m.submitted_usec > 0 && now > m.submitted_usec + MAX_QUEUE_LIFETIME_USEC) {
                        /* Too old to keep trying: the sender learns it failed. */
                        if (asprintf(&gave_up, "not delivered within %u days: %s",
                                     (unsigned) (MAX_QUEUE_LIFETIME_USEC / USEC_PER_DAY),
                                     strempty(error)) < 0)
                                gave_up = NULL;
                        outcome = DELIVERY_FAILED;
                        to = MSG_FAILED;
                        error = gave_up ? gave_up : error;
                        transport_report_failure(t, id, error, retry, NULL);
                } else
                        next_attempt = now + retry_delay_usec(attempts);
        } else if (outcome == DELIVERY_FAILED && !refused)
                transport_report_failure(t, id, error, NULL, NULL);

        int r = outcome == DELIVERY_DEFERRED && retry
                    ? store_defer_recipients(d->store, id, retry, error, next_attempt)
                    : store_set_state(d->store, id, to, error, next_attempt);
        if (r < 0)
                /* The message stays "sending" in the store and goes back to the
                 * queue at the next start: delivered at least once. */
                log_error("transport \"%s\": cannot record the outcome of message %" PRIu64 ": %s",
                          t->config->id, id, strerror(-r));
        else
                log_info("transport \"%s\": message %" PRIu64 " %s%s%s", t->config->id, id,
                         msg_state_to_string(to), error ? ": " : "", strempty(error));

        if (t->in_transit > 0)
                t->in_transit--;
        if (outcome != DELIVERY_DEFERRED && t->queued_outbound > 0)
                transport_set_queued(t, t->queued_outbound - 1);
        if (outcome == DELIVERY_SENT) {
                t->failed = false;
                t->holding = false;
        }
        if (error)
                transport_set_last_error(t, error);
        message_emit_changed(d, id, outcome == DELIVERY_DEFERRED && retry);
        /* A retry that succeeded or failed for good may have been the next. */
        if (outcome == DELIVERY_DEFERRED || t->next_retry > 0)
                transport_refresh_next_retry(t);

        struct flush *f = t->flush[FLUSH_DIR_UPLOAD];
        if (round_resolve(t, id)) {
                if (outcome == DELIVERY_SENT)
                        t->round.n_sent++;
                flush_message_outcome(f, t, outcome);
        }

        transport_update_status(t);
        transport_kick(t);
        round_check_finished(t);
        daemon_check_stop(d);
}

void transport_delivery_done(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                             const char *error)
{
        delivery_finish(t, id, outcome, error, NULL, NULL, NULL);
}

void transport_delivery_done_per_recipient(struct transport *t, uint64_t id,
                                           const struct recipient_outcome *rcpt, size_t n,
                                           const char *error)
{
        _cleanup_free_ char **retry = calloc(n + 1, sizeof(char *));
        _cleanup_free_ char **refused = calloc(n + 1, sizeof(char *));
        _cleanup_free_ char **refusals = calloc(n + 1, sizeof(char *));
        size_t n_retry = 0, n_refused = 0, n_sent = 0;

        if (!retry || !refused || !refusals) {
                /* Without memory to sort them out, try everyone again. */
                delivery_finish(t, id, DELIVERY_DEFERRED, error, NULL, NULL, NULL);
                return;
        }
        for (size_t i = 0; i < n; i++)
                switch (rcpt[i].outcome) {
                case DELIVERY_SENT:
                        n_sent++;
                        break;
                case DELIVERY_DEFERRED:
                        retry[n_retry++] = (char *) rcpt[i].address;
                        break;
                case DELIVERY_FAILED:
                        refusals[n_refused] = (char *) strempty(rcpt[i].reply);
                        refused[n_refused++] = (char *) rcpt[i].address;
                        break;
                }
        enum delivery_outcome outcome = n_retry > 0  ? DELIVERY_DEFERRED
                                        : n_sent > 0 ? DELIVERY_SENT
                                                     : DELIVERY_FAILED;
        delivery_finish(t, id, outcome, error, n_retry > 0 ? retry : NULL,
                        n_refused > 0 ? refused : NULL, n_refused > 0 ? refusals : NULL);
}

int transport_upload_round_start(struct transport *t)
{
        struct upload_round *r = &t->round;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;

        /* Every queued message (held ones too) and every deferred one, due or not. */
        int k = store_list_pending(t->daemon->store, t->config->id, true, true, 0, &ids, &n);
        if (k < 0)
                return k;
        bool *resolved = calloc(n ? n : 1, sizeof(bool));
        if (!resolved)
                return -ENOMEM;
        free(r->ids);
        free(r->resolved);
        free(r->error);
        *r = (struct upload_round){.ids = TAKE_PTR(ids), .resolved = resolved, .n = n};
        transport_kick(t);
        return 0;
}

bool transport_upload_round_finished(const struct transport *t)
{
        return t->round.n_resolved == t->round.n;
}

void transport_upload_round_stop(struct transport *t)
{
        struct upload_round *r = &t->round;
        /* Messages not claimed yet are given up; those in transit finish. */
        for (size_t i = r->next; i < r->n; i++)
                if (!r->resolved[i]) {
                        r->resolved[i] = true;
                        r->n_resolved++;
                }
        r->next = r->n;
        transport_kick(t);
}

int transport_download_start(struct transport *t)
{
        if (!t->ops->download)
                return -EOPNOTSUPP;
        if (t->downloading)
                return -EBUSY;
        t->downloading = true;
        int r = t->ops->download(t);
        if (r < 0)
                t->downloading = false;
        transport_update_status(t);
        return r;
}

void transport_message_received(struct transport *t, uint64_t id, const char *file)
{
        _cleanup_free_ char *path = NULL;
        if (t->slots[1] && message_path_for_id(id, &path) >= 0)
                (void) sd_bus_emit_signal(t->daemon->bus, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                          "MessageReceived", "os", path, file);
        struct flush *f = t->flush[FLUSH_DIR_DOWNLOAD];
        if (f)
                flush_message_received(f, t);
}

int transport_store_inbound(struct transport *t, const void *data, size_t size,
                            const char *source_key, const char *file_name, uid_t owner,
                            uint64_t *ret_id, char **ret_why)
{
        struct daemon *d = t->daemon;

        if (source_key) {
                int r = store_has_source_key(d->store, source_key);
                if (r != 0)
                        return r < 0 ? r : -EEXIST;
        }
        _cleanup_(parsed_mail_clear) struct parsed_mail mail = {};
        int r = mail_parse_inbound(data, size, &mail, ret_why);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = NULL;
        r = maildir_write(t->config->maildir, file_name, data, size, &path);
        if (r < 0)
                return r;
        struct msg_record rec = {
            .direction = MSG_INBOUND,
            .transport = (char *) t->config->id,
            .sender = mail.sender,
            .recipients = mail.recipients,
            .subject = mail.subject,
            .message_id = mail.message_id,
            .owner = owner,
            .size = size,
            .submitted_usec = now_realtime_usec(),
            .path = path,
        };
        uint64_t id;
        r = store_add_inbound(d->store, &rec, source_key, &id);
        if (r < 0)
                return r;
        log_info("transport \"%s\": message %" PRIu64 " received into %s", t->config->id, id, path);
        transport_message_received(t, id, path);
        if (ret_id)
                *ret_id = id;
        return 0;
}

void transport_download_done(struct transport *t, enum mapi_error code, const char *error)
{
        t->downloading = false;
        t->failed = error != NULL;
        if (error)
                transport_set_last_error(t, error);
        transport_update_status(t);
        transport_arm_poll(t);
        struct flush *f = t->flush[FLUSH_DIR_DOWNLOAD];
        if (f)
                flush_part_done(f, t, FLUSH_DIR_DOWNLOAD, code, error);
}

int transport_validate(struct transport *t, uint32_t flags, sd_bus_message *m, sd_bus_error *error)
{
        if (flags & MAILSPOOL_VALIDATE_HEADER_CACHE_FLAGS)
                return bus_error_mapi(error, MAPI_E_NO_SUPPORT,
                                      "transport \"%s\" has no remote header cache", t->config->id);
        if (flags & MAILSPOOL_VALIDATE_FORCE_DISCONNECT) {
                t->offline = true;
                transport_update_status(t);
                return 0;
        }
        if (flags & MAILSPOOL_VALIDATE_FORCE_CONNECT) {
                t->offline = false;
                t->holding = false;
                transport_kick(t);
        }
        if (!t->ops->validate) {
                transport_update_status(t);
                return 0;
        }
        if (m) {
                sd_bus_message **calls =
                    reallocarray(t->validate_calls, t->n_validate_calls + 1, sizeof(*calls));
                if (!calls)
                        return -ENOMEM;
                t->validate_calls = calls;
                calls[t->n_validate_calls++] = sd_bus_message_ref(m);
        }
        /* One check at a time; callers arriving meanwhile share its result. */
        if (!t->validating) {
                t->validating = true;
                transport_update_status(t);
                int r = t->ops->validate(t);
                if (r < 0)
                        transport_validate_done(t, MAPI_E_CALL_FAILED, strerror(-r));
        }
        return m ? 1 : 0;
}

void transport_validate_done(struct transport *t, enum mapi_error code, const char *error)
{
        sd_bus_message **calls = TAKE_PTR(t->validate_calls);
        size_t n = t->n_validate_calls;
        bool was_validating = t->validating;

        t->n_validate_calls = 0;
        t->validating = false;
        if (was_validating) {
                t->failed = error != NULL;
                if (!error)
                        t->holding = false;
                transport_set_last_error(t, error);
                transport_update_status(t);
                if (!error)
                        transport_kick(t);
        }
        for (size_t i = 0; i < n; i++) {
                if (error) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        bus_error_mapi(&e, code, "transport \"%s\": %s", t->config->id, error);
                        sd_bus_reply_method_error(calls[i], &e);
                } else
                        sd_bus_reply_method_return(calls[i], NULL);
                sd_bus_message_unref(calls[i]);
        }
        free(calls);
}
