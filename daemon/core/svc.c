/*
 * svc: the service settings loader (see svc.h). As in wf.c, libyaml's
 * document API turns the file into a node graph, we walk it section by
 * section, and what we keep is copied into an arena owned by the settings, so
 * a failed load frees the arena and the document and needs no other
 * unwinding. The node helpers are yml.c's, shared with wf.c: the loaders
 * agree on what counts as an empty value, a duplicate key and an error line.
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

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "cohort.h"
#include "yml.h"

/* Largest N accepted in "N unit" before the range checks; small enough for int arithmetic. */
#define SVC__MAX_COUNT 9999
/* School years a transfer may name: Reception (0) to Year 13. */
#define SVC__MAX_SCHOOL_YEAR 13

/* The state of one load. */
typedef struct svc__ctx {
    yml_doc d;       /* the parsed document, its arena and the error buffer */
    svc_settings *s; /* being filled */
} svc__ctx;

_Static_assert(SVC_ERR_LEN == YML_ERR_LEN, "one error buffer size for every loader");

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

/* ---- Helpers ---------------------------------------------------------- */

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
    if (v->type != YAML_SCALAR_NODE || yml_is_null(v))
        return yml_err(&c->d, v, "%s: %s, got %s", what, expect, yml_kind(v));
    const char *s = yml_s(v), *p = s;
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
        return yml_err(&c->d, v, "%s: %s, got \"%s\"", what, expect, s);
    if (n < range->min[unit] || n > range->max[unit])
        return yml_err(&c->d, v, "%s: \"%s\" is out of range: expected %s", what, s, range->words);
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
    yaml_node_t *v = yml_get(&c->d, top, "annual_review");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0)
        return -1;
    yaml_node_t *cycle = yml_get(&c->d, v, "under_5_cycle");
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
    if (yml_want_map(&c->d, v, w) < 0 || yml_check_keys(&c->d, v, w, NULL) < 0)
        return -1;
    size_t n = yml_map_len(v);
    if (n == 0)
        return yml_err(&c->d, v, "%s: must name at least one attribute (or leave \"%s\" out)", w,
                       key);
    wf_kv *kv = yml_alloc(&c->d, n * sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *val = yml_value(&c->d, v, i);
        if (!yml_ident_ok(yml_s(k)))
            return yml_err(&c->d, k, "%s: invalid attribute name \"%s\" (expected [a-z][a-z0-9_]*)",
                           w, yml_s(k));
        if (val->type != YAML_SCALAR_NODE || yml_is_null(val))
            return yml_err(&c->d, val, "%s: \"%s\": expected a value, got %s", w, yml_s(k),
                           yml_kind(val));
        kv[i].key = yml_strdup(&c->d, yml_s(k));
        kv[i].value = yml_strdup(&c->d, yml_s(val));
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
    const char *name = yml_s(k);
    char what[120];
    snprintf(what, sizeof what, "transfer \"%s\"", name);
    t->line = yml_line(k);
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
        return yml_err(&c->d, k, "\"transfers\": unknown transfer \"%s\" (expected one of: %s)",
                       name, list);
    }
    if (!svc__names[i].by_school_year)
        return yml_err(&c->d, k,
                       "\"transfers\": %s cannot be scheduled from the date of birth: a move "
                       "between post-16 institutions has no school year; start it by hand with "
                       "its transfer date (reg. 18(2): at least 5 months before)",
                       name);
    t->name = svc__names[i].name;

    if (yml_want_map(&c->d, spec, what) < 0 || yml_check_keys(&c->d, spec, what, keys) < 0)
        return -1;
    yaml_node_t *y = yml_get(&c->d, spec, "school_year");
    if (!y)
        return yml_err(&c->d, k, "%s: missing \"school_year\"", what);
    const char *s = y->type == YAML_SCALAR_NODE ? yml_s(y) : "";
    size_t len = strlen(s);
    if (len == 0 || len > 2 || strspn(s, "0123456789") != len || (len == 2 && s[0] == '0') ||
        atoi(s) > SVC__MAX_SCHOOL_YEAR)
        return yml_err(&c->d, y,
                       "%s: \"school_year\": expected a whole number from 0 (Reception) to %d "
                       "(Year %d), got %s%s%s",
                       what, SVC__MAX_SCHOOL_YEAR, SVC__MAX_SCHOOL_YEAR,
                       y->type == YAML_SCALAR_NODE ? "\"" : "",
                       y->type == YAML_SCALAR_NODE ? s : yml_kind(y),
                       y->type == YAML_SCALAR_NODE ? "\"" : "");
    t->school_year = atoi(s);

    yaml_node_t *when = yml_get(&c->d, spec, "when"), *unless = yml_get(&c->d, spec, "unless");
    if (when && svc__parse_kvs(c, when, what, "when", &t->when, &t->nwhen) < 0)
        return -1;
    if (unless && svc__parse_kvs(c, unless, what, "unless", &t->unless, &t->nunless) < 0)
        return -1;
    /* "when: {a: x}" with "unless: {a: x}" matches nothing: surely not what was meant. */
    for (size_t j = 0; j < t->nunless; j++) {
        const char *w = svc__pair_value_of(t->when, t->nwhen, t->unless[j].key);
        if (w && !strcmp(w, t->unless[j].value))
            return yml_err(&c->d, yml_key_of(&c->d, spec, unless),
                           "%s: \"unless\": %s: %s is also required by \"when\", so the transfer "
                           "never applies",
                           what, t->unless[j].key, w);
    }
    return 0;
}

