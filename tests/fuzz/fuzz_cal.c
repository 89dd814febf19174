/*
 * fuzz_cal: the date parsers (cal_parse, cal_parse_datetime) on arbitrary
 * strings, and the arithmetic's invariants on every date they accept.
 *
 * Input: a string, optionally followed by '\n' and bytes that choose extra
 * counts for the period arithmetic. The string (a NUL-terminated copy) goes to
 * both parsers and to the unit and month-name parsers. For a date that parses:
 * format(parse(s)) == s, from_ymd(to_ymd(d)) == d, the weekday is 1..7 and
 * moves on by one a day, adding months keeps the day of the month or clamps
 * it to the month's end, and a period of n >= 1 units beginning with d ends
 * on or after d. A violation is a __builtin_trap(), which libFuzzer reports
 * with the input.
 */
#include "cal.h"
#include "fuzz.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts always tried: the ones the shipped workflows use, and the edges. */
static const int fixed_counts[] = {1, 2, 6, 12, 15, 16, 20, 28, 29, 59, -1, -5, -12, 0, 9999};

static void check_month_step(cal_day d, int n)
{
    int y, m, dd, y2, m2, d2;
    cal_to_ymd(d, &y, &m, &dd);
    cal_to_ymd(cal_add_months(d, n), &y2, &m2, &d2);
    long long want = (long long)y * 12 + (m - 1) + n;
    CHECK((long long)y2 * 12 + (m2 - 1) == want);
    int last = cal_days_in_month(y2, m2);
    CHECK(d2 == (dd < last ? dd : last));
    CHECK(cal_add(d, n, CAL_YEARS) == cal_add_months(d, 12 * n));
}

static void check_counts(cal_day d, int n)
{
    check_month_step(d, n);
    CHECK(cal_add(d, n, CAL_DAYS) == d + n);
    CHECK(cal_add(d, n, CAL_WEEKS) == d + 7 * n);
    if (n >= 1) {
        static const cal_unit units[] = {CAL_DAYS, CAL_WEEKS, CAL_MONTHS, CAL_YEARS};
        for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
            cal_day end = cal_period_end(d, n, units[u]);
            CHECK(end >= d);
            /* The period ends before the corresponding date n units on. */
            CHECK(end < cal_add(d, n, units[u]) || units[u] >= CAL_MONTHS);
            CHECK(end <= cal_add(d, n, units[u]));
        }
        CHECK(cal_period_end(d, n, CAL_DAYS) == d + n - 1);
    }
}

static void check_date(const char *s, cal_day d, const uint8_t *extra, size_t nextra)
{
    char buf[CAL_DATE_LEN], lng[CAL_LONG_LEN];
    CHECK(strcmp(cal_format(d, buf), s) == 0);

    int y, m, dd;
    cal_to_ymd(d, &y, &m, &dd);
    CHECK(y >= CAL_MIN_YEAR && y <= CAL_MAX_YEAR);
    CHECK(cal_valid_ymd(y, m, dd));
    CHECK(cal_from_ymd(y, m, dd) == d);
    CHECK(cal_month_name(m) != NULL);
    CHECK(cal_month_from_name(cal_month_name(m)) == m);

    int wd = cal_weekday(d);
    CHECK(wd >= 1 && wd <= 7);
    CHECK(cal_weekday(d + 1) == wd % 7 + 1);
    cal_format_long(d, lng);
    CHECK(strchr(lng, ' ') != NULL);

    for (size_t i = 0; i < sizeof fixed_counts / sizeof fixed_counts[0]; i++)
        check_counts(d, fixed_counts[i]);
    /* Counts from the input, within the loader's bound (1..9999) either way. */
    for (size_t i = 0; i + 1 < nextra; i += 2) {
        int n = (int)(((unsigned)extra[i] << 8 | extra[i + 1]) % 19999) - 9999;
        check_counts(d, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t slen = nl ? (size_t)(nl - data) : size;
    const uint8_t *extra = nl ? nl + 1 : NULL;
    size_t nextra = nl ? size - slen - 1 : 0;

    char *s = malloc(slen + 1);
    if (!s)
        return 0;
    memcpy(s, data, slen);
    s[slen] = '\0';

    cal_day d;
    if (cal_parse(s, &d) == 0)
        check_date(s, d, extra, nextra);

    int minute = -1;
    if (cal_parse_datetime(s, &d, &minute) == 0) {
        CHECK(minute >= 0 && minute < 24 * 60);
        char date[CAL_DATE_LEN], back[32];
        snprintf(back, sizeof back, "%sT%02d:%02d", cal_format(d, date), minute / 60, minute % 60);
        CHECK(strcmp(back, s) == 0);
        CHECK(cal_parse(date, NULL) == 0);
    }

    cal_unit unit;
    if (cal_unit_parse(s, &unit) == 0) {
        cal_unit again;
        CHECK(cal_unit_parse(cal_unit_name(unit, 1), &again) == 0 && again == unit);
        CHECK(cal_unit_parse(cal_unit_name(unit, 2), &again) == 0 && again == unit);
    }
    int month = cal_month_from_name(s);
    CHECK(month >= 0 && month <= 12);

    free(s);
    return 0;
}
