/* The Secret Service's encrypted session, "dh-ietf1024-sha256-aes128-cbc-pkcs7"
 * (the Secret Service API, "Transfer of Secrets"): a Diffie-Hellman exchange
 * in the 1024-bit MODP group of RFC 2409, an AES-128 key drawn from the
 * shared secret with HKDF-SHA256 (no salt, no info), and secrets sent as
 * AES-128-CBC with PKCS#7 padding. So that a secret never crosses the bus in
 * clear, even on the user's own session bus. */
#pragma once

#include "util.h"

#define DH_SESSION_ALGORITHM "dh-ietf1024-sha256-aes128-cbc-pkcs7"
#define DH_SESSION_KEY_BYTES 128 /* a public key, big-endian */

struct dh_session;

/* A new key pair; our public key in public_key (DH_SESSION_KEY_BYTES). */
int dh_session_new(struct dh_session **ret, uint8_t public_key[DH_SESSION_KEY_BYTES]);
struct dh_session *dh_session_free(struct dh_session *s);
/* The service's public key (big-endian, at most DH_SESSION_KEY_BYTES): the
 * AES key. -EINVAL for a key outside 2..p-2. */
int dh_session_derive(struct dh_session *s, const uint8_t *peer, size_t size);
/* A secret sent to us: iv (16 bytes) and data; *ret is NUL-terminated and
 * *ret_size long. -EBADMSG when it does not decrypt. */
int dh_session_decrypt(struct dh_session *s, const uint8_t *iv, size_t iv_size, const uint8_t *data,
                       size_t size, char **ret, size_t *ret_size);
/* The other way, as the service does it (for tests): a random iv (16 bytes). */
int dh_session_encrypt(struct dh_session *s, const void *data, size_t size, uint8_t iv[16],
                       uint8_t **ret, size_t *ret_size);
