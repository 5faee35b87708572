/* The flush engine (MAPI's FlushQueues). One request covers one or more
 * (transport, direction) parts; each part is run by its transport (an upload
 * round over the queue as it stood at the call, or a download), and the
 * request ends, replies and announces FlushFinished when its last part ends. */
#include "flush.h"

#include "bus-error.h"
#include "flush-flags.h"
#include "log.h"
#include "mailspool-bus.h"

struct flush_error {
        char *path;
        char *name;
        char *message;
};

struct flush_part {
        struct transport *t;
        bool dir[_FLUSH_DIR_MAX];
        bool running[_FLUSH_DIR_MAX];
};

struct flush {
        struct daemon *d;
        struct flush *next;

        sd_bus_message *call; /* NULL once replied to (or FLUSH_ASYNC_OK) */
        char *caller;         /* FlushProgress goes to this unique name; NULL: none */
        char *emitter;        /* object that emits FlushFinished */
        char *target;         /* what CancelFlush names: "/" or a transport path */
        uint32_t flags;
        bool spooler_level;
        bool cancelled;

        struct flush_part *parts;
        size_t n_parts;
        unsigned running;

        uint32_t sent, deferred, failed, received;
        uint32_t done, total;
        char **skipped;
        struct flush_error *errors;
        size_t n_errors;
        /* A part that could not connect or log on: if it was the only part,
         * the call fails as a whole with this code. */
        bool part_unreachable;
        enum mapi_error unreachable_code;
        char *unreachable_text;
};

static const char *const direction_words[_FLUSH_DIR_MAX] = {
    [FLUSH_DIR_UPLOAD] = "sending its outgoing queue",
    [FLUSH_DIR_DOWNLOAD] = "fetching its incoming queue",
};

static struct flush *flush_free(struct flush *f)
{
        if (!f)
                return NULL;
        sd_bus_message_unref(f->call);
        free(f->caller);
        free(f->emitter);
        free(f->target);
        free(f->parts);
        strv_free(f->skipped);
        free(f->unreachable_text);
        for (size_t i = 0; i < f->n_errors; i++) {
                free(f->errors[i].path);
                free(f->errors[i].name);
                free(f->errors[i].message);
        }
        free(f->errors);
        free(f);
        return NULL;
}

static void flush_freep(struct flush **f)
{
        flush_free(*f);
}

static void flush_unlink(struct flush *f)
{
        for (struct flush **p = &f->d->flushes; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        return;
                }
}

static int append_summary(sd_bus_message *m, const struct flush *f)
{
        int r = sd_bus_message_append(m, "{sv}{sv}{sv}{sv}", "sent", "u", f->sent, "deferred", "u",
                                      f->deferred, "failed", "u", f->failed, "received", "u",
                                      f->received);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "skipped");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ao");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "o");
        for (char **p = f->skipped; r >= 0 && p && *p; p++)
                r = sd_bus_message_append(m, "o", *p);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "errors");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(oss)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(oss)");
        for (size_t i = 0; r >= 0 && i < f->n_errors; i++)
                r = sd_bus_message_append(m, "(oss)", f->errors[i].path, f->errors[i].name,
                                          f->errors[i].message);
        for (int k = 0; r >= 0 && k < 3; k++)
                r = sd_bus_message_close_container(m);
        return r;
}

static int reply_summary(sd_bus_message *call, const struct flush *f)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_summary(reply, f);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        return r;
}

static void emit_finished(const struct flush *f)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r =
            sd_bus_message_new_signal(f->d->bus, &sig, f->emitter, MAILSPOOL_IFACE_STATUS, "FlushFinished");
        if (r >= 0)
                r = sd_bus_message_append(sig, "ou", f->target, f->flags);
        if (r >= 0)
                r = sd_bus_message_open_container(sig, 'a', "{sv}");
        if (r >= 0)
                r = append_summary(sig, f);
        if (r >= 0)
                r = sd_bus_message_close_container(sig);
        if (r >= 0)
                r = sd_bus_send(f->d->bus, sig, NULL);
        if (r < 0)
                log_warning("cannot emit FlushFinished: %s", strerror(-r));
}

