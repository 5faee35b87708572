/* See id-map.h. Each slot is the id (0: empty) followed by the value; the
 * table doubles above three quarters full and halves below one eighth, so
 * memory follows the queue down as well as up. Removal shifts the following
 * entries back rather than leaving tombstones, so a lookup never walks past
 * entries that are gone. */
#include "id-map.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MIN_SLOTS 16

struct id_map {
        unsigned char *slots;
        size_t value_size, slot_size;
        size_t n_slots; /* a power of two, or 0 before the first put */
        size_t n;
};

struct id_map *id_map_new(size_t value_size)
{
        struct id_map *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->value_size = value_size;
        /* Slots aligned for the 64-bit id that starts each. */
        m->slot_size = sizeof(uint64_t) + (value_size + 7) / 8 * 8;
        return m;
}

struct id_map *id_map_free(struct id_map *m)
{
        if (m) {
                free(m->slots);
                free(m);
        }
        return NULL;
}

size_t id_map_size(const struct id_map *m)
{
        return m ? m->n : 0;
}

static unsigned char *slot(const struct id_map *m, size_t i)
{
        return m->slots + i * m->slot_size;
}

static uint64_t slot_id(const struct id_map *m, size_t i)
{
        uint64_t id;
        memcpy(&id, slot(m, i), sizeof(id));
        return id;
}

/* Fibonacci hashing: ids are consecutive, the product spreads them. */
static size_t home(const struct id_map *m, uint64_t id)
{
        return (size_t) (id * UINT64_C(0x9E3779B97F4A7C15)) & (m->n_slots - 1);
}

/* The slot holding id, or the empty slot where it would go. */
static size_t find(const struct id_map *m, uint64_t id)
{
        size_t i = home(m, id);
        for (;;) {
                uint64_t there = slot_id(m, i);
                if (there == id || there == 0)
                        return i;
                i = (i + 1) & (m->n_slots - 1);
        }
}

static int resize(struct id_map *m, size_t n_slots)
{
        unsigned char *slots = calloc(n_slots, m->slot_size);
        if (!slots)
                return -1;
        struct id_map old = *m;
        m->slots = slots;
        m->n_slots = n_slots;
        for (size_t i = 0; i < old.n_slots; i++) {
                uint64_t id = slot_id(&old, i);
                if (id != 0)
                        memcpy(slot(m, find(m, id)), slot(&old, i), m->slot_size);
        }
        free(old.slots);
        return 0;
}

void *id_map_get(struct id_map *m, uint64_t id)
{
        if (!m || id == 0 || m->n == 0)
                return NULL;
        size_t i = find(m, id);
        return slot_id(m, i) == id ? slot(m, i) + sizeof(uint64_t) : NULL;
}

void *id_map_put(struct id_map *m, uint64_t id)
{
        if (!m || id == 0)
                return NULL;
        void *value = id_map_get(m, id);
        if (value)
                return value;
        if ((m->n + 1) * 4 > m->n_slots * 3 &&
            resize(m, m->n_slots ? m->n_slots * 2 : MIN_SLOTS) < 0)
                return NULL;
        unsigned char *s = slot(m, find(m, id));
        memcpy(s, &id, sizeof(id));
        memset(s + sizeof(uint64_t), 0, m->slot_size - sizeof(uint64_t));
        m->n++;
        return s + sizeof(uint64_t);
}

/* Whether home h lies cyclically in (hole, j]: then the entry at j may not
 * move back into the hole, as a lookup starting at h would not pass it. */
static bool stays(size_t hole, size_t j, size_t h)
{
        return hole <= j ? hole < h && h <= j : hole < h || h <= j;
}

void id_map_remove(struct id_map *m, uint64_t id)
{
        if (!m || id == 0 || m->n == 0)
                return;
        size_t hole = find(m, id);
        if (slot_id(m, hole) != id)
                return;
        for (size_t j = (hole + 1) & (m->n_slots - 1);; j = (j + 1) & (m->n_slots - 1)) {
                uint64_t there = slot_id(m, j);
                if (there == 0)
                        break;
                if (stays(hole, j, home(m, there)))
                        continue;
                memcpy(slot(m, hole), slot(m, j), m->slot_size);
                hole = j;
        }
        memset(slot(m, hole), 0, m->slot_size);
        m->n--;
        if (m->n == 0) {
                m->slots = mfree(m->slots);
                m->n_slots = 0;
        } else if (m->n_slots > MIN_SLOTS && m->n * 8 < m->n_slots)
                /* A failed shrink keeps the larger table, which still works. */
                (void) resize(m, m->n_slots / 2);
}
