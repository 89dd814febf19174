/*
 * delivery: the outbox worker (see delivery.h).
 *
 * Three kinds of work share the loop here:
 *
 *   claims   a store job: one UPDATE ... FOR UPDATE SKIP LOCKED RETURNING
 *            that claims up to DELIVERY_MAX_INFLIGHT rows, then one cheap
 *            read of when the next row falls due, which arms the poll timer
 *            (never later than --delivery-retry-ms). One claim at a time;
 *            a kick during a claim makes it look again when it ends.
 *   items    one per claimed row, from the claim until its outcome is
 *            known: a libcurl easy handle on the shared multi handle, or a
 *            child process with its stdin and stderr pipes and a kill timer.
 *   records  the outcomes (sent, failed attempt: pending with back-off or
 *            parked as failed, or released: abandoned at stop), written in
 *            batches: one store job and one statement at a time writes every
 *            outcome known when it starts, and those that complete while it
 *            runs wait for the next. The worker is freed only once the last
 *            batch is written (or refused: the database is gone).
 *
 * libcurl drives its sockets through us (the multi_socket API): its socket
 * callback starts and stops a uv_poll_t per socket, its timer callback arms
 * a uv_timer_t, and both hand readiness back with curl_multi_socket_action,
 * after which finished transfers are collected with curl_multi_info_read.
 * libcurl never waits on the network itself here, and its resolver runs in
 * its own thread, so the loop never blocks.
 *
 * The worker's claims and records run on d->work_store, connections of their
 * own, so a burst of notices never queues in front of the clients' requests
 * (the outbox op, a client's request, runs on d->store).
 *
 * The worker is freed only when its last handle has closed, no claim is in
 * flight and every outcome is written (handle->data points back to it until
 * then); delivery_stop's callback runs then.
 */
#include "delivery.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan.h"
#include "hmac.h"
#include "job.h"
#include "log.h"
#include "op_sql.h"
#include "proto.h"
#include "sf_config.h"

/* A webhook must answer within this long (ms), and connect within the second. */
#define DL_HTTP_TIMEOUT_MS    30000
#define DL_CONNECT_TIMEOUT_MS 10000
/* An SMTP conversation must end within this long (ms). */
#define DL_SMTP_TIMEOUT_MS 60000
/* Kept of a failure's answer (response body, command's stderr) for last_error. */
#define DL_SNIPPET 300
/* Longest last_error stored. */
#define DL_ERROR_MAX 500
/* The poll timer never fires sooner than this after a claim (ms): a row another daemon is
 * claiming at this instant is not worth a busy loop. */
#define DL_MIN_POLL_MS 20

enum {
    DL_CLAIM,
    DL_NEXT,
    DL_RECORD,
    DL_LIST,
    DL_LIST_FAILED,
};

/*
 * The columns of the outbox op's rows; cond narrows them. "outbox.id", not
 * "id": ORDER BY id would sort by the text column of that name.
 */
#define DL_LIST_SQL(cond)                                                                          \
    "SELECT id::text, kind, channel, target, subject, status, attempts, last_error,"               \
    " to_char(created_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"                                    \
    " to_char(sent_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "),"                                       \
    " to_char(next_attempt_at AT TIME ZONE 'UTC', " SQL_ISO_UTC "), idem_key"                      \
    " FROM outbox WHERE outbox.id < $1::bigint" cond " ORDER BY outbox.id DESC LIMIT $2::integer"

static const store_stmt statements[] = {
    /*
     * $1 lease seconds, $2 how many. First any row whose claimant vanished
     * (its lease ran out), found by outbox_leases among the few being sent;
     * then, to make up $2, the oldest due pending rows in the order of the
     * partial index outbox_claim (next_attempt_at, id) (015), so a claim
     * reads about as many entries as it takes however large the backlog
     * (ORDER BY id sorted all the due rows each time). The two are separate
     * scans because one condition over both states cannot follow either
     * index. A claimed row's next_attempt_at is set to its lease's end, so
     * the next statement sees when a vanished claim falls due.
     */
    {"sf_delivery_claim",
     "WITH lapsed AS (SELECT id FROM outbox WHERE status = 'sending' AND lease_until < now()"
     "  ORDER BY lease_until LIMIT $2::integer FOR UPDATE SKIP LOCKED),"
     " due AS (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= now()"
     "  ORDER BY next_attempt_at, id LIMIT $2::integer - (SELECT count(*) FROM lapsed)"
     "  FOR UPDATE SKIP LOCKED)"
     " UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,"
     " lease_until = now() + make_interval(secs => $1::integer),"
     " next_attempt_at = now() + make_interval(secs => $1::integer)"
     " WHERE o.id IN (SELECT id FROM lapsed UNION ALL SELECT id FROM due)"
     " RETURNING o.id::text, o.kind, o.channel, o.target, o.subject, o.body, o.payload::text,"
     " o.idem_key, o.attempts::text"},
    /* Milliseconds until the next row falls due (negative: already due), or NULL. */
    {"sf_delivery_next",
     "SELECT floor(extract(epoch FROM min(next_attempt_at) - now()) * 1000)::bigint::text"
     " FROM outbox WHERE status IN ('pending', 'sending')"},
    /*
     * Outcomes, a batch at once: $1 ids, $2 what happened ('sent', 'failed',
     * 'release'), $3 errors, $4 the attempts made; $5 max attempts, $6 base
     * ms, $7 cap ms. Sent is a fact, whoever holds the row now. A failed
     * attempt or a release counts only while the row is still ours (same
     * attempt, still sending): else its lease ran out and another claim owns
     * it now. One row per outcome that applied: id, what, the row's status,
     * ms until its next attempt.
     */
    {"sf_delivery_record",
     "WITH o AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::integer[])"
     "  AS o (id, what, error, attempt)),"
     " sent AS (UPDATE outbox x SET status = 'sent', sent_at = now(), lease_until = NULL"
     "  FROM o WHERE o.what = 'sent' AND x.id = o.id AND x.status <> 'sent'"
     "  RETURNING x.id, o.what, x.status, NULL::text AS next_ms),"
     " failed AS (UPDATE outbox x SET"
     "  status = CASE WHEN x.attempts >= $5::integer THEN 'failed' ELSE 'pending' END,"
     "  next_attempt_at = CASE WHEN x.attempts >= $5::integer THEN now() ELSE now() +"
     "   make_interval(secs => least($6::float8 * power(2::float8, least(x.attempts - 1, 40)),"
     "    greatest($7::float8, $6::float8)) / 1000) END,"
     "  lease_until = NULL, last_error = o.error"
     "  FROM o WHERE o.what = 'failed' AND x.id = o.id AND x.status = 'sending'"
     "   AND x.attempts = o.attempt"
     "  RETURNING x.id, o.what, x.status,"
     "   floor(extract(epoch FROM x.next_attempt_at - now()) * 1000)::bigint::text AS next_ms),"
     " released AS (UPDATE outbox x SET status = 'pending', next_attempt_at = now(),"
     "  lease_until = NULL, last_error = o.error"
     "  FROM o WHERE o.what = 'release' AND x.id = o.id AND x.status = 'sending'"
     "   AND x.attempts = o.attempt"
     "  RETURNING x.id, o.what, x.status, NULL::text AS next_ms)"
     " SELECT id::text, what, status, next_ms FROM sent"
     " UNION ALL SELECT id::text, what, status, next_ms FROM failed"
     " UNION ALL SELECT id::text, what, status, next_ms FROM released"},
    /*
     * One page of the outbox, newest first: ids below $1 (the cursor's; the
     * first page passes the largest bigint), at most $2. The primary key
     * serves every notice; the partial index outbox_failed (006) the failed.
     */
    {"sf_delivery_list", DL_LIST_SQL("")},
    {"sf_delivery_list_failed", DL_LIST_SQL(" AND status = 'failed'")},
};

