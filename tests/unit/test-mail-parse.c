/* Unit tests of mail-parse.c: the envelope and headers read from a message,
 * the delivered copy without Bcc (compared byte for byte), every refusal and
 * the address check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <glib.h>

#include "mail-parse.h"

/* A NULL-terminated string vector written in place. */
#define STRV(...) ((char *[]){__VA_ARGS__, NULL})

static void assert_strv_equal(char *const *actual, char *const *expected)
{
        assert_non_null(actual);
        size_t n = strv_length(expected);
        for (size_t i = 0; i < n; i++) {
                if (!actual[i])
                        fail_msg("only %zu strings, expected \"%s\" at %zu", i, expected[i], i);
                assert_string_equal(actual[i], expected[i]);
        }
        if (actual[n])
                fail_msg("unexpected extra string \"%s\" at %zu", actual[n], n);
}

/* Parses a NUL-terminated message and fails the test unless it is accepted. */
static void parse_ok(const char *message, const char *sender, char *const *recipients,
                     struct parsed_mail *m)
{
        _cleanup_free_ char *error = NULL;
        int r = mail_parse(message, strlen(message), sender, recipients, m, &error);
        if (r < 0)
                fail_msg("mail_parse() = %d (%s)", r, strempty(error));
        assert_null(error);
}

static void assert_delivered(const struct parsed_mail *m, const void *expected, size_t size)
{
        assert_non_null(m->data);
        assert_int_equal(m->size, size);
        if (size > 0)
                assert_memory_equal(m->data, expected, size);
}
#define assert_delivered_str(m, s) assert_delivered((m), (s), strlen(s))

/* mail_parse() must say -EINVAL with exactly this sentence and leave ret
 * untouched. */
static void assert_refused(const void *data, size_t size, const char *sender,
                           char *const *recipients, const char *expected_error)
{
        struct parsed_mail m = {};
        _cleanup_free_ char *error = NULL;
        assert_int_equal(mail_parse(data, size, sender, recipients, &m, &error), -EINVAL);
        assert_non_null(error);
        assert_string_equal(error, expected_error);
        assert_null(m.sender);
        assert_null(m.recipients);
        assert_null(m.from);
        assert_null(m.data);
        assert_int_equal(m.size, 0);
}
#define assert_refused_str(s, sender, recipients, error)                                           \
        assert_refused((s), strlen(s), (sender), (recipients), (error))

static void test_simple_message(void **state)
{
        static const char message[] = "From: Alice <alice@example.org>\n"
                                      "To: bob@example.org\n"
                                      "Subject: Lunch\n"
                                      "Message-ID: <1234.abcd@example.org>\n"
                                      "\n"
                                      "Noon?\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_string_equal(m.sender, "alice@example.org");
        assert_string_equal(m.from, "alice@example.org");
        assert_strv_equal(m.recipients, STRV("bob@example.org"));
        assert_string_equal(m.subject, "Lunch");
        assert_string_equal(m.message_id, "1234.abcd@example.org");
        /* No Bcc: the copy is the input, in memory of its own. */
        assert_delivered_str(&m, message);
        assert_ptr_not_equal(m.data, message);
        parsed_mail_clear(&m);
        assert_null(m.data);
        assert_null(m.recipients);
}

static void test_missing_subject_and_message_id_are_empty(void **state)
{
        struct parsed_mail m = {};
        parse_ok("From: a@example.org\nTo: b@example.org\n\n", NULL, NULL, &m);
        assert_string_equal(m.subject, "");
        assert_string_equal(m.message_id, "");
        parsed_mail_clear(&m);
}

