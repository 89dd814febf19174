"""Issue 10's processes through the real CLI on a simulated clock: appeals
(with a mediation certificate) and "cease refused while the appeal window is
open", re-assessment, Tribunal orders, transfers between authorities and
ceasing outside a review.

The law (shared reference "statutory-timescales", sections 2, 5-9):
- Tribunal r. 20(1)(c): appeal "within 2 months after" the notice, or 1 month
  after a mediation certificate if later; r. 12(3): one ending 25 Dec-1 Jan
  or in August runs to the first working day after; r. 12(2): a non-working
  day, to the next working day. CFA s. 45: the plan is kept until the window
  ends or an appeal is decided.
- Reg. 25(1): whether to re-assess within 15 days; reg. 27(2): 14 weeks.
- Reg. 44: an order to make a plan: draft 5 weeks, final 11 weeks. Reg. 42:
  a mediation agreement on an appealable matter runs under reg. 44's limits
  "as if" a Tribunal order, from the agreement's date (§6).
- Reg. 15(2): the plan transferred on the day of the move, or within 15
  working days beginning with the day the old authority became aware.
- Reg. 33: the family contacts the mediation adviser "within 2 months after"
  the notice (no r. 12: a SEND Regulations period); the authority tells the
  health commissioner within 3 working days of being told the family wants
  mediation with health issues (§6, NV). Reg. 16: the health commissioners'
  steps after a move (§8, NV), shown as periods.
"""
from sfharness import (test, main, Database, Daemon, eq)


def start(d, ref, workflow, on, *sets):
    args = ["start", ref, workflow, "--on", on]
    for s in sets:
        args += ["--set", s]
    return d.cli(*args, json=True)


def ev(d, ref, type, on, *sets, check=True):
    args = ["event", ref, type, "--on", on]
    for s in sets:
        args += ["--set", s]
    return d.cli(*args, json=True, check=check)


def dls(p):
    return {x["name"]: x for x in p["deadlines"]}


def proc(d, ref, workflow):
    ps = [p for p in d.cli("show", ref, json=True)["processes"] if p["workflow"] == workflow]
    return ps[-1]


@test
def cease_refused_while_the_appeal_window_is_open():
    with Database() as db, Daemon(db, clock="2025-10-29T10:00") as d:
        d.cli("case", "open", "C-AW")
        start(d, "C-AW", "annual-review", "2025-10-01", "started_after=review_meeting")
        # Decision to cease Wed 29 Oct 2025: 2 months -> 29 Dec, inside 25 Dec-1 Jan -> Fri 2 Jan 2026.
        p = ev(d, "C-AW", "review_decision", "2025-10-29", "outcome=cease")["process"]
        eq(dls(p)["appeal_window"]["due"], "2026-01-02", "window")
        d.cli("clock", "set", "2025-12-01T10:00")
        rc, out, err = d.cli("event", "C-AW", "plan_ceased", "--on", "2025-12-01", check=False)
        assert rc != 0, out
        assert "refused" in err and "appeal_window" in err and "2026-01-02" in err and \
            "s. 45" in err, err
        # A mediation certificate on Sat 29 Nov 2025: 1 month -> 29 Dec -> still Fri 2 Jan 2026.
        p = ev(d, "C-AW", "mediation_certificate_issued", "2025-11-29")["process"]
        aw = dls(p)["appeal_window"]
        eq(aw["due"], "2026-01-02", "window with the certificate")
        assert "mediation certificate issued on 2025-11-29" in aw["explain"], aw
        # An appeal lodged: the window ends, the appeal is pending: still refused.
        ev(d, "C-AW", "appeal_lodged", "2025-12-01")
        rc, out, err = d.cli("event", "C-AW", "plan_ceased", "--on", "2025-12-01", check=False)
        assert rc != 0 and "appeal against the decision to cease lodged" in err, (out, err)
        # Dismissed: the plan may now be ceased.
        d.cli("clock", "set", "2026-03-02T10:00")
        ev(d, "C-AW", "appeal_decided", "2026-03-02", "outcome=dismissed")
        p = ev(d, "C-AW", "plan_ceased", "2026-03-02")["process"]
        eq((p["status"], p["state"]), ("completed", "ceased"), "ceased after the appeal")

        # Outside a review: notice Fri 30 Oct 2026 -> 30 Dec -> Mon 4 Jan 2027.
        d.cli("clock", "set", "2026-10-30T10:00")
        d.cli("case", "open", "C-CP")
        start(d, "C-CP", "cease-plan", "2026-09-14", "ground=no_longer_needed")
        ev(d, "C-CP", "consulted", "2026-10-01")
        ev(d, "C-CP", "decision_to_cease", "2026-10-26", "outcome=cease")
        p = ev(d, "C-CP", "cease_notice_sent", "2026-10-30")["process"]
        eq(dls(p)["appeal_window"]["due"], "2027-01-04", "cease-plan window")
        d.cli("clock", "set", "2027-01-04T10:00")
        rc, out, err = d.cli("event", "C-CP", "plan_ceased", "--on", "2027-01-04", check=False)
        assert rc != 0 and "open until 2027-01-04" in err, (out, err)
        d.cli("clock", "set", "2027-01-05T10:00")
        p = ev(d, "C-CP", "plan_ceased", "2027-01-05")["process"]
        eq((p["status"], p["state"]), ("completed", "ceased"), "ceased after the window")


