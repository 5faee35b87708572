/* A command line as PasswordCommand= and TokenCommand= write it, split into
 * the words of an argument vector, with no shell involved. */
#pragma once

#include "util.h"

/* Words are separated by spaces or tabs. '...' keeps everything up to the
 * next ' as it is; "..." does the same but a backslash in it escapes " and \;
 * outside quotes a backslash takes the next character as it is. -EINVAL with
 * a static sentence in *ret_why for an unterminated quote, a trailing
 * backslash, a control character or no words at all. */
int argv_split(const char *line, char ***ret, const char **ret_why);
