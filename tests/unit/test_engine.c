/*
 * test_engine: the workflow engine driven through the shipped definitions
 * (workflows/ehcp-assessment.yaml, workflows/annual-review.yaml), table by
 * table: each scenario is a start date, a list of events as a caseworker
 * would record them, and the state, deadlines and statuses expected on a
 * given day. A small inline workflow covers the anchors and due kinds the
 * shipped ones do not use (date attributes, "before", "day_of_year").
 */
#include "engine.h"
#include "check.h"
#include "load.h"
#include "check_dates.h"

#include <stdlib.h>

#ifndef SF_TEST_SOURCE_DIR
#error "SF_TEST_SOURCE_DIR must name the source tree"
#endif

static wf_workflow *ehcp, *review;

static wf_workflow *load(const char *rel)
{
    char path[1024], err[WF_ERR_LEN];
    wf_workflow *wf = NULL;
    snprintf(path, sizeof path, "%s/%s", SF_TEST_SOURCE_DIR, rel);
    if (load_workflow(path, &wf, err) != 0) {
        fprintf(stderr, "cannot load %s: %s\n", path, err);
        exit(2);
    }
    return wf;
}

/* ---- building inputs --------------------------------------------------- */

#define MAX_EV 24
#define MAX_KV 4

/* An event as the tables write it: attrs "k=v" or "k=v,k2=v2"; seq 0 = position + 1. */
typedef struct ev_spec {
    const char *type;
    const char *on;
    const char *attrs;
    int64_t seq;
} ev_spec;

/* Owned storage behind an eng_input built from specs. */
typedef struct fixture {
    eng_input in;
    eng_event ev[MAX_EV];
    wf_kv kv[MAX_EV][MAX_KV];
    char text[MAX_EV][128];
    wf_kv pkv[MAX_KV];
    char ptext[256];
} fixture;

/* Split "k=v,k2=v2" (copied into text) into kv; returns the count. */
static size_t split_kv(const char *s, char *text, size_t textlen, wf_kv *kv)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    snprintf(text, textlen, "%s", s);
    for (char *p = text; p && *p && n < MAX_KV;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *eq = strchr(p, '=');
        if (eq) {
            *eq = '\0';
            kv[n++] = (wf_kv){p, eq + 1};
        } else {
            kv[n++] = (wf_kv){p, ""};
        }
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

static void build(fixture *fx, const wf_workflow *wf, const char *start, const char *pattrs,
                  const ev_spec *specs)
{
    memset(fx, 0, sizeof *fx);
    fx->in.wf = wf;
    fx->in.start = D(start);
    fx->in.nattrs = split_kv(pattrs, fx->ptext, sizeof fx->ptext, fx->pkv);
    fx->in.attrs = fx->pkv;
    size_t n = 0;
    for (; specs && n < MAX_EV && specs[n].type; n++) {
        eng_event *e = &fx->ev[n];
        e->type = specs[n].type;
        e->on = D(specs[n].on);
        e->seq = specs[n].seq ? specs[n].seq : (int64_t)n + 1;
        e->nattrs = split_kv(specs[n].attrs, fx->text[n], sizeof fx->text[n], fx->kv[n]);
        e->attrs = fx->kv[n];
    }
    fx->in.events = fx->ev;
    fx->in.nevents = n;
}

/* ---- scenario tables --------------------------------------------------- */

/* An expected deadline, with its status judged on the scenario's today. */
typedef struct exp_dl {
    const char *name;
    const char *due;
    const char *status;  /* eng_status_name on today */
    const char *met_on;  /* NULL: none */
    const char *explain; /* NULL: not checked */
    const char *note;    /* substring of the note; NULL: not checked; "" must be NULL */
    const char *anchor;  /* NULL: not checked */
} exp_dl;

typedef struct scenario {
    const char *what;
    const wf_workflow **wf;
    const char *start;
    const char *pattrs;
    ev_spec ev[MAX_EV];
    const char *today;
    const char *state;
    const char *status;
    const char *ended_on; /* NULL while active */
    const char *starts;   /* "annual-review@2026-05-18" or NULL for none */
    exp_dl dl[10];        /* every deadline of the result, in order */
} scenario;

static const wf_workflow *ehcp_c, *review_c, *transfer_c;

/* Run one scenario and compare everything. */
static void run_scenario(const scenario *s)
{
    fixture fx;
    build(&fx, *s->wf, s->start, s->pattrs, s->ev);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN] = "";
    int rc = eng_evaluate(&fx.in, &r, err);
    if (rc != 0) {
        fprintf(stderr, "[%s] eng_evaluate: %d %s\n", s->what, rc, err);
        CHECK(0);
        return;
    }
    int before = check_failures;
    CHECK_STR(r->state, s->state);
    CHECK_STR(eng_proc_status_name(r->status), s->status);
    CHECK_STR(F(r->ended_on), s->ended_on ? s->ended_on : "none");

    char starts[256] = "";
    for (size_t i = 0; i < r->nstarts; i++) {
        size_t len = strlen(starts);
        snprintf(starts + len, sizeof starts - len, "%s%s@%s", i ? " " : "", r->starts[i].workflow,
                 F(r->starts[i].on));
    }
    CHECK_STR(starts, s->starts ? s->starts : "");

    size_t nexp = 0;
    while (nexp < 10 && s->dl[nexp].name)
        nexp++;
    CHECK_INT(r->ndeadlines, nexp);
    cal_day today = D(s->today);
    for (size_t i = 0; i < r->ndeadlines && i < nexp; i++) {
        const eng_deadline *d = &r->deadlines[i];
        const exp_dl *e = &s->dl[i];
        CHECK_STR(d->name, e->name);
        CHECK_STR(F(d->due), e->due);
        eng_status st =
            eng_deadline_status(d->kind, d->resolution, d->due, d->met_on, d->excusable, today);
        CHECK_STR(eng_status_name(st), e->status);
        CHECK_STR(F(d->met_on), e->met_on ? e->met_on : "none");
        CHECK((d->resolution == ENG_MET) == (d->met_on != CAL_NONE));
        CHECK((d->resolution == ENG_CANCELLED_DL) == (d->cancelled_on != CAL_NONE));
        CHECK(d->basis != NULL && strstr(d->basis, "20") != NULL);
        CHECK(d->title != NULL && strchr(d->title, '{') == NULL);
        if (e->explain)
            CHECK_STR(d->explain, e->explain);
        if (e->note && !*e->note)
            CHECK(d->note == NULL);
        else if (e->note)
            CHECK_SUBSTR(d->note, e->note);
        if (e->anchor)
            CHECK_STR(F(d->anchor_on), e->anchor);
    }
    if (check_failures != before) {
        fprintf(stderr, "  in scenario \"%s\"; the result was:\n", s->what);
        for (size_t i = 0; i < r->ndeadlines; i++) {
            const eng_deadline *d = &r->deadlines[i];
            fprintf(stderr, "    %s due %s %s met_on %s excusable %d: %s | %s\n", d->name,
                    F(d->due), eng_resolution_name(d->resolution), F(d->met_on), d->excusable,
                    d->explain, d->note ? d->note : "-");
        }
    }
    eng_result_free(r);
}

/* Shorthands for the ehcp-assessment milestones of a request on 2026-01-05. */
#define REQ        "2026-01-05"
#define DECIDE_DUE "2026-02-16"
#define NOTIFY_DUE "2026-04-27"
#define FINAL_DUE  "2026-05-25"
#define EX_FINAL   "20 weeks from request received on 2026-01-05"
#define EX_DECIDE  "6 weeks from request received on 2026-01-05"
#define EX_NOTIFY  "16 weeks from request received on 2026-01-05"
#define ASSESS_YES                                                                                 \
    {                                                                                              \
        "decision_to_assess", "2026-01-20", "outcome=yes", 0                                       \
    }

