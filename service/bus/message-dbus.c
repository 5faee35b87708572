/* The org.mailspool.Spool1.Message face, /org/mailspool/Spool1/message/<n>:
 * each call reads its message from the store into a record that lives until
 * the end of the dispatch, so that a queue of any length costs no memory of
 * its own. They are not announced through the object manager; ListMessages
 * finds them (docs/bus-api.md, "Message"). */
#include <inttypes.h>
#include <stddef.h>

#include "bus-error.h"
#include "bus-faces.h"
#include "log.h"
#include "mailspool-bus.h"
#include "utf8.h"

/* A message as one call sees it. rec comes first: the vtable's offsets are
 * those of struct msg_record. */
struct message_object {
        struct msg_record rec;
        struct bus_faces *b;
        struct message_object *next;
};

int message_record_for_bus(struct msg_record *m)
{
        int r = 0;
        char **fields[] = {&m->transport,  &m->sender, &m->subject,   &m->message_id,
                           &m->last_error, &m->path,   &m->copy_error};
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fields); i++)
                r = utf8_make_valid_in_place(fields[i]);
        STRV_FOREACH (p, m->recipients)
                if (r >= 0)
                        r = utf8_make_valid_in_place(p);
        return r;
}

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

void message_dbus_release(struct bus_faces *b)
{
        while (b->messages) {
                struct message_object *o = b->messages;
                b->messages = o->next;
                msg_record_clear(&o->rec);
                free(o);
        }
}

static int release_cb(sd_event_source *s, void *userdata)
{
        message_dbus_release(userdata);
        return 0;
}

/* May the caller of the message being dispatched see message m? */
static bool caller_may_see(struct bus_faces *b, const struct msg_record *m)
{
        sd_bus_message *call = sd_bus_get_current_message(b->bus);
        uint8_t type = 0;
        if (!call || sd_bus_message_get_type(call, &type) < 0 || type != SD_BUS_MESSAGE_METHOD_CALL)
                return true; /* our own PropertiesChanged */
        /* The owner first: the privilege check may read the user database,
         * which a caller reading its own message should not cost. */
        uid_t uid;
        if (bus_caller_uid(call, &uid) >= 0 && uid == m->owner)
                return true;
        return bus_faces_privileged(b, call);
}

static int message_find(sd_bus *bus, const char *path, const char *iface, void *userdata,
                        void **found, sd_bus_error *error)
{
        struct bus_faces *b = userdata;
        uint64_t id;

        if (message_id_from_path(path, &id) < 0)
                return 0;
        struct message_object *o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        int r = store_get(b->spool->store, id, &o->rec);
        if (r >= 0)
                r = message_record_for_bus(&o->rec);
        /* docs/bus-api.md, "Errors": no such message is NotFound, and so is
         * another user's: its existence is not the caller's business. */
        if (r >= 0 && !caller_may_see(b, &o->rec))
                r = -ENOENT;
        if (r < 0) {
                msg_record_clear(&o->rec);
                free(o);
                if (r == -ENOENT)
                        return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no message %" PRIu64, id);
                return bus_error_store(error, r, "cannot read the message");
        }
        o->b = b;
        o->next = b->messages;
        b->messages = o;
        sd_event_source_set_enabled(b->messages_release, SD_EVENT_ONESHOT);
        *found = o;
        return 1;
}

static int get_direction(sd_bus *bus, const char *path, const char *iface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct msg_record *m = userdata;
        return sd_bus_message_append(reply, "s", msg_direction_to_string(m->direction));
}

static int get_state(sd_bus *bus, const char *path, const char *iface, const char *property,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct msg_record *m = userdata;
        return sd_bus_message_append(reply, "s", msg_state_to_string(m->state));
}

static int get_transport(sd_bus *bus, const char *path, const char *iface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct msg_record *m = userdata;
        _cleanup_free_ char *p = NULL;
        int r = transport_path_for_id(m->transport, &p);
        return r < 0 ? r : sd_bus_message_append(reply, "o", p);
}

static const char *sent_copy_to_string(enum sent_copy c)
{
        return c == SENT_COPY_PENDING ? "pending" : c == SENT_COPY_COPIED ? "copied" : "";
}

