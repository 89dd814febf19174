/*
 * test_workflows: the SHIPPED workflow files (the workflows/ files, with the
 * shipped calendars of workflows/calendars/) driven through the pure engine,
 * table by table. Every expected date is worked out by hand from the law
 * (../shared/reference/statutory-timescales.md: §3 annual review, §4 phase
 * transfer, §6 appeals, §9 counting, §10 cohorts), with the arithmetic in a
 * comment beside the row, never by calling the code under test.
 *
 * Counting rules used throughout (§9):
 *   "within N weeks of X"            X + 7N days
 *   "within N months (after) X"      the corresponding date N months on; the
 *                                    month's last day when there is none
 *   "N months beginning with X"      X counts: the same as "N months after
 *                                    X - 1 day" (so 12 months beginning with
 *                                    10 Mar 2025 end 9 Mar 2026, with 29 Feb
 *                                    2024 end 28 Feb 2025)
 *   "N days beginning with X"        X is day 1: X + N - 1
 *   "at least 2 weeks before M"      M - 14 days
 *   "at least 5 months before T"     the latest D with D + 5 months <= T
 *   "before 15 February / 31 March"  14 February / 30 March of T's year
 * Cohorts (§10): S = birth year + 4 (born Jan-Aug) or + 5 (Sep-Dec);
 * Year N starts on 1 September of S + N.
 */
#include "engine.h"
#include "check.h"
#include "load.h"
#include "check_dates.h"

#include <stdlib.h>

#ifndef SF_TEST_SOURCE_DIR
#error "SF_TEST_SOURCE_DIR must name the source tree"
#endif

static wf_set *set;
static hol_calendar *calendar;
static svc_settings *svc_def, *svc_u5, *svc_shipped;

/* ---- building inputs --------------------------------------------------- */

#define MAX_EV 16
#define MAX_KV 4

/* An event as the tables write it: attrs "k=v" or "k=v,k2=v2"; seq 0 = position + 1. */
typedef struct ev_spec {
    const char *type;
    const char *on;
    const char *attrs;
    int64_t seq;
} ev_spec;

/* Which service settings an input carries. */
enum { SV_DEFAULTS = 0, SV_NULL, SV_UNDER5, SV_SHIPPED };
/* Which calendar: the shipped one (bank holidays and the example terms), or none. */
enum { CAL_SHIPPED = 0, CAL_NO };
/* An expected excusable flag: not checked, true, false. */
enum { X_ANY = 0, X_YES, X_NO };

typedef struct fixture {
    eng_input in;
    eng_event ev[MAX_EV];
    wf_kv kv[MAX_EV][MAX_KV];
    char text[MAX_EV][128];
    wf_kv pkv[MAX_KV];
    char ptext[256];
} fixture;

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

static const wf_workflow *find_wf(const char *name)
{
    const wf_workflow *wf = wf_set_find(set, name);
    if (!wf) {
        fprintf(stderr, "no shipped workflow %s\n", name);
        exit(2);
    }
    return wf;
}

static const svc_settings *pick_svc(int which)
{
    switch (which) {
    case SV_NULL:
        return NULL;
    case SV_UNDER5:
        return svc_u5;
    case SV_SHIPPED:
        return svc_shipped;
    default:
        return svc_def;
    }
}

static void build(fixture *fx, const wf_workflow *wf, const char *start, const char *pattrs,
                  const char *dob, int svc, int cal, const ev_spec *specs)
{
    memset(fx, 0, sizeof *fx);
    fx->in.wf = wf;
    fx->in.start = D(start);
    fx->in.nattrs = split_kv(pattrs, fx->ptext, sizeof fx->ptext, fx->pkv);
    fx->in.attrs = fx->pkv;
    fx->in.cal = cal == CAL_NO ? NULL : calendar;
    fx->in.svc = pick_svc(svc);
    fx->in.has_dob = dob != NULL;
    fx->in.dob = dob ? D(dob) : 0;
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

/* ---- scenarios --------------------------------------------------------- */

typedef struct exp_dl {
    const char *name;
    const char *due;
    const char *status;      /* eng_status_name on the scenario's today */
    const char *met_on;      /* NULL: none */
    const char *explain;     /* substring of the explanation; NULL: not checked */
    const char *note;        /* substring of the note; NULL: not checked; "": must be NULL */
    int excusable;           /* X_ANY, X_YES, X_NO */
    const char *not_explain; /* must NOT be in the explanation; NULL: not checked */
    const char *basis;       /* the whole basis; NULL: not checked */
} exp_dl;

typedef struct scenario {
    const char *what;
    const char *wf;
    const char *start;
    const char *pattrs;
    const char *dob; /* NULL: the case has none */
    int svc;         /* SV_* */
    int cal;         /* CAL_* */
    ev_spec ev[MAX_EV];
    const char *today;
    const char *state;
    const char *status;
    const char *ended_on; /* NULL while active */
    const char *starts;   /* "annual-review@2026-03-09{started_after=review_meeting}"; NULL: none */
    const char *flags;    /* "preparing_for_adulthood"; NULL: none */
    const char *flag_note; /* substring of the first flag's note; NULL: not checked */
    bool partial;          /* only the listed deadlines, found by name; else all, in order */
    exp_dl dl[10];
} scenario;

static const eng_deadline *find_dl(const eng_result *r, const char *name)
{
    for (size_t i = 0; i < r->ndeadlines; i++)
        if (!strcmp(r->deadlines[i].name, name))
            return &r->deadlines[i];
    return NULL;
}

static void check_dl(const eng_deadline *d, const exp_dl *e, cal_day today)
{
    CHECK_STR(d->name, e->name);
    CHECK_STR(F(d->due), e->due);
    eng_status st =
        eng_deadline_status(d->kind, d->resolution, d->due, d->met_on, d->excusable, today);
    CHECK_STR(eng_status_name(st), e->status);
    CHECK_STR(F(d->met_on), e->met_on ? e->met_on : "none");
    CHECK((d->resolution == ENG_MET) == (d->met_on != CAL_NONE));
    CHECK((d->resolution == ENG_CANCELLED_DL) == (d->cancelled_on != CAL_NONE));
    CHECK(d->basis != NULL && strstr(d->basis, "20") != NULL);
    if (e->basis)
        CHECK_STR(d->basis, e->basis);
    CHECK(d->title != NULL && strchr(d->title, '{') == NULL);
    CHECK(d->explain != NULL);
    if (e->explain)
        CHECK_SUBSTR(d->explain, e->explain);
    if (e->not_explain && d->explain && strstr(d->explain, e->not_explain)) {
        fprintf(stderr, "explanation \"%s\" should not mention \"%s\"\n", d->explain,
                e->not_explain);
        CHECK(0);
    }
    if (e->note && !*e->note)
        CHECK(d->note == NULL);
    else if (e->note)
        CHECK_SUBSTR(d->note, e->note);
    if (e->excusable == X_YES)
        CHECK(d->excusable);
    else if (e->excusable == X_NO)
        CHECK(!d->excusable);
}

static void run_scenario(const scenario *s)
{
    fixture fx;
    build(&fx, find_wf(s->wf), s->start, s->pattrs, s->dob, s->svc, s->cal, s->ev);
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
        for (size_t k = 0; k < r->starts[i].nattrs; k++) {
            len = strlen(starts);
            snprintf(starts + len, sizeof starts - len, "%s%s=%s%s", k ? "," : "{",
                     r->starts[i].attrs[k].key, r->starts[i].attrs[k].value,
                     k + 1 == r->starts[i].nattrs ? "}" : "");
        }
    }
    CHECK_STR(starts, s->starts ? s->starts : "");

    char flags[256] = "";
    for (size_t i = 0; i < r->nflags; i++) {
        size_t len = strlen(flags);
        snprintf(flags + len, sizeof flags - len, "%s%s", i ? " " : "", r->flags[i].name);
        CHECK(r->flags[i].basis && strstr(r->flags[i].basis, "21(6)"));
    }
    CHECK_STR(flags, s->flags ? s->flags : "");
    if (s->flag_note && r->nflags)
        CHECK_SUBSTR(r->flags[0].note, s->flag_note);

    size_t nexp = 0;
    while (nexp < 10 && s->dl[nexp].name)
        nexp++;
    cal_day today = D(s->today);
    if (s->partial) {
        for (size_t i = 0; i < nexp; i++) {
            const eng_deadline *d = find_dl(r, s->dl[i].name);
            if (!d) {
                fprintf(stderr, "no deadline %s\n", s->dl[i].name);
                CHECK(0);
                continue;
            }
            check_dl(d, &s->dl[i], today);
        }
    } else {
        CHECK_INT(r->ndeadlines, nexp);
        for (size_t i = 0; i < r->ndeadlines && i < nexp; i++)
            check_dl(&r->deadlines[i], &s->dl[i], today);
    }
    if (check_failures != before) {
        fprintf(stderr, "  in scenario \"%s\"; the result was (state %s):\n", s->what, r->state);
        for (size_t i = 0; i < r->ndeadlines; i++) {
            const eng_deadline *d = &r->deadlines[i];
            fprintf(stderr, "    %s due %s %s met_on %s excusable %d: %s | %s\n", d->name,
                    F(d->due), eng_resolution_name(d->resolution), F(d->met_on), d->excusable,
                    d->explain, d->note ? d->note : "-");
        }
        for (size_t i = 0; i < r->nflags; i++)
            fprintf(stderr, "    flag %s: %s\n", r->flags[i].name, r->flags[i].note);
    }
    eng_result_free(r);
}

#define AR            "annual-review"
#define PT            "phase-transfer"
#define EH            "ehcp-assessment"
#define AFTER_MEETING "started_after=review_meeting"
#define NEXT_CYCLE(d) AR "@" d "{started_after=review_meeting}"

/* ---- annual review (§3, §9) -------------------------------------------- */

