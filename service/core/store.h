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
        MSG_HELD,      /* kept until Release (Hold) */
        MSG_SCHEDULED, /* kept until its due time (DeferredUntil, SendDelay) */
        _MSG_STATE_MAX,
};

const char *msg_state_to_string(enum msg_state s);         /* "queued", ... as docs/bus-api.md */
int msg_state_from_string(const char *s);                  /* enum value, or -EINVAL */
const char *msg_direction_to_string(enum msg_direction d); /* "outbound", "inbound" */
int msg_direction_from_string(const char *s);              /* enum value, or -EINVAL */
/* The state machine of an outbound message:
 *   queued    -> sending, aborted, held, scheduled, failed (expired)
 *   deferred  -> sending, aborted, held, scheduled, failed (expired)
 *   held      -> queued, scheduled, aborted, failed (expired)
 *   scheduled -> queued, scheduled (another time), held, aborted, failed (expired)
 *   sending   -> sent, deferred, failed, queued (recovery after a crash), held
 *                (a delivery that may have happened, with UncertainDelivery=hold)
 * sent, failed, aborted and received are final. */
bool msg_state_transition_allowed(enum msg_state from, enum msg_state to);

/* The copy of a sent message in an IMAP mailbox (SentCopy=). */
enum sent_copy {
        SENT_COPY_NONE,    /* none wanted */
        SENT_COPY_PENDING, /* wanted; made once the message is sent */
        SENT_COPY_COPIED,
};

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
        bool on_demand;             /* waits for a flush (OnDemand) */
        /* scheduled: when it becomes queued (DeferredUntil, or the end of
         * the SendDelay window); 0 otherwise. */
        uint64_t due_usec;
        bool undo_window;        /* scheduled only by SendDelay: FLUSH_FORCE may send it */
        uint64_t expiry_usec;    /* ExpiryTime: failed if not sent by then; 0: none */
        bool possibly_delivered; /* the connection broke after the final "." */
        bool delay_warned;       /* its owner got the "delayed" report */
        char *path;              /* inbound: the file in the Maildir; "" otherwise */
        enum sent_copy sent_copy;
        uint32_t copy_attempts;  /* of the copy: counted before each */
        uint64_t copy_next_usec; /* when the copy is tried again; 0: at once */
        char *copy_error;        /* why the last copy failed; "" if none */
        /* Delivery status notifications asked for (RFC 3461), "" for none:
         * DsnNotify ("NEVER" or "SUCCESS,FAILURE,DELAY" in part), DsnReturn
         * ("FULL" or "HDRS"), DsnEnvelopeId (printable ASCII). */
        char *dsn_notify, *dsn_return, *dsn_envid;
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

/* The WAL (the store's journal) starts over only when a write begins with
 * all of it copied into the database file, which the store's checkpointer
 * thread does beside the commits. Once it is long, store_wal_waiting() is
 * true until that has happened: writers that can wait, such as a transport
 * about to start its next message, hold off, so that the loop never copies
 * (nor syncs) it itself. store_wal_fd() (an eventfd; negative without the
 * thread) becomes readable when the thread has done a pass meanwhile; then
 * store_wal_check() says whether writers may go on. */
int store_wal_fd(const struct store *s);
bool store_wal_waiting(const struct store *s);
bool store_wal_check(struct store *s);

/* At start: messages caught in "sending" go back to "queued" (at-least-once).
 * Reports how many. Drops the bodies a stop left of sent messages. */
int store_recover(struct store *s, unsigned *ret_requeued);

/* Stores a new outbound message in state m->state, which is "queued",
 * "held" or "scheduled" (fields used: state, transport, sender, recipients,
 * subject, message_id, owner, on_demand, due_usec, undo_window, expiry_usec,
 * submitted_usec, sent_copy; size comes from body_size). */
int store_add_outbound(struct store *s, const struct msg_record *m, const void *body,
                       size_t body_size, uint64_t *ret_id);

/* Records an inbound message in state "received" (fields used: transport,
 * sender, recipients, subject, message_id, owner, size, submitted_usec, path).
 * source_key names where it came from (a pickup file, a server UID) so that
 * the same source is never recorded twice: -EEXIST if it already is. A NULL or
 * empty source_key names no source and is not checked. */
int store_add_inbound(struct store *s, const struct msg_record *m, const char *source_key,
                      uint64_t *ret_id);
/* Records in[0..n) as store_add_inbound() does, in one transaction: one
 * commit, so one fsync, for them all. Each in[i].id becomes the new
 * message's id, or 0 if its source_key is recorded already (that one is
 * skipped, the others recorded). On failure none is recorded. */
struct store_inbound {
        const struct msg_record *m;
        const char *source_key;
        uint64_t id;
};
int store_add_inbound_batch(struct store *s, struct store_inbound *in, size_t n);
/* 1 if source_key is recorded, 0 if not. */
int store_has_source_key(struct store *s, const char *source_key);
/* The same, and when the message recorded under it arrived. */
int store_source_key_arrival(struct store *s, const char *source_key, uint64_t *ret_usec);