static void spooler_update_status(struct daemon *d)
{
        uint32_t code = MAILSPOOL_STATUS_AVAILABLE;
        if (d->upload_flushes > 0)
                code |= MAILSPOOL_STATUS_OUTBOUND_FLUSH;
        if (d->download_flushes > 0)
                code |= MAILSPOOL_STATUS_INBOUND_FLUSH;
        const char *text = d->upload_flushes && d->download_flushes ? "Sending and receiving"
                           : d->upload_flushes                      ? "Sending"
                           : d->download_flushes                    ? "Receiving"
                                                                    : "Ready";
        daemon_set_status(d, code, text);
}

static void spooler_count_flush(struct flush *f, int delta)
{
        if (!f->spooler_level)
                return;
        if (f->flags & MAILSPOOL_FLUSH_UPLOAD)
                f->d->upload_flushes += delta;
        if (f->flags & MAILSPOOL_FLUSH_DOWNLOAD)
                f->d->download_flushes += delta;
        spooler_update_status(f->d);
}

static void flush_finish(struct flush *f)
{
        _cleanup_(flush_freep) struct flush *owned = f;

        flush_unlink(f);
        spooler_count_flush(f, -1);

        if (f->call) {
                if (f->cancelled) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        bus_error_mapi(&e, MAPI_E_USER_CANCEL,
                                       "the flush was stopped by CancelFlush");
                        sd_bus_reply_method_error(f->call, &e);
                } else if (f->n_parts == 1 && f->part_unreachable) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        bus_error_mapi(&e, f->unreachable_code, "%s",
                                       strempty(f->unreachable_text));
                        sd_bus_reply_method_error(f->call, &e);
                } else if (reply_summary(f->call, f) < 0)
                        log_warning("cannot reply to FlushQueues");
        }
        emit_finished(f);
        log_info("flush of %s ended: %u sent, %u deferred, %u failed, %u received", f->target,
                 f->sent, f->deferred, f->failed, f->received);
        daemon_check_stop(f->d);
}

static void send_progress(struct flush *f, struct transport *t, const char *text)
{
        if (!f->caller)
                return;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r =
            sd_bus_message_new_signal(f->d->bus, &sig, f->emitter, MAILSPOOL_IFACE_STATUS, "FlushProgress");
        /* Unicast: only the caller asked to be shown progress. */
        if (r >= 0)
                r = sd_bus_message_set_destination(sig, f->caller);
        if (r >= 0)
                r = sd_bus_message_append(sig, "ouus", t->path, f->done, f->total, text);
        if (r >= 0)
                r = sd_bus_send(f->d->bus, sig, NULL);
        if (r < 0)
                log_debug("cannot send FlushProgress: %s", strerror(-r));
}

void flush_message_outcome(struct flush *f, struct transport *t, enum delivery_outcome outcome)
{
        if (outcome == DELIVERY_SENT)
                f->sent++;
        else if (outcome == DELIVERY_DEFERRED)
                f->deferred++;
        else
                f->failed++;
        f->done++;

        /* What happened so far, not only "sent": a deferral counts as done. */
        char text[160];
        snprintf(text, sizeof(text), "%s: %u of %u done (%u sent, %u deferred, %u failed)",
                 t->config->id, f->done, f->total, f->sent, f->deferred, f->failed);
        send_progress(f, t, text);
}

void flush_message_received(struct flush *f, struct transport *t)
{
        f->received++;
        char text[128];
        snprintf(text, sizeof(text), "%s: received %u", t->config->id, f->received);
        send_progress(f, t, text);
}

static int flush_add_error(struct flush *f, const char *path, enum mapi_error code,
                           const char *text)
{
        struct flush_error *e = realloc(f->errors, sizeof(*e) * (f->n_errors + 1));
        if (!e)
                return -ENOMEM;
        f->errors = e;
        e = &f->errors[f->n_errors];
        *e = (struct flush_error){strdup(path), strdup(mapi_error_dbus_name(code)), NULL};
        if (asprintf(&e->message, "%s (0x%08X): %s", mapi_error_name(code), mapi_error_value(code),
                     text) < 0)
                e->message = NULL;
        if (!e->path || !e->name || !e->message) {
                free(e->path);
                free(e->name);
                free(e->message);
                return -ENOMEM;
        }
        f->n_errors++;
        return 0;
}

