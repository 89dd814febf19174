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

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yml.h"

/* Largest N accepted in "N unit": far beyond any statute, small enough for int arithmetic. */
#define WF__MAX_COUNT 9999

/*
 * What wf_workflow.arena points to: the allocations behind the tree, plus the
 * lines wf_set_check needs for its messages that the public tree has no field
 * for.
 */
typedef struct wf__arena {
    yml_arena *mem;    /* every allocation of the load */
    int name_line;     /* line of the "workflow:" value */
    int **starts_line; /* per event: the line of each "starts:" item */
} wf__arena;

/* The state of one load. */
typedef struct wf__ctx {
    yml_doc d;        /* the parsed document, its arena and the error buffer */
    wf_workflow *wf;  /* being filled */
    wf__arena *arena; /* wf->arena */
} wf__ctx;

_Static_assert(WF_ERR_LEN == YML_ERR_LEN, "one error buffer size for every loader");

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
    if (yml_check_keys(&c->d, m, what, NULL) < 0)
        return -1;
    for (size_t i = 0; i < yml_map_len(m); i++) {
        yaml_node_t *k = yml_key(&c->d, m, i);
        if (!yml_ident_ok(yml_s(k)))
            return yml_err(&c->d, k, "%s: invalid %s name \"%s\" (expected [a-z][a-z0-9_]*)", what,
                           kind, yml_s(k));
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
        return yml_err(&c->d, v, "%s: \"%s\": expected a list, got %s", what, key, yml_kind(v));
    size_t n = yml_seq_len(v);
    const char **items = yml_alloc(&c->d, (n ? n : 1) * sizeof *items);
    if (lines)
        *lines = yml_alloc(&c->d, (n ? n : 1) * sizeof **lines);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = yml_item(&c->d, v, i);
        if (it->type != YAML_SCALAR_NODE)
            return yml_err(&c->d, it, "%s: \"%s\": items must be strings, got %s", what, key,
                           yml_kind(it));
        if (!*yml_s(it))
            return yml_err(&c->d, it, "%s: \"%s\": items must not be empty", what, key);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(items[j], yml_s(it)))
                return yml_err(&c->d, it, "%s: \"%s\": \"%s\" is listed twice", what, key,
                               items[j]);
        items[i] = yml_strdup(&c->d, yml_s(it));
        if (lines)
            (*lines)[i] = yml_line(it);
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
    if (yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, what) < 0 || wf__check_idents(c, v, what, "attribute") < 0)
        return -1;
    size_t n = yml_map_len(v);
    wf_attr *attrs = yml_alloc(&c->d, (n ? n : 1) * sizeof *attrs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *spec = yml_value(&c->d, v, i);
        wf_attr *a = &attrs[i];
        a->name = yml_strdup(&c->d, yml_s(k));
        a->line = yml_line(k);
        snprintf(what, sizeof what, "%s: attribute \"%s\"", owner, a->name);
        if (yml_is_null(spec))
            continue;
        if (yml_want_map(&c->d, spec, what) < 0 || yml_check_keys(&c->d, spec, what, keys) < 0 ||
            yml_get_bool(&c->d, spec, "required", what, &a->required) < 0)
            return -1;
        const char *type;
        if (yml_get_str(&c->d, spec, "type", what, false, &type) < 0)
            return -1;
        if (type && !strcmp(type, "date"))
            a->is_date = true;
        else if (type && strcmp(type, "string") != 0)
            return yml_err(&c->d, yml_get(&c->d, spec, "type"),
                           "%s: \"type\": expected date or string, got \"%s\"", what, type);
        yaml_node_t *vals = yml_get(&c->d, spec, "values");
        if (vals) {
            if (wf__str_list(c, vals, what, "values", &a->values, &a->nvalues, NULL) < 0)
                return -1;
            if (a->nvalues == 0)
                return yml_err(&c->d, vals, "%s: \"values\": must list at least one value", what);
            if (a->is_date)
                return yml_err(&c->d, vals, "%s: \"values\": not allowed with \"type: date\"",
                               what);
        }
        yaml_node_t *dv = yml_get(&c->d, spec, "default");
        if (dv) {
            char dw[240];
            snprintf(dw, sizeof dw, "%s: \"default\"", what);
            if (strcmp(owner, "\"start\"") != 0)
                return yml_err(&c->d, dv, "%s: only start attributes can have a default", dw);
            if (!a->is_date)
                return yml_err(&c->d, dv, "%s: needs \"type: date\"", dw);
            if (a->required)
                return yml_err(&c->d, dv, "%s: a required attribute cannot have a default", dw);
            if (yml_want_map(&c->d, dv, dw) < 0 ||
                yml_check_keys(&c->d, dv, dw, default_keys) < 0 ||
                yml_get_str(&c->d, dv, "school_year_of", dw, true, &a->school_year_of) < 0)
                return -1;
        }
    }
    /* The attribute a default reads must exist and name its values (the transfers). */
    for (size_t i = 0; i < n; i++) {
        if (!attrs[i].school_year_of)
            continue;
        const wf_attr *of = wf_find_attr(attrs, n, attrs[i].school_year_of);
        if (!of || !of->required || !of->nvalues)
            return yml_err_at(c->d.err, c->d.file, attrs[i].line,
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
    if (yml_want_map(&c->d, v, w) < 0 || yml_check_keys(&c->d, v, w, NULL) < 0)
        return -1;
    size_t n = yml_map_len(v);
    wf_kv *kv = yml_alloc(&c->d, (n ? n : 1) * sizeof *kv);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *val = yml_value(&c->d, v, i);
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, yml_s(k));
        if (!a)
            return yml_err(&c->d, k, "%s: \"%s\" is not an attribute of event \"%s\"", w, yml_s(k),
                           ev->name);
        if (val->type != YAML_SCALAR_NODE)
            return yml_err(&c->d, val, "%s: \"%s\": expected a string, got %s", w, yml_s(k),
                           yml_kind(val));
        if (!wf__attr_allows(a, yml_s(val))) {
            char list[256];
            wf__values_list(a, list, sizeof list);
            return yml_err(&c->d, val, "%s: %s \"%s\" is not one of: %s", w, a->name, yml_s(val),
                           list);
        }
        kv[i].key = a->name;
        kv[i].value = yml_strdup(&c->d, yml_s(val));
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
    m->line = yml_line(v);
    const yaml_node_t *name = v;
    if (v->type == YAML_MAPPING_NODE) {
        if (yml_check_keys(&c->d, v, what, keys) < 0)
            return -1;
        name = yml_get(&c->d, v, "event");
        if (!name)
            return yml_err(&c->d, v, "%s: missing \"event\"", what);
    } else if (!scalar_ok || v->type != YAML_SCALAR_NODE) {
        return yml_err(&c->d, v, "%s: expected %s{event: NAME, when: {...}}, got %s", what,
                       scalar_ok ? "an event name or " : "", yml_kind(v));
    }
    if (name->type != YAML_SCALAR_NODE)
        return yml_err(&c->d, name, "%s: \"event\": expected an event name, got %s", what,
                       yml_kind(name));
    const wf_event *ev = wf_find_event(c->wf, yml_s(name));
    if (!ev)
        return yml_err(&c->d, name, "%s: unknown event \"%s\"", what, yml_s(name));
    m->event = ev->name;
    yaml_node_t *when = v->type == YAML_MAPPING_NODE ? yml_get(&c->d, v, "when") : NULL;
    if (when && wf__parse_when(c, when, what, ev, &m->when, &m->nwhen) < 0)
        return -1;
    return 0;
}