const store_stmt *delivery_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

/* ---- types -------------------------------------------------------------- */

typedef enum dl_channel {
    DL_WEBHOOK,
    DL_EMAIL,
    DL_COMMAND,
} dl_channel;

/* One claimed row, from its claim until its outcome is known (and its handles closed). */
typedef enum item_state {
    ITEM_RUNNING, /* the transfer or the command runs */
    ITEM_CLOSING, /* outcome recorded (or abandoned); a command's handles are closing */
} item_state;

typedef struct item item;
typedef struct delivery delivery;

/* A socket libcurl asked us to watch. */
typedef struct dl_sock {
    uv_poll_t poll; /* poll.data = the dl_sock */
    curl_socket_t fd;
    delivery *dl;
    struct dl_sock *prev, *next; /* dl->socks */
} dl_sock;

struct item {
    delivery *dl;
    item *prev, *next; /* dl->items */
    item_state state;
    dl_channel channel;
    uint64_t t0; /* uv_now at the start */
    /* The row (owned copies). */
    char *id, *kind, *channel_name, *target, *subject, *body, *payload, *idem_key;
    int attempts; /* this attempt's number (1 = first) */
    /* webhook and email */
    CURL *easy;
    struct curl_slist *headers, *rcpt;
    char curl_err[CURL_ERROR_SIZE];
    sb message;         /* the e-mail as uploaded */
    size_t message_off; /* how much of it libcurl has read */
    sb answer;          /* the first DL_SNIPPET bytes of a webhook's answer or a command's stderr */
    /* command */
    uv_process_t proc;
    uv_pipe_t in, err;
    uv_timer_t kill_timer;
    uv_write_t write_req;
    char **env;       /* owned, NULL-terminated */
    int open_handles; /* of proc, in, err, kill_timer */
    bool timed_out;   /* killed by the timer */
    int timeout_s;    /* the command's */
};

struct delivery {
    sf_daemon *d;
    CURLM *multi;
    uv_timer_t curl_timer; /* libcurl's timeout */
    uv_timer_t poll_timer; /* look for due rows */
    int open_handles;      /* timers, sockets and items' handles not yet closed */
    bool claiming;         /* a claim job is queued or running */
    bool kicked;           /* asked to look again during a claim */
    bool more;             /* the last claim was cut short: more rows may be ready */
    size_t asked;          /* rows the claim in flight asked for */
    bool stopping;         /* delivery_stop was called: no more claims */
    bool shut;             /* the transfers still running were abandoned, the handles closing */
    item *items;           /* in flight */
    size_t ninflight;
    dl_sock *socks;
    char **secrets; /* one per d->chan->webhooks, owned copies of the environment's */
    size_t nsecrets;
    const chan_config *chan;      /* borrowed from d */
    struct record *rec_head;      /* outcomes waiting for the next batch (owned) */
    struct record *rec_tail;      /* its last */
    struct record *rec_writing;   /* the batch being written (owned) */
    bool recording;               /* a batch's job is queued or running */
    void (*stop_done)(void *arg); /* delivery_stop's callback, run once freed */
    void *stop_arg;
};

/* What an outcome writes. */
typedef enum record_kind {
    REC_SENT,
    REC_FAILED,
    REC_RELEASE,
} record_kind;

typedef struct record {
    struct record *next; /* in dl->rec_head or dl->rec_writing */
    record_kind kind;
    char *id;    /* owned */
    char *error; /* owned; NULL for REC_SENT */
    int attempts;
    char desc[160]; /* "outbox 12 (escalation, webhook ops-board)" for logs */
    uint64_t ms;    /* how long the attempt took */
} record;

static void dl_look(delivery *dl);
static void dl_maybe_free(delivery *dl);
static void item_close(item *it);
static void on_stop_grace(uv_timer_t *t);

/* ---- small helpers ------------------------------------------------------ */

/* Whether s is printable ASCII only (safe in a header line). */
static bool dl_header_safe(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/*
 * The JSON text without insignificant whitespace. PostgreSQL prints jsonb
 * with a space after each ':' and ','; removing whitespace outside strings
 * gives the compact form without re-encoding anything (numbers and escapes
 * stay exactly as stored), so the signature covers what the database holds.
 */
static char *dl_compact_json(const char *s)
{
    size_t n = strlen(s);
    char *out = xmalloc(n + 1), *o = out;
    bool in_string = false;
    for (; *s; s++) {
        char ch = *s;
        if (in_string) {
            *o++ = ch;
            if (ch == '\\' && s[1])
                *o++ = *++s;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
            *o++ = ch;
        } else if (ch != ' ' && ch != '\n' && ch != '\t' && ch != '\r') {
            *o++ = ch;
        }
    }
    *o = '\0';
    return out;
}

/* Keep the first DL_SNIPPET bytes of what a peer said, for last_error. */
static void dl_keep(sb *answer, const char *p, size_t n)
{
    if (answer->len >= DL_SNIPPET)
        return;
    if (n > DL_SNIPPET - answer->len)
        n = DL_SNIPPET - answer->len;
    sb_addn(answer, p, n);
}

/* s on one line (control characters as spaces), cut after about max bytes between UTF-8
 * characters. */
static void dl_oneline(sb *out, const char *s, size_t max)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n >= max && (*p & 0xc0) != 0x80) {
            sb_add(out, "...");
            return;
        }
        char ch = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
        sb_addn(out, &ch, 1);
    }
}

/* ---- records: the outcomes of attempts, a batch per statement ------------- */

static void record_free(record *r)
{
    free(r->id);
    free(r->error);
    free(r);
}

static const char *record_what(record_kind kind)
{
    switch (kind) {
    case REC_SENT:
        return "sent";
    case REC_FAILED:
        return "failed";
    case REC_RELEASE:
        return "release";
    }
    return "?";
}

