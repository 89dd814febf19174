"""Board reports: every figure of an operations report (November 2026) and a
strategic report (Q4 2026) against hand-computed expectations, over a
caseload built through the CLI on a simulated clock; the four formats agree
with each other; the phase-transfer round on a later day; board packs queued
on the first working day of a month (and of a quarter), once per member and
channel however often asked; bad requests are refused.

How the dates are counted (README, "Statutory readings"): a request received
on day R has decide_to_assess due R+42, notify_no_plan R+112 and final_plan
R+140; advice requested on day Q is due Q+42; an annual review started on S
is due the day before the anniversary, and a cycle started by a meeting on M
has its report due M+14 and its decision M+28. A deadline is missed from the
day after its due date.
"""
import csv
import io
import json
import os
import shutil

from sfharness import (test, main, Database, Daemon, eq, tempdir, wait_for, TestError,
                       WORKFLOWS_DIR)

# --------------------------------------------------------------------------
# The caseload. Every request is a Monday in 2026 unless said otherwise.
#
# Assessments (ehcp-assessment), with their due dates:
#   ref  request     decide      notify      final
#   A01  2026-06-08  07-20       09-28       10-26
#   A02  2026-06-22  08-03       10-12       11-09
#   A03  2026-06-29  08-10       10-19       11-16   exception 08-03..09-14
#   A04  2026-07-06  08-17       10-26       11-23
#   A05  2026-05-04  06-15       08-24       09-21
#   A06  2026-07-27  09-07       11-16       12-14
#   A07  2026-05-18  06-29       09-07       10-05   stalled: overdue
#   A08  2026-11-02  12-14       2027-02-22  2027-03-22
#   A09  2026-11-16  12-28       (decided not to assess)
#   A10  2026-10-12  11-23       2027-02-01  2027-03-01  closure 10-20..11-30
#   A11  2026-12-07  2027-01-18  (its decision is voided)
#   A12  2026-10-05  11-16       2027-01-25  2027-02-22
# Annual reviews started by hand (an existing plan):
#   R1 plan 2025-11-10 (review due 2026-11-09), R2 2025-10-20 (due 2026-10-19),
#   R3 2025-09-01 (due 2026-08-31, never held), R4 2025-12-15 (due 2026-12-14).
# Phase transfers started by hand (no date of birth anywhere, so the daemon
# opens none by itself), all transferring on 2027-09-01:
#   T1 primary_to_secondary (due 2027-02-14), T2 secondary_to_post16 (due
#   2027-03-30, met 2026-11-18), T3 primary_to_secondary (cancelled 11-10),
#   T4 infant_to_junior (due 2027-02-14, met late 2027-02-20), T5
#   secondary_to_post16 (due 2027-03-30).

ASSESS = "ehcp-assessment"
REVIEW = "annual-review"
XFER = "phase-transfer"

