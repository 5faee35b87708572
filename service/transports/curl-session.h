/* What every libcurl session with a mail server needs, whatever the
 * protocol: the server and its TLS and logon settings from the transport's
 * configuration, and a sentence for a person when the session could not be
 * had at all (no connection, no logon). */
#pragma once

#include <curl/curl.h>

#include "config.h"
#include "mapi-error.h"

/* "host:port" of a server URL, the port spelled out even when it is the
 * scheme's default. */
int curl_session_host_port(const char *url, char **ret);

/* The server URL with its path replaced (IMAP: the mailbox and what to
 * fetch; POP3: the message number). */
int curl_session_url_with_path(const char *server, const char *path, char **ret);
/* On a session opened with CURLOPT_CONNECT_ONLY: hands the socket what it
 * takes of data[*sent, size), moving *sent on. 0: all of it went; 1: the
 * rest waits until the socket is writable; -EIO: the connection broke. */
int curl_session_send(CURL *easy, const char *data, size_t size, size_t *sent);

/* Sets URL (url, or c->server if NULL), timeouts, TLS (c->tls and the trust
 * settings), the user and the mechanisms, and error_buffer (CURL_ERROR_SIZE
 * bytes). The secret comes from curl-logon.c. */
int curl_session_setup(CURL *e, const struct transport_config *c, const char *url,
                       char *error_buffer);

/* When a finished transfer failed to reach or log on to the server (where =
 * "host:port"): MAPI_E_NETWORK_ERROR or MAPI_E_LOGON_FAILED and a sentence
 * such as "Connection refused by 127.0.0.1:2525" in *ret_text. MAPI_OK when the
 * failure (if any) came later in the conversation. server_said is the
 * server's last words, if known (may be NULL). */
/* How the sentence about a server certificate that was not accepted starts:
 * "certificate: HOST:PORT: REASON" (expired, unknown issuer, name mismatch,
 * pin mismatch), so that a script and mailspoolctl can tell it apart. */
#define CURL_SESSION_CERTIFICATE_PREFIX "certificate: "

enum mapi_error curl_session_failure(CURL *e, CURLcode result, const char *where,
                                     const char *error_buffer, const char *server_said,
                                     char **ret_text);