int store_get(struct store *s, uint64_t id, struct msg_record *ret); /* -ENOENT */
/* -ENOENT if no such message; -ENODATA if it has no stored body (dropped
 * once it was sent or when it was aborted; inbound bodies live in the
 * Maildir file). */
int store_get_body(struct store *s, uint64_t id, void **ret_data, size_t *ret_size);

/* Moves message id to state `to`, if msg_state_transition_allowed() from its
 * current state (else -EBUSY; -ENOENT if no such message). Entering "sending"
 * counts an attempt. error (may be NULL) becomes last_error; next_attempt_usec
 * is stored as given. "aborted" drops the stored body; "sent" leaves it to
 * store_drop_done_bodies(), which this calls itself once 64 are waiting. */
int store_set_state(struct store *s, uint64_t id, enum msg_state to, const char *error,
                    uint64_t next_attempt_usec);
/* Drops, in one transaction, the bodies of the messages that entered
 * "sent" since the last drop, but those whose copy to Sent is pending
 * (their copy drops them). A transport calls it when nothing of it is in
 * transit any more; store_close() and store_recover() too. -EBUSY inside a
 * transaction. */
int store_drop_done_bodies(struct store *s);

/* Hold, Release and Reschedule: message id goes to `to` ("held", "queued"
 * or "scheduled", if msg_state_transition_allowed(); else -EBUSY, -ENOENT)
 * with due_usec and undo_window (cleared unless `to` is "scheduled"). */
int store_schedule(struct store *s, uint64_t id, enum msg_state to, uint64_t due_usec,
                   bool undo_window);
/* Sets possibly_delivered or delay_warned of message id. */
int store_set_possibly_delivered(struct store *s, uint64_t id, bool value);
int store_set_delay_warned(struct store *s, uint64_t id);

/* Copies of sent messages (SentCopy=): the earliest time one is due (0:
 * none pending), and those due at now_usec. Before each attempt,
 * store_copy_begin() counts it (an attempt after the first, or after a
 * restart, looks first whether the copy is already there); then the copy is
 * done, or deferred with why and when to try again. -ENOENT: message id has
 * no copy pending. */
int store_next_copy(struct store *s, uint64_t *ret_usec);
/* (at most 64 of them, oldest first) */
int store_list_copies_due(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n);
int store_copy_begin(struct store *s, uint64_t id);
int store_copy_done(struct store *s, uint64_t id);
int store_copy_deferred(struct store *s, uint64_t id, const char *error, uint64_t next_usec);

/* What comes due: the earliest due time of a scheduled message and the
 * earliest ExpiryTime of an unsent one (0: none), and the ids that are due
 * at now_usec (scheduled ones whose due time came; unsent ones whose expiry
 * passed). */
int store_next_due(struct store *s, uint64_t *ret_due_usec, uint64_t *ret_expiry_usec);
int store_list_due(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n);
int store_list_expired(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n);
/* The ids of owner's (-1: anyone's) newest messages, at most limit, newest first. */
int store_recent_ids(struct store *s, int64_t owner, size_t limit, uint64_t **ret_ids,
                     size_t *ret_n);
/* Deferred messages whose owner has not heard they are delayed: the
 * earliest submission time among them (0: none), and those submitted at or
 * before submitted_usec. */
int store_next_unwarned(struct store *s, uint64_t *ret_submitted_usec);
int store_list_unwarned(struct store *s, uint64_t submitted_usec, uint64_t **ret_ids,
                        size_t *ret_n);
/* A flush with FLUSH_FORCE: the transport's messages in their SendDelay
 * window become queued now; their ids in *ret_ids. */
int store_release_undo_window(struct store *s, const char *transport, uint64_t **ret_ids,
                              size_t *ret_n);
/* How many outbound messages of transport are held, and scheduled. */
int store_count_held_scheduled(struct store *s, const char *transport, uint32_t *ret_held,
                               uint32_t *ret_scheduled);

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
 * ones if include_queued (on-demand ones only if include_on_demand too) and "deferred"
 * ones whose next attempt is due at now_usec (any deferred one if now_usec is
 * 0). */
int store_list_pending(struct store *s, const char *transport, bool include_queued,
                       bool include_on_demand, uint64_t now_usec, uint64_t **ret_ids,
                       size_t *ret_n);
/* Outbound messages of transport in queued, deferred or sending. */
int store_count_outbound_waiting(struct store *s, const char *transport, uint32_t *ret);
/* Earliest next_attempt_usec of the transport's deferred messages, 0 if none. */
/* The outbound messages owner has waiting to be sent (queued, held,
 * scheduled, deferred, in transit) and their bytes: what its quota counts. */
int store_owner_queue(struct store *s, uint32_t owner, uint64_t *ret_count, uint64_t *ret_bytes);
int store_next_retry(struct store *s, const char *transport, uint64_t *ret_usec);
