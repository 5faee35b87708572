/* The Secret Service's encrypted session (service/core/dh-session.c): both
 * ends of the exchange reach the same key, a secret goes across and back,
 * and keys and messages that would weaken it or do not fit are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dh-session.h"

static void test_round_trip(void **state)
{
        struct dh_session *us, *service;
        uint8_t our_key[DH_SESSION_KEY_BYTES], service_key[DH_SESSION_KEY_BYTES];
        assert_int_equal(dh_session_new(&us, our_key), 0);
        assert_int_equal(dh_session_new(&service, service_key), 0);
        assert_memory_not_equal(our_key, service_key, sizeof(our_key));
        assert_int_equal(dh_session_derive(us, service_key, sizeof(service_key)), 0);
        assert_int_equal(dh_session_derive(service, our_key, sizeof(our_key)), 0);

        static const char secret[] = "correct horse \xc3\xa9 battery staple, 32+ bytes long";
        uint8_t iv[16], *sent;
        size_t size;
        assert_int_equal(dh_session_encrypt(service, secret, strlen(secret), iv, &sent, &size), 0);
        assert_int_equal(size % 16, 0);
        assert_null(memmem(sent, size, "horse", 5));
        char *got;
        size_t got_size;
        assert_int_equal(dh_session_decrypt(us, iv, 16, sent, size, &got, &got_size), 0);
        assert_int_equal(got_size, strlen(secret));
        assert_string_equal(got, secret);
        free(got);

        /* What does not have the shape of AES-CBC output is refused. */
        assert_int_equal(dh_session_decrypt(us, iv, 15, sent, size, &got, &got_size), -EBADMSG);
        assert_int_equal(dh_session_decrypt(us, iv, 16, sent, size - 1, &got, &got_size), -EBADMSG);
        assert_int_equal(dh_session_decrypt(us, iv, 16, sent, 0, &got, &got_size), -EBADMSG);
        free(sent);
        dh_session_free(us);
        dh_session_free(service);
}

static void test_weak_or_bad_keys_refused(void **state)
{
        struct dh_session *us;
        uint8_t our_key[DH_SESSION_KEY_BYTES];
        assert_int_equal(dh_session_new(&us, our_key), 0);
        uint8_t key[DH_SESSION_KEY_BYTES + 1];

        /* Nothing decrypts before a key was agreed. */
        uint8_t iv[16] = {0}, data[16] = {0};
        char *got;
        size_t n;
        assert_int_equal(dh_session_decrypt(us, iv, 16, data, 16, &got, &n), -EINVAL);

        memset(key, 0, sizeof(key));
        assert_int_equal(dh_session_derive(us, key, DH_SESSION_KEY_BYTES), -EINVAL); /* 0 */
        key[DH_SESSION_KEY_BYTES - 1] = 1;
        assert_int_equal(dh_session_derive(us, key, DH_SESSION_KEY_BYTES), -EINVAL); /* 1 */
        memset(key, 0xff, sizeof(key));
        assert_int_equal(dh_session_derive(us, key, DH_SESSION_KEY_BYTES), -EINVAL); /* > p */
        assert_int_equal(dh_session_derive(us, key, sizeof(key)), -EINVAL);          /* too long */
        assert_int_equal(dh_session_derive(us, key, 0), -EINVAL);
        /* p - 1 (RFC 2409's prime ends in 64 one bits): refused too; p - 2 is a key. */
        static const char prime[] =
            "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74"
            "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437"
            "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
            "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF";
        for (size_t i = 0; i < DH_SESSION_KEY_BYTES; i++)
                assert_int_equal(sscanf(prime + 2 * i, "%2hhx", &key[i]), 1);
        key[DH_SESSION_KEY_BYTES - 1] = 0xfe;
        assert_int_equal(dh_session_derive(us, key, DH_SESSION_KEY_BYTES), -EINVAL);
        key[DH_SESSION_KEY_BYTES - 1] = 0xfd;
        assert_int_equal(dh_session_derive(us, key, DH_SESSION_KEY_BYTES), 0);

        dh_session_free(us);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_weak_or_bad_keys_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
