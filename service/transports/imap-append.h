/* The copy of a message into a mailbox of an imap transport (SentCopy=):
 * IMAP APPEND through libcurl on the daemon's loop. One at a time per
 * transport. */
#pragma once

#include "transport.h"

struct imap_append;

/* Called once per transport_append() that returned 0, from a later
 * iteration of the loop: code MAPI_OK (the copy is there: made now, or
 * found there already), or why not. */
typedef void (*transport_append_done_fn)(struct transport *t, uint64_t id, enum mapi_error code,
                                         const char *error, void *userdata);

/* Copies message id (its stored body) into mailbox of t, an imap
 * transport, flagged \Seen. look_first: an earlier attempt may have made
 * the copy; a UID SEARCH for message_id ("" or an unusual one: not looked
 * for) comes first, and finding it there is success. -EOPNOTSUPP: t is not
 * an imap transport; -EBUSY: a copy is under way; -ENETDOWN: t is offline;
 * -ENODATA: the body is gone. */
int transport_append(struct transport *t, uint64_t id, const char *mailbox, const char *message_id,
                     bool look_first, transport_append_done_fn done, void *userdata);
/* When t goes: a copy under way ends with MAPI_E_USER_CANCEL. */
void transport_append_stop(struct transport *t);