# (day, case, what, *arguments); what is "start" (workflow, attrs), "event"
# (type, attrs) or "void" (type and day of the event to void). Done in day
# order with the simulated clock moved to each day first.
ACTIONS = [
    ("2025-09-01", "R3", "start", REVIEW, {}),
    ("2025-10-20", "R2", "start", REVIEW, {}),
    ("2025-11-10", "R1", "start", REVIEW, {}),
    ("2025-12-15", "R4", "start", REVIEW, {}),

    ("2026-05-04", "A05", "start", ASSESS, {}),
    ("2026-05-18", "A07", "start", ASSESS, {}),
    ("2026-06-08", "A01", "start", ASSESS, {}),
    ("2026-06-10", "A05", "event", "decision_to_assess", {"outcome": "yes"}),  # due 06-15: on time
    ("2026-06-22", "A02", "start", ASSESS, {}),
    ("2026-06-29", "A03", "start", ASSESS, {}),
    ("2026-07-06", "A04", "start", ASSESS, {}),
    ("2026-07-06", "A07", "event", "decision_to_assess", {"outcome": "yes"}),  # due 06-29: late
    ("2026-07-07", "A07", "event", "advice_requested", {"from": "health"}),    # due 08-18, never back
    ("2026-07-10", "A01", "event", "decision_to_assess", {"outcome": "yes"}),  # due 07-20: on time
    ("2026-07-13", "A01", "event", "advice_requested", {"from": "education"}),  # due 08-24
    ("2026-07-27", "A06", "start", ASSESS, {}),
    ("2026-08-03", "A03", "event", "exception_started", {"reason": "exceptional_circumstances"}),
    ("2026-08-05", "A03", "event", "decision_to_assess", {"outcome": "yes"}),  # due 08-10: on time
    ("2026-08-10", "A02", "event", "decision_to_assess", {"outcome": "yes"}),  # due 08-03: late
    ("2026-08-11", "A02", "event", "advice_requested", {"from": "health"}),      # due 09-22
    ("2026-08-11", "A02", "event", "advice_requested", {"from": "psychology"}),  # due 09-22
    ("2026-08-17", "A04", "event", "decision_to_assess", {"outcome": "yes"}),  # due 08-17: on time
    ("2026-08-18", "A04", "event", "advice_requested", {"from": "social_care"}),  # due 09-29
    ("2026-08-20", "A01", "event", "advice_received", {"from": "education"}),  # on time (August)
    ("2026-08-20", "A05", "event", "draft_plan_issued", {}),
    ("2026-09-01", "A06", "event", "decision_to_assess", {"outcome": "yes"}),  # due 09-07: on time
    ("2026-09-01", "T1", "start", XFER, {"transfer": "primary_to_secondary", "transfer_date": "2027-09-01"}),
    ("2026-09-01", "T2", "start", XFER, {"transfer": "secondary_to_post16", "transfer_date": "2027-09-01"}),
    ("2026-09-01", "T3", "start", XFER, {"transfer": "primary_to_secondary", "transfer_date": "2027-09-01"}),
    ("2026-09-01", "T4", "start", XFER, {"transfer": "infant_to_junior", "transfer_date": "2027-09-01"}),
    ("2026-09-01", "T5", "start", XFER, {"transfer": "secondary_to_post16", "transfer_date": "2027-09-01"}),
    ("2026-09-14", "A03", "event", "exception_ended", {"reason": "exceptional_circumstances"}),
    ("2026-09-15", "A02", "event", "advice_received", {"from": "psychology"}),  # on time (September)
    ("2026-09-20", "A01", "event", "draft_plan_issued", {}),
    ("2026-09-21", "A05", "event", "final_plan_issued", {}),                  # due 09-21: on time
    ("2026-10-01", "A02", "event", "advice_received", {"from": "health"}),      # due 09-22: late
    ("2026-10-05", "A04", "event", "advice_received", {"from": "social_care"}),  # due 09-29: late
    ("2026-10-05", "A12", "start", ASSESS, {}),
    ("2026-10-12", "A10", "start", ASSESS, {}),
    ("2026-10-15", "A03", "event", "draft_plan_issued", {}),
    ("2026-10-20", "A01", "event", "final_plan_issued", {}),                  # due 10-26: on time
    ("2026-10-20", "A04", "event", "advice_requested", {"from": "education"}),  # due 12-01
    ("2026-10-20", "A10", "event", "exception_started", {"reason": "school_closure"}),
    ("2026-10-22", "A04", "event", "draft_plan_issued", {}),
    ("2026-10-28", "R4", "event", "review_meeting_held", {}),                 # due 12-14: on time
    ("2026-11-02", "A02", "event", "draft_plan_issued", {}),  # after notify_no_plan's 10-12: missed
    ("2026-11-02", "A08", "start", ASSESS, {}),
    # A Tribunal order to make a plan, sent Fri 30 Oct 2026: draft 5 weeks (due 12-04), final 11
    # weeks (30 Oct + 77 = 2027-01-15). The draft on 11-25: a step carried out on time.
    ("2026-10-30", "O1", "start", "tribunal-order", {"order": "make_plan"}),
    ("2026-11-25", "O1", "event", "draft_plan_issued", {}),
    # A mediation agreement to amend a plan (reg. 42: reg. 44's periods from the agreement), Mon
    # 2 Nov 2026: 5 weeks -> Mon 7 Dec. The amended plan on 11-20: on time, but not a Tribunal
    # order's step: counted apart from O1's.
    ("2026-11-02", "M1", "start", "tribunal-order", {"order": "amend", "kind": "mediation"}),
    ("2026-11-20", "M1", "event", "amended_plan_issued", {}),
    ("2026-11-03", "R2", "event", "review_meeting_held", {}),                 # due 10-19: late
    ("2026-11-04", "A08", "event", "exception_started", {"reason": "exceptional_circumstances"}),
    ("2026-11-05", "A08", "void", "exception_started", "2026-11-04"),         # voided: counts nowhere
    ("2026-11-05", "R1", "event", "review_meeting_held", {}),                 # due 11-09: on time
    ("2026-11-09", "A07", "event", "exception_started", {"reason": "absent_from_area"}),
    ("2026-11-10", "A06", "event", "draft_plan_issued", {}),
    ("2026-11-10", "R4", "event", "review_report_received", {}),              # due 11-11
    ("2026-11-10", "T3", "event", "transfer_cancelled", {}),
    ("2026-11-12", "R1", "event", "review_report_received", {}),              # due 11-19
    ("2026-11-16", "A02", "event", "final_plan_issued", {}),                  # due 11-09: late
    ("2026-11-16", "A09", "start", ASSESS, {}),
    ("2026-11-18", "T2", "event", "amended_plan_issued", {}),                 # due 2027-03-30
    ("2026-11-19", "A04", "event", "advice_received", {"from": "education"}),  # due 12-01: on time
    ("2026-11-20", "A03", "event", "final_plan_issued", {}),  # due 11-16: late, but excused
    ("2026-11-20", "R1", "event", "review_decision", {"outcome": "maintain"}),  # due 12-03
    ("2026-11-20", "R2", "event", "exception_started", {"reason": "missed_appointment"}),
    ("2026-11-23", "A04", "event", "final_plan_issued", {}),                  # due 11-23: on time
    ("2026-11-24", "A10", "event", "decision_to_assess", {"outcome": "yes"}),  # due 11-23: excused
    ("2026-11-24", "R4", "event", "review_decision", {"outcome": "cease"}),     # due 11-25
    ("2026-11-27", "A09", "event", "decision_to_assess", {"outcome": "no"}),    # due 12-28
    ("2026-11-30", "A10", "event", "exception_ended", {"reason": "school_closure"}),
    ("2026-12-02", "A12", "event", "decision_to_assess", {"outcome": "yes"}),  # due 11-16: late
    ("2026-12-03", "A06", "event", "final_plan_issued", {}),                  # due 12-14: on time
    ("2026-12-04", "R2", "event", "amendment_proposed", {}),  # the decision (due 12-01): late
    ("2026-12-07", "A11", "start", ASSESS, {}),
    ("2026-12-08", "A11", "event", "decision_to_assess", {"outcome": "yes"}),
    ("2026-12-09", "A11", "void", "decision_to_assess", "2026-12-08"),       # voided: not a decision
]
CASES = sorted({a[1] for a in ACTIONS})
REPORT_DAY = "2026-12-10"


