/*
 * test_wf: the workflow loader. The shipped workflows must load into the tree
 * the engine expects, and every rule of the format must reject a broken file
 * with the right "[file:line]" and a message that names the problem: a
 * workflow that loads wrongly would track a statutory deadline wrongly.
 */
#include "wf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "load.h"

#define WORKFLOWS SF_TEST_SOURCE_DIR "/workflows"

static const wf_deadline *find_deadline(const wf_workflow *wf, const char *key)
{
    for (size_t i = 0; i < wf->ndeadlines; i++)
        if (!strcmp(wf->deadlines[i].key, key))
            return &wf->deadlines[i];
    return NULL;
}

static bool has_str(const char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], s))
            return true;
    return false;
}

static wf_workflow *load_str(const char *yaml, char err[WF_ERR_LEN])
{
    wf_workflow *wf = NULL;
    if (wf_load_string("t.yaml", yaml, strlen(yaml), &wf, err) < 0)
        return NULL;
    return wf;
}

static void test_ehcp_assessment(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *wf = NULL;
    int rc = load_workflow(WORKFLOWS "/ehcp-assessment.yaml", &wf, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(wf->name, "ehcp-assessment");
    CHECK_INT(wf->version, 3);
    CHECK_STR(wf->title, "EHC needs assessment");
    CHECK_STR(wf->file, WORKFLOWS "/ehcp-assessment.yaml");
    CHECK_STR(wf->start_label, "request received");
    CHECK_INT(wf->nattrs, 0);
    CHECK_INT(wf->nstates, 7);
    /* 10, appeal 3, responsibility_transferred, mediation 6 (health_commissioner_told) */
    CHECK_INT(wf->nevents, 20);
    /* 5, appeal_window and the 6 mediation clocks (reg. 33's mediation_contact, the health
     * commissioner told) */
    CHECK_INT(wf->ndeadlines, 12);

    const wf_state *init = wf_initial_state(wf);
    CHECK(init != NULL);
    CHECK_STR(init ? init->name : NULL, "requested");
    CHECK_INT(init ? (int)init->final : -1, WF_OPEN);
    const wf_state *st = wf_find_state(wf, "withdrawn");
    CHECK(st && st->final == WF_CANCELLED);
    st = wf_find_state(wf, "plan_issued");
    CHECK(st && st->final == WF_COMPLETED && !st->initial);
    CHECK_STR(st ? st->title : NULL, "final plan issued");
    CHECK(wf_find_state(wf, "nope") == NULL);

    /* decision_to_assess: yes/no stay strings, two filtered transitions. */
    const wf_event *ev = wf_find_event(wf, "decision_to_assess");
    CHECK(ev != NULL);
    if (ev) {
        CHECK_STR(ev->title, "decision whether to assess");
        CHECK_INT(ev->nattrs, 1);
        const wf_attr *a = wf_find_attr(ev->attrs, ev->nattrs, "outcome");
        CHECK(a && a->required && !a->is_date && a->nvalues == 2);
        if (a && a->nvalues == 2) {
            CHECK_STR(a->values[0], "yes");
            CHECK_STR(a->values[1], "no");
        }
        CHECK_INT(ev->ntransitions, 2);
        if (ev->ntransitions == 2) {
            const wf_transition *t = &ev->transitions[0];
            CHECK(!t->from_any && t->nfrom == 1);
            CHECK_STR(t->from[0], "requested");
            CHECK_INT(t->nwhen, 1);
            CHECK_STR(t->when[0].key, "outcome");
            CHECK_STR(t->when[0].value, "yes");
            CHECK_STR(t->to, "assessing");
            t = &ev->transitions[1];
            CHECK_STR(t->when[0].value, "no");
            CHECK_STR(t->to, "not_assessing");
            CHECK(t->line > ev->line);
        }
        CHECK_INT(ev->exception, WF_EXC_NONE);
        CHECK_INT(ev->nallowed_in, 0);
        CHECK(!ev->allowed_any);
    }
    /* Mediation: health= is optional (events recorded before it replay); reg. 33's time is the
     * family's (a period, no Tribunal closures), the health commissioner a duty. */
    ev = wf_find_event(wf, "mediation_requested");
    CHECK(ev && ev->nattrs == 1 && ev->after_end);
    if (ev && ev->nattrs == 1) {
        CHECK_STR(ev->attrs[0].name, "health");
        CHECK(!ev->attrs[0].required && ev->attrs[0].nvalues == 2);
    }
    const wf_deadline *mc = find_deadline(wf, "mediation_contact");
    CHECK(mc && mc->kind == WF_DEADLINE_PERIOD && !mc->tribunal_closures && !mc->or_later);
    CHECK(mc && mc->due.kind == WF_DUE_WITHIN && mc->due.n == 2 && mc->due.unit == CAL_MONTHS);
    CHECK(mc && mc->nanchor_any == 2 && mc->nmet_by == 3);
    CHECK_STR(mc ? mc->basis : NULL, "SEND Regulations 2014, reg. 33");
    const wf_deadline *hc = find_deadline(wf, "tell_health_commissioner");
    CHECK(hc && hc->kind == WF_DEADLINE_DUTY && hc->anchor_kind == WF_ANCHOR_EVENT);
    CHECK(hc && hc->due.n == 3 && hc->due.unit == CAL_WORKING_DAYS && hc->nmet_by == 1);
    if (hc && hc->anchor.nwhen == 1) {
        CHECK_STR(hc->anchor.event, "mediation_requested");
        CHECK_STR(hc->anchor.when[0].key, "health");
        CHECK_STR(hc->anchor.when[0].value, "yes");
    } else
        CHECK(0);
    ev = wf_find_event(wf, "advice_requested");
    CHECK(ev && ev->nallowed_in == 3 && !ev->allowed_any && ev->ntransitions == 0);
    if (ev && ev->nallowed_in == 3)
        CHECK_STR(ev->allowed_in[2], "drafting");
    ev = wf_find_event(wf, "exception_started");
    CHECK(ev && ev->exception == WF_EXC_START && ev->allowed_any);
    if (ev) {
        /* reg. 8(2)(b), 10(4)(a) and (d): at least 4 continuous weeks. */
        CHECK_INT(ev->nmin_lengths, 2);
        for (size_t i = 0; i < ev->nmin_lengths; i++) {
            CHECK(!strcmp(ev->min_lengths[i].reason, "school_closure") ||
                  !strcmp(ev->min_lengths[i].reason, "absent_from_area"));
            CHECK_INT(ev->min_lengths[i].n, 4);
            CHECK_INT(ev->min_lengths[i].unit, CAL_WEEKS);
            CHECK(ev->min_lengths[i].line > ev->line);
        }
    }
    ev = wf_find_event(wf, "exception_ended");
    CHECK(ev && ev->exception == WF_EXC_END && ev->nmin_lengths == 0 && !ev->min_lengths);
    ev = wf_find_event(wf, "withdrawn");
    CHECK(ev && ev->ntransitions == 1 && ev->transitions[0].from_any);
    ev = wf_find_event(wf, "final_plan_issued");
    CHECK(ev && ev->nstarts == 1);
    if (ev && ev->nstarts == 1)
        CHECK_STR(ev->starts[0], "annual-review");

    const wf_deadline *d = find_deadline(wf, "final_plan");
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(d->name, "final_plan");
        CHECK_STR(d->title, "issue the final EHC plan");
        CHECK_INT(d->kind, WF_DEADLINE_DUTY);
        CHECK_INT(d->anchor_kind, WF_ANCHOR_START);
        CHECK_STR(d->anchor_label, "request received");
        CHECK(d->per == NULL);
        CHECK_INT(d->due.kind, WF_DUE_WITHIN);
        CHECK_INT(d->due.n, 20);
        CHECK_INT(d->due.unit, CAL_WEEKS);
        CHECK_STR(d->basis, "SEND Regulations 2014, reg. 13(2)");
        CHECK_INT(d->nmet_by, 1);
        CHECK_STR(d->met_by[0].event, "final_plan_issued");
        CHECK_INT(d->met_by[0].nwhen, 0);
        CHECK_INT(d->ncancelled_by, 2);
        if (d->ncancelled_by == 2) {
            CHECK_STR(d->cancelled_by[0].event, "decision_to_assess");
            CHECK_INT(d->cancelled_by[0].nwhen, 1);
            CHECK_STR(d->cancelled_by[0].when[0].key, "outcome");
            CHECK_STR(d->cancelled_by[0].when[0].value, "no");
            CHECK_STR(d->cancelled_by[1].event, "decision_not_to_issue");
        }
        CHECK_INT(d->nexcused_by, 3);
        CHECK(has_str(d->excused_by, d->nexcused_by, "absent_from_area"));
        CHECK(!has_str(d->excused_by, d->nexcused_by, "missed_appointment"));
    }
    d = find_deadline(wf, "advice");
    CHECK(d != NULL);
    if (d) {
        CHECK_STR(d->name, "advice_{from}");
        CHECK_STR(d->title, "advice from {from}");
        CHECK_STR(d->per, "from");
        CHECK_INT(d->anchor_kind, WF_ANCHOR_EVENT);
        CHECK_STR(d->anchor.event, "advice_requested");
        CHECK_INT(d->anchor.nwhen, 0);
        CHECK_STR(d->anchor_label, "advice requested");
        CHECK_INT(d->due.kind, WF_DUE_WITHIN);
        CHECK_INT(d->due.n, 6);
        CHECK_INT(d->due.unit, CAL_WEEKS);
        CHECK_INT(d->nmet_by, 1);
        CHECK_STR(d->met_by[0].event, "advice_received");
        CHECK(has_str(d->excused_by, d->nexcused_by, "missed_appointment"));
    }
    d = find_deadline(wf, "draft_representations");
    CHECK(d && d->kind == WF_DEADLINE_PERIOD && d->due.kind == WF_DUE_BEGINNING_WITH &&
          d->due.n == 15 && d->due.unit == CAL_DAYS && d->nexcused_by == 0);
    d = find_deadline(wf, "decide_to_assess");
    CHECK(d && d->due.n == 6 && d->line > 0);
    CHECK_STR(d ? d->basis : NULL, "SEND Regulations 2014, reg. 5(1)");
    /* Deadlines keep file order. */
    CHECK_STR(wf->deadlines[0].key, "decide_to_assess");
    CHECK_STR(wf->deadlines[4].key, "final_plan");
    wf_workflow_free(wf);
}

