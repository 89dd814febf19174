/*
 * wf: the workflow loader. libyaml's document API turns the file into a node
 * graph; we walk it section by section (states, then events, then deadlines,
 * so every cross-reference can be resolved in one pass whatever the key order
 * in the file) and copy what we keep into an arena owned by the workflow.
 *
 * Validation is deliberately strict: a workflow file is written by hand by a
 * service manager, and a typo ("withn:") silently ignored would mean a
 * statutory deadline silently not tracked. So every unknown key, every
 * dangling name and every malformed rule is an error naming its file and line.
 *
 * Error paths need no unwinding: everything allocated while loading lives in
 * the arena, so a failed load frees the arena and the libyaml document, and
 * that is all.
 */
#include "wf.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

/* Largest N accepted in "N unit": far beyond any statute, small enough for int arithmetic. */
#define WF__MAX_COUNT 9999

/* One arena allocation; the data follows the header, aligned for anything. */
typedef struct wf__block {
    struct wf__block *next;
    max_align_t data[];
} wf__block;

/*
 * What wf_workflow.arena points to: the allocations behind the tree, plus the
 * lines wf_set_check needs for its messages that the public tree has no field
 * for.
 */
typedef struct wf__arena {
    wf__block *blocks; /* every allocation, newest first */
    int name_line;     /* line of the "workflow:" value */
    int **starts_line; /* per event: the line of each "starts:" item */
} wf__arena;

/* The state of one load. */
typedef struct wf__ctx {
    const char *file;    /* name used in messages */
    const char *text;    /* the input, for locating reader errors */
    size_t len;          /* its length */
    yaml_document_t doc; /* the parsed document; deleted by the caller */
    wf_workflow *wf;     /* being filled */
    wf__arena *arena;    /* wf->arena */
    char *err;           /* WF_ERR_LEN bytes */
} wf__ctx;

/* ---- Arena ------------------------------------------------------------- */

/* Zeroed memory owned by the workflow being loaded. */
static void *wf__alloc(wf__ctx *c, size_t n)
{
    wf__block *b = xcalloc(1, sizeof(wf__block) + n);
    b->next = c->arena->blocks;
    c->arena->blocks = b;
    return b->data;
}

static char *wf__strdup(wf__ctx *c, const char *s)
{
    size_t n = strlen(s);
    char *p = wf__alloc(c, n + 1);
    memcpy(p, s, n);
    return p;
}

