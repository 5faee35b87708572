/* Session settings and session failures shared by the network transports
 * (see curl-session.h). */
#include "curl-session.h"

#include "log.h"
#include "util.h"

/* RFC 5321 4.5.3.2 asks clients to wait minutes for a reply; we wait long
 * enough for a loaded server and short enough that a dead one is noticed. */
#define CONNECT_TIMEOUT_SEC  30L
#define RESPONSE_TIMEOUT_SEC 300L

int curl_session_host_port(const char *url, char **ret)
{
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL;
        int r = -EINVAL;

        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
                r = asprintf(ret, "%s:%s", host, port) < 0 ? -ENOMEM : 0;
        curl_free(host);
        curl_free(port);
        curl_url_cleanup(u);
        return r;
}

static int warn_cleartext_logon(void *userdata, curl_socket_t fd, curlsocktype purpose)
{
        const struct transport_config *c = userdata;
        if (purpose == CURLSOCKTYPE_IPCXN)
                log_warning("transport \"%s\": logging on to %s without TLS (StartTLS=no): the "
                            "password travels in clear",
                            c->id, c->server);
        return CURL_SOCKOPT_OK;
}

static int errno_from_curl(CURLcode k)
{
        return k == CURLE_OK ? 0 : k == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

int curl_session_setup(CURL *e, const struct transport_config *c, const char *url,
                       char *error_buffer)
{
        CURLcode k = CURLE_OK;
#define SET(opt, val)                                                                              \
        do {                                                                                       \
                if (k == CURLE_OK)                                                                 \
                        k = curl_easy_setopt(e, opt, val);                                         \
        } while (0)
        SET(CURLOPT_URL, url ? url : c->server);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SEC);
        SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, RESPONSE_TIMEOUT_SEC);
        SET(CURLOPT_ERRORBUFFER, error_buffer);
        /* smtps://, imaps:// and pop3s:// are TLS from the start anyway. */
        SET(CURLOPT_USE_SSL, c->tls == TLS_NONE       ? (long) CURLUSESSL_NONE
                             : c->tls == TLS_OPTIONAL ? (long) CURLUSESSL_TRY
                                                      : (long) CURLUSESSL_ALL);
        if (c->tls_trust_file)
                SET(CURLOPT_CAINFO, c->tls_trust_file);
        if (c->tls_pinned_key) {
                /* The pin is the trust: a self-signed server has no chain
                 * to check, and a wrong key is refused all the same. */
                SET(CURLOPT_PINNEDPUBLICKEY, c->tls_pinned_key);
                SET(CURLOPT_SSL_VERIFYPEER, 0L);
                SET(CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (c->tls_client_certificate) {
                SET(CURLOPT_SSLCERT, c->tls_client_certificate);
                SET(CURLOPT_SSLKEY, c->tls_client_key);
        }
        if (c->cleartext_logon) {
                /* Every new connection is a logon: each one is warned about. */
                SET(CURLOPT_SOCKOPTFUNCTION, warn_cleartext_logon);
                SET(CURLOPT_SOCKOPTDATA, (void *) c);
        }
        if (c->user) {
                SET(CURLOPT_USERNAME, c->user);
                /* The first SASL step in the AUTH command, where the server
                 * offers it: one round trip less. */
                SET(CURLOPT_SASL_IR, 1L);
        }
        if (c->login_options)
                SET(CURLOPT_LOGIN_OPTIONS, c->login_options);
#undef SET
        return errno_from_curl(k);
}

/* Why the server's certificate was not accepted, in words a person acts on.
 * The numbers are OpenSSL's X509_V_ERR_* (libcurl passes them on). */
static const char *certificate_reason(CURL *e, CURLcode result, const char *detail)
{
        if (result == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
                return "pin mismatch (its public key is not TLSPinnedKey)";
        long verify = 0;
        curl_easy_getinfo(e, CURLINFO_SSL_VERIFYRESULT, &verify);
        switch (verify) {
        case 9: /* X509_V_ERR_CERT_NOT_YET_VALID */
                return "not yet valid";
        case 10: /* X509_V_ERR_CERT_HAS_EXPIRED */
                return "expired";
        case 2:  /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT */
        case 18: /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */
        case 19: /* X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN */
        case 20: /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
        case 21: /* X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE */
                return "unknown issuer (not in TLSTrustFile or the system store)";
        case 62: /* X509_V_ERR_HOSTNAME_MISMATCH */
        case 64: /* X509_V_ERR_IP_ADDRESS_MISMATCH */
                return "name mismatch (the certificate is for another host)";
        }
        /* libcurl checks the name itself and says so in words. */
        if (strstr(detail, "subject name") || strstr(detail, "does not match") ||
            strstr(detail, "not match target host"))
                return "name mismatch (the certificate is for another host)";
        return detail;
}

enum mapi_error curl_session_failure(CURL *e, CURLcode result, const char *where,
                                     const char *error_buffer, const char *server_said,
                                     char **ret_text)
{
        long code = 0, os_errno = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
        const char *detail =
            error_buffer && error_buffer[0] ? error_buffer : curl_easy_strerror(result);
        enum mapi_error m;
        int r;

        *ret_text = NULL;
        switch (result) {
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_OPERATION_TIMEDOUT:
                if (result == CURLE_OPERATION_TIMEDOUT && code != 0)
                        return MAPI_OK; /* a timeout in mid-conversation: a lost connection */
                m = MAPI_E_NETWORK_ERROR;
                if (result == CURLE_COULDNT_RESOLVE_HOST)
                        r = asprintf(ret_text, "Cannot resolve the server of %s", where);
                else if (os_errno == ECONNREFUSED)
                        r = asprintf(ret_text, "Connection refused by %s", where);
                else if (result == CURLE_OPERATION_TIMEDOUT)
                        r = asprintf(ret_text, "No answer from %s", where);
                else
                        r = asprintf(ret_text, "Cannot connect to %s: %s", where,
                                     os_errno ? strerror((int) os_errno) : detail);
                break;
        case CURLE_LOGIN_DENIED:
                m = MAPI_E_LOGON_FAILED;
                r = asprintf(ret_text, "Logon refused by %s: %s", where,
                             server_said && server_said[0] ? server_said : detail);
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
                m = MAPI_E_NETWORK_ERROR;
                r = asprintf(ret_text, CURL_SESSION_CERTIFICATE_PREFIX "%s: %s", where,
                             certificate_reason(e, result, detail));
                break;
        case CURLE_USE_SSL_FAILED:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CACERT_BADFILE:
                m = MAPI_E_NETWORK_ERROR;
                r = asprintf(ret_text, "No secure connection to %s: %s", where, detail);
                break;
        default:
                return MAPI_OK;
        }
        if (r < 0)
                *ret_text = NULL;
        return m;
}

int curl_session_url_with_path(const char *server, const char *path, char **ret)
{
        CURLU *u = curl_url();
        char *url = NULL;
        int r = -EINVAL;
        if (u && curl_url_set(u, CURLUPART_URL, server, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_PATH, path, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &url, 0) == CURLUE_OK) {
                *ret = strdup(url);
                r = *ret ? 0 : -ENOMEM;
        }
        curl_free(url);
        curl_url_cleanup(u);
        return r;
}

int curl_session_send(CURL *easy, const char *data, size_t size, size_t *sent)
{
        while (*sent < size) {
                size_t n = 0;
                CURLcode k = curl_easy_send(easy, data + *sent, size - *sent, &n);
                if (k == CURLE_AGAIN)
                        return 1;
                if (k != CURLE_OK)
                        return -EIO;
                *sent += n;
        }
        return 0;
}
