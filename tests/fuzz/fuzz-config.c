/* Fuzz target: the configuration files an administrator writes. The input
 * is split at lines "%%" into mailspool.conf and up to three transport files
 * (transports.d/a.conf, b.conf, c.conf), written into a private directory,
 * then loaded. Checks that a load either succeeds with at least one
 * transport or fails with a message naming what is wrong. */
#include <assert.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "config.h"

static char dir[64];

static void write_file(const char *name, const char *data, size_t size)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (!data) {
                unlink(path);
                return;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert(fd >= 0);
        assert(write(fd, data, size) == (ssize_t) size);
        close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (!dir[0]) {
                snprintf(dir, sizeof(dir), "/tmp/mailspool-fuzz-config.XXXXXX");
                assert(mkdtemp(dir));
                char sub[128];
                snprintf(sub, sizeof(sub), "%s/transports.d", dir);
                assert(mkdir(sub, 0700) == 0);
        }
        static const char *const names[] = {"mailspool.conf", "transports.d/a.conf",
                                            "transports.d/b.conf", "transports.d/c.conf"};
        const char *p = (const char *) data, *end = p + size;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                if (p > end) {
                        write_file(names[i], NULL, 0);
                        continue;
                }
                const char *sep = memmem(p, (size_t) (end - p), "\n%%\n", 4);
                const char *stop = sep ? sep + 1 : end;
                write_file(names[i], p, (size_t) (stop - p));
                p = sep ? sep + 4 : end + 1;
        }

        struct spool_config c = {0};
        char *error = NULL;
        int r = config_load(dir, "/tmp/mailspool-fuzz-state", true, &c, &error);
        if (r == 0)
                assert(c.n_transports > 0);
        else
                assert(error && error[0]);
        free(error);
        spool_config_clear(&c);
        return 0;
}
