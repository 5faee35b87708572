/* The spooler's own progress as desktop notifications (see notify-dbus.c). */
#pragma once

#include <systemd/sd-bus.h>

#include "util.h"

struct bus_faces;

/* A flush's notification: its id, to replace it in place. */
struct flush_notice;
/* For a flush that ends without its end being shown (the daemon stops). */
void flush_notice_free(struct flush_notice *n);

/* Progress, as FlushProgress has it (already at most twenty a second);
 * *n is made on the first report. */
void flush_notice_progress(struct bus_faces *b, struct flush_notice **n, const char *transport_id,
                           uint32_t done, uint32_t total, const char *text);
/* A message failed for good (its owner also finds a report in the inbox). */
void message_notice_failed(struct bus_faces *b, uint64_t id);
/* The end: the counts, and the error if the flush failed as a whole. Takes
 * *n: the end replaces the progress, also when the server has not yet said
 * the progress's id. */
void flush_notice_finished(struct bus_faces *b, struct flush_notice **n, uint32_t sent,
                           uint32_t deferred, uint32_t failed, uint32_t received,
                           const char *error);