static void wf__arena_free(wf__arena *a)
{
    if (!a)
        return;
    wf__block *b = a->blocks;
    while (b) {
        wf__block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* ---- Errors ------------------------------------------------------------ */

static void wf__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
    SF_PRINTF(4, 0);
static void wf__verr(char *err, const char *file, int line, const char *fmt, va_list ap)
{
    int n = snprintf(err, WF_ERR_LEN, "[%s:%d] ", file, line);
    if (n < 0 || n >= WF_ERR_LEN)
        return;
    vsnprintf(err + n, WF_ERR_LEN - (size_t)n, fmt, ap);
}

static int wf__err_line(char *err, const char *file, int line, const char *fmt, ...)
    SF_PRINTF(4, 5);
static int wf__err_line(char *err, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wf__verr(err, file, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* The 1-based line of a node; 1 when there is none (libyaml returns NULL for a bad id). */
static int wf__line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

/* Report a problem at node n; always returns -1 so callers can "return wf__err(...)". */
static int wf__err(wf__ctx *c, const yaml_node_t *n, const char *fmt, ...) SF_PRINTF(3, 4);
static int wf__err(wf__ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wf__verr(c->err, c->file, n ? wf__line(n) : 1, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Node helpers ------------------------------------------------------ */

static yaml_node_t *wf__node(wf__ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

static bool wf__is_null(const yaml_node_t *n);

static const char *wf__kind(const yaml_node_t *n)
{
    if (wf__is_null(n))
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

static const char *wf__s(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain empty value ("key:" with nothing after it, or "~"/"null"). */
static bool wf__is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = wf__s(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static size_t wf__map_len(const yaml_node_t *n)
{
    return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

static size_t wf__seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *wf__seq_item(wf__ctx *c, const yaml_node_t *n, size_t i)
{
    return wf__node(c, n->data.sequence.items.start[i]);
}

static yaml_node_t *wf__pair_key(wf__ctx *c, const yaml_node_t *n, size_t i)
{
    return wf__node(c, n->data.mapping.pairs.start[i].key);
}

static yaml_node_t *wf__pair_value(wf__ctx *c, const yaml_node_t *n, size_t i)
{
    return wf__node(c, n->data.mapping.pairs.start[i].value);
}

static int wf__want_map(wf__ctx *c, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return wf__err(c, n, "%s: expected a mapping, got %s", what, wf__kind(n));
    return 0;
}

/* The value of key in mapping m, or NULL. Keys were checked to be unique scalars. */
static yaml_node_t *wf__get(wf__ctx *c, const yaml_node_t *m, const char *key)
{
    for (size_t i = 0; i < wf__map_len(m); i++) {
        yaml_node_t *k = wf__pair_key(c, m, i);
        if (k->type == YAML_SCALAR_NODE && !strcmp(wf__s(k), key))
            return wf__pair_value(c, m, i);
    }
    return NULL;
}

/* Line of the key whose value is v in mapping m (for "missing"-style messages). */
static const yaml_node_t *wf__key_of(wf__ctx *c, const yaml_node_t *m, const yaml_node_t *v)
{
    for (size_t i = 0; i < wf__map_len(m); i++)
        if (wf__pair_value(c, m, i) == v)
            return wf__pair_key(c, m, i);
    return v;
}

/*
 * Every key of mapping m must be a string, appear once, and (when allowed is
 * not NULL) be one of allowed. Checked before anything is read from m, so a
 * misspelt key is reported as such rather than as a missing one.
 */
static int wf__check_keys(wf__ctx *c, const yaml_node_t *m, const char *what,
                          const char *const *allowed)
{
    for (size_t i = 0; i < wf__map_len(m); i++) {
        yaml_node_t *k = wf__pair_key(c, m, i);
        if (k->type != YAML_SCALAR_NODE)
            return wf__err(c, k, "%s: a key must be a string, got %s", what, wf__kind(k));
        for (size_t j = 0; j < i; j++) {
            yaml_node_t *prev = wf__pair_key(c, m, j);
            if (!strcmp(wf__s(prev), wf__s(k)))
                return wf__err(c, k, "%s: duplicate key \"%s\" (first at line %d)", what, wf__s(k),
                               wf__line(prev));
        }
        if (!allowed)
            continue;
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, wf__s(k)))
                known = true;
        if (!known) {
            char list[256] = "";
            size_t used = 0;
            for (const char *const *a = allowed; *a; a++) {
                int w =
                    snprintf(list + used, sizeof list - used, "%s%s", a == allowed ? "" : ", ", *a);
                if (w < 0 || (size_t)w >= sizeof list - used)
                    break;
                used += (size_t)w;
            }
            return wf__err(c, k, "%s: unknown key \"%s\" (expected one of: %s)", what, wf__s(k),
                           list);
        }
    }
    return 0;
}

/* A string value for key (non-empty); *out is arena-owned. */
static int wf__get_str(wf__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                       bool required, const char **out)
{
    yaml_node_t *v = wf__get(c, m, key);
    *out = NULL;
    if (!v) {
        if (required)
            return wf__err(c, m, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE)
        return wf__err(c, v, "%s: \"%s\": expected a string, got %s", what, key, wf__kind(v));
    if (!*wf__s(v))
        return wf__err(c, v, "%s: \"%s\": must not be empty", what, key);
    *out = wf__strdup(c, wf__s(v));
    return 0;
}

static int wf__get_bool(wf__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                        bool *out)
{
    yaml_node_t *v = wf__get(c, m, key);
    *out = false;
    if (!v)
        return 0;
    if (v->type == YAML_SCALAR_NODE && !strcmp(wf__s(v), "true"))
        *out = true;
    else if (!(v->type == YAML_SCALAR_NODE && !strcmp(wf__s(v), "false")))
        return wf__err(c, v, "%s: \"%s\": expected true or false, got %s%s%s", what, key,
                       v->type == YAML_SCALAR_NODE ? "\"" : "",
                       v->type == YAML_SCALAR_NODE ? wf__s(v) : wf__kind(v),
                       v->type == YAML_SCALAR_NODE ? "\"" : "");
    return 0;
}

/* [a-z][a-z0-9_]*: names of states, events, deadlines and attributes. */
static bool wf__ident_ok(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

/* [a-z0-9-]+: workflow names (they become CLI arguments and file names). */
static bool wf__wfname_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* Every key of a name -> spec mapping must be a valid identifier. */
static int wf__check_idents(wf__ctx *c, const yaml_node_t *m, const char *what, const char *kind)
{
    if (wf__check_keys(c, m, what, NULL) < 0)
        return -1;
    for (size_t i = 0; i < wf__map_len(m); i++) {
        yaml_node_t *k = wf__pair_key(c, m, i);
        if (!wf__ident_ok(wf__s(k)))
            return wf__err(c, k, "%s: invalid %s name \"%s\" (expected [a-z][a-z0-9_]*)", what,
                           kind, wf__s(k));
    }
    return 0;
}

/*
 * A list of distinct non-empty strings; ok (may be NULL) vets each item and
 * returns an error message for a bad one. *out is arena-owned.
 */
static int wf__str_list(wf__ctx *c, const yaml_node_t *v, const char *what, const char *key,
                        const char ***out, size_t *nout, int **lines)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return wf__err(c, v, "%s: \"%s\": expected a list, got %s", what, key, wf__kind(v));
    size_t n = wf__seq_len(v);
    const char **items = wf__alloc(c, (n ? n : 1) * sizeof *items);
    if (lines)
        *lines = wf__alloc(c, (n ? n : 1) * sizeof **lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = wf__seq_item(c, v, i);
        if (it->type != YAML_SCALAR_NODE)
            return wf__err(c, it, "%s: \"%s\": items must be strings, got %s", what, key,
                           wf__kind(it));
        if (!*wf__s(it))
            return wf__err(c, it, "%s: \"%s\": items must not be empty", what, key);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(items[j], wf__s(it)))
                return wf__err(c, it, "%s: \"%s\": \"%s\" is listed twice", what, key, items[j]);
        items[i] = wf__strdup(c, wf__s(it));
        if (lines)
            (*lines)[i] = wf__line(it);
    }
    *out = items;
    *nout = n;
    return 0;
}

/* ---- Attributes -------------------------------------------------------- */

static int wf__parse_attrs(wf__ctx *c, const yaml_node_t *v, const char *owner, wf_attr **out,
                           size_t *nout)
{
    static const char *const keys[] = {"required", "values", "type", "default", NULL};
    static const char *const default_keys[] = {"school_year_of", NULL};
    char what[200];
    snprintf(what, sizeof what, "%s: \"attributes\"", owner);
    *out = NULL;
    *nout = 0;
    if (wf__is_null(v))
        return 0;
    if (wf__want_map(c, v, what) < 0 || wf__check_idents(c, v, what, "attribute") < 0)
        return -1;
    size_t n = wf__map_len(v);
    wf_attr *attrs = wf__alloc(c, (n ? n : 1) * sizeof *attrs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *spec = wf__pair_value(c, v, i);
        wf_attr *a = &attrs[i];
        a->name = wf__strdup(c, wf__s(k));
        a->line = wf__line(k);
        snprintf(what, sizeof what, "%s: attribute \"%s\"", owner, a->name);
        if (wf__is_null(spec))
            continue;
        if (wf__want_map(c, spec, what) < 0 || wf__check_keys(c, spec, what, keys) < 0 ||
            wf__get_bool(c, spec, "required", what, &a->required) < 0)
            return -1;
        const char *type;
        if (wf__get_str(c, spec, "type", what, false, &type) < 0)
            return -1;
        if (type && !strcmp(type, "date"))
            a->is_date = true;
        else if (type && strcmp(type, "string") != 0)
            return wf__err(c, wf__get(c, spec, "type"),
                           "%s: \"type\": expected date or string, got \"%s\"", what, type);
        yaml_node_t *vals = wf__get(c, spec, "values");
        if (vals) {
            if (wf__str_list(c, vals, what, "values", &a->values, &a->nvalues, NULL) < 0)
                return -1;
            if (a->nvalues == 0)
                return wf__err(c, vals, "%s: \"values\": must list at least one value", what);
            if (a->is_date)
                return wf__err(c, vals, "%s: \"values\": not allowed with \"type: date\"", what);
        }
        yaml_node_t *dv = wf__get(c, spec, "default");
        if (dv) {
            char dw[240];
            snprintf(dw, sizeof dw, "%s: \"default\"", what);
            if (strcmp(owner, "\"start\"") != 0)
                return wf__err(c, dv, "%s: only start attributes can have a default", dw);
            if (!a->is_date)
                return wf__err(c, dv, "%s: needs \"type: date\"", dw);
            if (a->required)
                return wf__err(c, dv, "%s: a required attribute cannot have a default", dw);
            if (wf__want_map(c, dv, dw) < 0 || wf__check_keys(c, dv, dw, default_keys) < 0 ||
                wf__get_str(c, dv, "school_year_of", dw, true, &a->school_year_of) < 0)
                return -1;
        }
    }
    /* The attribute a default reads must exist and name its values (the transfers). */
    for (size_t i = 0; i < n; i++) {
        if (!attrs[i].school_year_of)
            continue;
        const wf_attr *of = wf_find_attr(attrs, n, attrs[i].school_year_of);
        if (!of || !of->required || !of->nvalues)
            return wf__err_line(c->err, c->file, attrs[i].line,
                                "%s: attribute \"%s\": \"default: {school_year_of: %s}\" needs "
                                "a required start attribute \"%s\" with \"values\"",
                                what, attrs[i].name, attrs[i].school_year_of,
                                attrs[i].school_year_of);
    }
    *out = attrs;
    *nout = n;
    return 0;
}

static bool wf__attr_allows(const wf_attr *a, const char *value)
{
    if (!a->nvalues)
        return true;
    for (size_t i = 0; i < a->nvalues; i++)
        if (!strcmp(a->values[i], value))
            return true;
    return false;
}

/* "a, b, c" of an attribute's values, for messages. */
static void wf__values_list(const wf_attr *a, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < a->nvalues; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", a->values[i]);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/*
 * A "when:" filter on event ev: each key must be one of its attributes and
 * each value one that attribute allows.
 */
static int wf__parse_when(wf__ctx *c, const yaml_node_t *v, const char *what, const wf_event *ev,
                          wf_kv **out, size_t *nout)
{
    char w[220];
    snprintf(w, sizeof w, "%s: \"when\"", what);
    *out = NULL;
    *nout = 0;
    if (wf__want_map(c, v, w) < 0 || wf__check_keys(c, v, w, NULL) < 0)
        return -1;
    size_t n = wf__map_len(v);
    wf_kv *kv = wf__alloc(c, (n ? n : 1) * sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *val = wf__pair_value(c, v, i);
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, wf__s(k));
        if (!a)
            return wf__err(c, k, "%s: \"%s\" is not an attribute of event \"%s\"", w, wf__s(k),
                           ev->name);
        if (val->type != YAML_SCALAR_NODE)
            return wf__err(c, val, "%s: \"%s\": expected a string, got %s", w, wf__s(k),
                           wf__kind(val));
        if (!wf__attr_allows(a, wf__s(val))) {
            char list[256];
            wf__values_list(a, list, sizeof list);
            return wf__err(c, val, "%s: %s \"%s\" is not one of: %s", w, a->name, wf__s(val), list);
        }
        kv[i].key = a->name;
        kv[i].value = wf__strdup(c, wf__s(val));
    }
    *out = kv;
    *nout = n;
    return 0;
}

/* An event pattern: "name" (when scalar_ok) or {event: name, when: {...}}. */
static int wf__parse_match(wf__ctx *c, const yaml_node_t *v, const char *what, bool scalar_ok,
                           wf_match *m)
{
    static const char *const keys[] = {"event", "when", NULL};
    memset(m, 0, sizeof *m);
    m->line = wf__line(v);
    const yaml_node_t *name = v;
    if (v->type == YAML_MAPPING_NODE) {
        if (wf__check_keys(c, v, what, keys) < 0)
            return -1;
        name = wf__get(c, v, "event");
        if (!name)
            return wf__err(c, v, "%s: missing \"event\"", what);
    } else if (!scalar_ok || v->type != YAML_SCALAR_NODE) {
        return wf__err(c, v, "%s: expected %s{event: NAME, when: {...}}, got %s", what,
                       scalar_ok ? "an event name or " : "", wf__kind(v));
    }
    if (name->type != YAML_SCALAR_NODE)
        return wf__err(c, name, "%s: \"event\": expected an event name, got %s", what,
                       wf__kind(name));
    const wf_event *ev = wf_find_event(c->wf, wf__s(name));
    if (!ev)
        return wf__err(c, name, "%s: unknown event \"%s\"", what, wf__s(name));
    m->event = ev->name;
    yaml_node_t *when = v->type == YAML_MAPPING_NODE ? wf__get(c, v, "when") : NULL;
    if (when && wf__parse_when(c, when, what, ev, &m->when, &m->nwhen) < 0)
        return -1;
    return 0;
}

static int wf__parse_matches(wf__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                             wf_match **out, size_t *nout)
{
    yaml_node_t *v = wf__get(c, m, key);
    *out = NULL;
    *nout = 0;
    if (!v)
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return wf__err(c, v, "%s: \"%s\": expected a list, got %s", what, key, wf__kind(v));
    size_t n = wf__seq_len(v);
    wf_match *ms = wf__alloc(c, (n ? n : 1) * sizeof *ms);
    char w[220];
    snprintf(w, sizeof w, "%s: \"%s\"", what, key);
    for (size_t i = 0; i < n; i++)
        if (wf__parse_match(c, wf__seq_item(c, v, i), w, true, &ms[i]) < 0)
            return -1;
    *out = ms;
    *nout = n;
    return 0;
}

/* ---- States ------------------------------------------------------------ */

static int wf__parse_states(wf__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"initial", "final", "title", NULL};
    yaml_node_t *v = wf__get(c, top, "states");
    if (!v)
        return wf__err(c, top, "missing \"states\"");
    if (wf__want_map(c, v, "\"states\"") < 0 || wf__check_idents(c, v, "\"states\"", "state") < 0)
        return -1;
    size_t n = wf__map_len(v);
    if (n == 0)
        return wf__err(c, wf__key_of(c, top, v), "\"states\": must declare at least one state");
    wf_state *states = wf__alloc(c, n * sizeof *states);
    const wf_state *initial = NULL;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *spec = wf__pair_value(c, v, i);
        wf_state *s = &states[i];
        char what[120];
        s->name = wf__strdup(c, wf__s(k));
        s->line = wf__line(k);
        snprintf(what, sizeof what, "state \"%s\"", s->name);
        if (!wf__is_null(spec)) {
            if (wf__want_map(c, spec, what) < 0 || wf__check_keys(c, spec, what, keys) < 0 ||
                wf__get_bool(c, spec, "initial", what, &s->initial) < 0 ||
                wf__get_str(c, spec, "title", what, false, &s->title) < 0)
                return -1;
            const char *final;
            if (wf__get_str(c, spec, "final", what, false, &final) < 0)
                return -1;
            if (final && !strcmp(final, "completed"))
                s->final = WF_COMPLETED;
            else if (final && !strcmp(final, "cancelled"))
                s->final = WF_CANCELLED;
            else if (final)
                return wf__err(c, wf__get(c, spec, "final"),
                               "%s: \"final\": expected completed or cancelled, got \"%s\"", what,
                               final);
        }
        if (!s->title)
            s->title = s->name;
        if (s->initial) {
            if (initial)
                return wf__err(c, k, "%s: a second initial state (\"%s\" at line %d is initial)",
                               what, initial->name, initial->line);
            if (s->final != WF_OPEN)
                return wf__err(c, k, "%s: the initial state must not be final", what);
            initial = s;
        }
    }
    if (!initial)
        return wf__err(c, wf__key_of(c, top, v),
                       "\"states\": no initial state (mark one with \"initial: true\")");
    c->wf->states = states;
    c->wf->nstates = n;
    return 0;
}

/*
 * Names of states for "allowed_in:" and a transition's "from:". A final state
 * makes no sense there: nothing happens to a finished process.
 */
static int wf__state_refs(wf__ctx *c, const yaml_node_t *v, const char *what, const char *key,
                          const char ***out, size_t *nout, bool *any)
{
    *any = false;
    *out = NULL;
    *nout = 0;
    if (v->type == YAML_SCALAR_NODE) {
        if (strcmp(wf__s(v), "any") != 0)
            return wf__err(c, v, "%s: \"%s\": expected a list of states or \"any\", got \"%s\"",
                           what, key, wf__s(v));
        *any = true;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return wf__err(c, v, "%s: \"%s\": expected a list of states or \"any\", got %s", what, key,
                       wf__kind(v));
    if (wf__str_list(c, v, what, key, out, nout, NULL) < 0)
        return -1;
    for (size_t i = 0; i < *nout; i++) {
        const wf_state *s = wf_find_state(c->wf, (*out)[i]);
        yaml_node_t *it = wf__seq_item(c, v, i);
        if (!s)
            return wf__err(c, it, "%s: \"%s\": unknown state \"%s\"", what, key, (*out)[i]);
        if (s->final != WF_OPEN)
            return wf__err(c, it, "%s: \"%s\": \"%s\" is a final state", what, key, (*out)[i]);
    }
    return 0;
}

/* ---- Events ------------------------------------------------------------ */

static int wf__parse_transitions(wf__ctx *c, const yaml_node_t *v, const char *what, wf_event *ev)
{
    static const char *const keys[] = {"from", "when", "to", NULL};
    if (v->type != YAML_SEQUENCE_NODE)
        return wf__err(c, v, "%s: \"transitions\": expected a list, got %s", what, wf__kind(v));
    size_t n = wf__seq_len(v);
    wf_transition *ts = wf__alloc(c, (n ? n : 1) * sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *t = wf__seq_item(c, v, i);
        wf_transition *tr = &ts[i];
        char w[200];
        snprintf(w, sizeof w, "%s: transition %zu", what, i + 1);
        tr->line = wf__line(t);
        if (wf__want_map(c, t, w) < 0 || wf__check_keys(c, t, w, keys) < 0)
            return -1;
        yaml_node_t *from = wf__get(c, t, "from");
        if (!from)
            return wf__err(c, t, "%s: missing \"from\"", w);
        if (wf__state_refs(c, from, w, "from", &tr->from, &tr->nfrom, &tr->from_any) < 0)
            return -1;
        if (!tr->from_any && tr->nfrom == 0)
            return wf__err(c, from, "%s: \"from\": must name at least one state", w);
        const char *to;
        if (wf__get_str(c, t, "to", w, true, &to) < 0)
            return -1;
        const wf_state *s = wf_find_state(c->wf, to);
        if (!s)
            return wf__err(c, wf__get(c, t, "to"), "%s: \"to\": unknown state \"%s\"", w, to);
        tr->to = s->name;
        yaml_node_t *when = wf__get(c, t, "when");
        if (when && wf__parse_when(c, when, w, ev, &tr->when, &tr->nwhen) < 0)
            return -1;
    }
    ev->transitions = ts;
    ev->ntransitions = n;
    return 0;
}

static int wf__parse_count(wf__ctx *c, const yaml_node_t *v, const char *what, const char *key,
                           wf_due *due);

/* "minimum_length: {reason: N unit, ...}" of an "exception: start" event. */
static int wf__parse_min_lengths(wf__ctx *c, const yaml_node_t *spec, const yaml_node_t *v,
                                 const char *what, wf_event *ev)
{
    char w[200];
    snprintf(w, sizeof w, "%s: \"minimum_length\"", what);
    if (ev->exception != WF_EXC_START)
        return wf__err(c, wf__key_of(c, spec, v), "%s: only an \"exception: start\" event has one",
                       w);
    if (wf__want_map(c, v, w) < 0 || wf__check_keys(c, v, w, NULL) < 0)
        return -1;
    const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, "reason");
    size_t n = wf__map_len(v);
    wf_min_length *ml = wf__alloc(c, (n ? n : 1) * sizeof *ml);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *val = wf__pair_value(c, v, i);
        if (!*wf__s(k) || !wf__attr_allows(a, wf__s(k))) {
            char list[256];
            wf__values_list(a, list, sizeof list);
            return wf__err(c, k, "%s: \"%s\" is not a value of the \"reason\" attribute%s%s%s", w,
                           wf__s(k), a->nvalues ? " (one of: " : "", list, a->nvalues ? ")" : "");
        }
        wf_due count = {0};
        if (wf__parse_count(c, val, w, wf__s(k), &count) < 0)
            return -1;
        ml[i] = (wf_min_length){wf__strdup(c, wf__s(k)), count.n, count.unit, wf__line(k)};
    }
    ev->min_lengths = ml;
    ev->nmin_lengths = n;
    return 0;
}

/*
 * "starts: [annual-review, {workflow: annual-review, with: {started_after:
 * review_meeting}}]": the follow-on workflows, each with the start attributes
 * it is given (checked against that workflow by wf_set_check).
 */
static int wf__parse_starts(wf__ctx *c, const yaml_node_t *v, const char *what, wf_event *ev,
                            int **lines)
{
    static const char *const keys[] = {"workflow", "with", NULL};
    if (v->type != YAML_SEQUENCE_NODE)
        return wf__err(c, v, "%s: \"starts\": expected a list, got %s", what, wf__kind(v));
    size_t n = wf__seq_len(v);
    ev->starts = wf__alloc(c, (n ? n : 1) * sizeof *ev->starts);
    ev->starts_with = wf__alloc(c, (n ? n : 1) * sizeof *ev->starts_with);
    ev->nstarts_with = wf__alloc(c, (n ? n : 1) * sizeof *ev->nstarts_with);
    *lines = wf__alloc(c, (n ? n : 1) * sizeof **lines);
    char w[200];
    snprintf(w, sizeof w, "%s: \"starts\"", what);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = wf__seq_item(c, v, i), *name = item;
        (*lines)[i] = wf__line(item);
        if (item->type == YAML_MAPPING_NODE) {
            if (wf__check_keys(c, item, w, keys) < 0)
                return -1;
            name = wf__get(c, item, "workflow");
            if (!name)
                return wf__err(c, item, "%s: missing \"workflow\"", w);
            yaml_node_t *with = wf__get(c, item, "with");
            if (with) {
                if (wf__want_map(c, with, w) < 0 || wf__check_keys(c, with, w, NULL) < 0)
                    return -1;
                size_t m = wf__map_len(with);
                wf_kv *kv = wf__alloc(c, (m ? m : 1) * sizeof *kv);
                for (size_t k = 0; k < m; k++) {
                    yaml_node_t *kk = wf__pair_key(c, with, k), *vv = wf__pair_value(c, with, k);
                    if (vv->type != YAML_SCALAR_NODE)
                        return wf__err(c, vv, "%s: \"with\": %s: expected a string, got %s", w,
                                       wf__s(kk), wf__kind(vv));
                    kv[k].key = wf__strdup(c, wf__s(kk));
                    kv[k].value = wf__strdup(c, wf__s(vv));
                }
                ev->starts_with[i] = kv;
                ev->nstarts_with[i] = m;
            }
        }
        if (name->type != YAML_SCALAR_NODE || !wf__wfname_ok(wf__s(name)))
            return wf__err(c, name, "%s: invalid workflow name %s%s%s (expected [a-z0-9-]+)", w,
                           name->type == YAML_SCALAR_NODE ? "\"" : "",
                           name->type == YAML_SCALAR_NODE ? wf__s(name) : wf__kind(name),
                           name->type == YAML_SCALAR_NODE ? "\"" : "");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(ev->starts[k], wf__s(name)))
                return wf__err(c, name, "%s: \"%s\" is listed twice", w, wf__s(name));
        ev->starts[i] = wf__strdup(c, wf__s(name));
    }
    ev->nstarts = n;
    return 0;
}

static int wf__parse_event(wf__ctx *c, const yaml_node_t *spec, wf_event *ev, int **starts_line)
{
    static const char *const keys[] = {
        "title",          "attributes", "allowed_in", "transitions",        "exception", "starts",
        "minimum_length", "recognises", "after_end",  "refused_while_open", NULL};
    static const char *const rec_keys[] = {"exception", "when", NULL};
    char what[120];
    snprintf(what, sizeof what, "event \"%s\"", ev->name);
    if (wf__is_null(spec))
        return wf__err_line(c->err, c->file, ev->line,
                            "%s: neither \"transitions\" nor \"allowed_in\": it could never be "
                            "recorded",
                            what);
    if (wf__want_map(c, spec, what) < 0 || wf__check_keys(c, spec, what, keys) < 0 ||
        wf__get_str(c, spec, "title", what, false, &ev->title) < 0)
        return -1;
    yaml_node_t *v = wf__get(c, spec, "attributes");
    if (v && wf__parse_attrs(c, v, what, &ev->attrs, &ev->nattrs) < 0)
        return -1;
    const char *exc;
    if (wf__get_str(c, spec, "exception", what, false, &exc) < 0)
        return -1;
    if (exc && !strcmp(exc, "start"))
        ev->exception = WF_EXC_START;
    else if (exc && !strcmp(exc, "end"))
        ev->exception = WF_EXC_END;
    else if (exc)
        return wf__err(c, wf__get(c, spec, "exception"),
                       "%s: \"exception\": expected start or end, got \"%s\"", what, exc);
    if (exc && !wf_find_attr(ev->attrs, ev->nattrs, "reason"))
        return wf__err(c, wf__get(c, spec, "exception"),
                       "%s: \"exception: %s\" needs a \"reason\" attribute", what, exc);
    if (ev->exception == WF_EXC_START) {
        /* Without a reason the period could never be closed, nor excuse anything. */
        const wf_attr *r = wf_find_attr(ev->attrs, ev->nattrs, "reason");
        if (!r->required)
            return wf__err_line(c->err, c->file, r->line,
                                "%s: the \"reason\" attribute of an \"exception: start\" event "
                                "must be \"required: true\"",
                                what);
    }
    v = wf__get(c, spec, "minimum_length");
    if (v && wf__parse_min_lengths(c, spec, v, what, ev) < 0)
        return -1;
    v = wf__get(c, spec, "recognises");
    if (v) {
        char rw[160];
        snprintf(rw, sizeof rw, "%s: \"recognises\"", what);
        if (wf__want_map(c, v, rw) < 0 || wf__check_keys(c, v, rw, rec_keys) < 0 ||
            wf__get_str(c, v, "exception", rw, true, &ev->recognises) < 0)
            return -1;
        if (strcmp(ev->recognises, "school_closure") != 0)
            return wf__err(c, wf__get(c, v, "exception"),
                           "%s: \"exception\": only school_closure (reg. 10(4)(a)) can be "
                           "recognised from the calendar, got \"%s\"",
                           rw, ev->recognises);
        yaml_node_t *w = wf__get(c, v, "when");
        if (w && wf__parse_when(c, w, rw, ev, &ev->recognises_when, &ev->nrecognises_when) < 0)
            return -1;
        c->wf->uses_calendar = true;
    }
    if (wf__get_bool(c, spec, "after_end", what, &ev->after_end) < 0)
        return -1;
    v = wf__get(c, spec, "refused_while_open");
    if (v && wf__str_list(c, v, what, "refused_while_open", &ev->refused_while_open,
                          &ev->nrefused_while_open, NULL) < 0)
        return -1;
    v = wf__get(c, spec, "allowed_in");
    if (v && wf__state_refs(c, v, what, "allowed_in", &ev->allowed_in, &ev->nallowed_in,
                            &ev->allowed_any) < 0)
        return -1;
    v = wf__get(c, spec, "transitions");
    if (v && wf__parse_transitions(c, v, what, ev) < 0)
        return -1;
    v = wf__get(c, spec, "starts");
    if (v) {
        if (wf__parse_starts(c, v, what, ev, starts_line) < 0)
            return -1;
    }
    if (ev->ntransitions == 0 && ev->nallowed_in == 0 && !ev->allowed_any)
        return wf__err_line(c->err, c->file, ev->line,
                            "%s: neither \"transitions\" nor \"allowed_in\": it could never be "
                            "recorded",
                            what);
    return 0;
}

/*
 * Every reason an "exception: start" event can open needs an "exception: end"
 * event that can close it: otherwise the period stays open for ever and
 * excuses every later deadline.
 */
static int wf__check_exception_ends(wf__ctx *c)
{
    const wf_workflow *wf = c->wf;
    for (size_t i = 0; i < wf->nevents; i++) {
        const wf_event *ev = &wf->events[i];
        if (ev->exception != WF_EXC_START)
            continue;
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, "reason");
        size_t nreasons = a->nvalues ? a->nvalues : 1;
        for (size_t v = 0; v < nreasons; v++) {
            bool closed = false;
            for (size_t j = 0; j < wf->nevents && !closed; j++) {
                const wf_event *end = &wf->events[j];
                if (end->exception != WF_EXC_END)
                    continue;
                const wf_attr *ea = wf_find_attr(end->attrs, end->nattrs, "reason");
                closed = a->nvalues ? wf__attr_allows(ea, a->values[v]) : ea->nvalues == 0;
            }
            if (closed)
                continue;
            if (a->nvalues)
                return wf__err_line(c->err, c->file, a->line,
                                    "event \"%s\": reason \"%s\": no \"exception: end\" event "
                                    "takes it, so the exception could never be closed",
                                    ev->name, a->values[v]);
            return wf__err_line(c->err, c->file, a->line,
                                "event \"%s\": \"reason\" takes any value, but no \"exception: "
                                "end\" event does, so the exception could never be closed",
                                ev->name);
        }
    }
    return 0;
}

static int wf__parse_events(wf__ctx *c, const yaml_node_t *top)
{
    yaml_node_t *v = wf__get(c, top, "events");
    if (!v)
        return wf__err(c, top, "missing \"events\"");
    if (wf__want_map(c, v, "\"events\"") < 0 || wf__check_idents(c, v, "\"events\"", "event") < 0)
        return -1;
    size_t n = wf__map_len(v);
    wf_event *evs = wf__alloc(c, (n ? n : 1) * sizeof *evs);
    c->arena->starts_line = wf__alloc(c, (n ? n : 1) * sizeof *c->arena->starts_line);
    /*
     * Names first, so that the tree is complete for wf_find_event by the time
     * deadlines are read; an event's own fields refer only to states and its
     * own attributes.
     */
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i);
        evs[i].name = wf__strdup(c, wf__s(k));
        evs[i].line = wf__line(k);
    }
    c->wf->events = evs;
    c->wf->nevents = n;
    for (size_t i = 0; i < n; i++) {
        if (wf__parse_event(c, wf__pair_value(c, v, i), &evs[i], &c->arena->starts_line[i]) < 0)
            return -1;
        if (!evs[i].title)
            evs[i].title = evs[i].name;
    }
    return wf__check_exception_ends(c);
}

/* ---- Deadlines --------------------------------------------------------- */

/* "6 weeks": a positive count and a unit. */
static int wf__parse_count(wf__ctx *c, const yaml_node_t *v, const char *what, const char *key,
                           wf_due *due)
{
    static const char expect[] = "expected \"N days|weeks|months|years\"";
    if (v->type != YAML_SCALAR_NODE)
        return wf__err(c, v, "%s: \"%s\": %s, got %s", what, key, expect, wf__kind(v));
    const char *s = wf__s(v), *p = s;
    long n = 0;
    while (*p >= '0' && *p <= '9') {
        if (n <= WF__MAX_COUNT)
            n = n * 10 + (*p - '0');
        p++;
    }
    const char *sp = p;
    while (*p == ' ')
        p++;
    cal_unit unit;
    if (sp == s || p == sp || cal_unit_parse(p, &unit) < 0)
        return wf__err(c, v, "%s: \"%s\": %s, got \"%s\"", what, key, expect, s);
    if (n < 1 || n > WF__MAX_COUNT)
        return wf__err(c, v, "%s: \"%s\": N must be from 1 to %d, got \"%s\"", what, key,
                       WF__MAX_COUNT, s);
    due->n = (int)n;
    due->unit = unit;
    return 0;
}

/* "15 February": a day that exists in that month of a leap year. */
static int wf__parse_day_of_year(wf__ctx *c, const yaml_node_t *v, const char *what,
                                 const char *key, wf_due *due)
{
    static const char expect[] = "expected \"D Month\" (e.g. \"15 February\")";
    if (v->type != YAML_SCALAR_NODE)
        return wf__err(c, v, "%s: \"%s\": %s, got %s", what, key, expect, wf__kind(v));
    const char *s = wf__s(v), *p = s;
    int d = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 3) {
        d = d * 10 + (*p - '0');
        p++;
        digits++;
    }
    const char *sp = p;
    while (*p == ' ')
        p++;
    int m = (digits && digits <= 2 && p != sp) ? cal_month_from_name(p) : 0;
    if (!m)
        return wf__err(c, v, "%s: \"%s\": %s, got \"%s\"", what, key, expect, s);
    if (!cal_valid_ymd(2024, m, d))
        return wf__err(c, v, "%s: \"%s\": no such day: \"%s\"", what, key, s);
    due->month = m;
    due->day = d;
    return 0;
}

