/* A transport: one configured account or Maildir, its outgoing delivery
 * queue, its status, and the driver (transport kind) behind a small
 * operations table. A transport reports what happens to the listener it was
 * given and never calls up: the flush engine and the bus faces learn of its
 * work from those reports (docs/architecture.md, "Layers"). */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "logon-mechanism.h"
#include "mail-parse.h"
#include "maildir.h"
#include "mapi-error.h"
#include "secret-source.h"
#include "status-table.h"
#include "store.h"
#include "util.h"

enum flush_direction {
        FLUSH_DIR_UPLOAD,
        FLUSH_DIR_DOWNLOAD,
        _FLUSH_DIR_MAX,
};

enum delivery_outcome {
        DELIVERY_SENT,
        DELIVERY_DEFERRED,  /* temporary failure: retried with back-off */
        DELIVERY_FAILED,    /* permanent failure */
        DELIVERY_NOT_TRIED, /* aborted or gone before it was tried: settled all the same */
};

/* What changed, in a listener's changed() report. */
enum transport_change {
        TRANSPORT_CHANGED_STATUS_CODE = 1u << 0,
        TRANSPORT_CHANGED_STATUS_STRING = 1u << 1,
        TRANSPORT_CHANGED_QUEUED = 1u << 2,
        TRANSPORT_CHANGED_LAST_ERROR = 1u << 3,
        TRANSPORT_CHANGED_NEXT_RETRY = 1u << 4,
        TRANSPORT_CHANGED_SKIPPED = 1u << 5,
        TRANSPORT_CHANGED_LOGON = 1u << 6,
        TRANSPORT_CHANGED_HELD = 1u << 7,
        TRANSPORT_CHANGED_SCHEDULED = 1u << 8,
};

struct transport;

/* Where a transport reports. Every member is called from the event loop,
 * possibly from inside a call into the transport; none may free it. */
struct transport_listener {
        /* Properties of the transport moved: enum transport_change bits. */
        void (*changed)(struct transport *t, unsigned changes, void *userdata);
        /* A message's State, Attempts, NextAttempt or LastError moved (and
         * its Recipients, when a partial delivery narrowed them). */
        void (*message_changed)(struct transport *t, uint64_t id, bool recipients, void *userdata);
        /* A message this transport was to send has its outcome of this
         * attempt, already recorded in the store. */
        void (*message_settled)(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                                void *userdata);
        /* The server could not be reached or refused the logon: the
         * transport holds its own work back; what a flush asked it to send
         * first waits too (see transport_send_first_claimed()). */
        void (*connection_failed)(struct transport *t, enum mapi_error code, const char *error,
                                  void *userdata);
        /* A message came in (downloaded, picked up, or a report we wrote). */
        void (*message_received)(struct transport *t, uint64_t id, const char *file,
                                 void *userdata);
        /* A download ended: code MAPI_OK, or why it failed. */
        void (*download_done)(struct transport *t, enum mapi_error code, const char *error,
                              void *userdata);
        /* A check that transport_validate() started ended. */
        void (*validate_done)(struct transport *t, enum mapi_error code, const char *error,
                              void *userdata);
        /* Nothing is in transit any more. */
        void (*idle)(struct transport *t, void *userdata);
};

struct transport_ops {
        const char *provider_display; /* ProviderDisplay, e.g. "Maildir" */
        size_t driver_size;           /* bytes of driver data, zeroed at creation */
        int (*init)(struct transport *t);
        void (*done)(struct transport *t);
        /* How many deliveries may be in transit at once. */
        unsigned (*max_in_transit)(struct transport *t);
        /* Starts delivering message id, already in "sending". The driver calls
         * transport_delivery_done() exactly once, possibly before returning.
         * A negative return means the delivery did not start (it is deferred). */
        int (*deliver)(struct transport *t, uint64_t id);
        /* Starts fetching what waits for us; the driver calls
         * transport_download_done() exactly once, from a later iteration. */
        int (*download)(struct transport *t);
        /* Stops a running download as soon as the message at hand is stored. */
        void (*download_cancel)(struct transport *t);
        /* The transport went on or off line (by request, with the
         * machine's network, or stopping): a driver that keeps a connection
         * open closes it or opens it again (see transport_may_connect()). */
        void (*online_changed)(struct transport *t);
        /* Re-checks the transport for ValidateState (connect, log on, quit).
         * The driver calls transport_validate_done() exactly once, possibly
         * before returning; a negative return means the check did not start. */
        int (*validate)(struct transport *t);
};

/* What a transport works with, from whoever creates it. */
struct transport_env {
        sd_event *event;
        struct store *store;
        uint64_t max_message_size; /* MaxMessageSize, for what comes in */
        /* The session bus, where SecretService= and OnlineAccount= are
         * asked; NULL on the system bus. */
        sd_bus *session_bus;
        uint32_t queue_lifetime; /* QueueLifetime, seconds */
        bool uncertain_hold;     /* UncertainDelivery=hold */
        const struct transport_listener *listener;
        void *userdata; /* the listener's */
};

