/* Unit tests of the message store (service/core/store.c), each on a fresh database
 * in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#include "store.h"

struct fixture {
        char dir[32]; /* "/tmp/test-store-XXXXXX" */
        char path[PATH_MAX];
        struct store *store;
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));
        assert_non_null(f);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
        assert_int_equal(store_open(f->path, &f->store), 0);
        assert_non_null(f->store);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        store_close(f->store);
        /* The database, its -wal and -shm, and whatever a test put there. */
        DIR *d = opendir(f->dir);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));)
                if (!streq(e->d_name, ".") && !streq(e->d_name, ".."))
                        assert_int_equal(unlinkat(dirfd(d), e->d_name, 0), 0);
        closedir(d);
        assert_int_equal(rmdir(f->dir), 0);
        free(f);
        return 0;
}

static void reopen(struct fixture *f)
{
        f->store = store_close(f->store);
        assert_int_equal(store_open(f->path, &f->store), 0);
}

/* A second, plain SQLite connection to the same file, to look behind the
 * store's back or to tamper with it. */
static sqlite3 *raw_open(const char *path)
{
        sqlite3 *db = NULL;
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static uint64_t add_outbound_full(struct store *s, const char *transport, uint32_t owner, bool hold,
                                  const char *body)
{
        /* Two, out of alphabetical order, so that listing them shows whether
         * their order is kept. */
        char *recipients[] = {"b@example.org", "a@example.org", NULL};
        struct msg_record m = {
            .transport = (char *) transport,
            .sender = "a@example.org",
            .recipients = recipients,
            .subject = "hello",
            .message_id = "<1@example.org>",
            .owner = owner,
            .on_demand = hold,
            .submitted_usec = 1000,
        };
        uint64_t id = 0;
        assert_int_equal(store_add_outbound(s, &m, body, strlen(body), &id), 0);
        assert_true(id > 0);
        return id;
}

static uint64_t add_outbound(struct store *s, const char *transport)
{
        return add_outbound_full(s, transport, 1000, false, "body");
}

static uint64_t add_inbound(struct store *s, const char *transport, const char *source_key)
{
        char *recipients[] = {"me@example.org", NULL};
        struct msg_record m = {
            .transport = (char *) transport,
            .sender = "them@example.org",
            .recipients = recipients,
            .subject = "incoming",
            .message_id = "<in@example.org>",
            .owner = 1000,
            .size = 1234,
            .submitted_usec = 2000,
            .path = "/var/mail/cur/1",
        };
        uint64_t id = 0;
        assert_int_equal(store_add_inbound(s, &m, source_key, &id), 0);
        return id;
}

static enum msg_state state_of(struct store *s, uint64_t id)
{
        struct msg_record r = {};
        assert_int_equal(store_get(s, id, &r), 0);
        enum msg_state st = r.state;
        msg_record_clear(&r);
        return st;
}

static void assert_ids(const uint64_t *got, size_t n, const uint64_t *want, size_t want_n)
{
        assert_int_equal(n, want_n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(got[i], want[i]);
}

/* ---- states ---- */

static void test_state_strings(void **state)
{
        static const char *const names[] = {"queued",  "sending",  "sent", "deferred", "failed",
                                            "aborted", "received", "held", "scheduled"};
        assert_int_equal(ELEMENTSOF(names), _MSG_STATE_MAX);
        for (int i = 0; i < _MSG_STATE_MAX; i++) {
                assert_string_equal(msg_state_to_string(i), names[i]);
                assert_int_equal(msg_state_from_string(names[i]), i);
        }
        assert_null(msg_state_to_string(_MSG_STATE_MAX));
        assert_int_equal(msg_state_from_string("Queued"), -EINVAL);
        assert_int_equal(msg_state_from_string(""), -EINVAL);
        assert_int_equal(msg_state_from_string(NULL), -EINVAL);

        assert_string_equal(msg_direction_to_string(MSG_OUTBOUND), "outbound");
        assert_string_equal(msg_direction_to_string(MSG_INBOUND), "inbound");
        assert_int_equal(msg_direction_from_string("outbound"), MSG_OUTBOUND);
        assert_int_equal(msg_direction_from_string("inbound"), MSG_INBOUND);
        assert_int_equal(msg_direction_from_string("sideways"), -EINVAL);
        assert_null(msg_direction_to_string(_MSG_DIRECTION_MAX));
}

static void test_transition_table(void **state)
{
        /* allowed[from][to], written out from the comment in store.h. */
        static const bool allowed[_MSG_STATE_MAX][_MSG_STATE_MAX] = {
            [MSG_QUEUED] = {[MSG_SENDING] = true,
                            [MSG_ABORTED] = true,
                            [MSG_HELD] = true,
                            [MSG_SCHEDULED] = true,
                            [MSG_FAILED] = true},
            [MSG_DEFERRED] = {[MSG_SENDING] = true,
                              [MSG_ABORTED] = true,
                              [MSG_HELD] = true,
                              [MSG_SCHEDULED] = true,
                              [MSG_FAILED] = true},
            [MSG_HELD] = {[MSG_QUEUED] = true,
                          [MSG_SCHEDULED] = true,
                          [MSG_ABORTED] = true,
                          [MSG_FAILED] = true},
            [MSG_SCHEDULED] = {[MSG_QUEUED] = true,
                               [MSG_SCHEDULED] = true,
                               [MSG_HELD] = true,
                               [MSG_ABORTED] = true,
                               [MSG_FAILED] = true},
            [MSG_SENDING] = {[MSG_SENT] = true,
                             [MSG_DEFERRED] = true,
                             [MSG_FAILED] = true,
                             [MSG_QUEUED] = true,
                             [MSG_HELD] = true},
        };
        for (int from = 0; from < _MSG_STATE_MAX; from++)
                for (int to = 0; to < _MSG_STATE_MAX; to++) {
                        if (msg_state_transition_allowed(from, to) != allowed[from][to])
                                fail_msg("%s -> %s: expected %s", msg_state_to_string(from),
                                         msg_state_to_string(to),
                                         allowed[from][to] ? "allowed" : "forbidden");
                }
        assert_false(msg_state_transition_allowed(MSG_QUEUED, _MSG_STATE_MAX));
        assert_false(msg_state_transition_allowed(_MSG_STATE_MAX, MSG_QUEUED));
}

/* ---- adding and reading ---- */

static void test_add_get_roundtrip(void **state)
{
        struct fixture *f = *state;
        /* Not sorted, so that an ORDER BY address would show. */
        char *recipients[] = {"zed@example.org", "amy@example.org", "mid@example.org", NULL};
        static const char body[] = "Subject: x\r\n\r\nbinary\0bytes\xff\x00end";
        struct msg_record m = {
            .transport = "work",
            .sender = "me@example.org",
            .recipients = recipients,
            .subject = "Grüße",
            .message_id = "<abc@example.org>",
            .owner = 4242,
            .on_demand = true,
            .submitted_usec = UINT64_C(1700000000123456),
            /* Ignored by store_add_outbound: */
            .size = 1,
            .attempts = 9,
            .path = "/ignored",
        };
        uint64_t id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, body, sizeof(body), &id), 0);
        assert_true(id > 0);

        struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.id, id);
        assert_int_equal(r.direction, MSG_OUTBOUND);
        assert_int_equal(r.state, MSG_QUEUED);
        assert_string_equal(r.transport, "work");
        assert_string_equal(r.sender, "me@example.org");
        assert_int_equal(strv_length(r.recipients), 3);
        assert_string_equal(r.recipients[0], "zed@example.org");
        assert_string_equal(r.recipients[1], "amy@example.org");
        assert_string_equal(r.recipients[2], "mid@example.org");
        assert_string_equal(r.subject, "Grüße");
        assert_string_equal(r.message_id, "<abc@example.org>");
        assert_int_equal(r.size, sizeof(body));
        assert_int_equal(r.submitted_usec, UINT64_C(1700000000123456));
        assert_int_equal(r.attempts, 0);
        assert_int_equal(r.next_attempt_usec, 0);
        assert_string_equal(r.last_error, "");
        assert_int_equal(r.owner, 4242);
        assert_true(r.on_demand);
        assert_string_equal(r.path, "");
        msg_record_clear(&r);
        assert_null(r.transport); /* cleared means reset, not just freed */

        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get_body(f->store, id, &data, &size), 0);
        assert_int_equal(size, sizeof(body));
        assert_memory_equal(data, body, sizeof(body)); /* past the NUL bytes */
        free(data);

        /* A second message gets another id, and does not share recipients. */
        uint64_t id2 = add_outbound(f->store, "work");
        assert_true(id2 > id);
        assert_int_equal(store_get(f->store, id2, &r), 0);
        assert_int_equal(strv_length(r.recipients), 2);
        assert_false(r.on_demand);
        msg_record_clear(&r);
}

