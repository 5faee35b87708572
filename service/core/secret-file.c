#include "secret-file.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "maildir.h"

/* The secret is the file's first line; the copy read is wiped. */
int secret_file_read(const char *path, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size > 4096)
                return -EFBIG;
        _cleanup_free_ char *data = NULL;
        int r = read_file_contents(fd, (size_t) st.st_size, &data);
        if (r < 0)
                return r;
        char *password = strndup(data, (size_t) st.st_size);
        explicit_bzero(data, (size_t) st.st_size);
        if (!password)
                return -ENOMEM;
        password[strcspn(password, "\r\n")] = '\0';
        *ret = password;
        return 0;
}

/* Replaces the secret file durably: a 0600 temporary file, fsync, rename. */
int secret_file_write(const char *path, const char *secret)
{
        _cleanup_free_ char *tmp = NULL, *dir = strdup(path);
        if (!dir || asprintf(&tmp, "%s.new", path) < 0)
                return -ENOMEM;
        dirname(dir);
        int r = mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(secret);
        if (write(fd, secret, len) != (ssize_t) len || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
                r = -errno;
                unlink(tmp);
                return r ? r : -EIO;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return fsync_dir(dir);
}

int secret_file_read_current(const char *stored, const char *configured, char **ret)
{
        if (stored) {
                int r = secret_file_read(stored, ret);
                if (r != -ENOENT)
                        return r;
        }
        return secret_file_read(configured, ret);
}
