/*
 * caseio: import files in, export rows out, the progress bar (caseio.h).
 */
#include "caseio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load.h"

static const char *const columns[] = {"case", "on", "what", "dob", "officer", "team", "set", "key"};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static void row_error(json_t *errors, int line, const char *fmt, ...) SF_PRINTF(3, 4);
static void row_error(json_t *errors, int line, const char *fmt, ...)
{
    sb m = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&m, fmt, ap);
    va_end(ap);
    json_array_append_new(errors, json_pack("{s:i,s:s}", "line", line, "reason", sb_str(&m)));
    sb_free(&m);
}

/* One record's fields (owned strings), and the line it starts on. */
typedef struct record {
    char **f;
    size_t n;
    int line;
} record;

static void record_free(record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->f[i]);
    free(r->f);
    r->f = NULL;
    r->n = 0;
}

/*
 * The next record from *p (RFC 4180: fields split by commas, a quoted field
 * may hold commas, doubled quotes and line breaks; CRLF or LF). *line is the
 * current line, moved on past the record. 1 with a record, 0 at the end, -1
 * on a syntax error (why in err; *p moved to the next line).
 */
static int next_record(const char **p, const char *end, int *line, record *r, const char **why)
{
    const char *s = *p;
    if (s >= end)
        return 0;
    r->line = *line;
    sb field = {0};
    bool quoted = false, was_quoted = false;
    for (;;) {
        if (s >= end && quoted) {
            *why = "a quoted field is not closed (a quote inside one is written twice)";
            goto bad;
        }
        if (s >= end || (!quoted && (*s == ',' || *s == '\n' || *s == '\r'))) {
            r->f = xrealloc(r->f, (r->n + 1) * sizeof *r->f);
            r->f[r->n++] = sb_steal(&field);
            if (s >= end) {
                *p = s;
                return 1;
            }
            if (*s == ',') {
                s++;
                was_quoted = false;
                continue;
            }
            if (*s == '\r' && s + 1 < end && s[1] == '\n')
                s++;
            s++;
            (*line)++;
            *p = s;
            return 1;
        }
        if (quoted) {
            if (*s == '"') {
                if (s + 1 < end && s[1] == '"') {
                    sb_addn(&field, "\"", 1);
                    s += 2;
                    continue;
                }
                quoted = false;
                s++;
                if (s < end && *s != ',' && *s != '\n' && *s != '\r') {
                    *why = "text after a closing quote (a quote inside a quoted field is "
                           "written twice)";
                    goto bad;
                }
                continue;
            }
            if (*s == '\n')
                (*line)++;
            sb_addn(&field, s, 1);
            s++;
            continue;
        }
        if (*s == '"') {
            if (field.len || was_quoted) {
                *why = "a quote inside an unquoted field (quote the whole field, and write the "
                       "quote twice)";
                goto bad;
            }
            quoted = was_quoted = true;
            s++;
            continue;
        }
        sb_addn(&field, s, 1);
        s++;
    }
bad:
    sb_free(&field);
    record_free(r);
    while (s < end && *s != '\n')
        s++;
    if (s < end)
        s++;
    (*line)++;
    *p = s;
    return -1;
}

static bool blank(const record *r)
{
    return r->n == 1 && r->f[0][0] == '\0';
}

/* "a=1;b=2" as an object (new ref); NULL after reporting what is wrong. */
static json_t *parse_set(const char *text, int line, json_t *errors)
{
    json_t *o = json_object();
    const char *p = text;
    while (*p) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        char *pair = xstrndup(p, len);
        char *eq = strchr(pair, '=');
        if (!eq || eq == pair) {
            row_error(errors, line, "\"set\": \"%s\" is not KEY=VALUE (pairs are joined by ;)",
                      pair);
            free(pair);
            json_decref(o);
            return NULL;
        }
        *eq = '\0';
        if (json_object_get(o, pair)) {
            row_error(errors, line, "\"set\": %s given twice", pair);
            free(pair);
            json_decref(o);
            return NULL;
        }
        json_t *v = json_string(eq + 1);
        if (!v) {
            row_error(errors, line, "\"set\": the value of %s is not UTF-8", pair);
            free(pair);
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, pair, v);
        free(pair);
        p += len + (semi != NULL);
    }
    return o;
}