/* Log what became of an outcome: row is its row of the result, or -1 when it did not apply. */
static void record_log(const record *r, const PGresult *res, int row)
{
    switch (r->kind) {
    case REC_SENT:
        log_info("%s: delivered in %" PRIu64 " ms (attempt %d)%s", r->desc, r->ms, r->attempts,
                 row >= 0 ? "" : " (it was already recorded as sent)");
        break;
    case REC_FAILED:
        if (row < 0)
            log_warn("%s: attempt %d failed after its lease ended (another claim owns it now): %s",
                     r->desc, r->attempts, r->error);
        else if (!strcmp(PQgetvalue(res, row, 2), "failed"))
            log_error("%s: attempt %d failed: %s; parked as failed after %d attempts (sendflow "
                      "outbox --failed)",
                      r->desc, r->attempts, r->error, r->attempts);
        else
            log_warn("%s: attempt %d failed: %s; next attempt in %.1f s", r->desc, r->attempts,
                     r->error, atof(PQgetvalue(res, row, 3)) / 1000);
        break;
    case REC_RELEASE:
        if (row >= 0)
            log_info("%s: abandoned (%s); ready for another attempt", r->desc, r->error);
        else
            log_info("%s: abandoned (%s) after its lease ended", r->desc, r->error);
        break;
    }
}

/* Drop a batch that could not be written, saying so for each outcome. */
static void record_lost(record *batch, const char *why)
{
    while (batch) {
        record *r = batch;
        batch = r->next;
        log_warn("%s: could not record the outcome (%s): %s; it will be retried when its lease "
                 "ends",
                 r->desc, r->kind == REC_SENT ? "delivered" : r->error, why);
        record_free(r);
    }
}

static void record_write(delivery *dl);

/* The batch's job is over: write the next batch if outcomes came meanwhile. */
static void record_end(delivery *dl)
{
    dl->recording = false;
    if (dl->rec_head)
        record_write(dl);
    else
        dl_maybe_free(dl);
}

static void record_written(store_tx *tx, PGresult *res, void *arg)
{
    delivery *dl = arg;
    record *batch = dl->rec_writing;
    dl->rec_writing = NULL;
    if (!res || !store_ok(res)) {
        char *why = xstrdup(res ? PQresultErrorMessage(res) : store_tx_error(tx));
        why[strcspn(why, "\n")] = '\0';
        record_lost(batch, why);
        free(why);
    } else {
        int n = PQntuples(res);
        while (batch) {
            record *r = batch;
            batch = r->next;
            int row = -1;
            for (int i = 0; i < n && row < 0; i++)
                if (!strcmp(PQgetvalue(res, i, 0), r->id) &&
                    !strcmp(PQgetvalue(res, i, 1), record_what(r->kind)))
                    row = i;
            record_log(r, res, row);
            record_free(r);
        }
    }
    store_release(tx);
    record_end(dl);
}

/* An array literal element: NULL, or the value quoted. */
static void record_elem(sb *a, const char *v)
{
    if (a->len > 1)
        sb_add(a, ",");
    if (!v) {
        sb_add(a, "NULL");
        return;
    }
    sb_add(a, "\"");
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            sb_add(a, "\\");
        sb_addn(a, v, 1);
    }
    sb_add(a, "\"");
}

/* Every outcome known now, in one statement. */
static void record_begin(store_tx *tx, void *arg)
{
    delivery *dl = arg;
    record *batch = dl->rec_head;
    dl->rec_head = dl->rec_tail = NULL;
    if (!tx) {
        record_lost(batch, "the database is unavailable");
        record_end(dl);
        return;
    }
    sb ids = {0}, whats = {0}, errors = {0}, attempts = {0};
    sb_add(&ids, "{");
    sb_add(&whats, "{");
    sb_add(&errors, "{");
    sb_add(&attempts, "{");
    size_t n = 0;
    for (record *r = batch; r; r = r->next, n++) {
        char num[16];
        snprintf(num, sizeof num, "%d", r->attempts);
        record_elem(&ids, r->id);
        record_elem(&whats, record_what(r->kind));
        record_elem(&errors, r->error);
        record_elem(&attempts, num);
    }
    sb_add(&ids, "}");
    sb_add(&whats, "}");
    sb_add(&errors, "}");
    sb_add(&attempts, "}");
    sf_daemon *d = dl->d;
    char max[16], base[24], cap[24];
    snprintf(max, sizeof max, "%d", d->cfg.delivery_max_attempts);
    snprintf(base, sizeof base, "%d", d->cfg.delivery_retry_ms);
    snprintf(cap, sizeof cap, "%d", DELIVERY_MAX_BACKOFF_MS);
    const char *p[7] = {sb_str(&ids), sb_str(&whats), sb_str(&errors), sb_str(&attempts), max, base,
                        cap};
    dl->rec_writing = batch;
    log_debug("delivery: recording %zu outcome%s", n, n == 1 ? "" : "s");
    int rc = store_exec(tx, &statements[DL_RECORD], 7, p, record_written, dl);
    sb_free(&ids);
    sb_free(&whats);
    sb_free(&errors);
    sb_free(&attempts);
    if (rc != 0) {
        dl->rec_writing = NULL;
        record_lost(batch, "the database connection broke");
        store_release(tx);
        record_end(dl);
    }
}

/* Start a batch's job (one at a time: outcomes that come meanwhile wait for the next). */
static void record_write(delivery *dl)
{
    if (dl->recording || !dl->rec_head)
        return;
    dl->recording = true;
    store_submit(dl->d->work_store, record_begin, dl);
}

/* Record an attempt at row id (written with the next batch); error is copied (NULL when sent). */
static void record_submit(delivery *dl, record_kind kind, const char *id, int attempts,
                          const char *what, const char *channel, const char *target,
                          const char *error, uint64_t ms)
{
    record *r = xcalloc(1, sizeof *r);
    r->kind = kind;
    r->id = xstrdup(id);
    r->attempts = attempts;
    r->ms = ms;
    if (error) {
        /* last_error is listed by the outbox op: no credential of a URL in it either. */
        sb clean = {0}, e = {0};
        sb_add_redacted(&clean, error);
        dl_oneline(&e, sb_str(&clean), DL_ERROR_MAX);
        sb_free(&clean);
        r->error = sb_steal(&e);
    }
    snprintf(r->desc, sizeof r->desc, "outbox %s (%s, %s %.60s)", id, what, channel, target);
    if (dl->rec_tail)
        dl->rec_tail->next = r;
    else
        dl->rec_head = r;
    dl->rec_tail = r;
    record_write(dl);
}

/* Queue the record of an item's attempt. */
static void record_item(item *it, record_kind kind, const char *error)
{
    delivery *dl = it->dl;
    record_submit(dl, kind, it->id, it->attempts, it->kind, it->channel_name, it->target, error,
                  uv_now(dl->d->loop) - it->t0);
}

/* ---- items ---------------------------------------------------------------- */