static void test_add_empty(void **state)
{
        struct fixture *f = *state;
        struct msg_record m = {.transport = "work"}; /* no recipients, no strings */
        uint64_t id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, NULL, 0, &id), 0);

        struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_non_null(r.recipients); /* an empty vector, not NULL */
        assert_null(r.recipients[0]);
        assert_string_equal(r.sender, "");
        assert_string_equal(r.subject, "");
        assert_int_equal(r.size, 0);
        msg_record_clear(&r);

        /* An empty body is still a body: not the "dropped" answer. */
        void *data = NULL;
        size_t size = 1;
        assert_int_equal(store_get_body(f->store, id, &data, &size), 0);
        assert_int_equal(size, 0);
        free(data);
}

static void test_add_invalid(void **state)
{
        struct fixture *f = *state;
        struct msg_record m = {.transport = NULL};
        uint64_t id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &id), -EINVAL);
        m.transport = "work";
        assert_int_equal(store_add_outbound(f->store, &m, NULL, 5, &id), -EINVAL);
        char *recipients[] = {"a@example.org", "", NULL};
        m.recipients = recipients;
        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &id), -EINVAL);

        /* Nothing of the refused messages was stored. */
        struct msg_record *list = NULL;
        size_t n = 99;
        assert_int_equal(store_list(f->store, NULL, &list, &n), 0);
        assert_int_equal(n, 0);
        msg_record_array_free(list, n);
}

static void test_get_missing(void **state)
{
        struct fixture *f = *state;
        struct msg_record r = {};
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get(f->store, 1, &r), -ENOENT);
        assert_int_equal(store_get_body(f->store, 1, &data, &size), -ENOENT);
        uint64_t id = add_outbound(f->store, "work");
        assert_int_equal(store_get(f->store, id + 1, &r), -ENOENT);
        assert_null(r.transport);
}

/* ---- state changes ---- */

static void test_set_state_errors(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(store_set_state(f->store, 77, MSG_SENDING, NULL, 0), -ENOENT);

        uint64_t id = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, id + 1, MSG_SENDING, NULL, 0), -ENOENT);
        assert_int_equal(store_set_state(f->store, id, MSG_SENT, NULL, 0), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_DEFERRED, "x", 5), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_QUEUED, NULL, 0), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_RECEIVED, NULL, 0), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, _MSG_STATE_MAX, NULL, 0), -EINVAL);

        /* A refused move changes nothing. */
        struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_QUEUED);
        assert_string_equal(r.last_error, "");
        assert_int_equal(r.next_attempt_usec, 0);
        msg_record_clear(&r);

        /* Final states stay final. */
        assert_int_equal(store_set_state(f->store, id, MSG_ABORTED, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_QUEUED, NULL, 0), -EBUSY);
        assert_int_equal(state_of(f->store, id), MSG_ABORTED);

        /* An inbound message has no way out of "received". */
        uint64_t in = add_inbound(f->store, "inbox", "uid:1");
        for (int to = 0; to < _MSG_STATE_MAX; to++)
                assert_int_equal(store_set_state(f->store, in, to, NULL, 0), -EBUSY);
        assert_int_equal(state_of(f->store, in), MSG_RECEIVED);
}

static void test_attempts_and_retry_fields(void **state)
{
        struct fixture *f = *state;
        uint64_t id = add_outbound(f->store, "work");
        struct msg_record r = {};

        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_SENDING);
        assert_int_equal(r.attempts, 1);
        msg_record_clear(&r);

        assert_int_equal(store_set_state(f->store, id, MSG_DEFERRED, "451 try later", 5000000), 0);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_DEFERRED);
        assert_int_equal(r.attempts, 1); /* only entering "sending" counts */
        assert_string_equal(r.last_error, "451 try later");
        assert_int_equal(r.next_attempt_usec, 5000000);
        msg_record_clear(&r);

        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_QUEUED, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_FAILED, "550 no such user", 0), 0);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_FAILED);
        assert_int_equal(r.attempts, 3);
        assert_string_equal(r.last_error, "550 no such user");
        assert_int_equal(r.next_attempt_usec, 0);
        msg_record_clear(&r);

        /* A failed message keeps its body for the non-delivery report. */
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get_body(f->store, id, &data, &size), 0);
        assert_int_equal(size, 4);
        assert_memory_equal(data, "body", 4);
        free(data);

        /* Refused moves do not count attempts either. */
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), -EBUSY);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.attempts, 3);
        msg_record_clear(&r);
}

static void test_defer_recipients(void **state)
{
        struct fixture *f = *state;
        uint64_t id = add_outbound(f->store, "work");
        char *rest[] = {"a@example.org", NULL};
        struct msg_record r = {};

        /* Only a message in transit can be narrowed, and never to nobody. */
        assert_int_equal(store_defer_recipients(f->store, id, rest, "452", 7), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        char *none[] = {NULL};
        assert_int_equal(store_defer_recipients(f->store, id, none, "452", 7), -EINVAL);

        assert_int_equal(store_defer_recipients(f->store, id, rest, "452 4.5.3 later", 7000), 0);
        reopen(f);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_DEFERRED);
        assert_int_equal(r.next_attempt_usec, 7000);
        assert_string_equal(r.last_error, "452 4.5.3 later");
        assert_int_equal(strv_length(r.recipients), 1);
        assert_string_equal(r.recipients[0], "a@example.org");
        msg_record_clear(&r);

        /* A refused move leaves the recipients as they were. */
        char *other[] = {"z@example.org", NULL};
        assert_int_equal(store_defer_recipients(f->store, id, other, "x", 1), -EBUSY);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_string_equal(r.recipients[0], "a@example.org");
        msg_record_clear(&r);
}

