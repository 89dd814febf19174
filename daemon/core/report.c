/*
 * report: a board report's data tree as text, CSV, JSON or HTML (see
 * report.h). Every renderer walks the same tree and reads figures by their
 * fields, so a figure added by the daemon appears in every format without a
 * change here. Percentages are computed from the numerator and denominator
 * in integer tenths, half up, so every format shows the same digits.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const format_names[] = {"text", "json", "csv", "html"};

/* ---- periods and formats ---- */

/* Fill the days of a period whose year, quarter and index are set. */
static void period_days(rpt_period *p)
{
    int first = p->quarter ? (p->index - 1) * 3 + 1 : p->index,
        last = p->quarter ? first + 2 : first;
    p->from = cal_from_ymd(p->year, first, 1);
    p->to = cal_from_ymd(p->year, last, cal_days_in_month(p->year, last));
}

int rpt_period_parse(const char *s, rpt_period *out)
{
    int y, i;
    char tail;
    memset(out, 0, sizeof *out);
    if (!s || strlen(s) != 7 || s[4] != '-')
        return -1;
    for (int k = 0; k < 4; k++)
        if (s[k] < '0' || s[k] > '9')
            return -1;
    y = atoi(s);
    if (y < CAL_MIN_YEAR || y > CAL_MAX_YEAR)
        return -1;
    if (s[5] == 'Q') {
        if (sscanf(s + 6, "%1d%c", &i, &tail) != 1 || i < 1 || i > 4)
            return -1;
        out->quarter = true;
    } else {
        if (s[5] < '0' || s[5] > '9' || s[6] < '0' || s[6] > '9')
            return -1;
        i = (s[5] - '0') * 10 + (s[6] - '0');
        if (i < 1 || i > 12)
            return -1;
    }
    out->year = y;
    out->index = i;
    period_days(out);
    return 0;
}

rpt_period rpt_period_of(cal_day day, bool quarter)
{
    rpt_period p = {.quarter = quarter};
    int m;
    cal_to_ymd(day, &p.year, &m, NULL);
    p.index = quarter ? (m - 1) / 3 + 1 : m;
    period_days(&p);
    return p;
}

char *rpt_period_name(const rpt_period *p, char out[RPT_PERIOD_LEN])
{
    unsigned y = (unsigned)p->year % 10000u, i = (unsigned)p->index % 100u;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    if (p->quarter) {
        out[5] = 'Q';
        out[6] = (char)('0' + i % 10);
    } else {
        out[5] = (char)('0' + i / 10);
        out[6] = (char)('0' + i % 10);
    }
    out[7] = '\0';
    return out;
}

char *rpt_period_label(const rpt_period *p)
{
    if (!p->quarter)
        return xasprintf("%s %d", cal_month_name(p->index) ? cal_month_name(p->index) : "?",
                         p->year);
    int first = (p->index - 1) * 3 + 1;
    return xasprintf("Q%d %d (%s to %s)", p->index, p->year, cal_month_name(first),
                     cal_month_name(first + 2));
}

int rpt_format_parse(const char *name, rpt_format *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++)
        if (name && !strcmp(name, format_names[i])) {
            *out = (rpt_format)i;
            return 0;
        }
    return -1;
}

const char *rpt_format_name(rpt_format f)
{
    return (size_t)f < sizeof format_names / sizeof format_names[0] ? format_names[f] : "?";
}

/* ---- figures ---- */

/* num of den in tenths of a per cent, rounded half up; -1 when den is 0. */
static long tenths(long num, long den)
{
    if (den <= 0 || num < 0)
        return -1;
    return (num * 2000 + den) / (2 * den);
}

json_t *rpt_count(const char *id, const char *label, long value)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:n,s:n}", "id", id, "label", label, "kind", "count",
                     "value", (json_int_t)value, "numerator", "denominator");
}

json_t *rpt_rate(const char *id, const char *label, long num, long den)
{
    long t = tenths(num, den);
    return json_pack("{s:s,s:s,s:s,s:o,s:I,s:I}", "id", id, "label", label, "kind", "rate", "value",
                     t < 0 ? json_null() : json_real((double)t / 10.0), "numerator",
                     (json_int_t)num, "denominator", (json_int_t)den);
}

/* A string member, or "" (borrowed). */
static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long num(const json_t *o, const char *key)
{
    return (long)json_integer_value(json_object_get(o, key));
}

static bool is_rate(const json_t *fig)
{
    return !strcmp(str(fig, "kind"), "rate");
}

/* A rate's percentage "66.7", or "" without a denominator, into buf. */
static const char *pct_text(const json_t *fig, char *buf, size_t n)
{
    long t = tenths(num(fig, "numerator"), num(fig, "denominator"));
    if (t < 0)
        snprintf(buf, n, "%s", "");
    else
        snprintf(buf, n, "%ld.%ld", t / 10, t % 10);
    return buf;
}

/* The value as shown: "5", "66.7%", or "-" for a rate without a denominator. */
static const char *value_text(const json_t *fig, char *buf, size_t n)
{
    if (!is_rate(fig)) {
        snprintf(buf, n, "%ld", num(fig, "value"));
        return buf;
    }
    char p[32];
    pct_text(fig, p, sizeof p);
    snprintf(buf, n, "%s%s", *p ? p : "-", *p ? "%" : "");
    return buf;
}

/* The figure with this id among an array of figures, or NULL (borrowed). */
static const json_t *find_figure(const json_t *figures, const char *id)
{
    size_t i;
    json_t *f;
    json_array_foreach(figures, i, f)
    {
        if (!strcmp(str(f, "id"), id))
            return f;
    }
    return NULL;
}

