/* Submit and SubmitData: parse the options and the message, route it to a
 * transport, store it in one transaction, and only then reply. A message
 * handed over as a pipe is read without blocking the loop (docs/bus-api.md,
 * "Spooler.Submit and Spooler.SubmitData"). */
#include "bus-faces.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "bus-error.h"
#include "bus-read.h"
#include "log.h"
#include "mail-parse.h"
#include "quota.h"
#include "smtp-data.h"
#include "transport.h"

struct submit_options {
        uid_t owner;     /* the caller, as the bus vouches for it */
        char *transport; /* object path, NULL if not given */
        char *sender;
        char **recipients;
        bool on_demand;          /* OnDemand: waits for a flush */
        bool hold;               /* Hold: held until Release */
        uint64_t deferred_until; /* DeferredUntil; 0: none */
        uint64_t expiry;         /* ExpiryTime; 0: none */
        /* DsnNotify, DsnReturn (canonical) and DsnEnvelopeId; NULL: none. */
        char *dsn_notify, *dsn_return, *dsn_envid;
};

static void submit_options_clear(struct submit_options *o)
{
        free(o->transport);
        free(o->sender);
        strv_free(o->recipients);
        free(o->dsn_notify);
        free(o->dsn_return);
        free(o->dsn_envid);
        *o = (struct submit_options){};
}

/* The Recipients option, read one string at a time: a list over
 * MAIL_MAX_RECIPIENTS is refused before it costs more than reading it. */