static void test_body_dropped_when_done(void **state)
{
        struct fixture *f = *state;
        void *data = NULL;
        size_t size = 0;

        uint64_t sent = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, sent, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_get_body(f->store, sent, &data, &size), 0); /* still there */
        free(data);
        assert_int_equal(store_set_state(f->store, sent, MSG_SENT, "error is replaced", 0), 0);
        /* Until the bodies of the sent messages are dropped together. */
        assert_int_equal(store_get_body(f->store, sent, &data, &size), 0);
        free(data);
        assert_int_equal(store_drop_done_bodies(f->store), 0);
        assert_int_equal(store_get_body(f->store, sent, &data, &size), -ENODATA);

        uint64_t aborted = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, aborted, MSG_ABORTED, NULL, 0), 0);
        assert_int_equal(store_get_body(f->store, aborted, &data, &size), -ENODATA);

        /* The record survives, size included: it is what was sent. */
        struct msg_record r = {};
        assert_int_equal(store_get(f->store, sent, &r), 0);
        assert_int_equal(r.state, MSG_SENT);
        assert_int_equal(r.size, 4);
        assert_string_equal(r.last_error, "error is replaced");
        msg_record_clear(&r);

        /* Dropping one body leaves the others alone. */
        uint64_t other = add_outbound(f->store, "work");
        assert_int_equal(store_get_body(f->store, other, &data, &size), 0);
        free(data);

        /* Sixty-four sent messages are dropped without being asked. */
        uint64_t batch[64];
        for (size_t i = 0; i < ELEMENTSOF(batch); i++) {
                batch[i] = add_outbound(f->store, "work");
                assert_int_equal(store_set_state(f->store, batch[i], MSG_SENDING, NULL, 0), 0);
                assert_int_equal(store_set_state(f->store, batch[i], MSG_SENT, NULL, 0), 0);
                assert_int_equal(store_get_body(f->store, batch[0], &data, &size),
                                 i + 1 < ELEMENTSOF(batch) ? 0 : -ENODATA);
                if (i + 1 < ELEMENTSOF(batch))
                        free(data);
        }
        assert_int_equal(store_get_body(f->store, batch[63], &data, &size), -ENODATA);

        /* A stop drops those still waiting. */
        uint64_t last = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, last, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, last, MSG_SENT, NULL, 0), 0);
        reopen(f);
        assert_int_equal(store_get_body(f->store, last, &data, &size), -ENODATA);

        /* And a start those a crash left. */
        f->store = store_close(f->store);
        sqlite3 *db = raw_open(f->path);
        char *sql = sqlite3_mprintf("INSERT INTO bodies (message, data) VALUES (%llu, 'x')",
                                    (unsigned long long) sent);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        sqlite3_free(sql);
        sqlite3_close(db);
        reopen(f);
        assert_int_equal(store_get_body(f->store, sent, &data, &size), 0);
        free(data);
        assert_int_equal(store_recover(f->store, NULL), 0);
        assert_int_equal(store_get_body(f->store, sent, &data, &size), -ENODATA);
        assert_int_equal(store_get_body(f->store, other, &data, &size), 0);
        free(data);
}

/* SentCopy: the body outlives "sent" until the copy is made; attempts are
 * counted, a failed one waits its time. */
/* The DSN a submitter asked for comes back as stored; none is "". */
static void test_dsn(void **state)
{
        struct fixture *f = *state;
        char *recipients[] = {"b@example.org", NULL};
        struct msg_record m = {
            .state = MSG_QUEUED,
            .transport = "work",
            .sender = "a@example.org",
            .recipients = recipients,
            .submitted_usec = 1000,
            .dsn_notify = "SUCCESS,FAILURE",
            .dsn_return = "HDRS",
            .dsn_envid = "QQ314159",
        };
        uint64_t id = 0, plain = add_outbound(f->store, "work");
        assert_int_equal(store_add_outbound(f->store, &m, "body", 4, &id), 0);
        _cleanup_(msg_record_clear) struct msg_record r = {}, p = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_string_equal(r.dsn_notify, "SUCCESS,FAILURE");
        assert_string_equal(r.dsn_return, "HDRS");
        assert_string_equal(r.dsn_envid, "QQ314159");
        assert_int_equal(store_get(f->store, plain, &p), 0);
        assert_string_equal(p.dsn_notify, "");
        assert_string_equal(p.dsn_return, "");
        assert_string_equal(p.dsn_envid, "");
}

static void test_sent_copy(void **state)
{
        struct fixture *f = *state;
        char *recipients[] = {"b@example.org", NULL};
        struct msg_record m = {
            .state = MSG_QUEUED,
            .transport = "work",
            .sender = "a@example.org",
            .recipients = recipients,
            .subject = "copy me",
            .message_id = "<2@example.org>",
            .submitted_usec = 1000,
            .sent_copy = SENT_COPY_PENDING,
        };
        uint64_t id = 0, plain = add_outbound(f->store, "work"), next = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "body", 4, &id), 0);
        void *data = NULL;
        size_t size = 0, n = 0;
        uint64_t *ids = NULL;

        /* Not due before it is sent. */
        assert_int_equal(store_next_copy(f->store, &next), 0);
        assert_int_equal(next, 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENT, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, plain, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, plain, MSG_SENT, NULL, 0), 0);
        assert_int_equal(store_drop_done_bodies(f->store), 0);
        assert_int_equal(store_get_body(f->store, id, &data, &size), 0); /* kept for the copy */
        free(data);
        assert_int_equal(store_get_body(f->store, plain, &data, &size), -ENODATA);

        assert_int_equal(store_next_copy(f->store, &next), 0);
        assert_int_equal(next, 1); /* due at once */
        assert_int_equal(store_list_copies_due(f->store, 5000, &ids, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(ids[0], id);
        free(ids);

        assert_int_equal(store_copy_begin(f->store, id), 0);
        assert_int_equal(store_copy_deferred(f->store, id, "NO no such mailbox", 9000), 0);
        _cleanup_(msg_record_clear) struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.sent_copy, SENT_COPY_PENDING);
        assert_int_equal(r.copy_attempts, 1);
        assert_int_equal(r.copy_next_usec, 9000);
        assert_string_equal(r.copy_error, "NO no such mailbox");
        assert_int_equal(store_list_copies_due(f->store, 5000, &ids, &n), 0);
        assert_int_equal(n, 0); /* waits for its time */
        free(ids);
        assert_int_equal(store_next_copy(f->store, &next), 0);
        assert_int_equal(next, 9000);

        assert_int_equal(store_copy_done(f->store, id), 0);
        assert_int_equal(store_get_body(f->store, id, &data, &size), -ENODATA);
        msg_record_clear(&r);
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.sent_copy, SENT_COPY_COPIED);
        assert_string_equal(r.copy_error, "");
        assert_int_equal(store_next_copy(f->store, &next), 0);
        assert_int_equal(next, 0);
        /* Nothing pending any more, or never: */
        assert_int_equal(store_copy_done(f->store, id), -ENOENT);
        assert_int_equal(store_copy_begin(f->store, plain), -ENOENT);
}

static void test_recover(void **state)
{
        struct fixture *f = *state;
        uint64_t a = add_outbound(f->store, "work");
        uint64_t b = add_outbound(f->store, "work");
        uint64_t c = add_outbound(f->store, "home");
        uint64_t d = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, a, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, c, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, d, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, d, MSG_DEFERRED, "x", 9), 0);

        /* A crash: the daemon comes back with a and c caught mid-delivery. */
        reopen(f);
        unsigned requeued = 0;
        assert_int_equal(store_recover(f->store, &requeued), 0);
        assert_int_equal(requeued, 2);
        assert_int_equal(state_of(f->store, a), MSG_QUEUED);
        assert_int_equal(state_of(f->store, b), MSG_QUEUED);
        assert_int_equal(state_of(f->store, c), MSG_QUEUED);
        assert_int_equal(state_of(f->store, d), MSG_DEFERRED);

        struct msg_record r = {};
        assert_int_equal(store_get(f->store, a, &r), 0);
        assert_int_equal(r.attempts, 1); /* the interrupted attempt still counts */
        msg_record_clear(&r);

        assert_int_equal(store_recover(f->store, &requeued), 0);
        assert_int_equal(requeued, 0);
}