static void test_annual_review(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *wf = NULL;
    int rc = load_workflow(WORKFLOWS "/annual-review.yaml", &wf, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(wf->name, "annual-review");
    CHECK_STR(wf->start_label, "plan issued or last reviewed");
    const wf_deadline *d = find_deadline(wf, "review_meeting");
    CHECK(d && d->due.kind == WF_DUE_BEGINNING_WITH && d->due.n == 12 && d->due.unit == CAL_MONTHS);
    CHECK_STR(d ? d->basis : NULL, "Children and Families Act 2014, s. 44(1)");
    const wf_event *ev = wf_find_event(wf, "review_meeting_held");
    CHECK(ev && ev->nstarts == 1);
    CHECK_STR(ev ? ev->starts[0] : NULL, "annual-review");
    wf_workflow_free(wf);
}

/* Reg. 16: the health commissioners' steps are periods (the ICBs', not escalated). */
static void test_la_transfer(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *wf = NULL;
    int rc = load_workflow(WORKFLOWS "/la-transfer.yaml", &wf, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(wf->version, 2);
    CHECK_INT(wf->nevents, 6);    /* 4, health_commissioner_notified and _request */
    CHECK_INT(wf->ndeadlines, 5); /* 3 of reg. 15, 2 of reg. 16 */
    const wf_deadline *n = find_deadline(wf, "health_commissioner_notice");
    CHECK(n && n->kind == WF_DEADLINE_PERIOD && n->anchor_kind == WF_ANCHOR_ATTRIBUTE);
    CHECK(n && n->or_later && n->or_later->due.kind == WF_DUE_BEGINNING_WITH &&
          n->or_later->due.n == 15 && n->or_later->due.unit == CAL_WORKING_DAYS);
    const wf_deadline *q = find_deadline(wf, "health_commissioner_request");
    CHECK(q && q->kind == WF_DEADLINE_PERIOD && q->due.kind == WF_DUE_BEGINNING_WITH &&
          q->due.n == 15 && q->due.unit == CAL_WORKING_DAYS);
    CHECK_STR(q ? q->anchor.event : NULL, "health_commissioner_notified");
    const wf_event *ev = wf_find_event(wf, "health_commissioner_request");
    CHECK(ev && ev->after_end && ev->nattrs == 1 && ev->attrs[0].required);
    wf_workflow_free(wf);
}

static void test_load_dir_shipped(void)
{
    char err[WF_ERR_LEN];
    wf_set *set = NULL;
    int rc = load_workflows(WORKFLOWS, &set, err);
    CHECK_INT(rc, 0);
    if (rc) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    /* service.yaml, escalations.yaml, channels.yaml and calendars/ are not workflows. */
    static const char *const names[] = {"annual-review", "cease-plan",     "ehcp-assessment",
                                        "la-transfer",   "phase-transfer", "reassessment",
                                        "tribunal-order"};
    size_t nnames = sizeof names / sizeof names[0];
    CHECK_INT(set->n, nnames);
    for (size_t i = 0; i < set->n && i < nnames; i++)
        CHECK_STR(set->items[i]->name, names[i]); /* sorted by file name */
    CHECK(wf_set_find(set, "ehcp-assessment") == set->items[2]);
    CHECK(wf_set_find(set, "nope") == NULL);
    CHECK_INT(wf_set_check(set, err), 0);
    wf_set_free(set);
}

/* The valid workflow the invalid cases below are variations of, by line. */
#define L_HEAD "workflow: t\nversion: 1\n" /* 1-2 */
#define L_START                                                                                    \
    "start:\n"                                                                                     \
    "  attributes:\n"                                                                              \
    "    due_date: {type: date}\n"                                                                 \
    "    ref: {}\n" /* 3-6 */
#define L_STATES                                                                                   \
    "states:\n"                                                                                    \
    "  open: {initial: true}\n"                                                                    \
    "  done: {final: completed}\n"                                                                 \
    "  gone: {final: cancelled}\n" /* 7-10 */
#define L_EVENTS                                                                                   \
    "events:\n"                                                                                    \
    "  finish:\n"                                                                                  \
    "    attributes:\n"                                                                            \
    "      outcome: {values: [yes, no]}\n"                                                         \
    "    transitions:\n"                                                                           \
    "      - {from: [open], when: {outcome: yes}, to: done}\n"                                     \
    "  ask:\n"                                                                                     \
    "    attributes:\n"                                                                            \
    "      who: {required: true, values: [a, b]}\n"                                                \
    "    allowed_in: [open]\n"                                                                     \
    "  reply:\n"                                                                                   \
    "    attributes:\n"                                                                            \
    "      who: {values: [a, b]}\n"                                                                \
    "    allowed_in: any\n"                                                                        \
    "  pause:\n"                                                                                   \
    "    exception: start\n"                                                                       \
    "    attributes: {reason: {required: true, values: [closure, illness]}}\n"                     \
    "    allowed_in: any\n"                                                                        \
    "  resume: {exception: end, attributes: {reason: {values: [closure, illness]}}, allowed_in: "  \
    "any}\n"                /* 11-29 */
#define L_DL "deadlines:\n" /* 30 */
#define L_D1                                                                                       \
    "  d1:\n"                                                                                      \
    "    from: start\n"                                                                            \
    "    within: 6 weeks\n"                                                                        \
    "    met_by: [finish]\n"                                                                       \
    "    basis: reg. 1\n" /* 31-35 */
#define BASE L_HEAD L_START L_STATES L_EVENTS L_DL
/* A deadline at line 31 with one extra line 36 spliced in before "basis". */
#define D1_WITH(extra)                                                                             \
    BASE "  d1:\n"                                                                                 \
         "    from: start\n"                                                                       \
         "    within: 6 weeks\n"                                                                   \
         "    met_by: [finish]\n" extra "    basis: reg. 1\n"

static void test_base_and_defaults(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *wf = load_str(BASE L_D1, err);
    CHECK(wf != NULL);
    if (!wf) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(wf->title, "t");
    CHECK_STR(wf->start_label, "start");
    CHECK_INT(wf->nattrs, 2);
    const wf_attr *a = wf_find_attr(wf->attrs, wf->nattrs, "due_date");
    CHECK(a && a->is_date && !a->required && a->nvalues == 0 && a->values == NULL);
    CHECK_INT(a ? a->line : 0, 5);
    const wf_event *ev = wf_find_event(wf, "finish");
    CHECK_STR(ev ? ev->title : NULL, "finish");
    CHECK_INT(ev ? ev->line : 0, 12);
    const wf_state *st = wf_find_state(wf, "done");
    CHECK_STR(st ? st->title : NULL, "done");
    CHECK_INT(st ? st->line : 0, 9);
    const wf_deadline *d = find_deadline(wf, "d1");
    CHECK_STR(d ? d->name : NULL, "d1");
    CHECK_STR(d ? d->title : NULL, "d1");
    CHECK_STR(d ? d->anchor_label : NULL, "start");
    CHECK_INT(d ? d->line : 0, 31);
    wf_workflow_free(wf);

    /* A period needs no met_by: it is met when it has run. */
    wf = load_str(BASE "  d1:\n    from: start\n    kind: period\n    beginning_with: 15 days\n"
                       "    basis: x\n",
                  err);
    CHECK(wf && wf->ndeadlines == 1 && wf->deadlines[0].nmet_by == 0);
    if (!wf)
        fprintf(stderr, "%s\n", err);
    wf_workflow_free(wf);

    /* minimum_length: per reason, "N unit", with its line; reasons without one have none. */
    wf = load_str(L_HEAD L_STATES
                  "events:\n  p:\n    exception: start\n"
                  "    attributes: {reason: {required: true, values: [away, ill]}}\n"
                  "    allowed_in: any\n    minimum_length: {away: 28 days}\n"
                  "  q: {exception: end, attributes: {reason: {values: [away, ill]}},"
                  " allowed_in: any}\n",
                  err);
    CHECK(wf != NULL);
    if (!wf)
        fprintf(stderr, "%s\n", err);
    ev = wf ? wf_find_event(wf, "p") : NULL;
    CHECK(ev && ev->nmin_lengths == 1);
    if (ev && ev->nmin_lengths == 1) {
        CHECK_STR(ev->min_lengths[0].reason, "away");
        CHECK_INT(ev->min_lengths[0].n, 28);
        CHECK_INT(ev->min_lengths[0].unit, CAL_DAYS);
        CHECK_INT(ev->min_lengths[0].line, 12);
    }
    wf_workflow_free(wf);

    /* No deadlines at all, and an empty "deadlines:" are both fine. */
    wf = load_str(L_HEAD L_STATES L_EVENTS, err);
    CHECK(wf && wf->ndeadlines == 0);
    wf_workflow_free(wf);
    wf = load_str(L_HEAD L_STATES L_EVENTS "deadlines:\n", err);
    CHECK(wf && wf->ndeadlines == 0);
    wf_workflow_free(wf);
}

/* Block and flow style give the same tree; anchors of every kind and every due rule. */
static void test_styles_and_rules(void)
{
    char err[WF_ERR_LEN];
    const char *yaml = L_HEAD L_START L_STATES L_EVENTS L_DL
        "  by_attr:\n"
        "    from: {attribute: due_date}\n"
        "    before: 5 months\n"
        "    met_by: [finish]\n"
        "    basis: reg. 2\n"
        "  doy:\n"
        "    from:\n"
        "      event: finish\n"
        "      when:\n"
        "        outcome: no\n"
        "    day_of_year: 29 february\n"
        "    anchor_label: the finish\n"
        "    met_by: [reply]\n"
        "    basis: reg. 3\n"
        "  ldb: {from: start, last_day_before: 31 March, basis: reg. 4, kind: duty,\n"
        "        met_by: [ask]}\n"
        "  per_ask:\n"
        "    name: '{who}_answer'\n"
        "    title: answer {who} ({who})\n"
        "    from: {event: ask}\n"
        "    per: who\n"
        "    within: 1 day\n"
        "    met_by:\n"
        "      - event: reply\n"
        "      - {event: reply, when: {who: a}}\n"
        "    cancelled_by: [finish]\n"
        "    excused_by:\n"
        "      - illness\n"
        "    basis: reg. 5\n";
    wf_workflow *wf = load_str(yaml, err);
    CHECK(wf != NULL);
    if (!wf) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const wf_deadline *d = find_deadline(wf, "by_attr");
    CHECK(d && d->anchor_kind == WF_ANCHOR_ATTRIBUTE && d->due.kind == WF_DUE_BEFORE &&
          d->due.n == 5 && d->due.unit == CAL_MONTHS);
    CHECK_STR(d ? d->anchor_attr : NULL, "due_date");
    CHECK_STR(d ? d->anchor_label : NULL, "due_date");
    d = find_deadline(wf, "doy");
    CHECK(d && d->anchor_kind == WF_ANCHOR_EVENT && d->anchor.nwhen == 1 &&
          d->due.kind == WF_DUE_DAY_OF_YEAR && d->due.month == 2 && d->due.day == 29);
    CHECK_STR(d ? d->anchor.when[0].value : NULL, "no");
    CHECK_STR(d ? d->anchor_label : NULL, "the finish");
    d = find_deadline(wf, "ldb");
    CHECK(d && d->due.kind == WF_DUE_LAST_DAY_BEFORE && d->due.month == 3 && d->due.day == 31 &&
          d->kind == WF_DEADLINE_DUTY);
    d = find_deadline(wf, "per_ask");
    CHECK(d && d->nmet_by == 2 && d->ncancelled_by == 1 && d->nexcused_by == 1);
    CHECK_STR(d ? d->name : NULL, "{who}_answer");
    CHECK_STR(d ? d->per : NULL, "who");
    CHECK_STR(d ? d->anchor_label : NULL, "ask");
    CHECK(d && d->met_by[0].nwhen == 0 && d->met_by[1].nwhen == 1);
    CHECK(d && d->due.n == 1 && d->due.unit == CAL_DAYS);
    wf_workflow_free(wf);

    /* The shipped file in all-flow style loads the same. */
    const char *flow = "{workflow: f, version: 3, title: Flow,"
                       " states: {a: {initial: true}, b: {final: completed}},"
                       " events: {go: {attributes: {x: {values: [yes, no]}},"
                       "   transitions: [{from: any, when: {x: yes}, to: b}]}},"
                       " deadlines: {dd: {from: start, within: 2 years, met_by: [go],"
                       "   basis: s. 1}}}\n";
    wf = load_str(flow, err);
    CHECK(wf != NULL);
    if (!wf) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(wf->version, 3);
    CHECK_STR(wf->title, "Flow");
    const wf_event *ev = wf_find_event(wf, "go");
    CHECK(ev && ev->ntransitions == 1 && ev->transitions[0].from_any);
    CHECK_STR(ev ? ev->transitions[0].when[0].value : NULL, "yes");
    CHECK(wf->ndeadlines == 1 && wf->deadlines[0].due.unit == CAL_YEARS);
    wf_workflow_free(wf);
}

typedef struct bad_case {
    const char *yaml;
    int line;           /* expected line in "[t.yaml:LINE] " */
    const char *phrase; /* expected to appear in the message */
} bad_case;

static const bad_case bad_cases[] = {
    /* Top level and YAML itself. */
    {"", 1, "empty document"},
    {"- a\n- b\n", 1, "expected a mapping at the top level, got a list"},
    {L_HEAD "states: [open\n", 4,
     "YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence started "
     "at line 3"},
    {L_HEAD "  indented: wrong\n", 3, "YAML syntax error"},
    {L_HEAD "key: \"unterminated\n", 4, "YAML syntax error"},
    {L_HEAD L_STATES L_EVENTS "---\nworkflow: u\n", 27, "second YAML document"},
    {L_HEAD "stats: {}\n" L_STATES L_EVENTS, 3,
     "top level: unknown key \"stats\" (expected one of: workflow, version, title, start, "
     "states, events, deadlines, flags, migrate)"},
    {L_HEAD "version: 2\n" L_STATES L_EVENTS, 3, "duplicate key \"version\" (first at line 2)"},
    {"version: 1\n" L_STATES L_EVENTS, 1, "top level: missing \"workflow\""},
    {"workflow: Bad_Name\nversion: 1\n" L_STATES L_EVENTS, 1,
     "\"workflow\": invalid name \"Bad_Name\""},
    {"workflow: [t]\nversion: 1\n" L_STATES L_EVENTS, 1,
     "\"workflow\": expected a string, got a list"},
    {"workflow: t\n" L_STATES L_EVENTS, 1, "top level: missing \"version\""},
    {"workflow: t\nversion: 0\n" L_STATES L_EVENTS, 2,
     "\"version\": expected a positive integer, got \"0\""},
    {"workflow: t\nversion: 1.5\n" L_STATES L_EVENTS, 2,
     "expected a positive integer, got \"1.5\""},
    {"workflow: t\nversion: -1\n" L_STATES L_EVENTS, 2, "expected a positive integer, got \"-1\""},
    {"workflow: t\nversion: {}\n" L_STATES L_EVENTS, 2,
     "expected a positive integer, got a mapping"},
    {"workflow: t\nversion: 1\ntitle: ''\n" L_STATES L_EVENTS, 3, "\"title\": must not be empty"},
    {L_HEAD "start:\n  lable: x\n" L_STATES L_EVENTS, 4, "\"start\": unknown key \"lable\""},
    {L_HEAD "start: [x]\n" L_STATES L_EVENTS, 3, "\"start\": expected a mapping, got a list"},
    {L_HEAD "start:\n  attributes:\n    when: {type: number}\n" L_STATES L_EVENTS, 5,
     "attribute \"when\": \"type\": expected date or string, got \"number\""},
    {L_HEAD L_EVENTS, 1, "missing \"states\""},
    {L_HEAD L_STATES, 1, "missing \"events\""},
    {L_HEAD "states:\n" L_EVENTS, 3, "\"states\": expected a mapping, got an empty value"},
    {L_HEAD L_STATES "events: [finish]\n", 7, "\"events\": expected a mapping, got a list"},

    /* States. */
    {L_HEAD "states:\n  open: {}\n  done: {final: completed}\n" L_EVENTS, 3, "no initial state"},
    {L_HEAD "states: {}\n" L_EVENTS, 3, "must declare at least one state"},
    {L_HEAD "states:\n  open: {initial: true}\n  done: {initial: true}\n" L_EVENTS, 5,
     "state \"done\": a second initial state (\"open\" at line 4 is initial)"},
    {L_HEAD "states:\n  open: {initial: true, final: completed}\n" L_EVENTS, 4,
     "state \"open\": the initial state must not be final"},
    {L_HEAD "states:\n  open: {initial: true}\n  done: {final: done}\n" L_EVENTS, 5,
     "state \"done\": \"final\": expected completed or cancelled, got \"done\""},
    {L_HEAD "states:\n  open: {initial: yes}\n" L_EVENTS, 4,
     "state \"open\": \"initial\": expected true or false, got \"yes\""},
    {L_HEAD "states:\n  Open: {initial: true}\n" L_EVENTS, 4,
     "\"states\": invalid state name \"Open\" (expected [a-z][a-z0-9_]*)"},
    {L_HEAD "states:\n  open: {initial: true}\n  2nd: {}\n" L_EVENTS, 5,
     "invalid state name \"2nd\""},
    {L_HEAD "states:\n  open: {initial: true, titel: x}\n" L_EVENTS, 4,
     "state \"open\": unknown key \"titel\" (expected one of: initial, final, title)"},
    {L_HEAD "states:\n  open: {initial: true}\n  open: {}\n" L_EVENTS, 5,
     "\"states\": duplicate key \"open\" (first at line 4)"},
    {L_HEAD "states:\n  open: [initial]\n" L_EVENTS, 4,
     "state \"open\": expected a mapping, got a list"},

    /* Events. */
    {L_HEAD L_STATES "events:\n  go:\n    allowed: any\n", 9,
     "event \"go\": unknown key \"allowed\" (expected one of: title, attributes, allowed_in, "
     "transitions, exception, starts, minimum_length, recognises, after_end, refused_while_open)"},
    {L_HEAD L_STATES "events:\n  Go: {}\n", 8, "\"events\": invalid event name \"Go\""},
    {L_HEAD L_STATES "events:\n  go: {}\n  go: {}\n", 9, "duplicate key \"go\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [open], to: nowhere}\n", 10,
     "event \"go\": transition 1: \"to\": unknown state \"nowhere\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [open], to: done}\n"
                     "      - {from: [opne], to: done}\n",
     11, "event \"go\": transition 2: \"from\": unknown state \"opne\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [done], to: gone}\n", 10,
     "\"from\": \"done\" is a final state"},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [open]}\n", 10,
     "transition 1: missing \"to\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {to: done}\n", 10,
     "transition 1: missing \"from\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [], to: done}\n", 10,
     "\"from\": must name at least one state"},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: all, to: done}\n", 10,
     "\"from\": expected a list of states or \"any\", got \"all\""},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: any, to: done, if: x}\n", 10,
     "transition 1: unknown key \"if\" (expected one of: from, when, to)"},
    {L_HEAD L_STATES "events:\n  go:\n    transitions:\n      - {from: [open],"
                     " when: {outcome: yes}, to: done}\n",
     10, "\"when\": \"outcome\" is not an attribute of event \"go\""},
    {L_HEAD L_STATES "events:\n  go:\n    attributes: {outcome: {values: [yes, no]}}\n"
                     "    transitions:\n      - {from: [open],\n"
                     "         when: {outcome: maybe}, to: done}\n",
     12, "\"when\": outcome \"maybe\" is not one of: yes, no"},
    {L_HEAD L_STATES "events:\n  go:\n    transitions: {from: [open], to: done}\n", 9,
     "event \"go\": \"transitions\": expected a list, got a mapping"},
    {L_HEAD L_STATES "events:\n  go:\n    allowed_in: [open, nowhere]\n", 9,
     "event \"go\": \"allowed_in\": unknown state \"nowhere\""},
    {L_HEAD L_STATES "events:\n  go:\n    allowed_in: [open, gone]\n", 9,
     "\"allowed_in\": \"gone\" is a final state"},
    {L_HEAD L_STATES "events:\n  go:\n    allowed_in: open\n", 9,
     "\"allowed_in\": expected a list of states or \"any\", got \"open\""},
    {L_HEAD L_STATES "events:\n  go:\n    allowed_in: [open, open]\n", 9,
     "\"allowed_in\": \"open\" is listed twice"},
    {L_HEAD L_STATES "events:\n  go:\n    exception: begin\n", 9,
     "event \"go\": \"exception\": expected start or end, got \"begin\""},
    {L_HEAD L_STATES "events:\n  go:\n    exception: start\n    allowed_in: any\n", 9,
     "event \"go\": \"exception: start\" needs a \"reason\" attribute"},
    {L_HEAD L_STATES "events:\n  go:\n    exception: end\n    attributes: {why: {}}\n", 9,
     "\"exception: end\" needs a \"reason\" attribute"},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {requird: true}\n", 10,
     "event \"go\": attribute \"x\": unknown key \"requird\" (expected one of: required, values, "
     "type, default)"},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {required: maybe}\n", 10,
     "attribute \"x\": \"required\": expected true or false, got \"maybe\""},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {type: int}\n", 10,
     "attribute \"x\": \"type\": expected date or string, got \"int\""},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {values: []}\n", 10,
     "attribute \"x\": \"values\": must list at least one value"},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {values: [a, b, a]}\n", 10,
     "\"values\": \"a\" is listed twice"},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {values: [a, [b]]}\n", 10,
     "\"values\": items must be strings, got a list"},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {type: date, values: [a]}\n", 10,
     "\"values\": not allowed with \"type: date\""},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      Bad-Attr: {}\n", 10,
     "invalid attribute name \"Bad-Attr\""},
    {L_HEAD L_STATES "events:\n  go:\n    attributes:\n      x: {}\n      x: {}\n", 11,
     "duplicate key \"x\" (first at line 10)"},
    {L_HEAD L_STATES "events:\n  go:\n    starts: [Annual_Review]\n", 9,
     "event \"go\": \"starts\": invalid workflow name \"Annual_Review\""},
    {L_HEAD L_STATES "events:\n  go:\n    starts: annual-review\n", 9,
     "\"starts\": expected a list, got a string"},

    /* An event nothing could ever record. */
    {L_HEAD L_STATES "events:\n  go:\n    title: Go\n", 8,
     "event \"go\": neither \"transitions\" nor \"allowed_in\": it could never be recorded"},
    {L_HEAD L_STATES "events:\n  go:\n  stop: {allowed_in: any}\n", 8,
     "event \"go\": neither \"transitions\" nor \"allowed_in\""},
    {L_HEAD L_STATES "events:\n  go: {transitions: []}\n", 8,
     "event \"go\": neither \"transitions\" nor \"allowed_in\""},

    /* Exceptions: a reason that is required, and an end for every reason. */
    {L_HEAD L_STATES
     "events:\n  p:\n    exception: start\n    attributes: {reason: {values: [a]}}\n"
     "    allowed_in: any\n  q: {exception: end, attributes: {reason: {}},"
     " allowed_in: any}\n",
     10,
     "event \"p\": the \"reason\" attribute of an \"exception: start\" event must be \"required: "
     "true\""},
    {L_HEAD L_STATES
     "events:\n  p:\n    exception: start\n    attributes:\n"
     "      reason: {required: true, values: [a, b]}\n    allowed_in: any\n"
     "  q: {exception: end, attributes: {reason: {values: [a]}}, allowed_in: any}\n",
     11,
     "event \"p\": reason \"b\": no \"exception: end\" event takes it, so the exception could "
     "never be closed"},
    {L_HEAD L_STATES "events:\n  p:\n    exception: start\n    attributes:\n"
                     "      reason: {required: true, values: [a]}\n    allowed_in: any\n",
     11, "event \"p\": reason \"a\": no \"exception: end\" event takes it"},
    {L_HEAD L_STATES
     "events:\n  p:\n    exception: start\n    attributes:\n"
     "      reason: {required: true}\n    allowed_in: any\n"
     "  q: {exception: end, attributes: {reason: {values: [a]}}, allowed_in: any}\n",
     11, "event \"p\": \"reason\" takes any value, but no \"exception: end\" event does"},

    /* Exceptions: minimum_length. */
    {L_HEAD L_STATES "events:\n  go:\n    allowed_in: any\n    minimum_length: {a: 4 weeks}\n", 10,
     "event \"go\": \"minimum_length\": only an \"exception: start\" event has one"},
    {L_HEAD L_STATES "events:\n  p:\n    exception: start\n"
                     "    attributes: {reason: {required: true, values: [away, ill]}}\n"
                     "    allowed_in: any\n    minimum_length: {away: 4 weeks, holiday: 1 week}\n"
                     "  q: {exception: end, attributes: {reason: {values: [away, ill]}},"
                     " allowed_in: any}\n",
     12,
     "event \"p\": \"minimum_length\": \"holiday\" is not a value of the \"reason\" attribute "
     "(one of: away, ill)"},
    {L_HEAD L_STATES "events:\n  p:\n    exception: start\n"
                     "    attributes: {reason: {required: true, values: [away, ill]}}\n"
                     "    allowed_in: any\n    minimum_length: {away: four weeks}\n"
                     "  q: {exception: end, attributes: {reason: {values: [away, ill]}},"
                     " allowed_in: any}\n",
     12,
     "event \"p\": \"minimum_length\": \"away\": expected \"N days|weeks|months|years\", got "
     "\"four weeks\""},
    {L_HEAD L_STATES "events:\n  p:\n    exception: start\n"
                     "    attributes: {reason: {required: true, values: [away, ill]}}\n"
                     "    allowed_in: any\n    minimum_length: {away: 0 days}\n"
                     "  q: {exception: end, attributes: {reason: {values: [away, ill]}},"
                     " allowed_in: any}\n",
     12, "\"away\": N must be from 1 to 9999, got \"0 days\""},
    {L_HEAD L_STATES "events:\n  p:\n    exception: start\n"
                     "    attributes: {reason: {required: true, values: [away, ill]}}\n"
                     "    allowed_in: any\n    minimum_length: [away]\n"
                     "  q: {exception: end, attributes: {reason: {values: [away, ill]}},"
                     " allowed_in: any}\n",
     12, "event \"p\": \"minimum_length\": expected a mapping, got a list"},

    /* Deadlines: keys and due rules. */
    {D1_WITH("    withn: 6 weeks\n"), 35,
     "deadline \"d1\": unknown key \"withn\" (expected one of: name, title, from, per, within, "
     "beginning_with, before, day_of_year, last_day_before, kind, met_by, cancelled_by, "
     "excused_by, basis, anchor_label, if, unless, shorter_under_5, tribunal_closures, or_later)"},
    {D1_WITH("    within: 7 weeks\n"), 35,
     "deadline \"d1\": duplicate key \"within\" (first at line 33)"},
    {BASE "  d1:\n    from: start\n    within: six weeks\n    basis: x\n", 33,
     "deadline \"d1\": \"within\": expected \"N days|weeks|months|years\", got \"six weeks\""},
    {BASE "  d1:\n    from: start\n    within: 6\n    basis: x\n", 33,
     "\"within\": expected \"N days|weeks|months|years\", got \"6\""},
    {BASE "  d1:\n    from: start\n    within: 6 fortnights\n    basis: x\n", 33,
     "got \"6 fortnights\""},
    {BASE "  d1:\n    from: start\n    within: 6weeks\n    basis: x\n", 33, "got \"6weeks\""},
    {BASE "  d1:\n    from: start\n    within: -6 weeks\n    basis: x\n", 33, "got \"-6 weeks\""},
    {BASE "  d1:\n    from: start\n    beginning_with: 0 days\n    basis: x\n", 33,
     "\"beginning_with\": N must be from 1 to 9999, got \"0 days\""},
    {BASE "  d1:\n    from: start\n    before: 100000 years\n    basis: x\n", 33,
     "\"before\": N must be from 1 to 9999"},
    {BASE "  d1:\n    from: start\n    within: [6 weeks]\n    basis: x\n", 33,
     "\"within\": expected \"N days|weeks|months|years\", got a list"},
    {D1_WITH("    beginning_with: 15 days\n"), 35,
     "deadline \"d1\": both \"within\" and \"beginning_with\": give exactly one due rule"},
    {BASE "  d1:\n    from: start\n    basis: x\n", 31,
     "deadline \"d1\": missing a due rule (one of: within, beginning_with, before, day_of_year, "
     "last_day_before)"},
    {BASE "  d1:\n    from: start\n    day_of_year: 30 February\n    basis: x\n", 33,
     "\"day_of_year\": no such day: \"30 February\""},
    {BASE "  d1:\n    from: start\n    last_day_before: 31 April\n    basis: x\n", 33,
     "\"last_day_before\": no such day: \"31 April\""},
    {BASE "  d1:\n    from: start\n    last_day_before: February 15\n    basis: x\n", 33,
     "\"last_day_before\": expected \"D Month\" (e.g. \"15 February\"), got \"February 15\""},
    {BASE "  d1:\n    from: start\n    day_of_year: 15 Febuary\n    basis: x\n", 33,
     "got \"15 Febuary\""},
    {D1_WITH("    kind: deadline\n"), 35,
     "deadline \"d1\": \"kind\": expected duty or period, got \"deadline\""},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n", 31,
     "deadline \"d1\": missing \"basis\""},
    {D1_WITH("    basis: ''\n"), 36, "duplicate key \"basis\""},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    basis: ''\n", 34,
     "deadline \"d1\": \"basis\": must not be empty"},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    basis: [a]\n", 34,
     "\"basis\": expected a string, got a list"},
    {BASE "  D1:\n    from: start\n    within: 6 weeks\n    basis: x\n", 31,
     "\"deadlines\": invalid deadline name \"D1\""},
    {BASE "  d1: start\n", 31, "deadline \"d1\": expected a mapping, got a string"},

    /* Deadlines: anchors. */
    {BASE "  d1:\n    within: 6 weeks\n    basis: x\n", 31, "deadline \"d1\": missing \"from\""},
    {BASE "  d1:\n    from: request\n    within: 6 weeks\n    basis: x\n", 32,
     "\"from\": expected start, {event: NAME, when: {...}}, {any_of: [...]} or {attribute: NAME}, "
     "got "
     "\"request\""},
    {BASE "  d1:\n    from: {event: nope}\n    within: 6 weeks\n    basis: x\n", 32,
     "deadline \"d1\": \"from\": unknown event \"nope\""},
    {BASE "  d1:\n    from: {evnt: finish}\n    within: 6 weeks\n    basis: x\n", 32,
     "\"from\": unknown key \"evnt\" (expected one of: event, when, attribute, use, any_of)"},
    {BASE "  d1:\n    from: {when: {outcome: yes}}\n    within: 6 weeks\n    basis: x\n", 32,
     "\"from\": missing \"event\""},
    {BASE "  d1:\n    from: {event: finish, when: {outcome: maybe}}\n    within: 6 weeks\n"
          "    basis: x\n",
     32, "outcome \"maybe\" is not one of: yes, no"},
    {BASE "  d1:\n    from: {attribute: nope}\n    within: 6 weeks\n    basis: x\n", 32,
     "\"from\": \"nope\" is not a start attribute"},
    {BASE "  d1:\n    from: {attribute: ref}\n    before: 6 weeks\n    basis: x\n", 32,
     "\"from\": start attribute \"ref\" is not \"type: date\""},
    {BASE "  d1:\n    from: {attribute: due_date, event: finish}\n    before: 6 weeks\n"
          "    basis: x\n",
     32, "\"due_date\" is not an attribute of event \"finish\""},

    /* Deadlines: per and placeholders. */
    {BASE "  d1:\n    name: d_{who}\n    from: start\n    per: who\n    within: 6 weeks\n"
          "    basis: x\n",
     34, "deadline \"d1\": \"per\" needs an event anchor"},
    {BASE "  d1:\n    name: d_{whom}\n    from: {event: ask}\n    per: whom\n"
          "    within: 6 weeks\n    basis: x\n",
     34, "\"per\": \"whom\" is not an attribute of event \"ask\""},
    {BASE "  d1:\n    name: d_{what}\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    basis: x\n",
     32, "name \"d_{what}\": placeholder \"{what}\" must be the per attribute \"{who}\""},
    {BASE "  d1:\n    name: d_{who}\n    from: {event: ask}\n    within: 6 weeks\n"
          "    basis: x\n",
     32, "name \"d_{who}\": placeholder \"{who}\" needs \"per: who\""},
    {BASE "  d1:\n    from: {event: ask}\n    per: who\n    within: 6 weeks\n    basis: x\n", 31,
     "name \"d1\": with \"per: who\" the name must hold \"{who}\""},
    {BASE "  d1:\n    name: d_{who}_{who}\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    basis: x\n",
     32, "more than one placeholder"},
    {BASE "  d1:\n    name: d_{who\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    basis: x\n",
     32, "unbalanced or empty \"{...}\" placeholder"},
    {BASE "  d1:\n    name: D-{who}\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    basis: x\n",
     32, "invalid deadline name \"D-{who}\""},
    {BASE "  d1:\n    title: answer {who}\n    from: start\n    within: 6 weeks\n    basis: x\n",
     32, "title \"answer {who}\": placeholder \"{who}\" needs \"per: who\""},
    {BASE "  d1:\n    name: d_{who}\n    title: answer {whom}\n    from: {event: ask}\n"
          "    per: who\n    within: 6 weeks\n    basis: x\n",
     33, "title \"answer {whom}\": the only placeholder allowed is \"{who}\""},
    {BASE "  d1:\n    name: d_{who}\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    met_by: [finish]\n    basis: x\n",
     36, "\"met_by\": event \"finish\" has no \"who\" attribute to match \"per: who\""},

    /* Deadlines: the per attribute must be required and list its values. */
    {BASE "  d1:\n    name: d_{who}\n    from: {event: reply}\n    per: who\n    within: 6 weeks\n"
          "    met_by: [reply]\n    basis: x\n",
     34,
     "deadline \"d1\": \"per\": attribute \"who\" of event \"reply\" must be \"required: true\""},
    {L_HEAD L_STATES "events:\n  ask:\n    attributes: {who: {required: true}}\n"
                     "    allowed_in: any\n"
                     "deadlines:\n  d1:\n    name: d_{who}\n    from: {event: ask}\n    per: who\n"
                     "    within: 6 weeks\n    met_by: [ask]\n    basis: x\n",
     15, "deadline \"d1\": \"per\": attribute \"who\" of event \"ask\" must list its \"values\""},

    /* Deadlines: a duty needs something to meet it. */
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    basis: x\n", 31,
     "deadline \"d1\": a duty needs \"met_by\" (the events that meet it); a period that only has "
     "to run is \"kind: period\""},
    {BASE L_D1 "  d2:\n    from: start\n    kind: duty\n    within: 6 weeks\n"
               "    cancelled_by: [finish]\n    basis: x\n",
     36, "deadline \"d2\": a duty needs \"met_by\""},

    /* Deadlines: met_by, cancelled_by, excused_by. */
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    met_by: [finnish]\n    basis: x\n", 34,
     "deadline \"d1\": \"met_by\": unknown event \"finnish\""},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    met_by: finish\n    basis: x\n", 34,
     "\"met_by\": expected a list, got a string"},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    met_by:\n      - [finish]\n"
          "    basis: x\n",
     35, "\"met_by\": expected an event name or {event: NAME, when: {...}}, got a list"},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    cancelled_by:\n"
          "      - {event: finish, when: {result: yes}}\n    basis: x\n",
     35, "\"cancelled_by\": \"when\": \"result\" is not an attribute of event \"finish\""},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    cancelled_by:\n"
          "      - {event: finish, when: {outcome: true}}\n    basis: x\n",
     35, "outcome \"true\" is not one of: yes, no"},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    cancelled_by:\n"
          "      - {event: finish, if: {outcome: yes}}\n    basis: x\n",
     35, "\"cancelled_by\": unknown key \"if\" (expected one of: event, when)"},
    {BASE "  d1:\n    from: start\n    within: 6 weeks\n    cancelled_by:\n"
          "      - {when: {outcome: yes}}\n    basis: x\n",
     35, "\"cancelled_by\": missing \"event\""},
    {D1_WITH("    excused_by: [closure, holiday]\n"), 35,
     "deadline \"d1\": \"excused_by\": \"holiday\" is not a reason of any \"exception: start\" "
     "event (expected one of: closure, illness)"},
    {L_HEAD L_STATES "events:\n  go: {allowed_in: any}\n"
                     "  stop: {exception: end, attributes: {reason: {}}, allowed_in: any}\n"
                     "deadlines:\n  d1:\n    from: start\n    within: 6 weeks\n"
                     "    excused_by: [closure]\n    basis: x\n",
     14, "(this workflow has none)"},
    {L_HEAD L_STATES
     "events:\n"
     "  p1: {exception: start, attributes: {reason: {required: true, values: [school_closure, x]}},"
     " allowed_in: any}\n"
     "  p2: {exception: start, attributes: {reason: {required: true, values: [x, closure]}},"
     " allowed_in: any}\n"
     "  e1: {exception: end, attributes: {reason: {}}, allowed_in: any}\n"
     "deadlines:\n  d1:\n    from: start\n    within: 6 weeks\n"
     "    excused_by: [closure, nope]\n    basis: x\n",
     15,
     "\"nope\" is not a reason of any \"exception: start\" event (expected one of: "
     "school_closure, x, closure)"},
    {D1_WITH("    excused_by: closure\n"), 35, "\"excused_by\": expected a list, got a string"},
    /* or_later: its own keys and exactly one due rule. */
    {D1_WITH("    or_later: {from: start, within: 2 weeks, withn: 1}\n"), 35,
     "deadline \"d1\": \"or_later\": unknown key \"withn\" (expected one of: from, within, "
     "beginning_with, anchor_label)"},
    {D1_WITH("    or_later: {from: start}\n"), 31, "\"or_later\": missing a due rule"},
    {D1_WITH("    or_later: {from: {event: nope}, within: 1 month}\n"), 35,
     "\"or_later\": \"from\": unknown event \"nope\""},

    /* Deadlines: names must be unique. */
    {BASE L_D1 "  d2:\n    name: d1\n    from: start\n    within: 6 weeks\n    basis: x\n", 36,
     "deadline \"d2\": name \"d1\" is also the name of deadline \"d1\" (line 31)"},
    {BASE L_D1 "  d1:\n    from: start\n    within: 6 weeks\n    basis: x\n", 36,
     "\"deadlines\": duplicate key \"d1\" (first at line 31)"},
    {BASE "  ask_a:\n    from: start\n    within: 6 weeks\n    basis: x\n"
          "  per_ask:\n    name: ask_{who}\n    from: {event: ask}\n    per: who\n"
          "    within: 6 weeks\n    basis: x\n",
     35, "deadline \"per_ask\": name \"ask_{who}\" clashes with \"ask_a\" of deadline \"ask_a\""},
};