static void test_display_names_and_groups(void **state)
{
        /* Commas inside quoted display names, a group with members, an empty
         * group and a comment must not produce or lose any address. */
        static const char message[] =
            "From: \"Doe, Jane\" <jane@example.com>, other@example.com\n"
            "To: Team: a@x.example, \"B, the second\" <b@y.example>;, c@z.example\n"
            "Cc: undisclosed-recipients:;\n"
            "Bcc: (hidden) h@x.example\n"
            "\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_string_equal(m.from, "jane@example.com");
        assert_string_equal(m.sender, "jane@example.com");
        assert_strv_equal(m.recipients,
                          STRV("a@x.example", "b@y.example", "c@z.example", "h@x.example"));
        parsed_mail_clear(&m);
}

static void test_internationalized_domain_is_punycode(void **state)
{
        struct parsed_mail m = {};
        parse_ok("From: a@example.org\nTo: J\xc3\xbcrgen <user@b\xc3\xbc"
                 "cher.example>\n\n",
                 NULL, NULL, &m);
        assert_strv_equal(m.recipients, STRV("user@xn--bcher-kva.example"));
        parsed_mail_clear(&m);
}

/* ASCII addresses are their own IDN form, as written; a punycode domain
 * (which GMime decodes) comes out as punycode again. */
static void test_ascii_and_punycode_domains_kept(void **state)
{
        struct parsed_mail m = {};
        parse_ok("From: a@Example.ORG\nTo: user@xn--bcher-kva.example, B@EXAMPLE.org\n\n", NULL,
                 NULL, &m);
        assert_string_equal(m.sender, "a@Example.ORG");
        assert_strv_equal(m.recipients, STRV("user@xn--bcher-kva.example", "B@EXAMPLE.org"));
        parsed_mail_clear(&m);
}

static void test_encoded_word_subject_is_decoded(void **state)
{
        /* Two encoded words in different charsets; the folded line's blanks
         * stay (only the line break is removed when unfolding). */
        static const char message[] =
            "From: a@example.org\n"
            "To: b@example.org\n"
            "Subject: =?UTF-8?B?R3LDvMOfZQ==?= and =?ISO-8859-1?Q?caf=E9?=\n"
            "  folded\n"
            "\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_string_equal(m.subject, "Gr\xc3\xbc\xc3\x9f"
                                       "e and caf\xc3\xa9  folded");
        /* Decoding is for the bus; the delivered bytes keep the encoding. */
        assert_delivered_str(&m, message);
        parsed_mail_clear(&m);
}

static void test_raw_8bit_subject_becomes_utf8(void **state)
{
        struct parsed_mail m = {};
        parse_ok("From: a@example.org\nTo: b@example.org\nSubject: caf\xe9\n\n", NULL, NULL, &m);
        assert_true(g_utf8_validate(m.subject, -1, NULL));
        assert_string_equal(m.subject, "caf\xc3\xa9");
        parsed_mail_clear(&m);
}

static void test_bcc_folded_removed_lf(void **state)
{
        static const char message[] = "From: Alice <alice@example.org>\n"
                                      "To: bob@example.org\n"
                                      "Bcc: carol@example.org,\n"
                                      " dave@example.org,\n"
                                      "\teve@example.org\n"
                                      "Subject: hi\n"
                                      "\n"
                                      "Body\n"
                                      "Bcc: not-a-header@example.org\n";
        static const char expected[] = "From: Alice <alice@example.org>\n"
                                       "To: bob@example.org\n"
                                       "Subject: hi\n"
                                       "\n"
                                       "Body\n"
                                       "Bcc: not-a-header@example.org\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_delivered_str(&m, expected);
        assert_strv_equal(m.recipients, STRV("bob@example.org", "carol@example.org",
                                             "dave@example.org", "eve@example.org"));
        parsed_mail_clear(&m);
}

