/* libmailspool-glib: the GObject binding of the mailspool spooler.
 *
 * The proxies of the four interfaces (MailspoolSpooler, MailspoolStatus,
 * MailspoolTransport, MailspoolMessage) are generated from the introspection
 * XML; MailspoolClient adds what is awkward with them alone. docs/glib.md
 * describes every name. */
#pragma once

#include <mailspool-generated.h>
#include <mailspool-error.h>
#include <mailspool-client.h>
