/* ListMessages, one message's properties, and what a message's methods do:
 * Abort, Hold, Release and Reschedule. */
#include <stdio.h>

#include "internal.h"

static int append_filter(sd_bus_message *call, const struct mailspool_message_filter *f)
{
        int r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && f && f->state)
                r = sd_bus_message_append(call, "{sv}", "State", "s", f->state);
        if (r >= 0 && f && f->direction)
                r = sd_bus_message_append(call, "{sv}", "Direction", "s", f->direction);
        if (r >= 0 && f && f->transport)
                r = ms_append_transport(call, f->transport);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        return r;
}

MS_EXPORT int mailspool_list_messages(mailspool *m, const struct mailspool_message_filter *filter,
                                      struct mailspool_message_entry **ret_entries)
{
        if (!m || !ret_entries)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        int r = sd_bus_message_new_method_call(m->bus, &call, MAILSPOOL_BUS_NAME,
                                               MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_SPOOLER,
                                               "ListMessages");
        if (r >= 0)
                r = append_filter(call, filter);
        if (r >= 0)
                r = sd_bus_call(m->bus, call, 0, &m->error, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(osssuut)");

        struct mailspool_message_entry *entries = NULL;
        size_t n = 0;
        while (r >= 0) {
                const char *path, *state, *transport, *subject;
                struct mailspool_message_entry e = {0};
                r = sd_bus_message_read(reply, "(osssuut)", &path, &state, &transport, &subject,
                                        &e.size, &e.attempts, &e.submitted_usec);
                if (r <= 0)
                        break;
                struct mailspool_message_entry *more = realloc(entries, (n + 1) * sizeof(*more));
                if (!more) {
                        r = -ENOMEM;
                        break;
                }
                entries = more;
                e.path = strdup(path);
                e.state = strdup(state);
                e.transport = strdup(transport);
                e.subject = strdup(subject);
                entries[n++] = e;
                if (!e.path || !e.state || !e.transport || !e.subject)
                        r = -ENOMEM;
        }
        if (r < 0) {
                mailspool_message_entries_free(entries, n);
                return ms_fail(m, r);
        }
        *ret_entries = entries;
        return (int) n;
}

MS_EXPORT void mailspool_message_entries_free(struct mailspool_message_entry *entries, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(entries[i].path);
                free(entries[i].state);
                free(entries[i].transport);
                free(entries[i].subject);
        }
        free(entries);
}

/* "42" or its object path, MAILSPOOL_MESSAGE_PREFIX "/42". */
static int message_path(const char *message, char **ret)
{
        if (!message || !*message)
                return -EINVAL;
        if (message[0] == '/') {
                if (!sd_bus_object_path_is_valid(message))
                        return -EINVAL;
                *ret = strdup(message);
                return *ret ? 0 : -ENOMEM;
        }
        if (strspn(message, "0123456789") != strlen(message))
                return -EINVAL;
        return asprintf(ret, "%s/%s", MAILSPOOL_MESSAGE_PREFIX, message) < 0 ? -ENOMEM : 0;
}

/* One property of GetAll; those a newer daemon adds are skipped. */
static int read_property(sd_bus_message *reply, const char *name, void *userdata)
{
        struct mailspool_message *msg = userdata;
        struct {
                const char *name;
                char type;
                void *field;
        } const props[] = {
            {"Id", 't', &msg->id},
            {"Direction", 's', &msg->direction},
            {"State", 's', &msg->state},
            {"Sender", 's', &msg->sender},
            {"Subject", 's', &msg->subject},
            {"MessageID", 's', &msg->message_id},
            {"Size", 't', &msg->size},
            {"Submitted", 't', &msg->submitted_usec},
            {"Attempts", 'u', &msg->attempts},
            {"NextAttempt", 't', &msg->next_attempt_usec},
            {"LastError", 's', &msg->last_error},
            {"Owner", 'u', &msg->owner},
            {"Path", 's', &msg->file},
            {"OnDemand", 'b', &msg->on_demand},
            {"DeferredUntil", 't', &msg->deferred_until},
            {"ExpiryTime", 't', &msg->expiry_time},
            {"PossiblyDelivered", 'b', &msg->possibly_delivered},
            {"DelayReported", 'b', &msg->delay_reported},
            {"SentCopy", 's', &msg->sent_copy},
            {"SentCopyError", 's', &msg->sent_copy_error},
        };
        if (strcmp(name, "Recipients") == 0)
                return ms_read_variant_strv(reply, "as", &msg->recipients);
        if (strcmp(name, "Transport") == 0) {
                /* The API names a transport by its id, not by its path. */
                _cleanup_free_ char *path = NULL;
                int r = ms_read_variant(reply, 'o', &path);
                if (r < 0)
                        return r;
                free(msg->transport);
                msg->transport = ms_transport_id(path);
                return msg->transport ? 0 : -ENOMEM;
        }
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
                if (strcmp(name, props[i].name) == 0)
                        return ms_read_variant(reply, props[i].type, props[i].field);
        return sd_bus_message_skip(reply, "v");
}

MS_EXPORT int mailspool_get_message(mailspool *m, const char *message,
                                    struct mailspool_message *ret)
{
        if (!m || !ret)
                return -EINVAL;
        ms_error_reset(m);
        *ret = (struct mailspool_message){0};
        int r = message_path(message, &ret->path);
        if (r < 0)
                return r;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, ret->path,
                               "org.freedesktop.DBus.Properties", "GetAll", &m->error, &reply, "s",
                               MAILSPOOL_IFACE_MESSAGE);
        if (r >= 0)
                r = ms_read_dict(reply, read_property, ret);
        if (r < 0) {
                mailspool_message_clear(ret);
                return ms_fail(m, r);
        }
        return 0;
}

MS_EXPORT void mailspool_message_clear(struct mailspool_message *msg)
{
        if (!msg)
                return;
        char *strings[] = {msg->path,   msg->direction, msg->state,          msg->transport,
                           msg->sender, msg->subject,   msg->message_id,     msg->last_error,
                           msg->file,   msg->sent_copy, msg->sent_copy_error};
        for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
                free(strings[i]);
        ms_strv_free(msg->recipients);
        *msg = (struct mailspool_message){0};
}

/* A method of the message: Abort, Hold, Release, or Reschedule with time. */
static int message_method(mailspool *m, const char *message, const char *method,
                          const uint64_t *time_usec)
{
        if (!m)
                return -EINVAL;
        ms_error_reset(m);
        _cleanup_free_ char *path = NULL;
        int r = message_path(message, &path);
        if (r < 0)
                return r;
        if (time_usec)
                r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, path, MAILSPOOL_IFACE_MESSAGE,
                                       method, &m->error, NULL, "t", *time_usec);
        else
                r = sd_bus_call_method(m->bus, MAILSPOOL_BUS_NAME, path, MAILSPOOL_IFACE_MESSAGE,
                                       method, &m->error, NULL, "");
        return r < 0 ? ms_fail(m, r) : 0;
}

MS_EXPORT int mailspool_abort(mailspool *m, const char *message)
{
        return message_method(m, message, "Abort", NULL);
}

MS_EXPORT int mailspool_hold(mailspool *m, const char *message)
{
        return message_method(m, message, "Hold", NULL);
}

MS_EXPORT int mailspool_release(mailspool *m, const char *message)
{
        return message_method(m, message, "Release", NULL);
}

MS_EXPORT int mailspool_reschedule(mailspool *m, const char *message, uint64_t time_usec)
{
        return message_method(m, message, "Reschedule", &time_usec);
}