static const scenario review_scenarios[] = {
    /* CFA s44(1), §9: 12 months beginning with 10 Mar 2025 = after 9 Mar 2025 → 9 Mar 2026. */
    {.what = "s44(1): plan 10 Mar 2025, review by 9 Mar 2026",
     .wf = AR,
     .start = "2025-03-10",
     .today = "2025-04-01",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL,
             "12 months beginning with plan issued or last reviewed on 2025-03-10", "", X_NO}}},
    /* §9: 12 months beginning with 29 Feb 2024 = after 28 Feb 2024 → 28 Feb 2025. */
    {.what = "s44(1): plan 29 Feb 2024, review by 28 Feb 2025",
     .wf = AR,
     .start = "2024-02-29",
     .today = "2025-03-01",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2025-02-28", "overdue", NULL, NULL, "", X_NO}}},
    /* Due 9 Mar 2026 (above); the meeting on that very day is in time. Holding it ends this
     * cycle and starts the next one from the meeting. */
    {.what = "meeting held on the day the review falls due: met, next cycle starts",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"review_meeting_held", "2026-03-09", NULL, 0}},
     .today = "2026-03-10",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2026-03-09",
     .starts = NEXT_CYCLE("2026-03-09"),
     .dl = {{"review_meeting", "2026-03-09", "met", "2026-03-09", NULL, "", X_ANY}}},
    {.what = "meeting held one day after: late",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"review_meeting_held", "2026-03-10", NULL, 0}},
     .today = "2026-03-11",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2026-03-10",
     .starts = NEXT_CYCLE("2026-03-10"),
     .dl = {{"review_meeting", "2026-03-09", "late", "2026-03-10", NULL, "", X_NO}}},
    /* §3: "no exceptions apply to these steps": an exception recorded for the file excuses
     * nothing. */
    {.what = "exceptions excuse nothing in the annual review",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"exception_started", "2026-02-01", "reason=exceptional_circumstances", 0},
            {"review_meeting_held", "2026-03-20", NULL, 0}},
     .today = "2026-03-21",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2026-03-20",
     .starts = NEXT_CYCLE("2026-03-20"),
     .dl = {{"review_meeting", "2026-03-09", "late", "2026-03-20", NULL, "", X_NO}}},
    /* A cycle started by the meeting of Mon 12 Jan 2026:
     *   review_meeting  12 months beginning with 12 Jan 2026 = after 11 Jan 2026 → 11 Jan 2027
     *   review_report   reg. 21(7), 2 weeks: 12 Jan + 14 = 26 Jan 2026
     *   review_decision 4 weeks: 12 Jan + 28 = 9 Feb 2026
     *   Devon 12 weeks: 12 Jan + 84 = 12 Jan + 19 (31 Jan) + 28 (28 Feb) + 31 (31 Mar) + 6
     *                   = 6 Apr 2026 */
    {.what = "cycle started by a review meeting: report, decision and Devon 12 weeks",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .today = "2026-01-12",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "pending", NULL,
             "2 weeks from review meeting on 2026-01-12", "", X_NO},
            {"review_decision", "2026-02-09", "pending", NULL,
             "4 weeks from review meeting on 2026-01-12", "", X_NO},
            {"amended_plan_devon", "2026-04-06", "pending", NULL,
             "12 weeks from review meeting on 2026-01-12", "", X_NO}}},
    {.what = "cycle started by the plan's issue: no post-meeting steps",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = "started_after=plan_issued",
     .today = "2026-01-12",
     .state = "due",
     .status = "active",
     /* The final plan's appeal window (CFA s. 51(2), r. 20(1)(c)): Mon 12 Jan 2026 +
      * 2 months = Thu 12 Mar 2026, a working day. */
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"appeal_window", "2026-03-12", "pending", NULL,
             "2 months from final plan issued on 2026-01-12", "", X_NO},
            /* Reg. 33: the same 2 months from the plan's notice, Thu 12 Mar 2026. */
            {"mediation_contact", "2026-03-12", "pending", NULL,
             "2 months from final plan issued on 2026-01-12", "", X_NO}}},
    /* Regs. 20(3)-(4), 21(3)-(4): at least 2 weeks before the meeting of Mon 2 Mar 2026:
     * 2 Mar - 14 = 16 Feb 2026. */
    {.what = "invitations and advice: meeting date minus 14 days",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"review_meeting_scheduled", "2026-01-05", "date=2026-03-02", 0}},
     .today = "2026-01-06",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO},
            {"invitations", "2026-02-16", "pending", NULL,
             "2 weeks before review meeting 2026-03-02", "", X_NO},
            {"review_advice", "2026-02-16", "pending", NULL,
             "2 weeks before review meeting 2026-03-02", "", X_NO}}},
    /* Rescheduled to Fri 6 Mar 2026: 6 Mar - 14 = 20 Feb. Invitations on 18 Feb (late for the
     * first date, 16 Feb) are now in time; advice on 21 Feb is a day late. */
    {.what = "meeting rescheduled later: invitations and advice move with it",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"review_meeting_scheduled", "2026-01-05", "date=2026-03-02", 0},
            {"review_meeting_scheduled", "2026-02-01", "date=2026-03-06", 0},
            {"invitations_sent", "2026-02-18", NULL, 0},
            {"advice_circulated", "2026-02-21", NULL, 0}},
     .today = "2026-02-22",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO},
            {"invitations", "2026-02-20", "met", "2026-02-18",
             "2 weeks before review meeting 2026-03-06", "", X_NO},
            {"review_advice", "2026-02-20", "late", "2026-02-21", NULL, "", X_NO}}},
    /* Brought forward to Fri 27 Feb 2026: 27 Feb - 14 = 13 Feb, already past on 14 Feb. */
    {.what = "meeting brought forward: the later scheduling wins even with an earlier date",
     .wf = AR,
     .start = "2025-03-10",
     .ev = {{"review_meeting_scheduled", "2026-01-05", "date=2026-03-06", 0},
            {"review_meeting_scheduled", "2026-01-20", "date=2026-02-27", 0}},
     .today = "2026-02-14",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO},
            {"invitations", "2026-02-13", "overdue", NULL, NULL, "", X_NO},
            {"review_advice", "2026-02-13", "overdue", NULL, NULL, "", X_NO}}},
    /* Devon: a decision to amend is made with the proposals; "amend" alone does not meet the
     * 4 weeks (due 9 Feb 2026, above), so on 10 Feb it is overdue. */
    {.what = "decision amend alone leaves review_decision open",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_report_received", "2026-01-23", NULL, 0},
            {"review_decision", "2026-02-02", "outcome=amend", 0}},
     .today = "2026-02-10",
     .state = "amending",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "met", "2026-01-23", NULL, "", X_NO},
            {"review_decision", "2026-02-09", "overdue", NULL, NULL, "", X_NO},
            {"amended_plan_devon", "2026-04-06", "pending", NULL, NULL, "", X_NO}}},
    /* Proposals on Thu 5 Feb 2026 meet the decision (due 9 Feb);
     *   reg. 22(2)(c): 15 days beginning with 5 Feb → 5 + 14 = 19 Feb 2026
     *   reg. 22(3): 8 weeks of 5 Feb → 5 Feb + 56 = 23 (28 Feb) + 31 (31 Mar) + 2 = 2 Apr 2026 */
    {.what = "amendment_proposed meets the decision; representations 15 days, plan 8 weeks",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_report_received", "2026-01-23", NULL, 0},
            {"review_decision", "2026-02-02", "outcome=amend", 0},
            {"amendment_proposed", "2026-02-05", NULL, 0}},
     .today = "2026-02-10",
     .state = "amending",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "met", "2026-01-23", NULL, "", X_NO},
            {"review_decision", "2026-02-09", "met", "2026-02-05", NULL, "", X_NO},
            {"amendment_representations", "2026-02-19", "pending", NULL,
             "15 days beginning with proposed amendments sent on 2026-02-05", "", X_NO},
            {"amended_plan", "2026-04-02", "pending", NULL,
             "8 weeks from proposed amendments sent on 2026-02-05", "", X_NO},
            {"amended_plan_devon", "2026-04-06", "pending", NULL, NULL, "", X_NO}}},
    /* The final amended plan on 3 Apr: a day after reg. 22(3)'s 2 Apr, within Devon's 6 Apr. */
    {.what = "final amended plan late under reg. 22(3), inside Devon's 12 weeks",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_report_received", "2026-01-23", NULL, 0},
            {"review_decision", "2026-02-02", "outcome=amend", 0},
            {"amendment_proposed", "2026-02-05", NULL, 0},
            {"representations_received", "2026-02-16", NULL, 0},
            {"amended_plan_issued", "2026-04-03", NULL, 0}},
     .today = "2026-04-10",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "met", "2026-01-23", NULL, "", X_NO},
            {"review_decision", "2026-02-09", "met", "2026-02-05", NULL, "", X_NO},
            {"amendment_representations", "2026-02-19", "met", "2026-02-16", NULL, "", X_NO},
            {"amended_plan", "2026-04-02", "late", "2026-04-03", NULL, "", X_NO},
            {"amended_plan_devon", "2026-04-06", "met", "2026-04-03", NULL, "", X_NO},
            /* The amended plan is appealable: Fri 3 Apr 2026 + 2 months = Wed 3 Jun 2026. */
            {"appeal_window", "2026-06-03", "pending", NULL,
             "2 months from final amended plan issued on 2026-04-03", "", X_NO},
            /* Reg. 33 from the same notice: Wed 3 Jun 2026 too. */
            {"mediation_contact", "2026-06-03", "pending", NULL,
             "2 months from final amended plan issued on 2026-04-03", "", X_NO}}},
    /* Proposals without a separate decision, on Tue 10 Feb (a day after 9 Feb):
     *   representations: 10 Feb + 14 = 24 Feb 2026
     *   reg. 22(3): 10 Feb + 56 = 18 (28 Feb) + 31 (31 Mar) + 7 = 7 Apr 2026
     *   Devon stays 6 Apr (from the meeting): here the earlier of the two. */
    {.what = "proposals a day late, without a separate decision",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"amendment_proposed", "2026-02-10", NULL, 0}},
     .today = "2026-02-11",
     .state = "amending",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "overdue", NULL, NULL, "", X_NO},
            {"review_decision", "2026-02-09", "late", "2026-02-10", NULL, "", X_NO},
            {"amendment_representations", "2026-02-24", "pending", NULL, NULL, "", X_NO},
            {"amended_plan", "2026-04-07", "pending", NULL, NULL, "", X_NO},
            {"amended_plan_devon", "2026-04-06", "pending", NULL, NULL, "", X_NO}}},
    /* Reg. 22(4): a decision not to amend after all, within the 8 weeks, meets both. */
    {.what = "decision not to amend after all meets reg. 22 and Devon",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"amendment_proposed", "2026-02-05", NULL, 0},
            {"decision_not_to_amend", "2026-03-20", NULL, 0}},
     .today = "2026-03-21",
     .state = "due",
     .status = "active",
     .partial = true,
     .dl = {{"amended_plan", "2026-04-02", "met", "2026-03-20", NULL, "", X_NO},
            {"amended_plan_devon", "2026-04-06", "met", "2026-03-20", NULL, "", X_NO}}},
    {.what = "decision maintain cancels the Devon deadline",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-02-02", "outcome=maintain", 0}},
     .today = "2026-02-03",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2027-01-11", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2026-01-26", "overdue", NULL, NULL, "", X_NO},
            {"review_decision", "2026-02-09", "met", "2026-02-02", NULL, "", X_NO},
            {"amended_plan_devon", "2026-04-06", "cancelled", NULL, NULL,
             "cancelled by decision after the review on 2026-02-02", X_NO}}},
    /* A cycle from the meeting of Wed 1 Oct 2025, decision to cease on Wed 29 Oct:
     *   review_meeting  12 months beginning with 1 Oct 2025 → 30 Sep 2026
     *   review_report   1 Oct + 14 = 15 Oct 2025
     *   review_decision 1 Oct + 28 = 29 Oct 2025: met on its last day
     *   Devon           1 Oct + 84 = 30 (31 Oct) + 30 (30 Nov) + 24 = 24 Dec 2025: cancelled
     *   appeal_window   r. 20(1)(c), 2 months after 29 Oct 2025 = 29 Dec 2025, inside
     *                   25 Dec-1 Jan (§6) → first working day after 1 Jan: Fri 2 Jan 2026 */
    {.what = "cease: appeal window 29 Oct 2025 -> 29 Dec -> Fri 2 Jan 2026",
     .wf = AR,
     .start = "2025-10-01",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2025-10-29", "outcome=cease", 0}},
     .today = "2026-01-02",
     .state = "ceasing",
     .status = "active",
     .dl = {{"review_meeting", "2026-09-30", "pending", NULL, NULL, "", X_NO},
            {"review_report", "2025-10-15", "overdue", NULL, NULL, "", X_NO},
            {"review_decision", "2025-10-29", "met", "2025-10-29", NULL, "", X_NO},
            {"amended_plan_devon", "2025-12-24", "cancelled", NULL, NULL,
             "cancelled by decision after the review on 2025-10-29", X_NO},
            {"appeal_window", "2026-01-02", "pending", NULL,
             "2 months from decision after the review on 2025-10-29", "", X_NO},
            /* Reg. 33: 2 months after 29 Oct 2025 = Mon 29 Dec 2025; r. 12(3) is the Tribunal's
             * and does not move a SEND Regulations period. */
            {"mediation_contact", "2025-12-29", "met", NULL,
             "2 months from decision after the review on 2025-10-29", "", X_NO, "r. 12"}}},
    {.what = "the same window the day after it ends: the period has run",
     .wf = AR,
     .start = "2025-10-01",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2025-10-29", "outcome=cease", 0}},
     .today = "2026-01-03",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-01-02", "met", NULL, "r. 12(3)", "", X_NO}}},
    /* Decision Wed 10 Jun 2026 (4 weeks from 20 May = 17 Jun: in time); appeal 2 months →
     * 10 Aug 2026, in August → first working day after 31 Aug (itself the summer bank
     * holiday) = Tue 1 Sep 2026. */
    {.what = "cease: appeal window 10 Jun 2026 -> 10 Aug -> Tue 1 Sep 2026",
     .wf = AR,
     .start = "2026-05-20",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-06-10", "outcome=cease", 0}},
     .today = "2026-06-11",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"review_decision", "2026-06-17", "met", "2026-06-10", NULL, "", X_NO},
            {"appeal_window", "2026-09-01", "pending", NULL, "in August", "", X_NO}}},
    /* CFA s45: the plan is kept until the appeal period ends (2 Jan 2026, above). Ceasing it on
     * 1 Dec 2025 ends the process, but the window runs on and its note flags the breach; the
     * unmet report (due 15 Oct) is cancelled by the end, 47 days after it fell due
     * (15 Oct → 1 Dec: 16 + 30 + 1 = 47). */
    {.what = "plan ceased inside the appeal window: the window runs on, flagged",
     .wf = AR,
     .start = "2025-10-01",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2025-10-29", "outcome=cease", 0},
            {"plan_ceased", "2025-12-01", NULL, 0}},
     .today = "2025-12-02",
     .state = "ceased",
     .status = "completed",
     .ended_on = "2025-12-01",
     .partial = true,
     .dl = {{"review_meeting", "2026-09-30", "cancelled", NULL, NULL,
             "cancelled: process completed (plan ceased) on 2025-12-01", X_NO},
            {"review_report", "2025-10-15", "cancelled", NULL, NULL, "47 days after it fell due",
             X_NO},
            {"appeal_window", "2026-01-02", "pending", NULL, NULL,
             "the process ended on 2025-12-01 (plan ceased) before this period had run", X_NO}}},

    /* ---- the under-5 cycle (CoP 9.178, service setting "6 months") ---- */
    /* Born 15 Jan 2022: 3 on 10 Mar 2025. 6 months beginning with 10 Mar 2025 = after 9 Mar
     * → 9 Sep 2025. */
    {.what = "under 5 (aged 3) with the 6-month setting: 6 months beginning with the start",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2022-01-15",
     .svc = SV_UNDER5,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2025-09-09", "pending", NULL, "Code of Practice 9.178", "", X_NO}}},
    /* Born 10 Mar 2020: 5 on 10 Mar 2025, the start: not under 5 → 12 months, 9 Mar 2026. */
    {.what = "aged 5 on the start day: 12 months",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2020-03-10",
     .svc = SV_UNDER5,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO, "Code of Practice"}}},
    /* Born 11 Mar 2020: still 4 on 10 Mar 2025 → 6 months, 9 Sep 2025. */
    {.what = "5th birthday the day after the start: 6 months",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2020-03-11",
     .svc = SV_UNDER5,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2025-09-09", "pending", NULL, "the child was 4", "", X_NO}}},
    {.what = "under 5, the setting off (defaults): 12 months",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2022-01-15",
     .svc = SV_DEFAULTS,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO, "Code of Practice"}}},
    {.what = "under 5, no settings at all: 12 months",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2022-01-15",
     .svc = SV_NULL,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO, "Code of Practice"}}},
    {.what = "under 5 with the setting but no date of birth: 12 months",
     .wf = AR,
     .start = "2025-03-10",
     .svc = SV_UNDER5,
     .today = "2025-03-11",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-03-09", "pending", NULL, NULL, "", X_NO, "Code of Practice"}}},
    /* Born 29 Feb 2020: the 5th birthday in 2025 is reached on 1 Mar (cohort.h), so 4 on
     * 28 Feb 2025 → 6 months beginning with 28 Feb = after 27 Feb → 27 Aug 2025. */
    {.what = "born 29 Feb 2020, cycle from 28 Feb 2025: still 4, 6 months",
     .wf = AR,
     .start = "2025-02-28",
     .dob = "2020-02-29",
     .svc = SV_UNDER5,
     .today = "2025-03-01",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2025-08-27", "pending", NULL, "Code of Practice", "", X_NO}}},
    /* 5 on 1 Mar 2025 → 12 months beginning with 1 Mar 2025 = after 28 Feb 2025 → 28 Feb
     * 2026. */
    {.what = "born 29 Feb 2020, cycle from 1 Mar 2025: 5, 12 months",
     .wf = AR,
     .start = "2025-03-01",
     .dob = "2020-02-29",
     .svc = SV_UNDER5,
     .today = "2025-03-01",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-02-28", "pending", NULL, NULL, "", X_NO, "Code of Practice"}}},
    /* 6 months beginning with 31 Aug 2025 = after 30 Aug 2025 → no 30 Feb → 28 Feb 2026. */
    {.what = "under 5 from 31 Aug: 6 months end on the last day of February",
     .wf = AR,
     .start = "2025-08-31",
     .dob = "2022-01-15",
     .svc = SV_UNDER5,
     .today = "2025-09-01",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-02-28", "pending", NULL, NULL, "", X_NO}}},
    /* From a meeting on 12 Jan 2026, aged 3: 6 months beginning with 12 Jan = after 11 Jan →
     * 11 Jul 2026; the post-meeting steps keep their statutory periods (above). */
    {.what = "under 5, cycle from a meeting: only the review itself is shorter",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .dob = "2022-01-15",
     .svc = SV_UNDER5,
     .today = "2026-01-12",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2026-07-11", "pending", NULL, "Code of Practice", "", X_NO},
            {"review_report", "2026-01-26", "pending", NULL, NULL, "", X_NO, "Code of Practice"},
            {"review_decision", "2026-02-09", "pending", NULL, NULL, "", X_NO, "Code of Practice"},
            {"amended_plan_devon", "2026-04-06", "pending", NULL, NULL, "", X_NO,
             "Code of Practice"}}},
    /* Due 9 Sep 2025 (above): a meeting on 10 Sep is late. */
    {.what = "under 5: a meeting the day after the shorter cycle is late",
     .wf = AR,
     .start = "2025-03-10",
     .dob = "2022-01-15",
     .svc = SV_UNDER5,
     .ev = {{"review_meeting_held", "2025-09-10", NULL, 0}},
     .today = "2025-09-11",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2025-09-10",
     .starts = NEXT_CYCLE("2025-09-10"),
     .dl = {{"review_meeting", "2025-09-09", "late", "2025-09-10", NULL, "", X_NO}}},

    /* ---- preparing for adulthood (reg. 21(6)): Year 9 or later ---- */
    /* Born 31 Aug 2015: S = 2015 + 4 = 2019, Year 9 from 1 Sep 2028. Born 1 Sep 2015:
     * S = 2015 + 5 = 2020, Year 9 from 1 Sep 2029.
     * Cycle from 2 Sep 2027: 12 months beginning with it = after 1 Sep 2027 → 1 Sep 2028.
     * Cycle from 1 Sep 2027 → 31 Aug 2028. */
    {.what = "born 31 Aug 2015, review due 1 Sep 2028: first day of Year 9, flagged",
     .wf = AR,
     .start = "2027-09-02",
     .dob = "2015-08-31",
     .today = "2027-09-03",
     .state = "due",
     .status = "active",
     .flags = "preparing_for_adulthood",
     .flag_note = "due by 2028-09-01, in Year 9 or later (Year 9 began 2028-09-01",
     .dl = {{"review_meeting", "2028-09-01", "pending", NULL, NULL, "", X_NO}}},
    {.what = "born 1 Sep 2015, review due 1 Sep 2028: Year 8, no flag",
     .wf = AR,
     .start = "2027-09-02",
     .dob = "2015-09-01",
     .today = "2027-09-03",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2028-09-01", "pending", NULL, NULL, "", X_NO}}},
    {.what = "born 31 Aug 2015, review due 31 Aug 2028: last day of Year 8, no flag",
     .wf = AR,
     .start = "2027-09-01",
     .dob = "2015-08-31",
     .today = "2027-09-03",
     .state = "due",
     .status = "active",
     .dl = {{"review_meeting", "2028-08-31", "pending", NULL, NULL, "", X_NO}}},
    /* The meeting's own date decides: held (late) on 1 Sep 2028, in Year 9. */
    {.what = "due in Year 8, held in Year 9: flagged on the meeting's date",
     .wf = AR,
     .start = "2027-09-01",
     .dob = "2015-08-31",
     .ev = {{"review_meeting_held", "2028-09-01", NULL, 0}},
     .today = "2028-09-02",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2028-09-01",
     .starts = NEXT_CYCLE("2028-09-01"),
     .flags = "preparing_for_adulthood",
     .flag_note = "met on 2028-09-01",
     .dl = {{"review_meeting", "2028-08-31", "late", "2028-09-01", NULL, "", X_NO}}},
    {.what = "due in Year 9, held in Year 8: no flag",
     .wf = AR,
     .start = "2027-09-02",
     .dob = "2015-08-31",
     .ev = {{"review_meeting_held", "2028-08-31", NULL, 0}},
     .today = "2028-09-02",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2028-08-31",
     .starts = NEXT_CYCLE("2028-08-31"),
     .dl = {{"review_meeting", "2028-09-01", "met", "2028-08-31", NULL, "", X_NO}}},
    /* Born 1 Sep 2015, cycle from 2 Sep 2028 → due 1 Sep 2029, the first day of Year 9. */
    {.what = "born 1 Sep 2015, review due 1 Sep 2029: flagged",
     .wf = AR,
     .start = "2028-09-02",
     .dob = "2015-09-01",
     .today = "2028-09-03",
     .state = "due",
     .status = "active",
     .flags = "preparing_for_adulthood",
     .flag_note = "Year 9 began 2029-09-01 for a child born on 2015-09-01",
     .dl = {{"review_meeting", "2029-09-01", "pending", NULL, NULL, "", X_NO}}},
};

static void test_annual_review(void)
{
    for (size_t i = 0; i < sizeof review_scenarios / sizeof review_scenarios[0]; i++)
        run_scenario(&review_scenarios[i]);
}

/* The appeal window after a decision to cease (r. 20(1)(c), §6): 2 months after the decision,
 * moved to the first working day after 1 Jan / 31 Aug when it ends 25 Dec-1 Jan or in August.
 * Each cycle starts on the decision's day, from a review meeting. */
static void test_appeal_window(void)
{
    static const struct {
        const char *decision, *due, *why;
    } rows[] = {
        /* 29 Dec 2025 is inside 25 Dec-1 Jan → Fri 2 Jan 2026. */
        {"2025-10-29", "2026-01-02", "reference §9 example"},
        /* 10 Aug 2026 is in August → Tue 1 Sep 2026. */
        {"2026-06-10", "2026-09-01", "August"},
        /* 24 Dec 2025: the day before the closed days, unchanged (Wed). */
        {"2025-10-24", "2025-12-24", "24 Dec stays"},
        /* 25 Dec 2025: first closed day → Fri 2 Jan 2026. */
        {"2025-10-25", "2026-01-02", "25 Dec moves"},
        /* 1 Jan 2026: last closed day → Fri 2 Jan 2026. */
        {"2025-11-01", "2026-01-02", "1 Jan moves"},
        /* 2 Jan 2026 itself: not closed, unchanged. */
        {"2025-11-02", "2026-01-02", "2 Jan stays"},
        /* 31 Dec 2021 → after 1 Jan 2022: Sun 2 Jan; Mon 3 Jan is the substitute for New Year's
         * Day (a Saturday) → Tue 4 Jan 2022. */
        {"2021-10-31", "2022-01-04", "substitute bank holiday skipped"},
        /* 27 Dec 2026 → Sat 2 Jan, Sun 3 Jan 2027 → Mon 4 Jan 2027 (1 Jan 2027 is a Friday:
         * no substitute day). */
        {"2026-10-27", "2027-01-04", "weekend after New Year skipped"},
        /* 10 Aug 2024 → Sun 1 Sep 2024 → Mon 2 Sep 2024. */
        {"2024-06-10", "2024-09-02", "1 Sep a Sunday"},
        /* 30 Aug 2025 → Mon 1 Sep 2025. */
        {"2025-06-30", "2025-09-01", "30 Aug moves"},
        /* 30 Aug 2026 → Tue 1 Sep 2026 (Mon 31 Aug is itself in August). */
        {"2026-06-30", "2026-09-01", "30 Aug moves"},
        /* 1 Sep 2026: not in August, unchanged. */
        {"2026-07-01", "2026-09-01", "1 Sep stays"},
        /* 31 Jul 2026: not in August, unchanged. */
        {"2026-05-31", "2026-07-31", "31 Jul stays"},
        /* 15 Aug 2027 → Wed 1 Sep 2027. */
        {"2027-06-15", "2027-09-01", "mid-August"},
        /* 31 Dec 2025 + 2 months: no 31 Feb → Sat 28 Feb 2026 (§9), not a working day:
         * r. 12(2) → Mon 2 Mar 2026. */
        {"2025-12-31", "2026-03-02", "month end on a Saturday"},
        /* 3 Nov 2025 + 2 months = Sat 3 Jan 2026 → r. 12(2) → Mon 5 Jan 2026. */
        {"2025-11-03", "2026-01-05", "r. 12(2) weekend"},
        /* 6 Feb 2026 + 2 months = Mon 6 Apr 2026, Easter Monday → Tue 7 Apr 2026. */
        {"2026-02-06", "2026-04-07", "r. 12(2) bank holiday"},
        /* 14 Mar 2026 + 2 months = Thu 14 May 2026: a working day, unchanged. */
        {"2026-03-14", "2026-05-14", "working day stays"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        scenario s = {.what = rows[i].why,
                      .wf = AR,
                      .start = rows[i].decision,
                      .pattrs = AFTER_MEETING,
                      .ev = {{"review_decision", rows[i].decision, "outcome=cease", 0}},
                      .today = rows[i].decision,
                      .state = "ceasing",
                      .status = "active",
                      .partial = true,
                      .dl = {{"appeal_window", rows[i].due, "pending", NULL, NULL, "", X_NO}}};
        run_scenario(&s);
    }
}

/* ---- appeals and mediation certificates (§6, CFA s. 51(2), r. 20(1)(c), r. 12) ---- */

static const scenario appeal_scenarios[] = {
    /* The reference's §9 example. Decision not to assess Wed 1 Oct 2025: 2 months → Mon 1 Dec
     * 2025. Certificate Sat 29 Nov 2025: 1 month → Mon 29 Dec 2025, later; inside 25 Dec-1 Jan
     * (r. 12(3)) → first working day after 1 Jan: Fri 2 Jan 2026. The decision ended the
     * process; the certificate is taken after its end. */
    {.what = "not to assess 1 Oct 2025, certificate 29 Nov: window 2 Jan 2026",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"mediation_certificate_issued", "2025-11-29", NULL, 0}},
     .today = "2025-12-02",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .partial = true,
     .dl = {{"appeal_window", "2026-01-02", "pending", NULL,
             "the later date applies: 1 month from mediation certificate issued on 2025-11-29, "
             "ending 2025-12-29",
             "", X_NO}}},
    /* Certificate Wed 15 Oct 2025: 1 month → Sat 15 Nov, earlier than Mon 1 Dec: 1 Dec stays. */
    {.what = "certificate whose month ends first: the 2 months stand",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"mediation_certificate_issued", "2025-10-15", NULL, 0}},
     .today = "2025-12-01",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .partial = true,
     .dl = {{"appeal_window", "2025-12-01", "pending", NULL,
             "(the later of this and 1 month from mediation certificate issued on 2025-10-15, "
             "ending 2025-11-15)",
             "", X_NO}}},
    /* An appeal lodged after the process ended ends the window early (met on 20 Nov). */
    {.what = "appeal lodged after a decision not to assess: window met",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"appeal_lodged", "2025-11-20", NULL, 0}},
     .today = "2025-11-21",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .partial = true,
     .dl = {{"appeal_window", "2025-12-01", "met", "2025-11-20", NULL, "", X_NO}}},
    /* Month ends. Cease Wed 31 Dec 2025: 2 months → no 31 Feb → Sat 28 Feb 2026. Certificate Sat
     * 31 Jan 2026: 1 month → 28 Feb 2026 too, not later. Sat → r. 12(2) → Mon 2 Mar 2026. */
    {.what = "cease 31 Dec, certificate 31 Jan: both 28 Feb, a Saturday -> Mon 2 Mar",
     .wf = AR,
     .start = "2025-12-03",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2025-12-31", "outcome=cease", 0},
            {"mediation_certificate_issued", "2026-01-31", NULL, 0}},
     .today = "2026-03-02",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-03-02", "pending", NULL, "r. 12(2)", "", X_NO}}},
    /* 29 February. Cease Wed 1 Dec 2027: 2 months → Tue 1 Feb 2028. Certificate Sat 29 Jan
     * 2028: 1 month → Tue 29 Feb 2028 (a leap year), later, a working day. */
    {.what = "certificate 29 Jan 2028: window 29 Feb 2028",
     .wf = AR,
     .start = "2027-11-10",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2027-12-01", "outcome=cease", 0},
            {"mediation_certificate_issued", "2028-01-29", NULL, 0}},
     .today = "2028-02-01",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2028-02-29", "pending", NULL, "ending 2028-02-29", "", X_NO}}},
    /* August. Cease Mon 1 Jun 2026: 2 months → Sat 1 Aug. Certificate Mon 20 Jul 2026: 1 month →
     * Thu 20 Aug 2026, later, in August (r. 12(3)) → first working day after 31 Aug (itself the
     * summer bank holiday, a Monday) → Tue 1 Sep 2026. */
    {.what = "certificate 20 Jul 2026: 20 Aug, in August -> Tue 1 Sep 2026",
     .wf = AR,
     .start = "2026-05-20",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-06-01", "outcome=cease", 0},
            {"mediation_certificate_issued", "2026-07-20", NULL, 0}},
     .today = "2026-08-01",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-09-01", "pending", NULL, "in August", "", X_NO}}},
    /* Cease Sun 1 Feb 2026 (window Wed 1 Apr); appeal lodged Fri 20 Mar: the window is met and
     * the plan is kept while the appeal is pending (state appealed). */
    {.what = "appeal against ceasing lodged: window met, appeal pending",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-02-01", "outcome=cease", 0},
            {"appeal_lodged", "2026-03-20", NULL, 0}},
     .today = "2026-03-21",
     .state = "appealed",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-04-01", "met", "2026-03-20", NULL, "", X_NO}}},
    /* Dismissed on Mon 1 Jun: back to ceasing; the plan ceased on 2 Jun. */
    {.what = "appeal dismissed, then the plan ceased",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-02-01", "outcome=cease", 0},
            {"appeal_lodged", "2026-03-20", NULL, 0},
            {"appeal_decided", "2026-06-01", "outcome=dismissed", 0},
            {"plan_ceased", "2026-06-02", NULL, 0}},
     .today = "2026-06-03",
     .state = "ceased",
     .status = "completed",
     .ended_on = "2026-06-02",
     .partial = true,
     .dl = {{"appeal_window", "2026-04-01", "met", "2026-03-20", NULL, "", X_NO}}},
    /* Upheld: the plan is kept, the cycle is "review due" again. */
    {.what = "appeal against ceasing upheld: the plan is kept",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-02-01", "outcome=cease", 0},
            {"appeal_lodged", "2026-03-20", NULL, 0},
            {"appeal_decided", "2026-06-01", "outcome=upheld", 0}},
     .today = "2026-06-03",
     .state = "due",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-04-01", "met", "2026-03-20", NULL, "", X_NO}}},
    /* Decision not to amend Tue 10 Mar 2026 (after proposals on Tue 10 Feb): CFA s. 51(2);
     * 2 months → Sun 10 May 2026 → r. 12(2) → Mon 11 May 2026. */
    {.what = "decision not to amend opens the window",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"amendment_proposed", "2026-02-10", NULL, 0},
            {"decision_not_to_amend", "2026-03-10", NULL, 0}},
     .today = "2026-03-11",
     .state = "due",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-05-11", "pending", NULL,
             "2 months from decision not to amend after all on 2026-03-10", "", X_NO}}},
};

