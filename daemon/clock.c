/* clock: real or simulated Europe/London time (see clock.h). */
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int clock_init(sf_clock *c, const char *spec, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    /* Statutory dates are English calendar dates whatever zone the host runs in. */
    setenv("TZ", "Europe/London", 1);
    tzset();
    /* Without the tz database glibc silently falls back to UTC, and "today" would be
     * wrong for an hour every summer night: check that British Summer Time exists. */
    time_t midsummer = 1782907200; /* 2026-07-01T12:00:00Z */
    struct tm tm;
    localtime_r(&midsummer, &tm);
    if (tm.tm_gmtoff != 3600) {
        snprintf(err, errlen,
                 "the Europe/London time zone is not available (install the tzdata package)");
        return -1;
    }
    if (!spec || strcmp(spec, "real") == 0)
        return 0;
    const char *prefix = "simulated:";
    if (strncmp(spec, prefix, strlen(prefix)) != 0 ||
        cal_parse_datetime(spec + strlen(prefix), &c->sim_day, &c->sim_minute) != 0) {
        snprintf(err, errlen,
                 "invalid --clock \"%s\": expected \"real\" or \"simulated:YYYY-MM-DDTHH:MM\"",
                 spec);
        return -1;
    }
    c->simulated = true;
    return 0;
}

static void real_now(cal_day *day, int *minute)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    *day = cal_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    *minute = tm.tm_hour * 60 + tm.tm_min;
}

cal_day clock_today(const sf_clock *c)
{
    if (c->simulated)
        return c->sim_day;
    cal_day day;
    int minute;
    real_now(&day, &minute);
    return day;
}

char *clock_now_str(const sf_clock *c, char out[CLOCK_STR_LEN])
{
    cal_day day = c->sim_day;
    int minute = c->sim_minute;
    if (!c->simulated)
        real_now(&day, &minute);
    char date[CAL_DATE_LEN];
    cal_format(day, date);
    unsigned m = (unsigned)minute % 1440;
    snprintf(out, CLOCK_STR_LEN, "%.10sT%02u:%02u", date, m / 60, m % 60);
    return out;
}

int clock_set(sf_clock *c, const char *to)
{
    if (!c->simulated)
        return -1;
    cal_day day;
    int minute;
    if (cal_parse_datetime(to, &day, &minute) != 0)
        return -2;
    if (day < c->sim_day || (day == c->sim_day && minute < c->sim_minute))
        return -3;
    c->sim_day = day;
    c->sim_minute = minute;
    return 0;
}

uint64_t clock_ms_until_day(const sf_clock *c, cal_day day)
{
    if (c->simulated)
        return day <= c->sim_day ? 0 : UINT64_MAX;
    int y, m, d;
    cal_to_ymd(day, &y, &m, &d);
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
    time_t at = mktime(&tm), now = time(NULL);
    if (at == (time_t)-1 || at <= now)
        return 0;
    return (uint64_t)(at - now) * 1000 + 1000; /* a second into the day */
}