/* Push of new mail (IMAP IDLE), as the driver reports it. */
enum transport_push {
        TRANSPORT_PUSH_OFF,         /* none: Idle=no, offline, or not an imap transport */
        TRANSPORT_PUSH_CONNECTING,  /* the connection is being opened */
        TRANSPORT_PUSH_ON,          /* the server tells us of new mail as it comes */
        TRANSPORT_PUSH_RETRYING,    /* it failed or broke: opened again after a back-off */
        TRANSPORT_PUSH_NOT_OFFERED, /* the server offers no IDLE: PollInterval it is */
};

struct transport {
        struct transport_env env;
        const struct transport_config *config; /* owned by whoever created us */
        const struct transport_ops *ops;
        void *driver;
        char *path;                   /* its object path: how reports and summaries name it */
        struct secret_source *secret; /* what its logons log on with */
        /* How the last logon the server took was made ("PLAIN", "XOAUTH2");
         * "" before the first. */
        char logon_mechanism[LOGON_MECHANISM_MAX + 1];

        /* Its row of the status table, which the Status interface shows too;
         * status.status_string is ours (allocated). */
        struct status_row status;
        char *last_error;
        uint32_t queued_outbound;
        uint32_t held_outbound, scheduled_outbound;
        uint64_t next_retry;
        uint32_t skipped_inbound; /* left aside by the running or last download */
        const char *skipped_why;  /* why the last one was: a static sentence */
        uint64_t uncertain_id;    /* the last message that may have been delivered; 0: none */
        bool offline;             /* by request: ValidateState FORCE_XP_DISCONNECT */
        bool no_network;          /* the machine has no network (transport_set_network) */
        bool local_server;        /* its server is on this machine: no network needed */
        bool failed;              /* the last connection attempt failed: STATUS_FAILURE */
        bool stopping;

        /* Flushes in progress, as the flush engine tells us. */
        bool flushing[_FLUSH_DIR_MAX];
        size_t flush_settled, flush_total; /* for "Sending 3 of 40" */

        /* The delivery queue: first what a flush asked for (borrowed, in
         * the order given), then our own work from the store. */
        unsigned in_transit;
        const uint64_t *first;
        const bool *first_settled;
        size_t n_first, first_next;
        uint64_t *pending;
        size_t n_pending, pending_next;
        sd_event_source *pump_source;
        sd_event_source *retry_timer;
        sd_event_source *poll_timer;
        /* After the server could not be reached, mail waits for a retry or
         * a flush instead of trying it message by message. */
        sd_event_source *hold_timer;
        bool holding;

        bool downloading;
        /* Asked for while a download ran (new mail, a flush): another one
         * follows it, and only its end is reported. */
        bool download_again;
        bool validating;
        enum transport_push push;
        char *push_error;               /* why the push connection failed; NULL: it did not */
        struct imap_append *append;     /* imap-append.c: a copy under way */
        struct curl_event *append_curl; /* its transfers' multi handle */
};

const struct transport_ops *transport_ops_for_kind(enum transport_kind kind);
extern const struct transport_ops maildir_transport_ops;
extern const struct transport_ops smtp_transport_ops;
extern const struct transport_ops imap_transport_ops;
extern const struct transport_ops pop3_transport_ops;

int transport_new(const struct transport_env *env, const struct transport_config *c,
                  uint32_t row_id, struct transport **ret);
struct transport *transport_free(struct transport *t);
/* A reload kept t: c is a configuration equal to t's (transport_config_equal)
 * that replaces it, and row_id its new RowID. Nothing may be in transit. */
void transport_set_config(struct transport *t, const struct transport_config *c, uint32_t row_id);
/* Object path of a transport id. */
int transport_path_for_id(const char *id, char **ret);

/* Status. */
/* ValidateState(flags): FORCE_XP_DISCONNECT and FORCE_XP_CONNECT take it off
 * and on line; otherwise the driver's check runs (one at a time). Returns 1
 * when a check runs or ran, whose end is reported by validate_done (possibly
 * before this returns); 0 when there is nothing to wait for. */
int transport_validate(struct transport *t, uint32_t flags);
void transport_set_stopping(struct transport *t);
/* The flush engine's view, for StatusCode and StatusString. */
void transport_show_flush(struct transport *t, enum flush_direction dir, bool flushing);
void transport_show_flush_progress(struct transport *t, size_t settled, size_t total);

/* Delivery queue. */
/* Looks for work on a later iteration. The spool calls it when the store
 * lets writers go on again (store_wal_check()). */
void transport_kick(struct transport *t);
void transport_message_added(struct transport *t, bool hold); /* a new outbound message */
void transport_message_aborted(struct transport *t);
/* Messages of this transport were held, released, scheduled or aborted:
 * QueuedOutbound, HeldOutbound and ScheduledOutbound are read again. */
void transport_waiting_changed(struct transport *t);
/* A scheduled message became queued (its time came, or Release). */
void transport_message_due(struct transport *t, uint64_t id);
/* An unsent message's ExpiryTime passed: it fails, and its owner gets a
 * report. */
