/*
 * hol: the statutory calendar (see hol.h). Two halves:
 *
 * Bank holidays. The standing rules give exactly eight days a year (a
 * holiday that falls at a weekend moves to a substitute day, so none is ever
 * lost); the one-off changes from bank-holidays.yaml remove some of those and
 * add others. At load we precompute every bank holiday of 1950-2150 into a
 * sorted array (for names and per-year lists) and a bitmap over the days of
 * that range (for hol_is_working_day, which the engine calls in loops over
 * every open process): one shift and one mask per lookup. Outside the range
 * the same merge is done per call from the rules and the sorted changes, so no
 * year is refused and nothing is ever written after loading.
 *
 * School terms. The closures are the gaps between consecutive terms plus the
 * declared "closures:"; closures that touch or overlap are merged, because the
 * school is then closed for one continuous period (reg. 10(4)(a) asks for "a
 * continuous period of not less than 4 weeks"). The windows of those of 4
 * weeks or more never overlap, so a binary search finds the one a day is in.
 *
 * The loader follows wf.c: libyaml's document API, strict keys, every error
 * "[file:line] problem", and everything allocated while loading lives in an
 * arena owned by the calendar, so a failed load frees the calendar and the
 * libyaml document, and that is all.
 */
#include "hol.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yml.h"

/* Years whose bank holidays are precomputed at load; others are computed per call. */
#define HOL__FIRST_YEAR 1950
#define HOL__LAST_YEAR  2150
#define HOL__NYEARS     (HOL__LAST_YEAR - HOL__FIRST_YEAR + 1)
/* Bits for every day of the range (201 years, at most 366 days each). */
#define HOL__BITMAP_BYTES ((HOL__NYEARS * 366 + 7) / 8)
/* The standing rules give this many days in every year. */
#define HOL__RULE_DAYS 8
/* Reg. 10(4)(a): "closed for a continuous period of not less than 4 weeks". */
#define HOL__LONG_CLOSURE_DAYS 28
/* Reg. 10(4)(a): the window begins, and ends, "one week before". */
#define HOL__WINDOW_LEAD_DAYS 7
/* The Gregorian calendar repeats its Easter dates every 5,700,000 years. */
#define HOL__EASTER_CYCLE 5700000LL
/*
 * Years with bank holidays: a cal_day spans about +-5,877,000 years, and
 * beyond this bound a rule day could fall outside it; no deadline is there.
 */
#define HOL__MAX_ABS_YEAR 5000000

/* One holiday: a day and its name (static, or in the arena). */
typedef struct hol__day {
    cal_day day;
    const char *name;
    int line; /* line of the "date:" (or "replaces:"/"remove:") while loading; 0 for rules */
} hol__day;

/* One school term as declared. */
typedef struct hol__term {
    cal_day from, to; /* first and last day, inclusive */
    const char *name; /* arena */
    int line;
} hol__term;

struct hol_calendar {
    yml_arena *arena;    /* every allocation below */
    const char *version; /* see hol_version; arena */

    /* bank-holidays.yaml (all in the arena) */
    const char *bank_file; /* the file it came from; NULL when none was loaded */
    int bank_version;
    hol__day *added; /* one-off bank holidays, sorted by day */
    size_t nadded;
    hol__day *removed; /* rule days taken away ("replaces:", "remove:"), sorted; name unused */
    size_t nremoved;

    /* terms.yaml (all in the arena) */
    const char *terms_file; /* NULL when none was loaded */
    const char *authority;
    int terms_version;
    hol__term *terms; /* in date order, disjoint */
    size_t nterms;
    hol_closure *declared; /* "closures:", in date order, disjoint */
    size_t ndeclared;
    hol_closure *closures; /* gaps and declared, merged, in date order */
    size_t nclosures;
    hol_closure *long_closures; /* those of at least 4 weeks, whose windows apply */
    size_t nlong;

    /* Precomputed bank holidays of HOL__FIRST_YEAR..HOL__LAST_YEAR. */
    cal_day range_first;                /* 1 January HOL__FIRST_YEAR */
    cal_day range_last;                 /* 31 December HOL__LAST_YEAR */
    hol__day *days;                     /* every one, sorted; arena */
    size_t year_start[HOL__NYEARS + 1]; /* days[year_start[y - FIRST] ..] is year y */
    uint8_t bits[HOL__BITMAP_BYTES];    /* bit (day - range_first): a bank holiday */
};

/* The state of one load (one document). */
typedef struct hol__ctx {
    yml_doc d;         /* the parsed document, the calendar's arena and the error buffer */
    hol_calendar *cal; /* being filled */
} hol__ctx;

