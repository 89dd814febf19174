/*
 * loadgen: a load generator for sendflowd's socket protocol.
 *
 * C client threads each open their own cases and walk each one through an EHC
 * needs assessment (case_open, start, decision, advice requested and
 * received, draft, final plan): every request changes data, so every reply
 * means a committed transaction. Each client sends one request and waits for
 * its reply before the next (a synchronous integration), recording the
 * latency of each. At the end it prints the write throughput and the latency
 * percentiles, and a RESULT line for scripts.
 *
 *   loadgen [--socket PATH] [--clients C] [--events N] [--prefix P] [--on DATE]
 *
 * Event dates are in 2025, so the daemon may run on the real clock (or on a
 * simulated clock later than 2025-06-01): then every escalation level of the
 * walk is already due when it is planned. With --on DATE every step is dated
 * DATE (run the daemon on a simulated clock at that day): each deadline is
 * then weeks ahead and no level is due, as for a team recording today's work.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sfconn.h"
#include "util.h"

/* One step of the walk through an assessment. */
typedef struct lg_step {
    const char *op;   /* "case_open", "start" or "event" */
    const char *type; /* event type, or NULL */
    const char *on;   /* date, or NULL */
    const char *attr; /* attribute name, or NULL */
    const char *val;  /* attribute value, or NULL */
} lg_step;

static const lg_step lg_steps[] = {
    {"case_open", NULL, NULL, NULL, NULL},
    {"start", NULL, "2025-01-06", NULL, NULL},
    {"event", "decision_to_assess", "2025-02-03", "outcome", "yes"},
    {"event", "advice_requested", "2025-02-04", "from", "education"},
    {"event", "advice_requested", "2025-02-04", "from", "health"},
    {"event", "advice_received", "2025-03-03", "from", "education"},
    {"event", "advice_received", "2025-03-04", "from", "health"},
    {"event", "draft_plan_issued", "2025-04-07", NULL, NULL},
    {"event", "final_plan_issued", "2025-05-12", NULL, NULL},
};
#define LG_NSTEPS (sizeof lg_steps / sizeof lg_steps[0])

/* One client thread's work and results. */
typedef struct lg_client {
    pthread_t thread;
    int index;             /* 0..clients-1 */
    long n;                /* requests to send */
    double *lat_ms;        /* owned: latency of each request, n of them */
    long done;             /* requests answered */
    long errors;           /* replies with ok:false */
    char first_error[512]; /* the first error reply, for the report */
    int failed;            /* a connection or protocol failure stopped it */
} lg_client;

static const char *lg_socket = "./var/sendflowd.sock";
static const char *lg_prefix = NULL;
static const char *lg_on = NULL; /* --on: the date of every step, else each step's own */

static double lg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The request for step s of case number k of client c; caller frees. */
static char *lg_request(const lg_client *c, long k, const lg_step *s)
{
    char ref[128], key[160];
    snprintf(ref, sizeof ref, "%s%d-%ld", lg_prefix, c->index, k);
    json_t *req = json_pack("{s:s, s:s}", "op", s->op, "case", ref);
    if (strcmp(s->op, "start") == 0) {
        json_object_set_new(req, "workflow", json_string("ehcp-assessment"));
        json_object_set_new(req, "on", json_string(lg_on ? lg_on : s->on));
    } else if (strcmp(s->op, "event") == 0) {
        json_object_set_new(req, "type", json_string(s->type));
        json_object_set_new(req, "on", json_string(lg_on ? lg_on : s->on));
        json_t *attrs = json_object();
        if (s->attr)
            json_object_set_new(attrs, s->attr, json_string(s->val));
        json_object_set_new(req, "attrs", attrs);
        snprintf(key, sizeof key, "lg-%s-%s-%s", s->type, s->attr ? s->val : "", s->on);
        json_object_set_new(req, "key", json_string(key));
    }
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!line)
        abort();
    return line;
}

