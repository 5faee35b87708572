/* libmailspool against the real daemon: run by test_libmailspool.py, which
 * starts mailspoold on a private session bus with an on-demand smtp transport
 * "out" (into smtp-sink) and a maildir transport "local", and exports
 * MAILSPOOL_BUS=session. Each test checks what the API promises in
 * mailspool.h: paths, counts, errno values and the D-Bus error kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailspool.h"

static const char message[] = "From: <alice@example.org>\r\n"
                              "To: <bob@example.org>\r\n"
                              "Subject: from libmailspool\r\n"
                              "Message-ID: <lib-%d@example.org>\r\n"
                              "Date: Mon, 30 Nov 2026 12:00:00 +0000\r\n"
                              "\r\n"
                              "Hello.\r\n";

static int setup(void **state)
{
        mailspool *m = NULL;
        if (mailspool_open(MAILSPOOL_BUS_DEFAULT, &m) < 0)
                return -1;
        *state = m;
        return 0;
}

static int teardown(void **state)
{
        mailspool_close(*state);
        return 0;
}

static char *submit(mailspool *m, int n, bool on_demand)
{
        char buf[sizeof(message) + 16];
        int size = snprintf(buf, sizeof(buf), message, n);
        struct mailspool_submit_options o = {.on_demand = on_demand};
        char *path = NULL;
        assert_int_equal(mailspool_submit_data(m, buf, (size_t) size, &o, &path), 0);
        assert_non_null(path);
        assert_true(strncmp(path, "/org/mailspool/Spool1/message/", 30) == 0);
        return path;
}

static void test_status_table(void **state)
{
        struct mailspool_status_row *rows = NULL;
        int n = mailspool_status_table(*state, &rows);
        assert_int_equal(n, 3);
        assert_int_equal(rows[0].resource_type, MAILSPOOL_RESOURCE_SPOOLER);
        assert_string_equal(rows[0].path, "/org/mailspool/Spool1/spooler");
        assert_string_equal(rows[0].id, "");
        /* Transports in RowID order: file-name order here. */
        assert_string_equal(rows[1].id, "local");
        assert_string_equal(rows[1].provider_display, "Maildir");
        assert_string_equal(rows[2].id, "out");
        assert_string_equal(rows[2].provider_display, "SMTP");
        assert_int_equal(rows[2].resource_type, MAILSPOOL_RESOURCE_TRANSPORT);
        assert_true(rows[2].status_code & MAILSPOOL_STATUS_OUTBOUND_ENABLED);
        assert_true(rows[1].row_id < rows[2].row_id);
        mailspool_status_rows_free(rows, (size_t) n);
}

static void test_submit_fd_and_get_message(void **state)
{
        mailspool *m = *state;
        int fd = memfd_create("test", 0);
        char buf[sizeof(message) + 16];
        int size = snprintf(buf, sizeof(buf), message, 1000);
        assert_int_equal(write(fd, buf, (size_t) size), size);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        const char *recipients[] = {"carol@example.org", "dave@example.org", NULL};
        struct mailspool_submit_options o = {
            .sender = "robot@example.org", .recipients = recipients, .on_demand = true};
        char *path = NULL;
        assert_int_equal(mailspool_submit_fd(m, fd, &o, &path), 0);
        close(fd);

        struct mailspool_message msg;
        assert_int_equal(mailspool_get_message(m, path, &msg), 0);
        assert_string_equal(msg.state, "queued");
        assert_string_equal(msg.direction, "outbound");
        assert_string_equal(msg.transport, "out");
        assert_string_equal(msg.sender, "robot@example.org");
        assert_string_equal(msg.subject, "from libmailspool");
        assert_string_equal(msg.message_id, "lib-1000@example.org");
        assert_string_equal(msg.recipients[0], "carol@example.org");
        assert_string_equal(msg.recipients[1], "dave@example.org");
        assert_null(msg.recipients[2]);
        assert_int_equal(msg.size, (uint64_t) size);
        assert_int_equal(msg.owner, getuid());
        /* By number, too. */
        char number[32];
        snprintf(number, sizeof(number), "%llu", (unsigned long long) msg.id);
        mailspool_message_clear(&msg);
        assert_int_equal(mailspool_get_message(m, number, &msg), 0);
        assert_string_equal(msg.path, path);
        mailspool_message_clear(&msg);

        /* Abort it, then abort again: NotQueued. */
        assert_int_equal(mailspool_abort(m, path), 0);
        assert_int_equal(mailspool_abort(m, path), -EALREADY);
        assert_string_equal(mailspool_error_name(m), "org.mailspool.Spool1.Error.NotQueued");
        assert_true(
            strncmp(mailspool_error_message(m), "MAPI_E_UNABLE_TO_ABORT (0x80040114):", 36) == 0);
        free(path);
}