/* Mediation clocks (regs. 34, 42; 30 days and the certificate after mediation NV). */
static const scenario mediation_scenarios[] = {
    /* Decision not to assess Wed 1 Oct 2025 (the process ends). Adviser told Tue 23 Dec 2025 the
     * family will not mediate: 3 working days, the day excluded: Wed 24 (1), 25-26 Dec bank
     * holidays, 27-28 weekend, Mon 29 (2), Tue 30 Dec (3) → 2025-12-30. Certificate Wed 31 Dec: on
     * time; it extends the window: 31 Dec + 1 month = Sat 31 Jan 2026, later than 1 Dec; r. 12(2)
     * → Mon 2 Feb 2026. */
    {.what = "not mediating: certificate in 3 working days over Christmas; window extended",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"mediation_adviser_contacted", "2025-12-23", "mediating=no", 0},
            {"mediation_certificate_issued", "2025-12-31", NULL, 0}},
     .today = "2026-01-02",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .partial = true,
     .dl = {{"certificate_not_mediating", "2025-12-30", "late", "2025-12-31", NULL, "", X_NO},
            {"appeal_window", "2026-02-02", "pending", NULL, "r. 12(2)", "", X_NO}}},
    /* Cease Tue 20 Jan 2026 (window Fri 20 Mar). Mediation asked Mon 2 Feb: 30 days → Wed 4
     * Mar; held Mon 2 Mar (met). Certificate within 3 working days of it: Thu 5 Mar; issued Fri
     * 6 Mar (late); window: 6 Mar + 1 month = Mon 6 Apr 2026, Easter Monday → Tue 7 Apr.
     * Agreement 2 Mar: 2 weeks → Mon 16 Mar, carried out that day. */
    {.what = "mediation held: 30 days, certificate, agreement (reg. 42)",
     .wf = AR,
     .start = "2026-01-12",
     .pattrs = AFTER_MEETING,
     .ev = {{"review_decision", "2026-01-20", "outcome=cease", 0},
            {"mediation_requested", "2026-02-02", NULL, 0},
            {"mediation_held", "2026-03-02", NULL, 0},
            {"mediation_agreement", "2026-03-02", NULL, 0},
            {"mediation_certificate_issued", "2026-03-06", NULL, 0},
            {"mediation_agreement_carried_out", "2026-03-16", NULL, 0}},
     .today = "2026-03-17",
     .state = "ceasing",
     .status = "active",
     .partial = true,
     .dl = {{"mediation_meeting", "2026-03-04", "met", "2026-03-02", NULL, "", X_NO},
            {"certificate_after_mediation", "2026-03-05", "late", "2026-03-06", NULL, "", X_NO},
            {"mediation_agreement", "2026-03-16", "met", "2026-03-16", NULL, "", X_NO},
            {"appeal_window", "2026-04-07", "pending", NULL, NULL, "", X_NO}}},
    /* Reg. 33 and the health commissioner, over Christmas. Decision not to assess Fri 31 Oct
     * 2025 (the process ends). Reg. 33: 2 months → Wed 31 Dec 2025 (the appeal window's 31 Dec
     * moves to Fri 2 Jan 2026 under r. 12(3); reg. 33's does not). Adviser contacted Tue 30 Dec
     * (met). Mediation asked Wed 31 Dec with health issues: 3 working days, the day excluded: 1
     * Jan bank holiday, Fri 2 (1), 3-4 weekend, Mon 5 (2), Tue 6 Jan 2026 (3); told Wed 7 Jan:
     * late. Mediation: 31 Dec + 30 = Fri 30 Jan 2026. */
    {.what = "reg. 33 met 30 Dec; health commissioner told a day late over New Year",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-31", "outcome=no", 0},
            {"mediation_adviser_contacted", "2025-12-30", "mediating=yes", 0},
            {"mediation_requested", "2025-12-31", "health=yes", 0},
            {"health_commissioner_told", "2026-01-07", NULL, 0}},
     .today = "2026-01-08",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-31",
     .partial = true,
     .dl = {{"appeal_window", "2026-01-02", "met", NULL, "r. 12(3)", "", X_NO},
            {"mediation_contact", "2025-12-31", "met", "2025-12-30",
             "2 months from decision whether to assess on 2025-10-31", "", X_NO, "r. 12"},
            {"tell_health_commissioner", "2026-01-06", "late", "2026-01-07",
             "3 working days from authority told the parent or young person wants mediation on "
             "2025-12-31",
             "", X_NO},
            {"mediation_meeting", "2026-01-30", "pending", NULL, NULL, "", X_NO}}},
    /* Histories recorded before health= existed (no attribute), and health=no: no duty to tell
     * the health commissioner. Every deadline listed: decide_to_assess 1 Sep + 42 = Mon 13 Oct
     * (met 1 Oct); notify_no_plan 1 Sep + 112 = Mon 22 Dec and final_plan 1 Sep + 140 = Mon 19
     * Jan 2026, cancelled by the decision; appeal window 1 Oct + 2 months = Mon 1 Dec; mediation
     * 4 Nov + 30 = Thu 4 Dec; reg. 33 Mon 1 Dec, met by the contact on Mon 3 Nov. */
    {.what = "mediation requested without health=: no health duty (old histories replay)",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"mediation_adviser_contacted", "2025-11-03", "mediating=yes", 0},
            {"mediation_requested", "2025-11-04", NULL, 0}},
     .today = "2025-11-05",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .dl = {{"decide_to_assess", "2025-10-13", "met", "2025-10-01", NULL, "", X_NO},
            {"notify_no_plan", "2025-12-22", "cancelled", NULL, NULL, NULL, X_NO},
            {"final_plan", "2026-01-19", "cancelled", NULL, NULL, NULL, X_NO},
            {"appeal_window", "2025-12-01", "pending", NULL, NULL, "", X_NO},
            {"mediation_meeting", "2025-12-04", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2025-12-01", "met", "2025-11-03", NULL, "", X_NO}}},
    {.what = "mediation requested with health=no: no health duty",
     .wf = EH,
     .start = "2025-09-01",
     .ev = {{"decision_to_assess", "2025-10-01", "outcome=no", 0},
            {"mediation_adviser_contacted", "2025-11-03", "mediating=yes", 0},
            {"mediation_requested", "2025-11-04", "health=no", 0}},
     .today = "2025-11-05",
     .state = "not_assessing",
     .status = "completed",
     .ended_on = "2025-10-01",
     .dl = {{"decide_to_assess", "2025-10-13", "met", "2025-10-01", NULL, "", X_NO},
            {"notify_no_plan", "2025-12-22", "cancelled", NULL, NULL, NULL, X_NO},
            {"final_plan", "2026-01-19", "cancelled", NULL, NULL, NULL, X_NO},
            {"appeal_window", "2025-12-01", "pending", NULL, NULL, "", X_NO},
            {"mediation_meeting", "2025-12-04", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2025-12-01", "met", "2025-11-03", NULL, "", X_NO}}},
    /* Month end. Decision not to re-assess Wed 31 Dec 2025 (request Wed 10 Dec + 15 = Thu 25 Dec:
     * late). Reg. 33: 2 months → no 31 Feb → Sat 28 Feb 2026, not moved; the appeal window's Sat
     * 28 Feb moves to Mon 2 Mar (r. 12(2)). An appeal lodged on Mon 16 Feb, the adviser never
     * contacted (an appeal needing no certificate): it ends reg. 33's period early, as it ends
     * the window. */
    {.what = "reg. 33 at a month end, ended early by an appeal lodged",
     .wf = "reassessment",
     .start = "2025-12-10",
     .ev = {{"decision_to_reassess", "2025-12-31", "outcome=no", 0},
            {"appeal_lodged", "2026-02-16", NULL, 0}},
     .today = "2026-02-17",
     .state = "not_reassessing",
     .status = "completed",
     .ended_on = "2025-12-31",
     .partial = true,
     .dl = {{"decide_to_reassess", "2025-12-25", "late", "2025-12-31", NULL, "", X_NO},
            {"appeal_window", "2026-03-02", "met", "2026-02-16", NULL, "", X_NO},
            {"mediation_contact", "2026-02-28", "met", "2026-02-16", NULL, "", X_NO}}},
    /* The final plan's first cycle (started_after=plan_issued), plan Mon 29 Dec 2025: 2 months →
     * no 29 Feb in 2026 → Sat 28 Feb 2026 for reg. 33; the window → Mon 2 Mar (r. 12(2)). */
    {.what = "reg. 33 on the final plan: 29 Dec 2025 -> Sat 28 Feb 2026",
     .wf = AR,
     .start = "2025-12-29",
     .pattrs = "started_after=plan_issued",
     .today = "2026-01-05",
     .state = "due",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2026-03-02", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2026-02-28", "pending", NULL,
             "2 months from final plan issued on 2025-12-29", "", X_NO, "r. 12"}}},
    /* Ceasing outside a review. Notice Mon 30 Nov 2026: reg. 33 → Sat 30 Jan 2027 (not moved);
     * the window → Mon 1 Feb 2027 (r. 12(2)). Mediation asked Thu 24 Dec 2026 with health
     * issues: 3 working days, the day excluded: Fri 25 Dec, Sat 26 (Boxing Day, its substitute
     * Mon 28 Dec), Sun 27, Mon 28 skipped; Tue 29 (1), Wed 30 (2), Thu 31 Dec 2026 (3); told Mon
     * 4 Jan 2027: late. A certificate on Mon 11 Jan 2027 without the contact recorded ends reg.
     * 33's period (a certificate follows a contact) and moves the window: 11 Jan + 1 month = Thu
     * 11 Feb 2027, later than 1 Feb. */
    {.what = "cease-plan: reg. 33 met by a certificate; health commissioner over Christmas 2026",
     .wf = "cease-plan",
     .start = "2026-10-01",
     .pattrs = "ground=no_longer_needed",
     .ev = {{"consulted", "2026-10-15", NULL, 0},
            {"decision_to_cease", "2026-11-20", "outcome=cease", 0},
            {"cease_notice_sent", "2026-11-30", NULL, 0},
            {"mediation_requested", "2026-12-24", "health=yes", 0},
            {"health_commissioner_told", "2027-01-04", NULL, 0},
            {"mediation_certificate_issued", "2027-01-11", NULL, 0}},
     .today = "2027-01-12",
     .state = "notified",
     .status = "active",
     .partial = true,
     .dl = {{"appeal_window", "2027-02-11", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2027-01-30", "met", "2027-01-11", NULL, "", X_NO},
            {"tell_health_commissioner", "2026-12-31", "late", "2027-01-04", NULL, "", X_NO}}},
};

static void test_appeals(void)
{
    for (size_t i = 0; i < sizeof appeal_scenarios / sizeof appeal_scenarios[0]; i++)
        run_scenario(&appeal_scenarios[i]);
    for (size_t i = 0; i < sizeof mediation_scenarios / sizeof mediation_scenarios[0]; i++)
        run_scenario(&mediation_scenarios[i]);
}

/* ---- re-assessment (§2: regs. 24-27) ----------------------------------- */

#define RA "reassessment"

static const scenario reassessment_scenarios[] = {
    /* Request Mon 5 Jan 2026: decision "within 15 days" (reg. 25(1)) → Tue 20 Jan 2026.
     * Decided yes Thu 15 Jan: outcome 14 weeks (reg. 27(2)) → 15 Jan + 98 = Thu 23 Apr 2026.
     * Health asked Mon 19 Jan: + 42 = Mon 2 Mar 2026; received Fri 27 Feb.
     * Amended plan Mon 20 Apr 2026 (met); its appeal window: 2 months → Sat 20 Jun 2026,
     * r. 12(2) → Mon 22 Jun 2026. */
    {.what = "re-assessment: 15 days, advice, 14 weeks, appeal window",
     .wf = RA,
     .start = "2026-01-05",
     .ev = {{"decision_to_reassess", "2026-01-15", "outcome=yes", 0},
            {"advice_requested", "2026-01-19", "from=health", 0},
            {"advice_received", "2026-02-27", "from=health", 0},
            {"amended_plan_issued", "2026-04-20", NULL, 0}},
     .today = "2026-04-21",
     .state = "amended",
     .status = "completed",
     .ended_on = "2026-04-20",
     .dl = {{"decide_to_reassess", "2026-01-20", "met", "2026-01-15",
             "15 days from request received on 2026-01-05", "", X_NO},
            {"advice_health", "2026-03-02", "met", "2026-02-27", NULL, "", X_NO},
            {"reassessment_outcome", "2026-04-23", "met", "2026-04-20",
             "14 weeks from decision to re-assess (the reg. 25(1) notice) on 2026-01-15", "", X_NO},
            {"appeal_window", "2026-06-22", "pending", NULL, "r. 12(2)", "", X_NO},
            /* Reg. 33: Sat 20 Jun 2026 stays (no r. 12(2) for a SEND Regulations period). */
            {"mediation_contact", "2026-06-20", "pending", NULL, NULL, "", X_NO, "r. 12"}}},
    /* Request Sat 14 Feb 2026 → + 15 = Sun 1 Mar 2026 (a weekend does not move it: the SEND
     * Regulations have no r. 12). Decided no on Mon 2 Mar: late. Window: 2 months → Sat 2 May
     * 2026; Mon 4 May is the early May bank holiday → Tue 5 May 2026 (r. 12(2)). */
    {.what = "decision not to re-assess a day late; window over a bank holiday",
     .wf = RA,
     .start = "2026-02-14",
     .ev = {{"decision_to_reassess", "2026-03-02", "outcome=no", 0}},
     .today = "2026-03-03",
     .state = "not_reassessing",
     .status = "completed",
     .ended_on = "2026-03-02",
     .dl = {{"decide_to_reassess", "2026-03-01", "late", "2026-03-02", NULL, "", X_NO},
            {"appeal_window", "2026-05-05", "pending", NULL, NULL, "", X_NO},
            /* Reg. 33: 2 months → Sat 2 May 2026, not moved. */
            {"mediation_contact", "2026-05-02", "pending", NULL, NULL, "", X_NO}}},
    /* 29 February. Request Mon 14 Feb 2028 → + 15 = Tue 29 Feb 2028. Decided yes that day: 29 Feb
     * + 98 = 31 (31 Mar) + 30 (30 Apr) + 31 (31 May) + 6 = Tue 6 Jun 2028. Exceptional personal
     * circumstances from 1 Apr, still open: unmet on 7 Jun, excused (reg. 27(3)(c)). */
    {.what = "request 14 Feb 2028: decision by 29 Feb, outcome by 6 Jun, excused",
     .wf = RA,
     .start = "2028-02-14",
     .ev = {{"decision_to_reassess", "2028-02-29", "outcome=yes", 0},
            {"exception_started", "2028-04-01", "reason=exceptional_circumstances", 0}},
     .today = "2028-06-07",
     .state = "reassessing",
     .status = "active",
     .dl = {{"decide_to_reassess", "2028-02-29", "met", "2028-02-29", NULL, "", X_NO},
            {"reassessment_outcome", "2028-06-06", "excused", NULL, NULL,
             "exception (exceptional_circumstances) from 2028-04-01, still open", X_YES}}},
    /* Decided yes Wed 1 Oct 2025: + 98 = 30 (31 Oct) + 30 (30 Nov) + 31 (31 Dec) + 7 = Wed 7 Jan
     * 2026: the Tribunal's Christmas rule is not the SEND Regulations', nothing moves. A
     * school closure of 2 weeks excuses nothing (4 weeks needed). */
    {.what = "14 weeks over Christmas stay 7 Jan 2026; a 2-week closure excuses nothing",
     .wf = RA,
     .start = "2025-09-29",
     .ev = {{"decision_to_reassess", "2025-10-01", "outcome=yes", 0},
            {"exception_started", "2025-12-19", "reason=school_closure", 0},
            {"exception_ended", "2026-01-02", "reason=school_closure", 0}},
     .today = "2026-01-08",
     .state = "reassessing",
     .status = "active",
     .partial = true,
     .dl = {{"reassessment_outcome", "2026-01-07", "overdue", NULL, NULL, "excuses nothing",
             X_NO}}},
};

static void test_reassessment(void)
{
    for (size_t i = 0; i < sizeof reassessment_scenarios / sizeof reassessment_scenarios[0]; i++)
        run_scenario(&reassessment_scenarios[i]);
}

/* ---- Tribunal orders and unopposed appeals (§7: regs. 44, 45) ---------- */

#define TO  "tribunal-order"
#define B44 "SEND Regulations 2014, reg. 44"
#define B42 "SEND Regulations 2014, reg. 42 (the periods of reg. 44; paragraph not checked)"

static const scenario tribunal_scenarios[] = {
    /* make_plan, sent Fri 30 Jan 2026: draft 5 weeks → Fri 6 Mar; final 11 weeks → 30 Jan + 77
     * = 27 Feb + 28 = 27 Mar + 21 = Fri 17 Apr 2026. Draft on 5 Mar (met), final 20 Apr (late). */
    {.what = "order to make a plan: draft 5 weeks met, final 11 weeks late",
     .wf = TO,
     .start = "2026-01-30",
     .pattrs = "order=make_plan",
     .ev = {{"draft_plan_issued", "2026-03-05", NULL, 0},
            {"final_plan_issued", "2026-04-20", NULL, 0}},
     .today = "2026-04-21",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-04-20",
     .starts = "annual-review@2026-04-20{started_after=plan_issued}",
     .dl = {{"draft_plan", "2026-03-06", "met", "2026-03-05",
             "5 weeks from order sent on 2026-01-30", "", X_NO},
            {"final_plan", "2026-04-17", "late", "2026-04-20", NULL, "", X_NO}}},
    /* assess, sent Wed 17 Dec 2025: tell 2 weeks → Wed 31 Dec 2025 (r. 12(3) is the Tribunal's,
     * not these regulations': nothing moves); no-plan 10 weeks → 17 Dec + 70 = 25 Feb 2026; plan
     * 14 weeks → 17 Dec + 98 = 25 Mar 2026. Told on 5 Jan: late. */
    {.what = "order to assess over Christmas: 31 Dec, 25 Feb, 25 Mar",
     .wf = TO,
     .start = "2025-12-17",
     .pattrs = "order=assess",
     .ev = {{"assessment_notified", "2026-01-05", NULL, 0}},
     .today = "2026-01-06",
     .state = "open",
     .status = "active",
     .dl = {{"notify_family", "2025-12-31", "late", "2026-01-05", NULL, "", X_NO},
            {"notify_no_plan", "2026-02-25", "pending", NULL, NULL, "", X_NO},
            {"final_plan", "2026-03-25", "pending", NULL, NULL, "", X_NO}}},
    /* Unopposed (reg. 45) school and contents, notice Mon 1 Jun 2026: 5 weeks → Mon 6 Jul. */
    {.what = "unopposed: school with contents, 5 weeks",
     .wf = TO,
     .start = "2026-06-01",
     .pattrs = "order=name_school,kind=unopposed,with_contents=yes",
     .today = "2026-06-02",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2026-07-06", "pending", NULL,
             "5 weeks from notice to the Tribunal sent on 2026-06-01", "", X_NO}}},
    /* The same without contents: 2 weeks → Mon 15 Jun 2026. */
    {.what = "unopposed: school only, 2 weeks",
     .wf = TO,
     .start = "2026-06-01",
     .pattrs = "order=name_school,kind=unopposed",
     .today = "2026-06-02",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2026-06-15", "pending", NULL, NULL, "", X_NO}}},
    /* An order (reg. 44) naming the school: 2 weeks → Mon 15 Jun 2026. */
    {.what = "order: school only, 2 weeks",
     .wf = TO,
     .start = "2026-06-01",
     .pattrs = "order=name_school",
     .today = "2026-06-16",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2026-06-15", "overdue", NULL, "order sent on 2026-06-01", "", X_NO}}},
    /* Continue: immediately, the day of the order, Tue 10 Mar 2026. */
    {.what = "order to continue: due the day of the order",
     .wf = TO,
     .start = "2026-03-10",
     .pattrs = "order=continue",
     .ev = {{"plan_continued", "2026-03-10", NULL, 0}},
     .today = "2026-03-11",
     .state = "open",
     .status = "active",
     .dl = {{"continue_plan", "2026-03-10", "met", "2026-03-10", NULL, "", X_NO}}},
    /* Amend, sent Mon 2 Feb 2026: 5 weeks → Mon 9 Mar. Absent from the area 16 Feb-1 Mar: 14
     * days, the 2 continuous weeks reg. 44 asks: the plan of 12 Mar is late but excused. */
    {.what = "order to amend: 2 weeks' absence excuses",
     .wf = TO,
     .start = "2026-02-02",
     .pattrs = "order=amend",
     .ev = {{"exception_started", "2026-02-16", "reason=absent_from_area", 0},
            {"exception_ended", "2026-03-01", "reason=absent_from_area", 0},
            {"amended_plan_issued", "2026-03-12", NULL, 0}},
     .today = "2026-03-13",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-03-12",
     .dl = {{"amended_plan", "2026-03-09", "excused", "2026-03-12", NULL, "absent_from_area",
             X_YES}}},
    /* 16-28 Feb is 13 days: short of 2 weeks, excuses nothing. */
    {.what = "order to amend: 13 days' absence excuses nothing",
     .wf = TO,
     .start = "2026-02-02",
     .pattrs = "order=amend",
     .ev = {{"exception_started", "2026-02-16", "reason=absent_from_area", 0},
            {"exception_ended", "2026-02-28", "reason=absent_from_area", 0},
            {"amended_plan_issued", "2026-03-12", NULL, 0}},
     .today = "2026-03-13",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-03-12",
     .dl = {{"amended_plan", "2026-03-09", "late", "2026-03-12", NULL, "excuses nothing", X_NO}}},
    /* Late comments on the draft excuse under reg. 44 ... (make_plan, 30 Jan → final 17 Apr) */
    {.what = "reg. 44: late comments on the draft excuse",
     .wf = TO,
     .start = "2026-01-30",
     .pattrs = "order=make_plan",
     .ev = {{"draft_plan_issued", "2026-03-05", NULL, 0},
            {"exception_started", "2026-03-25", "reason=late_comments", 0},
            {"exception_ended", "2026-04-10", "reason=late_comments", 0},
            {"final_plan_issued", "2026-04-20", NULL, 0}},
     .today = "2026-04-21",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-04-20",
     .starts = "annual-review@2026-04-20{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2026-04-17", "excused", "2026-04-20", NULL, NULL, X_YES}}},
    /* ... but not under reg. 45, which does not list them. */
    {.what = "reg. 45: late comments excuse nothing",
     .wf = TO,
     .start = "2026-01-30",
     .pattrs = "order=make_plan,kind=unopposed",
     .ev = {{"draft_plan_issued", "2026-03-05", NULL, 0},
            {"exception_started", "2026-03-25", "reason=late_comments", 0},
            {"exception_ended", "2026-04-10", "reason=late_comments", 0},
            {"final_plan_issued", "2026-04-20", NULL, 0}},
     .today = "2026-04-21",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-04-20",
     .starts = "annual-review@2026-04-20{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2026-04-17", "late", "2026-04-20", NULL, NULL, X_NO}}},
    /* Unopposed amendment, notice Tue 25 Jan 2028: 5 weeks → Tue 29 Feb 2028 (leap year). */
    {.what = "unopposed amendment: 5 weeks to 29 Feb 2028",
     .wf = TO,
     .start = "2028-01-25",
     .pattrs = "order=amend,kind=unopposed",
     .today = "2028-02-29",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2028-02-29", "pending", NULL, NULL, "", X_NO}}},
    /* A cease appeal dismissed: no duty; the plan may be ceased. */
    {.what = "cease appeal dismissed: no deadline, plan ceased",
     .wf = TO,
     .start = "2026-05-04",
     .pattrs = "order=cease",
     .ev = {{"plan_ceased", "2026-05-05", NULL, 0}},
     .today = "2026-05-06",
     .state = "ceased",
     .status = "completed",
     .ended_on = "2026-05-05"},
    /* An order given kind=order says so: reg. 44, as when kind is absent. Amend, sent Mon 2 Feb
     * 2026: 5 weeks → Mon 9 Mar. */
    {.what = "kind=order: reg. 44",
     .wf = TO,
     .start = "2026-02-02",
     .pattrs = "order=amend,kind=order",
     .today = "2026-02-03",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2026-03-09", "pending", NULL, "5 weeks from order sent on 2026-02-02",
             "", X_NO, NULL, B44}}},

    /* Mediation agreements on appealable matters (reg. 42): reg. 44's periods "as if" a Tribunal
     * order, from the date of the agreement (reference §6), reg. 44's exceptions. */

    /* make_plan, agreement Fri 30 Jan 2026: draft 5 weeks → 30 Jan + 35 (31 Jan +1, 28 Feb +29)
     * = Fri 6 Mar; final 11 weeks → 6 Mar + 42 = Fri 17 Apr 2026. Only these two: no reg. 44
     * variant comes with them. Draft on 5 Mar: met. */
    {.what = "mediation agreement to make a plan: draft 6 Mar, final 17 Apr (reg. 42)",
     .wf = TO,
     .start = "2026-01-30",
     .pattrs = "order=make_plan,kind=mediation",
     .ev = {{"draft_plan_issued", "2026-03-05", NULL, 0}},
     .today = "2026-03-06",
     .state = "open",
     .status = "active",
     .dl = {{"draft_plan", "2026-03-06", "met", "2026-03-05",
             "5 weeks from mediation agreement on 2026-01-30", "", X_NO, "order sent", B42},
            {"final_plan", "2026-04-17", "pending", NULL,
             "11 weeks from mediation agreement on 2026-01-30", "", X_NO, NULL, B42}}},
    /* name_school, agreement Mon 22 Dec 2025: 2 weeks → 22 Dec + 14 (31 Dec +9) = Mon 5 Jan
     * 2026. Christmas moves nothing (r. 12(3) is the Tribunal's rule, not reg. 42's or 44's). */
    {.what = "mediation agreement naming the school across Christmas: 2 weeks to 5 Jan",
     .wf = TO,
     .start = "2025-12-22",
     .pattrs = "order=name_school,kind=mediation",
     .today = "2026-01-06",
     .state = "open",
     .status = "active",
     .dl = {{"amended_plan", "2026-01-05", "overdue", NULL,
             "2 weeks from mediation agreement on 2025-12-22", NULL, X_NO, NULL, B42}}},
    /* reassess, agreement Tue 3 Mar 2026: tell 2 weeks → Tue 17 Mar; no-plan 10 weeks → 3 Mar +
     * 70 (31 Mar +28, 30 Apr +58) = Tue 12 May; plan 14 weeks → 12 May + 28 = Tue 9 Jun 2026. */
    {.what = "mediation agreement to re-assess: 17 Mar, 12 May, 9 Jun",
     .wf = TO,
     .start = "2026-03-03",
     .pattrs = "order=reassess,kind=mediation",
     .ev = {{"assessment_notified", "2026-03-17", NULL, 0}},
     .today = "2026-03-18",
     .state = "open",
     .status = "active",
     .dl = {{"notify_family", "2026-03-17", "met", "2026-03-17", "mediation agreement", "", X_NO,
             NULL, B42},
            {"notify_no_plan", "2026-05-12", "pending", NULL, "10 weeks from mediation agreement",
             "", X_NO, NULL, B42},
            {"final_plan", "2026-06-09", "pending", NULL, "14 weeks from mediation agreement", "",
             X_NO, NULL, B42}}},
    /* amend, agreement Mon 2 Feb 2026: 5 weeks → Mon 9 Mar. The family commenting on the draft
     * after the 15 days (16 Feb-5 Mar) excuses, as under reg. 44: the plan of 12 Mar is late but
     * excused. */
    {.what = "mediation agreement to amend: late comments excuse (reg. 44's exceptions)",
     .wf = TO,
     .start = "2026-02-02",
     .pattrs = "order=amend,kind=mediation",
     .ev = {{"exception_started", "2026-02-16", "reason=late_comments", 0},
            {"exception_ended", "2026-03-05", "reason=late_comments", 0},
            {"amended_plan_issued", "2026-03-12", NULL, 0}},
     .today = "2026-03-13",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-03-12",
     .dl = {{"amended_plan", "2026-03-09", "excused", "2026-03-12", NULL, "late_comments", X_YES,
             NULL, B42}}},
    /* ... and a school closure (reg. 45's, reg. 13(3)) does not: 9 Feb-8 Mar is 28 days, both
     * counted, the 4 weeks its minimum asks, yet reg. 44 does not list it. */
    {.what = "mediation agreement to amend: a school closure excuses nothing",
     .wf = TO,
     .start = "2026-02-02",
     .pattrs = "order=amend,kind=mediation",
     .ev = {{"exception_started", "2026-02-09", "reason=school_closure", 0},
            {"exception_ended", "2026-03-08", "reason=school_closure", 0},
            {"amended_plan_issued", "2026-03-12", NULL, 0}},
     .today = "2026-03-13",
     .state = "complied",
     .status = "completed",
     .ended_on = "2026-03-12",
     .dl = {{"amended_plan", "2026-03-09", "late", "2026-03-12", NULL, NULL, X_NO, NULL, B42}}},
    /* continue, agreement Tue 10 Mar 2026: immediately, that day; maintained on 11 Mar: late. */
    {.what = "mediation agreement to continue: due the day of the agreement",
     .wf = TO,
     .start = "2026-03-10",
     .pattrs = "order=continue,kind=mediation",
     .ev = {{"plan_continued", "2026-03-11", NULL, 0}},
     .today = "2026-03-12",
     .state = "open",
     .status = "active",
     .dl = {{"continue_plan", "2026-03-10", "late", "2026-03-11", "mediation agreement", "", X_NO,
             NULL, B42}}},
    /* cease with kind=mediation: accepted (the YAML cannot forbid the pair), no deadline. */
    {.what = "mediation agreement that the plan ceases: no deadline",
     .wf = TO,
     .start = "2026-05-04",
     .pattrs = "order=cease,kind=mediation",
     .today = "2026-05-06",
     .state = "open",
     .status = "active"},
};

