/* One SMTP session of an smtp transport, on the daemon's loop. libcurl opens
 * it: the connection, TLS or STARTTLS, EHLO and the logon, with the trust
 * settings and secrets every libcurl transfer has (CURLOPT_CONNECT_ONLY).
 * From then on the session is ours: commands go out with curl_easy_send(),
 * and the server's replies are read whole, in order, when the loop finds
 * the socket readable. Which commands, and what the replies mean, is the
 * driver's (transport-smtp.c). */
#pragma once

#include "smtp-data.h"
#include "smtp-reply.h"
#include "transport.h"

struct smtp_session;

struct smtp_session_events {
        /* The session is open and logged on (code MAPI_OK), or could not be
         * opened: code says whether the server could not be reached or
         * refused the logon (MAPI_E_NETWORK_ERROR, MAPI_E_LOGON_FAILED), or
         * is MAPI_E_CALL_FAILED with reply the server's refusal (a greeting
         * of 554, an EHLO refused), text a sentence for a person. After a
         * failure the session is closed; its owner frees it. */
        void (*opened)(struct smtp_session *s, enum mapi_error code, const struct smtp_reply *reply,
                       const char *text, void *userdata);
        /* One whole reply, to the oldest command still waiting for one. A
         * 421 is one too, and lost() follows it (the server closes). */
        void (*reply)(struct smtp_session *s, const struct smtp_reply *reply, void *userdata);
        /* The connection broke, the server closed it (or said 421), or a
         * reply did not come in time: text says which. The session is
         * closed; its owner frees it. */
        void (*lost)(struct smtp_session *s, const char *text, void *userdata);
};

/* Starts opening a session to t's server; the events go to userdata. */
int smtp_session_open(struct transport *t, const struct smtp_session_events *events, void *userdata,
                      struct smtp_session **ret);
/* Closes at once (no QUIT) and frees; never from inside one of its events. */
struct smtp_session *smtp_session_free(struct smtp_session *s);
/* What the server offered in its last EHLO reply. */
const struct smtp_caps *smtp_session_caps(const struct smtp_session *s);
/* Sends size bytes of data (commands, or a message's data), which ask for
 * replies replies; the data is copied. */
int smtp_session_send(struct smtp_session *s, const char *data, size_t size, unsigned replies);
/* Bytes handed to smtp_session_send() not yet taken by the kernel. */
size_t smtp_session_unsent(const struct smtp_session *s);
/* Ends the session: QUIT goes out first when quit is set and the socket
 * takes it at once (six bytes: it does), without waiting for the answer.
 * No event comes after this; the session is still to be freed, which must
 * not happen inside one of its own events (its multi handle is in use). */
void smtp_session_end(struct smtp_session *s, bool quit);

static inline void smtp_session_freep(struct smtp_session **s)
{
        smtp_session_free(*s);
}
