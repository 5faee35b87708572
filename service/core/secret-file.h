/* A transport's PasswordFile: one line, readable by the daemon alone. */
#pragma once

#include "util.h"

/* The secret: the first line, without its line end. -EFBIG over 4 KiB. */
int secret_file_read(const char *path, char **ret);
/* Replaces the file durably: a 0600 temporary file, fsync, rename, fsync of
 * the directory, which is created (0700) if need be. */
int secret_file_write(const char *path, const char *secret);
/* A transport's password: its stored secret if ChangePassword wrote one,
 * else its PasswordFile. */
int secret_file_read_current(const char *stored, const char *configured, char **ret);
