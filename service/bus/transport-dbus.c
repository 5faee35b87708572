/* The org.mailspool.Spool1.Transport face of a transport object, and the
 * object itself: registered with its Status face when the spool's
 * transports are built, removed before they go (docs/bus-api.md,
 * "Transport"). */
#include <stddef.h>

#include "bus-faces.h"
#include "log.h"
#include "mailspool-bus.h"
#include "transport.h"
#include "utf8.h"

static int get_id(sd_bus *bus, const char *path, const char *iface, const char *property,
                  sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", t->config->id);
}

static int get_kind(sd_bus *bus, const char *path, const char *iface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", transport_kind_to_string(t->config->kind));
}

static int get_asynchronous(sd_bus *bus, const char *path, const char *iface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(reply, "b", t->config->asynchronous);
}

static int get_send_mode(sd_bus *bus, const char *path, const char *iface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(
            reply, "s", t->config->send_mode == SEND_IMMEDIATE ? "immediate" : "on-demand");
}

/* The URL without user information, so that no secret reaches the bus. */
static int get_server(sd_bus *bus, const char *path, const char *iface, const char *property,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        const char *url = t->config->server;
        if (!url)
                return sd_bus_message_append(reply, "s", "");

        const char *scheme_end = strstr(url, "://");
        const char *authority = scheme_end ? scheme_end + 3 : url;
        const char *at = strchr(authority, '@');
        const char *slash = strchr(authority, '/');
        if (!at || (slash && slash < at))
                return sd_bus_message_append(reply, "s", url);

        _cleanup_free_ char *clean = NULL;
        if (asprintf(&clean, "%.*s%s", (int) (authority - url), url, at + 1) < 0)
                return -ENOMEM;
        return sd_bus_message_append(reply, "s", clean);
}

/* A name of the key, never the secret. */
static int get_secret_source(sd_bus *bus, const char *path, const char *iface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", secret_kind_to_string(t->config->secret));
}

static int get_logon_mechanism(sd_bus *bus, const char *path, const char *iface,
                               const char *property, sd_bus_message *reply, void *userdata,
                               sd_bus_error *error)
{
        const struct transport *t = userdata;
        return sd_bus_message_append(reply, "s", t->logon_mechanism);
}

#define CHANGING SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE

static const sd_bus_vtable transport_vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("Id", "s", get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Kind", "s", get_kind, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Asynchronous", "b", get_asynchronous, 0, CHANGING),
    SD_BUS_PROPERTY("SendMode", "s", get_send_mode, 0, CHANGING),
    SD_BUS_PROPERTY("Server", "s", get_server, 0, CHANGING),
    SD_BUS_PROPERTY("QueuedOutbound", "u", NULL, offsetof(struct transport, queued_outbound),
                    CHANGING),
    SD_BUS_PROPERTY("HeldOutbound", "u", NULL, offsetof(struct transport, held_outbound), CHANGING),
    SD_BUS_PROPERTY("ScheduledOutbound", "u", NULL, offsetof(struct transport, scheduled_outbound),
                    CHANGING),
    SD_BUS_PROPERTY("LastError", "s", NULL, offsetof(struct transport, last_error), CHANGING),
    SD_BUS_PROPERTY("NextRetry", "t", NULL, offsetof(struct transport, next_retry), CHANGING),
    SD_BUS_PROPERTY("SkippedInbound", "u", NULL, offsetof(struct transport, skipped_inbound),
                    CHANGING),
    SD_BUS_PROPERTY("SecretSource", "s", get_secret_source, 0, CHANGING),
    SD_BUS_PROPERTY("LogonMechanism", "s", get_logon_mechanism, 0, CHANGING),
    SD_BUS_SIGNAL_WITH_NAMES("MessageReceived", "os", SD_BUS_PARAM(message) SD_BUS_PARAM(path), 0),
    SD_BUS_VTABLE_END,
};

/* The Transport properties that transport_change bits name, by bit. */
static const char *const transport_change_names[] = {
    [__builtin_ctz(TRANSPORT_CHANGED_QUEUED)] = "QueuedOutbound",
    [__builtin_ctz(TRANSPORT_CHANGED_LAST_ERROR)] = "LastError",
    [__builtin_ctz(TRANSPORT_CHANGED_NEXT_RETRY)] = "NextRetry",
    [__builtin_ctz(TRANSPORT_CHANGED_SKIPPED)] = "SkippedInbound",
    [__builtin_ctz(TRANSPORT_CHANGED_LOGON)] = "LogonMechanism",
    [__builtin_ctz(TRANSPORT_CHANGED_HELD)] = "HeldOutbound",
    [__builtin_ctz(TRANSPORT_CHANGED_SCHEDULED)] = "ScheduledOutbound",
};

static int transport_face_register(struct bus_faces *b, struct transport_face *tf)
{
        struct transport *t = tf->t;
        tf->status = (struct status_object){.b = b, .t = t, .row = &t->status};
        int r = sd_bus_add_object_vtable(b->bus, &tf->slots[0], t->path, MAILSPOOL_IFACE_STATUS,
                                         status_vtable, &tf->status);
        if (r < 0)
                return r;
        return sd_bus_add_object_vtable(b->bus, &tf->slots[1], t->path, MAILSPOOL_IFACE_TRANSPORT,
                                        transport_vtable, t);
}