static void test_bad_input_is_einval_and_nothing_stored(void **state)
{
        mailspool *m = *state;
        struct mailspool_message_entry *before = NULL, *after = NULL;
        int n = mailspool_list_messages(m, NULL, &before);
        assert_true(n >= 0);
        static const char junk[] = "this is not a mail message\n";
        assert_int_equal(mailspool_submit_data(m, junk, sizeof(junk) - 1, NULL, NULL), -EINVAL);
        assert_string_equal(mailspool_error_name(m), "org.freedesktop.DBus.Error.InvalidArgs");
        assert_int_equal(mailspool_list_messages(m, NULL, &after), n);
        mailspool_message_entries_free(before, (size_t) n);
        mailspool_message_entries_free(after, (size_t) n);
}

struct progress_seen {
        unsigned calls;
        uint32_t last_done, last_total;
        char transport[32];
};

static void on_progress(const char *transport, uint32_t done, uint32_t total, const char *text,
                        void *userdata)
{
        struct progress_seen *p = userdata;
        p->calls++;
        p->last_done = done;
        p->last_total = total;
        snprintf(p->transport, sizeof(p->transport), "%s", transport);
}

static void test_flush_with_progress_and_list(void **state)
{
        mailspool *m = *state;
        for (int i = 0; i < 5; i++)
                free(submit(m, i, false));

        struct mailspool_message_entry *e = NULL;
        struct mailspool_message_filter queued = {.state = "queued", .transport = "out"};
        int n = mailspool_list_messages(m, &queued, &e);
        assert_int_equal(n, 5);
        assert_string_equal(e[0].subject, "from libmailspool");
        assert_string_equal(e[0].transport, "out");
        mailspool_message_entries_free(e, (size_t) n);

        struct progress_seen seen = {0};
        struct mailspool_flush_summary s;
        assert_int_equal(
            mailspool_flush(m, NULL, false, MAILSPOOL_FLUSH_UPLOAD, on_progress, &seen, &s), 0);
        assert_int_equal(s.sent, 5);
        assert_int_equal(s.deferred + s.failed + s.received, 0);
        assert_int_equal(s.n_errors, 0);
        /* At most one report per message (fewer when they come faster than
         * twenty a second), the last one always. */
        assert_true(seen.calls >= 1 && seen.calls <= 5);
        assert_int_equal(seen.last_done, 5);
        assert_int_equal(seen.last_total, 5);
        assert_string_equal(seen.transport, "out");
        mailspool_flush_summary_clear(&s);

        n = mailspool_list_messages(m, &queued, &e);
        assert_int_equal(n, 0);
        mailspool_message_entries_free(e, 0);
}

static void test_flush_no_ui_sends_no_progress(void **state)
{
        mailspool *m = *state;
        free(submit(m, 50, false));
        struct progress_seen seen = {0};
        struct mailspool_flush_summary s;
        assert_int_equal(mailspool_flush(m, "out", false,
                                         MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_NO_UI,
                                         on_progress, &seen, &s),
                         0);
        assert_int_equal(s.sent, 1);
        assert_int_equal(seen.calls, 0);
        mailspool_flush_summary_clear(&s);
}

