/* Fuzz target: what an IMAP or POP3 server sends a download, as
 * service/core/fetch-parse.c reads it. The first byte picks IMAP (odd) or
 * POP3 (even); the rest is the server's text. Checks that every message a
 * listing names has a non-empty name without line ends or spaces and a
 * locator of digits, and that a SELECT number is only digits. The same
 * text is also read as the answer to a batched UID FETCH tagged "A004",
 * with bodies bounded by FUZZ_MAX_BODY: every body reported lies inside the
 * input, within the bound, under a UID of 32 bits. */
#include <assert.h>
#include <ctype.h>

#include "fetch-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BODY 4096

struct span {
        const char *start;
        size_t size;
};

static int check_body(const struct fetch_body *b, void *userdata)
{
        const struct span *input = userdata;
        assert(b->uid >= 1 && b->uid <= UINT32_MAX);
        assert(b->size <= FUZZ_MAX_BODY);
        assert(b->data >= input->start && b->size <= input->size &&
               (size_t) (b->data - input->start) <= input->size - b->size);
        return 0;
}

static int check_item(const char *uid, const char *locator, void *userdata)
{
        assert(*uid && !strpbrk(uid, "\r\n "));
        assert(*locator && strspn(locator, "0123456789") == strlen(locator));
        (*(size_t *) userdata)++;
        return 0;
}

static void check_number(const char *text, size_t size, const char *tag)
{
        _cleanup_free_ char *n = fetch_response_code_number(text, size, tag, 10);
        if (n)
                assert(*n && strlen(n) <= 10 && strspn(n, "0123456789") == strlen(n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size == 0)
                return 0;
        bool imap = data[0] & 1;
        const char *text = (const char *) data + 1;
        size_t n = size - 1;
        check_number(text, n, "[UIDVALIDITY ");
        check_number(text, n, "[UIDNEXT ");

        /* Not NUL-terminated, so that a read past the end shows. */
        _cleanup_free_ char *exact = malloc(n ? n : 1);
        if (!exact)
                return 0;
        memcpy(exact, text, n);
        struct span input = {exact, n};
        int b = fetch_parse_bodies(exact, n, "A004", FUZZ_MAX_BODY, check_body, &input);
        assert(b == 0 || b == -ENOMSG || b == -EBADMSG);

        _cleanup_free_ char *copy = strndup(text, n);
        if (!copy)
                return 0;
        size_t items = 0;
        int r = fetch_parse_listing(imap, copy, check_item, &items);
        assert(r == 0 || r == -EBADMSG);
        return 0;
}
