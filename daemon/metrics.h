/*
 * metrics: what GET /metrics shows, in the Prometheus text format (names
 * prefixed sendflow_). Counters kept in memory as things happen (requests
 * by op and error, their latency, the database pools' waits and query
 * latency) and figures read from the database when scraped (events
 * recorded, escalations by level and state, the outbox, delivery
 * attempts). Nothing in it names a child, a case or a person.
 */
#ifndef SF_METRICS_H
#define SF_METRICS_H

#include <jansson.h>
#include <stdint.h>

#include "util.h"

/* The buckets (upper bounds, seconds) of every latency histogram. */
#define METRICS_NBUCKETS 12

/* A latency histogram: cumulative buckets as Prometheus has them. */
typedef struct metrics_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t le[METRICS_NBUCKETS]; /* observations <= the bucket's bound */
} metrics_hist;

/* Count one observation of ns nanoseconds. */
void metrics_hist_add(metrics_hist *h, uint64_t ns);
/*
 * Append name's _bucket, _sum and _count lines for h to out, each with labels
 * ("op=\"due\"", or "" for none) before le.
 */
void metrics_hist_render(sb *out, const char *name, const char *labels, const metrics_hist *h);

typedef struct metrics metrics;

/* New, empty counters; free with metrics_free. */
metrics *metrics_new(void);
void metrics_free(metrics *m);
/* Count an answered request (server_observe's callback; arg is the metrics). */
void metrics_observe(const char *op, const char *code, uint64_t ns, void *arg);
/* Count an HTTP response by its status. */
void metrics_http(metrics *m, int status);

struct sf_daemon;
struct store_stmts;
/* The statements GET /metrics and /readyz run (static storage). */
extern const struct store_stmts metrics_statements;
/*
 * Append the whole exposition to out: the counters of d->metrics, the pools'
 * figures, connections, recompute progress, and db (borrowed: the figures
 * metrics_statements read, or NULL when the database did not answer:
 * sendflow_database_up 0).
 */
void metrics_render(struct sf_daemon *d, const json_t *db, sb *out);

#endif
