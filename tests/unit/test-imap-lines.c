/* The responses of a session waiting in IDLE (service/core/imap-lines.c):
 * cut at CRLF whatever the chunks, literals skipped whatever they hold,
 * long responses bounded, and the few responses the session acts on told
 * apart from everything that looks like them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "imap-lines.h"

struct lines {
        size_t n;
        char text[8][128];
        bool overlong[8];
        size_t size[8];
};

static int collect(const char *line, size_t size, bool overlong, void *userdata)
{
        struct lines *l = userdata;
        assert_true(l->n < 8);
        assert_int_equal(strlen(line), size);
        snprintf(l->text[l->n], sizeof(l->text[0]), "%s", line);
        l->size[l->n] = size;
        l->overlong[l->n++] = overlong;
        return 0;
}

/* Feeds text in chunks of chunk bytes. */
static void feed(struct imap_line_reader *r, const char *text, size_t chunk, struct lines *l)
{
        size_t n = strlen(text);
        for (size_t i = 0; i < n; i += chunk)
                assert_int_equal(
                    imap_line_reader_feed(r, text + i, n - i < chunk ? n - i : chunk, collect, l),
                    0);
}

static void test_lines_in_any_chunks(void **state)
{
        const char *text = "* 3 EXISTS\r\n+ idling\r\ni3 OK done\r\n";
        for (size_t chunk = 1; chunk <= strlen(text); chunk++) {
                struct imap_line_reader r = {0};
                struct lines l = {0};
                feed(&r, text, chunk, &l);
                assert_int_equal(l.n, 3);
                assert_string_equal(l.text[0], "* 3 EXISTS");
                assert_string_equal(l.text[1], "+ idling");
                assert_string_equal(l.text[2], "i3 OK done");
        }
}

static void test_literal_is_skipped(void **state)
{
        /* A message in a literal holds lines that look like responses. */
        const char *text = "* 1 FETCH (BODY[] {25}\r\n* 9 EXISTS\r\ni3 OK faked\r\n)\r\n"
                           "* 2 EXISTS\r\n";
        for (size_t chunk = 1; chunk <= strlen(text); chunk++) {
                struct imap_line_reader r = {0};
                struct lines l = {0};
                feed(&r, text, chunk, &l);
                assert_int_equal(l.n, 2);
                assert_string_equal(l.text[0], "* 1 FETCH (BODY[] {25})");
                assert_string_equal(l.text[1], "* 2 EXISTS");
        }
}

static void test_overlong_line_is_bounded(void **state)
{
        struct imap_line_reader r = {0};
        struct lines l = {0};
        char chunk[1000];
        memset(chunk, 'x', sizeof(chunk));
        assert_int_equal(imap_line_reader_feed(&r, "* OK ", 5, collect, &l), 0);
        for (int i = 0; i < 100; i++)
                assert_int_equal(imap_line_reader_feed(&r, chunk, sizeof(chunk), collect, &l), 0);
        /* A literal marker at the end still counts, though the line's text
         * kept only its start. */
        feed(&r, " {3}\r\nabc\r\n* 4 EXISTS\r\n", 1, &l);
        assert_int_equal(l.n, 2);
        assert_true(l.overlong[0]);
        assert_int_equal(l.size[0], IMAP_LINE_MAX);
        assert_false(l.overlong[1]);
        assert_string_equal(l.text[1], "* 4 EXISTS");
}

static int stop_at_second(const char *line, size_t size, bool overlong, void *userdata)
{
        return ++*(int *) userdata == 2 ? -ECANCELED : 0;
}

static void test_stop_returns_value(void **state)
{
        struct imap_line_reader r = {0};
        int n = 0;
        assert_int_equal(imap_line_reader_feed(&r, "a\r\nb\r\nc\r\n", 9, stop_at_second, &n),
                         -ECANCELED);
        assert_int_equal(n, 2);
}

static struct imap_response response(const char *line, const char *tag)
{
        struct imap_response res;
        imap_response_read(line, strlen(line), tag, &res);
        return res;
}

static void test_responses(void **state)
{
        assert_int_equal(response("+ idling", "i3").kind, IMAP_RESPONSE_CONTINUE);
        assert_int_equal(response("+", "i3").kind, IMAP_RESPONSE_CONTINUE);
        struct imap_response e = response("* 42 EXISTS", "i3");
        assert_int_equal(e.kind, IMAP_RESPONSE_EXISTS);
        assert_int_equal(e.number, 42);
        e = response("* 7 exists", "");
        assert_int_equal(e.kind, IMAP_RESPONSE_EXISTS);
        e = response("* 5 EXPUNGE", "i3");
        assert_int_equal(e.kind, IMAP_RESPONSE_EXPUNGE);
        assert_int_equal(e.number, 5);
        assert_int_equal(response("* BYE Server shutting down.", "i3").kind, IMAP_RESPONSE_BYE);
        struct imap_response c = response("* CAPABILITY IMAP4rev1 SASL-IR IDLE SORT", "i1");
        assert_int_equal(c.kind, IMAP_RESPONSE_CAPABILITY);
        assert_true(c.idle);
        c = response("* CAPABILITY IMAP4rev1 IDLEX XIDLE", "i1");
        assert_int_equal(c.kind, IMAP_RESPONSE_CAPABILITY);
        assert_false(c.idle);
        struct imap_response t = response("i3 OK Idle completed.", "i3");
        assert_int_equal(t.kind, IMAP_RESPONSE_TAGGED);
        assert_true(t.ok);
        t = response("i3 NO [CANNOT] not now", "i3");
        assert_int_equal(t.kind, IMAP_RESPONSE_TAGGED);
        assert_false(t.ok);
        t = response("i3 BAD what", "i3");
        assert_int_equal(t.kind, IMAP_RESPONSE_TAGGED);
        assert_false(t.ok);
        /* Another tag, or none asked for, is not ours. */
        assert_int_equal(response("i2 OK old", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("i3 OK late", "").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("i3 MAYBE", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("I3 OK other case", "i3").kind, IMAP_RESPONSE_OTHER);
        /* Look-alikes. */
        assert_int_equal(response("* 3 EXISTS now", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("* x EXISTS", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("* 99999999999999999999 EXISTS", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("* 3 RECENT", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("*  3 EXISTS", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("+idling", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("", "i3").kind, IMAP_RESPONSE_OTHER);
        assert_int_equal(response("* OK [CAPABILITY IDLE] hi", "i3").kind, IMAP_RESPONSE_OTHER);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lines_in_any_chunks),
            cmocka_unit_test(test_literal_is_skipped),
            cmocka_unit_test(test_overlong_line_is_bounded),
            cmocka_unit_test(test_stop_returns_value),
            cmocka_unit_test(test_responses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