static void test_bcc_multiple_and_last_crlf(void **state)
{
        /* Two Bcc fields, one spelled "bcc " with a blank before the colon and
         * folded, and it is the last header; the body keeps its CRLFs. */
        static const char message[] = "From: a@example.org\r\n"
                                      "Bcc: b@example.org\r\n"
                                      "To: c@example.org\r\n"
                                      "bcc : d@example.org,\r\n"
                                      "  e@example.org\r\n"
                                      "\r\n"
                                      "line one\r\n"
                                      "\r\n"
                                      "Bcc: body@example.org\r\n";
        static const char expected[] = "From: a@example.org\r\n"
                                       "To: c@example.org\r\n"
                                       "\r\n"
                                       "line one\r\n"
                                       "\r\n"
                                       "Bcc: body@example.org\r\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_delivered_str(&m, expected);
        assert_strv_equal(m.recipients,
                          STRV("c@example.org", "b@example.org", "d@example.org", "e@example.org"));
        parsed_mail_clear(&m);
}

static void test_bcc_first_and_empty_lf(void **state)
{
        /* An empty Bcc (as sendmail -t leaves it) is removed too, and so is a
         * Bcc that is the very first field. */
        static const char message[] = "Bcc: first@example.org\n"
                                      "From: a@example.org\n"
                                      "To: b@example.org\n"
                                      "Bcc:\n"
                                      "Subject: s\n"
                                      "\n"
                                      "x";
        static const char expected[] = "From: a@example.org\n"
                                       "To: b@example.org\n"
                                       "Subject: s\n"
                                       "\n"
                                       "x";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_delivered_str(&m, expected);
        assert_strv_equal(m.recipients, STRV("b@example.org", "first@example.org"));
        parsed_mail_clear(&m);
}

static void test_bcc_at_end_of_input(void **state)
{
        /* No empty line and no final line break: the field runs to the end. */
        struct parsed_mail m = {};
        parse_ok("From: a@example.org\nTo: b@example.org\nBcc: c@example.org", NULL, NULL, &m);
        assert_delivered_str(&m, "From: a@example.org\nTo: b@example.org\n");
        assert_strv_equal(m.recipients, STRV("b@example.org", "c@example.org"));
        parsed_mail_clear(&m);
}

static void test_fields_like_bcc_are_kept(void **state)
{
        /* Only the field named Bcc goes: not names that contain it, not a
         * folded line of another field that reads like one. */
        static const char message[] = "From: a@example.org\n"
                                      "To: b@example.org\n"
                                      "X-Bcc: kept@example.org\n"
                                      "Bccx: kept\n"
                                      "Comments: see\n"
                                      " Bcc: inside a fold\n"
                                      "\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_delivered_str(&m, message);
        assert_strv_equal(m.recipients, STRV("b@example.org"));
        parsed_mail_clear(&m);
}

static void test_bcc_after_long_header_section(void **state)
{
        /* GMime reads in blocks of a few KiB: offsets must stay right far into
         * a long header section. */
        _cleanup_free_ char *message = NULL, *expected = NULL;
        size_t message_size = 0, expected_size = 0;
        FILE *in = open_memstream(&message, &message_size);
        FILE *out = open_memstream(&expected, &expected_size);
        assert_non_null(in);
        assert_non_null(out);
        for (int i = 0; i < 300; i++) {
                fprintf(in,
                        "Received: from relay%d.example.org by mx.example.org;\r\n"
                        "\tMon, 1 Jan 2024 00:00:%02d +0000\r\n",
                        i, i % 60);
                fprintf(out,
                        "Received: from relay%d.example.org by mx.example.org;\r\n"
                        "\tMon, 1 Jan 2024 00:00:%02d +0000\r\n",
                        i, i % 60);
        }
        fputs("From: a@example.org\r\nBcc: hidden@example.org\r\n\tsecond@example.org\r\n"
              "To: b@example.org\r\n\r\nbody\r\n",
              in);
        fputs("From: a@example.org\r\nTo: b@example.org\r\n\r\nbody\r\n", out);
        assert_int_equal(fclose(in), 0);
        assert_int_equal(fclose(out), 0);
        assert_true(message_size > 16384);

        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_delivered(&m, expected, expected_size);
        assert_strv_equal(m.recipients,
                          STRV("b@example.org", "hidden@example.org", "second@example.org"));
        parsed_mail_clear(&m);
}

