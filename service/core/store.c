/* The durable message store on SQLite. See store.h for the contract and
 * docs/architecture.md ("The store") for why it is shaped this way. */
#include "store.h"

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>

#include "checkpointer.h"
#include "log.h"

/* How long a statement waits for a lock held by another connection (a backup
 * or an admin's sqlite3 shell) before giving up with -EBUSY. Short, because the
 * daemon's event loop is blocked meanwhile. */
#define STORE_BUSY_TIMEOUT_MSEC 1000

/* SQLite's page cache per connection, in KiB. Its default (2 MiB) would
 * hold rows and bodies that a flush reads once; the pages read again (the
 * b-trees' upper levels, the leaves being appended to or updated) fit in
 * far less, and the kernel's page cache keeps the rest a pread away. */
#define STORE_CACHE_KIB "256"

/* Sent messages whose bodies are dropped in one transaction: a few pages
 * of WAL for all of them rather than four for each. */
#define STORE_DONE_BODIES_MAX 64

/* ---- states and directions ---- */

static const char *const msg_state_table[_MSG_STATE_MAX] = {
    [MSG_QUEUED] = "queued",     [MSG_SENDING] = "sending", [MSG_SENT] = "sent",
    [MSG_DEFERRED] = "deferred", [MSG_FAILED] = "failed",   [MSG_ABORTED] = "aborted",
    [MSG_RECEIVED] = "received", [MSG_HELD] = "held",       [MSG_SCHEDULED] = "scheduled",
};

static const char *const msg_direction_table[_MSG_DIRECTION_MAX] = {
    [MSG_OUTBOUND] = "outbound",
    [MSG_INBOUND] = "inbound",
};

