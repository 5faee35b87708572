/* The imap and pop3 kinds: a download lists what the server holds (IMAP:
 * UIDVALIDITY, UIDNEXT and UID SEARCH in windows on INBOX; POP3: UIDL), then fetches, one
 * transfer at a time on the daemon's loop, each message not fetched before:
 * POP3 one per transfer, IMAP many per transfer (one UID FETCH of a batch,
 * with BODY.PEEK so that no flag changes). Each is written into the
 * transport's Maildir under a name made from its server identity as it
 * comes; a batch's messages (or up to KEEP_GROUP fetched one per transfer)
 * are then made durable together and recorded in the store under the same
 * keys in one transaction, before the next batch is asked for; mail is left
 * on the server. So a crash at any point fetches again only what was not
 * recorded, and writes it to the same files.
 *
 * libcurl sends a custom IMAP command and hands us every line of the answer
 * through its debug callback, literals too, but it does not count literals:
 * it ends the command at the first line that starts with the command's tag,
 * even inside a message, and cuts lines longer than half its buffer. So the
 * batch's answer is read by fetch_parse_bodies(), which counts every
 * literal; what was cut short is fetched again alone by libcurl's own
 * FETCH, which does count (and marks \Seen, taken back by AfterDownload=keep
 * as before), on a new connection. */
#include <ctype.h>
#include <inttypes.h>

#include "curl-event.h"
#include "curl-logon.h"
#include "curl-session.h"
#include "fetch-parse.h"
#include "imap-idle.h"
#include "log.h"
#include "maildir.h"
#include "transport.h"
#include "utf8.h"

enum fetch_protocol {
        FETCH_IMAP,
        FETCH_POP3,
};

/* One message the server holds that we have not fetched. */
struct fetch_item {
        char *key;     /* the store's source key */
        char *locator; /* IMAP: UID; POP3: message number in this session */
        bool seen;     /* IMAP: \Seen before we came */
        bool touched;  /* fetched without BODY.PEEK: the server set \Seen */
        bool kept;     /* durable here (or was before) */
        bool fetched;  /* IMAP: came whole in a batch's answer */
        bool expired;  /* POP3: fetched over DeleteAfter days ago: to delete, not fetch */
};

struct fetch_driver {
        enum fetch_protocol protocol;
        struct curl_event *curl;
        char *host_port;
        char *hostname;

        /* The running transfer: a listing, a batch, a message, or a check. */
        CURL *easy;
        enum { STEP_SELECT, STEP_LIST, STEP_BATCH, STEP_FETCH, STEP_AFTER, STEP_CHECK } step;
        size_t after_next; /* the next item AfterDownload looks at */
        /* IMAP: each window of the listing is two searches, the UIDs, then
         * the unread ones among them. */
        uint64_t window_from;
        size_t window_first_item;
        bool unseen_pass;
        size_t unseen_next; /* where the second search's next UID is looked for */
        bool close_after;   /* the next transfer ends its session (POP3's last DELE) */
        bool expunge;       /* IMAP delete: the UID EXPUNGE of the last STORE is due */
        char *after_set;    /* that STORE's UID set */
        char *data;
        size_t size, allocated;
        char server_said[256]; /* the server's last status line */
        size_t max_size;       /* of what a transfer may bring: MaxMessageSize */
        bool too_large;        /* the transfer was stopped at max_size */
        char curl_error[CURL_ERROR_SIZE];
        struct curl_logon logon;
        struct transport *t;

        /* IMAP, from the last SELECT: libcurl selects INBOX once per
         * connection, and a reused connection shows no new SELECT. */
        char *uidvalidity;
        uint64_t uidnext; /* 0: the server did not say */
        /* IMAP: the listing goes in windows of UIDs, so that no SEARCH
         * response line outgrows libcurl's buffer, which cuts a longer line
         * without a word. The next window starts here. */
        uint64_t search_from;
        size_t window_listed; /* UIDs the last window listed */
        struct fetch_item *items;
        size_t n_items, next;
        size_t listed; /* what the server holds, for the log */

        /* IMAP: the batch asked for is items[next, batch_end). Its answer is
         * collected from the line after our command (tagged batch_tag) on;
         * batch_cut: the collection stopped (too much, a line cut short by
         * libcurl), so the transfer is stopped too. */
        size_t batch_end;
        size_t batch_limit; /* messages the next batch asks for */
        char batch_tag[16];
        bool collecting;
        bool batch_cut;
        /* The batch's messages, written as they are read from its answer
         * and made durable together when it has been read. */
        struct inbound_batch inbound;
        /* The next message goes alone through libcurl's own FETCH: the
         * batch's answer broke off in it. */
        bool alone;
        /* The last transfer left its connection in the middle of an answer:
         * the next one opens a new connection. */
        bool fresh;
        char *listing_uidvalidity; /* the UIDVALIDITY the items' keys hold */
        bool cancelled;
        bool reused;           /* the last transfer ran on a connection kept from before */
        bool selected_again;   /* this download's SELECT went once more, on a new one */
        bool download_waiting; /* a download asked for while a check ran */

        struct imap_idle *idle; /* IMAP with Idle=yes: new mail told as it comes */
};

static struct fetch_driver *driver(struct transport *t)
{
        return t->driver;
}

static void items_clear(struct fetch_driver *f)
{
        /* Staged messages not made durable (the daemon stops mid-download)
         * leave nothing behind; they are fetched again next time. */
        inbound_batch_clear(&f->inbound);
        for (size_t i = 0; i < f->n_items; i++) {
                free(f->items[i].key);
                free(f->items[i].locator);
        }
        free(f->items);
        f->items = NULL;
        f->n_items = f->next = 0;
}

