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
