/*
 * test_hol: the statutory calendar. Easter, every edge of the standing rules
 * (1 January and 25/26 December on each weekday), the one-off changes of the
 * shipped bank-holidays.yaml, working-day arithmetic across Christmas, New Year
 * and Easter, the reg. 10(4)(a) closure window and its edges, every loader
 * rule, and the shipped calendar against an independent list of 2014-2040
 * (tests/unit/data/bank-holidays-england-2014-2040.txt, made from two
 * third-party calendar libraries by gen-bank-holidays.py beside it).
 */
#include "hol.h"
#include "check.h"
#include "load.h"
#include "check_dates.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CALENDARS_DIR    SF_TEST_SOURCE_DIR "/workflows/calendars"
#define INDEPENDENT_LIST SF_TEST_SOURCE_DIR "/tests/unit/data/bank-holidays-england-2014-2040.txt"

/* The shipped calendar (workflows/calendars), or NULL after a failed check; free with hol_free. */
static hol_calendar *shipped(void)
{
    char err[HOL_ERR_LEN];
    hol_calendar *c = NULL;
    int rc = load_calendars(CALENDARS_DIR, &c, err);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    return c;
}

/* A calendar from a YAML string that must load, or NULL after a failed check. */
static hol_calendar *load(const char *yaml)
{
    char err[HOL_ERR_LEN];
    hol_calendar *c = NULL;
    int rc = hol_load_string("t.yaml", yaml, strlen(yaml), &c, err);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    return c;
}

/* ---- Easter -------------------------------------------------------------- */