static int get_sent_copy(sd_bus *bus, const char *path, const char *iface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct msg_record *m = userdata;
        return sd_bus_message_append(reply, "s", sent_copy_to_string(m->sent_copy));
}

/* MAPI's IMsgStore::AbortSubmit. */
static int method_abort(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        struct message_object *o = userdata;
        struct bus_faces *b = o->b;
        uint64_t id = o->rec.id;

        int r = store_set_state(b->spool->store, id, MSG_ABORTED, "aborted by the sender", 0);
        if (r == -EBUSY)
                return bus_error_mapi(error, MAPI_E_UNABLE_TO_ABORT,
                                      "message %" PRIu64 " is %s, not queued or deferred; it "
                                      "cannot be aborted",
                                      id, msg_state_to_string(o->rec.state));
        if (r == -ENOENT)
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no message %" PRIu64, id);
        if (r < 0)
                return bus_error_store(error, r, "cannot abort the message");

        log_info("message %" PRIu64 " aborted", id);
        r = sd_bus_reply_method_return(msg, NULL);
        message_dbus_changed(b, id, false);
        struct transport *t = spool_find_transport(b->spool, o->rec.transport);
        if (t)
                transport_message_aborted(t);
        return r;
}

/* A bool of the record (sd-bus's "b" is an int: no offset getter). With an
 * offset, sd-bus hands the getter userdata + offset. */
static int get_flag(sd_bus *bus, const char *path, const char *iface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        return sd_bus_message_append(reply, "b", (int) *(const bool *) userdata);
}

/* Hold, Release and Reschedule: the message moves in the store, its
 * transport counts again, and the due timer learns of it. */
static int reschedule(sd_bus_message *msg, struct message_object *o, enum msg_state to,
                      uint64_t due, sd_bus_error *error)
{
        struct bus_faces *b = o->b;
        uint64_t id = o->rec.id;
        int r = store_schedule(b->spool->store, id, to, due, false);
        if (r == -EBUSY)
                return bus_error_mapi(error, MAPI_E_UNABLE_TO_ABORT,
                                      "message %" PRIu64 " is %s: only a message that waits to "
                                      "be sent can be %s",
                                      id, msg_state_to_string(o->rec.state),
                                      to == MSG_HELD     ? "held"
                                      : to == MSG_QUEUED ? "released"
                                                         : "rescheduled");
        if (r == -ENOENT)
                return bus_error_mapi(error, MAPI_E_NOT_FOUND, "no message %" PRIu64, id);
        if (r < 0)
                return bus_error_store(error, r, "cannot change the message");

        log_info("message %" PRIu64 " %s", id, msg_state_to_string(to));
        r = sd_bus_reply_method_return(msg, NULL);
        message_dbus_changed(b, id, false);
        struct transport *t = spool_find_transport(b->spool, o->rec.transport);
        if (t && to == MSG_QUEUED)
                transport_message_due(t, id);
        else if (t)
                transport_waiting_changed(t);
        spool_schedule_changed(b->spool);
        return r;
}

static int method_hold(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return reschedule(msg, userdata, MSG_HELD, 0, error);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        return reschedule(msg, userdata, MSG_QUEUED, 0, error);
}

static int method_reschedule(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        uint64_t when;
        int r = sd_bus_message_read(msg, "t", &when);
        if (r < 0)
                return r;
        if (when > INT64_MAX)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the time is microseconds since the epoch, at most "
                                      "%" PRId64,
                                      INT64_MAX);
        /* A time already past means "now". */
        if (when <= now_realtime_usec())
                return reschedule(msg, userdata, MSG_QUEUED, 0, error);
        return reschedule(msg, userdata, MSG_SCHEDULED, when, error);
}

#define CONST_PROP(name, sig, field)                                                               \
        SD_BUS_PROPERTY(name, sig, NULL, offsetof(struct msg_record, field),                       \
                        SD_BUS_VTABLE_PROPERTY_CONST)
#define CHANGING_PROP(name, sig, field)                                                            \
        SD_BUS_PROPERTY(name, sig, NULL, offsetof(struct msg_record, field),                       \
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE)

