/* What comes due without anybody asking: a scheduled message becoming
 * queued (DeferredUntil, the end of a SendDelay window), an unsent message
 * passing its ExpiryTime, and a deferred one passing DelayWarningTime. One CLOCK_REALTIME timer at
 * the earliest such time, read from the store's indexes: an idle daemon with any number of
 * scheduled messages wakes only when one is due, and a realtime timer fires as soon as the wall
 * clock passes it, also after a jump or a resume. */
#include <inttypes.h>

#include "log.h"
#include "spool.h"

/* Sending a scheduled message a quarter second late is fine; the slack
 * lets the kernel fold this wakeup into others. */
#define DUE_ACCURACY_USEC (250 * USEC_PER_MSEC)

/* Message id's transport, if it still has one (a reload may have removed it). */
static struct transport *transport_of(struct spool *s, uint64_t id)
{
        _cleanup_(msg_record_clear) struct msg_record m = {};
        if (store_get(s->store, id, &m) < 0)
                return NULL;
        return spool_find_transport(s, m.transport);
}

static void release_due(struct spool *s, uint64_t now)
{
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        int r = store_list_due(s->store, now, &ids, &n);
        if (r < 0) {
                log_error("cannot list the scheduled messages that are due: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                r = store_schedule(s->store, ids[i], MSG_QUEUED, 0, false);
                if (r < 0) {
                        log_error("cannot queue scheduled message %" PRIu64 ": %s", ids[i],
                                  strerror(-r));
                        continue;
                }
                log_info("message %" PRIu64 " is due and queued", ids[i]);
                struct transport *t = transport_of(s, ids[i]);
                if (t)
                        transport_message_due(t, ids[i]);
        }
}

static void fail_expired(struct spool *s, uint64_t now)
{
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        int r = store_list_expired(s->store, now, &ids, &n);
        if (r < 0) {
                log_error("cannot list the expired messages: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct transport *t = transport_of(s, ids[i]);
                if (t)
                        transport_message_expired(t, ids[i]);
                else
                        /* No transport to report through: it fails all the
                         * same, or the timer would come back for it at once. */
                        (void) store_set_state(s->store, ids[i], MSG_FAILED,
                                               "not sent before its ExpiryTime", 0);
        }
}

static void warn_delayed(struct spool *s, uint64_t now)
{
        uint64_t after = (uint64_t) s->config.delay_warning_time * USEC_PER_SEC;
        if (after == 0 || now < after)
                return;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        int r = store_list_unwarned(s->store, now - after, &ids, &n);
        if (r < 0) {
                log_error("cannot list the delayed messages: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                struct transport *t = transport_of(s, ids[i]);
                if (t)
                        transport_message_delayed(t, ids[i]);
                else
                        /* Nobody to report through: not asked again. */
                        (void) store_set_delay_warned(s->store, ids[i]);
        }
}

static int due_cb(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct spool *s = userdata;
        uint64_t now = now_realtime_usec();
        /* Expiry first: a message due and expired at once is not sent. */
        fail_expired(s, now);
        release_due(s, now);
        warn_delayed(s, now);
        spool_schedule_changed(s);
        return 0;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
        return !a ? b : !b ? a : a < b ? a : b;
}

void spool_schedule_changed(struct spool *s)
{
        uint64_t due = 0, expiry = 0, unwarned = 0;
        if (!s->due_timer || store_next_due(s->store, &due, &expiry) < 0)
                return;
        uint64_t next = earliest(due, expiry);
        if (s->config.delay_warning_time > 0 && store_next_unwarned(s->store, &unwarned) >= 0 &&
            unwarned > 0)
                next = earliest(next,
                                unwarned + (uint64_t) s->config.delay_warning_time * USEC_PER_SEC);
        if (!next) {
                sd_event_source_set_enabled(s->due_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(s->due_timer, next);
        sd_event_source_set_enabled(s->due_timer, SD_EVENT_ONESHOT);
}

int spool_schedule_start(struct spool *s)
{
        int r = sd_event_add_time(s->event, &s->due_timer, CLOCK_REALTIME, 0, DUE_ACCURACY_USEC,
                                  due_cb, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->due_timer, "spool-due");
        sd_event_source_set_enabled(s->due_timer, SD_EVENT_OFF);
        spool_schedule_changed(s);
        return 0;
}