static void test_invalid(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *bc = &bad_cases[i];
        char err[WF_ERR_LEN] = "";
        wf_workflow *wf = (wf_workflow *)1;
        int rc = wf_load_string("t.yaml", bc->yaml, strlen(bc->yaml), &wf, err);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "[t.yaml:%d] ", bc->line);
        if (rc != -1 || wf != NULL || strncmp(err, prefix, strlen(prefix)) != 0 ||
            !strstr(err, bc->phrase)) {
            fprintf(stderr, "case %zu (line %d): rc %d, err \"%s\"\n  expected \"%s...%s\"\n", i,
                    bc->line, rc, err, prefix, bc->phrase);
            check_failures++;
            check_test_failures++;
        }
        if (rc == 0)
            wf_workflow_free(wf);
    }
    CHECK(sizeof bad_cases / sizeof bad_cases[0] >= 30);
}

/* Scratch directories for load_workflows, removed again at the end. */
static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
}

#define MINI(name, starts)                                                                         \
    "workflow: " name "\nversion: 1\nstates:\n  open: {initial: true}\n"                           \
    "  done: {final: completed}\nevents:\n  go:\n    transitions: [{from: any, to: done}]\n"       \
    "    starts: [" starts "]\n"

static void test_load_dir_rules(void)
{
    char tmpl[] = "/tmp/test_wf.XXXXXX";
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    if (!dir)
        return;
    char err[WF_ERR_LEN];
    wf_set *set = (wf_set *)1;

    /* Empty directory. */
    CHECK_INT(load_workflows(dir, &set, err), -1);
    CHECK(set == NULL);
    CHECK_SUBSTR(err, "no workflow files");
    CHECK(!strncmp(err, "[", 1) && strstr(err, dir));

    /* Files sorted by name; other extensions, hidden files and subdirectories ignored. */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/calendars", dir);
    CHECK_INT(mkdir(sub, 0700), 0);
    write_file(sub, "bank-holidays.yaml", "not: [a workflow\n");
    char subyaml[600];
    snprintf(subyaml, sizeof subyaml, "%s/sub.yaml", dir);
    CHECK_INT(mkdir(subyaml, 0700), 0); /* a directory named like a workflow file */
    write_file(dir, "b.yml", MINI("bee", "aye"));
    write_file(dir, "a.yaml", MINI("aye", "bee, aye"));
    write_file(dir, "notes.txt", "not yaml: [");
    write_file(dir, ".hidden.yaml", "not yaml: [");
    write_file(dir, "c.yaml.bak", "not yaml: [");
    int rc = load_workflows(dir, &set, err);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_INT(set->n, 2);
        CHECK_STR(set->items[0]->name, "aye");
        CHECK_STR(set->items[1]->name, "bee");
        wf_set_free(set);
    } else {
        fprintf(stderr, "%s\n", err);
    }

    /* A "starts:" naming a workflow that is not there: the line of the item. */
    write_file(dir, "b.yml", MINI("bee", "aye,\n      sea"));
    CHECK_INT(load_workflows(dir, &set, err), -1);
    CHECK(set == NULL);
    char want[700];
    snprintf(want, sizeof want,
             "[%s/b.yml:10] event \"go\": \"starts\": no workflow called \"sea\"", dir);
    CHECK_SUBSTR(err, want);

    /* Two files defining the same workflow. */
    write_file(dir, "b.yml", MINI("aye", "aye"));
    CHECK_INT(load_workflows(dir, &set, err), -1);
    snprintf(want, sizeof want,
             "[%s/b.yml:1] workflow \"aye\" is also defined in %s/a.yaml (line 1)", dir, dir);
    CHECK_SUBSTR(err, want);

    /* A broken file stops the load and names itself. */
    write_file(dir, "b.yml", "workflow: bee\nversion: 1\nstates: [\n");
    CHECK_INT(load_workflows(dir, &set, err), -1);
    snprintf(want, sizeof want, "[%s/b.yml:", dir);
    CHECK_SUBSTR(err, want);
    CHECK_SUBSTR(err, "YAML syntax error");

    /* wf_set_check on a set built by hand. */
    wf_workflow *w1 = NULL, *w2 = NULL;
    const char *y1 = MINI("one", "two"), *y2 = MINI("two", "one");
    CHECK_INT(wf_load_string("one.yaml", y1, strlen(y1), &w1, err), 0);
    CHECK_INT(wf_load_string("two.yaml", y2, strlen(y2), &w2, err), 0);
    wf_workflow *items[2] = {w1, w2};
    wf_set s = {items, 2};
    CHECK_INT(wf_set_check(&s, err), 0);
    s.n = 1;
    CHECK_INT(wf_set_check(&s, err), -1);
    CHECK_SUBSTR(err, "[one.yaml:9] event \"go\": \"starts\": no workflow called \"two\"");
    wf_workflow_free(w1);
    wf_workflow_free(w2);

    remove_file(sub, "bank-holidays.yaml");
    rmdir(sub);
    rmdir(subyaml);
    remove_file(dir, "a.yaml");
    remove_file(dir, "b.yml");
    remove_file(dir, "notes.txt");
    remove_file(dir, ".hidden.yaml");
    remove_file(dir, "c.yaml.bak");
    CHECK_INT(rmdir(dir), 0);
}