static int wf__parse_due(wf__ctx *c, const yaml_node_t *spec, const yaml_node_t *key_node,
                         const char *what, wf_due *due)
{
    static const struct {
        const char *key;
        wf_due_kind kind;
    } rules[] = {
        {"within", WF_DUE_WITHIN},
        {"beginning_with", WF_DUE_BEGINNING_WITH},
        {"before", WF_DUE_BEFORE},
        {"day_of_year", WF_DUE_DAY_OF_YEAR},
        {"last_day_before", WF_DUE_LAST_DAY_BEFORE},
    };
    const char *found = NULL;
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        yaml_node_t *v = wf__get(c, spec, rules[i].key);
        if (!v)
            continue;
        if (found)
            return wf__err(c, wf__key_of(c, spec, v),
                           "%s: both \"%s\" and \"%s\": give exactly one due rule", what, found,
                           rules[i].key);
        found = rules[i].key;
        due->kind = rules[i].kind;
        int rc = (rules[i].kind == WF_DUE_DAY_OF_YEAR || rules[i].kind == WF_DUE_LAST_DAY_BEFORE)
                     ? wf__parse_day_of_year(c, v, what, rules[i].key, due)
                     : wf__parse_count(c, v, what, rules[i].key, due);
        if (rc < 0)
            return -1;
    }
    if (!found)
        return wf__err(c, key_node,
                       "%s: missing a due rule (one of: within, beginning_with, before, "
                       "day_of_year, last_day_before)",
                       what);
    return 0;
}