static void test_easter(void)
{
    /* Checked against dateutil.easter (EASTER_WESTERN). */
    static const struct {
        int year;
        const char *sunday;
    } cases[] = {
        {1583, "1583-04-10"}, {1818, "1818-03-22"}, {1900, "1900-04-15"},
        {1943, "1943-04-25"}, {1961, "1961-04-02"}, {2000, "2000-04-23"},
        {2008, "2008-03-23"},                       /* early */
        {2011, "2011-04-24"}, {2019, "2019-04-21"}, /* late */
        {2024, "2024-03-31"}, {2025, "2025-04-20"}, {2026, "2026-04-05"},
        {2038, "2038-04-25"},                       /* the latest possible */
        {2100, "2100-03-28"}, {2285, "2285-03-22"}, /* the earliest possible */
        {2999, "2999-03-24"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR(F(hol_easter(cases[i].year)), cases[i].sunday);

    /* Always a Sunday between 22 March and 25 April. */
    int bad = 0;
    for (int y = 1583; y <= 4099; y++) {
        cal_day e = hol_easter(y);
        int yy, m, d;
        cal_to_ymd(e, &yy, &m, &d);
        if (cal_weekday(e) != 7 || yy != y || e < cal_from_ymd(y, 3, 22) ||
            e > cal_from_ymd(y, 4, 25)) {
            if (bad++ < 5)
                fprintf(stderr, "Easter %d: %s\n", y, F(e));
        }
    }
    CHECK_INT(bad, 0);
    /* Any year, even before the Gregorian calendar or far outside cal_parse's range. */
    int m, d;
    cal_to_ymd(hol_easter(-4000), NULL, &m, &d);
    CHECK(m == 3 || m == 4);
    CHECK_INT(cal_weekday(hol_easter(-4000)), 7);
    CHECK_INT(cal_weekday(hol_easter(1000000)), 7);
}

/* ---- The standing rules ---------------------------------------------------- */

typedef struct day_case {
    const char *date;
    const char *name; /* NULL: not a bank holiday */
} day_case;

static void check_days(const hol_calendar *c, const day_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = "unset";
        bool is = hol_is_bank_holiday(c, D(cases[i].date), &name);
        if (is != (cases[i].name != NULL) || (is && strcmp(name, cases[i].name) != 0) ||
            (!is && name != NULL)) {
            fprintf(stderr, "%s: %s \"%s\", expected %s\n", cases[i].date,
                    is ? "bank holiday" : "not one", name ? name : "(null)",
                    cases[i].name ? cases[i].name : "none");
            check_failures++;
            check_test_failures++;
        }
        CHECK(hol_is_bank_holiday(c, D(cases[i].date), NULL) == is);
    }
}

static void test_new_year(void)
{
    hol_calendar *c = hol_rules_only();
    static const day_case cases[] = {
        {"2018-01-01", "New Year's Day"},                  /* Monday */
        {"2019-01-01", "New Year's Day"},                  /* Tuesday */
        {"2020-01-01", "New Year's Day"},                  /* Wednesday */
        {"2015-01-01", "New Year's Day"},                  /* Thursday */
        {"2016-01-01", "New Year's Day"},                  /* Friday */
        {"2022-01-01", NULL},                              /* Saturday ... */
        {"2022-01-02", NULL},                              /*   Sunday */
        {"2022-01-03", "New Year's Day (substitute day)"}, /*   the Monday after */
        {"2022-01-04", NULL},
        {"2023-01-01", NULL},                              /* Sunday ... */
        {"2023-01-02", "New Year's Day (substitute day)"}, /*   the Monday after */
        {"2023-01-03", NULL},
        {"2028-01-03", "New Year's Day (substitute day)"}, /* Saturday again */
        {"2016-01-04", NULL},
    };
    check_days(c, cases, sizeof cases / sizeof cases[0]);
    hol_free(c);
}

static void test_christmas(void)
{
    hol_calendar *c = hol_rules_only();
    static const day_case cases[] = {
        /* 25th a Monday (2023) */
        {"2023-12-25", "Christmas Day"},
        {"2023-12-26", "Boxing Day"},
        {"2023-12-27", NULL},
        /* Tuesday (2018) */
        {"2018-12-25", "Christmas Day"},
        {"2018-12-26", "Boxing Day"},
        {"2018-12-27", NULL},
        /* Wednesday (2019) */
        {"2019-12-25", "Christmas Day"},
        {"2019-12-26", "Boxing Day"},
        {"2019-12-27", NULL},
        /* Thursday (2025): Boxing Day on the Friday */
        {"2025-12-25", "Christmas Day"},
        {"2025-12-26", "Boxing Day"},
        {"2025-12-29", NULL},
        /* Friday (2020, 2026): Boxing Day on a Saturday, substitute Monday 28th */
        {"2020-12-25", "Christmas Day"},
        {"2020-12-26", NULL},
        {"2020-12-27", NULL},
        {"2020-12-28", "Boxing Day (substitute day)"},
        {"2020-12-29", NULL},
        {"2026-12-25", "Christmas Day"},
        {"2026-12-28", "Boxing Day (substitute day)"},
        /* Saturday (2021, 2027): both move, Monday 27th and Tuesday 28th */
        {"2021-12-24", NULL},
        {"2021-12-25", NULL},
        {"2021-12-26", NULL},
        {"2021-12-27", "Christmas Day (substitute day)"},
        {"2021-12-28", "Boxing Day (substitute day)"},
        {"2021-12-29", NULL},
        {"2027-12-27", "Christmas Day (substitute day)"},
        {"2027-12-28", "Boxing Day (substitute day)"},
        /* Sunday (2022, 2016): Boxing Day Monday 26th, Christmas Day's substitute Tuesday 27th */
        {"2022-12-25", NULL},
        {"2022-12-26", "Boxing Day"},
        {"2022-12-27", "Christmas Day (substitute day)"},
        {"2022-12-28", NULL},
        {"2016-12-26", "Boxing Day"},
        {"2016-12-27", "Christmas Day (substitute day)"},
    };
    check_days(c, cases, sizeof cases / sizeof cases[0]);
    hol_free(c);
}

static void test_easter_and_mondays(void)
{
    hol_calendar *c = hol_rules_only();
    static const day_case cases[] = {
        /* Easter 2008 (23 March, early) */
        {"2008-03-21", "Good Friday"},
        {"2008-03-24", "Easter Monday"},
        {"2008-03-23", NULL},
        /* 2019 (21 April, late) */
        {"2019-04-19", "Good Friday"},
        {"2019-04-22", "Easter Monday"},
        {"2019-04-18", NULL},
        /* 2038 (25 April, the latest): Easter Monday 26 April */
        {"2038-04-23", "Good Friday"},
        {"2038-04-26", "Easter Monday"},
        /* 2285 (22 March, the earliest) */
        {"2285-03-20", "Good Friday"},
        {"2285-03-23", "Easter Monday"},
        /* Early May: first Monday of May, 1 May itself when a Monday */
        {"2023-05-01", "Early May bank holiday"},
        {"2026-05-04", "Early May bank holiday"},
        {"2021-05-03", "Early May bank holiday"},
        {"2027-05-03", "Early May bank holiday"},
        {"2022-05-09", NULL},
        /* Spring: last Monday of May, 31 May itself when a Monday */
        {"2021-05-31", "Spring bank holiday"},
        {"2026-05-25", "Spring bank holiday"},
        {"2026-05-18", NULL},
        {"2022-05-30", "Spring bank holiday"}, /* the rule; the shipped calendar moves it */
        {"2022-06-02", NULL},
        /* Summer: last Monday of August */
        {"2026-08-31", "Summer bank holiday"},
        {"2025-08-25", "Summer bank holiday"},
        {"2027-08-30", "Summer bank holiday"},
        {"2026-08-24", NULL},
        /* Weekends and ordinary days */
        {"2026-03-01", NULL},
        {"2026-07-15", NULL},
    };
    check_days(c, cases, sizeof cases / sizeof cases[0]);

    /* Exactly 8 per year by the rules, in date order, each a weekday with a name. */
    int bad = 0;
    for (int y = 1900; y <= 2999; y++) {
        cal_day days[16];
        size_t n = hol_bank_holidays(c, y, days, 16);
        if (n != 8) {
            if (bad++ < 5)
                fprintf(stderr, "%d: %zu bank holidays\n", y, n);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            int yy;
            cal_to_ymd(days[i], &yy, NULL, NULL);
            const char *name = NULL;
            if (yy != y || cal_weekday(days[i]) > 5 || (i > 0 && days[i] <= days[i - 1]) ||
                !hol_is_bank_holiday(c, days[i], &name) || !name || hol_is_working_day(c, days[i]))
                if (bad++ < 5)
                    fprintf(stderr, "%d: bad day %s\n", y, F(days[i]));
        }
    }
    CHECK_INT(bad, 0);
    hol_free(c);
}

/* A whole year at a time, rules only: the one the issue quotes, and both sides of the precomputed
 * range (1950-2150), which are computed per call. */
static void test_year_lists(void)
{
    static const struct {
        int year;
        const char *days[10];
    } cases[] = {
        {2026,
         {"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
          "2026-12-25", "2026-12-28"}},
        {2150,
         {"2150-01-01", "2150-04-10", "2150-04-13", "2150-05-04", "2150-05-25", "2150-08-31",
          "2150-12-25", "2150-12-28"}},
        /* Outside the range: checked against python3-holidays' England rules. */
        {2151,
         {"2151-01-01", "2151-04-02", "2151-04-05", "2151-05-03", "2151-05-31", "2151-08-30",
          "2151-12-27", "2151-12-28"}},
        {2999,
         {"2999-01-01", "2999-03-22", "2999-03-25", "2999-05-06", "2999-05-27", "2999-08-26",
          "2999-12-25", "2999-12-26"}},
        /* Today's rules applied to 1949 (not what was observed then): 1 January a Saturday, 25
         * December a Sunday. */
        {1949,
         {"1949-01-03", "1949-04-15", "1949-04-18", "1949-05-02", "1949-05-30", "1949-08-29",
          "1949-12-26", "1949-12-27"}},
    };
    hol_calendar *c = hol_rules_only();
    hol_calendar *s = shipped();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day days[16];
        for (int k = 0; k < 2; k++) {
            const hol_calendar *cal = k ? s : c;
            if (!cal)
                continue;
            size_t n = hol_bank_holidays(cal, cases[i].year, days, 16);
            CHECK_INT(n, 8);
            for (size_t j = 0; j < n && j < 8; j++)
                CHECK_STR(F(days[j]), cases[i].days[j]);
        }
    }
    /* cap smaller than the count: the count all the same, and nothing written past cap. */
    cal_day two[3] = {0, 0, -1};
    CHECK_INT(hol_bank_holidays(c, 2026, two, 2), 8);
    CHECK_STR(F(two[0]), "2026-01-01");
    CHECK_STR(F(two[1]), "2026-04-03");
    CHECK_INT(two[2], -1);
    CHECK_INT(hol_bank_holidays(c, 2026, NULL, 0), 8);
    CHECK_INT(hol_bank_holidays(c, 3100, NULL, 0), 8);
    CHECK_STR(hol_version(c), "rules");
    CHECK(!hol_has_terms(c));
    CHECK(!hol_closure_window(c, D("2025-07-20"), NULL));
    CHECK_INT(hol_closures(c, NULL, 0), 0);
    hol_free(c);
    hol_free(s);
    hol_free(NULL);
}

/* Days and years far outside any deadline: defined answers, no overflow (UBSan watches). */
static void test_extremes(void)
{
    hol_calendar *c = hol_rules_only();
    const cal_day days[] = {INT32_MIN,  INT32_MIN + 1,   INT32_MIN + 400, -1000000000,
                            1000000000, INT32_MAX - 400, INT32_MAX};
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        const char *name = "unset";
        CHECK(!hol_is_bank_holiday(c, days[i], &name));
        CHECK(name == NULL);
        CHECK(hol_is_working_day(c, days[i]) == (cal_weekday(days[i]) <= 5));
    }
    CHECK_INT(hol_bank_holidays(c, INT32_MAX, NULL, 0), 0);
    CHECK_INT(hol_bank_holidays(c, INT32_MIN, NULL, 0), 0);
    CHECK_INT(hol_bank_holidays(c, 5000000, NULL, 0), 8);
    CHECK_INT(hol_bank_holidays(c, -5000000, NULL, 0), 8);
    CHECK_INT(hol_add_working_days(c, INT32_MAX - 3, 100), INT32_MAX);
    hol_free(c);
}

/* ---- The shipped calendar ------------------------------------------------ */