static struct transport_face *transport_dbus_face(struct bus_faces *b, const struct transport *t)
{
        for (size_t i = 0; i < b->n_transports; i++)
                if (b->transports[i]->t == t)
                        return b->transports[i];
        return NULL;
}

/* Each face is allocated on its own: its status object is the userdata of
 * its slots and must not move when the list changes. */
int transport_dbus_add_all(struct bus_faces *b, bool announce)
{
        struct spool *s = b->spool;
        struct transport_face **faces =
            calloc(s->n_transports ? s->n_transports : 1, sizeof(*faces));
        if (!faces)
                return -ENOMEM;
        int r = 0;
        size_t n = 0;
        for (size_t i = 0; i < s->n_transports && r >= 0; i++) {
                struct transport *t = s->transports[i];
                struct transport_face *tf = transport_dbus_face(b, t);
                if (!tf) {
                        /* New: registered, and announced when asked to. */
                        tf = calloc(1, sizeof(*tf));
                        if (!tf) {
                                r = -ENOMEM;
                                break;
                        }
                        tf->t = t;
                        r = transport_face_register(b, tf);
                        if (r >= 0 && announce)
                                (void) sd_bus_emit_interfaces_added(
                                    b->bus, t->path, MAILSPOOL_IFACE_STATUS,
                                    MAILSPOOL_IFACE_TRANSPORT, NULL);
                }
                faces[n++] = tf;
        }
        /* In the spool's order; a face not in it was removed before. */
        free(b->transports);
        b->transports = faces;
        b->n_transports = n;
        return r;
}

static void transport_face_free(struct bus_faces *b, struct transport_face *tf, bool announce)
{
        status_dbus_object_removed(&tf->status);
        bus_changes_forget(b->changes, tf->t->path);
        if (announce && tf->slots[0])
                (void) sd_bus_emit_interfaces_removed(b->bus, tf->t->path, MAILSPOOL_IFACE_STATUS,
                                                      MAILSPOOL_IFACE_TRANSPORT, NULL);
        for (size_t k = 0; k < ELEMENTSOF(tf->slots); k++)
                tf->slots[k] = sd_bus_slot_unref(tf->slots[k]);
        free(tf);
}

void transport_dbus_remove(struct bus_faces *b, struct transport *t, bool announce)
{
        for (size_t i = 0; i < b->n_transports; i++)
                if (b->transports[i]->t == t) {
                        transport_face_free(b, b->transports[i], announce);
                        memmove(&b->transports[i], &b->transports[i + 1],
                                (b->n_transports - i - 1) * sizeof(*b->transports));
                        b->n_transports--;
                        return;
                }
}

void transport_dbus_remove_all(struct bus_faces *b, bool announce)
{
        for (size_t i = 0; i < b->n_transports; i++)
                transport_face_free(b, b->transports[i], announce);
        b->transports = mfree(b->transports);
        b->n_transports = 0;
}

void transport_dbus_changed(struct bus_faces *b, struct transport *t, unsigned changes)
{
        if (!transport_dbus_face(b, t))
                return; /* not on the bus yet */
        status_dbus_changed(b, t->path, changes);
        unsigned mask = changes & (TRANSPORT_CHANGED_QUEUED | TRANSPORT_CHANGED_LAST_ERROR |
                                   TRANSPORT_CHANGED_NEXT_RETRY | TRANSPORT_CHANGED_SKIPPED |
                                   TRANSPORT_CHANGED_LOGON | TRANSPORT_CHANGED_HELD |
                                   TRANSPORT_CHANGED_SCHEDULED);
        /* QueuedOutbound alone, which falls with every message a flush
         * sends, is paced; any other change goes at once, with it. */
        if (mask == TRANSPORT_CHANGED_QUEUED)
                bus_changes_mark_paced(b->changes, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                       transport_change_names, mask);
        else if (mask)
                bus_changes_mark(b->changes, t->path, MAILSPOOL_IFACE_TRANSPORT,
                                 transport_change_names, mask);
}

struct received_signal {
        const char *transport;
        const char *message;
        const char *file;
};

static int build_received(sd_bus *bus, sd_bus_message **ret, void *userdata)
{
        const struct received_signal *s = userdata;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = sd_bus_message_new_signal(bus, &m, s->transport, MAILSPOOL_IFACE_TRANSPORT,
                                          "MessageReceived");
        if (r >= 0)
                r = sd_bus_message_append(m, "os", s->message, s->file);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

void transport_dbus_message_received(struct bus_faces *b, struct transport *t, uint64_t id,
                                     const char *file)
{
        _cleanup_free_ char *path = NULL, *valid_file = utf8_make_valid(file);
        if (!transport_dbus_face(b, t) || !valid_file || message_path_for_id(id, &path) < 0)
                return;
        struct received_signal s = {t->path, path, valid_file};
        if (b->watchers) {
                /* The message is its owner's (a report of failed mail is its
                 * sender's): only they and admins hear of it. */
                _cleanup_(msg_record_clear) struct msg_record rec = {};
                if (store_get(b->spool->store, id, &rec) >= 0)
                        bus_watchers_unicast(b->watchers, rec.owner, build_received, &s);
                return;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = build_received(b->bus, &m, &s);
        if (r >= 0)
                r = sd_bus_send(b->bus, m, NULL);
        if (r < 0)
                log_debug("cannot announce message %" PRIu64 ": %s", id, strerror(-r));
}