static int read_recipients(sd_bus_message *m, char ***ret, sd_bus_error *error)
{
        _cleanup_strv_free_ char **l = calloc(MAIL_MAX_RECIPIENTS + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        int r = sd_bus_message_enter_container(m, 'a', "s");
        size_t n = 0;
        const char *s;
        while (r >= 0 && (r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
                if (n == MAIL_MAX_RECIPIENTS)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "too many recipients (at most %d)",
                                              MAIL_MAX_RECIPIENTS);
                if (!(l[n++] = strdup(s)))
                        return -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int read_option_value(sd_bus_message *m, const char *key, const char *type, void *ret,
                             sd_bus_error *error)
{
        int r = bus_enter_variant(m, "option", key, type, error);
        if (r < 0)
                return r;
        if (streq(type, "as"))
                r = read_recipients(m, (char ***) ret, error);
        else
                r = sd_bus_message_read_basic(m, type[0], ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_option(sd_bus_message *m, const char *key, void *userdata, sd_bus_error *error)
{
        struct submit_options *o = userdata;
        const char *s;
        int b, r;

        if (streq(key, "Transport")) {
                r = read_option_value(m, key, "o", &s, error);
                if (r >= 0 && !(o->transport = strdup(s)))
                        r = -ENOMEM;
        } else if (streq(key, "Sender")) {
                r = read_option_value(m, key, "s", &s, error);
                if (r >= 0 && !(o->sender = strdup(s)))
                        r = -ENOMEM;
        } else if (streq(key, "Recipients")) {
                o->recipients = strv_free(o->recipients);
                r = read_option_value(m, key, "as", &o->recipients, error);
        } else if (streq(key, "OnDemand")) {
                r = read_option_value(m, key, "b", &b, error);
                o->on_demand = b;
        } else if (streq(key, "Hold")) {
                r = read_option_value(m, key, "b", &b, error);
                o->hold = b;
        } else if (streq(key, "DeferredUntil")) {
                r = read_option_value(m, key, "t", &o->deferred_until, error);
        } else if (streq(key, "ExpiryTime")) {
                r = read_option_value(m, key, "t", &o->expiry, error);
        } else if (streq(key, "DsnNotify")) {
                r = read_option_value(m, key, "s", &s, error);
                free(o->dsn_notify);
                o->dsn_notify = NULL;
                if (r >= 0 && dsn_notify_normalize(s, &o->dsn_notify) < 0)
                        r = bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                           "DsnNotify is NEVER or a list of SUCCESS, FAILURE and "
                                           "DELAY joined by commas; nothing was stored");
        } else if (streq(key, "DsnReturn")) {
                r = read_option_value(m, key, "s", &s, error);
                free(o->dsn_return);
                o->dsn_return = NULL;
                if (r >= 0 && dsn_return_normalize(s, &o->dsn_return) < 0)
                        r = bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                           "DsnReturn is FULL or HDRS; nothing was stored");
        } else if (streq(key, "DsnEnvelopeId")) {
                r = read_option_value(m, key, "s", &s, error);
                if (r >= 0 && !dsn_envid_valid(s))
                        r = bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                           "DsnEnvelopeId is 1 to 100 printable ASCII "
                                           "characters; nothing was stored");
                if (r >= 0) {
                        free(o->dsn_envid);
                        if (!(o->dsn_envid = strdup(s)))
                                r = -ENOMEM;
                }
        } else
                r = bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                   "unknown option \"%s\" (Transport, Sender, Recipients, "
                                   "OnDemand, Hold, DeferredUntil, ExpiryTime, DsnNotify, "
                                   "DsnReturn and DsnEnvelopeId are known)",
                                   key);
        return r;
}

/* The options, and who submits: a message whose owner the bus cannot vouch
 * for (the caller left before we asked) is refused, never stored as ours. */
static int read_options(sd_bus_message *m, struct submit_options *o, sd_bus_error *error)
{
        int r = bus_caller_uid(m, &o->owner);
        if (r < 0)
                return bus_error_mapi(error, MAPI_E_NO_ACCESS,
                                      "the bus cannot tell who is submitting (%s); nothing was "
                                      "stored",
                                      strerror(-r));
        return bus_read_dict(m, read_option, o, error);
}

/* The caller's quota and the disk reserve (docs/bus-api.md, "Configuration
 * files": UserQueueMessages, UserQueueSize, DiskReserve). */
static int check_quota(struct bus_faces *b, sd_bus_message *m, uid_t owner, size_t size,
                       sd_bus_error *error)
{
        struct statvfs fs;
        if (statvfs(b->spool->state_dir, &fs) < 0)
                return bus_error_store(error, -errno, "cannot tell the free space");
        uint64_t fs_size = (uint64_t) fs.f_blocks * fs.f_frsize;
        uint64_t free_bytes = (uint64_t) fs.f_bavail * fs.f_frsize;
        uint64_t queued = 0, queued_bytes = 0;
        int r = store_owner_queue(b->spool->store, owner, &queued, &queued_bytes);
        if (r < 0)
                return bus_error_store(error, r, "cannot count the queue");

        struct quota_limits l = quota_limits_for(&b->spool->config, fs_size);
        switch (quota_check(&l, queued, queued_bytes, size, free_bytes, false)) {
        case QUOTA_OK:
                return 0;
        case QUOTA_MESSAGES:
                return bus_error_mapi(error, MAPI_E_NOT_ENOUGH_RESOURCES,
                                      "uid %u has %" PRIu64 " messages waiting to be sent, as "
                                      "many as one user may (UserQueueMessages); nothing was "
                                      "stored, try again when some are sent",
                                      (unsigned) owner, queued);
        case QUOTA_BYTES:
                return bus_error_mapi(error, MAPI_E_NOT_ENOUGH_RESOURCES,
                                      "uid %u has %" PRIu64 " bytes waiting to be sent; with "
                                      "these %zu it would pass the %" PRIu64
                                      " one user may (UserQueueSize); nothing was stored",
                                      (unsigned) owner, queued_bytes, size, l.bytes);
        case QUOTA_RESERVE:
                /* The user database is asked only when it matters. */
                if (bus_faces_privileged(b, m))
                        return 0;
                return bus_error_mapi(error, MAPI_E_NOT_ENOUGH_DISK,
                                      "the state directory has %" PRIu64 " bytes free and keeps "
                                      "%" PRIu64 " for root and the admin group (DiskReserve); "
                                      "nothing was stored, try again later",
                                      free_bytes, l.reserve);
        }
        return 0;
}

/* The sender of a message that names none: the Identity of the transport
 * it goes to, else the owner's login name at MailDomain. */
static char *default_sender(struct bus_faces *b, const struct submit_options *o)
{
        struct transport *t = o->transport ? spool_find_transport_by_path(b->spool, o->transport)
                                           : spool_route(b->spool, "");
        if (t && t->config->identity && t->config->identity[0])
                return strdup(t->config->identity);
        char buf[1024];
        struct passwd pw, *found = NULL;
        char *address = NULL;
        if (getpwuid_r(o->owner, &pw, buf, sizeof(buf), &found) != 0 || !found)
                found = NULL;
        int r = found ? asprintf(&address, "%s@%s", found->pw_name, spool_mail_domain(b->spool))
                      : asprintf(&address, "uid%u@%s", (unsigned) o->owner,
                                 spool_mail_domain(b->spool));
        if (r < 0)
                return NULL;
        return address;
}

/* RFC 5322 wants From and Date, and servers expect a Message-ID: a local
 * submission lacking them gets them here, as Postfix gives them. On
 * success *ret is NULL when nothing was missing. */
static int complete_message(struct bus_faces *b, const struct submit_options *o, const void *data,
                            size_t size, void **ret, size_t *ret_size)
{
        unsigned missing = 0;
        *ret = NULL;
        /* A message without a header section is refused by the parser. */
        if (mail_missing_fields(data, size, &missing) < 0 || !missing)
                return 0;
        _cleanup_free_ char *from = NULL;
        if (missing & MAIL_MISSING_FROM) {
                from = o->sender ? strdup(o->sender) : default_sender(b, o);
                if (!from)
                        return -ENOMEM;
        }
        return mail_prepend_fields(data, size, missing, from, spool_mail_domain(b->spool),
                                   now_realtime_usec(), ret, ret_size);
}

/* Everything after the bytes are in: check, parse, route, store, reply. */
static int submit_store(struct bus_faces *b, sd_bus_message *m, const struct submit_options *o,
                        const void *data, size_t size, sd_bus_error *error)
{
        if (size > b->spool->config.max_message_size)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the message is %zu bytes; this spooler takes at most "
                                      "%" PRIu64 " (MaxMessageSize); nothing was stored",
                                      size, b->spool->config.max_message_size);
        uint64_t now = now_realtime_usec();
        if (o->deferred_until > INT64_MAX || o->expiry > INT64_MAX)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "DeferredUntil and ExpiryTime are microseconds since the "
                                      "epoch, at most %" PRId64 "; nothing was stored",
                                      INT64_MAX);
        if (o->expiry && o->expiry <= now)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "ExpiryTime is already past; nothing was stored");
        if (o->expiry && o->expiry <= o->deferred_until)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "ExpiryTime comes before DeferredUntil: the message could "
                                      "never be sent; nothing was stored");
        int r = check_quota(b, m, o->owner, size, error);
        if (r < 0)
                return r;

        _cleanup_free_ void *completed = NULL;
        size_t completed_size = 0;
        r = complete_message(b, o, data, size, &completed, &completed_size);
        if (r < 0)
                return r;
        if (completed) {
                data = completed;
                size = completed_size;
        }

        struct parsed_mail mail = {};
        _cleanup_free_ char *why = NULL;
        r = mail_parse(data, size, o->sender, o->recipients, &mail, &why);
        if (r == -EINVAL)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER, "%s; nothing was stored",
                                      why ? why : "malformed message");
        if (r < 0)
                return r;

        struct transport *t;
        if (o->transport) {
                t = spool_find_transport_by_path(b->spool, o->transport);
                if (!t)
                        r = bus_error_mapi(error, MAPI_E_NOT_FOUND,
                                           "no transport at %s; nothing was stored", o->transport);
                else if (!transport_kind_is_outbound(t->config->kind))
                        r = bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                           "transport \"%s\" (%s) does not send mail; nothing "
                                           "was stored",
                                           t->config->id,
                                           transport_kind_to_string(t->config->kind));
        } else {
                t = spool_route(b->spool, mail.from);
                if (!t)
                        r = bus_error_mapi(error, MAPI_E_NOT_FOUND,
                                           "no outbound transport is configured; nothing was "
                                           "stored");
        }
        if (r < 0) {
                parsed_mail_clear(&mail);
                return r;
        }

        struct msg_record rec = {
            .direction = MSG_OUTBOUND,
            .transport = (char *) t->config->id,
            .sender = mail.sender,
            .recipients = mail.recipients,
            .subject = mail.subject,
            .message_id = mail.message_id,
            .owner = o->owner,
            .on_demand = o->on_demand,
            .expiry_usec = o->expiry,
            .submitted_usec = now_realtime_usec(),
            /* Decided now, so that the body outlives "sent" until the copy
             * is made (store.c, version 5). */
            .sent_copy = t->config->sent_copy_transport ? SENT_COPY_PENDING : SENT_COPY_NONE,
            .dsn_notify = o->dsn_notify,
            .dsn_return = o->dsn_return,
            .dsn_envid = o->dsn_envid,
        };
        /* Hold wins; then the later of DeferredUntil and the end of the
         * transport's undo window (SendDelay), which a forced flush may cut
         * short only when it is the window alone. */
        uint64_t window =
            t->config->send_delay ? rec.submitted_usec + t->config->send_delay * USEC_PER_SEC : 0;
        rec.due_usec = o->deferred_until > window ? o->deferred_until : window;
        rec.undo_window = window > 0 && o->deferred_until <= window;
        rec.state = o->hold                             ? MSG_HELD
                    : rec.due_usec > rec.submitted_usec ? MSG_SCHEDULED
                                                        : MSG_QUEUED;
        uint64_t id;
        r = store_add_outbound(b->spool->store, &rec, mail.data, mail.size, &id);
        parsed_mail_clear(&mail);
        if (r < 0)
                return bus_error_store(error, r, "cannot store the message");

        _cleanup_free_ char *path = NULL;
        r = message_path_for_id(id, &path);
        if (r < 0)
                return r;
        log_debug("message %" PRIu64 " stored for transport \"%s\" (%zu bytes)", id, t->config->id,
                  size);
        message_dbus_created(b, id);
        r = sd_bus_reply_method_return(m, "o", path);
        spool_heap_settle(b->spool, 1);
        if (rec.state == MSG_QUEUED)
                transport_message_added(t, o->on_demand);
        else
                transport_waiting_changed(t);
        if (rec.state == MSG_SCHEDULED || rec.expiry_usec)
                spool_schedule_changed(b->spool);
        return r;
}

