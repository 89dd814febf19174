/*
 * esc: the escalation policy loader and planner (see esc.h). The file is
 * written by hand by a service manager, so, as for the workflows, every
 * unknown key, undeclared role or level, and malformed period is an error
 * with its file and line: a typo must never silently stop a warning.
 */
#include "esc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yml.h"

/* Parse {before: N unit} or {after: N unit} inside mapping m into *o; *found says whether. */
static int parse_offset(yml_doc *d, const yaml_node_t *m, const char *what, esc_offset *o,
                        bool *found)
{
    yaml_node_t *b = yml_get(d, m, "before"), *a = yml_get(d, m, "after");
    *found = b || a;
    if (b && a)
        return yml_err(d, a, "%s: both \"before\" and \"after\": give one", what);
    if (!*found)
        return 0;
    o->after = a != NULL;
    char w[160];
    snprintf(w, sizeof w, "%s: \"%s\"", what, a ? "after" : "before");
    return yml_period(d, a ? a : b, w, &o->n, &o->unit);
}

static const esc_level *find_level(const esc_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nlevels; i++)
        if (!strcmp(p->levels[i].name, name))
            return &p->levels[i];
    return NULL;
}

const esc_role *esc_find_role(const esc_policy *p, const char *name)
{
    for (size_t i = 0; i < p->nroles; i++)
        if (!strcmp(p->roles[i].name, name))
            return &p->roles[i];
    return NULL;
}

/* Every name of a "to:" list must be a declared role. */
static int check_roles(yml_doc *d, const esc_policy *p, const yaml_node_t *v, const char *what,
                       const char **to, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!esc_find_role(p, to[i]))
            return yml_err(d, v, "%s: \"to\": no role called \"%s\" (declare it under roles:)",
                           what, to[i]);
    return 0;
}

static int parse_roles(yml_doc *d, esc_policy *p, const yaml_node_t *v)
{
    static const char *const keys[] = {"attribute", "map", "people", NULL};
    if (yml_want_map(d, v, "\"roles\"") < 0 || yml_check_keys(d, v, "\"roles\"", NULL) < 0)
        return -1;
    p->nroles = yml_map_len(v);
    p->roles = yml_alloc(d, (p->nroles ? p->nroles : 1) * sizeof *p->roles);
    for (size_t i = 0; i < p->nroles; i++) {
        yaml_node_t *k = yml_key(d, v, i), *spec = yml_value(d, v, i);
        esc_role *r = &p->roles[i];
        char what[120];
        r->name = yml_strdup(d, yml_s(k));
        r->line = (int)k->start_mark.line + 1;
        snprintf(what, sizeof what, "role \"%s\"", r->name);
        if (!yml_ident_ok(r->name))
            return yml_err(d, k, "%s: invalid name (expected [a-z][a-z0-9_]*)", what);
        if (yml_want_map(d, spec, what) < 0 || yml_check_keys(d, spec, what, keys) < 0 ||
            yml_get_str(d, spec, "attribute", what, false, &r->attribute) < 0)
            return -1;
        yaml_node_t *people = yml_get(d, spec, "people"), *map = yml_get(d, spec, "map");
        if (!!r->attribute == !!people)
            return yml_err(d, spec,
                           "%s: give either \"attribute\" (a case attribute naming the "
                           "person) or \"people\"",
                           what);
        if (people && yml_str_list(d, people, what, &r->people, &r->npeople) < 0)
            return -1;
        if (map) {
            if (!r->attribute)
                return yml_err(d, map, "%s: \"map\" goes with \"attribute\"", what);
            if (yml_want_map(d, map, what) < 0 || yml_check_keys(d, map, what, NULL) < 0)
                return -1;
            r->nmap = yml_map_len(map);
            wf_kv *kv = yml_alloc(d, (r->nmap ? r->nmap : 1) * sizeof *kv);
            for (size_t j = 0; j < r->nmap; j++) {
                yaml_node_t *mv = yml_value(d, map, j);
                if (mv->type != YAML_SCALAR_NODE || yml_is_null(mv))
                    return yml_err(d, mv, "%s: \"map\": expected a person's name, got %s", what,
                                   yml_kind(mv));
                kv[j].key = yml_strdup(d, yml_s(yml_key(d, map, j)));
                kv[j].value = yml_strdup(d, yml_s(mv));
            }
            r->map = kv;
        }
    }
    return 0;
}