static int lookup_string(const char *const *table, size_t n, const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

const char *msg_state_to_string(enum msg_state s)
{
        if ((unsigned) s >= _MSG_STATE_MAX)
                return NULL;
        return msg_state_table[s];
}

int msg_state_from_string(const char *s)
{
        return lookup_string(msg_state_table, ELEMENTSOF(msg_state_table), s);
}

const char *msg_direction_to_string(enum msg_direction d)
{
        if ((unsigned) d >= _MSG_DIRECTION_MAX)
                return NULL;
        return msg_direction_table[d];
}

int msg_direction_from_string(const char *s)
{
        return lookup_string(msg_direction_table, ELEMENTSOF(msg_direction_table), s);
}

bool msg_state_transition_allowed(enum msg_state from, enum msg_state to)
{
        switch (from) {
        case MSG_QUEUED:
        case MSG_DEFERRED:
                return to == MSG_SENDING || to == MSG_ABORTED || to == MSG_HELD ||
                       to == MSG_SCHEDULED || to == MSG_FAILED;
        case MSG_HELD:
                return to == MSG_QUEUED || to == MSG_SCHEDULED || to == MSG_ABORTED ||
                       to == MSG_FAILED;
        case MSG_SCHEDULED:
                return to == MSG_QUEUED || to == MSG_SCHEDULED || to == MSG_HELD ||
                       to == MSG_ABORTED || to == MSG_FAILED;
        case MSG_SENDING:
                return to == MSG_SENT || to == MSG_DEFERRED || to == MSG_FAILED ||
                       to == MSG_QUEUED || to == MSG_HELD;
        default:
                return false; /* the final states, and anything out of range */
        }
}

/* ---- records ---- */

void msg_record_clear(struct msg_record *r)
{
        if (!r)
                return;
        free(r->transport);
        free(r->sender);
        strv_free(r->recipients);
        free(r->subject);
        free(r->message_id);
        free(r->last_error);
        free(r->path);
        free(r->copy_error);
        free(r->dsn_notify);
        free(r->dsn_return);
        free(r->dsn_envid);
        *r = (struct msg_record){};
}

void msg_record_array_free(struct msg_record *r, size_t n)
{
        for (size_t i = 0; r && i < n; i++)
                msg_record_clear(&r[i]);
        free(r);
}

/* ---- schema ---- */

/* The states are stored as the strings of msg_state_to_string(), so that the
 * file reads sensibly in a sqlite3 shell. The CHECK ties "received" to inbound
 * and every other state to outbound, which lets the queue queries below look
 * at the state alone. The body column is unused since version 2 (bodies). */
static const char schema_v1[] =
    "CREATE TABLE messages ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),"
    "  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred',"
    "                                       'failed', 'aborted', 'received')),"
    "  transport TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL CHECK (size >= 0),"
    "  submitted INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_attempt INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  owner INTEGER NOT NULL CHECK (owner BETWEEN 0 AND 4294967295),"
    "  hold INTEGER NOT NULL DEFAULT 0 CHECK (hold IN (0, 1)),"
    "  path TEXT NOT NULL DEFAULT '',"
    "  source_key TEXT UNIQUE,"
    "  body BLOB,"
    "  CHECK ((direction = 'inbound') = (state = 'received'))"
    ");"
    "CREATE TABLE recipients ("
    "  message INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  address TEXT NOT NULL,"
    "  PRIMARY KEY (message, position)"
    ") WITHOUT ROWID;"
    /* Serves the per-transport queue queries; next_attempt makes
     * store_next_retry() and store_count_outbound_waiting() index-only. */
    "CREATE INDEX messages_queue ON messages (transport, state, next_attempt);";

/* Version 2: message bodies in a table of their own, so that a state change
 * rewrites a small row rather than the row holding a whole message; the
 * trigger drops a body when its message is sent or aborted, in the same
 * statement as the state change. */
static const char schema_v2[] =
    "CREATE TABLE bodies ("
    "  message INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,"
    "  data BLOB NOT NULL"
    ");"
    "INSERT INTO bodies (message, data) SELECT id, body FROM messages WHERE body IS NOT NULL;"
    "UPDATE messages SET body = NULL WHERE body IS NOT NULL;"
    "CREATE TRIGGER messages_drop_body AFTER UPDATE OF state ON messages "
    "  WHEN NEW.state IN ('sent', 'aborted') "
    "  BEGIN DELETE FROM bodies WHERE message = NEW.id; END;";

/* Version 3: what one owner has waiting, for the per-user quota of every
 * submission, read from the index alone. */
static const char schema_v3[] = "CREATE INDEX messages_owner ON messages (owner, state, size);";

/* Version 4: a message's life (held, scheduled, expiry, delay warnings,
 * "may have been delivered"). The state CHECK changes, which SQLite can only
 * do by building the table anew (its "twelve steps"; store_open() turns the
 * foreign keys on only after migrating, so dropping the old table cascades
 * nowhere). hold becomes on_demand, what it always meant. */
static const char schema_v4[] =
    "CREATE TABLE messages_v4 ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  direction TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),"
    "  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'deferred',"
    "                                       'failed', 'aborted', 'received', 'held',"
    "                                       'scheduled')),"
    "  transport TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL CHECK (size >= 0),"
    "  submitted INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_attempt INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  owner INTEGER NOT NULL CHECK (owner BETWEEN 0 AND 4294967295),"
    "  on_demand INTEGER NOT NULL DEFAULT 0 CHECK (on_demand IN (0, 1)),"
    "  path TEXT NOT NULL DEFAULT '',"
    "  source_key TEXT UNIQUE,"
    "  body BLOB,"
    "  due INTEGER NOT NULL DEFAULT 0,"
    "  undo_window INTEGER NOT NULL DEFAULT 0 CHECK (undo_window IN (0, 1)),"
    "  expiry INTEGER NOT NULL DEFAULT 0,"
    "  possibly_delivered INTEGER NOT NULL DEFAULT 0 CHECK (possibly_delivered IN (0, 1)),"
    "  delay_warned INTEGER NOT NULL DEFAULT 0 CHECK (delay_warned IN (0, 1)),"
    "  CHECK ((direction = 'inbound') = (state = 'received'))"
    ");"
    "INSERT INTO messages_v4 (id, direction, state, transport, sender, subject, message_id,"
    "  size, submitted, attempts, next_attempt, last_error, owner, on_demand, path, source_key,"
    "  body)"
    "  SELECT id, direction, state, transport, sender, subject, message_id, size, submitted,"
    "  attempts, next_attempt, last_error, owner, hold, path, source_key, body FROM messages;"
    "DROP TABLE messages;"
    "ALTER TABLE messages_v4 RENAME TO messages;"
    "CREATE INDEX messages_queue ON messages (transport, state, next_attempt);"
    "CREATE INDEX messages_owner ON messages (owner, state, size);"
    /* The one timer of what comes due reads these. */
    "CREATE INDEX messages_due ON messages (state, due);"
    "CREATE INDEX messages_expiry ON messages (expiry) WHERE expiry > 0;"
    "CREATE INDEX messages_unwarned ON messages (submitted) "
    "  WHERE state = 'deferred' AND delay_warned = 0;"
    "CREATE TRIGGER messages_drop_body AFTER UPDATE OF state ON messages "
    "  WHEN NEW.state IN ('sent', 'aborted') "
    "  BEGIN DELETE FROM bodies WHERE message = NEW.id; END;";

/* Version 5: the copy of a sent message in an IMAP mailbox (SentCopy=), a
 * step of its own: "pending" from submission (when the transport makes
 * copies) until the copy is there, with its attempts, the time of the next
 * one and why the last failed. A sent message keeps its body while its
 * copy is pending. */
static const char schema_v5[] =
    "ALTER TABLE messages ADD COLUMN sent_copy TEXT NOT NULL DEFAULT '' "
    "  CHECK (sent_copy IN ('', 'pending', 'copied'));"
    "ALTER TABLE messages ADD COLUMN copy_attempts INTEGER NOT NULL DEFAULT 0 "
    "  CHECK (copy_attempts >= 0);"
    "ALTER TABLE messages ADD COLUMN copy_next INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE messages ADD COLUMN copy_error TEXT NOT NULL DEFAULT '';"
    "DROP TRIGGER messages_drop_body;"
    "CREATE TRIGGER messages_drop_body AFTER UPDATE OF state, sent_copy ON messages "
    "  WHEN NEW.state = 'aborted' OR (NEW.state = 'sent' AND NEW.sent_copy != 'pending') "
    "  BEGIN DELETE FROM bodies WHERE message = NEW.id; END;"
    "CREATE INDEX messages_copy ON messages (copy_next) "
    "  WHERE state = 'sent' AND sent_copy = 'pending';";

/* Version 6: what each owner has waiting (the states the per-user quota
 * counts), kept up to date by triggers in the statements that move
 * messages, so that the check of every submission reads one row rather
 * than the owner's whole queue. */
#define WAITING_STATES "('queued', 'held', 'scheduled', 'deferred', 'sending')"
#define OWNER_QUEUE_ADD(who, size)                                                                 \
        "INSERT INTO owner_queue (owner, count, bytes) VALUES (" who ", 1, " size ") "             \
        "ON CONFLICT (owner) DO UPDATE SET count = count + 1, bytes = bytes + " size ";"
#define OWNER_QUEUE_REMOVE(who, size)                                                              \
        "UPDATE owner_queue SET count = count - 1, bytes = bytes - " size " WHERE owner = " who ";"
static const char schema_v6[] =
    "CREATE TABLE owner_queue ("
    "  owner INTEGER PRIMARY KEY,"
    "  count INTEGER NOT NULL CHECK (count >= 0),"
    "  bytes INTEGER NOT NULL CHECK (bytes >= 0)"
    ");"
    "INSERT INTO owner_queue (owner, count, bytes) "
    "  SELECT owner, count(*), sum(size) FROM messages WHERE state IN " WAITING_STATES
    "  GROUP BY owner;"
    "CREATE TRIGGER owner_queue_insert AFTER INSERT ON messages "
    "  WHEN NEW.state IN " WAITING_STATES " BEGIN " OWNER_QUEUE_ADD(
        "NEW.owner",
        "NEW.size") "  END;"
                    "CREATE TRIGGER owner_queue_enter AFTER UPDATE OF state ON messages "
                    "  WHEN OLD.state NOT IN " WAITING_STATES " AND NEW.state IN " WAITING_STATES
                    "  BEGIN " OWNER_QUEUE_ADD(
                        "NEW.owner",
                        "NEW.size") " END;"
                                    "CREATE TRIGGER owner_queue_leave AFTER UPDATE OF state ON "
                                    "messages "
                                    "  WHEN OLD.state IN " WAITING_STATES
                                    " AND NEW.state NOT IN " WAITING_STATES
                                    "  BEGIN " OWNER_QUEUE_REMOVE(
                                        "OLD.owner",
                                        "OLD.size") " END;"
                                                    "CREATE TRIGGER owner_queue_delete AFTER "
                                                    "DELETE ON messages "
                                                    "  WHEN OLD.state IN " WAITING_STATES
                                                    " BEGIN " OWNER_QUEUE_REMOVE(
                                                        "OLD.owner", "OLD.size") "  END;";

/* Version 7: the delivery status notifications a submitter asked for
 * (RFC 3461), passed on where the server offers DSN. */
static const char schema_v7[] =
    "ALTER TABLE messages ADD COLUMN dsn_notify TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE messages ADD COLUMN dsn_return TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE messages ADD COLUMN dsn_envid TEXT NOT NULL DEFAULT '';";

/* Version 8: less work per move of a message. A move
 * rewrites the entry of every index that holds the state; messages_due and
 * messages_owner held it for queries that no longer need it there (the due
 * timer asks for scheduled messages only; the quota reads owner_queue), so a
 * message going through "sending" to "sent" wrote two index entries more,
 * each twice, in every flush. */
/* clang-format off */
#define IS_WAITING(state)                                                                          \
        "(" state " = 'queued' OR " state " = 'held' OR " state " = 'scheduled' OR "               \
        state " = 'deferred' OR " state " = 'sending')"
static const char schema_v8[] =
    "DROP INDEX messages_due;"
    "CREATE INDEX messages_due ON messages (due) WHERE state = 'scheduled';"
    "DROP INDEX messages_owner;"
    "CREATE INDEX messages_owner ON messages (owner);"
    /* The owner_queue triggers of version 6 with their IN lists spelled
     * out: SQLite builds a temporary table for an IN list of more than two
     * values each time a statement evaluates it, four per move. */
    "DROP TRIGGER owner_queue_insert;"
    "DROP TRIGGER owner_queue_enter;"
    "DROP TRIGGER owner_queue_leave;"
    "DROP TRIGGER owner_queue_delete;"
    "CREATE TRIGGER owner_queue_insert AFTER INSERT ON messages "
    "  WHEN " IS_WAITING("NEW.state")
    "  BEGIN " OWNER_QUEUE_ADD("NEW.owner", "NEW.size") " END;"
    "CREATE TRIGGER owner_queue_enter AFTER UPDATE OF state ON messages "
    "  WHEN NOT " IS_WAITING("OLD.state") " AND " IS_WAITING("NEW.state")
    "  BEGIN " OWNER_QUEUE_ADD("NEW.owner", "NEW.size") " END;"
    "CREATE TRIGGER owner_queue_leave AFTER UPDATE OF state ON messages "
    "  WHEN " IS_WAITING("OLD.state") " AND NOT " IS_WAITING("NEW.state")
    "  BEGIN " OWNER_QUEUE_REMOVE("OLD.owner", "OLD.size") " END;"
    "CREATE TRIGGER owner_queue_delete AFTER DELETE ON messages "
    "  WHEN " IS_WAITING("OLD.state")
    "  BEGIN " OWNER_QUEUE_REMOVE("OLD.owner", "OLD.size") " END;";
/* clang-format on */

/* Version 9: a message entering "sent" keeps its body for a moment; the
 * store drops the bodies of sent messages together (store_drop_done_bodies()),
 * as deleting one in the move itself wrote four pages more to the WAL per
 * message (the body's leaf, the freelist's trunk, the file's header, now
 * and then a parent), forty per cent of a flush's. An abort still drops
 * it at once, and so does the copy to Sent of a message already sent. */
static const char schema_v9[] =
    "DROP TRIGGER messages_drop_body;"
    "CREATE TRIGGER messages_drop_body AFTER UPDATE OF state, sent_copy ON messages "
    "  WHEN NEW.state = 'aborted' "
    "  OR (OLD.state = 'sent' AND NEW.state = 'sent' AND NEW.sent_copy != 'pending') "
    "  BEGIN DELETE FROM bodies WHERE message = NEW.id; END;";

/* Version 10: on_demand in messages_queue, so that listing what a flush
 * sends (store_list_pending()) reads the index alone: it looked up the row
 * of every waiting message, 4 ms for 10 000 in the one dispatch that starts
 * the flush. */
static const char schema_v10[] =
    "DROP INDEX messages_queue;"
    "CREATE INDEX messages_queue ON messages (transport, state, next_attempt, on_demand);";

/* migrations[v] takes a database from user_version v to v + 1. */
static const char *const migrations[] = {
    schema_v1, schema_v2, schema_v3, schema_v4, schema_v5,
    schema_v6, schema_v7, schema_v8, schema_v9, schema_v10,
};
#define STORE_SCHEMA_VERSION ((int64_t) ELEMENTSOF(migrations))

/* ---- cached statements ---- */

enum store_stmt {
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_INSERT_MESSAGE,
        STMT_INSERT_RECIPIENT,
        STMT_INSERT_BODY,
        STMT_HAS_SOURCE_KEY,
        STMT_GET,
        STMT_LIST,
        STMT_GET_BODY,
        STMT_SET_STATE,
        STMT_EXISTS,
        STMT_RECOVER,
        STMT_DROP_DONE_BODY,
        STMT_DROP_DONE_BODIES,
        STMT_PENDING,
        STMT_COUNT_WAITING,
        STMT_NEXT_RETRY,
        STMT_OWNER_QUEUE,
        STMT_DELETE_RECIPIENTS,
        STMT_SCHEDULE,
        STMT_SET_POSSIBLY_DELIVERED,
        STMT_SET_DELAY_WARNED,
        STMT_NEXT_DUE,
        STMT_NEXT_EXPIRY,
        STMT_LIST_DUE,
        STMT_LIST_EXPIRED,
        STMT_RELEASE_UNDO,
        STMT_COUNT_HELD_SCHEDULED,
        STMT_NEXT_UNWARNED,
        STMT_LIST_UNWARNED,
        STMT_RECENT_IDS,
        STMT_NEXT_COPY,
        STMT_LIST_COPIES,
        STMT_COPY_BEGIN,
        STMT_COPY_DONE,
        STMT_COPY_DEFER,
        _STMT_MAX,
};

/* The columns a msg_record is read from, one row per recipient (LEFT JOIN: a
 * message without recipients still gives one row, with a NULL address). */
enum {
        COL_ID,
        COL_DIRECTION,
        COL_STATE,
        COL_TRANSPORT,
        COL_SENDER,
        COL_SUBJECT,
        COL_MESSAGE_ID,
        COL_SIZE,
        COL_SUBMITTED,
        COL_ATTEMPTS,
        COL_NEXT_ATTEMPT,
        COL_LAST_ERROR,
        COL_OWNER,
        COL_ON_DEMAND,
        COL_PATH,
        COL_DUE,
        COL_UNDO_WINDOW,
        COL_EXPIRY,
        COL_POSSIBLY_DELIVERED,
        COL_DELAY_WARNED,
        COL_SENT_COPY,
        COL_COPY_ATTEMPTS,
        COL_COPY_NEXT,
        COL_COPY_ERROR,
        COL_DSN_NOTIFY,
        COL_DSN_RETURN,
        COL_DSN_ENVID,
        COL_ADDRESS,
};
#define SELECT_RECORDS                                                                             \
        "SELECT m.id, m.direction, m.state, m.transport, m.sender, m.subject, m.message_id, "      \
        "m.size, m.submitted, m.attempts, m.next_attempt, m.last_error, m.owner, m.on_demand, "    \
        "m.path, m.due, m.undo_window, m.expiry, m.possibly_delivered, m.delay_warned, "           \
        "m.sent_copy, m.copy_attempts, m.copy_next, m.copy_error, m.dsn_notify, m.dsn_return, "    \
        "m.dsn_envid, r.address FROM messages AS m LEFT JOIN recipients AS r ON r.message = m.id "

/* store_set_state() binds the states it may leave in ?5.. one slot per state;
 * unused slots stay NULL, which no comparison matches. A chain of
 * comparisons rather than IN (?5, ...): SQLite builds a temporary table for
 * an IN list of bound parameters every time the statement runs, twice per
 * message in a flush. */
static_assert(_MSG_STATE_MAX == 9, "STMT_SET_STATE and STMT_SCHEDULE have one slot per state");
#define SET_STATE_FROM_PARAM 5
#define STATE_IS_ONE_OF_PARAMS                                                                     \
        "(state = ?5 OR state = ?6 OR state = ?7 OR state = ?8 OR state = ?9 OR state = ?10 "      \
        "OR state = ?11 OR state = ?12 OR state = ?13)"

static const char *const stmt_sql[_STMT_MAX] = {
    /* IMMEDIATE takes the write lock up front: a deferred transaction that
     * upgrades later can fail with SQLITE_BUSY halfway through. */
    [STMT_BEGIN] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_INSERT_MESSAGE] =
        "INSERT INTO messages (direction, state, transport, sender, subject, message_id, "
        "size, submitted, owner, on_demand, path, source_key, due, undo_window, expiry, "
        "sent_copy, dsn_notify, dsn_return, dsn_envid) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
        "?19)",
    [STMT_INSERT_BODY] = "INSERT INTO bodies (message, data) VALUES (?1, ?2)",
    [STMT_INSERT_RECIPIENT] =
        "INSERT INTO recipients (message, position, address) VALUES (?1, ?2, ?3)",
    [STMT_HAS_SOURCE_KEY] = "SELECT submitted FROM messages WHERE source_key = ?1",
    [STMT_DELETE_RECIPIENTS] = "DELETE FROM recipients WHERE message = ?1",
    [STMT_GET] = SELECT_RECORDS "WHERE m.id = ?1 ORDER BY r.position",
    [STMT_LIST] = SELECT_RECORDS "WHERE (?1 IS NULL OR m.state = ?1) "
                                 "AND (?2 IS NULL OR m.direction = ?2) "
                                 "AND (?3 IS NULL OR m.transport = ?3) "
                                 "AND (?4 IS NULL OR m.owner = ?4) "
                                 "ORDER BY m.id, r.position",
    [STMT_GET_BODY] = "SELECT b.data FROM messages AS m "
                      "LEFT JOIN bodies AS b ON b.message = m.id WHERE m.id = ?1",
    /* One statement checks the transition and applies it, so no other
     * writer can slip in between. */
    [STMT_SET_STATE] = "UPDATE messages SET state = ?1, "
                       "attempts = attempts + (?1 = 'sending'), "
                       "last_error = ?2, next_attempt = ?3 "
                       "WHERE id = ?4 AND " STATE_IS_ONE_OF_PARAMS,
    [STMT_SCHEDULE] = "UPDATE messages SET state = ?1, due = ?2, undo_window = ?3 "
                      "WHERE id = ?4 AND " STATE_IS_ONE_OF_PARAMS,
    [STMT_SET_POSSIBLY_DELIVERED] = "UPDATE messages SET possibly_delivered = ?2 WHERE id = ?1",
    [STMT_SET_DELAY_WARNED] = "UPDATE messages SET delay_warned = 1 WHERE id = ?1",
    [STMT_NEXT_DUE] = "SELECT coalesce(min(due), 0) FROM messages WHERE state = 'scheduled'",
    [STMT_NEXT_EXPIRY] = "SELECT coalesce(min(expiry), 0) FROM messages WHERE expiry > 0 "
                         "AND state IN ('queued', 'deferred', 'held', 'scheduled')",
    [STMT_LIST_DUE] = "SELECT id FROM messages WHERE state = 'scheduled' AND due <= ?1 "
                      "ORDER BY id",
    [STMT_LIST_EXPIRED] = "SELECT id FROM messages WHERE expiry > 0 AND expiry <= ?1 "
                          "AND state IN ('queued', 'deferred', 'held', 'scheduled') ORDER BY id",
    [STMT_RELEASE_UNDO] = "UPDATE messages SET state = 'queued', due = 0, undo_window = 0 "
                          "WHERE transport = ?1 AND state = 'scheduled' AND undo_window = 1 "
                          "RETURNING id",
    [STMT_RECENT_IDS] = "SELECT id FROM messages WHERE ?1 < 0 OR owner = ?1 "
                        "ORDER BY id DESC LIMIT ?2",
    [STMT_NEXT_UNWARNED] = "SELECT coalesce(min(submitted), 0) FROM messages "
                           "WHERE state = 'deferred' AND delay_warned = 0",
    [STMT_LIST_UNWARNED] = "SELECT id FROM messages WHERE state = 'deferred' "
                           "AND delay_warned = 0 AND submitted <= ?1 ORDER BY id",
    [STMT_COUNT_HELD_SCHEDULED] = "SELECT count(*) FILTER (WHERE state = 'held'), "
                                  "count(*) FILTER (WHERE state = 'scheduled') FROM messages "
                                  "WHERE transport = ?1 AND state IN ('held', 'scheduled')",
    /* A copy never tried has copy_next 0: due at once (max() makes it 1,
     * so that 0 keeps meaning "none"). Both run after every sent message.
     * Left to itself, SQLite takes messages_due (state, due) for them and
     * reads every sent message there is, so a flush slowed down as it went;
     * the partial index holds the pending copies alone. INDEXED BY makes
     * preparing fail, rather than the plan change, should it ever not fit. */
    [STMT_NEXT_COPY] = "SELECT coalesce(min(max(copy_next, 1)), 0) "
                       "FROM messages INDEXED BY messages_copy "
                       "WHERE state = 'sent' AND sent_copy = 'pending'",
    [STMT_LIST_COPIES] = "SELECT id FROM messages INDEXED BY messages_copy WHERE state = 'sent' "
                         "AND sent_copy = 'pending' AND copy_next <= ?1 ORDER BY id LIMIT 64",
    [STMT_COPY_BEGIN] = "UPDATE messages SET copy_attempts = copy_attempts + 1 "
                        "WHERE id = ?1 AND sent_copy = 'pending'",
    [STMT_COPY_DONE] = "UPDATE messages SET sent_copy = 'copied', copy_error = '', copy_next = 0 "
                       "WHERE id = ?1 AND sent_copy = 'pending'",
    [STMT_COPY_DEFER] = "UPDATE messages SET copy_error = ?2, copy_next = ?3 "
                        "WHERE id = ?1 AND sent_copy = 'pending'",
    [STMT_EXISTS] = "SELECT 1 FROM messages WHERE id = ?1",
    [STMT_RECOVER] = "UPDATE messages SET state = 'queued' WHERE state = 'sending'",
    /* A body is done with once its message is sent and copied to Sent if
     * it is to be. */
    [STMT_DROP_DONE_BODY] = "DELETE FROM bodies WHERE message = ?1 AND EXISTS (SELECT 1 FROM "
                            "messages WHERE id = ?1 AND state = 'sent' AND sent_copy != 'pending')",
    [STMT_DROP_DONE_BODIES] = "DELETE FROM bodies WHERE (SELECT state = 'sent' AND sent_copy != "
                              "'pending' FROM messages WHERE id = bodies.message)",
    [STMT_PENDING] = "SELECT id FROM messages "
                     "WHERE transport = ?1 AND state IN ('queued', 'deferred') "
                     "AND (state != 'queued' OR (?4 AND (on_demand = 0 OR ?2))) "
                     "AND (state != 'deferred' OR ?3 = 0 OR next_attempt <= ?3)",
    /* No direction test: the schema's CHECK makes these states outbound. */
    [STMT_COUNT_WAITING] = "SELECT count(*) FROM messages "
                           "WHERE transport = ?1 "
                           "AND state IN ('queued', 'deferred', 'sending')",
    [STMT_NEXT_RETRY] = "SELECT coalesce(min(next_attempt), 0) FROM messages "
                        "WHERE transport = ?1 AND state = 'deferred'",
    [STMT_OWNER_QUEUE] = "SELECT coalesce(max(count), 0), coalesce(max(bytes), 0) "
                         "FROM owner_queue WHERE owner = ?1",
};

