/* The wiring: the spool, its flushes and the bus faces, and the listeners
 * that carry what the lower layers report to the ones that act on it. */
#include "daemon.h"

#include "log.h"
#include "mailspool-bus.h"
#include "notify-dbus.h"

/* --- What the transports report, passed on ---------------------------------- */

static void on_transport_changed(struct transport *t, unsigned changes, void *userdata)
{
        struct daemon *d = userdata;
        transport_dbus_changed(&d->faces, t, changes);
        /* Back on line (the network, ValidateState): a copy to Sent that
         * waited for this transport may go. */
        if ((changes & TRANSPORT_CHANGED_STATUS_CODE) &&
            !(t->status.status_code & MAILSPOOL_STATUS_OFFLINE))
                spool_copies_kick(d->spool);
}

static void on_message_changed(struct transport *t, uint64_t id, bool recipients, void *userdata)
{
        struct daemon *d = userdata;
        message_dbus_changed(&d->faces, id, recipients);
}

static void on_message_settled(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                               void *userdata)
{
        struct daemon *d = userdata;
        /* A first deferral may bring the next delay warning forward. */
        if (outcome == DELIVERY_DEFERRED)
                spool_schedule_changed(d->spool);
        if (outcome == DELIVERY_FAILED)
                message_notice_failed(&d->faces, id);
        /* Only a transport with SentCopy= makes copies: for the others
         * the look for copies to make found nothing new, after every
         * message of a flush (3.5 % of its time). */
        if (outcome == DELIVERY_SENT && t->config->sent_copy_transport)
                spool_copies_kick(d->spool);
        flushes_message_settled(&d->flushes, t, id, outcome);
}

static void on_connection_failed(struct transport *t, enum mapi_error code, const char *error,
                                 void *userdata)
{
        struct daemon *d = userdata;
        flushes_connection_failed(&d->flushes, t, code, error);
}

static void on_message_received(struct transport *t, uint64_t id, const char *file, void *userdata)
{
        struct daemon *d = userdata;
        transport_dbus_message_received(&d->faces, t, id, file);
        flushes_message_received(&d->flushes, t);
}

static void on_download_done(struct transport *t, enum mapi_error code, const char *error,
                             void *userdata)
{
        struct daemon *d = userdata;
        flushes_download_done(&d->flushes, t, code, error);
}

static void on_validate_done(struct transport *t, enum mapi_error code, const char *error,
                             void *userdata)
{
        struct daemon *d = userdata;
        status_dbus_validate_done(&d->faces, t, code, error);
}

static void on_transport_idle(struct transport *t, void *userdata)
{
        struct daemon *d = userdata;
        spool_check_stop(d->spool);
}

static const struct transport_listener transport_listener = {
    .changed = on_transport_changed,
    .message_changed = on_message_changed,
    .message_settled = on_message_settled,
    .connection_failed = on_connection_failed,
    .message_received = on_message_received,
    .download_done = on_download_done,
    .validate_done = on_validate_done,
    .idle = on_transport_idle,
};

/* --- What the spool and the flush engine report ----------------------------- */

static void on_spooler_changed(struct spool *s, unsigned changes, void *userdata)
{
        struct daemon *d = userdata;
        status_dbus_changed(&d->faces, MAILSPOOL_SPOOLER_PATH, changes);
}

static void on_transport_removed(struct spool *s, struct transport *t, void *userdata)
{
        struct daemon *d = userdata;
        transport_dbus_remove(&d->faces, t, true);
}

static void on_transports_added(struct spool *s, void *userdata)
{
        struct daemon *d = userdata;
        int r = transport_dbus_add_all(&d->faces, true);
        if (r < 0)
                log_error("cannot put the transports on the bus: %s", strerror(-r));
        spooler_dbus_order_changed(&d->faces);
        /* After a reload: DelayWarningTime may have changed, and a copy
         * to Sent may have its transport now. */
        spool_schedule_changed(s);
        spool_copies_kick(s);
}

static void on_flush_progress(struct flush *f, struct transport *t, const char *text,
                              void *userdata)
{
        struct daemon *d = userdata;
        status_dbus_flush_progress(&d->faces, f, t, text);
}

static void on_flush_finished(struct flush *f, void *userdata)
{
        struct daemon *d = userdata;
        status_dbus_flush_finished(&d->faces, f);
}

/* The system bus, where NetworkManager says what it knows of the network;
 * NULL when there is none (a container, a test without one). */
static sd_bus *network_manager_bus(struct daemon *d)
{
        if (d->system_bus)
                return d->bus;
        _cleanup_(sd_bus_unrefp) sd_bus *bus = NULL;
        int r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_attach_event(bus, d->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0) {
                log_debug("no system bus, so no NetworkManager: %s", strerror(-r));
                return NULL;
        }
        d->system_bus_for_nm = TAKE_PTR(bus);
        return d->system_bus_for_nm;
}

int daemon_start(struct daemon *d, struct spool_config *config)
{
        const struct spool_listener listener = {
            .transport = &transport_listener,
            .spooler_changed = on_spooler_changed,
            .transport_removed = on_transport_removed,
            .transports_added = on_transports_added,
            .userdata = d,
        };
        int r = spool_new(d->event, d->store, d->config_dir, d->state_dir, config, &listener,
                          &d->spool);
        if (r < 0)
                return r;
        /* On a session bus, the user's Secret Service and Online Accounts
         * are on the same bus: transports read secrets over it. */
        if (!d->system_bus)
                d->spool->session_bus = d->bus;
        d->flushes = (struct flushes){
            .spool = d->spool,
            .listener = {.progress = on_flush_progress,
                         .finished = on_flush_finished,
                         .userdata = d},
        };
        r = bus_faces_init(&d->faces, d->bus, d->event, d->system_bus, d->spool, &d->flushes);
        if (r < 0)
                return r;
        r = spool_start_transports(d->spool);
        if (r < 0) {
                log_error("cannot start the transports: %s", strerror(-r));
                return r;
        }
        r = spool_schedule_start(d->spool);
        if (r < 0)
                return r;
        r = spool_network_start(d->spool, network_manager_bus(d));
        if (r < 0)
                return r;
        r = spool_copies_start(d->spool);
        if (r < 0)
                return r;
        return transport_dbus_add_all(&d->faces, false);
}

void daemon_done(struct daemon *d)
{
        bus_faces_done(&d->faces);
        d->spool = spool_free(d->spool);
        d->system_bus_for_nm = sd_bus_flush_close_unref(d->system_bus_for_nm);
}

void daemon_reload(struct daemon *d)
{
        _cleanup_free_ char *text = NULL;
        int r = flushes_reload(&d->flushes, &text);
        if (r == -EBUSY)
                log_warning("SIGHUP: the configuration is not re-read while a flush runs or mail "
                            "is in transit; send SIGHUP again when it ends");
        else if (r < 0)
                log_error("SIGHUP: the configuration was not changed: %s",
                          text ? text : strerror(-r));
}