static void test_tribunal_orders(void)
{
    for (size_t i = 0; i < sizeof tribunal_scenarios / sizeof tribunal_scenarios[0]; i++)
        run_scenario(&tribunal_scenarios[i]);
}

/* ---- transfer between authorities (§8: reg. 15) ------------------------- */

#define LT "la-transfer"

static const scenario la_transfer_scenarios[] = {
    /* The reference's example: aware Mon 15 Dec 2025, move Sat 20 Dec. 15 working days beginning
     * with 15 Dec: 15-19 (5), 22-24 (8), 25-26 Dec bank holidays, 29-31 (11), 1 Jan holiday, 2
     * (12), 5-7 Jan (15) → Wed 7 Jan 2026, later than the move. Transferred Tue 6 Jan (met).
     * Family: 6 Jan + 42 = Tue 17 Feb 2026. Review: 12 months beginning with 1 Jun 2025 → 31 May
     * 2026; 3 months beginning with 6 Jan 2026 → 5 Apr 2026; the later: 31 May 2026. */
    {.what = "aware 15 Dec 2025, move 20 Dec: transfer by 7 Jan 2026",
     .wf = LT,
     .start = "2025-12-15",
     .pattrs = "move_date=2025-12-20,last_review=2025-06-01",
     .ev = {{"plan_transferred", "2026-01-06", NULL, 0}},
     .today = "2026-01-07",
     .state = "transferred",
     .status = "active",
     .dl = {{"transfer_plan", "2026-01-07", "met", "2026-01-06",
             "the later date applies: 15 working days beginning with old authority became aware "
             "of the move on 2025-12-15, ending 2026-01-07",
             "", X_NO},
            {"inform_family", "2026-02-17", "pending", NULL, NULL, "", X_NO},
            {"transfer_review", "2026-05-31", "pending", NULL, NULL, "", X_NO},
            /* Reg. 16: the ICBs' notice has transfer_plan's dates (a period: on its last day,
             * pending). */
            {"health_commissioner_notice", "2026-01-07", "pending", NULL, "ending 2026-01-07", "",
             X_NO}}},
    /* Aware Mon 2 Mar 2026: day 15 is Fri 20 Mar; the move on Wed 1 Apr is later: on the day of
     * the move. Transferred 1 Apr. Review: 12 months beginning with 10 Apr 2025 → 9 Apr 2026; 3
     * months beginning with 1 Apr 2026 → 30 Jun 2026, the later. */
    {.what = "aware early: on the day of the move; review 3 months from the transfer",
     .wf = LT,
     .start = "2026-03-02",
     .pattrs = "move_date=2026-04-01,last_review=2025-04-10",
     .ev = {{"plan_transferred", "2026-04-01", NULL, 0}},
     .today = "2026-04-02",
     .state = "transferred",
     .status = "active",
     .dl = {{"transfer_plan", "2026-04-01", "met", "2026-04-01", "ending 2026-03-20", "", X_NO},
            {"inform_family", "2026-05-13", "pending", NULL, NULL, "", X_NO},
            {"transfer_review", "2026-06-30", "pending", NULL, NULL, "", X_NO},
            /* Reg. 16: on the day of the move, 1 Apr; on 2 Apr the period has run. */
            {"health_commissioner_notice", "2026-04-01", "met", NULL, NULL, "", X_NO}}},
    /* Aware Thu 26 Mar 2026, move Sat 28 Mar: 26-27 (2), 30 Mar-2 Apr (6), Good Friday 3 Apr and
     * Easter Monday 6 Apr skipped, 7-10 (10), 13-17 (15) → Fri 17 Apr 2026; not transferred by
     * 20 Apr: overdue. */
    {.what = "aware over Easter: 15 working days to 17 Apr 2026",
     .wf = LT,
     .start = "2026-03-26",
     .pattrs = "move_date=2026-03-28,last_review=2025-09-01",
     .today = "2026-04-20",
     .state = "aware",
     .status = "active",
     .dl = {{"transfer_plan", "2026-04-17", "overdue", NULL, NULL, "", X_NO},
            {"transfer_review", "2026-08-31", "pending", NULL, NULL, "", X_NO},
            /* The ICBs' period has run by 20 Apr: a period is never overdue (not the
             * authority's duty, not escalated). */
            {"health_commissioner_notice", "2026-04-17", "met", NULL, NULL, "", X_NO}}},
    /* Last reviewed 29 Feb 2024: 12 months beginning with it end 28 Feb 2025; transfer 15 Jun
     * 2024 + 3 months (beginning with) → 14 Sep 2024; the later: 28 Feb 2025. */
    {.what = "last review 29 Feb 2024: review by 28 Feb 2025",
     .wf = LT,
     .start = "2024-06-01",
     .pattrs = "move_date=2024-06-15,last_review=2024-02-29",
     .ev = {{"plan_transferred", "2024-06-15", NULL, 0}},
     .today = "2024-06-16",
     .state = "transferred",
     .status = "active",
     .partial = true,
     .dl = {{"transfer_review", "2025-02-28", "pending", NULL, "ending 2024-09-14", "", X_NO}}},
    /* A move during an assessment. Request Mon 5 Jan 2026; the new authority responsible from Mon
     * 2 Feb: its 6 weeks → Mon 16 Mar, 16 weeks → 2 Feb + 112 = Mon 25 May, 20 weeks → 2 Feb +
     * 140 = Mon 22 Jun 2026 (the old 16 Feb, 27 Apr, 25 May no longer bind). */
    {.what = "move during an assessment: 6/16/20 weeks from the new authority's responsibility",
     .wf = EH,
     .start = "2026-01-05",
     .ev = {{"responsibility_transferred", "2026-02-02", NULL, 0}},
     .today = "2026-02-17",
     .state = "requested",
     .status = "active",
     .dl = {{"decide_to_assess", "2026-03-16", "pending", NULL,
             "6 weeks from new authority became responsible after a move on 2026-02-02", "", X_NO},
            {"notify_no_plan", "2026-05-25", "pending", NULL, NULL, "", X_NO},
            {"final_plan", "2026-06-22", "pending", NULL, NULL, "", X_NO}}},
    /* Reg. 16 over Christmas. Aware Mon 15 Dec 2025, move Sat 20 Dec: the old ICB's notice has
     * transfer_plan's date, Wed 7 Jan 2026 (above); given Mon 22 Dec (met). The new ICB's 15
     * working days beginning with 22 Dec: 22-24 (3), 25-26 Dec bank holidays, 27-28 weekend,
     * 29-31 (6), 1 Jan holiday, Fri 2 (7), 5-9 (12), 12 (13), 13 (14), 14 (15) → Wed 14 Jan
     * 2026. It asked the authority to review on Mon 12 Jan (met). Periods, never escalated. */
    {.what = "reg. 16: ICB told 22 Dec 2025, its request within 15 working days to 14 Jan 2026",
     .wf = LT,
     .start = "2025-12-15",
     .pattrs = "move_date=2025-12-20,last_review=2025-06-01",
     .ev = {{"health_commissioner_notified", "2025-12-22", NULL, 0},
            {"plan_transferred", "2026-01-06", NULL, 0},
            {"health_commissioner_request", "2026-01-12", "asks=review", 0}},
     .today = "2026-01-13",
     .state = "transferred",
     .status = "active",
     .partial = true,
     .dl = {{"health_commissioner_notice", "2026-01-07", "met", "2025-12-22", NULL, "", X_NO},
            {"health_commissioner_request", "2026-01-14", "met", "2026-01-12",
             "15 working days beginning with new health commissioner told on 2025-12-22", "",
             X_NO}}},
    /* Told after the review ended the process (Mon 1 Jun 2026): the events are still taken. 15
     * working days beginning with Mon 1 Jun: 1-5 (5), 8-12 (10), 15-19 (15) → Fri 19 Jun 2026; no
     * request by 22 Jun: the period has run (met, no date), and the first period (move Wed 1 Apr,
     * aware Mon 2 Mar: on the day of the move) ran before. */
    {.what = "reg. 16: ICB told after the review; no request: the periods have run",
     .wf = LT,
     .start = "2026-03-02",
     .pattrs = "move_date=2026-04-01,last_review=2025-04-10",
     .ev = {{"plan_transferred", "2026-04-01", NULL, 0},
            {"transfer_review_held", "2026-05-29", NULL, 0},
            {"health_commissioner_notified", "2026-06-01", NULL, 0}},
     .today = "2026-06-22",
     .state = "reviewed",
     .status = "completed",
     .ended_on = "2026-05-29",
     .partial = true,
     .dl = {{"health_commissioner_notice", "2026-04-01", "met", NULL, NULL, "", X_NO},
            {"health_commissioner_request", "2026-06-19", "met", NULL, NULL, "", X_NO}}},
    /* A move that does not happen cancels the ICBs' periods as it does the transfer. */
    {.what = "reg. 16: move cancelled",
     .wf = LT,
     .start = "2026-03-02",
     .pattrs = "move_date=2026-04-01,last_review=2025-04-10",
     .ev = {{"health_commissioner_notified", "2026-03-10", NULL, 0},
            {"move_cancelled", "2026-03-12", NULL, 0}},
     .today = "2026-03-13",
     .state = "cancelled",
     .status = "cancelled",
     .ended_on = "2026-03-12",
     .partial = true,
     .dl = {{"health_commissioner_notice", "2026-04-01", "met", "2026-03-10", NULL, "", X_NO},
            {"health_commissioner_request", "2026-03-30", "cancelled", NULL, NULL,
             "cancelled by move not happening on 2026-03-12", X_NO}}},
};

