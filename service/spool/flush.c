/* The flush engine: see flush.h. Every decision of a flush is made here:
 * which parts, which messages, when a part and a request end, what the
 * request comes to. */
#include "flush.h"

#include <stdarg.h>

#include "flush-flags.h"
#include "log.h"
#include "mailspool-bus.h"
#include "utf8.h"

static const char *const direction_words[_FLUSH_DIR_MAX] = {
    [FLUSH_DIR_UPLOAD] = "sending its outgoing queue",
    [FLUSH_DIR_DOWNLOAD] = "fetching its incoming queue",
};

static void round_clear(struct flush_round *r)
{
        free(r->ids);
        free(r->settled);
        free(r->error);
}

struct flush *flush_free(struct flush *f)
{
        if (!f)
                return NULL;
        free(f->target);
        free(f->emitter);
        for (size_t i = 0; i < f->n_parts; i++)
                round_clear(&f->parts[i].round);
        free(f->parts);
        strv_free(f->skipped);
        free(f->unreachable_text);
        for (size_t i = 0; i < f->n_errors; i++) {
                free(f->errors[i].path);
                free(f->errors[i].text);
        }
        free(f->errors);
        free(f);
        return NULL;
}

static void flush_freep(struct flush **f)
{
        flush_free(*f);
}

static struct flush_part *flush_part_of(struct flush *f, const struct transport *t)
{
        for (size_t i = 0; i < f->n_parts; i++)
                if (f->parts[i].t == t)
                        return &f->parts[i];
        return NULL;
}

/* The running part of (t, dir) and its flush, if any flush has one. */
static struct flush_part *running_part(struct flushes *fl, const struct transport *t,
                                       enum flush_direction dir, struct flush **ret)
{
        for (struct flush *f = fl->running; f; f = f->next) {
                struct flush_part *p = flush_part_of(f, t);
                if (p && p->running[dir]) {
                        *ret = f;
                        return p;
                }
        }
        return NULL;
}

struct flush *flushes_find(struct flushes *fl, const char *target)
{
        struct flush *f = fl->running;
        while (f && !streq(f->target, target))
                f = f->next;
        return f;
}

static void spooler_update_status(struct flushes *fl)
{
        uint32_t code = MAILSPOOL_STATUS_AVAILABLE;
        if (fl->upload > 0)
                code |= MAILSPOOL_STATUS_OUTBOUND_FLUSH;
        if (fl->download > 0)
                code |= MAILSPOOL_STATUS_INBOUND_FLUSH;
        const char *text = fl->upload && fl->download ? "Sending and receiving"
                           : fl->upload               ? "Sending"
                           : fl->download             ? "Receiving"
                                                      : "Ready";
        spool_set_status(fl->spool, code, text);
}

static void spooler_count_flush(struct flush *f, int delta)
{
        if (!f->spooler_level)
                return;
        if (f->flags & MAILSPOOL_FLUSH_UPLOAD)
                f->owner->upload += delta;
        if (f->flags & MAILSPOOL_FLUSH_DOWNLOAD)
                f->owner->download += delta;
        spooler_update_status(f->owner);
}

static void flush_unlink(struct flush *f)
{
        for (struct flush **p = &f->owner->running; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        return;
                }
}

static void flush_finish(struct flush *f)
{
        _cleanup_(flush_freep) struct flush *owned = f;
        struct flushes *fl = f->owner;

        flush_unlink(f);
        spooler_count_flush(f, -1);
        log_info("flush of %s ended: %u sent, %u deferred, %u failed, %u received", f->target,
                 f->sent, f->deferred, f->failed, f->received);
        if (fl->listener.finished)
                fl->listener.finished(f, fl->listener.userdata);
        spool_heap_settle(fl->spool, f->done + f->received);
        spool_check_stop(fl->spool);
}

enum mapi_error flush_result(const struct flush *f, const char **ret_text)
{
        if (f->cancelled) {
                *ret_text = "the flush was stopped by CancelFlush";
                return MAPI_E_USER_CANCEL;
        }
        if (f->n_parts == 1 && f->part_unreachable) {
                *ret_text = strempty(f->unreachable_text);
                return f->unreachable_code;
        }
        *ret_text = NULL;
        return MAPI_OK;
}

static void flush_progress(struct flush *f, struct transport *t, const char *text)
{
        if (f->owner->listener.progress)
                f->owner->listener.progress(f, t, text, f->owner->listener.userdata);
}