/* The figure of a trend month for a series key, or NULL (borrowed). */
static const json_t *month_figure(const json_t *month, const char *key)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(month, "figures"), i, f)
    {
        if (!strcmp(str(f, "key"), key))
            return f;
    }
    return NULL;
}

/* "30 November 2026" from "2026-11-30" (or the text itself when it is not a date). */
static void long_date(sb *o, const char *iso)
{
    cal_day d;
    int y, m, dd;
    if (cal_parse(iso, &d) != 0) {
        sb_add(o, *iso ? iso : "-");
        return;
    }
    cal_to_ymd(d, &y, &m, &dd);
    sb_addf(o, "%d %s %d", dd, cal_month_name(m), y);
}

/* "1 to 30 November 2026", "1 October to 31 December 2026". */
static void date_range(sb *o, const char *from, const char *to)
{
    cal_day a, b;
    int ya, ma, da, yb, mb, db;
    if (cal_parse(from, &a) != 0 || cal_parse(to, &b) != 0) {
        sb_addf(o, "%s to %s", from, to);
        return;
    }
    cal_to_ymd(a, &ya, &ma, &da);
    cal_to_ymd(b, &yb, &mb, &db);
    if (ya == yb && ma == mb)
        sb_addf(o, "%d to %d %s %d", da, db, cal_month_name(mb), yb);
    else if (ya == yb)
        sb_addf(o, "%d %s to %d %s %d", da, cal_month_name(ma), db, cal_month_name(mb), yb);
    else
        sb_addf(o, "%d %s %d to %d %s %d", da, cal_month_name(ma), ya, db, cal_month_name(mb), yb);
}

/* Characters (UTF-8 code points) in s, for aligning text columns. */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static void pad(sb *o, const char *s, size_t w, bool right)
{
    size_t n = width(s);
    if (right)
        for (; n < w; n++)
            sb_add(o, " ");
    sb_add(o, s);
    if (!right)
        for (; n < w; n++)
            sb_add(o, " ");
}

/* A list item's field as text: strings as they are, numbers in decimal, null as "-". */
static void item_text(const json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        snprintf(buf, n, "yes");
    else if (json_is_false(v))
        snprintf(buf, n, "no");
    else
        snprintf(buf, n, "-");
}

/* ---- text ---- */

/* Append text wrapped at 78 columns, each line prefixed by indent. */
static void wrap(sb *o, const char *text, const char *indent)
{
    const size_t limit = 78;
    size_t col = 0;
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        size_t w = strcspn(p, " ");
        if (col == 0) {
            sb_add(o, indent);
            col = strlen(indent);
        } else if (col + 1 + w > limit) {
            sb_add(o, "\n");
            sb_add(o, indent);
            col = strlen(indent);
        } else {
            sb_add(o, " ");
            col++;
        }
        sb_addn(o, p, w);
        col += w;
        p += w;
    }
    if (col)
        sb_add(o, "\n");
}

static void text_list(sb *o, const json_t *list)
{
    const json_t *cols = json_object_get(list, "columns"), *items = json_object_get(list, "items");
    size_t nc = json_array_size(cols), ni = json_array_size(items);
    if (nc == 0)
        return;
    if (ni == 0) {
        sb_add(o, "  (none)\n");
        return;
    }
    size_t *w = xcalloc(nc, sizeof *w);
    char buf[1024];
    for (size_t c = 0; c < nc; c++) {
        w[c] = width(str(json_array_get(cols, c), "title"));
        for (size_t i = 0; i < ni; i++) {
            item_text(
                json_object_get(json_array_get(items, i), str(json_array_get(cols, c), "key")), buf,
                sizeof buf);
            if (width(buf) > w[c])
                w[c] = width(buf);
        }
    }
    sb_add(o, "  ");
    for (size_t c = 0; c < nc; c++) {
        if (c + 1 < nc)
            pad(o, str(json_array_get(cols, c), "title"), w[c] + 2, false);
        else
            sb_add(o, str(json_array_get(cols, c), "title"));
    }
    sb_add(o, "\n");
    for (size_t i = 0; i < ni; i++) {
        sb_add(o, "  ");
        for (size_t c = 0; c < nc; c++) {
            item_text(
                json_object_get(json_array_get(items, i), str(json_array_get(cols, c), "key")), buf,
                sizeof buf);
            if (c + 1 < nc)
                pad(o, buf, w[c] + 2, false);
            else
                sb_add(o, buf);
        }
        sb_add(o, "\n");
    }
    if (json_is_true(json_object_get(list, "truncated")))
        sb_addf(o, "  (the first %zu of %ld are listed)\n", ni, num(list, "total"));
    free(w);
}

/* A trend series' short name for a text column ("short", else its label). */
static const char *series_short(const json_t *series)
{
    return *str(series, "short") ? str(series, "short") : str(series, "label");
}

