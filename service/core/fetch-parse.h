/* What an IMAP or POP3 server says, read as the download needs it: the
 * numbers of an IMAP SELECT, and the lines of a listing (IMAP UID SEARCH,
 * POP3 UIDL). Pure parsing of untrusted text: no bus, no loop, no store. */
#pragma once

#include "util.h"

/* The number after tag ("[UIDVALIDITY ", "[UIDNEXT ") in a line of size
 * bytes, as its digits (at most max_digits); NULL if absent. */
char *fetch_response_code_number(const char *line, size_t size, const char *tag, size_t max_digits);

/* Called for each message a listing names: uid, the server's name for it;
 * locator, how to ask for it in this session (IMAP: the UID; POP3: its
 * number). A negative return stops the parsing with that value. */
typedef int (*fetch_listing_fn)(const char *uid, const char *locator, void *userdata);

/* Parses data (NUL-terminated, changed in place) as an IMAP UID SEARCH
 * response (imap true) or a POP3 UIDL listing. -EBADMSG on a SEARCH word
 * that is no number. */
int fetch_parse_listing(bool imap, char *data, fetch_listing_fn fn, void *userdata);

/* One message of an IMAP UID FETCH response: its UID and the bytes of its
 * BODY[] (inside the response data, not NUL-terminated). */
struct fetch_body {
        uint64_t uid;
        const char *data;
        size_t size;
};

typedef int (*fetch_body_fn)(const struct fetch_body *body, void *userdata);

/* Reads what the server sent after the command tagged tag ("UID FETCH set
 * (UID BODY.PEEK[])"), data of size bytes: untagged FETCH responses, other
 * untagged responses (skipped, literals and all), then the tagged one. Every
 * literal's size is counted, so no line inside a message is ever taken for a
 * response. Calls fn, in order, for each FETCH response read whole that
 * carries a UID and a BODY[] of at most max_body bytes. Returns 0 when the
 * tagged OK ended the data at a response's end; -ENOMSG when the data ended
 * first (the transfer stopped inside a response: a line in a message that
 * looked like the tagged one, a line cut short, a stopped transfer);
 * -EBADMSG on what is no IMAP response, a literal over max_body or a tagged
 * NO or BAD; fn's own negative return. */
int fetch_parse_bodies(const char *data, size_t size, const char *tag, size_t max_body,
                       fetch_body_fn fn, void *userdata);
