/* Message objects, /org/mailspool/Spool1/message/<n>: read from the store on
 * each access, so that a queue of any length costs no memory of its own.
 * They are not announced through the object manager; ListMessages finds them. */
#include <inttypes.h>

#include "bus-error.h"
#include "log.h"
#include "transport.h"

int message_path_for_id(uint64_t id, char **ret)
{
        return asprintf(ret, MAILSPOOL_MESSAGE_PREFIX "/%" PRIu64, id) < 0 ? -ENOMEM : 0;
}

static int message_id_from_path(const char *path, uint64_t *ret)
{
        const char *prefix = MAILSPOOL_MESSAGE_PREFIX "/";
        if (strncmp(path, prefix, strlen(prefix)) != 0)
                return -ENOENT;
        const char *digits = path + strlen(prefix);
        if (!*digits || strspn(digits, "0123456789") != strlen(digits) || digits[0] == '0')
                return -ENOENT;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(digits, &end, 10);
        /* The store numbers messages with SQLite's signed 64-bit rowids. */
        if (errno || *end || v > INT64_MAX)
                return -ENOENT;
        *ret = v;
        return 0;
}

/* May the caller of the message being dispatched see message m? */
static bool caller_may_see(struct daemon *d, const struct msg_record *m)
{
        sd_bus_message *call = sd_bus_get_current_message(d->bus);
        uint8_t type = 0;
        if (!call || sd_bus_message_get_type(call, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return true; /* our own PropertiesChanged */
        /* The owner first: the privilege check may read the user database,
         * which a caller reading its own message should not cost. */
        uid_t uid;
        if (bus_caller_uid(call, &uid) >= 0 && uid == m->owner)
                return true;
        return bus_caller_is_privileged(d, call);
}

static int message_find(sd_bus *bus, const char *path, const char *iface, void *userdata,
                        void **found, sd_bus_error *error)
{
        struct daemon *d = userdata;
        uint64_t id;

        if (message_id_from_path(path, &id) < 0)
                return 0;
        msg_record_clear(&d->current_message);
        int r = store_get(d->store, id, &d->current_message);
        if (r < 0 && r != -ENOENT)
                return bus_error_store(error, r, "cannot read the message");
        /* api.md, Errors: no such message is NotFound, and so is another
         * user's: its existence is not the caller's business. */
        if (r == -ENOENT || !caller_may_see(d, &d->current_message))
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no message %" PRIu64, id);
        *found = &d->current_message;
        return 1;
}

#define MSG(userdata) ((const struct msg_record *) (userdata))

static int get_property(sd_bus *bus, const char *path, const char *iface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct msg_record *m = MSG(userdata);

        if (streq(property, "Id"))
                return sd_bus_message_append(reply, "t", m->id);
        if (streq(property, "Direction"))
                return sd_bus_message_append(reply, "s", msg_direction_to_string(m->direction));
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", msg_state_to_string(m->state));
        if (streq(property, "Transport")) {
                _cleanup_free_ char *p = NULL;
                int r = transport_path_for_id(m->transport, &p);
                return r < 0 ? r : sd_bus_message_append(reply, "o", p);
        }
        if (streq(property, "Sender"))
                return sd_bus_message_append(reply, "s", strempty(m->sender));
        if (streq(property, "Recipients"))
                return sd_bus_message_append_strv(reply, m->recipients);
        if (streq(property, "Subject"))
                return sd_bus_message_append(reply, "s", strempty(m->subject));
        if (streq(property, "MessageID"))
                return sd_bus_message_append(reply, "s", strempty(m->message_id));
        if (streq(property, "Size"))
                return sd_bus_message_append(reply, "t", m->size);
        if (streq(property, "Submitted"))
                return sd_bus_message_append(reply, "t", m->submitted_usec);
        if (streq(property, "Attempts"))
                return sd_bus_message_append(reply, "u", m->attempts);
        if (streq(property, "NextAttempt"))
                return sd_bus_message_append(reply, "t", m->next_attempt_usec);
        if (streq(property, "LastError"))
                return sd_bus_message_append(reply, "s", strempty(m->last_error));
        if (streq(property, "Owner"))
                return sd_bus_message_append(reply, "u", m->owner);
        return sd_bus_message_append(reply, "s", strempty(m->path));
}

/* MAPI's IMsgStore::AbortSubmit. */
static int method_abort(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct daemon *d = container_of(userdata, struct daemon, current_message);
        const struct msg_record *m = MSG(userdata);
        uint64_t id = m->id;
        _cleanup_free_ char *transport = strdup(m->transport);
        if (!transport)
                return -ENOMEM;

        int r = store_set_state(d->store, id, MSG_ABORTED, "aborted by the sender", 0);
        if (r == -EBUSY)
                return bus_error_mapi(error, MAPI_E_UNABLE_TO_ABORT,
                                      "message %" PRIu64 " is %s, not queued or deferred; it "
                                      "cannot be aborted",
                                      id, msg_state_to_string(m->state));
        if (r == -ENOENT)
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no message %" PRIu64, id);
        if (r < 0)
                return bus_error_store(error, r, "cannot abort the message");

        log_info("message %" PRIu64 " aborted", id);
        r = sd_bus_reply_method_return(msg, NULL);
        message_emit_changed(d, id, false);
        struct transport *t = daemon_find_transport(d, transport);
        if (t)
                transport_message_aborted(t);
        return r;
}

#define CONST_PROP(name, sig)                                                                      \
        SD_BUS_PROPERTY(name, sig, get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST)
#define CHANGING_PROP(name, sig)                                                                   \
        SD_BUS_PROPERTY(name, sig, get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable message_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROP("Id", "t"),
    CONST_PROP("Direction", "s"),
    CHANGING_PROP("State", "s"),
    CONST_PROP("Transport", "o"),
    CONST_PROP("Sender", "s"),
    CHANGING_PROP("Recipients", "as"),
    CONST_PROP("Subject", "s"),
    CONST_PROP("MessageID", "s"),
    CONST_PROP("Size", "t"),
    CONST_PROP("Submitted", "t"),
    CHANGING_PROP("Attempts", "u"),
    CHANGING_PROP("NextAttempt", "t"),
    CHANGING_PROP("LastError", "s"),
    CONST_PROP("Owner", "u"),
    CONST_PROP("Path", "s"),
    SD_BUS_METHOD("Abort", "", "", method_abort, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

int message_objects_register(struct daemon *d)
{
        return sd_bus_add_fallback_vtable(d->bus, &d->message_slot, MAILSPOOL_MESSAGE_PREFIX, MAILSPOOL_IFACE_MESSAGE,
                                          message_vtable, message_find, d);
}

void message_emit_changed(struct daemon *d, uint64_t id, bool recipients)
{
        _cleanup_free_ char *path = NULL;
        if (message_path_for_id(id, &path) < 0)
                return;
        int r = sd_bus_emit_properties_changed(d->bus, path, MAILSPOOL_IFACE_MESSAGE, "State", "Attempts",
                                               "NextAttempt", "LastError",
                                               recipients ? "Recipients" : NULL, NULL);
        if (r < 0)
                log_debug("cannot announce the change of message %" PRIu64 ": %s", id,
                          strerror(-r));
}
