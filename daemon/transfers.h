/*
 * transfers: open phase-transfer processes by themselves. A child with a date
 * of birth and a plan (an active annual review) has phase transfers coming
 * (reg. 2, in the school years workflows/service.yaml gives); each opens as
 * a phase-transfer process the service's "opens" period before its date, with
 * transfer= set and the transfer date worked out from the date of birth, so
 * nobody types a date. A sweep runs at start, after the simulated clock moves,
 * every hour, and for one case after each start or event of that case. Each
 * process is started once: its idempotency key is "transfer:NAME", unique per
 * case, so two daemons sweeping together open it once.
 */
#ifndef SF_TRANSFERS_H
#define SF_TRANSFERS_H

#include "daemon.h"
#include "store.h"

/* The statements a sweep needs, to append to the store's table (static storage). */
const store_stmt *transfers_statements(size_t *n);
/* Sweep every case (case_id NULL) or one case (its id, as text). */
void transfers_sweep(sf_daemon *d, const char *case_id);

#endif