int method_submit_data(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        _cleanup_(submit_options_clear) struct submit_options o = {};
        const void *data;
        size_t size;

        int r = sd_bus_message_read_array(m, 'y', &data, &size);
        if (r < 0)
                return r;
        r = read_options(m, &o, error);
        if (r < 0)
                return r;
        return submit_store(userdata, m, &o, data, size, error);
}

/* A message arriving through a pipe or socket, read as it comes, within
 * limits: a caller that never finishes, or opens many, cannot take the
 * daemon's descriptors or memory from the others. */
struct submit_reader {
        struct bus_faces *b;
        struct submit_reader *prev, *next;
        sd_bus_message *call; /* holds the descriptor, which we read */
        struct submit_options options;
        int fd;
        sd_event_source *source;
        sd_event_source *deadline;
        char *data;
        size_t size, allocated;
};

void submit_limits_init(struct submit_limits *l)
{
        /* A quarter of the descriptors for pending pipe submissions: the rest
         * serve the store, the servers, the bus and Maildir writes. One uid
         * gets a sixteenth of that, so that fifteen others still fit. */
        struct rlimit rl = {.rlim_cur = 1024};
        (void) getrlimit(RLIMIT_NOFILE, &rl);
        rlim_t quarter =
            rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 4u << 20 ? 1u << 20 : rl.rlim_cur / 4;
        l->readers = quarter > 1 ? (unsigned) quarter : 1;
        l->readers_per_uid = l->readers / 16 > 2 ? l->readers / 16 : 2;
}

