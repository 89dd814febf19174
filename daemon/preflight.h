/*
 * preflight: sendflowd --check-config. Once main has loaded the settings,
 * the workflows, the calendar, the service's settings, the escalation policy
 * and the channels (each refused with its "[file:line]" as at a real start),
 * this checks what a start would meet next without touching the database or
 * the socket: the --access file, the TLS certificate and key, the migrations
 * directory, the webhooks' secrets in the environment, the socket's group and
 * the conninfo's syntax. An operator runs it before a restart, so a typo
 * does not take the service down.
 */
#ifndef SF_PREFLIGHT_H
#define SF_PREFLIGHT_H

#include "daemon.h"

/*
 * Check the rest of d's configuration (d's definitions are loaded; d->cfg is
 * final). Prints one line: "sendflowd: configuration OK: ..." on stdout and
 * returns 0, or "sendflowd: ..." with the first problem on stderr and returns
 * 1 (the exit status).
 */
int preflight_run(sf_daemon *d);

#endif
