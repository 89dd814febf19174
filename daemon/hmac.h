/*
 * hmac: SHA-256 digests as lower-case hex, through OpenSSL's libcrypto:
 * the HMAC that signs a webhook's body, and a plain digest for stable
 * identifiers (an e-mail's Message-ID). Pure functions; nothing to free.
 */
#ifndef SF_HMAC_H
#define SF_HMAC_H

#include <stddef.h>

/* 64 hex digits and a NUL. */
#define HMAC_SHA256_HEX_LEN 65

/* out = hex(HMAC-SHA256(key, msg)). */
void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
                     char out[HMAC_SHA256_HEX_LEN]);
/* out = hex(SHA-256(msg)). */
void hmac_sha256_digest_hex(const void *msg, size_t len, char out[HMAC_SHA256_HEX_LEN]);

#endif