static const scenario scenarios[] = {
    {"request received, nothing else yet",
     &ehcp_c,
     REQ,
     NULL,
     {{0}},
     "2026-01-10",
     "requested",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "pending", NULL, EX_DECIDE, "", REQ},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, EX_NOTIFY, "", REQ},
         {"final_plan", FINAL_DUE, "pending", NULL, EX_FINAL, "", REQ},
     }},
    {"the same request judged after every due date",
     &ehcp_c,
     REQ,
     NULL,
     {{0}},
     "2026-05-26",
     "requested",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "overdue", NULL, NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "overdue", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "overdue", NULL, NULL, "", NULL},
     }},
    {"due dates are the last day: judged on the due date itself",
     &ehcp_c,
     REQ,
     NULL,
     {{0}},
     DECIDE_DUE,
     "requested",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "pending", NULL, NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"reference §9: request received Wed 10 Sep 2025",
     &ehcp_c,
     "2025-09-10",
     NULL,
     {{0}},
     "2025-09-10",
     "requested",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", "2025-10-22", "pending", NULL,
          "6 weeks from request received on 2025-09-10", NULL, NULL},
         {"notify_no_plan", "2025-12-31", "pending", NULL,
          "16 weeks from request received on 2025-09-10", NULL, NULL},
         {"final_plan", "2026-01-28", "pending", NULL,
          "20 weeks from request received on 2025-09-10", NULL, NULL},
     }},
    {"decision not to assess completes the process and cancels the rest",
     &ehcp_c,
     REQ,
     NULL,
     {{"decision_to_assess", "2026-02-10", "outcome=no", 0}},
     "2026-06-01",
     "not_assessing",
     "completed",
     "2026-02-10",
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-02-10", EX_DECIDE, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, EX_NOTIFY,
          "cancelled by decision whether to assess on 2026-02-10", NULL},
         {"final_plan", FINAL_DUE, "cancelled", NULL, EX_FINAL,
          "cancelled by decision whether to assess on 2026-02-10", NULL},
         /* CFA s. 51(2), r. 20(1)(c): Tue 10 Feb 2026 + 2 months = Fri 10 Apr 2026 (a working
          * day; Easter 2026 is 3-6 Apr). The period outlives the process and has run by 1 Jun. */
         {"appeal_window", "2026-04-10", "met", NULL,
          "2 months from decision whether to assess on 2026-02-10", "", NULL},
         /* Reg. 33: the family's 2 months to contact the mediation adviser, the same Fri 10 Apr
          * 2026; a period, run by 1 Jun. */
         {"mediation_contact", "2026-04-10", "met", NULL,
          "2 months from decision whether to assess on 2026-02-10", "", NULL},
     }},
    {"decision to assess made late",
     &ehcp_c,
     REQ,
     NULL,
     {{"decision_to_assess", "2026-02-17", "outcome=yes", 0}},
     "2026-03-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "late", "2026-02-17", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, "", NULL},
     }},
    {"advice per adviser: education on time, health late, psychology outstanding",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_requested", "2026-01-26", "from=health", 0},
      {"advice_requested", "2026-01-26", "from=education", 0},
      {"advice_requested", "2026-02-02", "from=psychology", 0},
      {"advice_requested", "2026-02-20", "from=health", 0}, /* a reminder: not a new clock */
      {"advice_received", "2026-03-02", "from=education", 0},
      {"advice_received", "2026-03-16", "from=health", 0}},
     "2026-03-20",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"advice_education", "2026-03-09", "met", "2026-03-02",
          "6 weeks from advice requested (education) on 2026-01-26", "", "2026-01-26"},
         {"advice_health", "2026-03-09", "late", "2026-03-16",
          "6 weeks from advice requested (health) on 2026-01-26", "", "2026-01-26"},
         {"advice_psychology", "2026-03-16", "overdue", NULL,
          "6 weeks from advice requested (psychology) on 2026-02-02", "", "2026-02-02"},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, "", NULL},
     }},
    {"advice received before it was asked for does not meet it",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_received", "2026-01-21", "from=health", 0},
      {"advice_requested", "2026-01-22", "from=health", 0}},
     "2026-03-20",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_health", "2026-03-05", "overdue", NULL, NULL, NULL, "2026-01-22"},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"draft plan issued: representations period starts, notice of no plan cancelled",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES, {"draft_plan_issued", "2026-03-02", NULL, 0}},
     "2026-03-10",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL,
          "cancelled by draft plan issued on 2026-03-02", NULL},
         {"draft_representations", "2026-03-16", "pending", NULL,
          "15 days beginning with draft plan issued on 2026-03-02", "", "2026-03-02"},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"representations period after its end: met without an event",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES, {"draft_plan_issued", "2026-03-02", NULL, 0}},
     "2026-03-17",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-03-16", "met", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"representations received early end the period",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-03-02", NULL, 0},
      {"representations_received", "2026-03-06", NULL, 0}},
     "2026-03-10",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-03-16", "met", "2026-03-06", NULL, "", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"representations after the period ended do not make it late",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-03-02", NULL, 0},
      {"representations_received", "2026-03-20", NULL, 0}},
     "2026-03-25",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-03-16", "met", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"final plan issued on time: completed, annual review starts, open advice cancelled",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_requested", "2026-01-26", "from=education", 0},
      {"advice_received", "2026-03-02", "from=education", 0},
      {"advice_requested", "2026-04-10", "from=social_care", 0},
      {"draft_plan_issued", "2026-04-13", NULL, 0},
      {"final_plan_issued", "2026-05-18", NULL, 0}},
     "2026-06-30",
     "plan_issued",
     "completed",
     "2026-05-18",
     "annual-review@2026-05-18",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_education", "2026-03-09", "met", "2026-03-02", NULL, "", NULL},
         {"advice_social_care", "2026-05-22", "cancelled", NULL,
          "6 weeks from advice requested (social_care) on 2026-04-10",
          "cancelled: process completed (final plan issued) on 2026-05-18", NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL,
          "cancelled by draft plan issued on 2026-04-13", NULL},
         /* The period ended on 27 Apr, before the process did: it ran its course. */
         {"draft_representations", "2026-04-27", "met", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-18", EX_FINAL, "", NULL},
     }},
    /* The parent's 15 days are not taken away by a final plan issued too soon: the period
     * runs its course (pending, then met) and its note flags the breach. */
    {"final plan issued inside the representations period: the period runs on, flagged",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-05-10", NULL, 0},
      {"final_plan_issued", "2026-05-20", NULL, 0}},
     "2026-05-22",
     "plan_issued",
     "completed",
     "2026-05-20",
     "annual-review@2026-05-20",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-05-24", "pending", NULL, NULL,
          "the process ended on 2026-05-20 (final plan issued) before this period had run: SEND "
          "Regulations 2014, reg. 13(1)(a) requires it to run in full",
          NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-20", NULL, NULL, NULL},
     }},
    {"the same, judged after the period's last day: met, still flagged",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-05-10", NULL, 0},
      {"final_plan_issued", "2026-05-20", NULL, 0}},
     "2026-06-30",
     "plan_issued",
     "completed",
     "2026-05-20",
     "annual-review@2026-05-20",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-05-24", "met", NULL, NULL, "before this period had run",
          NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-20", NULL, NULL, NULL},
     }},
    {"final plan issued on the period's last day: the day still belonged to the parent",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-05-10", NULL, 0},
      {"final_plan_issued", "2026-05-24", NULL, 0}},
     "2026-05-24",
     "plan_issued",
     "completed",
     "2026-05-24",
     "annual-review@2026-05-24",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-05-24", "pending", NULL, NULL,
          "the process ended on 2026-05-24 (final plan issued) before this period had run", NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-24", NULL, NULL, NULL},
     }},
    {"representations received before an early final plan: the period was met, no flag",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-05-10", NULL, 0},
      {"representations_received", "2026-05-15", NULL, 0},
      {"final_plan_issued", "2026-05-20", NULL, 0}},
     "2026-05-21",
     "plan_issued",
     "completed",
     "2026-05-20",
     "annual-review@2026-05-20",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-05-24", "met", "2026-05-15", NULL, "", NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-20", NULL, NULL, NULL},
     }},
    {"final plan issued late",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"draft_plan_issued", "2026-05-01", NULL, 0},
      {"final_plan_issued", "2026-06-01", NULL, 0}},
     "2026-06-30",
     "plan_issued",
     "completed",
     "2026-06-01",
     "annual-review@2026-06-01",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-05-15", "met", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "late", "2026-06-01", NULL, "", NULL},
     }},
    {"decision not to issue a plan: met, final plan cancelled",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES, {"decision_not_to_issue", "2026-04-20", NULL, 0}},
     "2026-06-30",
     "no_plan",
     "completed",
     "2026-04-20",
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "met", "2026-04-20", NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "cancelled", NULL, NULL,
          "cancelled by decision not to issue a plan on 2026-04-20", NULL},
         /* Mon 20 Apr 2026 + 2 months = Sat 20 Jun 2026, not a working day: r. 12(2) → Mon
          * 22 Jun 2026; run by 30 Jun. */
         {"appeal_window", "2026-06-22", "met", NULL,
          "2 months from decision not to issue a plan on 2026-04-20 ends 2026-06-20, not a working "
          "day, so the time limit runs to the next working day (HESC Tribunal Rules 2008, "
          "r. 12(2))",
          "", NULL},
         /* Reg. 33: Sat 20 Jun 2026 stands (r. 12(2) is the Tribunal's). */
         {"mediation_contact", "2026-06-20", "met", NULL,
          "2 months from decision not to issue a plan on 2026-04-20", "", NULL},
     }},
    {"withdrawn: process cancelled, every open deadline cancelled",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_requested", "2026-01-26", "from=health", 0},
      {"withdrawn", "2026-02-20", NULL, 0}},
     "2026-06-30",
     "withdrawn",
     "cancelled",
     "2026-02-20",
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_health", "2026-03-09", "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-02-20", NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-02-20", NULL},
         {"final_plan", FINAL_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-02-20", NULL},
     }},
    {"withdrawn long after every due date: cancelled, the miss stays in the note",
     &ehcp_c,
     REQ,
     NULL,
     {{"withdrawn", "2026-09-01", NULL, 0}},
     "2026-09-02",
     "withdrawn",
     "cancelled",
     "2026-09-01",
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-09-01, 197 days after it fell due",
          NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-09-01, 127 days after it fell due",
          NULL},
         {"final_plan", FINAL_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-09-01, 99 days after it fell due",
          NULL},
     }},
    {"withdrawn before the decision",
     &ehcp_c,
     REQ,
     NULL,
     {{"withdrawn", "2026-01-12", NULL, 0}},
     "2026-06-30",
     "withdrawn",
     "cancelled",
     "2026-01-12",
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "cancelled", NULL, NULL,
          "cancelled: process cancelled (withdrawn) on 2026-01-12", NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "cancelled", NULL, NULL, NULL, NULL},
     }},

    /* ---- exceptions ---- */
    {"exception overlapping: late decision and overdue plan are excused",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-02-02", "reason=exceptional_circumstances", 0},
      {"decision_to_assess", "2026-02-20", "outcome=yes", 0},
      {"exception_ended", "2026-03-01", "reason=exceptional_circumstances", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "excused", "2026-02-20", NULL,
          "exception (exceptional_circumstances) from 2026-02-02 to 2026-03-01", NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL,
          "exception (exceptional_circumstances) from 2026-02-02 to 2026-03-01", NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL,
          "exception (exceptional_circumstances) from 2026-02-02 to 2026-03-01", NULL},
     }},
    {"exception that does not overlap the decision's clock does not excuse it",
     &ehcp_c,
     REQ,
     NULL,
     {{"decision_to_assess", "2026-02-20", "outcome=yes", 0},
      {"exception_started", "2026-03-01", "reason=school_closure", 0},
      {"exception_ended", "2026-04-05", "reason=school_closure", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "late", "2026-02-20", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL,
          "exception (school_closure) from 2026-03-01 to 2026-04-05", NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL, NULL, NULL},
     }},
    {"open-ended exception started before the due date excuses; the day after does not",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES, {"exception_started", "2026-04-28", "reason=absent_from_area", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "overdue", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL,
          "exception (absent_from_area) from 2026-04-28, still open", NULL},
     }},
    {"exception ending on the anchor day still overlaps",
     &ehcp_c,
     "2026-01-05",
     NULL,
     {{"exception_started", "2026-01-05", "reason=exceptional_circumstances", 0},
      {"exception_ended", "2026-01-05", "reason=exceptional_circumstances", 0}},
     "2026-06-01",
     "requested",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "excused", NULL, NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL, NULL, NULL},
     }},
    {"wrong reason: a missed appointment excuses advice only",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_requested", "2026-01-26", "from=health", 0},
      {"exception_started", "2026-02-10", "reason=missed_appointment", 0},
      {"exception_ended", "2026-02-24", "reason=missed_appointment", 0},
      {"advice_received", "2026-03-20", "from=health", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"advice_health", "2026-03-09", "excused", "2026-03-20", NULL,
          "exception (missed_appointment) from 2026-02-10 to 2026-02-24", NULL},
         {"notify_no_plan", NOTIFY_DUE, "overdue", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "overdue", NULL, NULL, "", NULL},
     }},
    {"an exception ended before the advice was requested does not excuse the advice",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-01-10", "reason=exceptional_circumstances", 0},
      {"exception_ended", "2026-02-01", "reason=exceptional_circumstances", 0},
      ASSESS_YES,
      {"advice_requested", "2026-03-02", "from=education", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_education", "2026-04-13", "overdue", NULL, NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL, NULL, NULL},
     }},
    {"an end with another reason does not close the exception",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"exception_started", "2026-01-21", "reason=school_closure", 0},
      {"exception_ended", "2026-01-25", "reason=absent_from_area", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL,
          "exception (school_closure) from 2026-01-21, still open", NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL, NULL, NULL},
     }},

    /* ---- minimum lengths (reg. 8(2)(b), 10(4)(a), (d)): 4 continuous weeks ---- */
    {"absent from the area for exactly 4 weeks (28 days, both ends counted) excuses",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-02-02", "reason=absent_from_area", 0},
      {"exception_ended", "2026-03-01", "reason=absent_from_area", 0},
      {"decision_to_assess", "2026-03-02", "outcome=yes", 0}},
     "2026-03-03",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "excused", "2026-03-02", NULL,
          "exception (absent_from_area) from 2026-02-02 to 2026-03-01", NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"absent from the area for 27 days excuses nothing, and says why",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-02-02", "reason=absent_from_area", 0},
      {"exception_ended", "2026-02-28", "reason=absent_from_area", 0},
      {"decision_to_assess", "2026-03-02", "outcome=yes", 0}},
     "2026-03-03",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "late", "2026-03-02", NULL,
          "exception (absent_from_area) from 2026-02-02 to 2026-02-28, shorter than 4 weeks: "
          "excuses nothing",
          NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"a school closure of 2 weeks excuses nothing; exceptional circumstances of 2 weeks do",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-02-02", "reason=school_closure", 0},
      {"exception_started", "2026-02-02", "reason=exceptional_circumstances", 0},
      {"exception_ended", "2026-02-15", "reason=school_closure", 0},
      {"exception_ended", "2026-02-15", "reason=exceptional_circumstances", 0},
      {"decision_to_assess", "2026-03-02", "outcome=yes", 0}},
     "2026-03-03",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "excused", "2026-03-02", NULL,
          "exception (school_closure) from 2026-02-02 to 2026-02-15, shorter than 4 weeks: "
          "excuses nothing; exception (exceptional_circumstances) from 2026-02-02 to 2026-02-15",
          NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"an absence still open counts up to the due date: 27 days by then is too short",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES, {"exception_started", "2026-04-29", "reason=absent_from_area", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "overdue", NULL, NULL, "", NULL},
         {"final_plan", FINAL_DUE, "overdue", NULL, NULL,
          "exception (absent_from_area) from 2026-04-29, still open, by the due date open for "
          "less than 4 weeks: excuses nothing",
          NULL},
     }},

    /* ---- exception notes only on a missed deadline ---- */
    {"a deadline met on time carries no exception note, even with an exception open",
     &ehcp_c,
     REQ,
     NULL,
     {{"exception_started", "2026-01-10", "reason=exceptional_circumstances", 0}, ASSESS_YES},
     "2026-01-21",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL,
          "exception (exceptional_circumstances) from 2026-01-10, still open", NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL,
          "exception (exceptional_circumstances) from 2026-01-10, still open", NULL},
     }},
    {"an end dated before its start (older data) is ignored: the exception stays open",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"exception_ended", "2026-01-25", "reason=absent_from_area", 0},
      {"exception_started", "2026-02-01", "reason=absent_from_area", 0},
      {"exception_started", "2026-02-10", "reason=absent_from_area", 0}},
     "2026-06-01",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, "", NULL},
         {"notify_no_plan", NOTIFY_DUE, "excused", NULL, NULL,
          "exception (absent_from_area) from 2026-02-01, still open", NULL},
         {"final_plan", FINAL_DUE, "excused", NULL, NULL, NULL, NULL},
     }},

    /* ---- order of events ---- */
    {"events posted out of order replay by date",
     &ehcp_c,
     REQ,
     NULL,
     {{"final_plan_issued", "2026-05-18", NULL, 1},
      {"advice_received", "2026-03-02", "from=education", 2},
      {"draft_plan_issued", "2026-04-13", NULL, 3},
      {"advice_requested", "2026-01-26", "from=education", 4},
      {"decision_to_assess", "2026-01-20", "outcome=yes", 5}},
     "2026-06-30",
     "plan_issued",
     "completed",
     "2026-05-18",
     "annual-review@2026-05-18",
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_education", "2026-03-09", "met", "2026-03-02", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-04-27", "met", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "met", "2026-05-18", NULL, NULL, NULL},
     }},
    {"same-day events replay in recording order",
     &ehcp_c,
     REQ,
     NULL,
     {{"draft_plan_issued", "2026-02-01", NULL, 20},
      {"decision_to_assess", "2026-02-01", "outcome=yes", 10}},
     "2026-02-02",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-02-01", NULL, NULL, NULL},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-02-15", "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"a late-posted exception re-derives an earlier decision as excused",
     &ehcp_c,
     REQ,
     NULL,
     {{"decision_to_assess", "2026-02-20", "outcome=yes", 1},
      {"advice_requested", "2026-02-23", "from=health", 2},
      /* posted last, dated first: */
      {"exception_started", "2026-02-10", "reason=absent_from_area", 3},
      {"exception_ended", "2026-03-10", "reason=absent_from_area", 4}},
     "2026-03-15",
     "assessing",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "excused", "2026-02-20", NULL,
          "exception (absent_from_area) from 2026-02-10 to 2026-03-10", NULL},
         /* requested during the absence: excusable too, should it be missed */
         {"advice_health", "2026-04-06", "pending", NULL, NULL,
          "exception (absent_from_area) from 2026-02-10 to 2026-03-10", NULL},
         {"notify_no_plan", NOTIFY_DUE, "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},
    {"a late-posted advice request dated before later events anchors on its own date",
     &ehcp_c,
     REQ,
     NULL,
     {ASSESS_YES,
      {"advice_received", "2026-03-01", "from=health", 2},
      {"draft_plan_issued", "2026-03-10", NULL, 3},
      {"advice_requested", "2026-02-01", "from=health", 4}},
     "2026-03-11",
     "drafting",
     "active",
     NULL,
     NULL,
     {
         {"decide_to_assess", DECIDE_DUE, "met", "2026-01-20", NULL, NULL, NULL},
         {"advice_health", "2026-03-15", "met", "2026-03-01",
          "6 weeks from advice requested (health) on 2026-02-01", NULL, "2026-02-01"},
         {"notify_no_plan", NOTIFY_DUE, "cancelled", NULL, NULL, NULL, NULL},
         {"draft_representations", "2026-03-24", "pending", NULL, NULL, NULL, NULL},
         {"final_plan", FINAL_DUE, "pending", NULL, NULL, NULL, NULL},
     }},

    /* ---- annual review ---- */
    {"annual review: plan 10 Mar 2025 → review by 9 Mar 2026",
     &review_c,
     "2025-03-10",
     NULL,
     {{0}},
     "2026-03-09",
     "due",
     "active",
     NULL,
     NULL,
     {
         {"review_meeting", "2026-03-09", "pending", NULL,
          "12 months beginning with plan issued or last reviewed on 2025-03-10", "", NULL},
     }},
    {"annual review: plan 29 Feb 2024 → review by 28 Feb 2025",
     &review_c,
     "2024-02-29",
     NULL,
     {{0}},
     "2025-03-01",
     "due",
     "active",
     NULL,
     NULL,
     {
         {"review_meeting", "2025-02-28", "overdue", NULL, NULL, NULL, NULL},
     }},
    {"annual review meeting held: completed, next cycle starts",
     &review_c,
     "2025-03-10",
     NULL,
     {{"review_meeting_held", "2026-02-10", NULL, 0}},
     "2026-04-01",
     "reviewed",
     "completed",
     "2026-02-10",
     "annual-review@2026-02-10",
     {
         {"review_meeting", "2026-03-09", "met", "2026-02-10", NULL, "", NULL},
     }},
    {"annual review meeting held late",
     &review_c,
     "2025-03-10",
     NULL,
     {{"review_meeting_held", "2026-03-10", NULL, 0}},
     "2026-04-01",
     "reviewed",
     "completed",
     "2026-03-10",
     "annual-review@2026-03-10",
     {
         {"review_meeting", "2026-03-09", "late", "2026-03-10", NULL, NULL, NULL},
     }},
    {"plan ceased: review cancelled",
     &review_c,
     "2025-03-10",
     NULL,
     {{"plan_ceased", "2025-09-01", NULL, 0}},
     "2026-04-01",
     "ceased",
     "completed",
     "2025-09-01",
     NULL,
     {
         {"review_meeting", "2026-03-09", "cancelled", NULL, NULL,
          "cancelled: process completed (plan ceased) on 2025-09-01", NULL},
     }},

    /* ---- inline workflow: attribute anchors and the other due kinds ---- */
    {"phase transfer: deadlines from a date attribute",
     &transfer_c,
     "2026-09-01",
     "transfer=primary_to_secondary,transfer_date=2027-09-01",
     {{0}},
     "2027-01-10",
     "open",
     "active",
     NULL,
     NULL,
     {
         {"by_15_feb", "2027-02-14", "pending", NULL,
          "before 15 February of 2027, the calendar year of the transfer date on 2027-09-01", "",
          "2027-09-01"},
         {"on_15_feb", "2027-02-15", "pending", NULL,
          "15 February of 2027, the calendar year of the transfer_date on 2027-09-01", "", NULL},
         {"five_months", "2027-04-01", "pending", NULL, "5 months before transfer_date 2027-09-01",
          "", NULL},
         {"one_month", "2027-08-01", "pending", NULL, "1 month before transfer_date 2027-09-01", "",
          NULL},
         {"one_week_after_start", "2026-09-08", "overdue", NULL,
          "1 week from process start on 2026-09-01", "", NULL},
     }},
    {"phase transfer: plan issued before the transfer date meets the deadlines",
     &transfer_c,
     "2026-09-01",
     "transfer_date=2027-09-01",
     {{"amended_plan_issued", "2027-02-01", NULL, 0}},
     "2027-06-01",
     "done",
     "completed",
     "2027-02-01",
     NULL,
     {
         {"by_15_feb", "2027-02-14", "met", "2027-02-01", NULL, "", NULL},
         {"on_15_feb", "2027-02-15", "met", "2027-02-01", NULL, "", NULL},
         {"five_months", "2027-04-01", "met", "2027-02-01", NULL, "", NULL},
         {"one_month", "2027-08-01", "met", "2027-02-01", NULL, "", NULL},
         {"one_week_after_start", "2026-09-08", "cancelled", NULL, NULL,
          "cancelled: process completed (done) on 2027-02-01", NULL},
     }},
    {"phase transfer without the date attribute: only the start deadline exists",
     &transfer_c,
     "2026-09-01",
     NULL,
     {{0}},
     "2026-09-02",
     "open",
     "active",
     NULL,
     NULL,
     {
         {"one_week_after_start", "2026-09-08", "pending", NULL, NULL, NULL, NULL},
     }},
    {"another transfer year",
     &transfer_c,
     "2026-09-01",
     "transfer_date=2029-09-01,leap=2028-09-01",
     {{0}},
     "2026-09-02",
     "open",
     "active",
     NULL,
     NULL,
     {
         {"by_15_feb", "2029-02-14", "pending", NULL, NULL, NULL, NULL},
         {"on_15_feb", "2029-02-15", "pending", NULL, NULL, NULL, NULL},
         {"five_months", "2029-04-01", "pending", NULL, NULL, NULL, NULL},
         {"one_month", "2029-08-01", "pending", NULL, NULL, NULL, NULL},
         {"ldb_29_feb", "2028-02-28", "pending", NULL,
          "before 29 February of 2028, the calendar year of the leap on 2028-09-01", NULL, NULL},
         {"doy_29_feb", "2028-02-29", "pending", NULL, NULL, NULL, NULL},
         {"one_week_after_start", "2026-09-08", "pending", NULL, NULL, NULL, NULL},
     }},
    /* In a common year "before 29 February" ends on 28 February (the day before 1 March),
     * not on 27 February; "29 February" itself is 28 February. */
    {"29 February in a common year",
     &transfer_c,
     "2026-09-01",
     "leap=2027-09-01",
     {{0}},
     "2026-09-02",
     "open",
     "active",
     NULL,
     NULL,
     {
         {"ldb_29_feb", "2027-02-28", "pending", NULL,
          "before 29 February of 2027, the calendar year of the leap on 2027-09-01", NULL, NULL},
         {"doy_29_feb", "2027-02-28", "pending", NULL, NULL, NULL, NULL},
         {"one_week_after_start", "2026-09-08", "pending", NULL, NULL, NULL, NULL},
     }},
};