static void text_trend(sb *o, const json_t *trend)
{
    const json_t *series = json_object_get(trend, "series"),
                 *months = json_object_get(trend, "months");
    size_t ns = json_array_size(series);
    sb_addf(o, "\n%s\n", str(trend, "title"));
    size_t mw = strlen("Month");
    for (size_t m = 0; m < json_array_size(months); m++)
        if (width(str(json_array_get(months, m), "label")) > mw)
            mw = width(str(json_array_get(months, m), "label"));
    size_t *w = xcalloc(ns ? ns : 1, sizeof *w);
    char buf[64], cell[96];
    for (size_t s = 0; s < ns; s++) {
        w[s] = width(series_short(json_array_get(series, s)));
        for (size_t m = 0; m < json_array_size(months); m++) {
            const json_t *f =
                month_figure(json_array_get(months, m), str(json_array_get(series, s), "key"));
            if (!f)
                continue;
            value_text(f, buf, sizeof buf);
            if (is_rate(f) && num(f, "denominator") > 0)
                snprintf(cell, sizeof cell, "%s (%ld/%ld)", buf, num(f, "numerator"),
                         num(f, "denominator"));
            else
                snprintf(cell, sizeof cell, "%s", buf);
            if (width(cell) > w[s])
                w[s] = width(cell);
        }
    }
    sb_add(o, "  ");
    pad(o, "Month", mw, false);
    for (size_t s = 0; s < ns; s++) {
        sb_add(o, "  ");
        pad(o, series_short(json_array_get(series, s)), w[s], true);
    }
    sb_add(o, "\n");
    for (size_t m = 0; m < json_array_size(months); m++) {
        const json_t *mo = json_array_get(months, m);
        sb_add(o, "  ");
        pad(o, str(mo, "label"), mw, false);
        for (size_t s = 0; s < ns; s++) {
            const json_t *f = month_figure(mo, str(json_array_get(series, s), "key"));
            cell[0] = '\0';
            if (f) {
                value_text(f, buf, sizeof buf);
                if (is_rate(f) && num(f, "denominator") > 0)
                    snprintf(cell, sizeof cell, "%s (%ld/%ld)", buf, num(f, "numerator"),
                             num(f, "denominator"));
                else
                    snprintf(cell, sizeof cell, "%s", buf);
            }
            sb_add(o, "  ");
            pad(o, cell, w[s], true);
        }
        sb_add(o, "\n");
    }
    if (*str(trend, "definition"))
        wrap(o, str(trend, "definition"), "    ");
    free(w);
}

static void render_text(sb *o, const json_t *data)
{
    const json_t *sections = json_object_get(data, "sections");
    sb_addf(o, "%s: %s\n", str(data, "board_title"), str(data, "period_label"));
    date_range(o, str(data, "from"), str(data, "to"));
    sb_add(o, "; figures as on ");
    long_date(o, str(data, "as_on"));
    sb_add(o, "\n");

    /* One label column for the whole report, so the numbers line up section to section. */
    size_t lw = 0;
    size_t i, k;
    json_t *sec, *fig;
    json_array_foreach(sections, i, sec)
    {
        json_array_foreach(json_object_get(sec, "figures"), k, fig)
        {
            if (width(str(fig, "label")) > lw)
                lw = width(str(fig, "label"));
        }
    }
    if (lw > 64)
        lw = 64; /* a longer label pushes its own number right; the others stay aligned */
    char buf[64];
    json_array_foreach(sections, i, sec)
    {
        sb_addf(o, "\n%s\n", str(sec, "title"));
        json_array_foreach(json_object_get(sec, "figures"), k, fig)
        {
            sb_add(o, "  ");
            pad(o, str(fig, "label"), lw, false);
            sb_add(o, "  ");
            pad(o, value_text(fig, buf, sizeof buf), 7, true);
            if (is_rate(fig))
                sb_addf(o, "  (%ld of %ld)", num(fig, "numerator"), num(fig, "denominator"));
            sb_add(o, "\n");
        }
        const json_t *list = json_object_get(sec, "list");
        if (list)
            text_list(o, list);
        else if (json_array_size(json_object_get(sec, "figures")) == 0)
            sb_add(o, "  (none)\n");
        if (*str(sec, "definition"))
            wrap(o, str(sec, "definition"), "    ");
    }
    const json_t *trend = json_object_get(data, "trend");
    if (trend)
        text_trend(o, trend);
}

/* ---- CSV ---- */

static void csv_field(sb *o, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")] && s[0] != ' ' && (!*s || s[strlen(s) - 1] != ' ')) {
        sb_add(o, s);
        return;
    }
    sb_add(o, "\"");
    for (; *s; s++) {
        if (*s == '"')
            sb_add(o, "\"");
        sb_addn(o, s, 1);
    }
    sb_add(o, "\"");
}

static void csv_figure(sb *o, const char *section, const json_t *fig)
{
    char v[32] = "";
    csv_field(o, section);
    sb_add(o, ",");
    csv_field(o, str(fig, "id"));
    if (is_rate(fig)) {
        pct_text(fig, v, sizeof v);
        sb_addf(o, ",%s,%ld,%ld\r\n", v, num(fig, "numerator"), num(fig, "denominator"));
    } else {
        sb_addf(o, ",%ld,,\r\n", num(fig, "value"));
    }
}

static void render_csv(sb *o, const json_t *data)
{
    size_t i, k;
    json_t *sec, *fig, *month;
    sb_add(o, "section,figure,value,numerator,denominator\r\n");
    json_array_foreach(json_object_get(data, "sections"), i, sec)
    {
        json_array_foreach(json_object_get(sec, "figures"), k, fig)
            csv_figure(o, str(sec, "id"), fig);
    }
    const json_t *trend = json_object_get(data, "trend");
    json_array_foreach(json_object_get(trend, "months"), i, month)
    {
        json_array_foreach(json_object_get(month, "figures"), k, fig)
            csv_figure(o, str(trend, "id"), fig);
    }
}

/* ---- HTML ---- */