static const sd_bus_vtable message_vtable[] = {
    SD_BUS_VTABLE_START(0),
    CONST_PROP("Id", "t", id),
    SD_BUS_PROPERTY("Direction", "s", get_direction, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Transport", "o", get_transport, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    CONST_PROP("Sender", "s", sender),
    CHANGING_PROP("Recipients", "as", recipients),
    CONST_PROP("Subject", "s", subject),
    CONST_PROP("MessageID", "s", message_id),
    CONST_PROP("Size", "t", size),
    CONST_PROP("Submitted", "t", submitted_usec),
    CHANGING_PROP("Attempts", "u", attempts),
    CHANGING_PROP("NextAttempt", "t", next_attempt_usec),
    CHANGING_PROP("LastError", "s", last_error),
    CONST_PROP("Owner", "u", owner),
    CONST_PROP("Path", "s", path),
    SD_BUS_PROPERTY("OnDemand", "b", get_flag, offsetof(struct msg_record, on_demand),
                    SD_BUS_VTABLE_PROPERTY_CONST),
    CHANGING_PROP("DeferredUntil", "t", due_usec),
    CONST_PROP("ExpiryTime", "t", expiry_usec),
    SD_BUS_PROPERTY("PossiblyDelivered", "b", get_flag,
                    offsetof(struct msg_record, possibly_delivered),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("DelayReported", "b", get_flag, offsetof(struct msg_record, delay_warned),
                    SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("SentCopy", "s", get_sent_copy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    CHANGING_PROP("SentCopyError", "s", copy_error),
    SD_BUS_METHOD("Abort", "", "", method_abort, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Hold", "", SD_BUS_PARAM(), "", SD_BUS_PARAM(), method_hold,
                             SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Release", "", "", method_release, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Reschedule", "t", SD_BUS_PARAM(time), "", SD_BUS_PARAM(),
                             method_reschedule, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END,
};

/* --- Changes, on the system bus for the owner and admins alone --------- */

static int append_state(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "s", msg_state_to_string(r->state));
}

static int append_attempts(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "u", r->attempts);
}

static int append_next_attempt(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "t", r->next_attempt_usec);
}

static int append_last_error(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "s", strempty(r->last_error));
}

static int append_deferred_until(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "t", r->due_usec);
}

static int append_possibly_delivered(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "b", (int) r->possibly_delivered);
}

static int append_delay_reported(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "b", (int) r->delay_warned);
}

static int append_sent_copy(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "s", sent_copy_to_string(r->sent_copy));
}

static int append_sent_copy_error(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append(m, "s", strempty(r->copy_error));
}

static int append_recipients(sd_bus_message *m, const struct msg_record *r)
{
        return sd_bus_message_append_strv(m, r->recipients);
}

/* The properties a message's change announces, by bit, as the vtable has them. */
static const struct {
        const char *name;
        const char *signature;
        int (*append)(sd_bus_message *m, const struct msg_record *r);
} changing[] = {
    {"State", "s", append_state},
    {"Attempts", "u", append_attempts},
    {"NextAttempt", "t", append_next_attempt},
    {"LastError", "s", append_last_error},
    {"DeferredUntil", "t", append_deferred_until},
    {"PossiblyDelivered", "b", append_possibly_delivered},
    {"DelayReported", "b", append_delay_reported},
    {"Recipients", "as", append_recipients},
    {"SentCopy", "s", append_sent_copy},
    {"SentCopyError", "s", append_sent_copy_error},
};

/* What a PropertiesChanged of a message last announced, kept per waiting
 * message in b->announced by id: 24 bytes (32 in the map), as every queued
 * message has one. Each changing property is kept as 32 bits that change
 * when it does: small values as they are, times folded (two times that fold
 * alike are 2^32 microseconds apart, to the microsecond) and texts hashed (a
 * change that keeps the hash is one in 2^32, and only delays the value to
 * the next signal or read). */
struct announced {
        uint32_t next_attempt, due, last_error_hash, recipients_hash, copy_error_hash;
        uint32_t attempts : 24; /* saturated: a message tried 16 million times stays there */
        uint32_t state : 4;     /* enum msg_state */
        uint32_t sent_copy : 2; /* enum sent_copy */
        uint32_t possibly_delivered : 1, delay_warned : 1;
};
_Static_assert(sizeof(struct announced) == 24, "the record of every queued message");
_Static_assert(_MSG_STATE_MAX <= 16 && SENT_COPY_COPIED < 4, "the bit fields hold them");

