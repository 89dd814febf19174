/* log: timestamped lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level)
{
    min_level = level;
}

int log_level_parse(const char *s, log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

int log_enabled(log_level level)
{
    return level >= min_level;
}

void log_write(log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);

    /* Build the whole line first so concurrent daemons' lines do not interleave. */
    sb line = {0};
    sb_addf(&line, "%s.%03ldZ sendflowd[%ld] %s: ", ts, (long)(tv.tv_usec / 1000), (long)getpid(),
            level_names[level]);
    /* A URL or conninfo in a message never shows its password (or token), whoever logs it. */
    sb msg = {0};
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&msg, fmt, ap);
    va_end(ap);
    sb_add_redacted(&line, sb_str(&msg));
    sb_free(&msg);
    sb_add(&line, "\n");
    fputs(sb_str(&line), stderr);
    fflush(stderr);
    sb_free(&line);
}