static void test_shipped_changes(void)
{
    hol_calendar *c = shipped();
    if (!c)
        return;
    CHECK_STR(hol_version(c), "bank-holidays v1; terms (Example Council) v1");
    CHECK(hol_has_terms(c));
    static const day_case cases[] = {
        {"1981-07-29", "Royal wedding of the Prince of Wales and Lady Diana Spencer"},
        {"1995-05-01", NULL},
        {"1995-05-08", "Early May bank holiday (VE day)"},
        {"1999-12-31", "Millennium celebrations"},
        {"2002-05-27", NULL},
        {"2002-06-03", "Golden Jubilee of Queen Elizabeth II"},
        {"2002-06-04", "Spring bank holiday"},
        {"2011-04-29", "Royal wedding of Prince William and Catherine Middleton"},
        {"2012-05-28", NULL},
        {"2012-06-04", "Spring bank holiday"},
        {"2012-06-05", "Queen's Diamond Jubilee"},
        {"2020-05-04", NULL},
        {"2020-05-08", "Early May bank holiday (VE day)"},
        {"2022-05-30", NULL},
        {"2022-06-02", "Spring bank holiday"},
        {"2022-06-03", "Platinum Jubilee bank holiday"},
        {"2022-09-19", "Bank Holiday for the State Funeral of Queen Elizabeth II"},
        {"2023-05-01", "Early May bank holiday"},
        {"2023-05-08", "Bank holiday for the coronation of King Charles III"},
    };
    check_days(c, cases, sizeof cases / sizeof cases[0]);
    CHECK(hol_is_working_day(c, D("2022-05-30")));
    CHECK(!hol_is_working_day(c, D("2022-06-02")));
    cal_day days[16];
    CHECK_INT(hol_bank_holidays(c, 2022, days, 16), 10);
    CHECK_INT(hol_bank_holidays(c, 2023, days, 16), 9);
    CHECK_INT(hol_bank_holidays(c, 2020, days, 16), 8);
    CHECK_INT(hol_bank_holidays(c, 2002, days, 16), 9);
    CHECK_STR(F(days[4]), "2002-06-03");
    CHECK_STR(F(days[5]), "2002-06-04");
    hol_free(c);
}

/* A line of the independent list. */
typedef struct listed {
    cal_day day;
    char name[256];
} listed;

/*
 * The issue: "Unit-test the calendar against an independent list of bank
 * holidays for 2014-2040". Every listed day must be a bank holiday of the
 * shipped calendar with the same name, and every bank holiday of those years
 * must be listed.
 */
static void test_independent_list(void)
{
    FILE *f = fopen(INDEPENDENT_LIST, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static listed items[400];
    size_t n = 0;
    char line[256];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char date[CAL_DATE_LEN];
        if (len < 12 || line[10] != ' ' || n == sizeof items / sizeof items[0]) {
            fprintf(stderr, "%s:%d: bad line \"%s\"\n", INDEPENDENT_LIST, lineno, line);
            check_failures++;
            continue;
        }
        memcpy(date, line, 10);
        date[10] = '\0';
        items[n].day = D(date);
        snprintf(items[n].name, sizeof items[n].name, "%s", line + 11);
        n++;
    }
    fclose(f);
    CHECK(n >= 27 * 8);

    hol_calendar *c = shipped();
    if (!c)
        return;
    /* Listed -> calendar. */
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        int y;
        cal_to_ymd(items[i].day, &y, NULL, NULL);
        CHECK(y >= 2014 && y <= 2040);
        if (!hol_is_bank_holiday(c, items[i].day, &name) || strcmp(name, items[i].name) != 0 ||
            hol_is_working_day(c, items[i].day)) {
            fprintf(stderr, "listed %s %s: calendar says %s\n", F(items[i].day), items[i].name,
                    name ? name : "not a bank holiday");
            bad++;
        }
    }
    /* Calendar -> listed, year by year. */
    for (int y = 2014; y <= 2040; y++) {
        cal_day days[32];
        size_t got = hol_bank_holidays(c, y, days, 32);
        size_t want = 0;
        for (size_t i = 0; i < n; i++) {
            int yy;
            cal_to_ymd(items[i].day, &yy, NULL, NULL);
            want += yy == y;
        }
        if (got != want) {
            fprintf(stderr, "%d: calendar has %zu bank holidays, the list %zu\n", y, got, want);
            bad++;
        }
        for (size_t j = 0; j < got && j < 32; j++) {
            bool found = false;
            for (size_t i = 0; i < n && !found; i++)
                found = items[i].day == days[j];
            if (!found) {
                fprintf(stderr, "calendar has %s, the list does not\n", F(days[j]));
                bad++;
            }
        }
    }
    /* And every other day of those years is an ordinary day: working on weekdays only. */
    for (cal_day d = D("2014-01-01"); d <= D("2040-12-31"); d++) {
        bool listed_day = false;
        for (size_t i = 0; i < n && !listed_day; i++)
            listed_day = items[i].day == d;
        if (!listed_day && hol_is_working_day(c, d) != (cal_weekday(d) <= 5)) {
            if (bad++ < 10)
                fprintf(stderr, "%s: working day %d\n", F(d), hol_is_working_day(c, d));
        }
    }
    CHECK_INT(bad, 0);

    /* Cross-checked by hand against the lists gov.uk published. */
    static const struct {
        int year;
        const char *days[10];
    } govuk[] = {
        {2020,
         {"2020-01-01", "2020-04-10", "2020-04-13", "2020-05-08", "2020-05-25", "2020-08-31",
          "2020-12-25", "2020-12-28"}},
        {2022,
         {"2022-01-03", "2022-04-15", "2022-04-18", "2022-05-02", "2022-06-02", "2022-06-03",
          "2022-08-29", "2022-09-19", "2022-12-26", "2022-12-27"}},
        {2023,
         {"2023-01-02", "2023-04-07", "2023-04-10", "2023-05-01", "2023-05-08", "2023-05-29",
          "2023-08-28", "2023-12-25", "2023-12-26"}},
        {2026,
         {"2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
          "2026-12-25", "2026-12-28"}},
        {2027,
         {"2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
          "2027-12-27", "2027-12-28"}},
    };
    for (size_t i = 0; i < sizeof govuk / sizeof govuk[0]; i++) {
        size_t want = 0;
        while (want < 10 && govuk[i].days[want])
            want++;
        cal_day days[16];
        size_t got = hol_bank_holidays(c, govuk[i].year, days, 16);
        CHECK_INT(got, want);
        for (size_t j = 0; j < got && j < want; j++)
            CHECK_STR(F(days[j]), govuk[i].days[j]);
    }
    hol_free(c);
}

/* ---- Working days ------------------------------------------------------------ */

