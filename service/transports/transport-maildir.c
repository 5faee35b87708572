/* The maildir kind: outbound mail is delivered into a local Maildir (one
 * copy per message), and files dropped into the Pickup directory become
 * inbound messages. It does not flush itself: the spooler flushes it. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "log.h"
#include "maildir.h"
#include "transport.h"

struct maildir_driver {
        char *hostname; /* for Maildir file names, without '/' and ':' */
        /* The running pickup. */
        sd_event_source *pickup_source;
        char **pickup_files;
        size_t pickup_next;
        bool pickup_cancelled;
};

static struct maildir_driver *driver(struct transport *t)
{
        return t->driver;
}

static int maildir_init(struct transport *t)
{
        const struct transport_config *c = t->config;
        if (c->pickup) {
                int r = mkdir_p(c->pickup, 0700);
                if (r < 0) {
                        log_error("transport \"%s\": cannot create %s: %s", c->id, c->pickup,
                                  strerror(-r));
                        return r;
                }
        }

        return maildir_hostname(&driver(t)->hostname);
}

static void maildir_done(struct transport *t)
{
        struct maildir_driver *m = driver(t);
        sd_event_source_disable_unref(m->pickup_source);
        strv_free(m->pickup_files);
        free(m->hostname);
}

static unsigned maildir_max_in_transit(struct transport *t)
{
        return 1;
}

static int maildir_deliver(struct transport *t, uint64_t id)
{
        struct msg_record m = {};
        _cleanup_free_ void *body = NULL;
        size_t size = 0;
        _cleanup_free_ char *name = NULL, *error = NULL;

        int r = store_get(t->env.store, id, &m);
        if (r >= 0)
                r = store_get_body(t->env.store, id, &body, &size);
        if (r >= 0 && asprintf(&name, "%" PRIu64 ".M%" PRIu64 "Q%" PRIu64 ".%s",
                               m.submitted_usec / USEC_PER_SEC, m.submitted_usec % USEC_PER_SEC, id,
                               driver(t)->hostname) < 0)
                r = -ENOMEM;
        msg_record_clear(&m);
        if (r >= 0)
                r = maildir_write(t->config->maildir, name, body, size, NULL);

        if (r < 0) {
                if (asprintf(&error, "cannot write into %s: %s", t->config->maildir, strerror(-r)) <
                    0)
                        error = NULL;
                transport_delivery_done(t, id, DELIVERY_DEFERRED, error);
        } else
                transport_delivery_done(t, id, DELIVERY_SENT, NULL);
        return 0;
}

/* Moves a pickup file we will not take aside, so that it is not tried again
 * and nothing is deleted. */
static void pickup_reject(struct transport *t, const char *name, const char *why)
{
        _cleanup_free_ char *from = NULL, *to = NULL;
        if (asprintf(&from, "%s/%s", t->config->pickup, name) < 0 ||
            asprintf(&to, "%s/.rejected.%s", t->config->pickup, name) < 0)
                return;
        log_warning("transport \"%s\": %s not taken (%s); moved to %s", t->config->id, from, why,
                    to);
        (void) rename(from, to);
        transport_inbound_skipped(t, "not taken from Pickup");
}

/* Leaves a pickup entry we cannot take now where it is: it may be taken
 * later (its permissions mended, its writer done). */
static void pickup_leave(struct transport *t, const char *name, const char *why)
{
        log_warning("transport \"%s\": %s/%s left in place for now: %s", t->config->id,
                    t->config->pickup, name, why);
        transport_inbound_skipped(t, "unreadable in Pickup");
}

/* One pickup file: into the Maildir, then into the store, then away from
 * Pickup. A crash between any two steps repeats the step, never the mail:
 * the Maildir name and the store's source key come from the file itself.
 * An entry that is no file we can read is skipped, never a reason to stop:
 * a negative return means the store or the Maildir failed. */
