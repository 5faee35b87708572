/* Fuzz target: what an IMAP server sends a session waiting in IDLE, as
 * service/core/imap-lines.c reads it. The first byte sets the size of the
 * chunks the rest is fed in (as recv() may cut it anywhere). Checks that
 * every response handed on is NUL-terminated at its size, within
 * IMAP_LINE_MAX, holds no line end, and that the response kinds keep their
 * promises (a number only with EXISTS and EXPUNGE, IDLE only in a
 * CAPABILITY). */
#include <assert.h>

#include "imap-lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check_line(const char *line, size_t size, bool overlong, void *userdata)
{
        assert(size <= IMAP_LINE_MAX && strlen(line) <= size && line[size] == '\0');
        assert(!memchr(line, '\n', size));
        assert(!overlong || size == IMAP_LINE_MAX);
        struct imap_response res;
        imap_response_read(line, size, "i3", &res);
        if (res.kind != IMAP_RESPONSE_EXISTS && res.kind != IMAP_RESPONSE_EXPUNGE)
                assert(res.number == 0);
        if (res.kind != IMAP_RESPONSE_CAPABILITY)
                assert(!res.idle);
        if (res.kind != IMAP_RESPONSE_TAGGED)
                assert(!res.ok);
        else
                assert(size >= 5 && memcmp(line, "i3 ", 3) == 0);
        (*(size_t *) userdata)++;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        size_t chunk = data[0] ? data[0] : 1;
        const char *text = (const char *) data + 1;
        size_t n = size - 1;
        static struct imap_line_reader reader;
        reader = (struct imap_line_reader){0};
        size_t lines = 0;
        for (size_t i = 0; i < n; i += chunk)
                assert(imap_line_reader_feed(&reader, text + i, n - i < chunk ? n - i : chunk,
                                             check_line, &lines) == 0);
        assert(reader.size <= IMAP_LINE_MAX);
        return 0;
}