void flush_part_done(struct flush *f, struct transport *t, enum flush_direction dir,
                     enum mapi_error code, const char *error)
{
        struct flush_part *p = NULL;
        for (size_t i = 0; i < f->n_parts; i++)
                if (f->parts[i].t == t)
                        p = &f->parts[i];
        if (!p || !p->running[dir])
                return;

        p->running[dir] = false;
        if (t->flush[dir] == f)
                t->flush[dir] = NULL;
        if (dir == FLUSH_DIR_UPLOAD)
                transport_upload_round_stop(t);
        if (error) {
                (void) flush_add_error(f, t->path, code, error);
                /* Unreachable only if nothing of this part got through. */
                bool none_sent = dir != FLUSH_DIR_UPLOAD || t->round.n_sent == 0;
                if ((code == MAPI_E_NETWORK_ERROR || code == MAPI_E_LOGON_FAILED) && none_sent) {
                        f->part_unreachable = true;
                        f->unreachable_code = code;
                        free(f->unreachable_text);
                        f->unreachable_text = strdup(error);
                }
        }
        transport_update_status(t);

        if (--f->running == 0)
                flush_finish(f);
}

/* Adds the part (t, directions the request and the kind both have). */
static int flush_add_part(struct flush *f, struct transport *t)
{
        struct flush_part p = {.t = t};
        p.dir[FLUSH_DIR_UPLOAD] =
            (f->flags & MAILSPOOL_FLUSH_UPLOAD) && transport_kind_is_outbound(t->config->kind);
        p.dir[FLUSH_DIR_DOWNLOAD] =
            (f->flags & MAILSPOOL_FLUSH_DOWNLOAD) && transport_kind_is_inbound(t->config->kind);
        if (!p.dir[FLUSH_DIR_UPLOAD] && !p.dir[FLUSH_DIR_DOWNLOAD])
                return 0;
        struct flush_part *parts = realloc(f->parts, sizeof(*parts) * (f->n_parts + 1));
        if (!parts)
                return -ENOMEM;
        f->parts = parts;
        f->parts[f->n_parts++] = p;
        return 0;
}

