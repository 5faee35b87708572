/* The status table's columns and restrictions (docs/bus-api.md, QueryStatusTable). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "mailspool-bus.h"
#include "status-table.h"

/* A row whose every field holds a value no other field holds, so that reading
 * the wrong field shows. */
static const struct status_row distinct_row = {
    .entry_id = "/org/mailspool/Spool1/transport/work",
    .row_id = 2,
    .object_type = MAILSPOOL_OBJECT_STATUS,
    .resource_type = MAILSPOOL_RESOURCE_TRANSPORT,
    .display_name = "Work mail",
    .provider_display = "SMTP",
    .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_FLUSH_QUEUES,
    .resource_flags = MAILSPOOL_STATUS_DEFAULT_OUTBOUND,
    .status_code = MAILSPOOL_STATUS_AVAILABLE | MAILSPOOL_STATUS_OUTBOUND_ENABLED,
    .status_string = "Available",
    .identity_display = "alice@example.org",
};

/* Builds a term that must be accepted, failing the test otherwise. */
static struct restriction_term term_u(const char *column, const char *op, uint32_t value)
{
        struct restriction_term t = {0};
        enum mapi_error code = _MAPI_E_MAX;
        char *error = NULL;
        int r = restriction_term_make(column, op, 'u', &value, &t, &code, &error);
        if (r < 0)
                fail_msg("%s %s %u rejected: %s", column, op, value, error ? error : "?");
        assert_null(error);
        return t;
}

static struct restriction_term term_s(const char *column, const char *op, char type,
                                      const char *value)
{
        struct restriction_term t = {0};
        enum mapi_error code = _MAPI_E_MAX;
        char *error = NULL;
        int r = restriction_term_make(column, op, type, value, &t, &code, &error);
        if (r < 0)
                fail_msg("%s %s \"%s\" rejected: %s", column, op, value, error ? error : "?");
        assert_null(error);
        return t;
}

/* One term alone over one row. */
static bool matches_one(const struct status_row *row, struct restriction_term t)
{
        bool m = restriction_match(row, &t, 1);
        free(t.s);
        return m;
}

static void test_column_names_and_types(void **state)
{
        static const struct {
                const char *name;
                char type;
        } expected[_COL_MAX] = {
            [COL_ENTRY_ID] = {"EntryID", 'o'},
            [COL_ROW_ID] = {"RowID", 'u'},
            [COL_OBJECT_TYPE] = {"ObjectType", 'u'},
            [COL_RESOURCE_TYPE] = {"ResourceType", 'u'},
            [COL_DISPLAY_NAME] = {"DisplayName", 's'},
            [COL_PROVIDER_DISPLAY] = {"ProviderDisplay", 's'},
            [COL_RESOURCE_METHODS] = {"ResourceMethods", 'u'},
            [COL_RESOURCE_FLAGS] = {"ResourceFlags", 'u'},
            [COL_STATUS_CODE] = {"StatusCode", 'u'},
            [COL_STATUS_STRING] = {"StatusString", 's'},
            [COL_IDENTITY_DISPLAY] = {"IdentityDisplay", 's'},
        };
        for (int c = 0; c < _COL_MAX; c++) {
                assert_string_equal(status_column_name(c), expected[c].name);
                assert_int_equal(status_column_type(c), expected[c].type);
                assert_int_equal(status_column_from_name(expected[c].name), c);
        }
        /* Names are exact, as on the bus. */
        assert_int_equal(status_column_from_name("statuscode"), -EINVAL);
        assert_int_equal(status_column_from_name("StatusCod"), -EINVAL);
        assert_int_equal(status_column_from_name("StatusCodes"), -EINVAL);
        assert_int_equal(status_column_from_name(""), -EINVAL);
}

