/*
 * delivery: the outbox worker. Every notice the daemon sends (escalations,
 * "resolved" notices, digests, board packs) is first a row of the outbox
 * table (schema/004), written in the transaction that decided to send it;
 * this module delivers the rows, through the channels of channels.yaml.
 *
 * One statement claims ready rows (pending and due, or 'sending' with an
 * expired lease) with FOR UPDATE SKIP LOCKED, marks them 'sending' with a
 * lease and counts the attempt; that transaction ends there. The transfers
 * then run with no transaction open, on the loop: webhooks and e-mail
 * through libcurl's multi interface (its sockets watched with uv_poll, its
 * timer a uv_timer), commands with uv_spawn. Outcomes are recorded in
 * batches (one statement writes all those known when it starts): 'sent'; or
 * back to 'pending' with the next attempt after base * 2^(attempts-1)
 * (capped at an hour) and the error; or, after --delivery-max-attempts,
 * 'failed': parked, and listed by the outbox op. Claims and records run on
 * the daemon's work store (--work-pool connections), never queued behind
 * the clients' requests, nor they behind a burst of notices.
 * Several daemons on one database never deliver a row at the same time
 * (SKIP LOCKED, then the lease); a daemon that dies mid-transfer leaves its
 * rows to be claimed again when their lease expires. A notice is therefore
 * delivered at least once: receivers dedupe on its idempotency key.
 *
 * The contract with receivers:
 *   webhook: POST of the row's payload exactly as stored, without
 *     insignificant whitespace, with Content-Type: application/json,
 *     Idempotency-Key: <idem_key>, X-Sendflow-Delivery: <outbox id>,
 *     X-Sendflow-Kind: <kind> and X-Sendflow-Signature: sha256=<lower-case
 *     hex HMAC-SHA256 of the body, keyed with the webhook's secret>; 2xx is
 *     delivered, anything else (or no answer in 30 s) is retried.
 *   email: a text/plain UTF-8 message From the configured sender To the
 *     row's target, Subject the row's subject, the row's body, with Date,
 *     Message-ID (<sendflow.HASH@DOMAIN>, the same on every retry of a
 *     notice), X-Sendflow-Idempotency-Key and Auto-Submitted: auto-generated.
 *   command: the program runs with the payload on standard input; exit 0 is
 *     delivered; killed after its timeout_s.
 */
#ifndef SF_DELIVERY_H
#define SF_DELIVERY_H

#include <stddef.h>

#include "daemon.h"
#include "server.h"
#include "store.h"

/* Rows claimed and in flight at most, per daemon. */
#define DELIVERY_MAX_INFLIGHT 32
/*
 * How long a stopping worker lets the transfers in flight finish (ms), so a
 * notice that reached its receiver is recorded as sent rather than handed
 * back and delivered again; those still running then are abandoned.
 */
#define DELIVERY_STOP_GRACE_MS 5000
/* The longest back-off between attempts (unless --delivery-retry-ms is longer). */
#define DELIVERY_MAX_BACKOFF_MS (60 * 60 * 1000)

/* The statements the worker and the outbox op run, to append to the store's table (static). */
const store_stmt *delivery_statements(size_t *n);
/*
 * Start the worker: d->store and d->work_store exist and d->chan is loaded (borrowed until
 * the worker is gone). Checks that every webhook's secret is in the
 * environment, initialises libcurl, and looks for ready rows at once and
 * then every --delivery-retry-ms. 0, or -1 with a reason in err (nothing
 * started).
 */
int delivery_start(sf_daemon *d, char *err, size_t errlen) SF_MUSTCHECK;
/*
 * Send by chan from now on (a reload; NULL: nobody to tell): 0, or -1 with
 * err when one of its webhooks' secrets is not in the environment (nothing
 * changed). chan is borrowed and must outlive the worker or the next call.
 */
int delivery_use_channels(sf_daemon *d, const struct chan_config *chan, char *err,
                          size_t errlen) SF_MUSTCHECK;
/*
 * Every webhook's signing secret in c (NULL: none) from the environment: 0 and *out (a copy
 * of each, in c->webhooks' order, NULL when there are none; the caller frees each and the
 * array), or -1 naming the first that is missing in err ([file:line] first).
 */
int delivery_secrets(const struct chan_config *c, char ***out, char *err,
                     size_t errlen) SF_MUSTCHECK;
/* New outbox rows may be ready: look now (a no-op before start and after stop). */
void delivery_kick(sf_daemon *d);
/*
 * Stop taking new work (no claim starts after this). Transfers in flight get
 * DELIVERY_STOP_GRACE_MS to finish and have their outcome recorded; those
 * still running then are abandoned: their rows go back to pending when the
 * database can still be reached, else their lease expires and they are
 * retried. d->delivery becomes NULL at once; the
 * worker frees itself once its handles are closed and its last outcomes
 * are written (or refused), then calls done(arg) (at once when there is no
 * worker). Close d->work_store only after done.
 */
void delivery_stop(sf_daemon *d, void (*done)(void *arg), void *arg);
/*
 * The outbox op: {"op": "outbox", "failed": bool, "limit": N (1..1000,
 * default 1000)} replies {"items": [...], "truncated": bool}, newest first.
 * Replies exactly once to req; needs only d->store.
 */
void delivery_handle_outbox(sf_daemon *d, srv_req *req);

#endif