static void item_free(item *it)
{
    delivery *dl = it->dl;
    free(it->id);
    free(it->kind);
    free(it->channel_name);
    free(it->target);
    free(it->subject);
    free(it->body);
    free(it->payload);
    free(it->idem_key);
    curl_slist_free_all(it->headers);
    curl_slist_free_all(it->rcpt);
    sb_free(&it->message);
    sb_free(&it->answer);
    if (it->env)
        for (char **e = it->env; *e; e++)
            free(*e);
    free(it->env);
    free(it);
    dl_maybe_free(dl);
}

static void item_unlink(item *it)
{
    delivery *dl = it->dl;
    if (it->prev)
        it->prev->next = it->next;
    else
        dl->items = it->next;
    if (it->next)
        it->next->prev = it->prev;
    it->prev = it->next = NULL;
    dl->ninflight--;
}

/*
 * The attempt is over: record it (sent, or failed with why), release what
 * the transfer held, and look for more work with the freed capacity. The one
 * place an item leaves ITEM_RUNNING.
 */
static void item_finish(item *it, bool sent, const char *why)
{
    if (it->state != ITEM_RUNNING) {
        log_error("delivery: outbox %s finished twice", it->id);
        abort();
    }
    it->state = ITEM_CLOSING;
    delivery *dl = it->dl;
    record_item(it, sent ? REC_SENT : REC_FAILED, why);
    item_unlink(it);
    item_close(it);
    if (dl->stopping) {
        /* The last transfer of a stop ended within its grace: shut down now. Not from here,
         * though: we may be inside curl_collect's loop over the multi handle it cleans up. */
        if (dl->ninflight == 0 && !dl->shut)
            uv_timer_start(&dl->poll_timer, on_stop_grace, 0, 0);
    } else if (dl->more || dl->kicked) {
        dl_look(dl);
    }
}

/* Abandoned at stop: the row goes back to pending (if the database is still there). */
static void item_abandon(item *it)
{
    if (it->state != ITEM_RUNNING)
        return;
    it->state = ITEM_CLOSING;
    record_item(it, REC_RELEASE, "the daemon stopped during the attempt");
    item_unlink(it);
    if (it->channel == DL_COMMAND && it->open_handles)
        uv_process_kill(&it->proc, SIGKILL);
    item_close(it);
}

/* ---- libcurl on the loop ------------------------------------------------- */

static void dl_handle_closed(uv_handle_t *h)
{
    delivery *dl = h->data;
    dl->open_handles--;
    dl_maybe_free(dl);
}

static void sock_closed(uv_handle_t *h)
{
    dl_sock *s = h->data;
    delivery *dl = s->dl;
    free(s);
    dl->open_handles--;
    dl_maybe_free(dl);
}

static void sock_drop(dl_sock *s)
{
    delivery *dl = s->dl;
    if (s->prev)
        s->prev->next = s->next;
    else
        dl->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_close((uv_handle_t *)&s->poll, sock_closed);
}

/* Collect the transfers libcurl has finished. */
static void curl_collect(delivery *dl)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(dl->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode result = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        item *it = (item *)(void *)priv;
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(dl->multi, easy);
        curl_easy_cleanup(easy);
        it->easy = NULL;
        sb why = {0};
        bool sent = false;
        if (result != CURLE_OK) {
            sb_addf(&why, "%s", it->curl_err[0] ? it->curl_err : curl_easy_strerror(result));
        } else if (it->channel == DL_WEBHOOK && (code < 200 || code > 299)) {
            sb_addf(&why, "HTTP %ld", code);
            if (it->answer.len) {
                sb_add(&why, ": ");
                dl_oneline(&why, sb_str(&it->answer), 200);
            }
        } else {
            sent = true;
        }
        item_finish(it, sent, sent ? NULL : sb_str(&why));
        sb_free(&why);
    }
}

static void on_sock(uv_poll_t *h, int status, int events)
{
    dl_sock *s = h->data;
    delivery *dl = s->dl;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    curl_multi_socket_action(dl->multi, s->fd, flags, &running);
    curl_collect(dl);
}

/* libcurl: watch (or stop watching) socket fd. */
static int curl_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    delivery *dl = userp;
    dl_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            curl_multi_assign(dl->multi, fd, NULL);
            uv_poll_stop(&s->poll);
            sock_drop(s);
        }
        return 0;
    }
    if (!s) {
        s = xcalloc(1, sizeof *s);
        if (uv_poll_init_socket(dl->d->loop, &s->poll, fd) != 0) {
            free(s);
            return -1; /* libcurl fails the transfer */
        }
        s->fd = fd;
        s->dl = dl;
        s->poll.data = s;
        s->next = dl->socks;
        if (dl->socks)
            dl->socks->prev = s;
        dl->socks = s;
        dl->open_handles++;
        curl_multi_assign(dl->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_sock);
    return 0;
}

static void on_curl_timer(uv_timer_t *t)
{
    delivery *dl = t->data;
    int running;
    curl_multi_socket_action(dl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curl_collect(dl);
}

/* libcurl: call us back in timeout_ms (-1: never). Never act from inside this callback. */
static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    delivery *dl = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&dl->curl_timer);
    else
        uv_timer_start(&dl->curl_timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* A webhook's answer: keep the start of it for the error message. */
static size_t curl_write_cb(char *p, size_t size, size_t n, void *arg)
{
    item *it = arg;
    dl_keep(&it->answer, p, size * n);
    return size * n;
}

/* The e-mail, as libcurl uploads it. */
static size_t curl_read_cb(char *buf, size_t size, size_t n, void *arg)
{
    item *it = arg;
    size_t left = it->message.len - it->message_off;
    size_t want = size * n < left ? size * n : left;
    memcpy(buf, it->message.buf + it->message_off, want);
    it->message_off += want;
    return want;
}

/* A new easy handle with what every transfer sets; NULL when libcurl is out of memory. */
static CURL *curl_new(item *it, long timeout_ms)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_PRIVATE, it);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, it->curl_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)DL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sendflowd/" SF_VERSION);
    return e;
}

/* Hand it->easy to the multi handle; 0, or -1 with why. */
static int curl_go(item *it, sb *why)
{
    CURLMcode mc = curl_multi_add_handle(it->dl->multi, it->easy);
    if (mc != CURLM_OK) {
        sb_addf(why, "libcurl refused the transfer: %s", curl_multi_strerror(mc));
        curl_easy_cleanup(it->easy);
        it->easy = NULL;
        return -1;
    }
    return 0;
}

/* ---- webhook ------------------------------------------------------------- */

