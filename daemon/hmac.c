/* hmac: SHA-256 and HMAC-SHA256 as hex (see hmac.h). */
#include "hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>

static void hmac__hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0xf];
    }
    out[2 * n] = '\0';
}

void hmac_sha256_hex(const void *key, size_t keylen, const void *msg, size_t len,
                     char out[HMAC_SHA256_HEX_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    /* HMAC() fails only when the digest is unavailable: a broken libcrypto, not input. */
    if (!HMAC(EVP_sha256(), key, (int)keylen, msg, len, md, &mdlen) || mdlen != 32)
        abort();
    hmac__hex(md, mdlen, out);
}

void hmac_sha256_digest_hex(const void *msg, size_t len, char out[HMAC_SHA256_HEX_LEN])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(msg, len, md);
    hmac__hex(md, sizeof md, out);
}