static void test_only_bcc_leaves_empty_copy(void **state)
{
        struct parsed_mail m = {};
        parse_ok("Bcc: b@example.org\n", "a@example.org", NULL, &m);
        assert_delivered(&m, "", 0);
        assert_strv_equal(m.recipients, STRV("b@example.org"));
        parsed_mail_clear(&m);
}

static void test_content_type_as_first_field(void **state)
{
        /* GMime keeps Content-* fields apart from the others; the header
         * section is still found. */
        static const char message[] = "Content-Type: text/plain\nBcc: b@example.org\n\nhi\n";
        struct parsed_mail m = {};
        parse_ok(message, "a@example.org", NULL, &m);
        assert_delivered_str(&m, "Content-Type: text/plain\n\nhi\n");
        assert_string_equal(m.from, "");
        parsed_mail_clear(&m);
}

static void test_nul_in_body_is_kept(void **state)
{
        static const char message[] = "From: a@example.org\nTo: b@example.org\n\nbin\0ary";
        struct parsed_mail m = {};
        _cleanup_free_ char *error = NULL;
        assert_int_equal(mail_parse(message, sizeof(message) - 1, NULL, NULL, &m, &error), 0);
        assert_delivered(&m, message, sizeof(message) - 1);
        parsed_mail_clear(&m);
}

static void test_envelope_overrides(void **state)
{
        static const char message[] = "From: a@example.org\n"
                                      "To: b@example.org\n"
                                      "Bcc: c@example.org\n"
                                      "\n"
                                      "x\n";
        struct parsed_mail m = {};
        parse_ok(message, "bounces@example.org", STRV("d@example.net", "e@example.net"), &m);
        assert_string_equal(m.sender, "bounces@example.org");
        /* From stays what the header says: it routes by identity. */
        assert_string_equal(m.from, "a@example.org");
        assert_strv_equal(m.recipients, STRV("d@example.net", "e@example.net"));
        /* The Bcc field still goes although it named no envelope recipient. */
        assert_delivered_str(&m, "From: a@example.org\nTo: b@example.org\n\nx\n");
        parsed_mail_clear(&m);
}

static void test_empty_envelope_recipients_fall_back_to_headers(void **state)
{
        struct parsed_mail m = {};
        parse_ok("From: a@example.org\nTo: b@example.org\nCc: c@example.org\n\n", NULL,
                 (char *[]){NULL}, &m);
        assert_strv_equal(m.recipients, STRV("b@example.org", "c@example.org"));
        parsed_mail_clear(&m);
}

static void test_envelope_sender_without_from(void **state)
{
        struct parsed_mail m = {};
        parse_ok("To: b@example.org\n\n", "a@example.org", NULL, &m);
        assert_string_equal(m.sender, "a@example.org");
        assert_string_equal(m.from, "");
        parsed_mail_clear(&m);
}

static void test_duplicates_dropped(void **state)
{
        /* Domains compare ignoring case, local parts exactly: Joe@ and joe@
         * may be different mailboxes. The first spelling is kept. */
        static const char message[] = "From: a@example.org\n"
                                      "To: Joe@Example.ORG, joe@example.org\n"
                                      "Cc: Joe@example.org, other@x.example\n"
                                      "Bcc: \"Again\" <joe@EXAMPLE.org>, other@X.EXAMPLE\n"
                                      "\n";
        struct parsed_mail m = {};
        parse_ok(message, NULL, NULL, &m);
        assert_strv_equal(m.recipients,
                          STRV("Joe@Example.ORG", "joe@example.org", "other@x.example"));
        parsed_mail_clear(&m);

        parse_ok(message, NULL, STRV("x@a.example", "x@A.EXAMPLE", "y@a.example", "x@a.example"),
                 &m);
        assert_strv_equal(m.recipients, STRV("x@a.example", "y@a.example"));
        parsed_mail_clear(&m);
}

