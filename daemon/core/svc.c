/*
 * svc: the service settings loader (see svc.h). As in wf.c, libyaml's
 * document API turns the file into a node graph, we walk it section by
 * section, and what we keep is copied into an arena owned by the settings, so
 * a failed load frees the arena and the document and needs no other
 * unwinding. The node helpers repeat wf.c's (which keeps them static): the
 * two files must agree on what counts as an empty value, a duplicate key and
 * an error line.
 *
 * Validation is strict for the same reason as the workflows': the file is
 * edited by hand, and a misspelt key or transfer name silently ignored would
 * be a phase transfer silently not scheduled. Beyond the shape of the file we
 * refuse settings that cannot be meant: a phase-transfer process that would
 * open after its own review deadline, an under-5 cycle no shorter than the
 * statutory 12 months, and two transfers one child could make in the same
 * school year.
 */
#include "svc.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cohort.h"

/* Largest N accepted in "N unit" before the range checks; small enough for int arithmetic. */
#define SVC__MAX_COUNT 9999
/* School years a transfer may name: Reception (0) to Year 13. */
#define SVC__MAX_SCHOOL_YEAR 13

/* One arena allocation; the data follows the header, aligned for anything. */
typedef struct svc__block {
    struct svc__block *next;
    max_align_t data[];
} svc__block;

/* What svc_settings.arena points to: every allocation behind the settings. */
typedef struct svc__arena {
    svc__block *blocks; /* newest first */
} svc__arena;

/* The state of one load. */
typedef struct svc__ctx {
    const char *file;    /* name used in messages */
    const char *text;    /* the input, for locating reader errors */
    size_t len;          /* its length */
    yaml_document_t doc; /* the parsed document; deleted by the caller */
    svc_settings *s;     /* being filled */
    svc__arena *arena;   /* s->arena */
    char *err;           /* SVC_ERR_LEN bytes */
} svc__ctx;

/*
 * The reg. 2 transfers, in school order. post16_to_post16 has no school year
 * (a young person moves between post-16 institutions when they move), so it
 * is never scheduled from the date of birth: reg. 18(2) counts it from the
 * transfer date recorded by hand.
 */
static const struct {
    const char *name;
    const char *words;
    bool by_school_year; /* may be listed under "transfers:" */
} svc__names[] = {
    {"early_years_to_school", "early years to school", true},
    {"infant_to_junior", "infant to junior", true},
    {"primary_to_middle", "primary to middle", true},
    {"primary_to_secondary", "primary to secondary", true},
    {"middle_to_secondary", "middle to secondary", true},
    {"secondary_to_post16", "secondary to post-16", true},
    {"post16_to_post16", "post-16 to post-16", false},
};
#define SVC__NNAMES (sizeof svc__names / sizeof svc__names[0])

/* ---- Arena ------------------------------------------------------------- */

/* Zeroed memory owned by the settings being loaded. */
static void *svc__alloc(svc__ctx *c, size_t n)
{
    svc__block *b = xcalloc(1, sizeof(svc__block) + n);
    b->next = c->arena->blocks;
    c->arena->blocks = b;
    return b->data;
}

static char *svc__strdup(svc__ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *p = svc__alloc(c, n + 1);
    memcpy(p, s, n);
    return p;
}

