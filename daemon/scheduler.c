/*
 * scheduler: the escalation scheduler (see scheduler.h).
 */
#include "scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chan.h"
#include "esc.h"
#include "log.h"
#include "reports.h"

enum {
    SCH_FIRE,
    SCH_DIGEST,
    SCH_NEXT,
    SCH_PURGE,
};

static const store_stmt statements[] = {
    /*
     * One row per level claimed: id, level, case, deadline, due, how many
     * told, superseded, the people named who have no channel.
     */
    {"sf_sched_fire", "SELECT escalation::text, level, case_ref, deadline,"
                      " to_char(due, 'YYYY-MM-DD'), recipients::text, superseded, unreachable"
                      " FROM sf_fire_escalations($1::date, $2, $3::jsonb, $4::integer)"},
    {"sf_sched_digest", "SELECT sf_queue_digests($1::date, $2::date, $3::jsonb)"},
    {"sf_sched_next", "SELECT to_char(min(fire_on), 'YYYY-MM-DD') FROM escalations"
                      " WHERE status = 'pending'"},
    /* $1 today, $2 --retention days, $3 the audit row's who: cases purged. */
    {"sf_sched_purge", "SELECT sf_purge_cases($1::date, $2::integer, $3::jsonb)"},
};

const store_stmt *scheduler_statements(size_t *n)
{
    *n = sizeof statements / sizeof statements[0];
    return statements;
}

typedef struct scheduler scheduler;

/* One of a tick's firing lanes: its own connection, batches growing to SCHEDULER_BATCH. */
typedef struct sch_lane {
    scheduler *s;
    int limit;   /* levels its next statement claims at most */
    int batches; /* statements it has run this tick */
} sch_lane;

struct scheduler {
    sf_daemon *d;
    uv_timer_t timer;      /* the day the next level fires (or sooner) */
    uv_timer_t hold_timer; /* while a tick is held back for an import: looks again */
    int open_handles;      /* the two timers until both are closed */
    bool running, again, stopped;
    char *routing;       /* the routing JSON sf_fire_escalations takes */
    char id[96];         /* who fired: host and pid */
    char via[104];       /* the purge's audit rows' via: "daemon:" and id */
    cal_day today;       /* the tick's day */
    cal_day digest_on;   /* the last day the digests were queued */
    cal_day packs_on;    /* the last day the board packs were asked for */
    cal_day purged_on;   /* the last day the retention purge ran (--retention) */
    cal_day next;        /* the day the timer is set for */
    size_t fired;        /* in this tick */
    int importing;       /* import chunks in progress (scheduler_import_begin) */
    bool held;           /* a tick held back for them ... */
    uint64_t held_at;    /* ... since then (uv_now) */
    uint64_t quiet_from; /* the last chunk's end (uv_now) */
    sch_lane lanes[SCHEDULER_LANES];
    int lanes_left;   /* lanes of this tick still firing */
    bool lane_failed; /* one could not fire: no digests this tick, as before */
};

/*
 * What the SQL needs to find people: each role ({"attribute", "map"} or
 * {"people"}), each person's channels and addresses, the digest's roles.
 */