@test
def reassessment_tribunal_order_and_transfer():
    with Database() as db, Daemon(db, clock="2026-01-15T10:00") as d:
        d.cli("case", "open", "C-RA")
        # Request Mon 5 Jan 2026: decide by Tue 20 Jan; yes on 15 Jan: outcome by Thu 23 Apr.
        p = start(d, "C-RA", "reassessment", "2026-01-05")["process"]
        eq(dls(p)["decide_to_reassess"]["due"], "2026-01-20", "decide")
        p = ev(d, "C-RA", "decision_to_reassess", "2026-01-15", "outcome=yes")["process"]
        x = dls(p)["reassessment_outcome"]
        eq((x["due"], x["basis"]), ("2026-04-23", "SEND Regulations 2014, reg. 27(2) (exceptions reg. 27(3))"),
           "outcome")

        # An order to make a plan, sent Fri 30 Jan 2026: draft Fri 6 Mar, final Fri 17 Apr.
        d.cli("clock", "set", "2026-01-30T10:00")
        d.cli("case", "open", "C-TO")
        p = start(d, "C-TO", "tribunal-order", "2026-01-30", "order=make_plan")["process"]
        eq({k: v["due"] for k, v in dls(p).items()},
           {"draft_plan": "2026-03-06", "final_plan": "2026-04-17"}, "order deadlines")
        d.cli("clock", "set", "2026-03-05T10:00")
        ev(d, "C-TO", "draft_plan_issued", "2026-03-05")
        d.cli("clock", "set", "2026-04-16T10:00")
        r = ev(d, "C-TO", "final_plan_issued", "2026-04-16")
        p = r["process"]
        eq((p["status"], {k: v["status"] for k, v in dls(p).items()}),
           ("completed", {"draft_plan": "met", "final_plan": "met"}), "order carried out")
        # The plan's annual review starts on its date, holding its appeal window.
        eq([(s["workflow"], s["started_on"], s["attrs"]) for s in r["started"]],
           [("annual-review", "2026-04-16", {"started_after": "plan_issued"})], "review started")
        eq(dls(r["started"][0])["review_meeting"]["due"], "2027-04-15", "first review")
        out = d.cli("workflows")[1]
        for w in ("reassessment", "tribunal-order", "la-transfer", "cease-plan"):
            assert w in out, out

        # Aware Mon 15 Dec 2025 of a move on 20 Dec: the 15th working day, Wed 7 Jan 2026.
        d.cli("case", "open", "C-LT")
        p = start(d, "C-LT", "la-transfer", "2025-12-15", "move_date=2025-12-20",
                  "last_review=2025-06-01")["process"]
        eq(dls(p)["transfer_plan"]["due"], "2026-01-07", "transfer")
        p = ev(d, "C-LT", "plan_transferred", "2026-01-06")["process"]
        x = dls(p)
        eq((x["transfer_plan"]["status"], x["inform_family"]["due"], x["transfer_review"]["due"]),
           ("met", "2026-02-17", "2026-05-31"), "after the transfer")