static void flush_count_outcome(struct flush *f, struct transport *t, enum delivery_outcome outcome)
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
        flush_progress(f, t, text);
}

static int flush_add_error(struct flush *f, const char *path, enum mapi_error code,
                           const char *text)
{
        struct flush_error *e = reallocarray(f->errors, f->n_errors + 1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        f->errors = e;
        e = &f->errors[f->n_errors];
        *e = (struct flush_error){strdup(path), code, utf8_make_valid(text)};
        if (!e->path || !e->text) {
                free(e->path);
                free(e->text);
                return -ENOMEM;
        }
        f->n_errors++;
        return 0;
}

/* Takes the round's list back from the transport: what it never claimed is
 * settled now, counted as deferred when the server could not be reached. */
static void round_take_back(struct flush *f, struct flush_part *p, bool count_deferred)
{
        struct flush_round *r = &p->round;
        if (r->taken_back)
                return;
        size_t claimed = transport_send_first_claimed(p->t);
        transport_send_first(p->t, NULL, NULL, 0);
        r->taken_back = true;
        for (size_t i = claimed; i < r->n; i++)
                if (!r->settled[i]) {
                        r->settled[i] = true;
                        r->n_settled++;
                        if (count_deferred)
                                flush_count_outcome(f, p->t, DELIVERY_DEFERRED);
                }
}

static void flush_part_done(struct flush *f, struct flush_part *p, enum flush_direction dir,
                            enum mapi_error code, const char *error)
{
        if (!p->running[dir])
                return;
        p->running[dir] = false;
        if (dir == FLUSH_DIR_UPLOAD)
                round_take_back(f, p, false);
        if (error) {
                (void) flush_add_error(f, p->t->path, code, error);
                /* Unreachable only if nothing of this part got through. */
                bool none_sent = dir != FLUSH_DIR_UPLOAD || p->round.n_sent == 0;
                if ((code == MAPI_E_NETWORK_ERROR || code == MAPI_E_LOGON_FAILED) && none_sent) {
                        f->part_unreachable = true;
                        f->unreachable_code = code;
                        free(f->unreachable_text);
                        f->unreachable_text = strdup(error);
                }
        }
        transport_show_flush(p->t, dir, false);

        if (--f->running == 0)
                flush_finish(f);
}

static void round_check_finished(struct flush *f, struct flush_part *p)
{
        struct flush_round *r = &p->round;
        if (p->running[FLUSH_DIR_UPLOAD] && r->n_settled == r->n)
                flush_part_done(f, p, FLUSH_DIR_UPLOAD, r->error_code, r->error);
}

/* Index of id in the round, or -1. */
static ssize_t round_find(const struct flush_round *r, uint64_t id)
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

void flushes_message_settled(struct flushes *fl, struct transport *t, uint64_t id,
                             enum delivery_outcome outcome)
{
        struct flush *f;
        struct flush_part *p = running_part(fl, t, FLUSH_DIR_UPLOAD, &f);
        if (!p)
                return;
        struct flush_round *r = &p->round;
        ssize_t i = round_find(r, id);
        if (i < 0 || r->settled[i])
                return;
        r->settled[i] = true;
        r->n_settled++;
        if (outcome == DELIVERY_SENT)
                r->n_sent++;
        if (outcome != DELIVERY_NOT_TRIED)
                flush_count_outcome(f, t, outcome);
        transport_show_flush_progress(t, r->n_settled, r->n);
        round_check_finished(f, p);
}

void flushes_connection_failed(struct flushes *fl, struct transport *t, enum mapi_error code,
                               const char *error)
{
        struct flush *f;
        struct flush_part *p = running_part(fl, t, FLUSH_DIR_UPLOAD, &f);
        if (!p)
                return;
        struct flush_round *r = &p->round;
        if (!r->error) {
                r->error_code = code;
                r->error = strdup(strempty(error));
        }
        /* Messages of the round not tried yet would meet the same closed
         * door: they stay queued for a later attempt. */
        round_take_back(f, p, true);
        transport_show_flush_progress(t, r->n_settled, r->n);
        round_check_finished(f, p);
}

void flushes_message_received(struct flushes *fl, struct transport *t)
{
        struct flush *f;
        if (!running_part(fl, t, FLUSH_DIR_DOWNLOAD, &f))
                return;
        f->received++;
        char text[128];
        snprintf(text, sizeof(text), "%s: received %u", t->config->id, f->received);
        flush_progress(f, t, text);
}

void flushes_download_done(struct flushes *fl, struct transport *t, enum mapi_error code,
                           const char *error)
{
        struct flush *f;
        struct flush_part *p = running_part(fl, t, FLUSH_DIR_DOWNLOAD, &f);
        if (p)
                flush_part_done(f, p, FLUSH_DIR_DOWNLOAD, code, error);
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
        struct flush_part *parts = reallocarray(f->parts, f->n_parts + 1, sizeof(*parts));
        if (!parts)
                return -ENOMEM;
        f->parts = parts;
        f->parts[f->n_parts++] = p;
        return 0;
}

static int refuse(enum mapi_error code, enum mapi_error *ret_code, char **ret_text, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
static int refuse(enum mapi_error code, enum mapi_error *ret_code, char **ret_text, const char *fmt,
                  ...)
{
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(ret_text, fmt, ap) < 0)
                *ret_text = NULL;
        va_end(ap);
        *ret_code = code;
        return -EINVAL;
}

/* A flush of an offline transport could never end: NetworkError at once,
 * naming why it is offline. */
static int refuse_offline(struct transport *t, enum mapi_error *ret_code, char **ret_text)
{
        if (t->offline)
                return refuse(MAPI_E_NETWORK_ERROR, ret_code, ret_text,
                              "transport \"%s\" is offline; call ValidateState with "
                              "FORCE_XP_CONNECT first",
                              t->config->id);
        if (t->no_network)
                return refuse(MAPI_E_NETWORK_ERROR, ret_code, ret_text,
                              "transport \"%s\" is offline: the machine has no network; its "
                              "mail goes when the network is back",
                              t->config->id);
        return 0;
}

static int flush_collect_parts(struct flush *f, struct transport *on_transport, const char *target,
                               enum mapi_error *ret_code, char **ret_text)
{
        struct spool *s = f->owner->spool;
        bool forced = f->flags & MAILSPOOL_FLUSH_FORCE;

        if (on_transport) {
                if (!streq(target, "/"))
                        return refuse(MAPI_E_INVALID_PARAMETER, ret_code, ret_text,
                                      "on a transport, target_transport must be \"/\"; "
                                      "name a target only on the spooler");
                int r = refuse_offline(on_transport, ret_code, ret_text);
                return r < 0 ? r : flush_add_part(f, on_transport);
        }

        if (!streq(target, "/")) {
                struct transport *t = spool_find_transport_by_path(s, target);
                if (!t)
                        return refuse(MAPI_E_NOT_FOUND, ret_code, ret_text, "no transport at %s",
                                      target);
                if (t->config->asynchronous && !forced)
                        return refuse(MAPI_E_INVALID_PARAMETER, ret_code, ret_text,
                                      "transport \"%s\" is asynchronous: flush it with "
                                      "FLUSH_FORCE (0x8)",
                                      t->config->id);
                int r = refuse_offline(t, ret_code, ret_text);
                return r < 0 ? r : flush_add_part(f, t);
        }

        for (size_t i = 0; i < s->n_transports; i++) {
                struct transport *t = s->transports[i];
                if ((t->config->asynchronous && !forced) || t->offline || t->no_network) {
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

static int flush_check_busy(struct flush *f, enum mapi_error *ret_code, char **ret_text)
{
        for (size_t i = 0; i < f->n_parts; i++)
                for (int dir = 0; dir < _FLUSH_DIR_MAX; dir++) {
                        struct flush *other;
                        if (f->parts[i].dir[dir] &&
                            running_part(f->owner, f->parts[i].t, dir, &other))
                                return refuse(MAPI_E_BUSY, ret_code, ret_text,
                                              "transport \"%s\" is already %s",
                                              f->parts[i].t->config->id, direction_words[dir]);
                }
        return 0;
}

int flush_new(struct flushes *fl, struct transport *on_transport, const char *target,
              uint32_t flags, struct flush **ret, enum mapi_error *ret_code, char **ret_text)
{
        const char *sentence;

        *ret_text = NULL;
        if (flush_flags_check(flags, !on_transport, ret_code, &sentence) < 0)
                return refuse(*ret_code, ret_code, ret_text, "%s (flags 0x%X)", sentence, flags);
        if (fl->spool->stopping)
                return refuse(MAPI_E_BUSY, ret_code, ret_text, "the spooler is stopping");

        _cleanup_(flush_freep) struct flush *f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->owner = fl;
        f->flags = flags;
        f->spooler_level = !on_transport;
        f->target = strdup(on_transport ? on_transport->path : target);
        f->emitter = strdup(on_transport ? on_transport->path : MAILSPOOL_SPOOLER_PATH);
        if (!f->target || !f->emitter)
                return -ENOMEM;
        int r = flush_collect_parts(f, on_transport, target, ret_code, ret_text);
        if (r < 0)
                return r;
        r = flush_check_busy(f, ret_code, ret_text);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

/* The upload part's round: every queued message (on-demand ones too) and
 * every deferred one, due or not; with FLUSH_FORCE (the user's "send now")
 * also those in their SendDelay window. Held and scheduled mail waits. */
static int round_start(struct flush_part *p, struct store *store, bool forced)
{
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        if (forced) {
                int k = store_release_undo_window(store, p->t->config->id, &ids, &n);
                if (k < 0)
                        return k;
                for (size_t i = 0; i < n; i++)
                        transport_message_due(p->t, ids[i]);
                ids = mfree(ids);
        }
        int k = store_list_pending(store, p->t->config->id, true, true, 0, &ids, &n);
        if (k < 0)
                return k;
        p->round.settled = calloc(n ? n : 1, sizeof(bool));
        if (!p->round.settled)
                return -ENOMEM;
        p->round.ids = TAKE_PTR(ids);
        p->round.n = n;
        transport_show_flush_progress(p->t, 0, n);
        transport_send_first(p->t, p->round.ids, p->round.settled, n);
        return 0;
}

void flush_run(struct flush *f)
{
        struct flushes *fl = f->owner;
        char buf[64];

        log_info("flush of %s started (%s, %zu part%s)", f->target,
                 flush_flags_to_string(f->flags, buf, sizeof(buf)), f->n_parts,
                 f->n_parts == 1 ? "" : "s");
        f->next = fl->running;
        fl->running = f;
        spooler_count_flush(f, +1);

        /* Claim every part first, so that a part ending at once cannot end the
         * request while later parts have not started. */
        f->running = 1;
        for (size_t i = 0; i < f->n_parts; i++) {
                struct flush_part *p = &f->parts[i];
                for (int dir = 0; dir < _FLUSH_DIR_MAX; dir++)
                        if (p->dir[dir]) {
                                p->running[dir] = true;
                                f->running++;
                                transport_show_flush(p->t, dir, true);
                        }
        }

        for (size_t i = 0; i < f->n_parts; i++) {
                struct flush_part *p = &f->parts[i];
                struct transport *t = p->t;
                if (p->dir[FLUSH_DIR_UPLOAD]) {
                        if (round_start(p, fl->spool->store, f->flags & MAILSPOOL_FLUSH_FORCE) <
                            0) {
                                p->round.taken_back = true; /* never given */
                                flush_part_done(f, p, FLUSH_DIR_UPLOAD, MAPI_E_DISK_ERROR,
                                                "cannot read the queue from the store");
                        } else {
                                f->total += (uint32_t) p->round.n;
                                round_check_finished(f, p);
                        }
                }
                if (p->dir[FLUSH_DIR_DOWNLOAD]) {
                        int r = transport_download_start(t);
                        if (r == -EBUSY)
                                /* A scheduled download is running: it serves this
                                 * flush too, and its end ends this part. */
                                r = 0;
                        if (r < 0)
                                flush_part_done(f, p, FLUSH_DIR_DOWNLOAD, MAPI_E_CALL_FAILED,
                                                strerror(-r));
                }
        }
        /* Upload rounds end as their messages settle; drop the guard. */
        if (--f->running == 0)
                flush_finish(f);
}

void flush_cancel(struct flush *f)
{
        f->cancelled = true;
        log_info("flush of %s cancelled", f->target);
        /* A guard, as in flush_run(): the request ends at the end, not while
         * its parts are being stopped. */
        f->running++;
        for (size_t i = 0; i < f->n_parts; i++) {
                struct flush_part *p = &f->parts[i];
                if (p->running[FLUSH_DIR_DOWNLOAD])
                        transport_download_cancel(p->t);
                if (p->running[FLUSH_DIR_UPLOAD]) {
                        round_take_back(f, p, false);
                        transport_show_flush_progress(p->t, p->round.n_settled, p->round.n);
                        round_check_finished(f, p);
                }
        }
        if (--f->running == 0)
                flush_finish(f);
}

int flushes_reload(struct flushes *fl, char **ret_error)
{
        if (fl->running || spool_busy(fl->spool))
                return -EBUSY;
        return spool_reload(fl->spool, ret_error);
}
