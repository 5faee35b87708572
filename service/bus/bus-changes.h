/* PropertiesChanged once per loop iteration. The domain marks what changed;
 * a deferred event source emits, after the dispatch that marked them, one
 * signal per object and interface carrying every property marked since, with
 * the values they have then. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

struct bus_changes;

int bus_changes_new(sd_bus *bus, sd_event *event, struct bus_changes **ret);
struct bus_changes *bus_changes_free(struct bus_changes *c);
/* Marks names[i] of iface on path for every bit i set in mask; names must
 * outlive the mark (a static table). */
void bus_changes_mark(struct bus_changes *c, const char *path, const char *iface,
                      const char *const *names, unsigned mask);
/* Marks of iface are not broadcast but handed to emit, with the names of
 * the properties marked (NULL-terminated): for objects not everyone may
 * hear about. */
typedef void (*bus_changes_emit_fn)(const char *path, char **names, void *userdata);
void bus_changes_set_emitter(struct bus_changes *c, const char *iface, bus_changes_emit_fn emit,
                             void *userdata);
/* Emits what is marked now: before a reply or signal that must come after. */
void bus_changes_emit(struct bus_changes *c);
/* Forgets the marks of an object that is going away. */
void bus_changes_forget(struct bus_changes *c, const char *path);
