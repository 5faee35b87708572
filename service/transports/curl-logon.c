/* A transfer's logon (see curl-logon.h). */
#include "curl-logon.h"

#include "log.h"

static int set_secret(struct curl_logon *l, const char *secret)
{
        if (!secret)
                return 0; /* nothing to log on with: anonymous */
        CURLoption option =
            l->config->auth == AUTH_OAUTH2 ? CURLOPT_XOAUTH2_BEARER : CURLOPT_PASSWORD;
        CURLcode k = curl_easy_setopt(l->easy, option, secret);
        return k == CURLE_OK ? 0 : k == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;
}

static void secret_ready(struct secret_wait *w, const char *secret, uint64_t generation,
                         const char *error)
{
        struct curl_logon *l = container_of(w, struct curl_logon, wait);
        l->waiting = false;
        l->generation = generation;
        l->fetched = true;
        if (!error && set_secret(l, secret) < 0)
                error = "cannot hand the secret to libcurl";
        l->go(l, error);
}

int curl_logon_begin(struct curl_logon *l)
{
        const char *secret = NULL;
        _cleanup_free_ char *error = NULL;
        l->mechanism[0] = '\0';
        l->wait.ready = secret_ready;
        int r = secret_source_get(l->source, &l->wait, &secret, &l->generation, &error);
        if (r == 0) {
                l->waiting = true;
                return 0;
        }
        if (r < 0) {
                log_warning("transport \"%s\": %s", l->config->id, error ? error : strerror(-r));
                return r;
        }
        l->fetched = false;
        r = set_secret(l, secret);
        return r < 0 ? r : 1;
}

bool curl_logon_retry(struct curl_logon *l, CURLcode result)
{
        if (result != CURLE_LOGIN_DENIED)
                return false;
        /* Dropped whether or not we try again: the next logon fetches anew. */
        bool newer = secret_source_refused(l->source, l->generation);
        if (!newer || l->fetched || l->retried)
                return false;
        l->retried = true;
        log_info("transport \"%s\": the server refused the kept %s secret; asking for it again",
                 l->config->id, secret_kind_to_string(l->config->secret));
        int r = curl_logon_begin(l);
        if (r < 0)
                return false;
        if (r > 0)
                l->go(l, NULL);
        return true;
}

void curl_logon_cancel(struct curl_logon *l)
{
        if (l->waiting && l->source)
                secret_source_cancel(l->source, &l->wait);
        l->waiting = false;
}

void curl_logon_see_line(struct curl_logon *l, const char *data, size_t size)
{
        (void) logon_mechanism_of_line(data, size, l->mechanism);
}