_Static_assert(HOL_ERR_LEN == YML_ERR_LEN, "one error buffer size for every loader");

void hol_free(hol_calendar *c)
{
    if (!c)
        return;
    yml_arena_free(c->arena);
    free(c);
}

/* ---- The standing rules ------------------------------------------------ */

/* Floor modulo (C's % truncates toward zero). */
static long long hol__mod(long long a, long long b)
{
    long long r = a % b;
    return r < 0 ? r + b : r;
}

cal_day hol_easter(int y)
{
    /*
     * The anonymous Gregorian algorithm (Meeus, "Astronomical Algorithms",
     * ch. 8). It needs a positive year; Easter dates repeat every 5,700,000
     * years, so any other year is first moved into 1 .. 5,700,000.
     */
    long long yy = hol__mod((long long)y - 1, HOL__EASTER_CYCLE) + 1;
    long long a = yy % 19, b = yy / 100, c = yy % 100;
    long long d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
    long long h = (19 * a + b - d - g + 15) % 30;
    long long i = c / 4, k = c % 4;
    long long l = (32 + 2 * e + 2 * i - h - k) % 7;
    long long m = (a + 11 * h + 22 * l) / 451;
    long long n = h + l - 7 * m + 114;
    return cal_from_ymd(y, (int)(n / 31), (int)(n % 31) + 1);
}

/* ISO weekday (1 = Monday .. 7 = Sunday) without a call: 1970-01-01 was a Thursday. */
static int hol__weekday(cal_day day)
{
    return (int)hol__mod((long long)day + 3, 7) + 1;
}

/* The last Monday on or before day. */
static cal_day hol__monday_on_or_before(cal_day day)
{
    return day - (hol__weekday(day) - 1);
}

/* The first Monday on or after day. */
static cal_day hol__monday_on_or_after(cal_day day)
{
    return day + (8 - hol__weekday(day)) % 7;
}

/*
 * The eight days the standing rules give in year y, in date order. Easter
 * Monday is at the latest 26 April, so the order is fixed but for Christmas:
 * with 25 December on a Sunday, Boxing Day (Monday 26th) comes before
 * Christmas Day's substitute (Tuesday 27th).
 */
static void hol__rule_days(int y, hol__day out[HOL__RULE_DAYS])
{
    memset(out, 0, HOL__RULE_DAYS * sizeof *out);
    cal_day jan1 = cal_from_ymd(y, 1, 1);
    switch (hol__weekday(jan1)) {
    case 6:
        out[0] = (hol__day){jan1 + 2, "New Year's Day (substitute day)", 0};
        break;
    case 7:
        out[0] = (hol__day){jan1 + 1, "New Year's Day (substitute day)", 0};
        break;
    default:
        out[0] = (hol__day){jan1, "New Year's Day", 0};
        break;
    }
    cal_day easter = hol_easter(y);
    out[1] = (hol__day){easter - 2, "Good Friday", 0};
    out[2] = (hol__day){easter + 1, "Easter Monday", 0};
    out[3] =
        (hol__day){hol__monday_on_or_after(cal_from_ymd(y, 5, 1)), "Early May bank holiday", 0};
    out[4] = (hol__day){hol__monday_on_or_before(cal_from_ymd(y, 5, 31)), "Spring bank holiday", 0};
    out[5] = (hol__day){hol__monday_on_or_before(cal_from_ymd(y, 8, 31)), "Summer bank holiday", 0};
    cal_day xmas = cal_from_ymd(y, 12, 25);
    switch (hol__weekday(xmas)) {
    case 5: /* Friday: Boxing Day (Saturday) moves to Monday 28th */
        out[6] = (hol__day){xmas, "Christmas Day", 0};
        out[7] = (hol__day){xmas + 3, "Boxing Day (substitute day)", 0};
        break;
    case 6: /* Saturday: both move, to Monday 27th and Tuesday 28th */
        out[6] = (hol__day){xmas + 2, "Christmas Day (substitute day)", 0};
        out[7] = (hol__day){xmas + 3, "Boxing Day (substitute day)", 0};
        break;
    case 7: /* Sunday: Boxing Day is Monday 26th, Christmas Day moves to Tuesday 27th */
        out[6] = (hol__day){xmas + 1, "Boxing Day", 0};
        out[7] = (hol__day){xmas + 2, "Christmas Day (substitute day)", 0};
        break;
    default:
        out[6] = (hol__day){xmas, "Christmas Day", 0};
        out[7] = (hol__day){xmas + 1, "Boxing Day", 0};
        break;
    }
}

