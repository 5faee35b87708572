/* SentCopy=: once a message is sent, a copy of it goes into a mailbox of an
 * imap transport. The copy is a step of its own in the store ("pending"
 * from submission, the body kept until it is made): one copy at a time,
 * started when a message is sent, when the network comes back and when a
 * retry is due; a failed copy is retried with back-off and never holds
 * sending back. Each attempt is counted before it starts, so the one after
 * an interrupted attempt looks in the mailbox before copying again. One
 * CLOCK_REALTIME timer at the next retry, off while nothing is pending. */
#include <inttypes.h>

#include "imap-append.h"
#include "log.h"
#include "spool.h"

#define COPY_RETRY_FIRST_USEC (2 * USEC_PER_SEC)
#define COPY_RETRY_MAX_USEC   (3600 * USEC_PER_SEC)
/* A message whose transport no longer makes copies is looked at again
 * this much later (its copy stays pending: a reload may bring it back). */
#define COPY_ORPHAN_USEC (86400 * USEC_PER_SEC)
static uint64_t copy_retry_usec(uint32_t attempts)
{
        uint64_t delay = COPY_RETRY_FIRST_USEC;
        for (uint32_t i = 1; i < attempts && delay < COPY_RETRY_MAX_USEC; i++)
                delay *= 2;
        return delay < COPY_RETRY_MAX_USEC ? delay : COPY_RETRY_MAX_USEC;
}

/* The timer at the earliest pending copy (at once when one is due now). */
static void copies_rearm(struct spool *s)
{
        uint64_t next = 0;
        if (!s->copy_timer || store_next_copy(s->store, &next) < 0)
                return;
        if (next == 0) {
                sd_event_source_set_enabled(s->copy_timer, SD_EVENT_OFF);
                return;
        }
        sd_event_source_set_time(s->copy_timer, next);
        sd_event_source_set_enabled(s->copy_timer, SD_EVENT_ONESHOT);
}

static void copy_changed(struct spool *s, const char *transport_id, uint64_t id)
{
        struct transport *t = spool_find_transport(s, transport_id);
        if (t)
                transport_message_copy_changed(t, id);
}

static void copy_deferred(struct spool *s, const struct msg_record *m, const char *why,
                          uint64_t delay_usec)
{
        if (store_copy_deferred(s->store, m->id, why, now_realtime_usec() + delay_usec) < 0)
                log_error("cannot record the failed copy of message %" PRIu64, m->id);
        copy_changed(s, m->transport, m->id);
}

static void copy_done(struct transport *imap, uint64_t id, enum mapi_error code, const char *error,
                      void *userdata)
{
        struct spool *s = userdata;
        s->copying = false;
        _cleanup_(msg_record_clear) struct msg_record m = {};
        if (store_get(s->store, id, &m) < 0)
                return;
        if (code == MAPI_E_USER_CANCEL) {
                /* The transport is going away (a reload, the end): the copy
                 * stays due, for the timer, from a later iteration. */
                copies_rearm(s);
                return;
        }
        if (code == MAPI_OK) {
                if (store_copy_done(s->store, id) < 0)
                        log_error("cannot record the copy of message %" PRIu64, id);
                copy_changed(s, m.transport, id);
        } else
                copy_deferred(s, &m, error, copy_retry_usec(m.copy_attempts));
        spool_copies_kick(s);
}

/* Starts the copy of m, or records why it cannot start now. true: started. */
static bool copy_start(struct spool *s, const struct msg_record *m)
{
        struct transport *smtp = spool_find_transport(s, m->transport);
        const char *target = smtp ? smtp->config->sent_copy_transport : NULL;
        struct transport *imap = target ? spool_find_transport(s, target) : NULL;
        if (!imap) {
                copy_deferred(s, m, "no SentCopy transport is configured for it now",
                              COPY_ORPHAN_USEC);
                return false;
        }
        /* Counted before it starts: an attempt that a crash cuts short makes
         * the next one look in the mailbox first. */
        int r = store_copy_begin(s->store, m->id);
        if (r >= 0)
                r = transport_append(imap, m->id, smtp->config->sent_copy_mailbox, m->message_id,
                                     m->copy_attempts > 0, copy_done, s);
        if (r == -EBUSY)
                return false;
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "cannot copy to %s:%s: %s", target,
                             smtp->config->sent_copy_mailbox,
                             r == -ENETDOWN ? "offline" : strerror(-r)) < 0)
                        why = NULL;
                copy_deferred(s, m, why ? why : "cannot copy",
                              copy_retry_usec(m->copy_attempts + 1));
                return false;
        }
        s->copying = true;
        return true;
}

void spool_copies_kick(struct spool *s)
{
        if (s->copying || s->stopping || !s->copy_timer)
                return;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        int r = store_list_copies_due(s->store, now_realtime_usec(), &ids, &n);
        if (r < 0)
                log_error("cannot list the copies to make: %s", strerror(-r));
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_(msg_record_clear) struct msg_record m = {};
                if (store_get(s->store, ids[i], &m) >= 0 && copy_start(s, &m))
                        return;
        }
        copies_rearm(s);
}

static int copy_timer_cb(sd_event_source *source, uint64_t usec, void *userdata)
{
        spool_copies_kick(userdata);
        return 0;
}

int spool_copies_start(struct spool *s)
{
        int r = sd_event_add_time(s->event, &s->copy_timer, CLOCK_REALTIME, 0, USEC_PER_SEC,
                                  copy_timer_cb, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->copy_timer, "spool-sent-copy");
        sd_event_source_set_enabled(s->copy_timer, SD_EVENT_OFF);
        spool_copies_kick(s);
        return 0;
}
