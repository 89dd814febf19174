/*
 * cal: civil-date arithmetic (see cal.h). A date is a day number, days since
 * 1970-01-01 in the proleptic Gregorian calendar, so comparison and
 * subtraction are plain integer arithmetic. The conversions use the
 * "days from civil" method: count years from 1 March so that the leap day is
 * the last day of the counting year, then 400-year eras of 146097 days.
 *
 * Pure: no I/O, no clock, no locale.
 */
#include "cal.h"

#include <stdio.h>
#include <string.h>

static const char *const month_names[12] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

static const char *const weekday_names[7] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};

bool cal_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int cal_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && cal_is_leap(y))
        return 29;
    return days[m - 1];
}

bool cal_valid_ymd(int y, int m, int d)
{
    return m >= 1 && m <= 12 && d >= 1 && d <= cal_days_in_month(y, m);
}

/* Floor division for the era computation (C division truncates toward zero). */
static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

cal_day cal_from_ymd(int y, int m, int d)
{
    long long yy = (long long)y - (m <= 2);
    long long era = floor_div(yy, 400);
    long long yoe = yy - era * 400;                                  /* [0, 399] */
    long long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return (cal_day)(era * 146097 + doe - 719468);
}

void cal_to_ymd(cal_day day, int *y, int *m, int *d)
{
    long long z = (long long)day + 719468;
    long long era = floor_div(z, 146097);
    long long doe = z - era * 146097;                                      /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    long long mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    int dd = (int)(doy - (153 * mp + 2) / 5 + 1);
    int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
    int yy = (int)(yoe + era * 400 + (mm <= 2));
    if (y)
        *y = yy;
    if (m)
        *m = mm;
    if (d)
        *d = dd;
}

int cal_weekday(cal_day day)
{
    /* 1970-01-01 was a Thursday (ISO 4). */
    long long w = ((long long)day + 3) % 7;
    if (w < 0)
        w += 7;
    return (int)w + 1;
}

/* Read exactly n ASCII digits at s into *out; false if any is not a digit. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Parse "YYYY-MM-DD" at the start of s (no more is looked at than 10 bytes). */
static int parse_date_prefix(const char *s, cal_day *out)
{
    int y, m, d;
    if (!s)
        return -1;
    /* Stop at a NUL before indexing further: digits() checks each byte in order. */
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return -1;
    if (y < CAL_MIN_YEAR || y > CAL_MAX_YEAR || !cal_valid_ymd(y, m, d))
        return -1;
    *out = cal_from_ymd(y, m, d);
    return 0;
}

int cal_parse(const char *s, cal_day *out)
{
    cal_day day;
    if (parse_date_prefix(s, &day) < 0 || s[10] != '\0')
        return -1;
    if (out)
        *out = day;
    return 0;
}

int cal_parse_datetime(const char *s, cal_day *day, int *minute_of_day)
{
    cal_day dd;
    int hh, mi;
    if (parse_date_prefix(s, &dd) < 0 || s[10] != 'T' || !digits(s + 11, 2, &hh) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != '\0')
        return -1;
    if (hh > 23 || mi > 59)
        return -1;
    if (day)
        *day = dd;
    if (minute_of_day)
        *minute_of_day = hh * 60 + mi;
    return 0;
}

char *cal_format(cal_day day, char out[CAL_DATE_LEN])
{
    int y, m, d;
    char tmp[48];
    cal_to_ymd(day, &y, &m, &d);
    /* Years outside 0..9999 do not fit; they cannot come from cal_parse. */
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02d", y, m, d);
    memcpy(out, tmp, CAL_DATE_LEN - 1);
    out[CAL_DATE_LEN - 1] = '\0';
    return out;
}

char *cal_format_long(cal_day day, char out[CAL_LONG_LEN])
{
    int y, m, d;
    cal_to_ymd(day, &y, &m, &d);
    snprintf(out, CAL_LONG_LEN, "%s %d %s %d", weekday_names[cal_weekday(day) - 1], d,
             month_names[m - 1], y);
    return out;
}

const char *cal_month_name(int m)
{
    return m >= 1 && m <= 12 ? month_names[m - 1] : NULL;
}