static void esc(sb *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            sb_add(o, "&amp;");
            break;
        case '<':
            sb_add(o, "&lt;");
            break;
        case '>':
            sb_add(o, "&gt;");
            break;
        case '"':
            sb_add(o, "&quot;");
            break;
        case '\'':
            sb_add(o, "&#39;");
            break;
        default:
            sb_addn(o, s, 1);
        }
    }
}

/*
 * Print and screen styles. Nothing depends on colour: bars are dark grey with
 * their values written above them, the trend lines differ by dash and marker
 * shape, and status is always in words. Each section starts a new A4 page.
 */
static const char html_css[] =
    "body{font-family:\"Helvetica Neue\",Arial,sans-serif;color:#111;background:#fff;"
    "max-width:60rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4}\n"
    "h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem;"
    "border-bottom:2px solid #111;padding-bottom:.2rem}\n"
    "p.period,p.as-on{margin:.1rem 0}\n"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0;font-variant-numeric:tabular-nums}\n"
    "th,td{border:1px solid #888;padding:.25rem .5rem;text-align:left;vertical-align:top}\n"
    "thead th{background:#eee}\n"
    "td.n{text-align:right;white-space:nowrap}th.n{text-align:right}\n"
    "th[scope=row]{white-space:nowrap}\n"
    "td.note{font-size:.9em}\n"
    "span.parts{color:#444;font-size:.9em}\n"
    "p.definition{font-size:.9rem;color:#333}\n"
    "figure.chart{margin:1rem 0}figure.chart svg{max-width:100%;height:auto}\n"
    "figcaption{font-size:.9rem}\n"
    "nav.contents ol{columns:2}\n"
    ".bar{fill:#444}.axis{stroke:#111;stroke-width:1}.grid{stroke:#bbb;stroke-width:.5;"
    "stroke-dasharray:2 2}\n"
    ".chart-title{font-weight:bold;font-size:14px}.tick,.value-label,.axis-label,.legend{"
    "font-size:11px}\n"
    ".line{fill:none;stroke:#111;stroke-width:1.5}\n"
    "@page{size:A4;margin:15mm 12mm}\n"
    "@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}"
    "nav.contents{display:none}"
    "section.report-section{break-before:page;page-break-before:always}"
    "table,figure.chart,tr{break-inside:avoid;page-break-inside:avoid}"
    "thead{display:table-header-group}h2{break-after:avoid;page-break-after:avoid}"
    "thead th{background:none}a{color:#000;text-decoration:none}}\n";

enum {
    SVG_W = 640,
    SVG_L = 64, /* left margin: y tick labels and the y axis label */
    SVG_R = 16,
    SVG_T = 40, /* top margin: the title */
};

/* A round upper bound for a y axis with at most 5 steps; *step gets the step. */
static long nice_top(long max, long *step)
{
    static const long mult[] = {1, 2, 5};
    long s = 1;
    for (long scale = 1;; scale *= 10) {
        for (size_t i = 0; i < 3; i++) {
            s = mult[i] * scale;
            if ((max + s - 1) / s <= 5) {
                *step = s;
                long top = (max + s - 1) / s * s;
                return top > 0 ? top : s;
            }
        }
    }
}

/* The chart's opening: svg with its accessible title, the visible title and the axes' labels. */
static void svg_open(sb *o, const char *id, const char *title, const char *x_label,
                     const char *y_label, int h, int bottom)
{
    sb_addf(o, "<svg id=\"");
    esc(o, id);
    sb_addf(o,
            "\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
            "width=\"%d\" height=\"%d\" role=\"img\" aria-labelledby=\"",
            SVG_W, h, SVG_W, h);
    esc(o, id);
    sb_add(o, "-title\"><title id=\"");
    esc(o, id);
    sb_add(o, "-title\">");
    esc(o, title);
    sb_addf(o, "</title>\n<text class=\"chart-title\" x=\"%d\" y=\"20\" text-anchor=\"middle\">",
            SVG_W / 2);
    esc(o, title);
    sb_addf(o,
            "</text>\n<text class=\"axis-label x-label\" x=\"%d\" y=\"%d\" "
            "text-anchor=\"middle\">",
            SVG_L + (SVG_W - SVG_L - SVG_R) / 2, h - bottom + 44);
    esc(o, x_label);
    sb_addf(o,
            "</text>\n<text class=\"axis-label y-label\" x=\"14\" y=\"%d\" "
            "text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">",
            SVG_T + (h - bottom - SVG_T) / 2, SVG_T + (h - bottom - SVG_T) / 2);
    esc(o, y_label);
    sb_add(o, "</text>\n");
}

/* Horizontal grid lines and y tick labels from 0 to top by step; the two axes. */
static void svg_axes(sb *o, int h, int bottom, long top, long step, const char *suffix)
{
    double ph = h - bottom - SVG_T;
    for (long v = 0; v <= top; v += step) {
        double y = h - bottom - ph * (double)v / (double)top;
        if (v > 0)
            sb_addf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
                    SVG_L, y, SVG_W - SVG_R, y);
        sb_addf(o,
                "<text class=\"tick y-tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%ld%s"
                "</text>\n",
                SVG_L - 6, y + 4, v, suffix);
    }
    sb_addf(o, "<line class=\"axis x-axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", SVG_L,
            h - bottom, SVG_W - SVG_R, h - bottom);
    sb_addf(o, "<line class=\"axis y-axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", SVG_L,
            SVG_T, SVG_L, h - bottom);
}

