/*
 * bounds: per-peer connection counts, the idle timeout and attribute bounds
 * (see bounds.h).
 */
#include "bounds.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "esc.h"
#include "svc.h"

/* One peer's connections; a chained hash table keyed by the peer string. */
typedef struct bounds_peer {
    char key[BOUNDS_PEER_LEN];
    int count;
    struct bounds_peer *next;
} bounds_peer;

#define BOUNDS_BUCKETS 1024 /* a power of two */

struct bounds {
    int max_clients;  /* connections at most, over every peer */
    int max_per_peer; /* and per peer; also the slots kept for new peers */
    uint64_t idle_ms; /* 0: no idle timeout */
    int max_attrs;    /* attributes per request */
    int max_attr_len; /* bytes per attribute value */
    char **case_keys; /* owned: the case attribute keys allowed */
    size_t ncase_keys;
    int total;                            /* admitted connections */
    bounds_peer *buckets[BOUNDS_BUCKETS]; /* owned */
};

static size_t bucket_of(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & (BOUNDS_BUCKETS - 1);
}

static bounds_peer *peer_find(const bounds *l, const char *key)
{
    for (bounds_peer *p = l->buckets[bucket_of(key)]; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static bounds_peer *peer_get(bounds *l, const char *key)
{
    bounds_peer *p = peer_find(l, key);
    if (p)
        return p;
    size_t b = bucket_of(key);
    p = xcalloc(1, sizeof *p);
    snprintf(p->key, sizeof p->key, "%s", key);
    p->next = l->buckets[b];
    l->buckets[b] = p;
    return p;
}

/* A peer with no connection left is forgotten: the table holds at most max_clients peers. */
static void peer_drop_if_empty(bounds *l, bounds_peer *gone)
{
    if (gone->count > 0)
        return;
    for (bounds_peer **pp = &l->buckets[bucket_of(gone->key)]; *pp; pp = &(*pp)->next) {
        if (*pp == gone) {
            *pp = gone->next;
            free(gone);
            return;
        }
    }
}

static bool case_key_known(const bounds *l, const char *key)
{
    for (size_t i = 0; i < l->ncase_keys; i++)
        if (strcmp(l->case_keys[i], key) == 0)
            return true;
    return false;
}

static void case_key_add(bounds *l, const char *key)
{
    if (!key || !*key || case_key_known(l, key))
        return;
    l->case_keys = xrealloc(l->case_keys, (l->ncase_keys + 1) * sizeof *l->case_keys);
    l->case_keys[l->ncase_keys++] = xstrdup(key);
}

/* --case-attributes: comma-separated keys, blanks around them ignored. */
static int add_listed_keys(bounds *l, const char *list, char *err, size_t errlen)
{
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        size_t n = (size_t)(p - start);
        if (!n)
            continue;
        if (n > 64) {
            snprintf(err, errlen, "--case-attributes: \"%.*s\" is longer than 64 characters",
                     (int)n, start);
            return -1;
        }
        char key[65];
        memcpy(key, start, n);
        key[n] = '\0';
        case_key_add(l, key);
    }
    return 0;
}

int bounds_new(bounds **out, const sf_config *cfg, const esc_policy *esc, const svc_settings *svc,
               char *err, size_t errlen)
{
    *out = NULL;
    /* The reserve for new peers is max_per_peer slots: it must leave room for everyone else. */
    if (cfg->max_clients_per_peer * 2 > cfg->max_clients) {
        snprintf(err, errlen,
                 "--max-clients-per-peer %d must be at most half of --max-clients %d, so that "
                 "one client can never hold every connection",
                 cfg->max_clients_per_peer, cfg->max_clients);
        return -1;
    }
    bounds *l = xcalloc(1, sizeof *l);
    l->max_clients = cfg->max_clients;
    l->max_per_peer = cfg->max_clients_per_peer;
    l->idle_ms = (uint64_t)cfg->idle_timeout * 1000;
    l->max_attrs = cfg->max_attributes;
    l->max_attr_len = cfg->max_attribute_length;
    if (bounds_set_case_keys(l, cfg, esc, svc, err, errlen) != 0) {
        bounds_free(l);
        return -1;
    }
    *out = l;
    return 0;
}

int bounds_set_case_keys(bounds *l, const sf_config *cfg, const esc_policy *esc,
                         const svc_settings *svc, char *err, size_t errlen)
{
    char **old = l->case_keys;
    size_t nold = l->ncase_keys;
    l->case_keys = NULL;
    l->ncase_keys = 0;
    if (add_listed_keys(l, cfg->case_attributes, err, errlen) != 0) {
        for (size_t i = 0; i < l->ncase_keys; i++)
            free(l->case_keys[i]);
        free(l->case_keys);
        l->case_keys = old;
        l->ncase_keys = nold;
        return -1;
    }
    /* The keys the loaded configuration reads from a case. */
    for (size_t i = 0; esc && i < esc->nroles; i++)
        case_key_add(l, esc->roles[i].attribute);
    for (size_t i = 0; svc && i < svc->ntransfers; i++) {
        for (size_t k = 0; k < svc->transfers[i].nwhen; k++)
            case_key_add(l, svc->transfers[i].when[k].key);
        for (size_t k = 0; k < svc->transfers[i].nunless; k++)
            case_key_add(l, svc->transfers[i].unless[k].key);
    }
    for (size_t i = 0; i < nold; i++)
        free(old[i]);
    free(old);
    return 0;
}

long bounds_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = old;
    }
    return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX ? LONG_MAX
                                                                          : (long)rl.rlim_cur;
}