struct store {
        sqlite3 *db;
        sqlite3_stmt *stmt[_STMT_MAX];
        /* synchronous=NORMAL is in force, left by a move to "sending" or
         * "sent" (store_set_state()); every other write sets FULL again
         * first (durable()). Switching only when the kind of write changes
         * spares a flush two pragmas per message. */
        bool relaxed;
        /* The commit under way may be relaxed: commit_hook() refuses any
         * other while NORMAL is in force, so a write that forgot durable()
         * fails rather than skipping its fsync. */
        bool relaxed_commit;
        /* NULL when no thread could be had: SQLite checkpoints in the
         * commits, as it does by default. */
        struct checkpointer *checkpointer;
        /* Messages that entered "sent" since their bodies were last dropped. */
        uint64_t done[STORE_DONE_BODIES_MAX];
        size_t n_done;
};

/* ---- SQLite plumbing ---- */

static int errno_from_sqlite(int rc)
{
        switch (rc & 0xff) { /* the primary code of an extended one */
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

/* A cached statement is reset when the variable holding it goes out of scope:
 * a statement left mid-way keeps its read snapshot (and any lock) open. */
static void stmt_resetp(sqlite3_stmt **st)
{
        if (*st) {
                sqlite3_reset(*st);
                sqlite3_clear_bindings(*st);
        }
}
#define _cleanup_reset_ _cleanup_(stmt_resetp)

static void sqlite_closep(sqlite3 **db)
{
        sqlite3_close(*db);
}

/* Runs a statement that returns no rows we want. */
static int step_done(sqlite3_stmt *st)
{
        int rc;

        do
                rc = sqlite3_step(st);
        while (rc == SQLITE_ROW);
        return errno_from_sqlite(rc);
}

/* Runs a statement whose first row's first column is an integer: 1 and the
 * value if there is a row, 0 if there is none. */
static int step_int64(sqlite3_stmt *st, int64_t *ret)
{
        int rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW)
                return errno_from_sqlite(rc);
        *ret = sqlite3_column_int64(st, 0);
        return 1;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
        /* SQLITE_STATIC: every statement is reset before its caller returns. */
        return sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

/* SQLite integers are signed; a time or size beyond INT64_MAX would come back
 * negative, so refuse it on the way in. */
static bool fits_int64(uint64_t v)
{
        return v <= (uint64_t) INT64_MAX;
}

static int db_exec(sqlite3 *db, const char *sql);

/* Puts synchronous=NORMAL (relaxed) or FULL in force for the commits that
 * follow, unless it is already. */
static int set_relaxed(struct store *s, bool relaxed)
{
        if (s->relaxed == relaxed)
                return 0;
        int r =
            db_exec(s->db, relaxed ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL");
        if (r < 0)
                return r;
        s->relaxed = relaxed;
        return 0;
}

/* Makes the next commit durable; called before every write but the
 * relaxed ones (store_set_state(), store_drop_done_bodies()). */
static int durable(struct store *s)
{
        return set_relaxed(s, false);
}

/* SQLite asks before each commit of a write; nonzero turns it into a
 * rollback. */
static int commit_hook(void *userdata)
{
        const struct store *s = userdata;
        return s->relaxed && !s->relaxed_commit;
}

static int tx_begin(struct store *s)
{
        int r = durable(s);
        if (r < 0)
                return r;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_BEGIN];
        return step_done(st);
}

static int tx_commit(struct store *s)
{
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_COMMIT];
        return step_done(st);
}

/* Holds a store while it has a transaction open; on scope exit without
 * TAKE_PTR(), rolls back whatever is still open (a failed COMMIT may leave the
 * transaction open, or SQLite may already have rolled it back itself). */
static void tx_rollbackp(struct store **s)
{
        if (!*s || sqlite3_get_autocommit((*s)->db))
                return;
        _cleanup_reset_ sqlite3_stmt *st = (*s)->stmt[STMT_ROLLBACK];
        (void) step_done(st);
}
#define _cleanup_rollback_ _cleanup_(tx_rollbackp)

/* ---- opening ---- */

static int db_exec(sqlite3 *db, const char *sql)
{
        return errno_from_sqlite(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int db_query_int64(sqlite3 *db, const char *sql, int64_t *ret)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t v = 0;
        int r = step_int64(st, &v);
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static int enable_wal(sqlite3 *db)
{
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        rc = sqlite3_step(st);
        /* The pragma answers with the mode now in force, which is not WAL on a
         * file system that cannot share memory for the WAL index. */
        bool wal = rc == SQLITE_ROW &&
                   sqlite3_stricmp((const char *) sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
                return errno_from_sqlite(rc);
        return wal ? 0 : -EOPNOTSUPP;
}

static int read_schema_version(sqlite3 *db, int64_t *ret)
{
        int64_t version = 0;
        int r = db_query_int64(db, "PRAGMA user_version", &version);
        if (r < 0)
                return r;
        if (version < 0 || version > STORE_SCHEMA_VERSION)
                return -EPROTO; /* written by a newer mailspoold; do not touch it */
        *ret = version;
        return 0;
}

/* Brings the schema to STORE_SCHEMA_VERSION in one transaction, so a crash
 * leaves either the old schema or the new one. */
static int migrate(sqlite3 *db)
{
        int r = db_exec(db, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;

        /* Read again under the write lock: another process may have migrated
         * the file since the first look. */
        int64_t version = 0;
        r = read_schema_version(db, &version);
        for (int64_t v = version; r >= 0 && v < STORE_SCHEMA_VERSION; v++)
                r = db_exec(db, migrations[v]);
        if (r >= 0 && version < STORE_SCHEMA_VERSION) {
                char sql[64];
                snprintf(sql, sizeof(sql), "PRAGMA user_version = %" PRId64, STORE_SCHEMA_VERSION);
                r = db_exec(db, sql);
        }
        if (r >= 0)
                r = db_exec(db, "COMMIT");
        if (r < 0 && !sqlite3_get_autocommit(db))
                (void) db_exec(db, "ROLLBACK");
        return r;
}

static int prepare_statements(struct store *s)
{
        for (size_t i = 0; i < _STMT_MAX; i++) {
                /* PERSISTENT: these live as long as the store. */
                int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                            &s->stmt[i], NULL);
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);
        }
        return 0;
}

int store_open(const char *path, struct store **ret)
{
        if (!path || !ret)
                return -EINVAL;

        /* Create the file ourselves so that it is private mail from the first
         * byte; SQLite gives the -wal and -shm files the same mode. */
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return -errno;

        _cleanup_(sqlite_closep) sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MSEC);

        /* Refuse a newer schema before changing anything in the file. */
        int64_t version = 0;
        int r = read_schema_version(db, &version);
        if (r < 0)
                return r;
        r = enable_wal(db);
        if (r < 0)
                return r;
        /* FULL: in WAL mode, NORMAL may lose the last commits on power loss,
         * and we promise that a returned 0 is durable. */
        r = db_exec(db, "PRAGMA synchronous = FULL");
        if (r < 0)
                return r;
        /* Only take the write lock when there is something to migrate. */
        if (version < STORE_SCHEMA_VERSION) {
                r = migrate(db);
                if (r < 0)
                        return r;
        }
        /* After migrating: a migration that builds a table anew drops the
         * old one, which must not cascade to recipients and bodies. */
        r = db_exec(db, "PRAGMA foreign_keys = ON");
        if (r < 0)
                return r;
        r = db_exec(db, "PRAGMA cache_size = -" STORE_CACHE_KIB);
        if (r < 0)
                return r;

        _cleanup_store_ struct store *s = calloc(1, sizeof(struct store));
        if (!s)
                return -ENOMEM;
        s->db = TAKE_PTR(db);
        sqlite3_commit_hook(s->db, commit_hook, s);
        r = prepare_statements(s);
        if (r < 0)
                return r;
        s->checkpointer = checkpointer_start(path, s->db);
        if (!s->checkpointer)
                log_warning("store: no checkpoint thread; the WAL is copied in the commits");

        *ret = TAKE_PTR(s);
        return 0;
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        (void) store_drop_done_bodies(s);
        /* The thread's connection first: closing the last connection
         * checkpoints the WAL into the file. */
        checkpointer_free(s->checkpointer);
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmt[i]);
        sqlite3_close(s->db);
        free(s);
        return NULL;
}

int store_wal_fd(const struct store *s)
{
        return s ? checkpointer_fd(s->checkpointer) : -EINVAL;
}

bool store_wal_waiting(const struct store *s)
{
        return s && checkpointer_waiting(s->checkpointer);
}

bool store_wal_check(struct store *s)
{
        return !s || checkpointer_check(s->checkpointer);
}

/* ---- writing ---- */

int store_recover(struct store *s, unsigned *ret_requeued)
{
        if (!s)
                return -EINVAL;
        int r = durable(s);
        if (r < 0)
                return r;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_RECOVER];
        r = step_done(st); /* one statement: its own transaction */
        if (r < 0)
                return r;
        if (ret_requeued)
                *ret_requeued = (unsigned) sqlite3_changes(s->db);
        /* The bodies of messages sent before a stop that did not drop them. */
        _cleanup_reset_ sqlite3_stmt *drop = s->stmt[STMT_DROP_DONE_BODIES];
        return step_done(drop);
}