/* MaxMessageSize as a size a buffer can have (the key takes up to 2^64-1). */
static uint64_t max_buffer(const struct bus_faces *b)
{
        uint64_t max = b->spool->config.max_message_size;
        return max < (UINT64_C(1) << 40) ? max + 1 : UINT64_C(1) << 40;
}

/* Bytes of read buffers one uid, and everyone, may hold: one message of
 * MaxMessageSize per uid, four in all. */
static uint64_t reader_bytes_per_uid(const struct bus_faces *b)
{
        return max_buffer(b);
}

static uint64_t reader_bytes_total(const struct bus_faces *b)
{
        return 4 * reader_bytes_per_uid(b);
}

static void uid_usage(const struct bus_faces *b, uid_t uid, unsigned *ret_n, uint64_t *ret_bytes)
{
        *ret_n = 0;
        *ret_bytes = 0;
        for (const struct submit_reader *s = b->readers; s; s = s->next)
                if (s->options.owner == uid) {
                        (*ret_n)++;
                        *ret_bytes += s->allocated;
                }
}

static void submit_reader_free(struct submit_reader *s)
{
        struct bus_faces *b = s->b;
        if (s->prev)
                s->prev->next = s->next;
        else if (b->readers == s)
                b->readers = s->next;
        if (s->next)
                s->next->prev = s->prev;
        b->n_readers--;
        b->reader_bytes -= s->allocated;
        sd_event_source_disable_unref(s->source);
        sd_event_source_disable_unref(s->deadline);
        sd_bus_message_unref(s->call);
        submit_options_clear(&s->options);
        free(s->data);
        free(s);
}

