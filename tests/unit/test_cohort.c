/*
 * test_cohort: school years from a date of birth. Phase-transfer deadlines
 * are scheduled from these dates, so each edge is pinned: the 31 August /
 * 1 September cohort boundary, 29 February birthdays, the worked example of
 * reference/statutory-timescales.md §10, and the days either side of
 * 1 September and of a birthday.
 */
#include "cohort.h"
#include "check.h"
#include "check_dates.h"

/* The cohort of one date of birth: S and the start of Reception, Year 3, 7 and 12. */
static void test_reception_and_year_starts(void)
{
    static const struct {
        const char *dob;
        int s;
        const char *reception, *y3, *y7, *y12;
    } cases[] = {
        /* The reference example: born 15 Jan 2021, S = 2025. */
        {"2021-01-15", 2025, "2025-09-01", "2028-09-01", "2032-09-01", "2037-09-01"},
        /* The cohort edge: the oldest and youngest of two adjacent cohorts. */
        {"2020-08-31", 2024, "2024-09-01", "2027-09-01", "2031-09-01", "2036-09-01"},
        {"2020-09-01", 2025, "2025-09-01", "2028-09-01", "2032-09-01", "2037-09-01"},
        {"2021-08-31", 2025, "2025-09-01", "2028-09-01", "2032-09-01", "2037-09-01"},
        /* First and last days of a calendar year. */
        {"2019-01-01", 2023, "2023-09-01", "2026-09-01", "2030-09-01", "2035-09-01"},
        {"2019-12-31", 2024, "2024-09-01", "2027-09-01", "2031-09-01", "2036-09-01"},
        /* Born 2 Oct 2015: Year 7 starts 1 Sep 2027. */
        {"2015-10-02", 2020, "2020-09-01", "2023-09-01", "2027-09-01", "2032-09-01"},
        /* 29 February births sit in the January-August half. */
        {"2016-02-29", 2020, "2020-09-01", "2023-09-01", "2027-09-01", "2032-09-01"},
        {"2020-02-29", 2024, "2024-09-01", "2027-09-01", "2031-09-01", "2036-09-01"},
        /* Before 1970 (negative day numbers) and near the end of the parse range. */
        {"1965-11-30", 1970, "1970-09-01", "1973-09-01", "1977-09-01", "1982-09-01"},
        {"2990-03-01", 2994, "2994-09-01", "2997-09-01", "3001-09-01", "3006-09-01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day dob = D(cases[i].dob);
        if (coh_reception_year(dob) != cases[i].s)
            fprintf(stderr, "case %s\n", cases[i].dob);
        CHECK_INT(coh_reception_year(dob), cases[i].s);
        CHECK_STR(F(coh_year_start(dob, 0)), cases[i].reception);
        CHECK_STR(F(coh_year_start(dob, 3)), cases[i].y3);
        CHECK_STR(F(coh_year_start(dob, 7)), cases[i].y7);
        CHECK_STR(F(coh_year_start(dob, 12)), cases[i].y12);
    }
    /* The year before Reception and Year 13. */
    CHECK_STR(F(coh_year_start(D("2021-01-15"), -1)), "2024-09-01");
    CHECK_STR(F(coh_year_start(D("2021-01-15"), 13)), "2038-09-01");
}

/* Every date of birth over 2000-2030: the child turns 5 during Reception (1 September of S to
 * 31 August of S + 1), is in Reception on its first day and in the year before it the day before.
 */
static void test_reception_rule_exhaustive(void)
{
    int bad = 0;
    for (cal_day dob = D("2000-01-01"); dob <= D("2030-12-31"); dob++) {
        int s = coh_reception_year(dob);
        cal_day start = cal_from_ymd(s, 9, 1), fifth = coh_birthday(dob, 5);
        bool ok = start <= fifth && fifth <= cal_from_ymd(s + 1, 8, 31) &&
                  coh_age_on(dob, cal_from_ymd(s + 1, 8, 31)) == 5 &&
                  coh_school_year_on(dob, start) == 0 && coh_school_year_on(dob, start - 1) == -1;
        if (!ok && bad++ < 5)
            fprintf(stderr, "born %s: S = %d\n", F(dob), s);
    }
    CHECK_INT(bad, 0);
}

/* The school year on a day, either side of 1 September. */
static void test_school_year_on(void)
{
    static const struct {
        const char *dob, *day;
        int year;
    } cases[] = {
        {"2021-01-15", "2025-08-31", -1}, /* the day before Reception */
        {"2021-01-15", "2025-09-01", 0},  /* the first day of Reception */
        {"2021-01-15", "2026-08-31", 0},
        {"2021-01-15", "2026-09-01", 1},
        {"2021-01-15", "2028-08-31", 2},
        {"2021-01-15", "2028-09-01", 3},
        {"2021-01-15", "2032-09-01", 7},
        {"2021-01-15", "2034-09-01", 9},
        {"2021-01-15", "2037-08-31", 11},
        {"2021-01-15", "2037-09-01", 12},
        {"2021-01-15", "2021-01-15", -5}, /* the day of birth */
        /* Born a day apart, a school year apart. */
        {"2020-08-31", "2024-09-01", 0},
        {"2020-09-01", "2024-09-01", -1},
        {"2020-08-31", "2027-09-01", 3},
        {"2020-09-01", "2027-09-01", 2},
        {"2015-10-02", "2027-08-31", 6},
        {"2015-10-02", "2027-09-01", 7},
        {"2016-02-29", "2027-09-01", 7},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = coh_school_year_on(D(cases[i].dob), D(cases[i].day));
        if (got != cases[i].year)
            fprintf(stderr, "born %s, on %s\n", cases[i].dob, cases[i].day);
        CHECK_INT(got, cases[i].year);
    }
    CHECK_INT(coh_academic_year(D("2026-08-31")), 2025);
    CHECK_INT(coh_academic_year(D("2026-09-01")), 2026);
    CHECK_INT(coh_academic_year(D("2026-01-01")), 2025);
    CHECK_INT(coh_academic_year(D("2026-12-31")), 2026);
}

/* Whole years, including 29 February birthdays in common and leap years. */
static void test_age_on(void)
{
    static const struct {
        const char *dob, *day;
        int age;
    } cases[] = {
        {"2021-01-15", "2021-01-15", 0},
        {"2021-01-15", "2026-01-14", 4}, /* the day before the 5th birthday */
        {"2021-01-15", "2026-01-15", 5}, /* the 5th birthday */
        {"2021-01-15", "2026-01-16", 5},
        {"2021-01-15", "2021-01-14", -1}, /* before birth */
        {"2020-08-31", "2025-08-30", 4},
        {"2020-08-31", "2025-08-31", 5},
        {"2020-09-01", "2025-08-31", 4},
        {"2020-09-01", "2025-09-01", 5},
        /* Born 29 Feb 2016: in common years the birthday is 1 March. */
        {"2016-02-29", "2017-02-28", 0},
        {"2016-02-29", "2017-03-01", 1},
        {"2016-02-29", "2020-02-28", 3},
        {"2016-02-29", "2020-02-29", 4}, /* leap year: the day itself */
        {"2016-02-29", "2021-02-28", 4},
        {"2016-02-29", "2021-03-01", 5}, /* 5th birthday in a common year */
        {"2016-02-29", "2034-02-28", 17},
        {"2016-02-29", "2034-03-01", 18},
        /* Born 29 Feb 2020. */
        {"2020-02-29", "2025-02-28", 4},
        {"2020-02-29", "2025-03-01", 5},
        {"2020-02-29", "2024-02-29", 4},
        {"2020-02-29", "2024-02-28", 3},
        {"2020-02-29", "2038-02-28", 17},
        {"2020-02-29", "2038-03-01", 18},
        /* 31 December and 1 January. */
        {"2019-12-31", "2024-12-30", 4},
        {"2019-12-31", "2024-12-31", 5},
        {"2020-01-01", "2024-12-31", 4},
        {"2020-01-01", "2025-01-01", 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = coh_age_on(D(cases[i].dob), D(cases[i].day));
        if (got != cases[i].age)
            fprintf(stderr, "born %s, on %s\n", cases[i].dob, cases[i].day);
        CHECK_INT(got, cases[i].age);
    }
}

/* The day a given age is reached agrees with coh_age_on. */
static void test_birthday(void)
{
    static const struct {
        const char *dob;
        int age;
        const char *day;
    } cases[] = {
        {"2021-01-15", 0, "2021-01-15"},   {"2021-01-15", 5, "2026-01-15"},
        {"2016-02-29", 1, "2017-03-01"},   {"2016-02-29", 4, "2020-02-29"},
        {"2016-02-29", 5, "2021-03-01"},   {"2020-02-29", 5, "2025-03-01"},
        {"2020-02-29", 100, "2120-02-29"}, /* 2120 is a leap year, 2100 (below) is not */
        {"2020-02-29", 80, "2100-03-01"},  {"2019-12-31", 5, "2024-12-31"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day dob = D(cases[i].dob), b = coh_birthday(dob, cases[i].age);
        CHECK_STR(F(b), cases[i].day);
        CHECK_INT(coh_age_on(dob, b), cases[i].age);
        CHECK_INT(coh_age_on(dob, b - 1), cases[i].age - 1);
    }
}

static void test_year_name(void)
{
    static const struct {
        int n;
        const char *name;
    } cases[] = {
        {-3, "nursery"},
        {-1, "nursery"},
        {0, "Reception"},
        {1, "Year 1"},
        {3, "Year 3"},
        {7, "Year 7"},
        {9, "Year 9"},
        {12, "Year 12"},
        {13, "Year 13"},
        {25, "Year 25"},
        {26, "Year 26 or later"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(coh_year_name(cases[i].n), cases[i].name);
}

int main(void)
{
    RUN(test_reception_and_year_starts);
    RUN(test_reception_rule_exhaustive);
    RUN(test_school_year_on);
    RUN(test_age_on);
    RUN(test_birthday);
    RUN(test_year_name);
    return CHECK_DONE();
}