static int webhook_start(item *it, sb *why)
{
    delivery *dl = it->dl;
    const chan_webhook *w = chan_find_webhook(dl->chan, it->target);
    if (!w) {
        sb_addf(why, "no webhook \"%s\" in %s", it->target, dl->chan->file);
        return -1;
    }
    if (!dl_header_safe(it->idem_key)) {
        sb_add(why, "the idempotency key has characters a header cannot carry");
        return -1;
    }
    const char *secret = dl->secrets[w - dl->chan->webhooks];
    char sig[HMAC_SHA256_HEX_LEN];
    hmac_sha256_hex(secret, strlen(secret), it->payload, strlen(it->payload), sig);
    char *h;
    struct curl_slist *hs = NULL;
    hs = curl_slist_append(hs, "Content-Type: application/json");
    hs = curl_slist_append(hs, "Expect:"); /* no 100-continue round trip */
    h = xasprintf("Idempotency-Key: %s", it->idem_key);
    hs = curl_slist_append(hs, h);
    free(h);
    h = xasprintf("X-Sendflow-Delivery: %s", it->id);
    hs = curl_slist_append(hs, h);
    free(h);
    h = xasprintf("X-Sendflow-Kind: %s", it->kind);
    hs = curl_slist_append(hs, h);
    free(h);
    h = xasprintf("X-Sendflow-Signature: sha256=%s", sig);
    hs = curl_slist_append(hs, h);
    free(h);
    it->headers = hs;
    if (!hs || !(it->easy = curl_new(it, DL_HTTP_TIMEOUT_MS))) {
        sb_add(why, "libcurl is out of memory");
        return -1;
    }
    CURL *e = it->easy;
    curl_easy_setopt(e, CURLOPT_URL, w->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->payload);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(it->payload));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, it);
    return curl_go(it, why);
}

/* ---- e-mail -------------------------------------------------------------- */

/* "Subject: ..." as ASCII: as it is, or RFC 2047 base64 encoded-words when it is not ASCII. */
static void email_subject(sb *m, const char *subject)
{
    sb s = {0};
    dl_oneline(&s, subject, 700);
    const char *t = sb_str(&s);
    bool ascii = true;
    for (const char *p = t; *p; p++)
        if ((unsigned char)*p >= 0x80)
            ascii = false;
    sb_add(m, "Subject: ");
    if (ascii) {
        sb_add(m, t);
    } else {
        /* Words of at most 45 bytes (60 base64 characters), cut between UTF-8 characters, each
         * on its own folded line so no line passes 78 characters. */
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t n = strlen(t), i = 0;
        while (i < n) {
            size_t len = n - i < 45 ? n - i : 45;
            while (len < n - i && len > 0 && ((unsigned char)t[i + len] & 0xc0) == 0x80)
                len--;
            if (i)
                sb_add(m, "\r\n ");
            sb_add(m, "=?UTF-8?B?");
            const unsigned char *p = (const unsigned char *)t + i;
            for (size_t k = 0; k < len; k += 3) {
                unsigned v = (unsigned)p[k] << 16;
                if (k + 1 < len)
                    v |= (unsigned)p[k + 1] << 8;
                if (k + 2 < len)
                    v |= p[k + 2];
                char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                             k + 1 < len ? b64[(v >> 6) & 63] : '=',
                             k + 2 < len ? b64[v & 63] : '='};
                sb_addn(m, q, 4);
            }
            sb_add(m, "?=");
            i += len;
        }
    }
    sb_add(m, "\r\n");
    sb_free(&s);
}

/* The body with CRLF line ends and no line over 998 bytes (SMTP's limit). */
static void email_body(sb *m, const char *body)
{
    size_t col = 0;
    for (const char *p = body; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (*p == '\r' && p[1] == '\n')
                p++;
            sb_add(m, "\r\n");
            col = 0;
            continue;
        }
        /* Break a long line before a character that starts a UTF-8 sequence. */
        if (col >= 990 && ((unsigned char)*p & 0xc0) != 0x80) {
            sb_add(m, "\r\n");
            col = 0;
        }
        sb_addn(m, p, 1);
        col++;
    }
    if (col)
        sb_add(m, "\r\n");
}

static int email_start(item *it, sb *why)
{
    delivery *dl = it->dl;
    const chan_config *c = dl->chan;
    if (!c->smtp) {
        sb_addf(why, "no \"email:\" section in %s to send e-mail with", c->file);
        return -1;
    }
    if (!chan_email_ok(it->target)) {
        sb_add(why, "the target is not an e-mail address");
        return -1;
    }
    if (!dl_header_safe(it->idem_key)) {
        sb_add(why, "the idempotency key has characters a header cannot carry");
        return -1;
    }
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    /* The same Message-ID on every retry, so a receiver can drop a duplicate. */
    char hash[HMAC_SHA256_HEX_LEN];
    hmac_sha256_digest_hex(it->idem_key, strlen(it->idem_key), hash);
    hash[32] = '\0';
    sb *m = &it->message;
    sb_addf(m, "From: %s\r\nTo: %s\r\n", c->email_from, it->target);
    email_subject(m, it->subject);
    sb_addf(m,
            "Date: %s\r\nMessage-ID: <sendflow.%s@%s>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            "Auto-Submitted: auto-generated\r\nX-Sendflow-Idempotency-Key: %s\r\n"
            "X-Sendflow-Delivery: %s\r\nX-Sendflow-Kind: %s\r\n\r\n",
            date, hash, strchr(c->email_from, '@') + 1, it->idem_key, it->id, it->kind);
    email_body(m, it->body);

    char *rcpt = xasprintf("<%s>", it->target);
    it->rcpt = curl_slist_append(NULL, rcpt);
    free(rcpt);
    if (!it->rcpt || !(it->easy = curl_new(it, DL_SMTP_TIMEOUT_MS))) {
        sb_add(why, "libcurl is out of memory");
        return -1;
    }
    char *from = xasprintf("<%s>", c->email_from);
    CURL *e = it->easy;
    curl_easy_setopt(e, CURLOPT_URL, c->smtp);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from); /* libcurl copies strings it is given */
    free(from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, it->rcpt);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, curl_read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, it);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    return curl_go(it, why);
}

/* ---- commands ------------------------------------------------------------ */

static void cmd_handle_closed(uv_handle_t *h)
{
    item *it = h->data;
    it->dl->open_handles--;
    if (--it->open_handles == 0)
        item_free(it);
}

static void cmd_close_all(item *it)
{
    uv_handle_t *hs[] = {(uv_handle_t *)&it->proc, (uv_handle_t *)&it->in, (uv_handle_t *)&it->err,
                         (uv_handle_t *)&it->kill_timer};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], cmd_handle_closed);
}

static void cmd_on_exit(uv_process_t *p, int64_t status, int signo)
{
    item *it = p->data;
    if (it->state != ITEM_RUNNING)
        return; /* abandoned: its handles are closing */
    sb why = {0};
    if (it->timed_out)
        sb_addf(&why, "the command ran longer than %d s and was killed", it->timeout_s);
    else if (signo)
        sb_addf(&why, "the command was killed by signal %d", signo);
    else if (status != 0)
        sb_addf(&why, "the command exited with status %" PRId64, status);
    if (why.len && it->answer.len) {
        sb_add(&why, ": ");
        dl_oneline(&why, sb_str(&it->answer), 200);
    }
    item_finish(it, why.len == 0, why.len ? sb_str(&why) : NULL);
    sb_free(&why);
}