def build(d):
    """Open every case and play ACTIONS through the CLI, moving the clock to each day."""
    for ref in CASES:
        d.cli("case", "open", ref)
    ids = {}
    today = None
    for day, ref, what, *args in sorted(ACTIONS, key=lambda a: a[0]):
        if day != today:
            d.cli("clock", "set", day + "T17:00")
            today = day
        if what == "start":
            wf, attrs = args
            argv = ["start", ref, wf, "--on", day]
        elif what == "event":
            typ, attrs = args
            argv = ["event", ref, typ, "--on", day]
        else:
            typ, on = args
            d.cli("void", ref, ids[(ref, typ, on)], "--reason", "recorded on the wrong case")
            continue
        for k, v in attrs.items():
            argv += ["--set", "%s=%s" % (k, v)]
        r = d.cli(*argv, json=True)
        if what == "event":
            ids[(ref, typ, day)] = r["event"]["id"]


def figures(data):
    """{figure id: figure} over every section and the trend."""
    out = {}
    for s in data["sections"]:
        for f in s["figures"]:
            assert f["id"] not in out, "figure id %s twice" % f["id"]
            out[f["id"]] = dict(f, section=s["id"])
    for m in data["trend"]["months"]:
        for f in m["figures"]:
            assert f["id"] not in out, "figure id %s twice" % f["id"]
            out[f["id"]] = dict(f, section="trend")
    return out


def value(f):
    """A count as N, a rate as (numerator, denominator)."""
    return f["value"] if f["kind"] == "count" else (f["numerator"], f["denominator"])


def check_figures(data, want, what):
    got = figures(data)
    for fid, v in want.items():
        if fid not in got:
            raise TestError("%s: no figure %s (have %s)" % (what, fid, sorted(got)))
        eq(value(got[fid]), v, "%s: %s" % (what, fid))
        if got[fid]["kind"] == "rate":
            num, den = v
            exp = None if den == 0 else round(1000 * num / den) / 10
            eq(got[fid]["value"], exp, "%s: %s per cent" % (what, fid))
    # Every figure of the report is checked: nothing unexpected, nothing left out.
    eq(sorted(got), sorted(want), "%s: the report's figures" % what)


def trend(months, plans, decisions):
    """Expected trend figures: months "YYYY-MM"; plans {month: (issued, on time incl, issued
    excl, on time excl)}; decisions {month: (on time, made)}."""
    out = {}
    for m in months:
        t = "trend_%s_" % m.replace("-", "_")
        n, ok, xn, xok = plans.get(m, (0, 0, 0, 0))
        out[t + "plans_issued"] = n
        out[t + "plans_within_20_weeks_incl"] = (ok, n)
        out[t + "plans_within_20_weeks_excl"] = (xok, xn)
        out[t + "decisions_within_6_weeks"] = decisions.get(m, (0, 0))
    return out


def months(first, n=12):
    y, m = map(int, first.split("-"))
    out = []
    for _ in range(n):
        out.append("%04d-%02d" % (y, m))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


# --------------------------------------------------------------------------
# Operations board, November 2026, run on 2026-12-10: judged as on 2026-11-30.

