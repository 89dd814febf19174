/*
 * listener: one PostgreSQL connection kept for LISTEN, on the loop. Other
 * daemons (and this one) NOTIFY when escalations are planned anew
 * (sendflow_escalations), when a notice is queued (sendflow_outbox) and when
 * an escalation fires or resolves (sendflow_watch, with the notice as JSON).
 * The connection is non-blocking (PQconnectStart/PQconnectPoll, then
 * PQconsumeInput/PQnotifies under a uv_poll_t) and re-established with a
 * pause when it breaks; after each (re)connection the callback is told, with
 * channel NULL, because notifications sent meanwhile were lost.
 */
#ifndef SF_LISTENER_H
#define SF_LISTENER_H

#include <uv.h>

typedef struct listener listener;

/* A notification (channel, payload), or channel NULL after a (re)connection. Borrowed strings. */
typedef void (*listener_cb)(const char *channel, const char *payload, void *arg);

/* Listen on the NULL-terminated channels (names: [a-z_]+). Free with listener_stop. */
listener *listener_start(uv_loop_t *loop, const char *conninfo, const char *const *channels,
                         listener_cb cb, void *arg);
/* Close the connection; the handles close on the loop and the listener frees itself. */
void listener_stop(listener *l);

#endif
