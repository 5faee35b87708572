/* A transport's life: creation from its configuration, its status bits, and
 * its outgoing delivery queue. Drivers (transport-*.c) move single messages;
 * order, retries and holding back after a failed connection live here so
 * that every kind behaves the same. What happens is reported to the
 * listener; which messages a flush wants first is the flush engine's
 * decision (spool/flush.c), handed down with transport_send_first(). */
#include "transport.h"

#include <systemd/sd-bus.h>

#include "bounce.h"
#include "imap-append.h"
#include "log.h"
#include "mail-parse.h"
#include "maildir.h"
#include "mailspool-bus.h"
#include "utf8.h"

/* Back-off of a deferred message: 1 min, doubling per attempt, at most 1 h. */
#define RETRY_FIRST_USEC (60 * USEC_PER_SEC)
#define RETRY_MAX_USEC   (3600 * USEC_PER_SEC)

/* The listener's members, called with the listener's userdata. */
#define REPORT(t, member, ...)                                                                     \
        do {                                                                                       \
                if ((t)->env.listener && (t)->env.listener->member)                                \
                        (t)->env.listener->member((t), ##__VA_ARGS__, (t)->env.userdata);          \
        } while (0)

/* What StatusString adds while a transport logs on in clear. */
#define CLEARTEXT_WARNING "; logs on without TLS (StartTLS=no)"

static int pump_cb(sd_event_source *s, void *userdata);
static int retry_cb(sd_event_source *s, uint64_t usec, void *userdata);
static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata);
static int hold_cb(sd_event_source *s, uint64_t usec, void *userdata);
static void transport_update_status(struct transport *t);
static void transport_report(struct transport *t, uint64_t id, enum ndr_action action,
                             const char *error, char *const *recipients, char *const *diagnostics);

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

int transport_path_for_id(const char *id, char **ret)
{
        return sd_bus_path_encode(MAILSPOOL_TRANSPORT_PREFIX, id, ret);
}

static void transport_arm_poll(struct transport *t)
{
        if (!t->poll_timer || t->config->poll_interval == 0 ||
            !transport_kind_is_inbound(t->config->kind))
                return;
        if (t->push == TRANSPORT_PUSH_ON) {
                /* The server tells us of new mail: no poll needed. */
                sd_event_source_set_enabled(t->poll_timer, SD_EVENT_OFF);
                return;
        }
        uint64_t usec = now_monotonic_usec() + t->config->poll_interval * USEC_PER_SEC;
        sd_event_source_set_time(t->poll_timer, usec);
        sd_event_source_set_enabled(t->poll_timer, SD_EVENT_ONESHOT);
}

static int add_timer(struct transport *t, sd_event_source **s, clockid_t clock,
                     sd_event_time_handler_t cb, const char *what)
{
        int r = sd_event_add_time(t->env.event, s, clock, UINT64_MAX, USEC_PER_SEC, cb, t);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(*s, what);
        return sd_event_source_set_enabled(*s, SD_EVENT_OFF);
}

/* A server URL naming this machine (localhost, 127.0.0.0/8, ::1). */
static bool server_is_local(const char *url)
{
        const char *host = strstr(url, "://");
        host = host ? host + 3 : url;
        const char *at = strchr(host, '@');
        if (at && at < host + strcspn(host, "/"))
                host = at + 1;
        return strncmp(host, "localhost", 9) == 0 || strncmp(host, "127.", 4) == 0 ||
               strncmp(host, "[::1]", 5) == 0;
}

static uint32_t transport_resource_flags(const struct transport_config *c)
{
        return c->is_default ? MAILSPOOL_STATUS_DEFAULT_OUTBOUND : 0;
}

