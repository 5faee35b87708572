/* Reading DIR/mailspool.conf and DIR/transports.d/<id>.conf (docs/bus-api.md,
 * "Configuration files").
 *
 * Every problem is reported as "FILE:LINE: KEY: what is wrong", and always the
 * first one in reading order, so that fixing the messages one by one walks
 * down the file. libinih gives the handler no line number (the library is
 * built with INI_HANDLER_LINENO=0), so the lines are fed to it by our own
 * reader, which counts them: that lets checks that need the whole file (is a
 * Server URL right for the Kind set three lines below it?) still name the
 * line of the key they are about. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "argv-split.h"
#include "mailspool-bus.h"
#include "utf8.h"

#define DEFAULT_POLL_INTERVAL   300u
#define MAX_POLL_INTERVAL       UINT64_C(2147483647) /* fits a signed 32-bit timer */
#define DEFAULT_MAX_CONNECTIONS 4u
#define MAX_MAX_CONNECTIONS     100u

static const char *const transport_kind_names[_TRANSPORT_KIND_MAX] = {
    [TRANSPORT_SMTP] = "smtp",
    [TRANSPORT_IMAP] = "imap",
    [TRANSPORT_POP3] = "pop3",
    [TRANSPORT_MAILDIR] = "maildir",
};

const char *transport_kind_to_string(enum transport_kind k)
{
        if ((unsigned) k >= _TRANSPORT_KIND_MAX)
                return NULL;
        return transport_kind_names[k];
}

int transport_kind_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        for (size_t k = 0; k < _TRANSPORT_KIND_MAX; k++)
                if (streq(s, transport_kind_names[k]))
                        return (int) k;
        return -EINVAL;
}

uint32_t transport_kind_methods(enum transport_kind k)
{
        switch (k) {
        case TRANSPORT_SMTP:
        case TRANSPORT_IMAP:
        case TRANSPORT_POP3:
                return MAILSPOOL_STATUS_VALIDATE_STATE | MAILSPOOL_STATUS_CHANGE_PASSWORD |
                       MAILSPOOL_STATUS_FLUSH_QUEUES;
        case TRANSPORT_MAILDIR:
                /* No password to change, and the spooler flushes it. */
                return MAILSPOOL_STATUS_VALIDATE_STATE;
        default:
                return 0;
        }
}

bool transport_kind_is_outbound(enum transport_kind k)
{
        return k == TRANSPORT_SMTP || k == TRANSPORT_MAILDIR;
}

bool transport_kind_is_inbound(enum transport_kind k)
{
        return k == TRANSPORT_IMAP || k == TRANSPORT_POP3 || k == TRANSPORT_MAILDIR;
}

static const char *const secret_kind_names[_SECRET_KIND_MAX] = {
    [SECRET_NONE] = "",
    [SECRET_PASSWORD_FILE] = "PasswordFile",
    [SECRET_PASSWORD_CREDENTIAL] = "PasswordCredential",
    [SECRET_PASSWORD_COMMAND] = "PasswordCommand",
    [SECRET_TOKEN_COMMAND] = "TokenCommand",
    [SECRET_SERVICE] = "SecretService",
    [SECRET_ONLINE_ACCOUNT] = "OnlineAccount",
};

const char *secret_kind_to_string(enum secret_kind k)
{
        return k < _SECRET_KIND_MAX ? secret_kind_names[k] : "";
}

bool secret_kind_is_fetched(enum secret_kind k)
{
        return k == SECRET_PASSWORD_COMMAND || k == SECRET_TOKEN_COMMAND || k == SECRET_SERVICE ||
               k == SECRET_ONLINE_ACCOUNT;
}

static bool strv_equal(char *const *a, char *const *b)
{
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

bool transport_config_equal(const struct transport_config *a, const struct transport_config *b)
{
        const char *const strings[][2] = {
            {a->id, b->id},
            {a->file, b->file},
            {a->display_name, b->display_name},
            {a->identity, b->identity},
            {a->server, b->server},
            {a->user, b->user},
            {a->password_file, b->password_file},
            {a->stored_secret, b->stored_secret},
            {a->online_account, b->online_account},
            {a->tls_trust_file, b->tls_trust_file},
            {a->tls_pinned_key, b->tls_pinned_key},
            {a->tls_client_certificate, b->tls_client_certificate},
            {a->tls_client_key, b->tls_client_key},
            {a->login_options, b->login_options},
            {a->maildir, b->maildir},
            {a->mailbox, b->mailbox},
            {a->pickup, b->pickup},
            {a->sent_copy_transport, b->sent_copy_transport},
            {a->sent_copy_mailbox, b->sent_copy_mailbox},
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!streq_ptr(strings[i][0], strings[i][1]))
                        return false;
        return a->kind == b->kind && a->auth == b->auth && a->secret == b->secret &&
               strv_equal(a->secret_command, b->secret_command) &&
               a->command_uid == b->command_uid && a->command_gid == b->command_gid &&
               a->secret_timeout == b->secret_timeout &&
               strv_equal(a->secret_attributes, b->secret_attributes) &&
               a->starttls == b->starttls && a->tls == b->tls &&
               a->cleartext_logon == b->cleartext_logon && a->is_default == b->is_default &&
               a->send_delay == b->send_delay && a->send_mode == b->send_mode &&
               a->poll_interval == b->poll_interval && a->asynchronous == b->asynchronous &&
               a->methods == b->methods && a->max_connections == b->max_connections &&
               a->after_download == b->after_download && a->delete_after == b->delete_after &&
               a->idle == b->idle;
}

static void transport_config_clear(struct transport_config *t)
{
        free(t->id);
        free(t->file);
        free(t->display_name);
        free(t->identity);
        free(t->server);
        free(t->user);
        free(t->password_file);
        free(t->stored_secret);
        strv_free(t->secret_command);
        strv_free(t->secret_attributes);
        free(t->online_account);
        free(t->tls_trust_file);
        free(t->tls_pinned_key);
        free(t->tls_client_certificate);
        free(t->tls_client_key);
        free(t->login_options);
        free(t->maildir);
        free(t->mailbox);
        free(t->pickup);
        free(t->sent_copy_transport);
        free(t->sent_copy_mailbox);
        *t = (struct transport_config){0};
}

void spool_config_clear(struct spool_config *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < c->n_transports; i++)
                transport_config_clear(&c->transports[i]);
        free(c->transports);
        free(c->admin_group);
        free(c->mail_domain);
        *c = (struct spool_config){0};
}

const struct transport_config *spool_config_find(const struct spool_config *c, const char *id)
{
        if (!c || !id)
                return NULL;
        for (size_t i = 0; i < c->n_transports; i++)
                if (streq(c->transports[i].id, id))
                        return &c->transports[i];
        return NULL;
}

/* ---- paths ---- */

/* a/b without a doubled slash when a ends in one. */
static char *path_join(const char *a, const char *b)
{
        size_t n = strlen(a);
        while (n > 0 && a[n - 1] == '/')
                n--;
        char *p;
        if (asprintf(&p, "%.*s/%s", (int) n, a, b) < 0)
                return NULL;
        return p;
}

/* path if it is absolute, else base/path. A relative base is taken from the
 * working directory now, so that the stored path stays right whatever the
 * daemon's working directory is later. */
static int path_resolve(const char *base, const char *path, char **ret)
{
        if (path[0] == '/') {
                *ret = strdup(path);
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *absolute_base = NULL;
        if (base[0] != '/') {
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd)
                        return -errno;
                absolute_base = path_join(cwd, base);
                if (!absolute_base)
                        return -ENOMEM;
                base = absolute_base;
        }
        *ret = path_join(base, path);
        return *ret ? 0 : -ENOMEM;
}

/* ---- value parsers shared by both files ---- */

/* Plain decimal digits only: strtoull() would also take leading blanks, a
 * sign (turning "-1" into UINT64_MAX) and hexadecimal. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
        if (!*s)
                return -EINVAL;
        uint64_t v = 0;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                unsigned digit = (unsigned) (*s - '0');
                if (digit > max || v > (max - digit) / 10)
                        return -ERANGE;
                v = v * 10 + digit;
        }
        *ret = v;
        return 0;
}

static int parse_boolean(const char *s, bool *ret)
{
        if (streq(s, "yes") || streq(s, "true") || streq(s, "1"))
                *ret = true;
        else if (streq(s, "no") || streq(s, "false") || streq(s, "0"))
                *ret = false;
        else
                return -EINVAL;
        return 0;
}

/* ---- one INI file ---- */

struct config_file;

struct config_key {
        const char *name;
        /* Parses and stores the value, or records the problem with file_fail(). */
        int (*parse)(struct config_file *f, const char *key, const char *value);
};

#define MAX_KEYS 40

struct config_file {
        const char *path;       /* as opened: every message starts with it */
        const char *config_dir; /* relative paths in the file resolve against it */
        FILE *stream;
        char *raw_line; /* getline() buffer */
        size_t raw_line_size;
        unsigned line;      /* the physical line libinih is at */
        bool line_indented; /* libinih reads an indented line as a continuation */
        const char *section;
        const struct config_key *keys;
        size_t n_keys;
        unsigned key_lines[MAX_KEYS]; /* where each key is set; 0 if it is not */
        int last_key;                 /* index of the key handled last, or -1 */
        int error;                    /* the first problem's errno (negative), or 0 */
        unsigned error_line;          /* its line; 0 for "the file as a whole" */
        char *error_text;
};