static void test_working_days(void)
{
    hol_calendar *c = shipped();
    if (!c)
        return;
    static const struct {
        const char *day;
        int n;
        const char *within; /* hol_add_working_days */
        const char *ending; /* hol_working_period_end */
    } cases[] = {
        /* The statutory-timescales example: move learnt of on Mon 15 Dec 2025, 15 working days
         * beginning with that day end Wed 7 Jan 2026 (25, 26 Dec and 1 Jan are not counted). */
        {"2025-12-15", 15, "2026-01-08", "2026-01-07"},
        {"2025-12-15", 1, "2025-12-16", "2025-12-15"},
        {"2025-12-24", 1, "2025-12-29", "2025-12-24"},
        {"2025-12-24", 2, "2025-12-30", "2025-12-29"},
        {"2025-12-19", 5, "2025-12-30", "2025-12-29"},
        {"2025-12-25", 1, "2025-12-29", "2025-12-29"}, /* beginning with a bank holiday */
        {"2025-12-27", 1, "2025-12-29", "2025-12-29"}, /* ... or a Saturday */
        {"2025-12-31", 1, "2026-01-02", "2025-12-31"},
        {"2025-12-31", 2, "2026-01-05", "2026-01-02"},
        {"2026-01-02", 20, "2026-01-30", "2026-01-29"},
        /* Easter 2026: Good Friday 3 April, Easter Monday 6 April */
        {"2026-04-02", 1, "2026-04-07", "2026-04-02"},
        {"2026-04-02", 3, "2026-04-09", "2026-04-08"},
        {"2026-04-03", 1, "2026-04-07", "2026-04-07"},
        {"2026-04-03", 2, "2026-04-08", "2026-04-08"},
        /* 2021 Christmas: 27 and 28 December substitute days; 2022 New Year: 3 January */
        {"2021-12-24", 1, "2021-12-29", "2021-12-24"},
        {"2021-12-31", 1, "2022-01-04", "2021-12-31"},
        /* The shipped one-offs: 2, 3 June and 19 September 2022 */
        {"2022-06-01", 1, "2022-06-06", "2022-06-01"},
        {"2022-05-27", 1, "2022-05-30", "2022-05-27"}, /* 30 May 2022 was moved: a working day */
        {"2022-09-16", 1, "2022-09-20", "2022-09-16"},
        /* A year of working days: 2026 has 261 weekdays, 8 of them bank holidays. */
        {"2025-12-31", 253, "2026-12-31", "2026-12-30"},
        {"2026-01-01", 253, "2026-12-31", "2026-12-31"}, /* beginning with a bank holiday */
        /* Across the end of the precomputed range (2150) */
        {"2150-12-24", 3, "2150-12-31", "2150-12-30"},
        {"2150-12-24", 4, "2151-01-04", "2150-12-31"},
        {"1949-12-30", 1, "1950-01-03", "1949-12-30"},
        /* n <= 0 */
        {"2026-04-03", 0, "2026-04-03", "2026-04-02"},
        {"2026-04-03", -5, "2026-04-03", "2026-04-02"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cal_day d = D(cases[i].day);
        CHECK_STR(F(hol_add_working_days(c, d, cases[i].n)), cases[i].within);
        CHECK_STR(F(hol_working_period_end(c, d, cases[i].n)), cases[i].ending);
    }
    CHECK(hol_is_working_day(c, D("2025-12-24")));
    CHECK(!hol_is_working_day(c, D("2025-12-25")));
    CHECK(!hol_is_working_day(c, D("2025-12-27")));
    CHECK(!hol_is_working_day(c, D("2025-12-28")));
    CHECK(!hol_is_working_day(c, D("2151-01-01")));
    CHECK(hol_is_working_day(c, D("2151-01-04")));
    CHECK(!hol_is_working_day(c, D("1950-01-02")));
    CHECK(!hol_is_working_day(c, D("1900-12-25")));

    /* The definitions, day by day over 1948-2153 (both sides of the precomputed range). */
    int bad = 0;
    for (cal_day d = D("1948-01-01"); d <= D("2153-12-31"); d++) {
        bool bh = hol_is_bank_holiday(c, d, NULL);
        bool working = hol_is_working_day(c, d);
        cal_day next = d + 1;
        while (!hol_is_working_day(c, next))
            next++;
        cal_day from = d;
        while (!hol_is_working_day(c, from))
            from++;
        if (working != (cal_weekday(d) <= 5 && !bh) || hol_add_working_days(c, d, 1) != next ||
            hol_working_period_end(c, d, 1) != from ||
            hol_add_working_days(c, d, 10) !=
                hol_add_working_days(c, hol_add_working_days(c, d, 3), 7) ||
            hol_working_period_end(c, d, 10) != hol_add_working_days(c, d - 1, 10)) {
            if (bad++ < 5)
                fprintf(stderr, "working-day definitions disagree on %s\n", F(d));
        }
    }
    CHECK_INT(bad, 0);
    hol_free(c);
}

/* One-off changes outside the precomputed range take the per-call path. */
static void test_changes_outside_range(void)
{
    hol_calendar *c = load("calendar: bank-holidays\nversion: 7\nchanges:\n"
                           "  - {date: 2200-06-03, name: Extra}\n"
                           "  - {date: 2200-06-02, name: Moved spring, replaces: 2200-05-26}\n"
                           "  - {remove: 1920-05-31}\n"
                           "  - {date: 1920-06-02, name: Renamed, replaces: 1920-05-03}\n"
                           "  - {date: 1920-05-03, name: Early May renamed}\n");
    if (!c)
        return;
    CHECK_STR(hol_version(c), "bank-holidays v7");
    CHECK(!hol_has_terms(c));
    static const day_case cases[] = {
        {"2200-05-26", NULL},
        {"2200-06-02", "Moved spring"},
        {"2200-06-03", "Extra"},
        {"2200-05-05", "Early May bank holiday"},
        {"2200-12-26", "Boxing Day"},
        {"1920-05-31", NULL},
        {"1920-06-02", "Renamed"},
        {"1920-05-03", "Early May renamed"}, /* removed as a rule day, listed as a one-off */
        {"1920-12-27", "Christmas Day (substitute day)"},
    };
    check_days(c, cases, sizeof cases / sizeof cases[0]);
    const char *want[] = {"2200-01-01", "2200-04-04", "2200-04-07", "2200-05-05", "2200-06-02",
                          "2200-06-03", "2200-08-25", "2200-12-25", "2200-12-26"};
    cal_day days[16];
    size_t n = hol_bank_holidays(c, 2200, days, 16);
    CHECK_INT(n, 9);
    for (size_t i = 0; i < n && i < 9; i++)
        CHECK_STR(F(days[i]), want[i]);
    CHECK_INT(hol_bank_holidays(c, 1920, days, 16), 8);
    CHECK(hol_is_working_day(c, D("1920-05-31")));
    CHECK(!hol_is_working_day(c, D("2200-06-03")));
    hol_free(c);

    /* Many one-offs in one year outside the range: more than any fixed buffer. */
    char yaml[4096] = "calendar: bank-holidays\nversion: 1\nchanges:\n";
    int count = 0;
    for (cal_day d = D("2300-06-01"); count < 40; d++) {
        if (cal_weekday(d) > 5)
            continue;
        char line[80];
        snprintf(line, sizeof line, "  - {date: %s, name: x%d}\n", F(d), count);
        strncat(yaml, line, sizeof yaml - strlen(yaml) - 1);
        count++;
    }
    c = load(yaml);
    if (!c)
        return;
    cal_day many[64];
    CHECK_INT(hol_bank_holidays(c, 2300, many, 64), 48);
    for (size_t i = 1; i < 48; i++)
        CHECK(many[i] > many[i - 1]);
    CHECK_INT(hol_bank_holidays(c, 2300, many, 3), 48);
    hol_free(c);
}

/* ---- School closures (reg. 10(4)(a)) ------------------------------------------ */

static void test_closure_window_shipped(void)
{
    hol_calendar *c = shipped();
    if (!c)
        return;
    static const struct {
        const char *day;
        const char *first;   /* NULL: no window */
        const char *reopens; /* of the closure */
    } cases[] = {
        /* Summer 2025: closed 23 Jul, reopens 3 Sep; the window is 16 Jul to 27 Aug. */
        {"2025-07-15", NULL, NULL},
        {"2025-07-16", "2025-07-23", "2025-09-03"},
        {"2025-07-22", "2025-07-23", "2025-09-03"},
        {"2025-08-01", "2025-07-23", "2025-09-03"},
        {"2025-08-27", "2025-07-23", "2025-09-03"},
        {"2025-08-28", NULL, NULL},
        {"2025-09-03", NULL, NULL},
        /* Summer 2026: closed 23 Jul, reopens Thu 3 Sep. */
        {"2026-07-15", NULL, NULL},
        {"2026-07-16", "2026-07-23", "2026-09-03"},
        {"2026-08-27", "2026-07-23", "2026-09-03"},
        {"2026-08-28", NULL, NULL},
        /* Summer 2027: closed 23 Jul, reopens Thu 2 Sep: the window ends 26 Aug. */
        {"2027-08-26", "2027-07-23", "2027-09-02"},
        {"2027-08-27", NULL, NULL},
        /* Christmas (16 days), Easter (16-17 days) and half terms are too short. */
        {"2025-12-15", NULL, NULL},
        {"2025-12-22", NULL, NULL},
        {"2026-03-25", NULL, NULL},
        {"2026-04-01", NULL, NULL},
        {"2025-10-20", NULL, NULL},
        /* Before the first term and after the last, nothing is known. */
        {"2024-07-20", NULL, NULL},
        {"2024-08-28", NULL, NULL},
        {"2028-07-20", NULL, NULL},
        {"2028-08-01", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hol_closure which = {CAL_NONE, CAL_NONE, NULL};
        bool in = hol_closure_window(c, D(cases[i].day), &which);
        if (in != (cases[i].first != NULL)) {
            fprintf(stderr, "%s: window %d\n", cases[i].day, in);
            check_failures++;
            check_test_failures++;
            continue;
        }
        CHECK(hol_closure_window(c, D(cases[i].day), NULL) == in);
        if (!in)
            continue;
        CHECK_STR(F(which.first), cases[i].first);
        CHECK_STR(F(which.reopens), cases[i].reopens);
    }
    hol_closure w;
    CHECK(hol_closure_window(c, D("2025-07-16"), &w));
    CHECK_STR(w.name, "holiday between summer 2 2025 and autumn 1 2025");

    /* 24 terms, none back to back: 23 closures, three of them summers long enough. */
    hol_closure all[32];
    size_t n = hol_closures(c, all, 32);
    CHECK_INT(n, 23);
    int longer = 0;
    for (size_t i = 0; i < n && i < 32; i++) {
        if (all[i].reopens - all[i].first >= 28)
            longer++;
        CHECK(i == 0 || all[i].first > all[i - 1].reopens);
    }
    CHECK_INT(longer, 3);
    CHECK_STR(F(all[0].first), "2024-10-26");
    CHECK_STR(F(all[0].reopens), "2024-11-04");
    CHECK_STR(all[0].name, "holiday between autumn 1 2024 and autumn 2 2024");
    hol_free(c);
}

#define TERMS_TOP "calendar: terms\nauthority: Test Borough\nversion: 3\n"

static void test_closure_window_edges(void)
{
    /* Closures of 28 days (4 weeks exactly), 27 days and 20 days. */
    hol_calendar *c =
        load(TERMS_TOP "terms:\n"
                       "  - {from: 2030-01-07, to: 2030-01-31, name: a}\n" /* 28 days closed */
                       "  - {from: 2030-03-01, to: 2030-03-29, name: b}\n" /* 27 days closed */
                       "  - {from: 2030-04-26, to: 2030-05-10, name: c}\n" /* 20 days closed */
                       "  - {from: 2030-05-31, to: 2030-06-07, name: d}\n" /* back to back */
                       "  - {from: 2030-06-08, to: 2030-06-20, name: e}\n");
    if (!c)
        return;
    CHECK_STR(hol_version(c), "rules; terms (Test Borough) v3");
    CHECK(hol_has_terms(c));
    hol_closure w;
    /* a .. b: closed 1 Feb, reopens 1 Mar: the window is 25 Jan .. 22 Feb. */
    CHECK(!hol_closure_window(c, D("2030-01-24"), &w));
    CHECK(hol_closure_window(c, D("2030-01-25"), &w));
    CHECK_STR(F(w.first), "2030-02-01");
    CHECK_STR(F(w.reopens), "2030-03-01");
    CHECK_STR(w.name, "holiday between a and b");
    CHECK(hol_closure_window(c, D("2030-02-01"), NULL));
    CHECK(hol_closure_window(c, D("2030-02-22"), NULL));
    CHECK(!hol_closure_window(c, D("2030-02-23"), NULL));
    /* b .. c (27 days), c .. d (20 days): no window at all. */
    for (cal_day d = D("2030-02-23"); d <= D("2030-12-31"); d++)
        CHECK(!hol_closure_window(c, d, NULL));
    hol_closure all[8];
    CHECK_INT(hol_closures(c, all, 8), 3);
    CHECK_INT(all[0].reopens - all[0].first, 28);
    CHECK_INT(all[1].reopens - all[1].first, 27);
    CHECK_INT(all[2].reopens - all[2].first, 20);
    hol_free(c);

    /* A three-week holiday (Friday to Monday three weeks later): no window. */
    c = load(TERMS_TOP "terms:\n"
                       "  - {from: 2030-01-07, to: 2030-02-08, name: a}\n"
                       "  - {from: 2030-03-04, to: 2030-03-29, name: b}\n");
    if (!c)
        return;
    for (cal_day d = D("2030-01-01"); d <= D("2030-04-30"); d++)
        CHECK(!hol_closure_window(c, d, NULL));
    CHECK_INT(hol_closures(c, all, 8), 1);
    hol_free(c);

    /*
     * A declared closure that starts the day a holiday ends extends it: 17 days
     * of holiday and 14 of building works are one closure of 31 days. Another
     * inside a term, of 3 weeks, gives no window; one of 5 weeks does.
     */
    c = load(TERMS_TOP "terms:\n"
                       "  - {from: 2031-01-06, to: 2031-03-28, name: spring}\n"
                       "  - {from: 2031-04-15, to: 2031-07-18, name: summer}\n"
                       "closures:\n"
                       "  - {from: 2031-04-15, reopens: 2031-04-29, name: building works}\n"
                       "  - {from: 2031-05-12, reopens: 2031-06-02, name: flood}\n"
                       "  - {from: 2031-06-09, reopens: 2031-07-14, name: pandemic}\n");
    if (!c)
        return;
    CHECK_INT(hol_closures(c, all, 8), 3);
    CHECK_STR(F(all[0].first), "2031-03-29");
    CHECK_STR(F(all[0].reopens), "2031-04-29");
    CHECK_STR(all[0].name, "holiday between spring and summer + building works");
    CHECK(hol_closure_window(c, D("2031-03-22"), &w));
    CHECK_STR(F(w.reopens), "2031-04-29");
    CHECK(hol_closure_window(c, D("2031-04-22"), NULL));
    CHECK(!hol_closure_window(c, D("2031-04-23"), NULL));
    CHECK(!hol_closure_window(c, D("2031-05-08"), NULL)); /* the flood: 3 weeks */
    CHECK(hol_closure_window(c, D("2031-06-02"), &w));    /* the pandemic: 5 weeks */
    CHECK_STR(w.name, "pandemic");
    CHECK(hol_closure_window(c, D("2031-07-07"), NULL));
    CHECK(!hol_closure_window(c, D("2031-07-08"), NULL));
    hol_free(c);

    /* Closures alone, overlapping a term gap that ends inside them, and touching each other. */
    c = load(TERMS_TOP "terms:\n"
                       "  - {from: 2032-01-05, to: 2032-02-06, name: t1}\n"
                       "  - {from: 2032-02-16, to: 2032-03-26, name: t2}\n"
                       "closures:\n"
                       "  - {from: 2032-02-09, reopens: 2032-02-23, name: x}\n"
                       "  - {from: 2032-02-23, reopens: 2032-03-08, name: y}\n");
    if (!c)
        return;
    CHECK_INT(hol_closures(c, all, 8), 1);
    CHECK_STR(F(all[0].first), "2032-02-07");
    CHECK_STR(F(all[0].reopens), "2032-03-08");
    CHECK_STR(all[0].name, "holiday between t1 and t2 + x + y");
    CHECK(hol_closure_window(c, D("2032-01-31"), NULL));
    CHECK(!hol_closure_window(c, D("2032-01-30"), NULL));
    CHECK(hol_closure_window(c, D("2032-03-01"), NULL));
    CHECK(!hol_closure_window(c, D("2032-03-02"), NULL));
    hol_free(c);

    c = load(TERMS_TOP "closures:\n"
                       "  - {from: 2033-07-20, reopens: 2033-09-01, name: summer}\n");
    if (!c)
        return;
    CHECK(hol_has_terms(c));
    CHECK(hol_closure_window(c, D("2033-07-13"), NULL));
    CHECK(hol_closure_window(c, D("2033-08-25"), NULL));
    CHECK(!hol_closure_window(c, D("2033-08-26"), NULL));
    hol_free(c);
}

/* ---- Loader errors ------------------------------------------------------------ */

typedef struct bad_case {
    const char *yaml;
    int line;
    const char *phrase;
} bad_case;

#define BH "calendar: bank-holidays\nversion: 1\nchanges:\n" /* items from line 4 */
#define TM TERMS_TOP "terms:\n"                              /* items from line 5 */
#define CL TERMS_TOP "closures:\n"                           /* items from line 5 */

static const bad_case bad_cases[] = {
    /* The document */
    {"", 1, "empty document: expected a calendar mapping"},
    {"- a\n", 1, "top level: expected a mapping, got a list"},
    {"calendar: terms\nversion: [\n", 3, "YAML syntax error"},
    {"calendar: bank-holidays\nversion: 1\n---\ncalendar: terms\n", 4,
     "a second YAML document: one calendar per file"},
    {"? [a]\n: b\n", 1, "top level: a key must be a string, got a list"},
    {"version: 1\n", 1, "top level: missing \"calendar\" (bank-holidays or terms)"},
    {"calendar: holidays\nversion: 1\n", 1,
     "\"calendar\": expected bank-holidays or terms, got \"holidays\""},
    {"calendar: [terms]\n", 1, "\"calendar\": expected bank-holidays or terms, got a list"},
    {"calendar: bank-holidays\nchanges: []\n", 1, "top level: missing \"version\""},
    {"calendar: bank-holidays\nversion: 0\n", 2,
     "\"version\": expected a positive integer, got \"0\""},
    {"calendar: bank-holidays\nversion: v1\n", 2, "expected a positive integer, got \"v1\""},
    {"calendar: bank-holidays\nversion: [1]\n", 2, "expected a positive integer, got a list"},
    {"calendar: bank-holidays\nversion: 1\nchange: []\n", 3,
     "top level: unknown key \"change\" (expected one of: calendar, version, changes)"},
    {"calendar: bank-holidays\nversion: 1\nversion: 2\n", 3,
     "top level: duplicate key \"version\" (first at line 2)"},
    {"calendar: bank-holidays\nversion: 1\nchanges: {a: 1}\n", 3,
     "\"changes\": expected a list, got a mapping"},

    /* bank-holidays: dates */
    {BH "  - {date: 2022-02-30, name: x}\n", 4,
     "change: \"date\": expected a date YYYY-MM-DD (a real day, year 1900-2999), got "
     "\"2022-02-30\""},
    {BH "  - {date: 2022-6-3, name: x}\n", 4, "got \"2022-6-3\""},
    {BH "  - {date: 1899-12-29, name: x}\n", 4, "got \"1899-12-29\""},
    {BH "  - {date: [2022-06-03], name: x}\n", 4,
     "\"date\": expected a date YYYY-MM-DD, got a list"},
    {BH "  - {date: , name: x}\n", 4, "\"date\": expected a date YYYY-MM-DD, got an empty value"},
    {BH "  - {date: 2022-06-04, name: x}\n", 4,
     "change: \"date\": 2022-06-04 is a Saturday; a bank holiday falls on a weekday"},
    {BH "  - {date: 2022-06-05, name: x}\n", 4, "2022-06-05 is a Sunday"},
    {BH "  - {date: 2022-06-03, name: a}\n  - {date: 2022-06-03, name: b}\n", 5,
     "change: \"date\": 2022-06-03 is already listed (line 4)"},
    {BH "  - {date: 2022-12-26, name: x}\n", 4,
     "change: \"date\": 2022-12-26 is already a bank holiday (Boxing Day)"},
    {BH "  - {date: 2022-06-06, name: a}\n  - {date: 2022-12-27, name: x}\n", 5,
     "2022-12-27 is already a bank holiday (Christmas Day (substitute day))"},
    /* bank-holidays: names and shapes */
    {BH "  - {date: 2022-06-03}\n", 4, "change: missing \"name\""},
    {BH "  - {date: 2022-06-03, name: }\n", 4,
     "change: \"name\": expected a string, got an empty value"},
    {BH "  - {date: 2022-06-03, name: [x]}\n", 4,
     "change: \"name\": expected a string, got a list"},
    {BH "  - {name: x}\n", 4,
     "change: missing \"date\" (an extra or moved bank holiday) or \"remove\""},
    {BH "  - {dat: 2022-06-03, name: x}\n", 4,
     "change: unknown key \"dat\" (expected one of: date, name, replaces, remove)"},
    {BH "  - {date: 2022-06-03, name: x, name: y}\n", 4, "change: duplicate key \"name\""},
    {BH "  - 2022-06-03\n", 4, "change: expected a mapping, got a string"},
    /* bank-holidays: moving and removing rule days */
    {BH "  - {date: 2022-06-02, name: x, replaces: 2022-05-31}\n", 4,
     "change: \"replaces\": 2022-05-31 is not a bank holiday under the standing rules"},
    {BH "  - {date: 2022-06-02, name: x, replaces: 2021-05-31}\n", 4,
     "change: \"replaces\": 2021-05-31 is not in the same year as \"date\" 2022-06-02"},
    {BH "  - {date: 2022-06-02, name: x, replaces: 2022-05-30}\n"
        "  - {date: 2022-06-06, name: y, replaces: 2022-05-30}\n",
     5, "change: \"replaces\": 2022-05-30 is already moved or removed (line 4)"},
    {BH "  - {date: 2022-06-02, name: x, replaces: 2022-05-30}\n  - {remove: 2022-05-30}\n", 5,
     "change: \"remove\": 2022-05-30 is already moved or removed (line 4)"},
    {BH "  - {date: 2022-06-02, name: x, replaces: 2022-5-30}\n", 4,
     "change: \"replaces\": expected a date YYYY-MM-DD"},
    {BH "  - {remove: 2022-05-31}\n", 4,
     "change: \"remove\": 2022-05-31 is not a bank holiday under the standing rules"},
    {BH "  - {remove: 2022-05-30, date: 2022-06-02}\n", 4,
     "change: \"remove\" takes a day away; to move it, give \"date\" and \"replaces\" instead"},
    {BH "  - {remove: 2022-05-30, name: x}\n", 4,
     "change: \"name\" goes with \"date\", not with \"remove\""},
    {BH "  - {remove: 2022-05-30, replaces: 2022-05-30}\n", 4,
     "change: \"replaces\" goes with \"date\", not with \"remove\""},
    {BH "  - {remove: 2022-05-30}\n  - {remove: 2022-05-30}\n", 5,
     "2022-05-30 is already moved or removed (line 4)"},
    {BH "  - {remove: 2022-12-23}\n", 4,
     "2022-12-23 is not a bank holiday under the standing rules"},

    /* terms: top level */
    {"calendar: terms\nversion: 1\nterms: []\n", 1, "top level: missing \"authority\""},
    {"calendar: terms\nauthority:\nversion: 1\n", 2,
     "top level: \"authority\": expected a string, got an empty value"},
    {TERMS_TOP, 1, "top level: no \"terms\" and no \"closures\": nothing to load"},
    {TERMS_TOP "terms: []\nclosures: ~\n", 1, "no \"terms\" and no \"closures\""},
    {TERMS_TOP "terms: {}\n", 4, "\"terms\": expected a list, got a mapping"},
    {TERMS_TOP "closures: x\n", 4, "\"closures\": expected a list, got a string"},
    {TERMS_TOP "holidays: []\n", 4,
     "top level: unknown key \"holidays\" (expected one of: calendar, authority, version, terms, "
     "closures)"},
    {"calendar: terms\nauthority: X\nterms: []\n", 1, "top level: missing \"version\""},
    {TERMS_TOP "changes: []\n", 4, "unknown key \"changes\""},
    {BH "authority: X\n", 4, "top level: unknown key \"authority\""},
    /* terms: items */
    {TM "  - x\n", 5, "term: expected a mapping, got a string"},
    {TM "  - {form: 2025-09-03, to: 2025-10-24, name: a}\n", 5,
     "term: unknown key \"form\" (expected one of: from, to, name)"},
    {TM "  - {from: 2025-09-03, to: 2025-10-24}\n", 5, "term: missing \"name\""},
    {TM "  - {from: 2025-09-03, name: a}\n", 5, "term \"a\": missing \"to\""},
    {TM "  - {to: 2025-09-03, name: a}\n", 5, "term \"a\": missing \"from\""},
    {TM "  - {from: 2025-09-31, to: 2025-10-24, name: a}\n", 5,
     "term \"a\": \"from\": expected a date YYYY-MM-DD (a real day, year 1900-2999), got "
     "\"2025-09-31\""},
    {TM "  - {from: 2025-09-03, to: 2025-09-02, name: a}\n", 5,
     "term \"a\": \"to\" 2025-09-02 is before \"from\" 2025-09-03"},
    {TM "  - {from: 2025-09-03, to: 2025-10-24, name: a}\n"
        "  - {from: 2025-10-24, to: 2025-12-19, name: b}\n",
     6, "term \"b\" overlaps term \"a\" (line 5)"},
    {TM "  - {from: 2025-09-03, to: 2025-10-24, name: a}\n"
        "  - {from: 2025-10-01, to: 2025-10-10, name: b}\n",
     6, "term \"b\" overlaps term \"a\" (line 5)"},
    {TM "  - {from: 2025-09-03, to: 2025-10-24, name: a}\n"
        "  - {from: 2025-01-06, to: 2025-02-14, name: b}\n",
     6, "term \"b\" starts before term \"a\" (line 5): list them in date order"},
    {TM "  - {from: 2025-09-03, to: 2025-10-24, name: a}\n"
        "  - {from: 2025-11-03, to: 2025-12-19, name: a}\n",
     6, "term \"a\": the name is also used at line 5"},
    /* closures */
    {CL "  - {from: 2026-03-02, to: 2026-03-16, name: w}\n", 5,
     "closure: unknown key \"to\" (expected one of: from, reopens, name)"},
    {CL "  - {from: 2026-03-02, name: w}\n", 5, "closure \"w\": missing \"reopens\""},
    {CL "  - {from: 2026-03-02, reopens: 2026-03-02, name: w}\n", 5,
     "closure \"w\": \"reopens\" 2026-03-02 is not after \"from\" 2026-03-02"},
    {CL "  - {from: 2026-03-02, reopens: 2026-02-02, name: w}\n", 5,
     "\"reopens\" 2026-02-02 is not after \"from\" 2026-03-02"},
    {CL "  - {from: 2026-03-02, reopens: 2026-03-16, name: w}\n"
        "  - {from: 2026-03-10, reopens: 2026-03-20, name: v}\n",
     6, "closure \"v\" overlaps closure \"w\" (line 5)"},
    {CL "  - {from: 2026-03-02, reopens: 2026-03-16, name: w}\n"
        "  - {from: 2026-03-01, reopens: 2026-03-02, name: v}\n",
     6, "closure \"v\" starts before closure \"w\" (line 5): list them in date order"},
    {CL "  - {from: 2026-03-02, reopens: 2026-03-16, name: w}\n"
        "  - {from: 2026-03-16, reopens: 2026-03-20, name: w}\n",
     6, "closure \"w\": the name is also used at line 5"},
    {CL "  - {from: 2026-03-02, reopens: 2026-03-16x, name: w}\n", 5,
     "closure \"w\": \"reopens\": expected a date"},
};

static void test_invalid(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *bc = &bad_cases[i];
        char err[HOL_ERR_LEN] = "";
        hol_calendar *c = (hol_calendar *)1;
        int rc = hol_load_string("t.yaml", bc->yaml, strlen(bc->yaml), &c, err);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "[t.yaml:%d] ", bc->line);
        if (rc != -1 || c != NULL || strncmp(err, prefix, strlen(prefix)) != 0 ||
            !strstr(err, bc->phrase)) {
            fprintf(stderr, "case %zu (line %d): rc %d, err \"%s\"\n  expected \"%s...%s\"\n", i,
                    bc->line, rc, err, prefix, bc->phrase);
            check_failures++;
            check_test_failures++;
        }
        if (rc == 0)
            hol_free(c);
    }
    CHECK(sizeof bad_cases / sizeof bad_cases[0] >= 60);

    /* Invalid UTF-8 is a reader error, located by its offset. */
    char err[HOL_ERR_LEN];
    hol_calendar *c = (hol_calendar *)1;
    const char bad[] = "calendar: terms\nauthority: \xff\xfe\n";
    CHECK_INT(hol_load_string("t.yaml", bad, sizeof bad - 1, &c, err), -1);
    CHECK(c == NULL);
    CHECK_SUBSTR(err, "[t.yaml:2] YAML syntax error");
}