static int parse_levels(yml_doc *d, esc_policy *p, const yaml_node_t *v)
{
    static const char *const keys[] = {"before", "after", "to", NULL};
    if (yml_want_map(d, v, "\"levels\"") < 0 || yml_check_keys(d, v, "\"levels\"", NULL) < 0)
        return -1;
    p->nlevels = yml_map_len(v);
    if (p->nlevels == 0 || p->nlevels > ESC_MAX_LEVELS)
        return yml_err(d, v, "\"levels\": declare 1 to %d levels", ESC_MAX_LEVELS);
    p->levels = yml_alloc(d, p->nlevels * sizeof *p->levels);
    for (size_t i = 0; i < p->nlevels; i++) {
        yaml_node_t *k = yml_key(d, v, i), *spec = yml_value(d, v, i);
        esc_level *l = &p->levels[i];
        char what[120];
        l->name = yml_strdup(d, yml_s(k));
        l->line = (int)k->start_mark.line + 1;
        snprintf(what, sizeof what, "level \"%s\"", l->name);
        if (!yml_ident_ok(l->name))
            return yml_err(d, k, "%s: invalid name (expected [a-z][a-z0-9_]*)", what);
        bool found;
        if (yml_want_map(d, spec, what) < 0 || yml_check_keys(d, spec, what, keys) < 0 ||
            parse_offset(d, spec, what, &l->offset, &found) < 0)
            return -1;
        if (!found)
            return yml_err(d, spec,
                           "%s: missing \"before\" or \"after\" (e.g. \"before: 10 "
                           "working days\")",
                           what);
        yaml_node_t *to = yml_get(d, spec, "to");
        if (!to)
            return yml_err(d, spec, "%s: missing \"to\" (the roles it goes to)", what);
        if (yml_str_list(d, to, what, &l->to, &l->nto) < 0 ||
            check_roles(d, p, to, what, l->to, l->nto) < 0)
            return -1;
    }
    return 0;
}

static int parse_overrides(yml_doc *d, esc_policy *p, const yaml_node_t *v)
{
    static const char *const keys[] = {"before", "after", "to", NULL};
    if (yml_want_map(d, v, "\"deadlines\"") < 0 || yml_check_keys(d, v, "\"deadlines\"", NULL) < 0)
        return -1;
    size_t total = 0;
    for (size_t i = 0; i < yml_map_len(v); i++) {
        yaml_node_t *spec = yml_value(d, v, i);
        char what[120];
        snprintf(what, sizeof what, "deadline \"%s\"", yml_s(yml_key(d, v, i)));
        if (yml_want_map(d, spec, what) < 0 || yml_check_keys(d, spec, what, NULL) < 0)
            return -1;
        total += yml_map_len(spec);
    }
    p->overrides = yml_alloc(d, (total ? total : 1) * sizeof *p->overrides);
    for (size_t i = 0; i < yml_map_len(v); i++) {
        const char *dl = yml_strdup(d, yml_s(yml_key(d, v, i)));
        yaml_node_t *spec = yml_value(d, v, i);
        for (size_t j = 0; j < yml_map_len(spec); j++) {
            yaml_node_t *lk = yml_key(d, spec, j), *lv = yml_value(d, spec, j);
            esc_override *o = &p->overrides[p->noverrides++];
            char what[200];
            o->deadline = dl;
            o->level = yml_strdup(d, yml_s(lk));
            snprintf(what, sizeof what, "deadline \"%s\": level \"%s\"", dl, o->level);
            if (!find_level(p, o->level))
                return yml_err(d, lk, "%s: no such level (declare it under levels:)", what);
            if (lv->type == YAML_SCALAR_NODE && !strcmp(yml_s(lv), "off")) {
                o->off = true;
                continue;
            }
            if (yml_want_map(d, lv, what) < 0 || yml_check_keys(d, lv, what, keys) < 0 ||
                parse_offset(d, lv, what, &o->offset, &o->has_offset) < 0)
                return -1;
            yaml_node_t *to = yml_get(d, lv, "to");
            if (to && (yml_str_list(d, to, what, &o->to, &o->nto) < 0 ||
                       check_roles(d, p, to, what, o->to, o->nto) < 0))
                return -1;
            if (!o->has_offset && !to)
                return yml_err(d, lv, "%s: give \"before\"/\"after\", \"to\", or \"off\"", what);
        }
    }
    return 0;
}

