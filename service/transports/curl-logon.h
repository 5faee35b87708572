/* The logon of one libcurl transfer with a mail server: its secret (a
 * password or an OAuth2 token, waiting for a fetch if need be), one more
 * try with a fresh secret when the server refuses one that was kept from
 * before, and the mechanism it used, for ValidateState to report. */
#pragma once

#include <curl/curl.h>

#include "config.h"
#include "logon-mechanism.h"
#include "secret-source.h"

struct curl_logon {
        /* Set by the driver. */
        CURL *easy;
        struct secret_source *source;
        const struct transport_config *config;
        /* When the secret came later (curl_logon_begin() returned 0, or a
         * retry began): error NULL and the secret is set on easy, which may
         * be started; else why there is no secret. From the event loop. */
        void (*go)(struct curl_logon *l, const char *error);

        /* Ours. */
        struct secret_wait wait;
        bool waiting;
        uint64_t generation;
        bool fetched; /* the secret was fetched for this logon */
        bool retried;
        char mechanism[LOGON_MECHANISM_MAX + 1]; /* "" until a logon command was seen */
};

/* Sets the secret on l->easy: 1 when it is set and the transfer may start
 * now; 0 when it is being fetched and l->go() will say; negative errno when
 * there can be none (logged). */
int curl_logon_begin(struct curl_logon *l);
/* After a transfer that ended with result: when the server refused a kept
 * secret, a fresh one is asked for once and true returned: l->go() (maybe
 * before this returns) starts easy again. Otherwise false. */
bool curl_logon_retry(struct curl_logon *l, CURLcode result);
/* Stops waiting for a secret. */
void curl_logon_cancel(struct curl_logon *l);
/* For the driver's CURLINFO_HEADER_OUT lines: notes a logon command's mechanism. */
void curl_logon_see_line(struct curl_logon *l, const char *data, size_t size);
