/* The spooler's own progress on a desktop (MAPI's spooler shows it unless
 * the caller passes FLUSH_NO_UI): on a session bus, a flush's progress is a
 * notification (org.freedesktop.Notifications) with a progress bar, updated
 * in place, then its summary. [Spooler] Notifications= says how much. */
#include <inttypes.h>

#include "bus-faces.h"
#include "log.h"
#include "notify-dbus.h"

#define NOTIFICATIONS_NAME  "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH  "/org/freedesktop/Notifications"
#define NOTIFICATIONS_IFACE "org.freedesktop.Notifications"
/* The summary stays a while; progress until replaced. */
#define SUMMARY_TIMEOUT_MSEC 8000

struct flush_notice {
        struct bus_faces *b;
        uint32_t id;       /* 0: none shown yet, or its id not yet known */
        sd_bus_slot *slot; /* the Notify call out, whose reply says the id */
        bool unavailable;  /* no notification server answered */
        /* The flush's end, waiting for that reply (then the bus owns the
         * slot, and the slot this notice). */
        char *end_summary, *end_body;
};

void flush_notice_free(struct flush_notice *n)
{
        if (!n)
                return;
        sd_bus_slot_unref(n->slot);
        free(n->end_summary);
        free(n->end_body);
        free(n);
}

static void flush_notice_freep(struct flush_notice **n)
{
        flush_notice_free(*n);
}

static void notice_free_cb(void *userdata)
{
        flush_notice_free(userdata);
}

static void notify(struct flush_notice *n, const char *summary, const char *body, int percent,
                   int32_t timeout_msec, bool last);

static int notify_reply(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct flush_notice *n = userdata;
        uint32_t id = 0;
        if (sd_bus_message_is_method_error(reply, NULL))
                /* No notification server: a desktop without one shows nothing. */
                n->unavailable = true;
        else if (sd_bus_message_read(reply, "u", &id) >= 0)
                n->id = id;
        if (n->end_summary) {
                /* The slot is the bus's now; freeing it frees n. */
                notify(n, n->end_summary, n->end_body, -1, SUMMARY_TIMEOUT_MSEC, true);
                return 0;
        }
        n->slot = sd_bus_slot_unref(n->slot);
        return 0;
}

/* One Notify call, replacing the flush's last notification. percent < 0:
 * no progress bar. last: the flush's end, sent with no reply awaited (the
 * flush is gone when it would come). */
static void notify(struct flush_notice *n, const char *summary, const char *body, int percent,
                   int32_t timeout_msec, bool last)
{
        if (n->unavailable || (n->slot && !last))
                return; /* one call at a time: the next report comes soon enough */
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(n->b->bus, &m, NOTIFICATIONS_NAME,
                                               NOTIFICATIONS_PATH, NOTIFICATIONS_IFACE, "Notify");
        if (r >= 0)
                r = sd_bus_message_append(m, "susssas", "mailspool", n->id, "mail-send", summary,
                                          strempty(body), 0);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && percent >= 0)
                r = sd_bus_message_append(m, "{sv}", "value", "i", (int32_t) percent);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "category", "s", "transfer");
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", timeout_msec);
        if (r >= 0 && last)
                r = sd_bus_message_set_expect_reply(m, 0);
        if (r >= 0)
                r = last ? sd_bus_send(n->b->bus, m, NULL)
                         : sd_bus_call_async(n->b->bus, &n->slot, m, notify_reply, n, 0);
        if (r < 0)
                log_debug("cannot notify: %s", strerror(-r));
}

static bool wanted(const struct bus_faces *b, bool failure)
{
        if (b->system_bus)
                return false; /* no desktop: the system service has no one to show */
        enum notifications level = b->spool->config.notifications;
        return level == NOTIFICATIONS_ALL || (failure && level == NOTIFICATIONS_ERRORS);
}

void flush_notice_progress(struct bus_faces *b, struct flush_notice **np, const char *transport_id,
                           uint32_t done, uint32_t total, const char *text)
{
        if (!wanted(b, false) || total == 0)
                return;
        if (!*np && !(*np = calloc(1, sizeof(**np))))
                return;
        struct flush_notice *n = *np;
        n->b = b;
        _cleanup_free_ char *summary = NULL;
        if (asprintf(&summary, "Sending %" PRIu32 " of %" PRIu32 " \xe2\x80\x94 %s",
                     done < total ? done + 1 : total, total, transport_id) < 0)
                return;
        notify(n, summary, text, (int) ((uint64_t) done * 100 / total), -1, false);
}

void flush_notice_finished(struct bus_faces *b, struct flush_notice **np, uint32_t sent,
                           uint32_t deferred, uint32_t failed, uint32_t received, const char *error)
{
        _cleanup_(flush_notice_freep) struct flush_notice *n = TAKE_PTR(*np);
        bool failure = failed > 0 || error;
        if (!wanted(b, failure))
                return;
        if (!n && !(n = calloc(1, sizeof(*n))))
                return;
        n->b = b;
        _cleanup_free_ char *summary = NULL;
        if (asprintf(&summary,
                     "%s: %" PRIu32 " sent, %" PRIu32 " deferred, %" PRIu32 " failed, %" PRIu32
                     " received",
                     failure ? "Mail not all sent" : "Mail sent and received", sent, deferred,
                     failed, received) < 0)
                return;
        if (n->slot && !n->unavailable) {
                /* The progress's id is on its way: the end replaces it then
                 * (else the bar would stay on the screen beside the end). */
                n->end_summary = TAKE_PTR(summary);
                n->end_body = error ? strdup(error) : NULL;
                if (sd_bus_slot_set_floating(n->slot, 1) >= 0) {
                        (void) sd_bus_slot_set_destroy_callback(n->slot, notice_free_cb);
                        n->slot = sd_bus_slot_unref(n->slot); /* the bus keeps it */
                        TAKE_PTR(n);
                }
                return;
        }
        notify(n, summary, error, -1, SUMMARY_TIMEOUT_MSEC, true);
}

void message_notice_failed(struct bus_faces *b, uint64_t id)
{
        if (!wanted(b, true))
                return;
        _cleanup_(msg_record_clear) struct msg_record m = {};
        if (store_get(b->spool->store, id, &m) < 0 || message_record_for_bus(&m) < 0)
                return;
        _cleanup_free_ char *summary = NULL;
        if (asprintf(&summary, "Not delivered: %s", m.subject[0] ? m.subject : "(no subject)") < 0)
                return;
        /* A notification of its own, not the flush's: no id to replace. */
        struct flush_notice once = {.b = b};
        notify(&once, summary, m.last_error, -1, SUMMARY_TIMEOUT_MSEC, true);
}