/* ---- queries ---- */

static void test_list_filters(void **state)
{
        struct fixture *f = *state;
        uint64_t w1 = add_outbound_full(f->store, "work", 1000, false, "one");
        uint64_t h1 = add_outbound_full(f->store, "home", 1001, false, "two");
        uint64_t in = add_inbound(f->store, "work", "uid:7");
        uint64_t w2 = add_outbound_full(f->store, "work", 1001, true, "three");
        assert_int_equal(store_set_state(f->store, w2, MSG_ABORTED, NULL, 0), 0);

        struct msg_record *list = NULL;
        size_t n = 0;
        assert_int_equal(store_list(f->store, NULL, &list, &n), 0);
        assert_int_equal(n, 4);
        assert_int_equal(list[0].id, w1);
        assert_int_equal(list[1].id, h1);
        assert_int_equal(list[2].id, in);
        assert_int_equal(list[3].id, w2);
        /* Each record has its own recipients, not its neighbour's. */
        assert_int_equal(strv_length(list[2].recipients), 1);
        assert_string_equal(list[2].recipients[0], "me@example.org");
        assert_int_equal(strv_length(list[3].recipients), 2);
        assert_string_equal(list[3].recipients[0], "b@example.org");
        assert_string_equal(list[3].recipients[1], "a@example.org");
        msg_record_array_free(list, n);

        struct store_filter filter = STORE_FILTER_ALL;
        filter.transport = "work";
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 3);
        assert_int_equal(list[0].id, w1);
        assert_int_equal(list[1].id, in);
        assert_int_equal(list[2].id, w2);
        msg_record_array_free(list, n);

        filter.direction = MSG_OUTBOUND;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, w1);
        assert_int_equal(list[1].id, w2);
        msg_record_array_free(list, n);

        filter.state = MSG_QUEUED;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(list[0].id, w1);
        assert_int_equal(list[0].state, MSG_QUEUED);
        msg_record_array_free(list, n);

        filter = STORE_FILTER_ALL;
        filter.owner = 1001;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(list[0].id, h1);
        assert_int_equal(list[1].id, w2);
        msg_record_array_free(list, n);

        filter = STORE_FILTER_ALL;
        filter.direction = MSG_INBOUND;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(list[0].id, in);
        assert_int_equal(list[0].direction, MSG_INBOUND);
        msg_record_array_free(list, n);

        filter = STORE_FILTER_ALL;
        filter.state = MSG_SENT;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, 0);
        msg_record_array_free(list, n);

        filter = STORE_FILTER_ALL;
        filter.state = _MSG_STATE_MAX;
        assert_int_equal(store_list(f->store, &filter, &list, &n), -EINVAL);
        filter = STORE_FILTER_ALL;
        filter.owner = -2;
        assert_int_equal(store_list(f->store, &filter, &list, &n), -EINVAL);
}

static void test_list_many(void **state)
{
        struct fixture *f = *state;
        /* More than one growth step of the result array. */
        uint64_t ids[40];
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                ids[i] = add_outbound(f->store, i % 2 ? "odd" : "even");

        struct store_filter filter = STORE_FILTER_ALL;
        filter.transport = "odd";
        struct msg_record *list = NULL;
        size_t n = 0;
        assert_int_equal(store_list(f->store, &filter, &list, &n), 0);
        assert_int_equal(n, ELEMENTSOF(ids) / 2);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(list[i].id, ids[2 * i + 1]);
                assert_string_equal(list[i].transport, "odd");
        }
        msg_record_array_free(list, n);
}

static void test_list_pending(void **state)
{
        struct fixture *f = *state;
        uint64_t queued = add_outbound(f->store, "work");
        uint64_t held = add_outbound_full(f->store, "work", 1000, true, "held");
        uint64_t due = add_outbound(f->store, "work");
        uint64_t later = add_outbound(f->store, "work");
        uint64_t sending = add_outbound(f->store, "work");
        uint64_t failed = add_outbound(f->store, "work");
        uint64_t elsewhere = add_outbound(f->store, "home");
        add_inbound(f->store, "work", "uid:1");

        assert_int_equal(store_set_state(f->store, due, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, due, MSG_DEFERRED, "x", 100), 0);
        assert_int_equal(store_set_state(f->store, later, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, later, MSG_DEFERRED, "x", 300), 0);
        assert_int_equal(store_set_state(f->store, sending, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, failed, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, failed, MSG_FAILED, "x", 0), 0);

        uint64_t *ids = NULL;
        size_t n = 0;

        /* At 200: due is due, later is not, held stays. */
        assert_int_equal(store_list_pending(f->store, "work", true, false, 200, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){queued, due}, 2);
        free(ids);

        assert_int_equal(store_list_pending(f->store, "work", true, true, 200, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){queued, held, due}, 3);
        free(ids);

        /* Exactly at the retry time counts as due. */
        assert_int_equal(store_list_pending(f->store, "work", true, false, 300, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){queued, due, later}, 3);
        free(ids);

        /* 0: every deferred one, whatever its time. */
        assert_int_equal(store_list_pending(f->store, "work", true, true, 0, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){queued, held, due, later}, 4);
        free(ids);

        /* Without queued ones: only the deferred that are due (a retry
         * timer firing while the queue waits for a flush). */
        assert_int_equal(store_list_pending(f->store, "work", false, true, 200, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){due}, 1);
        free(ids);
        assert_int_equal(store_list_pending(f->store, "work", false, false, 0, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){due, later}, 2);
        free(ids);

        assert_int_equal(store_list_pending(f->store, "home", true, false, 0, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){elsewhere}, 1);
        free(ids);

        assert_int_equal(store_list_pending(f->store, "nowhere", true, true, 0, &ids, &n), 0);
        assert_int_equal(n, 0);
        free(ids);
}

static void test_count_and_next_retry(void **state)
{
        struct fixture *f = *state;
        uint32_t count = 99;
        uint64_t next = 99;
        assert_int_equal(store_count_outbound_waiting(f->store, "work", &count), 0);
        assert_int_equal(count, 0);
        assert_int_equal(store_next_retry(f->store, "work", &next), 0);
        assert_int_equal(next, 0);

        uint64_t ids[6];
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                ids[i] = add_outbound(f->store, "work");
        add_outbound(f->store, "home");
        add_inbound(f->store, "work", "uid:1");
        /* ids[0] queued, [1] sending, [2] deferred@700, [3] deferred@500,
         * [4] sent, [5] aborted */
        assert_int_equal(store_set_state(f->store, ids[1], MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, ids[2], MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, ids[2], MSG_DEFERRED, "x", 700), 0);
        assert_int_equal(store_set_state(f->store, ids[3], MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, ids[3], MSG_DEFERRED, "x", 500), 0);
        assert_int_equal(store_set_state(f->store, ids[4], MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, ids[4], MSG_SENT, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, ids[5], MSG_ABORTED, NULL, 0), 0);

        assert_int_equal(store_count_outbound_waiting(f->store, "work", &count), 0);
        assert_int_equal(count, 4);
        assert_int_equal(store_count_outbound_waiting(f->store, "home", &count), 0);
        assert_int_equal(count, 1);
        assert_int_equal(store_next_retry(f->store, "work", &next), 0);
        assert_int_equal(next, 500);
        assert_int_equal(store_next_retry(f->store, "home", &next), 0);
        assert_int_equal(next, 0);

        /* Once the earliest one goes, the next one is the answer. */
        assert_int_equal(store_set_state(f->store, ids[3], MSG_ABORTED, NULL, 0), 0);
        assert_int_equal(store_next_retry(f->store, "work", &next), 0);
        assert_int_equal(next, 700);
        assert_int_equal(store_count_outbound_waiting(f->store, "work", &count), 0);
        assert_int_equal(count, 3);
}