static void transfer_clear(struct fetch_driver *f)
{
        curl_logon_cancel(&f->logon);
        if (f->easy) {
                curl_event_remove(f->curl, f->easy);
                curl_easy_cleanup(f->easy);
                f->easy = NULL;
        }
        f->data = mfree(f->data);
        f->size = f->allocated = 0;
        f->too_large = false;
        f->server_said[0] = '\0';
        f->curl_error[0] = '\0';
}

/* A POP3 UIDL listing of half a million messages. */
#define LISTING_MAX_SIZE ((size_t) 16 << 20)

/* Appends n bytes to what the transfer brought, NUL-terminated, up to max
 * bytes in all (-EFBIG beyond). */
static int data_append(struct fetch_driver *f, const char *data, size_t n, size_t max)
{
        if (n > max || f->size > max - n)
                return -EFBIG;
        if (f->size + n + 1 > f->allocated) {
                size_t want = f->allocated ? f->allocated : 65536;
                while (want < f->size + n + 1)
                        want *= 2;
                char *more = realloc(f->data, want);
                if (!more)
                        return -ENOMEM;
                f->data = more;
                f->allocated = want;
        }
        memcpy(f->data + f->size, data, n);
        f->size += n;
        f->data[f->size] = '\0';
        return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct fetch_driver *f = userdata;
        size_t n = size * nmemb;
        if (f->step == STEP_BATCH)
                return n; /* the whole answer comes through debug_cb */
        /* Memory stays bounded whatever the server sends: a message over
         * MaxMessageSize stops its transfer and stays on the server; a
         * listing stops at LISTING_MAX_SIZE. */
        int r = data_append(f, data, n, f->step == STEP_FETCH ? f->max_size : LISTING_MAX_SIZE);
        if (r == -EFBIG)
                f->too_large = true;
        return r < 0 ? 0 : n; /* 0: libcurl ends the transfer with an error */
}

/* IMAP: "* OK [UIDVALIDITY 3857529045] UIDs valid" and "* OK [UIDNEXT 4392]
 * Predicted next UID" from SELECT. */
static void note_select(struct fetch_driver *f, const char *line, size_t size)
{
        char *v = fetch_response_code_number(line, size, "[UIDVALIDITY ", 10);
        if (v) {
                free(f->uidvalidity);
                f->uidvalidity = v;
        }
        _cleanup_free_ char *next = fetch_response_code_number(line, size, "[UIDNEXT ", 10);
        if (next)
                f->uidnext = strtoull(next, NULL, 10);
}

/* What a batch's answer may hold. libcurl passes every line of a custom
 * command's answer through its response-header accounting, which fails the
 * transfer ("Too large response headers") after some 100 KiB of a FETCH
 * answer with its default buffer (and sooner with a larger one); so the
 * collection stops well short of that, and a message larger than this goes
 * alone (within MaxMessageSize). */
#define BATCH_MAX_BYTES ((size_t) 64 << 10)
/* Messages per batch: at 4 KiB each, some 62 KiB per round trip. After a
 * batch cut short the next asks for as many as came whole, and the count
 * grows by one again with each batch that came whole. */
#define BATCH_MAX_MESSAGES 15
/* How long an unused IMAP connection is kept for the next download. */
#define IMAP_KEEP_SEC 1500L

/* A line of a batch's answer, as libcurl read it. */
static void batch_collect(struct fetch_driver *f, const char *data, size_t size)
{
        if (data_append(f, data, size, BATCH_MAX_BYTES) < 0) {
                f->collecting = false;
                f->batch_cut = true;
        }
}

/* Our batch command went out: "TAG UID FETCH ...". */
static void batch_command_sent(struct fetch_driver *f, const char *data, size_t size)
{
        const char *space = memchr(data, ' ', size);
        if (!space || (size_t) (space - data) >= sizeof(f->batch_tag))
                return;
        size_t rest = size - (size_t) (space - data);
        if (rest < 11 || strncasecmp(space, " UID FETCH ", 11) != 0)
                return;
        memcpy(f->batch_tag, data, (size_t) (space - data));
        f->batch_tag[space - data] = '\0';
        f->collecting = true;
}

/* Stops a batch whose answer can no longer be read whole. */
static int batch_progress_cb(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                             curl_off_t ultotal, curl_off_t ulnow)
{
        struct fetch_driver *f = userdata;
        return f->batch_cut ? 1 : 0;
}

static int debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        struct fetch_driver *f = userdata;
        if (type == CURLINFO_HEADER_OUT) {
                curl_logon_see_line(&f->logon, data, size);
                if (f->step == STEP_BATCH && !f->batch_tag[0])
                        batch_command_sent(f, data, size);
        }
        /* libcurl's word when it cuts a line short ("Excessive server
         * response line length received, N bytes. Stripping"). */
        static const char cut[] = "Excessive server response line length";
        if (type == CURLINFO_TEXT && f->collecting && memmem(data, size, cut, sizeof(cut) - 1)) {
                f->collecting = false;
                f->batch_cut = true;
        }
        if (type != CURLINFO_HEADER_IN)
                return 0;
        if (f->collecting) {
                batch_collect(f, data, size);
                /* Most lines of a batch's answer are the messages' own, and
                 * copying each as the server's last word cost a fifth of the
                 * download's time: only a response's first line can be. */
                size_t tag = strlen(f->batch_tag);
                if (!(size >= 2 && data[0] == '*' && data[1] == ' ') &&
                    !(size > tag && memcmp(data, f->batch_tag, tag) == 0 && data[tag] == ' '))
                        return 0;
        }
        /* Inside a batch's answer a line may be a message's: only the lines
         * before it (logon, SELECT) are the server's word on the mailbox. */
        else if (f->protocol == FETCH_IMAP && !(f->step == STEP_BATCH && f->batch_tag[0]))
                note_select(f, data, size);
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
                size--;
        utf8_copy_line(f->server_said, sizeof(f->server_said), data, size);
        return 0;
}