static const char transfer_yaml[] =
    "workflow: transfer-test\n"
    "version: 1\n"
    "start:\n"
    "  label: process start\n"
    "  attributes:\n"
    "    transfer: {values: [primary_to_secondary, secondary_to_post16]}\n"
    "    transfer_date: {type: date}\n"
    "    leap: {type: date}\n"
    "states:\n"
    "  open: {initial: true}\n"
    "  done: {final: completed}\n"
    "events:\n"
    "  amended_plan_issued:\n"
    "    transitions:\n"
    "      - {from: [open], to: done}\n"
    "  visited:\n"
    "    allowed_in: [open]\n"
    "deadlines:\n"
    "  by_15_feb:\n"
    "    from: {attribute: transfer_date}\n"
    "    anchor_label: transfer date\n"
    "    last_day_before: 15 February\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: SEND Regulations 2014, reg. 18(1)(b)\n"
    "  on_15_feb:\n"
    "    from: {attribute: transfer_date}\n"
    "    day_of_year: 15 February\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: test 2014\n"
    "  five_months:\n"
    "    from: {attribute: transfer_date}\n"
    "    before: 5 months\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: SEND Regulations 2014, reg. 18(2)\n"
    "  one_month:\n"
    "    from: {attribute: transfer_date}\n"
    "    before: 1 month\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: test 2014\n"
    "  ldb_29_feb:\n"
    "    from: {attribute: leap}\n"
    "    last_day_before: 29 February\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: test 2014\n"
    "  doy_29_feb:\n"
    "    from: {attribute: leap}\n"
    "    day_of_year: 29 February\n"
    "    met_by: [amended_plan_issued]\n"
    "    basis: test 2014\n"
    "  one_week_after_start:\n"
    "    from: start\n"
    "    within: 1 week\n"
    "    met_by: [visited]\n"
    "    basis: test 2014\n";