OPS = {
    # Started in November: A08 (11-02), A09 (11-16).
    "assessment_requests_received": 2,
    # decide_to_assess met 11-01..11-30: A09 11-27 (due 12-28, on time), A10 11-24 (due 11-23,
    # late). A12 decided 12-02, after the as-on date: still open on 11-30.
    "decisions_made": 2,
    "decisions_within_6_weeks": (1, 2),
    # final_plan met in November: A02 11-16 (due 11-09, late), A03 11-20 (due 11-16, late; its
    # exception 08-03..09-14 overlapped the 20 weeks: excusable), A04 11-23 (due 11-23, on time).
    # Excluding exceptions drops A03 from both: 1 of 2.
    "plans_issued": 3,
    "plans_issued_within_20_weeks_incl": (1, 3),
    "plans_with_exceptions": 1,
    "plans_issued_excl": 2,
    "plans_issued_within_20_weeks_excl": (1, 2),
    # Advice received in November: A04 education 11-19 (due 12-01, on time). Nothing else.
    "advice_education_within_6_weeks": (1, 1),
    "advice_health_within_6_weeks": (0, 0),
    "advice_social_care_within_6_weeks": (0, 0),
    "advice_psychology_within_6_weeks": (0, 0),
    "advice_other_within_6_weeks": (0, 0),
    "advice_all_within_6_weeks": (1, 1),
    # Meetings held in November: R1 11-05 (due 11-09, on time), R2 11-03 (due 10-19, late); R4's
    # was in October. Decisions: R1 maintain 11-20 (due 12-03), R4 cease 11-24 (due 11-25), both
    # on time; R2's came on 12-04, after the as-on date.
    "reviews_held": 2,
    "reviews_held_within_12_months": (1, 2),
    "review_decisions_made": 2,
    "review_decisions_within_4_weeks": (2, 2),
    # O1's draft plan, 11-25, due 12-04 (reg. 44): on time. M1's amended plan (11-20, due 12-07)
    # is a mediation agreement's, counted apart.
    "tribunal_order_steps_met": 1,
    "tribunal_orders_met_on_time": (1, 1),
    "mediation_agreement_steps_met": 1,
    "mediation_agreements_met_on_time": (1, 1),
    # The round whose 30 March is the first on or after 2026-11-01: 2027. Due 2027-02-14: T1, T4
    # (T3 cancelled 11-10); due 2027-03-30: T2, T5. Met: T2 (11-18, on time). The rest pending,
    # and none due within 20 working days of 11-30.
    "phase_transfers_due": 4,
    "phase_transfers_due_14_february": 2,
    "phase_transfers_due_30_march": 2,
    "phase_transfers_met": 1,
    "phase_transfers_met_on_time": (1, 4),
    "phase_transfers_pending": 3,
    "phase_transfers_overdue": 0,
    "phase_transfers_at_risk": 0,
    # Open duties past due on 11-30 (days overdue = 11-30 minus due):
    #   A07 advice_health 08-18 (104: 85+), A07 notify_no_plan 09-07 (84: 29-84),
    #   A07 final_plan 10-05 (56: 29-84), A12 decide_to_assess 11-16 (14: 8-28),
    #   R2 review_report 11-17 (the cycle its meeting started; 13: 8-28),
    #   R3 review_meeting 2026-08-31 (91: 85+).
    # A07's absence (from 11-09) began after those due dates, so none is excused.
    "overdue_total": 6,
    "overdue_1_7_days": 0,
    "overdue_8_28_days": 2,
    "overdue_29_84_days": 2,
    "overdue_85_plus_days": 2,
    "overdue_excused": 0,
    "overdue_advice_health": 1,
    "overdue_decide_to_assess": 1,
    "overdue_final_plan": 1,
    "overdue_notify_no_plan": 1,
    "overdue_review_meeting": 1,
    "overdue_review_report": 1,
    # Exceptions started in November: A07 absent_from_area (11-09), R2 missed_appointment
    # (11-20); A08's (11-04) was voided; A10's closure started in October.
    "exceptions_started": 2,
    "exceptions_school_closure": 0,
    "exceptions_exceptional_circumstances": 0,
    "exceptions_absent_from_area": 1,
    "exceptions_missed_appointment": 1,
    # Missed in November (due 10-31..11-29), listed below.
    "missed_deadlines": 5,
}
# Plans by month over December 2025 - November 2026: A05 09-21 (on time), A01 10-20 (on time),
# November as above. Decisions: A05 06-10 (on time); July A01 07-10 (on time), A07 07-06
# (late); August A03 08-05, A04 08-17 (on time), A02 08-10 (late); September A06 09-01 (on
# time); November as above.
OPS.update(trend(months("2025-12"),
                 {"2026-09": (1, 1, 1, 1), "2026-10": (1, 1, 1, 1), "2026-11": (3, 1, 2, 1)},
                 {"2026-06": (1, 1), "2026-07": (1, 2), "2026-08": (2, 3), "2026-09": (1, 1),
                  "2026-11": (1, 2)}))
