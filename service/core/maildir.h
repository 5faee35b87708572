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

/* Files of one Maildir made durable together: each is written into tmp/ as
 * it comes (maildir_batch_add), then maildir_batch_commit() fsyncs them all,
 * renames each into new/ and fsyncs new/ once. A batch of n messages costs
 * one directory fsync, not n. Until the commit nothing is in new/; a commit
 * that fails midway may leave some files in new/, as maildir_write() may
 * leave one: a caller records none of them and writes them again under the
 * same names. */
struct maildir_file {
        char *tmp;  /* dir/tmp/<name>; NULL once renamed */
        char *path; /* dir/new/<name> */
        int fd;     /* open on tmp until the rename; -1 after */
};
struct maildir_batch {
        char *dir;
        struct maildir_file *files;
        size_t n;
};
int maildir_batch_add(struct maildir_batch *b, const char *dir, const char *name, const void *data,
                      size_t size);
int maildir_batch_commit(struct maildir_batch *b);
/* Closes the files and removes from tmp/ those not renamed. */
void maildir_batch_clear(struct maildir_batch *b);

/* fsync() of a directory, so that a rename or unlink in it is durable. */
int fsync_dir(const char *dir);

/* This host's name as Maildir file names want it (no '/' or ':'). */
int maildir_hostname(char **ret);
