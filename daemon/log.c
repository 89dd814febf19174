/* log: timestamped lines on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

static log_level min_level = LOG_INFO;
static log_format line_format = LOG_FORMAT_PLAIN;
static const char *const level_names[] = {"debug", "info", "warn", "error"};
/* Each level's syslog priority, as journald reads it (sd-daemon.h). */
static const char *const level_prefixes[] = {SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR};

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

int log_format_parse(const char *s, log_format *out)
{
    if (!strcmp(s, "plain"))
        *out = LOG_FORMAT_PLAIN;
    else if (!strcmp(s, "journal"))
        *out = LOG_FORMAT_JOURNAL;
    else if (!strcmp(s, "auto"))
        *out = log_stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_PLAIN;
    else
        return -1;
    return 0;
}

void log_set_format(log_format format)
{
    line_format = format;
}

bool log_stderr_is_journal(void)
{
    const char *v = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char extra;
    if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &extra) != 2)
        return false;
    struct stat st;
    if (fstat(2, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int log_enabled(log_level level)
{
    return level >= min_level;
}

/* The plain line's start: UTC time to the millisecond, our name and pid, the level. */
static void log__stamp(sb *line, log_level level)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    sb_addf(line, "%s.%03ldZ sendflowd[%ld] %s: ", ts, (long)(tv.tv_usec / 1000), (long)getpid(),
            level_names[level]);
}

void log_write(log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    /* Build the whole line first so concurrent daemons' lines do not interleave. */
    sb line = {0};
    if (line_format == LOG_FORMAT_JOURNAL)
        sb_addf(&line, "%s%s: ", level_prefixes[level], level_names[level]);
    else
        log__stamp(&line, level);
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