B42 = "SEND Regulations 2014, reg. 42 (the periods of reg. 44; paragraph not checked)"


@test
def mediation_agreement_on_an_appealable_matter_runs_as_an_order():
    with Database() as db, Daemon(db, clock="2026-01-30T10:00") as d:
        d.cli("case", "open", "C-MA")
        # Agreed Fri 30 Jan 2026 to make a plan: draft 30 Jan + 35 = Fri 6 Mar, final + 77 = Fri
        # 17 Apr, as an order's, but under reg. 42 and anchored on the agreement.
        start(d, "C-MA", "tribunal-order", "2026-01-30", "order=make_plan", "kind=mediation")
        p = proc(d, "C-MA", "tribunal-order")
        eq((p["version"], p["attrs"]), (2, {"order": "make_plan", "kind": "mediation"}), "process")
        x = dls(p)
        eq({k: (v["due"], v["basis"]) for k, v in x.items()},
           {"draft_plan": ("2026-03-06", B42), "final_plan": ("2026-04-17", B42)}, "deadlines")
        assert "5 weeks from mediation agreement on 2026-01-30" in x["draft_plan"]["explain"], x
        assert "order sent" not in x["draft_plan"]["explain"], x
        # An order sent the same day keeps reg. 44 and its anchor.
        d.cli("case", "open", "C-MO")
        start(d, "C-MO", "tribunal-order", "2026-01-30", "order=make_plan")
        x = dls(proc(d, "C-MO", "tribunal-order"))
        eq((x["draft_plan"]["due"], x["draft_plan"]["basis"]),
           ("2026-03-06", "SEND Regulations 2014, reg. 44"), "the order's draft")
        assert "order sent on 2026-01-30" in x["draft_plan"]["explain"], x
        # Agreed Mon 22 Dec 2025 to name the school: 2 weeks -> Mon 5 Jan 2026, Christmas moving
        # nothing; the plan of 7 Jan is late.
        d.cli("case", "open", "C-MS")
        start(d, "C-MS", "tribunal-order", "2025-12-22", "order=name_school", "kind=mediation")
        p = ev(d, "C-MS", "amended_plan_issued", "2026-01-07")["process"]
        a = dls(p)["amended_plan"]
        eq((p["status"], a["due"], a["status"], a["basis"]),
           ("completed", "2026-01-05", "late", B42), "school named late")
        # A kind the workflow does not know is refused.
        rc, out, err = d.cli("start", "C-MS", "tribunal-order", "--on", "2026-01-30", "--set",
                             "order=amend", "--set", "kind=agreement", check=False)
        assert rc != 0 and "kind" in err, (out, err)


