/* A transport's secret: read, or fetched and kept (see secret-source.h).
 * Nothing here logs or reports a secret; the sentences name the source. */
#include "secret-source.h"

#include "dh-session.h"
#include "log.h"
#include "secret-command.h"
#include "secret-file.h"

#define SECRETS_NAME       "org.freedesktop.secrets"
#define SECRETS_PATH       "/org/freedesktop/secrets"
#define SECRETS_SERVICE    "org.freedesktop.Secret.Service"
#define SECRETS_ITEM       "org.freedesktop.Secret.Item"
#define SECRETS_SESSION    "org.freedesktop.Secret.Session"
#define GOA_NAME           "org.gnome.OnlineAccounts"
#define GOA_ACCOUNTS_PATH  "/org/gnome/OnlineAccounts/Accounts/"
#define GOA_PASSWORD_BASED "org.gnome.OnlineAccounts.PasswordBased"
#define GOA_OAUTH2_BASED   "org.gnome.OnlineAccounts.OAuth2Based"
/* A token is not used in its last minute: the logon it is for may take that long. */
#define EXPIRY_MARGIN_USEC (60 * USEC_PER_SEC)

struct secret_source {
        sd_event *event;
        sd_bus *bus;
        const struct transport_config *config;

        char *secret;          /* the one at hand, or NULL */
        uint64_t expires_usec; /* CLOCK_MONOTONIC; 0: until refused */
        uint64_t generation;   /* counts the secrets fetched */

        struct secret_wait *waiters;
        bool fetching;
        struct secret_command *command;
        sd_bus_slot *slot;     /* the bus call in flight */
        char *session_path;    /* the Secret Service session while fetching */
        struct dh_session *dh; /* its keys */
};

static void secret_clear(struct secret_source *s)
{
        if (s->secret) {
                explicit_bzero(s->secret, strlen(s->secret));
                s->secret = mfree(s->secret);
        }
        s->expires_usec = 0;
}

/* Closes the Secret Service session, without waiting for the answer. */
static void close_session(struct secret_source *s)
{
        if (!s->session_path)
                return;
        (void) sd_bus_call_method_async(s->bus, NULL, SECRETS_NAME, s->session_path,
                                        SECRETS_SESSION, "Close", NULL, NULL, "");
        s->session_path = mfree(s->session_path);
}

static void fetch_stop(struct secret_source *s)
{
        s->command = secret_command_free(s->command);
        s->slot = sd_bus_slot_unref(s->slot);
        close_session(s);
        s->dh = dh_session_free(s->dh);
        s->fetching = false;
}

struct secret_source *secret_source_free(struct secret_source *s)
{
        if (!s)
                return NULL;
        fetch_stop(s);
        secret_clear(s);
        free(s);
        return NULL;
}

int secret_source_new(sd_event *event, sd_bus *session_bus, const struct transport_config *c,
                      struct secret_source **ret)
{
        struct secret_source *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = event;
        s->bus = session_bus;
        s->config = c;
        *ret = s;
        return 0;
}

/* The end of a fetch: the secret (a copy is kept) valid for lifetime
 * seconds (0: until refused), or why there is none. Every waiter hears. */
static void fetch_done(struct secret_source *s, const char *secret, uint64_t lifetime,
                       const char *error)
{
        _cleanup_free_ char *text = NULL;
        fetch_stop(s);
        secret_clear(s);
        if (!error && !(s->secret = strdup(secret)))
                error = "out of memory";
        if (error) {
                const char *source = secret_kind_to_string(s->config->secret);
                if (asprintf(&text, "%s: %s", source, error) < 0)
                        text = NULL;
                error = text ? text : error;
                log_warning("transport \"%s\": no secret from %s", s->config->id, error);
        } else {
                s->generation++;
                if (lifetime > 0) {
                        uint64_t usec = lifetime * USEC_PER_SEC;
                        uint64_t now = 0;
                        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
                        /* A short-lived token is used for its first half. */
                        s->expires_usec =
                            now +
                            (usec > 2 * EXPIRY_MARGIN_USEC ? usec - EXPIRY_MARGIN_USEC : usec / 2);
                }
        }
        /* A waiter may wait again (and be added to a new list) when called. */
        struct secret_wait *list = s->waiters;
        s->waiters = NULL;
        while (list) {
                struct secret_wait *w = list;
                list = w->next;
                w->next = NULL;
                w->ready(w, error ? NULL : s->secret, s->generation, error);
        }
}

