/* A program run for a secret (PasswordCommand=, TokenCommand=): no shell,
 * as a given user, asynchronously on the event loop, with a time limit and a
 * bound on what it may print. */
#pragma once

#include <systemd/sd-event.h>

#include "util.h"

/* What a command may print: a password or a token is far smaller. */
#define SECRET_COMMAND_MAX_OUTPUT (64 * 1024)

struct secret_command;

/* Called once from the event loop: output (NUL-terminated, size bytes,
 * wiped after the call) when the program exited with status 0, else
 * output NULL and error a sentence such as "exited with status 1". */
typedef void (*secret_command_done_t)(void *userdata, const char *output, size_t size,
                                      const char *error);

/* Starts argv[0] (looked up in PATH) with stdin /dev/null, stdout read here
 * and stderr the daemon's, in a session of its own, as uid/gid (which the
 * daemon must be, unless it is root). After timeout_usec it and its session
 * are killed. */
int secret_command_start(sd_event *event, char *const *argv, uid_t uid, gid_t gid,
                         uint64_t timeout_usec, secret_command_done_t done, void *userdata,
                         struct secret_command **ret);
/* Stops it (killing a program still running) without calling done. */
struct secret_command *secret_command_free(struct secret_command *c);
