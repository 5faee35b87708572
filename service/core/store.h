/* The durable message store: SQLite in WAL mode with synchronous=FULL, a
 * versioned schema, and one transaction per state change. A function that
 * returns 0 has committed its change durably. */
#pragma once

#include "util.h"

enum msg_direction {
        MSG_OUTBOUND,
        MSG_INBOUND,
        _MSG_DIRECTION_MAX,
};

enum msg_state {
        MSG_QUEUED,
        MSG_SENDING,
        MSG_SENT,
        MSG_DEFERRED,
        MSG_FAILED,
        MSG_ABORTED,
        MSG_RECEIVED,
        _MSG_STATE_MAX,
};

const char *msg_state_to_string(enum msg_state s);         /* "queued", ... as docs/bus-api.md */
int msg_state_from_string(const char *s);                  /* enum value, or -EINVAL */
const char *msg_direction_to_string(enum msg_direction d); /* "outbound", "inbound" */
int msg_direction_from_string(const char *s);              /* enum value, or -EINVAL */
/* The state machine of an outbound message:
 *   queued   -> sending, aborted
 *   deferred -> sending, aborted
 *   sending  -> sent, deferred, failed, queued (queued: recovery after a crash)
 * sent, failed, aborted and received are final. */
bool msg_state_transition_allowed(enum msg_state from, enum msg_state to);

struct msg_record {
        uint64_t id;
        enum msg_direction direction;
        enum msg_state state;
        char *transport;   /* transport id, e.g. "work" */
        char *sender;      /* envelope sender */
        char **recipients; /* envelope recipients, NULL-terminated */
        char *subject;
        char *message_id;
        uint64_t size;           /* bytes of the stored message */
        uint64_t submitted_usec; /* CLOCK_REALTIME */
        uint32_t attempts;
        uint64_t next_attempt_usec; /* 0 if none */
        char *last_error;           /* "" if none */
        uint32_t owner;             /* uid */
        bool hold;
        char *path; /* inbound: the file in the Maildir; "" otherwise */
};
void msg_record_clear(struct msg_record *r);
void msg_record_array_free(struct msg_record *r, size_t n);

struct store;

/* Opens (creating if need be) the database file at path, migrates its schema
 * to the current version and refuses a newer one (-EPROTO). */
int store_open(const char *path, struct store **ret);
struct store *store_close(struct store *s);
static inline void store_closep(struct store **s)
{
        store_close(*s);
}
#define _cleanup_store_ _cleanup_(store_closep)

/* At start: messages caught in "sending" go back to "queued" (at-least-once).
 * Reports how many. */
int store_recover(struct store *s, unsigned *ret_requeued);

/* Stores a new outbound message in state "queued" (fields used: transport,
 * sender, recipients, subject, message_id, owner, hold, submitted_usec; size
 * comes from body_size). */
int store_add_outbound(struct store *s, const struct msg_record *m, const void *body,
                       size_t body_size, uint64_t *ret_id);

/* Records an inbound message in state "received" (fields used: transport,
 * sender, recipients, subject, message_id, owner, size, submitted_usec, path).
 * source_key names where it came from (a pickup file, a server UID) so that
 * the same source is never recorded twice: -EEXIST if it already is. A NULL or
 * empty source_key names no source and is not checked. */
int store_add_inbound(struct store *s, const struct msg_record *m, const char *source_key,
                      uint64_t *ret_id);
/* 1 if source_key is recorded, 0 if not. */
int store_has_source_key(struct store *s, const char *source_key);

int store_get(struct store *s, uint64_t id, struct msg_record *ret); /* -ENOENT */
/* -ENOENT if no such message; -ENODATA if it has no stored body (dropped when
 * it was sent or aborted; inbound bodies live in the Maildir file). */
int store_get_body(struct store *s, uint64_t id, void **ret_data, size_t *ret_size);

/* Moves message id to state `to`, if msg_state_transition_allowed() from its
 * current state (else -EBUSY; -ENOENT if no such message). Entering "sending"
 * counts an attempt. error (may be NULL) becomes last_error; next_attempt_usec
 * is stored as given. A final state drops the stored body of a sent or aborted
 * message. */
int store_set_state(struct store *s, uint64_t id, enum msg_state to, const char *error,
                    uint64_t next_attempt_usec);

/* A delivery that reached some recipients: message id (in "sending") goes to
 * "deferred" as store_set_state() would, and from now on has only the given
 * recipients (the ones still to try), in one transaction. */
int store_defer_recipients(struct store *s, uint64_t id, char *const *recipients, const char *error,
                           uint64_t next_attempt_usec);

struct store_filter {
        int state;             /* enum msg_state, or -1 for any */
        int direction;         /* enum msg_direction, or -1 for any */
        const char *transport; /* NULL for any */
        int64_t owner;         /* uid, or -1 for any */
};
#define STORE_FILTER_ALL ((struct store_filter){-1, -1, NULL, -1})
/* Matching messages in id order; *ret is an array of *ret_n records. */
int store_list(struct store *s, const struct store_filter *f, struct msg_record **ret,
               size_t *ret_n);

/* Ids of outbound messages of transport waiting to go, in id order: "queued"
 * ones if include_queued (held ones only if include_held too) and "deferred"
 * ones whose next attempt is due at now_usec (any deferred one if now_usec is
 * 0). */
int store_list_pending(struct store *s, const char *transport, bool include_queued,
                       bool include_held, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n);
/* Outbound messages of transport in queued, deferred or sending. */
int store_count_outbound_waiting(struct store *s, const char *transport, uint32_t *ret);
/* Earliest next_attempt_usec of the transport's deferred messages, 0 if none. */
/* The outbound messages owner has waiting to be sent (queued, held,
 * deferred, in transit) and their bytes: what its quota counts. */
int store_owner_queue(struct store *s, uint32_t owner, uint64_t *ret_count, uint64_t *ret_bytes);
int store_next_retry(struct store *s, const char *transport, uint64_t *ret_usec);
