/* SentCopy=: a sent message copied into a mailbox of an imap transport.
 * libcurl's IMAP upload is APPEND with the \Seen flag, which is what a Sent
 * folder wants. When an earlier attempt may have made the copy (the daemon
 * stopped, or the connection broke, before the server's answer), a UID
 * SEARCH for the Message-ID comes first, so the copy is not made twice. A
 * mailbox that does not exist is created once, as RFC 3501 invites
 * ([TRYCREATE]).
 * The transfers have a multi handle of their own (the transport's
 * append_curl): a download of the same transport may run beside them. */
#include "imap-append.h"

#include "curl-event.h"
#include "curl-logon.h"
#include "curl-session.h"
#include "fetch-parse.h"
#include "log.h"
#include "utf8.h"

/* What a SEARCH may answer: the UIDs of a handful of messages. */
#define SEARCH_MAX_SIZE ((size_t) 64 << 10)

struct imap_append {
        struct transport *t;
        uint64_t id;
        struct curl_event *curl;
        CURL *easy;
        struct curl_logon logon;
        /* The transfer at hand: the SEARCH (when an earlier attempt may
         * have made the copy), the APPEND, or the CREATE of a mailbox the
         * server said to create ([TRYCREATE]; once). */
        enum { STEP_SEARCH, STEP_APPEND, STEP_CREATE } step;
        bool created;
        char *url;      /* the mailbox's */
        char *root_url; /* the server's, for CREATE */
        char *create;   /* the CREATE command */
        char *search;   /* the SEARCH command; NULL: none */
        char *host_port;
        char *data; /* the message, CRLF */
        size_t size, offset;
        char *answer; /* what the SEARCH answered */
        size_t answer_size;
        bool answer_too_long;
        char server_said[256];
        char refusal[256]; /* the server's last tagged NO or BAD: what it refused */
        char curl_error[CURL_ERROR_SIZE];
        transport_append_done_fn done;
        void *userdata;
};

static void append_free(struct imap_append *a)
{
        if (!a)
                return;
        curl_logon_cancel(&a->logon);
        if (a->easy) {
                curl_event_remove(a->curl, a->easy);
                curl_easy_cleanup(a->easy);
        }
        free(a->url);
        free(a->root_url);
        free(a->create);
        free(a->search);
        free(a->host_port);
        free(a->data);
        free(a->answer);
        free(a);
}

/* The end, told once; the copy is forgotten first, so done may start the next. */
static void append_end(struct imap_append *a, enum mapi_error code, const char *error)
{
        struct transport *t = a->t;
        uint64_t id = a->id;
        transport_append_done_fn done = a->done;
        void *userdata = a->userdata;
        t->append = NULL;
        append_free(a);
        if (code)
                log_warning("transport \"%s\": cannot copy message %" PRIu64 ": %s", t->config->id,
                            id, error);
        else
                log_info("transport \"%s\": message %" PRIu64 " copied", t->config->id, id);
        done(t, id, code, error, userdata);
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
        struct imap_append *a = userdata;
        size_t n = size * nitems;
        if (n > a->size - a->offset)
                n = a->size - a->offset;
        memcpy(buf, a->data + a->offset, n);
        a->offset += n;
        return n;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct imap_append *a = userdata;
        size_t n = size * nmemb;
        if (n > SEARCH_MAX_SIZE - a->answer_size) {
                a->answer_too_long = true;
                return 0; /* libcurl ends the transfer with an error */
        }
        char *more = realloc(a->answer, a->answer_size + n + 1);
        if (!more)
                return 0;
        a->answer = more;
        memcpy(a->answer + a->answer_size, data, n);
        a->answer_size += n;
        a->answer[a->answer_size] = '\0';
        return n;
}

static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        struct imap_append *a = userdata;
        if (type == CURLINFO_HEADER_OUT)
                curl_logon_see_line(&a->logon, data, size);
        if (type != CURLINFO_HEADER_IN)
                return 0;
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
                size--;
        utf8_copy_line(a->server_said, sizeof(a->server_said), data, size);
        /* libcurl logs out after a refusal: the last line is then the
         * LOGOUT's OK, and the refusal is the line to keep. */
        const char *sp = memchr(data, ' ', size);
        size_t rest = sp ? size - (size_t) (sp + 1 - data) : 0;
        if (sp && data[0] != '*' && data[0] != '+' &&
            ((rest >= 3 && memcmp(sp + 1, "NO ", 3) == 0) ||
             (rest >= 4 && memcmp(sp + 1, "BAD ", 4) == 0)))
                utf8_copy_line(a->refusal, sizeof(a->refusal), data, size);
        return 0;
}

