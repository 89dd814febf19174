/*
 * reports: the board reports. The SEND operational board sees a month, the
 * strategic partnership board a quarter: statutory timeliness (decisions
 * whether to assess in 6 weeks, plans in 20 weeks including and excluding
 * exceptions as SEN2 counts them, advice in 6 weeks by adviser, annual
 * reviews in 12 months and their decisions in 4 weeks), the current phase
 * transfer round, overdue deadlines by age and by name, the reasons recorded
 * for exceptions and the notes of the deadlines missed, and a 12-month trend.
 *
 * Every figure is counted by one SQL statement on the store's non-blocking
 * connections (one read per report), judged as on the period's last day or
 * the daemon's today if that is earlier, from events that were not voided;
 * this module assembles the data tree and core/report.c renders it. Board
 * packs (the text and HTML reports for every member of a board, through each
 * channel they have) are queued in the outbox, once per person and channel
 * whatever the number of calls: idempotency key
 * board:<board>:<period>:<person>:<channel>.
 */
#ifndef SF_REPORTS_H
#define SF_REPORTS_H

#include "daemon.h"
#include "server.h"
#include "store.h"

/* Missed deadlines listed in a report (with their notes); the rest are counted. */
#define REPORTS_MAX_MISSED 500

/* The statements the reports need, to append to the store's table (static storage). */
const store_stmt *reports_statements(size_t *n);
/*
 * The "report" operation: {"board": "operations"|"strategic", "period":
 * "YYYY-MM" (operations) | "YYYY-Qn" (strategic), "format":
 * "text"|"json"|"csv"|"html" (default text), "queue": bool (queue the board
 * pack for that period now)}. Replies exactly once to req (which it owns).
 */
void reports_handle(sf_daemon *d, srv_req *req);
/*
 * The daily tick: when the daemon's today is the first working day of a
 * month, queue the operations pack for the month just ended, and on the
 * first working day of January, April, July and October the strategic pack
 * for the quarter just ended. Safe to call any number of times a day and on
 * several daemons: each notice is queued once. Returns at once; the work runs
 * as store jobs and is logged.
 */
void reports_board_packs(sf_daemon *d);

#endif