static void transfer_done_cb(CURL *easy, CURLcode result, void *userdata);
static void transfer_ended(struct transport *t, enum mapi_error code, const char *text);
static int download_begin(struct transport *t);

/* Starts (or, after a refused logon, starts again) the transfer in f->easy. */
static int transfer_add(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        f->data = mfree(f->data);
        f->size = f->allocated = 0;
        f->too_large = false;
        f->collecting = f->batch_cut = false;
        f->batch_tag[0] = '\0';
        f->server_said[0] = '\0';
        f->curl_error[0] = '\0';
        return curl_event_add(f->curl, f->easy, transfer_done_cb, t);
}

/* The secret came (or did not) for a logon that waited for it. */
static void logon_go(struct curl_logon *l, const char *error)
{
        struct fetch_driver *f = container_of(l, struct fetch_driver, logon);
        if (error)
                transfer_ended(f->t, MAPI_E_LOGON_FAILED, error);
        else if (transfer_add(f->t) < 0)
                transfer_ended(f->t, MAPI_E_CALL_FAILED, "cannot start the transfer");
}

/* Starts a transfer of url (NULL: the server URL) with command (NULL: the
 * protocol's own retrieval). A fresh transfer opens a new session: a POP3
 * session shows the maildrop as it was at logon, so each POP3 download
 * starts one (IMAP syncs its kept session with a SELECT instead:
 * imap_select()). The driver keeps one idle connection, so the new session
 * replaces the old one, which is logged out. */
static int transfer_start(struct transport *t, const char *url, const char *command, bool no_body,
                          bool fresh)
{
        struct fetch_driver *f = driver(t);
        transfer_clear(f);
        f->easy = curl_event_easy_new(f->curl);
        if (!f->easy)
                return -ENOMEM;
        f->t = t;
        f->reused = false; /* said by transfer_done_cb(), if it gets that far */
        f->logon = (struct curl_logon){
            .easy = f->easy,
            .source = t->secret,
            .config = t->config,
            .go = logon_go,
        };
        int r = curl_session_setup(f->easy, t->config, url, f->curl_error);
        CURLcode k = r < 0 ? CURLE_OUT_OF_MEMORY : CURLE_OK;
        if (k == CURLE_OK)
                k = curl_easy_setopt(f->easy, CURLOPT_WRITEFUNCTION, write_cb);
        if (k == CURLE_OK)
                k = curl_easy_setopt(f->easy, CURLOPT_WRITEDATA, f);
        if (k == CURLE_OK)
                k = curl_easy_setopt(f->easy, CURLOPT_DEBUGFUNCTION, debug_cb);
        if (k == CURLE_OK)
                k = curl_easy_setopt(f->easy, CURLOPT_DEBUGDATA, f);
        if (k == CURLE_OK)
                k = curl_easy_setopt(f->easy, CURLOPT_VERBOSE, 1L); /* feeds debug_cb only */
        if (k == CURLE_OK && command)
                k = curl_easy_setopt(f->easy, CURLOPT_CUSTOMREQUEST, command);
        if (k == CURLE_OK && no_body)
                k = curl_easy_setopt(f->easy, CURLOPT_NOBODY, 1L);
        if (k == CURLE_OK && f->step == STEP_BATCH)
                k = curl_easy_setopt(f->easy, CURLOPT_XFERINFOFUNCTION, batch_progress_cb);
        if (k == CURLE_OK && f->step == STEP_BATCH)
                k = curl_easy_setopt(f->easy, CURLOPT_XFERINFODATA, f);
        if (k == CURLE_OK && f->step == STEP_BATCH)
                k = curl_easy_setopt(f->easy, CURLOPT_NOPROGRESS, 0L);
        if (k == CURLE_OK && (fresh || f->fresh))
                k = curl_easy_setopt(f->easy, CURLOPT_FRESH_CONNECT, 1L);
        /* The IMAP connection is kept from one download to the next (see
         * imap_select()), within the server's patience: RFC 3501 5.4 has it
         * log out after 30 minutes at the least. */
        if (k == CURLE_OK && f->protocol == FETCH_IMAP)
                k = curl_easy_setopt(f->easy, CURLOPT_MAXAGE_CONN, IMAP_KEEP_SEC);
        f->fresh = false;
        if (k == CURLE_OK && f->close_after)
                k = curl_easy_setopt(f->easy, CURLOPT_FORBID_REUSE, 1L);
        f->close_after = false;
        if (r >= 0 && k != CURLE_OK)
                r = -ENOMEM;
        if (r >= 0)
                r = curl_logon_begin(&f->logon);
        if (r > 0)
                r = transfer_add(t);
        if (r < 0)
                transfer_clear(f);
        return r;
}

/* Maildir names must not hold '/' or ':'; %XX keeps distinct keys distinct. */
static int file_name_for_key(const char *key, const char *hostname, char **ret)
{
        size_t n = strlen(key);
        _cleanup_free_ char *escaped = malloc(n * 3 + 1);
        if (!escaped)
                return -ENOMEM;
        char *o = escaped;
        for (const char *p = key; *p; p++) {
                if (isalnum((unsigned char) *p) || *p == '.' || *p == '-' || *p == '_')
                        *o++ = *p;
                else
                        o += sprintf(o, "%%%02X", (unsigned char) *p);
        }
        *o = '\0';
        return asprintf(ret, "%s.%s", escaped, hostname) < 0 ? -ENOMEM : 0;
}

