/* Writing into a Maildir the crash-safe way: tmp/, fsync, rename into new/,
 * fsync the directory. Used by every transport that puts mail on disk. */
#pragma once

#include "util.h"

/* Creates dir with its tmp/, new/ and cur/ (mode 0700), as needed. */
int maildir_create(const char *dir);

/* Writes data as dir/new/<name>. The same name twice replaces the file, so
 * that a message written again after a crash stays one copy. On success
 * *ret_path (if not NULL) is the file's path. */
int maildir_write(const char *dir, const char *name, const void *data, size_t size,
                  char **ret_path);

/* fsync() of a directory, so that a rename or unlink in it is durable. */
int fsync_dir(const char *dir);

/* This host's name as Maildir file names want it (no '/' or ':'). */
int maildir_hostname(char **ret);
