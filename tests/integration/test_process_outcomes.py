"""The other ways an assessment ends, exceptions, late events and the annual
review cycle, through the socket on a simulated clock."""
import glob
import os
import shutil

from sfharness import (test, main, Database, Daemon, deadline, process, eq, tempdir,
                       WORKFLOWS_DIR)

CLOCK = "2026-06-01T09:00"


def dl_status(show, workflow=None):
    procs = [p for p in show["processes"] if workflow is None or p["workflow"] == workflow]
    return {d["name"]: d["status"] for p in procs for d in p["deadlines"]}


def setup(c, ref, on="2026-01-05"):
    c.ok({"op": "case_open", "case": ref})
    c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": on})


def ev(c, ref, type, on, **attrs):
    return c.ok({"op": "event", "case": ref, "type": type, "on": on, "attrs": attrs})


@test
def outcomes_exceptions_and_the_review_cycle():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        # Decided not to assess: completed; the plan deadlines no longer apply.
        setup(c, "C-NO")
        r = ev(c, "C-NO", "decision_to_assess", "2026-02-10", outcome="no")
        eq((r["process"]["status"], r["process"]["state"], r["process"]["ended_on"]),
           ("completed", "not_assessing", "2026-02-10"), "after outcome=no")
        eq(dl_status(c.ok({"op": "show", "case": "C-NO"})),
           {"decide_to_assess": "met", "notify_no_plan": "cancelled", "final_plan": "cancelled",
            # the decision is appealable: 10 Feb + 2 months = 10 Apr 2026, run by 1 June,
            # and so has reg. 33's time to contact the mediation adviser (the same date)
            "appeal_window": "met", "mediation_contact": "met"}, "C-NO")

        # Withdrawn: cancelled, every open deadline cancelled.
        setup(c, "C-WD")
        r = ev(c, "C-WD", "withdrawn", "2026-01-20")
        eq((r["process"]["status"], r["process"]["ended_on"]), ("cancelled", "2026-01-20"), "withdrawn")
        eq(set(dl_status(c.ok({"op": "show", "case": "C-WD"})).values()), {"cancelled"}, "C-WD deadlines")

        # Decision not to issue a plan after assessing: notify_no_plan met.
        setup(c, "C-NI")
        ev(c, "C-NI", "decision_to_assess", "2026-02-10", outcome="yes")
        ev(c, "C-NI", "decision_not_to_issue", "2026-04-20")
        show = c.ok({"op": "show", "case": "C-NI"})
        eq(process(show, "ehcp-assessment")["state"], "no_plan", "state")
        # 20 Apr + 2 months = Sat 20 Jun 2026 -> Mon 22 Jun (r. 12(2)): still open on 1 June;
        # reg. 33's Sat 20 Jun (not moved) too.
        eq(dl_status(show), {"decide_to_assess": "met", "notify_no_plan": "met", "final_plan": "cancelled",
                             "appeal_window": "pending", "mediation_contact": "pending"}, "C-NI")

        # An exception (a school closure of at least 4 weeks, reg. 10(4)(a)) over the due
        # date excuses a late decision; a shorter one does not (C-EX3 below).
        setup(c, "C-EX")
        ev(c, "C-EX", "exception_started", "2026-02-01", reason="school_closure")
        ev(c, "C-EX", "exception_ended", "2026-03-01", reason="school_closure")
        ev(c, "C-EX", "decision_to_assess", "2026-02-27", outcome="yes")
        dl = deadline(c.ok({"op": "show", "case": "C-EX"}), "decide_to_assess")
        eq(dl["status"], "excused", "late decision during a school closure")
        assert dl["note"] and "school_closure" in dl["note"], "excused without a note: %s" % dl
        # ... but not by an exception that the deadline's excused_by does not list
        # (the workflow allows missed_appointment for advice only).
        setup(c, "C-EX2")
        ev(c, "C-EX2", "exception_started", "2026-02-01", reason="missed_appointment")
        ev(c, "C-EX2", "exception_ended", "2026-02-25", reason="missed_appointment")
        ev(c, "C-EX2", "decision_to_assess", "2026-02-27", outcome="yes")
        eq(deadline(c.ok({"op": "show", "case": "C-EX2"}), "decide_to_assess")["status"], "late",
           "late decision during a missed-appointment exception")
        # ... nor by a closure shorter than 4 weeks: the note says why it does not count.
        setup(c, "C-EX3")
        ev(c, "C-EX3", "exception_started", "2026-02-01", reason="school_closure")
        ev(c, "C-EX3", "exception_ended", "2026-02-25", reason="school_closure")
        ev(c, "C-EX3", "decision_to_assess", "2026-02-27", outcome="yes")
        dl = deadline(c.ok({"op": "show", "case": "C-EX3"}), "decide_to_assess")
        eq(dl["status"], "late", "late decision during a 25-day closure")
        assert dl["note"] and "4 weeks" in dl["note"], "no reason why it is not excused: %s" % dl

        # Final plan, then a late event dated while the assessment ran goes to it.
        setup(c, "C-LT")
        ev(c, "C-LT", "decision_to_assess", "2026-02-10", outcome="yes")
        ev(c, "C-LT", "advice_requested", "2026-02-11", **{"from": "psychology"})
        ev(c, "C-LT", "draft_plan_issued", "2026-04-01")
        r = ev(c, "C-LT", "final_plan_issued", "2026-05-20")
        eq([p["workflow"] for p in r["started"]], ["annual-review"], "started by the final plan")
        r = ev(c, "C-LT", "advice_received", "2026-03-02", **{"from": "psychology"})
        eq((r["process"]["workflow"], r["process"]["status"]), ("ehcp-assessment", "completed"),
           "a late event's process")
        eq(deadline(c.ok({"op": "show", "case": "C-LT"}), "advice_psychology")["status"], "met",
           "advice met by the late event")
        # Holding the review meeting completes this cycle and starts the next.
        r = ev(c, "C-LT", "review_meeting_held", "2026-05-28")
        eq([p["workflow"] for p in r["started"]], ["annual-review"], "started by the meeting")
        show = c.ok({"op": "show", "case": "C-LT"})
        cycles = sorted((p["started_on"], p["status"]) for p in show["processes"]
                        if p["workflow"] == "annual-review")
        eq(cycles, [("2026-05-20", "completed"), ("2026-05-28", "active")], "review cycles")
        dl = deadline(show, "review_meeting", workflow="annual-review")
        eq((dl["due"], dl["status"]), ("2027-05-27", "pending"), "next review")
        # The cycle the meeting started holds the steps after it: report in 2 weeks
        # (2026-06-11), decision in 4 (2026-06-25), and the Devon 12 weeks (2026-08-20).
        nxt = [p for p in show["processes"] if p["started_on"] == "2026-05-28"][0]
        eq({d["name"]: d["due"] for d in nxt["deadlines"]},
           {"review_meeting": "2027-05-27", "review_report": "2026-06-11",
            "review_decision": "2026-06-25", "amended_plan_devon": "2026-08-20"},
           "steps after the meeting")
        c.ok({"op": "clock_set", "to": "2026-06-20T12:00"})
        ev(c, "C-LT", "review_report_received", "2026-06-05")
        ev(c, "C-LT", "review_decision", "2026-06-20", outcome="maintain")
        # A year on, the review is overdue; the rest was met or no longer applies.
        c.ok({"op": "clock_set", "to": "2027-05-28T00:00"})
        items = c.ok({"op": "due", "overdue": True})["items"]
        eq([(i["case"], i["deadline"], i["days"]) for i in items if i["case"] == "C-LT"],
           [("C-LT", "review_meeting", -1)], "overdue review")


