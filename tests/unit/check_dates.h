/*
 * check_dates.h: date helpers for the unit tests that need them, on top of
 * check.h. D("2026-01-05") is the day number of a literal that must parse
 * (NULL gives CAL_NONE; a bad literal fails the running test); F(day) formats
 * a day into one of a few rotating static buffers ("none" for CAL_NONE), so
 * a CHECK_STR can compare several dates in one expression.
 */
#ifndef SF_CHECK_DATES_H
#define SF_CHECK_DATES_H

#include "cal.h"
#include "check.h"

static cal_day D(const char *s)
{
    cal_day d = CAL_NONE;
    if (!s)
        return CAL_NONE;
    if (cal_parse(s, &d) != 0) {
        fprintf(stderr, "test date %s does not parse\n", s);
        check_failures++;
        check_test_failures++;
    }
    return d;
}

static const char *F(cal_day d)
{
    static char buf[8][CAL_DATE_LEN];
    static int i;
    if (d == CAL_NONE)
        return "none";
    i = (i + 1) % 8;
    return cal_format(d, buf[i]);
}

#endif