/* ---- inbound ---- */

static void test_inbound(void **state)
{
        struct fixture *f = *state;
        assert_int_equal(store_has_source_key(f->store, "pickup:a"), 0);
        uint64_t id = add_inbound(f->store, "inbox", "pickup:a");
        assert_int_equal(store_has_source_key(f->store, "pickup:a"), 1);
        assert_int_equal(store_has_source_key(f->store, "pickup:b"), 0);

        struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.direction, MSG_INBOUND);
        assert_int_equal(r.state, MSG_RECEIVED);
        assert_int_equal(r.size, 1234);
        assert_int_equal(r.submitted_usec, 2000);
        assert_string_equal(r.path, "/var/mail/cur/1");
        assert_string_equal(r.recipients[0], "me@example.org");
        msg_record_clear(&r);

        /* The body lives in the Maildir, not here. */
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get_body(f->store, id, &data, &size), -ENODATA);

        /* The same source again: refused, and nothing was added. */
        struct msg_record dup = {.transport = "inbox", .subject = "again", .path = "/x"};
        uint64_t dup_id = 0;
        assert_int_equal(store_add_inbound(f->store, &dup, "pickup:a", &dup_id), -EEXIST);
        assert_int_equal(dup_id, 0);
        struct msg_record *list = NULL;
        size_t n = 0;
        assert_int_equal(store_list(f->store, NULL, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].subject, "incoming");
        msg_record_array_free(list, n);

        /* No key: no deduplication, and the store is still usable after the
         * refused insert (no transaction left open). */
        uint64_t k1 = add_inbound(f->store, "inbox", NULL);
        uint64_t k2 = add_inbound(f->store, "inbox", NULL);
        assert_true(k2 > k1 && k1 > id);
        uint64_t b = add_inbound(f->store, "inbox", "pickup:b");
        assert_true(b > k2);
        assert_int_equal(store_has_source_key(f->store, "pickup:b"), 1);
}

/* Many inbound messages in one transaction: one whose source is recorded
 * already gets id 0 and does not stop the others. */
static void test_inbound_batch(void **state)
{
        struct fixture *f = *state;
        uint64_t first = add_inbound(f->store, "inbox", "imap:a");
        char *recipients[] = {"me@example.org", NULL};
        struct msg_record m = {
            .transport = "inbox",
            .sender = "them@example.org",
            .recipients = recipients,
            .subject = "batch",
            .owner = 1000,
            .size = 10,
            .submitted_usec = 3000,
            .path = "/var/mail/new/x",
        };
        struct store_inbound in[] = {{&m, "imap:x", 7}, {&m, "imap:a", 7}, {&m, "imap:y", 7}};
        assert_int_equal(store_add_inbound_batch(f->store, in, ELEMENTSOF(in)), 0);
        assert_true(in[0].id > first);
        assert_int_equal(in[1].id, 0);
        assert_true(in[2].id > in[0].id);
        assert_int_equal(store_has_source_key(f->store, "imap:x"), 1);
        assert_int_equal(store_has_source_key(f->store, "imap:y"), 1);
        struct msg_record r = {};
        assert_int_equal(store_get(f->store, in[2].id, &r), 0);
        assert_string_equal(r.subject, "batch");
        assert_string_equal(r.recipients[0], "me@example.org");
        msg_record_clear(&r);

        /* One invalid message fails the batch as a whole: nothing of it is
         * recorded, and the store goes on. */
        struct msg_record bad = {.transport = NULL};
        struct store_inbound worse[] = {{&m, "imap:z", 0}, {&bad, "imap:w", 0}};
        assert_int_equal(store_add_inbound_batch(f->store, worse, ELEMENTSOF(worse)), -EINVAL);
        assert_int_equal(store_has_source_key(f->store, "imap:z"), 0);
        assert_int_equal(store_add_inbound_batch(f->store, NULL, 0), 0);
        assert_true(add_inbound(f->store, "inbox", "imap:z") > in[2].id);
}

/* ---- durability and the file ---- */

static void test_reopen_keeps_everything(void **state)
{
        struct fixture *f = *state;
        char *recipients[] = {"x@example.org", "y@example.org", NULL};
        struct msg_record m = {
            .transport = "work",
            .sender = "s@example.org",
            .recipients = recipients,
            .subject = "persist",
            .message_id = "<p@example.org>",
            .owner = 7,
            .on_demand = true,
            .submitted_usec = 123456789,
        };
        uint64_t id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "persisted body", 14, &id), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_DEFERRED, "421 busy", 999), 0);
        uint64_t sent = add_outbound(f->store, "work");
        assert_int_equal(store_set_state(f->store, sent, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, sent, MSG_SENT, NULL, 0), 0);
        uint64_t in = add_inbound(f->store, "inbox", "uid:42");

        reopen(f);

        struct msg_record r = {};
        assert_int_equal(store_get(f->store, id, &r), 0);
        assert_int_equal(r.state, MSG_DEFERRED);
        assert_string_equal(r.transport, "work");
        assert_string_equal(r.sender, "s@example.org");
        assert_int_equal(strv_length(r.recipients), 2);
        assert_string_equal(r.recipients[0], "x@example.org");
        assert_string_equal(r.recipients[1], "y@example.org");
        assert_string_equal(r.subject, "persist");
        assert_string_equal(r.message_id, "<p@example.org>");
        assert_int_equal(r.owner, 7);
        assert_true(r.on_demand);
        assert_int_equal(r.submitted_usec, 123456789);
        assert_int_equal(r.attempts, 1);
        assert_int_equal(r.next_attempt_usec, 999);
        assert_string_equal(r.last_error, "421 busy");
        assert_int_equal(r.size, 14);
        msg_record_clear(&r);

        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get_body(f->store, id, &data, &size), 0);
        assert_int_equal(size, 14);
        assert_memory_equal(data, "persisted body", 14);
        free(data);
        assert_int_equal(state_of(f->store, sent), MSG_SENT);
        assert_int_equal(store_get_body(f->store, sent, &data, &size), -ENODATA);
        assert_int_equal(store_has_source_key(f->store, "uid:42"), 1);
        assert_int_equal(state_of(f->store, in), MSG_RECEIVED);

        uint64_t next = add_outbound(f->store, "work");
        assert_true(next > in);

        /* The rows really are in the file, seen by another connection. */
        sqlite3 *db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM messages"), 4);

        /* An id names a bus object path: it is never handed out again, even
         * when the newest message is gone from the table. */
        assert_int_equal(sqlite3_exec(db,
                                      "PRAGMA foreign_keys = ON; DELETE FROM messages "
                                      "WHERE id = (SELECT max(id) FROM messages)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        sqlite3_close(db);
        uint64_t after_delete = add_outbound(f->store, "work");
        assert_true(after_delete > next);
}

static void test_file_setup(void **state)
{
        struct fixture *f = *state;
        struct stat st;
        assert_int_equal(stat(f->path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600); /* it holds private mail */

        sqlite3 *db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 10);
        sqlite3_stmt *q = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(q, 0), "wal");
        sqlite3_finalize(q);

        /* The queue queries need an index that starts with (transport, state). */
        assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema AS i, "
                                     "pragma_index_info(i.name) AS a, "
                                     "pragma_index_info(i.name) AS b "
                                     "WHERE i.type = 'index' AND i.tbl_name = 'messages' "
                                     "AND a.seqno = 0 AND a.name = 'transport' "
                                     "AND b.seqno = 1 AND b.name = 'state'"),
                         1);

        /* The schema itself refuses states that do not exist, and a received
         * outbound message. */
        static const char *const bad[] = {
            "INSERT INTO messages (direction, state, transport, sender, subject, "
            "message_id, size, submitted, owner) "
            "VALUES ('outbound', 'lost', 'w', '', '', '', 0, 0, 0)",
            "INSERT INTO messages (direction, state, transport, sender, subject, "
            "message_id, size, submitted, owner) "
            "VALUES ('outbound', 'received', 'w', '', '', '', 0, 0, 0)",
            "INSERT INTO recipients (message, position, address) VALUES (999, 0, 'a')",
        };
        assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL), SQLITE_OK);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(sqlite3_exec(db, bad[i], NULL, NULL, NULL), SQLITE_CONSTRAINT);
        sqlite3_close(db);
}