struct new_message {
        enum msg_direction direction;
        enum msg_state state;
        const struct msg_record *m;
        uint64_t size;
        const char *source_key; /* NULL for none */
        const void *body;       /* NULL for none (inbound keeps it in the Maildir) */
};

static int insert_body(struct store *s, uint64_t id, const void *body, uint64_t size)
{
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_INSERT_BODY];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        /* A missing row means "body dropped"; an empty message is a
         * zero-length blob. */
        rc = rc
                 ?: (size > 0 ? sqlite3_bind_blob64(st, 2, body, size, SQLITE_STATIC)
                              : sqlite3_bind_zeroblob(st, 2, 0));
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        return step_done(st);
}

static int insert_message(struct store *s, const struct new_message *n, uint64_t *ret_id)
{
        const struct msg_record *m = n->m;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_INSERT_MESSAGE];

        /* rc ?: next — stop at the first bind that fails (SQLITE_OK is 0). */
        int rc = bind_text(st, 1, msg_direction_to_string(n->direction));
        rc = rc ?: bind_text(st, 2, msg_state_to_string(n->state));
        rc = rc ?: bind_text(st, 3, m->transport);
        rc = rc ?: bind_text(st, 4, strempty(m->sender));
        rc = rc ?: bind_text(st, 5, strempty(m->subject));
        rc = rc ?: bind_text(st, 6, strempty(m->message_id));
        rc = rc ?: sqlite3_bind_int64(st, 7, (int64_t) n->size);
        rc = rc ?: sqlite3_bind_int64(st, 8, (int64_t) m->submitted_usec);
        rc = rc ?: sqlite3_bind_int64(st, 9, m->owner);
        rc = rc ?: sqlite3_bind_int(st, 10, n->direction == MSG_OUTBOUND && m->on_demand);
        rc = rc ?: bind_text(st, 11, n->direction == MSG_INBOUND ? strempty(m->path) : "");
        if (n->source_key)
                rc = rc ?: bind_text(st, 12, n->source_key);
        bool scheduled = n->state == MSG_SCHEDULED;
        rc = rc ?: sqlite3_bind_int64(st, 13, scheduled ? (int64_t) m->due_usec : 0);
        rc = rc ?: sqlite3_bind_int(st, 14, scheduled && m->undo_window);
        rc = rc ?: sqlite3_bind_int64(st, 15, (int64_t) m->expiry_usec);
        rc = rc
                 ?: bind_text(st, 16,
                              n->direction == MSG_OUTBOUND && m->sent_copy == SENT_COPY_PENDING
                                  ? "pending"
                                  : "");
        rc = rc ?: bind_text(st, 17, strempty(m->dsn_notify));
        rc = rc ?: bind_text(st, 18, strempty(m->dsn_return));
        rc = rc ?: bind_text(st, 19, strempty(m->dsn_envid));
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);

        rc = sqlite3_step(st);
        if (rc == SQLITE_CONSTRAINT_UNIQUE && n->source_key)
                return -EEXIST; /* source_key is the one UNIQUE column we set */
        if (rc != SQLITE_DONE)
                return errno_from_sqlite(rc);
        *ret_id = (uint64_t) sqlite3_last_insert_rowid(s->db);
        return n->body ? insert_body(s, *ret_id, n->body, n->size) : 0;
}

