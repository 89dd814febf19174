/*
 * test_cal: the date arithmetic every deadline rests on. Round trips over
 * eleven centuries, weekdays, leap years, strict parsing, and every worked
 * example of reference/statutory-timescales.md §9 ("How to count").
 */
#include "cal.h"
#include "check.h"
#include "check_dates.h"

#include <stdbool.h>

static void test_epoch(void)
{
    CHECK_INT(cal_from_ymd(1970, 1, 1), 0);
    CHECK_INT(cal_from_ymd(1970, 1, 2), 1);
    CHECK_INT(cal_from_ymd(1969, 12, 31), -1);
    CHECK_INT(cal_from_ymd(2000, 3, 1), 11017);
    CHECK_INT(cal_from_ymd(1900, 1, 1), -25567);
    CHECK_INT(cal_from_ymd(2026, 1, 5), 20458);
}

/* Every day 1900-01-01 .. 2999-12-31: from_ymd and to_ymd invert each other, days are consecutive.
 */
static void test_round_trip(void)
{
    cal_day expect = cal_from_ymd(1900, 1, 1);
    int bad = 0;
    for (int y = 1900; y <= 2999; y++) {
        for (int m = 1; m <= 12; m++) {
            int dim = cal_days_in_month(y, m);
            for (int d = 1; d <= dim; d++) {
                cal_day day = cal_from_ymd(y, m, d);
                int yy = 0, mm = 0, dd = 0;
                cal_to_ymd(day, &yy, &mm, &dd);
                if (day != expect || yy != y || mm != m || dd != d) {
                    if (bad++ < 5)
                        fprintf(stderr, "round trip %04d-%02d-%02d -> %d -> %04d-%02d-%02d\n", y, m,
                                d, (int)day, yy, mm, dd);
                }
                /* Every day formats and parses back. */
                char buf[CAL_DATE_LEN];
                cal_day back = CAL_NONE;
                if (cal_parse(cal_format(day, buf), &back) != 0 || back != day) {
                    if (bad++ < 5)
                        fprintf(stderr, "format/parse %s\n", buf);
                }
                expect++;
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(expect, cal_from_ymd(3000, 1, 1));
    /* NULL pointers are allowed. */
    int y = 0;
    cal_to_ymd(D("2026-07-04"), &y, NULL, NULL);
    CHECK_INT(y, 2026);
    /* Before the epoch and far outside the parse range still round-trip. */
    int m, d;
    cal_to_ymd(cal_from_ymd(1, 1, 1), &y, &m, &d);
    CHECK(y == 1 && m == 1 && d == 1);
    cal_to_ymd(cal_from_ymd(-400, 2, 29), &y, &m, &d);
    CHECK(y == -400 && m == 2 && d == 29);
}

static void test_weekday(void)
{
    static const struct {
        const char *date;
        int iso;
    } cases[] = {
        {"1970-01-01", 4}, {"1900-01-01", 1}, {"2000-01-01", 6}, {"2000-02-29", 2},
        {"2024-02-29", 4}, {"2025-09-10", 3}, {"2025-10-22", 3}, {"2025-12-01", 1},
        {"2025-12-15", 1}, {"2026-01-05", 1}, {"2026-02-14", 6}, {"2026-01-28", 3},
        {"2026-03-01", 7}, {"2999-12-31", 2}, {"1969-12-31", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(cal_weekday(D(cases[i].date)), cases[i].iso);
    }
    /* Seven consecutive days cover the week once. */
    cal_day mon = D("2026-01-05");
    for (int i = 0; i < 7; i++)
        CHECK_INT(cal_weekday(mon + i), i + 1);
    CHECK_INT(cal_weekday(mon - 1), 7);
}

static void test_leap(void)
{
    CHECK(!cal_is_leap(1900));
    CHECK(cal_is_leap(2000));
    CHECK(cal_is_leap(2024));
    CHECK(!cal_is_leap(2025));
    CHECK(!cal_is_leap(2100));
    CHECK(cal_is_leap(2400));
    CHECK_INT(cal_days_in_month(1900, 2), 28);
    CHECK_INT(cal_days_in_month(2000, 2), 29);
    CHECK_INT(cal_days_in_month(2024, 2), 29);
    CHECK_INT(cal_days_in_month(2100, 2), 28);
    CHECK_INT(cal_days_in_month(2025, 4), 30);
    CHECK_INT(cal_days_in_month(2025, 12), 31);
    CHECK_INT(cal_days_in_month(2025, 0), 0);
    CHECK_INT(cal_days_in_month(2025, 13), 0);
    CHECK(cal_valid_ymd(2024, 2, 29));
    CHECK(!cal_valid_ymd(2025, 2, 29));
    CHECK(!cal_valid_ymd(1900, 2, 29));
    CHECK(cal_valid_ymd(2000, 2, 29));
    CHECK(!cal_valid_ymd(2026, 4, 31));
    CHECK(!cal_valid_ymd(2026, 1, 0));
    CHECK(!cal_valid_ymd(2026, 0, 1));
    /* Year lengths agree with the day numbers. */
    CHECK_INT(cal_from_ymd(1901, 1, 1) - cal_from_ymd(1900, 1, 1), 365);
    CHECK_INT(cal_from_ymd(2001, 1, 1) - cal_from_ymd(2000, 1, 1), 366);
    CHECK_INT(cal_from_ymd(2101, 1, 1) - cal_from_ymd(2100, 1, 1), 365);
    CHECK_INT(cal_from_ymd(2025, 1, 1) - cal_from_ymd(2024, 1, 1), 366);
}

static void test_parse(void)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"2026-01-05", true},
        {"2024-02-29", true},
        {"2000-02-29", true},
        {"1900-01-01", true},
        {"2999-12-31", true},
        {"2026-02-30", false},
        {"2025-02-29", false},
        {"1900-02-29", false},
        {"2026-13-01", false},
        {"2026-00-10", false},
        {"2026-01-00", false},
        {"2026-04-31", false},
        {"2026-1-05", false},
        {"2026-01-5", false},
        {"26-01-05", false},
        {"2026-01-05x", false},
        {"2026-01-05 ", false},
        {" 2026-01-05", false},
        {"2026-01-05T10:00", false},
        {"", false},
        {"2026", false},
        {"2026-01", false},
        {"2026-01-", false},
        {"2026/01/05", false},
        {"1899-12-31", false},
        {"3000-01-01", false},
        {"+026-01-05", false},
        {"2026-+1-05", false},
        {"20260105", false},
        {"abcd-ef-gh", false},
        {"2026-01-05\n", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day d = 12345;
        int rc = cal_parse(cases[i].s, &d);
        if ((rc == 0) != cases[i].ok) {
            fprintf(stderr, "cal_parse(\"%s\") = %d\n", cases[i].s, rc);
            CHECK(0);
        }
        if (!cases[i].ok)
            CHECK_INT(d, 12345); /* untouched on failure */
    }
    CHECK_INT(cal_parse(NULL, NULL), -1);
    CHECK_INT(cal_parse("2026-01-05", NULL), 0);
    CHECK_STR(F(D("2026-01-05")), "2026-01-05");
    CHECK_STR(F(D("1900-01-01")), "1900-01-01");
}

static void test_parse_datetime(void)
{
    static const struct {
        const char *s;
        bool ok;
        int minute;
    } cases[] = {
        {"2026-01-05T00:00", true, 0},     {"2026-01-05T23:59", true, 1439},
        {"2026-01-05T09:30", true, 570},   {"2024-02-29T12:00", true, 720},
        {"2026-01-05T24:00", false, 0},    {"2026-01-05T12:60", false, 0},
        {"2026-01-05T9:30", false, 0},     {"2026-01-05 09:30", false, 0},
        {"2026-01-05T09:30:00", false, 0}, {"2026-01-05T09:30Z", false, 0},
        {"2026-01-05", false, 0},          {"2026-02-30T10:00", false, 0},
        {"2026-01-05T", false, 0},         {"2026-01-05T09", false, 0},
        {"2026-01-05T09:3", false, 0},     {"", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day d = CAL_NONE;
        int minute = -1;
        int rc = cal_parse_datetime(cases[i].s, &d, &minute);
        if ((rc == 0) != cases[i].ok) {
            fprintf(stderr, "cal_parse_datetime(\"%s\") = %d\n", cases[i].s, rc);
            CHECK(0);
        }
        if (cases[i].ok) {
            CHECK_INT(minute, cases[i].minute);
            CHECK(d != CAL_NONE);
        }
    }
    cal_day d;
    CHECK_INT(cal_parse_datetime("2026-03-29T01:30", &d, NULL), 0);
    CHECK_STR(F(d), "2026-03-29");
    CHECK_INT(cal_parse_datetime(NULL, &d, NULL), -1);
}

static void test_format_long(void)
{
    char buf[CAL_LONG_LEN];
    CHECK_STR(cal_format_long(D("2026-09-30"), buf), "Wednesday 30 September 2026");
    CHECK_STR(cal_format_long(D("2026-01-05"), buf), "Monday 5 January 2026");
    CHECK_STR(cal_format_long(D("2026-02-14"), buf), "Saturday 14 February 2026");
    CHECK_STR(cal_format_long(D("2025-12-01"), buf), "Monday 1 December 2025");
}

static void test_month_names(void)
{
    CHECK_STR(cal_month_name(1), "January");
    CHECK_STR(cal_month_name(12), "December");
    CHECK(cal_month_name(0) == NULL);
    CHECK(cal_month_name(13) == NULL);
    for (int m = 1; m <= 12; m++)
        CHECK_INT(cal_month_from_name(cal_month_name(m)), m);
    CHECK_INT(cal_month_from_name("february"), 2);
    CHECK_INT(cal_month_from_name("MARCH"), 3);
    CHECK_INT(cal_month_from_name("Febuary"), 0);
    CHECK_INT(cal_month_from_name("Feb"), 0);
    CHECK_INT(cal_month_from_name(""), 0);
    CHECK_INT(cal_month_from_name(NULL), 0);
}

static void test_units(void)
{
    static const struct {
        const char *word;
        int rc;
        cal_unit unit;
    } cases[] = {
        {"day", 0, CAL_DAYS},
        {"days", 0, CAL_DAYS},
        {"week", 0, CAL_WEEKS},
        {"weeks", 0, CAL_WEEKS},
        {"month", 0, CAL_MONTHS},
        {"months", 0, CAL_MONTHS},
        {"year", 0, CAL_YEARS},
        {"years", 0, CAL_YEARS},
        {"Weeks", 0, CAL_WEEKS},
        {"fortnight", -1, CAL_DAYS},
        {"", -1, CAL_DAYS},
        {"dayss", -1, CAL_DAYS},
        {"working days", 0, CAL_WORKING_DAYS},
        {"working day", 0, CAL_WORKING_DAYS},
        {"workingdays", -1, CAL_DAYS},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_unit u = CAL_DAYS;
        CHECK_INT(cal_unit_parse(cases[i].word, &u), cases[i].rc);
        if (cases[i].rc == 0)
            CHECK_INT(u, cases[i].unit);
    }
    CHECK_INT(cal_unit_parse(NULL, NULL), -1);
    /* Without a calendar, working days are Monday to Friday (hol.h adds the bank holidays). */
    cal_day fri = cal_from_ymd(2026, 11, 20);
    CHECK_INT(cal_add(fri, 1, CAL_WORKING_DAYS), cal_from_ymd(2026, 11, 23));
    CHECK_INT(cal_add(fri, 6, CAL_WORKING_DAYS), cal_from_ymd(2026, 11, 30));
    CHECK_INT(cal_add(cal_from_ymd(2026, 11, 23), -1, CAL_WORKING_DAYS), fri);
    CHECK_INT(cal_period_end(fri, 1, CAL_WORKING_DAYS), fri);
    CHECK_INT(cal_period_end(cal_from_ymd(2026, 11, 21), 1, CAL_WORKING_DAYS),
              cal_from_ymd(2026, 11, 23));
    CHECK_STR(cal_unit_name(CAL_WORKING_DAYS, 3), "working days");
    CHECK_STR(cal_unit_name(CAL_DAYS, 1), "day");
    CHECK_STR(cal_unit_name(CAL_DAYS, 15), "days");
    CHECK_STR(cal_unit_name(CAL_WEEKS, 1), "week");
    CHECK_STR(cal_unit_name(CAL_WEEKS, 20), "weeks");
    CHECK_STR(cal_unit_name(CAL_MONTHS, 1), "month");
    CHECK_STR(cal_unit_name(CAL_MONTHS, 0), "months");
    CHECK_STR(cal_unit_name(CAL_YEARS, 1), "year");
    CHECK_STR(cal_unit_name(CAL_YEARS, 2), "years");
}

/* One arithmetic case: op(from, n, unit) == want. */
typedef struct arith_case {
    const char *from;
    int n;
    cal_unit unit;
    const char *want;
} arith_case;

/* "within N units of X" (cal_add), including every §9 example. */
static void test_add(void)
{
    static const arith_case cases[] = {
        /* §9: request received Wed 10 Sep 2025. */
        {"2025-09-10", 6, CAL_WEEKS, "2025-10-22"},
        {"2025-09-10", 16, CAL_WEEKS, "2025-12-31"},
        {"2025-09-10", 20, CAL_WEEKS, "2026-01-28"},
        /* The contract's example: request 5 Jan 2026. */
        {"2026-01-05", 6, CAL_WEEKS, "2026-02-16"},
        {"2026-01-05", 16, CAL_WEEKS, "2026-04-27"},
        {"2026-01-05", 20, CAL_WEEKS, "2026-05-25"},
        /* §9 months: notice 1 Oct 2025 → 1 Dec; certificate 29 Nov → 29 Dec. */
        {"2025-10-01", 2, CAL_MONTHS, "2025-12-01"},
        {"2025-11-29", 1, CAL_MONTHS, "2025-12-29"},
        /* Month-end clamps. */
        {"2025-01-31", 1, CAL_MONTHS, "2025-02-28"},
        {"2024-01-31", 1, CAL_MONTHS, "2024-02-29"},
        {"2025-03-31", 1, CAL_MONTHS, "2025-04-30"},
        {"2025-08-31", 6, CAL_MONTHS, "2026-02-28"},
        {"2024-02-29", 12, CAL_MONTHS, "2025-02-28"},
        {"2024-02-29", 1, CAL_YEARS, "2025-02-28"},
        {"2024-02-29", 4, CAL_YEARS, "2028-02-29"},
        {"2025-12-15", 1, CAL_MONTHS, "2026-01-15"},
        {"2025-11-30", 3, CAL_MONTHS, "2026-02-28"},
        {"2025-01-15", 0, CAL_MONTHS, "2025-01-15"},
        /* Negative months ("at least 5 months before"). */
        {"2027-09-01", -5, CAL_MONTHS, "2027-04-01"},
        {"2026-03-31", -1, CAL_MONTHS, "2026-02-28"},
        {"2024-03-31", -1, CAL_MONTHS, "2024-02-29"},
        {"2026-01-15", -1, CAL_MONTHS, "2025-12-15"},
        {"2026-01-31", -14, CAL_MONTHS, "2024-11-30"},
        {"2026-05-31", -12, CAL_MONTHS, "2025-05-31"},
        {"2025-02-28", -1, CAL_YEARS, "2024-02-28"},
        /* Days. */
        {"2025-12-31", 1, CAL_DAYS, "2026-01-01"},
        {"2024-02-28", 1, CAL_DAYS, "2024-02-29"},
        {"2026-03-01", -1, CAL_DAYS, "2026-02-28"},
        {"2025-12-01", 14, CAL_DAYS, "2025-12-15"},
        {"2026-01-05", -2, CAL_WEEKS, "2025-12-22"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = F(cal_add(D(cases[i].from), cases[i].n, cases[i].unit));
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "cal_add(%s, %d, %d) = %s, expected %s\n", cases[i].from, cases[i].n,
                    (int)cases[i].unit, got, cases[i].want);
            CHECK(0);
        }
    }
    CHECK_STR(F(cal_add_months(D("2025-01-31"), 1)), "2025-02-28");
    CHECK_STR(F(cal_add_days(D("2025-01-31"), 29)), "2025-03-01");
    /* "within N weeks" keeps the weekday. */
    for (int w = 0; w <= 60; w++)
        CHECK_INT(cal_weekday(cal_add(D("2025-09-10"), w, CAL_WEEKS)), 3);
}

/* "N units beginning/starting with X" (cal_period_end), including every §9 example. */
static void test_period_end(void)
{
    static const arith_case cases[] = {
        /* §9: draft served Mon 1 Dec 2025 → day 15 is Mon 15 Dec. */
        {"2025-12-01", 15, CAL_DAYS, "2025-12-15"},
        {"2026-03-02", 15, CAL_DAYS, "2026-03-16"},
        {"2026-03-02", 1, CAL_DAYS, "2026-03-02"},
        {"2026-03-02", 2, CAL_WEEKS, "2026-03-15"},
        /* §9: 12 months starting with 10 Mar 2025 → 9 Mar 2026; 29 Feb 2024 → 28 Feb 2025. */
        {"2025-03-10", 12, CAL_MONTHS, "2026-03-09"},
        {"2024-02-29", 12, CAL_MONTHS, "2025-02-28"},
        {"2024-02-29", 1, CAL_YEARS, "2025-02-28"},
        {"2024-02-29", 48, CAL_MONTHS, "2028-02-28"},
        {"2025-03-01", 12, CAL_MONTHS, "2026-02-28"},
        {"2023-03-01", 12, CAL_MONTHS, "2024-02-29"},
        /* Non-existent anniversaries become the 1st of the next month. */
        {"2025-01-31", 1, CAL_MONTHS, "2025-02-28"},
        {"2024-01-31", 1, CAL_MONTHS, "2024-02-29"},
        {"2025-03-31", 1, CAL_MONTHS, "2025-04-30"},
        {"2025-01-30", 1, CAL_MONTHS, "2025-02-28"},
        {"2025-01-29", 1, CAL_MONTHS, "2025-02-28"},
        {"2024-01-29", 1, CAL_MONTHS, "2024-02-28"},
        {"2025-01-28", 1, CAL_MONTHS, "2025-02-27"},
        {"2025-12-01", 3, CAL_MONTHS, "2026-02-28"},
        {"2025-10-15", 3, CAL_MONTHS, "2026-01-14"},
        {"2025-12-31", 12, CAL_MONTHS, "2026-12-30"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = F(cal_period_end(D(cases[i].from), cases[i].n, cases[i].unit));
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "cal_period_end(%s, %d, %d) = %s, expected %s\n", cases[i].from,
                    cases[i].n, (int)cases[i].unit, got, cases[i].want);
            CHECK(0);
        }
    }
    /* For days and weeks: X + n units - 1 day, for every start in a leap cycle. */
    for (cal_day x = D("2024-01-01"); x < D("2028-01-01"); x++) {
        for (int n = 1; n <= 20; n++) {
            CHECK_INT(cal_period_end(x, n, CAL_DAYS), x + n - 1);
            CHECK_INT(cal_period_end(x, n, CAL_WEEKS), x + 7 * n - 1);
        }
        /* Months: the period is never longer than "within" and at most one day shorter... */
        cal_day pe = cal_period_end(x, 12, CAL_MONTHS);
        cal_day w = cal_add(x, 12, CAL_MONTHS);
        CHECK(pe == w - 1 || (pe == w));
        /* ...and the day after the period is never in the starting month again. */
        int y0, m0, d0, y1, m1, d1;
        cal_to_ymd(x, &y0, &m0, &d0);
        cal_to_ymd(pe + 1, &y1, &m1, &d1);
        CHECK(y1 == y0 + 1 && (d1 == d0 || (d1 == 1 && m1 == 3 && m0 == 2 && d0 == 29)));
    }
}

int main(void)
{
    RUN(test_epoch);
    RUN(test_round_trip);
    RUN(test_weekday);
    RUN(test_leap);
    RUN(test_parse);
    RUN(test_parse_datetime);
    RUN(test_format_long);
    RUN(test_month_names);
    RUN(test_units);
    RUN(test_add);
    RUN(test_period_end);
    return CHECK_DONE();
}