static int item_add(struct transport *t, const char *uid, const char *locator, bool seen)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *key = NULL;
        int r = f->protocol == FETCH_IMAP
                    ? asprintf(&key, "imap:%s:%s:%s", t->config->id, f->uidvalidity, uid)
                    : asprintf(&key, "pop3:%s:%s", t->config->id, uid);
        if (r < 0)
                return -ENOMEM;
        uint64_t arrived = 0;
        r = store_source_key_arrival(t->env.store, key, &arrived);
        if (r < 0)
                return r;
        bool expired = false;
        if (r > 0) {
                /* Fetched before: only DeleteAfter may want it, to delete,
                 * or AfterDownload=delete, which the download that kept it
                 * did not get to (the daemon was stopped or killed between
                 * the two, or the server refused). */
                uint64_t days = t->config->delete_after;
                uint64_t age = days * 86400 * USEC_PER_SEC, now = now_realtime_usec();
                bool old = f->protocol == FETCH_POP3 && days > 0 && arrived + age <= now;
                if (!old && t->config->after_download != AFTER_DELETE)
                        return 0;
                expired = true;
        }
        struct fetch_item *items = reallocarray(f->items, f->n_items + 1, sizeof(*items));
        if (!items)
                return -ENOMEM;
        f->items = items;
        char *loc = strdup(locator);
        if (!loc)
                return -ENOMEM;
        f->items[f->n_items++] = (struct fetch_item){TAKE_PTR(key), loc, .seen = seen,
                                                     .kept = expired, .expired = expired};
        return 0;
}

struct listing {
        struct transport *t;
        size_t listed; /* what the server holds (in this window, for IMAP) */
};

static int listing_item(const char *uid, const char *locator, void *userdata)
{
        struct listing *l = userdata;
        l->listed++;
        /* IMAP: \Seen until the window's second search says otherwise. */
        return item_add(l->t, uid, locator, driver(l->t)->protocol == FETCH_IMAP);
}

/* The second search of a window: the UIDs without \Seen. Both searches
 * list UIDs in the same order (ascending, as servers do), so each is looked
 * for from where the last was found: one pass over the window rather than
 * one per UID, which cost a twentieth of a first download's time. */
static int unseen_item(const char *uid, const char *locator, void *userdata)
{
        struct fetch_driver *f = userdata;
        size_t n = f->n_items - f->window_first_item;
        for (size_t k = 0; k < n; k++) {
                size_t i = f->window_first_item + (f->unseen_next + k) % n;
                if (streq(f->items[i].locator, uid)) {
                        f->items[i].seen = false;
                        f->unseen_next = (i - f->window_first_item + 1) % n;
                        return 0;
                }
        }
        return 0;
}

static int parse_listing(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        if (f->protocol == FETCH_IMAP && !f->uidvalidity)
                return -EBADMSG;
        char *data = f->data ? f->data : (char[]){""};
        if (f->unseen_pass)
                return fetch_parse_listing(true, data, unseen_item, f);
        struct listing l = {t, 0};
        int r = fetch_parse_listing(f->protocol == FETCH_IMAP, data, listing_item, &l);
        f->window_listed = l.listed;
        f->listed += l.listed;
        return r;
}

static int keep_batch(struct transport *t, struct inbound_batch *b);

static void download_finish(struct transport *t, enum mapi_error code, const char *error)
{
        struct fetch_driver *f = driver(t);
        /* What came whole is kept, whatever ended the download. */
        (void) keep_batch(t, &f->inbound);
        transfer_clear(f);
        items_clear(f);
        transport_download_done(t, code, error);
}

static void after_download_next(struct transport *t);

/* IMAP: "UID FETCH u,u,... (UID BODY.PEEK[])" for the next messages on the
 * download's connection. */
static int batch_start(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *url = NULL, *mailbox = NULL, *set = NULL, *command = NULL;
        size_t set_size = 0;
        _cleanup_fclose_ FILE *out = open_memstream(&set, &set_size);
        if (!out)
                return -ENOMEM;
        size_t asked = 0;
        for (f->batch_end = f->next; f->batch_end < f->n_items && asked < f->batch_limit;
             f->batch_end++) {
                if (f->items[f->batch_end].fetched)
                        continue; /* came in an answer that broke off later */
                fprintf(out, "%s%s", asked++ > 0 ? "," : "", f->items[f->batch_end].locator);
        }
        if (fflush(out) != 0 || ferror(out))
                return -ENOMEM;
        if (asprintf(&command, "UID FETCH %s (UID BODY.PEEK[])", set) < 0)
                return -ENOMEM;
        if (asprintf(&mailbox, "/%s", t->config->mailbox) < 0)
                return -ENOMEM;
        int r = curl_session_url_with_path(t->config->server, mailbox, &url);
        if (r < 0)
                return r;
        f->step = STEP_BATCH;
        return transfer_start(t, url, command, false, false);
}