static void *lg_run(void *arg)
{
    lg_client *c = arg;
    sfc_conn r;
    if (sfc_connect(&r, lg_socket) != 0) {
        snprintf(c->first_error, sizeof c->first_error, "connect %s: %s", lg_socket,
                 strerror(errno));
        c->failed = 1;
        return NULL;
    }
    for (long i = 0; i < c->n; i++) {
        const lg_step *s = &lg_steps[i % LG_NSTEPS];
        char *line = lg_request(c, i / (long)LG_NSTEPS, s);
        sb out = {0};
        sb_add(&out, line);
        sb_add(&out, "\n");
        free(line);
        double t0 = lg_now_ms();
        int wrote = sfc_send_all(&r, out.buf, out.len);
        sb_free(&out);
        const char *reply = NULL;
        size_t reply_len;
        if (wrote != 0 || sfc_read_line(&r, &reply, &reply_len) != 0) {
            snprintf(c->first_error, sizeof c->first_error, "connection lost after %ld replies",
                     c->done);
            c->failed = 1;
            break;
        }
        c->lat_ms[c->done++] = lg_now_ms() - t0;
        json_error_t jerr;
        json_t *rep = json_loads(reply, 0, &jerr);
        if (!rep || !json_is_true(json_object_get(rep, "ok"))) {
            if (c->errors++ == 0)
                snprintf(c->first_error, sizeof c->first_error, "%s", reply);
        }
        json_decref(rep);
    }
    sfc_close(&r);
    return NULL;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double lg_percentile(const double *v, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void lg_usage(void)
{
    fprintf(stderr, "usage: loadgen [--socket PATH] [--clients C] [--events N] [--prefix P] "
                    "[--on DATE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long clients = 8, events = 16000;
    char prefix_buf[64];
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            lg_usage();
        if (!strcmp(argv[i], "--socket"))
            lg_socket = argv[++i];
        else if (!strcmp(argv[i], "--clients"))
            clients = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--events"))
            events = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--prefix"))
            lg_prefix = argv[++i];
        else if (!strcmp(argv[i], "--on"))
            lg_on = argv[++i];
        else
            lg_usage();
    }
    if (clients < 1 || clients > 1024 || events < clients)
        lg_usage();
    if (!lg_prefix) {
        snprintf(prefix_buf, sizeof prefix_buf, "LG%ld-%d-", (long)time(NULL), (int)getpid());
        lg_prefix = prefix_buf;
    }

    lg_client *cs = xcalloc((size_t)clients, sizeof *cs);
    for (long i = 0; i < clients; i++) {
        cs[i].index = (int)i;
        cs[i].n = events / clients + (i < events % clients ? 1 : 0);
        cs[i].lat_ms = xcalloc((size_t)cs[i].n, sizeof(double));
    }
    double t0 = lg_now_ms();
    for (long i = 0; i < clients; i++)
        if (pthread_create(&cs[i].thread, NULL, lg_run, &cs[i]) != 0) {
            fprintf(stderr, "loadgen: pthread_create failed\n");
            return 1;
        }
    for (long i = 0; i < clients; i++)
        pthread_join(cs[i].thread, NULL);
    double secs = (lg_now_ms() - t0) / 1e3;

    long done = 0, errors = 0, failed = 0;
    for (long i = 0; i < clients; i++) {
        done += cs[i].done;
        errors += cs[i].errors;
        failed += cs[i].failed;
    }
    double *all = xcalloc((size_t)(done ? done : 1), sizeof(double));
    long k = 0;
    for (long i = 0; i < clients; i++) {
        memcpy(all + k, cs[i].lat_ms, (size_t)cs[i].done * sizeof(double));
        k += cs[i].done;
        if (cs[i].first_error[0])
            fprintf(stderr, "loadgen: client %ld: %s\n", i, cs[i].first_error);
    }
    qsort(all, (size_t)done, sizeof(double), lg_cmp_double);
    double rate = secs > 0 ? (double)done / secs : 0;
    double p50 = lg_percentile(all, done, 50), p99 = lg_percentile(all, done, 99);
    double max = done ? all[done - 1] : 0;
    printf("loadgen: %ld clients, %ld of %ld requests answered in %.2fs, %ld errors\n", clients,
           done, events, secs, errors);
    printf("loadgen: %.0f events/s, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", rate, p50,
           p99, max);
    printf("RESULT events_per_s=%.1f p50_ms=%.3f p99_ms=%.3f errors=%ld\n", rate, p50, p99, errors);
    for (long i = 0; i < clients; i++)
        free(cs[i].lat_ms);
    free(cs);
    free(all);
    return errors || failed ? 1 : 0;
}
