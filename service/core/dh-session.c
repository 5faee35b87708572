/* The Secret Service's encrypted session (see dh-session.h), with OpenSSL's
 * libcrypto: big numbers for the exchange, EVP for HKDF and AES. */
#include "dh-session.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#define AES_KEY_BYTES 16
#define AES_BLOCK     16

struct dh_session {
        BIGNUM *p, *private_key;
        BN_CTX *ctx;
        uint8_t key[AES_KEY_BYTES];
        bool derived;
};

struct dh_session *dh_session_free(struct dh_session *s)
{
        if (!s)
                return NULL;
        BN_free(s->p);
        BN_clear_free(s->private_key);
        BN_CTX_free(s->ctx);
        explicit_bzero(s->key, sizeof(s->key));
        free(s);
        return NULL;
}

int dh_session_new(struct dh_session **ret, uint8_t public_key[DH_SESSION_KEY_BYTES])
{
        struct dh_session *s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->p = BN_get_rfc2409_prime_1024(NULL);
        s->private_key = BN_secure_new();
        s->ctx = BN_CTX_new();
        BIGNUM *g = BN_new(), *pub = BN_new(), *range = BN_new();
        /* private in [2, p-2]: rand below p-3, plus 2. */
        bool ok = s->p && s->private_key && s->ctx && g && pub && range && BN_set_word(g, 2) &&
                  BN_sub(range, s->p, BN_value_one()) && BN_sub_word(range, 2) &&
                  BN_priv_rand_range(s->private_key, range) && BN_add_word(s->private_key, 2);
        if (ok) {
                BN_set_flags(s->private_key, BN_FLG_CONSTTIME);
                ok = BN_mod_exp(pub, g, s->private_key, s->p, s->ctx) &&
                     BN_bn2binpad(pub, public_key, DH_SESSION_KEY_BYTES) == DH_SESSION_KEY_BYTES;
        }
        BN_free(g);
        BN_free(pub);
        BN_free(range);
        if (!ok) {
                dh_session_free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

/* HKDF-SHA256 of the shared secret, no salt and no info, into s->key. */
static int derive_key(struct dh_session *s, const uint8_t *shared, size_t size)
{
        EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL);
        size_t n = sizeof(s->key);
        bool ok = k && EVP_PKEY_derive_init(k) > 0 &&
                  EVP_PKEY_CTX_set_hkdf_md(k, EVP_sha256()) > 0 &&
                  EVP_PKEY_CTX_set1_hkdf_key(k, shared, (int) size) > 0 &&
                  EVP_PKEY_CTX_add1_hkdf_info(k, (const unsigned char *) "", 0) > 0 &&
                  EVP_PKEY_derive(k, s->key, &n) > 0 && n == sizeof(s->key);
        EVP_PKEY_CTX_free(k);
        return ok ? 0 : -EINVAL;
}

int dh_session_derive(struct dh_session *s, const uint8_t *peer, size_t size)
{
        if (size == 0 || size > DH_SESSION_KEY_BYTES)
                return -EINVAL;
        BIGNUM *y = BN_bin2bn(peer, (int) size, NULL), *shared = BN_secure_new(), *max = BN_new();
        uint8_t buf[DH_SESSION_KEY_BYTES];
        int r = y && shared && max ? 0 : -ENOMEM;
        /* A key of 0, 1 or p-1 (or beyond) would make the secret guessable. */
        if (r >= 0 && (!BN_sub(max, s->p, BN_value_one()) || BN_cmp(y, BN_value_one()) <= 0 ||
                       BN_cmp(y, max) >= 0))
                r = -EINVAL;
        if (r >= 0 && (!BN_mod_exp(shared, y, s->private_key, s->p, s->ctx) ||
                       BN_bn2binpad(shared, buf, sizeof(buf)) != (int) sizeof(buf)))
                r = -EINVAL;
        if (r >= 0)
                r = derive_key(s, buf, sizeof(buf));
        s->derived = r >= 0;
        explicit_bzero(buf, sizeof(buf));
        BN_free(y);
        BN_clear_free(shared);
        BN_free(max);
        return r;
}

/* AES-128-CBC with PKCS#7 padding, one way or the other. */
static int aes_cbc(struct dh_session *s, bool encrypt, const uint8_t *iv, const void *data,
                   size_t size, uint8_t **ret, size_t *ret_size)
{
        if (!s->derived || size > INT32_MAX - 2 * AES_BLOCK)
                return -EINVAL;
        uint8_t *out = malloc(size + 2 * AES_BLOCK);
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int n = 0, last = 0;
        bool ok = out && c &&
                  EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, s->key, iv, encrypt ? 1 : 0) &&
                  EVP_CipherUpdate(c, out, &n, data, (int) size) &&
                  EVP_CipherFinal_ex(c, out + n, &last);
        EVP_CIPHER_CTX_free(c);
        if (!ok) {
                if (out)
                        explicit_bzero(out, size + 2 * AES_BLOCK);
                free(out);
                return out ? -EBADMSG : -ENOMEM;
        }
        *ret = out;
        *ret_size = (size_t) n + (size_t) last;
        return 0;
}

int dh_session_decrypt(struct dh_session *s, const uint8_t *iv, size_t iv_size, const uint8_t *data,
                       size_t size, char **ret, size_t *ret_size)
{
        if (iv_size != AES_BLOCK || size == 0 || size % AES_BLOCK != 0)
                return -EBADMSG;
        uint8_t *out;
        size_t n;
        int r = aes_cbc(s, false, iv, data, size, &out, &n);
        if (r < 0)
                return r;
        out[n] = '\0'; /* the padding took at least one byte: there is room */
        *ret = (char *) out;
        *ret_size = n;
        return 0;
}

int dh_session_encrypt(struct dh_session *s, const void *data, size_t size, uint8_t iv[16],
                       uint8_t **ret, size_t *ret_size)
{
        if (RAND_bytes(iv, AES_BLOCK) != 1)
                return -EIO;
        return aes_cbc(s, true, iv, data, size, ret, ret_size);
}