static void test_error_empty(void **state)
{
        assert_refused("", 0, "a@example.org", STRV("b@example.org"), "the message is empty");
        assert_refused(NULL, 0, NULL, NULL, "the message is empty");
}

static void test_error_no_header_section(void **state)
{
        assert_refused_str("Hello Bob, this is just text.\n", "a@example.org",
                           STRV("b@example.org"), "the message has no header section");
        assert_refused_str("\nFrom: a@example.org\nTo: b@example.org\n\n", NULL, NULL,
                           "the message has no header section");
        /* GMime skips an mbox From_ line; we must not pass it on. */
        assert_refused_str("From a@example.org Mon Jan  1 00:00:00 2024\n"
                           "From: a@example.org\nTo: b@example.org\n\nx\n",
                           NULL, NULL,
                           "the message has no header section: its first line is not a header "
                           "field");
}

static void test_error_no_sender(void **state)
{
        assert_refused_str("To: b@example.org\nSubject: s\n\nx\n", NULL, NULL,
                           "no sender: the message has no From header and no Sender option was "
                           "given");
}

static void test_error_invalid_sender(void **state)
{
        assert_refused_str("From: alice\nTo: b@example.org\n\n", NULL, NULL,
                           "sender \"alice\" (the From header) is not a valid address");
        assert_refused_str("From: a@example.org\nTo: b@example.org\n\n", "not an address", NULL,
                           "the Sender option \"not an address\" is not a valid address");
        /* An explicit empty Sender is refused, not taken as "not given". */
        assert_refused_str("From: a@example.org\nTo: b@example.org\n\n", "", NULL,
                           "the Sender option \"\" is not a valid address");
}

static void test_error_no_recipient(void **state)
{
        static const char expected[] = "no recipient: the message has no To, Cc or Bcc and no "
                                       "Recipients option was given";
        assert_refused_str("From: a@example.org\nSubject: s\n\nx\n", NULL, NULL, expected);
        /* A group without members names nobody. */
        assert_refused_str("From: a@example.org\nTo: undisclosed-recipients:;\n\nx\n", NULL,
                           (char *[]){NULL}, expected);
}

static void test_error_invalid_recipient(void **state)
{
        assert_refused_str("From: a@example.org\nTo: b@example.org, carol\n\n", NULL, NULL,
                           "recipient \"carol\" is not a valid address");
        assert_refused_str("From: a@example.org\nTo: b@example.org\n\n", NULL,
                           STRV("ok@example.org", "bad address@example.org"),
                           "recipient \"bad address@example.org\" is not a valid address");
        /* Control characters, quotes, backslashes and bytes that are not UTF-8
         * are escaped: the sentence goes out over D-Bus. */
        assert_refused_str("From: a@example.org\nTo: b@example.org\n\n", NULL,
                           STRV("a\x01\"b\\\xff@example.org"),
                           "recipient \"a\\x01\\\"b\\\\\\xff@example.org\" is not a valid address");
}

static void test_error_nul_in_header(void **state)
{
        static const char message[] = "From: a@example.org\nTo: b@example.org\0evil@example.net\n"
                                      "\nx\n";
        assert_refused(message, sizeof(message) - 1, NULL, NULL,
                       "the message has a NUL byte in its header section");
}

static void test_error_without_ret_error(void **state)
{
        struct parsed_mail m = {};
        assert_int_equal(mail_parse("no headers\n", 11, NULL, NULL, &m, NULL), -EINVAL);
        assert_null(m.data);
}

/* MAIL_MAX_RECIPIENTS in the headers: the limit passes, one more is refused
 * with a sentence; received mail keeps the first ones. */