OPS_MISSED = [
    # (case, deadline, due, status on 11-30, met on, days late)
    ("A02", "final_plan", "2026-11-09", "late", "2026-11-16", 7),
    ("A03", "final_plan", "2026-11-16", "excused", "2026-11-20", 4),
    ("A12", "decide_to_assess", "2026-11-16", "overdue", None, 14),
    ("R2", "review_report", "2026-11-17", "overdue", None, 13),
    ("A10", "decide_to_assess", "2026-11-23", "excused", "2026-11-24", 1),
]

# --------------------------------------------------------------------------
# Strategic board, Q4 2026, run on 2026-12-10: the quarter is running, so as on 2026-12-10.

STRAT = {
    # Started 10-01..12-10: A12 10-05, A10 10-12, A08 11-02, A09 11-16, A11 12-07.
    "assessment_requests_received": 5,
    # A10 11-24 (late), A09 11-27 (on time), A12 12-02 (due 11-16, late); A11's was voided.
    "decisions_made": 3,
    "decisions_within_6_weeks": (1, 3),
    # A01 10-20 (on time), A02 11-16 (late), A03 11-20 (late, exception), A04 11-23 (on time),
    # A06 12-03 (due 12-14, on time). Excluding A03: 3 of 4.
    "plans_issued": 5,
    "plans_issued_within_20_weeks_incl": (3, 5),
    "plans_with_exceptions": 1,
    "plans_issued_excl": 4,
    "plans_issued_within_20_weeks_excl": (3, 4),
    # A02 health 10-01 (due 09-22, late), A04 social care 10-05 (due 09-29, late), A04
    # education 11-19 (on time). A02's psychology advice came back in September.
    "advice_education_within_6_weeks": (1, 1),
    "advice_health_within_6_weeks": (0, 1),
    "advice_social_care_within_6_weeks": (0, 1),
    "advice_psychology_within_6_weeks": (0, 0),
    "advice_other_within_6_weeks": (0, 0),
    "advice_all_within_6_weeks": (1, 3),
    # Meetings: R4 10-28 (on time), R2 11-03 (late), R1 11-05 (on time). Decisions: R1 11-20,
    # R4 11-24 (on time), R2's amendments 12-04 (due 12-01: late; Devon: the proposals are the
    # decision to amend).
    "reviews_held": 3,
    "reviews_held_within_12_months": (2, 3),
    "review_decisions_made": 3,
    "review_decisions_within_4_weeks": (2, 3),
    "tribunal_order_steps_met": 1,
    "tribunal_orders_met_on_time": (1, 1),
    "mediation_agreement_steps_met": 1,
    "mediation_agreements_met_on_time": (1, 1),
    # The same round (2027) and the same state on 12-10: nothing due before 2027-01-08.
    "phase_transfers_due": 4,
    "phase_transfers_due_14_february": 2,
    "phase_transfers_due_30_march": 2,
    "phase_transfers_met": 1,
    "phase_transfers_met_on_time": (1, 4),
    "phase_transfers_pending": 3,
    "phase_transfers_overdue": 0,
    "phase_transfers_at_risk": 0,
    # Open past due on 12-10: A07 advice_health (114: 85+), notify_no_plan (94: 85+),
    # final_plan (66: 29-84); R2 review_report (23: 8-28); R3 review_meeting (101: 85+).
    # A12's decision (12-02) and R2's (12-04) are met by now.
    "overdue_total": 5,
    "overdue_1_7_days": 0,
    "overdue_8_28_days": 1,
    "overdue_29_84_days": 1,
    "overdue_85_plus_days": 3,
    "overdue_excused": 0,
    "overdue_advice_health": 1,
    "overdue_final_plan": 1,
    "overdue_notify_no_plan": 1,
    "overdue_review_meeting": 1,
    "overdue_review_report": 1,
    # A10 school_closure 10-20, A07 absent_from_area 11-09, R2 missed_appointment 11-20.
    "exceptions_started": 3,
    "exceptions_school_closure": 1,
    "exceptions_exceptional_circumstances": 0,
    "exceptions_absent_from_area": 1,
    "exceptions_missed_appointment": 1,
    "missed_deadlines": 9,
}
# January - December 2026: December adds A06's plan (on time) and A12's late decision.
STRAT.update(trend(months("2026-01"),
                   {"2026-09": (1, 1, 1, 1), "2026-10": (1, 1, 1, 1), "2026-11": (3, 1, 2, 1),
                    "2026-12": (1, 1, 1, 1)},
                   {"2026-06": (1, 1), "2026-07": (1, 2), "2026-08": (2, 3), "2026-09": (1, 1),
                    "2026-11": (1, 2), "2026-12": (0, 1)}))
