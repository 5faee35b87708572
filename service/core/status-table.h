/* The status table of QueryStatusTable (docs/bus-api.md, Spooler): its columns,
 * and the AND-restriction evaluated over its rows. Pure logic, no bus. */
#pragma once

#include "mapi-error.h"
#include "util.h"

enum status_column {
        COL_ENTRY_ID,
        COL_ROW_ID,
        COL_OBJECT_TYPE,
        COL_RESOURCE_TYPE,
        COL_DISPLAY_NAME,
        COL_PROVIDER_DISPLAY,
        COL_RESOURCE_METHODS,
        COL_RESOURCE_FLAGS,
        COL_STATUS_CODE,
        COL_STATUS_STRING,
        COL_IDENTITY_DISPLAY,
        _COL_MAX,
};
const char *status_column_name(enum status_column c); /* "EntryID", ... */
char status_column_type(enum status_column c);        /* 'o', 'u' or 's' */
int status_column_from_name(const char *name);        /* or -EINVAL */

struct status_row {
        const char *entry_id; /* object path */
        uint32_t row_id;
        uint32_t object_type;
        uint32_t resource_type;
        const char *display_name;
        const char *provider_display;
        uint32_t resource_methods;
        uint32_t resource_flags;
        uint32_t status_code;
        const char *status_string;
        const char *identity_display;
};
/* A column's value in a row: *ret_u for 'u' columns, *ret_s otherwise. */
void status_row_get(const struct status_row *r, enum status_column c, uint32_t *ret_u,
                    const char **ret_s);

enum restriction_op {
        OP_EQ,         /* == */
        OP_NE,         /* != */
        OP_LT,         /* <  */
        OP_LE,         /* <= */
        OP_GT,         /* >  */
        OP_GE,         /* >= */
        OP_BITS_SET,   /* &  : bitmask non-zero */
        OP_BITS_CLEAR, /* !& : bitmask zero */
        _OP_MAX,
};

struct restriction_term {
        enum status_column column;
        enum restriction_op op;
        uint32_t u;
        char *s; /* owned; for 's' and 'o' columns */
};
void restriction_terms_free(struct restriction_term *t, size_t n);

/* Builds one term from (column, op, value) where value_type is the D-Bus type
 * of the variant ('u', 's', 'o', or any other type character) and value points
 * to a uint32_t for 'u', to a const char* string for 's'/'o', else is ignored.
 * Unknown column -> -ENOENT with *ret_code MAPI_E_BAD_COLUMN; unknown op, a
 * value type that does not fit the column ('o' and 's' are interchangeable),
 * or a bitmask op on a string column -> -EINVAL with MAPI_E_TOO_COMPLEX.
 * *ret_error is a sentence for the user (without the MAPI prefix). */
int restriction_term_make(const char *column, const char *op, char value_type, const void *value,
                          struct restriction_term *ret, enum mapi_error *ret_code,
                          char **ret_error);
/* True if row satisfies every term (an empty restriction matches all). */
bool restriction_match(const struct status_row *row, const struct restriction_term *terms,
                       size_t n);