int transport_new(const struct transport_env *env, const struct transport_config *c,
                  uint32_t row_id, struct transport **ret)
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
        t->env = *env;
        t->config = c;
        t->ops = ops;
        t->last_error = strdup("");
        int r = transport_path_for_id(c->id, &t->path);
        if (r < 0 || !t->last_error)
                goto fail;
        t->status = (struct status_row){
            .entry_id = t->path,
            .row_id = row_id,
            .object_type = MAILSPOOL_OBJECT_STATUS,
            .resource_type = MAILSPOOL_RESOURCE_TRANSPORT,
            .display_name = c->display_name,
            .provider_display = ops->provider_display,
            .resource_methods = c->methods,
            .resource_flags = transport_resource_flags(c),
            .identity_display = strempty(c->identity),
        };
        if (ops->driver_size > 0) {
                t->driver = calloc(1, ops->driver_size);
                if (!t->driver) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        t->local_server = !c->server || server_is_local(c->server);
        r = secret_source_new(env->event, env->session_bus, c, &t->secret);
        if (r < 0)
                goto fail;
        r = store_count_outbound_waiting(env->store, c->id, &t->queued_outbound);
        if (r < 0)
                goto fail;
        r = store_count_held_scheduled(env->store, c->id, &t->held_outbound,
                                       &t->scheduled_outbound);
        if (r < 0)
                goto fail;
        r = store_next_retry(env->store, c->id, &t->next_retry);
        if (r < 0)
                goto fail;

        r = sd_event_add_defer(env->event, &t->pump_source, pump_cb, t);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_description(t->pump_source, "transport-pump");
        sd_event_source_set_enabled(t->pump_source, SD_EVENT_OFF);
        r = add_timer(t, &t->retry_timer, CLOCK_REALTIME, retry_cb, "transport-retry");
        if (r >= 0)
                r = add_timer(t, &t->poll_timer, CLOCK_MONOTONIC, poll_cb, "transport-poll");
        if (r >= 0)
                r = add_timer(t, &t->hold_timer, CLOCK_MONOTONIC, hold_cb, "transport-hold");
        if (r < 0)
                goto fail;

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

void transport_set_config(struct transport *t, const struct transport_config *c, uint32_t row_id)
{
        t->config = c;
        t->status.display_name = c->display_name;
        t->status.identity_display = strempty(c->identity);
        t->status.row_id = row_id;
        secret_source_set_config(t->secret, c);
}

struct transport *transport_free(struct transport *t)
{
        if (!t)
                return NULL;
        transport_append_stop(t);
        if (t->ops && t->ops->done && t->driver)
                t->ops->done(t);
        secret_source_free(t->secret); /* after the driver: none of its logons waits now */
        sd_event_source_disable_unref(t->pump_source);
        sd_event_source_disable_unref(t->retry_timer);
        sd_event_source_disable_unref(t->poll_timer);
        sd_event_source_disable_unref(t->hold_timer);
        free(t->pending);
        free(t->driver);
        free(t->path);
        free((char *) t->status.status_string);
        free(t->last_error);
        free(t->push_error);
        free(t);
        return NULL;
}

/* Offline by request (FORCE_XP_DISCONNECT) or because the machine has no
 * network: either way nothing is sent or fetched. */
static bool transport_is_offline(const struct transport *t)
{
        return t->offline || t->no_network;
}

static uint32_t transport_compute_status_code(const struct transport *t)
{
        bool offline = transport_is_offline(t);
        uint32_t c = offline ? MAILSPOOL_STATUS_OFFLINE : MAILSPOOL_STATUS_AVAILABLE;

        if (t->failed || (t->push == TRANSPORT_PUSH_RETRYING && !offline))
                c |= MAILSPOOL_STATUS_FAILURE;
        if (!offline && transport_kind_is_outbound(t->config->kind))
                c |= MAILSPOOL_STATUS_OUTBOUND_ENABLED;
        if (!offline && transport_kind_is_inbound(t->config->kind))
                c |= MAILSPOOL_STATUS_INBOUND_ENABLED;
        if (t->in_transit > 0)
                c |= MAILSPOOL_STATUS_OUTBOUND_ACTIVE;
        if (t->flushing[FLUSH_DIR_UPLOAD])
                c |= MAILSPOOL_STATUS_OUTBOUND_FLUSH;
        if (t->downloading)
                c |= MAILSPOOL_STATUS_INBOUND_ACTIVE;
        if (t->flushing[FLUSH_DIR_DOWNLOAD])
                c |= MAILSPOOL_STATUS_INBOUND_FLUSH;
        return c;
}

static char *transport_compute_status_string(const struct transport *t)
{
        char *s = NULL;
        int r;

        if (t->offline)
                r = asprintf(&s, "Offline");
        else if (t->no_network)
                r = asprintf(&s, "Offline: the machine has no network; %u waiting to be sent",
                             t->queued_outbound);
        else if (t->flushing[FLUSH_DIR_UPLOAD] && t->flush_total > 0)
                r = asprintf(&s, "Sending %zu of %zu",
                             t->flush_settled < t->flush_total ? t->flush_settled + 1
                                                               : t->flush_total,
                             t->flush_total);
        else if (t->downloading)
                r = asprintf(&s, "Receiving");
        else if (t->in_transit > 0)
                r = asprintf(&s, "Sending");
        else if (t->failed && t->last_error[0])
                r = asprintf(&s, "%s", t->last_error);
        else if (t->push == TRANSPORT_PUSH_RETRYING)
                r = asprintf(&s, "No news of new mail: %s; connecting again",
                             strempty(t->push_error));
        else if (t->uncertain_id)
                r = asprintf(&s,
                             "Message %" PRIu64 " may have been delivered: the connection broke "
                             "after it was sent%s",
                             t->uncertain_id, t->env.uncertain_hold ? "; it is held" : "");
        else if (t->skipped_inbound > 0)
                r = asprintf(&s, "%u incoming left aside (%s)", t->skipped_inbound, t->skipped_why);
        else if (t->queued_outbound > 0)
                r = asprintf(&s, "%u waiting to be sent%s", t->queued_outbound,
                             t->config->cleartext_logon ? CLEARTEXT_WARNING : "");
        else
                r = asprintf(&s, "Ready%s%s",
                             t->push == TRANSPORT_PUSH_ON ? "; new mail comes as it arrives (IDLE)"
                             : t->push == TRANSPORT_PUSH_NOT_OFFERED
                                 ? "; the server offers no IDLE, so it is polled"
                                 : "",
                             t->config->cleartext_logon ? CLEARTEXT_WARNING : "");
        return r < 0 ? NULL : s;
}

/* Recomputes StatusCode and StatusString and reports what moved. */
static void transport_update_status(struct transport *t)
{
        uint32_t code = transport_compute_status_code(t);
        _cleanup_free_ char *text = transport_compute_status_string(t);
        unsigned changes = 0;

        if (code != t->status.status_code) {
                t->status.status_code = code;
                changes |= TRANSPORT_CHANGED_STATUS_CODE;
        }
        if (text && !streq_ptr(text, t->status.status_string)) {
                free((char *) t->status.status_string);
                t->status.status_string = TAKE_PTR(text);
                changes |= TRANSPORT_CHANGED_STATUS_STRING;
        }
        if (changes)
                REPORT(t, changed, changes);
}

static void transport_set_last_error(struct transport *t, const char *text)
{
        if (streq(t->last_error, strempty(text)))
                return;
        /* Everyone reads it on the bus, which takes only UTF-8. */
        char *c = utf8_make_valid(strempty(text));
        if (!c)
                return;
        free(t->last_error);
        t->last_error = c;
        REPORT(t, changed, TRANSPORT_CHANGED_LAST_ERROR);
}

static void transport_set_queued(struct transport *t, uint32_t n)
{
        if (n == t->queued_outbound)
                return;
        t->queued_outbound = n;
        REPORT(t, changed, TRANSPORT_CHANGED_QUEUED);
}

static void transport_refresh_next_retry(struct transport *t)
{
        uint64_t next = 0;
        if (store_next_retry(t->env.store, t->config->id, &next) < 0)
                return;
        if (next > 0) {
                sd_event_source_set_time(t->retry_timer, next);
                sd_event_source_set_enabled(t->retry_timer, SD_EVENT_ONESHOT);
        } else
                sd_event_source_set_enabled(t->retry_timer, SD_EVENT_OFF);
        if (next == t->next_retry)
                return;
        t->next_retry = next;
        REPORT(t, changed, TRANSPORT_CHANGED_NEXT_RETRY);
}

void transport_kick(struct transport *t)
{
        sd_event_source_set_enabled(t->pump_source, SD_EVENT_ONESHOT);
}

static void transport_online_changed(struct transport *t)
{
        if (t->ops->online_changed)
                t->ops->online_changed(t);
}

void transport_set_stopping(struct transport *t)
{
        t->stopping = true;
        transport_online_changed(t);
}

void transport_show_flush(struct transport *t, enum flush_direction dir, bool flushing)
{
        t->flushing[dir] = flushing;
        if (dir == FLUSH_DIR_UPLOAD && !flushing)
                t->flush_settled = t->flush_total = 0;
        transport_update_status(t);
}

void transport_show_flush_progress(struct transport *t, size_t settled, size_t total)
{
        t->flush_settled = settled;
        t->flush_total = total;
        transport_update_status(t);
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
        transport_waiting_changed(t);
}

void transport_waiting_changed(struct transport *t)
{
        uint32_t queued = t->queued_outbound, held = 0, scheduled = 0;
        (void) store_count_outbound_waiting(t->env.store, t->config->id, &queued);
        if (store_count_held_scheduled(t->env.store, t->config->id, &held, &scheduled) >= 0 &&
            (held != t->held_outbound || scheduled != t->scheduled_outbound)) {
                unsigned changes =
                    (held != t->held_outbound ? TRANSPORT_CHANGED_HELD : 0) |
                    (scheduled != t->scheduled_outbound ? TRANSPORT_CHANGED_SCHEDULED : 0);
                t->held_outbound = held;
                t->scheduled_outbound = scheduled;
                REPORT(t, changed, changes);
        }
        transport_set_queued(t, queued);
        transport_update_status(t);
}

void transport_message_due(struct transport *t, uint64_t id)
{
        _cleanup_(msg_record_clear) struct msg_record m = {};
        REPORT(t, message_changed, id, false);
        transport_waiting_changed(t);
        bool on_demand = store_get(t->env.store, id, &m) >= 0 && m.on_demand;
        if (!on_demand && t->config->send_mode == SEND_IMMEDIATE)
                transport_kick(t);
}

void transport_message_delayed(struct transport *t, uint64_t id)
{
        _cleanup_(msg_record_clear) struct msg_record m = {};
        if (store_get(t->env.store, id, &m) < 0)
                return;
        /* The mark first: a crash in between costs the report, never a second one. */
        if (store_set_delay_warned(t->env.store, id) < 0)
                return;
        transport_report(t, id, NDR_DELAYED, m.last_error, NULL, NULL);
        log_info("transport \"%s\": message %" PRIu64 " is delayed; its owner was told",
                 t->config->id, id);
        REPORT(t, message_changed, id, false);
}

void transport_delivery_uncertain(struct transport *t, uint64_t id, const char *error)
{
        _cleanup_free_ char *text = NULL;
        if (asprintf(&text, "%s; it may have been delivered (the server did not say)",
                     strempty(error)) < 0)
                text = NULL;
        (void) store_set_possibly_delivered(t->env.store, id, true);
        t->uncertain_id = id; /* in StatusString until a message is sent */
        if (!t->env.uncertain_hold) {
                /* UncertainDelivery=resend: as MTAs do, rather twice than never. */
                transport_delivery_done(t, id, DELIVERY_DEFERRED, text ? text : error);
                return;
        }
        /* UncertainDelivery=hold: the owner decides (Release or Abort). */
        int r = store_set_state(t->env.store, id, MSG_HELD, text ? text : error, 0);
        if (r < 0)
                log_error("transport \"%s\": cannot hold message %" PRIu64 ": %s", t->config->id,
                          id, strerror(-r));
        else
                log_warning("transport \"%s\": message %" PRIu64 " held: %s", t->config->id, id,
                            text ? text : error);
        if (t->in_transit > 0)
                t->in_transit--;
        transport_waiting_changed(t);
        REPORT(t, message_changed, id, false);
        REPORT(t, message_settled, id, DELIVERY_DEFERRED);
        transport_kick(t);
        if (t->in_transit == 0)
                REPORT(t, idle);
}

void transport_message_expired(struct transport *t, uint64_t id)
{
        static const char why[] = "not sent before its ExpiryTime";
        transport_report(t, id, NDR_EXPIRED, why, NULL, NULL);
        int r = store_set_state(t->env.store, id, MSG_FAILED, why, 0);
        if (r < 0) {
                log_error("transport \"%s\": cannot fail expired message %" PRIu64 ": %s",
                          t->config->id, id, strerror(-r));
                return;
        }
        log_info("transport \"%s\": message %" PRIu64 " failed: %s", t->config->id, id, why);
        REPORT(t, message_changed, id, false);
        transport_waiting_changed(t);
}

void transport_send_first(struct transport *t, const uint64_t *ids, const bool *settled, size_t n)
{
        t->first = ids;
        t->first_settled = settled;
        t->n_first = ids ? n : 0;
        t->first_next = 0;
        transport_kick(t);
}

size_t transport_send_first_claimed(const struct transport *t)
{
        return t->first_next;
}

/* The next message to try: first what a flush asked for, then what waits
 * on its own (immediate sending, retries that are due). */
static bool next_candidate(struct transport *t, bool *refilled, uint64_t *ret)
{
        while (t->first_next < t->n_first) {
                size_t i = t->first_next++;
                if (!t->first_settled[i]) {
                        *ret = t->first[i];
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
                t->pending = mfree(t->pending);
                t->n_pending = t->pending_next = 0;
                bool queued = t->config->send_mode == SEND_IMMEDIATE;
                if (store_list_pending(t->env.store, t->config->id, queued, false,
                                       now_realtime_usec(), &t->pending, &t->n_pending) < 0)
                        return false;
        }
}

static void transport_pump(struct transport *t)
{
        unsigned max = t->ops->max_in_transit ? t->ops->max_in_transit(t) : 1;
        bool refilled = false;

        /* Without a network nothing is tried: no attempt, no back-off spent. */
        if (t->stopping || transport_is_offline(t) || !t->ops->deliver)
                return;

        /* At most `max` starts per iteration, so that bus calls are served
         * between messages even when a driver completes synchronously. */
        for (unsigned started = 0; started < max && t->in_transit < max;) {
                /* While the store's WAL waits to start over, the next message
                 * waits too, a few milliseconds; the spool kicks us after. */
                if (store_wal_waiting(t->env.store))
                        break;
                uint64_t id;
                if (!next_candidate(t, &refilled, &id))
                        break;

                int r = store_set_state(t->env.store, id, MSG_SENDING, NULL, 0);
                if (r == -EBUSY || r == -ENOENT) {
                        /* Aborted or gone since it was listed: settled. */
                        REPORT(t, message_settled, id, DELIVERY_NOT_TRIED);
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
                REPORT(t, message_changed, id, false);
                transport_update_status(t);
                r = t->ops->deliver(t, id);
                if (r < 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text, "delivery could not start: %s", strerror(-r)) < 0)
                                text = NULL;
                        transport_delivery_done(t, id, DELIVERY_DEFERRED, text);
                }
        }
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
        transport_kick(userdata);
        return 0;
}

static int poll_cb(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct transport *t = userdata;
        if (!t->downloading && !transport_is_offline(t) && !t->stopping)
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

/* The owner of a message that failed for good, expired or is delayed finds
 * a report in this transport's Maildir and the inbound store. */
static void transport_report(struct transport *t, uint64_t id, enum ndr_action action,
                             const char *error, char *const *recipients, char *const *diagnostics)
{
        _cleanup_(bounce_clear) struct bounce b = {};
        uint64_t until = 0;
        if (action == NDR_DELAYED) {
                _cleanup_(msg_record_clear) struct msg_record m = {};
                if (store_get(t->env.store, id, &m) >= 0)
                        until = m.expiry_usec ? m.expiry_usec
                                              : m.submitted_usec +
                                                    (uint64_t) t->env.queue_lifetime * USEC_PER_SEC;
        }
        int r = bounce_build(t->env.store, id, action, until, error, recipients, diagnostics, &b);
        if (r >= 0)
                r = transport_store_inbound(t, b.report, b.size, b.source_key, b.file_name, b.owner,
                                            NULL, NULL);
        if (r < 0 && r != -EEXIST)
                log_error("transport \"%s\": cannot write the non-delivery report of message "
                          "%" PRIu64 ": %s",
                          t->config->id, id, strerror(-r));
}

static void transport_report_failure(struct transport *t, uint64_t id, const char *error,
                                     char *const *recipients, char *const *diagnostics)
{
        transport_report(t, id, NDR_FAILED, error, recipients, diagnostics);
}

void transport_connection_failed(struct transport *t, enum mapi_error code, const char *error)
{
        log_warning("transport \"%s\": %s", t->config->id, strempty(error));
        t->failed = true;
        transport_set_last_error(t, error);
        t->holding = true;
        sd_event_source_set_time(t->hold_timer, now_monotonic_usec() + RETRY_FIRST_USEC);
        sd_event_source_set_enabled(t->hold_timer, SD_EVENT_ONESHOT);
        transport_update_status(t);
        REPORT(t, connection_failed, code, error);
}

/* Ends a delivery. retry (DELIVERY_DEFERRED only; NULL = every recipient)
 * narrows who is tried again; refused/refusals name recipients refused for
 * good while others got the message, for the report. */
static void delivery_finish(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                            const char *error, char *const *retry, char *const *refused,
                            char *const *refusals)
{
        struct store *store = t->env.store;
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
                if (store_get(store, id, &m) >= 0)
                        attempts = m.attempts;
                uint64_t lifetime = (uint64_t) t->env.queue_lifetime * USEC_PER_SEC;
                if (m.submitted_usec > 0 && now > m.submitted_usec + lifetime) {
                        /* Too old to keep trying (QueueLifetime): the sender
                         * learns it failed. */
                        if (asprintf(&gave_up,
                                     "not delivered within %" PRIu32 " s (QueueLifetime): %s",
                                     t->env.queue_lifetime, strempty(error)) < 0)
                                gave_up = NULL;
                        outcome = DELIVERY_FAILED;
                        to = MSG_FAILED;
                        error = gave_up ? gave_up : error;
                        transport_report(t, id, NDR_EXPIRED, error, retry, NULL);
                } else
                        next_attempt = now + retry_delay_usec(attempts);
        } else if (outcome == DELIVERY_FAILED && !refused)
                transport_report_failure(t, id, error, NULL, NULL);

        int r = outcome == DELIVERY_DEFERRED && retry
                    ? store_defer_recipients(store, id, retry, error, next_attempt)
                    : store_set_state(store, id, to, error, next_attempt);
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
                t->uncertain_id = 0;
        }
        /* A reply about one message (it names its recipients) stays on the
         * message, for its owner; the transport's LastError, which everyone
         * reads, speaks of the transport alone (transport_connection_failed). */
        REPORT(t, message_changed, id, outcome == DELIVERY_DEFERRED && retry);
        /* A retry that succeeded or failed for good may have been the next. */
        if (outcome == DELIVERY_DEFERRED || t->next_retry > 0)
                transport_refresh_next_retry(t);
        transport_update_status(t);

        /* Last, with our state settled: this may end a flush. */
        REPORT(t, message_settled, id, outcome);
        transport_kick(t);
        if (t->in_transit == 0) {
                /* Not while the WAL waits to start over: a commit then costs
                 * the checkpointer another pass (the spool drops them after). */
                if (!store_wal_waiting(store))
                        (void) store_drop_done_bodies(store);
                REPORT(t, idle);
        }
}