/* Out of memory trumps every other problem: the message could not be made. */
static int file_oom(struct config_file *f)
{
        free(f->error_text);
        f->error_text = NULL;
        f->error = -ENOMEM;
        return -ENOMEM;
}

/* Records "PATH:LINE: KEY: what" unless a problem on an earlier line is
 * already recorded. Checks that run after the whole file was read may find a
 * problem above one found while reading; a problem without a line (a missing
 * key) only counts if there is no other. */
__attribute__((format(printf, 4, 5))) static int file_fail(struct config_file *f, unsigned line,
                                                           const char *key, const char *format, ...)
{
        if (f->error == -ENOMEM)
                return -ENOMEM;
        if (f->error_text && (line == 0 || (f->error_line != 0 && f->error_line <= line)))
                return -EINVAL;

        _cleanup_free_ char *what = NULL;
        va_list ap;
        va_start(ap, format);
        int r = vasprintf(&what, format, ap);
        va_end(ap);
        if (r < 0) {
                what = NULL;
                return file_oom(f);
        }

        char location[32] = "";
        if (line > 0)
                snprintf(location, sizeof(location), ":%u", line);
        char *text;
        if (asprintf(&text, "%s%s: %s%s%s", f->path, location, strempty(key), key ? ": " : "",
                     what) < 0)
                return file_oom(f);
        free(f->error_text);
        f->error_text = text;
        f->error_line = line;
        f->error = -EINVAL;
        return -EINVAL;
}

/* An fgets()-like reader for libinih that counts lines. A line that does not
 * fit libinih's buffer (INI_MAX_LINE, 200 bytes in the installed library)
 * would be cut there and its rest parsed as a line of its own, so it is
 * refused here and libinih gets an empty line instead: one call stays one
 * physical line, and libinih's count stays ours. */
static char *read_config_line(char *buffer, int size, void *userdata)
{
        struct config_file *f = userdata;

        ssize_t n = getline(&f->raw_line, &f->raw_line_size, f->stream);
        if (n < 0)
                return NULL; /* end of file, or an error the caller finds with ferror() */
        f->line++;
        f->line_indented = isspace((unsigned char) f->raw_line[0]) && f->raw_line[0] != '\n';

        /* Room for the newline and the terminating NUL. */
        size_t max_content = size > 2 ? (size_t) size - 2 : 0;
        size_t content = (size_t) n;
        if (content > 0 && f->raw_line[content - 1] == '\n')
                content--;
        if (content > max_content) {
                file_fail(f, f->line, NULL, "line is longer than %zu characters", max_content);
                content = 0;
        }
        memcpy(buffer, f->raw_line, content);
        buffer[content] = '\n';
        buffer[content + 1] = '\0';
        return buffer;
}

static int find_key(const struct config_file *f, const char *name)
{
        for (size_t i = 0; i < f->n_keys; i++)
                if (f->keys[i].name && streq(f->keys[i].name, name))
                        return (int) i;
        return -1;
}

/* libinih's handler: nonzero to go on. libinih reads on after a zero, so the
 * later lines are still checked but only the first problem is kept. */
static int handle_key(void *userdata, const char *section, const char *key, const char *value)
{
        struct config_file *f = userdata;

        if (!streq(section, f->section)) {
                if (!*section)
                        file_fail(f, f->line, key, "outside of a section; expected [%s] first",
                                  f->section);
                else
                        file_fail(f, f->line, key, "in unknown section [%s]; expected [%s]",
                                  section, f->section);
                return 0;
        }

        int k = find_key(f, key);
        /* An indented line continues the previous key's value; nothing here
         * takes a value over several lines, and the indented line may well be
         * meant as a key of its own. */
        if (f->line_indented && k >= 0 && k == f->last_key) {
                file_fail(f, f->line, key,
                          "continuation lines are not supported; remove the indentation");
                return 0;
        }
        f->last_key = k;
        if (k < 0) {
                file_fail(f, f->line, key, "unknown key in [%s]", f->section);
                return 0;
        }
        if (f->key_lines[k] != 0) {
                file_fail(f, f->line, key, "set twice (first on line %u)", f->key_lines[k]);
                return 0;
        }
        f->key_lines[k] = f->line;
        /* Names and identities go on the bus, which takes only UTF-8. */
        if (!utf8_is_valid(value)) {
                file_fail(f, f->line, key, "the value is not valid UTF-8");
                return 0;
        }

        return f->keys[k].parse(f, key, value) >= 0;
}

static int fail_errno(char **ret_error, const char *path, int error)
{
        if (ret_error && asprintf(ret_error, "%s: %s", path, strerror(-error)) < 0)
                *ret_error = NULL;
        return error;
}

/* Opens f->path; *ret_exists says whether it was there at all. I/O problems
 * are returned as a negative errno with "PATH: reason" in *ret_error. */