/*
 * The x labels, one per band, centred under it. A label wider than its band
 * (about 6.5 px a character at 11 px) is split at its last space onto two
 * lines: "Nov" over "2026".
 */
static void svg_x_labels(sb *o, size_t n, const char *const *labels, int h, int bottom)
{
    double band = (double)(SVG_W - SVG_L - SVG_R) / (double)(n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        double x = SVG_L + band * ((double)i + 0.5);
        const char *sp = strrchr(labels[i], ' ');
        sb_addf(o, "<text class=\"tick x-tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", x,
                h - bottom + 16);
        if (sp && 6.5 * (double)width(labels[i]) > band) {
            sb t = {0};
            sb_addn(&t, labels[i], (size_t)(sp - labels[i]));
            sb_addf(o, "<tspan x=\"%.1f\">", x);
            esc(o, sb_str(&t));
            sb_addf(o, "</tspan><tspan x=\"%.1f\" dy=\"12\">", x);
            esc(o, sp + 1);
            sb_add(o, "</tspan>");
            sb_free(&t);
        } else {
            esc(o, labels[i]);
        }
        sb_add(o, "</text>\n");
    }
}

/* A bar chart of n counts: one <rect class="bar"> per value, with the value written above it. */
static void svg_bars(sb *o, const char *id, const char *title, const char *x_label,
                     const char *y_label, size_t n, const char *const *labels, const long *values)
{
    const int h = 320, bottom = 60;
    long max = 0, step = 1;
    for (size_t i = 0; i < n; i++)
        if (values[i] > max)
            max = values[i];
    long top = nice_top(max, &step);
    svg_open(o, id, title, x_label, y_label, h, bottom);
    svg_axes(o, h, bottom, top, step, "");
    double band = (double)(SVG_W - SVG_L - SVG_R) / (double)(n ? n : 1), bw = band * 0.6,
           ph = h - bottom - SVG_T;
    for (size_t i = 0; i < n; i++) {
        double bh = ph * (double)values[i] / (double)top;
        double x = SVG_L + band * (double)i + (band - bw) / 2, y = h - bottom - bh;
        sb_addf(o,
                "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                "data-label=\"",
                x, y, bw, bh);
        esc(o, labels[i]);
        sb_addf(o, "\" data-value=\"%ld\"><title>", values[i]);
        esc(o, labels[i]);
        sb_addf(o, ": %ld</title></rect>\n", values[i]);
        sb_addf(o,
                "<text class=\"value-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%ld"
                "</text>\n",
                x + bw / 2, y - 4, values[i]);
    }
    svg_x_labels(o, n, labels, h, bottom);
    sb_add(o, "</svg>\n");
}

/* One marker of series s (0: filled circle, 1: open square, 2: grey triangle, ...). */
static void svg_marker(sb *o, size_t s, double x, double y, const char *extra)
{
    switch (s % 3) {
    case 0:
        sb_addf(o, "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#111\"%s", x, y,
                extra);
        break;
    case 1:
        sb_addf(o,
                "<rect class=\"point\" x=\"%.1f\" y=\"%.1f\" width=\"8\" height=\"8\" "
                "fill=\"#fff\" stroke=\"#111\"%s",
                x - 4, y - 4, extra);
        break;
    default:
        sb_addf(o,
                "<path class=\"point\" d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f Z\" fill=\"#777\" "
                "stroke=\"#111\"%s",
                x, y - 5, x + 5, y + 4, x - 5, y + 4, extra);
        break;
    }
}

static const char *const dashes[] = {"", "6 4", "2 3"};

/*
 * A line chart of percentages (0-100) over nx x labels: per series s, the
 * values ys[s * nx + i] where has[s * nx + i]; a month without a value breaks
 * the line. One marker (class "point", data-series) per value.
 */
