/*
 * hol: the statutory calendar of England and Wales. Bank holidays (the
 * standing rules in code, the one-off changes as data), working days, and the
 * school terms of a local authority for the reg. 10(4)(a) exception (advice
 * requested from a school just before a closure of 4 weeks or more).
 *
 * The standing rules: New Year's Day (1 January, or the Monday after when it
 * falls at a weekend), Good Friday, Easter Monday, the Early May bank holiday
 * (first Monday of May), the Spring bank holiday (last Monday of May), the
 * Summer bank holiday (last Monday of August), Christmas Day and Boxing Day
 * with their substitute days. Christmas Day and Good Friday are common-law
 * holidays rather than bank holidays, but they are not working days either, so
 * they are in every list here, as on gov.uk. The rules are today's (in force
 * since 1978) and are applied to every year; what a proclamation changed (a
 * jubilee, a state funeral, a holiday moved) is in the calendar files, so a new
 * one needs no code:
 *
 *   workflows/calendars/bank-holidays.yaml  one-off changes to the rules
 *   workflows/calendars/terms.yaml          one authority's school terms
 *
 * (each file's opening comment describes its format). Pure: no I/O (the caller
 * reads those files: daemon/load.h), no clock.
 *
 * Ownership: a hol_calendar owns every string reachable from it; free it with
 * hol_free. Nothing changes after loading and lookups use no cache, so any
 * number of threads may share one calendar.
 */
#ifndef SF_HOL_H
#define SF_HOL_H

#include <stdbool.h>
#include <stddef.h>

#include "cal.h"
#include "util.h"

/* Room for one loader error message: "[file:line] problem". */
#define HOL_ERR_LEN 512

/* A loaded calendar: opaque, read-only after loading. */
typedef struct hol_calendar hol_calendar;

/* One school closure, as declared or derived from the gap between two terms. */
typedef struct hol_closure {
    cal_day first;    /* the first day the schools are closed */
    cal_day reopens;  /* the day they open again (the closure is first .. reopens - 1) */
    const char *name; /* "holiday between summer 2 2025 and autumn 1 2025"; borrowed from the
                         calendar, valid until hol_free */
} hol_closure;

/* Easter Sunday of year y (Gregorian, anonymous/Meeus algorithm); any y. */
cal_day hol_easter(int y);

/* A calendar with only the standing rules (no one-off changes, no school terms); free with
 * hol_free. */
hol_calendar *hol_rules_only(void);

/* One calendar file as the caller read it. */
typedef struct hol_text {
    const char *name; /* its path: named in messages and hol_version; copied */
    const char *yaml; /* its contents, len bytes; borrowed for the call */
    size_t len;
} hol_text;

/*
 * Load the n calendar files of directory dir (calendars/, named in messages), in the order given
 * (by name): 0 and *out (free with hol_free), or -1, *out NULL and "[file:line] problem" in err.
 * No files give the rules-only calendar; otherwise it needs exactly one bank-holidays file and at
 * most one terms file.
 */
int hol_load_texts(const char *dir, const hol_text *files, size_t n, hol_calendar **out,
                   char err[HOL_ERR_LEN]) SF_MUSTCHECK;

/*
 * As hol_load_texts for one YAML document (name stands for the file in messages); for tests. A
 * terms document alone gives the standing rules plus those terms.
 */
int hol_load_string(const char *name, const char *yaml, size_t len, hol_calendar **out,
                    char err[HOL_ERR_LEN]) SF_MUSTCHECK;

/* Free a calendar and everything it owns; NULL is fine. */
void hol_free(hol_calendar *c);

/*
 * "bank-holidays v3; terms (Example Council) v2": the versions of every file loaded, for storing
 * beside a process. "rules" for hol_rules_only ("rules; terms (...) v1" for a terms document
 * alone). Owned by the calendar, valid until hol_free.
 */
const char *hol_version(const hol_calendar *c);

/*
 * True when day is a bank holiday (standing rule, substitute day or one-off); *name (may be NULL)
 * gets e.g. "Easter Monday", "Christmas Day (substitute day)" (static or owned by the calendar),
 * or NULL when day is not one.
 */
bool hol_is_bank_holiday(const hol_calendar *c, cal_day day, const char **name);

/* Monday to Friday and not a bank holiday. */
bool hol_is_working_day(const hol_calendar *c, cal_day day);

/*
 * "Within n working days of day" (n >= 1): the day itself excluded, the n-th working day after it.
 * n <= 0 gives day itself.
 */
cal_day hol_add_working_days(const hol_calendar *c, cal_day day, int n);

/*
 * "n working days beginning with day" (n >= 1): day counts as the first if it is a working day;
 * the last day of the period. The statutory-timescales example: the LA learns of a move on Mon
 * 15 Dec 2025, and day 15 is Wed 7 Jan 2026. n <= 0 gives the day before day.
 */
cal_day hol_working_period_end(const hol_calendar *c, cal_day day, int n);

/*
 * Bank holidays of year y in date order into out (up to cap; out may be NULL when cap is 0);
 * returns how many there are (may exceed cap). Years beyond +-5,000,000 have none.
 */
size_t hol_bank_holidays(const hol_calendar *c, int y, cal_day *out, size_t cap);

/*
 * Reg. 10(4)(a): true when advice requested from a school on day falls in the period that begins
 * one week before a school closure of at least 4 continuous weeks and ends one week before the
 * schools reopen; *which (may be NULL) gets that closure. Example: closed 23 Jul, reopens 3 Sep
 * 2025, so the window is 16 Jul to 27 Aug 2025 inclusive. Closures that touch or overlap (a term
 * gap and a declared closure) count as one continuous closure.
 */
bool hol_closure_window(const hol_calendar *c, cal_day day, hol_closure *which);

/* True when the calendar declares school terms or closures (else hol_closure_window is always
 * false). */
bool hol_has_terms(const hol_calendar *c);

/*
 * The school closures in date order, merged as hol_closure_window sees them (of any length: the
 * half terms too), into out (up to cap; out may be NULL when cap is 0); returns how many there
 * are. The names are borrowed from the calendar.
 */
size_t hol_closures(const hol_calendar *c, hol_closure *out, size_t cap);

#endif
