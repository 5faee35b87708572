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

/* Writes data as Maildir/new/<name> the Maildir way: into tmp/, fsync,
 * rename into new/, fsync new/. The same name twice replaces the file, which
 * keeps a message delivered again after a crash to one copy. */
int maildir_write(const char *maildir, const char *name, const void *data, size_t size,
                  char **ret_path)
{
        _cleanup_free_ char *tmp = NULL, *dst = NULL, *newdir = NULL;
        if (asprintf(&tmp, "%s/tmp/%s", maildir, name) < 0 ||
            asprintf(&dst, "%s/new/%s", maildir, name) < 0 ||
            asprintf(&newdir, "%s/new", maildir) < 0)
                return -ENOMEM;

        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        const char *p = data;
        size_t left = size;
        while (left > 0) {
                ssize_t n = write(fd, p, left);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        unlink(tmp);
                        return r;
                }
                p += n;
                left -= (size_t) n;
        }
        if (fsync(fd) < 0 || rename(tmp, dst) < 0) {
                int r = -errno;
                unlink(tmp);
                return r;
        }
        int r = fsync_dir(newdir);
        if (r < 0)
                return r;
        if (ret_path)
                *ret_path = TAKE_PTR(dst);
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