/* What a quota counts: an owner's outbound messages still to be sent. */
static void test_owner_queue(void **state)
{
        struct fixture *f = *state;
        uint64_t n = 99, bytes = 99;
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_true(n == 0 && bytes == 0);
        uint64_t a = add_outbound_full(f->store, "work", 1000, false, "aaaa");
        add_outbound_full(f->store, "work", 1000, true, "bbbbbb"); /* held counts too */
        add_outbound_full(f->store, "work", 2000, false, "other owner's");
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_true(n == 2 && bytes == 10);
        /* Sent is no longer waiting. */
        assert_int_equal(store_set_state(f->store, a, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_int_equal(n, 2);
        assert_int_equal(store_set_state(f->store, a, MSG_SENT, NULL, 0), 0);
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_true(n == 1 && bytes == 6);

        /* Every move in and out of the waiting states keeps the totals
         * (kept by triggers) equal to a count of the rows. */
        uint64_t c = add_outbound_full(f->store, "work", 1000, false, "ccc");
        add_inbound(f->store, "in", "k1"); /* received mail is no one's queue */
        assert_int_equal(store_schedule(f->store, c, MSG_HELD, 0, false), 0);
        assert_int_equal(store_schedule(f->store, c, MSG_SCHEDULED, 5000, false), 0);
        assert_int_equal(store_schedule(f->store, c, MSG_QUEUED, 0, false), 0);
        assert_int_equal(store_set_state(f->store, c, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, c, MSG_DEFERRED, "later", 1), 0);
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_true(n == 2 && bytes == 9);
        assert_int_equal(store_set_state(f->store, c, MSG_ABORTED, NULL, 0), 0);
        uint64_t d = add_outbound_full(f->store, "work", 1000, false, "dd");
        assert_int_equal(store_set_state(f->store, d, MSG_FAILED, "no", 0), 0);
        assert_int_equal(store_owner_queue(f->store, 1000, &n, &bytes), 0);
        assert_true(n == 1 && bytes == 6);
        assert_int_equal(store_owner_queue(f->store, 2000, &n, &bytes), 0);
        assert_true(n == 1 && bytes == 13);

        f->store = store_close(f->store);
        sqlite3 *db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM messages WHERE owner = 1000 AND "
                                     "state IN ('queued', 'held', 'scheduled', 'deferred', "
                                     "'sending')"),
                         1);
        sqlite3_close(db);
}

/* A version 1 file, as mailspoold 0.1 wrote it (its schema spelled out:
 * it is history, not ours to change): bodies in the messages row, "hold"
 * for on-demand mail. Opening it migrates through every version: bodies
 * move to their table, hold becomes on_demand, the new columns start at
 * their defaults, and no row is lost to the table being built anew. */
static void test_migrates_from_version_1(void **state)
{
        struct fixture *f = *state;
        f->store = store_close(f->store);
        assert_int_equal(unlink(f->path), 0);
        sqlite3 *db = NULL;
        assert_int_equal(
            sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
            SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(
                db,
                "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " direction TEXT NOT NULL, state TEXT NOT NULL, transport TEXT NOT NULL,"
                " sender TEXT NOT NULL, subject TEXT NOT NULL, message_id TEXT NOT NULL,"
                " size INTEGER NOT NULL, submitted INTEGER NOT NULL,"
                " attempts INTEGER NOT NULL DEFAULT 0, next_attempt INTEGER NOT NULL DEFAULT 0,"
                " last_error TEXT NOT NULL DEFAULT '', owner INTEGER NOT NULL,"
                " hold INTEGER NOT NULL DEFAULT 0, path TEXT NOT NULL DEFAULT '',"
                " source_key TEXT UNIQUE, body BLOB);"
                "CREATE TABLE recipients (message INTEGER NOT NULL REFERENCES messages (id) ON "
                " DELETE CASCADE, position INTEGER NOT NULL, address TEXT NOT NULL,"
                " PRIMARY KEY (message, position)) WITHOUT ROWID;"
                "CREATE INDEX messages_queue ON messages (transport, state, next_attempt);"
                "INSERT INTO messages (direction, state, transport, sender, subject, message_id,"
                " size, submitted, owner, hold, body) VALUES"
                " ('outbound', 'queued', 'work', 'a@x', 's', 'm1', 11, 1, 1000, 1, 'queued body'),"
                " ('outbound', 'sent', 'work', 'a@x', 's', 'm2', 9, 1, 1000, 0, 'sent body');"
                "INSERT INTO recipients VALUES (1, 0, 'b@x'), (2, 0, 'c@x');"
                "PRAGMA user_version = 1",
                NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);

        assert_int_equal(store_open(f->path, &f->store), 0);
        void *data = NULL;
        size_t size = 0;
        assert_int_equal(store_get_body(f->store, 1, &data, &size), 0);
        assert_int_equal(size, strlen("queued body"));
        uint64_t waiting = 0, waiting_bytes = 0; /* version 6 counted what was there */
        assert_int_equal(store_owner_queue(f->store, 1000, &waiting, &waiting_bytes), 0);
        assert_true(waiting == 1 && waiting_bytes == 11);
        assert_memory_equal(data, "queued body", size);
        free(data);
        _cleanup_(msg_record_clear) struct msg_record r = {};
        assert_int_equal(store_get(f->store, 1, &r), 0);
        assert_true(r.on_demand);
        assert_int_equal(r.state, MSG_QUEUED);
        assert_int_equal(strv_length(r.recipients), 1); /* the cascade did not strike */
        assert_int_equal(r.due_usec, 0);
        assert_false(r.possibly_delivered);

        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 10);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM messages WHERE body IS NOT NULL"), 0);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM bodies"), 2);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM recipients"), 2);
        sqlite3_close(db);
        /* The trigger came with the migration: aborting drops the body. */
        assert_int_equal(store_set_state(f->store, 1, MSG_ABORTED, NULL, 0), 0);
        assert_int_equal(store_get_body(f->store, 1, &data, &size), -ENODATA);
        /* And new ids go on after the old ones. */
        assert_true(add_outbound(f->store, "work") > 2);
}