int caseio_read_csv(const char *path, json_t **rows, json_t *errors, char *err, size_t errlen)
{
    *rows = NULL;
    FILE *fp = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!fp) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *text;
    size_t len;
    int failed = load_read_stream(fp, &text, &len);
    int saved = errno;
    if (fp != stdin)
        fclose(fp);
    if (failed) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(saved));
        return -1;
    }
    const char *p = text, *end = p + len;
    if (end - p >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3; /* a byte-order mark, as spreadsheets write */
    int line = 1;
    record hdr = {0};
    const char *why = NULL;
    int rc = next_record(&p, end, &line, &hdr, &why);
    if (rc <= 0) {
        snprintf(err, errlen, "%s: line 1: %s", path,
                 rc == 0 ? "the file is empty (it needs a header row: " CASEIO_HEADER ")" : why);
        free(text);
        return -1;
    }
    int col[NCOLUMNS];
    for (size_t k = 0; k < NCOLUMNS; k++)
        col[k] = -1;
    bool header_ok = true;
    for (size_t i = 0; i < hdr.n; i++) {
        size_t k = 0;
        while (k < NCOLUMNS && strcmp(hdr.f[i], columns[k]) != 0)
            k++;
        if (k == NCOLUMNS) {
            row_error(errors, 1, "unknown column \"%s\" (the columns are " CASEIO_HEADER ")",
                      hdr.f[i]);
            header_ok = false;
        } else if (col[k] >= 0) {
            row_error(errors, 1, "column \"%s\" given twice", columns[k]);
            header_ok = false;
        } else {
            col[k] = (int)i;
        }
    }
    for (size_t k = 0; k < 3; k++)
        if (col[k] < 0) {
            row_error(errors, 1, "no \"%s\" column (case, on and what are required)", columns[k]);
            header_ok = false;
        }
    size_t ncols = hdr.n;
    record_free(&hdr);
    *rows = json_array();
    if (!header_ok) {
        free(text);
        return 0;
    }
    record r = {0};
    while ((rc = next_record(&p, end, &line, &r, &why)) != 0) {
        if (rc < 0) {
            row_error(errors, line - 1, "%s", why);
            continue;
        }
        if (blank(&r)) {
            record_free(&r);
            continue;
        }
        if (r.n != ncols) {
            row_error(errors, r.line, "%zu fields, but the header has %zu", r.n, ncols);
            record_free(&r);
            continue;
        }
        json_t *row = json_pack("{s:i}", "line", r.line);
        bool ok = true;
        for (size_t k = 0; k < NCOLUMNS && ok; k++) {
            const char *v = col[k] >= 0 ? r.f[col[k]] : "";
            if (!*v) {
                if (k < 3) {
                    row_error(errors, r.line, "\"%s\" is empty", columns[k]);
                    ok = false;
                }
                continue;
            }
            json_t *s = NULL;
            if (!strcmp(columns[k], "set")) {
                s = parse_set(v, r.line, errors);
                if (!s) {
                    ok = false;
                    continue;
                }
                json_object_set_new(row, "attrs", s);
                continue;
            }
            if (!(s = json_string(v))) {
                row_error(errors, r.line, "\"%s\" is not UTF-8", columns[k]);
                ok = false;
                continue;
            }
            json_object_set_new(row, columns[k], s);
        }
        record_free(&r);
        if (ok)
            json_array_append_new(*rows, row);
        else
            json_decref(row);
    }
    free(text);
    return 0;
}

void caseio_csv_field(sb *out, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        sb_add(out, s);
        return;
    }
    sb_add(out, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            sb_add(out, "\"\"");
        else
            sb_addn(out, p, 1);
    }
    sb_add(out, "\"");
}

