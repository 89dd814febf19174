/*
 * render: the CLI's human-readable text (see render.h).
 *
 * Tables are built in memory first so every column can be as wide as its
 * widest cell; widths count UTF-8 code points, not bytes, so a title with an
 * accent does not throw the columns out. The last column is never padded, so
 * no line ends in spaces.
 */
#include "render.h"

#include <string.h>

#include "cal.h"

/* ---- reading the reply ------------------------------------------------- */

/*
 * jansson's object iterator takes a non-const json_t even though iterating
 * only reads; this is the one place the renderers drop const, and they never
 * write through the result.
 */
static json_t *render__mut(const json_t *j)
{
    union {
        const json_t *c;
        json_t *m;
    } u = {.c = j};
    return u.m;
}

/* The string at key, or NULL when absent or not a string; borrowed from obj. */
static const char *jstr(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* As jstr, with a fallback for absent fields. */
static const char *jstr_or(const json_t *obj, const char *key, const char *dflt)
{
    const char *s = jstr(obj, key);
    return s ? s : dflt;
}

/* Append a scalar as text: strings as they are, numbers, true/false, "-" for null or absent. */
static void add_scalar(sb *out, const json_t *v)
{
    if (json_is_string(v))
        sb_add(out, json_string_value(v));
    else if (json_is_integer(v))
        sb_addf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        sb_addf(out, "%g", json_real_value(v));
    else if (json_is_true(v))
        sb_add(out, "true");
    else if (json_is_false(v))
        sb_add(out, "false");
    else if (!v || json_is_null(v))
        sb_add(out, "-");
    else {
        char *s = json_dumps(v, JSON_COMPACT);
        sb_add(out, s ? s : "?");
        free(s);
    }
}

/* The scalar at key as a new string (caller frees). */
static char *scalar_dup(const json_t *obj, const char *key)
{
    sb b = {0};
    add_scalar(&b, json_object_get(obj, key));
    return sb_steal(&b);
}

/* Append an attributes object as "k=v, k=v"; nothing when empty or absent. */
static void add_attrs(sb *out, const json_t *attrs)
{
    const char *k;
    json_t *v;
    const char *sep = "";
    if (!json_is_object(attrs))
        return;
    json_object_foreach(render__mut(attrs), k, v)
    {
        sb_addf(out, "%s%s=", sep, k);
        add_scalar(out, v);
        sep = ", ";
    }
}

/* "1 day" / "3 days". */
static void add_days(sb *out, long long n)
{
    sb_addf(out, "%lld day%s", n, n == 1 ? "" : "s");
}

/* ---- dates ------------------------------------------------------------- */

static const char *const weekday_abbr[8] = {"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

/* Append "2026-05-25 Mon"; the string as it is when it is not a date, "-" when absent. */
static void add_due(sb *out, const char *date)
{
    cal_day d;
    if (!date) {
        sb_add(out, "-");
        return;
    }
    if (cal_parse(date, &d) == 0)
        sb_addf(out, "%s %s", date, weekday_abbr[cal_weekday(d)]);
    else
        sb_add(out, date);
}

/*
 * Append the WHEN words for a deadline or a due item: how far off it is, or
 * how it was met. "days" is due minus the daemon's today, so nothing here
 * needs a clock.
 */
static void add_when(sb *out, const json_t *dl)
{
    const char *status = jstr_or(dl, "status", "");
    const char *met_on = jstr(dl, "met_on");
    const char *due = jstr(dl, "due");
    const json_t *jdays = json_object_get(dl, "days");
    bool period = strcmp(jstr_or(dl, "kind", "duty"), "period") == 0;

    if (!strcmp(status, "pending") || !strcmp(status, "overdue")) {
        if (!json_is_integer(jdays)) {
            sb_add(out, status);
            return;
        }
        long long days = json_integer_value(jdays);
        if (days < 0) {
            add_days(out, -days);
            sb_add(out, period ? " since it ended" : " overdue");
        } else {
            if (period)
                sb_add(out, "ends ");
            if (days == 0)
                sb_add(out, "today");
            else if (days == 1)
                sb_add(out, "tomorrow");
            else {
                sb_add(out, "in ");
                add_days(out, days);
            }
        }
    } else if (!strcmp(status, "met") || !strcmp(status, "late")) {
        if (!met_on) {
            /* A period that simply ran its course has no met_on: it ended on its due date. */
            if (period && due)
                sb_addf(out, "ran until %s", due);
            else
                sb_add(out, status);
            return;
        }
        sb_addf(out, "%s %s", period ? "ended" : "met", met_on);
        cal_day m, d;
        if (!strcmp(status, "late") && due && cal_parse(met_on, &m) == 0 &&
            cal_parse(due, &d) == 0 && m > d) {
            sb_add(out, ", ");
            add_days(out, (long long)m - d);
            sb_add(out, " late");
        }
    } else if (!strcmp(status, "excused")) {
        /* Excused is not done: unmet, the duty to act as soon as practicable remains. */
        if (met_on) {
            sb_addf(out, "met %s, excused", met_on);
        } else if (json_is_integer(jdays) && json_integer_value(jdays) < 0) {
            add_days(out, -(long long)json_integer_value(jdays));
            sb_add(out, " overdue, excused");
        } else {
            sb_add(out, "excused");
        }
    } else if (!strcmp(status, "cancelled")) {
        const char *on = jstr(dl, "cancelled_on");
        if (on)
            sb_addf(out, "cancelled %s", on);
        else
            sb_add(out, "no longer applies");
    } else {
        sb_add(out, *status ? status : "-");
    }
}

/* ---- tables ------------------------------------------------------------ */

#define TBL_MAXCOLS 8

/* An aligned table: rows of cells, each row optionally followed by detail lines. */
typedef struct tbl {
    size_t ncols;
    char **cells;  /* nrows * ncols, owned */
    char **detail; /* nrows, owned; NULL or lines (each ending in \n) printed after the row */
    size_t nrows;
    size_t cap; /* rows allocated */
} tbl;

static void tbl_init(tbl *t, size_t ncols)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
}

/* Add a row; takes ownership of cells[0..ncols) and of detail (may be NULL). */
static void tbl_add(tbl *t, char **cells, char *detail)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 8;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
        t->detail = xrealloc(t->detail, t->cap * sizeof *t->detail);
    }
    memcpy(t->cells + t->nrows * t->ncols, cells, t->ncols * sizeof *cells);
    t->detail[t->nrows] = detail;
    t->nrows++;
}