static void test_row_get_reads_each_field(void **state)
{
        const struct status_row *r = &distinct_row;
        const uint32_t want_u[_COL_MAX] = {
            [COL_ROW_ID] = r->row_id,
            [COL_OBJECT_TYPE] = r->object_type,
            [COL_RESOURCE_TYPE] = r->resource_type,
            [COL_RESOURCE_METHODS] = r->resource_methods,
            [COL_RESOURCE_FLAGS] = r->resource_flags,
            [COL_STATUS_CODE] = r->status_code,
        };
        const char *want_s[_COL_MAX] = {
            [COL_ENTRY_ID] = r->entry_id,
            [COL_DISPLAY_NAME] = r->display_name,
            [COL_PROVIDER_DISPLAY] = r->provider_display,
            [COL_STATUS_STRING] = r->status_string,
            [COL_IDENTITY_DISPLAY] = r->identity_display,
        };
        for (int c = 0; c < _COL_MAX; c++) {
                uint32_t u = 0xDEADBEEF;
                const char *s = "unset";
                status_row_get(r, c, &u, &s);
                if (status_column_type(c) == 'u')
                        assert_int_equal(u, want_u[c]);
                else
                        assert_string_equal(s, want_s[c]);
        }
}

static void test_row_get_unset_string_is_empty(void **state)
{
        struct status_row spooler = {.entry_id = "/org/mailspool/Spool1/spooler"};
        const char *s = NULL;
        status_row_get(&spooler, COL_IDENTITY_DISPLAY, NULL, &s);
        assert_non_null(s);
        assert_string_equal(s, "");
        /* ... and an empty identity is what "== ''" finds. */
        assert_true(matches_one(&spooler, term_s("IdentityDisplay", "==", 's', "")));
}

/* Every op on a 'u' column, against a value below, equal to and above the
 * row's (StatusCode 0x100001). Index 0/1/2 = below/equal/above. */
static void test_ops_on_number_column(void **state)
{
        const uint32_t row_value = distinct_row.status_code;
        const uint32_t probes[3] = {row_value - 1, row_value, row_value + 1};
        static const struct {
                const char *op;
                bool want[3];
        } cases[] = {
            {"==", {false, true, false}}, {"!=", {true, false, true}}, {"<", {false, false, true}},
            {"<=", {false, true, true}},  {">", {true, false, false}}, {">=", {true, true, false}},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int p = 0; p < 3; p++) {
                        bool got = matches_one(&distinct_row,
                                               term_u("StatusCode", cases[i].op, probes[p]));
                        if (got != cases[i].want[p])
                                fail_msg("StatusCode(0x%X) %s 0x%X gave %d", row_value, cases[i].op,
                                         probes[p], got);
                }
}

static void test_bitmask_ops(void **state)
{
        /* StatusCode = AVAILABLE | OUTBOUND_ENABLED */
        assert_true(
            matches_one(&distinct_row, term_u("StatusCode", "&", MAILSPOOL_STATUS_AVAILABLE)));
        /* One of several bits is enough for "&" ... */
        assert_true(matches_one(
            &distinct_row, term_u("StatusCode", "&",
                                  MAILSPOOL_STATUS_OFFLINE | MAILSPOOL_STATUS_OUTBOUND_ENABLED)));
        assert_false(
            matches_one(&distinct_row, term_u("StatusCode", "&", MAILSPOOL_STATUS_OFFLINE)));
        /* ... and "!&" wants none of them. */
        assert_true(matches_one(
            &distinct_row,
            term_u("StatusCode", "!&", MAILSPOOL_STATUS_OFFLINE | MAILSPOOL_STATUS_FAILURE)));
        assert_false(matches_one(
            &distinct_row,
            term_u("StatusCode", "!&", MAILSPOOL_STATUS_OFFLINE | MAILSPOOL_STATUS_AVAILABLE)));
        /* A zero mask shares no bit with anything. */
        assert_false(matches_one(&distinct_row, term_u("StatusCode", "&", 0)));
        assert_true(matches_one(&distinct_row, term_u("StatusCode", "!&", 0)));
}