/* The next message to fetch, or the end of the download. */
static void fetch_next(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        /* Here already: listed only for DeleteAfter. */
        while (f->next < f->n_items && (f->items[f->next].expired || f->items[f->next].fetched))
                f->next++;
        if (f->cancelled || f->next >= f->n_items) {
                /* Durable before AfterDownload may delete them there. */
                if (keep_batch(t, &f->inbound) < 0) {
                        download_finish(t, MAPI_E_DISK_ERROR, "cannot keep the messages fetched");
                        return;
                }
                f->after_next = 0;
                after_download_next(t);
                return;
        }
        if (f->protocol == FETCH_IMAP && !f->alone) {
                int r = batch_start(t);
                if (r < 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text, "cannot ask %s for messages: %s", f->host_port,
                                     strerror(-r)) < 0)
                                text = NULL;
                        download_finish(t, MAPI_E_CALL_FAILED, text);
                }
                return;
        }
        f->alone = false;
        struct fetch_item *item = &f->items[f->next];
        item->touched = true;
        _cleanup_free_ char *path = NULL, *url = NULL;
        int r = f->protocol == FETCH_IMAP
                    ? asprintf(&path, "/%s;UIDVALIDITY=%s;UID=%s", t->config->mailbox,
                               f->uidvalidity, item->locator)
                    : asprintf(&path, "/%s", item->locator);
        if (r < 0)
                r = -ENOMEM;
        else
                r = curl_session_url_with_path(t->config->server, path, &url);
        f->step = STEP_FETCH;
        if (r >= 0)
                r = transfer_start(t, url, NULL, false, false);
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "cannot ask %s for a message: %s", f->host_port, strerror(-r)) <
                    0)
                        text = NULL;
                download_finish(t, MAPI_E_CALL_FAILED, text);
        }
}

/* Messages fetched one per transfer made durable together: one commit
 * and one fsync of new/ for them, as for a batch's answer. */
#define KEEP_GROUP 16

/* A fetched message checked, read and written into the Maildir's tmp/ as
 * part of b: a batch's answer, or a message fetched alone. */
static int stage_item(struct transport *t, struct inbound_batch *b, struct fetch_item *item,
                      const char *data, size_t size)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *name = NULL, *why = NULL;

        int r = file_name_for_key(item->key, f->hostname, &name);
        if (r < 0)
                return r;
        r = transport_inbound_add(t, b, data, size, item->key, name, getuid(), item, &why);
        if (r == -EINVAL) {
                /* Not mail: left on the server, asked for again next time. */
                log_warning("transport \"%s\": %s holds something that is not a mail message "
                            "(%s); skipped",
                            t->config->id, item->key, why ? why : "unreadable");
                return 0;
        }
        if (r == -EEXIST) {
                item->kept = true; /* stored before */
                return 0;
        }
        return r;
}

/* The messages of b made durable and recorded, one commit for them all:
 * only then may AfterDownload=delete remove them there. */
static int keep_batch(struct transport *t, struct inbound_batch *b)
{
        int r = transport_inbound_commit(t, b);
        if (r < 0)
                log_warning("transport \"%s\": cannot keep %zu messages fetched: %s", t->config->id,
                            b->n, strerror(-r));
        for (size_t i = 0; r >= 0 && i < b->n; i++)
                ((struct fetch_item *) b->entries[i].userdata)->kept = true;
        inbound_batch_clear(b);
        return r;
}

/* The message fetched alone, then the next. */
static int keep_fetched(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        /* Staged with those before it: one transfer carries one message
         * here (POP3, or IMAP's message alone), so they are made durable
         * KEEP_GROUP at a time, at the end of the next batch, or at the
         * download's end, whichever comes first. */
        int r = stage_item(t, &f->inbound, &f->items[f->next], f->data ? f->data : "", f->size);
        if (r >= 0 && f->inbound.n >= KEEP_GROUP)
                r = keep_batch(t, &f->inbound);
        return r;
}

struct batch_answer {
        struct transport *t;
        size_t came; /* messages read whole */
};

/* A message of the batch's answer, read whole: kept. The server may answer
 * in any order. */
static int batch_body(const struct fetch_body *body, void *userdata)
{
        struct batch_answer *a = userdata;
        struct fetch_driver *f = driver(a->t);
        char uid[24];
        snprintf(uid, sizeof(uid), "%" PRIu64, body->uid);
        for (size_t i = f->next; i < f->batch_end; i++) {
                struct fetch_item *item = &f->items[i];
                if (item->fetched || !streq(item->locator, uid))
                        continue;
                item->fetched = true;
                a->came++;
                return stage_item(a->t, &f->inbound, item, body->data, body->size);
        }
        return 0; /* not one we asked for, or one told twice */
}

/* The end of a batch's transfer: what came whole is kept; where the answer
 * broke off, the message it broke in goes alone, on a new connection. */
static void batch_ended(struct transport *t, enum mapi_error code, const char *text)
{
        struct fetch_driver *f = driver(t);
        if (!f->uidvalidity || !f->listing_uidvalidity ||
            !streq(f->uidvalidity, f->listing_uidvalidity)) {
                download_finish(t, MAPI_E_CALL_FAILED,
                                "the mailbox changed its UIDVALIDITY during the download");
                return;
        }
        struct batch_answer a = {t, 0};
        /* No tag: the transfer ended before our command went out. */
        int r = f->batch_tag[0] ? fetch_parse_bodies(f->data ? f->data : "", f->size, f->batch_tag,
                                                     f->max_size, batch_body, &a)
                                : -ENOMSG;
        /* What came whole is kept, whatever stopped the rest. */
        int k = keep_batch(t, &f->inbound);
        if (k < 0 && (r >= 0 || r == -ENOMSG || r == -EBADMSG))
                r = k;
        if (r < 0 && r != -ENOMSG && r != -EBADMSG) {
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "cannot keep what %s sent: %s", f->host_port, strerror(-r)) < 0)
                        why = NULL;
                download_finish(t, MAPI_E_DISK_ERROR, why ? why : "download failed");
                return;
        }
        /* A failed transfer is a batch cut short too: if the server is
         * gone, the message fetched alone says so. */
        size_t came = a.came;
        if (r == 0 && !code) {
                /* Those the server did not send are gone since the listing. */
                f->next = f->batch_end;
                if (f->batch_limit < BATCH_MAX_MESSAGES)
                        f->batch_limit++;
        } else {
                f->batch_limit = came > 0 ? came : 1;
                log_debug("transport \"%s\": the answer to a batch broke off after %zu "
                          "messages (%s)",
                          t->config->id, came,
                          code ? (text ? text : "transfer failed")
                               : (r == -ENOMSG ? "cut short" : "unreadable"));
                /* Where the answer broke off in the first message asked
                 * for, that one goes alone: it is too large, or holds a
                 * line libcurl took for the end. */
                f->alone = came == 0;
                f->fresh = true;
        }
        fetch_next(t);
}

