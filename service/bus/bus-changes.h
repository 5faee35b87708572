/* PropertiesChanged once per loop iteration. The domain marks what changed;
 * a deferred event source emits, after the dispatch that marked them, one
 * signal per object and interface carrying every property marked since, with
 * the values they have then. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/* The loop dispatches one source per iteration, the most important first,
 * and sources of equal priority in the order they became ready. Bus calls
 * come before transfers, the delivery pump and other domain work (normal
 * priority): a status read during a flush waits for at most the one
 * dispatch under way, not for every transfer that was ready before it.
 * The change signals come before the bus, so that they still leave right
 * after the dispatch that marked them, whatever calls are waiting. */
#define BUS_EVENT_PRIORITY         (SD_EVENT_PRIORITY_NORMAL - 10)
#define BUS_CHANGES_EVENT_PRIORITY (BUS_EVENT_PRIORITY - 1)

struct bus_changes;

int bus_changes_new(sd_bus *bus, sd_event *event, struct bus_changes **ret);
struct bus_changes *bus_changes_free(struct bus_changes *c);
/* Marks names[i] of iface on path for every bit i set in mask; names must
 * outlive the mark (a static table). */
void bus_changes_mark(struct bus_changes *c, const char *path, const char *iface,
                      const char *const *names, unsigned mask);
/* The same for a change that may wait, as StatusString's "Sending 3 of 40" and
 * QueuedOutbound during a flush: an object whose changes are all paced has
 * one signal per 50 ms at most, the last change always in one. A mark that
 * is not paced sends what waits at once. */
void bus_changes_mark_paced(struct bus_changes *c, const char *path, const char *iface,
                            const char *const *names, unsigned mask);
/* The same for changes that come in bursts across many objects, as a flush's
 * messages: an object's first change since its last signal opens a 50 ms
 * window, and one signal at its end carries every change of the window, so a
 * message that goes through "sending" to "sent" within it has one signal. A
 * mark that is not batched sends what waits at once. */
void bus_changes_mark_batched(struct bus_changes *c, const char *path, const char *iface,
                              const char *const *names, unsigned mask);
/* Marks of iface are not broadcast but handed to emit, with the names of
 * the properties marked (NULL-terminated): for objects not everyone may
 * hear about. */
typedef void (*bus_changes_emit_fn)(const char *path, char **names, void *userdata);
void bus_changes_set_emitter(struct bus_changes *c, const char *iface, bus_changes_emit_fn emit,
                             void *userdata);
/* Emits what is marked now, paced or not: before a reply or signal that must
 * come after. */
void bus_changes_emit(struct bus_changes *c);
/* Forgets the marks of an object that is going away. */
void bus_changes_forget(struct bus_changes *c, const char *path);
