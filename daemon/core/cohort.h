/*
 * cohort: English school years from a date of birth. Pure: no I/O, no clock.
 *
 * The academic year runs from 1 September to 31 August. A child starts
 * Reception in the September after the 4th birthday, i.e. in the school year
 * in which they turn 5, so the cohort is fixed by the date of birth alone:
 * S = birth year + 4 for a birth in January-August, + 5 for September-December;
 * Reception starts on 1 September of S and Year N on 1 September of S + N
 * (reference/statutory-timescales.md §10). Phase transfers (reg. 18) are
 * scheduled from these dates by default.
 *
 * This is the child's cohort, not their placement: delayed summer-born entry
 * or an out-of-cohort placement moves a real transfer, and the service then
 * records the planned date instead.
 *
 * Every date argument is a real date, never CAL_NONE.
 */
#ifndef SF_COHORT_H
#define SF_COHORT_H

#include "cal.h"

/* The calendar year in whose September a child born on dob starts Reception ("S"). */
int coh_reception_year(cal_day dob);
/* 1 September of the year a child born on dob starts school year n (0 = Reception, 3 = Year 3, 7 =
 * Year 7, 12 = Year 12; -1 = the year before Reception). */
cal_day coh_year_start(cal_day dob, int n);
/* The school year, by cohort, of a child born on dob on day: 0 = Reception, 9 = Year 9, -1 = the
 * year before Reception, etc. (negative, and meaningless, before birth too). */
int coh_school_year_on(cal_day dob, cal_day day);
/* The calendar year in whose September the academic year holding day began (31 Aug 2026 -> 2025).
 */
int coh_academic_year(cal_day day);
/* Age in whole years on day; a 29 February birthday is reached on 1 March in common years.
 * Negative before birth. */
int coh_age_on(cal_day dob, cal_day day);
/* The day a child born on dob turns age (age 0 = dob); 1 March for a 29 February birth in a
 * common year. */
cal_day coh_birthday(cal_day dob, int age);
/* "Reception", "Year 3", "Year 12" (n >= 1, "Year 26 or later" from 26), "nursery" for negative;
 * static storage. */
const char *coh_year_name(int n);

#endif