static uint32_t fold(uint64_t v)
{
        return (uint32_t) (v ^ (v >> 32));
}

/* FNV-1a over a string, or over a list (with a separator no address holds). */
static uint64_t hash_text(uint64_t h, const char *s)
{
        for (; s && *s; s++)
                h = (h ^ (unsigned char) *s) * UINT64_C(1099511628211);
        return (h ^ 0xff) * UINT64_C(1099511628211);
}

static struct announced announced_of(const struct msg_record *r)
{
        uint64_t h = UINT64_C(14695981039346656037);
        STRV_FOREACH (p, r->recipients)
                h = hash_text(h, *p);
        return (struct announced){
            .state = r->state,
            .attempts = r->attempts < (1u << 24) ? r->attempts : (1u << 24) - 1,
            .next_attempt = fold(r->next_attempt_usec),
            .due = fold(r->due_usec),
            .last_error_hash = fold(hash_text(UINT64_C(14695981039346656037), r->last_error)),
            .possibly_delivered = r->possibly_delivered,
            .delay_warned = r->delay_warned,
            .sent_copy = r->sent_copy,
            .copy_error_hash = fold(hash_text(UINT64_C(14695981039346656037), r->copy_error)),
            .recipients_hash = fold(h),
        };
}

/* Bits (in the order of changing[]) of what differs from what was announced
 * last; everything for a message never announced. */
static unsigned announced_diff(const struct announced *old, const struct announced *now)
{
        if (!old)
                return (1u << ELEMENTSOF(changing)) - 1;
        return (old->state != now->state) << 0 | (old->attempts != now->attempts) << 1 |
               (old->next_attempt != now->next_attempt) << 2 |
               (old->last_error_hash != now->last_error_hash) << 3 | (old->due != now->due) << 4 |
               (old->possibly_delivered != now->possibly_delivered) << 5 |
               (old->delay_warned != now->delay_warned) << 6 |
               (old->recipients_hash != now->recipients_hash) << 7 |
               (old->sent_copy != now->sent_copy) << 8 |
               (old->copy_error_hash != now->copy_error_hash) << 9;
}

/* Keeps what is announced now; a message in a final state is forgotten,
 * as nothing of it changes any more (a sent one once its copy is made). */
static void announced_keep(struct bus_faces *b, uint64_t id, const struct announced *now,
                           struct announced *old)
{
        bool final = (now->state == MSG_SENT && now->sent_copy != SENT_COPY_PENDING) ||
                     now->state == MSG_FAILED || now->state == MSG_ABORTED ||
                     now->state == MSG_RECEIVED;
        if (final) {
                if (old)
                        id_map_remove(b->announced, id);
                return;
        }
        if (!old) {
                if (!b->announced)
                        b->announced = id_map_new(sizeof(struct announced));
                /* Out of memory: nothing kept, and the next change
                 * announces every property, which is never wrong. */
                old = id_map_put(b->announced, id);
                if (!old)
                        return;
        }
        *old = *now;
}

void message_dbus_created(struct bus_faces *b, uint64_t id)
{
        _cleanup_(msg_record_clear) struct msg_record rec = {};
        if (store_get(b->spool->store, id, &rec) < 0 || message_record_for_bus(&rec) < 0)
                return;
        /* What a client reading the new object sees is the baseline of the
         * first change. */
        struct announced now = announced_of(&rec);
        announced_keep(b, id, &now, id_map_get(b->announced, id));
}

void message_dbus_forget_announced(struct bus_faces *b)
{
        b->announced = id_map_free(b->announced);
}

struct changed_signal {
        const char *path;
        unsigned mask; /* bits of changing[] */
        const struct msg_record *rec;
};