static char *routing_json(const esc_policy *p, const chan_config *c)
{
    json_t *roles = json_object(), *people = json_object(), *digest = json_array();
    for (size_t i = 0; p && i < p->nroles; i++) {
        const esc_role *r = &p->roles[i];
        json_t *spec = json_object();
        if (r->attribute) {
            json_object_set_new(spec, "attribute", json_string(r->attribute));
            if (r->map) {
                json_t *m = json_object();
                for (size_t k = 0; k < r->nmap; k++)
                    json_object_set_new(m, r->map[k].key, json_string(r->map[k].value));
                json_object_set_new(spec, "map", m);
            }
        } else {
            json_t *a = json_array();
            for (size_t k = 0; k < r->npeople; k++)
                json_array_append_new(a, json_string(r->people[k]));
            json_object_set_new(spec, "people", a);
        }
        json_object_set_new(roles, r->name, spec);
    }
    for (size_t i = 0; c && i < c->npeople; i++) {
        const chan_person *pp = &c->people[i];
        json_t *t = json_array();
        if (pp->email)
            json_array_append_new(t,
                                  json_pack("{s:s,s:s}", "channel", "email", "target", pp->email));
        if (pp->webhook)
            json_array_append_new(
                t, json_pack("{s:s,s:s}", "channel", "webhook", "target", pp->webhook));
        if (pp->command)
            json_array_append_new(
                t, json_pack("{s:s,s:s}", "channel", "command", "target", pp->command));
        json_object_set_new(people, pp->name, t);
    }
    for (size_t i = 0; p && p->digest && i < p->ndigest_roles; i++)
        json_array_append_new(digest, json_string(p->digest_roles[i]));
    json_t *unassigned = json_array();
    for (size_t i = 0; p && i < p->nunassigned; i++)
        json_array_append_new(unassigned, json_string(p->unassigned[i]));
    json_t *o = json_pack("{s:o,s:o,s:o,s:o}", "roles", roles, "people", people, "digest_roles",
                          digest, "unassigned", unassigned);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static void tick(scheduler *s);

/*
 * Hold back a tick for an import (scheduler_import_begin) in progress or
 * paused for less than SCHEDULER_QUIET_MS, for SCHEDULER_YIELD_MS at most:
 * true when held, false when the tick should run now.
 */
static bool holding(scheduler *s)
{
    uint64_t now = uv_now(s->d->loop);
    if (s->importing > 0 && !s->held) {
        s->held = true;
        s->held_at = now;
    }
    if (s->held && now - s->held_at < SCHEDULER_YIELD_MS &&
        (s->importing > 0 || now - s->quiet_from < SCHEDULER_QUIET_MS))
        return true;
    s->held = false;
    return false;
}

/* A held tick: look again every SCHEDULER_QUIET_MS until it may run. */
static void on_hold_timer(uv_timer_t *t)
{
    scheduler *s = t->data;
    if (holding(s))
        uv_timer_start(&s->hold_timer, on_hold_timer, SCHEDULER_QUIET_MS, 0);
    else
        tick(s);
}

static void on_timer(uv_timer_t *t)
{
    tick(t->data);
}

/* The tick is over: arm the timer for the next day anything fires, then the daily work. */
static void close_timers(scheduler *s);

static void done(scheduler *s, const char *next_day)
{
    sf_daemon *d = s->d;
    s->running = false;
    if (s->stopped) {
        close_timers(s);
        return;
    }
    if (s->fired)
        log_info("escalations: %zu fired", s->fired);
    if (!s->stopped) {
        cal_day next = s->today + 1, pending;
        if (next_day && cal_parse(next_day, &pending) == 0 && pending < next)
            next = pending;
        s->next = next;
        uint64_t ms = clock_ms_until_day(&d->clock, next);
        if (ms == 0)
            ms = 1000; /* due already (the clock moved meanwhile): soon, not in a loop */
        if (ms != UINT64_MAX)
            uv_timer_start(&s->timer, on_timer, ms < SCHEDULER_MAX_MS ? ms : SCHEDULER_MAX_MS, 0);
        else
            uv_timer_stop(&s->timer); /* simulated: clock_set ticks */
    }
    /* Once a day: the board packs on the first working day of a month or quarter. */
    if (s->packs_on != s->today) {
        s->packs_on = s->today;
        reports_board_packs(d);
    }
    if (s->again && !s->stopped) {
        s->again = false;
        tick(s);
    }
}

static void on_next(store_tx *tx, PGresult *res, void *arg)
{
    scheduler *s = arg;
    char *next = NULL;
    if (res && store_ok(res) && !PQgetisnull(res, 0, 0))
        next = xstrdup(PQgetvalue(res, 0, 0));
    store_release(tx);
    done(s, next);
    free(next);
}

static void ask_next(store_tx *tx, scheduler *s)
{
    if (store_exec(tx, &statements[SCH_NEXT], 0, NULL, on_next, s) != 0) {
        store_release(tx);
        done(s, NULL);
    }
}

static void on_purged(store_tx *tx, PGresult *res, void *arg)
{
    scheduler *s = arg;
    if (!res) {
        store_release(tx);
        done(s, NULL);
        return;
    }
    if (store_ok(res)) {
        s->purged_on = s->today;
        int n = atoi(PQgetvalue(res, 0, 0));
        /* The count only: the references purged are in the audit trail, not the log. */
        if (n)
            log_info("retention: %d case%s purged (ended more than %d days ago)", n,
                     n == 1 ? "" : "s", s->d->cfg.retention_days);
    } else {
        log_warn("retention: purge: %s", PQresultErrorMessage(res)); /* tried again next tick */
    }
    ask_next(tx, s);
}

/*
 * Once a day with --retention: purge the personal data of the cases whose
 * processes all ended more than that many days before the daemon's today
 * (sf_purge_cases), with its audit rows, in one transaction. Then ask_next.
 */
static void purge_or_next(store_tx *tx, scheduler *s)
{
    int days = s->d->cfg.retention_days;
    if (days <= 0 || s->purged_on == s->today) {
        ask_next(tx, s);
        return;
    }
    char today[CAL_DATE_LEN], ndays[16], now[CLOCK_STR_LEN];
    snprintf(ndays, sizeof ndays, "%d", days);
    json_t *who = json_pack("{s:s,s:s,s:s,s:s}", "clock", clock_now_str(&s->d->clock, now), "who",
                            "sendflowd", "role", "admin", "via", s->via);
    char *who_s = json_dumps(who, JSON_COMPACT);
    json_decref(who);
    const char *params[3] = {cal_format(s->today, today), ndays, who_s};
    int rc = store_exec(tx, &statements[SCH_PURGE], 3, params, on_purged, s);
    free(who_s);
    if (rc != 0) {
        store_release(tx);
        done(s, NULL);
    }
}

static void on_digest(store_tx *tx, PGresult *res, void *arg)
{
    scheduler *s = arg;
    if (!res) {
        store_release(tx);
        done(s, NULL);
        return;
    }
    if (store_ok(res)) {
        s->digest_on = s->today;
        int n = atoi(PQgetvalue(res, 0, 0));
        if (n)
            log_info("escalations: %d digest notice%s queued", n, n == 1 ? "" : "s");
    } else {
        log_warn("escalations: digests: %s", PQresultErrorMessage(res));
    }
    purge_or_next(tx, s);
}

static void fire(store_tx *tx, sch_lane *l);

/*
 * The digests, the purge and the next day, once the last lane has fired
 * everything due (on its connection, tx; NULL when it has none).
 */
static void after_firing(store_tx *tx, scheduler *s)
{
    if (!tx || s->lane_failed) {
        if (tx)
            store_release(tx);
        done(s, NULL);
        return;
    }
    const esc_policy *p = s->d->esc;
    if (p && p->digest && s->digest_on != s->today) {
        char today[CAL_DATE_LEN], until[CAL_DATE_LEN];
        cal_day u = p->digest_unit == CAL_WORKING_DAYS
                        ? hol_add_working_days(s->d->cal, s->today, p->digest_n)
                        : cal_add(s->today, p->digest_n, p->digest_unit);
        const char *params[3] = {cal_format(s->today, today), cal_format(u, until), s->routing};
        if (store_exec(tx, &statements[SCH_DIGEST], 3, params, on_digest, s) != 0) {
            store_release(tx);
            done(s, NULL);
        }
        return;
    }
    purge_or_next(tx, s);
}

/* Lane l has nothing more to fire (or failed: failed): the last one goes on. */
static void lane_end(sch_lane *l, store_tx *tx, bool failed)
{
    scheduler *s = l->s;
    if (failed)
        s->lane_failed = true;
    if (--s->lanes_left > 0) {
        if (tx)
            store_release(tx);
        return;
    }
    after_firing(tx, s);
}

static void on_fired(store_tx *tx, PGresult *res, void *arg)
{
    sch_lane *l = arg;
    scheduler *s = l->s;
    if (!res || !store_ok(res)) {
        if (res)
            log_warn("escalations: firing: %s", PQresultErrorMessage(res));
        store_release(tx);
        lane_end(l, NULL, true);
        return;
    }
    size_t n = (size_t)PQntuples(res);
    for (int i = 0; i < (int)n; i++) {
        /*
         * A level whose roles name someone with no channel, or nobody (a
         * case without its officer or team), tells fewer people than the
         * policy means to: say so every time, so an operator can fix
         * channels.yaml or the case.
         */
        if (strcmp(PQgetvalue(res, i, 6), "t") != 0 && !PQgetisnull(res, i, 7))
            log_warn("escalation %s (%s, case %s, %s): %s not told: no channel in channels.yaml",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                     PQgetvalue(res, i, 3), PQgetvalue(res, i, 7));
        else if (strcmp(PQgetvalue(res, i, 6), "t") != 0 && !strcmp(PQgetvalue(res, i, 5), "0"))
            log_warn("escalation %s (%s, case %s, %s): its roles name nobody: not sent (is the"
                     " case's officer or team set, and mapped in channels.yaml?)",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                     PQgetvalue(res, i, 3));
    }
    for (int i = 0; i < (int)n && log_enabled(LOG_INFO); i++) {
        if (!strcmp(PQgetvalue(res, i, 6), "t"))
            log_info("escalation %s fired: %s %s %s (due %s) superseded by a later level: not sent",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                     PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        else
            log_info("escalation %s fired: %s %s %s (due %s) to %s recipient(s)",
                     PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                     PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
    }
    s->fired += n;
    if (n == (size_t)l->limit) {
        /*
         * More may be due: after a long stop, catch up batch by batch. The
         * first two of each lane are small, so that a burst of a thousand
         * is four statements shared evenly by the lanes and its first
         * notices are on the streams early; then each is twice as large,
         * up to SCHEDULER_BATCH (fewer statements for a large catch-up).
         */
        if (++l->batches >= 2)
            l->limit = l->limit * 2 < SCHEDULER_BATCH ? l->limit * 2 : SCHEDULER_BATCH;
        fire(tx, l);
        return;
    }
    lane_end(l, tx, false);
}

static void fire(store_tx *tx, sch_lane *l)
{
    scheduler *s = l->s;
    char today[CAL_DATE_LEN], limit[16];
    snprintf(limit, sizeof limit, "%d", l->limit);
    const char *params[4] = {cal_format(s->today, today), s->id, s->routing, limit};
    if (store_exec(tx, &statements[SCH_FIRE], 4, params, on_fired, l) != 0) {
        store_release(tx);
        lane_end(l, NULL, true);
    }
}

static void on_connection(store_tx *tx, void *arg)
{
    sch_lane *l = arg;
    if (!tx) {
        /* The database is down: the timer tries again. */
        lane_end(l, NULL, true);
        return;
    }
    fire(tx, l);
}

static void tick(scheduler *s)
{
    if (s->stopped)
        return;
    if (s->running) {
        s->again = true;
        return;
    }
    s->running = true;
    s->fired = 0;
    s->today = clock_today(&s->d->clock);
    /*
     * Lanes on connections of their own fire at once, SKIP LOCKED handing
     * them disjoint levels (a level superseded by one the other lane holds
     * sees it pending and due, as in one statement). Delivery's claims wait
     * for a connection meanwhile: the notices are queued all the sooner.
     */
    int n = s->d->cfg.work_pool < SCHEDULER_LANES ? s->d->cfg.work_pool : SCHEDULER_LANES;
    if (n < 1)
        n = 1;
    s->lanes_left = n;
    s->lane_failed = false;
    for (int i = 0; i < n; i++) {
        s->lanes[i].s = s;
        s->lanes[i].limit = SCHEDULER_FIRST;
        s->lanes[i].batches = 0;
    }
    for (int i = 0; i < n; i++)
        store_submit(s->d->work_store, on_connection, &s->lanes[i]);
}

void scheduler_start(sf_daemon *d)
{
    scheduler *s = xcalloc(1, sizeof *s);
    s->d = d;
    s->digest_on = s->packs_on = s->purged_on = CAL_NONE;
    s->routing = routing_json(d->esc, d->chan);
    char host[64] = "";
    gethostname(host, sizeof host - 1);
    snprintf(s->id, sizeof s->id, "%s:%ld", host, (long)getpid());
    snprintf(s->via, sizeof s->via, "daemon:%s", s->id);
    uv_timer_init(d->loop, &s->timer);
    s->timer.data = s;
    uv_timer_init(d->loop, &s->hold_timer);
    s->hold_timer.data = s;
    s->open_handles = 2;
    d->scheduler = s;
    tick(s);
}

void scheduler_reroute(sf_daemon *d)
{
    scheduler *s = d->scheduler;
    if (!s)
        return;
    /* A tick in flight sent the old routing already: its parameters were copied. */
    free(s->routing);
    s->routing = routing_json(d->esc, d->chan);
    tick(s);
}

void scheduler_kick(sf_daemon *d)
{
    if (d->scheduler)
        tick(d->scheduler);
}

void scheduler_planned(sf_daemon *d, const char *day)
{
    scheduler *s = d->scheduler;
    cal_day at;
    if (!s || s->stopped)
        return;
    if (!day || cal_parse(day, &at) != 0 || at <= clock_today(&d->clock)) {
        /* Due already (or we cannot tell): now, unless an import has the CPUs. */
        if (holding(s)) {
            if (!uv_is_active((uv_handle_t *)&s->hold_timer))
                uv_timer_start(&s->hold_timer, on_hold_timer, SCHEDULER_QUIET_MS, 0);
            return;
        }
        tick(s);
        return;
    }
    if (s->running || at >= s->next)
        return; /* the timer (or the tick in flight, which sets it) comes first */
    s->next = at;
    uint64_t ms = clock_ms_until_day(&d->clock, at);
    if (ms != UINT64_MAX)
        uv_timer_start(&s->timer, on_timer, ms < SCHEDULER_MAX_MS ? ms : SCHEDULER_MAX_MS, 0);
}

void scheduler_import_begin(sf_daemon *d)
{
    if (d->scheduler)
        d->scheduler->importing++;
}

void scheduler_import_end(sf_daemon *d)
{
    scheduler *s = d->scheduler;
    if (!s || s->importing <= 0 || --s->importing > 0)
        return;
    s->quiet_from = uv_now(d->loop); /* the hold timer sees the pause */
}

static void on_closed(uv_handle_t *h)
{
    scheduler *s = h->data;
    if (--s->open_handles > 0)
        return;
    free(s->routing);
    free(s);
}

/* Close both timers; s is freed when both are closed. */
static void close_timers(scheduler *s)
{
    uv_close((uv_handle_t *)&s->timer, on_closed);
    uv_close((uv_handle_t *)&s->hold_timer, on_closed);
}

void scheduler_stop(sf_daemon *d)
{
    scheduler *s = d->scheduler;
    if (!s || s->stopped)
        return;
    s->stopped = true;
    uv_timer_stop(&s->timer);
    uv_timer_stop(&s->hold_timer);
    d->scheduler = NULL;
    /* A tick in flight holds s until it is done, which closes it then. */
    if (!s->running)
        close_timers(s);
    s->again = false;
}

const char *scheduler_routing(const sf_daemon *d)
{
    return d->scheduler ? d->scheduler->routing : "{}";
}

bool scheduler_running(const sf_daemon *d)
{
    return d->scheduler && !d->scheduler->stopped;
}