/*
 * Scan the "{attr}" placeholders of a deadline's name or title: -1 when the
 * braces are unbalanced or empty; else 0, with the number of occurrences in
 * *count, whether they all name the same attribute in *same, and the first
 * one's text in ph.
 */
static int wf__placeholders(const char *s, char *ph, size_t phsize, int *count, bool *same)
{
    *count = 0;
    *same = true;
    ph[0] = '\0';
    for (const char *p = s; *p; p++) {
        if (*p == '}')
            return -1;
        if (*p != '{')
            continue;
        const char *end = strchr(p + 1, '}');
        size_t len = end ? (size_t)(end - p - 1) : 0;
        if (!end || len == 0 || memchr(p + 1, '{', len))
            return -1;
        if (*count == 0) {
            size_t keep = len < phsize ? len : phsize - 1;
            memcpy(ph, p + 1, keep);
            ph[keep] = '\0';
        } else if (strlen(ph) != len || strncmp(ph, p + 1, len) != 0) {
            *same = false;
        }
        (*count)++;
        p = end;
    }
    return 0;
}

static int wf__check_name(wf__ctx *c, const yaml_node_t *where, const char *what, wf_deadline *d)
{
    char ph[64];
    int count;
    bool same;
    if (wf__placeholders(d->name, ph, sizeof ph, &count, &same) < 0)
        return wf__err(c, where, "%s: name \"%s\": unbalanced or empty \"{...}\" placeholder", what,
                       d->name);
    if (count > 1)
        return wf__err(c, where, "%s: name \"%s\": more than one placeholder", what, d->name);
    if (count == 1 && !d->per)
        return wf__err(c, where, "%s: name \"%s\": placeholder \"{%s}\" needs \"per: %s\"", what,
                       d->name, ph, ph);
    if (count == 1 && strcmp(ph, d->per) != 0)
        return wf__err(c, where,
                       "%s: name \"%s\": placeholder \"{%s}\" must be the per attribute \"{%s}\"",
                       what, d->name, ph, d->per);
    if (count == 0 && d->per)
        return wf__err(c, where,
                       "%s: name \"%s\": with \"per: %s\" the name must hold \"{%s}\" so each "
                       "deadline has its own name",
                       what, d->name, d->per, d->per);
    /* The literal parts must make an identifier once the value is filled in. */
    char probe[256];
    size_t j = 0;
    for (const char *p = d->name; *p && j + 2 < sizeof probe; p++) {
        if (*p == '{') {
            probe[j++] = 'x';
            p = strchr(p, '}');
        } else {
            probe[j++] = *p;
        }
    }
    probe[j] = '\0';
    if (!wf__ident_ok(probe))
        return wf__err(c, where, "%s: invalid deadline name \"%s\" (expected [a-z][a-z0-9_]*)",
                       what, d->name);
    return 0;
}