static void svg_lines(sb *o, const char *id, const char *title, const char *x_label,
                      const char *y_label, size_t nx, const char *const *xlabels, size_t ns,
                      const char *const *keys, const char *const *names, const double *ys,
                      const bool *has)
{
    const int bottom = 70 + 18 * (int)ns, h = 310 + 18 * (int)ns; /* the legend under the axis */
    svg_open(o, id, title, x_label, y_label, h, bottom);
    svg_axes(o, h, bottom, 100, 20, "%");
    double band = (double)(SVG_W - SVG_L - SVG_R) / (double)(nx ? nx : 1), ph = h - bottom - SVG_T;
    for (size_t s = 0; s < ns; s++) {
        sb_add(o, "<g class=\"series\" data-series=\"");
        esc(o, keys[s]);
        sb_add(o, "\">\n<path class=\"line\" d=\"");
        bool pen = false;
        for (size_t i = 0; i < nx; i++) {
            if (!has[s * nx + i]) {
                pen = false;
                continue;
            }
            sb_addf(o, "%s%.1f %.1f ", pen ? "L" : "M", SVG_L + band * ((double)i + 0.5),
                    h - bottom - ph * ys[s * nx + i] / 100.0);
            pen = true;
        }
        sb_addf(o, "\"%s%s%s/>\n", *dashes[s % 3] ? " stroke-dasharray=\"" : "", dashes[s % 3],
                *dashes[s % 3] ? "\"" : "");
        for (size_t i = 0; i < nx; i++) {
            if (!has[s * nx + i])
                continue;
            sb t = {0};
            sb_add(&t, " data-series=\"");
            esc(&t, keys[s]);
            sb_add(&t, "\" data-label=\"");
            esc(&t, xlabels[i]);
            sb_addf(&t, "\" data-value=\"%.1f\"><title>", ys[s * nx + i]);
            esc(&t, names[s]);
            sb_add(&t, ", ");
            esc(&t, xlabels[i]);
            sb_addf(&t, ": %.1f%%</title>", ys[s * nx + i]);
            svg_marker(o, s, SVG_L + band * ((double)i + 0.5),
                       h - bottom - ph * ys[s * nx + i] / 100.0, sb_str(&t));
            sb_add(o, s % 3 == 0 ? "</circle>\n" : s % 3 == 1 ? "</rect>\n" : "</path>\n");
            sb_free(&t);
        }
        sb_add(o, "</g>\n");
        /* The legend: a sample of the line and its marker, then the words. */
        double ly = h - bottom + 64 + 18 * (double)s;
        sb_addf(o,
                "<g class=\"legend-entry\"><line class=\"line\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
                "y2=\"%.1f\"%s%s%s/>",
                SVG_L, ly, SVG_L + 36, ly, *dashes[s % 3] ? " stroke-dasharray=\"" : "",
                dashes[s % 3], *dashes[s % 3] ? "\"" : "");
        switch (s % 3) {
        case 0:
            sb_addf(o, "<circle cx=\"%d\" cy=\"%.1f\" r=\"4\" fill=\"#111\"/>", SVG_L + 18, ly);
            break;
        case 1:
            sb_addf(o,
                    "<rect x=\"%d\" y=\"%.1f\" width=\"8\" height=\"8\" fill=\"#fff\" "
                    "stroke=\"#111\"/>",
                    SVG_L + 14, ly - 4);
            break;
        default:
            sb_addf(o, "<path d=\"M%d %.1f L%d %.1f L%d %.1f Z\" fill=\"#777\" stroke=\"#111\"/>",
                    SVG_L + 18, ly - 5, SVG_L + 23, ly + 4, SVG_L + 13, ly + 4);
            break;
        }
        sb_addf(o, "<text class=\"legend\" x=\"%d\" y=\"%.1f\">", SVG_L + 44, ly + 4);
        esc(o, names[s]);
        sb_add(o, "</text></g>\n");
    }
    svg_x_labels(o, nx, xlabels, h, bottom);
    sb_add(o, "</svg>\n");
}

/* <td> attributes naming a figure: data-figure, its kind and its parts. */
static void html_figure_attrs(sb *o, const json_t *fig)
{
    char p[32];
    sb_add(o, " data-figure=\"");
    esc(o, str(fig, "id"));
    sb_addf(o, "\" data-kind=\"%s\"", is_rate(fig) ? "rate" : "count");
    if (is_rate(fig))
        sb_addf(o, " data-numerator=\"%ld\" data-denominator=\"%ld\" data-value=\"%s\"",
                num(fig, "numerator"), num(fig, "denominator"), pct_text(fig, p, sizeof p));
    else
        sb_addf(o, " data-value=\"%ld\"", num(fig, "value"));
}

static void html_figures(sb *o, const json_t *sec)
{
    char buf[64];
    sb_add(o, "<table class=\"figures\" id=\"");
    esc(o, str(sec, "id"));
    sb_add(o, "\" aria-labelledby=\"h-");
    esc(o, str(sec, "id"));
    sb_add(o, "\">\n<thead><tr><th scope=\"col\">Measure</th><th scope=\"col\" class=\"n\">Number"
              "</th><th scope=\"col\" class=\"n\">Out of</th><th scope=\"col\" class=\"n\">"
              "Per cent</th></tr></thead>\n<tbody>\n");
    size_t i;
    json_t *fig;
    json_array_foreach(json_object_get(sec, "figures"), i, fig)
    {
        sb_addf(o, "<tr class=\"figure %s\" id=\"row-", is_rate(fig) ? "rate" : "count");
        esc(o, str(fig, "id"));
        sb_add(o, "\"><th scope=\"row\">");
        esc(o, str(fig, "label"));
        sb_add(o, "</th>");
        if (is_rate(fig)) {
            sb_add(o, "<td class=\"n numerator\" data-numerator-of=\"");
            esc(o, str(fig, "id"));
            sb_addf(o, "\">%ld</td><td class=\"n denominator\" data-denominator-of=\"",
                    num(fig, "numerator"));
            esc(o, str(fig, "id"));
            sb_addf(o, "\">%ld</td><td class=\"n value\"", num(fig, "denominator"));
            html_figure_attrs(o, fig);
            sb_addf(o, ">%s</td>", value_text(fig, buf, sizeof buf));
        } else {
            sb_add(o, "<td class=\"n value\"");
            html_figure_attrs(o, fig);
            sb_addf(o, ">%ld</td><td class=\"n\"></td><td class=\"n\"></td>", num(fig, "value"));
        }
        sb_add(o, "</tr>\n");
    }
    sb_add(o, "</tbody>\n</table>\n");
}