static void test_scenarios(void)
{
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++)
        run_scenario(&scenarios[i]);
}

/* Any order of posting (seq follows the posting order) gives the same result as date order. */
static void test_order_independence(void)
{
    static const ev_spec base[] = {
        {"decision_to_assess", "2026-01-20", "outcome=yes", 0},
        {"advice_requested", "2026-01-26", "from=health", 0},
        {"advice_requested", "2026-01-27", "from=education", 0},
        {"exception_started", "2026-02-02", "reason=exceptional_circumstances", 0},
        {"advice_received", "2026-03-02", "from=education", 0},
        {"exception_ended", "2026-03-05", "reason=exceptional_circumstances", 0},
        {"advice_received", "2026-03-16", "from=health", 0},
        {"draft_plan_issued", "2026-04-13", NULL, 0},
        {"representations_received", "2026-04-20", NULL, 0},
        {"final_plan_issued", "2026-06-01", NULL, 0},
        /* Same-day pairs: only the recording order tells which came first. */
        {"exception_started", "2026-02-10", "reason=missed_appointment", 0},
        {"exception_ended", "2026-02-10", "reason=missed_appointment", 0},
        {"advice_requested", "2026-02-03", "from=psychology", 0},
        {"advice_received", "2026-02-03", "from=psychology", 0},
    };
    enum { N = sizeof base / sizeof base[0] };
    fixture ref;
    ev_spec specs[N + 1];
    memcpy(specs, base, sizeof base);
    specs[N] = (ev_spec){0};
    build(&ref, ehcp, REQ, NULL, specs);
    eng_result *want = NULL;
    char err[ENG_ERR_LEN];
    CHECK_INT(eng_evaluate(&ref.in, &want, err), 0);
    if (!want)
        return;
    CHECK_STR(want->state, "plan_issued");
    CHECK_INT(want->ndeadlines, 7);

    /* Deterministic shuffles: rotate and reverse, seq = posting position. */
    unsigned seed = 12345;
    for (int round = 0; round < 50; round++) {
        size_t perm[N];
        for (size_t i = 0; i < N; i++)
            perm[i] = i;
        for (size_t i = N - 1; i > 0; i--) {
            seed = seed * 1103515245u + 12345u;
            size_t j = (seed >> 16) % (i + 1);
            size_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        /*
         * Post them in that order as the daemon would: each through
         * eng_check_event first, seq = the order recorded. One refused is
         * posted again after the others (a caseworker retrying), so an end
         * posted before its same-day start is recorded after it.
         */
        fixture all;
        for (size_t i = 0; i < N; i++)
            specs[i] = base[perm[i]];
        build(&all, ehcp, REQ, NULL, specs);
        fixture fx;
        memset(&fx, 0, sizeof fx);
        fx.in = all.in;
        fx.in.events = fx.ev;
        fx.in.nevents = 0;
        bool posted[N] = {false};
        for (size_t pass = 0; pass < N && fx.in.nevents < N; pass++) {
            for (size_t i = 0; i < N; i++) {
                if (posted[i])
                    continue;
                eng_event cand = all.ev[i];
                cand.seq = 0;
                if (eng_check_event(&fx.in, &cand, err) != 0)
                    continue;
                cand.seq = (int64_t)fx.in.nevents + 100;
                fx.ev[fx.in.nevents++] = cand;
                posted[i] = true;
            }
        }
        CHECK_INT(fx.in.nevents, N);
        eng_result *got = NULL;
        CHECK_INT(eng_evaluate(&fx.in, &got, err), 0);
        if (!got)
            continue;
        CHECK_STR(got->state, want->state);
        CHECK_INT(got->status, want->status);
        CHECK_INT(got->ended_on, want->ended_on);
        CHECK_INT(got->nstarts, want->nstarts);
        CHECK_INT(got->ndeadlines, want->ndeadlines);
        for (size_t i = 0; i < got->ndeadlines && i < want->ndeadlines; i++) {
            const eng_deadline *a = &got->deadlines[i], *b = &want->deadlines[i];
            CHECK_STR(a->name, b->name);
            CHECK_INT(a->due, b->due);
            CHECK_INT(a->anchor_on, b->anchor_on);
            CHECK_INT(a->resolution, b->resolution);
            CHECK_INT(a->met_on, b->met_on);
            CHECK_INT(a->cancelled_on, b->cancelled_on);
            CHECK_INT(a->excusable, b->excusable);
            CHECK_STR(a->explain, b->explain);
            CHECK_STR(a->note ? a->note : "", b->note ? b->note : "");
        }
        eng_result_free(got);
    }
    eng_result_free(want);
}

/* eng_evaluate refuses histories that do not fit, with a sentence. */
static void test_evaluate_errors(void)
{
    static const struct {
        ev_spec ev[4];
        const char *msg;
    } cases[] = {
        {{{"final_plan_issued", "2026-03-01", NULL, 0}},
         "final_plan_issued on 2026-03-01 is not allowed while the process is \"request received, "
         "decision whether to assess pending\" (requested)"},
        {{ASSESS_YES, {"final_plan_issued", "2026-03-01", NULL, 0}},
         "final_plan_issued on 2026-03-01 is not allowed while the process is \"assessing\" "
         "(assessing)"},
        {{{"withdrawn", "2026-02-01", NULL, 0},
          {"advice_requested", "2026-02-02", "from=health", 0}},
         "advice_requested on 2026-02-02 is not allowed: the process ended on 2026-02-01 "
         "(withdrawn)"},
        {{{"no_such_event", "2026-02-01", NULL, 0}}, "no event \"no_such_event\""},
        /* A decision whose outcome matches no transition. */
        {{{"decision_to_assess", "2026-02-01", "outcome=maybe", 0}},
         "decision_to_assess on 2026-02-01 is not allowed while the process is"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture fx;
        build(&fx, ehcp, REQ, NULL, cases[i].ev);
        static eng_result dummy;
        eng_result *r = &dummy; /* must be reset to NULL */
        char err[ENG_ERR_LEN] = "";
        CHECK_INT(eng_evaluate(&fx.in, &r, err), -ENG_ENOT_ALLOWED);
        CHECK(r == NULL);
        CHECK_SUBSTR(err, cases[i].msg);
    }
}

/* eng_check_event: a table of candidate events on top of a history. */
static void test_check_event(void)
{
    static const ev_spec assessing[] = {ASSESS_YES, {0}};
    static const ev_spec drafting[] = {
        ASSESS_YES, {"draft_plan_issued", "2026-03-02", NULL, 0}, {0}};
    static const ev_spec exc_open[] = {
        {"exception_started", "2026-01-21", "reason=exceptional_circumstances", 0}, {0}};
    static const ev_spec absent_later[] = {
        {"exception_started", "2026-02-01", "reason=absent_from_area", 0}, {0}};
    static const ev_spec closure_open[] = {
        {"exception_started", "2026-01-21", "reason=school_closure", 0}, {0}};
    static const ev_spec absent_closed[] = {
        {"exception_started", "2026-01-21", "reason=absent_from_area", 0},
        {"exception_ended", "2026-03-01", "reason=absent_from_area", 0},
        {0}};
    static const ev_spec stray_recorded[] = {
        {"exception_ended", "2026-01-15", "reason=absent_from_area", 0}, {0}};
    static const ev_spec ended[] = {ASSESS_YES,
                                    {"draft_plan_issued", "2026-03-02", NULL, 0},
                                    {"final_plan_issued", "2026-04-01", NULL, 0},
                                    {0}};
    static const struct {
        const ev_spec *history;
        ev_spec ev;
        int rc;
        const char *msg; /* substring; NULL for success */
    } cases[] = {
        /* Fine. */
        {NULL, {"decision_to_assess", "2026-01-05", "outcome=yes", 0}, 0, NULL},
        {NULL, {"advice_requested", "2026-01-06", "from=social_care", 0}, 0, NULL},
        {NULL, {"exception_started", "2026-01-06", "reason=school_closure", 0}, 0, NULL},
        {assessing, {"draft_plan_issued", "2026-03-01", NULL, 0}, 0, NULL},
        {drafting, {"final_plan_issued", "2026-03-20", NULL, 0}, 0, NULL},
        {drafting, {"representations_received", "2026-03-05", NULL, 0}, 0, NULL},
        /* A late event that fits where it falls. */
        {drafting, {"advice_requested", "2026-02-01", "from=health", 0}, 0, NULL},
        /* Unknown type. */
        {NULL,
         {"decision", "2026-01-06", NULL, 0},
         -ENG_EUNKNOWN_EVENT,
         "the ehcp-assessment workflow has no event \"decision\"; it takes: decision_to_assess, "
         "advice_requested, advice_received, draft_plan_issued"},
        /* Attributes. */
        {NULL,
         {"decision_to_assess", "2026-01-06", NULL, 0},
         -ENG_EBAD_ATTRIBUTE,
         "decision_to_assess needs the attribute outcome (one of: yes, no)"},
        {NULL,
         {"decision_to_assess", "2026-01-06", "outcome=maybe", 0},
         -ENG_EBAD_ATTRIBUTE,
         "outcome=\"maybe\" is not allowed; use one of: yes, no"},
        {NULL,
         {"decision_to_assess", "2026-01-06", "outcome=yes,colour=red", 0},
         -ENG_EBAD_ATTRIBUTE,
         "decision_to_assess has no attribute \"colour\"; it takes: outcome"},
        {NULL,
         {"advice_requested", "2026-01-06", "from=dentist", 0},
         -ENG_EBAD_ATTRIBUTE,
         "use one of: education, health, social_care, psychology, other"},
        {NULL,
         {"withdrawn", "2026-01-06", "why=moved", 0},
         -ENG_EBAD_ATTRIBUTE,
         "withdrawn takes no attributes (got \"why\")"},
        {NULL,
         {"decision_to_assess", "2026-01-06", "outcome=yes,outcome=no", 0},
         -ENG_EBAD_ATTRIBUTE,
         "given twice"},
        /* Before the start. */
        {NULL,
         {"decision_to_assess", "2026-01-04", "outcome=yes", 0},
         -ENG_EBAD_DATE,
         "decision_to_assess on 2026-01-04 is before the process started on 2026-01-05"},
        /* The state machine. */
        {NULL,
         {"final_plan_issued", "2026-03-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "final_plan_issued on 2026-03-01 is not allowed while the process is \"request "
         "received, decision whether to assess pending\" (requested)"},
        {assessing,
         {"final_plan_issued", "2026-03-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "final_plan_issued on 2026-03-01 is not allowed while the process is \"assessing\" "
         "(assessing)"},
        /* Dated before the draft although posted after it. */
        {drafting,
         {"final_plan_issued", "2026-02-20", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "final_plan_issued on 2026-02-20 is not allowed while the process is \"assessing\""},
        {assessing,
         {"decision_to_assess", "2026-02-01", "outcome=no", 0},
         -ENG_ENOT_ALLOWED,
         "decision_to_assess on 2026-02-01 is not allowed while the process is \"assessing\""},
        {assessing,
         {"representations_received", "2026-02-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "not allowed while the process is \"assessing\""},
        /* After the end. */
        {ended,
         {"advice_received", "2026-04-02", "from=health", 0},
         -ENG_ENOT_ALLOWED,
         "advice_received on 2026-04-02 is not allowed: the process ended on 2026-04-01 (final "
         "plan issued)"},
        {ended,
         {"withdrawn", "2026-05-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "the process ended on 2026-04-01"},
        {ended,
         {"exception_started", "2026-04-01", "reason=school_closure", 0},
         -ENG_ENOT_ALLOWED,
         "the process ended on 2026-04-01"},
        /* A late event that would make a later recorded event invalid. */
        {drafting,
         {"withdrawn", "2026-02-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "withdrawn on 2026-02-01 would put a recorded event out of place: draft_plan_issued on "
         "2026-03-02 is not allowed: the process ended on 2026-02-01 (withdrawn)"},
        {drafting,
         {"decision_not_to_issue", "2026-02-15", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "draft_plan_issued on 2026-03-02 is not allowed"},
        /* On the same day as a recorded event, the new one goes after it. */
        {assessing,
         {"decision_to_assess", "2026-01-20", "outcome=no", 0},
         -ENG_ENOT_ALLOWED,
         "decision_to_assess on 2026-01-20 is not allowed while the process is \"assessing\""},
        {assessing, {"draft_plan_issued", "2026-01-20", NULL, 0}, 0, NULL},
        /* An exception end must close an open exception of its reason on its date. */
        {exc_open,
         {"exception_ended", "2026-01-28", "reason=absent_from_area", 0},
         -ENG_ENOT_ALLOWED,
         "exception_ended (absent_from_area) on 2026-01-28: no absent_from_area exception is "
         "open on that date (open: exceptional_circumstances since 2026-01-21)"},
        {exc_open,
         {"exception_ended", "2026-01-28", "reason=exceptional_circumstances", 0},
         0,
         NULL},
        {absent_later,
         {"exception_ended", "2026-01-28", "reason=absent_from_area", 0},
         -ENG_ENOT_ALLOWED,
         "exception_ended (absent_from_area) on 2026-01-28: no absent_from_area exception is "
         "open on that date (no exception is open)"},
        /* Recorded first, an end on the start's day goes before it: refused. */
        {NULL,
         {"exception_ended", "2026-01-21", "reason=school_closure", 0},
         -ENG_ENOT_ALLOWED,
         "no school_closure exception is open on that date"},
        {closure_open, {"exception_ended", "2026-01-21", "reason=school_closure", 0}, 0, NULL},
        /* A second start of a reason already open. */
        {closure_open,
         {"exception_started", "2026-02-01", "reason=school_closure", 0},
         -ENG_ENOT_ALLOWED,
         "exception_started (school_closure) on 2026-02-01: the school_closure exception started "
         "on 2026-01-21 is still open"},
        {closure_open, {"exception_started", "2026-02-01", "reason=absent_from_area", 0}, 0, NULL},
        {absent_closed, {"exception_started", "2026-03-02", "reason=absent_from_area", 0}, 0, NULL},
        /* A new exception event that would leave a recorded one opening or closing nothing. */
        {absent_closed,
         {"exception_ended", "2026-02-10", "reason=absent_from_area", 0},
         -ENG_ENOT_ALLOWED,
         "exception_ended on 2026-02-10 would put a recorded event out of place: exception_ended "
         "(absent_from_area) on 2026-03-01: no absent_from_area exception is open on that date"},
        {absent_closed,
         {"exception_started", "2026-01-10", "reason=absent_from_area", 0},
         -ENG_ENOT_ALLOWED,
         "exception_started on 2026-01-10 would put a recorded event out of place: "
         "exception_started (absent_from_area) on 2026-01-21: the absent_from_area exception "
         "started on 2026-01-10 is still open"},
        /* A stray already recorded (older data) does not block other events. */
        {stray_recorded, {"decision_to_assess", "2026-01-20", "outcome=yes", 0}, 0, NULL},
        {stray_recorded,
         {"exception_started", "2026-01-10", "reason=absent_from_area", 0},
         0,
         NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture fx;
        build(&fx, ehcp, REQ, NULL, cases[i].history);
        fixture cand; /* the candidate's own storage */
        ev_spec one[2] = {cases[i].ev, {0}};
        build(&cand, ehcp, REQ, NULL, one);
        cand.ev[0].seq = 0; /* not recorded yet */
        char err[ENG_ERR_LEN] = "";
        int rc = eng_check_event(&fx.in, &cand.ev[0], err);
        if (rc != cases[i].rc)
            fprintf(stderr, "check_event case %zu (%s): %d, \"%s\"\n", i, cases[i].ev.type, rc,
                    err);
        CHECK_INT(rc, cases[i].rc);
        if (cases[i].msg)
            CHECK_SUBSTR(err, cases[i].msg);
    }
}

/* The exact notes of deadlines cancelled by the end of the process: "1 day", and no count when
 * the deadline had not fallen due. */
static void test_end_notes(void)
{
    static const ev_spec ev[] = {{"withdrawn", "2026-02-17", NULL, 0}, {0}};
    fixture fx;
    build(&fx, ehcp, REQ, NULL, ev);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN];
    CHECK_INT(eng_evaluate(&fx.in, &r, err), 0);
    if (!r)
        return;
    CHECK_INT(r->ndeadlines, 3);
    if (r->ndeadlines == 3) {
        CHECK_STR(
            r->deadlines[0].note,
            "cancelled: process cancelled (withdrawn) on 2026-02-17, 1 day after it fell due");
        CHECK_STR(r->deadlines[1].note, "cancelled: process cancelled (withdrawn) on 2026-02-17");
        CHECK_STR(r->deadlines[2].note, "cancelled: process cancelled (withdrawn) on 2026-02-17");
    }
    eng_result_free(r);
}

static void test_check_start_attrs(void)
{
    char err[ENG_ERR_LEN] = "";
    wf_kv none[1] = {{NULL, NULL}};
    CHECK_INT(eng_check_start_attrs(ehcp, none, 0, err), 0);
    wf_kv one[] = {{"colour", "red"}};
    CHECK_INT(eng_check_start_attrs(ehcp, one, 1, err), -ENG_EBAD_ATTRIBUTE);
    CHECK_SUBSTR(err, "the ehcp-assessment workflow takes no attributes (got \"colour\")");

    wf_kv ok[] = {{"transfer", "primary_to_secondary"}, {"transfer_date", "2027-09-01"}};
    CHECK_INT(eng_check_start_attrs(transfer_c, ok, 2, err), 0);
    wf_kv bad_date[] = {{"transfer_date", "2027-02-30"}};
    CHECK_INT(eng_check_start_attrs(transfer_c, bad_date, 1, err), -ENG_EBAD_ATTRIBUTE);
    CHECK_SUBSTR(err, "the transfer-test workflow: transfer_date=\"2027-02-30\" is not a date");
    wf_kv bad_value[] = {{"transfer", "sideways"}};
    CHECK_INT(eng_check_start_attrs(transfer_c, bad_value, 1, err), -ENG_EBAD_ATTRIBUTE);
    CHECK_SUBSTR(err, "use one of: primary_to_secondary, secondary_to_post16");
    wf_kv unknown[] = {{"dob", "2015-01-01"}};
    CHECK_INT(eng_check_start_attrs(transfer_c, unknown, 1, err), -ENG_EBAD_ATTRIBUTE);
    CHECK_SUBSTR(err, "has no attribute \"dob\"; it takes: transfer, transfer_date, leap");
}

/* eng_deadline_status: every branch of the table in design.md. */
static void test_status(void)
{
    static const struct {
        wf_deadline_kind kind;
        eng_resolution res;
        const char *met_on;
        bool excusable;
        const char *today;
        eng_status want;
    } cases[] = {
        /* due is 2026-05-25 throughout. */
        {WF_DEADLINE_DUTY, ENG_CANCELLED_DL, NULL, false, "2026-06-01", ENG_CANCELLED_ST},
        {WF_DEADLINE_DUTY, ENG_CANCELLED_DL, NULL, true, "2026-05-01", ENG_CANCELLED_ST},
        {WF_DEADLINE_PERIOD, ENG_CANCELLED_DL, NULL, false, "2026-06-01", ENG_CANCELLED_ST},
        {WF_DEADLINE_DUTY, ENG_MET, "2026-05-25", false, "2026-06-01", ENG_MET_ON_TIME},
        {WF_DEADLINE_DUTY, ENG_MET, "2026-05-01", true, "2026-05-02", ENG_MET_ON_TIME},
        {WF_DEADLINE_DUTY, ENG_MET, "2026-05-26", false, "2026-06-01", ENG_LATE},
        {WF_DEADLINE_DUTY, ENG_MET, "2026-05-26", true, "2026-06-01", ENG_EXCUSED},
        {WF_DEADLINE_PERIOD, ENG_MET, "2026-05-20", false, "2026-05-21", ENG_MET_ON_TIME},
        {WF_DEADLINE_DUTY, ENG_OPEN, NULL, false, "2026-05-01", ENG_PENDING},
        {WF_DEADLINE_DUTY, ENG_OPEN, NULL, false, "2026-05-25", ENG_PENDING},
        {WF_DEADLINE_DUTY, ENG_OPEN, NULL, true, "2026-05-25", ENG_PENDING},
        {WF_DEADLINE_DUTY, ENG_OPEN, NULL, false, "2026-05-26", ENG_OVERDUE},
        {WF_DEADLINE_DUTY, ENG_OPEN, NULL, true, "2026-05-26", ENG_EXCUSED},
        {WF_DEADLINE_PERIOD, ENG_OPEN, NULL, false, "2026-05-25", ENG_PENDING},
        {WF_DEADLINE_PERIOD, ENG_OPEN, NULL, false, "2026-05-26", ENG_MET_ON_TIME},
        {WF_DEADLINE_PERIOD, ENG_OPEN, NULL, true, "2026-05-26", ENG_MET_ON_TIME},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eng_status got =
            eng_deadline_status(cases[i].kind, cases[i].res, D("2026-05-25"), D(cases[i].met_on),
                                cases[i].excusable, D(cases[i].today));
        if (got != cases[i].want)
            fprintf(stderr, "status case %zu: %s, expected %s\n", i, eng_status_name(got),
                    eng_status_name(cases[i].want));
        CHECK_INT(got, cases[i].want);
    }
}

static void test_names(void)
{
    CHECK_STR(eng_status_name(ENG_PENDING), "pending");
    CHECK_STR(eng_status_name(ENG_OVERDUE), "overdue");
    CHECK_STR(eng_status_name(ENG_MET_ON_TIME), "met");
    CHECK_STR(eng_status_name(ENG_LATE), "late");
    CHECK_STR(eng_status_name(ENG_EXCUSED), "excused");
    CHECK_STR(eng_status_name(ENG_CANCELLED_ST), "cancelled");
    CHECK_STR(eng_proc_status_name(ENG_ACTIVE), "active");
    CHECK_STR(eng_proc_status_name(ENG_COMPLETED), "completed");
    CHECK_STR(eng_proc_status_name(ENG_CANCELLED), "cancelled");
    static const eng_resolution all[] = {ENG_OPEN, ENG_MET, ENG_CANCELLED_DL};
    static const char *const names[] = {"open", "met", "cancelled"};
    for (size_t i = 0; i < 3; i++) {
        eng_resolution r = ENG_OPEN;
        CHECK_STR(eng_resolution_name(all[i]), names[i]);
        CHECK_INT(eng_resolution_parse(names[i], &r), 0);
        CHECK_INT(r, all[i]);
    }
    eng_resolution r = ENG_MET;
    CHECK_INT(eng_resolution_parse("pending", &r), -1);
    CHECK_INT(eng_resolution_parse("", &r), -1);
    CHECK_INT(eng_resolution_parse(NULL, &r), -1);
    CHECK_INT(r, ENG_MET);
    eng_result_free(NULL);
}

int main(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *transfer = NULL;
    ehcp = load("workflows/ehcp-assessment.yaml");
    review = load("workflows/annual-review.yaml");
    if (wf_load_string("transfer-test.yaml", transfer_yaml, sizeof transfer_yaml - 1, &transfer,
                       err) != 0) {
        fprintf(stderr, "inline workflow: %s\n", err);
        return 2;
    }
    ehcp_c = ehcp;
    review_c = review;
    transfer_c = transfer;

    RUN(test_scenarios);
    RUN(test_order_independence);
    RUN(test_evaluate_errors);
    RUN(test_check_event);
    RUN(test_end_notes);
    RUN(test_check_start_attrs);
    RUN(test_status);
    RUN(test_names);

    wf_workflow_free(ehcp);
    wf_workflow_free(review);
    wf_workflow_free(transfer);
    return CHECK_DONE();
}
