/*
 * scheduler: fires escalations. Escalations are planned (one pending row per
 * deadline and level, with the day it fires) whenever a process is saved; the
 * scheduler's tick claims those due today (sf_fire_escalations: FOR UPDATE
 * SKIP LOCKED, marked fired and their notices queued in the outbox in the
 * same transaction, so any number of daemons fire each one once), queues the
 * day's digests, runs once a day the retention purge (--retention:
 * sf_purge_cases, schema/functions/40_retention.sql), asks once a day for
 * the board packs, and sets a libuv
 * timer for the start of the day the next pending escalation fires (one
 * indexed query). A tick also runs at start (catching up on what fell due
 * while the daemon was down), when the simulated clock moves, and when
 * another daemon NOTIFYs that it planned escalations. It runs on
 * d->work_store, so a catch-up of thousands never delays a client's request.
 * A tick fires in SCHEDULER_LANES lanes at once, each on a connection of its
 * own (SKIP LOCKED gives them disjoint levels), so a burst has both cores;
 * each lane's first batch is small, so the first notices commit early.
 */
#ifndef SF_SCHEDULER_H
#define SF_SCHEDULER_H

#include "daemon.h"
#include "store.h"

#define SCHEDULER_BATCH    5000 /* escalations claimed per statement (one transaction), at most */
#define SCHEDULER_FIRST    250  /* ... in a lane's first statement of a tick, doubling after */
#define SCHEDULER_LANES    2    /* statements firing at once (at most --work-pool) */
#define SCHEDULER_MAX_MS   3600000 /* tick at least hourly with the real clock */
#define SCHEDULER_YIELD_MS 5000    /* an import holds back firing for at most this long */
#define SCHEDULER_QUIET_MS 250     /* ... and until it has paused this long */

/* The statements a tick needs, to append to the store's table (static storage). */
const store_stmt *scheduler_statements(size_t *n);
/* Set up and run the first tick (d->esc, d->chan, d->store and d->work_store exist). */
void scheduler_start(sf_daemon *d);
/* The policy or the channels changed (a reload): route by d->esc and d->chan, and tick. */
void scheduler_reroute(sf_daemon *d);
/* Tick soon (coalesced with one running). */
void scheduler_kick(sf_daemon *d);
/*
 * Escalations were planned whose earliest level fires on day (YYYY-MM-DD, as
 * NOTIFY carries it): tick now if that is today or before, else bring the
 * timer forward if it was set for later.
 */
void scheduler_planned(sf_daemon *d, const char *day);
/*
 * An import chunk is being checked and written (import_end when it is over):
 * levels planned as due meanwhile are held back, for SCHEDULER_YIELD_MS at
 * most, so that on a small server going live the import has the CPUs; what
 * was held back fires once no chunk has been in progress for
 * SCHEDULER_QUIET_MS (the gap between one chunk and the next is not a pause).
 */
void scheduler_import_begin(sf_daemon *d);
/* An import chunk begun with scheduler_import_begin is over (written or not). */
void scheduler_import_end(sf_daemon *d);
/* Started and not stopped (/readyz). */
bool scheduler_running(const sf_daemon *d);
/* Stop the timer; a tick in flight finishes. */
void scheduler_stop(sf_daemon *d);
/* The routing JSON the escalation SQL takes (roles, people, digest roles): borrowed, as d. */
const char *scheduler_routing(const sf_daemon *d);

#endif
