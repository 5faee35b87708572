/* libcurl's multi interface on our sd_event loop: curl tells us which
 * sockets to watch and when to wake it; we tell curl what happened. No call
 * here blocks, so network transfers share the loop with bus calls. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

struct curl_event;

/* Called once per transfer, from the loop, after the transfer has left the
 * multi handle. The callee owns easy again (it may clean it up or re-add it). */
typedef void (*curl_event_done_t)(CURL *easy, CURLcode result, void *userdata);

int curl_event_new(sd_event *event, struct curl_event **ret);
/* A new easy handle for a transfer of c (NULL when out of memory). The
 * first one sets libcurl up for the process: use this, never
 * curl_easy_init(). */
CURL *curl_event_easy_new(struct curl_event *c);
/* Aborts every running transfer without calling its done callback; the
 * easy handles are removed from the multi handle but not cleaned up (their
 * owners do that). */
struct curl_event *curl_event_free(struct curl_event *c);

/* Caps parallel connections (CURLMOPT_MAX_TOTAL_CONNECTIONS); 0 = no cap. */
void curl_event_set_max_connections(struct curl_event *c, unsigned max);

/* How many idle connections to keep for reuse (CURLMOPT_MAXCONNECTS); a
 * connection beyond it is closed when its transfer ends. */
void curl_event_set_connection_cache(struct curl_event *c, unsigned max);

/* Starts a transfer. Uses CURLOPT_PRIVATE of easy: do not set it yourself. */
int curl_event_add(struct curl_event *c, CURL *easy, curl_event_done_t done, void *userdata);
/* Like curl_event_add(), for a session of our own: libcurl connects, does
 * TLS and the logon (CURLOPT_CONNECT_ONLY), and calls done. After success
 * easy stays in the multi handle (leaving it would close the connection):
 * the owner talks with curl_easy_send() and curl_easy_recv() on the socket
 * of CURLINFO_ACTIVESOCKET, which curl no longer watches, and ends the
 * session with curl_event_remove(). After a failure, as curl_event_add(). */
int curl_event_add_connect_only(struct curl_event *c, CURL *easy, curl_event_done_t done,
                                void *userdata);
/* Stops a transfer (or ends a session) without calling done. Safe for a transfer not (or no
 * longer) running. */
void curl_event_remove(struct curl_event *c, CURL *easy);