static int wf__check_title(wf__ctx *c, const yaml_node_t *where, const char *what,
                           const wf_deadline *d)
{
    char ph[64];
    int count;
    bool same;
    if (wf__placeholders(d->title, ph, sizeof ph, &count, &same) < 0)
        return wf__err(c, where, "%s: title \"%s\": unbalanced or empty \"{...}\" placeholder",
                       what, d->title);
    if (count > 0 && !d->per)
        return wf__err(c, where, "%s: title \"%s\": placeholder \"{%s}\" needs \"per: %s\"", what,
                       d->title, ph, ph);
    if (count > 0 && (!same || strcmp(ph, d->per) != 0))
        return wf__err(c, where, "%s: title \"%s\": the only placeholder allowed is \"{%s}\"", what,
                       d->title, d->per);
    return 0;
}

static int wf__parse_anchor(wf__ctx *c, const yaml_node_t *k, const yaml_node_t *spec,
                            const char *what, wf_deadline *d)
{
    static const char *const keys[] = {"event", "when", "attribute", "use", "any_of", NULL};
    static const char expect[] = "expected start, {event: NAME, when: {...}}, {any_of: [...]} or "
                                 "{attribute: NAME}";
    yaml_node_t *v = wf__get(c, spec, "from");
    char w[200];
    snprintf(w, sizeof w, "%s: \"from\"", what);
    if (!v)
        return wf__err(c, k, "%s: missing \"from\"", what);
    if (v->type == YAML_SCALAR_NODE) {
        if (strcmp(wf__s(v), "start") != 0)
            return wf__err(c, v, "%s: %s, got \"%s\"", w, expect, wf__s(v));
        d->anchor_kind = WF_ANCHOR_START;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return wf__err(c, v, "%s: %s, got %s", w, expect, wf__kind(v));
    if (wf__check_keys(c, v, w, keys) < 0)
        return -1;
    yaml_node_t *attr = wf__get(c, v, "attribute");
    yaml_node_t *use = wf__get(c, v, "use");
    if (wf__get(c, v, "any_of")) {
        /* {any_of: [a, {event: b, when: {...}}], use: latest}: any of several decisions. */
        if (wf__get(c, v, "event") || wf__get(c, v, "when") || attr)
            return wf__err(c, v,
                           "%s: \"any_of\" cannot be combined with \"event\", \"when\" or "
                           "\"attribute\"",
                           w);
        if (use) {
            if (use->type != YAML_SCALAR_NODE ||
                (strcmp(wf__s(use), "latest") && strcmp(wf__s(use), "first")))
                return wf__err(c, use, "%s: \"use\": expected first or latest", w);
            d->anchor_latest = !strcmp(wf__s(use), "latest");
        }
        if (wf__parse_matches(c, v, "any_of", w, &d->anchor_any, &d->nanchor_any) < 0)
            return -1;
        if (d->nanchor_any == 0)
            return wf__err(c, v, "%s: \"any_of\": needs at least one event", w);
        d->anchor_kind = WF_ANCHOR_EVENT;
        d->anchor = d->anchor_any[0];
        return 0;
    }
    if (wf__get(c, v, "event")) {
        /* {event: x, attribute: date, use: latest}: a date the event carries, e.g. a meeting's. */
        d->anchor_kind = WF_ANCHOR_EVENT;
        wf_match m;
        if (use) {
            if (use->type != YAML_SCALAR_NODE ||
                (strcmp(wf__s(use), "latest") && strcmp(wf__s(use), "first")))
                return wf__err(c, use, "%s: \"use\": expected first or latest", w);
            d->anchor_latest = !strcmp(wf__s(use), "latest");
        }
        memset(&m, 0, sizeof m);
        m.line = wf__line(v);
        yaml_node_t *name = wf__get(c, v, "event");
        if (!name)
            return wf__err(c, v, "%s: missing \"event\"", w);
        if (name->type != YAML_SCALAR_NODE)
            return wf__err(c, name, "%s: \"event\": expected an event name, got %s", w,
                           wf__kind(name));
        const wf_event *ev = wf_find_event(c->wf, wf__s(name));
        if (!ev)
            return wf__err(c, name, "%s: unknown event \"%s\"", w, wf__s(name));
        m.event = ev->name;
        yaml_node_t *when = wf__get(c, v, "when");
        if (when && wf__parse_when(c, when, w, ev, &m.when, &m.nwhen) < 0)
            return -1;
        d->anchor = m;
        if (attr) {
            if (attr->type != YAML_SCALAR_NODE)
                return wf__err(c, attr, "%s: \"attribute\": expected a string, got %s", w,
                               wf__kind(attr));
            const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, wf__s(attr));
            if (!a)
                return wf__err(c, attr, "%s: \"%s\" is not an attribute of event \"%s\"", w,
                               wf__s(attr), ev->name);
            if (!a->is_date || !a->required)
                return wf__err(c, attr,
                               "%s: attribute \"%s\" of event \"%s\" must be \"type: date\" "
                               "and \"required: true\"",
                               w, a->name, ev->name);
            d->anchor_event_attr = a->name;
        }
        return 0;
    }
    if (use)
        return wf__err(c, use, "%s: \"use\" goes with \"event\"", w);
    if (!attr)
        return wf__err(c, v, "%s: missing \"event\"", w);
    if (attr) {
        if (wf__get(c, v, "when"))
            return wf__err(c, v, "%s: \"attribute\" cannot be combined with \"event\" or \"when\"",
                           w);
        if (attr->type != YAML_SCALAR_NODE)
            return wf__err(c, attr, "%s: \"attribute\": expected a string, got %s", w,
                           wf__kind(attr));
        const wf_attr *a = wf_find_attr(c->wf->attrs, c->wf->nattrs, wf__s(attr));
        if (!a)
            return wf__err(c, attr, "%s: \"%s\" is not a start attribute", w, wf__s(attr));
        if (!a->is_date)
            return wf__err(c, attr, "%s: start attribute \"%s\" is not \"type: date\"", w, a->name);
        d->anchor_kind = WF_ANCHOR_ATTRIBUTE;
        d->anchor_attr = a->name;
        return 0;
    }
    return wf__err(c, v, "%s: %s", w, expect);
}

/*
 * "if: {transfer: secondary_to_post16}" or "unless: {transfer: [a, b]}":
 * conditions on the process's start attributes, each naming allowed values.
 */
static int wf__parse_conds(wf__ctx *c, const yaml_node_t *spec, const char *key, const char *what,
                           wf_cond **out, size_t *nout)
{
    yaml_node_t *v = wf__get(c, spec, key);
    *out = NULL;
    *nout = 0;
    if (!v)
        return 0;
    char w[200];
    snprintf(w, sizeof w, "%s: \"%s\"", what, key);
    if (wf__want_map(c, v, w) < 0 || wf__check_keys(c, v, w, NULL) < 0)
        return -1;
    size_t n = wf__map_len(v);
    if (n == 0)
        return wf__err(c, v, "%s: must name at least one start attribute", w);
    wf_cond *conds = wf__alloc(c, n * sizeof *conds);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *val = wf__pair_value(c, v, i);
        const wf_attr *a = wf_find_attr(c->wf->attrs, c->wf->nattrs, wf__s(k));
        if (!a)
            return wf__err(c, k, "%s: \"%s\" is not a start attribute", w, wf__s(k));
        conds[i].attr = a->name;
        if (val->type == YAML_SCALAR_NODE) {
            conds[i].values = wf__alloc(c, sizeof *conds[i].values);
            conds[i].values[0] = wf__strdup(c, wf__s(val));
            conds[i].nvalues = 1;
        } else if (wf__str_list(c, val, w, a->name, &conds[i].values, &conds[i].nvalues, NULL) <
                   0) {
            return -1;
        }
        for (size_t j = 0; j < conds[i].nvalues; j++)
            if (!wf__attr_allows(a, conds[i].values[j])) {
                char list[256];
                wf__values_list(a, list, sizeof list);
                return wf__err(c, val, "%s: %s \"%s\" is not one of: %s", w, a->name,
                               conds[i].values[j], list);
            }
    }
    *out = conds;
    *nout = n;
    return 0;
}