/* The name of the standing rule that makes day a bank holiday, or NULL. */
static const char *hol__rule_name(cal_day day)
{
    int y;
    hol__day rules[HOL__RULE_DAYS];
    cal_to_ymd(day, &y, NULL, NULL);
    hol__rule_days(y, rules);
    for (int i = 0; i < HOL__RULE_DAYS; i++)
        if (rules[i].day == day)
            return rules[i].name;
    return NULL;
}

/* Index of the first entry of the sorted days[0..n) on or after day (n when none). */
static size_t hol__lower_bound(const hol__day *days, size_t n, cal_day day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (days[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The entry for day in the sorted days[0..n), or NULL. */
static const hol__day *hol__find(const hol__day *days, size_t n, cal_day day)
{
    size_t i = hol__lower_bound(days, n, day);
    return i < n && days[i].day == day ? &days[i] : NULL;
}

/*
 * The bank holidays of year y, computed: the rule days that were not removed
 * merged with the one-offs of that year (never the same day: the loader
 * refuses a one-off on a rule day that stays). Writes up to cap entries to
 * out (which may be NULL when cap is 0) and returns how many there are.
 */
static size_t hol__year(const hol_calendar *c, int y, hol__day *out, size_t cap)
{
    hol__day rules[HOL__RULE_DAYS];
    hol__rule_days(y, rules);
    cal_day next_year = cal_from_ymd(y + 1, 1, 1);
    size_t a = hol__lower_bound(c->added, c->nadded, cal_from_ymd(y, 1, 1));
    size_t r = 0, n = 0;
    for (;;) {
        while (r < HOL__RULE_DAYS && hol__find(c->removed, c->nremoved, rules[r].day))
            r++;
        bool have_rule = r < HOL__RULE_DAYS;
        bool have_added = a < c->nadded && c->added[a].day < next_year;
        const hol__day *take;
        if (have_rule && (!have_added || rules[r].day < c->added[a].day))
            take = &rules[r++];
        else if (have_added)
            take = &c->added[a++];
        else
            break;
        if (n < cap)
            out[n] = *take;
        n++;
    }
    return n;
}

/* True when day falls in the precomputed range. */
static bool hol__in_range(const hol_calendar *c, cal_day day)
{
    return day >= c->range_first && day <= c->range_last;
}

/* Fill days, year_start and bits for HOL__FIRST_YEAR..HOL__LAST_YEAR. */
static void hol__precompute(hol_calendar *c)
{
    c->range_first = cal_from_ymd(HOL__FIRST_YEAR, 1, 1);
    c->range_last = cal_from_ymd(HOL__LAST_YEAR, 12, 31);
    size_t total = 0;
    for (int y = HOL__FIRST_YEAR; y <= HOL__LAST_YEAR; y++)
        total += hol__year(c, y, NULL, 0);
    c->days = yml_arena_alloc(&c->arena, (total ? total : 1) * sizeof *c->days);
    size_t n = 0;
    for (int y = HOL__FIRST_YEAR; y <= HOL__LAST_YEAR; y++) {
        c->year_start[y - HOL__FIRST_YEAR] = n;
        n += hol__year(c, y, c->days + n, total - n);
    }
    c->year_start[HOL__NYEARS] = n;
    memset(c->bits, 0, sizeof c->bits);
    for (size_t i = 0; i < n; i++) {
        size_t bit = (size_t)(c->days[i].day - c->range_first);
        c->bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
    }
}

/* ---- Lookups ----------------------------------------------------------- */

bool hol_is_bank_holiday(const hol_calendar *c, cal_day day, const char **name)
{
    const hol__day *found = NULL;
    hol__day rules[HOL__RULE_DAYS];
    if (hol__in_range(c, day)) {
        size_t bit = (size_t)(day - c->range_first);
        if (c->bits[bit / 8] & (1u << (bit % 8))) {
            int y;
            cal_to_ymd(day, &y, NULL, NULL);
            size_t lo = c->year_start[y - HOL__FIRST_YEAR];
            size_t hi = c->year_start[y - HOL__FIRST_YEAR + 1];
            found = hol__find(c->days + lo, hi - lo, day);
        }
    } else if (!(found = hol__find(c->added, c->nadded, day)) &&
               !hol__find(c->removed, c->nremoved, day)) {
        int y;
        cal_to_ymd(day, &y, NULL, NULL);
        if (y < -HOL__MAX_ABS_YEAR || y > HOL__MAX_ABS_YEAR)
            y = 0; /* no rule day of year 0 is day: none is this far out */
        hol__rule_days(y, rules);
        for (int i = 0; i < HOL__RULE_DAYS && !found; i++)
            if (rules[i].day == day)
                found = &rules[i];
    }
    if (name)
        *name = found ? found->name : NULL;
    return found != NULL;
}

bool hol_is_working_day(const hol_calendar *c, cal_day day)
{
    if (hol__weekday(day) > 5)
        return false;
    if (hol__in_range(c, day)) {
        size_t bit = (size_t)(day - c->range_first);
        return !(c->bits[bit / 8] & (1u << (bit % 8)));
    }
    return !hol_is_bank_holiday(c, day, NULL);
}

cal_day hol_add_working_days(const hol_calendar *c, cal_day day, int n)
{
    while (n > 0 && day < INT32_MAX) {
        day++;
        if (hol_is_working_day(c, day))
            n--;
    }
    return day;
}

cal_day hol_working_period_end(const hol_calendar *c, cal_day day, int n)
{
    /* The period begins with day: counting from the day before, day itself is the first candidate.
     */
    return hol_add_working_days(c, day - 1, n);
}

size_t hol_bank_holidays(const hol_calendar *c, int y, cal_day *out, size_t cap)
{
    if (y >= HOL__FIRST_YEAR && y <= HOL__LAST_YEAR) {
        size_t lo = c->year_start[y - HOL__FIRST_YEAR], hi = c->year_start[y - HOL__FIRST_YEAR + 1];
        for (size_t i = lo; i < hi && i - lo < cap; i++)
            out[i - lo] = c->days[i].day;
        return hi - lo;
    }
    if (y < -HOL__MAX_ABS_YEAR || y > HOL__MAX_ABS_YEAR)
        return 0;
    /* Outside the range, a bounded buffer at a time: one-offs are few, but not limited. */
    hol__day buf[HOL__RULE_DAYS * 2];
    size_t n = hol__year(c, y, buf, sizeof buf / sizeof buf[0]);
    if (n <= sizeof buf / sizeof buf[0]) {
        for (size_t i = 0; i < n && i < cap; i++)
            out[i] = buf[i].day;
        return n;
    }
    hol__day *all = xcalloc(n, sizeof *all);
    hol__year(c, y, all, n);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = all[i].day;
    free(all);
    return n;
}

bool hol_closure_window(const hol_calendar *c, cal_day day, hol_closure *which)
{
    /* The last long closure whose window begins on or before day; the windows are disjoint. */
    size_t lo = 0, hi = c->nlong;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->long_closures[mid].first - HOL__WINDOW_LEAD_DAYS <= day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const hol_closure *cl = &c->long_closures[lo - 1];
    if (day > cl->reopens - HOL__WINDOW_LEAD_DAYS)
        return false;
    if (which)
        *which = *cl;
    return true;
}

bool hol_has_terms(const hol_calendar *c)
{
    return c->nterms > 0 || c->ndeclared > 0;
}

size_t hol_closures(const hol_calendar *c, hol_closure *out, size_t cap)
{
    for (size_t i = 0; i < c->nclosures && i < cap; i++)
        out[i] = c->closures[i];
    return c->nclosures;
}

const char *hol_version(const hol_calendar *c)
{
    return c->version;
}

/* ---- Finishing a calendar ---------------------------------------------- */

/*
 * The closures: the gap after each term that is not followed at once by the
 * next, and the declared ones, merged where they touch or overlap (reopening
 * on the day another closure starts is no reopening). Both inputs are in date
 * order, so one merge pass suffices.
 */
static void hol__derive_closures(hol_calendar *c)
{
    size_t cap = c->nterms + c->ndeclared;
    hol_closure *all = yml_arena_alloc(&c->arena, (cap ? cap : 1) * sizeof *all);
    size_t n = 0, t = 0, d = 0;
    for (;;) {
        /* The next gap between two terms, if any is left. */
        while (t + 1 < c->nterms && c->terms[t + 1].from == c->terms[t].to + 1)
            t++;
        bool have_gap = t + 1 < c->nterms;
        bool have_decl = d < c->ndeclared;
        hol_closure next;
        if (have_gap && (!have_decl || c->terms[t].to + 1 <= c->declared[d].first)) {
            const hol__term *a = &c->terms[t], *b = &c->terms[t + 1];
            size_t len = strlen(a->name) + strlen(b->name) + 32;
            char *name = yml_arena_alloc(&c->arena, len);
            snprintf(name, len, "holiday between %s and %s", a->name, b->name);
            next = (hol_closure){a->to + 1, b->from, name};
            t++;
        } else if (have_decl) {
            next = c->declared[d++];
        } else {
            break;
        }
        if (n > 0 && next.first <= all[n - 1].reopens) {
            hol_closure *prev = &all[n - 1];
            if (next.reopens > prev->reopens)
                prev->reopens = next.reopens;
            size_t len = strlen(prev->name) + strlen(next.name) + 4;
            char *name = yml_arena_alloc(&c->arena, len);
            snprintf(name, len, "%s + %s", prev->name, next.name);
            prev->name = name;
        } else {
            all[n++] = next;
        }
    }
    c->closures = all;
    c->nclosures = n;
    c->long_closures = yml_arena_alloc(&c->arena, (n ? n : 1) * sizeof *c->long_closures);
    c->nlong = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i].reopens - all[i].first >= HOL__LONG_CLOSURE_DAYS)
            c->long_closures[c->nlong++] = all[i];
}

/* Everything that follows from what was loaded: closures, the precomputed days, the version. */
static void hol__finish(hol_calendar *c)
{
    hol__derive_closures(c);
    hol__precompute(c);
    char buf[HOL_ERR_LEN];
    if (c->bank_file)
        snprintf(buf, sizeof buf, "bank-holidays v%d", c->bank_version);
    else
        snprintf(buf, sizeof buf, "rules");
    if (c->terms_file) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "; terms (%s) v%d", c->authority, c->terms_version);
    }
    c->version = yml_arena_strdup(&c->arena, buf);
}

