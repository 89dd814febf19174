/* sdnotify: READY, STOPPING, STATUS and WATCHDOG for systemd (see sdnotify.h). */
#include "sdnotify.h"

#include <stdarg.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

/*
 * One message; a failure is logged, never fatal: a daemon that serves must
 * not stop because its manager's socket went away.
 */
static void sdnotify__send(const char *msg)
{
    int rc = sd_notify(0, msg);
    if (rc < 0)
        log_warn("sd_notify: %s", strerror(-rc));
}

void sdnotify_status(const char *fmt, ...)
{
    sb msg = {0};
    sb_add(&msg, "STATUS=");
    va_list ap;
    va_start(ap, fmt);
    sb_vaddf(&msg, fmt, ap);
    va_end(ap);
    sdnotify__send(sb_str(&msg));
    sb_free(&msg);
}

static void sdnotify__on_watchdog(uv_timer_t *t)
{
    (void)t;
    sdnotify__send("WATCHDOG=1");
}

void sdnotify_ready(sdnotify *n, uv_loop_t *loop, const char *status)
{
    sb msg = {0};
    sb_addf(&msg, "READY=1\nSTATUS=%s", status);
    sdnotify__send(sb_str(&msg));
    sb_free(&msg);
    uint64_t usec = 0;
    /* > 0 only when $WATCHDOG_USEC is set and $WATCHDOG_PID (if set) is our pid. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return;
    /* Half the manager's limit, as sd_watchdog_enabled(3) advises; at least 1 ms. */
    n->interval_ms = usec / 2000 ? usec / 2000 : 1;
    uv_timer_init(loop, &n->watchdog);
    n->watchdog.data = n;
    n->started = true;
    uv_timer_start(&n->watchdog, sdnotify__on_watchdog, 0, n->interval_ms);
    uv_unref((uv_handle_t *)&n->watchdog);
    log_info("watchdog: WATCHDOG=1 every %llu ms", (unsigned long long)n->interval_ms);
}

void sdnotify_stopping(sdnotify *n, const char *status)
{
    (void)n;
    sb msg = {0};
    sb_addf(&msg, "STOPPING=1\nSTATUS=%s", status);
    sdnotify__send(sb_str(&msg));
    sb_free(&msg);
}

static void sdnotify__on_closed(uv_handle_t *h)
{
    (void)h;
}

void sdnotify_close(sdnotify *n)
{
    if (!n->started)
        return;
    n->started = false;
    uv_timer_stop(&n->watchdog);
    uv_close((uv_handle_t *)&n->watchdog, sdnotify__on_closed);
}