static void test_la_transfer(void)
{
    for (size_t i = 0; i < sizeof la_transfer_scenarios / sizeof la_transfer_scenarios[0]; i++)
        run_scenario(&la_transfer_scenarios[i]);
}

/* ---- ceasing outside a review (§5: regs. 29-31, CFA s. 45) ------------- */

#define CP "cease-plan"

static const scenario cease_scenarios[] = {
    /* Notice sent Fri 30 Oct 2026: 2 months → Wed 30 Dec 2026, inside 25 Dec-1 Jan (r. 12(3))
     * → first working day after Fri 1 Jan 2027: Mon 4 Jan 2027 (2-3 Jan a weekend). */
    {.what = "notice 30 Oct 2026: window to Mon 4 Jan 2027",
     .wf = CP,
     .start = "2026-09-14",
     .pattrs = "ground=no_longer_needed",
     .ev = {{"consulted", "2026-10-01", NULL, 0},
            {"decision_to_cease", "2026-10-26", "outcome=cease", 0},
            {"cease_notice_sent", "2026-10-30", NULL, 0}},
     .today = "2027-01-04",
     .state = "notified",
     .status = "active",
     .dl = {{"appeal_window", "2027-01-04", "pending", NULL,
             "2 months from notice of the decision to cease sent", "", X_NO},
            /* Reg. 33: Wed 30 Dec 2026, not moved by r. 12(3): on 4 Jan 2027 it has run. */
            {"mediation_contact", "2026-12-30", "met", NULL,
             "2 months from notice of the decision to cease sent", "", X_NO}}},
    /* Notice Mon 4 May 2026 (a bank holiday; the date is the notice's): 2 months → Sat 4 Jul →
     * Mon 6 Jul 2026 (r. 12(2)); ceased Tue 7 Jul. */
    {.what = "ceased the working day after the window",
     .wf = CP,
     .start = "2026-03-02",
     .ev = {{"consulted", "2026-03-20", NULL, 0},
            {"decision_to_cease", "2026-04-27", "outcome=cease", 0},
            {"cease_notice_sent", "2026-05-04", NULL, 0},
            {"plan_ceased", "2026-07-07", NULL, 0}},
     .today = "2026-07-08",
     .state = "ceased",
     .status = "completed",
     .ended_on = "2026-07-07",
     .dl = {{"appeal_window", "2026-07-06", "met", NULL, "r. 12(2)", "", X_NO},
            /* Reg. 33: Sat 4 Jul 2026, not moved. */
            {"mediation_contact", "2026-07-04", "met", NULL, NULL, "", X_NO}}},
    /* Decided to keep the plan: no notice, no window. */
    {.what = "decided to maintain: plan kept",
     .wf = CP,
     .start = "2026-03-02",
     .ev = {{"consulted", "2026-03-20", NULL, 0},
            {"decision_to_cease", "2026-04-27", "outcome=maintain", 0}},
     .today = "2026-04-28",
     .state = "kept",
     .status = "completed",
     .ended_on = "2026-04-27"},
};