hol_calendar *hol_rules_only(void)
{
    hol_calendar *c = xcalloc(1, sizeof *c);
    hol__finish(c);
    return c;
}

/* ---- Helpers ---------------------------------------------------------- */

/* A date value for key; *node (may be NULL) gets its node, NULL when absent. */
static int hol__get_date(hol__ctx *x, const yaml_node_t *m, const char *key, const char *what,
                         bool required, cal_day *out, const yaml_node_t **node)
{
    yaml_node_t *v = yml_get(&x->d, m, key);
    *out = CAL_NONE;
    if (node)
        *node = v;
    if (!v) {
        if (required)
            return yml_err(&x->d, m, "%s: missing \"%s\"", what, key);
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE || yml_is_null(v))
        return yml_err(&x->d, v, "%s: \"%s\": expected a date YYYY-MM-DD, got %s", what, key,
                       yml_kind(v));
    if (cal_parse(yml_s(v), out) < 0)
        return yml_err(&x->d, v,
                       "%s: \"%s\": expected a date YYYY-MM-DD (a real day, year %d-%d), got "
                       "\"%s\"",
                       what, key, CAL_MIN_YEAR, CAL_MAX_YEAR, yml_s(v));
    return 0;
}

/* An optional list under key: *out the node (NULL when absent or empty), or an error. */
static int hol__get_list(hol__ctx *x, const yaml_node_t *top, const char *key,
                         const yaml_node_t **out)
{
    yaml_node_t *v = yml_get(&x->d, top, key);
    *out = NULL;
    if (!v || yml_is_null(v))
        return 0;
    if (v->type != YAML_SEQUENCE_NODE)
        return yml_err(&x->d, v, "\"%s\": expected a list, got %s", key, yml_kind(v));
    *out = v;
    return 0;
}

