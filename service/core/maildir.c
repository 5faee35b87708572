/* Crash-safe Maildir writes (see maildir.h). */
#include "maildir.h"

#include <fcntl.h>
#include <sys/stat.h>

int maildir_create(const char *dir)
{
        static const char *const subdirs[] = {"tmp", "new", "cur"};

        for (size_t i = 0; i < ELEMENTSOF(subdirs); i++) {
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", dir, subdirs[i]) < 0)
                        return -ENOMEM;
                int r = mkdir_p(p, 0700);
                if (r < 0)
                        return r;
        }
        return 0;
}

int fsync_dir(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

static int write_all(int fd, const void *data, size_t size)
{
        const char *p = data;
        size_t left = size;
        while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                left -= (size_t) n;
        }
        return 0;
}

int maildir_batch_add(struct maildir_batch *b, const char *dir, const char *name, const void *data,
                      size_t size)
{
        if (b->n > 0 && !streq(b->dir, dir))
                return -EINVAL;
        if (!b->dir) {
                b->dir = strdup(dir);
                if (!b->dir)
                        return -ENOMEM;
        }
        struct maildir_file *files = reallocarray(b->files, b->n + 1, sizeof(*files));
        if (!files)
                return -ENOMEM;
        b->files = files;
        _cleanup_free_ char *tmp = NULL, *path = NULL;
        if (asprintf(&tmp, "%s/tmp/%s", dir, name) < 0 ||
            asprintf(&path, "%s/new/%s", dir, name) < 0)
                return -ENOMEM;
        /* The same name again (a message written before a crash) is truncated
         * and replaced, so it stays one copy. */
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, data, size);
        if (r < 0) {
                unlink(tmp);
                close(fd);
                return r;
        }
        b->files[b->n++] = (struct maildir_file){TAKE_PTR(tmp), TAKE_PTR(path), fd};
        return 0;
}

int maildir_batch_commit(struct maildir_batch *b)
{
        if (b->n == 0)
                return 0;
        /* Writeback of every file starts before the first fsync waits, so
         * that one journal commit of the file system carries them all and
         * the fsyncs after the first find little left to do. */
        for (size_t i = 0; i < b->n; i++)
                (void) sync_file_range(b->files[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        for (size_t i = 0; i < b->n; i++)
                if (fsync(b->files[i].fd) < 0)
                        return -errno;
        for (size_t i = 0; i < b->n; i++) {
                struct maildir_file *file = &b->files[i];
                if (rename(file->tmp, file->path) < 0)
                        return -errno;
                file->tmp = mfree(file->tmp); /* nothing left to remove there */
                close(file->fd);
                file->fd = -1;
        }
        /* One fsync of new/ makes every rename durable. */
        _cleanup_free_ char *newdir = NULL;
        if (asprintf(&newdir, "%s/new", b->dir) < 0)
                return -ENOMEM;
        return fsync_dir(newdir);
}

void maildir_batch_clear(struct maildir_batch *b)
{
        for (size_t i = 0; i < b->n; i++) {
                struct maildir_file *file = &b->files[i];
                /* Not renamed: a half-made batch leaves nothing in tmp/. */
                if (file->tmp)
                        (void) unlink(file->tmp);
                free(file->tmp);
                free(file->path);
                if (file->fd >= 0)
                        close(file->fd);
        }
        free(b->files);
        free(b->dir);
        *b = (struct maildir_batch){};
}

/* Writes data as Maildir/new/<name> the Maildir way: a batch of one. */
int maildir_write(const char *maildir, const char *name, const void *data, size_t size,
                  char **ret_path)
{
        _cleanup_(maildir_batch_clear) struct maildir_batch b = {};
        int r = maildir_batch_add(&b, maildir, name, data, size);
        if (r < 0)
                return r;
        r = maildir_batch_commit(&b);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = TAKE_PTR(b.files[0].path);
        return 0;
}

int maildir_hostname(char **ret)
{
        char host[256] = "localhost";
        (void) gethostname(host, sizeof(host) - 1);
        for (char *s = host; *s; s++)
                if (*s == '/' || *s == ':')
                        *s = '_';
        *ret = strdup(host);
        return *ret ? 0 : -ENOMEM;
}