/* Add the header row (copies the strings). */
static void tbl_header(tbl *t, const char *const *names)
{
    char *cells[TBL_MAXCOLS];
    for (size_t i = 0; i < t->ncols; i++)
        cells[i] = xstrdup(names[i]);
    tbl_add(t, cells, NULL);
}

/* Display width of a UTF-8 string: its code points (continuation bytes do not count). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

static void tbl_print(const tbl *t, sb *out, const char *indent)
{
    size_t width[TBL_MAXCOLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        sb_add(out, indent);
        /* Drop trailing empty cells so a line never ends in padding. */
        size_t last = t->ncols;
        while (last > 1 && !*t->cells[r * t->ncols + last - 1])
            last--;
        for (size_t c = 0; c < last; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            sb_add(out, cell);
            if (c + 1 < last)
                sb_addf(out, "%*s", (int)(width[c] - text_width(cell) + 2), "");
        }
        sb_add(out, "\n");
        if (t->detail[r])
            sb_add(out, t->detail[r]);
    }
}

static void tbl_free(tbl *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    for (size_t r = 0; r < t->nrows; r++)
        free(t->detail[r]);
    free(t->cells);
    free(t->detail);
    memset(t, 0, sizeof *t);
}

/* ---- pieces shared by several commands ---------------------------------- */

void render_deadlines(sb *out, const json_t *deadlines, const char *indent)
{
    static const char *const head[] = {"DEADLINE", "DUE", "STATUS", "WHEN"};
    size_t n = json_array_size(deadlines);
    if (n == 0) {
        sb_addf(out, "%sno deadlines\n", indent);
        return;
    }
    tbl t;
    tbl_init(&t, 4);
    tbl_header(&t, head);
    for (size_t i = 0; i < n; i++) {
        const json_t *dl = json_array_get(deadlines, i);
        sb c = {0};
        char *cells[4];
        cells[0] = xstrdup(jstr_or(dl, "name", "-"));
        add_due(&c, jstr(dl, "due"));
        cells[1] = sb_steal(&c);
        cells[2] = xstrdup(jstr_or(dl, "status", "-"));
        add_when(&c, dl);
        cells[3] = sb_steal(&c);

        /* The why: explanation and legal basis, then the note. */
        const char *explain = jstr(dl, "explain");
        const char *basis = jstr(dl, "basis");
        const char *note = jstr(dl, "note");
        sb d = {0};
        if (explain || basis) {
            sb_addf(&d, "%s    ", indent);
            if (explain)
                sb_add(&d, explain);
            if (explain && basis)
                sb_add(&d, " \xc2\xb7 "); /* U+00B7 middle dot */
            if (basis)
                sb_add(&d, basis);
            sb_add(&d, "\n");
        }
        if (note && *note)
            sb_addf(&d, "%s    note: %s\n", indent, note);
        tbl_add(&t, cells, d.len ? sb_steal(&d) : NULL);
        sb_free(&d);
    }
    tbl_print(&t, out, indent);
    tbl_free(&t);
}

