/*
 * transfers: the phase-transfer schedule (see transfers.h).
 */
#include "transfers.h"

#include <stdlib.h>
#include <string.h>

#include "evalio.h"
#include "log.h"
#include "xfer.h"

#define SWEEP_BATCH 500

enum {
    TR_READ,
    TR_READ_ONE,
    TR_START,
};

/* The cases with a date of birth and an active annual review, and their transfers so far. */
#define TR_SELECT                                                                                  \
    "SELECT c.id::text, c.ref, c.version::text, to_char(c.dob, 'YYYY-MM-DD'), c.attrs,"            \
    " (SELECT coalesce(json_agg(p.idem_key), '[]'::json) FROM processes p"                         \
    "   WHERE p.case_id = c.id AND p.workflow = 'phase-transfer')"                                 \
    " FROM cases c WHERE c.dob IS NOT NULL"                                                        \
    "  AND EXISTS (SELECT 1 FROM processes a WHERE a.case_id = c.id"                               \
    "              AND a.workflow = 'annual-review' AND a.status = 'active')"

static const store_stmt statements[] = {
    /* $1 last case id seen, $2 batch size. */
    {"sf_transfers_read", TR_SELECT " AND c.id > $1::bigint ORDER BY c.id LIMIT $2::integer"},
    /* $1 last case id seen, $2 one case's id: a statement of its own, since a generic plan of
     * "every case or this one" cannot look the one up by its key (it read every annual
     * review's case, for each event that started a process). */
    {"sf_transfers_read_one", TR_SELECT " AND c.id = $2::bigint AND c.id > $1::bigint"},
    {"sf_transfers_start", "SELECT sf_start_process($1, $2, 'phase-transfer', $3, $4, $5::jsonb,"
                           " $6, $7, $8, $9, $10::jsonb, 'sendflowd (phase-transfer schedule)')"},
};

const store_stmt *transfers_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

/* One process to start. */
typedef struct opening {
    char *params[10]; /* owned: sf_transfers_start's parameters */
    char ref[64];
    char transfer[32];
} opening;

typedef struct sweep {
    sf_daemon *d;
    char *case_id; /* owned; NULL for every case */
    char cursor[24];
    opening *openings; /* owned: the processes to start, in order */
    size_t nopen, next;
    size_t opened;
} sweep;

/* Forget the previous batch's openings (their parameters), keeping the array. */
static void clear_openings(sweep *s)
{
    for (size_t i = 0; i < s->nopen; i++)
        for (size_t k = 0; k < sizeof s->openings[i].params / sizeof s->openings[i].params[0]; k++)
            free(s->openings[i].params[k]);
    s->nopen = s->next = 0;
}

static void sweep_free(sweep *s)
{
    clear_openings(s);
    free(s->openings);
    free(s->case_id);
    free(s);
}

static void next_read(sweep *s);
static void start_next(store_tx *tx, sweep *s);

static void on_started(store_tx *tx, PGresult *res, void *arg)
{
    sweep *s = arg;
    if (!res) {
        store_release(tx);
        log_warn("phase transfers: the database connection broke; the next sweep retries");
        sweep_free(s);
        return;
    }
    opening *o = &s->openings[s->next - 1];
    if (store_ok(res) && !PQgetisnull(res, 0, 0)) {
        s->opened++;
        log_info("phase transfers: opened %s for case %s", o->transfer, o->ref);
    } else if (!store_ok(res) && strcmp(store_sqlstate(res), "23505") != 0) {
        log_warn("phase transfers: case %s, %s: %s", o->ref, o->transfer,
                 PQresultErrorMessage(res));
    } /* else: opened by another daemon meanwhile, or the case changed: the next sweep sees */
    start_next(tx, s);
}

static void start_next(store_tx *tx, sweep *s)
{
    if (s->next == s->nopen) {
        store_release(tx);
        next_read(s);
        return;
    }
    opening *o = &s->openings[s->next++];
    if (store_exec(tx, &statements[TR_START], 10, (const char *const *)o->params, on_started, s) !=
        0) {
        store_release(tx);
        sweep_free(s);
    }
}