static int parse_digest(yml_doc *d, esc_policy *p, const yaml_node_t *v)
{
    static const char *const keys[] = {"roles", "within", NULL};
    if (v->type == YAML_SCALAR_NODE && !strcmp(yml_s(v), "off"))
        return 0;
    if (yml_want_map(d, v, "\"digest\"") < 0 || yml_check_keys(d, v, "\"digest\"", keys) < 0)
        return -1;
    yaml_node_t *roles = yml_get(d, v, "roles"), *within = yml_get(d, v, "within");
    if (!roles || !within)
        return yml_err(d, v, "\"digest\": give \"roles\" and \"within\" (or \"digest: off\")");
    if (yml_str_list(d, roles, "\"digest\": \"roles\"", &p->digest_roles, &p->ndigest_roles) < 0 ||
        check_roles(d, p, roles, "\"digest\"", p->digest_roles, p->ndigest_roles) < 0 ||
        yml_period(d, within, "\"digest\": \"within\"", &p->digest_n, &p->digest_unit) < 0)
        return -1;
    for (size_t i = 0; i < p->ndigest_roles; i++)
        if (esc_find_role(p, p->digest_roles[i])->attribute == NULL)
            return yml_err(d, roles, "\"digest\": role \"%s\" is not per case (\"attribute\")",
                           p->digest_roles[i]);
    p->digest = true;
    return 0;
}

int esc_load_string(const char *name, const char *yaml, size_t len, esc_policy **out,
                    char err[ESC_ERR_LEN])
{
    static const char *const keys[] = {"escalations", "roles",      "levels", "deadlines",
                                       "digest",      "unassigned", NULL};
    *out = NULL;
    yml_doc d;
    yaml_node_t *top;
    char yerr[YML_ERR_LEN];
    esc_policy *p = NULL;
    int rc = yml_doc_parse(&d, name, yaml, len, "escalation policy", yerr, &top);
    if (rc == 0 && !top)
        rc = yml_err(&d, NULL, "the file is empty");
    if (rc == 0) {
        p = yml_alloc(&d, sizeof *p);
        p->file = yml_strdup(&d, name);
        const char *ver;
        if (yml_want_map(&d, top, "top level") < 0 ||
            yml_check_keys(&d, top, "top level", keys) < 0 ||
            yml_get_str(&d, top, "escalations", "top level", true, &ver) < 0)
            rc = -1;
        else if ((p->version = atoi(ver)) <= 0 || strspn(ver, "0123456789") != strlen(ver))
            rc = yml_err(&d, yml_get(&d, top, "escalations"),
                         "\"escalations\": the version, a positive integer, got \"%s\"", ver);
    }
    yaml_node_t *v;
    if (rc == 0)
        rc = (v = yml_get(&d, top, "roles")) ? parse_roles(&d, p, v)
                                             : yml_err(&d, top, "missing \"roles\"");
    if (rc == 0)
        rc = (v = yml_get(&d, top, "levels")) ? parse_levels(&d, p, v)
                                              : yml_err(&d, top, "missing \"levels\"");
    if (rc == 0 && (v = yml_get(&d, top, "deadlines")))
        rc = parse_overrides(&d, p, v);
    if (rc == 0 && (v = yml_get(&d, top, "digest")))
        rc = parse_digest(&d, p, v);
    if (rc == 0 && (v = yml_get(&d, top, "unassigned")))
        rc = yml_str_list(&d, v, "\"unassigned\"", &p->unassigned, &p->nunassigned) < 0 ||
                     check_roles(&d, p, v, "\"unassigned\"", p->unassigned, p->nunassigned) < 0
                 ? -1
                 : 0;
    if (rc != 0) {
        snprintf(err, ESC_ERR_LEN, "%s", yerr);
        yml_doc_done(&d);
        return -1;
    }
    p->arena = yml_doc_release_arena(&d);
    yml_doc_done(&d);
    *out = p;
    return 0;
}