/*
 * Whether reason is a value of the "reason" attribute of some "exception:
 * start" event; *any_start says whether there is such an event at all, and
 * list gets their reasons for the message.
 */
static bool wf__is_reason(const wf_workflow *wf, const char *reason, bool *any_start, char *list,
                          size_t size)
{
    bool found = false;
    size_t used = 0;
    *any_start = false;
    list[0] = '\0';
    for (size_t i = 0; i < wf->nevents; i++) {
        const wf_event *ev = &wf->events[i];
        if (ev->exception != WF_EXC_START)
            continue;
        *any_start = true;
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, "reason");
        if (a && wf__attr_allows(a, reason))
            found = true;
        for (size_t v = 0; a && v < a->nvalues; v++) {
            bool seen = false; /* listed already by an earlier exception event */
            for (size_t j = 0; j < i && !seen; j++) {
                const wf_event *prev = &wf->events[j];
                const wf_attr *pa = wf_find_attr(prev->attrs, prev->nattrs, "reason");
                seen = prev->exception == WF_EXC_START && pa && pa->nvalues &&
                       wf__attr_allows(pa, a->values[v]);
            }
            if (seen)
                continue;
            int w = snprintf(list + used, size - used, "%s%s", used ? ", " : "", a->values[v]);
            if (w < 0 || (size_t)w >= size - used)
                break;
            used += (size_t)w;
        }
    }
    return found;
}

static void wf__default_label(wf__ctx *c, wf_deadline *d);
static int wf__parse_or_later(wf__ctx *c, const yaml_node_t *k, const yaml_node_t *v,
                              const char *what, wf_deadline *d);

static int wf__parse_deadline(wf__ctx *c, const yaml_node_t *k, const yaml_node_t *spec,
                              wf_deadline *d)
{
    static const char *const keys[] = {"name",
                                       "title",
                                       "from",
                                       "per",
                                       "within",
                                       "beginning_with",
                                       "before",
                                       "day_of_year",
                                       "last_day_before",
                                       "kind",
                                       "met_by",
                                       "cancelled_by",
                                       "excused_by",
                                       "basis",
                                       "anchor_label",
                                       "if",
                                       "unless",
                                       "shorter_under_5",
                                       "tribunal_closures",
                                       "or_later",
                                       NULL};
    char what[120];
    d->key = wf__strdup(c, wf__s(k));
    d->line = wf__line(k);
    snprintf(what, sizeof what, "deadline \"%s\"", d->key);
    if (wf__want_map(c, spec, what) < 0 || wf__check_keys(c, spec, what, keys) < 0)
        return -1;
    if (wf__get_str(c, spec, "name", what, false, &d->name) < 0 ||
        wf__get_str(c, spec, "title", what, false, &d->title) < 0 ||
        wf__get_str(c, spec, "anchor_label", what, false, &d->anchor_label) < 0 ||
        wf__get_str(c, spec, "basis", what, false, &d->basis) < 0 ||
        wf__get_str(c, spec, "per", what, false, &d->per) < 0)
        return -1;
    if (!d->basis)
        return wf__err(c, k, "%s: missing \"basis\" (the legal basis of the deadline)", what);
    if (wf__parse_anchor(c, k, spec, what, d) < 0)
        return -1;
    if (d->per) {
        yaml_node_t *pv = wf__get(c, spec, "per");
        if (d->anchor_kind != WF_ANCHOR_EVENT)
            return wf__err(c, pv, "%s: \"per\" needs an event anchor (\"from: {event: ...}\")",
                           what);
        const wf_event *ev = wf_find_event(c->wf, d->anchor.event);
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, d->per);
        if (!a)
            return wf__err(c, pv, "%s: \"per\": \"%s\" is not an attribute of event \"%s\"", what,
                           d->per, ev->name);
        d->per = a->name;
        /* An anchor event without the value would start no deadline at all. */
        if (!a->required)
            return wf__err(c, pv,
                           "%s: \"per\": attribute \"%s\" of event \"%s\" must be \"required: "
                           "true\"",
                           what, d->per, ev->name);
        /* One deadline per value needs a closed list of values (and of names). */
        if (!a->nvalues)
            return wf__err(c, pv,
                           "%s: \"per\": attribute \"%s\" of event \"%s\" must list its "
                           "\"values\"",
                           what, d->per, ev->name);
    }
    if (!d->name)
        d->name = d->key;
    if (!d->title)
        d->title = d->name;
    yaml_node_t *nv = wf__get(c, spec, "name");
    if (wf__check_name(c, nv ? nv : k, what, d) < 0)
        return -1;
    yaml_node_t *tv = wf__get(c, spec, "title");
    if (wf__check_title(c, tv ? tv : k, what, d) < 0)
        return -1;
    if (wf__parse_due(c, spec, k, what, &d->due) < 0)
        return -1;
    if (d->due.kind != WF_DUE_DAY_OF_YEAR && d->due.kind != WF_DUE_LAST_DAY_BEFORE &&
        d->due.unit == CAL_WORKING_DAYS)
        c->wf->uses_calendar = true;
    if (wf__parse_conds(c, spec, "if", what, &d->if_conds, &d->nif_conds) < 0 ||
        wf__parse_conds(c, spec, "unless", what, &d->unless_conds, &d->nunless_conds) < 0 ||
        wf__get_bool(c, spec, "shorter_under_5", what, &d->under_5) < 0 ||
        wf__get_bool(c, spec, "tribunal_closures", what, &d->tribunal_closures) < 0)
        return -1;
    if (d->under_5 && (d->due.kind != WF_DUE_BEGINNING_WITH && d->due.kind != WF_DUE_WITHIN))
        return wf__err(c, wf__get(c, spec, "shorter_under_5"),
                       "%s: \"shorter_under_5\" needs a \"within\" or \"beginning_with\" rule",
                       what);
    if (d->tribunal_closures)
        c->wf->uses_calendar = true;
    const char *kind;
    if (wf__get_str(c, spec, "kind", what, false, &kind) < 0)
        return -1;
    if (kind && !strcmp(kind, "period"))
        d->kind = WF_DEADLINE_PERIOD;
    else if (kind && strcmp(kind, "duty") != 0)
        return wf__err(c, wf__get(c, spec, "kind"),
                       "%s: \"kind\": expected duty or period, got \"%s\"", what, kind);
    if (wf__parse_matches(c, spec, "met_by", what, &d->met_by, &d->nmet_by) < 0 ||
        wf__parse_matches(c, spec, "cancelled_by", what, &d->cancelled_by, &d->ncancelled_by) < 0)
        return -1;
    if (d->per) {
        /* A per-deadline is met only by an event carrying the same value. */
        for (size_t i = 0; i < d->nmet_by; i++) {
            const wf_event *ev = wf_find_event(c->wf, d->met_by[i].event);
            if (!wf_find_attr(ev->attrs, ev->nattrs, d->per))
                return wf__err_line(c->err, c->file, d->met_by[i].line,
                                    "%s: \"met_by\": event \"%s\" has no \"%s\" attribute to "
                                    "match \"per: %s\"",
                                    what, ev->name, d->per, d->per);
        }
    }
    yaml_node_t *ex = wf__get(c, spec, "excused_by");
    if (ex) {
        if (wf__str_list(c, ex, what, "excused_by", &d->excused_by, &d->nexcused_by, NULL) < 0)
            return -1;
        for (size_t i = 0; i < d->nexcused_by; i++) {
            bool any_start;
            char list[256];
            if (!wf__is_reason(c->wf, d->excused_by[i], &any_start, list, sizeof list))
                return wf__err(c, wf__seq_item(c, ex, i),
                               "%s: \"excused_by\": \"%s\" is not a reason of any \"exception: "
                               "start\" event (%s%s)",
                               what, d->excused_by[i],
                               any_start ? "expected one of: " : "this workflow has none", list);
        }
    }
    yaml_node_t *ol = wf__get(c, spec, "or_later");
    if (ol && wf__parse_or_later(c, k, ol, what, d) < 0)
        return -1;
    wf__default_label(c, d);
    return 0;
}

/* The explanation words for a deadline's anchor when "anchor_label" is not given. With
 * "any_of", none: the engine names the event that started the clock. */
static void wf__default_label(wf__ctx *c, wf_deadline *d)
{
    if (d->anchor_label || d->nanchor_any)
        return;
    if (d->anchor_kind == WF_ANCHOR_START)
        d->anchor_label = c->wf->start_label;
    else if (d->anchor_kind == WF_ANCHOR_EVENT)
        d->anchor_label = wf_find_event(c->wf, d->anchor.event)->title;
    else
        d->anchor_label = d->anchor_attr;
}

/*
 * "or_later: {from: ..., within: N unit}" (or beginning_with): a second clock;
 * the deadline falls due on the later of the two dates.
 */
static int wf__parse_or_later(wf__ctx *c, const yaml_node_t *k, const yaml_node_t *v,
                              const char *what, wf_deadline *d)
{
    static const char *const keys[] = {"from", "within", "beginning_with", "anchor_label", NULL};
    char w[200];
    snprintf(w, sizeof w, "%s: \"or_later\"", what);
    if (wf__want_map(c, v, w) < 0 || wf__check_keys(c, v, w, keys) < 0)
        return -1;
    wf_deadline *o = wf__alloc(c, sizeof *o);
    memset(o, 0, sizeof *o);
    o->key = d->key;
    o->line = wf__line(v);
    if (wf__get_str(c, v, "anchor_label", w, false, &o->anchor_label) < 0 ||
        wf__parse_anchor(c, k, v, w, o) < 0 || wf__parse_due(c, v, k, w, &o->due) < 0)
        return -1;
    if (o->due.unit == CAL_WORKING_DAYS)
        c->wf->uses_calendar = true;
    wf__default_label(c, o);
    d->or_later = o;
    return 0;
}