static void test_numbers_compare_unsigned(void **state)
{
        struct status_row row = {.status_code = 0x80000000u};
        assert_true(matches_one(&row, term_u("StatusCode", ">", 1)));
        assert_false(matches_one(&row, term_u("StatusCode", "<", 1)));
        assert_true(matches_one(&row, term_u("StatusCode", "==", 0x80000000u)));
}

/* Every op on an 's' column. The probes are chosen so that case-blind or
 * length-limited comparison would answer differently from strcmp. */
static void test_ops_on_string_column(void **state)
{
        struct status_row row = {.display_name = "Maildir"};
        /* "MAIL" < "Mail" < "Maildir" < "mail" in strcmp's byte order. */
        const char *probes[4] = {"MAIL", "Mail", "Maildir", "mail"};
        static const struct {
                const char *op;
                bool want[4];
        } cases[] = {
            {"==", {false, false, true, false}}, {"!=", {true, true, false, true}},
            {"<", {false, false, false, true}},  {"<=", {false, false, true, true}},
            {">", {true, true, false, false}},   {">=", {true, true, true, false}},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int p = 0; p < 4; p++) {
                        bool got =
                            matches_one(&row, term_s("DisplayName", cases[i].op, 's', probes[p]));
                        if (got != cases[i].want[p])
                                fail_msg("DisplayName(\"Maildir\") %s \"%s\" gave %d", cases[i].op,
                                         probes[p], got);
                }
}

static void test_object_path_and_string_interchange(void **state)
{
        /* An 'o' value on an 's' column and an 's' value on the 'o' column. */
        assert_true(
            matches_one(&distinct_row, term_s("EntryID", "==", 's', distinct_row.entry_id)));
        assert_true(
            matches_one(&distinct_row, term_s("EntryID", "==", 'o', distinct_row.entry_id)));
        assert_true(matches_one(&distinct_row,
                                term_s("EntryID", ">", 'o', "/org/mailspool/Spool1/spooler")));
        assert_true(matches_one(&distinct_row, term_s("ProviderDisplay", "==", 'o', "SMTP")));
        assert_false(matches_one(&distinct_row, term_s("ProviderDisplay", "!=", 'o', "SMTP")));
}

/* The term keeps its own copy: the bus message it came from is gone by the
 * time rows are matched. */
static void test_term_owns_its_string(void **state)
{
        char value[] = "SMTP";
        struct restriction_term t = term_s("ProviderDisplay", "==", 's', value);
        assert_ptr_not_equal(t.s, value);
        memcpy(value, "IMAP", sizeof(value));
        assert_true(restriction_match(&distinct_row, &t, 1));
        free(t.s);
}

static void assert_rejected(const char *column, const char *op, char type, const void *value,
                            int want_r, enum mapi_error want_code)
{
        struct restriction_term t = {.s = NULL};
        enum mapi_error code = _MAPI_E_MAX;
        char *error = NULL;
        int r = restriction_term_make(column, op, type, value, &t, &code, &error);
        if (r != want_r || code != want_code)
                fail_msg("(%s, %s, %c) gave %d/%s, expected %d/%s", column, op, type, r,
                         code < _MAPI_E_MAX ? mapi_error_name(code) : "?", want_r,
                         mapi_error_name(want_code));
        /* A sentence for the user, without the MAPI prefix the bus adds. */
        assert_non_null(error);
        assert_true(strlen(error) > 10);
        assert_null(strstr(error, "MAPI_E_"));
        assert_null(t.s);
        free(error);
}

static void test_unknown_column(void **state)
{
        uint32_t eight = 8;
        assert_rejected("Flags", "==", 'u', &eight, -ENOENT, MAPI_E_BAD_COLUMN);
        assert_rejected("resourcemethods", "&", 'u', &eight, -ENOENT, MAPI_E_BAD_COLUMN);
        assert_rejected("", "==", 's', "x", -ENOENT, MAPI_E_BAD_COLUMN);

        /* The sentence names the column, so the caller sees the typo. */
        struct restriction_term t;
        enum mapi_error code;
        char *error = NULL;
        assert_int_equal(restriction_term_make("Statuscode", "==", 'u', &eight, &t, &code, &error),
                         -ENOENT);
        assert_non_null(strstr(error, "Statuscode"));
        free(error);
}

