/*
 * sendflowd: the daemon. Start-up is deliberately strict and sequential
 * (settings, workflows, migrations, then sockets), so a misconfiguration stops
 * it with one clear line before it accepts any work; after that everything
 * runs on one libuv loop. SIGTERM / SIGINT stop it cleanly: no new requests,
 * in-flight ones finish and are answered; the outbox worker claims nothing
 * more, lets its transfers finish (DELIVERY_STOP_GRACE_MS), records them and
 * hands back those still running; only then the connections close; exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "clock.h"
#include "config.h"
#include "chan.h"
#include "defcheck.h"
#include "delivery.h"
#include "esc.h"
#include "evalio.h"
#include "handlers.h"
#include "http.h"
#include "bounds.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"
#include "preflight.h"
#include "recompute.h"
#include "reload.h"
#include "reports.h"
#include "listener.h"
#include "load.h"
#include "scheduler.h"
#include "sdnotify.h"
#include "transfers.h"
#include "watch.h"
#include "server.h"
#include "sf_config.h"
#include "store.h"
#include "tls.h"
#include "wf.h"

/*
 * How long a clean stop may take before we give up on stragglers: longer than
 * the longest a database statement may run (statement_timeout, store.c), so
 * an in-flight request is always answered first.
 */
#define SHUTDOWN_TIMEOUT_MS 45000
#define TRANSFER_SWEEP_MS   (60 * 60 * 1000)

typedef struct sf_main {
    sf_daemon d;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t shutdown_timer;
    uv_timer_t transfer_timer; /* the hourly phase-transfer sweep */
    bool store_closed;         /* d.store is closed (the requests are over) */
    bool server_stopped;       /* the sockets are closed, their requests answered */
    bool http_stopped;         /* the --http front end is closed, its exchanges answered */
    bool delivery_stopped;     /* the outbox worker is gone, its last outcomes written */
    sdnotify notify;           /* READY, STOPPING and the watchdog for systemd */
    int exit_code;
} sf_main;

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void on_work_store_closed(void *arg)
{
    sf_main *m = arg;
    m->d.work_store = NULL;
    uv_close((uv_handle_t *)&m->sigterm, on_handle_closed);
    uv_close((uv_handle_t *)&m->sigint, on_handle_closed);
    uv_close((uv_handle_t *)&m->sighup, on_handle_closed);
    uv_close((uv_handle_t *)&m->shutdown_timer, on_handle_closed);
    uv_close((uv_handle_t *)&m->transfer_timer, on_handle_closed);
    sdnotify_close(&m->notify);
    log_info("stopped cleanly");
}

/*
 * The work store closes last: once the requests are over (the main store is
 * closed) and the outbox worker has written its last outcomes (the notices
 * it hands back), so a stopping daemon never leaves a notice leased.
 */
static void close_work_store(sf_main *m)
{
    if (m->store_closed && m->delivery_stopped && m->d.work_store)
        store_close(m->d.work_store, on_work_store_closed, m);
}

static void on_store_closed(void *arg)
{
    sf_main *m = arg;
    m->d.store = NULL;
    m->store_closed = true;
    close_work_store(m);
}

static void on_delivery_stopped(void *arg)
{
    sf_main *m = arg;
    m->delivery_stopped = true;
    close_work_store(m);
}

/* The requests' store closes once both the sockets and the HTTP front end have answered. */
static void close_store(sf_main *m)
{
    if (m->server_stopped && m->http_stopped)
        store_close(m->d.store, on_store_closed, m);
}

static void on_server_stopped(void *arg)
{
    sf_main *m = arg;
    m->d.server = NULL;
    m->server_stopped = true;
    close_store(m);
}

static void on_http_stopped(void *arg)
{
    sf_main *m = arg;
    m->http_stopped = true;
    close_store(m);
}