/* "k=v;k=v" of an attribute object's string values, without the keys named in skip. */
static void set_text(sb *out, json_t *attrs, const char *const *skip)
{
    const char *k;
    json_t *v;
    sb t = {0};
    json_object_foreach(attrs, k, v)
    {
        bool skipped = false;
        for (size_t i = 0; skip && skip[i]; i++)
            skipped |= !strcmp(k, skip[i]);
        if (skipped || !json_is_string(v))
            continue;
        sb_addf(&t, "%s%s=%s", t.len ? ";" : "", k, json_string_value(v));
    }
    caseio_csv_field(out, sb_str(&t));
    sb_free(&t);
}

static void row(sb *out, const char *ref, const char *on, const char *what, const char *dob,
                const char *officer, const char *team, json_t *attrs, const char *const *skip,
                const char *key)
{
    const char *cells[] = {ref, on, what, dob, officer, team};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        if (i)
            sb_add(out, ",");
        caseio_csv_field(out, cells[i]);
    }
    sb_add(out, ",");
    set_text(out, attrs, skip);
    sb_add(out, ",");
    caseio_csv_field(out, key);
    sb_add(out, "\n");
}

void caseio_case_csv(sb *out, const json_t *c)
{
    const char *ref = json_string_value(json_object_get(c, "case"));
    json_t *attrs = json_object_get(c, "attrs");
    json_t *procs = json_object_get(c, "processes"), *events = json_object_get(c, "events");
    /* The case row's date: its earliest fact (the day it is opened has no column of its own). */
    const char *first = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(procs, i, x)
    {
        const char *on = json_string_value(json_object_get(x, "started_on"));
        if (on && (!first || strcmp(on, first) < 0))
            first = on;
    }
    json_array_foreach(events, i, x)
    {
        const char *on = json_string_value(json_object_get(x, "on"));
        if (on && (!first || strcmp(on, first) < 0))
            first = on;
    }
    const char *dob = json_string_value(json_object_get(c, "dob"));
    if (!first)
        first = dob;
    static const char *const case_keys[] = {"officer", "team", NULL};
    row(out, ref, first ? first : "2000-01-01", "case", dob,
        json_string_value(json_object_get(attrs, "officer")),
        json_string_value(json_object_get(attrs, "team")), attrs, case_keys, NULL);
    json_array_foreach(procs, i, x)
    {
        if (!json_is_null(json_object_get(x, "by_event")) ||
            !json_is_null(json_object_get(x, "parent")))
            continue; /* started by an event: the event starts it again */
        sb what = {0};
        sb_addf(&what, "start:%s", json_string_value(json_object_get(x, "workflow")));
        row(out, ref, json_string_value(json_object_get(x, "started_on")), sb_str(&what), NULL,
            NULL, NULL, json_object_get(x, "attrs"), NULL,
            json_string_value(json_object_get(x, "key")));
        sb_free(&what);
    }
    json_array_foreach(events, i, x)
    {
        if (json_is_true(json_object_get(x, "voided")))
            continue; /* a void undoes it: the deadlines are as if it never was */
        row(out, ref, json_string_value(json_object_get(x, "on")),
            json_string_value(json_object_get(x, "type")), NULL, NULL, NULL,
            json_object_get(x, "attrs"), NULL, json_string_value(json_object_get(x, "key")));
    }
}

static bool drawn;

bool caseio_progress_on(void)
{
    return isatty(STDERR_FILENO);
}

void caseio_progress(const char *what, size_t done, size_t total, const char *unit)
{
    if (!caseio_progress_on())
        return;
    enum { WIDTH = 30 };
    if (total) {
        size_t fill = done >= total ? WIDTH : done * WIDTH / total;
        char bar[WIDTH + 1];
        for (size_t i = 0; i < WIDTH; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[WIDTH] = '\0';
        fprintf(stderr, "\r%-10s [%s] %3zu%% %zu/%zu %s", what, bar,
                done >= total ? 100 : done * 100 / total, done, total, unit);
    } else {
        fprintf(stderr, "\r%-10s %zu %s", what, done, unit);
    }
    fflush(stderr);
    drawn = true;
}

void caseio_progress_end(void)
{
    if (!drawn)
        return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    drawn = false;
}
