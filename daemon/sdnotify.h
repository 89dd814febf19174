/*
 * sdnotify: telling the service manager how the daemon is (sd_notify(3),
 * systemd's Type=notify). READY=1 once the daemon serves (migrations
 * applied, definitions checked, the socket listening), STOPPING=1 when a
 * clean stop begins, STATUS= lines for `systemctl status`, and WATCHDOG=1
 * from a libuv timer at half of $WATCHDOG_USEC while the loop turns (so a
 * stuck loop gets the daemon restarted). Outside systemd ($NOTIFY_SOCKET
 * unset) every call does nothing.
 */
#ifndef SF_SDNOTIFY_H
#define SF_SDNOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "util.h"

/* The notifier's state, embedded in its owner (main's sf_main). */
typedef struct sdnotify {
    uv_timer_t watchdog;  /* WATCHDOG=1 every interval_ms, when the manager asked */
    uint64_t interval_ms; /* half of $WATCHDOG_USEC; 0: no watchdog */
    bool started;         /* watchdog is initialised (close it with sdnotify_close) */
} sdnotify;

/* Send STATUS=<text> (start-up progress, e.g. while migrations run). */
void sdnotify_status(const char *fmt, ...) SF_PRINTF(1, 2);
/*
 * The daemon serves: send READY=1 and STATUS=status, and start the watchdog
 * timer on loop when $WATCHDOG_USEC (for our $WATCHDOG_PID) asks for one. The
 * timer does not keep the loop alive; close it with sdnotify_close.
 */
void sdnotify_ready(sdnotify *n, uv_loop_t *loop, const char *status);
/* A clean stop begins: STOPPING=1 and STATUS=status (the watchdog goes on until closed). */
void sdnotify_stopping(sdnotify *n, const char *status);
/* Stop and close the watchdog timer (the loop may then end); safe to call more than once. */
void sdnotify_close(sdnotify *n);

#endif