/* ---- PasswordCommand, TokenCommand ---- */

/* The first line is the secret; for a token, a second line may give the
 * seconds it is valid for (as an OAuth2 token response's expires_in). */
static void command_done(void *userdata, const char *output, size_t size, const char *error)
{
        struct secret_source *s = userdata;
        if (error) {
                fetch_done(s, NULL, 0, error);
                return;
        }
        if (memchr(output, '\0', size)) {
                fetch_done(s, NULL, 0, "printed a NUL byte");
                return;
        }
        size_t n = strcspn(output, "\r\n");
        if (n == 0) {
                fetch_done(s, NULL, 0, "printed nothing");
                return;
        }
        _cleanup_free_ char *line = strndup(output, n);
        if (!line) {
                fetch_done(s, NULL, 0, "out of memory");
                return;
        }
        uint64_t lifetime = 0;
        const char *rest = output + n + strspn(output + n, "\r\n");
        if (s->config->secret == SECRET_TOKEN_COMMAND && *rest) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(rest, &end, 10);
                if (errno == 0 && end != rest && (*end == '\0' || *end == '\n' || *end == '\r'))
                        lifetime = v;
        }
        fetch_done(s, line, lifetime, NULL);
        explicit_bzero(line, n);
}

static int fetch_command(struct secret_source *s)
{
        const struct transport_config *c = s->config;
        return secret_command_start(s->event, c->secret_command, c->command_uid, c->command_gid,
                                    c->secret_timeout * USEC_PER_SEC, command_done, s, &s->command);
}

/* ---- the bus: SecretService, OnlineAccount ---- */