static int build_changed(sd_bus *bus, sd_bus_message **ret, void *userdata)
{
        const struct changed_signal *c = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_signal(bus, &m, c->path, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", MAILSPOOL_IFACE_MESSAGE);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(changing); i++) {
                if (!(c->mask & (1u << i)))
                        continue;
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", changing[i].name);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', changing[i].signature);
                if (r >= 0)
                        r = changing[i].append(m, c->rec);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* A message's change: what differs from the last announcement, to its
 * owner's and the admins' connections on the system bus, to all on a
 * session bus (the one user's). Nothing when nothing differs. */
static void emit_changed(const char *path, char **names, void *userdata)
{
        struct bus_faces *b = userdata;
        _cleanup_(msg_record_clear) struct msg_record rec = {};
        uint64_t id;
        if (message_id_from_path(path, &id) < 0 || store_get(b->spool->store, id, &rec) < 0 ||
            message_record_for_bus(&rec) < 0)
                return;
        struct announced now = announced_of(&rec);
        struct announced *old = id_map_get(b->announced, id);
        unsigned mask = announced_diff(old, &now);
        announced_keep(b, id, &now, old);
        if (!mask)
                return;
        struct changed_signal c = {path, mask, &rec};
        if (b->watchers) {
                bus_watchers_unicast(b->watchers, rec.owner, build_changed, &c);
                return;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        if (build_changed(b->bus, &m, &c) >= 0)
                (void) sd_bus_send(b->bus, m, NULL);
}

/* At most this many children in an introspection: a tree browser finds the
 * caller's recent mail; a long queue costs no more than this. */
#define INTROSPECT_CHILDREN 1000

/* The children of .../message that Introspect lists: the caller's own newest
 * messages (everyone's for a privileged caller). GetManagedObjects also asks
 * for children; messages are not managed objects (ListMessages finds them),
 * so it gets none. */
static int enumerate_messages(sd_bus *bus, const char *prefix, void *userdata, char ***ret_nodes,
                              sd_bus_error *error)
{
        struct bus_faces *b = userdata;
        sd_bus_message *call = sd_bus_get_current_message(bus);
        uid_t uid;
        *ret_nodes = NULL;
        if (!call || !streq_ptr(sd_bus_message_get_member(call), "Introspect") ||
            bus_caller_uid(call, &uid) < 0)
                return 0;
        int64_t owner = bus_faces_privileged(b, call) ? -1 : (int64_t) uid;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;
        int r = store_recent_ids(b->spool->store, owner, INTROSPECT_CHILDREN, &ids, &n);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **nodes = NULL;
        for (size_t i = 0; i < n; i++) {
                char *path;
                r = message_path_for_id(ids[i], &path);
                if (r >= 0)
                        r = strv_push(&nodes, path);
                if (r < 0)
                        return r;
        }
        *ret_nodes = TAKE_PTR(nodes);
        return 0;
}

int message_dbus_register(struct bus_faces *b)
{
        bus_changes_set_emitter(b->changes, MAILSPOOL_IFACE_MESSAGE, emit_changed, b);
        int r = sd_event_add_defer(b->event, &b->messages_release, release_cb, b);
        if (r < 0)
                return r;
        /* After the dispatch that read them, and after the change signals
         * that read them too; at the bus's priority, so that a stream of
         * calls, which runs before all normal work, cannot keep the records
         * of every call it made alive. */
        (void) sd_event_source_set_priority(b->messages_release, BUS_EVENT_PRIORITY);
        (void) sd_event_source_set_description(b->messages_release, "bus-message-records");
        sd_event_source_set_enabled(b->messages_release, SD_EVENT_OFF);
        r = sd_bus_add_node_enumerator(b->bus, &b->message_enumerator_slot,
                                       MAILSPOOL_MESSAGE_PREFIX, enumerate_messages, b);
        if (r < 0)
                return r;
        return sd_bus_add_fallback_vtable(b->bus, &b->message_slot, MAILSPOOL_MESSAGE_PREFIX,
                                          MAILSPOOL_IFACE_MESSAGE, message_vtable, message_find, b);
}

/* The properties a message's change announces, by bit (as changing[]). */
static const char *const message_change_names[] = {
    "State",         "Attempts",          "NextAttempt",   "LastError",
    "DeferredUntil", "PossiblyDelivered", "DelayReported", "Recipients",
    "SentCopy",      "SentCopyError"};
_Static_assert(ELEMENTSOF(message_change_names) == ELEMENTSOF(changing),
               "one name per changing property");

void message_dbus_changed(struct bus_faces *b, uint64_t id, bool recipients)
{
        _cleanup_free_ char *path = NULL;
        if (message_path_for_id(id, &path) < 0)
                return;
        bus_changes_mark_batched(b->changes, path, MAILSPOOL_IFACE_MESSAGE, message_change_names,
                                 recipients ? 0x3ffu : 0x37fu);
}