static void test_cease_plan(void)
{
    for (size_t i = 0; i < sizeof cease_scenarios / sizeof cease_scenarios[0]; i++)
        run_scenario(&cease_scenarios[i]);

    /* CFA s. 45: refused before the notice (state), inside the window (the window named), while
     * an appeal is pending (state); allowed after the window. */
    static const ev_spec noticed[] = {{"consulted", "2026-03-20", NULL, 0},
                                      {"decision_to_cease", "2026-04-27", "outcome=cease", 0},
                                      {"cease_notice_sent", "2026-05-04", NULL, 0},
                                      {0}};
    static const ev_spec decided[] = {{"consulted", "2026-03-20", NULL, 0},
                                      {"decision_to_cease", "2026-04-27", "outcome=cease", 0},
                                      {0}};
    static const ev_spec appealed[] = {{"consulted", "2026-03-20", NULL, 0},
                                       {"decision_to_cease", "2026-04-27", "outcome=cease", 0},
                                       {"cease_notice_sent", "2026-05-04", NULL, 0},
                                       {"appeal_lodged", "2026-06-20", NULL, 0},
                                       {0}};
    static const struct {
        const ev_spec *history;
        const char *on;
        int rc;
        const char *msg;
    } rows[] = {
        {decided, "2026-05-01", -ENG_ENOT_ALLOWED, "not allowed while the process is \"decided"},
        {noticed, "2026-07-06", -ENG_ENOT_ALLOWED, "is open until 2026-07-06"},
        {noticed, "2026-07-07", 0, NULL},
        {appealed, "2026-09-01", -ENG_ENOT_ALLOWED, "appeal against the decision to cease lodged"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fixture fx, cand;
        build(&fx, find_wf(CP), "2026-03-02", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED,
              rows[i].history);
        ev_spec one[2] = {{"plan_ceased", rows[i].on, NULL, 0}, {0}};
        build(&cand, find_wf(CP), "2026-03-02", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, one);
        cand.ev[0].seq = 0;
        char err[ENG_ERR_LEN] = "";
        int rc = eng_check_event(&fx.in, &cand.ev[0], err);
        if (rc != rows[i].rc)
            fprintf(stderr, "cease row %zu: %d \"%s\"\n", i, rc, err);
        CHECK_INT(rc, rows[i].rc);
        if (rows[i].msg)
            CHECK_SUBSTR(err, rows[i].msg);
    }
}

/* ---- phase transfer (§4, §10) ------------------------------------------ */

static const scenario transfer_scenarios[] = {
    /* Born 2 Oct 2015 (Sep-Dec): S = 2015 + 5 = 2020, Year 7 from 1 Sep 2027; before
     * 15 February 2027 → 14 Feb 2027. */
    {.what = "transfer date from the date of birth: born 2 Oct 2015, Year 7",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2015-10-02",
     .today = "2026-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2027-02-14", "pending", NULL, "date of birth 2015-10-02", "",
             X_NO}}},
    {.what = "the same: the explanation names Year 7 and the transfer date",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2015-10-02",
     .today = "2026-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2027-02-14", "pending", NULL,
             "2027-09-01, the start of Year 7", "", X_NO}}},
    /* §10 example: born 15 Jan 2021 (Jan-Aug): S = 2021 + 4 = 2025.
     *   Reception 1 Sep 2025 → 14 Feb 2025 */
    {.what = "§10: born 15 Jan 2021, Reception",
     .wf = PT,
     .start = "2024-09-01",
     .pattrs = "transfer=early_years_to_school",
     .dob = "2021-01-15",
     .today = "2024-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2025-02-14", "pending", NULL, "Reception", "", X_NO}}},
    /*   Year 3 1 Sep 2028 → 14 Feb 2028 (a leap year: "before 15 February" is still the 14th) */
    {.what = "§10: born 15 Jan 2021, Year 3",
     .wf = PT,
     .start = "2027-09-01",
     .pattrs = "transfer=infant_to_junior",
     .dob = "2021-01-15",
     .today = "2027-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2028-02-14", "pending", NULL, "Year 3", "", X_NO}}},
    /*   Year 7 1 Sep 2032 → 14 Feb 2032 */
    {.what = "§10: born 15 Jan 2021, Year 7",
     .wf = PT,
     .start = "2031-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2021-01-15",
     .today = "2031-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2032-02-14", "pending", NULL, "Year 7", "", X_NO}}},
    /*   Year 12 1 Sep 2037 → reg. 18(1)(a) before 31 March 2037 → 30 Mar 2037 */
    {.what = "§10: born 15 Jan 2021, Year 12",
     .wf = PT,
     .start = "2036-09-01",
     .pattrs = "transfer=secondary_to_post16",
     .dob = "2021-01-15",
     .today = "2036-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2037-03-30", "pending", NULL, "before 31 March", "", X_NO}}},
    /* Cohort edge: born 31 Aug 2015 → S = 2019, Year 7 from 1 Sep 2026 → 14 Feb 2026. */
    {.what = "born 31 Aug 2015: Year 7 in 2026",
     .wf = PT,
     .start = "2025-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2015-08-31",
     .today = "2025-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2026-02-14", "pending", NULL, "2026-09-01", "", X_NO}}},
    /* Born 1 Sep 2015 → S = 2020, Year 7 from 1 Sep 2027 → 14 Feb 2027. */
    {.what = "born 1 Sep 2015: Year 7 in 2027",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2015-09-01",
     .today = "2026-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2027-02-14", "pending", NULL, "2027-09-01", "", X_NO}}},
    /* Born 29 Feb 2016 (Jan-Aug): S = 2020, Year 7 from 1 Sep 2027 → 14 Feb 2027. */
    {.what = "born 29 Feb 2016: Year 7 in 2027",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2016-02-29",
     .today = "2026-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2027-02-14", "pending", NULL, NULL, "", X_NO}}},
    /* Born 29 Feb 2016: Year 12 from 1 Sep 2032 (a leap year) → 30 Mar 2032. */
    {.what = "born 29 Feb 2016: Year 12 in 2032",
     .wf = PT,
     .start = "2031-09-01",
     .pattrs = "transfer=secondary_to_post16",
     .dob = "2016-02-29",
     .today = "2031-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2032-03-30", "pending", NULL, NULL, "", X_NO}}},
    /* A given transfer date in a leap year: before 15 February 2028 → 14 Feb 2028. */
    {.what = "transfer 1 Sep 2028 (leap year): 14 Feb 2028",
     .wf = PT,
     .start = "2027-09-01",
     .pattrs = "transfer=primary_to_secondary,transfer_date=2028-09-01",
     .today = "2027-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2028-02-14", "pending", NULL, NULL, "", X_NO,
             "date of birth"}}},
    /* Before 31 March 2028 → 30 Mar 2028. */
    {.what = "post-16 transfer 1 Sep 2028 (leap year): 30 Mar 2028",
     .wf = PT,
     .start = "2027-09-01",
     .pattrs = "transfer=secondary_to_post16,transfer_date=2028-09-01",
     .today = "2027-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2028-03-30", "pending", NULL, NULL, "", X_NO}}},
    /* Reg. 18(2): at least 5 months before 10 Jan 2027 → 10 Aug 2026 (10 Aug + 5 months =
     * 10 Jan; 11 Aug + 5 months = 11 Jan, too late). */
    {.what = "post16_to_post16 on 10 Jan 2027: 5 months before, 10 Aug 2026",
     .wf = PT,
     .start = "2026-03-01",
     .pattrs = "transfer=post16_to_post16,transfer_date=2027-01-10",
     .today = "2026-03-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2026-08-10", "pending", NULL,
             "5 months before transfer 2027-01-10", "", X_NO}}},
    /* At least 5 months before 31 Jul 2026: 28 Feb + 5 months = 28 Jul (in time); 1 Mar + 5
     * months = 1 Aug (too late) → 28 Feb 2026. */
    {.what = "post16_to_post16 on 31 Jul 2026: 28 Feb 2026",
     .wf = PT,
     .start = "2026-01-05",
     .pattrs = "transfer=post16_to_post16,transfer_date=2026-07-31",
     .today = "2026-01-06",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2026-02-28", "pending", NULL, NULL, "", X_NO}}},
    /* The same in a leap year: 29 Feb 2028 + 5 months = 29 Jul (in time) → 29 Feb 2028. */
    {.what = "post16_to_post16 on 31 Jul 2028: 29 Feb 2028",
     .wf = PT,
     .start = "2028-01-05",
     .pattrs = "transfer=post16_to_post16,transfer_date=2028-07-31",
     .today = "2028-01-06",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2028-02-29", "pending", NULL, NULL, "", X_NO}}},
    /* Delayed entry: the planned date (1 Sep 2028) wins over the cohort's (1 Sep 2027). */
    {.what = "a given transfer date wins over the date of birth",
     .wf = PT,
     .start = "2027-09-01",
     .pattrs = "transfer=primary_to_secondary,transfer_date=2028-09-01",
     .dob = "2015-10-02",
     .today = "2027-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2028-02-14", "pending", NULL, NULL, "", X_NO,
             "date of birth"}}},
    {.what = "amended plan issued on 14 Feb: met",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary,transfer_date=2027-09-01",
     .ev = {{"amended_plan_issued", "2027-02-14", NULL, 0}},
     .today = "2027-03-01",
     .state = "amended",
     .status = "completed",
     .ended_on = "2027-02-14",
     /* The amended plan's appeal window: Sun 14 Feb 2027 + 2 months = Wed 14 Apr 2027. */
     .dl = {{"phase_transfer_plan", "2027-02-14", "met", "2027-02-14", NULL, "", X_NO},
            {"appeal_window", "2027-04-14", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2027-04-14", "pending", NULL, NULL, "", X_NO}}},
    {.what = "amended plan issued on 15 Feb: late",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary,transfer_date=2027-09-01",
     .ev = {{"amended_plan_issued", "2027-02-15", NULL, 0}},
     .today = "2027-03-01",
     .state = "amended",
     .status = "completed",
     .ended_on = "2027-02-15",
     /* Mon 15 Feb 2027 + 2 months = Thu 15 Apr 2027. */
     .dl = {{"phase_transfer_plan", "2027-02-14", "late", "2027-02-15", NULL, "", X_NO},
            {"appeal_window", "2027-04-15", "pending", NULL, NULL, "", X_NO},
            {"mediation_contact", "2027-04-15", "pending", NULL, NULL, "", X_NO}}},
    /* Born 2 Oct 2015 → 14 Feb 2027 (above): no amended plan by then, overdue on 15 Feb. */
    {.what = "derived date: overdue the day after",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .dob = "2015-10-02",
     .today = "2027-02-15",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2027-02-14", "overdue", NULL, NULL, "", X_NO}}},
    {.what = "transfer cancelled: deadline cancelled",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary,transfer_date=2027-09-01",
     .ev = {{"transfer_cancelled", "2026-12-01", NULL, 0}},
     .today = "2027-03-01",
     .state = "cancelled",
     .status = "cancelled",
     .ended_on = "2026-12-01",
     .dl = {{"phase_transfer_plan", "2027-02-14", "cancelled", NULL, NULL,
             "cancelled: process cancelled (transfer no longer happening) on 2026-12-01", X_NO}}},
    /* No date and nothing to derive it from (eng_check_start refuses such a start): no
     * deadline rather than a wrong one. */
    {.what = "no transfer date and no date of birth: no deadline",
     .wf = PT,
     .start = "2026-09-01",
     .pattrs = "transfer=primary_to_secondary",
     .today = "2026-09-02",
     .state = "open",
     .status = "active"},
    /* The shipped service.yaml: born 2 Oct 2015 (S = 2020).
     *   middle_to_secondary, Year 9 from 1 Sep 2029 → 14 Feb 2029 */
    {.what = "shipped service: middle_to_secondary in Year 9",
     .wf = PT,
     .start = "2028-09-01",
     .pattrs = "transfer=middle_to_secondary",
     .dob = "2015-10-02",
     .svc = SV_SHIPPED,
     .today = "2028-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2029-02-14", "pending", NULL, "Year 9", "", X_NO}}},
    /*   primary_to_middle, Year 5 from 1 Sep 2025 → 14 Feb 2025 */
    {.what = "shipped service: primary_to_middle in Year 5",
     .wf = PT,
     .start = "2024-09-01",
     .pattrs = "transfer=primary_to_middle",
     .dob = "2015-10-02",
     .svc = SV_SHIPPED,
     .today = "2024-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2025-02-14", "pending", NULL, "Year 5", "", X_NO}}},
    /*   infant_to_junior, Year 3 from 1 Sep 2023 → 14 Feb 2023 */
    {.what = "shipped service: infant_to_junior in Year 3",
     .wf = PT,
     .start = "2022-09-01",
     .pattrs = "transfer=infant_to_junior",
     .dob = "2015-10-02",
     .svc = SV_SHIPPED,
     .today = "2022-09-02",
     .state = "open",
     .status = "active",
     .dl = {{"phase_transfer_plan", "2023-02-14", "pending", NULL, "Year 3", "", X_NO}}},
};

