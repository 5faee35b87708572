/* The status table of QueryStatusTable: column metadata, reading a column out
 * of a row, and the AND-restriction (MAPI's property restriction reduced to
 * what a bus caller can express as (column, op, value) triples). */
#include <stdarg.h>

#include "status-table.h"

static const struct {
        const char *name;
        char type;
} columns[_COL_MAX] = {
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

/* Spelled as a caller writes them in the restriction. */
static const char *const op_names[_OP_MAX] = {
    [OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<",       [OP_LE] = "<=",
    [OP_GT] = ">",  [OP_GE] = ">=", [OP_BITS_SET] = "&", [OP_BITS_CLEAR] = "!&",
};

const char *status_column_name(enum status_column c)
{
        if ((unsigned) c >= _COL_MAX)
                return NULL;
        return columns[c].name;
}

char status_column_type(enum status_column c)
{
        if ((unsigned) c >= _COL_MAX)
                return '\0';
        return columns[c].type;
}

/* Case matters: column names are D-Bus style identifiers, like the property
 * names they mirror. */
int status_column_from_name(const char *name)
{
        if (!name)
                return -EINVAL;
        for (int c = 0; c < _COL_MAX; c++)
                if (streq(columns[c].name, name))
                        return c;
        return -EINVAL;
}

static int restriction_op_from_name(const char *name)
{
        if (!name)
                return -EINVAL;
        for (int op = 0; op < _OP_MAX; op++)
                if (streq(op_names[op], name))
                        return op;
        return -EINVAL;
}

static bool column_is_string(enum status_column c)
{
        return status_column_type(c) != 'u';
}

void status_row_get(const struct status_row *r, enum status_column c, uint32_t *ret_u,
                    const char **ret_s)
{
        uint32_t u = 0;
        const char *s = NULL;

        switch (c) {
        case COL_ENTRY_ID:
                s = r->entry_id;
                break;
        case COL_ROW_ID:
                u = r->row_id;
                break;
        case COL_OBJECT_TYPE:
                u = r->object_type;
                break;
        case COL_RESOURCE_TYPE:
                u = r->resource_type;
                break;
        case COL_DISPLAY_NAME:
                s = r->display_name;
                break;
        case COL_PROVIDER_DISPLAY:
                s = r->provider_display;
                break;
        case COL_RESOURCE_METHODS:
                u = r->resource_methods;
                break;
        case COL_RESOURCE_FLAGS:
                u = r->resource_flags;
                break;
        case COL_STATUS_CODE:
                u = r->status_code;
                break;
        case COL_STATUS_STRING:
                s = r->status_string;
                break;
        case COL_IDENTITY_DISPLAY:
                s = r->identity_display;
                break;
        case _COL_MAX:
                break;
        }

        if (ret_u)
                *ret_u = u;
        /* A row may leave a string unset; callers put strings on the bus,
         * where NULL is not a value, so an unset string reads as empty. */
        if (ret_s)
                *ret_s = column_is_string(c) ? strempty(s) : NULL;
}

void restriction_terms_free(struct restriction_term *t, size_t n)
{
        if (!t)
                return;
        for (size_t i = 0; i < n; i++)
                free(t[i].s);
        free(t);
}

static const char *value_type_words(char value_type)
{
        switch (value_type) {
        case 'u':
                return "a number (u)";
        case 's':
                return "a string (s)";
        case 'o':
                return "an object path (o)";
        default:
                return "a value of another type";
        }
}

/* Fills *ret_code and *ret_error; a failed allocation of the sentence only
 * loses the words, never the error itself. */
static int term_error(int err, enum mapi_error code, enum mapi_error *ret_code, char **ret_error,
                      const char *format, ...) __attribute__((format(printf, 5, 6)));
static int term_error(int err, enum mapi_error code, enum mapi_error *ret_code, char **ret_error,
                      const char *format, ...)
{
        va_list ap;
        char *text = NULL;

        va_start(ap, format);
        if (vasprintf(&text, format, ap) < 0)
                text = NULL;
        va_end(ap);

        if (ret_code)
                *ret_code = code;
        if (ret_error)
                *ret_error = text;
        else
                free(text);
        return err;
}

int restriction_term_make(const char *column, const char *op, char value_type, const void *value,
                          struct restriction_term *ret, enum mapi_error *ret_code, char **ret_error)
{
        if (ret_error)
                *ret_error = NULL;

        int c = status_column_from_name(column);
        if (c < 0)
                return term_error(-ENOENT, MAPI_E_BAD_COLUMN, ret_code, ret_error,
                                  "the status table has no column \"%s\"", strempty(column));

        int o = restriction_op_from_name(op);
        if (o < 0)
                return term_error(-EINVAL, MAPI_E_TOO_COMPLEX, ret_code, ret_error,
                                  "\"%s\" is not a restriction operator; use one of ==, !=, <, "
                                  "<=, >, >=, & (some bits set) or !& (no bits set)",
                                  strempty(op));

        bool string_column = column_is_string(c);
        bool string_value = value_type == 's' || value_type == 'o';
        /* A NULL value cannot be compared; it only arrives from a caller that
         * could not read the variant, so it counts as the wrong type. */
        bool type_fits = value && (string_column ? string_value : value_type == 'u');
        if (!type_fits)
                return term_error(-EINVAL, MAPI_E_TOO_COMPLEX, ret_code, ret_error,
                                  "column \"%s\" holds %s, but the restriction compares it "
                                  "with %s",
                                  columns[c].name, string_column ? "text" : "numbers (u)",
                                  value_type_words(value_type));

        if (string_column && (o == OP_BITS_SET || o == OP_BITS_CLEAR))
                return term_error(-EINVAL, MAPI_E_TOO_COMPLEX, ret_code, ret_error,
                                  "column \"%s\" holds text, so the bitmask operator \"%s\" "
                                  "does not apply; use == or != instead",
                                  columns[c].name, op_names[o]);

        struct restriction_term term = {.column = c, .op = o};
        if (string_column) {
                /* The caller's string lives in a bus message that is gone
                 * before the table is read, hence the copy. */
                term.s = strdup(value);
                if (!term.s) {
                        if (ret_code)
                                *ret_code = MAPI_E_CALL_FAILED;
                        return -ENOMEM;
                }
        } else
                term.u = *(const uint32_t *) value;

        *ret = term;
        return 0;
}

/* The sign of a three-way comparison decides every ordering op. */
static bool compare_matches(enum restriction_op op, int cmp)
{
        switch (op) {
        case OP_EQ:
                return cmp == 0;
        case OP_NE:
                return cmp != 0;
        case OP_LT:
                return cmp < 0;
        case OP_LE:
                return cmp <= 0;
        case OP_GT:
                return cmp > 0;
        case OP_GE:
                return cmp >= 0;
        default:
                return false;
        }
}

static bool term_matches(const struct status_row *row, const struct restriction_term *t)
{
        uint32_t u;
        const char *s;

        status_row_get(row, t->column, &u, &s);
        if (column_is_string(t->column))
                return compare_matches(t->op, strcmp(s, strempty(t->s)));

        switch (t->op) {
        case OP_BITS_SET:
                return (u & t->u) != 0;
        case OP_BITS_CLEAR:
                return (u & t->u) == 0;
        default:
                /* Compared unsigned: a StatusCode with high bits set is a
                 * large number, not a negative one. */
                return compare_matches(t->op, (u > t->u) - (u < t->u));
        }
}

bool restriction_match(const struct status_row *row, const struct restriction_term *terms, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!term_matches(row, &terms[i]))
                        return false;
        return true;
}