static void test_errors_map_to_errno(void **state)
{
        mailspool *m = *state;
        /* The maildir transport does not flush itself; the spooler does. */
        assert_int_equal(
            mailspool_flush(m, "local", false, MAILSPOOL_FLUSH_UPLOAD, NULL, NULL, NULL),
            -EOPNOTSUPP);
        assert_string_equal(mailspool_error_name(m), "org.mailspool.Spool1.Error.NoSupport");
        assert_int_equal(
            mailspool_flush(m, "local", true, MAILSPOOL_FLUSH_UPLOAD, NULL, NULL, NULL), 0);
        assert_null(mailspool_error_name(m));
        /* ASYNC_OK belongs to the spooler. */
        assert_int_equal(mailspool_flush(m, "out", false,
                                         MAILSPOOL_FLUSH_UPLOAD | MAILSPOOL_FLUSH_ASYNC_OK, NULL,
                                         NULL, NULL),
                         -EINVAL);
        assert_int_equal(mailspool_get_message(m, "not a message", &(struct mailspool_message){0}),
                         -EINVAL);
        assert_true(mailspool_abort(m, "999999") < 0);
}

static uint64_t now_usec(void)
{
        struct timespec ts;
        assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* The message's State and DeferredUntil are these. */
static void assert_state(mailspool *m, const char *path, const char *state, uint64_t deferred_until)
{
        struct mailspool_message msg;
        assert_int_equal(mailspool_get_message(m, path, &msg), 0);
        assert_string_equal(msg.state, state);
        assert_int_equal(msg.deferred_until, deferred_until);
        mailspool_message_clear(&msg);
}

static void test_hold_release_reschedule(void **state)
{
        mailspool *m = *state;
        const uint64_t hour = UINT64_C(3600) * 1000000;
        char *path = submit(m, 2000, true);
        assert_state(m, path, "queued", 0);

        assert_int_equal(mailspool_hold(m, path), 0);
        assert_state(m, path, "held", 0);
        assert_int_equal(mailspool_release(m, path), 0);
        assert_state(m, path, "queued", 0);

        /* By number, as mailspool_abort() takes it. */
        struct mailspool_message msg;
        assert_int_equal(mailspool_get_message(m, path, &msg), 0);
        char number[32];
        snprintf(number, sizeof(number), "%llu", (unsigned long long) msg.id);
        mailspool_message_clear(&msg);
        uint64_t later = now_usec() + hour;
        assert_int_equal(mailspool_reschedule(m, number, later), 0);
        assert_state(m, path, "scheduled", later);
        /* Held wins over the time; a new time schedules it again. */
        assert_int_equal(mailspool_hold(m, number), 0);
        assert_state(m, path, "held", 0);
        assert_int_equal(mailspool_reschedule(m, path, later + hour), 0);
        assert_state(m, path, "scheduled", later + hour);
        /* Release: queued now; a time already past does the same. */
        assert_int_equal(mailspool_release(m, path), 0);
        assert_state(m, path, "queued", 0);
        assert_int_equal(mailspool_reschedule(m, path, later), 0);
        assert_int_equal(mailspool_reschedule(m, path, 1000000), 0);
        assert_state(m, path, "queued", 0);

        /* Past INT64_MAX: InvalidArgs, nothing changed. */
        assert_int_equal(mailspool_reschedule(m, path, UINT64_MAX), -EINVAL);
        assert_string_equal(mailspool_error_name(m), "org.freedesktop.DBus.Error.InvalidArgs");
        assert_state(m, path, "queued", 0);

        /* Done (aborted): NotQueued for each, as for Abort. */
        assert_int_equal(mailspool_abort(m, path), 0);
        assert_int_equal(mailspool_hold(m, path), -EALREADY);
        assert_string_equal(mailspool_error_name(m), "org.mailspool.Spool1.Error.NotQueued");
        assert_int_equal(mailspool_release(m, path), -EALREADY);
        assert_int_equal(mailspool_reschedule(m, path, later), -EALREADY);
        assert_state(m, path, "aborted", 0);
        free(path);

        /* No such message; not a message at all. */
        assert_int_equal(mailspool_hold(m, "999999"), -ENOENT);
        assert_string_equal(mailspool_error_name(m), "org.mailspool.Spool1.Error.NotFound");
        assert_int_equal(mailspool_release(m, "999999"), -ENOENT);
        assert_int_equal(mailspool_reschedule(m, "999999", later), -ENOENT);
        assert_int_equal(mailspool_hold(m, "not a message"), -EINVAL);
        assert_int_equal(mailspool_release(m, ""), -EINVAL);
        assert_int_equal(mailspool_reschedule(m, NULL, later), -EINVAL);
        assert_int_equal(mailspool_hold(NULL, "1"), -EINVAL);
}

static void test_submit_hold_and_deferred_until(void **state)
{
        mailspool *m = *state;
        char buf[sizeof(message) + 16];
        int size = snprintf(buf, sizeof(buf), message, 3000);
        const uint64_t hour = UINT64_C(3600) * 1000000;

        struct mailspool_submit_options held = {.hold = true};
        char *path = NULL;
        assert_int_equal(mailspool_submit_data(m, buf, (size_t) size, &held, &path), 0);
        struct mailspool_message msg;
        assert_int_equal(mailspool_get_message(m, path, &msg), 0);
        assert_string_equal(msg.state, "held");
        assert_false(msg.on_demand);
        assert_false(msg.possibly_delivered);
        assert_false(msg.delay_reported);
        assert_int_equal(msg.expiry_time, 0);
        mailspool_message_clear(&msg);
        assert_int_equal(mailspool_abort(m, path), 0);
        free(path);

        uint64_t due = now_usec() + hour, expiry = due + 24 * hour;
        struct mailspool_submit_options scheduled = {
            .on_demand = true, .deferred_until = due, .expiry_time = expiry};
        assert_int_equal(mailspool_submit_data(m, buf, (size_t) size, &scheduled, &path), 0);
        assert_int_equal(mailspool_get_message(m, path, &msg), 0);
        assert_string_equal(msg.state, "scheduled");
        assert_int_equal(msg.deferred_until, due);
        assert_int_equal(msg.expiry_time, expiry);
        assert_true(msg.on_demand);
        assert_false(msg.possibly_delivered);
        mailspool_message_clear(&msg);
        assert_int_equal(mailspool_abort(m, path), 0);
        free(path);
}

static void test_transport_path_escapes(void **state)
{
        char *path = NULL;
        assert_int_equal(mailspool_transport_path("out", &path), 0);
        assert_string_equal(path, "/org/mailspool/Spool1/transport/out");
        free(path);
        assert_int_equal(mailspool_transport_path("work-mail", &path), 0);
        assert_string_equal(path, "/org/mailspool/Spool1/transport/work_2dmail");
        free(path);
        assert_int_equal(mailspool_transport_path("", &path), -EINVAL);
        char *id = NULL;
        assert_int_equal(mailspool_transport_id("/org/mailspool/Spool1/transport/work_2dmail", &id),
                         0);
        assert_string_equal(id, "work-mail");
        free(id);
        assert_int_equal(mailspool_transport_id("/org/mailspool/Spool1/spooler", &id), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_status_table),
            cmocka_unit_test(test_submit_fd_and_get_message),
            cmocka_unit_test(test_bad_input_is_einval_and_nothing_stored),
            cmocka_unit_test(test_flush_with_progress_and_list),
            cmocka_unit_test(test_flush_no_ui_sends_no_progress),
            cmocka_unit_test(test_errors_map_to_errno),
            cmocka_unit_test(test_hold_release_reschedule),
            cmocka_unit_test(test_submit_hold_and_deferred_until),
            cmocka_unit_test(test_transport_path_escapes),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