static int hol__cmp_day(const void *a, const void *b)
{
    cal_day x = ((const hol__day *)a)->day, y = ((const hol__day *)b)->day;
    return (x > y) - (x < y);
}

/* Weekday names for messages. */
static const char *hol__weekday_name(cal_day day)
{
    static const char *const names[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                         "Friday", "Saturday", "Sunday"};
    return names[hol__weekday(day) - 1];
}

/* ---- bank-holidays.yaml ------------------------------------------------ */

/*
 * A day a change takes away ("replaces:" or "remove:", node v): it must be a
 * day the standing rules make a bank holiday, and not already taken away.
 */
static int hol__take_away(hol__ctx *x, const yaml_node_t *v, const char *key, cal_day day)
{
    hol_calendar *c = x->cal;
    char buf[CAL_DATE_LEN];
    if (!hol__rule_name(day))
        return yml_err(&x->d, v,
                       "change: \"%s\": %s is not a bank holiday under the standing rules (only "
                       "a rule day can be moved or removed)",
                       key, cal_format(day, buf));
    for (size_t i = 0; i < c->nremoved; i++)
        if (c->removed[i].day == day)
            return yml_err(&x->d, v, "change: \"%s\": %s is already moved or removed (line %d)",
                           key, cal_format(day, buf), c->removed[i].line);
    c->removed[c->nremoved++] = (hol__day){day, NULL, yml_line(v)};
    return 0;
}

