/* metrics: the counters and the Prometheus exposition (see metrics.h). */
#include "metrics.h"

#include <string.h>

#include "daemon.h"
#include "proto.h"
#include "recompute.h"
#include "store.h"

/* Upper bounds in seconds: from a prepared read (a millisecond) to a statement timing out. */
static const double bounds_s[METRICS_NBUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                  0.1,   0.25,   0.5,   1,    2.5,   10};

/* Distinct HTTP statuses counted; the daemon answers a handful. */
#define METRICS_MAX_STATUSES 16

/* Results of a request: each protocol error code, then "ok", then any other code. */
#define RESULT_OK    PROTO_ERR_COUNT
#define RESULT_OTHER (PROTO_ERR_COUNT + 1)
#define NRESULTS     (PROTO_ERR_COUNT + 2)
/* Ops: each protocol op, then "unknown". */
#define NOPS (PROTO_OP_COUNT + 1)

struct metrics {
    uint64_t requests[NOPS][NRESULTS]; /* answered, by op and result */
    metrics_hist latency[NOPS];        /* from parsed to answered, by op */
    struct {
        int status;
        uint64_t n;
    } http[METRICS_MAX_STATUSES]; /* HTTP responses by status */
    size_t nhttp;
};

void metrics_hist_add(metrics_hist *h, uint64_t ns)
{
    h->count++;
    h->sum_ns += ns;
    double s = (double)ns / 1e9;
    for (int i = 0; i < METRICS_NBUCKETS; i++)
        if (s <= bounds_s[i])
            h->le[i]++;
}

void metrics_hist_render(sb *out, const char *name, const char *labels, const metrics_hist *h)
{
    const char *sep = *labels ? "," : "";
    for (int i = 0; i < METRICS_NBUCKETS; i++)
        sb_addf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, bounds_s[i],
                (unsigned long long)h->le[i]);
    sb_addf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
            (unsigned long long)h->count);
    sb_addf(out, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
            (double)h->sum_ns / 1e9);
    sb_addf(out, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
            (unsigned long long)h->count);
}

metrics *metrics_new(void)
{
    return xcalloc(1, sizeof(metrics));
}

void metrics_free(metrics *m)
{
    free(m);
}

void metrics_observe(const char *op, const char *code, uint64_t ns, void *arg)
{
    metrics *m = arg;
    proto_op o = proto_op_lookup(op); /* PROTO_OP_UNKNOWN == PROTO_OP_COUNT: the last row */
    int r = RESULT_OTHER;
    if (!code)
        r = RESULT_OK;
    else
        for (int e = 0; e < PROTO_ERR_COUNT; e++)
            if (!strcmp(code, proto_err_code((proto_err)e)))
                r = e;
    m->requests[o][r]++;
    metrics_hist_add(&m->latency[o], ns);
}

void metrics_http(metrics *m, int status)
{
    for (size_t i = 0; i < m->nhttp; i++)
        if (m->http[i].status == status) {
            m->http[i].n++;
            return;
        }
    if (m->nhttp < METRICS_MAX_STATUSES) {
        m->http[m->nhttp].status = status;
        m->http[m->nhttp++].n = 1;
    }
}

#define METRICS_STATEMENTS(X)                                                                      \
    X(FIGURES,                                                                                     \
      "SELECT json_build_object('events', (SELECT count(*) FROM events),"                          \
      " 'escalations', (SELECT coalesce(json_agg(json_build_object('level', level, 'state',"       \
      " state, 'n', n)), '[]'::json) FROM (SELECT level, CASE WHEN status <> 'fired' THEN status"  \
      " WHEN resolved_on IS NOT NULL THEN 'resolved' WHEN acked_at IS NOT NULL THEN"               \
      " 'acknowledged' ELSE 'open' END AS state, count(*) AS n FROM escalations"                   \
      " WHERE NOT superseded GROUP BY 1, 2 ORDER BY 1, 2) e),"                                     \
      " 'outbox', (SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM (SELECT status,"   \
      " count(*) AS n FROM outbox GROUP BY status) o),"                                            \
      " 'attempts', (SELECT coalesce(sum(attempts), 0) FROM outbox))")                             \
    X(MIGRATION, "SELECT coalesce(max(version), 0) FROM schema_migrations")

static const store_stmt statements[] = {
#define X(id, sql) {"sf_metrics_" #id, sql},
    METRICS_STATEMENTS(X)
#undef X
};

const store_stmts metrics_statements = {statements, sizeof statements / sizeof statements[0]};

/* A label value as Prometheus quotes it (backslash, quote and newline escaped). */
static void add_label(sb *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sb_addf(out, "\\%c", *v);
        else if (*v == '\n')
            sb_add(out, "\\n");
        else
            sb_addn(out, v, 1);
    }
}