void bounds_free(bounds *l)
{
    if (!l)
        return;
    for (size_t b = 0; b < BOUNDS_BUCKETS; b++) {
        for (bounds_peer *p = l->buckets[b], *next; p; p = next) {
            next = p->next;
            free(p);
        }
    }
    for (size_t i = 0; i < l->ncase_keys; i++)
        free(l->case_keys[i]);
    free(l->case_keys);
    free(l);
}

/* Would one more connection of a peer holding held be refused? 0, or -1 with why. */
static int check_room(const bounds *l, int held, char *why, size_t whylen)
{
    if (held >= l->max_per_peer) {
        snprintf(why, whylen,
                 "this client already holds %d connections, the most one client may "
                 "(--max-clients-per-peer); close one and retry",
                 held);
        return -1;
    }
    if (l->total >= l->max_clients) {
        snprintf(why, whylen,
                 "the daemon holds %d connections, its most (--max-clients); retry later",
                 l->total);
        return -1;
    }
    if (held > 0 && l->total >= l->max_clients - l->max_per_peer) {
        snprintf(why, whylen,
                 "the daemon's last %d connections are kept for clients that hold none; this "
                 "client holds %d: close one and retry",
                 l->max_per_peer, held);
        return -1;
    }
    return 0;
}

int bounds_admit(bounds *l, const char *peer, char *why, size_t whylen)
{
    bounds_peer *p = peer_find(l, peer);
    if (check_room(l, p ? p->count : 0, why, whylen) != 0)
        return -1;
    p = p ? p : peer_get(l, peer);
    p->count++;
    l->total++;
    return 0;
}

void bounds_release(bounds *l, const char *peer)
{
    bounds_peer *p = peer_find(l, peer);
    if (!p || p->count <= 0)
        return; /* never admitted: nothing to give back */
    p->count--;
    l->total--;
    peer_drop_if_empty(l, p);
}

int bounds_rekey(bounds *l, const char *from, const char *to, char *why, size_t whylen)
{
    if (strcmp(from, to) == 0)
        return 0;
    bounds_peer *t = peer_find(l, to);
    int held = t ? t->count : 0;
    if (held >= l->max_per_peer) {
        snprintf(why, whylen,
                 "this client already holds %d connections, the most one client may "
                 "(--max-clients-per-peer); close one and retry",
                 held);
        return -1;
    }
    bounds_release(l, from);
    t = peer_get(l, to);
    t->count++;
    l->total++;
    return 0;
}

int bounds_peer_count(const bounds *l, const char *peer)
{
    const bounds_peer *p = peer_find(l, peer);
    return p ? p->count : 0;
}

int bounds_total(const bounds *l)
{
    return l->total;
}

uint64_t bounds_idle_ms(const bounds *l)
{
    return l->idle_ms;
}

const char *bounds_describe(const bounds *l)
{
    static char line[1024];
    sb keys = {0};
    for (size_t i = 0; i < l->ncase_keys; i++)
        sb_addf(&keys, "%s%s", i ? ", " : "", l->case_keys[i]);
    char idle[32];
    if (l->idle_ms)
        snprintf(idle, sizeof idle, "%llu s", (unsigned long long)(l->idle_ms / 1000));
    else
        snprintf(idle, sizeof idle, "off");
    snprintf(line, sizeof line,
             "%d connections, %d per client (the last %d kept for new clients), idle timeout %s; "
             "%d attributes of %d bytes at most per request; case attributes: %s",
             l->max_clients, l->max_per_peer, l->max_per_peer, idle, l->max_attrs, l->max_attr_len,
             sb_str(&keys));
    sb_free(&keys);
    return line;
}

int bounds_check_attrs(const bounds *l, const wf_kv *attrs, size_t n, bool is_case, proto_err *code,
                       sb *err)
{
    *code = PROTO_ERR_BAD_ATTRIBUTE;
    if (n > (size_t)l->max_attrs) {
        sb_addf(err, "\"attrs\": %zu attributes; a request may carry at most %d (--max-attributes)",
                n, l->max_attrs);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(attrs[i].value ? attrs[i].value : "");
        if (len > (size_t)l->max_attr_len) {
            sb_addf(err,
                    "attribute \"%s\": its value is %zu bytes; at most %d are allowed "
                    "(--max-attribute-length)",
                    attrs[i].key, len, l->max_attr_len);
            return -1;
        }
        if (is_case && !case_key_known(l, attrs[i].key)) {
            sb_addf(err, "a case has no attribute \"%s\"; it takes: ", attrs[i].key);
            for (size_t k = 0; k < l->ncase_keys; k++)
                sb_addf(err, "%s%s", k ? ", " : "", l->case_keys[k]);
            if (!l->ncase_keys)
                sb_add(err, "none");
            sb_add(err,
                   " (the keys escalations.yaml and service.yaml read, and --case-attributes)");
            return -1;
        }
    }
    return 0;
}