@test
def a_retried_final_plan_replies_with_the_review_it_started():
    """A retry with the same key gets the same answer as the first post,
    including the annual review the final plan started; a later event never
    claims to have started a process that already existed."""
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-RT")
        ev(c, "C-RT", "decision_to_assess", "2026-02-10", outcome="yes")
        ev(c, "C-RT", "draft_plan_issued", "2026-04-01")
        first = c.ok({"op": "event", "case": "C-RT", "type": "final_plan_issued",
                      "on": "2026-05-01", "key": "hub-1"})
        eq([p["workflow"] for p in first["started"]], ["annual-review"], "first post")
        again = c.ok({"op": "event", "case": "C-RT", "type": "final_plan_issued",
                      "on": "2026-05-01", "key": "hub-1"})
        eq(again["duplicate"], True, "duplicate")
        eq([p["id"] for p in again["started"]], [first["started"][0]["id"]], "same review")
        # A late advice_received on the ended assessment starts nothing.
        r = c.ok({"op": "event", "case": "C-RT", "type": "advice_received", "on": "2026-03-01",
                  "attrs": {"from": "health"}})
        eq(r["process"]["workflow"], "ehcp-assessment", "late event's process")
        eq(r["started"], [], "nothing new started")


@test
def a_late_event_goes_to_the_review_cycle_whose_dates_hold_it():
    """Two annual-review cycles: the first ended with its meeting on
    2026-01-10, the second runs from then. An event dated in the first cycle
    goes to it (and is refused there, the cycle having ended with its
    meeting), not to the second, where it would predate the start."""
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-AR"})
        first = c.ok({"op": "start", "case": "C-AR", "workflow": "annual-review",
                      "on": "2025-03-10"})["process"]
        r = ev(c, "C-AR", "review_meeting_held", "2026-01-10")
        second = r["started"][0]
        err = c.error({"op": "event", "case": "C-AR", "type": "plan_ceased", "on": "2025-12-01"},
                      "not_allowed")
        assert "2026-01-10" in err["error"]["message"], err
        r = ev(c, "C-AR", "plan_ceased", "2026-02-01")
        eq(r["process"]["id"], second["id"], "the current cycle takes a current event")
        assert first["id"] != second["id"]


