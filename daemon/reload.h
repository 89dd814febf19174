/*
 * reload: the definitions read again while the daemon runs (SIGHUP,
 * `sendflow reload`; issue 11, item 5).
 *
 * The files are read and checked off the loop, on a libuv worker thread (the
 * loaders are pure; defcheck reads the database on a blocking connection of
 * its own), exactly as at start: the workflows, the calendar, service.yaml,
 * escalations.yaml, channels.yaml, the --access file, and whether running
 * processes still fit the workflows (defcheck). Any fault refuses the whole
 * reload with its "[file:line]": the running definitions stay. Otherwise,
 * back on the loop, the new definitions replace the old at once: every pool
 * connection stamps its writes with them (store_set_session), the scheduler
 * routes by the new policy and channels, the outbox worker sends by the new
 * channels, new connections are identified by the new access file, the case
 * attribute bounds follow, and a recompute brings the processes computed
 * under the old definitions in line (as at start). Command-line options are
 * not re-read: changing one needs a restart.
 *
 * The old definitions are kept until the daemon exits: requests in flight
 * and connected clients may hold pointers into them (a few kilobytes per
 * reload).
 */
#ifndef SF_RELOAD_H
#define SF_RELOAD_H

#include <jansson.h>

#include "daemon.h"

/*
 * The end of a reload: summary {"workflows": [{"name", "version",
 * "changed"}], "changed": [names], "calendar", "escalation_policy",
 * "channels", "access_users", "notes": [...]} (borrowed), or NULL and why
 * ("invalid workflow definitions: [file:line] ...").
 */
typedef void (*reload_done_cb)(const json_t *summary, const char *why, void *arg);

/*
 * Read the definitions again; done (may be NULL: logged only) once they are
 * in use or refused. Asked for while one runs, it runs again after it (the
 * files may have changed since that one read them).
 */
void reload_run(sf_daemon *d, const char *by, reload_done_cb done, void *arg);
/* d->defs_json from d's definitions, set as every connection's sendflow.defs (start, reload). */
void reload_stamp_sessions(sf_daemon *d);
/* Free the definitions retired by reloads, once the loop has ended. */
void reload_free(sf_daemon *d);

#endif
