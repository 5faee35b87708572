/* What the files of MailspoolClient share, not installed. */
#pragma once

#include "mailspool-client.h"

struct _MailspoolClient {
        GObject parent;
        GDBusConnection *connection;
        MailspoolSpooler *spooler; /* the spooler object's Spooler interface */
        MailspoolStatus *status;   /* and its Status interface, which flushes */
};

/* options, or an empty a{sv} when NULL; the result is floating only when
 * options was NULL, so it can go straight into a call. */
GVariant *client_options_or_empty(GVariant *options);
