/* The id map (service/core/id-map.c): what is put is found, what is removed
 * is gone, across growing, collisions, removal's shifting and shrinking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "id-map.h"

struct value {
        uint64_t twice;
        uint8_t mark;
};

static void test_put_get_remove(void **state)
{
        struct id_map *m = id_map_new(sizeof(struct value));
        assert_non_null(m);
        assert_null(id_map_get(m, 1));
        assert_null(id_map_put(m, 0)); /* 0 is no id */

        struct value *v = id_map_put(m, 7);
        assert_non_null(v);
        assert_int_equal(v->twice, 0); /* new values are zeroed */
        v->twice = 14;
        assert_ptr_equal(id_map_put(m, 7), v); /* an existing id keeps its value */
        assert_int_equal(((struct value *) id_map_get(m, 7))->twice, 14);
        assert_int_equal(id_map_size(m), 1);

        id_map_remove(m, 8); /* absent: nothing happens */
        id_map_remove(m, 7);
        assert_null(id_map_get(m, 7));
        assert_int_equal(id_map_size(m), 0);
        id_map_free(m);
}

/* Many ids, removed in an order unlike their insertion, checked after each
 * step against what should be there: exercises growth, probing past other
 * ids, the backward shift on removal and shrinking. */
static void test_many(void **state)
{
        enum { N = 20000 };
        static bool present[N + 1];
        struct id_map *m = id_map_new(sizeof(struct value));
        assert_non_null(m);
        for (uint64_t id = 1; id <= N; id++) {
                struct value *v = id_map_put(m, id);
                assert_non_null(v);
                v->twice = 2 * id;
                present[id] = true;
        }
        assert_int_equal(id_map_size(m), N);
        size_t n = N;
        /* Every 7th, then the rest from the top down. */
        for (int pass = 0; pass < 2; pass++)
                for (uint64_t id = N; id >= 1; id--) {
                        if (!present[id] || (pass == 0 && id % 7 != 0))
                                continue;
                        id_map_remove(m, id);
                        present[id] = false;
                        n--;
                        if (id % 997 == 0 || n < 100)
                                for (uint64_t k = 1; k <= N; k++) {
                                        struct value *v = id_map_get(m, k);
                                        if (present[k]) {
                                                assert_non_null(v);
                                                assert_int_equal(v->twice, 2 * k);
                                        } else
                                                assert_null(v);
                                }
                }
        assert_int_equal(id_map_size(m), 0);
        /* Empty, and usable again. */
        assert_non_null(id_map_put(m, 5));
        assert_non_null(id_map_get(m, 5));
        id_map_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_put_get_remove),
            cmocka_unit_test(test_many),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