static void cmd_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char scratch[4096]; /* the loop is single-threaded; read copies out at once */
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(scratch, sizeof scratch);
}

static void cmd_on_stderr(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    item *it = s->data;
    if (n > 0)
        dl_keep(&it->answer, buf->base, (size_t)n);
    else if (n < 0)
        uv_read_stop(s);
}

static void cmd_on_written(uv_write_t *w, int status)
{
    item *it = w->data;
    (void)status; /* a command that exits without reading its input is judged by its exit */
    if (!uv_is_closing((uv_handle_t *)&it->in))
        uv_close((uv_handle_t *)&it->in, cmd_handle_closed); /* EOF on its stdin */
}

static void cmd_on_timeout(uv_timer_t *t)
{
    item *it = t->data;
    it->timed_out = true;
    uv_process_kill(&it->proc, SIGKILL);
}

static int command_start(item *it, sb *why)
{
    delivery *dl = it->dl;
    const chan_command *cmd = chan_find_command(dl->chan, it->target);
    if (!cmd) {
        sb_addf(why, "no command \"%s\" in %s", it->target, dl->chan->file);
        return -1;
    }
    uv_loop_t *loop = dl->d->loop;
    it->timeout_s = cmd->timeout_s;
    /* A small, known environment: the daemon's own (secrets included) is not the command's. */
    const char *path = "PATH=/usr/local/bin:/usr/bin:/bin";
    it->env = xcalloc(7, sizeof *it->env);
    it->env[0] = xstrdup(path);
    it->env[1] = xstrdup("LANG=C.UTF-8");
    it->env[2] = xasprintf("SENDFLOW_OUTBOX_ID=%s", it->id);
    it->env[3] = xasprintf("SENDFLOW_KIND=%s", it->kind);
    it->env[4] = xasprintf("SENDFLOW_TARGET=%s", it->target);
    it->env[5] = xasprintf("SENDFLOW_IDEMPOTENCY_KEY=%s", it->idem_key);

    uv_pipe_init(loop, &it->in, 0);
    uv_pipe_init(loop, &it->err, 0);
    uv_timer_init(loop, &it->kill_timer);
    it->in.data = it->err.data = it->kill_timer.data = it->proc.data = it;
    it->open_handles = 4;
    dl->open_handles += 4;

    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&it->in;
    stdio[1].flags = UV_IGNORE;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&it->err;
    uv_process_options_t o = {0};
    o.exit_cb = cmd_on_exit;
    o.file = cmd->argv[0];
    o.args = (char **)(void *)cmd->argv; /* libuv does not write to them */
    o.env = it->env;
    o.stdio = stdio;
    o.stdio_count = 3;
    int rc = uv_spawn(loop, &it->proc, &o);
    if (rc != 0) {
        sb_addf(why, "cannot run %s: %s", cmd->argv[0], uv_strerror(rc));
        return -1; /* item_finish closes the handles, the process's too */
    }
    uv_read_start((uv_stream_t *)&it->err, cmd_alloc, cmd_on_stderr);
    uv_buf_t b = uv_buf_init(it->payload, (unsigned)strlen(it->payload));
    it->write_req.data = it;
    if (uv_write(&it->write_req, (uv_stream_t *)&it->in, &b, 1, cmd_on_written) != 0)
        uv_close((uv_handle_t *)&it->in, cmd_handle_closed);
    uv_timer_start(&it->kill_timer, cmd_on_timeout, (uint64_t)cmd->timeout_s * 1000, 0);
    return 0;
}

/* Release what the attempt holds; the item is freed now, or when its handles have closed. */
static void item_close(item *it)
{
    if (it->easy) {
        curl_multi_remove_handle(it->dl->multi, it->easy);
        curl_easy_cleanup(it->easy);
        it->easy = NULL;
    }
    if (it->open_handles)
        cmd_close_all(it);
    else
        item_free(it);
}

/* ---- claims --------------------------------------------------------------- */

/* Start delivering row `row` of a claim. */
static void item_start(delivery *dl, const PGresult *res, int row)
{
    item *it = xcalloc(1, sizeof *it);
    it->dl = dl;
    it->state = ITEM_RUNNING;
    it->t0 = uv_now(dl->d->loop);
    it->id = store_getvalue(res, row, 0);
    it->kind = store_getvalue(res, row, 1);
    it->channel_name = store_getvalue(res, row, 2);
    it->target = store_getvalue(res, row, 3);
    it->subject = store_getvalue(res, row, 4);
    it->body = store_getvalue(res, row, 5);
    it->payload = dl_compact_json(PQgetvalue(res, row, 6));
    it->idem_key = store_getvalue(res, row, 7);
    it->attempts = atoi(PQgetvalue(res, row, 8));
    it->next = dl->items;
    if (dl->items)
        dl->items->prev = it;
    dl->items = it;
    dl->ninflight++;

    log_debug("outbox %s (%s, %s %s): attempt %d", it->id, it->kind, it->channel_name, it->target,
              it->attempts);
    sb why = {0};
    int rc;
    if (!strcmp(it->channel_name, "webhook")) {
        it->channel = DL_WEBHOOK;
        rc = webhook_start(it, &why);
    } else if (!strcmp(it->channel_name, "email")) {
        it->channel = DL_EMAIL;
        rc = email_start(it, &why);
    } else if (!strcmp(it->channel_name, "command")) {
        it->channel = DL_COMMAND;
        rc = command_start(it, &why);
    } else {
        sb_addf(&why, "unknown channel \"%s\"", it->channel_name);
        rc = -1;
    }
    if (rc != 0)
        item_finish(it, false, sb_str(&why));
    sb_free(&why);
}

static void on_poll_timer(uv_timer_t *t);

static void poll_later(delivery *dl, uint64_t ms)
{
    if (!dl->stopping)
        uv_timer_start(&dl->poll_timer, on_poll_timer, ms, 0);
}

/* The claim job ends: look again at once if kicked meanwhile, else when the timer says. */
static void claim_end(delivery *dl, uint64_t next_ms)
{
    dl->claiming = false;
    if (dl->stopping) {
        dl_maybe_free(dl);
        return;
    }
    if (dl->kicked)
        dl_look(dl);
    else
        poll_later(dl, next_ms);
}

static void on_next(store_tx *tx, PGresult *res, void *arg)
{
    delivery *dl = arg;
    uint64_t ms = (uint64_t)dl->d->cfg.delivery_retry_ms;
    if (res && store_ok(res) && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        long long v = atoll(PQgetvalue(res, 0, 0));
        if (v < (long long)ms)
            ms = v < DL_MIN_POLL_MS ? DL_MIN_POLL_MS : (uint64_t)v;
    }
    store_release(tx);
    claim_end(dl, ms);
}

