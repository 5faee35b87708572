/* Small helpers shared by every part of the daemon: ownership cleanup,
 * string vectors and time. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define _cleanup_(f)                    __attribute__((cleanup(f)))
#define container_of(ptr, type, member) ((type *) ((char *) (ptr) -offsetof(type, member)))
#define ELEMENTSOF(a)                   (sizeof(a) / sizeof((a)[0]))
#define USEC_PER_SEC                    UINT64_C(1000000)
#define USEC_PER_MSEC                   UINT64_C(1000)

static inline void freep(void *p)
{
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

/* free(p), and NULL to assign back: x = mfree(x). */
static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Takes ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) _p = (p);                                                            \
                (p) = NULL;                                                                        \
                _p;                                                                                \
        })

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s)
{
        return s ? s : "";
}

/* NULL-terminated string vectors. */
#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)
size_t strv_length(char *const *l);
char **strv_free(char **l);
int strv_push(char ***l, char *s);         /* takes s; on -ENOMEM frees s */
int strv_extend(char ***l, const char *s); /* copies s */
bool strv_contains(char *const *l, const char *s);
char **strv_copy(char *const *l);
/* Splits on runs of spaces and tabs; an empty string gives an empty vector. */
int strv_split_whitespace(const char *s, char ***ret);
static inline void strv_freep(char ***l)
{
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

uint64_t now_realtime_usec(void);
uint64_t now_monotonic_usec(void);

/* mkdir -p with the given mode for every directory it creates. */
int mkdir_p(const char *path, mode_t mode);

/* Reads the first size bytes of a regular file into a new buffer (never
 * NULL, even for size 0); -EIO if the file is shorter than size. */
int read_file_contents(int fd, size_t size, char **ret);

/* Mail on the wire (SMTP DATA, IMAP APPEND) has CRLF line ends; what was
 * submitted may have bare LFs: a copy with each bare LF made CRLF. */
int text_to_crlf(const char *in, size_t size, char **ret, size_t *ret_size);