static void test_recipient_limit(void **state)
{
        GString *msg = g_string_new("From: a@example.org\nTo: ");
        for (int i = 0; i < MAIL_MAX_RECIPIENTS; i++)
                g_string_append_printf(msg, "%sr%d@example.org", i ? ", " : "", i);
        g_string_append(msg, "\n\nbody\n");
        struct parsed_mail m = {0};
        parse_ok(msg->str, NULL, NULL, &m);
        assert_int_equal(strv_length(m.recipients), MAIL_MAX_RECIPIENTS);
        parsed_mail_clear(&m);

        g_string_insert(msg, strlen("From: a@example.org\nTo: "), "one@example.org, ");
        char *error = NULL;
        assert_int_equal(mail_parse(msg->str, msg->len, NULL, NULL, &m, &error), -EINVAL);
        assert_non_null(strstr(error, "too many recipients"));
        free(error);
        error = NULL;
        assert_int_equal(mail_parse_inbound(msg->str, msg->len, &m, &error), 0);
        assert_int_equal(strv_length(m.recipients), MAIL_MAX_RECIPIENTS);
        assert_string_equal(m.recipients[0], "one@example.org");
        parsed_mail_clear(&m);

        /* The Recipients option is held to the same limit. */
        char **many = calloc(MAIL_MAX_RECIPIENTS + 2, sizeof(char *));
        for (int i = 0; i <= MAIL_MAX_RECIPIENTS; i++)
                assert_true(asprintf(&many[i], "e%d@example.org", i) > 0);
        assert_int_equal(mail_parse(msg->str, msg->len, NULL, many, &m, &error), -EINVAL);
        assert_non_null(strstr(error, "too many recipients"));
        free(error);
        strv_free(many);
        g_string_free(msg, TRUE);
}