static void test_file_errors(void)
{
    char err[WF_ERR_LEN];
    wf_workflow *wf = (wf_workflow *)1;
    CHECK_INT(load_workflow("/nonexistent/x.yaml", &wf, err), -1);
    CHECK(wf == NULL);
    CHECK_SUBSTR(err, "[/nonexistent/x.yaml:1] cannot open");
    wf_set *set = (wf_set *)1;
    CHECK_INT(load_workflows("/nonexistent", &set, err), -1);
    CHECK(set == NULL);
    CHECK_SUBSTR(err, "[/nonexistent:1] cannot open directory");

    /* Invalid UTF-8 is a reader error, located by its offset. */
    const char bad[] = "workflow: t\nversion: 1\ntitle: \xff\xfe\n";
    CHECK_INT(wf_load_string("t.yaml", bad, sizeof bad - 1, &wf, err), -1);
    CHECK_SUBSTR(err, "[t.yaml:3] YAML syntax error");
    wf_workflow_free(NULL);
    wf_set_free(NULL);
}

int main(void)
{
    RUN(test_ehcp_assessment);
    RUN(test_annual_review);
    RUN(test_la_transfer);
    RUN(test_load_dir_shipped);
    RUN(test_base_and_defaults);
    RUN(test_styles_and_rules);
    RUN(test_invalid);
    RUN(test_load_dir_rules);
    RUN(test_file_errors);
    return CHECK_DONE();
}
