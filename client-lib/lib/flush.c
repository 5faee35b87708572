/* FlushQueues with progress: the call goes out asynchronously so that the
 * FlushProgress signals the daemon sends meanwhile reach the callback, and
 * the function returns with the reply. */
#include "internal.h"

struct flush_call {
        sd_bus_message *reply;
        mailspool_progress_fn progress;
        void *userdata;
};

static int progress_cb(sd_bus_message *sig, void *userdata, sd_bus_error *ret_error)
{
        struct flush_call *c = userdata;
        const char *path, *text;
        uint32_t done, total;
        if (!c->progress || sd_bus_message_read(sig, "ouus", &path, &done, &total, &text) < 0)
                return 0;
        _cleanup_free_ char *id = ms_transport_id(path);
        if (id)
                c->progress(id, done, total, text, c->userdata);
        return 0;
}

static int reply_cb(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        struct flush_call *c = userdata;
        c->reply = sd_bus_message_ref(reply);
        return 0;
}

static int read_errors(sd_bus_message *reply, struct mailspool_flush_summary *s)
{
        int r = sd_bus_message_enter_container(reply, 'v', "a(oss)");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(oss)");
        while (r >= 0) {
                const char *path, *name, *message;
                r = sd_bus_message_read(reply, "(oss)", &path, &name, &message);
                if (r <= 0)
                        break;
                struct mailspool_flush_error *more =
                    realloc(s->errors, (s->n_errors + 1) * sizeof(*more));
                if (!more)
                        return -ENOMEM;
                s->errors = more;
                struct mailspool_flush_error *e = &s->errors[s->n_errors++];
                *e = (struct mailspool_flush_error){strdup(path), strdup(name), strdup(message)};
                if (!e->transport || !e->name || !e->message)
                        return -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        if (r >= 0)
                r = sd_bus_message_exit_container(reply);
        return r;
}

/* One entry of the summary; keys a newer daemon adds are skipped. */
static int read_summary_entry(sd_bus_message *reply, const char *key, void *userdata)
{
        struct mailspool_flush_summary *s = userdata;
        uint32_t *count = strcmp(key, "sent") == 0       ? &s->sent
                          : strcmp(key, "deferred") == 0 ? &s->deferred
                          : strcmp(key, "failed") == 0   ? &s->failed
                          : strcmp(key, "received") == 0 ? &s->received
                                                         : NULL;
        if (count)
                return ms_read_variant(reply, 'u', count);
        if (strcmp(key, "skipped") == 0)
                return ms_read_variant_strv(reply, "ao", &s->skipped);
        if (strcmp(key, "errors") == 0)
                return read_errors(reply, s);
        return sd_bus_message_skip(reply, "v");
}

/* The path of an optional transport id: NULL without one, for which
 * FlushQueues and CancelFlush send "/" (every transport). */
static int transport_path_or_null(const char *transport, char **ret)
{
        *ret = NULL;
        return transport ? mailspool_transport_path(transport, ret) : 0;
}

MS_EXPORT int mailspool_flush(mailspool *m, const char *transport, bool via_spooler, uint32_t flags,
                              mailspool_progress_fn progress, void *userdata,
                              struct mailspool_flush_summary *ret)
{
        if (!m)
                return -EINVAL;
        ms_error_reset(m);
        if (ret)
                *ret = (struct mailspool_flush_summary){0};

        _cleanup_free_ char *transport_path = NULL;
        int r = transport_path_or_null(transport, &transport_path);
        if (r < 0)
                return r;
        const char *object = transport && !via_spooler ? transport_path : MAILSPOOL_SPOOLER_PATH;
        const char *target = transport && via_spooler ? transport_path : "/";

        struct flush_call c = {.progress = progress, .userdata = userdata};
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *match = NULL, *call = NULL;
        /* Added (synchronously) before the call, so no progress is missed. */
        if (progress && !(flags & MAILSPOOL_FLUSH_NO_UI))
                r = sd_bus_match_signal(m->bus, &match, NULL, object, MAILSPOOL_IFACE_STATUS,
                                        "FlushProgress", progress_cb, &c);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = NULL;
        if (r >= 0)
                r = sd_bus_message_new_method_call(m->bus, &message, MAILSPOOL_BUS_NAME, object,
                                                   MAILSPOOL_IFACE_STATUS, "FlushQueues");
        if (r >= 0)
                r = sd_bus_message_append(message, "ou", target, flags);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, &call, message, reply_cb, &c, MS_CALL_TIMEOUT_USEC);
        while (r >= 0 && !c.reply) {
                r = sd_bus_process(m->bus, NULL);
                if (r == 0)
                        r = sd_bus_wait(m->bus, UINT64_MAX);
        }
        if (r < 0) {
                sd_bus_message_unref(c.reply);
                return ms_fail(m, r);
        }

        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = c.reply;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                sd_bus_error_copy(&m->error, sd_bus_message_get_error(reply));
                return ms_fail(m, -EIO);
        }
        if (ret) {
                r = ms_read_dict(reply, read_summary_entry, ret);
                if (r < 0) {
                        mailspool_flush_summary_clear(ret);
                        return ms_fail(m, r);
                }
        }
        return 0;
}

MS_EXPORT void mailspool_flush_summary_clear(struct mailspool_flush_summary *s)
{
        if (!s)
                return;
        ms_strv_free(s->skipped);
        for (size_t i = 0; i < s->n_errors; i++) {
                free(s->errors[i].transport);
                free(s->errors[i].name);
                free(s->errors[i].message);
        }
        free(s->errors);
        *s = (struct mailspool_flush_summary){0};
}

MS_EXPORT int mailspool_cancel_flush(mailspool *m, const char *transport)
{
        if (!m)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_free_ char *path = NULL;
        int r = transport_path_or_null(transport, &path);
        if (r < 0)
                return r;
        r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, MAILSPOOL_SPOOLER_PATH,
                               MAILSPOOL_IFACE_SPOOLER, "CancelFlush", &m->error, NULL, "o",
                               path ? path : "/");
        return r < 0 ? ms_fail(m, r) : 0;
}
