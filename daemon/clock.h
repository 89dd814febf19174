/*
 * clock: the daemon's idea of "now", as a Europe/London date and time.
 *
 * Real mode reads the system clock and converts it with the tz database;
 * simulated mode (--clock simulated:...) holds a time that only moves when
 * told to (sendflow clock set), as a time-skipping test server does, so that
 * tests, demos and what-if runs can watch deadlines fall due.
 */
#ifndef SF_CLOCK_H
#define SF_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "cal.h"
#include "util.h"

/* Room for "YYYY-MM-DDTHH:MM" and its NUL. */
#define CLOCK_STR_LEN 17

typedef struct sf_clock {
    bool simulated;  /* true: sim_day/sim_minute are "now" */
    cal_day sim_day; /* simulated Europe/London date */
    int sim_minute;  /* simulated minute of the day, 0..1439 */
} sf_clock;

/*
 * Set up from the --clock option: "real" (or NULL) or "simulated:YYYY-MM-DDTHH:MM".
 * Also selects the Europe/London zone for the process. 0, or -1 with err set.
 */
int clock_init(sf_clock *c, const char *spec, char *err, size_t errlen) SF_MUSTCHECK;
/* Today's Europe/London date. */
cal_day clock_today(const sf_clock *c);
/*
 * Milliseconds until Europe/London date day begins (0 if it has): with a
 * simulated clock, 0 or UINT64_MAX (it only moves by clock_set).
 */
uint64_t clock_ms_until_day(const sf_clock *c, cal_day day);
/* Now as "YYYY-MM-DDTHH:MM" (Europe/London) into out; returns out. */
char *clock_now_str(const sf_clock *c, char out[CLOCK_STR_LEN]);
/*
 * Move a simulated clock to "YYYY-MM-DDTHH:MM". Returns 0; -1 when the clock
 * is real; -2 when the time is malformed; -3 when it is earlier than now.
 */
int clock_set(sf_clock *c, const char *to) SF_MUSTCHECK;

#endif
