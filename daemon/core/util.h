/*
 * util: the one out-of-memory policy (abort) and a growable string buffer.
 *
 * Allocation failure is not an error we can report usefully from a daemon
 * that holds statutory clocks: we abort loudly instead of limping on with
 * half-built state (the Redis zmalloc / h2o policy). Real error paths are kept
 * for external input, never for malloc.
 */
#ifndef SF_UTIL_H
#define SF_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SF_MUSTCHECK    __attribute__((warn_unused_result))
#define SF_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* malloc that aborts on failure; caller frees with free(). */
void *xmalloc(size_t n);
/* calloc that aborts on failure; caller frees with free(). */
void *xcalloc(size_t n, size_t size);
/* realloc that aborts on failure; caller frees the result with free(). */
void *xrealloc(void *p, size_t n);
/* strdup that aborts on failure; NULL in gives NULL out; caller frees. */
char *xstrdup(const char *s);
/* strndup that aborts on failure; caller frees. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string; caller frees. */
char *xasprintf(const char *fmt, ...) SF_PRINTF(1, 2);

/* A growable NUL-terminated byte string. Zero-initialise, then append. */
typedef struct sb {
    char *buf;  /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the NUL */
    size_t cap; /* bytes allocated */
} sb;

/* Append n bytes of s. */
void sb_addn(sb *b, const char *s, size_t n);
/* Append a NUL-terminated string. */
void sb_add(sb *b, const char *s);
/* Append formatted text. */
void sb_addf(sb *b, const char *fmt, ...) SF_PRINTF(2, 3);
/* Append formatted text from a va_list. */
void sb_vaddf(sb *b, const char *fmt, va_list ap) SF_PRINTF(2, 0);
/* The contents as a C string (never NULL; "" when empty); borrowed, valid until the next append. */
const char *sb_str(const sb *b);
/* Hand the buffer to the caller (who frees it) and reset b to empty. Never NULL. */
char *sb_steal(sb *b);
/* Free the buffer and reset b to empty. */
void sb_free(sb *b);
/*
 * Append s with its credentials replaced by "***", for log lines and stored
 * errors: the password of a URL's userinfo (scheme://user:PASSWORD@host),
 * and the value of a key=value setting whose key ends in password, passwd,
 * secret or token (a conninfo's password=..., a URI's ?password=...,
 * quoted values included). Everything else is copied as it is.
 */
void sb_add_redacted(sb *b, const char *s);

/* FNV-1a, 64 bits, of the string s: a cheap fingerprint (not a defence against anyone). */
uint64_t sf_fnv1a64(const char *s);

#endif