static int wf__parse_matches(wf__ctx *c, const yaml_node_t *m, const char *key, const char *what,
                             wf_match **out, size_t *nout)
{
    yaml_node_t *v = yml_get(&c->d, m, key);
    *out = NULL;
    *nout = 0;
    if (!v)
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return yml_err(&c->d, v, "%s: \"%s\": expected a list, got %s", what, key, yml_kind(v));
    size_t n = yml_seq_len(v);
    wf_match *ms = yml_alloc(&c->d, (n ? n : 1) * sizeof *ms);
    char w[220];
    snprintf(w, sizeof w, "%s: \"%s\"", what, key);
    for (size_t i = 0; i < n; i++)
        if (wf__parse_match(c, yml_item(&c->d, v, i), w, true, &ms[i]) < 0)
            return -1;
    *out = ms;
    *nout = n;
    return 0;
}

/* ---- States ------------------------------------------------------------ */

static int wf__parse_states(wf__ctx *c, const yaml_node_t *top)
{
    static const char *const keys[] = {"initial", "final", "title", NULL};
    yaml_node_t *v = yml_get(&c->d, top, "states");
    if (!v)
        return yml_err(&c->d, top, "missing \"states\"");
    if (yml_want_map(&c->d, v, "\"states\"") < 0 ||
        wf__check_idents(c, v, "\"states\"", "state") < 0)
        return -1;
    size_t n = yml_map_len(v);
    if (n == 0)
        return yml_err(&c->d, yml_key_of(&c->d, top, v),
                       "\"states\": must declare at least one state");
    wf_state *states = yml_alloc(&c->d, n * sizeof *states);
    const wf_state *initial = NULL;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *spec = yml_value(&c->d, v, i);
        wf_state *s = &states[i];
        char what[120];
        s->name = yml_strdup(&c->d, yml_s(k));
        s->line = yml_line(k);
        snprintf(what, sizeof what, "state \"%s\"", s->name);
        if (!yml_is_null(spec)) {
            if (yml_want_map(&c->d, spec, what) < 0 ||
                yml_check_keys(&c->d, spec, what, keys) < 0 ||
                yml_get_bool(&c->d, spec, "initial", what, &s->initial) < 0 ||
                yml_get_str(&c->d, spec, "title", what, false, &s->title) < 0)
                return -1;
            const char *final;
            if (yml_get_str(&c->d, spec, "final", what, false, &final) < 0)
                return -1;
            if (final && !strcmp(final, "completed"))
                s->final = WF_COMPLETED;
            else if (final && !strcmp(final, "cancelled"))
                s->final = WF_CANCELLED;
            else if (final)
                return yml_err(&c->d, yml_get(&c->d, spec, "final"),
                               "%s: \"final\": expected completed or cancelled, got \"%s\"", what,
                               final);
        }
        if (!s->title)
            s->title = s->name;
        if (s->initial) {
            if (initial)
                return yml_err(&c->d, k,
                               "%s: a second initial state (\"%s\" at line %d is initial)", what,
                               initial->name, initial->line);
            if (s->final != WF_OPEN)
                return yml_err(&c->d, k, "%s: the initial state must not be final", what);
            initial = s;
        }
    }
    if (!initial)
        return yml_err(&c->d, yml_key_of(&c->d, top, v),
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
        if (strcmp(yml_s(v), "any") != 0)
            return yml_err(&c->d, v, "%s: \"%s\": expected a list of states or \"any\", got \"%s\"",
                           what, key, yml_s(v));
        *any = true;
        return 0;
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return yml_err(&c->d, v, "%s: \"%s\": expected a list of states or \"any\", got %s", what,
                       key, yml_kind(v));
    if (wf__str_list(c, v, what, key, out, nout, NULL) < 0)
        return -1;
    for (size_t i = 0; i < *nout; i++) {
        const wf_state *s = wf_find_state(c->wf, (*out)[i]);
        yaml_node_t *it = yml_item(&c->d, v, i);
        if (!s)
            return yml_err(&c->d, it, "%s: \"%s\": unknown state \"%s\"", what, key, (*out)[i]);
        if (s->final != WF_OPEN)
            return yml_err(&c->d, it, "%s: \"%s\": \"%s\" is a final state", what, key, (*out)[i]);
    }
    return 0;
}

/* ---- Events ------------------------------------------------------------ */

