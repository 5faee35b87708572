/* The spool: the transports built from the configuration, in TransportOrder,
 * the spooler's own status row, routing of new mail and reloading. It owns
 * the transports and hands each one the listener of whoever created the
 * spool; it neither reads nor answers their reports. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "status-table.h"
#include "store.h"
#include "transport.h"

struct spool;

struct spool_listener {
        const struct transport_listener *transport; /* given to every transport */
        /* The spooler's StatusCode or StatusString moved (enum transport_change bits). */
        void (*spooler_changed)(struct spool *s, unsigned changes, void *userdata);
        /* A reload: transport t is about to go (its file changed or is
         * gone); then the new set is up (new ones started, unchanged ones
         * kept as they were, in the new order). */
        void (*transport_removed)(struct spool *s, struct transport *t, void *userdata);
        void (*transports_added)(struct spool *s, void *userdata);
        void *userdata;
};

struct spool {
        sd_event *event;
        struct store *store;
        char *config_dir;
        char *state_dir;
        struct spool_config config;
        gid_t admin_gid; /* AdminGroup, resolved when the configuration is read */
        bool has_admin_gid;
        struct spool_listener listener;
        sd_bus *session_bus;       /* the daemon's bus when it is a session bus, else NULL */
        char *machine_domain;      /* the machine's mail domain, found at start */
        struct netwatch *netwatch; /* netwatch.c: whether the machine has a network */
        struct nmwatch *nmwatch;   /* nmwatch.c: what NetworkManager says of it */
        bool kernel_online, nm_offline;
        bool online; /* the two together */

        /* In TransportOrder; RowID of transports[i] is i + 1 (the spooler is 0). */
        struct transport **transports;
        size_t n_transports;

        struct status_row status;    /* the spooler's row; status_string is ours */
        sd_event_source *due_timer;  /* schedule.c: the earliest due or expiry time */
        sd_event_source *wal_source; /* the store's WAL may let writers go on */
        sd_event_source *copy_timer; /* sent-copy.c: the next copy to retry */
        bool copying;                /* sent-copy.c: a copy is under way */
        bool stopping;
        unsigned untrimmed_messages; /* spool_heap_settle(): since the last trim */
};

/* Takes config (moved into the spool) and its directories' names (copied). */
int spool_new(sd_event *event, struct store *store, const char *config_dir, const char *state_dir,
              struct spool_config *config, const struct spool_listener *listener,
              struct spool **ret);
struct spool *spool_free(struct spool *s);

/* schedule.c: the one timer of scheduled and expiring messages. Start it
 * once the transports are up; say when a message was scheduled, held,
 * released or given an ExpiryTime. */
int spool_schedule_start(struct spool *s);
/* Starts watching the machine's network (rtnetlink; and NetworkManager on
 * system_bus, a connection to the system bus, if not NULL); transports go
 * offline while it has none. */
int spool_network_start(struct spool *s, sd_bus *system_bus);
void spool_schedule_changed(struct spool *s);
/* Counts messages submitted or flushed; gives the heap's free pages back to
 * the system once a thousand have been since the last time. */
void spool_heap_settle(struct spool *s, unsigned messages);
/* sent-copy.c: copies of sent messages into an IMAP mailbox (SentCopy=).
 * Start once the transports are up; kick when a message was sent (its copy
 * may be due), after a reload, or when a transport may reach its server
 * again. */
int spool_copies_start(struct spool *s);
void spool_copies_kick(struct spool *s);

/* Builds the transports from s->config. */
int spool_start_transports(struct spool *s);
/* Reads the configuration again: transports whose file is the same keep
 * running; the others are replaced. -EINVAL with *ret_error on a bad file;
 * when a new transport cannot start, nothing changes. The caller makes sure
 * nothing is in transit and no flush runs. */
int spool_reload(struct spool *s, char **ret_error);

struct transport *spool_find_transport(struct spool *s, const char *id);
/* MailDomain, or the machine's: /etc/mailname, else its qualified name. */
const char *spool_mail_domain(const struct spool *s);
struct transport *spool_find_transport_by_path(struct spool *s, const char *path);
/* Where a new outbound message goes: the transport whose Identity is the
 * From address, else the default one, else the first that sends. */
struct transport *spool_route(struct spool *s, const char *from);
/* Whether any transport has a message in transit or a download running. */
bool spool_busy(const struct spool *s);

void spool_set_status(struct spool *s, uint32_t code, const char *text);
/* SIGTERM: no new deliveries; the loop exits once nothing is in transit. */
void spool_stop(struct spool *s);
/* Exits the loop if stopping and nothing is in transit. */
void spool_check_stop(struct spool *s);
