/*
 * recompute: bring open processes in line with the definitions the daemon
 * loaded (workflows, calendar, service settings). Each process records the
 * definitions it was computed under (processes.defs); a run reads the active
 * processes whose record differs (or every active process with all), in
 * batches of RECOMPUTE_BATCH in id order (keyset: nothing re-scanned),
 * replays each through the engine, compares each deadline with the stored
 * row's signature and writes the batch in one set-based statement carrying
 * only the rows that changed; the deadlines that moved are worked out in C
 * from what was read. Reading the next batch overlaps writing the last ones
 * (RECOMPUTE_WRITES at once, so the database's writes use more than one core).
 * Batches are separate store jobs, so requests queued meanwhile are served
 * between them and the loop never waits. A process whose case changed while
 * its batch was computed is skipped: the change computed it afresh.
 */
#ifndef SF_RECOMPUTE_H
#define SF_RECOMPUTE_H

#include <jansson.h>
#include <stdbool.h>

#include "daemon.h"
#include "store.h"

#define RECOMPUTE_BATCH      500
#define RECOMPUTE_WRITES     2    /* batches written at once */
#define RECOMPUTE_MAX_MOVED  1000 /* moved deadlines listed in a summary; the rest are counted */
#define RECOMPUTE_MAX_PASSES 5    /* a run goes round again while it skips processes, this often */

/*
 * Called once when the run ends: summary is {"processes", "changed" (saved),
 * "unchanged" (saved with nothing to rewrite but the stamp), "skipped",
 * "failed", "batches", "ms", "moved": [...], "moved_truncated"}
 * (borrowed), or NULL with a reason when the database failed mid-run (the
 * batches written so far stay written).
 */
typedef void (*recompute_done_cb)(const json_t *summary, const char *why, void *arg);

/* The statements a run needs, to append to the store's table (static storage). */
const store_stmt *recompute_statements(size_t *n);
/*
 * Recompute (all: every active process; else the stale ones). If a run is
 * going already, done joins it. done may be NULL (a run at start, logged).
 */
void recompute_run(sf_daemon *d, bool all, recompute_done_cb done, void *arg);
/*
 * The same reads and computation, writing nothing: done gets the summary a
 * run would give ("changed": would be saved; "moved": would move; "dry_run":
 * true). A dry run is on its own, never joined to a real one. Returns the
 * run, for recompute_counts, valid until done is called.
 */
const struct recompute *recompute_dry_run(sf_daemon *d, bool all, recompute_done_cb done,
                                          void *arg);
/* A run's processes read and batches done so far (a dry run's progress). */
void recompute_counts(const struct recompute *rc, size_t *processes, size_t *batches);

/*
 * The run going now (not a dry run): true with the processes read and the
 * batches written so far; false when none runs (/metrics).
 */
bool recompute_progress(const sf_daemon *d, size_t *processes, size_t *batches);

#endif