/* UIDs per STORE command. With AfterDownload=delete the UID EXPUNGE after
 * it answers with a line per message, which libcurl counts as response
 * headers, more for each line the more of them came in one read: it failed
 * the transfer ("Too large response headers") after 147 of them, leaving
 * the rest on the server. */
#define AFTER_CHUNK 50

/* Whether AfterDownload does something to item. */
static bool after_applies(const struct transport *t, const struct fetch_item *item)
{
        /* POP3 has no flags: only deleting does something there. */
        if (driver((struct transport *) t)->protocol == FETCH_POP3)
                return item->expired || (t->config->after_download == AFTER_DELETE && item->kept);
        switch (t->config->after_download) {
        case AFTER_KEEP:
                /* Fetched alone, libcurl's BODY[] set \Seen: take it back. */
                return item->touched && !item->seen;
        case AFTER_DELETE:
                return item->kept;
        default:
                /* AFTER_SEEN: a batch's BODY.PEEK[] left the flags alone;
                 * a message fetched alone is \Seen already. */
                return item->kept && !item->touched;
        }
}

/* AfterDownload, after the last message of a download: one command per
 * chunk of the fetched messages (IMAP: UID STORE, then UID EXPUNGE for
 * delete; POP3: DELE for each, which the server carries out at QUIT), on
 * the download's connection; then the download's end. */
