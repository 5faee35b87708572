/* The store's checkpointer: copies the WAL into the database file on a
 * thread, and has the WAL start over without the loop's connection copying
 * or syncing anything. Used by store.c alone; see docs/architecture.md
 * ("The store"). */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

struct checkpointer;

/* Starts the checkpointer of the database at path, whose commits are those of
 * db (the loop's connection: it installs db's WAL hook, which turns SQLite's
 * own checkpoints off). NULL when no thread could be had. */
struct checkpointer *checkpointer_start(const char *path, sqlite3 *db);
void checkpointer_free(struct checkpointer *c);

/* The WAL starts over only when a write begins with every one of its pages
 * copied. While checkpointer_waiting() is true it is long and waiting for
 * that: writers that can wait (a transport about to start its next
 * message) hold off. checkpointer_fd() becomes readable after each pass of
 * the thread meanwhile; checkpointer_check() then says whether writers may
 * go on (the WAL starts over at the next commit), or starts another pass. */
bool checkpointer_waiting(const struct checkpointer *c);
int checkpointer_fd(const struct checkpointer *c);
bool checkpointer_check(struct checkpointer *c);
