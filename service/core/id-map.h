/* A map from a nonzero 64-bit id to a value of fixed size, kept in one block
 * of memory: open addressing with linear probing. For a small record per
 * queued message, where a malloc'd record and a tree node for each would
 * take twice the room and scatter the heap with holes that outlive them. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct id_map;

/* NULL when out of memory. value_size: the bytes of each value. */
struct id_map *id_map_new(size_t value_size);
struct id_map *id_map_free(struct id_map *m);

/* The value of id, or NULL if there is none. Valid until the next
 * id_map_put() or id_map_remove(). */
void *id_map_get(struct id_map *m, uint64_t id);
/* The value of id, zeroed if id was not there; NULL when out of memory or id
 * is 0. Valid until the next id_map_put() or id_map_remove(). */
void *id_map_put(struct id_map *m, uint64_t id);
/* Forgets id, if it is there. */
void id_map_remove(struct id_map *m, uint64_t id);
size_t id_map_size(const struct id_map *m);