esc_policy *esc_empty(void)
{
    esc_policy *p = xcalloc(1, sizeof *p);
    p->file = "(none)";
    return p;
}

void esc_free(esc_policy *p)
{
    if (!p)
        return;
    if (p->arena)
        yml_arena_free(p->arena); /* p itself lives in the arena */
    else
        free(p);
}

/* The override of level for deadline name, or NULL: an exact name wins over a prefix. */
static const esc_override *find_override(const esc_policy *p, const char *name, const char *level)
{
    const esc_override *prefix = NULL;
    for (size_t i = 0; i < p->noverrides; i++) {
        const esc_override *o = &p->overrides[i];
        if (strcmp(o->level, level) != 0)
            continue;
        size_t n = strlen(o->deadline);
        if (!strcmp(o->deadline, name))
            return o;
        if (n && o->deadline[n - 1] == '*' && !strncmp(o->deadline, name, n - 1))
            prefix = o;
    }
    return prefix;
}

static cal_day offset_day(const esc_offset *o, const hol_calendar *cal, cal_day due)
{
    if (o->unit == CAL_WORKING_DAYS && cal) {
        if (o->after)
            return hol_add_working_days(cal, due, o->n);
        cal_day d = due;
        for (int left = o->n; left > 0;) {
            d = cal_add_days(d, -1);
            if (hol_is_working_day(cal, d))
                left--;
        }
        return d;
    }
    return cal_add(due, o->after ? o->n : -o->n, o->unit);
}

size_t esc_plan(const esc_policy *p, const hol_calendar *cal, const char *name, cal_day due,
                esc_fire *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nlevels; i++) {
        const esc_level *l = &p->levels[i];
        const esc_override *o = find_override(p, name, l->name);
        if (o && o->off)
            continue;
        const esc_offset *off = o && o->has_offset ? &o->offset : &l->offset;
        if (n < cap)
            out[n] = (esc_fire){l->name, offset_day(off, cal, due)};
        n++;
    }
    return n < cap ? n : cap;
}

const char *const *esc_level_roles(const esc_policy *p, const char *deadline, const char *level,
                                   size_t *n)
{
    const esc_override *o = find_override(p, deadline, level);
    if (o && o->to) {
        *n = o->nto;
        return o->to;
    }
    const esc_level *l = find_level(p, level);
    *n = l ? l->nto : 0;
    return l ? l->to : NULL;
}

bool esc_is_digest_role(const esc_policy *p, const char *role)
{
    for (size_t i = 0; p->digest && i < p->ndigest_roles; i++)
        if (!strcmp(p->digest_roles[i], role))
            return true;
    return false;
}

const char *esc_offset_words(const esc_offset *o, char buf[64])
{
    snprintf(buf, 64, "%d %s %s", o->n, cal_unit_name(o->unit, o->n),
             o->after ? "after" : "before");
    return buf;
}