static void test_unknown_op(void **state)
{
        uint32_t eight = 8;
        static const char *const bad_ops[] = {"=", "", "<>", "&&", "!", "== ", "eq", "=<", "|"};
        for (size_t i = 0; i < ELEMENTSOF(bad_ops); i++) {
                assert_rejected("StatusCode", bad_ops[i], 'u', &eight, -EINVAL, MAPI_E_TOO_COMPLEX);
                assert_rejected("DisplayName", bad_ops[i], 's', "x", -EINVAL, MAPI_E_TOO_COMPLEX);
        }
}

static void test_type_mismatch(void **state)
{
        uint32_t eight = 8;
        /* A string where a number belongs, and the other way round. */
        assert_rejected("ResourceMethods", "==", 's', "8", -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("RowID", "==", 'o', "/", -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("DisplayName", "==", 'u', &eight, -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("EntryID", "==", 'u', &eight, -EINVAL, MAPI_E_TOO_COMPLEX);
        /* Types no column holds (the bus layer passes no value for them). */
        assert_rejected("StatusCode", "==", 'i', NULL, -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("StatusCode", "==", 'b', NULL, -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("DisplayName", "==", '?', NULL, -EINVAL, MAPI_E_TOO_COMPLEX);
}

static void test_bitmask_on_string_column(void **state)
{
        assert_rejected("DisplayName", "&", 's', "x", -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("StatusString", "!&", 's', "x", -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("EntryID", "&", 'o', "/", -EINVAL, MAPI_E_TOO_COMPLEX);
        assert_rejected("EntryID", "!&", 's', "/", -EINVAL, MAPI_E_TOO_COMPLEX);
}

/* A spooler and three transports, like a small configuration. */
static const struct status_row example_rows[] = {
    {
        .entry_id = "/org/mailspool/Spool1/spooler",
        .row_id = 0,
        .object_type = MAILSPOOL_OBJECT_STATUS,
        .resource_type = MAILSPOOL_RESOURCE_SPOOLER,
        .display_name = "Spooler",
        .provider_display = "Spooler",
        /* The spooler can flush, but it is no transport. */
        .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_FLUSH_QUEUES,
        .status_code = MAILSPOOL_STATUS_AVAILABLE,
        .status_string = "Available",
        .identity_display = "",
    },
    {
        .entry_id = "/org/mailspool/Spool1/transport/work",
        .row_id = 1,
        .object_type = MAILSPOOL_OBJECT_STATUS,
        .resource_type = MAILSPOOL_RESOURCE_TRANSPORT,
        .display_name = "Work mail",
        .provider_display = "SMTP",
        .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_CHANGE_PASSWORD |
                            MAILSPOOL_STATUS_FLUSH_QUEUES,
        .resource_flags = MAILSPOOL_STATUS_DEFAULT_OUTBOUND,
        .status_code = MAILSPOOL_STATUS_AVAILABLE | MAILSPOOL_STATUS_OUTBOUND_ENABLED,
        .status_string = "Available",
        .identity_display = "alice@example.org",
    },
    {
        .entry_id = "/org/mailspool/Spool1/transport/local",
        .row_id = 2,
        .object_type = MAILSPOOL_OBJECT_STATUS,
        .resource_type = MAILSPOOL_RESOURCE_TRANSPORT,
        .display_name = "Local",
        .provider_display = "Maildir",
        /* A maildir transport is flushed by the spooler. */
        .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE,
        .status_code = MAILSPOOL_STATUS_AVAILABLE | MAILSPOOL_STATUS_INBOUND_ENABLED |
                       MAILSPOOL_STATUS_OUTBOUND_ENABLED,
        .status_string = "Available",
        .identity_display = "",
    },
    {
        .entry_id = "/org/mailspool/Spool1/transport/home",
        .row_id = 3,
        .object_type = MAILSPOOL_OBJECT_STATUS,
        .resource_type = MAILSPOOL_RESOURCE_TRANSPORT,
        .display_name = "Home",
        .provider_display = "IMAP",
        .resource_methods = MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_CHANGE_PASSWORD |
                            MAILSPOOL_STATUS_FLUSH_QUEUES,
        .status_code = MAILSPOOL_STATUS_OFFLINE | MAILSPOOL_STATUS_INBOUND_ENABLED,
        .status_string = "Offline",
        .identity_display = "alice@home.example",
    },
};

/* Row ids of example_rows that the terms select, as a bit set. */
static unsigned selected_rows(const struct restriction_term *terms, size_t n)
{
        unsigned set = 0;
        for (size_t i = 0; i < ELEMENTSOF(example_rows); i++)
                if (restriction_match(&example_rows[i], terms, n))
                        set |= 1u << example_rows[i].row_id;
        return set;
}

/* docs/bus-api.md: [("ResourceType","==",<u 36>), ("ResourceMethods","&",<u 8>)].
 * Both terms must hold: the spooler has the flush bit but the wrong type,
 * the maildir transport the right type but no flush bit. */
static void test_api_example_transports_that_flush(void **state)
{
        struct restriction_term terms[2] = {
            term_u("ResourceType", "==", 36),
            term_u("ResourceMethods", "&", 8),
        };
        assert_int_equal(selected_rows(terms, 2), (1u << 1) | (1u << 3));
        /* Each term alone selects more, so the AND is doing the work. */
        assert_int_equal(selected_rows(&terms[0], 1), (1u << 1) | (1u << 2) | (1u << 3));
        assert_int_equal(selected_rows(&terms[1], 1), (1u << 0) | (1u << 1) | (1u << 3));
        free(terms[0].s);
        free(terms[1].s);
}

static void test_mixed_restriction(void **state)
{
        /* Transports that are not offline and have an identity. */
        struct restriction_term *terms = calloc(3, sizeof(*terms));
        assert_non_null(terms);
        terms[0] = term_u("ResourceType", "==", MAILSPOOL_RESOURCE_TRANSPORT);
        terms[1] = term_u("StatusCode", "!&", MAILSPOOL_STATUS_OFFLINE);
        terms[2] = term_s("IdentityDisplay", "!=", 's', "");
        assert_int_equal(selected_rows(terms, 3), 1u << 1);
        /* Freed as the bus layer frees them, with their strings. */
        restriction_terms_free(terms, 3);
}

static void test_empty_restriction_matches_all(void **state)
{
        assert_int_equal(selected_rows(NULL, 0), 0xFu);
        struct restriction_term unused = {.column = COL_ROW_ID, .op = OP_EQ, .u = 99};
        /* n = 0 means no terms, whatever the pointer. */
        assert_int_equal(selected_rows(&unused, 0), 0xFu);
        restriction_terms_free(NULL, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_column_names_and_types),
            cmocka_unit_test(test_row_get_reads_each_field),
            cmocka_unit_test(test_row_get_unset_string_is_empty),
            cmocka_unit_test(test_ops_on_number_column),
            cmocka_unit_test(test_bitmask_ops),
            cmocka_unit_test(test_numbers_compare_unsigned),
            cmocka_unit_test(test_ops_on_string_column),
            cmocka_unit_test(test_object_path_and_string_interchange),
            cmocka_unit_test(test_term_owns_its_string),
            cmocka_unit_test(test_unknown_column),
            cmocka_unit_test(test_unknown_op),
            cmocka_unit_test(test_type_mismatch),
            cmocka_unit_test(test_bitmask_on_string_column),
            cmocka_unit_test(test_api_example_transports_that_flush),
            cmocka_unit_test(test_mixed_restriction),
            cmocka_unit_test(test_empty_restriction_matches_all),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