static int insert_recipients(struct store *s, uint64_t id, char *const *recipients)
{
        sqlite3_stmt *st = s->stmt[STMT_INSERT_RECIPIENT];
        int64_t position = 0;

        STRV_FOREACH (a, (char **) recipients) {
                _cleanup_reset_ sqlite3_stmt *row = st;
                int rc = sqlite3_bind_int64(row, 1, (int64_t) id);
                rc = rc ?: sqlite3_bind_int64(row, 2, position++);
                rc = rc ?: bind_text(row, 3, *a);
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);
                int r = step_done(row);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The message row and its recipients, in the transaction open. */
static int insert_message_rows(struct store *s, const struct new_message *n, uint64_t *ret_id)
{
        const struct msg_record *m = n->m;

        if (!m->transport || !fits_int64(n->size) || !fits_int64(m->submitted_usec) ||
            !fits_int64(m->due_usec) || !fits_int64(m->expiry_usec))
                return -EINVAL;
        STRV_FOREACH (a, m->recipients)
                if (!**a)
                        return -EINVAL;

        uint64_t id = 0;
        int r = insert_message(s, n, &id);
        if (r < 0)
                return r;
        r = insert_recipients(s, id, m->recipients);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

/* The messages of n[0..count) in one transaction. With skip_existing a
 * message whose source key is recorded already gets id 0 and the others
 * go on (the failed INSERT undoes only itself); without, it fails them all
 * with -EEXIST. */
static int add_messages(struct store *s, const struct new_message *n, size_t count,
                        bool skip_existing, uint64_t *ret_ids)
{
        _cleanup_rollback_ struct store *tx = NULL;
        int r = tx_begin(s);
        if (r < 0)
                return r;
        tx = s;

        for (size_t i = 0; i < count; i++) {
                ret_ids[i] = 0;
                r = insert_message_rows(s, &n[i], &ret_ids[i]);
                if (r == -EEXIST && skip_existing)
                        continue;
                if (r < 0)
                        return r;
        }
        r = tx_commit(s);
        if (r < 0)
                return r;
        TAKE_PTR(tx);
        return 0;
}

static int add_message(struct store *s, const struct new_message *n, uint64_t *ret_id)
{
        uint64_t id = 0;
        int r = add_messages(s, n, 1, false, &id);
        if (r < 0)
                return r;
        if (ret_id)
                *ret_id = id;
        return 0;
}

int store_add_outbound(struct store *s, const struct msg_record *m, const void *body,
                       size_t body_size, uint64_t *ret_id)
{
        if (!s || !m || (!body && body_size > 0))
                return -EINVAL;
        if (m->state != MSG_QUEUED && m->state != MSG_HELD && m->state != MSG_SCHEDULED)
                return -EINVAL;
        struct new_message n = {
            .direction = MSG_OUTBOUND,
            .state = m->state,
            .m = m,
            .size = body_size,
            .body = body ?: "",
        };
        return add_message(s, &n, ret_id);
}

static struct new_message new_inbound(const struct msg_record *m, const char *source_key)
{
        return (struct new_message){
            .direction = MSG_INBOUND,
            .state = MSG_RECEIVED,
            .m = m,
            .size = m->size,
            /* An empty key names no source, and must not collide with
             * another empty key. */
            .source_key = source_key && *source_key ? source_key : NULL,
        };
}

int store_add_inbound(struct store *s, const struct msg_record *m, const char *source_key,
                      uint64_t *ret_id)
{
        if (!s || !m)
                return -EINVAL;
        struct new_message n = new_inbound(m, source_key);
        return add_message(s, &n, ret_id);
}

int store_add_inbound_batch(struct store *s, struct store_inbound *in, size_t n)
{
        if (!s || (!in && n > 0))
                return -EINVAL;
        if (n == 0)
                return 0;
        _cleanup_free_ struct new_message *rows = calloc(n, sizeof(*rows));
        _cleanup_free_ uint64_t *ids = calloc(n, sizeof(*ids));
        if (!rows || !ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!in[i].m)
                        return -EINVAL;
                rows[i] = new_inbound(in[i].m, in[i].source_key);
        }
        int r = add_messages(s, rows, n, true, ids);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                in[i].id = ids[i];
        return 0;
}

static int set_state(struct store *s, uint64_t id, enum msg_state to, const char *error,
                     uint64_t next_attempt_usec);

/* After an update that changed nothing: -EBUSY when the message exists (the
 * move was not allowed), 0 when it does not. Rows are never deleted, so the
 * answer cannot go stale. */
static int message_exists(struct store *s, uint64_t id)
{
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_EXISTS];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t one = 0;
        int r = step_int64(st, &one);
        if (r < 0)
                return r;
        return r > 0 ? -EBUSY : 0;
}