/* Accepted edge cases of the formats. */
static void test_valid_forms(void)
{
    /* No changes at all; "changes:" empty or absent. */
    const char *yamls[] = {
        "calendar: bank-holidays\nversion: 2\n",
        "calendar: bank-holidays\nversion: 2\nchanges:\n",
        "calendar: bank-holidays\nversion: 2\nchanges: []\n",
        "calendar: \"bank-holidays\"\nversion: 2\nchanges: ~\n",
    };
    for (size_t i = 0; i < sizeof yamls / sizeof yamls[0]; i++) {
        hol_calendar *c = load(yamls[i]);
        if (!c)
            continue;
        CHECK_STR(hol_version(c), "bank-holidays v2");
        CHECK_INT(hol_bank_holidays(c, 2022, NULL, 0), 8);
        hol_free(c);
    }
    /* A rule day removed by a later entry may be given again by an earlier one (a rename), and
     * quoted dates are dates. */
    hol_calendar *c = load(BH "  - {date: '2022-05-30', name: Renamed spring}\n"
                              "  - {remove: \"2022-05-30\"}\n");
    if (c) {
        const char *name = NULL;
        CHECK(hol_is_bank_holiday(c, D("2022-05-30"), &name));
        CHECK_STR(name, "Renamed spring");
        CHECK_INT(hol_bank_holidays(c, 2022, NULL, 0), 8);
        hol_free(c);
    }
    /* Back-to-back terms leave no closure; a term may be a single day. */
    c = load(TM "  - {from: 2030-01-07, to: 2030-01-07, name: one}\n"
                "  - {from: 2030-01-08, to: 2030-01-10, name: two}\n");
    if (c) {
        CHECK_INT(hol_closures(c, NULL, 0), 0);
        CHECK(hol_has_terms(c));
        hol_free(c);
    }
}