static void transfer_done_cb(CURL *easy, CURLcode result, void *userdata);

static void logon_go(struct curl_logon *l, const char *error)
{
        struct imap_append *a = container_of(l, struct imap_append, logon);
        if (error)
                append_end(a, MAPI_E_LOGON_FAILED, error);
        else if (curl_event_add(a->curl, a->easy, transfer_done_cb, a) < 0)
                append_end(a, MAPI_E_CALL_FAILED, "cannot start the transfer");
}

/* The next transfer: the SEARCH (if wanted and not done), else the APPEND. */
static int transfer_start(struct imap_append *a)
{
        struct transport *t = a->t;
        a->easy = curl_easy_init();
        if (!a->easy)
                return -ENOMEM;
        a->logon = (struct curl_logon){
            .easy = a->easy,
            .source = t->secret,
            .config = t->config,
            .go = logon_go,
        };
        a->server_said[0] = '\0';
        a->refusal[0] = '\0';
        a->curl_error[0] = '\0';
        int r = curl_session_setup(a->easy, t->config,
                                   a->step == STEP_CREATE ? a->root_url : a->url, a->curl_error);
        CURLcode k = r < 0 ? CURLE_OUT_OF_MEMORY : CURLE_OK;
        if (k == CURLE_OK)
                k = curl_easy_setopt(a->easy, CURLOPT_DEBUGFUNCTION, debug_cb);
        if (k == CURLE_OK)
                k = curl_easy_setopt(a->easy, CURLOPT_DEBUGDATA, a);
        if (k == CURLE_OK)
                k = curl_easy_setopt(a->easy, CURLOPT_VERBOSE, 1L); /* feeds debug_cb only */
        if (a->step != STEP_APPEND) {
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_CUSTOMREQUEST,
                                             a->step == STEP_SEARCH ? a->search : a->create);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, write_cb);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_WRITEDATA, a);
        } else {
                a->offset = 0;
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_UPLOAD, 1L);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_READFUNCTION, read_cb);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_READDATA, a);
                if (k == CURLE_OK)
                        k = curl_easy_setopt(a->easy, CURLOPT_INFILESIZE_LARGE,
                                             (curl_off_t) a->size);
        }
        if (r >= 0 && k != CURLE_OK)
                r = -ENOMEM;
        if (r >= 0)
                r = curl_logon_begin(&a->logon);
        if (r > 0)
                r = curl_event_add(a->curl, a->easy, transfer_done_cb, a);
        if (r < 0) {
                curl_logon_cancel(&a->logon);
                curl_easy_cleanup(a->easy);
                a->easy = NULL;
        }
        return r < 0 ? r : 0;
}

static int count_uid(const char *uid, const char *locator, void *userdata)
{
        (*(size_t *) userdata)++;
        return 0;
}

