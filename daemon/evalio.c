/*
 * evalio: JSON in and out of the engine (see evalio.h).
 */
#include "evalio.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *eio_date(cal_day d)
{
    if (d == CAL_NONE)
        return json_null();
    char buf[CAL_DATE_LEN];
    return json_string(cal_format(d, buf));
}

cal_day eio_json_date(const json_t *v)
{
    cal_day d;
    if (!json_is_string(v) || cal_parse(json_string_value(v), &d) != 0)
        return CAL_NONE;
    return d;
}

wf_kv *eio_kv(json_t *obj, size_t *n)
{
    wf_kv *kv = xcalloc(json_object_size(obj) + 1, sizeof *kv);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        if (json_is_string(val)) {
            kv[i].key = key;
            kv[i].value = json_string_value(val);
            i++;
        }
    }
    *n = i;
    return kv;
}

/* A level that fires before the due date leaves out the roles that get the daily digest. */
json_t *eio_levels(const sf_daemon *d, const eng_deadline *dl)
{
    const esc_policy *p = d ? d->esc : NULL;
    if (!p || !p->nlevels)
        return NULL;
    json_t *levels = json_array();
    if (dl->kind != WF_DEADLINE_DUTY)
        return levels;
    esc_fire fires[ESC_MAX_LEVELS];
    size_t n = esc_plan(p, d->cal, dl->name, dl->due, fires, ESC_MAX_LEVELS);
    for (size_t i = 0; i < n; i++) {
        size_t nr;
        const char *const *roles = esc_level_roles(p, dl->name, fires[i].level, &nr);
        json_t *to = json_array();
        for (size_t k = 0; k < nr; k++)
            if (!(fires[i].fire_on < dl->due && esc_is_digest_role(p, roles[k])))
                json_array_append_new(to, json_string(roles[k]));
        if (json_array_size(to) == 0) {
            json_decref(to);
            continue;
        }
        json_array_append_new(levels, json_pack("{s:s,s:o,s:o}", "level", fires[i].level, "fire_on",
                                                eio_date(fires[i].fire_on), "roles", to));
    }
    return levels;
}

/* The levels an open duty escalates through (eio_levels), [] for any other deadline, NULL
 * without a policy. */
static json_t *escalate_json(const sf_daemon *d, const eng_deadline *dl)
{
    if (dl->resolution == ENG_OPEN)
        return eio_levels(d, dl);
    return d && d->esc && d->esc->nlevels ? json_array() : NULL;
}

/* A deadline's signature: 16 hex digits. */
typedef struct sig_text {
    char hex[17];
} sig_text;

/*
 * The signature of a deadline row as the daemon computed it: FNV-1a (64 bits)
 * of its canonical JSON (sorted keys), escalation levels included. Not a
 * defence against anyone: it only tells "this row is as stored" cheaply.
 */
static sig_text signature(const json_t *row)
{
    char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = sf_fnv1a64(text);
    free(text);
    sig_text out;
    snprintf(out.hex, sizeof out.hex, "%016" PRIx64, h);
    return out;
}

json_t *eio_deadlines_changed(json_t *dls, json_t *stored, json_t **gone)
{
    json_t *changed = json_array();
    *gone = json_array();
    size_t i;
    json_t *dl;
    json_array_foreach(dls, i, dl)
    {
        const char *name = json_string_value(json_object_get(dl, "name"));
        const char *have = json_string_value(json_object_get(stored, name ? name : ""));
        const char *sig = json_string_value(json_object_get(dl, "sig"));
        if (!have || !sig || strcmp(have, sig) != 0)
            json_array_append(changed, dl);
    }
    const char *name;
    json_t *v;
    json_object_foreach(stored, name, v)
    {
        bool kept = false;
        json_array_foreach(dls, i, dl)
        {
            const char *n = json_string_value(json_object_get(dl, "name"));
            if (n && strcmp(n, name) == 0) {
                kept = true;
                break;
            }
        }
        if (!kept)
            json_array_append_new(*gone, json_string(name));
    }
    return changed;
}

json_t *eio_deadlines(const sf_daemon *dm, const eng_result *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->ndeadlines; i++) {
        const eng_deadline *d = &r->deadlines[i];
        json_t *one =
            json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:o,s:o,s:b,s:s,s:s,s:s?}", "name", d->name,
                      "title", d->title, "kind", d->kind == WF_DEADLINE_PERIOD ? "period" : "duty",
                      "anchor_on", eio_date(d->anchor_on), "due", eio_date(d->due), "resolution",
                      eng_resolution_name(d->resolution), "met_on", eio_date(d->met_on),
                      "cancelled_on", eio_date(d->cancelled_on), "excusable", d->excusable, "basis",
                      d->basis ? d->basis : "", "explain", d->explain, "note", d->note);
        json_t *esc = escalate_json(dm, d);
        if (esc)
            json_object_set_new(one, "escalate", esc);
        json_object_set_new(one, "sig", json_string_nocheck(signature(one).hex));
        json_array_append_new(a, one);
    }
    return a;
}

void eio_input_env(const sf_daemon *d, cal_day dob, eng_input *in)
{
    in->cal = d->cal;
    in->svc = d->svc;
    in->has_dob = dob != CAL_NONE;
    in->dob = dob;
}