/* ---- Directories ---------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

#define MINI_BH    "calendar: bank-holidays\nversion: 4\n"
#define MINI_TERMS TERMS_TOP "terms:\n  - {from: 2030-01-07, to: 2030-01-31, name: a}\n"

static void test_load_dir(void)
{
    char tmpl[] = "/tmp/test_hol.XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return;
    char err[HOL_ERR_LEN], want[700];
    hol_calendar *c = (hol_calendar *)1;

    /* An empty directory: the standing rules. */
    CHECK_INT(load_calendars(dir, &c, err), 0);
    if (c) {
        CHECK_STR(hol_version(c), "rules");
        CHECK(!hol_has_terms(c));
        hol_free(c);
    }

    /* Terms alone: a bank-holidays file is required. */
    write_file(dir, "terms.yaml", MINI_TERMS);
    CHECK_INT(load_calendars(dir, &c, err), -1);
    CHECK(c == NULL);
    snprintf(want, sizeof want,
             "[%s:1] no bank-holidays calendar (a file with \"calendar: bank-holidays\") among the "
             "1 calendar file",
             dir);
    CHECK_SUBSTR(err, want);

    /* Both, plus files that are not calendars: other extensions, hidden, a directory. */
    write_file(dir, "bank.yml", MINI_BH);
    write_file(dir, "notes.txt", "not: [yaml\n");
    write_file(dir, ".hidden.yaml", "not: [yaml\n");
    write_file(dir, "terms.yaml.bak", "not: [yaml\n");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/old.yaml", dir);
    CHECK_INT(mkdir(sub, 0700), 0);
    CHECK_INT(load_calendars(dir, &c, err), 0);
    if (c) {
        CHECK_STR(hol_version(c), "bank-holidays v4; terms (Test Borough) v3");
        CHECK(hol_has_terms(c));
        hol_free(c);
    } else {
        fprintf(stderr, "%s\n", err);
    }

    /* A second bank-holidays file (files are read in name order). */
    write_file(dir, "bank2.yaml", "# again\n" MINI_BH);
    CHECK_INT(load_calendars(dir, &c, err), -1);
    CHECK(c == NULL);
    snprintf(want, sizeof want,
             "[%s/bank2.yaml:2] \"calendar\": a second bank-holidays calendar (the first is "
             "%s/bank.yml)",
             dir, dir);
    CHECK_SUBSTR(err, want);
    remove_file(dir, "bank2.yaml");

    /* A second terms file. */
    write_file(dir, "terms2.yaml", MINI_TERMS);
    CHECK_INT(load_calendars(dir, &c, err), -1);
    snprintf(
        want, sizeof want,
        "[%s/terms2.yaml:1] \"calendar\": a second terms calendar (the first is %s/terms.yaml)",
        dir, dir);
    CHECK_SUBSTR(err, want);
    remove_file(dir, "terms2.yaml");

    /* A broken file names itself. */
    write_file(dir, "terms.yaml",
               TERMS_TOP "terms:\n  - {from: 2030-01-07, to: 2030-01-06, "
                         "name: a}\n");
    CHECK_INT(load_calendars(dir, &c, err), -1);
    snprintf(want, sizeof want, "[%s/terms.yaml:5] term \"a\": \"to\" 2030-01-06 is before", dir);
    CHECK_SUBSTR(err, want);

    /* Not there at all. */
    CHECK_INT(load_calendars("/nonexistent", &c, err), -1);
    CHECK(c == NULL);
    CHECK_SUBSTR(err, "[/nonexistent:1] cannot open directory");

    remove_file(dir, "terms.yaml");
    remove_file(dir, "bank.yml");
    remove_file(dir, "notes.txt");
    remove_file(dir, ".hidden.yaml");
    remove_file(dir, "terms.yaml.bak");
    rmdir(sub);
    CHECK_INT(rmdir(dir), 0);
}

int main(void)
{
    RUN(test_easter);
    RUN(test_new_year);
    RUN(test_christmas);
    RUN(test_easter_and_mondays);
    RUN(test_year_lists);
    RUN(test_extremes);
    RUN(test_shipped_changes);
    RUN(test_independent_list);
    RUN(test_working_days);
    RUN(test_changes_outside_range);
    RUN(test_closure_window_shipped);
    RUN(test_closure_window_edges);
    RUN(test_invalid);
    RUN(test_valid_forms);
    RUN(test_load_dir);
    return CHECK_DONE();
}