static void transfer_done_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct imap_append *a = userdata;
        if (curl_logon_retry(&a->logon, result))
                return; /* easy goes again once the new secret is here */
        a->easy = NULL; /* it has left the multi handle */

        if (result != CURLE_OK && a->step == STEP_SEARCH && strstr(a->refusal, "[NONEXISTENT]")) {
                /* No such mailbox (RFC 5530): no copy in it either. */
                curl_easy_cleanup(easy);
                a->step = STEP_APPEND;
                if (transfer_start(a) < 0)
                        append_end(a, MAPI_E_CALL_FAILED, "cannot start the copy");
                return;
        }
        if (result != CURLE_OK && a->step == STEP_APPEND && !a->created &&
            strstr(a->refusal, "[TRYCREATE]")) {
                /* RFC 3501: the mailbox does not exist, and may be created. */
                curl_easy_cleanup(easy);
                log_info("transport \"%s\": creating the mailbox for copies", a->t->config->id);
                a->step = STEP_CREATE;
                a->created = true;
                if (transfer_start(a) < 0)
                        append_end(a, MAPI_E_CALL_FAILED, "cannot create the mailbox");
                return;
        }
        if (result != CURLE_OK) {
                _cleanup_free_ char *text = NULL;
                /* Before the cleanup: it reads what easy knows (TLS, logon). */
                const char *said = a->refusal[0] ? a->refusal : a->server_said;
                enum mapi_error code =
                    curl_session_failure(easy, result, a->host_port, a->curl_error, said, &text);
                curl_easy_cleanup(easy);
                if (!code) {
                        code = MAPI_E_CALL_FAILED;
                        if (asprintf(&text, "%s: %s", a->host_port,
                                     a->answer_too_long ? "the search answered too much"
                                     : said[0]          ? said
                                     : a->curl_error[0] ? a->curl_error
                                                        : curl_easy_strerror(result)) < 0)
                                text = NULL;
                }
                append_end(a, code, text ? text : "the copy failed");
                return;
        }
        curl_easy_cleanup(easy);
        if (a->step == STEP_CREATE) {
                a->step = STEP_APPEND;
                if (transfer_start(a) < 0)
                        append_end(a, MAPI_E_CALL_FAILED, "cannot start the copy");
                return;
        }
        if (a->step == STEP_SEARCH) {
                size_t found = 0;
                if (fetch_parse_listing(true, a->answer ? a->answer : (char[]){""}, count_uid,
                                        &found) < 0)
                        found = 0; /* unreadable: copied again rather than lost */
                if (found > 0) {
                        log_info("transport \"%s\": message %" PRIu64 " is in the mailbox already",
                                 a->t->config->id, a->id);
                        append_end(a, MAPI_OK, NULL);
                        return;
                }
                a->step = STEP_APPEND;
                if (transfer_start(a) < 0)
                        append_end(a, MAPI_E_CALL_FAILED, "cannot start the copy");
                return;
        }
        append_end(a, MAPI_OK, NULL);
}

/* UID SEARCH HEADER Message-ID "<...>", for a Message-ID that fits a quoted
 * string as it is (printable ASCII, no quote or backslash); NULL else. */
static char *search_command(const char *message_id)
{
        if (!message_id || !*message_id)
                return NULL;
        for (const char *p = message_id; *p; p++)
                if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\')
                        return NULL;
        char *c = NULL;
        return asprintf(&c, "UID SEARCH HEADER Message-ID \"%s\"", message_id) < 0 ? NULL : c;
}

int transport_append(struct transport *t, uint64_t id, const char *mailbox, const char *message_id,
                     bool look_first, transport_append_done_fn done, void *userdata)
{
        if (t->config->kind != TRANSPORT_IMAP)
                return -EOPNOTSUPP;
        if (t->append)
                return -EBUSY;
        if (t->offline || t->no_network)
                return -ENETDOWN;

        struct imap_append *a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        a->t = t;
        a->id = id;
        a->done = done;
        a->userdata = userdata;
        _cleanup_free_ void *body = NULL;
        _cleanup_free_ char *path = NULL;
        size_t size = 0;
        int r = store_get_body(t->env.store, id, &body, &size);
        if (r >= 0)
                r = text_to_crlf(body ? body : "", size, &a->data, &a->size);
        if (r >= 0)
                r = asprintf(&path, "/%s", mailbox) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = curl_session_url_with_path(t->config->server, path, &a->url);
        if (r >= 0)
                r = curl_session_host_port(t->config->server, &a->host_port);
        /* The transport's, not the copy's: a multi handle must outlive
         * the callback in which a transfer ends. */
        if (r >= 0 && !t->append_curl)
                r = curl_event_new(t->env.event, &t->append_curl);
        a->curl = t->append_curl;
        if (r >= 0)
                r = curl_session_url_with_path(t->config->server, "/", &a->root_url);
        if (r >= 0)
                r = asprintf(&a->create, "CREATE \"%s\"", mailbox) < 0 ? -ENOMEM : 0;
        a->search = look_first ? search_command(message_id) : NULL;
        a->step = a->search ? STEP_SEARCH : STEP_APPEND;
        if (r >= 0)
                r = transfer_start(a);
        if (r < 0) {
                append_free(a);
                return r;
        }
        t->append = a;
        return 0;
}

void transport_append_stop(struct transport *t)
{
        if (t->append)
                append_end(t->append, MAPI_E_USER_CANCEL, "the transport was stopped");
        t->append_curl = curl_event_free(t->append_curl);
}