static void html_list(sb *o, const json_t *list)
{
    const json_t *cols = json_object_get(list, "columns"), *items = json_object_get(list, "items");
    char buf[1024];
    sb_add(o, "<table class=\"list\" id=\"");
    esc(o, str(list, "id"));
    sb_add(o, "\">\n<thead><tr>");
    size_t c, i;
    json_t *col, *item;
    json_array_foreach(cols, c, col)
    {
        sb_add(o, "<th scope=\"col\">");
        esc(o, str(col, "title"));
        sb_add(o, "</th>");
    }
    sb_add(o, "</tr></thead>\n<tbody>\n");
    json_array_foreach(items, i, item)
    {
        sb_add(o, "<tr>");
        json_array_foreach(cols, c, col)
        {
            const json_t *v = json_object_get(item, str(col, "key"));
            item_text(v, buf, sizeof buf);
            sb_addf(o, "<td class=\"%s\" data-key=\"", json_is_integer(v) ? "n" : "t");
            esc(o, str(col, "key"));
            sb_add(o, "\">");
            esc(o, buf);
            sb_add(o, "</td>");
        }
        sb_add(o, "</tr>\n");
    }
    if (json_array_size(items) == 0)
        sb_addf(o, "<tr><td colspan=\"%zu\">None.</td></tr>\n", json_array_size(cols));
    sb_add(o, "</tbody>\n</table>\n");
    if (json_is_true(json_object_get(list, "truncated")))
        sb_addf(o, "<p class=\"truncated\">The first %zu of %ld are listed.</p>\n",
                json_array_size(items), num(list, "total"));
}

/* A section's chart: a bar chart of some of its count figures. */
static void html_section_chart(sb *o, const json_t *sec, const json_t *chart)
{
    const json_t *ids = json_object_get(chart, "figures");
    size_t n = json_array_size(ids);
    const char **labels = xcalloc(n ? n : 1, sizeof *labels);
    long *values = xcalloc(n ? n : 1, sizeof *values);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *fig =
            find_figure(json_object_get(sec, "figures"), json_string_value(json_array_get(ids, i)));
        if (!fig)
            continue;
        labels[k] =
            json_is_string(json_object_get(fig, "short")) ? str(fig, "short") : str(fig, "label");
        values[k++] = num(fig, "value");
    }
    sb_add(o, "<figure class=\"chart\">\n");
    svg_bars(o, str(chart, "id"), str(chart, "title"), str(chart, "x_label"), str(chart, "y_label"),
             k, labels, values);
    sb_add(o, "<figcaption>");
    esc(o, str(chart, "title"));
    sb_add(o, " (the numbers are in the table above).</figcaption>\n</figure>\n");
    free(labels);
    free(values);
}

static void html_trend(sb *o, const json_t *trend)
{
    const json_t *series = json_object_get(trend, "series"),
                 *months = json_object_get(trend, "months");
    size_t ns = json_array_size(series), nm = json_array_size(months);
    char buf[64];
    sb_add(o, "<section class=\"report-section\" id=\"section-");
    esc(o, str(trend, "id"));
    sb_add(o, "\">\n<h2 id=\"h-");
    esc(o, str(trend, "id"));
    sb_add(o, "\">");
    esc(o, str(trend, "title"));
    sb_add(o, "</h2>\n<table class=\"trend\" id=\"");
    esc(o, str(trend, "id"));
    sb_add(o, "\" aria-labelledby=\"h-");
    esc(o, str(trend, "id"));
    sb_add(o, "\">\n<thead><tr><th scope=\"col\">Month</th>");
    for (size_t s = 0; s < ns; s++) {
        sb_add(o, "<th scope=\"col\" class=\"n\">");
        esc(o, str(json_array_get(series, s), "label"));
        sb_add(o, "</th>");
    }
    sb_add(o, "</tr></thead>\n<tbody>\n");
    for (size_t m = 0; m < nm; m++) {
        const json_t *mo = json_array_get(months, m);
        sb_add(o, "<tr data-month=\"");
        esc(o, str(mo, "month"));
        sb_add(o, "\"><th scope=\"row\">");
        esc(o, str(mo, "label"));
        sb_add(o, "</th>");
        for (size_t s = 0; s < ns; s++) {
            const json_t *f = month_figure(mo, str(json_array_get(series, s), "key"));
            if (!f) {
                sb_add(o, "<td class=\"n\"></td>");
                continue;
            }
            sb_add(o, "<td class=\"n\"");
            html_figure_attrs(o, f);
            sb_addf(o, ">%s", value_text(f, buf, sizeof buf));
            if (is_rate(f) && num(f, "denominator") > 0)
                sb_addf(o, " <span class=\"parts\">(%ld of %ld)</span>", num(f, "numerator"),
                        num(f, "denominator"));
            sb_add(o, "</td>");
        }
        sb_add(o, "</tr>\n");
    }
    sb_add(o, "</tbody>\n</table>\n");
    if (*str(trend, "definition")) {
        sb_add(o, "<p class=\"definition\"><strong>How it is counted.</strong> ");
        esc(o, str(trend, "definition"));
        sb_add(o, "</p>\n");
    }

    const char **xlabels = xcalloc(nm ? nm : 1, sizeof *xlabels);
    for (size_t m = 0; m < nm; m++)
        xlabels[m] = str(json_array_get(months, m), "label");
    size_t c;
    json_t *chart;
    json_array_foreach(json_object_get(trend, "charts"), c, chart)
    {
        const json_t *keys = json_object_get(chart, "series");
        size_t nk = json_array_size(keys);
        sb_add(o, "<figure class=\"chart\">\n");
        if (!strcmp(str(chart, "type"), "bar") && nk > 0) {
            long *values = xcalloc(nm ? nm : 1, sizeof *values);
            for (size_t m = 0; m < nm; m++) {
                const json_t *f = month_figure(json_array_get(months, m),
                                               json_string_value(json_array_get(keys, 0)));
                values[m] = f ? num(f, "value") : 0;
            }
            svg_bars(o, str(chart, "id"), str(chart, "title"), str(chart, "x_label"),
                     str(chart, "y_label"), nm, xlabels, values);
            free(values);
        } else {
            const char **kk = xcalloc(nk ? nk : 1, sizeof *kk),
                       **names = xcalloc(nk ? nk : 1, sizeof *names);
            double *ys = xcalloc(nk * nm + 1, sizeof *ys);
            bool *has = xcalloc(nk * nm + 1, sizeof *has);
            for (size_t s = 0; s < nk; s++) {
                kk[s] = json_string_value(json_array_get(keys, s));
                kk[s] = kk[s] ? kk[s] : "";
                names[s] = kk[s];
                for (size_t t = 0; t < ns; t++)
                    if (!strcmp(str(json_array_get(series, t), "key"), kk[s]))
                        names[s] = str(json_array_get(series, t), "label");
                for (size_t m = 0; m < nm; m++) {
                    const json_t *f = month_figure(json_array_get(months, m), kk[s]);
                    long t = f ? tenths(num(f, "numerator"), num(f, "denominator")) : -1;
                    has[s * nm + m] = t >= 0;
                    ys[s * nm + m] = t >= 0 ? (double)t / 10.0 : 0;
                }
            }
            svg_lines(o, str(chart, "id"), str(chart, "title"), str(chart, "x_label"),
                      str(chart, "y_label"), nm, xlabels, nk, kk, names, ys, has);
            free(kk);
            free(names);
            free(ys);
            free(has);
        }
        sb_add(o, "<figcaption>");
        esc(o, str(chart, "title"));
        sb_add(o, strcmp(str(chart, "type"), "bar") != 0
                      ? " (the numbers are in the table above; a month with nothing to count has "
                        "no point).</figcaption>\n</figure>\n"
                      : " (the numbers are in the table above).</figcaption>\n</figure>\n");
    }
    free(xlabels);
    sb_add(o, "</section>\n");
}