static void after_download_next(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *command = NULL, *url = NULL, *mailbox = NULL;
        int r = 0;
        if (f->expunge) {
                f->expunge = false;
                r = asprintf(&command, "UID EXPUNGE %s", f->after_set) < 0 ? -ENOMEM : 0;
        } else if (f->protocol == FETCH_POP3) {
                while (f->after_next < f->n_items && !after_applies(t, &f->items[f->after_next]))
                        f->after_next++;
                if (f->after_next < f->n_items)
                        r = asprintf(&command, "DELE %s", f->items[f->after_next++].locator) < 0
                                ? -ENOMEM
                                : 0;
                /* The server deletes at QUIT: the last DELE closes the session. */
                size_t rest = f->after_next;
                while (rest < f->n_items && !after_applies(t, &f->items[rest]))
                        rest++;
                f->close_after = command && rest == f->n_items;
        } else {
                _cleanup_free_ char *set = NULL;
                size_t n = 0;
                for (; f->after_next < f->n_items && n < AFTER_CHUNK; f->after_next++) {
                        const struct fetch_item *item = &f->items[f->after_next];
                        if (!after_applies(t, item))
                                continue;
                        char *more = NULL;
                        if (asprintf(&more, "%s%s%s", set ? set : "", set ? "," : "",
                                     item->locator) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        free(set);
                        set = more;
                        n++;
                }
                if (r >= 0 && set) {
                        bool delete = t->config->after_download == AFTER_DELETE;
                        bool keep = t->config->after_download == AFTER_KEEP;
                        r = asprintf(&command, "UID STORE %s %sFLAGS.SILENT (%s)", set,
                                     keep ? "-" : "+", delete ? "\\Deleted" : "\\Seen") < 0
                                ? -ENOMEM
                                : 0;
                        if (r >= 0 && delete) {
                                free(f->after_set);
                                f->after_set = TAKE_PTR(set);
                                f->expunge = true;
                        }
                }
        }
        if (r >= 0 && !command) {
                download_finish(t, 0, NULL);
                return;
        }
        if (r >= 0 && f->protocol == FETCH_IMAP)
                r = asprintf(&mailbox, "/%s", t->config->mailbox) < 0 ? -ENOMEM : 0;
        if (r >= 0)
                r = curl_session_url_with_path(t->config->server, mailbox ? mailbox : "/", &url);
        f->step = STEP_AFTER;
        if (r >= 0)
                r = transfer_start(t, url, command, f->protocol == FETCH_POP3, false);
        if (r < 0) {
                log_warning("transport \"%s\": cannot apply AfterDownload: %s", t->config->id,
                            strerror(-r));
                download_finish(t, 0, NULL);
        }
}

/* UIDs per SEARCH: at most 11 bytes each, so a response line stays under
 * libcurl's default 16 KiB buffer. */
#define SEARCH_WINDOW 1000

/* The next window of the IMAP listing: "UID SEARCH UID from:to". The first
 * opens a fresh session (and so learns UIDNEXT from its SELECT); the rest
 * reuse it. */
/* IMAP: a download begins with a SELECT of its own on the connection kept
 * from the last one (libcurl opens one if there is none). libcurl selects
 * the mailbox once per connection, and a server tells of mail that came
 * after that SELECT only after some command syncs the session; a SELECT
 * does, and says UIDVALIDITY and UIDNEXT anew (note_select). So one round
 * trip replaces a new connection, logon and server process per download. */
static int imap_select(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *url = NULL, *command = NULL;
        int r = curl_session_url_with_path(t->config->server, "/", &url);
        if (r < 0)
                return r;
        /* config.c lets no '"' or '\' into a mailbox name. */
        if (asprintf(&command, "SELECT \"%s\"", t->config->mailbox) < 0)
                return -ENOMEM;
        f->step = STEP_SELECT;
        return transfer_start(t, url, command, false, false);
}

static int imap_search_next(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *url = NULL, *command = NULL;
        _cleanup_free_ char *mailbox = NULL;
        if (asprintf(&mailbox, "/%s", t->config->mailbox) < 0)
                return -ENOMEM;
        int r = curl_session_url_with_path(t->config->server, mailbox, &url);
        if (r < 0)
                return r;
        uint64_t to = f->search_from + SEARCH_WINDOW - 1;
        if (asprintf(&command, "UID SEARCH UID %" PRIu64 ":%" PRIu64, f->search_from, to) < 0)
                return -ENOMEM;
        f->window_from = f->search_from;
        f->window_first_item = f->n_items;
        f->unseen_pass = false;
        f->search_from = to + 1;
        f->step = STEP_LIST;
        return transfer_start(t, url, command, false, false);
}

/* The window's second search, when it listed new messages: which of them
 * are unread, so that they are left unread (AfterDownload=keep). */
static int imap_search_unseen(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *url = NULL, *command = NULL, *mailbox = NULL;
        if (asprintf(&mailbox, "/%s", t->config->mailbox) < 0)
                return -ENOMEM;
        int r = curl_session_url_with_path(t->config->server, mailbox, &url);
        if (r < 0)
                return r;
        if (asprintf(&command, "UID SEARCH UID %" PRIu64 ":%" PRIu64 " UNSEEN", f->window_from,
                     f->search_from - 1) < 0)
                return -ENOMEM;
        f->unseen_pass = true;
        f->unseen_next = 0;
        f->step = STEP_LIST;
        return transfer_start(t, url, command, false, false);
}

/* After a listing transfer: another window, or the fetching. */
static bool imap_search_more(struct fetch_driver *f)
{
        /* Without UIDNEXT (RFC 3501 requires it), windows go on until one
         * comes back empty. */
        return f->protocol == FETCH_IMAP && !f->cancelled &&
               (f->uidnext ? f->search_from < f->uidnext : f->window_listed > 0);
}

static void transfer_done_cb(CURL *easy, CURLcode result, void *userdata)
{
        struct transport *t = userdata;
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *text = NULL;

        if (curl_logon_retry(&f->logon, result))
                return; /* f->easy goes again once the new secret is here */
        if (result != CURLE_OK)
                log_debug("transport \"%s\": transfer (step %d) ended: %s (%s)", t->config->id,
                          (int) f->step, curl_easy_strerror(result), f->curl_error);
        enum mapi_error code = MAPI_OK;
        if (result != CURLE_OK) {
                code = curl_session_failure(easy, result, f->host_port, f->curl_error,
                                            f->server_said, &text);
                if (!code) {
                        code = MAPI_E_CALL_FAILED;
                        if (asprintf(&text, "%s: %s", f->host_port,
                                     f->server_said[0]  ? f->server_said
                                     : f->curl_error[0] ? f->curl_error
                                                        : curl_easy_strerror(result)) < 0)
                                text = NULL;
                }
        }

        if (!code && f->logon.mechanism[0])
                transport_logged_on(t, f->logon.mechanism);
        long connects = 0;
        curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
        f->reused = connects == 0;
        /* The transfer has left the multi handle; transfer_clear() must not
         * remove it again. */
        f->easy = NULL;
        curl_easy_cleanup(easy);
        transfer_ended(t, code, text);
}

/* The end of a transfer that failed with code (MAPI_OK: it did not), or
 * could not start: for a check, its answer; for a download, the next step. */
static void transfer_ended(struct transport *t, enum mapi_error code, const char *text)
{
        struct fetch_driver *f = driver(t);
        _cleanup_free_ char *why = NULL;

        if (f->step == STEP_FETCH && f->too_large) {
                log_warning("transport \"%s\": %s is larger than MaxMessageSize (%zu bytes); "
                            "left on the server",
                            t->config->id, f->items[f->next].key, f->max_size);
                transport_inbound_skipped(t, "larger than MaxMessageSize, left on the server");
                f->next++;
                fetch_next(t);
                return;
        }
        if (f->step == STEP_BATCH) {
                batch_ended(t, code, text);
                return;
        }
        if (f->step == STEP_CHECK) {
                transfer_clear(f);
                bool waiting = f->download_waiting;
                f->download_waiting = false;
                transport_validate_done(t, code, code ? (text ? text : "check failed") : NULL);
                if (waiting && f->cancelled)
                        download_finish(t, MAPI_OK, NULL);
                else if (waiting && download_begin(t) < 0)
                        download_finish(t, MAPI_E_CALL_FAILED, "cannot start the download");
                return;
        }
        if (f->step == STEP_SELECT) {
                if (code && f->reused && !f->selected_again) {
                        /* The kept connection was gone (the server restarted,
                         * said BYE, timed out): once more on a new one. */
                        f->fresh = f->selected_again = true;
                        int r = imap_select(t);
                        if (r < 0)
                                download_finish(t, MAPI_E_CALL_FAILED, "cannot select the mailbox");
                        return;
                }
                if (code) {
                        download_finish(t, code, text ? text : "cannot select the mailbox");
                        return;
                }
                int r = imap_search_next(t);
                if (r < 0)
                        download_finish(t, MAPI_E_CALL_FAILED, "cannot ask for the UIDs");
                return;
        }
        if (f->step == STEP_AFTER) {
                /* The messages are here whatever the server makes of this:
                 * a refusal is told, not a failed download. */
                if (code) {
                        log_warning("transport \"%s\": AfterDownload: %s", t->config->id,
                                    text ? text : "refused");
                        f->expunge = false;
                        f->after_next = f->n_items;
                }
                after_download_next(t);
                return;
        }
        if (code) {
                download_finish(t, code, text ? text : "download failed");
                return;
        }
        int r = f->step == STEP_LIST ? parse_listing(t) : keep_fetched(t);
        if (r < 0) {
                if (asprintf(&why, "cannot keep what %s sent: %s", f->host_port,
                             r == -EBADMSG ? "unexpected listing" : strerror(-r)) < 0)
                        why = NULL;
                download_finish(t, r == -EBADMSG ? MAPI_E_CALL_FAILED : MAPI_E_DISK_ERROR,
                                why ? why : "download failed");
                return;
        }
        if (f->step == STEP_LIST && f->protocol == FETCH_IMAP && !f->unseen_pass &&
            f->n_items > f->window_first_item) {
                r = imap_search_unseen(t);
                if (r < 0)
                        download_finish(t, MAPI_E_CALL_FAILED, "cannot ask for the unread UIDs");
                return;
        }
        if (f->step == STEP_LIST && imap_search_more(f)) {
                r = imap_search_next(t);
                if (r < 0)
                        download_finish(t, MAPI_E_CALL_FAILED, "cannot ask for the next UIDs");
                return;
        }
        if (f->step == STEP_LIST) {
                log_info("transport \"%s\": the server holds %zu messages, %zu not fetched yet",
                         t->config->id, f->listed, f->n_items);
                if (f->protocol == FETCH_IMAP) {
                        free(f->listing_uidvalidity);
                        f->listing_uidvalidity = strdup(f->uidvalidity);
                        if (!f->listing_uidvalidity) {
                                download_finish(t, MAPI_E_CALL_FAILED, "out of memory");
                                return;
                        }
                }
        }
        if (f->step == STEP_FETCH)
                f->next++;
        fetch_next(t);
}

/* A download's first transfer. */
static int download_begin(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        f->step = STEP_LIST;
        if (f->protocol == FETCH_IMAP) {
                f->uidnext = 0;
                f->search_from = 1;
                return imap_select(t);
        }
        return transfer_start(t, NULL, "UIDL", false, true);
}

static int fetch_download(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        /* A check (ValidateState) holds the one transfer slot: the download
         * follows it. (New mail told by IDLE may come in the middle.) */
        bool checking = f->easy && f->step == STEP_CHECK;

        items_clear(f);
        f->cancelled = false;
        f->alone = f->fresh = f->selected_again = false;
        f->batch_limit = BATCH_MAX_MESSAGES;
        f->listed = 0;
        if (checking) {
                f->download_waiting = true;
                return 0;
        }
        return download_begin(t);
}

static void fetch_download_cancel(struct transport *t)
{
        driver(t)->cancelled = true;
}

static int fetch_validate(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        if (f->easy) {
                /* A download is talking to the server right now: it has
                 * connected and logged on, which is what the check asks. */
                transport_validate_done(t, MAPI_OK, NULL);
                return 0;
        }
        f->step = STEP_CHECK;
        /* Fresh: the check is that the server takes our logon now. */
        return transfer_start(t, NULL, "NOOP", f->protocol == FETCH_POP3, true);
}

static int fetch_init(struct transport *t, enum fetch_protocol protocol)
{
        struct fetch_driver *f = driver(t);
        f->protocol = protocol;
        f->max_size =
            t->env.max_message_size < SIZE_MAX ? (size_t) t->env.max_message_size : SIZE_MAX;
        int r = curl_session_host_port(t->config->server, &f->host_port);
        if (r < 0) {
                log_error("transport \"%s\": cannot read the server URL %s", t->config->id,
                          t->config->server);
                return r;
        }
        r = maildir_hostname(&f->hostname);
        if (r < 0)
                return r;
        r = curl_event_new(t->env.event, &f->curl);
        if (r < 0)
                return r;
        curl_event_set_connection_cache(f->curl, 1);
        return 0;
}

static int imap_init(struct transport *t)
{
        int r = fetch_init(t, FETCH_IMAP);
        if (r >= 0 && t->config->idle)
                r = imap_idle_new(t, &driver(t)->idle);
        return r;
}

static void imap_online_changed(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        if (f->idle)
                imap_idle_update(f->idle);
}

static int pop3_init(struct transport *t)
{
        return fetch_init(t, FETCH_POP3);
}

static void fetch_done(struct transport *t)
{
        struct fetch_driver *f = driver(t);
        f->idle = imap_idle_free(f->idle);
        transfer_clear(f);
        items_clear(f);
        f->curl = curl_event_free(f->curl);
        free(f->uidvalidity);
        free(f->listing_uidvalidity);
        free(f->after_set);
        free(f->host_port);
        free(f->hostname);
}

const struct transport_ops imap_transport_ops = {
    .provider_display = "IMAP",
    .driver_size = sizeof(struct fetch_driver),
    .init = imap_init,
    .done = fetch_done,
    .download = fetch_download,
    .download_cancel = fetch_download_cancel,
    .online_changed = imap_online_changed,
    .validate = fetch_validate,
};

const struct transport_ops pop3_transport_ops = {
    .provider_display = "POP3",
    .driver_size = sizeof(struct fetch_driver),
    .init = pop3_init,
    .done = fetch_done,
    .download = fetch_download,
    .download_cancel = fetch_download_cancel,
    .validate = fetch_validate,
};