STRAT_MISSED = [
    # Due 09-30..12-09, not met by the due date, as on 12-10.
    ("A07", "final_plan", "2026-10-05", "overdue", None, 66),
    # The draft (11-02) came after week 16: the notice deadline was missed, then cancelled.
    ("A02", "notify_no_plan", "2026-10-12", "cancelled", None, 21),
    ("R2", "review_meeting", "2026-10-19", "late", "2026-11-03", 15),
    ("A02", "final_plan", "2026-11-09", "late", "2026-11-16", 7),
    ("A03", "final_plan", "2026-11-16", "excused", "2026-11-20", 4),
    ("A12", "decide_to_assess", "2026-11-16", "late", "2026-12-02", 16),
    ("R2", "review_report", "2026-11-17", "overdue", None, 23),
    ("A10", "decide_to_assess", "2026-11-23", "excused", "2026-11-24", 1),
    ("R2", "review_decision", "2026-12-01", "late", "2026-12-04", 3),
]


def missed(data):
    sec = [s for s in data["sections"] if s["id"] == "missed-deadlines"][0]
    return [(i["case"], i["deadline"], i["due"], i["status"], i["met_on"], i["days_late"])
            for i in sec["list"]["items"]], sec["list"]


CHANNELS = """channels: 1
people:
  mk: {title: team manager, email: mk@example.org}
  sl: {title: team manager, email: sl@example.org}
  hos: {title: head of service, email: hos@example.org, command: archive}
boards:
  operations: [mk, hos]
  strategic: [hos]
email:
  smtp: "smtp://127.0.0.1:9"
  from: "sendflow@example.org"
commands:
  archive: {argv: [/bin/true]}
"""


def workflows():
    """The shipped workflows with channels of the test's own: nothing is sent anywhere (the
    relay's port is closed; the command is /bin/true)."""
    wf = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, wf)
    with open(os.path.join(wf, "channels.yaml"), "w") as f:
        f.write(CHANNELS)
    return wf


def check_formats(d, board, period, data):
    """The text, CSV and JSON documents say what the data says."""
    doc = d.cli("report", "--board", board, "--period", period, "--format", "json")[1]
    eq(json.loads(doc), data, "the JSON document is the data tree")
    rows = list(csv.reader(io.StringIO(d.cli("report", "--board", board, "--period", period,
                                             "--format", "csv")[1])))
    eq(rows[0], ["section", "figure", "value", "numerator", "denominator"], "CSV header")
    figs = figures(data)
    eq(len(rows) - 1, len(figs), "one CSV row per figure")
    for section, fid, v, num, den in rows[1:]:
        f = figs[fid]
        eq(section, f["section"], "CSV section of " + fid)
        if f["kind"] == "count":
            eq((v, num, den), (str(f["value"]), "", ""), "CSV " + fid)
        else:
            want = "" if f["value"] is None else "%.1f" % f["value"]
            eq((v, num, den), (want, str(f["numerator"]), str(f["denominator"])), "CSV " + fid)
    text = d.cli("report", "--board", board, "--period", period)[1]
    assert text.startswith(data["board_title"] + ": " + data["period_label"] + "\n"), text[:200]
    for s in data["sections"]:
        assert "\n" + s["title"] + "\n" in text, "text lacks section %r" % s["title"]
    for f in figs.values():
        if f["section"] != "trend":
            assert f["label"] in text, "text lacks %r" % f["label"]