static int svc__parse_transfers(svc__ctx *c, const yaml_node_t *pt, const yaml_node_t *v)
{
    static const char what[] = "\"phase_transfer\": \"transfers\"";
    if (yml_is_null(v))
        return yml_err(&c->d, yml_key_of(&c->d, pt, v),
                       "%s: expected a mapping of transfers, got an empty value (write {} to "
                       "schedule none)",
                       what);
    if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, NULL) < 0)
        return -1;
    size_t n = yml_map_len(v);
    svc_transfer *ts = n ? yml_alloc(&c->d, n * sizeof *ts) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (svc__parse_transfer(c, yml_key(&c->d, v, i), yml_value(&c->d, v, i), &ts[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++)
            if (ts[j].school_year == ts[i].school_year && !svc__exclusive(&ts[i], &ts[j]))
                return yml_err_at(
                    c->d.err, c->d.file, ts[i].line,
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
    yaml_node_t *v = yml_get(&c->d, top, "phase_transfer");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, what) < 0 || yml_check_keys(&c->d, v, what, keys) < 0)
        return -1;
    yaml_node_t *opens = yml_get(&c->d, v, "opens");
    if (opens && svc__parse_period(c, opens, "\"phase_transfer\": \"opens\"", false,
                                   &svc__opens_range, NULL, &c->s->opens_n, &c->s->opens_unit) < 0)
        return -1;
    yaml_node_t *transfers = yml_get(&c->d, v, "transfers");
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
        return yml_err(&c->d, top, "expected a mapping at the top level, got %s", yml_kind(top));
    if (yml_check_keys(&c->d, top, "top level", keys) < 0 ||
        yml_get_str(&c->d, top, "service", "top level", true, &s->service) < 0)
        return -1;

    if (yml_get_version(&c->d, top, "version", &s->version) < 0)
        return -1;

    return svc__parse_annual_review(c, top) < 0 || svc__parse_phase_transfer(c, top) < 0 ? -1 : 0;
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
    svc__ctx c = {0};
    yaml_node_t *root;
    *out = NULL;
    int rc = yml_doc_parse(&c.d, name, yaml, len, "set of settings", err, &root);
    if (rc == 0 && !root)
        rc = yml_err(&c.d, NULL, "empty document: expected the service settings");
    if (rc == 0) {
        c.s = xcalloc(1, sizeof *c.s);
        svc__set_defaults(c.s);
        c.s->file = yml_strdup(&c.d, name);
        rc = svc__parse_top(&c, root);
    }
    if (rc == 0) {
        c.s->arena = yml_doc_release_arena(&c.d);
        *out = c.s;
    } else {
        free(c.s);
    }
    yml_doc_done(&c.d);
    return rc;
}

void svc_free(svc_settings *s)
{
    if (!s)
        return;
    yml_arena_free(s->arena);
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
