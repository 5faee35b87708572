/* A transport's PasswordFile: one line, readable by the daemon alone. */
#pragma once

#include "util.h"

/* The secret: the first line, without its line end. -EFBIG over 4 KiB. */
int secret_file_read(const char *path, char **ret);
/* Replaces the file durably: a 0600 temporary file, fsync, rename. */
int secret_file_write(const char *path, const char *secret);