/* Plan the openings for one case row; appended to s->openings. */
static void plan_case(sweep *s, const PGresult *res, int row, cal_day today)
{
    sf_daemon *d = s->d;
    const wf_workflow *wf = wf_set_find(d->workflows, "phase-transfer");
    cal_day dob;
    if (!wf || cal_parse(PQgetvalue(res, row, 3), &dob) != 0)
        return;
    json_t *attrs = json_loads(PQgetvalue(res, row, 4), 0, NULL);
    json_t *keys = json_loads(PQgetvalue(res, row, 5), 0, NULL);
    size_t na;
    wf_kv *kv = eio_kv(attrs, &na);
    xfer_item items[16];
    size_t n = xfer_coming(d->svc, dob, kv, na, today, items, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        if (items[i].opens > today)
            continue;
        char key[64];
        snprintf(key, sizeof key, "transfer:%s", items[i].transfer);
        bool started = false;
        size_t k;
        json_t *v;
        json_array_foreach(keys, k, v)
        {
            if (json_is_string(v) && !strcmp(json_string_value(v), key))
                started = true;
        }
        if (started)
            continue;
        wf_kv pattrs[1] = {{"transfer", items[i].transfer}};
        eng_input in = {.wf = wf, .start = items[i].opens, .attrs = pattrs, .nattrs = 1};
        eio_input_env(d, dob, &in);
        eng_result *r = NULL;
        char err[ENG_ERR_LEN];
        if (eng_check_start(&in, err) != 0 || eng_evaluate(&in, &r, err) != 0) {
            log_warn("phase transfers: case %s, %s: %s", PQgetvalue(res, row, 1), items[i].transfer,
                     err);
            continue;
        }
        char day[CAL_DATE_LEN], ver[16];
        snprintf(ver, sizeof ver, "%d", wf->version);
        json_t *dl = eio_deadlines(d, r);
        json_t *pa = json_pack("{s:s}", "transfer", items[i].transfer);
        s->openings = xrealloc(s->openings, (s->nopen + 1) * sizeof *s->openings);
        opening *o = &s->openings[s->nopen++];
        memset(o, 0, sizeof *o);
        o->params[0] = xstrdup(PQgetvalue(res, row, 0));
        o->params[1] = xstrdup(PQgetvalue(res, row, 2));
        o->params[2] = xstrdup(ver);
        o->params[3] = xstrdup(cal_format(items[i].opens, day));
        o->params[4] = json_dumps(pa, JSON_COMPACT);
        o->params[5] = xstrdup(key);
        o->params[6] = xstrdup(eng_proc_status_name(r->status));
        o->params[7] = xstrdup(r->state);
        o->params[8] = r->ended_on == CAL_NONE ? NULL : xstrdup(cal_format(r->ended_on, day));
        o->params[9] = json_dumps(dl, JSON_COMPACT);
        snprintf(o->ref, sizeof o->ref, "%s", PQgetvalue(res, row, 1));
        snprintf(o->transfer, sizeof o->transfer, "%s", items[i].transfer);
        json_decref(dl);
        json_decref(pa);
        eng_result_free(r);
    }
    free(kv);
    json_decref(attrs);
    json_decref(keys);
}

static void on_read(store_tx *tx, PGresult *res, void *arg)
{
    sweep *s = arg;
    if (!res || !store_ok(res)) {
        if (res)
            log_warn("phase transfers: %s", PQresultErrorMessage(res));
        store_release(tx);
        sweep_free(s);
        return;
    }
    int n = PQntuples(res);
    if (n == 0) {
        store_release(tx);
        if (s->opened || !s->case_id)
            log_debug("phase transfers: sweep done, %zu opened", s->opened);
        sweep_free(s);
        return;
    }
    clear_openings(s);
    cal_day today = clock_today(&s->d->clock);
    for (int row = 0; row < n; row++)
        plan_case(s, res, row, today);
    snprintf(s->cursor, sizeof s->cursor, "%s", PQgetvalue(res, n - 1, 0));
    start_next(tx, s);
}

static void on_connection(store_tx *tx, void *arg)
{
    sweep *s = arg;
    if (!tx) {
        sweep_free(s);
        return;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", SWEEP_BATCH);
    const char *params[2] = {s->cursor, s->case_id ? s->case_id : limit};
    int rc = store_exec(tx, &statements[s->case_id ? TR_READ_ONE : TR_READ], 2, params, on_read, s);
    if (rc != 0) {
        store_release(tx);
        sweep_free(s);
    }
}

static void next_read(sweep *s)
{
    if (s->d->stopping) {
        sweep_free(s);
        return;
    }
    store_submit(s->d->store, on_connection, s);
}

void transfers_sweep(sf_daemon *d, const char *case_id)
{
    if (!wf_set_find(d->workflows, "phase-transfer") || d->stopping)
        return;
    sweep *s = xcalloc(1, sizeof *s);
    s->d = d;
    s->case_id = case_id ? xstrdup(case_id) : NULL;
    snprintf(s->cursor, sizeof s->cursor, "0");
    next_read(s);
}