static void head(sb *out, const char *name, const char *type, const char *help)
{
    sb_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void pool_figures(sb *out, const char *pool, const store *s, const char *which)
{
    if (!s)
        return;
    store_stats st;
    store_get_stats(s, &st);
    char labels[64];
    snprintf(labels, sizeof labels, "pool=\"%s\"", pool);
    if (!strcmp(which, "wait"))
        metrics_hist_render(out, "sendflow_db_pool_wait_seconds", labels, &st.wait);
    else if (!strcmp(which, "query"))
        metrics_hist_render(out, "sendflow_db_query_duration_seconds", labels, &st.query);
    else if (!strcmp(which, "refused"))
        sb_addf(out, "sendflow_db_jobs_refused_total{%s} %llu\n", labels,
                (unsigned long long)st.refused);
    else if (!strcmp(which, "connected"))
        sb_addf(out, "sendflow_db_connections{%s} %d\n", labels, st.connected);
    else if (!strcmp(which, "size"))
        sb_addf(out, "sendflow_db_pool_size{%s} %d\n", labels, st.size);
    else if (!strcmp(which, "busy"))
        sb_addf(out, "sendflow_db_jobs_in_flight{%s} %zu\n", labels, store_busy(s));
}

static void pools(sf_daemon *d, sb *out, const char *which)
{
    pool_figures(out, "main", d->store, which);
    pool_figures(out, "work", d->work_store, which);
}

static void db_figures(const json_t *db, sb *out)
{
    head(out, "sendflow_database_up", "gauge",
         "1 when the database answered this scrape's query, else 0 (the figures below it are "
         "then absent)");
    sb_addf(out, "sendflow_database_up %d\n", db ? 1 : 0);
    if (!db)
        return;
    head(out, "sendflow_events_recorded", "gauge", "events recorded (voided ones included)");
    sb_addf(out, "sendflow_events_recorded %lld\n",
            (long long)json_integer_value(json_object_get(db, "events")));
    head(out, "sendflow_escalations", "gauge",
         "escalations by level and state (pending, fired and open, acknowledged, resolved, "
         "cancelled)");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(db, "escalations"), i, e)
    {
        sb_add(out, "sendflow_escalations{level=\"");
        add_label(out, json_string_value(json_object_get(e, "level")));
        sb_add(out, "\",state=\"");
        add_label(out, json_string_value(json_object_get(e, "state")));
        sb_addf(out, "\"} %lld\n", (long long)json_integer_value(json_object_get(e, "n")));
    }
    head(out, "sendflow_outbox_notices", "gauge", "notices in the outbox by delivery status");
    static const char *const statuses[] = {"pending", "sending", "sent", "failed"};
    json_t *ob = json_object_get(db, "outbox");
    for (size_t k = 0; k < sizeof statuses / sizeof statuses[0]; k++)
        sb_addf(out, "sendflow_outbox_notices{status=\"%s\"} %lld\n", statuses[k],
                (long long)json_integer_value(json_object_get(ob, statuses[k])));
    head(out, "sendflow_delivery_attempts", "gauge",
         "delivery attempts recorded on the notices in the outbox");
    sb_addf(out, "sendflow_delivery_attempts %lld\n",
            (long long)json_integer_value(json_object_get(db, "attempts")));
}

void metrics_render(sf_daemon *d, const json_t *db, sb *out)
{
    metrics *m = d->metrics;
    head(out, "sendflow_requests_total", "counter",
         "protocol requests answered, by op and result (ok, or the error code); the HTTP "
         "pages count under the ops they ran");
    for (int o = 0; o < NOPS; o++)
        for (int r = 0; r < NRESULTS; r++) {
            if (!m->requests[o][r])
                continue;
            sb_addf(out, "sendflow_requests_total{op=\"%s\",result=\"%s\"} %llu\n",
                    o == PROTO_OP_COUNT ? "unknown" : proto_op_name((proto_op)o),
                    r == RESULT_OK      ? "ok"
                    : r == RESULT_OTHER ? "other"
                                        : proto_err_code((proto_err)r),
                    (unsigned long long)m->requests[o][r]);
        }
    head(out, "sendflow_request_duration_seconds", "histogram",
         "time from a request's arrival to its answer, by op");
    for (int o = 0; o < NOPS; o++) {
        if (!m->latency[o].count)
            continue;
        char labels[64];
        snprintf(labels, sizeof labels, "op=\"%s\"",
                 o == PROTO_OP_COUNT ? "unknown" : proto_op_name((proto_op)o));
        metrics_hist_render(out, "sendflow_request_duration_seconds", labels, &m->latency[o]);
    }
    head(out, "sendflow_http_responses_total", "counter", "HTTP responses by status");
    for (size_t i = 0; i < m->nhttp; i++)
        sb_addf(out, "sendflow_http_responses_total{status=\"%d\"} %llu\n", m->http[i].status,
                (unsigned long long)m->http[i].n);
    head(out, "sendflow_connections", "gauge", "clients connected to the protocol sockets");
    sb_addf(out, "sendflow_connections %zu\n", d->server ? server_clients(d->server) : 0);
    head(out, "sendflow_db_pool_wait_seconds", "histogram",
         "time a database job waited for a connection of its pool");
    pools(d, out, "wait");
    head(out, "sendflow_db_query_duration_seconds", "histogram",
         "time from sending a statement to its result, by pool");
    pools(d, out, "query");
    head(out, "sendflow_db_jobs_refused_total", "counter",
         "database jobs refused because no connection could be had (database down, stopping)");
    pools(d, out, "refused");
    head(out, "sendflow_db_connections", "gauge", "database connections up, by pool");
    pools(d, out, "connected");
    head(out, "sendflow_db_pool_size", "gauge", "database connections configured, by pool");
    pools(d, out, "size");
    head(out, "sendflow_db_jobs_in_flight", "gauge", "database jobs queued or running, by pool");
    pools(d, out, "busy");
    size_t processes, batches;
    bool running = recompute_progress(d, &processes, &batches);
    head(out, "sendflow_recompute_running", "gauge", "1 while a recompute runs");
    sb_addf(out, "sendflow_recompute_running %d\n", running ? 1 : 0);
    head(out, "sendflow_recompute_processes", "gauge",
         "processes the running recompute has read so far (0 when none runs)");
    sb_addf(out, "sendflow_recompute_processes %zu\n", processes);
    head(out, "sendflow_recompute_batches", "gauge",
         "batches the running recompute has written so far (0 when none runs)");
    sb_addf(out, "sendflow_recompute_batches %zu\n", batches);
    db_figures(db, out);
}