/*
 * With "per", one deadline name stands for many ("advice_{from}" is
 * advice_health, advice_education...). A fixed name elsewhere that one of them
 * could take would make the name ambiguous in every command that takes one.
 */
static bool wf__template_covers(const wf_workflow *wf, const wf_deadline *t, const char *name)
{
    const char *open = strchr(t->name, '{'), *close = strchr(t->name, '}');
    size_t pre = (size_t)(open - t->name), post = strlen(close + 1), n = strlen(name);
    if (n <= pre + post || strncmp(name, t->name, pre) != 0 || strcmp(name + n - post, close + 1))
        return false;
    const wf_event *ev = wf_find_event(wf, t->anchor.event);
    const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, t->per);
    if (!a->nvalues)
        return true;
    for (size_t i = 0; i < a->nvalues; i++)
        if (strlen(a->values[i]) == n - pre - post &&
            !strncmp(a->values[i], name + pre, n - pre - post))
            return true;
    return false;
}

static int wf__parse_deadlines(wf__ctx *c, const yaml_node_t *top)
{
    yaml_node_t *v = wf__get(c, top, "deadlines");
    if (!v || wf__is_null(v))
        return 0;
    if (wf__want_map(c, v, "\"deadlines\"") < 0 ||
        wf__check_idents(c, v, "\"deadlines\"", "deadline") < 0)
        return -1;
    size_t n = wf__map_len(v);
    wf_deadline *ds = wf__alloc(c, (n ? n : 1) * sizeof *ds);
    for (size_t i = 0; i < n; i++) {
        if (wf__parse_deadline(c, wf__pair_key(c, v, i), wf__pair_value(c, v, i), &ds[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            /* Variants of one deadline chosen by start attributes ("if:") may share a name. */
            bool variants = (ds[i].nif_conds || ds[i].nunless_conds) &&
                            (ds[j].nif_conds || ds[j].nunless_conds) && !ds[i].per && !ds[j].per;
            if (!strcmp(ds[i].name, ds[j].name) && !variants)
                return wf__err_line(c->err, c->file, ds[i].line,
                                    "deadline \"%s\": name \"%s\" is also the name of deadline "
                                    "\"%s\" (line %d)",
                                    ds[i].key, ds[i].name, ds[j].key, ds[j].line);
        }
    }
    c->wf->deadlines = ds;
    c->wf->ndeadlines = n;
    for (size_t i = 0; i < n; i++) {
        if (!ds[i].per)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (ds[j].per || !wf__template_covers(c->wf, &ds[i], ds[j].name))
                continue;
            const wf_deadline *later = i > j ? &ds[i] : &ds[j], *earlier = i > j ? &ds[j] : &ds[i];
            return wf__err_line(c->err, c->file, later->line,
                                "deadline \"%s\": name \"%s\" clashes with \"%s\" of deadline "
                                "\"%s\" (line %d)",
                                later->key, later->name, earlier->name, earlier->key,
                                earlier->line);
        }
    }
    /* A duty nothing can meet would only ever be overdue. */
    for (size_t i = 0; i < n; i++)
        if (ds[i].kind == WF_DEADLINE_DUTY && ds[i].nmet_by == 0)
            return wf__err_line(c->err, c->file, ds[i].line,
                                "deadline \"%s\": a duty needs \"met_by\" (the events that meet "
                                "it); a period that only has to run is \"kind: period\"",
                                ds[i].key);
    return 0;
}

/* ---- Flags and migrations -------------------------------------------- */

bool wf_has_deadline_name(const wf_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->ndeadlines; i++) {
        const wf_deadline *d = &wf->deadlines[i];
        if (d->per ? wf__template_covers(wf, d, name) : !strcmp(d->name, name))
            return true;
    }
    return false;
}

static int wf__parse_flags(wf__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"title", "from_school_year", "judged_on", "basis", NULL};
    yaml_node_t *v = wf__get(c, top, "flags");
    if (!v || wf__is_null(v))
        return 0;
    if (wf__want_map(c, v, "\"flags\"") < 0 || wf__check_idents(c, v, "\"flags\"", "flag") < 0)
        return -1;
    size_t n = wf__map_len(v);
    wf_flag *fs = wf__alloc(c, (n ? n : 1) * sizeof *fs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = wf__pair_key(c, v, i), *spec = wf__pair_value(c, v, i);
        wf_flag *f = &fs[i];
        char what[120];
        f->name = wf__strdup(c, wf__s(k));
        f->line = wf__line(k);
        snprintf(what, sizeof what, "flag \"%s\"", f->name);
        const char *year;
        if (wf__want_map(c, spec, what) < 0 || wf__check_keys(c, spec, what, keys) < 0 ||
            wf__get_str(c, spec, "title", what, false, &f->title) < 0 ||
            wf__get_str(c, spec, "judged_on", what, true, &f->deadline) < 0 ||
            wf__get_str(c, spec, "basis", what, true, &f->basis) < 0 ||
            wf__get_str(c, spec, "from_school_year", what, true, &year) < 0)
            return -1;
        size_t len = strlen(year);
        if (len > 2 || strspn(year, "0123456789") != len || atoi(year) > 13)
            return wf__err(c, wf__get(c, spec, "from_school_year"),
                           "%s: \"from_school_year\": expected 0 (Reception) to 13, got \"%s\"",
                           what, year);
        f->from_school_year = atoi(year);
        if (!f->title)
            f->title = f->name;
        bool found = false;
        for (size_t j = 0; j < c->wf->ndeadlines && !found; j++)
            found = !c->wf->deadlines[j].per && !strcmp(c->wf->deadlines[j].name, f->deadline);
        if (!found)
            return wf__err(c, wf__get(c, spec, "judged_on"),
                           "%s: \"judged_on\": no deadline called \"%s\"", what, f->deadline);
    }
    c->wf->flags = fs;
    c->wf->nflags = n;
    return 0;
}

/*
 * "migrate: {states: {old: new}, events: {old: new}, deadlines: {old: new |
 * drop}}": what running processes of an earlier version carry over to. The
 * daemon refuses to start when a running process is in a state, has an event
 * or an open deadline that this version neither has nor maps.
 */
static int wf__parse_migrate(wf__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"states", "events", "deadlines", NULL};
    static const wf_rename_kind kinds[] = {WF_RENAME_STATE, WF_RENAME_EVENT, WF_RENAME_DEADLINE};
    yaml_node_t *v = wf__get(c, top, "migrate");
    if (!v || wf__is_null(v))
        return 0;
    if (wf__want_map(c, v, "\"migrate\"") < 0 || wf__check_keys(c, v, "\"migrate\"", keys) < 0)
        return -1;
    size_t total = 0;
    for (size_t k = 0; k < 3; k++) {
        yaml_node_t *m = wf__get(c, v, keys[k]);
        if (m) {
            char w[60];
            snprintf(w, sizeof w, "\"migrate\": \"%s\"", keys[k]);
            if (wf__want_map(c, m, w) < 0 || wf__check_idents(c, m, w, "old") < 0)
                return -1;
            total += wf__map_len(m);
        }
    }
    wf_rename *rs = wf__alloc(c, (total ? total : 1) * sizeof *rs);
    size_t n = 0;
    for (size_t k = 0; k < 3; k++) {
        yaml_node_t *m = wf__get(c, v, keys[k]);
        for (size_t i = 0; m && i < wf__map_len(m); i++) {
            yaml_node_t *from = wf__pair_key(c, m, i), *to = wf__pair_value(c, m, i);
            wf_rename *r = &rs[n++];
            r->kind = kinds[k];
            r->from = wf__strdup(c, wf__s(from));
            r->line = wf__line(from);
            if (to->type != YAML_SCALAR_NODE)
                return wf__err(c, to, "\"migrate\": \"%s\": %s: expected a name, got %s", keys[k],
                               r->from, wf__kind(to));
            const char *t = wf__s(to);
            if (!strcmp(t, "drop") && r->kind == WF_RENAME_DEADLINE)
                continue; /* to stays NULL */
            bool ok = r->kind == WF_RENAME_STATE   ? wf_find_state(c->wf, t) != NULL
                      : r->kind == WF_RENAME_EVENT ? wf_find_event(c->wf, t) != NULL
                                                   : wf_has_deadline_name(c->wf, t);
            if (!ok)
                return wf__err(c, to,
                               "\"migrate\": \"%s\": %s: \"%s\" is not a %s of this version%s",
                               keys[k], r->from, t,
                               r->kind == WF_RENAME_STATE   ? "state"
                               : r->kind == WF_RENAME_EVENT ? "event"
                                                            : "deadline",
                               r->kind == WF_RENAME_DEADLINE ? " (or \"drop\")" : "");
            r->to = wf__strdup(c, t);
        }
    }
    c->wf->renames = rs;
    c->wf->nrenames = n;
    return 0;
}

const wf_rename *wf_find_rename(const wf_workflow *wf, wf_rename_kind kind, const char *from)
{
    for (size_t i = 0; i < wf->nrenames; i++)
        if (wf->renames[i].kind == kind && !strcmp(wf->renames[i].from, from))
            return &wf->renames[i];
    return NULL;
}

/* ---- Top level --------------------------------------------------------- */

