/* Push for an imap transport: one connection of its own that waits in IDLE
 * (RFC 2177) on the transport's mailbox, and tells the transport when new
 * mail came (transport_new_mail()) and how the connection fares
 * (transport_push_changed()). The download itself stays the driver's. */
#pragma once

#include "transport.h"

struct imap_idle;

int imap_idle_new(struct transport *t, struct imap_idle **ret);
struct imap_idle *imap_idle_free(struct imap_idle *i);
/* Opens the connection when the transport may connect and it is not open
 * or being opened; closes it when the transport may not. */
void imap_idle_update(struct imap_idle *i);