@test
def mediation_contact_health_commissioner_and_reg_16():
    with Database() as db, Daemon(db, clock="2025-10-31T10:00") as d:
        d.cli("case", "open", "C-MD")
        start(d, "C-MD", "ehcp-assessment", "2025-09-01")
        # Not to assess, Fri 31 Oct 2025: reg. 33 -> Wed 31 Dec 2025 (a period, not moved);
        # the appeal window's 31 Dec -> Fri 2 Jan 2026 (r. 12(3)).
        p = ev(d, "C-MD", "decision_to_assess", "2025-10-31", "outcome=no")["process"]
        mc, aw = dls(p)["mediation_contact"], dls(p)["appeal_window"]
        eq((mc["due"], mc["kind"], mc["basis"], aw["due"]),
           ("2025-12-31", "period", "SEND Regulations 2014, reg. 33", "2026-01-02"), "reg. 33")
        # Mediation asked Wed 31 Dec with health issues: Fri 2 (1), Mon 5 (2), Tue 6 Jan (3).
        d.cli("clock", "set", "2025-12-31T10:00")
        rc, out, err = d.cli("event", "C-MD", "mediation_requested", "--on", "2025-12-31",
                             "--set", "health=maybe", check=False)
        assert rc != 0 and "health" in err, (out, err)
        p = ev(d, "C-MD", "mediation_requested", "2025-12-31", "health=yes")["process"]
        hc = dls(p)["tell_health_commissioner"]
        eq((hc["due"], hc["kind"], hc["status"]), ("2026-01-06", "duty", "pending"), "health")
        # A mediation asked without health= (as every history before it): no such duty.
        d.cli("case", "open", "C-MD2")
        start(d, "C-MD2", "ehcp-assessment", "2025-09-01")
        ev(d, "C-MD2", "decision_to_assess", "2025-10-31", "outcome=no")
        p = ev(d, "C-MD2", "mediation_requested", "2025-12-31")["process"]
        assert "tell_health_commissioner" not in dls(p), dls(p)
        # The duty escalates (missed, still overdue; no at-risk level for 3 working days); the
        # family's period does not.
        esc = db.sql("SELECT e.deadline || ' ' || e.level || ' ' || e.fire_on FROM escalations e "
                     "JOIN cases c ON c.id = e.case_id WHERE c.ref = 'C-MD' "
                     "AND e.deadline IN ('tell_health_commissioner', 'mediation_contact') "
                     "ORDER BY e.fire_on").split()
        eq(" ".join(esc), "tell_health_commissioner missed 2026-01-07 "
           "tell_health_commissioner still_overdue 2026-01-20", "escalation levels")

        # Reg. 16, aware Mon 15 Dec 2025 of a move on Sat 20 Dec: the old ICB's notice has the
        # transfer's date, Wed 7 Jan 2026; told Mon 22 Dec, the new ICB's 15 working days
        # beginning with it run to Wed 14 Jan 2026 (25-26 Dec, 1 Jan skipped).
        d.cli("case", "open", "C-LT16")
        p = start(d, "C-LT16", "la-transfer", "2025-12-15", "move_date=2025-12-20",
                  "last_review=2025-06-01")["process"]
        eq((dls(p)["health_commissioner_notice"]["due"], dls(p)["health_commissioner_notice"]["kind"]),
           ("2026-01-07", "period"), "reg. 16 notice")
        d.cli("clock", "set", "2026-01-06T10:00")
        ev(d, "C-LT16", "health_commissioner_notified", "2025-12-22")
        p = ev(d, "C-LT16", "plan_transferred", "2026-01-06")["process"]
        x = dls(p)["health_commissioner_request"]
        eq((x["due"], x["kind"], dls(p)["health_commissioner_notice"]["status"]),
           ("2026-01-14", "period", "met"), "reg. 16 request")

        # The board on Tue 20 Jan 2026: the health duty is overdue (14 days), by its name; the
        # periods (reg. 33 run unmet on 31 Dec, reg. 16's) are not.
        d.cli("clock", "set", "2026-01-20T10:00")
        data = d.cli("report", "--board", "operations", "--period", "2026-01", json=True)["data"]
        fig = {f["id"]: f["value"] for sec in data["sections"] for f in sec["figures"]}
        eq(fig["overdue_total"], 1, "overdue total")
        eq(sorted(k for k in fig if k.startswith("overdue_") and fig[k] and
                  k not in ("overdue_total", "overdue_8_28_days")),
           ["overdue_tell_health_commissioner"], "overdue by deadline")


if __name__ == "__main__":
    main()