static void render_html(sb *o, const json_t *data)
{
    const json_t *sections = json_object_get(data, "sections"),
                 *trend = json_object_get(data, "trend");
    sb_add(o, "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"generator\" content=\"sendflow\">\n<title>");
    esc(o, str(data, "board_title"));
    sb_add(o, ": ");
    esc(o, str(data, "period_label"));
    sb_addf(o, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", html_css);
    sb_add(o, "<header>\n<h1>");
    esc(o, str(data, "board_title"));
    sb_add(o, "</h1>\n<p class=\"period\" data-period=\"");
    esc(o, str(data, "period"));
    sb_add(o, "\"><strong>");
    esc(o, str(data, "period_label"));
    sb_add(o, "</strong>: ");
    sb range = {0};
    date_range(&range, str(data, "from"), str(data, "to"));
    esc(o, sb_str(&range));
    sb_free(&range);
    sb_add(o, "</p>\n<p class=\"as-on\">Figures as on <time datetime=\"");
    esc(o, str(data, "as_on"));
    sb_add(o, "\">");
    sb day = {0};
    long_date(&day, str(data, "as_on"));
    esc(o, sb_str(&day));
    sb_free(&day);
    sb_add(o, "</time>, from what sendflow holds, dated by when things happened.</p>\n"
              "</header>\n<nav class=\"contents\" aria-label=\"Contents\">\n<ol>\n");
    size_t i;
    json_t *sec;
    json_array_foreach(sections, i, sec)
    {
        sb_add(o, "<li><a href=\"#section-");
        esc(o, str(sec, "id"));
        sb_add(o, "\">");
        esc(o, str(sec, "title"));
        sb_add(o, "</a></li>\n");
    }
    if (trend) {
        sb_add(o, "<li><a href=\"#section-");
        esc(o, str(trend, "id"));
        sb_add(o, "\">");
        esc(o, str(trend, "title"));
        sb_add(o, "</a></li>\n");
    }
    sb_add(o, "</ol>\n</nav>\n<main>\n");
    json_array_foreach(sections, i, sec)
    {
        sb_add(o, "<section class=\"report-section\" id=\"section-");
        esc(o, str(sec, "id"));
        sb_add(o, "\">\n<h2 id=\"h-");
        esc(o, str(sec, "id"));
        sb_add(o, "\">");
        esc(o, str(sec, "title"));
        sb_add(o, "</h2>\n");
        if (json_array_size(json_object_get(sec, "figures")) > 0)
            html_figures(o, sec);
        else if (!json_object_get(sec, "list"))
            sb_add(o, "<p class=\"none\">None.</p>\n");
        if (*str(sec, "definition")) {
            sb_add(o, "<p class=\"definition\"><strong>How it is counted.</strong> ");
            esc(o, str(sec, "definition"));
            sb_add(o, "</p>\n");
        }
        const json_t *chart = json_object_get(sec, "chart");
        if (chart)
            html_section_chart(o, sec, chart);
        const json_t *list = json_object_get(sec, "list");
        if (list)
            html_list(o, list);
        sb_add(o, "</section>\n");
    }
    if (trend)
        html_trend(o, trend);
    sb_add(o, "</main>\n</body>\n</html>\n");
}

char *rpt_render(const json_t *data, rpt_format f)
{
    sb o = {0};
    switch (f) {
    case RPT_TEXT:
        render_text(&o, data);
        break;
    case RPT_JSON: {
        char *s = json_dumps(data, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        sb_add(&o, s ? s : "{}");
        sb_add(&o, "\n");
        free(s);
        break;
    }
    case RPT_CSV:
        render_csv(&o, data);
        break;
    case RPT_HTML:
        render_html(&o, data);
        break;
    }
    return sb_steal(&o);
}