static void on_claimed(store_tx *tx, PGresult *res, void *arg)
{
    delivery *dl = arg;
    uint64_t retry = (uint64_t)dl->d->cfg.delivery_retry_ms;
    if (!res || !store_ok(res)) {
        log_warn("delivery: cannot claim outbox rows: %s",
                 res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        claim_end(dl, retry);
        return;
    }
    int n = PQntuples(res);
    for (int row = 0; row < n; row++) {
        if (dl->stopping) /* stopped while the claim ran: hand the rows back */
            record_submit(dl, REC_RELEASE, PQgetvalue(res, row, 0), atoi(PQgetvalue(res, row, 8)),
                          PQgetvalue(res, row, 1), PQgetvalue(res, row, 2), PQgetvalue(res, row, 3),
                          "the daemon stopped before the attempt", 0);
        else
            item_start(dl, res, row);
    }
    dl->more = (size_t)n >= dl->asked;
    if (store_exec(tx, &statements[DL_NEXT], 0, NULL, on_next, dl) != 0) {
        store_release(tx);
        claim_end(dl, retry);
    }
}

static void on_claim_connection(store_tx *tx, void *arg)
{
    delivery *dl = arg;
    uint64_t retry = (uint64_t)dl->d->cfg.delivery_retry_ms;
    if (!tx) {
        claim_end(dl, retry); /* the database is unavailable: try again later */
        return;
    }
    size_t limit = DELIVERY_MAX_INFLIGHT - dl->ninflight;
    if (dl->stopping || limit == 0) {
        dl->more = limit == 0;
        store_release(tx);
        claim_end(dl, retry);
        return;
    }
    char lease[24], lim[24];
    snprintf(lease, sizeof lease, "%d", dl->d->cfg.delivery_lease_s);
    snprintf(lim, sizeof lim, "%zu", limit);
    dl->asked = limit;
    const char *p[2] = {lease, lim};
    if (store_exec(tx, &statements[DL_CLAIM], 2, p, on_claimed, dl) != 0) {
        store_release(tx);
        claim_end(dl, retry);
    }
}

/* Look for ready rows now (once a claim in flight has ended, if one is). */
static void dl_look(delivery *dl)
{
    if (dl->stopping)
        return;
    if (dl->claiming) {
        dl->kicked = true;
        return;
    }
    if (dl->ninflight >= DELIVERY_MAX_INFLIGHT) {
        dl->more = true; /* item_finish looks again */
        return;
    }
    dl->claiming = true;
    dl->kicked = dl->more = false;
    uv_timer_stop(&dl->poll_timer);
    store_submit(dl->d->work_store, on_claim_connection, dl);
}

static void on_poll_timer(uv_timer_t *t)
{
    dl_look(t->data);
}

/* Free delivery_secrets's copies (n of them). */
static void free_secrets(char **secrets, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(secrets[i]);
    free(secrets);
}

/* ---- start and stop ----------------------------------------------------- */

static void dl_maybe_free(delivery *dl)
{
    if (!dl->stopping || dl->open_handles > 0 || dl->claiming || dl->items || dl->recording ||
        dl->rec_head)
        return;
    free_secrets(dl->secrets, dl->nsecrets);
    void (*done)(void *) = dl->stop_done;
    void *arg = dl->stop_arg;
    free(dl);
    curl_global_cleanup();
    if (done)
        done(arg);
}

static const chan_config no_channels = {.file = "(none)"};

int delivery_secrets(const chan_config *c, char ***out, char *err, size_t errlen)
{
    *out = NULL;
    if (!c)
        return 0;
    char **secrets = c->nwebhooks ? xcalloc(c->nwebhooks, sizeof *secrets) : NULL;
    for (size_t i = 0; i < c->nwebhooks; i++) {
        const char *v = getenv(c->webhooks[i].secret_env);
        if (!v || !*v) {
            snprintf(err, errlen,
                     "[%s:%d] webhook \"%s\": its signing secret is not in the environment: set "
                     "%s (a long random string shared with the receiver) before starting",
                     c->file, c->webhooks[i].line, c->webhooks[i].name, c->webhooks[i].secret_env);
            for (size_t j = 0; j < i; j++)
                free(secrets[j]);
            free(secrets);
            return -1;
        }
        secrets[i] = xstrdup(v);
    }
    *out = secrets;
    return 0;
}

int delivery_use_channels(sf_daemon *d, const chan_config *chan, char *err, size_t errlen)
{
    delivery *dl = d->delivery;
    const chan_config *c = chan ? chan : &no_channels;
    char **secrets;
    if (delivery_secrets(c, &secrets, err, errlen) != 0)
        return -1;
    if (dl) {
        /* Items in flight looked their channel up when they started: nothing holds the old. */
        free_secrets(dl->secrets, dl->nsecrets);
        dl->secrets = secrets;
        dl->nsecrets = c->nwebhooks;
        dl->chan = c;
    } else {
        free_secrets(secrets, c->nwebhooks);
    }
    return 0;
}

int delivery_start(sf_daemon *d, char *err, size_t errlen)
{
    const chan_config *c = d->chan ? d->chan : &no_channels;
    /* Every webhook's secret, before anything starts: an unsigned webhook is refused. */
    char **secrets;
    if (delivery_secrets(c, &secrets, err, errlen) != 0)
        return -1;
    CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "cannot initialise libcurl: %s", curl_easy_strerror(cc));
        free_secrets(secrets, c->nwebhooks);
        return -1;
    }
    delivery *dl = xcalloc(1, sizeof *dl);
    dl->d = d;
    dl->chan = c;
    dl->secrets = secrets;
    dl->nsecrets = c->nwebhooks;
    dl->multi = curl_multi_init();
    if (!dl->multi) {
        snprintf(err, errlen, "cannot initialise libcurl's multi interface");
        free_secrets(secrets, c->nwebhooks);
        free(dl);
        curl_global_cleanup();
        return -1;
    }
    curl_multi_setopt(dl->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
    curl_multi_setopt(dl->multi, CURLMOPT_SOCKETDATA, dl);
    curl_multi_setopt(dl->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    curl_multi_setopt(dl->multi, CURLMOPT_TIMERDATA, dl);
    uv_timer_init(d->loop, &dl->curl_timer);
    uv_timer_init(d->loop, &dl->poll_timer);
    dl->curl_timer.data = dl->poll_timer.data = dl;
    dl->open_handles = 2;
    d->delivery = dl;
    log_info("delivery: %zu people, %zu webhooks, e-mail %s, %zu commands (%s); retry from %d ms, "
             "%d attempts, lease %d s",
             c->npeople, c->nwebhooks, c->smtp ? c->smtp : "off", c->ncommands, c->file,
             d->cfg.delivery_retry_ms, d->cfg.delivery_max_attempts, d->cfg.delivery_lease_s);
    dl_look(dl);
    return 0;
}

void delivery_kick(sf_daemon *d)
{
    if (d->delivery)
        dl_look(d->delivery);
}

/*
 * The end of a stop: abandon the transfers still running (their rows are
 * released), then close libcurl and the handles. Once only.
 */
static void dl_shutdown(delivery *dl)
{
    if (dl->shut)
        return;
    dl->shut = true;
    if (dl->ninflight)
        log_info("delivery: %zu notice%s still in flight after %d s go back to the outbox",
                 dl->ninflight, dl->ninflight == 1 ? "" : "s", DELIVERY_STOP_GRACE_MS / 1000);
    while (dl->items)
        item_abandon(dl->items);
    /* No easy handle is left on the multi handle; its cleanup may still report sockets. */
    curl_multi_cleanup(dl->multi);
    dl->multi = NULL;
    while (dl->socks) {
        uv_poll_stop(&dl->socks->poll);
        sock_drop(dl->socks);
    }
    uv_close((uv_handle_t *)&dl->curl_timer, dl_handle_closed);
    uv_close((uv_handle_t *)&dl->poll_timer, dl_handle_closed);
}

static void on_stop_grace(uv_timer_t *t)
{
    dl_shutdown(t->data);
}

void delivery_stop(sf_daemon *d, void (*done)(void *arg), void *arg)
{
    delivery *dl = d->delivery;
    if (!dl) {
        if (done)
            done(arg);
        return;
    }
    d->delivery = NULL;
    dl->stopping = true;
    dl->stop_done = done;
    dl->stop_arg = arg;
    /*
     * A transfer in flight may already have reached its receiver: abandoned
     * now, it would be handed back and delivered again after a restart. So
     * the transfers get a grace to finish and be recorded as what they are
     * (sent, or a failed attempt); only those still running after it are
     * abandoned and released. No new claim starts meanwhile (dl_look).
     * The poll timer, idle from now on, times the grace.
     */
    uv_timer_stop(&dl->poll_timer);
    if (!dl->ninflight) {
        dl_shutdown(dl);
        return;
    }
    log_info("delivery: stopping; waiting up to %d s for %zu notice%s in flight",
             DELIVERY_STOP_GRACE_MS / 1000, dl->ninflight, dl->ninflight == 1 ? "" : "s");
    uv_timer_start(&dl->poll_timer, on_stop_grace, DELIVERY_STOP_GRACE_MS, 0);
}

/* ---- the outbox op ------------------------------------------------------- */

typedef struct list_job {
    sf_daemon *d;
    srv_req *req;
    bool failed;
    const page_spec *page; /* the outbox's paging (proto.def's SF_PAGE) */
    long limit;            /* rows per page */
    page_cursor cursor;    /* where the page starts (cursor.n == 0: the newest) */
} list_job;

static void list_free(list_job *j)
{
    page_cursor_free(&j->cursor);
    free(j);
}

/* A text column as a JSON string, or null. */
static json_t *dl_col(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static void list_done(store_tx *tx, PGresult *res, void *arg)
{
    list_job *j = arg;
    if (!res || !store_ok(res)) {
        log_warn("outbox: %s", res ? PQresultErrorMessage(res) : store_tx_error(tx));
        store_release(tx);
        srv_reply_error(
            j->req, proto_err_code(job_db_code(res)), "the database failed reading the outbox%s",
            job_db_code(res) == PROTO_ERR_UNAVAILABLE ? "; retry" : " (see the daemon's log)");
        list_free(j);
        return;
    }
    json_t *items = json_array();
    int n = PQntuples(res);
    for (int r = 0; r < n && r < j->limit; r++) {
        json_t *o = json_object();
        static const char *const names[] = {"id", "kind", "channel", "target", "subject", "status"};
        for (int c = 0; c < 6; c++)
            json_object_set_new(o, names[c], dl_col(res, r, c));
        json_object_set_new(o, "attempts", json_integer(atoi(PQgetvalue(res, r, 6))));
        json_object_set_new(o, "last_error", dl_col(res, r, 7));
        json_object_set_new(o, "created_at", dl_col(res, r, 8));
        json_object_set_new(o, "sent_at", dl_col(res, r, 9));
        /* When it will be tried next: only while it waits for another attempt. */
        bool waiting =
            !strcmp(PQgetvalue(res, r, 5), "pending") || !strcmp(PQgetvalue(res, r, 5), "sending");
        json_object_set_new(o, "next_attempt_at", waiting ? dl_col(res, r, 10) : json_null());
        json_object_set_new(o, "idem_key", dl_col(res, r, 11));
        json_array_append_new(items, o);
    }
    store_release(tx);
    char *next = NULL;
    if (n > j->limit) {
        const char *key[1] = {PQgetvalue(res, (int)j->limit - 1, 0)};
        if (!(next = page_cursor_make(j->page, key))) {
            json_decref(items);
            srv_reply_error(j->req, proto_err_code(PROTO_ERR_INTERNAL),
                            "cannot write a cursor after outbox row %s", key[0]);
            list_free(j);
            return;
        }
    }
    srv_reply(j->req, json_pack("{s:o,s:b,s:b,s:s?}", "items", items, "failed", j->failed,
                                "truncated", next != NULL, "next", next));
    free(next);
    list_free(j);
}

static void list_begin(store_tx *tx, void *arg)
{
    list_job *j = arg;
    if (!tx) {
        srv_reply_error(j->req, proto_err_code(job_no_connection_code(j->d)), "%s",
                        j->d->stopping ? "the daemon is stopping; ask another"
                                       : "the database is unavailable; retry");
        list_free(j);
        return;
    }
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", j->limit + 1); /* one more: were there more? */
    const char *p[2] = {j->cursor.n ? j->cursor.field[0] : "9223372036854775807", lim};
    if (store_exec(tx, &statements[j->failed ? DL_LIST_FAILED : DL_LIST], 2, p, list_done, j) !=
        0) {
        store_release(tx);
        srv_reply_error(j->req, proto_err_code(PROTO_ERR_UNAVAILABLE),
                        "the database connection broke; retry");
        list_free(j);
    }
}

void delivery_handle_outbox(sf_daemon *d, srv_req *req)
{
    list_job *j = xcalloc(1, sizeof *j);
    j->d = d;
    j->req = req;
    proto_err code = PROTO_ERR_BAD_REQUEST;
    sb err = {0};
    j->page = page_spec_of(PROTO_OP_OUTBOX);
    if (proto_bool(req->msg, "failed", false, &j->failed, &code, &err) != 0 ||
        proto_page(req->msg, j->page, &j->limit, &j->cursor, &code, &err) != 0) {
        srv_reply_error(req, proto_err_code(code), "%s", sb_str(&err));
        sb_free(&err);
        list_free(j);
        return;
    }
    sb_free(&err);
    if (d->stopping) {
        srv_reply_error(req, proto_err_code(PROTO_ERR_SHUTTING_DOWN),
                        "the daemon is stopping; ask another");
        list_free(j);
        return;
    }
    store_submit(d->store, list_begin, j);
}
