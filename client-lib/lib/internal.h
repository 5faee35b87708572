/* What the parts of libmailspool share: the handle and the one way every
 * call records its error. The bus contract's names (MAILSPOOL_BUS_NAME,
 * MAILSPOOL_SPOOLER_PATH, MAILSPOOL_IFACE_*, ...) come with mailspool.h from
 * mailspool-bus.h. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "mailspool.h"

/* Long enough for a synchronous flush of a large queue. */
#define MS_CALL_TIMEOUT_USEC (UINT64_C(24) * 3600 * 1000000)

#define MS_EXPORT __attribute__((visibility("default")))

#define _cleanup_(f) __attribute__((cleanup(f)))
static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

struct mailspool {
        sd_bus *bus;
        sd_bus_error error; /* of the last failed call */
};

/* Forgets the last error; every public call starts with it. */
void ms_error_reset(mailspool *m);
/* Turns r (and m->error, when the call failed with a D-Bus error) into the
 * negative errno the API promises. */
int ms_fail(mailspool *m, int r);

/* A transport id → its path; NULL → the spooler's path. */
int ms_status_path(const char *transport, char **ret);
/* The transport id of a transport path ("" for anything else). */
char *ms_transport_id(const char *path);

/* Reads one string, object path or signature into a new copy. */
int ms_read_string(sd_bus_message *reply, char type, char **ret);

/* Reads a variant of one basic type into field: a uint32_t or uint64_t for
 * 'u' or 't'; a bool for 'b'; for 's', 'o' or 'g' a char * that gets a new
 * copy (what it held is freed, so a repeated key does not leak). */
int ms_read_variant(sd_bus_message *reply, char type, void *field);
/* Reads a variant holding "as" or "ao" into *ret, freeing what it held. */
int ms_read_variant_strv(sd_bus_message *reply, const char *contents, char ***ret);
void ms_strv_free(char **strv);

/* Reads an a{sv}: read_value is called with each key and the message at its
 * variant, which it must read or skip. Returns 1 when a dictionary was read,
 * 0 when none was there (the end of the enclosing container, as with
 * sd_bus_message_enter_container()), else a negative errno. */
typedef int (*ms_read_value_fn)(sd_bus_message *reply, const char *key, void *userdata);
int ms_read_dict(sd_bus_message *reply, ms_read_value_fn read_value, void *userdata);

/* Appends the {sv} option "Transport" (Submit, ListMessages): the path of
 * the transport id. */
int ms_append_transport(sd_bus_message *call, const char *transport);
