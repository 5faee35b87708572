/* The flush engine: one piece behind FlushQueues on the spooler and on a
 * transport (docs/api.md, Status.FlushQueues). */
#pragma once

#include "transport.h"

struct flush;

/* Handles FlushQueues(target, flags) called on the spooler (on_transport
 * NULL) or on a transport. Replies to m now (errors, FLUSH_ASYNC_OK) or when
 * the flush ends. */
int flush_queues_call(struct daemon *d, struct transport *on_transport, sd_bus_message *m,
                      const char *target, uint32_t flags, sd_bus_error *error);
/* CancelFlush(target). */
int flush_cancel_call(struct daemon *d, sd_bus_message *m, const char *target, sd_bus_error *error);

/* Reports from transports. */
void flush_message_outcome(struct flush *f, struct transport *t, enum delivery_outcome outcome);
void flush_message_received(struct flush *f, struct transport *t);
void flush_part_done(struct flush *f, struct transport *t, enum flush_direction dir,
                     enum mapi_error code, const char *error);