static int wf__parse_transitions(wf__ctx *c, const yaml_node_t *v, const char *what, wf_event *ev)
{
    static const char *const keys[] = {"from", "when", "to", NULL};
    if (v->type != YAML_SEQUENCE_NODE)
        return yml_err(&c->d, v, "%s: \"transitions\": expected a list, got %s", what, yml_kind(v));
    size_t n = yml_seq_len(v);
    wf_transition *ts = yml_alloc(&c->d, (n ? n : 1) * sizeof *ts);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *t = yml_item(&c->d, v, i);
        wf_transition *tr = &ts[i];
        char w[200];
        snprintf(w, sizeof w, "%s: transition %zu", what, i + 1);
        tr->line = yml_line(t);
        if (yml_want_map(&c->d, t, w) < 0 || yml_check_keys(&c->d, t, w, keys) < 0)
            return -1;
        yaml_node_t *from = yml_get(&c->d, t, "from");
        if (!from)
            return yml_err(&c->d, t, "%s: missing \"from\"", w);
        if (wf__state_refs(c, from, w, "from", &tr->from, &tr->nfrom, &tr->from_any) < 0)
            return -1;
        if (!tr->from_any && tr->nfrom == 0)
            return yml_err(&c->d, from, "%s: \"from\": must name at least one state", w);
        const char *to;
        if (yml_get_str(&c->d, t, "to", w, true, &to) < 0)
            return -1;
        const wf_state *s = wf_find_state(c->wf, to);
        if (!s)
            return yml_err(&c->d, yml_get(&c->d, t, "to"), "%s: \"to\": unknown state \"%s\"", w,
                           to);
        tr->to = s->name;
        yaml_node_t *when = yml_get(&c->d, t, "when");
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
        return yml_err(&c->d, yml_key_of(&c->d, spec, v),
                       "%s: only an \"exception: start\" event has one", w);
    if (yml_want_map(&c->d, v, w) < 0 || yml_check_keys(&c->d, v, w, NULL) < 0)
        return -1;
    const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, "reason");
    size_t n = yml_map_len(v);
    wf_min_length *ml = yml_alloc(&c->d, (n ? n : 1) * sizeof *ml);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *val = yml_value(&c->d, v, i);
        if (!*yml_s(k) || !wf__attr_allows(a, yml_s(k))) {
            char list[256];
            wf__values_list(a, list, sizeof list);
            return yml_err(&c->d, k, "%s: \"%s\" is not a value of the \"reason\" attribute%s%s%s",
                           w, yml_s(k), a->nvalues ? " (one of: " : "", list,
                           a->nvalues ? ")" : "");
        }
        wf_due count = {0};
        if (wf__parse_count(c, val, w, yml_s(k), &count) < 0)
            return -1;
        ml[i] = (wf_min_length){yml_strdup(&c->d, yml_s(k)), count.n, count.unit, yml_line(k)};
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
        return yml_err(&c->d, v, "%s: \"starts\": expected a list, got %s", what, yml_kind(v));
    size_t n = yml_seq_len(v);
    ev->starts = yml_alloc(&c->d, (n ? n : 1) * sizeof *ev->starts);
    ev->starts_with = yml_alloc(&c->d, (n ? n : 1) * sizeof *ev->starts_with);
    ev->nstarts_with = yml_alloc(&c->d, (n ? n : 1) * sizeof *ev->nstarts_with);
    *lines = yml_alloc(&c->d, (n ? n : 1) * sizeof **lines);
    char w[200];
    snprintf(w, sizeof w, "%s: \"starts\"", what);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = yml_item(&c->d, v, i), *name = item;
        (*lines)[i] = yml_line(item);
        if (item->type == YAML_MAPPING_NODE) {
            if (yml_check_keys(&c->d, item, w, keys) < 0)
                return -1;
            name = yml_get(&c->d, item, "workflow");
            if (!name)
                return yml_err(&c->d, item, "%s: missing \"workflow\"", w);
            yaml_node_t *with = yml_get(&c->d, item, "with");
            if (with) {
                if (yml_want_map(&c->d, with, w) < 0 || yml_check_keys(&c->d, with, w, NULL) < 0)
                    return -1;
                size_t m = yml_map_len(with);
                wf_kv *kv = yml_alloc(&c->d, (m ? m : 1) * sizeof *kv);
                for (size_t k = 0; k < m; k++) {
                    yaml_node_t *kk = yml_key(&c->d, with, k), *vv = yml_value(&c->d, with, k);
                    if (vv->type != YAML_SCALAR_NODE)
                        return yml_err(&c->d, vv, "%s: \"with\": %s: expected a string, got %s", w,
                                       yml_s(kk), yml_kind(vv));
                    kv[k].key = yml_strdup(&c->d, yml_s(kk));
                    kv[k].value = yml_strdup(&c->d, yml_s(vv));
                }
                ev->starts_with[i] = kv;
                ev->nstarts_with[i] = m;
            }
        }
        if (name->type != YAML_SCALAR_NODE || !wf__wfname_ok(yml_s(name)))
            return yml_err(&c->d, name, "%s: invalid workflow name %s%s%s (expected [a-z0-9-]+)", w,
                           name->type == YAML_SCALAR_NODE ? "\"" : "",
                           name->type == YAML_SCALAR_NODE ? yml_s(name) : yml_kind(name),
                           name->type == YAML_SCALAR_NODE ? "\"" : "");
        for (size_t k = 0; k < i; k++)
            if (!strcmp(ev->starts[k], yml_s(name)))
                return yml_err(&c->d, name, "%s: \"%s\" is listed twice", w, yml_s(name));
        ev->starts[i] = yml_strdup(&c->d, yml_s(name));
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
    if (yml_is_null(spec))
        return yml_err_at(c->d.err, c->d.file, ev->line,
                          "%s: neither \"transitions\" nor \"allowed_in\": it could never be "
                          "recorded",
                          what);
    if (yml_want_map(&c->d, spec, what) < 0 || yml_check_keys(&c->d, spec, what, keys) < 0 ||
        yml_get_str(&c->d, spec, "title", what, false, &ev->title) < 0)
        return -1;
    yaml_node_t *v = yml_get(&c->d, spec, "attributes");
    if (v && wf__parse_attrs(c, v, what, &ev->attrs, &ev->nattrs) < 0)
        return -1;
    const char *exc;
    if (yml_get_str(&c->d, spec, "exception", what, false, &exc) < 0)
        return -1;
    if (exc && !strcmp(exc, "start"))
        ev->exception = WF_EXC_START;
    else if (exc && !strcmp(exc, "end"))
        ev->exception = WF_EXC_END;
    else if (exc)
        return yml_err(&c->d, yml_get(&c->d, spec, "exception"),
                       "%s: \"exception\": expected start or end, got \"%s\"", what, exc);
    if (exc && !wf_find_attr(ev->attrs, ev->nattrs, "reason"))
        return yml_err(&c->d, yml_get(&c->d, spec, "exception"),
                       "%s: \"exception: %s\" needs a \"reason\" attribute", what, exc);
    if (ev->exception == WF_EXC_START) {
        /* Without a reason the period could never be closed, nor excuse anything. */
        const wf_attr *r = wf_find_attr(ev->attrs, ev->nattrs, "reason");
        if (!r->required)
            return yml_err_at(c->d.err, c->d.file, r->line,
                              "%s: the \"reason\" attribute of an \"exception: start\" event "
                              "must be \"required: true\"",
                              what);
    }
    v = yml_get(&c->d, spec, "minimum_length");
    if (v && wf__parse_min_lengths(c, spec, v, what, ev) < 0)
        return -1;
    v = yml_get(&c->d, spec, "recognises");
    if (v) {
        char rw[160];
        snprintf(rw, sizeof rw, "%s: \"recognises\"", what);
        if (yml_want_map(&c->d, v, rw) < 0 || yml_check_keys(&c->d, v, rw, rec_keys) < 0 ||
            yml_get_str(&c->d, v, "exception", rw, true, &ev->recognises) < 0)
            return -1;
        if (strcmp(ev->recognises, "school_closure") != 0)
            return yml_err(&c->d, yml_get(&c->d, v, "exception"),
                           "%s: \"exception\": only school_closure (reg. 10(4)(a)) can be "
                           "recognised from the calendar, got \"%s\"",
                           rw, ev->recognises);
        yaml_node_t *w = yml_get(&c->d, v, "when");
        if (w && wf__parse_when(c, w, rw, ev, &ev->recognises_when, &ev->nrecognises_when) < 0)
            return -1;
        c->wf->uses_calendar = true;
    }
    if (yml_get_bool(&c->d, spec, "after_end", what, &ev->after_end) < 0)
        return -1;
    v = yml_get(&c->d, spec, "refused_while_open");
    if (v && wf__str_list(c, v, what, "refused_while_open", &ev->refused_while_open,
                          &ev->nrefused_while_open, NULL) < 0)
        return -1;
    v = yml_get(&c->d, spec, "allowed_in");
    if (v && wf__state_refs(c, v, what, "allowed_in", &ev->allowed_in, &ev->nallowed_in,
                            &ev->allowed_any) < 0)
        return -1;
    v = yml_get(&c->d, spec, "transitions");
    if (v && wf__parse_transitions(c, v, what, ev) < 0)
        return -1;
    v = yml_get(&c->d, spec, "starts");
    if (v) {
        if (wf__parse_starts(c, v, what, ev, starts_line) < 0)
            return -1;
    }
    if (ev->ntransitions == 0 && ev->nallowed_in == 0 && !ev->allowed_any)
        return yml_err_at(c->d.err, c->d.file, ev->line,
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
                return yml_err_at(c->d.err, c->d.file, a->line,
                                  "event \"%s\": reason \"%s\": no \"exception: end\" event "
                                  "takes it, so the exception could never be closed",
                                  ev->name, a->values[v]);
            return yml_err_at(c->d.err, c->d.file, a->line,
                              "event \"%s\": \"reason\" takes any value, but no \"exception: "
                              "end\" event does, so the exception could never be closed",
                              ev->name);
        }
    }
    return 0;
}