static int pickup_one(struct transport *t, const char *name)
{
        _cleanup_free_ char *path = NULL, *key = NULL, *file_name = NULL, *data = NULL;
        _cleanup_free_ char *why = NULL;

        if (asprintf(&path, "%s/%s", t->config->pickup, name) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP || errno == ENXIO) /* a symbolic link, a socket */
                        pickup_reject(t, name, "not a regular file");
                else
                        pickup_leave(t, name, strerror(errno));
                return 0;
        }
        struct stat st;
        if (fstat(fd, &st) < 0) {
                pickup_leave(t, name, strerror(errno));
                return 0;
        }
        if (!S_ISREG(st.st_mode)) {
                pickup_reject(t, name, "not a regular file");
                return 0;
        }
        if (asprintf(&key, "pickup:%s:%ju:%jd:%jd.%09ld", t->config->id, (uintmax_t) st.st_ino,
                     (intmax_t) st.st_size, (intmax_t) st.st_mtim.tv_sec, st.st_mtim.tv_nsec) < 0 ||
            asprintf(&file_name, "%jd.I%juM%ldS%jd.%s", (intmax_t) st.st_mtim.tv_sec,
                     (uintmax_t) st.st_ino, st.st_mtim.tv_nsec, (intmax_t) st.st_size,
                     driver(t)->hostname) < 0)
                return -ENOMEM;

        int r = store_has_source_key(t->env.store, key);
        if (r < 0)
                return r;
        if (r == 0) {
                if ((uint64_t) st.st_size > t->env.max_message_size) {
                        pickup_reject(t, name, "larger than MaxMessageSize");
                        return 0;
                }
                r = read_file_contents(fd, (size_t) st.st_size, &data);
                if (r < 0) {
                        /* Shorter than it said: still being written. */
                        pickup_leave(t, name, r == -EIO ? "it changed while read" : strerror(-r));
                        return 0;
                }
                r = transport_store_inbound(t, data, (size_t) st.st_size, key, file_name, getuid(),
                                            NULL, &why);
                if (r == -EINVAL) {
                        pickup_reject(t, name, why ? why : "not a mail message");
                        return 0;
                }
                if (r < 0 && r != -EEXIST)
                        return r;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return fsync_dir(t->config->pickup);
}

static void pickup_finish(struct transport *t, int r)
{
        struct maildir_driver *m = driver(t);
        m->pickup_source = sd_event_source_disable_unref(m->pickup_source);
        m->pickup_files = strv_free(m->pickup_files);
        m->pickup_next = 0;
        if (r < 0) {
                _cleanup_free_ char *text = NULL;
                if (asprintf(&text, "cannot take mail from %s: %s", t->config->pickup,
                             strerror(-r)) < 0)
                        text = NULL;
                transport_download_done(t, MAPI_E_DISK_ERROR, text ? text : "pickup failed");
        } else
                transport_download_done(t, MAPI_OK, NULL);
}

/* One file per loop iteration, so that bus calls are served in between. */
static int pickup_step(sd_event_source *s, void *userdata)
{
        struct transport *t = userdata;
        struct maildir_driver *m = driver(t);

        if (m->pickup_cancelled || !m->pickup_files[m->pickup_next]) {
                pickup_finish(t, 0);
                return 0;
        }
        const char *name = m->pickup_files[m->pickup_next++];
        int r = pickup_one(t, name);
        if (r < 0)
                pickup_finish(t, r);
        return 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int maildir_download(struct transport *t)
{
        struct maildir_driver *m = driver(t);
        if (!t->config->pickup)
                return -EOPNOTSUPP;

        _cleanup_strv_free_ char **files = calloc(1, sizeof(char *));
        if (!files)
                return -ENOMEM;
        DIR *dir = opendir(t->config->pickup);
        if (!dir)
                return -errno;
        struct dirent *de;
        int r = 0;
        while ((de = readdir(dir)))
                if (de->d_name[0] != '.' && (r = strv_extend(&files, de->d_name)) < 0)
                        break;
        closedir(dir);
        if (r < 0)
                return r;
        qsort(files, strv_length(files), sizeof(char *), compare_names);

        r = sd_event_add_defer(t->env.event, &m->pickup_source, pickup_step, t);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(m->pickup_source, SD_EVENT_ON);
        m->pickup_files = TAKE_PTR(files);
        m->pickup_next = 0;
        m->pickup_cancelled = false;
        return 0;
}

static void maildir_download_cancel(struct transport *t)
{
        driver(t)->pickup_cancelled = true;
}

static int maildir_validate(struct transport *t)
{
        const char *dirs[] = {t->config->maildir, t->config->pickup};
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                if (!dirs[i])
                        continue;
                if (access(dirs[i], W_OK | X_OK) < 0) {
                        _cleanup_free_ char *text = NULL;
                        if (asprintf(&text, "%s is not usable: %s", dirs[i], strerror(errno)) < 0)
                                return -ENOMEM;
                        transport_validate_done(t, MAPI_E_CALL_FAILED, text);
                        return 0;
                }
        }
        transport_validate_done(t, MAPI_OK, NULL);
        return 0;
}

const struct transport_ops maildir_transport_ops = {
    .provider_display = "Maildir",
    .driver_size = sizeof(struct maildir_driver),
    .init = maildir_init,
    .done = maildir_done,
    .max_in_transit = maildir_max_in_transit,
    .deliver = maildir_deliver,
    .download = maildir_download,
    .download_cancel = maildir_download_cancel,
    .validate = maildir_validate,
};