void submit_readers_free(struct bus_faces *b)
{
        while (b->readers)
                submit_reader_free(b->readers);
}

static void submit_reader_finish(struct submit_reader *s, int r, sd_bus_error *error)
{
        if (r < 0) {
                if (sd_bus_error_is_set(error))
                        sd_bus_reply_method_error(s->call, error);
                else
                        sd_bus_reply_method_errno(s->call, r, NULL);
        }
        submit_reader_free(s);
}

/* Room for the next read, within the caller's and everyone's budget. */
static int submit_reader_grow(struct submit_reader *s, sd_bus_error *error)
{
        struct bus_faces *b = s->b;
        uint64_t cap = max_buffer(b); /* one byte more than a message may have */
        if (s->size + 65536 <= s->allocated || s->allocated >= cap)
                return 0;
        size_t want = s->allocated ? s->allocated * 2 : 131072;
        if (want > cap)
                want = (size_t) cap;
        unsigned n;
        uint64_t mine;
        uid_usage(b, s->options.owner, &n, &mine);
        uint64_t more = want - s->allocated;
        if (mine + more > reader_bytes_per_uid(b) || b->reader_bytes + more > reader_bytes_total(b))
                return bus_error_mapi(error, MAPI_E_BUSY,
                                      "the spooler is reading as much mail as it may hold at "
                                      "once; nothing was stored, try again shortly");
        char *p = realloc(s->data, want);
        if (!p)
                return -ENOMEM;
        s->data = p;
        b->reader_bytes += more;
        s->allocated = want;
        return 0;
}

static int submit_reader_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        struct submit_reader *s = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        uint64_t max = s->b->spool->config.max_message_size;

        for (;;) {
                int r = submit_reader_grow(s, &error);
                if (r >= 0 && s->size >= s->allocated)
                        r = bus_error_mapi(&error, MAPI_E_INVALID_PARAMETER,
                                           "the message is larger than the spooler can hold; "
                                           "nothing was stored");
                if (r < 0) {
                        submit_reader_finish(s, r, &error);
                        return 0;
                }
                ssize_t n = read(s->fd, s->data + s->size, s->allocated - s->size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n < 0) {
                        r = bus_error_mapi(&error, MAPI_E_INVALID_PARAMETER,
                                           "cannot read the message: %s; nothing was stored",
                                           strerror(errno));
                        submit_reader_finish(s, r, &error);
                        return 0;
                }
                if (n == 0)
                        break;
                s->size += (size_t) n;
                if (s->size > max) {
                        r = bus_error_mapi(&error, MAPI_E_INVALID_PARAMETER,
                                           "the message is larger than %" PRIu64
                                           " bytes (MaxMessageSize); nothing was stored",
                                           max);
                        submit_reader_finish(s, r, &error);
                        return 0;
                }
        }
        int r = submit_store(s->b, s->call, &s->options, s->data, s->size, &error);
        submit_reader_finish(s, r, &error);
        return 0;
}