@test
def every_figure_of_the_operations_and_strategic_reports():
    with Database() as db, Daemon(db, clock="2025-09-01T09:00", workflows=workflows()) as d:
        build(d)
        d.cli("clock", "set", REPORT_DAY + "T09:00")

        r = d.cli("report", "--board", "operations", "--period", "2026-11", "--format", "json",
                  json=True)
        eq({k: r[k] for k in ("board", "period", "from", "to", "as_on", "format")},
           {"board": "operations", "period": "2026-11", "from": "2026-11-01", "to": "2026-11-30",
            "as_on": "2026-11-30", "format": "json"}, "operations reply")
        data = r["data"]
        eq((data["board_title"], data["period_label"], data["today"]),
           ("SEND operational board", "November 2026", REPORT_DAY), "operations heading")
        check_figures(data, OPS, "operations 2026-11")
        items, lst = missed(data)
        eq(items, OPS_MISSED, "operations: missed deadlines")
        eq((lst["total"], lst["truncated"]), (5, False), "operations: missed list")
        a03 = [i for i in lst["items"] if i["case"] == "A03"][0]
        assert a03["note"] and "exceptional_circumstances" in a03["note"], a03
        eq([m["month"] for m in data["trend"]["months"]], months("2025-12"), "operations trend")
        check_formats(d, "operations", "2026-11", data)

        r = d.cli("report", "--board", "strategic", "--period", "2026-Q4", json=True)
        eq({k: r[k] for k in ("board", "period", "from", "to", "as_on", "format")},
           {"board": "strategic", "period": "2026-Q4", "from": "2026-10-01", "to": "2026-12-31",
            "as_on": REPORT_DAY, "format": "text"}, "strategic reply")
        data = r["data"]
        eq((data["board_title"], data["period_label"]),
           ("SEND strategic partnership board", "Q4 2026 (October to December)"), "strategic heading")
        check_figures(data, STRAT, "strategic 2026-Q4")
        items, lst = missed(data)
        eq(items, STRAT_MISSED, "strategic: missed deadlines")
        a02 = [i for i in lst["items"] if i["deadline"] == "notify_no_plan"][0]
        assert a02["note"] and "draft" in a02["note"], a02
        eq([m["month"] for m in data["trend"]["months"]], months("2026-01"), "strategic trend")
        check_formats(d, "strategic", "2026-Q4", data)
        # The reply's content is the document in the format asked for (text by default).
        assert r["content"].startswith("SEND strategic partnership board: Q4 2026"), r["content"][:100]

        # --output writes the document and says so.
        out = os.path.join(tempdir(), "ops.html")
        rc, stdout, _ = d.cli("report", "--board", "operations", "--period", "2026-11",
                              "--format", "html", "--output", out)
        assert stdout.startswith("wrote the operations report for November 2026 (html"), stdout
        html = open(out, encoding="utf-8").read()
        assert html.startswith("<!DOCTYPE html>") and 'data-figure="plans_issued"' in html

        # Later: the transfer round on 2027-03-05 (operations, March 2027, judged as on today).
        # T4 is met late on 2027-02-20. Round 2027 (2027-03-01 is before 30 March): due T1, T4
        # (02-14) and T2, T5 (03-30). Met: T2 on time, T4 late: 1 of 4 on time. Overdue: T1.
        # Pending: T5, due 03-30, within 20 working days of Friday 2027-03-05 (the 20th is
        # 2027-04-06, Good Friday and Easter Monday skipped), so at risk with T1: 2.
        d.cli("clock", "set", "2027-02-20T12:00")
        d.cli("event", "T4", "amended_plan_issued", "--on", "2027-02-20")
        d.cli("clock", "set", "2027-03-05T12:00")
        r = d.cli("report", "--board", "operations", "--period", "2027-03", json=True)
        eq(r["as_on"], "2027-03-05", "as on today while the month runs")
        got = {k: value(v) for k, v in figures(r["data"]).items() if k.startswith("phase_")}
        eq(got, {"phase_transfers_due": 4, "phase_transfers_due_14_february": 2,
                 "phase_transfers_due_30_march": 2, "phase_transfers_met": 2,
                 "phase_transfers_met_on_time": (1, 4), "phase_transfers_pending": 1,
                 "phase_transfers_overdue": 1, "phase_transfers_at_risk": 2}, "round 2027 in March")
        # April's board sees the next round (2028): nothing yet.
        d.cli("clock", "set", "2027-04-01T12:00")
        r = d.cli("report", "--board", "operations", "--period", "2027-04", json=True)
        eq(figures(r["data"])["phase_transfers_due"]["value"], 0, "round 2028")
        assert "2028" in [s for s in r["data"]["sections"] if s["id"] == "phase-transfers"][0]["title"]




def packs(db):
    """The board packs in the outbox: [(idem_key, as_on of its figures)]."""
    rows = db.sql("SELECT idem_key, payload->'data'->>'as_on' FROM outbox"
                  " WHERE kind = 'board_pack' ORDER BY idem_key").splitlines()
    return [tuple(r.split("|")) for r in rows]


def pack_keys(board, period, strategic=False):
    who = [("hos", "command"), ("hos", "email")] + ([] if strategic else [("mk", "email")])
    return ["board:%s:%s:%s:%s" % (board, period, p, ch) for p, ch in who]


