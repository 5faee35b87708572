/* main() for the fuzz targets where libFuzzer is not linked (gcc builds): runs
 * every file named on the command line, or every file of a named directory,
 * through LLVMFuzzerTestOneInput once. The corpus in tests/fuzz/corpus/ so
 * becomes a regression test of the normal test build. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return 1;
        }
        uint8_t *data = NULL;
        size_t size = 0, allocated = 0, n;
        uint8_t buf[65536];
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
                if (size + n > allocated) {
                        allocated = (size + n) * 2;
                        uint8_t *more = realloc(data, allocated);
                        if (!more) {
                                free(data);
                                fclose(f);
                                return 1;
                        }
                        data = more;
                }
                for (size_t i = 0; i < n; i++)
                        data[size + i] = buf[i];
                size += n;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(data ? data : (const uint8_t *) "", size);
        free(data);
        printf("ok %s\n", path);
        return 0;
}

int main(int argc, char **argv)
{
        int failed = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
                        DIR *d = opendir(argv[i]);
                        struct dirent *e;
                        while (d && (e = readdir(d))) {
                                if (e->d_name[0] == '.')
                                        continue;
                                char path[4096];
                                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                                failed |= run_file(path);
                        }
                        if (d)
                                closedir(d);
                } else
                        failed |= run_file(argv[i]);
        }
        return failed;
}