/* Held and scheduled mail, what comes due and what expires. */
static void test_schedule(void **state)
{
        struct fixture *f = *state;
        uint64_t a = add_outbound(f->store, "work"), b = add_outbound(f->store, "work");
        uint64_t c = add_outbound(f->store, "work");
        assert_int_equal(store_schedule(f->store, a, MSG_HELD, 0, false), 0);
        assert_int_equal(store_schedule(f->store, b, MSG_SCHEDULED, 5000, false), 0);
        assert_int_equal(store_schedule(f->store, c, MSG_SCHEDULED, 3000, true), 0);
        uint32_t held = 0, scheduled = 0;
        assert_int_equal(store_count_held_scheduled(f->store, "work", &held, &scheduled), 0);
        assert_true(held == 1 && scheduled == 2);
        /* Neither waits to be sent. */
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 99;
        assert_int_equal(store_list_pending(f->store, "work", true, true, 0, &ids, &n), 0);
        assert_int_equal(n, 0);

        uint64_t due = 0, expiry = 1;
        assert_int_equal(store_next_due(f->store, &due, &expiry), 0);
        assert_true(due == 3000 && expiry == 0);
        free(ids);
        ids = NULL;
        assert_int_equal(store_list_due(f->store, 4000, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){c}, 1);
        /* A forced flush ends the undo window (c) but not a schedule (b). */
        free(ids);
        ids = NULL;
        assert_int_equal(store_release_undo_window(f->store, "work", &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){c}, 1);
        _cleanup_(msg_record_clear) struct msg_record r = {};
        assert_int_equal(store_get(f->store, c, &r), 0);
        assert_true(r.state == MSG_QUEUED && r.due_usec == 0 && !r.undo_window);
        msg_record_clear(&r);
        assert_int_equal(store_get(f->store, b, &r), 0);
        assert_true(r.state == MSG_SCHEDULED && r.due_usec == 5000);

        /* Release, Reschedule, and what is refused. */
        assert_int_equal(store_schedule(f->store, b, MSG_SCHEDULED, 7000, false), 0);
        assert_int_equal(store_schedule(f->store, a, MSG_QUEUED, 0, false), 0);
        assert_int_equal(store_set_state(f->store, a, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_schedule(f->store, a, MSG_HELD, 0, false), 0); /* uncertain, held */
        assert_int_equal(store_schedule(f->store, a, MSG_QUEUED, 0, false), 0);
        assert_int_equal(store_set_state(f->store, a, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(store_set_state(f->store, a, MSG_SENT, NULL, 0), 0);
        assert_int_equal(store_schedule(f->store, a, MSG_QUEUED, 0, false), -EBUSY);
        assert_int_equal(store_schedule(f->store, 9999, MSG_HELD, 0, false), -ENOENT);
        assert_int_equal(store_schedule(f->store, b, MSG_SENT, 0, false), -EINVAL);

        /* Expiry: only unsent messages, and only once it passed. */
        struct msg_record m = {
            .state = MSG_QUEUED,
            .transport = (char *) "work",
            .recipients = (char *[]){(char *) "x@example.org", NULL},
            .expiry_usec = 6000,
            .submitted_usec = 1,
        };
        uint64_t d = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &d), 0);
        assert_int_equal(store_next_due(f->store, &due, &expiry), 0);
        assert_true(due == 7000 && expiry == 6000);
        free(ids);
        ids = NULL;
        assert_int_equal(store_list_expired(f->store, 5999, &ids, &n), 0);
        assert_int_equal(n, 0);
        free(ids);
        ids = NULL;
        assert_int_equal(store_list_expired(f->store, 6000, &ids, &n), 0);
        assert_ids(ids, n, (uint64_t[]){d}, 1);
        assert_int_equal(store_set_state(f->store, d, MSG_FAILED, "expired", 0), 0);
        assert_int_equal(store_next_due(f->store, &due, &expiry), 0);
        assert_int_equal(expiry, 0);

        /* The flags. */
        assert_int_equal(store_set_possibly_delivered(f->store, b, true), 0);
        assert_int_equal(store_set_delay_warned(f->store, b), 0);
        msg_record_clear(&r);
        assert_int_equal(store_get(f->store, b, &r), 0);
        assert_true(r.possibly_delivered && r.delay_warned);
        assert_int_equal(store_set_delay_warned(f->store, 9999), -ENOENT);
}

static void test_newer_schema(void **state)
{
        struct fixture *f = *state;
        add_outbound(f->store, "work");
        f->store = store_close(f->store);

        sqlite3 *db = raw_open(f->path);
        assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 11", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        struct store *s = NULL;
        assert_int_equal(store_open(f->path, &s), -EPROTO);
        assert_null(s);

        /* Refused means untouched: the newer daemon still finds its version. */
        db = raw_open(f->path);
        assert_int_equal(raw_int(db, "PRAGMA user_version"), 11);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM messages"), 1);
        sqlite3_close(db);
}

static void test_not_a_database(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
        FILE *g = fopen(path, "we");
        assert_non_null(g);
        for (int i = 0; i < 512; i++)
                fputs("this is not an SQLite file. ", g);
        fclose(g);

        struct store *s = NULL;
        assert_int_equal(store_open(path, &s), -EBADMSG);
        assert_null(s);
}

static void test_open_missing_directory(void **state)
{
        struct fixture *f = *state;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/no/such/dir.db", f->dir);
        struct store *s = NULL;
        assert_int_equal(store_open(path, &s), -ENOENT);
        assert_null(s);
}

/* Connections opened while one of these is registered with
 * sqlite3_auto_extension() start with the pragma applied: the way to reach
 * the store's own connection from outside. We run as root, so a read-only
 * file mode would not stop the store from writing. */
static int make_query_only(sqlite3 *db, char **error, const sqlite3_api_routines *api)
{
        return sqlite3_exec(db, "PRAGMA query_only = ON", NULL, NULL, error);
}

static int limit_pages(sqlite3 *db, char **error, const sqlite3_api_routines *api)
{
        /* SQLite never sets this below the current size; 40 pages leave room
         * for small messages but not for a large one. */
        return sqlite3_exec(db, "PRAGMA max_page_count = 40", NULL, NULL, error);
}

static void reopen_with(struct fixture *f,
                        int (*init)(sqlite3 *, char **, const sqlite3_api_routines *))
{
        f->store = store_close(f->store);
        assert_int_equal(sqlite3_auto_extension((void (*)(void)) init), SQLITE_OK);
        int r = store_open(f->path, &f->store);
        sqlite3_reset_auto_extension();
        assert_int_equal(r, 0);
}

static void test_read_only(void **state)
{
        struct fixture *f = *state;
        uint64_t id = add_outbound(f->store, "work");
        reopen_with(f, make_query_only);

        struct msg_record m = {.transport = "work"};
        uint64_t new_id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &new_id), -EROFS);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), -EROFS);
        assert_int_equal(store_add_inbound(f->store, &m, "k", &new_id), -EROFS);

        /* Reading still works, and shows nothing changed. */
        assert_int_equal(state_of(f->store, id), MSG_QUEUED);
        uint32_t count = 0;
        assert_int_equal(store_count_outbound_waiting(f->store, "work", &count), 0);
        assert_int_equal(count, 1);
}