/* A failed bus call in words: "not there" and "no answer" said plainly. */
static void bus_call_failed(struct secret_source *s, sd_bus_message *reply, const char *service)
{
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *name = e && e->name ? e->name : "";
        _cleanup_free_ char *text = NULL;
        int r;
        if (streq(name, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            streq(name, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                r = asprintf(&text, "%s is not on the session bus", service);
        else if (streq(name, SD_BUS_ERROR_NO_REPLY) || streq(name, SD_BUS_ERROR_TIMEOUT))
                r = asprintf(&text, "%s gave no answer within %" PRIu32 " s", service,
                             s->config->secret_timeout);
        else
                r = asprintf(&text, "%s: %s", name, e && e->message ? e->message : "failed");
        fetch_done(s, NULL, 0, r < 0 ? "the bus call failed" : text);
}

static int new_call(struct secret_source *s, const char *destination, const char *path,
                    const char *interface, const char *member, sd_bus_message **ret)
{
        return sd_bus_message_new_method_call(s->bus, ret, destination, path, interface, member);
}

/* Sends m; handler hears the reply, or the SecretTimeout's end. */
static int send_call(struct secret_source *s, sd_bus_message *m, sd_bus_message_handler_t handler)
{
        s->slot = sd_bus_slot_unref(s->slot);
        return sd_bus_call_async(s->bus, &s->slot, m, handler, s,
                                 (uint64_t) s->config->secret_timeout * USEC_PER_SEC);
}

/* Keeps a secret that came over the bus as bytes (a keyring) or text. */
static void bus_secret(struct secret_source *s, const void *value, size_t size, uint64_t lifetime)
{
        if (size == 0 || memchr(value, '\0', size)) {
                fetch_done(s, NULL, 0,
                           size == 0 ? "the secret is empty" : "the secret holds a NUL byte");
                return;
        }
        _cleanup_free_ char *text = strndup(value, size);
        fetch_done(s, text, lifetime, text ? NULL : "out of memory");
        if (text)
                explicit_bzero(text, size);
}

/* SecretService=: OpenSession, SearchItems, Item.GetSecret, Session.Close.
 * The session is encrypted (core/dh-session.c): the secret never crosses
 * the bus in clear, not even the user's own session bus, where another
 * program of the user's could watch. There is no fallback to "plain". */
static int secret_got(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct secret_source *s = userdata;
        const void *params, *value;
        size_t n_params, size;
        const char *session, *content_type;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                bus_call_failed(s, reply, "the Secret Service");
                return 0;
        }
        if (sd_bus_message_enter_container(reply, 'r', "oayays") < 0 ||
            sd_bus_message_read(reply, "o", &session) < 0 ||
            sd_bus_message_read_array(reply, 'y', &params, &n_params) < 0 ||
            sd_bus_message_read_array(reply, 'y', &value, &size) < 0 ||
            sd_bus_message_read(reply, "s", &content_type) < 0) {
                fetch_done(s, NULL, 0, "the Secret Service sent a secret we cannot read");
                return 0;
        }
        _cleanup_free_ char *secret = NULL;
        size_t n = 0;
        if (dh_session_decrypt(s->dh, params, n_params, value, size, &secret, &n) < 0) {
                fetch_done(s, NULL, 0, "the Secret Service sent a secret that does not decrypt");
                return 0;
        }
        bus_secret(s, secret, n, 0);
        explicit_bzero(secret, n);
        return 0;
}

static int items_found(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct secret_source *s = userdata;
        _cleanup_strv_free_ char **unlocked = NULL, **locked = NULL;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                bus_call_failed(s, reply, "the Secret Service");
                return 0;
        }
        if (sd_bus_message_read_strv(reply, &unlocked) < 0 ||
            sd_bus_message_read_strv(reply, &locked) < 0) {
                fetch_done(s, NULL, 0, "the Secret Service sent a list we cannot read");
                return 0;
        }
        if (strv_length(unlocked) == 0) {
                fetch_done(s, NULL, 0,
                           strv_length(locked) > 0
                               ? "the item is in a locked keyring: unlock it (a daemon cannot ask)"
                               : "no item has these attributes");
                return 0;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = new_call(s, SECRETS_NAME, unlocked[0], SECRETS_ITEM, "GetSecret", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "o", s->session_path);
        if (r >= 0)
                r = send_call(s, m, secret_got);
        if (r < 0)
                fetch_done(s, NULL, 0, "cannot ask the Secret Service");
        return 0;
}

static int session_opened(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct secret_source *s = userdata;
        const char *path;
        const void *key;
        size_t key_size;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                bus_call_failed(s, reply, "the Secret Service");
                return 0;
        }
        if (sd_bus_message_enter_container(reply, 'v', "ay") <= 0 ||
            sd_bus_message_read_array(reply, 'y', &key, &key_size) < 0 ||
            sd_bus_message_exit_container(reply) < 0 ||
            sd_bus_message_read(reply, "o", &path) < 0 || !(s->session_path = strdup(path)) ||
            dh_session_derive(s->dh, key, key_size) < 0) {
                fetch_done(s, NULL, 0, "the Secret Service opened no session we can use");
                return 0;
        }
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r = new_call(s, SECRETS_NAME, SECRETS_PATH, SECRETS_SERVICE, "SearchItems", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{ss}");
        for (char **a = s->config->secret_attributes; r >= 0 && a && a[0] && a[1]; a += 2)
                r = sd_bus_message_append(m, "{ss}", a[0], a[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = send_call(s, m, items_found);
        if (r < 0)
                fetch_done(s, NULL, 0, "cannot ask the Secret Service");
        return 0;
}

static int fetch_secret_service(struct secret_source *s)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        uint8_t key[DH_SESSION_KEY_BYTES];
        int r = dh_session_new(&s->dh, key);
        if (r >= 0)
                r = new_call(s, SECRETS_NAME, SECRETS_PATH, SECRETS_SERVICE, "OpenSession", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", DH_SESSION_ALGORITHM);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "ay");
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', key, sizeof(key));
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = send_call(s, m, session_opened);
        return r;
}

/* OnlineAccount=: the account's password (PasswordBased.GetPassword, the
 * one for this transport's direction) or OAuth2 access token
 * (OAuth2Based.GetAccessToken, with its lifetime). */
static int account_answered(sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        struct secret_source *s = userdata;
        const char *secret;
        int32_t expires_in = 0;
        int r;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                bus_call_failed(s, reply, "GNOME Online Accounts");
                return 0;
        }
        if (s->config->auth == AUTH_OAUTH2)
                r = sd_bus_message_read(reply, "si", &secret, &expires_in);
        else
                r = sd_bus_message_read(reply, "s", &secret);
        if (r < 0) {
                fetch_done(s, NULL, 0, "GNOME Online Accounts sent an answer we cannot read");
                return 0;
        }
        bus_secret(s, secret, strlen(secret), expires_in > 0 ? (uint64_t) expires_in : 0);
        return 0;
}

static int fetch_online_account(struct secret_source *s)
{
        const struct transport_config *c = s->config;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, GOA_ACCOUNTS_PATH "%s", c->online_account) < 0)
                return -ENOMEM;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool token = c->auth == AUTH_OAUTH2;
        int r = new_call(s, GOA_NAME, path, token ? GOA_OAUTH2_BASED : GOA_PASSWORD_BASED,
                         token ? "GetAccessToken" : "GetPassword", &m);
        if (r >= 0 && !token)
                r = sd_bus_message_append(
                    m, "s", c->kind == TRANSPORT_SMTP ? "smtp-password" : "imap-password");
        if (r >= 0)
                r = send_call(s, m, account_answered);
        return r;
}

/* ---- getting one ---- */

static int fetch_start(struct secret_source *s)
{
        s->fetching = true;
        switch (s->config->secret) {
        case SECRET_PASSWORD_COMMAND:
        case SECRET_TOKEN_COMMAND:
                return fetch_command(s);
        case SECRET_SERVICE:
                return s->bus ? fetch_secret_service(s) : -EOPNOTSUPP;
        case SECRET_ONLINE_ACCOUNT:
                return s->bus ? fetch_online_account(s) : -EOPNOTSUPP;
        default:
                return -EINVAL;
        }
}

static bool secret_is_current(struct secret_source *s)
{
        if (!s->secret)
                return false;
        if (s->expires_usec == 0)
                return true;
        uint64_t now = 0;
        (void) sd_event_now(s->event, CLOCK_MONOTONIC, &now);
        return now < s->expires_usec;
}

int secret_source_get(struct secret_source *s, struct secret_wait *w, const char **ret_secret,
                      uint64_t *ret_generation, char **ret_error)
{
        const struct transport_config *c = s->config;
        *ret_error = NULL;
        *ret_generation = s->generation;
        if (c->secret == SECRET_NONE) {
                *ret_secret = NULL;
                return 1;
        }
        if (!secret_kind_is_fetched(c->secret)) {
                /* Read for each logon, so that ChangePassword counts at once. */
                secret_clear(s);
                int r = secret_file_read_current(c->stored_secret, c->password_file, &s->secret);
                if (r < 0) {
                        if (asprintf(ret_error, "%s: cannot read %s: %s",
                                     secret_kind_to_string(c->secret), c->password_file,
                                     strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
                *ret_secret = s->secret;
                return 1;
        }
        if (secret_is_current(s)) {
                *ret_secret = s->secret;
                return 1;
        }
        secret_clear(s);
        w->next = s->waiters;
        s->waiters = w;
        if (!s->fetching) {
                int r = fetch_start(s);
                if (r < 0) {
                        s->waiters = w->next;
                        w->next = NULL;
                        fetch_stop(s);
                        if (asprintf(ret_error, "%s: cannot start: %s",
                                     secret_kind_to_string(c->secret), strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        return 0;
}

void secret_source_cancel(struct secret_source *s, struct secret_wait *w)
{
        for (struct secret_wait **p = &s->waiters; *p; p = &(*p)->next)
                if (*p == w) {
                        *p = w->next;
                        w->next = NULL;
                        return;
                }
}

void secret_source_set_config(struct secret_source *s, const struct transport_config *c)
{
        s->config = c;
}

bool secret_source_refused(struct secret_source *s, uint64_t generation)
{
        if (!secret_kind_is_fetched(s->config->secret))
                return false;
        if (generation == s->generation)
                secret_clear(s);
        return true;
}
