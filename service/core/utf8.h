/* Text from outside (a server's reply, a header, a file name) made fit for
 * the bus, which carries only valid UTF-8: an invalid sequence becomes
 * U+FFFD, and a cut never falls inside a character. */
#pragma once

#include "util.h"

bool utf8_is_valid(const char *s);
/* A valid copy of s; NULL only without memory. */
char *utf8_make_valid(const char *s);
/* Replaces *s by a valid copy if it is not valid; -ENOMEM leaves it as it was. */
int utf8_make_valid_in_place(char **s);
/* Copies n bytes of src into dst (size > 0) as one line of text: line ends
 * and control characters become spaces, invalid sequences U+FFFD, and what
 * does not fit is cut at a character boundary. */
void utf8_copy_line(char *dst, size_t size, const char *src, size_t n);