static int hol__parse_change(hol__ctx *x, const yaml_node_t *item)
{
    static const char *const keys[] = {"date", "name", "replaces", "remove", NULL};
    hol_calendar *c = x->cal;
    char buf[CAL_DATE_LEN], buf2[CAL_DATE_LEN];
    if (yml_want_map(&x->d, item, "change") < 0 || yml_check_keys(&x->d, item, "change", keys) < 0)
        return -1;
    cal_day date, replaces, remove;
    const yaml_node_t *date_node, *replaces_node, *remove_node;
    if (hol__get_date(x, item, "date", "change", false, &date, &date_node) < 0 ||
        hol__get_date(x, item, "replaces", "change", false, &replaces, &replaces_node) < 0 ||
        hol__get_date(x, item, "remove", "change", false, &remove, &remove_node) < 0)
        return -1;

    if (remove_node) {
        if (date_node)
            return yml_err(&x->d, date_node,
                           "change: \"remove\" takes a day away; to move it, give \"date\" and "
                           "\"replaces\" instead");
        if (yml_get(&x->d, item, "name"))
            return yml_err(&x->d, item, "change: \"name\" goes with \"date\", not with \"remove\"");
        if (replaces_node)
            return yml_err(&x->d, replaces_node,
                           "change: \"replaces\" goes with \"date\", not with \"remove\"");
        return hol__take_away(x, remove_node, "remove", remove);
    }
    if (!date_node)
        return yml_err(&x->d, item,
                       "change: missing \"date\" (an extra or moved bank holiday) or \"remove\"");

    int wd = hol__weekday(date);
    if (wd > 5)
        return yml_err(&x->d, date_node,
                       "change: \"date\": %s is a %s; a bank holiday falls on a weekday",
                       cal_format(date, buf), hol__weekday_name(date));
    for (size_t i = 0; i < c->nadded; i++)
        if (c->added[i].day == date)
            return yml_err(&x->d, date_node, "change: \"date\": %s is already listed (line %d)",
                           cal_format(date, buf), c->added[i].line);
    const char *name;
    if (yml_get_str(&x->d, item, "name", "change", true, &name) < 0)
        return -1;
    if (replaces_node) {
        int y1, y2;
        cal_to_ymd(date, &y1, NULL, NULL);
        cal_to_ymd(replaces, &y2, NULL, NULL);
        if (y1 != y2)
            return yml_err(&x->d, replaces_node,
                           "change: \"replaces\": %s is not in the same year as \"date\" %s",
                           cal_format(replaces, buf), cal_format(date, buf2));
        if (hol__take_away(x, replaces_node, "replaces", replaces) < 0)
            return -1;
    }
    c->added[c->nadded++] = (hol__day){date, name, yml_line(date_node)};
    return 0;
}

static int hol__parse_bank_holidays(hol__ctx *x, const yaml_node_t *top)
{
    static const char *const keys[] = {"calendar", "version", "changes", NULL};
    hol_calendar *c = x->cal;
    const yaml_node_t *changes;
    if (yml_check_keys(&x->d, top, "top level", keys) < 0 ||
        yml_get_version(&x->d, top, "version", &c->bank_version) < 0 ||
        hol__get_list(x, top, "changes", &changes) < 0)
        return -1;
    size_t n = changes ? yml_seq_len(changes) : 0;
    c->added = yml_alloc(&x->d, (n ? n : 1) * sizeof *c->added);
    c->removed = yml_alloc(&x->d, (n ? n : 1) * sizeof *c->removed);
    for (size_t i = 0; i < n; i++)
        if (hol__parse_change(x, yml_item(&x->d, changes, i)) < 0)
            return -1;

    /*
     * Only now is every removal known: a one-off on a rule day is an error
     * unless some entry (before or after it) takes that rule day away.
     */
    for (size_t i = 0; i < c->nadded; i++) {
        const char *rule = hol__rule_name(c->added[i].day);
        bool removed = false;
        for (size_t j = 0; j < c->nremoved; j++)
            if (c->removed[j].day == c->added[i].day)
                removed = true;
        if (rule && !removed) {
            char buf[CAL_DATE_LEN];
            return yml_err_at(x->d.err, x->d.file, c->added[i].line,
                              "change: \"date\": %s is already a bank holiday (%s)",
                              cal_format(c->added[i].day, buf), rule);
        }
    }
    qsort(c->added, c->nadded, sizeof *c->added, hol__cmp_day);
    qsort(c->removed, c->nremoved, sizeof *c->removed, hol__cmp_day);
    return 0;
}

/* ---- terms.yaml -------------------------------------------------------- */