/* Another daemon (or this one) changed something the loop should look at. */
static void on_notify(const char *channel, const char *payload, void *arg)
{
    sf_daemon *d = arg;
    if (!channel)
        scheduler_kick(d); /* reconnected: anything may have been missed */
    else if (!strcmp(channel, "sendflow_escalations"))
        scheduler_planned(d, payload);
    if (channel && !strcmp(channel, "sendflow_watch"))
        watch_broadcast(d, payload);
    if (!channel || !strcmp(channel, "sendflow_outbox"))
        delivery_kick(d);
}

static void on_transfer_timer(uv_timer_t *t)
{
    sf_main *m = t->data;
    transfers_sweep(&m->d, NULL);
}

static void on_shutdown_timeout(uv_timer_t *t)
{
    (void)t;
    log_error("shutdown took longer than %d s; exiting with work unfinished (uncommitted work "
              "was not acknowledged)",
              SHUTDOWN_TIMEOUT_MS / 1000);
    exit(1);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    sf_main *m = h->data;
    if (!m->d.stopping)
        reload_run(&m->d, "SIGHUP", NULL, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    sf_main *m = h->data;
    if (m->d.stopping) {
        log_info("%s again: still stopping", strsignal(signum));
        return;
    }
    log_info("%s: stopping (%zu clients, %zu database jobs in flight, %zu of firing and "
             "delivery)",
             strsignal(signum), server_clients(m->d.server), store_busy(m->d.store),
             store_busy(m->d.work_store));
    m->d.stopping = true;
    sdnotify_stopping(&m->notify, "stopping: finishing requests in flight");
    uv_timer_stop(&m->transfer_timer);
    delivery_stop(&m->d, on_delivery_stopped, m);
    watch_stop(&m->d);
    scheduler_stop(&m->d);
    listener_stop(m->d.listener);
    m->d.listener = NULL;
    uv_timer_start(&m->shutdown_timer, on_shutdown_timeout, SHUTDOWN_TIMEOUT_MS, 0);
    uv_unref((uv_handle_t *)&m->shutdown_timer);
    http_stop(&m->d, on_http_stopped, m);
    server_stop(m->d.server, on_server_stopped, m);
}

/*
 * Every definition under --workflows (load_all): 0, or -1 after saying why.
 * Without a calendars directory the standing bank-holiday rules apply and no
 * school terms are known; without service.yaml the defaults (svc.h).
 */
static int load_definitions(sf_daemon *d)
{
    load_defs defs;
    sb notes = {0}, err = {0};
    if (load_all(d->cfg.workflows, &defs, &notes, &err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", sb_str(&err));
        sb_free(&notes);
        sb_free(&err);
        return -1;
    }
    d->workflows = defs.workflows;
    d->cal = defs.cal;
    d->svc = defs.svc;
    d->esc = defs.esc;
    d->chan = defs.chan;
    for (size_t i = 0; i < d->workflows->n; i++)
        log_info("workflow %s version %d loaded from %s", d->workflows->items[i]->name,
                 d->workflows->items[i]->version, d->workflows->items[i]->file);
    for (const char *p = sb_str(&notes); *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        log_warn("%.*s", n, p);
        p += n + (nl ? 1 : 0);
    }
    log_info("calendar: %s", hol_version(d->cal));
    log_info("service settings: %s (%s, version %d)", d->svc->service, d->svc->file,
             d->svc->version);
    if (d->esc->nlevels || d->esc->file)
        log_info("escalation policy: %s (version %d, %zu levels)",
                 d->esc->file ? d->esc->file : "(none)", d->esc->version, d->esc->nlevels);
    sb_free(&notes);
    sb_free(&err);
    return 0;
}

/*
 * A --database given on the command line with a password: overwrite it in
 * our argv, so ps and /proc/PID/cmdline stop showing it (from then on: the
 * first instants are visible; SENDFLOW_DATABASE or a service file avoid even
 * those). config_load has copied it already.
 */
static void hide_database_password(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *v = NULL;
        if (!strcmp(argv[i], "--database") && i + 1 < argc)
            v = argv[i + 1];
        else if (!strncmp(argv[i], "--database=", 11))
            v = argv[i] + 11;
        if (!v)
            continue;
        sb clean = {0};
        sb_add_redacted(&clean, v);
        if (strcmp(sb_str(&clean), v) != 0)
            memset(v, '*', strlen(v));
        sb_free(&clean);
    }
}

int main(int argc, char **argv)
{
    static sf_main m;
    char err[1024];
    sf_daemon *d = &m.d;

    if (config_load(&d->cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        return 2;
    }
    hide_database_password(argc, argv);
    if (d->cfg.help || d->cfg.version) {
        sb out = {0};
        if (d->cfg.help)
            config_usage(&out);
        else
            sb_add(&out, "sendflowd " SF_VERSION "\n");
        fputs(sb_str(&out), stdout);
        sb_free(&out);
        config_free(&d->cfg);
        return 0;
    }
    log_level level;
    if (log_level_parse(d->cfg.log_level, &level) != 0) {
        fprintf(stderr, "sendflowd: invalid --log-level \"%s\" (debug, info, warn, error)\n",
                d->cfg.log_level);
        return 2;
    }
    log_set_level(level);
    log_format format;
    if (log_format_parse(d->cfg.log_format, &format) != 0) {
        fprintf(stderr, "sendflowd: invalid --log-format \"%s\" (plain, journal, auto)\n",
                d->cfg.log_format);
        return 2;
    }
    log_set_format(format);
    /* --check-config answers in one line: the loaders' progress would bury it. */
    if (d->cfg.check_config && level < LOG_WARN)
        log_set_level(LOG_WARN);
    if (http_check(&d->cfg, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        return 2;
    }
    if (clock_init(&d->clock, d->cfg.clock, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        return 2;
    }

    if (load_definitions(d) != 0) {
        config_free(&d->cfg);
        return 1;
    }
    if (bounds_new(&d->bounds, &d->cfg, d->esc, d->svc, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        return 2;
    }
    /* Each client is a descriptor: the default soft limit (often 1024) is below --max-clients. */
    long nofile = bounds_raise_nofile();
    if (nofile >= 0 && nofile < (long)d->cfg.max_clients + 64)
        log_warn("open files limited to %ld (ulimit -n): fewer than --max-clients %d connections "
                 "fit; raise the hard limit",
                 nofile, d->cfg.max_clients);
    log_info("limits: %s", bounds_describe(d->bounds));
    if (d->cfg.check_config)
        return preflight_run(d);

    int applied = 0;
    sdnotify_status("applying migrations from %s", d->cfg.schema);
    if (migrate_apply(d->cfg.database, d->cfg.schema, &applied, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        wf_set_free(d->workflows);
        config_free(&d->cfg);
        return 1;
    }
    log_info("schema up to date (%d migration%s applied now)", applied, applied == 1 ? "" : "s");
    if (defcheck_run(d->cfg.database, d->workflows, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        return 1;
    }

    uv_loop_t *loop = uv_default_loop();
    d->loop = loop;
    /* Every module's statements are prepared on every connection of both pools. */
    size_t nops;
    const store_stmts *optables = handlers_statement_tables(&nops);
    store_stmts tables[16];
    size_t ntables = 0;
    for (size_t i = 0; i < nops && ntables < 11; i++)
        tables[ntables++] = optables[i];
    tables[ntables].stmts = recompute_statements(&tables[ntables].n), ntables++;
    tables[ntables].stmts = transfers_statements(&tables[ntables].n), ntables++;
    tables[ntables].stmts = scheduler_statements(&tables[ntables].n), ntables++;
    tables[ntables].stmts = reports_statements(&tables[ntables].n), ntables++;
    tables[ntables].stmts = delivery_statements(&tables[ntables].n), ntables++;
    tables[ntables++] = metrics_statements;
    d->store = store_new(loop, "main", d->cfg.database, d->cfg.pool, tables, ntables);
    /* The scheduler's and the outbox worker's own connections. */
    d->work_store = store_new(loop, "work", d->cfg.database, d->cfg.work_pool, tables, ntables);
    handlers_start(d);
    /* Every connection stamps what it writes with the definitions it was computed under. */
    reload_stamp_sessions(d);
    /* The outbox worker (it refuses a webhook whose secret is not in the environment). */
    if (delivery_start(d, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        exit(1);
    }
    if (access_load(&d->access, d->cfg.access, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        exit(1);
    }
    tls_server *tls = NULL;
    if (d->cfg.listen && tls_server_new(&tls, d->cfg.tls_cert, d->cfg.tls_key, err, sizeof err)) {
        fprintf(stderr, "sendflowd: %s\n", err);
        exit(1);
    }
    if (server_start(&d->server, loop, d->cfg.socket, d->cfg.listen, d->cfg.socket_group, d->access,
                     d->cfg.max_clients, handlers_dispatch, d, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        exit(1);
    }
    if (tls)
        server_tls(d->server, tls);
    server_set_bounds(d->server, d->bounds);
    d->metrics = metrics_new();
    server_observe(d->server, metrics_observe, d->metrics);
    if (d->cfg.http && http_start(d, err, sizeof err) != 0) {
        fprintf(stderr, "sendflowd: %s\n", err);
        exit(1);
    }
    uv_signal_init(loop, &m.sigterm);
    uv_signal_init(loop, &m.sigint);
    uv_timer_init(loop, &m.shutdown_timer);
    m.sigterm.data = m.sigint.data = &m;
    uv_signal_start(&m.sigterm, on_signal, SIGTERM);
    uv_signal_start(&m.sigint, on_signal, SIGINT);
    /* SIGHUP: read the definitions again (reload.h); a bad change is refused and logged. */
    uv_signal_init(loop, &m.sighup);
    m.sighup.data = &m;
    uv_signal_start(&m.sighup, on_sighup, SIGHUP);
    /* A client that vanishes must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);

    char now[CLOCK_STR_LEN];
    log_info("ready on %s%s%s (clock %s %s Europe/London, pool %d, work pool %d)", d->cfg.socket,
             d->cfg.listen ? " and " : "", d->cfg.listen ? d->cfg.listen : "",
             d->clock.simulated ? "simulated" : "real", clock_now_str(&d->clock, now), d->cfg.pool,
             d->cfg.work_pool);

    if (d->cfg.access)
        log_info("access: %zu users from %s; the daemon's own user and root are admin",
                 access_users(d->access), d->cfg.access);
    else
        log_info("access: no --access file: only the daemon's own user (and root) may connect, "
                 "as admin");
    if (d->cfg.listen)
        log_info("access: TCP clients on %s over TLS (%s), identified by token", d->cfg.listen,
                 d->cfg.tls_cert);

    sb status = {0};
    sb_addf(&status, "serving on %s%s%s", d->cfg.socket, d->cfg.listen ? " and " : "",
            d->cfg.listen ? d->cfg.listen : "");
    sdnotify_ready(&m.notify, loop, sb_str(&status));
    sb_free(&status);

    /* Definitions changed since processes were last computed: bring them in line. */
    recompute_run(d, false, NULL, NULL);
    /* Escalations that fell due while we were down, then as they fall due. */
    watch_init(d);
    scheduler_start(d);
    static const char *const channels[] = {"sendflow_escalations", "sendflow_outbox",
                                           "sendflow_watch", NULL};
    d->listener = listener_start(loop, d->cfg.database, channels, on_notify, d);
    /* Phase transfers that opened while we were down, then every hour. */
    uv_timer_init(loop, &m.transfer_timer);
    m.transfer_timer.data = &m;
    uv_timer_start(&m.transfer_timer, on_transfer_timer, 0, TRANSFER_SWEEP_MS);

    uv_run(loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(loop);
    if (rc != 0)
        log_warn("loop closed with handles still open: %s", uv_strerror(rc));
    handlers_free(d);
    reload_free(d);
    wf_set_free(d->workflows);
    hol_free(d->cal);
    svc_free(d->svc);
    esc_free(d->esc);
    chan_free(d->chan);
    free(d->defs_json);
    access_free(d->access);
    tls_server_free(tls);
    bounds_free(d->bounds);
    metrics_free(d->metrics);
    config_free(&d->cfg);
    return m.exit_code;
}