static void svc__arena_free(svc__arena *a)
{
    if (!a)
        return;
    svc__block *b = a->blocks;
    while (b) {
        svc__block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* ---- Errors ------------------------------------------------------------ */

static void svc__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
    SF_PRINTF(4, 0);
static void svc__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
{
    int n = snprintf(err, SVC_ERR_LEN, "[%s:%d] ", file, line);
    if (n < 0 || n >= SVC_ERR_LEN)
        return;
    vsnprintf(err + n, SVC_ERR_LEN - (size_t)n, fmt, ap);
}

static int svc__err_line(char *err, const char *file, int line, const char *fmt, ...)
    SF_PRINTF(4, 5);
static int svc__err_line(char *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svc__verr(err, file, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* The 1-based line of a node; 1 when there is none (libyaml returns NULL for a bad id). */
static int svc__line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Report a problem at node n; always returns -1 so callers can "return svc__err(...)". */
static int svc__err(svc__ctx *c, const yaml_node_t *n, const char *fmt, ...) SF_PRINTF(3, 4);
static int svc__err(svc__ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    svc__verr(c->err, c->file, svc__line(n), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Node helpers ------------------------------------------------------ */

static yaml_node_t *svc__node(svc__ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static const char *svc__s(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain empty value ("key:" with nothing after it, or "~"/"null"). */
static bool svc__is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = svc__s(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *svc__kind(const yaml_node_t *n)
{
    if (svc__is_null(n))
        return "an empty value";
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a string";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_NO_NODE:
        break;
    }
    return "nothing";
}

static size_t svc__map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static yaml_node_t *svc__pair_key(svc__ctx *c, const yaml_node_t *n, size_t i)
{
    return svc__node(c, n->data.mapping.pairs.start[i].key);
}

static yaml_node_t *svc__pair_value(svc__ctx *c, const yaml_node_t *n, size_t i)
{
    return svc__node(c, n->data.mapping.pairs.start[i].value);
}

static int svc__want_map(svc__ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return svc__err(c, n, "%s: expected a mapping, got %s", what, svc__kind(n));
    return 0;
}

/* The value of key in mapping m, or NULL. Keys were checked to be unique scalars. */
static yaml_node_t *svc__get(svc__ctx *c, const yaml_node_t *m, const char *key)
{
    for (size_t i = 0; i < svc__map_len(m); i++) {
        yaml_node_t *k = svc__pair_key(c, m, i);
        if (k->type == YAML_SCALAR_NODE && !strcmp(svc__s(k), key))
            return svc__pair_value(c, m, i);
    }
    return NULL;
}

/* The key node whose value is v in mapping m (for messages about a value as a whole). */
static const yaml_node_t *svc__key_of(svc__ctx *c, const yaml_node_t *m, const yaml_node_t *v)
{
    for (size_t i = 0; i < svc__map_len(m); i++)
        if (svc__pair_value(c, m, i) == v)
            return svc__pair_key(c, m, i);
    return v;
}

/* "a, b, c" into buf (truncated to size), for "expected one of" messages. */
static void svc__join(char *buf, size_t size, const char *const *items, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", items[i]);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/*
 * Every key of mapping m must be a string, appear once, and (when allowed is
 * not NULL) be one of allowed. Checked before anything is read from m, so a
 * misspelt key is reported as such rather than as a missing one.
 */
static int svc__check_keys(svc__ctx *c, const yaml_node_t *m, const char *what,
                           const char *const *allowed)
{
    for (size_t i = 0; i < svc__map_len(m); i++) {
        yaml_node_t *k = svc__pair_key(c, m, i);
        if (k->type != YAML_SCALAR_NODE)
            return svc__err(c, k, "%s: a key must be a string, got %s", what, svc__kind(k));
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *prev = svc__pair_key(c, m, j);
            if (!strcmp(svc__s(prev), svc__s(k)))
                return svc__err(c, k, "%s: duplicate key \"%s\" (first at line %d)", what,
                                svc__s(k), svc__line(prev));
        }
        if (!allowed)
            continue;
        size_t n = 0;
        bool known = false;
        for (; allowed[n]; n++)
            if (!strcmp(allowed[n], svc__s(k)))
                known = true;
        if (!known) {
            char list[256];
            svc__join(list, sizeof list, allowed, n);
            return svc__err(c, k, "%s: unknown key \"%s\" (expected one of: %s)", what, svc__s(k),
                            list);
        }
    }
    return 0;
}

/* A non-empty string value for key; *out is arena-owned, NULL when absent and not required. */
static int svc__get_str(svc__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                        bool required, const char **out)
{
    yaml_node_t *v = svc__get(c, m, key);
    *out = NULL;
    if (!v) {
        if (required)
            return svc__err(c, m, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return svc__err(c, v, "%s: \"%s\": expected a string, got %s", what, key, svc__kind(v));
    if (!*svc__s(v))
        return svc__err(c, v, "%s: \"%s\": must not be empty", what, key);
    *out = svc__strdup(c, svc__s(v));
    return 0;
}

/* [a-z][a-z0-9_]*: attribute names, as in the workflows. */
static bool svc__ident_ok(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* ---- Periods ----------------------------------------------------------- */

/* The counts a setting accepts in each unit (0, 0 when the unit is refused). */
typedef struct svc__range {
    int min[4], max[4]; /* indexed by cal_unit */
    const char *words;  /* the same range for people */
} svc__range;

/*
 * phase_transfer.opens, for a transfer on 1 September. At most 12 months:
 * reg. 18 applies "within 12 months of" the transfer (366 days before
 * 1 Sep 2027 is 31 Aug 2026, so 365 days is the most that holds every year).
 * At least long enough that the process is open by 14 February, the last day
 * "before 15 February" of reg. 18(1)(b): 1 Sep - 7 months = 1 Feb,
 * 1 Sep 2028 - 200 days = 14 Feb 2028 (a leap year; 199 would be 15 Feb),
 * 29 weeks = 203 days.
 */
static const svc__range svc__opens_range = {
    .min = {[CAL_DAYS] = 200, [CAL_WEEKS] = 29, [CAL_MONTHS] = 7, [CAL_YEARS] = 1},
    .max = {[CAL_DAYS] = 365, [CAL_WEEKS] = 52, [CAL_MONTHS] = 12, [CAL_YEARS] = 1},
    .words = "from 7 to 12 months (29 to 52 weeks, 200 to 365 days, or 1 year): reg. 18 applies "
             "within 12 months of a transfer, and a process for a 1 September transfer must be "
             "open by 14 February, the last day for its review",
};

/*
 * annual_review.under_5_cycle. Shorter than the statutory 12 months, or it
 * adds nothing ("off" says so; 364 days and 52 weeks fall short of 12 months
 * from any day). At least 4 weeks: a shorter cycle is more likely "6 days"
 * typed for "6 months" than meant.
 */
static const svc__range svc__under5_range = {
    .min = {[CAL_DAYS] = 28, [CAL_WEEKS] = 4, [CAL_MONTHS] = 1, [CAL_YEARS] = 0},
    .max = {[CAL_DAYS] = 364, [CAL_WEEKS] = 52, [CAL_MONTHS] = 11, [CAL_YEARS] = 0},
    .words = "from 4 weeks to 11 months (28 to 364 days, 4 to 52 weeks): shorter than the "
             "statutory 12 months (CoP 9.178 suggests 3 to 6 months)",
};

/*
 * "N unit" (days, weeks, months, years, singular or plural; one or more
 * spaces) within range, or "off" when off_ok. *on (set only when off_ok, so
 * it may be NULL otherwise) is false for "off" and true for a period.
 */
static int svc__parse_period(svc__ctx *c, const yaml_node_t *v, const char *what, bool off_ok,
                             const svc__range *range, bool *on, int *n_out, cal_unit *unit_out)
{
    const char *expect = off_ok ? "expected \"off\" or \"N days|weeks|months|years\""
                                : "expected \"N days|weeks|months|years\"";
    if (v->type != YAML_SCALAR_NODE || svc__is_null(v))
        return svc__err(c, v, "%s: %s, got %s", what, expect, svc__kind(v));
    const char *s = svc__s(v), *p = s;
    if (off_ok && !strcmp(s, "off")) {
        *on = false;
        *n_out = 0;
        *unit_out = CAL_MONTHS;
        return 0;
    }
    long n = 0;
    while (*p >= '0' && *p <= '9') {
        if (n <= SVC__MAX_COUNT)
            n = n * 10 + (*p - '0');
        p++;
    }
    const char *sp = p;
    while (*p == ' ')
        p++;
    cal_unit unit;
    if (sp == s || p == sp || cal_unit_parse(p, &unit) < 0)
        return svc__err(c, v, "%s: %s, got \"%s\"", what, expect, s);
    if (n < range->min[unit] || n > range->max[unit])
        return svc__err(c, v, "%s: \"%s\" is out of range: expected %s", what, s, range->words);
    if (off_ok)
        *on = true;
    *n_out = (int)n;
    *unit_out = unit;
    return 0;
}

/* ---- Sections ---------------------------------------------------------- */

static int svc__parse_annual_review(svc__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"under_5_cycle", NULL};
    static const char what[] = "\"annual_review\"";
    yaml_node_t *v = svc__get(c, top, "annual_review");
    if (!v || svc__is_null(v))
        return 0;
    if (svc__want_map(c, v, what) < 0 || svc__check_keys(c, v, what, keys) < 0)
        return -1;
    yaml_node_t *cycle = svc__get(c, v, "under_5_cycle");
    if (cycle && svc__parse_period(c, cycle, "\"annual_review\": \"under_5_cycle\"", true,
                                   &svc__under5_range, &c->s->under5_on, &c->s->under5_n,
                                   &c->s->under5_unit) < 0)
        return -1;
    return 0;
}

/* A "when:" or "unless:" mapping of attribute name to value; *out is arena-owned. */
static int svc__parse_kvs(svc__ctx *c, const yaml_node_t *v, const char *what, const char *key,
                          const wf_kv **out, size_t *nout)
{
    char w[200];
    snprintf(w, sizeof w, "%s: \"%s\"", what, key);
    if (svc__want_map(c, v, w) < 0 || svc__check_keys(c, v, w, NULL) < 0)
        return -1;
    size_t n = svc__map_len(v);
    if (n == 0)
        return svc__err(c, v, "%s: must name at least one attribute (or leave \"%s\" out)", w, key);
    wf_kv *kv = svc__alloc(c, n * sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = svc__pair_key(c, v, i), *val = svc__pair_value(c, v, i);
        if (!svc__ident_ok(svc__s(k)))
            return svc__err(c, k, "%s: invalid attribute name \"%s\" (expected [a-z][a-z0-9_]*)", w,
                            svc__s(k));
        if (val->type != YAML_SCALAR_NODE || svc__is_null(val))
            return svc__err(c, val, "%s: \"%s\": expected a value, got %s", w, svc__s(k),
                            svc__kind(val));
        kv[i].key = svc__strdup(c, svc__s(k));
        kv[i].value = svc__strdup(c, svc__s(val));
    }
    *out = kv;
    *nout = n;
    return 0;
}

static const char *svc__pair_value_of(const wf_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(kv[i].key, key))
            return kv[i].value;
    return NULL;
}

/*
 * Whether no case can satisfy both a and b: one requires a value of an
 * attribute that the other requires to be different, or excludes.
 */
static bool svc__exclusive(const svc_transfer *a, const svc_transfer *b)
{
    for (size_t i = 0; i < a->nwhen; i++) {
        const char *other = svc__pair_value_of(b->when, b->nwhen, a->when[i].key);
        if (other && strcmp(other, a->when[i].value) != 0)
            return true;
        for (size_t j = 0; j < b->nunless; j++)
            if (!strcmp(b->unless[j].key, a->when[i].key) &&
                !strcmp(b->unless[j].value, a->when[i].value))
                return true;
    }
    for (size_t i = 0; i < b->nwhen; i++)
        for (size_t j = 0; j < a->nunless; j++)
            if (!strcmp(a->unless[j].key, b->when[i].key) &&
                !strcmp(a->unless[j].value, b->when[i].value))
                return true;
    return false;
}

static int svc__parse_transfer(svc__ctx *c, const yaml_node_t *k, const yaml_node_t *spec,
                               svc_transfer *t)
{
    static const char *const keys[] = {"school_year", "when", "unless", NULL};
    const char *name = svc__s(k);
    char what[120];
    snprintf(what, sizeof what, "transfer \"%s\"", name);
    t->line = svc__line(k);
    size_t i = 0;
    while (i < SVC__NNAMES && strcmp(svc__names[i].name, name) != 0)
        i++;
    if (i == SVC__NNAMES) {
        const char *names[SVC__NNAMES];
        size_t n = 0;
        for (size_t j = 0; j < SVC__NNAMES; j++)
            if (svc__names[j].by_school_year)
                names[n++] = svc__names[j].name;
        char list[256];
        svc__join(list, sizeof list, names, n);
        return svc__err(c, k, "\"transfers\": unknown transfer \"%s\" (expected one of: %s)", name,
                        list);
    }
    if (!svc__names[i].by_school_year)
        return svc__err(c, k,
                        "\"transfers\": %s cannot be scheduled from the date of birth: a move "
                        "between post-16 institutions has no school year; start it by hand with "
                        "its transfer date (reg. 18(2): at least 5 months before)",
                        name);
    t->name = svc__names[i].name;

    if (svc__want_map(c, spec, what) < 0 || svc__check_keys(c, spec, what, keys) < 0)
        return -1;
    yaml_node_t *y = svc__get(c, spec, "school_year");
    if (!y)
        return svc__err(c, k, "%s: missing \"school_year\"", what);
    const char *s = y->type == YAML_SCALAR_NODE ? svc__s(y) : "";
    size_t len = strlen(s);
    if (len == 0 || len > 2 || strspn(s, "0123456789") != len || (len == 2 && s[0] == '0') ||
        atoi(s) > SVC__MAX_SCHOOL_YEAR)
        return svc__err(c, y,
                        "%s: \"school_year\": expected a whole number from 0 (Reception) to %d "
                        "(Year %d), got %s%s%s",
                        what, SVC__MAX_SCHOOL_YEAR, SVC__MAX_SCHOOL_YEAR,
                        y->type == YAML_SCALAR_NODE ? "\"" : "",
                        y->type == YAML_SCALAR_NODE ? s : svc__kind(y),
                        y->type == YAML_SCALAR_NODE ? "\"" : "");
    t->school_year = atoi(s);

    yaml_node_t *when = svc__get(c, spec, "when"), *unless = svc__get(c, spec, "unless");
    if (when && svc__parse_kvs(c, when, what, "when", &t->when, &t->nwhen) < 0)
        return -1;
    if (unless && svc__parse_kvs(c, unless, what, "unless", &t->unless, &t->nunless) < 0)
        return -1;
    /* "when: {a: x}" with "unless: {a: x}" matches nothing: surely not what was meant. */
    for (size_t j = 0; j < t->nunless; j++) {
        const char *w = svc__pair_value_of(t->when, t->nwhen, t->unless[j].key);
        if (w && !strcmp(w, t->unless[j].value))
            return svc__err(c, svc__key_of(c, spec, unless),
                            "%s: \"unless\": %s: %s is also required by \"when\", so the transfer "
                            "never applies",
                            what, t->unless[j].key, w);
    }
    return 0;
}

static int svc__parse_transfers(svc__ctx *c, const yaml_node_t *pt, const yaml_node_t *v)
{
    static const char what[] = "\"phase_transfer\": \"transfers\"";
    if (svc__is_null(v))
        return svc__err(c, svc__key_of(c, pt, v),
                        "%s: expected a mapping of transfers, got an empty value (write {} to "
                        "schedule none)",
                        what);
    if (svc__want_map(c, v, what) < 0 || svc__check_keys(c, v, what, NULL) < 0)
        return -1;
    size_t n = svc__map_len(v);
    svc_transfer *ts = n ? svc__alloc(c, n * sizeof *ts) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (svc__parse_transfer(c, svc__pair_key(c, v, i), svc__pair_value(c, v, i), &ts[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (ts[j].school_year == ts[i].school_year && !svc__exclusive(&ts[i], &ts[j]))
                return svc__err_line(
                    c->err, c->file, ts[i].line,
                    "transfer \"%s\": a case could also make transfer \"%s\" "
                    "(line %d) at the start of %s: make their \"when\"/\"unless\" exclude "
                    "each other",
                    ts[i].name, ts[j].name, ts[j].line, coh_year_name(ts[i].school_year));
    }
    c->s->transfers = ts;
    c->s->ntransfers = n;
    return 0;
}

static int svc__parse_phase_transfer(svc__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"opens", "transfers", NULL};
    static const char what[] = "\"phase_transfer\"";
    yaml_node_t *v = svc__get(c, top, "phase_transfer");
    if (!v || svc__is_null(v))
        return 0;
    if (svc__want_map(c, v, what) < 0 || svc__check_keys(c, v, what, keys) < 0)
        return -1;
    yaml_node_t *opens = svc__get(c, v, "opens");
    if (opens && svc__parse_period(c, opens, "\"phase_transfer\": \"opens\"", false,
                                   &svc__opens_range, NULL, &c->s->opens_n, &c->s->opens_unit) < 0)
        return -1;
    yaml_node_t *transfers = svc__get(c, v, "transfers");
    if (transfers && svc__parse_transfers(c, v, transfers) < 0)
        return -1;
    return 0;
}

/* ---- Top level --------------------------------------------------------- */

static int svc__parse_top(svc__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"service", "version", "annual_review", "phase_transfer",
                                       NULL};
    svc_settings *s = c->s;
    if (top->type != YAML_MAPPING_NODE)
        return svc__err(c, top, "expected a mapping at the top level, got %s", svc__kind(top));
    if (svc__check_keys(c, top, "top level", keys) < 0 ||
        svc__get_str(c, top, "service", "top level", true, &s->service) < 0)
        return -1;

    yaml_node_t *v = svc__get(c, top, "version");
    if (!v)
        return svc__err(c, top, "top level: missing \"version\"");
    const char *str = v->type == YAML_SCALAR_NODE ? svc__s(v) : "";
    size_t len = strlen(str);
    if (!(len > 0 && len <= 9 && str[0] != '0' && strspn(str, "0123456789") == len))
        return svc__err(c, v, "\"version\": expected a positive integer, got %s%s%s",
                        v->type == YAML_SCALAR_NODE ? "\"" : "",
                        v->type == YAML_SCALAR_NODE ? str : svc__kind(v),
                        v->type == YAML_SCALAR_NODE ? "\"" : "");
    s->version = atoi(str);

    return svc__parse_annual_review(c, top) < 0 || svc__parse_phase_transfer(c, top) < 0 ? -1 : 0;
}

/* 1-based line of byte offset off in the input (reader errors carry only an offset). */
static int svc__line_of_offset(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static int svc__yaml_error(svc__ctx *c, const yaml_parser_t *p)
{
    int line = p->error == YAML_READER_ERROR
                   ? svc__line_of_offset(c->text, c->len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        return svc__err_line(c->err, c->file, line, "YAML syntax error: %s %s started at line %d",
                             problem, p->context, (int)p->context_mark.line + 1);
    return svc__err_line(c->err, c->file, line, "YAML syntax error: %s", problem);
}

/* ---- Defaults ---------------------------------------------------------- */

/*
 * Without a service file: the transfers every authority has (into school, into
 * secondary, into post-16), for everyone. Infant/junior and middle schools
 * are local, so only a service file can ask for them.
 */
static const svc_transfer svc__default_transfers[] = {
    {"early_years_to_school", 0, NULL, 0, NULL, 0, 0},
    {"primary_to_secondary", 7, NULL, 0, NULL, 0, 0},
    {"secondary_to_post16", 12, NULL, 0, NULL, 0, 0},
};

/* Fill s with the defaults; the loader then overwrites what the file sets. */
static void svc__set_defaults(svc_settings *s)
{
    s->service = "(defaults)";
    s->version = 0;
    s->file = "(defaults)";
    s->under5_on = false;
    s->under5_n = 0;
    s->under5_unit = CAL_MONTHS;
    s->opens_n = 12;
    s->opens_unit = CAL_MONTHS;
    s->transfers = svc__default_transfers;
    s->ntransfers = sizeof svc__default_transfers / sizeof svc__default_transfers[0];
}

svc_settings *svc_defaults(void)
{
    svc_settings *s = xcalloc(1, sizeof *s);
    svc__set_defaults(s);
    return s;
}

/* ---- Loading ----------------------------------------------------------- */

int svc_load_string(const char *name, const char *yaml, size_t len, svc_settings **out,
                    char err[SVC_ERR_LEN])
{
    svc__ctx c = {.file = name, .text = yaml, .len = len, .err = err};
    yaml_parser_t parser;
    *out = NULL;
    err[0] = '\0';
    if (!yaml_parser_initialize(&parser))
        return svc__err_line(err, name, 1, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        svc__yaml_error(&c, &parser);
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        rc = svc__err_line(err, name, 1, "empty document: expected the service settings");
    } else {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = svc__yaml_error(&c, &parser);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra)
                rc = svc__err(&c, extra, "a second YAML document: one set of settings per file");
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);

    if (rc == 0) {
        c.s = xcalloc(1, sizeof *c.s);
        c.arena = xcalloc(1, sizeof *c.arena);
        c.s->arena = c.arena;
        svc__set_defaults(c.s);
        c.s->file = svc__strdup(&c, name);
        rc = svc__parse_top(&c, root);
        if (rc < 0)
            svc_free(c.s);
        else
            *out = c.s;
    }
    yaml_document_delete(&c.doc);
    return rc;
}

/* svc_load_file, and svc_load_optional when optional: a missing file gives the defaults and 1. */
static int svc__load_file(const char *path, svc_settings **out, char err[SVC_ERR_LEN],
                          bool optional)
{
    *out = NULL;
    err[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f && optional && errno == ENOENT) {
        *out = svc_defaults();
        return 1;
    }
    if (!f)
        return svc__err_line(err, path, 1, "cannot open: %s", strerror(errno));
    sb buf = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_addn(&buf, chunk, n);
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        sb_free(&buf);
        return svc__err_line(err, path, 1, "cannot read: %s", strerror(saved));
    }
    int rc = svc_load_string(path, sb_str(&buf), buf.len, out, err);
    sb_free(&buf);
    return rc;
}

int svc_load_file(const char *path, svc_settings **out, char err[SVC_ERR_LEN])
{
    return svc__load_file(path, out, err, false);
}

int svc_load_optional(const char *path, svc_settings **out, char err[SVC_ERR_LEN])
{
    return svc__load_file(path, out, err, true);
}

void svc_free(svc_settings *s)
{
    if (!s)
        return;
    svc__arena_free(s->arena);
    free(s);
}

/* ---- Lookups ----------------------------------------------------------- */

const svc_transfer *svc_find_transfer(const svc_settings *s, const char *name)
{
    for (size_t i = 0; i < s->ntransfers; i++)
        if (!strcmp(s->transfers[i].name, name))
            return &s->transfers[i];
    return NULL;
}

bool svc_transfer_applies(const svc_transfer *t, const wf_kv *case_attrs, size_t n)
{
    for (size_t i = 0; i < t->nwhen; i++) {
        const char *v = svc__pair_value_of(case_attrs, n, t->when[i].key);
        if (!v || strcmp(v, t->when[i].value) != 0)
            return false;
    }
    for (size_t i = 0; i < t->nunless; i++) {
        const char *v = svc__pair_value_of(case_attrs, n, t->unless[i].key);
        if (v && !strcmp(v, t->unless[i].value))
            return false;
    }
    return true;
}

bool svc_is_transfer_name(const char *name)
{
    return svc_transfer_words(name) != NULL;
}

const char *svc_transfer_words(const char *name)
{
    for (size_t i = 0; i < SVC__NNAMES; i++)
        if (name && !strcmp(svc__names[i].name, name))
            return svc__names[i].words;
    return NULL;
}