/*
 * One period of a "terms:" or "closures:" item: name, from, and to (a term's
 * last day) or reopens (a closure's first open day). *name_out, *from_out,
 * *end_out and *line_out get the values.
 */
static int hol__parse_period(hol__ctx *x, const yaml_node_t *item, const char *kind,
                             const char *end_key, const char **name_out, cal_day *from_out,
                             cal_day *end_out, int *line_out)
{
    const char *const keys[] = {"from", end_key, "name", NULL};
    char what[200], buf[CAL_DATE_LEN], buf2[CAL_DATE_LEN];
    if (yml_want_map(&x->d, item, kind) < 0 || yml_check_keys(&x->d, item, kind, keys) < 0 ||
        yml_get_str(&x->d, item, "name", kind, true, name_out) < 0)
        return -1;
    snprintf(what, sizeof what, "%s \"%s\"", kind, *name_out);
    const yaml_node_t *end_node;
    if (hol__get_date(x, item, "from", what, true, from_out, NULL) < 0 ||
        hol__get_date(x, item, end_key, what, true, end_out, &end_node) < 0)
        return -1;
    bool is_term = !strcmp(end_key, "to");
    if (is_term ? *end_out < *from_out : *end_out <= *from_out)
        return yml_err(&x->d, end_node, "%s: \"%s\" %s is %s \"from\" %s", what, end_key,
                       cal_format(*end_out, buf), is_term ? "before" : "not after",
                       cal_format(*from_out, buf2));
    *line_out = yml_line(item);
    return 0;
}

/*
 * Periods [from, end) in a list must be in date order and disjoint, and their
 * names distinct (a copied line whose name was not changed is a typo).
 * prev_* describe the item before (none when i == 0).
 */
static int hol__check_order(hol__ctx *x, const yaml_node_t *item, const char *kind,
                            const char *name, cal_day from, const char *prev_name,
                            cal_day prev_from, cal_day prev_end, int prev_line)
{
    if (from < prev_from)
        return yml_err(&x->d, item,
                       "%s \"%s\" starts before %s \"%s\" (line %d): list them in date order", kind,
                       name, kind, prev_name, prev_line);
    if (from < prev_end)
        return yml_err(&x->d, item, "%s \"%s\" overlaps %s \"%s\" (line %d)", kind, name, kind,
                       prev_name, prev_line);
    return 0;
}

static int hol__check_name(hol__ctx *x, const yaml_node_t *item, const char *kind, const char *name,
                           const char *const *names, const int *lines, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (!strcmp(names[j], name))
            return yml_err(&x->d, item, "%s \"%s\": the name is also used at line %d", kind, name,
                           lines[j]);
    return 0;
}

static int hol__parse_terms(hol__ctx *x, const yaml_node_t *top)
{
    static const char *const keys[] = {"calendar", "authority", "version",
                                       "terms",    "closures",  NULL};
    hol_calendar *c = x->cal;
    const yaml_node_t *terms, *closures;
    if (yml_check_keys(&x->d, top, "top level", keys) < 0 ||
        yml_get_str(&x->d, top, "authority", "top level", true, &c->authority) < 0 ||
        yml_get_version(&x->d, top, "version", &c->terms_version) < 0 ||
        hol__get_list(x, top, "terms", &terms) < 0 ||
        hol__get_list(x, top, "closures", &closures) < 0)
        return -1;
    size_t nt = terms ? yml_seq_len(terms) : 0, nc = closures ? yml_seq_len(closures) : 0;
    if (nt + nc == 0)
        return yml_err(&x->d, top, "top level: no \"terms\" and no \"closures\": nothing to load");

    c->terms = yml_alloc(&x->d, (nt ? nt : 1) * sizeof *c->terms);
    const char **names = yml_alloc(&x->d, (nt + nc) * sizeof *names);
    int *lines = yml_alloc(&x->d, (nt + nc) * sizeof *lines);
    for (size_t i = 0; i < nt; i++) {
        const yaml_node_t *item = yml_item(&x->d, terms, i);
        hol__term *t = &c->terms[i];
        if (hol__parse_period(x, item, "term", "to", &t->name, &t->from, &t->to, &t->line) < 0 ||
            hol__check_name(x, item, "term", t->name, names, lines, i) < 0)
            return -1;
        if (i > 0) {
            const hol__term *p = &c->terms[i - 1];
            if (hol__check_order(x, item, "term", t->name, t->from, p->name, p->from, p->to + 1,
                                 p->line) < 0)
                return -1;
        }
        names[i] = t->name;
        lines[i] = t->line;
        c->nterms++;
    }
    c->declared = yml_alloc(&x->d, (nc ? nc : 1) * sizeof *c->declared);
    for (size_t i = 0; i < nc; i++) {
        const yaml_node_t *item = yml_item(&x->d, closures, i);
        hol_closure *cl = &c->declared[i];
        int line;
        if (hol__parse_period(x, item, "closure", "reopens", &cl->name, &cl->first, &cl->reopens,
                              &line) < 0 ||
            hol__check_name(x, item, "closure", cl->name, names + nt, lines + nt, i) < 0)
            return -1;
        if (i > 0) {
            const hol_closure *p = &c->declared[i - 1];
            if (hol__check_order(x, item, "closure", cl->name, cl->first, p->name, p->first,
                                 p->reopens, lines[nt + i - 1]) < 0)
                return -1;
        }
        names[nt + i] = cl->name;
        lines[nt + i] = line;
        c->ndeclared++;
    }
    return 0;
}

