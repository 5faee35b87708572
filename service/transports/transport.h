/* A transport: its status object, its outgoing delivery queue and the driver
 * (transport kind) behind a small operations table. */
#pragma once

#include "daemon.h"
#include "mapi-error.h"

enum flush_direction {
        FLUSH_DIR_UPLOAD,
        FLUSH_DIR_DOWNLOAD,
        _FLUSH_DIR_MAX,
};

enum delivery_outcome {
        DELIVERY_SENT,
        DELIVERY_DEFERRED, /* temporary failure: retried with back-off */
        DELIVERY_FAILED,   /* permanent failure */
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
        /* Re-checks the transport for ValidateState (connect, log on, quit).
         * The driver calls transport_validate_done() exactly once, possibly
         * before returning; a negative return means the check did not start. */
        int (*validate)(struct transport *t);
};

/* An upload flush's snapshot of this transport's queue: the messages that
 * must each reach an outcome of this attempt before the flush ends. */
struct upload_round {
        uint64_t *ids; /* ascending */
        bool *resolved;
        size_t n;
        size_t next; /* the next one to claim */
        size_t n_resolved;
        size_t n_sent;
        enum mapi_error error_code; /* the transport could not be reached... */
        char *error;                /* ...and why; NULL if it could */
};

struct transport {
        struct daemon *daemon;
        struct status_object status;
        const struct transport_config *config; /* points into daemon->config */
        const struct transport_ops *ops;
        void *driver;
        char *path;
        uint32_t row_id;

        uint32_t status_code;
        char *status_string;
        char *last_error;
        uint32_t queued_outbound;
        uint64_t next_retry;
        bool offline;
        bool failed; /* the last connection attempt failed: STATUS_FAILURE */

        /* The delivery queue. */
        unsigned in_transit;
        uint64_t *pending; /* ids fetched from the store, served in order */
        size_t n_pending, pending_next;
        sd_event_source *pump_source;
        sd_event_source *retry_timer;
        sd_event_source *poll_timer;

        /* The flush that owns each direction right now, if any. */
        struct flush *flush[_FLUSH_DIR_MAX];
        struct upload_round round;
        bool downloading;

        /* ValidateState calls waiting for the running check. */
        bool validating;
        sd_bus_message **validate_calls;
        size_t n_validate_calls;
        /* After the server could not be reached, mail waits for a retry or
         * a flush instead of trying it message by message. */
        sd_event_source *hold_timer;
        bool holding;

        sd_bus_slot *slots[2];
};

const struct transport_ops *transport_ops_for_kind(enum transport_kind kind);
extern const struct transport_ops maildir_transport_ops;
extern const struct transport_ops smtp_transport_ops;
extern const struct transport_ops imap_transport_ops;
extern const struct transport_ops pop3_transport_ops;

int transport_new(struct daemon *d, const struct transport_config *c, uint32_t row_id,
                  struct transport **ret);
struct transport *transport_free(struct transport *t);

/* Status object. */
/* ValidateState(flags). With a call m, returns 1 when the reply comes later
 * (from transport_validate_done()); 0 when the caller replies now. */
int transport_validate(struct transport *t, uint32_t flags, sd_bus_message *m, sd_bus_error *error);
/* Called by the driver when its check ends: error NULL if it passed, else
 * the code (MAPI_E_NETWORK_ERROR, MAPI_E_LOGON_FAILED, ...) and a sentence. */
void transport_validate_done(struct transport *t, enum mapi_error code, const char *error);
uint32_t transport_resource_methods(const struct transport *t);
uint32_t transport_resource_flags(const struct transport *t);
/* Recomputes StatusCode/StatusString and emits PropertiesChanged if they moved. */
void transport_update_status(struct transport *t);
void transport_set_last_error(struct transport *t, const char *text);

/* Delivery queue. */
void transport_kick(struct transport *t); /* look for work on a later iteration */
void transport_message_added(struct transport *t, bool hold); /* a new outbound message */
void transport_message_aborted(struct transport *t);
/* Called by a driver before transport_delivery_done() when the server could
 * not be reached or refused our logon (code MAPI_E_NETWORK_ERROR or
 * MAPI_E_LOGON_FAILED): the transport shows STATUS_FAILURE, the running flush
 * round stops trying further messages (they count as deferred) and its
 * flush ends with this error. */
void transport_connection_failed(struct transport *t, enum mapi_error code, const char *error);
void transport_delivery_done(struct transport *t, uint64_t id, enum delivery_outcome outcome,
                             const char *error);
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

/* Flush parts, driven by flush.c. */
int transport_upload_round_start(struct transport *t);
bool transport_upload_round_finished(const struct transport *t);
void transport_upload_round_stop(struct transport *t);
int transport_download_start(struct transport *t);
/* Called by the driver: a downloaded message is stored (id), or the download
 * ended (error NULL on success, else the code and a sentence). */
void transport_message_received(struct transport *t, uint64_t id, const char *file);
/* Keeps a message that came in (downloaded, picked up, or a report we wrote):
 * into the transport's Maildir as file_name, then into the store under
 * source_key (may be NULL), then announced with transport_message_received().
 * -EEXIST if source_key is already recorded (nothing done); -EINVAL with a
 * sentence in *ret_why if data is not a mail message. */
int transport_store_inbound(struct transport *t, const void *data, size_t size,
                            const char *source_key, const char *file_name, uid_t owner,
                            uint64_t *ret_id, char **ret_why);
void transport_download_done(struct transport *t, enum mapi_error code, const char *error);

int transport_object_register(struct transport *t);