void transport_message_expired(struct transport *t, uint64_t id);
/* A deferred message passed DelayWarningTime: its owner gets one "delayed"
 * report. */
void transport_message_delayed(struct transport *t, uint64_t id);
/* Sends ids[0..n) before any other work, in that order, skipping those
 * whose settled[i] is true; both arrays are borrowed until the next call
 * (ids NULL: no list any more). */
void transport_send_first(struct transport *t, const uint64_t *ids, const bool *settled, size_t n);
/* How many of that list were taken into delivery so far; the rest were not
 * tried. */
size_t transport_send_first_claimed(const struct transport *t);

/* SentCopy, SentCopyError or the body of message id moved (the spool's
 * copies of sent messages). */
void transport_message_copy_changed(struct transport *t, uint64_t id);

/* Called by drivers. */
/* Before transport_delivery_done() when the server could not be reached or
 * refused our logon (code MAPI_E_NETWORK_ERROR or MAPI_E_LOGON_FAILED): the
 * transport shows STATUS_FAILURE and holds its own work back. */
void transport_connection_failed(struct transport *t, enum mapi_error code, const char *error);
void transport_delivery_done(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                             const char *error);
/* In place of transport_delivery_done() when the connection broke after the
 * message's final "." and before the server's reply: PossiblyDelivered is
 * set, and the message is deferred (UncertainDelivery=resend) or held. */
void transport_delivery_uncertain(struct transport *t, uint64_t id, const char *error);
/* For drivers that learn each recipient's fate (SMTP's RCPT replies): the
 * message is deferred for those still to try (only they are tried again),
 * reported to its sender for those refused for good, and sent when nobody is
 * left to try and somebody got it. */
struct recipient_outcome {
        const char *address;
        enum delivery_outcome outcome;
        const char *reply; /* the server's words, for a refusal */
};
void transport_delivery_done_per_recipient(struct transport *t, uint64_t id,
                                           const struct recipient_outcome *rcpt, size_t n,
                                           const char *error);
void transport_validate_done(struct transport *t, enum mapi_error code, const char *error);

/* Downloads. */
int transport_download_start(struct transport *t);
/* Keeps a message that came in (downloaded, picked up, or a report we wrote):
 * into the transport's Maildir as file_name, then into the store under
 * source_key (may be NULL), then reported as received. -EEXIST if source_key
 * is already recorded (nothing done); -EINVAL with a sentence in *ret_why if
 * data is not a mail message. */
int transport_store_inbound(struct transport *t, const void *data, size_t size,
                            const char *source_key, const char *file_name, uid_t owner,
                            uint64_t *ret_id, char **ret_why);
/* Messages that came in, made durable and recorded together: each is
 * checked, read and written into tmp/ as it comes (transport_inbound_add:
 * -EEXIST if its source_key is recorded or in the batch already, -EINVAL
 * with *ret_why if it is not mail); transport_inbound_commit() then fsyncs
 * the files, moves them into new/, fsyncs new/ once, records them all in one
 * store transaction and reports each received. So a batch costs one commit
 * and one directory fsync, not one per message, and a crash before the
 * commit leaves none recorded: they are fetched again into the same files.
 * After the commit each entry's id is its message's, or 0 if its source_key
 * was recorded meanwhile. */
struct inbound_entry {
        struct parsed_mail mail;
        char *source_key;
        uid_t owner;
        size_t size;
        void *userdata; /* the caller's: which of its messages this is */
        uint64_t id;
};
struct inbound_batch {
        struct maildir_batch files; /* files.files[i] is entries[i]'s */
        struct inbound_entry *entries;
        size_t n;
};
int transport_inbound_add(struct transport *t, struct inbound_batch *b, const void *data,
                          size_t size, const char *source_key, const char *file_name, uid_t owner,
                          void *userdata, char **ret_why);
int transport_inbound_commit(struct transport *t, struct inbound_batch *b);
void inbound_batch_clear(struct inbound_batch *b);
void transport_download_done(struct transport *t, enum mapi_error code, const char *error);
/* The machine's network came or went (spool/netwatch.c). Without it the
 * transport is offline: nothing is sent, retried or fetched, and no
 * attempt is spent; when it comes back, waiting mail goes at once. */
void transport_set_network(struct transport *t, bool online);
/* Not offline by request or for want of network, and not stopping. */
bool transport_may_connect(const struct transport *t);
/* The server said new mail came (or the push connection opened again,
 * after which what came meanwhile is fetched): a download starts, or
 * follows the one running. */
void transport_new_mail(struct transport *t);
/* The push connection's state moved; error says why it failed (RETRYING). */
void transport_push_changed(struct transport *t, enum transport_push push, const char *error);
/* A driver saw the server take a logon made with mechanism. */
void transport_logged_on(struct transport *t, const char *mechanism);
/* Called by a driver for each message or pickup entry it leaves aside (too
 * large, not a file, unreadable): counted in SkippedInbound and named, with
 * why (a static string), in StatusString. */
void transport_inbound_skipped(struct transport *t, const char *why);
void transport_download_cancel(struct transport *t);