/* ---- Documents and files ----------------------------------------------- */

/* One document's top level: which calendar it is, then that calendar's keys. */
static int hol__parse_top(hol__ctx *x, const yaml_node_t *top)
{
    hol_calendar *c = x->cal;
    if (top->type != YAML_MAPPING_NODE)
        return yml_err(&x->d, top, "top level: expected a mapping, got %s", yml_kind(top));
    if (yml_check_keys(&x->d, top, "top level", NULL) < 0)
        return -1;
    yaml_node_t *v = yml_get(&x->d, top, "calendar");
    if (!v)
        return yml_err(&x->d, top, "top level: missing \"calendar\" (bank-holidays or terms)");
    const char *kind = v->type == YAML_SCALAR_NODE ? yml_s(v) : "";
    if (!strcmp(kind, "bank-holidays")) {
        if (c->bank_file)
            return yml_err(&x->d, v,
                           "\"calendar\": a second bank-holidays calendar (the first is %s)",
                           c->bank_file);
        c->bank_file = yml_strdup(&x->d, x->d.file);
        return hol__parse_bank_holidays(x, top);
    }
    if (!strcmp(kind, "terms")) {
        if (c->terms_file)
            return yml_err(&x->d, v, "\"calendar\": a second terms calendar (the first is %s)",
                           c->terms_file);
        c->terms_file = yml_strdup(&x->d, x->d.file);
        return hol__parse_terms(x, top);
    }
    return yml_err(&x->d, v, "\"calendar\": expected bank-holidays or terms, got %s%s%s",
                   v->type == YAML_SCALAR_NODE ? "\"" : "",
                   v->type == YAML_SCALAR_NODE ? kind : yml_kind(v),
                   v->type == YAML_SCALAR_NODE ? "\"" : "");
}

/* Parse one YAML document (the whole of yaml) into calendar c; 0, or -1 and err. */
static int hol__load_text(hol_calendar *c, const char *name, const char *yaml, size_t len,
                          char *err)
{
    hol__ctx x = {.cal = c};
    yaml_node_t *root;
    int rc = yml_doc_parse(&x.d, name, yaml, len, "calendar", err, &root);
    if (rc == 0 && !root)
        rc = yml_err(&x.d, NULL, "empty document: expected a calendar mapping");
    if (rc == 0) {
        x.d.arena = c->arena; /* what the document keeps belongs to the calendar */
        rc = hol__parse_top(&x, root);
        c->arena = yml_doc_release_arena(&x.d);
    }
    yml_doc_done(&x.d);
    return rc;
}

int hol_load_string(const char *name, const char *yaml, size_t len, hol_calendar **out,
                    char err[HOL_ERR_LEN])
{
    *out = NULL;
    err[0] = '\0';
    hol_calendar *c = xcalloc(1, sizeof *c);
    if (hol__load_text(c, name, yaml, len, err) < 0) {
        hol_free(c);
        return -1;
    }
    hol__finish(c);
    *out = c;
    return 0;
}

int hol_load_texts(const char *dir, const hol_text *files, size_t n, hol_calendar **out,
                   char err[HOL_ERR_LEN])
{
    *out = NULL;
    err[0] = '\0';
    hol_calendar *c = xcalloc(1, sizeof *c);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = hol__load_text(c, files[i].name, files[i].yaml, files[i].len, err);
    if (rc == 0 && n > 0 && !c->bank_file)
        rc = yml_err_at(err, dir, 1,
                        "no bank-holidays calendar (a file with \"calendar: bank-holidays\") "
                        "among the %zu calendar file%s",
                        n, n == 1 ? "" : "s");
    if (rc < 0) {
        hol_free(c);
        return -1;
    }
    hol__finish(c);
    *out = c;
    return 0;
}
