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
