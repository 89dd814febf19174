/*
 * writer: group commit. Requests that want to write submit an item (one JSON
 * object, e.g. an event and its recomputed process) instead of running their
 * own transaction; whatever is queued when a store connection frees up goes
 * to the database together, as one statement taking the array of items (one
 * transaction, one round trip, one commit), and every item hears its own
 * answer only after that commit. While a batch is in flight the next one
 * fills up, so the busier the daemon, the bigger the batches.
 *
 * One bad item never fails its neighbours: the write function answers each
 * item separately (JSON null when its case changed since it was read), and a
 * batch whose statement fails as a whole (a unique violation from a
 * concurrent daemon, say) is broken up: each of its items is written again
 * alone, and only the one at fault hears the error.
 */
#ifndef SF_WRITER_H
#define SF_WRITER_H

#include <jansson.h>

#include "store.h"

typedef struct writer writer;

/*
 * The answer to one item. On success res is the batch's result (borrowed,
 * store_ok) and answer the item's element of the array the statement returned
 * (borrowed; JSON null when the case changed meanwhile). On failure answer is
 * NULL and res is the failed result of the item written alone (borrowed), or
 * NULL when the connection was lost or none could be had (then the item may
 * or may not have committed only in the lost-connection case: see
 * writer_submit).
 */
typedef void (*writer_cb)(PGresult *res, json_t *answer, void *arg);

/*
 * A writer that runs stmt, a statement s prepares (one parameter: the JSON
 * array of items; it returns one row, one column: the JSON array of answers), with batches of at
 * most max_batch items and at most max_inflight batches at once. Free with writer_free once nothing
 * is queued.
 */
writer *writer_new(store *s, const store_stmt *stmt, size_t max_batch, int max_inflight);
/*
 * Queue item (stolen) and call cb(arg) exactly once, from the loop, after the
 * batch holding it has committed or failed. An item whose connection was lost
 * mid-statement may have committed: as with any lost connection, the client
 * retries with its idempotency key.
 */
void writer_submit(writer *w, json_t *item, writer_cb cb, void *arg);
/* Free a writer with nothing queued or in flight. */
void writer_free(writer *w);

#endif