static int wf__parse_events(wf__ctx *c, const yaml_node_t *top)
{
    yaml_node_t *v = yml_get(&c->d, top, "events");
    if (!v)
        return yml_err(&c->d, top, "missing \"events\"");
    if (yml_want_map(&c->d, v, "\"events\"") < 0 ||
        wf__check_idents(c, v, "\"events\"", "event") < 0)
        return -1;
    size_t n = yml_map_len(v);
    wf_event *evs = yml_alloc(&c->d, (n ? n : 1) * sizeof *evs);
    c->arena->starts_line = yml_alloc(&c->d, (n ? n : 1) * sizeof *c->arena->starts_line);
    /*
     * Names first, so that the tree is complete for wf_find_event by the time
     * deadlines are read; an event's own fields refer only to states and its
     * own attributes.
     */
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i);
        evs[i].name = yml_strdup(&c->d, yml_s(k));
        evs[i].line = yml_line(k);
    }
    c->wf->events = evs;
    c->wf->nevents = n;
    for (size_t i = 0; i < n; i++) {
        if (wf__parse_event(c, yml_value(&c->d, v, i), &evs[i], &c->arena->starts_line[i]) < 0)
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
        return yml_err(&c->d, v, "%s: \"%s\": %s, got %s", what, key, expect, yml_kind(v));
    const char *s = yml_s(v), *p = s;
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
        return yml_err(&c->d, v, "%s: \"%s\": %s, got \"%s\"", what, key, expect, s);
    if (n < 1 || n > WF__MAX_COUNT)
        return yml_err(&c->d, v, "%s: \"%s\": N must be from 1 to %d, got \"%s\"", what, key,
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
        return yml_err(&c->d, v, "%s: \"%s\": %s, got %s", what, key, expect, yml_kind(v));
    const char *s = yml_s(v), *p = s;
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
        return yml_err(&c->d, v, "%s: \"%s\": %s, got \"%s\"", what, key, expect, s);
    if (!cal_valid_ymd(2024, m, d))
        return yml_err(&c->d, v, "%s: \"%s\": no such day: \"%s\"", what, key, s);
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
        yaml_node_t *v = yml_get(&c->d, spec, rules[i].key);
        if (!v)
            continue;
        if (found)
            return yml_err(&c->d, yml_key_of(&c->d, spec, v),
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
        return yml_err(&c->d, key_node,
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
        return yml_err(&c->d, where, "%s: name \"%s\": unbalanced or empty \"{...}\" placeholder",
                       what, d->name);
    if (count > 1)
        return yml_err(&c->d, where, "%s: name \"%s\": more than one placeholder", what, d->name);
    if (count == 1 && !d->per)
        return yml_err(&c->d, where, "%s: name \"%s\": placeholder \"{%s}\" needs \"per: %s\"",
                       what, d->name, ph, ph);
    if (count == 1 && strcmp(ph, d->per) != 0)
        return yml_err(&c->d, where,
                       "%s: name \"%s\": placeholder \"{%s}\" must be the per attribute \"{%s}\"",
                       what, d->name, ph, d->per);
    if (count == 0 && d->per)
        return yml_err(&c->d, where,
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
    if (!yml_ident_ok(probe))
        return yml_err(&c->d, where, "%s: invalid deadline name \"%s\" (expected [a-z][a-z0-9_]*)",
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
        return yml_err(&c->d, where, "%s: title \"%s\": unbalanced or empty \"{...}\" placeholder",
                       what, d->title);
    if (count > 0 && !d->per)
        return yml_err(&c->d, where, "%s: title \"%s\": placeholder \"{%s}\" needs \"per: %s\"",
                       what, d->title, ph, ph);
    if (count > 0 && (!same || strcmp(ph, d->per) != 0))
        return yml_err(&c->d, where, "%s: title \"%s\": the only placeholder allowed is \"{%s}\"",
                       what, d->title, d->per);
    return 0;
}

static int wf__parse_anchor(wf__ctx *c, const yaml_node_t *k, const yaml_node_t *spec,
                            const char *what, wf_deadline *d)
{
    static const char *const keys[] = {"event", "when", "attribute", "use", "any_of", NULL};
    static const char expect[] = "expected start, {event: NAME, when: {...}}, {any_of: [...]} or "
                                 "{attribute: NAME}";
    yaml_node_t *v = yml_get(&c->d, spec, "from");
    char w[200];
    snprintf(w, sizeof w, "%s: \"from\"", what);
    if (!v)
        return yml_err(&c->d, k, "%s: missing \"from\"", what);
    if (v->type == YAML_SCALAR_NODE) {
        if (strcmp(yml_s(v), "start") != 0)
            return yml_err(&c->d, v, "%s: %s, got \"%s\"", w, expect, yml_s(v));
        d->anchor_kind = WF_ANCHOR_START;
        return 0;
    }
    if (v->type != YAML_MAPPING_NODE)
        return yml_err(&c->d, v, "%s: %s, got %s", w, expect, yml_kind(v));
    if (yml_check_keys(&c->d, v, w, keys) < 0)
        return -1;
    yaml_node_t *attr = yml_get(&c->d, v, "attribute");
    yaml_node_t *use = yml_get(&c->d, v, "use");
    if (yml_get(&c->d, v, "any_of")) {
        /* {any_of: [a, {event: b, when: {...}}], use: latest}: any of several decisions. */
        if (yml_get(&c->d, v, "event") || yml_get(&c->d, v, "when") || attr)
            return yml_err(&c->d, v,
                           "%s: \"any_of\" cannot be combined with \"event\", \"when\" or "
                           "\"attribute\"",
                           w);
        if (use) {
            if (use->type != YAML_SCALAR_NODE ||
                (strcmp(yml_s(use), "latest") && strcmp(yml_s(use), "first")))
                return yml_err(&c->d, use, "%s: \"use\": expected first or latest", w);
            d->anchor_latest = !strcmp(yml_s(use), "latest");
        }
        if (wf__parse_matches(c, v, "any_of", w, &d->anchor_any, &d->nanchor_any) < 0)
            return -1;
        if (d->nanchor_any == 0)
            return yml_err(&c->d, v, "%s: \"any_of\": needs at least one event", w);
        d->anchor_kind = WF_ANCHOR_EVENT;
        d->anchor = d->anchor_any[0];
        return 0;
    }
    if (yml_get(&c->d, v, "event")) {
        /* {event: x, attribute: date, use: latest}: a date the event carries, e.g. a meeting's. */
        d->anchor_kind = WF_ANCHOR_EVENT;
        wf_match m;
        if (use) {
            if (use->type != YAML_SCALAR_NODE ||
                (strcmp(yml_s(use), "latest") && strcmp(yml_s(use), "first")))
                return yml_err(&c->d, use, "%s: \"use\": expected first or latest", w);
            d->anchor_latest = !strcmp(yml_s(use), "latest");
        }
        memset(&m, 0, sizeof m);
        m.line = yml_line(v);
        yaml_node_t *name = yml_get(&c->d, v, "event");
        if (!name)
            return yml_err(&c->d, v, "%s: missing \"event\"", w);
        if (name->type != YAML_SCALAR_NODE)
            return yml_err(&c->d, name, "%s: \"event\": expected an event name, got %s", w,
                           yml_kind(name));
        const wf_event *ev = wf_find_event(c->wf, yml_s(name));
        if (!ev)
            return yml_err(&c->d, name, "%s: unknown event \"%s\"", w, yml_s(name));
        m.event = ev->name;
        yaml_node_t *when = yml_get(&c->d, v, "when");
        if (when && wf__parse_when(c, when, w, ev, &m.when, &m.nwhen) < 0)
            return -1;
        d->anchor = m;
        if (attr) {
            if (attr->type != YAML_SCALAR_NODE)
                return yml_err(&c->d, attr, "%s: \"attribute\": expected a string, got %s", w,
                               yml_kind(attr));
            const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, yml_s(attr));
            if (!a)
                return yml_err(&c->d, attr, "%s: \"%s\" is not an attribute of event \"%s\"", w,
                               yml_s(attr), ev->name);
            if (!a->is_date || !a->required)
                return yml_err(&c->d, attr,
                               "%s: attribute \"%s\" of event \"%s\" must be \"type: date\" "
                               "and \"required: true\"",
                               w, a->name, ev->name);
            d->anchor_event_attr = a->name;
        }
        return 0;
    }
    if (use)
        return yml_err(&c->d, use, "%s: \"use\" goes with \"event\"", w);
    if (!attr)
        return yml_err(&c->d, v, "%s: missing \"event\"", w);
    if (attr) {
        if (yml_get(&c->d, v, "when"))
            return yml_err(&c->d, v,
                           "%s: \"attribute\" cannot be combined with \"event\" or \"when\"", w);
        if (attr->type != YAML_SCALAR_NODE)
            return yml_err(&c->d, attr, "%s: \"attribute\": expected a string, got %s", w,
                           yml_kind(attr));
        const wf_attr *a = wf_find_attr(c->wf->attrs, c->wf->nattrs, yml_s(attr));
        if (!a)
            return yml_err(&c->d, attr, "%s: \"%s\" is not a start attribute", w, yml_s(attr));
        if (!a->is_date)
            return yml_err(&c->d, attr, "%s: start attribute \"%s\" is not \"type: date\"", w,
                           a->name);
        d->anchor_kind = WF_ANCHOR_ATTRIBUTE;
        d->anchor_attr = a->name;
        return 0;
    }
    return yml_err(&c->d, v, "%s: %s", w, expect);
}

/*
 * "if: {transfer: secondary_to_post16}" or "unless: {transfer: [a, b]}":
 * conditions on the process's start attributes, each naming allowed values.
 */
static int wf__parse_conds(wf__ctx *c, const yaml_node_t *spec, const char *key, const char *what,
                           wf_cond **out, size_t *nout)
{
    yaml_node_t *v = yml_get(&c->d, spec, key);
    *out = NULL;
    *nout = 0;
    if (!v)
        return 0;
    char w[200];
    snprintf(w, sizeof w, "%s: \"%s\"", what, key);
    if (yml_want_map(&c->d, v, w) < 0 || yml_check_keys(&c->d, v, w, NULL) < 0)
        return -1;
    size_t n = yml_map_len(v);
    if (n == 0)
        return yml_err(&c->d, v, "%s: must name at least one start attribute", w);
    wf_cond *conds = yml_alloc(&c->d, n * sizeof *conds);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *val = yml_value(&c->d, v, i);
        const wf_attr *a = wf_find_attr(c->wf->attrs, c->wf->nattrs, yml_s(k));
        if (!a)
            return yml_err(&c->d, k, "%s: \"%s\" is not a start attribute", w, yml_s(k));
        conds[i].attr = a->name;
        if (val->type == YAML_SCALAR_NODE) {
            conds[i].values = yml_alloc(&c->d, sizeof *conds[i].values);
            conds[i].values[0] = yml_strdup(&c->d, yml_s(val));
            conds[i].nvalues = 1;
        } else if (wf__str_list(c, val, w, a->name, &conds[i].values, &conds[i].nvalues, NULL) <
                   0) {
            return -1;
        }
        for (size_t j = 0; j < conds[i].nvalues; j++)
            if (!wf__attr_allows(a, conds[i].values[j])) {
                char list[256];
                wf__values_list(a, list, sizeof list);
                return yml_err(&c->d, val, "%s: %s \"%s\" is not one of: %s", w, a->name,
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
    d->key = yml_strdup(&c->d, yml_s(k));
    d->line = yml_line(k);
    snprintf(what, sizeof what, "deadline \"%s\"", d->key);
    if (yml_want_map(&c->d, spec, what) < 0 || yml_check_keys(&c->d, spec, what, keys) < 0)
        return -1;
    if (yml_get_str(&c->d, spec, "name", what, false, &d->name) < 0 ||
        yml_get_str(&c->d, spec, "title", what, false, &d->title) < 0 ||
        yml_get_str(&c->d, spec, "anchor_label", what, false, &d->anchor_label) < 0 ||
        yml_get_str(&c->d, spec, "basis", what, false, &d->basis) < 0 ||
        yml_get_str(&c->d, spec, "per", what, false, &d->per) < 0)
        return -1;
    if (!d->basis)
        return yml_err(&c->d, k, "%s: missing \"basis\" (the legal basis of the deadline)", what);
    if (wf__parse_anchor(c, k, spec, what, d) < 0)
        return -1;
    if (d->per) {
        yaml_node_t *pv = yml_get(&c->d, spec, "per");
        if (d->anchor_kind != WF_ANCHOR_EVENT)
            return yml_err(&c->d, pv, "%s: \"per\" needs an event anchor (\"from: {event: ...}\")",
                           what);
        const wf_event *ev = wf_find_event(c->wf, d->anchor.event);
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, d->per);
        if (!a)
            return yml_err(&c->d, pv, "%s: \"per\": \"%s\" is not an attribute of event \"%s\"",
                           what, d->per, ev->name);
        d->per = a->name;
        /* An anchor event without the value would start no deadline at all. */
        if (!a->required)
            return yml_err(&c->d, pv,
                           "%s: \"per\": attribute \"%s\" of event \"%s\" must be \"required: "
                           "true\"",
                           what, d->per, ev->name);
        /* One deadline per value needs a closed list of values (and of names). */
        if (!a->nvalues)
            return yml_err(&c->d, pv,
                           "%s: \"per\": attribute \"%s\" of event \"%s\" must list its "
                           "\"values\"",
                           what, d->per, ev->name);
    }
    if (!d->name)
        d->name = d->key;
    if (!d->title)
        d->title = d->name;
    yaml_node_t *nv = yml_get(&c->d, spec, "name");
    if (wf__check_name(c, nv ? nv : k, what, d) < 0)
        return -1;
    yaml_node_t *tv = yml_get(&c->d, spec, "title");
    if (wf__check_title(c, tv ? tv : k, what, d) < 0)
        return -1;
    if (wf__parse_due(c, spec, k, what, &d->due) < 0)
        return -1;
    if (d->due.kind != WF_DUE_DAY_OF_YEAR && d->due.kind != WF_DUE_LAST_DAY_BEFORE &&
        d->due.unit == CAL_WORKING_DAYS)
        c->wf->uses_calendar = true;
    if (wf__parse_conds(c, spec, "if", what, &d->if_conds, &d->nif_conds) < 0 ||
        wf__parse_conds(c, spec, "unless", what, &d->unless_conds, &d->nunless_conds) < 0 ||
        yml_get_bool(&c->d, spec, "shorter_under_5", what, &d->under_5) < 0 ||
        yml_get_bool(&c->d, spec, "tribunal_closures", what, &d->tribunal_closures) < 0)
        return -1;
    if (d->under_5 && (d->due.kind != WF_DUE_BEGINNING_WITH && d->due.kind != WF_DUE_WITHIN))
        return yml_err(&c->d, yml_get(&c->d, spec, "shorter_under_5"),
                       "%s: \"shorter_under_5\" needs a \"within\" or \"beginning_with\" rule",
                       what);
    if (d->tribunal_closures)
        c->wf->uses_calendar = true;
    const char *kind;
    if (yml_get_str(&c->d, spec, "kind", what, false, &kind) < 0)
        return -1;
    if (kind && !strcmp(kind, "period"))
        d->kind = WF_DEADLINE_PERIOD;
    else if (kind && strcmp(kind, "duty") != 0)
        return yml_err(&c->d, yml_get(&c->d, spec, "kind"),
                       "%s: \"kind\": expected duty or period, got \"%s\"", what, kind);
    if (wf__parse_matches(c, spec, "met_by", what, &d->met_by, &d->nmet_by) < 0 ||
        wf__parse_matches(c, spec, "cancelled_by", what, &d->cancelled_by, &d->ncancelled_by) < 0)
        return -1;
    if (d->per) {
        /* A per-deadline is met only by an event carrying the same value. */
        for (size_t i = 0; i < d->nmet_by; i++) {
            const wf_event *ev = wf_find_event(c->wf, d->met_by[i].event);
            if (!wf_find_attr(ev->attrs, ev->nattrs, d->per))
                return yml_err_at(c->d.err, c->d.file, d->met_by[i].line,
                                  "%s: \"met_by\": event \"%s\" has no \"%s\" attribute to "
                                  "match \"per: %s\"",
                                  what, ev->name, d->per, d->per);
        }
    }
    yaml_node_t *ex = yml_get(&c->d, spec, "excused_by");
    if (ex) {
        if (wf__str_list(c, ex, what, "excused_by", &d->excused_by, &d->nexcused_by, NULL) < 0)
            return -1;
        for (size_t i = 0; i < d->nexcused_by; i++) {
            bool any_start;
            char list[256];
            if (!wf__is_reason(c->wf, d->excused_by[i], &any_start, list, sizeof list))
                return yml_err(&c->d, yml_item(&c->d, ex, i),
                               "%s: \"excused_by\": \"%s\" is not a reason of any \"exception: "
                               "start\" event (%s%s)",
                               what, d->excused_by[i],
                               any_start ? "expected one of: " : "this workflow has none", list);
        }
    }
    yaml_node_t *ol = yml_get(&c->d, spec, "or_later");
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
    if (yml_want_map(&c->d, v, w) < 0 || yml_check_keys(&c->d, v, w, keys) < 0)
        return -1;
    wf_deadline *o = yml_alloc(&c->d, sizeof *o);
    memset(o, 0, sizeof *o);
    o->key = d->key;
    o->line = yml_line(v);
    if (yml_get_str(&c->d, v, "anchor_label", w, false, &o->anchor_label) < 0 ||
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
    yaml_node_t *v = yml_get(&c->d, top, "deadlines");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, "\"deadlines\"") < 0 ||
        wf__check_idents(c, v, "\"deadlines\"", "deadline") < 0)
        return -1;
    size_t n = yml_map_len(v);
    wf_deadline *ds = yml_alloc(&c->d, (n ? n : 1) * sizeof *ds);
    for (size_t i = 0; i < n; i++) {
        if (wf__parse_deadline(c, yml_key(&c->d, v, i), yml_value(&c->d, v, i), &ds[i]) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            /* Variants of one deadline chosen by start attributes ("if:") may share a name. */
            bool variants = (ds[i].nif_conds || ds[i].nunless_conds) &&
                            (ds[j].nif_conds || ds[j].nunless_conds) && !ds[i].per && !ds[j].per;
            if (!strcmp(ds[i].name, ds[j].name) && !variants)
                return yml_err_at(c->d.err, c->d.file, ds[i].line,
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
            return yml_err_at(c->d.err, c->d.file, later->line,
                              "deadline \"%s\": name \"%s\" clashes with \"%s\" of deadline "
                              "\"%s\" (line %d)",
                              later->key, later->name, earlier->name, earlier->key, earlier->line);
        }
    }
    /* A duty nothing can meet would only ever be overdue. */
    for (size_t i = 0; i < n; i++)
        if (ds[i].kind == WF_DEADLINE_DUTY && ds[i].nmet_by == 0)
            return yml_err_at(c->d.err, c->d.file, ds[i].line,
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
    yaml_node_t *v = yml_get(&c->d, top, "flags");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, "\"flags\"") < 0 || wf__check_idents(c, v, "\"flags\"", "flag") < 0)
        return -1;
    size_t n = yml_map_len(v);
    wf_flag *fs = yml_alloc(&c->d, (n ? n : 1) * sizeof *fs);
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *k = yml_key(&c->d, v, i), *spec = yml_value(&c->d, v, i);
        wf_flag *f = &fs[i];
        char what[120];
        f->name = yml_strdup(&c->d, yml_s(k));
        f->line = yml_line(k);
        snprintf(what, sizeof what, "flag \"%s\"", f->name);
        const char *year;
        if (yml_want_map(&c->d, spec, what) < 0 || yml_check_keys(&c->d, spec, what, keys) < 0 ||
            yml_get_str(&c->d, spec, "title", what, false, &f->title) < 0 ||
            yml_get_str(&c->d, spec, "judged_on", what, true, &f->deadline) < 0 ||
            yml_get_str(&c->d, spec, "basis", what, true, &f->basis) < 0 ||
            yml_get_str(&c->d, spec, "from_school_year", what, true, &year) < 0)
            return -1;
        size_t len = strlen(year);
        if (len > 2 || strspn(year, "0123456789") != len || atoi(year) > 13)
            return yml_err(&c->d, yml_get(&c->d, spec, "from_school_year"),
                           "%s: \"from_school_year\": expected 0 (Reception) to 13, got \"%s\"",
                           what, year);
        f->from_school_year = atoi(year);
        if (!f->title)
            f->title = f->name;
        bool found = false;
        for (size_t j = 0; j < c->wf->ndeadlines && !found; j++)
            found = !c->wf->deadlines[j].per && !strcmp(c->wf->deadlines[j].name, f->deadline);
        if (!found)
            return yml_err(&c->d, yml_get(&c->d, spec, "judged_on"),
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
    yaml_node_t *v = yml_get(&c->d, top, "migrate");
    if (!v || yml_is_null(v))
        return 0;
    if (yml_want_map(&c->d, v, "\"migrate\"") < 0 ||
        yml_check_keys(&c->d, v, "\"migrate\"", keys) < 0)
        return -1;
    size_t total = 0;
    for (size_t k = 0; k < 3; k++) {
        yaml_node_t *m = yml_get(&c->d, v, keys[k]);
        if (m) {
            char w[60];
            snprintf(w, sizeof w, "\"migrate\": \"%s\"", keys[k]);
            if (yml_want_map(&c->d, m, w) < 0 || wf__check_idents(c, m, w, "old") < 0)
                return -1;
            total += yml_map_len(m);
        }
    }
    wf_rename *rs = yml_alloc(&c->d, (total ? total : 1) * sizeof *rs);
    size_t n = 0;
    for (size_t k = 0; k < 3; k++) {
        yaml_node_t *m = yml_get(&c->d, v, keys[k]);
        for (size_t i = 0; m && i < yml_map_len(m); i++) {
            yaml_node_t *from = yml_key(&c->d, m, i), *to = yml_value(&c->d, m, i);
            wf_rename *r = &rs[n++];
            r->kind = kinds[k];
            r->from = yml_strdup(&c->d, yml_s(from));
            r->line = yml_line(from);
            if (to->type != YAML_SCALAR_NODE)
                return yml_err(&c->d, to, "\"migrate\": \"%s\": %s: expected a name, got %s",
                               keys[k], r->from, yml_kind(to));
            const char *t = yml_s(to);
            if (!strcmp(t, "drop") && r->kind == WF_RENAME_DEADLINE)
                continue; /* to stays NULL */
            bool ok = r->kind == WF_RENAME_STATE   ? wf_find_state(c->wf, t) != NULL
                      : r->kind == WF_RENAME_EVENT ? wf_find_event(c->wf, t) != NULL
                                                   : wf_has_deadline_name(c->wf, t);
            if (!ok)
                return yml_err(&c->d, to,
                               "\"migrate\": \"%s\": %s: \"%s\" is not a %s of this version%s",
                               keys[k], r->from, t,
                               r->kind == WF_RENAME_STATE   ? "state"
                               : r->kind == WF_RENAME_EVENT ? "event"
                                                            : "deadline",
                               r->kind == WF_RENAME_DEADLINE ? " (or \"drop\")" : "");
            r->to = yml_strdup(&c->d, t);
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
        return yml_err(&c->d, top, "expected a mapping at the top level, got %s", yml_kind(top));
    if (yml_check_keys(&c->d, top, "top level", keys) < 0)
        return -1;

    if (yml_get_str(&c->d, top, "workflow", "top level", true, &wf->name) < 0)
        return -1;
    yaml_node_t *v = yml_get(&c->d, top, "workflow");
    c->arena->name_line = yml_line(v);
    if (!wf__wfname_ok(wf->name))
        return yml_err(&c->d, v, "\"workflow\": invalid name \"%s\" (expected [a-z0-9-]+)",
                       wf->name);

    if (yml_get_version(&c->d, top, "version", &wf->version) < 0)
        return -1;

    if (yml_get_str(&c->d, top, "title", "top level", false, &wf->title) < 0)
        return -1;
    if (!wf->title)
        wf->title = wf->name;

    v = yml_get(&c->d, top, "start");
    if (v && !yml_is_null(v)) {
        if (yml_want_map(&c->d, v, "\"start\"") < 0 ||
            yml_check_keys(&c->d, v, "\"start\"", start_keys) < 0 ||
            yml_get_str(&c->d, v, "label", "\"start\"", false, &wf->start_label) < 0)
            return -1;
        yaml_node_t *attrs = yml_get(&c->d, v, "attributes");
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
                return yml_err_at(c->d.err, c->d.file, wf->events[i].line,
                                  "event \"%s\": \"refused_while_open\": no deadline is called "
                                  "\"%s\"",
                                  wf->events[i].name, wf->events[i].refused_while_open[j]);
    return 0;
}

int wf_load_string(const char *name, const char *yaml, size_t len, wf_workflow **out,
                   char err[WF_ERR_LEN])
{
    wf__ctx c = {0};
    yaml_node_t *root;
    *out = NULL;
    int rc = yml_doc_parse(&c.d, name, yaml, len, "workflow", err, &root);
    if (rc == 0 && !root)
        rc = yml_err(&c.d, NULL, "empty document: expected a workflow mapping");
    if (rc == 0) {
        c.wf = xcalloc(1, sizeof *c.wf);
        c.arena = xcalloc(1, sizeof *c.arena);
        c.wf->file = yml_strdup(&c.d, name);
        rc = wf__parse_top(&c, root);
    }
    if (rc == 0) {
        c.arena->mem = yml_doc_release_arena(&c.d);
        c.wf->arena = c.arena;
        *out = c.wf;
    } else {
        free(c.arena);
        free(c.wf);
    }
    yml_doc_done(&c.d);
    return rc;
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
                return yml_err_at(err, wf->file, a ? a->name_line : 1,
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
                    return yml_err_at(err, wf->file, line,
                                      "event \"%s\": \"starts\": no workflow called \"%s\" is "
                                      "loaded",
                                      ev->name, ev->starts[s]);
                for (size_t k = 0; ev->starts_with && k < ev->nstarts_with[s]; k++) {
                    const wf_kv *kv = &ev->starts_with[s][k];
                    const wf_attr *at = wf_find_attr(target->attrs, target->nattrs, kv->key);
                    if (!at || (at->nvalues && !wf__attr_allows(at, kv->value)) ||
                        (at->is_date && cal_parse(kv->value, NULL) != 0))
                        return yml_err_at(err, wf->file, line,
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
    wf__arena *a = wf->arena;
    if (a)
        yml_arena_free(a->mem);
    free(a);
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
