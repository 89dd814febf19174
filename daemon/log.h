/*
 * log: one line per significant action, to stderr, with a UTC timestamp and
 * level. The level is checked before anything is formatted, so debug lines
 * cost nothing when they are off. Callers put the connection / request id in
 * the message so that one request can be followed through the log.
 * Credentials in a line (a URL's password, a conninfo's password=...) are
 * written as *** (sb_add_redacted), so settings can be logged as they are.
 */
#ifndef SF_LOG_H
#define SF_LOG_H

#include <stdbool.h>

#include "util.h"

typedef enum log_level {
    LOG_DEBUG,
    LOG_INFO,
    LOG_WARN,
    LOG_ERROR,
} log_level;

/*
 * How a line looks. Plain: "2026-01-05T09:00:00.000Z sendflowd[PID] info: ...".
 * Journal: "<6>info: ..." (the sd-daemon.h priority prefix journald reads
 * from a service's stderr; journald stamps the time, the pid and the name).
 */
typedef enum log_format {
    LOG_FORMAT_PLAIN,
    LOG_FORMAT_JOURNAL,
} log_format;

/* Set the lowest level written (default LOG_INFO). */
void log_set_level(log_level level);
/* Parse "debug", "info", "warn" or "error": 0, or -1 when unknown. */
int log_level_parse(const char *s, log_level *out);
/*
 * Parse "plain", "journal" or "auto" (journal when log_stderr_is_journal(), else plain): 0, or -1
 * when unknown.
 */
int log_format_parse(const char *s, log_format *out);
/* Set the format of the lines written from now on (default LOG_FORMAT_PLAIN). */
void log_set_format(log_format format);
/*
 * True when stderr is journald's stream: $JOURNAL_STREAM ("DEV:INODE", set by
 * systemd for a service whose output goes to the journal) names the device and
 * inode of file descriptor 2 (systemd.exec(5)).
 */
bool log_stderr_is_journal(void);
/* True when lines of this level are written. */
int log_enabled(log_level level);
/* Write one line at level (a trailing newline is added). */
void log_write(log_level level, const char *fmt, ...) SF_PRINTF(2, 3);

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_write(LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
#define log_info(...)  log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