static void test_phase_transfer(void)
{
    for (size_t i = 0; i < sizeof transfer_scenarios / sizeof transfer_scenarios[0]; i++)
        run_scenario(&transfer_scenarios[i]);
}

static void test_check_start(void)
{
    static const struct {
        const char *wf;
        const char *pattrs;
        const char *dob;
        int svc;
        int rc;
        const char *msg;
    } rows[] = {
        {PT, "transfer=primary_to_secondary", NULL, SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE,
         "needs transfer_date=YYYY-MM-DD here: the case has no date of birth"},
        {PT, "transfer=primary_to_secondary", "2015-10-02", SV_DEFAULTS, 0, NULL},
        {PT, "transfer=primary_to_secondary", "2015-10-02", SV_NULL, 0, NULL},
        {PT, "transfer=middle_to_secondary", "2015-10-02", SV_SHIPPED, 0, NULL},
        {PT, "transfer=primary_to_secondary,transfer_date=2027-09-01", NULL, SV_DEFAULTS, 0, NULL},
        /* Reg. 18(2): a move between post-16 institutions has no usual date. */
        {PT, "transfer=post16_to_post16", "2005-01-01", SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE,
         "this kind of transfer has no usual date"},
        {PT, "transfer=post16_to_post16", NULL, SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE,
         "needs transfer_date"},
        {PT, "transfer=post16_to_post16,transfer_date=2027-01-10", NULL, SV_DEFAULTS, 0, NULL},
        {PT, NULL, "2015-10-02", SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE, "needs the attribute transfer"},
        {PT, "transfer=sideways", "2015-10-02", SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE, "is not allowed"},
        {PT, "transfer=primary_to_secondary,transfer_date=2027-02-30", NULL, SV_DEFAULTS,
         -ENG_EBAD_ATTRIBUTE, "is not a date"},
        {AR, AFTER_MEETING, NULL, SV_DEFAULTS, 0, NULL},
        {AR, NULL, NULL, SV_DEFAULTS, 0, NULL},
        {AR, "started_after=tea", NULL, SV_DEFAULTS, -ENG_EBAD_ATTRIBUTE, "is not allowed"},
        {EH, NULL, NULL, SV_DEFAULTS, 0, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fixture fx;
        build(&fx, find_wf(rows[i].wf), "2026-09-01", rows[i].pattrs, rows[i].dob, rows[i].svc,
              CAL_SHIPPED, NULL);
        char err[ENG_ERR_LEN] = "";
        int rc = eng_check_start(&fx.in, err);
        if (rc != rows[i].rc)
            fprintf(stderr, "check_start row %zu (%s %s): %d \"%s\"\n", i, rows[i].wf,
                    rows[i].pattrs ? rows[i].pattrs : "", rc, err);
        CHECK_INT(rc, rows[i].rc);
        if (rows[i].msg)
            CHECK_SUBSTR(err, rows[i].msg);
    }
}

/* ---- eng_check_event on the shipped annual review and phase transfer ---- */

static void test_check_event(void)
{
    static const ev_spec amend[] = {{"review_decision", "2026-02-01", "outcome=amend", 0}, {0}};
    static const ev_spec cease[] = {{"review_decision", "2026-02-01", "outcome=cease", 0}, {0}};
    static const ev_spec held[] = {{"review_meeting_held", "2027-01-05", NULL, 0}, {0}};
    static const ev_spec issued[] = {{"amended_plan_issued", "2027-01-01", NULL, 0}, {0}};
    static const ev_spec cease_cert[] = {{"review_decision", "2026-02-01", "outcome=cease", 0},
                                         {"mediation_certificate_issued", "2026-03-12", NULL, 0},
                                         {0}};
    static const ev_spec cease_appeal[] = {{"review_decision", "2026-02-01", "outcome=cease", 0},
                                           {"appeal_lodged", "2026-03-20", NULL, 0},
                                           {0}};
    static const ev_spec cease_dismissed[] = {
        {"review_decision", "2026-02-01", "outcome=cease", 0},
        {"appeal_lodged", "2026-03-20", NULL, 0},
        {"appeal_decided", "2026-06-01", "outcome=dismissed", 0},
        {0}};

    static const struct {
        const char *wf, *pattrs;
        const ev_spec *history;
        ev_spec ev;
        int rc;
        const char *msg;
    } rows[] = {
        {AR, AFTER_MEETING, NULL, {"review_decision", "2026-02-01", "outcome=amend", 0}, 0, NULL},
        {AR, AFTER_MEETING, amend, {"amendment_proposed", "2026-02-05", NULL, 0}, 0, NULL},
        /* One decision per cycle: a second is refused once amending. */
        {AR,
         AFTER_MEETING,
         amend,
         {"review_decision", "2026-02-03", "outcome=cease", 0},
         -ENG_ENOT_ALLOWED,
         "not allowed while the process is"},
        {AR,
         AFTER_MEETING,
         NULL,
         {"amended_plan_issued", "2026-02-05", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "not allowed while the process is \"review due\""},
        {AR,
         AFTER_MEETING,
         NULL,
         {"review_decision", "2026-02-01", NULL, 0},
         -ENG_EBAD_ATTRIBUTE,
         "review_decision needs the attribute outcome (one of: maintain, amend, cease)"},
        {AR,
         AFTER_MEETING,
         NULL,
         {"review_decision", "2026-02-01", "outcome=keep", 0},
         -ENG_EBAD_ATTRIBUTE,
         "outcome=\"keep\" is not allowed"},
        {AR,
         NULL,
         NULL,
         {"review_meeting_scheduled", "2026-02-01", NULL, 0},
         -ENG_EBAD_ATTRIBUTE,
         "needs the attribute date (a date, YYYY-MM-DD)"},
        {AR,
         NULL,
         NULL,
         {"review_meeting_scheduled", "2026-02-01", "date=2026-02-30", 0},
         -ENG_EBAD_ATTRIBUTE,
         "is not a date"},
        {AR, NULL, NULL, {"review_meeting_scheduled", "2026-02-01", "date=2026-03-02", 0}, 0, NULL},
        /* While the plan is being ceased (appeal window open), no review meeting ends it. */
        {AR,
         AFTER_MEETING,
         cease,
         {"review_meeting_held", "2026-03-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "not allowed while the process is"},
        {AR, AFTER_MEETING, cease, {"review_report_received", "2026-02-02", NULL, 0}, 0, NULL},
        /* CFA s. 45: decision to cease Sun 1 Feb 2026, window 2 months → Wed 1 Apr 2026 (a
         * working day). Ceasing on its last day is refused, naming the window; the day after,
         * allowed. */
        {AR,
         AFTER_MEETING,
         cease,
         {"plan_ceased", "2026-04-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "is refused: the appeal_window (appeal window after the decision (a plan to be ceased is "
         "kept meanwhile)) is open until 2026-04-01"},
        {AR, AFTER_MEETING, cease, {"plan_ceased", "2026-04-02", NULL, 0}, 0, NULL},
        /* Certificate Thu 12 Mar 2026: 1 month → Sun 12 Apr, later than 1 Apr; r. 12(2) → Mon
         * 13 Apr 2026. Ceasing on 2 Apr is now refused, on 14 Apr allowed. */
        {AR,
         AFTER_MEETING,
         cease_cert,
         {"plan_ceased", "2026-04-02", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "open until 2026-04-13"},
        {AR, AFTER_MEETING, cease_cert, {"plan_ceased", "2026-04-14", NULL, 0}, 0, NULL},
        /* An appeal lodged ends the window, but the appeal is pending: refused by the state. */
        {AR,
         AFTER_MEETING,
         cease_appeal,
         {"plan_ceased", "2026-06-01", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "not allowed while the process is \"appeal against the decision to cease lodged"},
        /* Dismissed: back to ceasing, and the plan may be ceased. */
        {AR, AFTER_MEETING, cease_dismissed, {"plan_ceased", "2026-06-02", NULL, 0}, 0, NULL},
        /* Appeal events are taken after the process ended (the amended plan ended it). */
        {PT,
         "transfer=primary_to_secondary,transfer_date=2027-09-01",
         issued,
         {"mediation_certificate_issued", "2027-02-10", NULL, 0},
         0,
         NULL},
        {AR,
         AFTER_MEETING,
         held,
         {"invitations_sent", "2027-01-06", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "the process ended on 2027-01-05"},
        {AR,
         AFTER_MEETING,
         NULL,
         {"review_decision", "2026-01-11", "outcome=maintain", 0},
         -ENG_EBAD_DATE,
         "before the process started on 2026-01-12"},
        {AR, NULL, NULL, {"exception_started", "2026-02-01", "reason=school_closure", 0}, 0, NULL},
        {PT,
         "transfer=primary_to_secondary,transfer_date=2027-09-01",
         NULL,
         {"amended_plan_issued", "2027-01-01", NULL, 0},
         0,
         NULL},
        {PT,
         "transfer=primary_to_secondary,transfer_date=2027-09-01",
         issued,
         {"transfer_cancelled", "2027-01-05", NULL, 0},
         -ENG_ENOT_ALLOWED,
         "the process ended on 2027-01-01"},
        {PT,
         "transfer=primary_to_secondary,transfer_date=2027-09-01",
         NULL,
         {"review_decision", "2027-01-05", "outcome=amend", 0},
         -ENG_EUNKNOWN_EVENT,
         "the phase-transfer workflow has no event \"review_decision\""},
        {PT,
         "transfer=primary_to_secondary,transfer_date=2027-09-01",
         NULL,
         {"transfer_cancelled", "2027-01-05", NULL, 0},
         0,
         NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const wf_workflow *wf = find_wf(rows[i].wf);
        fixture fx, cand;
        build(&fx, wf, "2026-01-12", rows[i].pattrs, NULL, SV_DEFAULTS, CAL_SHIPPED,
              rows[i].history);
        ev_spec one[2] = {rows[i].ev, {0}};
        build(&cand, wf, "2026-01-12", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, one);
        cand.ev[0].seq = 0;
        char err[ENG_ERR_LEN] = "";
        int rc = eng_check_event(&fx.in, &cand.ev[0], err);
        if (rc != rows[i].rc)
            fprintf(stderr, "check_event row %zu (%s %s): %d \"%s\"\n", i, rows[i].wf,
                    rows[i].ev.type, rc, err);
        CHECK_INT(rc, rows[i].rc);
        if (rows[i].msg)
            CHECK_SUBSTR(err, rows[i].msg);
    }
}

/* ---- ehcp-assessment: reg. 10(4)(a) closures from the shipped terms ---- */

/*
 * workflows/calendars/terms.yaml: summer 2 2025 ends Tue 22 Jul 2025, autumn 1 2025 starts
 * Wed 3 Sep 2025. The closure is 23 Jul - 2 Sep 2025 (6 weeks, at least 4), so reg. 10(4)(a)'s
 * window runs from one week before it closes (16 Jul) to one week before it reopens (27 Aug),
 * as in the reference's example. In 2026: summer 2 ends 22 Jul, autumn 1 starts 3 Sep: the
 * window is 16 Jul - 27 Aug 2026. Christmas 2025: autumn 2 ends 19 Dec 2025, spring 1 starts
 * 5 Jan 2026: closed 20 Dec - 4 Jan, 16 days, under 4 weeks: no window.
 *
 * A request received Mon 2 Jun 2025:
 *   decide_to_assess 6 weeks  2 Jun + 42  = 14 Jul 2025
 *   notify_no_plan  16 weeks  2 Jun + 112 = 22 Sep 2025
 *   final_plan      20 weeks  2 Jun + 140 = 28 (30 Jun) + 31 + 31 + 30 + 20 = 20 Oct 2025
 * Draft plan 1 Oct 2025: 15 days beginning with it → 15 Oct 2025.
 */
#define CLOSURE_CASE(from, on)                                                                     \
    {                                                                                              \
        {"decision_to_assess", "2025-06-20", "outcome=yes", 0},                                    \
            {"advice_requested", on, "from=" from, 0},                                             \
            {"draft_plan_issued", "2025-10-01", NULL, 0},                                          \
        {                                                                                          \
            "final_plan_issued", "2025-10-27", NULL, 0                                             \
        }                                                                                          \
    }

static const scenario closure_scenarios[] = {
    {.what = "education asked on 16 Jul 2025, first day of the window: late plan excusable",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("education", "2025-07-16"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .dl = {{"decide_to_assess", "2025-07-14", "met", "2025-06-20", NULL, "", X_ANY},
            /* 16 Jul + 42 = 27 Aug 2025; unmet when the process completed 61 days later
             * (27 Aug → 27 Oct: 4 + 30 + 27). */
            {"advice_education", "2025-08-27", "cancelled", NULL, NULL, "61 days after", X_ANY},
            {"notify_no_plan", "2025-09-22", "cancelled", NULL, NULL,
             "cancelled by draft plan issued on 2025-10-01", X_ANY},
            {"draft_representations", "2025-10-15", "met", NULL, NULL, "", X_ANY},
            {"final_plan", "2025-10-20", "excused", "2025-10-27", NULL, "reg. 10(4)(a)", X_YES}}},
    {.what = "the same request, its note names the request and the closure",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("education", "2025-07-16"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "excused", "2025-10-27", NULL,
             "advice requested on 2025-07-16", X_YES},
            {"final_plan", "2025-10-20", "excused", "2025-10-27", NULL, "reopening 2025-09-03",
             X_YES}}},
    {.what = "health asked in the same window: not a school, nothing recognised",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("health", "2025-07-16"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "late", "2025-10-27", NULL, "", X_NO}}},
    {.what = "education asked the day before the window: late",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("education", "2025-07-15"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "late", "2025-10-27", NULL, "", X_NO}}},
    {.what = "education asked on 27 Aug 2025, last day of the window: excusable",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("education", "2025-08-27"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "excused", "2025-10-27", NULL, "reg. 10(4)(a)", X_YES}}},
    {.what = "education asked on 28 Aug 2025, the day after the window: late",
     .wf = EH,
     .start = "2025-06-02",
     .ev = CLOSURE_CASE("education", "2025-08-28"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "late", "2025-10-27", NULL, "", X_NO}}},
    {.what = "without a calendar no closure is known: late",
     .wf = EH,
     .start = "2025-06-02",
     .cal = CAL_NO,
     .ev = CLOSURE_CASE("education", "2025-07-16"),
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-27",
     .starts = AR "@2025-10-27{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "late", "2025-10-27", NULL, "", X_NO}}},
    /* A plan issued in time carries no exception note (notes only on a missed duty). */
    {.what = "plan in time despite the closure: met, no note",
     .wf = EH,
     .start = "2025-06-02",
     .ev = {{"decision_to_assess", "2025-06-20", "outcome=yes", 0},
            {"advice_requested", "2025-07-16", "from=education", 0},
            {"draft_plan_issued", "2025-10-01", NULL, 0},
            {"final_plan_issued", "2025-10-20", NULL, 0}},
     .today = "2025-11-01",
     .state = "plan_issued",
     .status = "completed",
     .ended_on = "2025-10-20",
     .starts = AR "@2025-10-20{started_after=plan_issued}",
     .partial = true,
     .dl = {{"final_plan", "2025-10-20", "met", "2025-10-20", NULL, "", X_ANY}}},
    /* Request Mon 1 Jun 2026: final plan 1 Jun + 140 = 29 (30 Jun) + 31 + 31 + 30 + 19 =
     * 19 Oct 2026. Education asked on 27 Aug 2026 (last day of the 2026 window). */
    {.what = "2026: unmet final plan after an education request on 27 Aug: excused",
     .wf = EH,
     .start = "2026-06-01",
     .ev = {{"decision_to_assess", "2026-06-15", "outcome=yes", 0},
            {"advice_requested", "2026-08-27", "from=education", 0}},
     .today = "2026-10-20",
     .state = "assessing",
     .status = "active",
     .partial = true,
     .dl = {{"final_plan", "2026-10-19", "excused", NULL, NULL, "reg. 10(4)(a)", X_YES}}},
    {.what = "2026: the same request on 28 Aug: overdue",
     .wf = EH,
     .start = "2026-06-01",
     .ev = {{"decision_to_assess", "2026-06-15", "outcome=yes", 0},
            {"advice_requested", "2026-08-28", "from=education", 0}},
     .today = "2026-10-20",
     .state = "assessing",
     .status = "active",
     .partial = true,
     .dl = {{"final_plan", "2026-10-19", "overdue", NULL, NULL, "", X_NO}}},
    /* Request Mon 10 Nov 2025: final plan 10 Nov + 140 = 20 (30 Nov) + 31 + 31 + 28 + 30 =
     * 30 Mar 2026. Education asked on 15 Dec 2025, a week before the Christmas closure, which
     * is under 4 weeks: no exception. */
    {.what = "Christmas is shorter than 4 weeks: nothing recognised",
     .wf = EH,
     .start = "2025-11-10",
     .ev = {{"decision_to_assess", "2025-11-20", "outcome=yes", 0},
            {"advice_requested", "2025-12-15", "from=education", 0}},
     .today = "2026-03-31",
     .state = "assessing",
     .status = "active",
     .partial = true,
     .dl = {{"final_plan", "2026-03-30", "overdue", NULL, NULL, "", X_NO}}},
    /* Reg. 5(4) applies reg. 10(4) to the 6-week decision: request Thu 10 Jul 2025, decision
     * due 10 Jul + 42 = 21 Aug 2025; education asked on 20 Jul (inside the window), decision on
     * 25 Aug: late but excusable. The advice itself (reg. 8(1), 20 Jul + 42 = 31 Aug 2025) is
     * not: reg. 8(2) has no closure exception. */
    {.what = "reg. 5(4): the 6-week decision is excusable too, the advice is not",
     .wf = EH,
     .start = "2025-07-10",
     .ev = {{"advice_requested", "2025-07-20", "from=education", 0},
            {"decision_to_assess", "2025-08-25", "outcome=yes", 0}},
     .today = "2025-09-05",
     .state = "assessing",
     .status = "active",
     .partial = true,
     .dl = {{"decide_to_assess", "2025-08-21", "excused", "2025-08-25", NULL, "reg. 10(4)(a)",
             X_YES},
            {"advice_education", "2025-08-31", "overdue", NULL, NULL, "", X_NO}}},
};

static void test_closures(void)
{
    for (size_t i = 0; i < sizeof closure_scenarios / sizeof closure_scenarios[0]; i++)
        run_scenario(&closure_scenarios[i]);
}

/* The plan's issue starts the first annual review with no attributes (from the plan's date). */
static void test_plan_starts_review(void)
{
    static const ev_spec ev[] = CLOSURE_CASE("education", "2025-07-16");
    ev_spec evs[MAX_EV] = {0};
    memcpy(evs, ev, sizeof ev);
    fixture fx;
    build(&fx, find_wf(EH), "2025-06-02", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, evs);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN];
    CHECK_INT(eng_evaluate(&fx.in, &r, err), 0);
    if (!r)
        return;
    CHECK_INT(r->nstarts, 1);
    if (r->nstarts == 1) {
        CHECK_STR(r->starts[0].workflow, AR);
        CHECK_STR(F(r->starts[0].on), "2025-10-27");
        /* started_after=plan_issued: the first cycle holds the final plan's appeal window. */
        CHECK_INT(r->starts[0].nattrs, 1);
        if (r->starts[0].nattrs == 1)
            CHECK_STR(r->starts[0].attrs[0].value, "plan_issued");
        CHECK(wf_set_find(set, r->starts[0].workflow) != NULL);
    }
    eng_result_free(r);

    /* The review meeting's start carries started_after=review_meeting, which the next cycle
     * accepts as a start attribute. */
    static const ev_spec held[] = {{"review_meeting_held", "2026-03-09", NULL, 0}, {0}};
    build(&fx, find_wf(AR), "2025-03-10", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, held);
    CHECK_INT(eng_evaluate(&fx.in, &r, err), 0);
    if (!r)
        return;
    CHECK_INT(r->nstarts, 1);
    if (r->nstarts == 1) {
        CHECK_STR(r->starts[0].workflow, AR);
        CHECK_INT(r->starts[0].event_seq, 1);
        CHECK_INT(r->starts[0].nattrs, 1);
        if (r->starts[0].nattrs == 1) {
            CHECK_STR(r->starts[0].attrs[0].key, "started_after");
            CHECK_STR(r->starts[0].attrs[0].value, "review_meeting");
        }
        char err2[ENG_ERR_LEN] = "";
        CHECK_INT(eng_check_start_attrs(find_wf(AR), r->starts[0].attrs, r->starts[0].nattrs, err2),
                  0);
    }
    eng_result_free(r);
}

/* ---- migrate: events renamed between versions -------------------------- */

static const char migrate_yaml[] = "workflow: migrate-test\n"
                                   "version: 2\n"
                                   "start:\n"
                                   "  label: request received\n"
                                   "states:\n"
                                   "  open: {initial: true}\n"
                                   "  done: {final: completed}\n"
                                   "events:\n"
                                   "  plan_sent:\n"
                                   "    title: plan sent\n"
                                   "    transitions:\n"
                                   "      - {from: [open], to: done}\n"
                                   "  note_added:\n"
                                   "    allowed_in: [open]\n"
                                   "deadlines:\n"
                                   "  send_plan:\n"
                                   "    from: start\n"
                                   "    within: 2 weeks\n"
                                   "    met_by: [plan_sent]\n"
                                   "    basis: test rule 2014\n"
                                   "migrate:\n"
                                   "  events: {plan_issued: plan_sent, noted: note_added}\n";

static void test_migrate(void)
{
    char werr[WF_ERR_LEN];
    wf_workflow *wf = NULL;
    if (wf_load_string("migrate-test.yaml", migrate_yaml, sizeof migrate_yaml - 1, &wf, werr) !=
        0) {
        fprintf(stderr, "migrate workflow: %s\n", werr);
        CHECK(0);
        return;
    }
    const wf_rename *rn = wf_find_rename(wf, WF_RENAME_EVENT, "plan_issued");
    CHECK(rn != NULL);
    CHECK_STR(rn ? rn->to : NULL, "plan_sent");

    /* Recorded under version 1 as "noted" and "plan_issued": they replay as note_added and
     * plan_sent. Start Mon 5 Jan 2026: 2 weeks → 19 Jan; the plan on 12 Jan meets it. */
    static const ev_spec old[] = {
        {"noted", "2026-01-06", NULL, 0}, {"plan_issued", "2026-01-12", NULL, 0}, {0}};
    fixture fx;
    build(&fx, wf, "2026-01-05", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, old);
    eng_result *r = NULL;
    char err[ENG_ERR_LEN] = "";
    int rc = eng_evaluate(&fx.in, &r, err);
    CHECK_INT(rc, 0);
    if (rc == 0 && r) {
        CHECK_STR(r->state, "done");
        CHECK_STR(eng_proc_status_name(r->status), "completed");
        CHECK_STR(F(r->ended_on), "2026-01-12");
        CHECK_INT(r->ndeadlines, 1);
        if (r->ndeadlines == 1) {
            CHECK_STR(r->deadlines[0].name, "send_plan");
            CHECK_STR(F(r->deadlines[0].due), "2026-01-19");
            CHECK_INT(r->deadlines[0].resolution, ENG_MET);
            CHECK_STR(F(r->deadlines[0].met_on), "2026-01-12");
        }
    } else {
        fprintf(stderr, "migrate evaluate: %s\n", err);
    }
    eng_result_free(r);

    /* New events are checked against the renamed history: after "noted" the process is still
     * open; after "plan_issued" it has ended. */
    static const ev_spec only_noted[] = {{"noted", "2026-01-06", NULL, 0}, {0}};
    static const ev_spec cand_spec[] = {{"plan_sent", "2026-01-13", NULL, 0}, {0}};
    fixture cand;
    build(&cand, wf, "2026-01-05", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, cand_spec);
    cand.ev[0].seq = 0;
    build(&fx, wf, "2026-01-05", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, only_noted);
    CHECK_INT(eng_check_event(&fx.in, &cand.ev[0], err), 0);
    build(&fx, wf, "2026-01-05", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, old);
    CHECK_INT(eng_check_event(&fx.in, &cand.ev[0], err), -ENG_ENOT_ALLOWED);
    CHECK_SUBSTR(err, "the process ended on 2026-01-12");

    /* Without the migrate section the old names do not replay at all. */
    const char *cut = strstr(migrate_yaml, "migrate:");
    wf_workflow *plain = NULL;
    if (cut && wf_load_string("plain.yaml", migrate_yaml, (size_t)(cut - migrate_yaml), &plain,
                              werr) == 0) {
        build(&fx, plain, "2026-01-05", NULL, NULL, SV_DEFAULTS, CAL_SHIPPED, old);
        r = NULL;
        CHECK(eng_evaluate(&fx.in, &r, err) < 0);
        CHECK_SUBSTR(err, "has no event \"noted\"");
        eng_result_free(r);
    } else {
        fprintf(stderr, "plain workflow: %s\n", werr);
        CHECK(0);
    }
    wf_workflow_free(plain);
    wf_workflow_free(wf);
}

/* ---- the shipped files load and agree with each other ------------------ */

static void test_shipped_set(void)
{
    CHECK(wf_set_find(set, EH) != NULL);
    CHECK(wf_set_find(set, AR) != NULL);
    CHECK(wf_set_find(set, PT) != NULL);
    /* Issue 10's processes, by their canonical names. */
    CHECK(wf_set_find(set, RA) != NULL);
    CHECK(wf_set_find(set, TO) != NULL);
    CHECK(wf_set_find(set, LT) != NULL);
    CHECK(wf_set_find(set, CP) != NULL);
    CHECK(hol_has_terms(calendar));
    /* The reference's example window (§1): closed 23 Jul, reopening 3 Sep 2025. */
    hol_closure cl;
    CHECK(hol_closure_window(calendar, D("2025-07-16"), &cl));
    CHECK_STR(F(cl.first), "2025-07-23");
    CHECK_STR(F(cl.reopens), "2025-09-03");
    CHECK(hol_closure_window(calendar, D("2025-08-27"), NULL));
    CHECK(!hol_closure_window(calendar, D("2025-07-15"), NULL));
    CHECK(!hol_closure_window(calendar, D("2025-08-28"), NULL));
    CHECK(svc_u5->under5_on);
    CHECK_INT(svc_u5->under5_n, 6);
    CHECK_INT(svc_u5->under5_unit, CAL_MONTHS);
    CHECK(!svc_def->under5_on);
}

static const char under5_yaml[] = "service: Test under-5 service\n"
                                  "version: 1\n"
                                  "annual_review:\n"
                                  "  under_5_cycle: 6 months\n";

int main(void)
{
    char werr[WF_ERR_LEN], herr[HOL_ERR_LEN], serr[SVC_ERR_LEN];
    if (load_workflows(SF_TEST_SOURCE_DIR "/workflows", &set, werr) != 0) {
        fprintf(stderr, "workflows: %s\n", werr);
        return 2;
    }
    if (load_calendars(SF_TEST_SOURCE_DIR "/workflows/calendars", &calendar, herr) != 0) {
        fprintf(stderr, "calendars: %s\n", herr);
        return 2;
    }
    svc_def = svc_defaults();
    if (svc_load_string("under5.yaml", under5_yaml, sizeof under5_yaml - 1, &svc_u5, serr) != 0) {
        fprintf(stderr, "under-5 settings: %s\n", serr);
        return 2;
    }
    if (load_service(SF_TEST_SOURCE_DIR "/workflows/service.yaml", true, &svc_shipped, serr) < 0) {
        fprintf(stderr, "service.yaml: %s\n", serr);
        return 2;
    }

    RUN(test_shipped_set);
    RUN(test_annual_review);
    RUN(test_appeal_window);
    RUN(test_appeals);
    RUN(test_reassessment);
    RUN(test_tribunal_orders);
    RUN(test_la_transfer);
    RUN(test_cease_plan);
    RUN(test_phase_transfer);
    RUN(test_check_start);
    RUN(test_check_event);
    RUN(test_closures);
    RUN(test_plan_starts_review);
    RUN(test_migrate);

    svc_free(svc_shipped);
    svc_free(svc_u5);
    svc_free(svc_def);
    hol_free(calendar);
    wf_set_free(set);
    return CHECK_DONE();
}
