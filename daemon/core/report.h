/*
 * report: board reports as documents. Pure: the daemon (reports.c) counts
 * and assembles a report's data tree; this module only turns that tree into
 * text, CSV, JSON or one self-contained HTML file (inline CSS and SVG charts,
 * print CSS for A4, no external resource), and reads and names report
 * periods. No I/O, no clock.
 *
 * The data tree (a jansson object; every renderer takes it borrowed):
 *
 *   {"board": "operations", "board_title": "SEND operational board",
 *    "period": "2026-11", "period_label": "November 2026",
 *    "from": "2026-11-01", "to": "2026-11-30", "as_on": "2026-11-30",
 *    "today": "2026-12-01",
 *    "sections": [{"id": "plans-20-weeks", "title": "...", "definition": "...",
 *                  "figures": [FIGURE...],
 *                  "chart": {"type": "bar", "id": "...", "title": "...", "x_label": "...",
 *                            "y_label": "...", "figures": ["figure id"...]},     (optional)
 *                  "list": {"id": "...", "columns": [{"key": "case", "title": "Case"}...],
 *                           "items": [{"case": "C-1", ...}...], "total": N,
 *                           "truncated": false}}],                              (optional)
 *    "trend": {"id": "trend", "title": "...", "definition": "...",
 *              "series": [{"key": "plans_issued", "label": "...", "short": "Plans",
 *                          "kind": "count"}...],
 *              "months": [{"month": "2026-11", "label": "Nov 2026",
 *                          "figures": [FIGURE with "key"...]}...],
 *              "charts": [{"type": "bar"|"line", "id", "title", "x_label", "y_label",
 *                          "series": ["key"...]}...]}}
 *
 *   FIGURE: {"id": "plans_issued_within_20_weeks_incl", "label": "...", "kind": "rate",
 *            "value": 66.7, "numerator": 2, "denominator": 3}
 *   (a count: "kind": "count", "value": N, "numerator" and "denominator" null; a rate
 *   with denominator 0: "value" null). Optional: "short", a bar's label in a chart; in a
 *   trend month, "key", the series it belongs to.
 *
 * Figure ids are unique in a report and stable: the HTML cell of a figure is
 * <td data-figure="ID">, the CSV has one row per figure, and tests and
 * spreadsheets find figures by id.
 */
#ifndef SF_REPORT_H
#define SF_REPORT_H

#include <stdbool.h>

#include <jansson.h>

#include "cal.h"
#include "util.h"

/* Room for a period's name ("2026-11", "2026-Q4") and its NUL. */
#define RPT_PERIOD_LEN 8

typedef enum rpt_format {
    RPT_TEXT, /* "text": aligned plain text, definitions at the end of each section */
    RPT_JSON, /* "json": the data tree, indented */
    RPT_CSV,  /* "csv": section,figure,value,numerator,denominator; one row per figure */
    RPT_HTML, /* "html": one self-contained HTML file with inline SVG charts */
} rpt_format;

/* A calendar month or quarter. */
typedef struct rpt_period {
    bool quarter; /* true: a quarter (index 1-4); false: a month (index 1-12) */
    int year;
    int index;
    cal_day from, to; /* first and last day */
} rpt_period;

/* Parse "YYYY-MM" (a month) or "YYYY-Qn" (a quarter, n 1-4): 0, or -1 when neither. */
int rpt_period_parse(const char *s, rpt_period *out) SF_MUSTCHECK;
/* The month (quarter false) or quarter that contains day. */
rpt_period rpt_period_of(cal_day day, bool quarter);
/* "2026-11" or "2026-Q4" into out; returns out. */
char *rpt_period_name(const rpt_period *p, char out[RPT_PERIOD_LEN]);
/* "November 2026" or "Q4 2026 (October to December)"; caller frees. */
char *rpt_period_label(const rpt_period *p);

/* Parse a format name ("text", "json", "csv", "html"): 0, or -1 when unknown. */
int rpt_format_parse(const char *name, rpt_format *out) SF_MUSTCHECK;
/* The format's name. Static storage. */
const char *rpt_format_name(rpt_format f);

/* A count figure (new reference). id and label are copied. */
json_t *rpt_count(const char *id, const char *label, long value);
/* A rate figure, num of den as a percentage to one decimal (null when den is 0). New reference. */
json_t *rpt_rate(const char *id, const char *label, long num, long den);

/*
 * The document for data (borrowed, not changed) in format f: a new string
 * the caller frees. A field missing from the tree renders as "-" or is left
 * out; it never fails.
 */
char *rpt_render(const json_t *data, rpt_format f);

#endif
