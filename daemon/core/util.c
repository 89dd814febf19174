/* util: aborting allocators and the growable string buffer (see util.h). */
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void oom(size_t n)
{
    fprintf(stderr, "sendflow: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    sb b = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&b, fmt, ap);
    va_end(ap);
    return sb_steal(&b);
}

static void sb_reserve(sb *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->buf = xrealloc(b->buf, cap);
    b->cap = cap;
}

void sb_addn(sb *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

void sb_add(sb *b, const char *s)
{
    sb_addn(b, s, strlen(s));
}

void sb_vaddf(sb *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    sb_reserve(b, (size_t)n);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void sb_addf(sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(b, fmt, ap);
    va_end(ap);
}

const char *sb_str(const sb *b)
{
    return b->buf ? b->buf : "";
}

char *sb_steal(sb *b)
{
    char *s = b->buf ? b->buf : xstrdup("");
    b->buf = NULL;
    b->len = b->cap = 0;
    return s;
}

void sb_free(sb *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

/* Whether the key [k, k+n) names a secret (its end, case aside). */
static bool sb__secret_key(const char *k, size_t n)
{
    static const char *const ends[] = {"password", "passwd", "secret", "token"};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        size_t m = strlen(ends[i]);
        if (n >= m && strncasecmp(k + n - m, ends[i], m) == 0)
            return true;
    }
    return false;
}

/* Where a setting's value that starts at v ends: a quoted one at its closing quote. */
static const char *sb__value_end(const char *v)
{
    if (*v == '\'') {
        for (v++; *v && *v != '\''; v++)
            if (*v == '\\' && v[1])
                v++;
        return *v ? v + 1 : v;
    }
    return v + strcspn(v, " \t\r\n&#;,\"");
}

void sb_add_redacted(sb *b, const char *s)
{
    const char *p = s;
    while (*p) {
        /* scheme://user:password@host: the authority ends at the path, query or fragment. */
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            sb_addn(b, p, 3);
            p += 3;
            size_t auth = strcspn(p, "/?# \t\r\n\"'<>");
            const char *at = NULL;
            for (size_t i = 0; i < auth; i++)
                if (p[i] == '@')
                    at = p + i;
            const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
            if (colon) {
                sb_addn(b, p, (size_t)(colon + 1 - p));
                sb_add(b, "***");
                p = at; /* the '@' and the host are copied as they are */
            }
            continue;
        }
        /* key = value, the key starting a word (or a URI's query parameter). */
        bool word_start = p == s || strchr(" \t\r\n?&;,(\"'", p[-1]);
        if (word_start && (isalpha((unsigned char)*p) || *p == '_')) {
            size_t n = 0;
            while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-')
                n++;
            const char *q = p + n;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '=' && sb__secret_key(p, n)) {
                q++;
                while (*q == ' ' || *q == '\t')
                    q++;
                sb_addn(b, p, (size_t)(q - p));
                sb_add(b, "***");
                p = sb__value_end(q);
                continue;
            }
            sb_addn(b, p, n); /* the word: a secret key never starts inside it */
            p += n;
            continue;
        }
        sb_addn(b, p, 1);
        p++;
    }
}

uint64_t sf_fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ULL;
    }
    return h;
}