int store_set_state(struct store *s, uint64_t id, enum msg_state to, const char *error,
                    uint64_t next_attempt_usec)
{
        if (!s)
                return -EINVAL;
        if ((to != MSG_SENDING && to != MSG_SENT) || !sqlite3_get_autocommit(s->db))
                return durable(s) ?: set_state(s, id, to, error, next_attempt_usec);

        /* Entering "sending" or "sent" needs no fsync of its own. A process
         * crash loses nothing the WAL holds (it is in the page cache); only
         * an OS crash or power loss can lose these commits, and then the
         * message is back in "queued" or "sending" with its body, so it goes
         * again: a duplicate at worst, never a loss. The WAL keeps commits in
         * order, so the next FULL commit makes these durable too. */
        int r = set_relaxed(s, true);
        if (r < 0)
                return r;
        s->relaxed_commit = true;
        r = set_state(s, id, to, error, next_attempt_usec);
        s->relaxed_commit = false;
        if (r >= 0 && s->n_done == STORE_DONE_BODIES_MAX) {
                int k = store_drop_done_bodies(s);
                if (k < 0) /* tried again at the next occasion; the move stands */
                        log_warning("store: cannot drop the bodies of sent messages: %s",
                                    strerror(-k));
        }
        return r;
}

static int drop_done_bodies(struct store *s)
{
        _cleanup_rollback_ struct store *tx = NULL;
        _cleanup_reset_ sqlite3_stmt *begin = s->stmt[STMT_BEGIN];
        int r = step_done(begin);
        if (r < 0)
                return r;
        tx = s;
        for (size_t i = 0; i < s->n_done; i++) {
                _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_DROP_DONE_BODY];
                int rc = sqlite3_bind_int64(st, 1, (int64_t) s->done[i]);
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);
                r = step_done(st);
                if (r < 0)
                        return r;
        }
        r = tx_commit(s);
        if (r < 0)
                return r;
        TAKE_PTR(tx);
        s->n_done = 0;
        return 0;
}

int store_drop_done_bodies(struct store *s)
{
        if (!s)
                return -EINVAL;
        if (s->n_done == 0)
                return 0;
        if (!sqlite3_get_autocommit(s->db))
                return -EBUSY;
        /* Relaxed, as the moves to "sent" were: a drop lost with them is
         * done again by store_recover(). */
        int r = set_relaxed(s, true);
        if (r < 0)
                return r;
        s->relaxed_commit = true;
        r = drop_done_bodies(s);
        s->relaxed_commit = false;
        return r;
}

static int set_state(struct store *s, uint64_t id, enum msg_state to, const char *error,
                     uint64_t next_attempt_usec)
{
        if (!s || (unsigned) to >= _MSG_STATE_MAX || !fits_int64(id) ||
            !fits_int64(next_attempt_usec))
                return -EINVAL;

        int r;
        {
                _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_SET_STATE];
                int rc = bind_text(st, 1, msg_state_to_string(to));
                rc = rc ?: bind_text(st, 2, strempty(error));
                rc = rc ?: sqlite3_bind_int64(st, 3, (int64_t) next_attempt_usec);
                rc = rc ?: sqlite3_bind_int64(st, 4, (int64_t) id);
                /* The states `to` may be entered from, derived from the one
                 * table of the state machine. */
                int slot = SET_STATE_FROM_PARAM;
                for (enum msg_state from = 0; rc == SQLITE_OK && from < _MSG_STATE_MAX; from++)
                        if (msg_state_transition_allowed(from, to))
                                rc = bind_text(st, slot++, msg_state_to_string(from));
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);

                r = step_done(st);
                if (r < 0)
                        return r;
                if (sqlite3_changes(s->db) > 0) {
                        if (to == MSG_SENT && s->n_done < STORE_DONE_BODIES_MAX)
                                s->done[s->n_done++] = id;
                        return 0;
                }
        }

        return message_exists(s, id) ?: -ENOENT;
}

int store_defer_recipients(struct store *s, uint64_t id, char *const *recipients, const char *error,
                           uint64_t next_attempt_usec)
{
        if (!s || !fits_int64(id) || strv_length(recipients) == 0)
                return -EINVAL;
        STRV_FOREACH (a, (char **) recipients)
                if (!**a)
                        return -EINVAL;

        _cleanup_rollback_ struct store *tx = NULL;
        int r = tx_begin(s);
        if (r < 0)
                return r;
        tx = s;
        /* The state first: it refuses a message that is not in "sending". */
        r = store_set_state(s, id, MSG_DEFERRED, error, next_attempt_usec);
        if (r < 0)
                return r;
        {
                _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_DELETE_RECIPIENTS];
                int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);
                r = step_done(st);
                if (r < 0)
                        return r;
        }
        r = insert_recipients(s, id, recipients);
        if (r < 0)
                return r;
        r = tx_commit(s);
        if (r < 0)
                return r;
        TAKE_PTR(tx);
        return 0;
}

/* ---- reading ---- */

static int column_strdup(sqlite3_stmt *st, int col, char **ret)
{
        const char *v = (const char *) sqlite3_column_text(st, col);
        if (!v && sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM)
                return -ENOMEM;
        *ret = strdup(strempty(v));
        return *ret ? 0 : -ENOMEM;
}

/* Fills r from the message columns of the current row. */
static int record_from_row(sqlite3_stmt *st, struct msg_record *r)
{
        int d = msg_direction_from_string((const char *) sqlite3_column_text(st, COL_DIRECTION));
        int state = msg_state_from_string((const char *) sqlite3_column_text(st, COL_STATE));
        if (d < 0 || state < 0)
                return -EBADMSG; /* the CHECK constraints should have made this impossible */

        r->id = (uint64_t) sqlite3_column_int64(st, COL_ID);
        r->direction = d;
        r->state = state;
        r->size = (uint64_t) sqlite3_column_int64(st, COL_SIZE);
        r->submitted_usec = (uint64_t) sqlite3_column_int64(st, COL_SUBMITTED);
        r->attempts = (uint32_t) sqlite3_column_int64(st, COL_ATTEMPTS);
        r->next_attempt_usec = (uint64_t) sqlite3_column_int64(st, COL_NEXT_ATTEMPT);
        r->owner = (uint32_t) sqlite3_column_int64(st, COL_OWNER);
        r->on_demand = sqlite3_column_int(st, COL_ON_DEMAND) != 0;
        r->due_usec = (uint64_t) sqlite3_column_int64(st, COL_DUE);
        r->undo_window = sqlite3_column_int(st, COL_UNDO_WINDOW) != 0;
        r->expiry_usec = (uint64_t) sqlite3_column_int64(st, COL_EXPIRY);
        r->possibly_delivered = sqlite3_column_int(st, COL_POSSIBLY_DELIVERED) != 0;
        r->delay_warned = sqlite3_column_int(st, COL_DELAY_WARNED) != 0;
        const char *copy = (const char *) sqlite3_column_text(st, COL_SENT_COPY);
        r->sent_copy = streq_ptr(copy, "pending")  ? SENT_COPY_PENDING
                       : streq_ptr(copy, "copied") ? SENT_COPY_COPIED
                                                   : SENT_COPY_NONE;
        r->copy_attempts = (uint32_t) sqlite3_column_int64(st, COL_COPY_ATTEMPTS);
        r->copy_next_usec = (uint64_t) sqlite3_column_int64(st, COL_COPY_NEXT);

        /* An empty vector rather than NULL: "no recipients" is a real answer. */
        r->recipients = calloc(1, sizeof(char *));
        if (!r->recipients)
                return -ENOMEM;

        int k = column_strdup(st, COL_TRANSPORT, &r->transport);
        k = k ?: column_strdup(st, COL_SENDER, &r->sender);
        k = k ?: column_strdup(st, COL_SUBJECT, &r->subject);
        k = k ?: column_strdup(st, COL_MESSAGE_ID, &r->message_id);
        k = k ?: column_strdup(st, COL_LAST_ERROR, &r->last_error);
        k = k ?: column_strdup(st, COL_PATH, &r->path);
        k = k ?: column_strdup(st, COL_COPY_ERROR, &r->copy_error);
        k = k ?: column_strdup(st, COL_DSN_NOTIFY, &r->dsn_notify);
        k = k ?: column_strdup(st, COL_DSN_RETURN, &r->dsn_return);
        k = k ?: column_strdup(st, COL_DSN_ENVID, &r->dsn_envid);
        return k;
}

