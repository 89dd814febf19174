/*
 * cal: civil-date arithmetic for statutory deadlines. Pure: no I/O, no clock,
 * no time zone. A date is a count of days, so comparing and subtracting dates
 * is integer arithmetic; every rule for counting periods that the law uses
 * ("within N weeks of", "N days beginning with", "12 months starting with",
 * "before 15 February") lives here and nowhere else.
 *
 * The dates are Europe/London calendar dates; converting an instant to one is
 * the daemon's job (see clock.h), not this module's.
 */
#ifndef SF_CAL_H
#define SF_CAL_H

#include <stdbool.h>
#include <stdint.h>

/* Days since 1970-01-01 in the proleptic Gregorian calendar (negative before). */
typedef int32_t cal_day;

/* "No date" (an unmet deadline's met_on, an absent date of birth). */
#define CAL_NONE INT32_MIN
/* Bytes needed by cal_format, including the NUL. */
#define CAL_DATE_LEN 11
/* Bytes needed by cal_format_long, including the NUL ("Wednesday 30 September 2026"). */
#define CAL_LONG_LEN 40
/* Earliest and latest years cal_parse accepts: anything outside is a typing error. */
#define CAL_MIN_YEAR 1900
#define CAL_MAX_YEAR 2999

/* A unit of a period in a workflow rule. */
typedef enum cal_unit {
    CAL_DAYS,         /* calendar days */
    CAL_WEEKS,        /* 7 calendar days */
    CAL_MONTHS,       /* calendar months, by corresponding date */
    CAL_YEARS,        /* 12 calendar months */
    CAL_WORKING_DAYS, /* Monday to Friday; cal_add knows no bank holidays: the engine counts these
                         with the calendar (hol_add_working_days) */
} cal_unit;

/* True when y is a Gregorian leap year. */
bool cal_is_leap(int y);
/* Days in month m (1-12) of year y. */
int cal_days_in_month(int y, int m);
/* True when y-m-d names a real date (2026-02-30 does not). */
bool cal_valid_ymd(int y, int m, int d);
/* The day number of a valid y-m-d (caller checks validity with cal_valid_ymd). */
cal_day cal_from_ymd(int y, int m, int d);
/* Split a day number into year, month (1-12) and day (1-31); any pointer may be NULL. */
void cal_to_ymd(cal_day day, int *y, int *m, int *d);
/* ISO weekday: 1 = Monday ... 7 = Sunday. */
int cal_weekday(cal_day day);
/* Parse exactly "YYYY-MM-DD" (a real date, year within CAL_MIN_YEAR..CAL_MAX_YEAR): 0, or -1 when
 * invalid. */
int cal_parse(const char *s, cal_day *out);
/* Parse exactly "YYYY-MM-DDTHH:MM": 0 and the date and minute of the day, or -1 when invalid. */
int cal_parse_datetime(const char *s, cal_day *day, int *minute_of_day);
/* Write "YYYY-MM-DD" into out (CAL_DATE_LEN bytes); returns out. */
char *cal_format(cal_day day, char out[CAL_DATE_LEN]);
/* Write "Monday 5 January 2026" into out (CAL_LONG_LEN bytes); returns out. */
char *cal_format_long(cal_day day, char out[CAL_LONG_LEN]);
/* English month name for m = 1..12 ("January"); NULL otherwise. Static storage. */
const char *cal_month_name(int m);
/* Month number (1-12) of an English month name, case-insensitive; 0 when unknown. */
int cal_month_from_name(const char *name);

/* day + n days. */
cal_day cal_add_days(cal_day day, int n);
/*
 * day + n calendar months by corresponding date; when that month has no such
 * day, its last day (31 Jan + 1 month = 28/29 Feb). n may be negative.
 * This is "within N months of X" (Dodds v Walker [1981]).
 */
cal_day cal_add_months(cal_day day, int n);
/* day + n units: days, weeks (7n days), months or years as cal_add_months, working days as
 * Monday-Friday (no bank holidays: see hol.h). */
cal_day cal_add(cal_day day, int n, cal_unit unit);
/*
 * Last day of the period of n units "beginning with" (or "starting with") day,
 * the day itself counting as the first: 15 days beginning with Mon 1 Dec 2025
 * end Mon 15 Dec; 12 months starting with 10 Mar 2025 end 9 Mar 2026. For
 * months the period ends the day before the anniversary, and an anniversary
 * that does not exist (29 Feb in a common year, 31 Apr) is the 1st of the next
 * month, so 12 months starting with 29 Feb 2024 end 28 Feb 2025.
 */
cal_day cal_period_end(cal_day day, int n, cal_unit unit);
/* Parse a unit word, singular or plural ("day", "weeks", "month", "working days"): 0, or -1 when
 * unknown. */
int cal_unit_parse(const char *word, cal_unit *out);
/* The plural English word for a unit ("weeks"); singular when n == 1. Static storage. */
const char *cal_unit_name(cal_unit unit, int n);

#endif
