/* The daemon's face on the bus: one file per object kind, each with its
 * vtable, its property getters, its change announcements and its method
 * handlers (docs/architecture.md, "The bus faces"). They share this state:
 * the connection, the spool and its flushes they act on, and the queue of
 * property changes. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-caller.h"
#include "bus-changes.h"
#include "bus-watchers.h"
#include "flush.h"
#include "id-map.h"
#include "spool.h"

struct bus_faces;

/* What the Status interface is registered on: the spooler (t NULL) or a
 * transport; row is the object's status row. */
struct status_object {
        struct bus_faces *b;
        struct transport *t;
        const struct status_row *row;
        /* ValidateState calls waiting for the transport's check. */
        sd_bus_message **validate_calls;
        size_t n_validate_calls;
};

/* A transport's object. */
struct transport_face {
        struct transport *t;
        struct status_object status;
        sd_bus_slot *slots[2];
};

struct message_object;
struct submit_reader;

/* What messages read from pipes and sockets may hold (submit-dbus.c): a
 * caller's descriptors and memory are bounded, and so are everyone's. */
struct submit_limits {
        unsigned readers;         /* pending pipe submissions in all */
        unsigned readers_per_uid; /* ... of one uid */
};

struct bus_faces {
        sd_bus *bus;
        sd_event *event;
        bool system_bus;
        struct spool *spool;
        struct flushes *flushes;
        struct bus_changes *changes;
        /* System bus: who hears about a message (bus-watchers.c); NULL on a
         * session bus, where the one user hears everything. */
        struct bus_watchers *watchers;

        struct status_object spooler_status;
        sd_bus_slot *spooler_slots[2];
        sd_bus_slot *message_slot;
        sd_bus_slot *message_enumerator_slot;
        sd_bus_slot *manager_slot;
        struct transport_face **transports; /* parallel to spool->transports */
        size_t n_transports;

        /* Messages being read from pipes and sockets (submit-dbus.c). */
        struct submit_reader *readers;
        unsigned n_readers;
        uint64_t reader_bytes;
        struct submit_limits submit_limits;

        /* Message records read for the calls of this dispatch (message-dbus.c). */
        struct message_object *messages;
        sd_event_source *messages_release;
        /* What PropertiesChanged last said of each message not yet final,
         * by id, so that a signal carries what changed only (message-dbus.c). */
        struct id_map *announced;
};

/* Whether the caller of m may see and do everything (bus-caller.h). */
static inline bool bus_faces_privileged(const struct bus_faces *b, sd_bus_message *m)
{
        return bus_caller_is_privileged(b->spool, b->system_bus, m);
}

/* status-dbus.c: org.mailspool.Spool1.Status on the spooler and transports. */
extern const sd_bus_vtable status_vtable[];
void status_dbus_changed(struct bus_faces *b, const char *path, unsigned changes);
void status_dbus_validate_done(struct bus_faces *b, struct transport *t, enum mapi_error code,
                               const char *error);
void status_dbus_flush_progress(struct bus_faces *b, struct flush *f, struct transport *t,
                                const char *text);
void status_dbus_flush_finished(struct bus_faces *b, struct flush *f);
/* CancelFlush(target): the flush's own caller, root or the admin group. */
int status_dbus_cancel_flush(struct bus_faces *b, sd_bus_message *m, const char *target,
                             sd_bus_error *error);
/* Replies to the object's waiting ValidateState calls: it is going away. */
void status_dbus_object_removed(struct status_object *o);

/* spooler-dbus.c: the spooler object. */
int spooler_dbus_register(struct bus_faces *b);
void spooler_dbus_order_changed(struct bus_faces *b);

/* transport-dbus.c: transport objects, rebuilt when the spool's transports
 * are; announce: with InterfacesAdded/InterfacesRemoved (a reload). */
int transport_dbus_add_all(struct bus_faces *b, bool announce);
void transport_dbus_remove_all(struct bus_faces *b, bool announce);
/* Before transport t goes (a reload replaces or drops it). */
void transport_dbus_remove(struct bus_faces *b, struct transport *t, bool announce);
void transport_dbus_changed(struct bus_faces *b, struct transport *t, unsigned changes);
void transport_dbus_message_received(struct bus_faces *b, struct transport *t, uint64_t id,
                                     const char *file);

/* message-dbus.c: message objects, read from the store. */
int message_dbus_register(struct bus_faces *b);
void message_dbus_release(struct bus_faces *b);
int message_path_for_id(uint64_t id, char **ret);
/* Its text fields as valid UTF-8 (headers and replies may hold any bytes). */
int message_record_for_bus(struct msg_record *m);
void message_dbus_changed(struct bus_faces *b, uint64_t id, bool recipients);
void message_dbus_forget_announced(struct bus_faces *b);
/* A new message: its properties as stored are what its first change is
 * compared with. */
void message_dbus_created(struct bus_faces *b, uint64_t id);

/* submit-dbus.c: Spooler.Submit and Spooler.SubmitData. */
int method_submit(sd_bus_message *m, void *userdata, sd_bus_error *error);
int method_submit_data(sd_bus_message *m, void *userdata, sd_bus_error *error);
/* The limits, from the descriptors the daemon may open (RLIMIT_NOFILE). */
void submit_limits_init(struct submit_limits *l);
/* Drops every pending pipe submission (at the end). */
void submit_readers_free(struct bus_faces *b);