/* Append "process 1, now assessing" (and ", completed" when it has ended). */
static void add_process_brief(sb *out, const json_t *proc)
{
    sb_add(out, "process ");
    add_scalar(out, json_object_get(proc, "id"));
    const char *state = jstr(proc, "state");
    const char *status = jstr(proc, "status");
    if (state)
        sb_addf(out, ", now %s", state);
    if (status && strcmp(status, "active") != 0)
        sb_addf(out, ", %s", status);
}

/* "started annual-review (process 2)" and its deadlines. */
static void add_started(sb *out, const json_t *started)
{
    for (size_t i = 0; i < json_array_size(started); i++) {
        const json_t *p = json_array_get(started, i);
        sb_addf(out, "started %s (process ", jstr_or(p, "workflow", "?"));
        add_scalar(out, json_object_get(p, "id"));
        sb_add(out, ")");
        if (jstr(p, "started_on"))
            sb_addf(out, " on %s", jstr(p, "started_on"));
        sb_add(out, "\n");
        render_deadlines(out, json_object_get(p, "deadlines"), "  ");
    }
}

/* ---- one renderer per command ------------------------------------------ */

void render_case_open(sb *out, const json_t *reply)
{
    const json_t *c = json_object_get(reply, "case");
    const char *ref = json_is_object(c) ? jstr_or(c, "ref", "?") : jstr_or(reply, "case", "?");
    if (json_is_false(json_object_get(reply, "created")))
        sb_addf(out, "case %s already open\n", ref);
    else
        sb_addf(out, "opened case %s\n", ref);
}

void render_show(sb *out, const json_t *reply)
{
    sb_addf(out, "Case %s", jstr_or(reply, "case", "?"));
    if (jstr(reply, "dob"))
        sb_addf(out, " (born %s)", jstr(reply, "dob"));
    sb_add(out, "\n");
    const json_t *attrs = json_object_get(reply, "attrs");
    if (json_object_size(attrs)) {
        sb_add(out, "  ");
        add_attrs(out, attrs);
        sb_add(out, "\n");
    }

    const json_t *procs = json_object_get(reply, "processes");
    if (json_array_size(procs) == 0) {
        sb_add(out, "\nno processes\n");
        return;
    }
    for (size_t i = 0; i < json_array_size(procs); i++) {
        const json_t *p = json_array_get(procs, i);
        sb_add(out, "\nProcess ");
        add_scalar(out, json_object_get(p, "id"));
        sb_addf(out, ": %s", jstr_or(p, "workflow", "?"));
        if (json_is_integer(json_object_get(p, "version")))
            sb_addf(out, " v%lld", (long long)json_integer_value(json_object_get(p, "version")));
        sb_addf(out, ", %s", jstr_or(p, "status", "-"));
        if (jstr(p, "state"))
            sb_addf(out, ", state %s", jstr(p, "state"));
        sb_add(out, "\n  started ");
        sb_add(out, jstr_or(p, "started_on", "-"));
        if (jstr(p, "ended_on"))
            sb_addf(out, ", ended %s", jstr(p, "ended_on"));
        const json_t *parent = json_object_get(p, "parent");
        if (parent && !json_is_null(parent)) {
            sb_add(out, ", started by process ");
            add_scalar(out, parent);
        }
        sb_add(out, "\n");
        const json_t *pattrs = json_object_get(p, "attrs");
        if (json_object_size(pattrs)) {
            sb_add(out, "  ");
            add_attrs(out, pattrs);
            sb_add(out, "\n");
        }
        render_deadlines(out, json_object_get(p, "deadlines"), "  ");
    }
}