void eio_input_build(const sf_daemon *d, const wf_workflow *wf, json_t *proc, json_t *events,
                     json_t *dob, eio_input *x)
{
    memset(x, 0, sizeof *x);
    size_t na = 0;
    x->attrs = eio_kv(json_object_get(proc, "attrs"), &na);
    size_t n = json_array_size(events);
    x->events = xcalloc(n ? n : 1, sizeof *x->events);
    x->event_kv = xcalloc(n ? n : 1, sizeof *x->event_kv);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(events, i);
        const char *id = json_string_value(json_object_get(e, "id"));
        json_t *type = json_object_get(e, "type");
        size_t nk = 0;
        x->event_kv[i] = eio_kv(json_object_get(e, "attrs"), &nk);
        x->events[i] =
            (eng_event){.seq = id ? strtoll(id, NULL, 10)
                                  : (int64_t)json_integer_value(json_object_get(e, "id")),
                        .type = json_is_string(type) ? json_string_value(type) : "",
                        .on = eio_json_date(json_object_get(e, "on")),
                        .attrs = x->event_kv[i],
                        .nattrs = nk};
    }
    x->nevents = n;
    x->in = (eng_input){.wf = wf,
                        .start = eio_json_date(json_object_get(proc, "started_on")),
                        .attrs = x->attrs,
                        .nattrs = na,
                        .events = x->events,
                        .nevents = n};
    eio_input_env(d, eio_json_date(dob), &x->in);
}

void eio_input_free(eio_input *x)
{
    for (size_t i = 0; i < x->nevents; i++)
        free(x->event_kv[i]);
    free(x->event_kv);
    free(x->events);
    free(x->attrs);
    memset(x, 0, sizeof *x);
}

/* Whether the workflow's results read the service settings. */
static bool uses_svc(const wf_workflow *wf)
{
    for (size_t i = 0; i < wf->ndeadlines; i++)
        if (wf->deadlines[i].under_5)
            return true;
    for (size_t i = 0; i < wf->nattrs; i++)
        if (wf->attrs[i].school_year_of)
            return true;
    return false;
}

/*
 * FNV-1a over a file's bytes (0 when it cannot be read): a file edited without
 * raising its version still changes the stamp, so its processes are
 * recomputed all the same.
 */
static uint64_t file_hash(const char *path, uint64_t h)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return h;
    int c;
    while ((c = getc(f)) != EOF) {
        h ^= (unsigned char)c;
        h *= 1099511628211ULL;
    }
    fclose(f);
    return h;
}

/* The hash of every *.yaml file of a directory, in name order. */
static uint64_t dir_hash(const char *dir, uint64_t h)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len > 5 && !strcmp(names[i]->d_name + len - 5, ".yaml")) {
            char *path = xasprintf("%s/%s", dir, names[i]->d_name);
            h = file_hash(path, h);
            free(path);
        }
        free(names[i]);
    }
    free(names);
    return h;
}

char *eio_defs(const sf_daemon *d, const wf_workflow *wf)
{
    const uint64_t basis = 14695981039346656037ULL;
    sb b = {0};
    sb_addf(&b, "v%d #%016" PRIx64, wf->version, file_hash(wf->file, basis));
    if (wf->uses_calendar) {
        char *dir = xasprintf("%s/calendars", d->cfg.workflows);
        sb_addf(&b, "; calendar %s #%016" PRIx64, d->cal ? hol_version(d->cal) : "rules",
                dir_hash(dir, basis));
        free(dir);
    }
    if (d->esc && d->esc->version)
        sb_addf(&b, "; escalations v%d #%016" PRIx64, d->esc->version,
                file_hash(d->esc->file, basis));
    if (uses_svc(wf)) {
        char *path = xasprintf("%s/service.yaml", d->cfg.workflows);
        sb_addf(&b, "; service v%d #%016" PRIx64, d->svc ? d->svc->version : 0,
                file_hash(path, basis));
        free(path);
    }
    return sb_steal(&b);
}

char *eio_defs_json(const sf_daemon *d)
{
    json_t *o = json_object();
    for (size_t i = 0; i < d->workflows->n; i++) {
        const wf_workflow *wf = d->workflows->items[i];
        char *defs = eio_defs(d, wf);
        json_object_set_new(o, wf->name,
                            json_pack("{s:i,s:s}", "version", wf->version, "defs", defs));
        free(defs);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* Add "status" and "days" to each deadline of a process from the database, as of today. */
void eio_decorate_process(json_t *proc, cal_day today)
{
    json_t *dls = json_object_get(proc, "deadlines");
    size_t i;
    json_t *dl;
    json_array_foreach(dls, i, dl)
    {
        eng_resolution res = ENG_OPEN;
        const char *rs = json_string_value(json_object_get(dl, "resolution"));
        if (!rs || eng_resolution_parse(rs, &res) != 0)
            res = ENG_OPEN;
        const char *kind = json_string_value(json_object_get(dl, "kind"));
        wf_deadline_kind k =
            kind && strcmp(kind, "period") == 0 ? WF_DEADLINE_PERIOD : WF_DEADLINE_DUTY;
        cal_day due = eio_json_date(json_object_get(dl, "due"));
        cal_day met_on = eio_json_date(json_object_get(dl, "met_on"));
        bool excusable = json_is_true(json_object_get(dl, "excusable"));
        eng_status st = eng_deadline_status(k, res, due, met_on, excusable, today);
        json_object_set_new(dl, "status", json_string(eng_status_name(st)));
        json_object_set_new(dl, "days", json_integer((json_int_t)due - today));
        json_object_del(dl, "resolution");
        json_object_del(dl, "excusable");
    }
}

/* attrs as a JSON object (new ref). */
json_t *eio_attrs_json(const wf_kv *kv, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, kv[i].key, json_string(kv[i].value));
    return o;
}

char *eio_attrs_text(const wf_kv *kv, size_t n)
{
    json_t *o = eio_attrs_json(kv, n);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}