@test
def board_packs_are_queued_on_the_first_working_day_once_per_member_and_channel():
    wf = workflows()
    # Friday 2026-10-30 is no month's first working day: no pack.
    with Database() as db, Daemon(db, clock="2026-10-30T09:00", workflows=wf) as d, \
            d.client() as c:
        c.ok({"op": "case_open", "case": "Q1"})
        c.ok({"op": "start", "case": "Q1", "workflow": ASSESS, "on": "2026-10-01"})
        c.ok({"op": "clock_set", "to": "2026-10-31T09:00"})
        # Monday 2026-11-02 is November's first working day (the 1st is a Sunday): the
        # operations pack for October, to mk (e-mail) and hos (e-mail and command), as on
        # 2026-10-31.
        c.ok({"op": "clock_set", "to": "2026-11-02T08:00"})
        want = [(k, "2026-10-31") for k in pack_keys("operations", "2026-10")]
        wait_for(lambda: len(packs(db)) >= 3, 30, "October's operations pack")
        c.ok({"op": "clock_set", "to": "2026-11-02T15:00"})  # the same day again: nothing new
        c.ok({"op": "clock_set", "to": "2026-11-03T09:00"})  # nor the next day
        c.ok({"op": "ping"})
        eq(packs(db), want, "October's pack, once")
        rows = db.sql("SELECT idem_key, channel, target, subject, split_part(body, E'\\n', 1),"
                      " payload->>'kind', payload->>'board', payload->>'period',"
                      " left(payload->>'html', 15)"
                      " FROM outbox WHERE kind = 'board_pack' ORDER BY idem_key").splitlines()
        common = ["SEND operational board pack: October 2026", "SEND operational board: October 2026",
                  "board_pack", "operations", "2026-10", "<!DOCTYPE html>"]
        eq([r.split("|") for r in rows],
           [["board:operations:2026-10:hos:command", "command", "archive"] + common,
            ["board:operations:2026-10:hos:email", "email", "hos@example.org"] + common,
            ["board:operations:2026-10:mk:email", "email", "mk@example.org"] + common],
           "outbox rows")
        # The figures in the pack are the report's: the request received on 2026-10-01.
        eq(db.sql("SELECT DISTINCT payload->'data'->'sections'->0->'figures'->0->>'value'"
                  " FROM outbox WHERE kind = 'board_pack'").strip(), "1", "pack figures")
        # Queueing it again by hand queues nothing new, and says so.
        req = {"op": "report", "board": "operations", "period": "2026-10", "queue": True}
        r = c.ok(req)
        eq((r["queued"], r["already_queued"]), (0, 3), "queued again by hand")
        eq(sorted((x["person"], x["channel"], x["target"], x["queued"]) for x in r["recipients"]),
           [("hos", "command", "archive", False), ("hos", "email", "hos@example.org", False),
            ("mk", "email", "mk@example.org", False)], "recipients")
        # A pack asked for by hand: queued once, however often asked.
        req["period"] = "2026-09"
        eq((c.ok(req)["queued"], c.ok(req)["queued"]), (3, 0), "September's pack by hand")
        # Tuesday 2026-12-01: November's pack. Monday 2027-01-04 (the 1st is New Year's Day):
        # December's, and the strategic board's for Q4 (to hos only).
        c.ok({"op": "clock_set", "to": "2026-12-01T09:00"})
        wait_for(lambda: len(packs(db)) >= 9, 30, "November's pack")
        c.ok({"op": "clock_set", "to": "2027-01-04T09:00"})
        wait_for(lambda: len(packs(db)) >= 14, 30, "December's and Q4's packs")
        c.ok({"op": "ping"})
        eq(packs(db),
           sorted(want + [(k, "2026-09-30") for k in pack_keys("operations", "2026-09")] +
                  [(k, "2026-11-30") for k in pack_keys("operations", "2026-11")] +
                  [(k, "2026-12-31") for k in pack_keys("operations", "2026-12")] +
                  [(k, "2026-12-31") for k in pack_keys("strategic", "2026-Q4", True)]),
           "every pack once")
        eq(db.sql("SELECT DISTINCT subject FROM outbox WHERE idem_key LIKE 'board:strategic:%'").strip(),
           "SEND strategic partnership board pack: Q4 2026 (October to December)", "Q4 subject")
        # The CLI says what --queue did.
        out = os.path.join(tempdir(), "q4.txt")
        rc, stdout, _ = d.cli("report", "--board", "strategic", "--period", "2026-Q4", "--queue",
                              "--output", out)
        assert "board pack strategic 2026-Q4: 0 notices queued now, 2 queued before" in stdout, stdout
        assert open(out).read().startswith("SEND strategic partnership board: Q4 2026")


@test
def bad_report_requests_are_refused():
    with Database() as db, Daemon(db, clock="2026-11-15T09:00") as d, d.client() as c:
        c.error({"op": "report", "period": "2026-10"}, "bad_request")
        c.error({"op": "report", "board": "finance", "period": "2026-10"}, "bad_request")
        c.error({"op": "report", "board": "operations", "period": "2026-Q3"}, "bad_request")
        c.error({"op": "report", "board": "strategic", "period": "2026-10"}, "bad_request")
        c.error({"op": "report", "board": "operations", "period": "2026-13"}, "bad_request")
        c.error({"op": "report", "board": "operations", "period": "2026-10", "format": "pdf"},
                "bad_request")
        c.error({"op": "report", "board": "operations", "period": "2026-10", "queue": "yes"},
                "bad_request")
        r = c.error({"op": "report", "board": "operations", "period": "2026-12"}, "bad_date")
        assert "has not started" in r["error"]["message"], r
        # The month running is judged as on today; an empty database gives zeros, not errors.
        r = c.ok({"op": "report", "board": "operations", "period": "2026-11", "format": "csv"})
        eq((r["as_on"], r["content"].splitlines()[1]),
           ("2026-11-15", "requests,assessment_requests_received,0,,"), "empty month")
        # The CLI checks what it can before asking.
        for argv in (["report"], ["report", "--board", "operations"],
                     ["report", "--board", "strategic", "--period", "2026-11"],
                     ["report", "--board", "operations", "--period", "2026-11", "--format", "pdf"]):
            rc, _, err = d.cli(*argv, check=False)
            eq(rc, 2, "exit status of sendflow %s" % " ".join(argv))


main()