static int submit_reader_deadline(sd_event_source *source, uint64_t usec, void *userdata)
{
        struct submit_reader *s = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = bus_error_mapi(&error, MAPI_E_TIMEOUT,
                               "the message did not arrive whole within %" PRIu32
                               " s (SubmitTimeout); nothing was stored",
                               s->b->spool->config.submit_timeout);
        submit_reader_finish(s, r, &error);
        return 0;
}

/* Reads a pipe or socket on the loop: the writer may still be writing. */
static int submit_reader_start(struct bus_faces *b, sd_bus_message *m, int fd,
                               struct submit_options *o, sd_bus_error *error)
{
        unsigned mine;
        uint64_t bytes;
        uid_usage(b, o->owner, &mine, &bytes);
        if (mine >= b->submit_limits.readers_per_uid || b->n_readers >= b->submit_limits.readers)
                return bus_error_mapi(error, MAPI_E_BUSY,
                                      "%u messages of yours are still being read (at most %u, "
                                      "%u in all); nothing was stored, try again when they "
                                      "are in",
                                      mine, b->submit_limits.readers_per_uid,
                                      b->submit_limits.readers);

        struct submit_reader *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->b = b;
        s->next = b->readers;
        if (s->next)
                s->next->prev = s;
        b->readers = s;
        b->n_readers++;
        s->call = sd_bus_message_ref(m);
        s->options = *o;
        *o = (struct submit_options){};
        /* The call's own descriptor: a copy would cost one more per caller. */
        s->fd = fd;
        int r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ? -errno : 0;
        if (r >= 0)
                r = sd_event_add_io(b->event, &s->source, fd, EPOLLIN, submit_reader_io, s);
        if (r >= 0)
                r = sd_event_add_time_relative(b->event, &s->deadline, CLOCK_MONOTONIC,
                                               b->spool->config.submit_timeout * USEC_PER_SEC,
                                               USEC_PER_SEC, submit_reader_deadline, s);
        if (r < 0) {
                s->call = sd_bus_message_unref(s->call);
                submit_reader_free(s);
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "cannot watch the message descriptor: %s; nothing was "
                                      "stored",
                                      strerror(-r));
        }
        (void) sd_event_source_set_description(s->source, "submit-reader");
        (void) sd_event_source_set_description(s->deadline, "submit-deadline");
        return 1;
}

int method_submit(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
        struct bus_faces *b = userdata;
        _cleanup_(submit_options_clear) struct submit_options o = {};
        int fd;

        int r = sd_bus_message_read(m, "h", &fd);
        if (r < 0)
                return r;
        r = read_options(m, &o, error);
        if (r < 0)
                return r;

        struct stat st;
        if (fstat(fd, &st) < 0)
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "cannot examine the message descriptor: %s", strerror(errno));
        if (S_ISDIR(st.st_mode))
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the message descriptor is a directory");
        if (S_ISREG(st.st_mode)) {
                if ((uint64_t) st.st_size > b->spool->config.max_message_size)
                        return submit_store(b, m, &o, NULL, (size_t) st.st_size, error);
                _cleanup_free_ char *data = NULL;
                r = read_file_contents(fd, (size_t) st.st_size, &data);
                if (r < 0)
                        return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                              "cannot read the message: %s", strerror(-r));
                return submit_store(b, m, &o, data, (size_t) st.st_size, error);
        }

        /* A device (say /dev/zero) could be read forever or not be pollable
         * at all; only files, pipes and sockets carry a message. */
        if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
                return bus_error_mapi(error, MAPI_E_INVALID_PARAMETER,
                                      "the message descriptor must be a regular file, a pipe "
                                      "or a socket; nothing was stored");
        return submit_reader_start(b, m, fd, &o, error);
}
