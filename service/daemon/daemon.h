/* The daemon's state: one event loop, one bus connection, one store, the
 * configuration and the transports built from it. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "mailspool-bus.h"
#include "store.h"
#include "util.h"


struct transport;
struct flush;
struct daemon;

/* What the Status interface is registered on: the spooler (t == NULL) or a
 * transport. One vtable serves both (service/status-object.c). */
struct status_object {
        struct daemon *d;
        struct transport *t;
};

struct daemon {
        sd_event *event;
        sd_bus *bus;
        bool system_bus;
        char *config_dir;
        char *state_dir;

        struct store *store;
        struct spool_config config;
        gid_t admin_gid; /* AdminGroup, resolved when the configuration is read */
        bool has_admin_gid;

        /* In TransportOrder; RowID of transports[i] is i + 1 (the spooler is 0). */
        struct transport **transports;
        size_t n_transports;

        struct status_object spooler_status;
        uint32_t status_code; /* the spooler's StatusCode */
        char *status_string;
        unsigned upload_flushes, download_flushes; /* spooler-level flushes running */

        struct flush *flushes; /* running flushes, a list */

        /* Message objects are read from the store on each bus access; the
         * record for the one being accessed lives here (one thread, one
         * access at a time). */
        struct msg_record current_message;

        sd_bus_slot *spooler_slots[2];
        sd_bus_slot *message_slot;
        sd_bus_slot *manager_slot;

        bool stopping;
};

/* Object path of a transport or message. */
int transport_path_for_id(const char *id, char **ret);
int message_path_for_id(uint64_t id, char **ret);

struct transport *daemon_find_transport(struct daemon *d, const char *id);
struct transport *daemon_find_transport_by_path(struct daemon *d, const char *path);
/* Where a new outbound message goes: the Transport option, else the
 * transport whose Identity is the From address, else the default one. */
struct transport *daemon_route(struct daemon *d, const char *from);

/* Builds transports and their bus objects from d->config. */
int daemon_start_transports(struct daemon *d);
void daemon_stop_transports(struct daemon *d);
/* CONFIG_CHANGED / SIGHUP: read the configuration again. -EBUSY while mail is
 * in transit or a flush runs; -EINVAL with *ret_error on a bad file. */
int daemon_reload(struct daemon *d, char **ret_error);

void daemon_set_status(struct daemon *d, uint32_t code, const char *text);
/* Exits the loop once nothing is in transit (SIGTERM). */
void daemon_check_stop(struct daemon *d);

/* Bus object registration, one file each. */
extern const sd_bus_vtable status_vtable[];
int spooler_object_register(struct daemon *d);
int message_objects_register(struct daemon *d);
/* PropertiesChanged of a message: its state and delivery fields, and its
 * Recipients when a partial delivery narrowed them. */
void message_emit_changed(struct daemon *d, uint64_t id, bool recipients);

/* Caller's uid, and whether it may see everything (root or AdminGroup on the
 * system bus; always on a session bus). */
int bus_caller_uid(sd_bus_message *m, uid_t *ret);
bool bus_caller_is_privileged(struct daemon *d, sd_bus_message *m);
