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

/*
 * Display width of a UTF-8 string: its code points (continuation bytes do
 * not count), leaving out colour sequences (ESC [ ... m), which take none.
 */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++) {
        if (*s == '\033' && s[1] == '[') {
            for (s += 2; *s && *s != 'm'; s++)
                ;
            if (!*s)
                break;
            continue;
        }
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    }
    return w;
}

/* ---- colour ------------------------------------------------------------- */

static bool colour;

void render_set_colour(bool on)
{
    colour = on;
}

/* Days from which a pending duty counts as "at risk" in colour (the policy's at-risk is >= 10
 * working days: the client does not know it). */
#define AT_RISK_DAYS 14

/*
 * A status for a table cell (caller frees): overdue (and excused: still
 * unmet) in red, a pending duty due within AT_RISK_DAYS in yellow, when
 * colour is on; the plain word otherwise.
 */
static char *status_cell(const json_t *dl)
{
    const char *status = jstr_or(dl, "status", "-");
    const char *on = NULL;
    if (colour) {
        const json_t *days = json_object_get(dl, "days");
        if (!strcmp(status, "overdue") || !strcmp(status, "excused"))
            on = "\033[31m";
        else if (!strcmp(status, "pending") && json_is_integer(days) &&
                 json_integer_value(days) <= AT_RISK_DAYS &&
                 strcmp(jstr_or(dl, "kind", "duty"), "period") != 0)
            on = "\033[33m";
    }
    if (!on)
        return xstrdup(status);
    sb c = {0};
    sb_addf(&c, "%s%s\033[0m", on, status);
    return sb_steal(&c);
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
        cells[2] = status_cell(dl);
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

/* Append a process's flags ("flag: preparing-for-adulthood review: Year 9 from ..."). */
static void add_flags(sb *out, const json_t *flags)
{
    for (size_t i = 0; i < json_array_size(flags); i++) {
        const json_t *f = json_array_get(flags, i);
        sb_addf(out, "  flag: %s", jstr_or(f, "title", jstr_or(f, "name", "?")));
        const char *note = jstr(f, "note");
        if (note && *note)
            sb_addf(out, ": %s", note);
        sb_add(out, "\n");
    }
}

/*
 * Append one process as show prints it: a blank line, its heading, dates,
 * flags, attributes and deadlines. Shared with void, whose reply carries the
 * process as recomputed so the caseworker sees at once what the void changed.
 */
static void add_process(sb *out, const json_t *p)
{
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
    add_flags(out, json_object_get(p, "flags"));
    const json_t *pattrs = json_object_get(p, "attrs");
    if (json_object_size(pattrs)) {
        sb_add(out, "  ");
        add_attrs(out, pattrs);
        sb_add(out, "\n");
    }
    render_deadlines(out, json_object_get(p, "deadlines"), "  ");
}

/*
 * The coming phase transfers the daemon worked out from the date of birth,
 * as a short table; nothing when there are none. A transfer with no process
 * yet says so, since that is the one a caseworker has to act on.
 */
static void add_transfers(sb *out, const json_t *transfers)
{
    size_t n = json_array_size(transfers);
    if (n == 0)
        return;
    static const char *const head[] = {"TRANSFER", "DATE", "OPENS", "DEADLINE", "PROCESS"};
    tbl t;
    tbl_init(&t, 5);
    tbl_header(&t, head);
    for (size_t i = 0; i < n; i++) {
        const json_t *tr = json_array_get(transfers, i);
        sb c = {0};
        char *cells[5];
        cells[0] = xstrdup(jstr_or(tr, "transfer", "-"));
        add_due(&c, jstr(tr, "date"));
        cells[1] = sb_steal(&c);
        add_due(&c, jstr(tr, "opens"));
        cells[2] = sb_steal(&c);
        add_due(&c, jstr(tr, "deadline"));
        cells[3] = sb_steal(&c);
        const json_t *proc = json_object_get(tr, "process");
        if (!proc || json_is_null(proc))
            cells[4] = xstrdup("not started");
        else
            cells[4] = scalar_dup(tr, "process");
        tbl_add(&t, cells, NULL);
    }
    sb_add(out, "\nComing phase transfers\n");
    tbl_print(&t, out, "  ");
    tbl_free(&t);
}

void render_show(sb *out, const json_t *reply)
{
    sb_addf(out, "Case %s", jstr_or(reply, "case", "?"));
    if (jstr(reply, "dob"))
        sb_addf(out, " (born %s)", jstr(reply, "dob"));
    if (jstr(reply, "as_known_on"))
        sb_addf(out,
                ", as known on %s (what had been recorded by the end of that day; today's "
                "attributes)",
                jstr(reply, "as_known_on"));
    sb_add(out, "\n");
    const json_t *attrs = json_object_get(reply, "attrs");
    if (json_object_size(attrs)) {
        sb_add(out, "  ");
        add_attrs(out, attrs);
        sb_add(out, "\n");
    }
    /* Nobody's case is nobody's work: say so (sendflow case assign). */
    if (!jstr(attrs, "officer"))
        sb_add(out, "  unassigned: no officer (sendflow case assign REF --officer NAME)\n");
    add_transfers(out, json_object_get(reply, "transfers"));

    const json_t *procs = json_object_get(reply, "processes");
    if (json_array_size(procs) == 0) {
        sb_add(out, "\nno processes\n");
        return;
    }
    for (size_t i = 0; i < json_array_size(procs); i++)
        add_process(out, json_array_get(procs, i));
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
    /*
     * A what-if list ("on") is judged on another day than today: say so in
     * the heading, or a caseworker could take a projected "overdue" for a
     * real one. The "days" of each item count from that day too.
     */
    const char *on = jstr(reply, "on");
    const char *today = jstr(reply, "today");
    const char *known = jstr(reply, "as_known_on");
    if (on && today && strcmp(on, today) == 0)
        on = NULL; /* the daemon names the day judged even when it is today */
    if (overdue)
        sb_add(out, "Overdue");
    else
        sb_addf(out, "Due within %ld day%s", within, within == 1 ? "" : "s");
    if (known)
        sb_addf(out, " as known on %s (what had been recorded by the end of that day)", known);
    else if (on)
        sb_addf(out, " as on %s (what-if; the clock is not moved)", on);
    else
        sb_addf(out, "%s %s (today)", overdue ? " on" : " of", jstr_or(reply, "today", "?"));
    if (jstr(reply, "officer"))
        sb_addf(out, ", officer %s", jstr(reply, "officer"));
    if (jstr(reply, "team"))
        sb_addf(out, ", team %s", jstr(reply, "team"));
    sb_add(out, "\n");

    const json_t *items = json_object_get(reply, "items");
    if (json_array_size(items) == 0) {
        sb_add(out, overdue ? "nothing overdue\n" : "nothing due\n");
        return;
    }
    /* An OFFICER column when the daemon names them (an older one does not). */
    bool officers = json_object_get(json_array_get(items, 0), "officer") != NULL;
    static const char *const head[] = {"CASE",   "OFFICER", "DEADLINE", "DUE",
                                       "STATUS", "WHEN",    "BASIS"};
    static const char *const head_old[] = {"CASE", "DEADLINE", "DUE", "STATUS", "WHEN", "BASIS"};
    size_t ncols = officers ? 7 : 6;
    tbl t;
    tbl_init(&t, ncols);
    tbl_header(&t, officers ? head : head_old);
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        sb c = {0};
        char *cells[7];
        size_t k = 0;
        cells[k++] = scalar_dup(it, "case");
        if (officers)
            cells[k++] = xstrdup(jstr_or(it, "officer", "unassigned"));
        cells[k++] = xstrdup(jstr_or(it, "deadline", "-"));
        add_due(&c, jstr(it, "due"));
        cells[k++] = sb_steal(&c);
        cells[k++] = status_cell(it);
        add_when(&c, it);
        cells[k++] = sb_steal(&c);
        cells[k++] = xstrdup(jstr_or(it, "basis", ""));
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
    /* A daemon that pages says how to go on ("next": see render_more); an older one cannot. */
    if (json_is_true(json_object_get(reply, "truncated")) && !jstr(reply, "next"))
        sb_addf(out, "(only the first %zu are listed: narrow --within)\n", json_array_size(items));
}

/*
 * Append s on one line: a control character (a newline in a reason typed
 * into a hub, say) becomes a space, so it cannot break a table row or pass
 * for a line of its own in an audit.
 */
static void add_oneline(sb *out, const char *s)
{
    for (; *s; s++) {
        char ch = ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s;
        sb_addn(out, &ch, 1);
    }
}

/*
 * A recorded_at timestamp for a table cell: "2026-01-05T09:00:00.123Z" as
 * "2026-01-05 09:00:00 UTC". It stays in the zone the daemon sent: cal has
 * no time zones by design, and converting instants is the daemon's job.
 * Anything of another shape is shown as it is. Caller frees.
 */
static char *recorded_dup(const json_t *entry)
{
    const char *s = jstr(entry, "recorded_at");
    if (!s)
        return xstrdup("-");
    size_t n = strlen(s);
    if (n < 19 || s[10] != 'T')
        return xstrdup(s);
    sb b = {0};
    sb_addn(&b, s, 10);
    sb_add(&b, " ");
    sb_addn(&b, s + 11, 8);
    const char *zone = s + 19;
    if (*zone == '.')
        for (zone++; *zone >= '0' && *zone <= '9'; zone++)
            ;
    if (!strcmp(zone, "Z") || !strcmp(zone, "+00:00") || !strcmp(zone, "+00"))
        sb_add(&b, " UTC");
    else if (*zone)
        sb_addf(&b, " %s", zone);
    return sb_steal(&b);
}

/* The event entry with id in a history's entries; borrowed, NULL when none. */
static const json_t *history_event(const json_t *entries, const char *id)
{
    for (size_t i = 0; id && i < json_array_size(entries); i++) {
        const json_t *e = json_array_get(entries, i);
        if (!strcmp(jstr_or(e, "kind", ""), "event") && !strcmp(jstr_or(e, "id", ""), id))
            return e;
    }
    return NULL;
}

/* "3 ehcp-assessment" for the PROCESS column; "" when the entry names none. */
static char *history_process_dup(const json_t *e)
{
    const json_t *id = json_object_get(e, "process");
    if (!id || json_is_null(id))
        return xstrdup("");
    sb b = {0};
    add_scalar(&b, id);
    if (jstr(e, "workflow"))
        sb_addf(&b, " %s", jstr(e, "workflow"));
    return sb_steal(&b);
}

/* Append " (k=v, k=v)" for a non-empty attributes object. */
static void add_attrs_paren(sb *out, const json_t *attrs)
{
    if (json_object_size(attrs) == 0)
        return;
    sb_add(out, " (");
    add_attrs(out, attrs);
    sb_add(out, ")");
}

/*
 * The history of a case as an audit table, one row per start, event and
 * void in recording order. A voided event keeps its row, marked VOIDED; the
 * void has its own row (who, when, why), so nothing is ever hidden. A void's
 * row names the process of the event it voided, found earlier in the list.
 */
void render_history(sb *out, const json_t *reply)
{
    const json_t *entries = json_object_get(reply, "entries");
    size_t n = json_array_size(entries);
    sb_addf(out, "History of case %s\n", jstr_or(reply, "case", "?"));
    if (n == 0) {
        sb_add(out, "nothing recorded\n");
        return;
    }
    static const char *const head[] = {"RECORDED", "BY", "EVENT", "PROCESS", "WHAT"};
    tbl t;
    tbl_init(&t, 5);
    tbl_header(&t, head);
    size_t nvoided = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(entries, i);
        const char *kind = jstr_or(e, "kind", "?");
        char *cells[5];
        sb w = {0};
        cells[0] = recorded_dup(e);
        cells[1] = scalar_dup(e, "actor");
        if (!strcmp(kind, "start")) {
            cells[2] = xstrdup("");
            cells[3] = history_process_dup(e);
            sb_addf(&w, "started %s", jstr_or(e, "workflow", "?"));
            add_attrs_paren(&w, json_object_get(e, "attrs"));
            sb_addf(&w, " on %s", jstr_or(e, "on", "?"));
            const json_t *by = json_object_get(e, "by_event");
            if (by && !json_is_null(by)) {
                sb_add(&w, ", by event ");
                add_scalar(&w, by);
            }
        } else if (!strcmp(kind, "event")) {
            cells[2] = scalar_dup(e, "id");
            cells[3] = history_process_dup(e);
            sb_add(&w, jstr_or(e, "type", "?"));
            add_attrs_paren(&w, json_object_get(e, "attrs"));
            sb_addf(&w, " on %s", jstr_or(e, "on", "?"));
            if (jstr(e, "key"))
                sb_addf(&w, ", key %s", jstr(e, "key"));
            if (json_is_true(json_object_get(e, "voided"))) {
                sb_add(&w, "  VOIDED");
                nvoided++;
            }
        } else if (!strcmp(kind, "void")) {
            const char *target = jstr(e, "event");
            const json_t *ev = history_event(entries, target);
            cells[2] = scalar_dup(e, "event");
            cells[3] = ev ? history_process_dup(ev) : xstrdup("");
            sb_add(&w, "VOID of event ");
            add_scalar(&w, json_object_get(e, "event"));
            sb_addf(&w, " (%s on %s): ", jstr_or(e, "type", "?"), jstr_or(e, "on", "?"));
            add_oneline(&w, jstr_or(e, "reason", "-"));
        } else {
            /* A kind this client does not know: show it rather than drop it. */
            cells[2] = scalar_dup(e, "id");
            cells[3] = history_process_dup(e);
            sb_add(&w, kind);
        }
        cells[4] = sb_steal(&w);
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
    if (nvoided)
        sb_addf(out, "(%zu event%s voided: kept for the record, no longer counted)\n", nvoided,
                nvoided == 1 ? "" : "s");
}

void render_audit(sb *out, const json_t *reply)
{
    const json_t *rows = json_object_get(reply, "rows");
    size_t n = json_array_size(rows);
    if (n == 0) {
        sb_add(out, "nothing in the audit trail\n");
        return;
    }
    static const char *const head[] = {"AT (UTC)", "CLOCK", "WHO", "ROLE",
                                       "OP",       "CASE",  "KEY", "RESULT"};
    tbl t;
    tbl_init(&t, 8);
    tbl_header(&t, head);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        char *cells[8];
        sb who = {0};
        sb_add(&who, jstr_or(r, "via", "?"));
        if (jstr(r, "on_behalf"))
            sb_addf(&who, " for %s", jstr(r, "on_behalf"));
        cells[0] = scalar_dup(r, "at");
        cells[1] = scalar_dup(r, "clock");
        cells[2] = sb_steal(&who);
        cells[3] = scalar_dup(r, "role");
        cells[4] = scalar_dup(r, "op");
        cells[5] = scalar_dup(r, "case");
        cells[6] = scalar_dup(r, "key");
        cells[7] = scalar_dup(r, "result");
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
}

/* "a, b" from an array of strings; "any" when it is not an array. New string. */
/* A feed token's calendar ("feed: officer jb"), or NULL for any other token. */
static char *feed_dup(const json_t *r)
{
    if (jstr(r, "officer"))
        return xasprintf("feed: officer %s", jstr(r, "officer"));
    if (jstr(r, "team"))
        return xasprintf("feed: team %s", jstr(r, "team"));
    return NULL;
}

static char *events_dup(const json_t *events)
{
    if (!json_is_array(events))
        return xstrdup("any");
    sb b = {0};
    size_t i;
    const json_t *e;
    json_array_foreach(events, i, e)
        sb_addf(&b, "%s%s", i ? "," : "", json_string_value(e) ? json_string_value(e) : "?");
    return sb_steal(&b);
}

void render_token_add(sb *out, const json_t *reply)
{
    char *feed = feed_dup(reply);
    char *ev = feed ? feed : events_dup(json_object_get(reply, "events"));
    sb_addf(out, "token %s (%s; %s%s):\n%s\n", jstr_or(reply, "name", "?"),
            jstr_or(reply, "role", "?"), feed ? "" : "events: ", ev, jstr_or(reply, "token", "?"));
    sb_add(out, "It is shown this once (only its hash is kept): give it to the client now, as "
                "--token or SENDFLOW_TOKEN.\n");
    free(ev);
}

void render_token_list(sb *out, const json_t *reply)
{
    const json_t *rows = json_object_get(reply, "tokens");
    size_t n = json_array_size(rows);
    if (n == 0) {
        sb_add(out, "no tokens\n");
        return;
    }
    static const char *const head[] = {"NAME", "ROLE", "EVENTS", "CREATED (UTC)", "BY", "REVOKED"};
    tbl t;
    tbl_init(&t, 6);
    tbl_header(&t, head);
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        char *cells[6];
        cells[0] = scalar_dup(r, "name");
        cells[1] = scalar_dup(r, "role");
        cells[2] = feed_dup(r);
        if (!cells[2])
            cells[2] = events_dup(json_object_get(r, "events"));
        cells[3] = scalar_dup(r, "created");
        cells[4] = scalar_dup(r, "created_by");
        cells[5] = jstr(r, "revoked")
                       ? xasprintf("%s by %s", jstr(r, "revoked"), jstr_or(r, "revoked_by", "?"))
                       : xstrdup("-");
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
}

void render_void(sb *out, const json_t *reply, const char *case_ref, const char *event_id,
                 const char *reason, const char *key)
{
    const char *id = jstr_or(reply, "voided", event_id);
    /* The event's type and date, when the reply carries them (in "event" or at the top). */
    const json_t *ev = json_object_get(reply, "event");
    const char *type = jstr(ev, "type") ? jstr(ev, "type") : jstr(reply, "type");
    const char *on = jstr(ev, "on") ? jstr(ev, "on") : jstr(reply, "on");
    if (json_is_true(json_object_get(reply, "duplicate"))) {
        sb_addf(out, "event %s of %s already voided", id, case_ref);
        if (key)
            sb_addf(out, " (idempotency key %s)", key);
        sb_add(out, ": nothing changed\n");
    } else {
        sb_addf(out, "voided event %s", id);
        if (type && on)
            sb_addf(out, " (%s on %s)", type, on);
        else if (type)
            sb_addf(out, " (%s)", type);
        sb_addf(out, " of %s: ", case_ref);
        add_oneline(out, reason);
        sb_add(out, "\n");
    }
    const json_t *p = json_object_get(reply, "process");
    if (json_is_object(p))
        add_process(out, p);
}

/* "+1 day", "-3 days", "0 days". */
static void add_signed_days(sb *out, long long n)
{
    sb_add(out, n > 0 ? "+" : n < 0 ? "-" : "");
    add_days(out, n < 0 ? -n : n);
}

/*
 * The recompute summary and one aligned line per deadline whose due date
 * moved (or that appeared or disappeared). The from/to/arrow are separate
 * cells so the dates line up even when one side is missing.
 */
void render_recompute(sb *out, const json_t *reply)
{
    const json_t *np = json_object_get(reply, "processes");
    const json_t *nb = json_object_get(reply, "batches");
    bool dry = json_is_true(json_object_get(reply, "dry_run"));
    sb_add(out, dry ? "dry run, nothing written: would recompute " : "recomputed ");
    add_scalar(out, np);
    sb_addf(out, " process%s in ", json_integer_value(np) == 1 ? "" : "es");
    add_scalar(out, nb);
    sb_addf(out, " batch%s (", json_integer_value(nb) == 1 ? "" : "es");
    add_scalar(out, json_object_get(reply, "ms"));
    sb_add(out, " ms): ");
    add_scalar(out, json_object_get(reply, "changed"));
    sb_add(out, dry ? " would change\n" : " changed\n");

    const json_t *moved = json_object_get(reply, "moved");
    size_t n = json_array_size(moved);
    if (n == 0) {
        sb_add(out, dry ? "no deadline would move\n" : "no deadline moved\n");
        return;
    }
    tbl t;
    tbl_init(&t, 7);
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(moved, i);
        const char *from = jstr(m, "from");
        const char *to = jstr(m, "to");
        sb c = {0};
        char *cells[7];
        cells[0] = scalar_dup(m, "case");
        cells[1] = xstrdup(jstr_or(m, "workflow", "-"));
        cells[2] = xstrdup(jstr_or(m, "deadline", "-"));
        cells[3] = xstrdup(from ? from : "-");
        cells[4] = xstrdup("\xe2\x86\x92"); /* U+2192 rightwards arrow */
        cells[5] = xstrdup(to ? to : "-");
        const json_t *jdays = json_object_get(m, "days");
        cal_day f, d;
        if (!from && to)
            sb_add(&c, "(new)");
        else if (from && !to)
            sb_add(&c, "(removed)");
        else if (json_is_integer(jdays)) {
            sb_add(&c, "(");
            add_signed_days(&c, json_integer_value(jdays));
            sb_add(&c, ")");
        } else if (from && to && cal_parse(from, &f) == 0 && cal_parse(to, &d) == 0) {
            sb_add(&c, "(");
            add_signed_days(&c, (long long)d - f);
            sb_add(&c, ")");
        }
        cells[6] = sb_steal(&c);
        /* The escalation levels the move brings due: sent at the scheduler's next look. */
        const json_t *levels = json_object_get(m, "levels_due");
        sb detail = {0};
        for (size_t k = 0; k < json_array_size(levels); k++)
            sb_addf(&detail, "%s%s",
                    k     ? ", "
                    : dry ? "would fire: "
                          : "fires: ",
                    json_string_value(json_array_get(levels, k)));
        tbl_add(&t, cells, detail.len ? sb_steal(&detail) : NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
    if (json_is_true(json_object_get(reply, "moved_truncated")))
        sb_addf(out, "(only the first %zu moved deadlines are listed)\n", n);
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

void render_report(sb *out, const json_t *reply, const char *written_to)
{
    const char *content = jstr_or(reply, "content", "");
    if (!written_to) {
        sb_add(out, content);
        return;
    }
    const json_t *data = json_object_get(reply, "data");
    const char *label = jstr_or(data, "period_label", jstr_or(reply, "period", "?"));
    sb_addf(out, "wrote the %s report for %s (%s, as on %s, %zu bytes) to %s\n",
            jstr_or(reply, "board", "?"), label, jstr_or(reply, "format", "?"),
            jstr_or(reply, "as_on", "?"), strlen(content), written_to);
}

void render_report_queue(sb *out, const json_t *reply)
{
    const json_t *list = json_object_get(reply, "recipients");
    if (!list)
        return;
    json_int_t queued = json_integer_value(json_object_get(reply, "queued"));
    json_int_t before = json_integer_value(json_object_get(reply, "already_queued"));
    if (json_array_size(list) == 0) {
        sb_addf(out,
                "no pack queued: the %s board has no members with a channel (workflows/"
                "channels.yaml)\n",
                jstr_or(reply, "board", "?"));
        return;
    }
    sb_addf(out, "board pack %s %s: %lld notice%s queued now, %lld queued before\n",
            jstr_or(reply, "board", "?"), jstr_or(reply, "period", "?"), (long long)queued,
            queued == 1 ? "" : "s", (long long)before);
    size_t i;
    json_t *r;
    json_array_foreach(list, i, r)
    {
        sb_addf(out, "  %-12s %-8s %-32s %s\n", jstr_or(r, "person", "?"),
                jstr_or(r, "channel", "?"), jstr_or(r, "target", "?"),
                json_is_true(json_object_get(r, "queued")) ? "queued" : "already queued");
    }
}

/* "jb (email), mk (email, webhook)" from an escalation's recipients. */
static void add_recipients(sb *out, const json_t *recips)
{
    size_t i;
    json_t *r;
    const char *last = NULL;
    bool any = false;
    json_array_foreach(recips, i, r)
    {
        const char *person = json_string_value(json_object_get(r, "person"));
        const char *channel = json_string_value(json_object_get(r, "channel"));
        if (!person)
            continue;
        if (last && !strcmp(last, person)) {
            sb_addf(out, ", %s", channel ? channel : "?");
        } else {
            sb_addf(out, "%s%s (%s", any ? "), " : "", person,
                    channel && strcmp(channel, "none") ? channel : "no channel");
            any = true;
        }
        last = person;
    }
    sb_add(out, any ? ")" : "nobody");
}

void render_escalations(sb *out, const json_t *reply, bool open_only)
{
    const json_t *list = json_object_get(reply, "escalations");
    if (json_array_size(list) == 0) {
        sb_add(out, open_only ? "No open escalations.\n" : "No escalation has fired.\n");
        return;
    }
    sb_addf(out, "%s escalations (newest first):\n", open_only ? "Open" : "Fired");
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *resolved = json_string_value(json_object_get(e, "resolved_on"));
        const char *acked = json_string_value(json_object_get(e, "acked_by"));
        sb_addf(out, "  #%s  %-13s %s  %s (%s) due %s", json_string_value(json_object_get(e, "id")),
                json_string_value(json_object_get(e, "level")),
                json_string_value(json_object_get(e, "case")),
                json_string_value(json_object_get(e, "deadline")),
                json_string_value(json_object_get(e, "workflow")),
                json_string_value(json_object_get(e, "due")));
        sb_addf(out, ", level reached %s\n      told: ",
                json_string_value(json_object_get(e, "fire_on")));
        if (json_is_true(json_object_get(e, "historical")))
            sb_add(out, "nobody (historical: its day had passed before the caseload was "
                        "imported; recorded, not sent)");
        else if (json_is_true(json_object_get(e, "superseded")))
            sb_add(out, "nobody (superseded by a later level due at the same time)");
        else
            add_recipients(out, json_object_get(e, "recipients"));
        json_t *del = json_object_get(e, "delivery");
        if (json_object_size(del)) {
            sb_add(out, "; delivery:");
            const char *k;
            json_t *v;
            json_object_foreach(del, k, v)
            {
                sb_addf(out, " %s %lld", k, (long long)json_integer_value(v));
            }
        }
        sb_add(out, "\n");
        if (resolved)
            sb_addf(out, "      resolved %s\n", resolved);
        if (acked || json_object_get(e, "ack_note") != NULL) {
            const char *note = json_string_value(json_object_get(e, "ack_note"));
            if (note)
                sb_addf(out, "      acknowledged by %s: %s\n", acked ? acked : "?", note);
        }
    }
}

void render_notice(sb *out, const json_t *n)
{
    const char *kind = json_string_value(json_object_get(n, "kind"));
    if (kind && !strcmp(kind, "resolved")) {
        sb_addf(out, "resolved   #%s %s %s %s on %s\n",
                json_string_value(json_object_get(n, "escalation")),
                json_string_value(json_object_get(n, "case")),
                json_string_value(json_object_get(n, "deadline")),
                json_string_value(json_object_get(n, "resolution")),
                json_string_value(json_object_get(n, "on")));
        return;
    }
    json_int_t overdue = json_integer_value(json_object_get(n, "days_overdue"));
    json_int_t left = json_integer_value(json_object_get(n, "days_left"));
    sb_addf(out, "%-10s #%s %s %s due %s (", json_string_value(json_object_get(n, "level")),
            json_string_value(json_object_get(n, "escalation")),
            json_string_value(json_object_get(n, "case")),
            json_string_value(json_object_get(n, "deadline")),
            json_string_value(json_object_get(n, "due")));
    if (overdue)
        sb_addf(out, "%lld day%s overdue", (long long)overdue, overdue == 1 ? "" : "s");
    else
        sb_addf(out, "%lld day%s left", (long long)left, left == 1 ? "" : "s");
    sb_add(out, ") to ");
    add_recipients(out, json_object_get(n, "recipients"));
    sb_add(out, "\n");
}

/* ---- outbox ------------------------------------------------------------ */

/* "2026-01-05T09:00:00Z" at key as "2026-01-05 09:00:00 UTC"; other shapes as they are; "-" when
 * absent. Caller frees. */
static char *utc_dup(const json_t *obj, const char *key)
{
    const char *s = jstr(obj, key);
    if (!s)
        return xstrdup("-");
    if (strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z')
        return xasprintf("%.10s %.8s UTC", s, s + 11);
    return xstrdup(s);
}

void render_outbox(sb *out, const json_t *reply)
{
    const json_t *items = json_object_get(reply, "items");
    size_t n = json_array_size(items);
    bool failed = json_is_true(json_object_get(reply, "failed"));
    if (n == 0) {
        sb_add(out, failed ? "no failed notices\n" : "the outbox is empty\n");
        return;
    }
    if (failed)
        sb_addf(out, "%zu failed notice%s (parked after their last attempt), newest first\n", n,
                n == 1 ? "" : "s");
    else
        sb_addf(out, "%zu notice%s, newest first\n", n, n == 1 ? "" : "s");
    static const char *const head[] = {"ID",     "CREATED", "KIND",     "CHANNEL",
                                       "TARGET", "STATUS",  "ATTEMPTS", "SENT / NEXT ATTEMPT"};
    tbl t;
    tbl_init(&t, 8);
    tbl_header(&t, head);
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(items, i);
        char *cells[8];
        cells[0] = scalar_dup(o, "id");
        cells[1] = utc_dup(o, "created_at");
        cells[2] = scalar_dup(o, "kind");
        cells[3] = scalar_dup(o, "channel");
        sb target = {0};
        add_oneline(&target, jstr_or(o, "target", "-"));
        cells[4] = sb_steal(&target);
        cells[5] = scalar_dup(o, "status");
        cells[6] = scalar_dup(o, "attempts");
        if (jstr(o, "sent_at"))
            cells[7] = utc_dup(o, "sent_at");
        else if (jstr(o, "next_attempt_at"))
            cells[7] = utc_dup(o, "next_attempt_at");
        else
            cells[7] = xstrdup("");
        char *detail = NULL;
        if (jstr(o, "last_error")) {
            sb d = {0};
            sb_add(&d, "    last error: ");
            add_oneline(&d, jstr(o, "last_error"));
            sb_add(&d, "\n");
            detail = sb_steal(&d);
        }
        tbl_add(&t, cells, detail);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
    if (json_is_true(json_object_get(reply, "truncated")) && !jstr(reply, "next"))
        sb_addf(out, "(only the newest %zu are listed)\n", n);
}

/* ---- paging ------------------------------------------------------------ */

void render_more(sb *out, const char *const *words, size_t n)
{
    sb_add(out, "More: sendflow");
    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        bool plain = *w != '\0';
        for (const char *p = w; *p && plain; p++)
            plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || strchr("._/=@+,-", *p);
        if (plain) {
            sb_addf(out, " %s", w);
            continue;
        }
        sb_add(out, " '");
        for (const char *p = w; *p; p++) {
            if (*p == '\'')
                sb_add(out, "'\\''");
            else
                sb_addn(out, p, 1);
        }
        sb_add(out, "'");
    }
    sb_add(out, "\n");
}

void render_case_assign(sb *out, const json_t *reply)
{
    const char *was = jstr(reply, "was_officer");
    sb_addf(out, "case %s assigned to %s", jstr_or(reply, "case", "?"),
            jstr_or(reply, "officer", "?"));
    if (jstr(reply, "team"))
        sb_addf(out, " (team %s)", jstr(reply, "team"));
    sb_addf(out, "; was %s\n", was ? was : "unassigned");
    json_int_t told = json_integer_value(json_object_get(reply, "told"));
    if (told)
        sb_addf(out,
                "%" JSON_INTEGER_FORMAT " notice%s of open escalations queued for the new "
                "officer\n",
                told, told == 1 ? "" : "s");
}

void render_caseload(sb *out, const json_t *reply)
{
    sb_addf(out, "Caseload on %s%s%s (due soon: by %s)\n", jstr_or(reply, "today", "?"),
            jstr(reply, "team") ? ", team " : "", jstr_or(reply, "team", ""),
            jstr_or(reply, "due_by", "?"));
    const json_t *officers = json_object_get(reply, "officers");
    if (json_array_size(officers) == 0) {
        sb_add(out, "no open processes\n");
        return;
    }
    static const char *const head[] = {"OFFICER",  "TEAMS",   "CASES",       "PROCESSES",
                                       "DUE SOON", "OVERDUE", "ESCALATIONS", "BY WORKFLOW"};
    tbl t;
    tbl_init(&t, 8);
    tbl_header(&t, head);
    for (size_t i = 0; i < json_array_size(officers); i++) {
        const json_t *o = json_array_get(officers, i);
        char *cells[8];
        sb c = {0};
        const json_t *teams = json_object_get(o, "teams");
        for (size_t k = 0; k < json_array_size(teams); k++)
            sb_addf(&c, "%s%s", k ? "," : "", json_string_value(json_array_get(teams, k)));
        cells[0] = xstrdup(jstr_or(o, "officer", "unassigned"));
        cells[1] = json_array_size(teams) ? sb_steal(&c) : xstrdup("-");
        cells[2] = scalar_dup(o, "cases");
        cells[3] = scalar_dup(o, "open_processes");
        cells[4] = scalar_dup(o, "due_soon");
        cells[5] = scalar_dup(o, "overdue");
        cells[6] = scalar_dup(o, "escalations_open");
        const char *wf;
        const json_t *n;
        json_object_foreach((json_t *)json_object_get(o, "processes"), wf, n)
            sb_addf(&c, "%s%s %" JSON_INTEGER_FORMAT, c.len ? ", " : "", wf, json_integer_value(n));
        cells[7] = c.len ? sb_steal(&c) : xstrdup("-");
        sb_free(&c);
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "");
    tbl_free(&t);
}

void render_reload(sb *out, const json_t *reply)
{
    const json_t *changed = json_object_get(reply, "changed");
    sb_addf(out, "Reloaded: %zu workflow%s changed\n", json_array_size(changed),
            json_array_size(changed) == 1 ? "" : "s");
    const json_t *wfs = json_object_get(reply, "workflows");
    tbl t;
    tbl_init(&t, 3);
    static const char *const head[] = {"WORKFLOW", "VERSION", ""};
    tbl_header(&t, head);
    for (size_t i = 0; i < json_array_size(wfs); i++) {
        const json_t *w = json_array_get(wfs, i);
        char *cells[3] = {scalar_dup(w, "name"), scalar_dup(w, "version"),
                          xstrdup(json_is_true(json_object_get(w, "changed")) ? "changed" : "")};
        tbl_add(&t, cells, NULL);
    }
    tbl_print(&t, out, "  ");
    tbl_free(&t);
    sb_addf(out, "calendar: %s\n", jstr_or(reply, "calendar", "?"));
    const json_t *pol = json_object_get(reply, "escalation_policy");
    if (json_is_object(pol))
        sb_addf(out, "escalation policy: %s (version %lld)\n", jstr_or(pol, "file", "?"),
                (long long)json_integer_value(json_object_get(pol, "version")));
    else
        sb_add(out, "escalation policy: none (nothing escalates)\n");
    sb_addf(out, "channels: %s\n", jstr_or(reply, "channels", "?"));
    const json_t *notes = json_object_get(reply, "notes");
    for (size_t i = 0; i < json_array_size(notes); i++)
        sb_addf(out, "note: %s\n", json_string_value(json_array_get(notes, i)));
    if (json_array_size(changed))
        sb_add(out, "The processes computed under the old definitions are being recomputed "
                    "(see the daemon's log).\n");
}

void render_import(sb *out, const json_t *total)
{
    bool dry = json_is_true(json_object_get(total, "dry_run"));
    json_t *cases = json_object_get(total, "cases");
    json_int_t n_new = json_integer_value(json_object_get(cases, "new"));
    json_int_t n_same = json_integer_value(json_object_get(cases, "unchanged"));
    sb_addf(out,
            "%s %" JSON_INTEGER_FORMAT " rows: %s %" JSON_INTEGER_FORMAT
            " case%s, %s %" JSON_INTEGER_FORMAT
            " process%s (with those events start), %s %" JSON_INTEGER_FORMAT " event%s.\n",
            dry ? "Would import" : "Imported", json_integer_value(json_object_get(total, "rows")),
            dry ? "open" : "opened", n_new, n_new == 1 ? "" : "s", dry ? "start" : "started",
            json_integer_value(json_object_get(total, "processes")),
            json_integer_value(json_object_get(total, "processes")) == 1 ? "" : "es",
            dry ? "record" : "recorded", json_integer_value(json_object_get(total, "events")),
            json_integer_value(json_object_get(total, "events")) == 1 ? "" : "s");
    if (n_same)
        sb_addf(out, "%" JSON_INTEGER_FORMAT " case%s already imported: left as %s.\n", n_same,
                n_same == 1 ? " was" : "s were", n_same == 1 ? "it was" : "they were");
    if (dry)
        sb_add(out, "Nothing was written (dry run).\n");
    else if (n_new)
        sb_add(out, "Escalation levels whose day had passed are recorded, not sent; each open "
                    "deadline sends only its current level.\n");
}