static void test_address_validity(void **state)
{
        static const struct {
                const char *address;
                bool valid;
        } table[] = {
            {"a@example.org", true},
            {"first.last+tag@sub.example.co.uk", true},
            {"x@localhost", true},
            {"\"a@b\"@example.org", true},
            {"\"quoted\\\"quote\"@example.org", true},
            {"user@[192.0.2.1]", true},
            {"j\xc3\xbcrgen@example.org", true},
            {"", false},
            {"plain", false},
            {"@example.org", false},
            {"a@", false},
            {"a@@example.org", false},
            {"a@b@example.org", false},
            {"a b@example.org", false},
            {"a@example .org", false},
            {" a@example.org", false},
            {"a@example.org\n", false},
            {"a\t@example.org", false},
            {"a\x7f@example.org", false},
            {"<a@example.org>", false},
            {"a@example.org>", false},
            {"a,b@example.org", false},
            {"a;b@example.org", false},
            {"a@.example.org", false},
            {"a@example.org.", false},
            {"a@example..org", false},
            {"\"unterminated@example.org", false},
            {"a\\@b@example.org", false},
            {"a\\b@example.org", false},
            {"a@\"example\".org", false},
            {"\xff@example.org", false},
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (mail_address_is_valid(table[i].address) != table[i].valid)
                        fail_msg("mail_address_is_valid(\"%s\") should be %s", table[i].address,
                                 table[i].valid ? "true" : "false");
        assert_false(mail_address_is_valid(NULL));
}

static void test_address_length_limit(void **state)
{
        /* 254 bytes is the most a path can carry; one more is refused. */
        char address[256];
        memset(address, 'a', sizeof(address));
        memcpy(address + 254 - strlen("@example.org"), "@example.org", strlen("@example.org"));
        address[254] = '\0';
        assert_true(mail_address_is_valid(address));

        memset(address, 'a', sizeof(address));
        memcpy(address + 255 - strlen("@example.org"), "@example.org", strlen("@example.org"));
        address[255] = '\0';
        assert_false(mail_address_is_valid(address));
}

static void test_inbound_bcc_copy(void **state)
{
        /* A Bcc copy without From or To is recorded, nothing is checked and
         * no copy of the bytes is made. */
        static const char message[] = "Bcc: me@example.org\nSubject: =?UTF-8?Q?f=C3=BCr_dich?=\n"
                                      "\nbody\n";
        struct parsed_mail m = {};
        _cleanup_free_ char *error = NULL;
        assert_int_equal(mail_parse_inbound(message, strlen(message), &m, &error), 0);
        assert_null(error);
        assert_string_equal(m.sender, "");
        assert_string_equal(m.from, "");
        assert_strv_equal(m.recipients, STRV("me@example.org"));
        assert_string_equal(m.subject, "f\xc3\xbcr dich");
        assert_null(m.data);
        assert_int_equal(m.size, 0);
        parsed_mail_clear(&m);
}

static void test_inbound_takes_unchecked_addresses(void **state)
{
        static const char message[] = "From: weird\nTo: b@example.org, someone\n"
                                      "Cc: B@EXAMPLE.ORG\nMessage-ID: <x@y>\n\n";
        struct parsed_mail m = {};
        assert_int_equal(mail_parse_inbound(message, strlen(message), &m, NULL), 0);
        assert_string_equal(m.sender, "weird");
        assert_strv_equal(m.recipients, STRV("b@example.org", "someone", "B@EXAMPLE.ORG"));
        assert_string_equal(m.message_id, "x@y");
        parsed_mail_clear(&m);
}

/* Only the header section is read: lines after the empty line that ends it
 * are the body's, however much they look like fields; without an empty line
 * the whole input is the header section. */
static void test_inbound_reads_header_section_only(void **state)
{
        static const char crlf[] =
            "From: a@example.org\r\nTo: b@example.org\r\n"
            "Content-Type: multipart/mixed; boundary=x\r\n\r\n"
            "To: c@example.org\r\n--x\r\nSubject: no\r\n\r\npart\r\n--x--\r\n";
        struct parsed_mail m = {};
        assert_int_equal(mail_parse_inbound(crlf, strlen(crlf), &m, NULL), 0);
        assert_string_equal(m.sender, "a@example.org");
        assert_strv_equal(m.recipients, STRV("b@example.org"));
        assert_string_equal(m.subject, "");
        parsed_mail_clear(&m);

        static const char lf[] = "Subject: yes\nTo: b@example.org,\n c@example.org\n\nCc: d@x\n";
        assert_int_equal(mail_parse_inbound(lf, strlen(lf), &m, NULL), 0);
        assert_strv_equal(m.recipients, STRV("b@example.org", "c@example.org"));
        assert_string_equal(m.subject, "yes");
        parsed_mail_clear(&m);

        static const char no_body[] = "To: b@example.org\r\nSubject: end";
        assert_int_equal(mail_parse_inbound(no_body, strlen(no_body), &m, NULL), 0);
        assert_strv_equal(m.recipients, STRV("b@example.org"));
        assert_string_equal(m.subject, "end");
        parsed_mail_clear(&m);

        /* An empty line first: no header section at all. */
        assert_int_equal(mail_parse_inbound("\r\nTo: b@example.org\r\n", 21, &m, NULL), -EINVAL);
}

static void test_inbound_without_headers(void **state)
{
        struct parsed_mail m = {};
        _cleanup_free_ char *error = NULL;
        assert_int_equal(mail_parse_inbound("just text\n", 10, &m, &error), -EINVAL);
        assert_string_equal(error, "the message has no header section");
        assert_null(m.recipients);
        free(error);
        error = NULL;
        assert_int_equal(mail_parse_inbound("", 0, &m, &error), -EINVAL);
        assert_string_equal(error, "the message is empty");
}

/* A local submission's missing fields (docs/bus-api.md, Spooler.Submit). */
static void test_missing_fields(void **state)
{
        static const char bare[] = "to: b@example.org\nSubject: x\n\nbody\n";
        unsigned missing = 0;
        assert_int_equal(mail_missing_fields(bare, strlen(bare), &missing), 0);
        assert_int_equal(missing, MAIL_MISSING_FROM | MAIL_MISSING_DATE | MAIL_MISSING_MESSAGE_ID);

        void *done = NULL;
        size_t size = 0;
        assert_int_equal(mail_prepend_fields(bare, strlen(bare), missing, "a@example.org",
                                             "mail.example.org", UINT64_C(1796040000000000), &done,
                                             &size),
                         0);
        const char *text = done;
        assert_true(size > strlen(bare));
        assert_memory_equal(text + size - strlen(bare), bare, strlen(bare));
        assert_true(strncmp(text, "From: <a@example.org>\nDate: ", 28) == 0);
        assert_non_null(strstr(text, "@mail.example.org>\n"));
        unsigned after = 1;
        assert_int_equal(mail_missing_fields(done, size, &after), 0);
        assert_int_equal(after, 0);
        /* The parser reads it as a whole message. */
        struct parsed_mail m = {0};
        char *why = NULL;
        assert_int_equal(mail_parse(done, size, NULL, NULL, &m, &why), 0);
        assert_string_equal(m.sender, "a@example.org");
        parsed_mail_clear(&m);
        free(done);

        /* Present fields, in any case, count as present. */
        static const char full[] = "FROM: a@x.org\ndate: Mon, 30 Nov 2026 12:00:00 +0000\n"
                                   "MESSAGE-ID: <1@x.org>\nTo: b@x.org\n\n";
        assert_int_equal(mail_missing_fields(full, strlen(full), &missing), 0);
        assert_int_equal(missing, 0);
        assert_int_equal(mail_missing_fields("no header", 9, &missing), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_simple_message),
            cmocka_unit_test(test_recipient_limit),
            cmocka_unit_test(test_missing_subject_and_message_id_are_empty),
            cmocka_unit_test(test_display_names_and_groups),
            cmocka_unit_test(test_internationalized_domain_is_punycode),
            cmocka_unit_test(test_ascii_and_punycode_domains_kept),
            cmocka_unit_test(test_encoded_word_subject_is_decoded),
            cmocka_unit_test(test_raw_8bit_subject_becomes_utf8),
            cmocka_unit_test(test_bcc_folded_removed_lf),
            cmocka_unit_test(test_bcc_multiple_and_last_crlf),
            cmocka_unit_test(test_bcc_first_and_empty_lf),
            cmocka_unit_test(test_bcc_at_end_of_input),
            cmocka_unit_test(test_fields_like_bcc_are_kept),
            cmocka_unit_test(test_bcc_after_long_header_section),
            cmocka_unit_test(test_only_bcc_leaves_empty_copy),
            cmocka_unit_test(test_content_type_as_first_field),
            cmocka_unit_test(test_nul_in_body_is_kept),
            cmocka_unit_test(test_envelope_overrides),
            cmocka_unit_test(test_empty_envelope_recipients_fall_back_to_headers),
            cmocka_unit_test(test_envelope_sender_without_from),
            cmocka_unit_test(test_duplicates_dropped),
            cmocka_unit_test(test_error_empty),
            cmocka_unit_test(test_error_no_header_section),
            cmocka_unit_test(test_error_no_sender),
            cmocka_unit_test(test_error_invalid_sender),
            cmocka_unit_test(test_error_no_recipient),
            cmocka_unit_test(test_error_invalid_recipient),
            cmocka_unit_test(test_error_nul_in_header),
            cmocka_unit_test(test_error_without_ret_error),
            cmocka_unit_test(test_address_validity),
            cmocka_unit_test(test_address_length_limit),
            cmocka_unit_test(test_inbound_bcc_copy),
            cmocka_unit_test(test_inbound_takes_unchecked_addresses),
            cmocka_unit_test(test_inbound_reads_header_section_only),
            cmocka_unit_test(test_inbound_without_headers),
            cmocka_unit_test(test_missing_fields),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