void transport_message_copy_changed(struct transport *t, uint64_t id)
{
        REPORT(t, message_changed, id, false);
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
                case DELIVERY_NOT_TRIED:
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

int transport_download_start(struct transport *t)
{
        if (!t->ops->download)
                return -EOPNOTSUPP;
        if (t->downloading) {
                /* What the running one listed may predate the request. */
                t->download_again = true;
                return -EBUSY;
        }
        t->downloading = true;
        if (t->skipped_inbound > 0) {
                t->skipped_inbound = 0;
                t->skipped_why = NULL;
                REPORT(t, changed, TRANSPORT_CHANGED_SKIPPED);
        }
        int r = t->ops->download(t);
        if (r < 0)
                t->downloading = false;
        transport_update_status(t);
        return r;
}

int transport_inbound_add(struct transport *t, struct inbound_batch *b, const void *data,
                          size_t size, const char *source_key, const char *file_name, uid_t owner,
                          void *userdata, char **ret_why)
{
        if (source_key) {
                int r = store_has_source_key(t->env.store, source_key);
                if (r != 0)
                        return r < 0 ? r : -EEXIST;
                /* Twice in one batch would be two files of one name. */
                for (size_t i = 0; i < b->n; i++)
                        if (streq_ptr(b->entries[i].source_key, source_key))
                                return -EEXIST;
        }
        struct inbound_entry *entries = reallocarray(b->entries, b->n + 1, sizeof(*entries));
        if (!entries)
                return -ENOMEM;
        b->entries = entries;
        _cleanup_(parsed_mail_clear) struct parsed_mail mail = {};
        int r = mail_parse_inbound(data, size, &mail, ret_why);
        if (r < 0)
                return r;
        _cleanup_free_ char *key = NULL;
        if (source_key) {
                key = strdup(source_key);
                if (!key)
                        return -ENOMEM;
        }
        r = maildir_batch_add(&b->files, t->config->maildir, file_name, data, size);
        if (r < 0)
                return r;
        b->entries[b->n++] = (struct inbound_entry){
            .mail = mail,
            .source_key = TAKE_PTR(key),
            .owner = owner,
            .size = size,
            .userdata = userdata,
        };
        mail = (struct parsed_mail){};
        return 0;
}

int transport_inbound_commit(struct transport *t, struct inbound_batch *b)
{
        if (b->n == 0)
                return 0;
        /* The files first: what the store records must be on disk. */
        int r = maildir_batch_commit(&b->files);
        if (r < 0)
                return r;
        _cleanup_free_ struct msg_record *recs = calloc(b->n, sizeof(*recs));
        _cleanup_free_ struct store_inbound *rows = calloc(b->n, sizeof(*rows));
        if (!recs || !rows)
                return -ENOMEM;
        uint64_t now = now_realtime_usec();
        for (size_t i = 0; i < b->n; i++) {
                const struct inbound_entry *e = &b->entries[i];
                recs[i] = (struct msg_record){
                    .direction = MSG_INBOUND,
                    .transport = (char *) t->config->id,
                    .sender = e->mail.sender,
                    .recipients = e->mail.recipients,
                    .subject = e->mail.subject,
                    .message_id = e->mail.message_id,
                    .owner = e->owner,
                    .size = e->size,
                    .submitted_usec = now,
                    .path = b->files.files[i].path,
                };
                rows[i] = (struct store_inbound){&recs[i], e->source_key, 0};
        }
        /* One transaction, one commit for the whole batch. */
        r = store_add_inbound_batch(t->env.store, rows, b->n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n; i++) {
                uint64_t id = b->entries[i].id = rows[i].id;
                if (id == 0)
                        continue; /* recorded before: its file was written again */
                const char *path = b->files.files[i].path;
                log_info("transport \"%s\": message %" PRIu64 " received into %s", t->config->id,
                         id, path);
                REPORT(t, message_received, id, path);
        }
        return 0;
}

void inbound_batch_clear(struct inbound_batch *b)
{
        for (size_t i = 0; i < b->n; i++) {
                parsed_mail_clear(&b->entries[i].mail);
                free(b->entries[i].source_key);
        }
        free(b->entries);
        maildir_batch_clear(&b->files);
        *b = (struct inbound_batch){};
}

int transport_store_inbound(struct transport *t, const void *data, size_t size,
                            const char *source_key, const char *file_name, uid_t owner,
                            uint64_t *ret_id, char **ret_why)
{
        _cleanup_(inbound_batch_clear) struct inbound_batch b = {};
        int r =
            transport_inbound_add(t, &b, data, size, source_key, file_name, owner, NULL, ret_why);
        if (r < 0)
                return r;
        r = transport_inbound_commit(t, &b);
        if (r < 0)
                return r;
        if (b.entries[0].id == 0)
                return -EEXIST;
        if (ret_id)
                *ret_id = b.entries[0].id;
        return 0;
}

void transport_download_done(struct transport *t, enum mapi_error code, const char *error)
{
        if (error)
                log_warning("transport \"%s\": download failed: %s", t->config->id, error);
        if (t->download_again && !error && transport_may_connect(t)) {
                t->download_again = false;
                if (t->ops->download(t) >= 0)
                        return; /* its end is this one's */
        }
        t->download_again = false;
        t->downloading = false;
        t->failed = error != NULL;
        if (error)
                transport_set_last_error(t, error);
        transport_update_status(t);
        transport_arm_poll(t);
        REPORT(t, download_done, code, error);
}

void transport_set_network(struct transport *t, bool online)
{
        /* A server on this machine needs no network. */
        bool no_network = !online && !t->local_server;
        if (no_network == t->no_network)
                return;
        t->no_network = no_network;
        if (!no_network) {
                /* Back: what waited goes, with no poll and no user action. */
                t->holding = false;
                transport_kick(t);
        }
        transport_online_changed(t);
        transport_update_status(t);
}

bool transport_may_connect(const struct transport *t)
{
        return !transport_is_offline(t) && !t->stopping;
}

void transport_new_mail(struct transport *t)
{
        if (!transport_may_connect(t))
                return;
        if (t->downloading)
                t->download_again = true;
        else
                (void) transport_download_start(t);
}

void transport_push_changed(struct transport *t, enum transport_push push, const char *error)
{
        free(t->push_error);
        t->push_error = error ? utf8_make_valid(error) : NULL;
        t->push = push;
        transport_update_status(t);
        transport_arm_poll(t);
}

void transport_logged_on(struct transport *t, const char *mechanism)
{
        if (streq(t->logon_mechanism, mechanism))
                return;
        snprintf(t->logon_mechanism, sizeof(t->logon_mechanism), "%s", mechanism);
        REPORT(t, changed, TRANSPORT_CHANGED_LOGON);
}

void transport_inbound_skipped(struct transport *t, const char *why)
{
        t->skipped_inbound++;
        t->skipped_why = why;
        REPORT(t, changed, TRANSPORT_CHANGED_SKIPPED);
        transport_update_status(t);
}

void transport_download_cancel(struct transport *t)
{
        t->download_again = false;
        if (t->downloading && t->ops->download_cancel)
                t->ops->download_cancel(t);
}

int transport_validate(struct transport *t, uint32_t flags)
{
        if (flags & MAILSPOOL_VALIDATE_FORCE_DISCONNECT) {
                t->offline = true;
                transport_online_changed(t);
                transport_update_status(t);
                return 0;
        }
        if (flags & MAILSPOOL_VALIDATE_FORCE_CONNECT) {
                bool was_offline = t->offline;
                t->offline = false;
                t->holding = false;
                transport_kick(t);
                if (was_offline)
                        transport_online_changed(t);
        }
        if (!t->ops->validate) {
                transport_update_status(t);
                return 0;
        }
        /* One check at a time; callers arriving meanwhile share its result. */
        if (!t->validating) {
                t->validating = true;
                transport_update_status(t);
                int r = t->ops->validate(t);
                if (r < 0)
                        transport_validate_done(t, MAPI_E_CALL_FAILED, strerror(-r));
        }
        return 1;
}

void transport_validate_done(struct transport *t, enum mapi_error code, const char *error)
{
        if (!t->validating)
                return;
        if (error)
                log_warning("transport \"%s\": check failed: %s", t->config->id, error);
        t->validating = false;
        t->failed = error != NULL;
        if (!error)
                t->holding = false;
        transport_set_last_error(t, error);
        transport_update_status(t);
        if (!error)
                transport_kick(t);
        REPORT(t, validate_done, code, error);
}