MEDIATION = """\
workflow: mediation
version: 1
title: mediation (test only)
start:
  label: mediation requested
states:
  open: {initial: true}
  closed: {final: cancelled}
events:
  withdrawn:
    transitions: [{from: any, to: closed}]
"""


@test
def an_event_two_active_processes_could_take_must_name_one():
    """With an assessment and a (test) mediation both active, "withdrawn"
    could end either: the daemon refuses to guess, and takes the event once
    the request names the process."""
    wdir = os.path.join(tempdir(), "workflows")
    os.mkdir(wdir)
    for f in glob.glob(os.path.join(WORKFLOWS_DIR, "*.yaml")):
        shutil.copy(f, wdir)
    with open(os.path.join(wdir, "mediation.yaml"), "w") as f:
        f.write(MEDIATION)
    with Database() as db, Daemon(db, clock=CLOCK, workflows=wdir) as d, d.client() as c:
        setup(c, "C-AMB")
        med = c.ok({"op": "start", "case": "C-AMB", "workflow": "mediation",
                    "on": "2026-02-01"})["process"]
        r = c.error({"op": "event", "case": "C-AMB", "type": "withdrawn", "on": "2026-03-01"},
                    "ambiguous_process")
        assert med["id"] in r["error"]["message"], r
        show = c.ok({"op": "show", "case": "C-AMB"})
        eq(sorted(p["status"] for p in show["processes"]), ["active", "active"], "nothing changed")
        r = c.ok({"op": "event", "case": "C-AMB", "type": "withdrawn", "on": "2026-03-01",
                  "process": med["id"]})
        eq((r["process"]["workflow"], r["process"]["status"]), ("mediation", "cancelled"),
           "the named process took it")
        eq(process(c.ok({"op": "show", "case": "C-AMB"}), "ehcp-assessment")["status"], "active",
           "the assessment is untouched")


main()
