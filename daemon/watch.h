/*
 * watch: the live stream behind `sendflow watch`. A client sends {"op":
 * "watch"}; the request stays open and receives a line {"watching": true},
 * then one line {"notice": {...}} for every escalation that fires or resolves
 * on any daemon of the database (they arrive by NOTIFY sendflow_watch), and a
 * heartbeat every WATCH_HEARTBEAT_MS so that a client that went away is
 * noticed. The stream ends with {"end": true} when the daemon stops.
 */
#ifndef SF_WATCH_H
#define SF_WATCH_H

#include "daemon.h"
#include "server.h"

#define WATCH_HEARTBEAT_MS 15000

/* Set up (the heartbeat timer); call once before the loop runs. */
void watch_init(sf_daemon *d);
/* Add a streaming client for req (op "watch"). */
void watch_add(sf_daemon *d, srv_req *req);
/* Send a notice (JSON text, as NOTIFY carried it) to every watcher. */
void watch_broadcast(sf_daemon *d, const char *json_text);
/* End every stream and stop the timer (the daemon is stopping). */
void watch_stop(sf_daemon *d);

#endif