static int file_open(struct config_file *f, bool may_be_missing, bool *ret_exists, char **ret_error)
{
        *ret_exists = false;
        f->stream = fopen(f->path, "re");
        if (!f->stream) {
                if (errno == ENOENT && may_be_missing)
                        return 0;
                return fail_errno(ret_error, f->path, -errno);
        }
        struct stat st;
        if (fstat(fileno(f->stream), &st) < 0)
                return fail_errno(ret_error, f->path, -errno);
        if (!S_ISREG(st.st_mode)) {
                if (ret_error && asprintf(ret_error, "%s: not a regular file", f->path) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        *ret_exists = true;
        return 0;
}

/* Feeds the open file through libinih. Problems with the content are left in
 * f->error for checks that need the whole file to add to; only an I/O error
 * is returned (with "PATH: reason" in *ret_error). */
static int file_parse(struct config_file *f, char **ret_error)
{
        f->last_key = -1;
        int first_error_line = ini_parse_stream(read_config_line, f, handle_key, f);
        if (ferror(f->stream))
                return fail_errno(ret_error, f->path, errno > 0 ? -errno : -EIO);
        /* A line libinih cannot read at all (no '=', no closing ']') never
         * reaches the handler; libinih only tells its number. If the handler
         * failed first, this is that line and file_fail() keeps its message. */
        if (first_error_line > 0)
                file_fail(f, (unsigned) first_error_line, NULL,
                          "expected KEY=VALUE, a [Section] header or a comment");
        return 0;
}

/* Hands the first problem over: its errno, its message in *ret_error. */
static int file_take_error(struct config_file *f, char **ret_error)
{
        if (f->error < 0 && ret_error)
                *ret_error = TAKE_PTR(f->error_text);
        return f->error;
}

static void file_done(struct config_file *f)
{
        if (f->stream)
                fclose(f->stream);
        free(f->raw_line);
        free(f->error_text);
}

/* ---- mailspool.conf ---- */

enum spooler_key {
        SPOOLER_TRANSPORT_ORDER,
        SPOOLER_ADMIN_GROUP,
        SPOOLER_MAX_MESSAGE_SIZE,
        SPOOLER_SUBMIT_TIMEOUT,
        SPOOLER_USER_QUEUE_MESSAGES,
        SPOOLER_USER_QUEUE_SIZE,
        SPOOLER_DISK_RESERVE,
        SPOOLER_QUEUE_LIFETIME,
        SPOOLER_DELAY_WARNING_TIME,
        SPOOLER_UNCERTAIN_DELIVERY,
        SPOOLER_MAIL_DOMAIN,
        SPOOLER_NOTIFICATIONS,
        _SPOOLER_KEY_MAX,
};

struct spooler_file {
        struct config_file file;
        char *admin_group;
        uint64_t max_message_size;
        uint32_t submit_timeout;
        uint64_t user_queue_messages, user_queue_size, disk_reserve;
        uint32_t queue_lifetime, delay_warning_time;
        bool uncertain_hold;
        char *mail_domain;
        enum notifications notifications;
        char **transport_order; /* NULL if TransportOrder is not set */
};

static struct spooler_file *spooler_file_of(struct config_file *f)
{
        return container_of(f, struct spooler_file, file);
}

static int parse_transport_order(struct config_file *f, const char *key, const char *value)
{
        struct spooler_file *s = spooler_file_of(f);
        _cleanup_strv_free_ char **ids = NULL;
        if (strv_split_whitespace(value, &ids) < 0)
                return file_oom(f);
        for (size_t i = 0; ids[i]; i++)
                for (size_t j = 0; j < i; j++)
                        if (streq(ids[i], ids[j]))
                                return file_fail(f, f->line, key, "\"%s\" is listed twice", ids[i]);
        /* Whether each id names a transport is checked once transports.d is read. */
        s->transport_order = TAKE_PTR(ids);
        return 0;
}

static int parse_admin_group(struct config_file *f, const char *key, const char *value)
{
        struct spooler_file *s = spooler_file_of(f);
        if (!*value || value[strcspn(value, " \t")] != '\0')
                return file_fail(f, f->line, key, "expected a group name, got \"%s\"", value);
        /* Not looked up here: the group may be created after the daemon starts. */
        s->admin_group = strdup(value);
        return s->admin_group ? 0 : file_oom(f);
}

static int parse_max_message_size(struct config_file *f, const char *key, const char *value)
{
        struct spooler_file *s = spooler_file_of(f);
        uint64_t size;
        if (parse_decimal(value, UINT64_MAX, &size) < 0 || size == 0)
                return file_fail(f, f->line, key,
                                 "expected a number of bytes from 1 to %" PRIu64 ", got \"%s\"",
                                 UINT64_MAX, value);
        s->max_message_size = size;
        return 0;
}

static int parse_submit_timeout(struct config_file *f, const char *key, const char *value)
{
        uint64_t seconds;
        if (parse_decimal(value, MAX_SUBMIT_TIMEOUT, &seconds) < 0 || seconds == 0)
                return file_fail(f, f->line, key,
                                 "expected a number of seconds from 1 to %u, got \"%s\"",
                                 MAX_SUBMIT_TIMEOUT, value);
        spooler_file_of(f)->submit_timeout = (uint32_t) seconds;
        return 0;
}

/* A count or a number of bytes from 0 up (UserQueueMessages, UserQueueSize,
 * DiskReserve). */
static int parse_limit(struct config_file *f, const char *key, const char *value, uint64_t *ret)
{
        if (parse_decimal(value, UINT64_MAX - 1, ret) < 0)
                return file_fail(f, f->line, key, "expected a number from 0 up, got \"%s\"", value);
        return 0;
}

static int parse_user_queue_messages(struct config_file *f, const char *key, const char *value)
{
        return parse_limit(f, key, value, &spooler_file_of(f)->user_queue_messages);
}

static int parse_user_queue_size(struct config_file *f, const char *key, const char *value)
{
        return parse_limit(f, key, value, &spooler_file_of(f)->user_queue_size);
}

static int parse_disk_reserve(struct config_file *f, const char *key, const char *value)
{
        return parse_limit(f, key, value, &spooler_file_of(f)->disk_reserve);
}

/* Seconds from min to max (QueueLifetime, DelayWarningTime). */
static int parse_seconds(struct config_file *f, const char *key, const char *value, uint32_t min,
                         uint32_t max, uint32_t *ret)
{
        uint64_t seconds;
        if (parse_decimal(value, max, &seconds) < 0 || seconds < min)
                return file_fail(f, f->line, key,
                                 "expected a number of seconds from %" PRIu32 " to %" PRIu32
                                 ", got \"%s\"",
                                 min, max, value);
        *ret = (uint32_t) seconds;
        return 0;
}

static int parse_queue_lifetime(struct config_file *f, const char *key, const char *value)
{
        return parse_seconds(f, key, value, 1, MAX_QUEUE_LIFETIME,
                             &spooler_file_of(f)->queue_lifetime);
}

static int parse_delay_warning_time(struct config_file *f, const char *key, const char *value)
{
        return parse_seconds(f, key, value, 0, MAX_QUEUE_LIFETIME,
                             &spooler_file_of(f)->delay_warning_time);
}

static int parse_uncertain_delivery(struct config_file *f, const char *key, const char *value)
{
        struct spooler_file *s = spooler_file_of(f);
        if (streq(value, "resend"))
                s->uncertain_hold = false;
        else if (streq(value, "hold"))
                s->uncertain_hold = true;
        else
                return file_fail(f, f->line, key, "expected resend or hold, got \"%s\"", value);
        return 0;
}

static int parse_mail_domain(struct config_file *f, const char *key, const char *value)
{
        struct spooler_file *s = spooler_file_of(f);
        /* A host name: letters, digits, '-' and '.', not starting with either. */
        bool ok = *value && *value != '.' && *value != '-';
        for (const char *p = value; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
                        ok = false;
        if (!ok)
                return file_fail(f, f->line, key,
                                 "expected a domain such as example.org, got \"%s\"", value);
        free(s->mail_domain);
        s->mail_domain = strdup(value);
        return s->mail_domain ? 0 : file_oom(f);
}

static int parse_notifications(struct config_file *f, const char *key, const char *value)
{
        enum notifications *n = &spooler_file_of(f)->notifications;
        if (streq(value, "all"))
                *n = NOTIFICATIONS_ALL;
        else if (streq(value, "errors"))
                *n = NOTIFICATIONS_ERRORS;
        else if (streq(value, "none"))
                *n = NOTIFICATIONS_NONE;
        else
                return file_fail(f, f->line, key, "expected all, errors or none, got \"%s\"",
                                 value);
        return 0;
}

static const struct config_key spooler_keys[_SPOOLER_KEY_MAX] = {
    [SPOOLER_TRANSPORT_ORDER] = {"TransportOrder", parse_transport_order},
    [SPOOLER_ADMIN_GROUP] = {"AdminGroup", parse_admin_group},
    [SPOOLER_MAX_MESSAGE_SIZE] = {"MaxMessageSize", parse_max_message_size},
    [SPOOLER_SUBMIT_TIMEOUT] = {"SubmitTimeout", parse_submit_timeout},
    [SPOOLER_USER_QUEUE_MESSAGES] = {"UserQueueMessages", parse_user_queue_messages},
    [SPOOLER_USER_QUEUE_SIZE] = {"UserQueueSize", parse_user_queue_size},
    [SPOOLER_DISK_RESERVE] = {"DiskReserve", parse_disk_reserve},
    [SPOOLER_QUEUE_LIFETIME] = {"QueueLifetime", parse_queue_lifetime},
    [SPOOLER_DELAY_WARNING_TIME] = {"DelayWarningTime", parse_delay_warning_time},
    [SPOOLER_UNCERTAIN_DELIVERY] = {"UncertainDelivery", parse_uncertain_delivery},
    [SPOOLER_MAIL_DOMAIN] = {"MailDomain", parse_mail_domain},
    [SPOOLER_NOTIFICATIONS] = {"Notifications", parse_notifications},
};

static void spooler_file_done(struct spooler_file *s)
{
        file_done(&s->file);
        free(s->admin_group);
        free(s->mail_domain);
        strv_free(s->transport_order);
}

/* ---- transports.d/<id>.conf ---- */

enum transport_key {
        TRANSPORT_KIND,
        TRANSPORT_DISPLAY_NAME,
        TRANSPORT_IDENTITY,
        TRANSPORT_SERVER,
        TRANSPORT_USER,
        TRANSPORT_PASSWORD_FILE,
        TRANSPORT_STARTTLS,
        TRANSPORT_DEFAULT,
        TRANSPORT_SEND_MODE,
        TRANSPORT_POLL_INTERVAL,
        TRANSPORT_ASYNCHRONOUS,
        TRANSPORT_METHODS,
        TRANSPORT_MAX_CONNECTIONS,
        TRANSPORT_MAILDIR_KEY,
        TRANSPORT_PICKUP,
        TRANSPORT_TLS_TRUST_FILE,
        TRANSPORT_TLS_PINNED_KEY,
        TRANSPORT_TLS_CLIENT_CERTIFICATE,
        TRANSPORT_TLS_CLIENT_KEY,
        TRANSPORT_AUTH_MECHANISMS,
        TRANSPORT_PASSWORD_CREDENTIAL,
        TRANSPORT_AUTH,
        TRANSPORT_PASSWORD_COMMAND,
        TRANSPORT_TOKEN_COMMAND,
        TRANSPORT_SECRET_SERVICE,
        TRANSPORT_ONLINE_ACCOUNT,
        TRANSPORT_SECRET_TIMEOUT,
        TRANSPORT_SEND_DELAY,
        TRANSPORT_AFTER_DOWNLOAD,
        TRANSPORT_MAILBOX,
        TRANSPORT_DELETE_AFTER,
        TRANSPORT_SENT_COPY,
        TRANSPORT_IDLE,
        _TRANSPORT_KEY_MAX,
};

/* A transport as read, with what choosing the default transport needs to
 * know beyond struct transport_config. */
struct loaded_transport {
        struct transport_config config;
        unsigned default_line;   /* line of Default=; 0 if it is not set */
        unsigned sent_copy_line; /* line of SentCopy=, for check_sent_copies() */
        bool default_value;      /* what Default= says */
};

struct transport_file {
        struct config_file file;
        struct loaded_transport *t;
        bool kind_valid;
        bool methods_valid;
        uint32_t methods; /* as Methods= lists them, before checking the kind */
        bool session;     /* config_load()'s: the daemon serves a session bus */
};

static struct transport_file *transport_file_of(struct config_file *f)
{
        return container_of(f, struct transport_file, file);
}

static int store_string(struct config_file *f, char **field, const char *value)
{
        *field = strdup(value);
        return *field ? 0 : file_oom(f);
}

static int parse_kind(struct config_file *f, const char *key, const char *value)
{
        struct transport_file *tf = transport_file_of(f);
        int kind = transport_kind_from_string(value);
        if (kind < 0)
                return file_fail(f, f->line, key,
                                 "expected smtp, imap, pop3 or maildir, got \"%s\"", value);
        tf->t->config.kind = (enum transport_kind) kind;
        tf->kind_valid = true;
        return 0;
}

static int parse_display_name(struct config_file *f, const char *key, const char *value)
{
        if (!*value)
                return file_fail(f, f->line, key, "must not be empty");
        return store_string(f, &transport_file_of(f)->t->config.display_name, value);
}

static int parse_identity(struct config_file *f, const char *key, const char *value)
{
        (void) key;
        return store_string(f, &transport_file_of(f)->t->config.identity, value);
}

static const struct {
        const char *scheme;
        enum transport_kind kind;
} server_schemes[] = {
    {"smtp", TRANSPORT_SMTP},  {"smtps", TRANSPORT_SMTP}, {"imap", TRANSPORT_IMAP},
    {"imaps", TRANSPORT_IMAP}, {"pop3", TRANSPORT_POP3},  {"pop3s", TRANSPORT_POP3},
};

/* The kind whose scheme url starts with ("smtps://host" → smtp), or -EINVAL. */
static int server_url_kind(const char *url)
{
        for (size_t i = 0; i < ELEMENTSOF(server_schemes); i++) {
                size_t n = strlen(server_schemes[i].scheme);
                if (strncmp(url, server_schemes[i].scheme, n) == 0 &&
                    strncmp(url + n, "://", 3) == 0)
                        return (int) server_schemes[i].kind;
        }
        return -EINVAL;
}

static int parse_server(struct config_file *f, const char *key, const char *value)
{
        /* Whether the scheme fits the Kind is checked when the file is read to
         * the end: Kind may come after Server. */
        const char *host = strstr(value, "://");
        if (server_url_kind(value) < 0 || !host || host[3] == '\0' || host[3] == '/' ||
            value[strcspn(value, " \t")] != '\0')
                return file_fail(f, f->line, key,
                                 "expected an smtp://, smtps://, imap://, imaps://, pop3:// or "
                                 "pop3s:// URL with a host, got \"%s\"",
                                 value);
        return store_string(f, &transport_file_of(f)->t->config.server, value);
}

static int parse_user(struct config_file *f, const char *key, const char *value)
{
        if (!*value)
                return file_fail(f, f->line, key, "must not be empty");
        return store_string(f, &transport_file_of(f)->t->config.user, value);
}

/* A file that must exist and be a regular file, resolved against the
 * configuration directory; private: neither readable nor writable by group
 * or others (a password, a key). Checked now rather than when it is first
 * needed, so that a daemon that starts is a daemon that can log in. */
static int parse_file(struct config_file *f, const char *key, const char *value, bool private,
                      char **field)
{
        if (!*value)
                return file_fail(f, f->line, key, "expected a file name, got an empty value");
        _cleanup_free_ char *path = NULL;
        int r = path_resolve(f->config_dir, value, &path);
        if (r == -ENOMEM)
                return file_oom(f);
        if (r < 0)
                return file_fail(f, f->line, key, "cannot resolve \"%s\": %s", value, strerror(-r));
        struct stat st;
        if (stat(path, &st) < 0)
                return file_fail(f, f->line, key, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return file_fail(f, f->line, key, "%s is not a regular file", path);
        if (private && (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)))
                return file_fail(f, f->line, key,
                                 "%s must not be readable or writable by group or others "
                                 "(mode %04o; chmod 600 it)",
                                 path, (unsigned) (st.st_mode & 07777));
        free(*field);
        *field = TAKE_PTR(path);
        return 0;
}

/* A systemd credential (LoadCredential= in the unit): the file of that name
 * in $CREDENTIALS_DIRECTORY, which the service manager made the daemon's
 * alone. */
static int parse_password_credential(struct config_file *f, const char *key, const char *value)
{
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (!*value || strchr(value, '/') || streq(value, ".") || streq(value, ".."))
                return file_fail(f, f->line, key, "expected a credential name, got \"%s\"", value);
        if (!dir || dir[0] != '/')
                return file_fail(f, f->line, key,
                                 "no $CREDENTIALS_DIRECTORY: give the daemon the credential "
                                 "with LoadCredential=%s:FILE in its unit",
                                 value);
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, value) < 0)
                return file_oom(f);
        transport_file_of(f)->t->config.secret = SECRET_PASSWORD_CREDENTIAL;
        return parse_file(f, key, path, true, &transport_file_of(f)->t->config.password_file);
}

static int parse_password_file(struct config_file *f, const char *key, const char *value)
{
        transport_file_of(f)->t->config.secret = SECRET_PASSWORD_FILE;
        return parse_file(f, key, value, true, &transport_file_of(f)->t->config.password_file);
}

static int parse_auth(struct config_file *f, const char *key, const char *value)
{
        enum auth_method *auth = &transport_file_of(f)->t->config.auth;
        if (streq(value, "password"))
                *auth = AUTH_PASSWORD;
        else if (streq(value, "oauth2"))
                *auth = AUTH_OAUTH2;
        else
                return file_fail(f, f->line, key, "expected password or oauth2, got \"%s\"", value);
        return 0;
}

/* A program the daemon runs for the secret: no shell, so the words are
 * split here (argv-split.c). It runs as the owner of this file, which
 * therefore must be that owner's alone to change; and a daemon that is not
 * root can run it only as itself. */
static int parse_command(struct config_file *f, const char *key, const char *value,
                         enum secret_kind kind)
{
        struct transport_config *c = &transport_file_of(f)->t->config;
        _cleanup_strv_free_ char **argv = NULL;
        const char *why = NULL;
        int r = argv_split(value, &argv, &why);
        if (r == -ENOMEM)
                return file_oom(f);
        if (r < 0)
                return file_fail(f, f->line, key, "%s", why);
        struct stat st;
        if (stat(f->path, &st) < 0)
                return file_fail(f, f->line, key, "%s: %s", f->path, strerror(errno));
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return file_fail(f, f->line, key,
                                 "%s must not be writable by group or others when it names a "
                                 "command (mode %04o)",
                                 f->path, (unsigned) (st.st_mode & 07777));
        if (geteuid() != 0 && st.st_uid != geteuid())
                return file_fail(f, f->line, key,
                                 "the command would run as the owner of %s (uid %u), and the "
                                 "daemon (uid %u) can run commands only as itself",
                                 f->path, (unsigned) st.st_uid, (unsigned) geteuid());
        strv_free(c->secret_command);
        c->secret_command = TAKE_PTR(argv);
        c->command_uid = st.st_uid;
        c->command_gid = st.st_gid;
        c->secret = kind;
        return 0;
}

static int parse_password_command(struct config_file *f, const char *key, const char *value)
{
        return parse_command(f, key, value, SECRET_PASSWORD_COMMAND);
}

static int parse_token_command(struct config_file *f, const char *key, const char *value)
{
        return parse_command(f, key, value, SECRET_TOKEN_COMMAND);
}

/* "attribute=value ..." as the Secret Service's SearchItems takes them. */
static int parse_secret_service(struct config_file *f, const char *key, const char *value)
{
        struct transport_config *c = &transport_file_of(f)->t->config;
        _cleanup_strv_free_ char **words = NULL, **pairs = NULL;
        const char *why = NULL;
        int r = argv_split(value, &words, &why);
        if (r == -ENOMEM)
                return file_oom(f);
        if (r < 0)
                return file_fail(f, f->line, key, "%s", why);
        STRV_FOREACH (w, words) {
                char *eq = strchr(*w, '=');
                if (!eq || eq == *w)
                        return file_fail(f, f->line, key,
                                         "expected attribute=value pairs, got \"%s\"", *w);
                *eq = '\0';
                if (strv_extend(&pairs, *w) < 0 || strv_extend(&pairs, eq + 1) < 0)
                        return file_oom(f);
        }
        strv_free(c->secret_attributes);
        c->secret_attributes = TAKE_PTR(pairs);
        c->secret = SECRET_SERVICE;
        return 0;
}

static int parse_online_account(struct config_file *f, const char *key, const char *value)
{
        struct transport_config *c = &transport_file_of(f)->t->config;
        /* The last element of the account's object path: [A-Za-z0-9_]. */
        bool ok = *value != '\0';
        for (const char *p = value; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_'))
                        ok = false;
        if (!ok)
                return file_fail(f, f->line, key,
                                 "expected a GNOME Online Accounts id such as "
                                 "account_1700000000_0, got \"%s\"",
                                 value);
        c->secret = SECRET_ONLINE_ACCOUNT;
        return store_string(f, &c->online_account, value);
}

static int parse_secret_timeout(struct config_file *f, const char *key, const char *value)
{
        uint64_t seconds;
        if (parse_decimal(value, MAX_SECRET_TIMEOUT, &seconds) < 0 || seconds == 0)
                return file_fail(f, f->line, key,
                                 "expected a number of seconds from 1 to %d, got \"%s\"",
                                 MAX_SECRET_TIMEOUT, value);
        transport_file_of(f)->t->config.secret_timeout = (uint32_t) seconds;
        return 0;
}

static int parse_starttls(struct config_file *f, const char *key, const char *value)
{
        enum starttls_mode *mode = &transport_file_of(f)->t->config.starttls;
        if (streq(value, "yes"))
                *mode = STARTTLS_YES;
        else if (streq(value, "no"))
                *mode = STARTTLS_NO;
        else if (streq(value, "required"))
                *mode = STARTTLS_REQUIRED;
        else
                return file_fail(f, f->line, key, "expected yes, no or required, got \"%s\"",
                                 value);
        return 0;
}

static int parse_default(struct config_file *f, const char *key, const char *value)
{
        struct loaded_transport *t = transport_file_of(f)->t;
        if (parse_boolean(value, &t->default_value) < 0)
                return file_fail(f, f->line, key, "expected yes or no, got \"%s\"", value);
        t->default_line = f->line;
        return 0;
}

static int parse_send_mode(struct config_file *f, const char *key, const char *value)
{
        enum send_mode *mode = &transport_file_of(f)->t->config.send_mode;
        if (streq(value, "immediate"))
                *mode = SEND_IMMEDIATE;
        else if (streq(value, "on-demand"))
                *mode = SEND_ON_DEMAND;
        else
                return file_fail(f, f->line, key, "expected immediate or on-demand, got \"%s\"",
                                 value);
        return 0;
}

static int parse_poll_interval(struct config_file *f, const char *key, const char *value)
{
        uint64_t seconds;
        if (parse_decimal(value, MAX_POLL_INTERVAL, &seconds) < 0)
                return file_fail(f, f->line, key,
                                 "expected a number of seconds from 0 to %" PRIu64 ", got \"%s\"",
                                 MAX_POLL_INTERVAL, value);
        transport_file_of(f)->t->config.poll_interval = (uint32_t) seconds;
        return 0;
}

static int parse_after_download(struct config_file *f, const char *key, const char *value)
{
        enum after_download *a = &transport_file_of(f)->t->config.after_download;
        if (streq(value, "keep"))
                *a = AFTER_KEEP;
        else if (streq(value, "seen"))
                *a = AFTER_SEEN;
        else if (streq(value, "delete"))
                *a = AFTER_DELETE;
        else
                return file_fail(f, f->line, key, "expected keep, seen or delete, got \"%s\"",
                                 value);
        return 0;
}

/* A mailbox goes into a URL path and an IMAP command: printable, no quotes. */
static bool mailbox_name_valid(const char *value)
{
        bool ok = *value;
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
                        ok = false;
        return ok;
}

static int parse_mailbox(struct config_file *f, const char *key, const char *value)
{
        if (!mailbox_name_valid(value))
                return file_fail(f, f->line, key, "expected a mailbox name, got \"%s\"", value);
        return store_string(f, &transport_file_of(f)->t->config.mailbox, value);
}

static bool transport_id_is_valid(const char *id);

/* "in:Sent": the IMAP transport and its mailbox; the transport is checked
 * once every file is read (check_sent_copies()). */
static int parse_sent_copy(struct config_file *f, const char *key, const char *value)
{
        struct transport_config *c = &transport_file_of(f)->t->config;
        const char *colon = strchr(value, ':');
        _cleanup_free_ char *id = colon ? strndup(value, colon - value) : NULL;
        if (colon && !id)
                return file_oom(f);
        if (!id || !transport_id_is_valid(id) || !mailbox_name_valid(colon + 1))
                return file_fail(f, f->line, key,
                                 "expected TRANSPORT:MAILBOX (an imap transport and its folder, "
                                 "as in:Sent), got \"%s\"",
                                 value);
        free(c->sent_copy_transport);
        c->sent_copy_transport = TAKE_PTR(id);
        transport_file_of(f)->t->sent_copy_line = f->line;
        return store_string(f, &c->sent_copy_mailbox, colon + 1);
}

static int parse_delete_after(struct config_file *f, const char *key, const char *value)
{
        uint64_t days;
        if (parse_decimal(value, 36500, &days) < 0)
                return file_fail(f, f->line, key,
                                 "expected a number of days from 0 to 36500, got \"%s\"", value);
        transport_file_of(f)->t->config.delete_after = (uint32_t) days;
        return 0;
}

static int parse_send_delay(struct config_file *f, const char *key, const char *value)
{
        uint64_t seconds;
        if (parse_decimal(value, MAX_SEND_DELAY, &seconds) < 0)
                return file_fail(f, f->line, key,
                                 "expected a number of seconds from 0 to %d, got \"%s\"",
                                 MAX_SEND_DELAY, value);
        transport_file_of(f)->t->config.send_delay = (uint32_t) seconds;
        return 0;
}

static int parse_asynchronous(struct config_file *f, const char *key, const char *value)
{
        if (parse_boolean(value, &transport_file_of(f)->t->config.asynchronous) < 0)
                return file_fail(f, f->line, key, "expected yes or no, got \"%s\"", value);
        return 0;
}

static int parse_idle(struct config_file *f, const char *key, const char *value)
{
        if (parse_boolean(value, &transport_file_of(f)->t->config.idle) < 0)
                return file_fail(f, f->line, key, "expected yes or no, got \"%s\"", value);
        return 0;
}

static const struct {
        const char *word;
        uint32_t method;
} method_words[] = {
    {"validate", MAILSPOOL_STATUS_VALIDATE_STATE},
    {"flush", MAILSPOOL_STATUS_FLUSH_QUEUES},
    {"password", MAILSPOOL_STATUS_CHANGE_PASSWORD},
};

static int parse_methods(struct config_file *f, const char *key, const char *value)
{
        struct transport_file *tf = transport_file_of(f);
        _cleanup_strv_free_ char **words = NULL;
        if (strv_split_whitespace(value, &words) < 0)
                return file_oom(f);

        uint32_t methods = 0;
        STRV_FOREACH (w, words) {
                size_t i = 0;
                while (i < ELEMENTSOF(method_words) && !streq(*w, method_words[i].word))
                        i++;
                if (i == ELEMENTSOF(method_words))
                        return file_fail(f, f->line, key,
                                         "unknown method \"%s\"; expected validate, flush or "
                                         "password",
                                         *w);
                methods |= method_words[i].method;
        }
        /* Whether the kind supports them is checked once the whole file is
         * read; an empty list is allowed and means none. */
        tf->methods = methods;
        tf->methods_valid = true;
        return 0;
}

static int parse_max_connections(struct config_file *f, const char *key, const char *value)
{
        uint64_t n;
        if (parse_decimal(value, MAX_MAX_CONNECTIONS, &n) < 0 || n == 0)
                return file_fail(f, f->line, key, "expected a number from 1 to %u, got \"%s\"",
                                 MAX_MAX_CONNECTIONS, value);
        transport_file_of(f)->t->config.max_connections = (uint32_t) n;
        return 0;
}

static int parse_tls_trust_file(struct config_file *f, const char *key, const char *value)
{
        return parse_file(f, key, value, false, &transport_file_of(f)->t->config.tls_trust_file);
}

static int parse_tls_client_certificate(struct config_file *f, const char *key, const char *value)
{
        return parse_file(f, key, value, false,
                          &transport_file_of(f)->t->config.tls_client_certificate);
}

static int parse_tls_client_key(struct config_file *f, const char *key, const char *value)
{
        return parse_file(f, key, value, true, &transport_file_of(f)->t->config.tls_client_key);
}

/* sha256//BASE64 of the server's public key, as libcurl pins it; several
 * separated by ';' (a key about to be replaced and its successor). */
static int parse_tls_pinned_key(struct config_file *f, const char *key, const char *value)
{
        _cleanup_free_ char *copy = strdup(value);
        if (!copy)
                return file_oom(f);
        char *save = NULL;
        size_t n = 0;
        for (char *pin = strtok_r(copy, ";", &save); pin; pin = strtok_r(NULL, ";", &save), n++) {
                const char *b64 = pin + strlen("sha256//");
                if (strncmp(pin, "sha256//", 8) != 0 || strlen(b64) != 44 ||
                    strspn(b64,
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
                        44)
                        return file_fail(f, f->line, key,
                                         "expected sha256//BASE64 (the SHA-256 of the server's "
                                         "public key, 44 characters of base64), got \"%s\"",
                                         pin);
        }
        if (n == 0)
                return file_fail(f, f->line, key, "expected sha256//BASE64, got an empty value");
        return store_string(f, &transport_file_of(f)->t->config.tls_pinned_key, value);
}

/* SASL mechanisms libcurl knows, as AuthMechanisms takes them. */
static const char *const auth_mechanisms[] = {
    "PLAIN", "LOGIN",  "CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
    "NTLM",  "GSSAPI", "EXTERNAL", "XOAUTH2",    "OAUTHBEARER",
};

/* "PLAIN LOGIN" → libcurl's login options "AUTH=PLAIN;AUTH=LOGIN". */
static int parse_auth_mechanisms(struct config_file *f, const char *key, const char *value)
{
        _cleanup_strv_free_ char **words = NULL;
        if (strv_split_whitespace(value, &words) < 0)
                return file_oom(f);
        if (!words[0])
                return file_fail(f, f->line, key, "expected one or more SASL mechanisms");
        _cleanup_free_ char *options = strdup("");
        for (size_t i = 0; options && words[i]; i++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(auth_mechanisms); k++)
                        known = known || streq(words[i], auth_mechanisms[k]);
                if (!known)
                        return file_fail(f, f->line, key,
                                         "unknown SASL mechanism \"%s\"; expected PLAIN, LOGIN, "
                                         "CRAM-MD5, DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256, NTLM, "
                                         "GSSAPI, EXTERNAL, XOAUTH2 or OAUTHBEARER",
                                         words[i]);
                char *more = NULL;
                if (asprintf(&more, "%s%sAUTH=%s", options, i ? ";" : "", words[i]) < 0)
                        return file_oom(f);
                free(options);
                options = more;
        }
        if (!options)
                return file_oom(f);
        struct transport_config *c = &transport_file_of(f)->t->config;
        free(c->login_options);
        c->login_options = TAKE_PTR(options);
        return 0;
}

static int parse_directory(struct config_file *f, const char *key, const char *value, char **field)
{
        if (!*value)
                return file_fail(f, f->line, key, "expected a directory, got an empty value");
        int r = path_resolve(f->config_dir, value, field);
        if (r == -ENOMEM)
                return file_oom(f);
        if (r < 0)
                return file_fail(f, f->line, key, "cannot resolve \"%s\": %s", value, strerror(-r));
        return 0;
}

static int parse_maildir(struct config_file *f, const char *key, const char *value)
{
        return parse_directory(f, key, value, &transport_file_of(f)->t->config.maildir);
}

static int parse_pickup(struct config_file *f, const char *key, const char *value)
{
        /* Whether the kind has a pickup directory is checked at the end:
         * Kind may come after Pickup. */
        return parse_directory(f, key, value, &transport_file_of(f)->t->config.pickup);
}

static const struct config_key transport_keys[_TRANSPORT_KEY_MAX] = {
    [TRANSPORT_KIND] = {"Kind", parse_kind},
    [TRANSPORT_DISPLAY_NAME] = {"DisplayName", parse_display_name},
    [TRANSPORT_IDENTITY] = {"Identity", parse_identity},
    [TRANSPORT_SERVER] = {"Server", parse_server},
    [TRANSPORT_USER] = {"User", parse_user},
    [TRANSPORT_PASSWORD_FILE] = {"PasswordFile", parse_password_file},
    [TRANSPORT_STARTTLS] = {"StartTLS", parse_starttls},
    [TRANSPORT_TLS_TRUST_FILE] = {"TLSTrustFile", parse_tls_trust_file},
    [TRANSPORT_TLS_PINNED_KEY] = {"TLSPinnedKey", parse_tls_pinned_key},
    [TRANSPORT_TLS_CLIENT_CERTIFICATE] = {"TLSClientCertificate", parse_tls_client_certificate},
    [TRANSPORT_TLS_CLIENT_KEY] = {"TLSClientKey", parse_tls_client_key},
    [TRANSPORT_AUTH_MECHANISMS] = {"AuthMechanisms", parse_auth_mechanisms},
    [TRANSPORT_PASSWORD_CREDENTIAL] = {"PasswordCredential", parse_password_credential},
    [TRANSPORT_AUTH] = {"Auth", parse_auth},
    [TRANSPORT_PASSWORD_COMMAND] = {"PasswordCommand", parse_password_command},
    [TRANSPORT_TOKEN_COMMAND] = {"TokenCommand", parse_token_command},
    [TRANSPORT_SECRET_SERVICE] = {"SecretService", parse_secret_service},
    [TRANSPORT_ONLINE_ACCOUNT] = {"OnlineAccount", parse_online_account},
    [TRANSPORT_SECRET_TIMEOUT] = {"SecretTimeout", parse_secret_timeout},
    [TRANSPORT_SEND_DELAY] = {"SendDelay", parse_send_delay},
    [TRANSPORT_AFTER_DOWNLOAD] = {"AfterDownload", parse_after_download},
    [TRANSPORT_MAILBOX] = {"Mailbox", parse_mailbox},
    [TRANSPORT_DELETE_AFTER] = {"DeleteAfter", parse_delete_after},
    [TRANSPORT_SENT_COPY] = {"SentCopy", parse_sent_copy},
    [TRANSPORT_IDLE] = {"Idle", parse_idle},
    [TRANSPORT_DEFAULT] = {"Default", parse_default},
    [TRANSPORT_SEND_MODE] = {"SendMode", parse_send_mode},
    [TRANSPORT_POLL_INTERVAL] = {"PollInterval", parse_poll_interval},
    [TRANSPORT_ASYNCHRONOUS] = {"Asynchronous", parse_asynchronous},
    [TRANSPORT_METHODS] = {"Methods", parse_methods},
    [TRANSPORT_MAX_CONNECTIONS] = {"MaxConnections", parse_max_connections},
    [TRANSPORT_MAILDIR_KEY] = {"Maildir", parse_maildir},
    [TRANSPORT_PICKUP] = {"Pickup", parse_pickup},
};

_Static_assert(_TRANSPORT_KEY_MAX <= MAX_KEYS, "config_file.key_lines is too short");
_Static_assert(_SPOOLER_KEY_MAX <= MAX_KEYS, "config_file.key_lines is too short");

/* The keys that name a secret source, in the order of enum secret_kind
 * (from SECRET_PASSWORD_FILE). */
static const enum transport_key secret_keys[] = {
    TRANSPORT_PASSWORD_FILE, TRANSPORT_PASSWORD_CREDENTIAL, TRANSPORT_PASSWORD_COMMAND,
    TRANSPORT_TOKEN_COMMAND, TRANSPORT_SECRET_SERVICE,      TRANSPORT_ONLINE_ACCOUNT,
};

/* One secret source at most; the ones on the user's desktop only where
 * there is one; and an Auth that fits the source. */
static void check_secret(struct transport_file *tf)
{
        struct config_file *f = &tf->file;
        struct transport_config *c = &tf->t->config;
        /* The source written first, and the one after it, if any. */
        enum transport_key first = _TRANSPORT_KEY_MAX, second = _TRANSPORT_KEY_MAX;
        for (size_t i = 0; i < ELEMENTSOF(secret_keys); i++) {
                enum transport_key k = secret_keys[i];
                if (!f->key_lines[k])
                        continue;
                if (first == _TRANSPORT_KEY_MAX || f->key_lines[k] < f->key_lines[first]) {
                        second = first;
                        first = k;
                } else if (second == _TRANSPORT_KEY_MAX || f->key_lines[k] < f->key_lines[second])
                        second = k;
        }
        if (second != _TRANSPORT_KEY_MAX) {
                file_fail(f, f->key_lines[second], transport_keys[second].name,
                          "a transport has one secret source: %s and %s both give one",
                          transport_keys[first].name, transport_keys[second].name);
                return;
        }
        unsigned auth_line = f->key_lines[TRANSPORT_AUTH];
        if (c->secret == SECRET_TOKEN_COMMAND) {
                if (auth_line && c->auth != AUTH_OAUTH2)
                        file_fail(f, auth_line, "Auth",
                                  "TokenCommand gives an OAuth2 token: Auth=oauth2 or no Auth");
                c->auth = AUTH_OAUTH2;
        }
        if (c->secret == SECRET_PASSWORD_COMMAND && c->auth == AUTH_OAUTH2)
                file_fail(f, auth_line, "Auth",
                          "Auth=oauth2 takes its token from TokenCommand, not PasswordCommand");
        if (c->auth == AUTH_OAUTH2 && c->secret == SECRET_NONE)
                file_fail(f, auth_line, "Auth",
                          "Auth=oauth2 needs a token source: TokenCommand, OnlineAccount, "
                          "SecretService or PasswordFile");
        /* The key to name: the source, or Auth when there is none. */
        enum transport_key about = first != _TRANSPORT_KEY_MAX ? first : TRANSPORT_AUTH;
        if (!c->user && (secret_kind_is_fetched(c->secret) || c->auth == AUTH_OAUTH2))
                file_fail(f, f->key_lines[about], transport_keys[about].name,
                          "a secret needs User= to log on as");
        if (!tf->session && (c->secret == SECRET_SERVICE || c->secret == SECRET_ONLINE_ACCOUNT))
                file_fail(f, f->key_lines[first], transport_keys[first].name,
                          "%s is the user's desktop and is read on the session bus only; a "
                          "system service takes PasswordCredential= (LoadCredential= in its "
                          "unit)",
                          transport_keys[first].name);
}

/* The checks that need the whole file: they depend on Kind, which may be
 * set anywhere in it. Each names the line of the key it is about. */
static void check_transport_against_kind(struct transport_file *tf)
{
        struct config_file *f = &tf->file;
        struct transport_config *c = &tf->t->config;
        const char *kind = transport_kind_to_string(c->kind);

        if (c->server) {
                unsigned line = f->key_lines[TRANSPORT_SERVER];
                int url_kind = server_url_kind(c->server);
                if (c->kind == TRANSPORT_MAILDIR)
                        file_fail(f, line, "Server", "Server is not used by kind maildir");
                else if (url_kind != (int) c->kind)
                        file_fail(f, line, "Server",
                                  "\"%s\" does not fit kind %s; expected %s:// or %ss://",
                                  c->server, kind, kind, kind);
        }
        check_secret(tf);
        if (!c->tls_client_certificate != !c->tls_client_key)
                file_fail(f,
                          f->key_lines[c->tls_client_key ? TRANSPORT_TLS_CLIENT_KEY
                                                         : TRANSPORT_TLS_CLIENT_CERTIFICATE],
                          c->tls_client_key ? "TLSClientKey" : "TLSClientCertificate",
                          "TLSClientCertificate and TLSClientKey go together");
        if (c->pickup && c->kind != TRANSPORT_MAILDIR)
                file_fail(f, f->key_lines[TRANSPORT_PICKUP], "Pickup",
                          "Pickup is not used by kind %s", kind);
        if (f->key_lines[TRANSPORT_DELETE_AFTER] && c->kind != TRANSPORT_POP3)
                file_fail(f, f->key_lines[TRANSPORT_DELETE_AFTER], "DeleteAfter",
                          "DeleteAfter is for kind pop3, not %s", kind);
        if (f->key_lines[TRANSPORT_SENT_COPY] && c->kind != TRANSPORT_SMTP)
                file_fail(f, f->key_lines[TRANSPORT_SENT_COPY], "SentCopy",
                          "SentCopy is for kind smtp, not %s", kind);
        if (f->key_lines[TRANSPORT_MAILBOX] && c->kind != TRANSPORT_IMAP)
                file_fail(f, f->key_lines[TRANSPORT_MAILBOX], "Mailbox",
                          "Mailbox is for kind imap, not %s", kind);
        if (f->key_lines[TRANSPORT_IDLE] && c->kind != TRANSPORT_IMAP)
                file_fail(f, f->key_lines[TRANSPORT_IDLE], "Idle", "Idle is for kind imap, not %s",
                          kind);
        if (f->key_lines[TRANSPORT_AFTER_DOWNLOAD] && c->kind != TRANSPORT_IMAP &&
            (c->kind != TRANSPORT_POP3 || c->after_download == AFTER_SEEN))
                file_fail(f, f->key_lines[TRANSPORT_AFTER_DOWNLOAD], "AfterDownload",
                          c->kind == TRANSPORT_POP3 ? "POP3 has no flags: keep or delete"
                                                    : "AfterDownload is for kinds imap and pop3");
        if (tf->methods_valid) {
                uint32_t unsupported = tf->methods & ~transport_kind_methods(c->kind);
                /* Name the first unsupported one in the order of method_words. */
                for (size_t i = 0; i < ELEMENTSOF(method_words); i++)
                        if (unsupported & method_words[i].method) {
                                file_fail(f, f->key_lines[TRANSPORT_METHODS], "Methods",
                                          "\"%s\" is not supported by kind %s",
                                          method_words[i].word, kind);
                                break;
                        }
        }
        if (tf->t->default_line && tf->t->default_value && !transport_kind_is_outbound(c->kind))
                file_fail(f, tf->t->default_line, "Default",
                          "kind %s cannot send; only an smtp or maildir transport can be the "
                          "default",
                          kind);
}

static bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void choose_tls(struct transport_file *tf)
{
        struct transport_config *c = &tf->t->config;
        bool written = tf->file.key_lines[TRANSPORT_STARTTLS] != 0;
        c->cleartext_logon = false;
        if (!c->server)
                c->tls = TLS_NONE;
        else if (startswith(c->server, "smtps://") || startswith(c->server, "imaps://") ||
                 startswith(c->server, "pop3s://"))
                c->tls = TLS_IMPLICIT;
        else if (c->user && !(written && c->starttls == STARTTLS_NO))
                /* A password is never sent in clear by default: yes means
                 * "when offered" only for anonymous use. */
                c->tls = TLS_REQUIRED;
        else if (c->user) {
                c->tls = TLS_NONE;
                c->cleartext_logon = true;
        } else
                c->tls = c->starttls == STARTTLS_REQUIRED ? TLS_REQUIRED
                         : c->starttls == STARTTLS_NO     ? TLS_NONE
                                                          : TLS_OPTIONAL;
}

static int fill_transport_defaults(struct transport_file *tf, const char *state_dir)
{
        struct transport_config *c = &tf->t->config;
        choose_tls(tf);
        if (!c->display_name && !(c->display_name = strdup(c->id)))
                return -ENOMEM;
        if (!c->identity && !(c->identity = strdup("")))
                return -ENOMEM;
        if (!c->mailbox && !(c->mailbox = strdup("INBOX")))
                return -ENOMEM;
        if (tf->methods_valid)
                c->methods = tf->methods;
        else
                c->methods = transport_kind_methods(c->kind);

        _cleanup_free_ char *mail = NULL, *pickup = NULL, *secret = NULL;
        if (asprintf(&mail, "mail/%s", c->id) < 0 || asprintf(&pickup, "pickup/%s", c->id) < 0 ||
            asprintf(&secret, "secrets/%s", c->id) < 0)
                return -ENOMEM;
        int r;
        if (!c->maildir && (r = path_resolve(state_dir, mail, &c->maildir)) < 0)
                return r;
        if (c->password_file && (r = path_resolve(state_dir, secret, &c->stored_secret)) < 0)
                return r;
        if (c->kind == TRANSPORT_MAILDIR && !c->pickup &&
            (r = path_resolve(state_dir, pickup, &c->pickup)) < 0)
                return r;
        return 0;
}

static bool transport_id_is_valid(const char *id)
{
        if (!*id)
                return false;
        /* Spelled out rather than isalnum(), which depends on the locale. */
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
                        return false;
        return true;
}

/* Reads one transport file into *t (which the caller clears, also on error). */
static int load_transport_file(const char *config_dir, const char *state_dir, bool session,
                               const char *path, const char *id, struct loaded_transport *t,
                               char **ret_error)
{
        *t = (struct loaded_transport){
            .config =
                {
                    .starttls = STARTTLS_YES,
                    .send_mode = SEND_IMMEDIATE,
                    .poll_interval = DEFAULT_POLL_INTERVAL,
                    .max_connections = DEFAULT_MAX_CONNECTIONS,
                    .secret_timeout = CONFIG_DEFAULT_SECRET_TIMEOUT,
                    .idle = true,
                },
        };
        t->config.id = strdup(id);
        t->config.file = strdup(path);
        if (!t->config.id || !t->config.file)
                return -ENOMEM;

        struct transport_file tf = {
            .file =
                {
                    .path = path,
                    .config_dir = config_dir,
                    .section = "Transport",
                    .keys = transport_keys,
                    .n_keys = _TRANSPORT_KEY_MAX,
                },
            .t = t,
            .session = session,
        };
        bool exists;
        int r = file_open(&tf.file, false, &exists, ret_error);
        if (r >= 0)
                r = file_parse(&tf.file, ret_error);
        if (r >= 0) {
                /* Even after a problem while parsing: one these find on an
                 * earlier line is the one to show. */
                if (tf.kind_valid)
                        check_transport_against_kind(&tf);
                if (!tf.file.key_lines[TRANSPORT_KIND])
                        file_fail(&tf.file, 0, "Kind", "required key is missing");
                else if (tf.kind_valid && t->config.kind != TRANSPORT_MAILDIR &&
                         !tf.file.key_lines[TRANSPORT_SERVER])
                        file_fail(&tf.file, 0, "Server", "required key is missing");
                r = file_take_error(&tf.file, ret_error);
        }
        file_done(&tf.file);
        if (r < 0)
                return r;
        return fill_transport_defaults(&tf, state_dir);
}

/* ---- the transports ---- */

struct transport_list {
        struct loaded_transport *items;
        size_t n;
};

static void transport_list_clear(struct transport_list *l)
{
        for (size_t i = 0; i < l->n; i++)
                transport_config_clear(&l->items[i].config);
        free(l->items);
        *l = (struct transport_list){0};
}

static struct loaded_transport *transport_list_add(struct transport_list *l)
{
        struct loaded_transport *items = realloc(l->items, (l->n + 1) * sizeof(*items));
        if (!items)
                return NULL;
        l->items = items;
        items[l->n] = (struct loaded_transport){0};
        return &items[l->n++];
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static bool is_transport_file_name(const char *name)
{
        size_t n = strlen(name);
        return name[0] != '.' && n > 5 && streq(name + n - 5, ".conf");
}

/* The names of the transport files (transports.d/<id>.conf) in strcmp() order: that order is
 * TransportOrder's default, so it must not depend on the locale or on the
 * order readdir() happens to return. A missing directory has none. */
static int list_transport_files(const char *dir, char ***ret, char **ret_error)
{
        DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT) {
                        *ret = NULL;
                        return 0;
                }
                return fail_errno(ret_error, dir, -errno);
        }
        _cleanup_strv_free_ char **names = NULL;
        int r = 0;
        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = fail_errno(ret_error, dir, -errno);
                        break;
                }
                if (!is_transport_file_name(de->d_name))
                        continue;
                if (strv_extend(&names, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
        }
        closedir(d);
        if (r < 0)
                return r;
        if (names)
                qsort(names, strv_length(names), sizeof(char *), compare_names);
        *ret = TAKE_PTR(names);
        return 0;
}

static int load_transports(const char *config_dir, const char *state_dir, bool session,
                           struct transport_list *list, char **ret_error)
{
        _cleanup_free_ char *dir = path_join(config_dir, "transports.d");
        if (!dir)
                return -ENOMEM;
        _cleanup_strv_free_ char **names = NULL;
        int r = list_transport_files(dir, &names, ret_error);
        if (r < 0)
                return r;

        STRV_FOREACH (name, names) {
                _cleanup_free_ char *path = path_join(dir, *name);
                _cleanup_free_ char *id = strndup(*name, strlen(*name) - strlen(".conf"));
                if (!path || !id)
                        return -ENOMEM;
                if (!transport_id_is_valid(id)) {
                        if (ret_error &&
                            asprintf(ret_error,
                                     "%s: \"%s\" is not a valid transport id; use only letters, "
                                     "digits, '_', '.' and '-'",
                                     path, id) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                struct loaded_transport *t = transport_list_add(list);
                if (!t)
                        return -ENOMEM;
                r = load_transport_file(config_dir, state_dir, session, path, id, t, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The one Maildir transport a config dir without transports gets. */
static int add_builtin_transport(const char *state_dir, struct transport_list *list)
{
        struct loaded_transport *t = transport_list_add(list);
        if (!t)
                return -ENOMEM;
        struct transport_config *c = &t->config;
        *c = (struct transport_config){
            .kind = TRANSPORT_MAILDIR,
            .starttls = STARTTLS_YES,
            .send_mode = SEND_IMMEDIATE,
            .poll_interval = DEFAULT_POLL_INTERVAL,
            .methods = transport_kind_methods(TRANSPORT_MAILDIR),
            .max_connections = DEFAULT_MAX_CONNECTIONS,
        };
        c->id = strdup(CONFIG_BUILTIN_TRANSPORT_ID);
        c->display_name = strdup(CONFIG_BUILTIN_TRANSPORT_ID);
        c->identity = strdup("");
        if (!c->id || !c->display_name || !c->identity)
                return -ENOMEM;
        int r = path_resolve(state_dir, "mail/" CONFIG_BUILTIN_TRANSPORT_ID, &c->maildir);
        if (r < 0)
                return r;
        return path_resolve(state_dir, "pickup/" CONFIG_BUILTIN_TRANSPORT_ID, &c->pickup);
}

/* At most one transport may say Default=yes; the message names the second
 * one in file-name order, where the reader is most likely to look. */
/* SentCopy= names an imap transport that exists. */
static int check_sent_copies(const struct transport_list *list, char **ret_error)
{
        for (size_t i = 0; i < list->n; i++) {
                const struct loaded_transport *t = &list->items[i];
                const char *target = t->config.sent_copy_transport;
                if (!target)
                        continue;
                const struct loaded_transport *found = NULL;
                for (size_t k = 0; k < list->n; k++)
                        if (streq(list->items[k].config.id, target))
                                found = &list->items[k];
                if (found && found->config.kind == TRANSPORT_IMAP)
                        continue;
                if (!ret_error)
                        return -EINVAL;
                int r = !found ? asprintf(ret_error,
                                          "%s:%u: SentCopy: unknown transport \"%s\" (there is "
                                          "no transports.d/%s.conf)",
                                          t->config.file, t->sent_copy_line, target, target)
                               : asprintf(ret_error,
                                          "%s:%u: SentCopy: transport \"%s\" is of kind %s; "
                                          "the copy goes to an imap transport",
                                          t->config.file, t->sent_copy_line, target,
                                          transport_kind_to_string(found->config.kind));
                if (r < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        return 0;
}

static int check_single_default(const struct transport_list *list, char **ret_error)
{
        const struct loaded_transport *first = NULL;
        for (size_t i = 0; i < list->n; i++) {
                const struct loaded_transport *t = &list->items[i];
                if (!t->default_line || !t->default_value)
                        continue;
                if (!first) {
                        first = t;
                        continue;
                }
                if (ret_error && asprintf(ret_error,
                                          "%s:%u: Default: \"%s\" (%s:%u) is already the default "
                                          "transport",
                                          t->config.file, t->default_line, first->config.id,
                                          first->config.file, first->default_line) < 0)
                        *ret_error = NULL;
                return -EINVAL;
        }
        return 0;
}

/* Fills order[] with indexes into list: the transports TransportOrder names,
 * in its order, then the others in file-name order. */
static int order_transports(const struct transport_list *list, const struct spooler_file *s,
                            size_t *order, char **ret_error)
{
        size_t n = 0;
        _cleanup_free_ bool *placed = calloc(list->n + 1, sizeof(bool));
        if (!placed)
                return -ENOMEM;

        STRV_FOREACH (id, s->transport_order) {
                size_t i = 0;
                while (i < list->n && !streq(list->items[i].config.id, *id))
                        i++;
                if (i == list->n) {
                        if (ret_error &&
                            asprintf(ret_error,
                                     "%s:%u: TransportOrder: unknown transport \"%s\" (there is "
                                     "no transports.d/%s.conf)",
                                     s->file.path, s->file.key_lines[SPOOLER_TRANSPORT_ORDER], *id,
                                     *id) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                /* parse_transport_order() refused duplicates. */
                order[n++] = i;
                placed[i] = true;
        }
        for (size_t i = 0; i < list->n; i++)
                if (!placed[i])
                        order[n++] = i;
        return 0;
}

/* Default=yes wins; without it the first outbound transport in order that
 * does not say Default=no (a "no" is taken at its word, so a setup whose
 * outbound transports all say no has no default transport). */
static void choose_default(struct transport_list *list, const size_t *order)
{
        for (size_t i = 0; i < list->n; i++)
                if (list->items[i].default_line && list->items[i].default_value) {
                        list->items[i].config.is_default = true;
                        return;
                }
        for (size_t i = 0; i < list->n; i++) {
                struct loaded_transport *t = &list->items[order[i]];
                if (transport_kind_is_outbound(t->config.kind) &&
                    !(t->default_line && !t->default_value)) {
                        t->config.is_default = true;
                        return;
                }
        }
}

static int load_spooler_file(struct spooler_file *s, char **ret_error)
{
        bool exists;
        int r = file_open(&s->file, true, &exists, ret_error);
        if (r < 0 || !exists)
                return r;
        r = file_parse(&s->file, ret_error);
        if (r < 0)
                return r;
        return file_take_error(&s->file, ret_error);
}

int config_load(const char *config_dir, const char *state_dir, bool session,
                struct spool_config *ret, char **ret_error)
{
        if (!config_dir || !state_dir || !ret)
                return -EINVAL;

        _cleanup_(transport_list_clear) struct transport_list list = {0};
        _cleanup_(spool_config_clear) struct spool_config config = {
            .max_message_size = CONFIG_DEFAULT_MAX_MESSAGE_SIZE,
            .submit_timeout = CONFIG_DEFAULT_SUBMIT_TIMEOUT,
            .queue_lifetime = CONFIG_DEFAULT_QUEUE_LIFETIME,
            .delay_warning_time = CONFIG_DEFAULT_DELAY_WARNING_TIME,
        };
        _cleanup_free_ char *spooler_path = path_join(config_dir, "mailspool.conf");
        if (!spooler_path)
                return -ENOMEM;
        _cleanup_(spooler_file_done) struct spooler_file spooler = {
            .file =
                {
                    .path = spooler_path,
                    .config_dir = config_dir,
                    .section = "Spooler",
                    .keys = spooler_keys,
                    .n_keys = _SPOOLER_KEY_MAX,
                },
            .max_message_size = CONFIG_DEFAULT_MAX_MESSAGE_SIZE,
            .submit_timeout = CONFIG_DEFAULT_SUBMIT_TIMEOUT,
            .user_queue_messages = CONFIG_DEFAULT_USER_QUEUE_MESSAGES,
            .user_queue_size = CONFIG_FROM_DISK,
            .disk_reserve = CONFIG_FROM_DISK,
            .queue_lifetime = CONFIG_DEFAULT_QUEUE_LIFETIME,
            .delay_warning_time = CONFIG_DEFAULT_DELAY_WARNING_TIME,
        };

        struct stat st;
        int r;
        if (stat(config_dir, &st) < 0) {
                if (errno != ENOENT)
                        return fail_errno(ret_error, config_dir, -errno);
                /* No config dir at all: run out of the box (docs/bus-api.md, "The daemon's
                 * command line"). */
        } else {
                if (!S_ISDIR(st.st_mode))
                        return fail_errno(ret_error, config_dir, -ENOTDIR);
                r = load_spooler_file(&spooler, ret_error);
                if (r < 0)
                        return r;
                r = load_transports(config_dir, state_dir, session, &list, ret_error);
                if (r < 0)
                        return r;
        }

        /* A config dir without a single transport (empty, or holding only
         * mailspool.conf) gets the built-in one too rather than being an error:
         * a spooler without transports could do nothing, and this way creating
         * the directory (say, for mailspool.conf's AdminGroup) does not stop a
         * working setup. */
        if (list.n == 0) {
                r = add_builtin_transport(state_dir, &list);
                if (r < 0)
                        return r;
                config.builtin = true;
        }

        r = check_single_default(&list, ret_error);
        if (r < 0)
                return r;
        r = check_sent_copies(&list, ret_error);
        if (r < 0)
                return r;
        _cleanup_free_ size_t *order = calloc(list.n, sizeof(size_t));
        if (!order)
                return -ENOMEM;
        r = order_transports(&list, &spooler, order, ret_error);
        if (r < 0)
                return r;
        choose_default(&list, order);

        config.transports = calloc(list.n, sizeof(struct transport_config));
        if (!config.transports)
                return -ENOMEM;
        for (size_t i = 0; i < list.n; i++) {
                /* Moved, not copied: the list must not free what it gave away. */
                config.transports[i] = list.items[order[i]].config;
                list.items[order[i]].config = (struct transport_config){0};
        }
        config.n_transports = list.n;
        config.admin_group = TAKE_PTR(spooler.admin_group);
        config.max_message_size = spooler.max_message_size;
        config.submit_timeout = spooler.submit_timeout;
        config.queue_lifetime = spooler.queue_lifetime;
        config.delay_warning_time = spooler.delay_warning_time;
        config.uncertain_hold = spooler.uncertain_hold;
        config.mail_domain = TAKE_PTR(spooler.mail_domain);
        config.notifications = spooler.notifications;
        config.user_queue_messages = spooler.user_queue_messages;
        config.user_queue_size = spooler.user_queue_size;
        config.disk_reserve = spooler.disk_reserve;

        *ret = config;
        config = (struct spool_config){0};
        return 0;
}