struct record_array {
        struct msg_record *items;
        size_t n, allocated;
};

static void record_array_done(struct record_array *a)
{
        msg_record_array_free(a->items, a->n);
}

static struct msg_record *record_array_append(struct record_array *a)
{
        if (a->n == a->allocated) {
                size_t want = a->allocated ? a->allocated * 2 : 16;
                struct msg_record *items = reallocarray(a->items, want, sizeof(*items));
                if (!items)
                        return NULL;
                a->items = items;
                a->allocated = want;
        }
        struct msg_record *r = &a->items[a->n++];
        *r = (struct msg_record){};
        return r;
}

/* Reads the rows of a SELECT_RECORDS statement, ordered by message id then
 * recipient position, folding each message's rows into one record. */
static int read_records(sqlite3_stmt *st, struct record_array *ret)
{
        _cleanup_(record_array_done) struct record_array a = {};
        int rc;

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                uint64_t id = (uint64_t) sqlite3_column_int64(st, COL_ID);
                struct msg_record *r = a.n > 0 ? &a.items[a.n - 1] : NULL;
                if (!r || r->id != id) {
                        r = record_array_append(&a);
                        if (!r)
                                return -ENOMEM;
                        int k = record_from_row(st, r);
                        if (k < 0)
                                return k;
                }
                if (sqlite3_column_type(st, COL_ADDRESS) != SQLITE_NULL) {
                        char *address = NULL;
                        int k = column_strdup(st, COL_ADDRESS, &address);
                        if (k < 0)
                                return k;
                        k = strv_push(&r->recipients, address);
                        if (k < 0)
                                return k;
                }
        }
        if (rc != SQLITE_DONE)
                return errno_from_sqlite(rc);

        *ret = a;
        a = (struct record_array){};
        return 0;
}

int store_get(struct store *s, uint64_t id, struct msg_record *ret)
{
        if (!s || !ret || !fits_int64(id))
                return -EINVAL;

        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_GET];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);

        _cleanup_(record_array_done) struct record_array a = {};
        int r = read_records(st, &a);
        if (r < 0)
                return r;
        if (a.n == 0)
                return -ENOENT;
        *ret = a.items[0];
        a.n = 0; /* the record's fields now belong to *ret */
        return 0;
}

int store_get_body(struct store *s, uint64_t id, void **ret_data, size_t *ret_size)
{
        if (!s || !ret_data || !ret_size || !fits_int64(id))
                return -EINVAL;

        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_GET_BODY];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return errno_from_sqlite(rc);
        if (sqlite3_column_type(st, 0) == SQLITE_NULL)
                return -ENODATA; /* sent or aborted, or inbound: kept in the Maildir */

        const void *blob = sqlite3_column_blob(st, 0);
        size_t size = (size_t) sqlite3_column_bytes(st, 0);
        if (!blob && size > 0)
                return -ENOMEM;
        /* At least one byte, so that an empty body is not mistaken for NULL. */
        void *copy = malloc(size > 0 ? size : 1);
        if (!copy)
                return -ENOMEM;
        if (size > 0)
                memcpy(copy, blob, size);
        *ret_data = copy;
        *ret_size = size;
        return 0;
}

int store_source_key_arrival(struct store *s, const char *source_key, uint64_t *ret_usec)
{
        if (!s || !source_key)
                return -EINVAL;
        if (!*source_key)
                return 0; /* never recorded: see store_add_inbound() */

        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_HAS_SOURCE_KEY];
        int rc = bind_text(st, 1, source_key);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t usec = 0;
        int r = step_int64(st, &usec);
        if (r > 0 && ret_usec)
                *ret_usec = usec > 0 ? (uint64_t) usec : 0;
        return r;
}

int store_has_source_key(struct store *s, const char *source_key)
{
        return store_source_key_arrival(s, source_key, NULL);
}

int store_list(struct store *s, const struct store_filter *f, struct msg_record **ret,
               size_t *ret_n)
{
        if (!s || !ret || !ret_n)
                return -EINVAL;
        struct store_filter all = STORE_FILTER_ALL;
        if (!f)
                f = &all;
        if (f->state < -1 || f->state >= _MSG_STATE_MAX || f->direction < -1 ||
            f->direction >= _MSG_DIRECTION_MAX || f->owner < -1 || f->owner > UINT32_MAX)
                return -EINVAL;

        /* Parameters left unbound are NULL, which the statement reads as "any". */
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_LIST];
        int rc = SQLITE_OK;
        if (f->state >= 0)
                rc = rc ?: bind_text(st, 1, msg_state_to_string(f->state));
        if (f->direction >= 0)
                rc = rc ?: bind_text(st, 2, msg_direction_to_string(f->direction));
        if (f->transport)
                rc = rc ?: bind_text(st, 3, f->transport);
        if (f->owner >= 0)
                rc = rc ?: sqlite3_bind_int64(st, 4, f->owner);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);

        struct record_array a = {};
        int r = read_records(st, &a);
        if (r < 0)
                return r;
        *ret = a.items;
        *ret_n = a.n;
        return 0;
}

/* The first row's two integers of a bound aggregate statement. */
static int step_pair(sqlite3_stmt *st, int64_t *ret_a, int64_t *ret_b)
{
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return errno_from_sqlite(rc);
        *ret_a = sqlite3_column_int64(st, 0);
        *ret_b = sqlite3_column_int64(st, 1);
        return 0;
}

/* The ids a bound statement returns in its first column. */
static int compare_ids(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return (x > y) - (x < y);
}

static int step_ids(sqlite3_stmt *st, uint64_t **ret_ids, size_t *ret_n)
{
        int rc;
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0, allocated = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == allocated) {
                        size_t want = allocated ? allocated * 2 : 16;
                        uint64_t *grown = reallocarray(ids, want, sizeof(*ids));
                        if (!grown)
                                return -ENOMEM;
                        ids = grown;
                        allocated = want;
                }
                ids[n++] = (uint64_t) sqlite3_column_int64(st, 0);
        }
        if (rc != SQLITE_DONE)
                return errno_from_sqlite(rc);

        *ret_ids = TAKE_PTR(ids);
        *ret_n = n;
        return 0;
}

int store_list_pending(struct store *s, const char *transport, bool include_queued,
                       bool include_on_demand, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n)
{
        if (!s || !transport || !ret_ids || !ret_n || !fits_int64(now_usec))
                return -EINVAL;

        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_PENDING];
        int rc = bind_text(st, 1, transport);
        rc = rc ?: sqlite3_bind_int(st, 2, include_on_demand);
        rc = rc ?: sqlite3_bind_int64(st, 3, (int64_t) now_usec);
        rc = rc ?: sqlite3_bind_int(st, 4, include_queued);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int r = step_ids(st, ret_ids, ret_n);
        if (r < 0)
                return r;
        /* Oldest first. Sorted here rather than by ORDER BY, whose temporary
         * b-tree took longer than qsort() for the same ids. */
        if (*ret_n > 1) /* no list at all when empty */
                qsort(*ret_ids, *ret_n, sizeof(**ret_ids), compare_ids);
        return 0;
}

static int list_before(struct store *s, enum store_stmt which, uint64_t now_usec,
                       uint64_t **ret_ids, size_t *ret_n)
{
        if (!s || !ret_ids || !ret_n || !fits_int64(now_usec))
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[which];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) now_usec);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        return step_ids(st, ret_ids, ret_n);
}