static int flush_collect_parts(struct flush *f, struct transport *on_transport, const char *target,
                               sd_bus_error *error)
{
        struct daemon *d = f->d;

        if (on_transport) {
                if (!streq(target, "/"))
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "on a transport, target_transport must be \"/\"; "
                                              "name a target only on the spooler");
                return flush_add_part(f, on_transport);
        }

        if (!streq(target, "/")) {
                struct transport *t = daemon_find_transport_by_path(d, target);
                if (!t)
                        return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no transport at %s",
                                              target);
                if (t->config->asynchronous && !(f->flags & MAILSPOOL_FLUSH_FORCE))
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "transport \"%s\" is asynchronous: flush it with "
                                              "FLUSH_FORCE (0x8)",
                                              t->config->id);
                if (t->offline)
                        return bus_error_mapi(error, MAPI_E_NETWORK_ERROR,
                                              "transport \"%s\" is offline; call ValidateState "
                                              "with FORCE_XP_CONNECT first",
                                              t->config->id);
                return flush_add_part(f, t);
        }

        for (size_t i = 0; i < d->n_transports; i++) {
                struct transport *t = d->transports[i];
                if ((t->config->asynchronous && !(f->flags & MAILSPOOL_FLUSH_FORCE)) || t->offline) {
                        int r = strv_extend(&f->skipped, t->path);
                        if (r < 0)
                                return r;
                        continue;
                }
                int r = flush_add_part(f, t);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int flush_check_busy(const struct flush *f, sd_bus_error *error)
{
        for (size_t i = 0; i < f->n_parts; i++)
                for (int dir = 0; dir < _FLUSH_DIR_MAX; dir++)
                        if (f->parts[i].dir[dir] && f->parts[i].t->flush[dir])
                                return bus_error_mapi(
                                    error, MAPI_E_BUSY, "transport \"%s\" is already %s",
                                    f->parts[i].t->config->id, direction_words[dir]);
        return 0;
}

static void flush_start_parts(struct flush *f)
{
        /* Claim every part first, so that a part ending at once cannot end the
         * request while later parts have not started. */
        f->running = 1;
        for (size_t i = 0; i < f->n_parts; i++) {
                struct flush_part *p = &f->parts[i];
                for (int dir = 0; dir < _FLUSH_DIR_MAX; dir++)
                        if (p->dir[dir]) {
                                p->t->flush[dir] = f;
                                p->running[dir] = true;
                                f->running++;
                        }
        }

        for (size_t i = 0; i < f->n_parts; i++) {
                struct flush_part *p = &f->parts[i];
                struct transport *t = p->t;
                if (p->dir[FLUSH_DIR_UPLOAD]) {
                        int r = transport_upload_round_start(t);
                        if (r < 0)
                                flush_part_done(f, t, FLUSH_DIR_UPLOAD, MAPI_E_DISK_ERROR,
                                                "cannot read the queue from the store");
                        else
                                f->total += (uint32_t) t->round.n;
                }
                if (p->dir[FLUSH_DIR_DOWNLOAD]) {
                        int r = transport_download_start(t);
                        if (r == -EBUSY)
                                /* A scheduled download is running: it serves this
                                 * flush too, and its end ends this part. */
                                r = 0;
                        if (r < 0)
                                flush_part_done(f, t, FLUSH_DIR_DOWNLOAD, MAPI_E_CALL_FAILED,
                                                strerror(-r));
                }
                transport_update_status(t);
        }
        /* Upload rounds end in their transport's pump; drop the guard. */
        if (--f->running == 0)
                flush_finish(f);
}

int flush_queues_call(struct daemon *d, struct transport *on_transport, sd_bus_message *m,
                      const char *target, uint32_t flags, sd_bus_error *error)
{
        enum mapi_error code;
        const char *text;

        if (flush_flags_check(flags, !on_transport, &code, &text) < 0)
                return bus_error_mapi(error, code, "%s (flags 0x%X)", text, flags);
        if (d->stopping)
                return bus_error_mapi(error, MAPI_E_BUSY, "the spooler is stopping");

        _cleanup_(flush_freep) struct flush *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->d = d;
        f->flags = flags;
        f->spooler_level = !on_transport;
        f->target = strdup(on_transport ? on_transport->path : target);
        f->emitter = strdup(on_transport ? on_transport->path : MAILSPOOL_SPOOLER_PATH);
        if (!f->target || !f->emitter)
                return -ENOMEM;
        if (!(flags & MAILSPOOL_FLUSH_NO_UI)) {
                f->caller = strdup(strempty(sd_bus_message_get_sender(m)));
                if (!f->caller)
                        return -ENOMEM;
        }

        int r = flush_collect_parts(f, on_transport, target, error);
        if (r < 0)
                return r;
        r = flush_check_busy(f, error);
        if (r < 0)
                return r;

        if (!(flags & MAILSPOOL_FLUSH_ASYNC_OK))
                f->call = sd_bus_message_ref(m);
        else {
                r = reply_summary(m, f);
                if (r < 0)
                        return r;
        }

        char buf[64];
        log_info("flush of %s started (%s, %zu part%s)", f->target,
                 flush_flags_to_string(flags, buf, sizeof(buf)), f->n_parts,
                 f->n_parts == 1 ? "" : "s");
        f->next = d->flushes;
        d->flushes = f;
        spooler_count_flush(f, +1);
        flush_start_parts(TAKE_PTR(f));
        return 1;
}

int flush_cancel_call(struct daemon *d, sd_bus_message *m, const char *target, sd_bus_error *error)
{
        struct flush *f = d->flushes;
        while (f && !streq(f->target, target))
                f = f->next;
        if (!f)
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no flush of %s is running", target);

        const char *sender = sd_bus_message_get_sender(m);
        const char *owner = f->call ? sd_bus_message_get_sender(f->call) : NULL;
        if (!streq_ptr(sender, owner) && !bus_caller_is_privileged(d, m))
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "the flush of %s belongs to another client", target);

        f->cancelled = true;
        for (size_t i = 0; i < f->n_parts; i++) {
                struct transport *t = f->parts[i].t;
                if (f->parts[i].running[FLUSH_DIR_UPLOAD])
                        transport_upload_round_stop(t);
                if (f->parts[i].running[FLUSH_DIR_DOWNLOAD] && t->ops->download_cancel)
                        t->ops->download_cancel(t);
        }
        log_info("flush of %s cancelled", target);
        return sd_bus_reply_method_return(m, NULL);
}