/* ASCII case-insensitive equality (no locale: "I" is never dotless). */
static bool ascii_ieq(const char *a, const char *b)
{
    for (;; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return false;
        if (!x)
            return true;
    }
}

int cal_month_from_name(const char *name)
{
    if (!name)
        return 0;
    for (int i = 0; i < 12; i++)
        if (ascii_ieq(name, month_names[i]))
            return i + 1;
    return 0;
}

cal_day cal_add_days(cal_day day, int n)
{
    return (cal_day)((long long)day + n);
}

cal_day cal_add_months(cal_day day, int n)
{
    int y, m, d;
    cal_to_ymd(day, &y, &m, &d);
    long long months = (long long)y * 12 + (m - 1) + n;
    int ny = (int)floor_div(months, 12);
    int nm = (int)(months - (long long)ny * 12) + 1;
    int last = cal_days_in_month(ny, nm);
    return cal_from_ymd(ny, nm, d > last ? last : d);
}

cal_day cal_add(cal_day day, int n, cal_unit unit)
{
    switch (unit) {
    case CAL_DAYS:
        return cal_add_days(day, n);
    case CAL_WEEKS:
        return (cal_day)((long long)day + 7LL * n);
    case CAL_MONTHS:
        return cal_add_months(day, n);
    case CAL_YEARS:
        return cal_add_months(day, 12 * n);
    case CAL_WORKING_DAYS: {
        int step = n < 0 ? -1 : 1;
        for (int left = n < 0 ? -n : n; left > 0;) {
            day = cal_add_days(day, step);
            if (cal_weekday(day) <= 5)
                left--;
        }
        return day;
    }
    }
    return day;
}

cal_day cal_period_end(cal_day day, int n, cal_unit unit)
{
    if (unit == CAL_DAYS || unit == CAL_WEEKS)
        return cal_add_days(cal_add(day, n, unit), -1);
    if (unit == CAL_WORKING_DAYS) /* the day itself is the first when it is a working day */
        return cal_weekday(day) <= 5 ? cal_add(day, n - 1, unit) : cal_add(day, n, unit);

    /*
     * Months: the period ends the day before the anniversary. The
     * anniversary keeps the day of the month; when the target month has no
     * such day (29 Feb in a common year, 31 Apr), the anniversary is the 1st
     * of the following month, so the period ends on the target month's last
     * day: 12 months starting with 29 Feb 2024 end 28 Feb 2025.
     */
    int y, m, d;
    cal_to_ymd(day, &y, &m, &d);
    long long months = (long long)y * 12 + (m - 1) + (unit == CAL_YEARS ? 12LL * n : n);
    int ny = (int)floor_div(months, 12);
    int nm = (int)(months - (long long)ny * 12) + 1;
    cal_day anniversary;
    if (d <= cal_days_in_month(ny, nm))
        anniversary = cal_from_ymd(ny, nm, d);
    else
        anniversary = cal_add_days(cal_from_ymd(ny, nm, cal_days_in_month(ny, nm)), 1);
    return cal_add_days(anniversary, -1);
}

int cal_unit_parse(const char *word, cal_unit *out)
{
    static const struct {
        const char *word;
        cal_unit unit;
    } words[] = {
        {"day", CAL_DAYS},
        {"days", CAL_DAYS},
        {"week", CAL_WEEKS},
        {"weeks", CAL_WEEKS},
        {"month", CAL_MONTHS},
        {"months", CAL_MONTHS},
        {"year", CAL_YEARS},
        {"years", CAL_YEARS},
        {"working day", CAL_WORKING_DAYS},
        {"working days", CAL_WORKING_DAYS},
    };
    if (!word)
        return -1;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (ascii_ieq(word, words[i].word)) {
            if (out)
                *out = words[i].unit;
            return 0;
        }
    }
    return -1;
}

const char *cal_unit_name(cal_unit unit, int n)
{
    bool one = n == 1 || n == -1;
    switch (unit) {
    case CAL_DAYS:
        return one ? "day" : "days";
    case CAL_WEEKS:
        return one ? "week" : "weeks";
    case CAL_MONTHS:
        return one ? "month" : "months";
    case CAL_YEARS:
        return one ? "year" : "years";
    case CAL_WORKING_DAYS:
        return one ? "working day" : "working days";
    }
    return "?";
}