int store_list_due(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n)
{
        return list_before(s, STMT_LIST_DUE, now_usec, ret_ids, ret_n);
}

int store_list_expired(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n)
{
        return list_before(s, STMT_LIST_EXPIRED, now_usec, ret_ids, ret_n);
}

int store_list_unwarned(struct store *s, uint64_t submitted_usec, uint64_t **ret_ids, size_t *ret_n)
{
        return list_before(s, STMT_LIST_UNWARNED, submitted_usec, ret_ids, ret_n);
}

int store_recent_ids(struct store *s, int64_t owner, size_t limit, uint64_t **ret_ids,
                     size_t *ret_n)
{
        if (!s || !ret_ids || !ret_n || limit > INT64_MAX)
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_RECENT_IDS];
        int rc = sqlite3_bind_int64(st, 1, owner);
        rc = rc ?: sqlite3_bind_int64(st, 2, (int64_t) limit);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        return step_ids(st, ret_ids, ret_n);
}

/* The one time a statement of the "earliest ..." kind reads; 0: none. */
static int next_time(struct store *s, enum store_stmt which, uint64_t *ret_usec)
{
        if (!s || !ret_usec)
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[which];
        int64_t v = 0;
        int r = step_int64(st, &v);
        if (r < 0)
                return r;
        *ret_usec = v > 0 ? (uint64_t) v : 0;
        return 0;
}

int store_next_unwarned(struct store *s, uint64_t *ret_submitted_usec)
{
        return next_time(s, STMT_NEXT_UNWARNED, ret_submitted_usec);
}

int store_next_due(struct store *s, uint64_t *ret_due_usec, uint64_t *ret_expiry_usec)
{
        if (!s || !ret_due_usec || !ret_expiry_usec)
                return -EINVAL;
        int64_t due = 0, expiry = 0;
        {
                _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_NEXT_DUE];
                int r = step_int64(st, &due);
                if (r < 0)
                        return r;
        }
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_NEXT_EXPIRY];
        int r = step_int64(st, &expiry);
        if (r < 0)
                return r;
        *ret_due_usec = due > 0 ? (uint64_t) due : 0;
        *ret_expiry_usec = expiry > 0 ? (uint64_t) expiry : 0;
        return 0;
}

int store_schedule(struct store *s, uint64_t id, enum msg_state to, uint64_t due_usec,
                   bool undo_window)
{
        if (!s || (to != MSG_HELD && to != MSG_QUEUED && to != MSG_SCHEDULED) || !fits_int64(id) ||
            !fits_int64(due_usec))
                return -EINVAL;
        bool scheduled = to == MSG_SCHEDULED;
        int r = durable(s);
        if (r < 0)
                return r;
        {
                _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_SCHEDULE];
                int rc = bind_text(st, 1, msg_state_to_string(to));
                rc = rc ?: sqlite3_bind_int64(st, 2, scheduled ? (int64_t) due_usec : 0);
                rc = rc ?: sqlite3_bind_int(st, 3, scheduled && undo_window);
                rc = rc ?: sqlite3_bind_int64(st, 4, (int64_t) id);
                int slot = SET_STATE_FROM_PARAM;
                for (enum msg_state from = 0; rc == SQLITE_OK && from < _MSG_STATE_MAX; from++)
                        if (msg_state_transition_allowed(from, to))
                                rc = bind_text(st, slot++, msg_state_to_string(from));
                if (rc != SQLITE_OK)
                        return errno_from_sqlite(rc);
                r = step_done(st);
                if (r < 0)
                        return r;
                if (sqlite3_changes(s->db) > 0)
                        return 0;
        }
        return message_exists(s, id) ?: -ENOENT;
}

static int set_flag(struct store *s, enum store_stmt which, uint64_t id, bool value)
{
        if (!s || !fits_int64(id))
                return -EINVAL;
        int r = durable(s);
        if (r < 0)
                return r;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[which];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        if (which == STMT_SET_POSSIBLY_DELIVERED)
                rc = rc ?: sqlite3_bind_int(st, 2, value);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        r = step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_set_possibly_delivered(struct store *s, uint64_t id, bool value)
{
        return set_flag(s, STMT_SET_POSSIBLY_DELIVERED, id, value);
}

int store_set_delay_warned(struct store *s, uint64_t id)
{
        return set_flag(s, STMT_SET_DELAY_WARNED, id, true);
}

int store_next_copy(struct store *s, uint64_t *ret_usec)
{
        return next_time(s, STMT_NEXT_COPY, ret_usec);
}

int store_list_copies_due(struct store *s, uint64_t now_usec, uint64_t **ret_ids, size_t *ret_n)
{
        return list_before(s, STMT_LIST_COPIES, now_usec, ret_ids, ret_n);
}

/* One of the copy statements on message id (?1), with the error and the
 * next attempt's time of STMT_COPY_DEFER. -ENOENT: no copy pending there. */
static int copy_step(struct store *s, enum store_stmt which, uint64_t id, const char *error,
                     uint64_t next_usec)
{
        if (!s || !fits_int64(id) || !fits_int64(next_usec))
                return -EINVAL;
        int r = durable(s);
        if (r < 0)
                return r;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[which];
        int rc = sqlite3_bind_int64(st, 1, (int64_t) id);
        if (which == STMT_COPY_DEFER) {
                rc = rc ?: bind_text(st, 2, strempty(error));
                rc = rc ?: sqlite3_bind_int64(st, 3, (int64_t) next_usec);
        }
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        r = step_done(st);
        if (r < 0)
                return r;
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_copy_begin(struct store *s, uint64_t id)
{
        return copy_step(s, STMT_COPY_BEGIN, id, NULL, 0);
}

int store_copy_done(struct store *s, uint64_t id)
{
        return copy_step(s, STMT_COPY_DONE, id, NULL, 0);
}

int store_copy_deferred(struct store *s, uint64_t id, const char *error, uint64_t next_usec)
{
        return copy_step(s, STMT_COPY_DEFER, id, error, next_usec);
}

int store_release_undo_window(struct store *s, const char *transport, uint64_t **ret_ids,
                              size_t *ret_n)
{
        if (!s || !transport || !ret_ids || !ret_n)
                return -EINVAL;
        int r = durable(s);
        if (r < 0)
                return r;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_RELEASE_UNDO];
        int rc = bind_text(st, 1, transport);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        return step_ids(st, ret_ids, ret_n);
}

int store_count_held_scheduled(struct store *s, const char *transport, uint32_t *ret_held,
                               uint32_t *ret_scheduled)
{
        if (!s || !transport || !ret_held || !ret_scheduled)
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_COUNT_HELD_SCHEDULED];
        int rc = bind_text(st, 1, transport);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t held = 0, scheduled = 0;
        int r = step_pair(st, &held, &scheduled);
        if (r < 0)
                return r;
        *ret_held = (uint32_t) held;
        *ret_scheduled = (uint32_t) scheduled;
        return 0;
}

/* Runs one of the per-transport aggregate statements. */
static int transport_aggregate(struct store *s, enum store_stmt which, const char *transport,
                               int64_t *ret)
{
        if (!s || !transport || !ret)
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[which];
        int rc = bind_text(st, 1, transport);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t v = 0;
        int r = step_int64(st, &v);
        if (r < 0)
                return r;
        *ret = v; /* an aggregate always gives a row */
        return 0;
}

int store_count_outbound_waiting(struct store *s, const char *transport, uint32_t *ret)
{
        if (!ret)
                return -EINVAL;
        int64_t n = 0;
        int r = transport_aggregate(s, STMT_COUNT_WAITING, transport, &n);
        if (r < 0)
                return r;
        *ret = n > UINT32_MAX ? UINT32_MAX : (uint32_t) n;
        return 0;
}

int store_next_retry(struct store *s, const char *transport, uint64_t *ret_usec)
{
        if (!ret_usec)
                return -EINVAL;
        int64_t t = 0;
        int r = transport_aggregate(s, STMT_NEXT_RETRY, transport, &t);
        if (r < 0)
                return r;
        *ret_usec = (uint64_t) t;
        return 0;
}

int store_owner_queue(struct store *s, uint32_t owner, uint64_t *ret_count, uint64_t *ret_bytes)
{
        if (!s || !ret_count || !ret_bytes)
                return -EINVAL;
        _cleanup_reset_ sqlite3_stmt *st = s->stmt[STMT_OWNER_QUEUE];
        int rc = sqlite3_bind_int64(st, 1, owner);
        if (rc != SQLITE_OK)
                return errno_from_sqlite(rc);
        int64_t count = 0, bytes = 0;
        int r = step_pair(st, &count, &bytes);
        if (r < 0)
                return r;
        *ret_count = (uint64_t) count;
        *ret_bytes = (uint64_t) bytes;
        return 0;
}