static void test_disk_full(void **state)
{
        struct fixture *f = *state;
        uint64_t id = add_outbound(f->store, "work");
        reopen_with(f, limit_pages);

        size_t big_size = 1024 * 1024;
        _cleanup_free_ char *big = malloc(big_size);
        assert_non_null(big);
        memset(big, 'x', big_size);
        char *recipients[] = {"r@example.org", NULL};
        struct msg_record m = {.transport = "work", .recipients = recipients};
        uint64_t big_id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, big, big_size, &big_id), -ENOSPC);

        /* The failed submit was rolled back whole, and left no transaction
         * open: the next changes go through. */
        uint32_t count = 0;
        assert_int_equal(store_count_outbound_waiting(f->store, "work", &count), 0);
        assert_int_equal(count, 1);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
        uint64_t small = add_outbound(f->store, "work");
        assert_true(small > id);

        reopen(f);
        assert_int_equal(state_of(f->store, id), MSG_SENDING);
        assert_int_equal(state_of(f->store, small), MSG_QUEUED);
}

static void test_busy(void **state)
{
        struct fixture *f = *state;
        uint64_t id = add_outbound(f->store, "work");

        /* Someone else holds the write lock longer than the busy timeout. */
        sqlite3 *db = raw_open(f->path);
        assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        struct msg_record m = {.transport = "work"};
        uint64_t new_id = 0;
        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &new_id), -EBUSY);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), -EBUSY);
        /* Readers are not blocked by a writer in WAL mode. */
        assert_int_equal(state_of(f->store, id), MSG_QUEUED);
        assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);

        assert_int_equal(store_add_outbound(f->store, &m, "x", 1, &new_id), 0);
        assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
}

/* How many times the WAL started over: the checkpoint sequence number in
 * its header. */
static uint32_t wal_restarts(const struct fixture *f)
{
        char wal[PATH_MAX + 8];
        snprintf(wal, sizeof(wal), "%s-wal", f->path);
        int fd = open(wal, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        uint8_t header[32];
        assert_int_equal(read(fd, header, sizeof(header)), (ssize_t) sizeof(header));
        close(fd);
        return (uint32_t) header[12] << 24 | (uint32_t) header[13] << 16 |
               (uint32_t) header[14] << 8 | header[15];
}

/* The WAL is copied into the file by the store's checkpointer thread, and
 * it starts over (the checkpoint sequence number in its header counts
 * that) even while moves stream in as in a flush and no writer holds off
 * (the loop then copies the rest after a bound); every move is there after
 * a reopen. */
static void test_checkpointer_restarts_wal(void **state)
{
        struct fixture *f = *state;
        enum { N = 2500 };
        uint64_t *ids = calloc(N, sizeof(*ids));
        assert_non_null(ids);
        for (size_t i = 0; i < N; i++)
                ids[i] = add_outbound(f->store, "out");
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(store_set_state(f->store, ids[i], MSG_SENDING, NULL, 0), 0);
                assert_int_equal(store_set_state(f->store, ids[i], MSG_SENT, NULL, 0), 0);
        }
        free(ids);
        assert_true(wal_restarts(f) > 0);

        reopen(f);
        sqlite3 *db = raw_open(f->path);
        assert_int_equal(raw_int(db, "SELECT count(*) FROM messages WHERE state = 'sent'"), N);
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *) sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* Once the WAL is long it waits to start over; a writer that holds off
 * meanwhile (as a transport does with its next message) is told, through
 * the store's eventfd, when the thread has copied all of it, and the very
 * next commit starts the WAL over, with nothing copied on the loop. */
static void test_wal_waits_for_writers(void **state)
{
        struct fixture *f = *state;
        int fd = store_wal_fd(f->store);
        assert_true(fd >= 0);
        assert_false(store_wal_waiting(f->store));

        /* Messages going through as in a flush, until the WAL waits (a few
         * thousand pages; bounded). */
        size_t sent = 0;
        while (!store_wal_waiting(f->store)) {
                assert_true(sent < 20000);
                uint64_t id = add_outbound(f->store, "out");
                assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
                assert_int_equal(store_set_state(f->store, id, MSG_SENT, NULL, 0), 0);
                sent++;
        }
        uint64_t next = add_outbound(f->store, "out");
        assert_true(store_wal_waiting(f->store));

        /* Holding off: each pass of the thread makes the fd readable. */
        bool go_on = false;
        for (int passes = 0; !go_on; passes++) {
                assert_true(passes < 100);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                assert_int_equal(poll(&p, 1, 30000), 1);
                go_on = store_wal_check(f->store);
        }
        assert_false(store_wal_waiting(f->store));

        uint32_t before = wal_restarts(f);
        assert_int_equal(store_set_state(f->store, next, MSG_SENDING, NULL, 0), 0);
        assert_int_equal(wal_restarts(f), before + 1);
        assert_false(store_wal_waiting(f->store));
}

/* A reader of another connection (a backup, an sqlite3 shell) that keeps
 * the WAL from being copied does not keep the writers waiting: the wait ends
 * within its bound all the same, and does not begin again at the next
 * commit. */
static void test_wal_wait_ends_despite_a_reader(void **state)
{
        struct fixture *f = *state;
        int fd = store_wal_fd(f->store);
        assert_true(fd >= 0);
        sqlite3 *db = raw_open(f->path);
        assert_int_equal(
            sqlite3_exec(db, "BEGIN; SELECT count(*) FROM messages;", NULL, NULL, NULL), SQLITE_OK);

        for (size_t sent = 0; !store_wal_waiting(f->store); sent++) {
                assert_true(sent < 20000);
                uint64_t id = add_outbound(f->store, "out");
                assert_int_equal(store_set_state(f->store, id, MSG_SENDING, NULL, 0), 0);
                assert_int_equal(store_set_state(f->store, id, MSG_SENT, NULL, 0), 0);
        }

        /* Passes that copy nothing end at once: bounded by time, not count. */
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        bool go_on = false;
        while (!go_on) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                assert_true(now.tv_sec - start.tv_sec < 30);
                struct pollfd p = {.fd = fd, .events = POLLIN};
                assert_int_equal(poll(&p, 1, 10000), 1);
                go_on = store_wal_check(f->store);
        }
        assert_false(store_wal_waiting(f->store));
        add_outbound(f->store, "out");
        assert_false(store_wal_waiting(f->store));

        assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(db);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_state_strings),
            cmocka_unit_test(test_transition_table),
            T(test_add_get_roundtrip),
            T(test_add_empty),
            T(test_add_invalid),
            T(test_get_missing),
            T(test_set_state_errors),
            T(test_attempts_and_retry_fields),
            T(test_defer_recipients),
            T(test_body_dropped_when_done),
            T(test_dsn),
            T(test_sent_copy),
            T(test_recover),
            T(test_list_filters),
            T(test_list_many),
            T(test_list_pending),
            T(test_count_and_next_retry),
            T(test_inbound),
            T(test_inbound_batch),
            T(test_reopen_keeps_everything),
            T(test_checkpointer_restarts_wal),
            T(test_wal_waits_for_writers),
            T(test_wal_wait_ends_despite_a_reader),
            T(test_file_setup),
            T(test_owner_queue),
            T(test_migrates_from_version_1),
            T(test_schedule),
            T(test_newer_schema),
            T(test_not_a_database),
            T(test_open_missing_directory),
            T(test_read_only),
            T(test_disk_full),
            T(test_busy),
        };
#undef T
        return cmocka_run_group_tests(tests, NULL, NULL);
}
