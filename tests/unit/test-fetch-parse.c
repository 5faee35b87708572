/* The IMAP FETCH responses a batched download reads
 * (service/core/fetch-parse.c, fetch_parse_bodies): every literal counted,
 * a response cut short or malformed never yields a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "fetch-parse.h"

struct seen {
        size_t n;
        uint64_t uid[8];
        char body[8][64];
};

static int collect(const struct fetch_body *b, void *userdata)
{
        struct seen *s = userdata;
        assert_true(s->n < 8 && b->size < 64);
        s->uid[s->n] = b->uid;
        memcpy(s->body[s->n], b->data, b->size);
        s->body[s->n][b->size] = '\0';
        s->n++;
        return 0;
}

static int parse(const char *text, struct seen *s)
{
        *s = (struct seen){0};
        return fetch_parse_bodies(text, strlen(text), "A004", 1000, collect, s);
}

static void test_two_messages_and_unsolicited_lines(void **state)
{
        struct seen s;
        assert_int_equal(parse("* 3 EXISTS\r\n"
                               "* 1 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nab\r\nc)\r\n"
                               "* 1 FETCH (FLAGS (\\Seen))\r\n"
                               "* OK [HIGHESTMODSEQ 5] {3}\r\nxyz\r\n"
                               "* 2 FETCH (BODY[] \"q\\\"d\" UID 9)\r\n"
                               "A004 OK Fetch completed.\r\n",
                               &s),
                         0);
        assert_int_equal(s.n, 2);
        assert_int_equal(s.uid[0], 7);
        assert_string_equal(s.body[0], "ab\r\nc");
        assert_int_equal(s.uid[1], 9);
        assert_string_equal(s.body[1], "q\\\"d");
}

/* A message holding a line like the tagged one: libcurl ends the transfer
 * there; the literal is not complete, so the message is not taken. */
static void test_tag_inside_a_message_is_a_cut(void **state)
{
        struct seen s;
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n"
                               "* 2 FETCH (UID 8 BODY[] {40}\r\nSubject: x\r\n\r\n"
                               "A004 OK done\r\n",
                               &s),
                         -ENOMSG);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.uid[0], 7);
}

static void test_no_tagged_line_is_a_cut(void **state)
{
        struct seen s;
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {3}\r\nabc)\r\n", &s), -ENOMSG);
        assert_int_equal(s.n, 1);
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {3}\r\nabc)", &s), -ENOMSG);
        assert_int_equal(s.n, 0);
        assert_int_equal(parse("A004 OK don", &s), -ENOMSG);
}

static void test_refusal_and_garbage(void **state)
{
        struct seen s;
        assert_int_equal(parse("A004 NO [SERVERBUG] no\r\n", &s), -EBADMSG);
        assert_int_equal(parse("A004 BAD what\r\n", &s), -EBADMSG);
        assert_int_equal(parse("+ go ahead\r\nA004 OK\r\n", &s), -EBADMSG);
        assert_int_equal(parse("* 1 FETCH (UID 0 BODY[] {1}\r\nx)\r\nA004 OK\r\n", &s), -EBADMSG);
        assert_int_equal(parse("* 1 FETCH (UID 12345678901 BODY[] {1}\r\nx)\r\nA004 OK\r\n", &s),
                         -EBADMSG);
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {1}\r\nx) junk\r\nA004 OK\r\n", &s),
                         -EBADMSG);
        assert_int_equal(s.n, 0);
}

static void test_literal_over_the_bound(void **state)
{
        struct seen s;
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {1001}\r\n", &s), -EBADMSG);
        assert_int_equal(parse("* 1 FETCH (UID 7 BODY[] {99999999999}\r\n", &s), -EBADMSG);
        assert_int_equal(s.n, 0);
}

static void test_other_attributes_skipped(void **state)
{
        struct seen s;
        assert_int_equal(parse("* 1 FETCH (UID 7 RFC822.SIZE 3 BODY[HEADER.FIELDS (FROM)] {2}\r\n"
                               "hi ENVELOPE (NIL \"a\" ((NIL NIL \"b\" \"c\")) {1}\r\nz) "
                               "BODY[] NIL)\r\n"
                               "* 2 FETCH (UID 8 BODY[] {1}\r\nq)\r\nA004 OK\r\n",
                               &s),
                         0);
        assert_int_equal(s.n, 1);
        assert_int_equal(s.uid[0], 8);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_two_messages_and_unsolicited_lines),
            cmocka_unit_test(test_tag_inside_a_message_is_a_cut),
            cmocka_unit_test(test_no_tagged_line_is_a_cut),
            cmocka_unit_test(test_refusal_and_garbage),
            cmocka_unit_test(test_literal_over_the_bound),
            cmocka_unit_test(test_other_attributes_skipped),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