static int wf__parse_top(wf__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"workflow", "version",   "title", "start",   "states",
                                       "events",   "deadlines", "flags", "migrate", NULL};
    static const char *const start_keys[] = {"label", "attributes", NULL};
    wf_workflow *wf = c->wf;
    if (top->type != YAML_MAPPING_NODE)
        return wf__err(c, top, "expected a mapping at the top level, got %s", wf__kind(top));
    if (wf__check_keys(c, top, "top level", keys) < 0)
        return -1;

    if (wf__get_str(c, top, "workflow", "top level", true, &wf->name) < 0)
        return -1;
    yaml_node_t *v = wf__get(c, top, "workflow");
    c->arena->name_line = wf__line(v);
    if (!wf__wfname_ok(wf->name))
        return wf__err(c, v, "\"workflow\": invalid name \"%s\" (expected [a-z0-9-]+)", wf->name);

    v = wf__get(c, top, "version");
    if (!v)
        return wf__err(c, top, "top level: missing \"version\"");
    const char *s = v->type == YAML_SCALAR_NODE ? wf__s(v) : "";
    size_t len = strlen(s);
    bool ok = len > 0 && len <= 9 && s[0] != '0' && strspn(s, "0123456789") == len;
    if (!ok)
        return wf__err(c, v, "\"version\": expected a positive integer, got %s%s%s",
                       v->type == YAML_SCALAR_NODE ? "\"" : "",
                       v->type == YAML_SCALAR_NODE ? s : wf__kind(v),
                       v->type == YAML_SCALAR_NODE ? "\"" : "");
    wf->version = atoi(s);

    if (wf__get_str(c, top, "title", "top level", false, &wf->title) < 0)
        return -1;
    if (!wf->title)
        wf->title = wf->name;

    v = wf__get(c, top, "start");
    if (v && !wf__is_null(v)) {
        if (wf__want_map(c, v, "\"start\"") < 0 ||
            wf__check_keys(c, v, "\"start\"", start_keys) < 0 ||
            wf__get_str(c, v, "label", "\"start\"", false, &wf->start_label) < 0)
            return -1;
        yaml_node_t *attrs = wf__get(c, v, "attributes");
        if (attrs && wf__parse_attrs(c, attrs, "\"start\"", &wf->attrs, &wf->nattrs) < 0)
            return -1;
    }
    if (!wf->start_label)
        wf->start_label = "start";

    if (wf__parse_states(c, top) < 0 || wf__parse_events(c, top) < 0 ||
        wf__parse_deadlines(c, top) < 0 || wf__parse_flags(c, top) < 0 ||
        wf__parse_migrate(c, top) < 0)
        return -1;
    /* "refused_while_open" names deadlines, which come after the events. */
    for (size_t i = 0; i < wf->nevents; i++)
        for (size_t j = 0; j < wf->events[i].nrefused_while_open; j++)
            if (!wf_has_deadline_name(wf, wf->events[i].refused_while_open[j]))
                return wf__err_line(c->err, c->file, wf->events[i].line,
                                    "event \"%s\": \"refused_while_open\": no deadline is called "
                                    "\"%s\"",
                                    wf->events[i].name, wf->events[i].refused_while_open[j]);
    return 0;
}

/* 1-based line of byte offset off in the input (reader errors carry only an offset). */
static int wf__line_of_offset(const char *text, size_t len, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && i < len; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

static int wf__yaml_error(wf__ctx *c, const yaml_parser_t *p)
{
    int line = p->error == YAML_READER_ERROR
                   ? wf__line_of_offset(c->text, c->len, p->problem_offset)
                   : (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "unknown error";
    if (p->context)
        return wf__err_line(c->err, c->file, line, "YAML syntax error: %s %s started at line %d",
                            problem, p->context, (int)p->context_mark.line + 1);
    return wf__err_line(c->err, c->file, line, "YAML syntax error: %s", problem);
}

int wf_load_string(const char *name, const char *yaml, size_t len, wf_workflow **out,
                   char err[WF_ERR_LEN])
{
    wf__ctx c = {.file = name, .text = yaml, .len = len, .err = err};
    yaml_parser_t parser;
    *out = NULL;
    err[0] = '\0';
    if (!yaml_parser_initialize(&parser))
        return wf__err_line(err, name, 1, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &c.doc)) {
        wf__yaml_error(&c, &parser);
        yaml_parser_delete(&parser);
        return -1;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&c.doc);
    if (!root) {
        rc = wf__err_line(err, name, 1, "empty document: expected a workflow mapping");
    } else {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = wf__yaml_error(&c, &parser);
        } else {
            yaml_node_t *extra = yaml_document_get_root_node(&next);
            if (extra)
                rc = wf__err(&c, extra, "a second YAML document: one workflow per file");
            yaml_document_delete(&next);
        }
    }
    yaml_parser_delete(&parser);

    if (rc == 0) {
        c.wf = xcalloc(1, sizeof *c.wf);
        c.arena = xcalloc(1, sizeof *c.arena);
        c.wf->arena = c.arena;
        c.wf->file = wf__strdup(&c, name);
        rc = wf__parse_top(&c, root);
        if (rc < 0)
            wf_workflow_free(c.wf);
        else
            *out = c.wf;
    }
    yaml_document_delete(&c.doc);
    return rc;
}

int wf_load_file(const char *path, wf_workflow **out, char err[WF_ERR_LEN])
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return wf__err_line(err, path, 1, "cannot open: %s", strerror(errno));
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
        return wf__err_line(err, path, 1, "cannot read: %s", strerror(saved));
    }
    int rc = wf_load_string(path, sb_str(&buf), buf.len, out, err);
    sb_free(&buf);
    return rc;
}

/* ---- Sets -------------------------------------------------------------- */

static int wf__cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool wf__is_workflow_file(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') /* as the shell's "*.yaml": hidden files are not workflows */
        return false;
    /* The service's settings, escalation policies and channels live beside the workflows. */
    if (!strcmp(name, "service.yaml") || !strcmp(name, "escalations.yaml") ||
        !strcmp(name, "channels.yaml"))
        return false;
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

int wf_load_dir(const char *dir, wf_set **out, char err[WF_ERR_LEN])
{
    *out = NULL;
    err[0] = '\0';
    DIR *d = opendir(dir);
    if (!d)
        return wf__err_line(err, dir, 1, "cannot open directory: %s", strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!wf__is_workflow_file(e->d_name))
            continue;
        /* Only regular files (or links to them): calendars/ and the like are not ours. */
        char *path = xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        bool regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!regular)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (n == 0) {
        free(names);
        return wf__err_line(err, dir, 1, "no workflow files (*.yaml, *.yml) in the directory");
    }
    qsort(names, n, sizeof *names, wf__cmp_str);
    wf_set *set = xcalloc(1, sizeof *set);
    set->items = xcalloc(n, sizeof *set->items);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char *path = xasprintf("%s/%s", dir, names[i]);
        if (rc == 0) {
            rc = wf_load_file(path, &set->items[set->n], err);
            if (rc == 0)
                set->n++;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    if (rc == 0)
        rc = wf_set_check(set, err);
    if (rc < 0) {
        wf_set_free(set);
        return -1;
    }
    *out = set;
    return 0;
}

int wf_set_check(const wf_set *set, char err[WF_ERR_LEN])
{
    for (size_t i = 0; i < set->n; i++) {
        const wf_workflow *wf = set->items[i];
        const wf__arena *a = wf->arena;
        for (size_t j = 0; j < i; j++) {
            const wf_workflow *prev = set->items[j];
            const wf__arena *pa = prev->arena;
            if (!strcmp(prev->name, wf->name))
                return wf__err_line(err, wf->file, a ? a->name_line : 1,
                                    "workflow \"%s\" is also defined in %s (line %d)", wf->name,
                                    prev->file, pa ? pa->name_line : 1);
        }
    }
    for (size_t i = 0; i < set->n; i++) {
        const wf_workflow *wf = set->items[i];
        const wf__arena *a = wf->arena;
        for (size_t e = 0; e < wf->nevents; e++) {
            const wf_event *ev = &wf->events[e];
            for (size_t s = 0; s < ev->nstarts; s++) {
                int line =
                    a && a->starts_line && a->starts_line[e] ? a->starts_line[e][s] : ev->line;
                const wf_workflow *target = wf_set_find(set, ev->starts[s]);
                if (!target)
                    return wf__err_line(err, wf->file, line,
                                        "event \"%s\": \"starts\": no workflow called \"%s\" is "
                                        "loaded",
                                        ev->name, ev->starts[s]);
                for (size_t k = 0; ev->starts_with && k < ev->nstarts_with[s]; k++) {
                    const wf_kv *kv = &ev->starts_with[s][k];
                    const wf_attr *at = wf_find_attr(target->attrs, target->nattrs, kv->key);
                    if (!at || (at->nvalues && !wf__attr_allows(at, kv->value)) ||
                        (at->is_date && cal_parse(kv->value, NULL) != 0))
                        return wf__err_line(err, wf->file, line,
                                            "event \"%s\": \"starts\": %s: %s=%s is not a start "
                                            "attribute value of workflow \"%s\"",
                                            ev->name, ev->starts[s], kv->key, kv->value,
                                            target->name);
                }
            }
        }
    }
    return 0;
}

void wf_workflow_free(wf_workflow *wf)
{
    if (!wf)
        return;
    wf__arena_free(wf->arena);
    free(wf);
}

void wf_set_free(wf_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        wf_workflow_free(set->items[i]);
    free(set->items);
    free(set);
}

/* ---- Lookups ----------------------------------------------------------- */

const wf_workflow *wf_set_find(const wf_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->items[i]->name, name))
            return set->items[i];
    return NULL;
}

const wf_event *wf_find_event(const wf_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->nevents; i++)
        if (!strcmp(wf->events[i].name, name))
            return &wf->events[i];
    return NULL;
}

const wf_state *wf_find_state(const wf_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->nstates; i++)
        if (!strcmp(wf->states[i].name, name))
            return &wf->states[i];
    return NULL;
}

const wf_state *wf_initial_state(const wf_workflow *wf)
{
    for (size_t i = 0; i < wf->nstates; i++)
        if (wf->states[i].initial)
            return &wf->states[i];
    return NULL;
}

const wf_attr *wf_find_attr(const wf_attr *attrs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(attrs[i].name, name))
            return &attrs[i];
    return NULL;
}
