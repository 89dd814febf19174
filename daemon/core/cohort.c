/*
 * cohort: school years from a date of birth (see cohort.h). Everything is
 * counted in whole academic years from S, the year the child starts
 * Reception, so a child's school year on any day is the academic year of
 * that day minus S.
 *
 * Pure: no I/O, no clock.
 */
#include "cohort.h"

#include <stddef.h>

/* The last school year coh_year_name spells out; an EHC plan can run to age 25 (Year 20). */
#define COH__LAST_NAMED 25

int coh_reception_year(cal_day dob)
{
    int y, m;
    cal_to_ymd(dob, &y, &m, NULL);
    /* Born September-December: the 4th birthday falls after 1 September of y + 4. */
    return m >= 9 ? y + 5 : y + 4;
}

cal_day coh_year_start(cal_day dob, int n)
{
    return cal_from_ymd(coh_reception_year(dob) + n, 9, 1);
}

int coh_academic_year(cal_day day)
{
    int y, m;
    cal_to_ymd(day, &y, &m, NULL);
    return m >= 9 ? y : y - 1;
}

int coh_school_year_on(cal_day dob, cal_day day)
{
    return coh_academic_year(day) - coh_reception_year(dob);
}

/*
 * Whole years: the difference of the calendar years, less one when the
 * birthday has not yet come round. Comparing (month, day) pairs makes a
 * 29 February birthday arrive on 1 March in a common year, since 28 February
 * still compares before it.
 */
int coh_age_on(cal_day dob, cal_day day)
{
    int by, bm, bd, y, m, d;
    cal_to_ymd(dob, &by, &bm, &bd);
    cal_to_ymd(day, &y, &m, &d);
    int age = y - by;
    if (m < bm || (m == bm && d < bd))
        age--;
    return age;
}

cal_day coh_birthday(cal_day dob, int age)
{
    int y, m, d;
    cal_to_ymd(dob, &y, &m, &d);
    if (!cal_valid_ymd(y + age, m, d)) /* 29 February in a common year */
        return cal_from_ymd(y + age, 3, 1);
    return cal_from_ymd(y + age, m, d);
}

const char *coh_year_name(int n)
{
    static const char *const names[COH__LAST_NAMED + 1] = {
        "Reception", "Year 1",  "Year 2",  "Year 3",  "Year 4",  "Year 5",  "Year 6",
        "Year 7",    "Year 8",  "Year 9",  "Year 10", "Year 11", "Year 12", "Year 13",
        "Year 14",   "Year 15", "Year 16", "Year 17", "Year 18", "Year 19", "Year 20",
        "Year 21",   "Year 22", "Year 23", "Year 24", "Year 25",
    };
    if (n < 0)
        return "nursery";
    if (n > COH__LAST_NAMED)
        return "Year 26 or later";
    return names[n];
}
