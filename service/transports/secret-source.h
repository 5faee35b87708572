/* Where a transport's secret (a password, or an OAuth2 token) comes from,
 * and the one it has: read from a file for each logon, or fetched (a
 * command, the Secret Service, GNOME Online Accounts) and kept until it
 * expires or the server refuses it. One fetch at a time serves every logon
 * waiting for it. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"

struct secret_source;

/* A logon waiting for a secret: ready() is called once, from the event
 * loop, with the secret (borrowed for the call) or a sentence saying why
 * there is none, such as "PasswordCommand: exited with status 1". */
struct secret_wait {
        struct secret_wait *next;
        void (*ready)(struct secret_wait *w, const char *secret, uint64_t generation,
                      const char *error);
};

/* session_bus: where SecretService and OnlineAccount are asked (NULL on the
 * system bus, where the configuration does not allow them). */
int secret_source_new(sd_event *event, sd_bus *session_bus, const struct transport_config *c,
                      struct secret_source **ret);
/* Waiting logons are dropped without a call. */
struct secret_source *secret_source_free(struct secret_source *s);

/* The secret for a logon: 1 with it in *ret_secret (borrowed until the next
 * call; NULL when the transport has none) and its *ret_generation; 0 when
 * it is being fetched and w->ready() will say; negative errno with a
 * sentence in *ret_error (a file that cannot be read). */
int secret_source_get(struct secret_source *s, struct secret_wait *w, const char **ret_secret,
                      uint64_t *ret_generation, char **ret_error);
void secret_source_cancel(struct secret_source *s, struct secret_wait *w);
/* After a reload kept the transport: an equal configuration at another
 * address. What is kept (a token) stays. */
void secret_source_set_config(struct secret_source *s, const struct transport_config *c);

/* The server refused the logon made with the secret of that generation.
 * For a fetched secret it is dropped, and true says a newer one may be
 * worth one more logon; false for a file, read again each time anyway. */
bool secret_source_refused(struct secret_source *s, uint64_t generation);