void render_start(sb *out, const json_t *reply, const char *case_ref, const char *key)
{
    const json_t *p = json_object_get(reply, "process");
    if (json_is_true(json_object_get(reply, "duplicate"))) {
        sb_add(out, "already started");
        if (key)
            sb_addf(out, " (idempotency key %s)", key);
        sb_add(out, ": nothing changed\n");
    } else {
        sb_addf(out, "started %s for %s on %s (", jstr_or(p, "workflow", "?"), case_ref,
                jstr_or(p, "started_on", "?"));
        add_process_brief(out, p);
        sb_add(out, ")\n");
    }
    render_deadlines(out, json_object_get(p, "deadlines"), "  ");
}

void render_event(sb *out, const json_t *reply, const char *case_ref, const char *key)
{
    const json_t *ev = json_object_get(reply, "event");
    const json_t *p = json_object_get(reply, "process");
    if (json_is_true(json_object_get(reply, "duplicate"))) {
        sb_add(out, "already recorded");
        if (key)
            sb_addf(out, " (idempotency key %s)", key);
        sb_add(out, ": nothing changed\n");
    } else {
        sb_addf(out, "recorded %s on %s for %s (", jstr_or(ev, "type", "?"), jstr_or(ev, "on", "?"),
                case_ref);
        add_process_brief(out, p);
        sb_add(out, ")\n");
    }
    render_deadlines(out, json_object_get(p, "deadlines"), "  ");
    add_started(out, json_object_get(reply, "started"));
}

void render_due(sb *out, const json_t *reply, long within, bool overdue)
{
    const char *today = jstr_or(reply, "today", "?");
    if (overdue)
        sb_addf(out, "Overdue on %s (today)\n", today);
    else
        sb_addf(out, "Due within %ld day%s of %s (today)\n", within, within == 1 ? "" : "s", today);

    const json_t *items = json_object_get(reply, "items");
    if (json_array_size(items) == 0) {
        sb_add(out, overdue ? "nothing overdue\n" : "nothing due\n");
        return;
    }
    static const char *const head[] = {"CASE", "DEADLINE", "DUE", "STATUS", "WHEN", "BASIS"};
    tbl t;
    tbl_init(&t, 6);
    tbl_header(&t, head);
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        sb c = {0};
        char *cells[6];
        cells[0] = scalar_dup(it, "case");
        cells[1] = xstrdup(jstr_or(it, "deadline", "-"));
        add_due(&c, jstr(it, "due"));
        cells[2] = sb_steal(&c);
        cells[3] = xstrdup(jstr_or(it, "status", "-"));
        add_when(&c, it);
        cells[4] = sb_steal(&c);
        cells[5] = xstrdup(jstr_or(it, "basis", ""));
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
    if (json_is_true(json_object_get(reply, "truncated")))
        sb_addf(out, "(only the first %zu are listed: narrow --within)\n", json_array_size(items));
}

void render_clock(sb *out, const json_t *reply)
{
    const char *mode = jstr_or(reply, "mode", "");
    sb_addf(out, "%s %s (%s)\n", jstr_or(reply, "now", "?"),
            jstr_or(reply, "zone", "Europe/London"),
            !strcmp(mode, "simulated") ? "simulated"
            : !strcmp(mode, "real")    ? "real clock"
                                       : mode);
}

void render_workflows(sb *out, const json_t *reply)
{
    const json_t *wfs = json_object_get(reply, "workflows");
    if (json_array_size(wfs) == 0) {
        sb_add(out, "no workflows loaded\n");
        return;
    }
    tbl t;
    tbl_init(&t, 4);
    for (size_t i = 0; i < json_array_size(wfs); i++) {
        const json_t *w = json_array_get(wfs, i);
        char *cells[4];
        cells[0] = xstrdup(jstr_or(w, "name", "?"));
        const json_t *v = json_object_get(w, "version");
        cells[1] = json_is_integer(v) ? xasprintf("v%lld", (long long)json_integer_value(v))
                                      : xstrdup("-");
        cells[2] = xstrdup(jstr_or(w, "title", ""));
        cells[3] = xstrdup(jstr_or(w, "file", ""));
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
}

void render_ping(sb *out, const json_t *reply, const char *where)
{
    sb_addf(out, "sendflowd %s answers at %s\n", jstr_or(reply, "version", "?"), where);
}
