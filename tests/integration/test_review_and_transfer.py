"""The annual review cycle, ceasing, the preparing-for-adulthood flag and
phase transfers through the real CLI (`sendflow ... --json` and text) on a
simulated clock.

The law (shared reference "statutory-timescales", sections 3, 4, 6 and 10):
- CFA 2014 s. 44(1): review "in the period of 12 months starting with" the
  plan's date (then the last review): the day before the anniversary.
- Regs. 20(3)-(4), 21(3)-(4): invitations and advice at least 2 weeks before
  the meeting; reg. 21(7): report within 2 weeks of it; decision within 4
  weeks; Devon: a decision to amend is met by the proposals, the final amended
  plan within 8 weeks of them (reg. 22(3)), 12 weeks from the meeting at most;
  15 days beginning with the day the proposals are served (reg. 22(2)(c)).
- A decision to cease opens the 2-month appeal window (Tribunal r. 20(1)(c));
  one ending in August, or from 25 December to 1 January, runs to the first
  working day after 31 August / 1 January (r. 12(3)).
- Reg. 21(6): from Year 9 the review considers preparation for adulthood.
- Reg. 18: before 15 February of the calendar year of a school transfer
  (14 February at the latest), before 31 March for secondary to post-16,
  at least 5 months before a move between post-16 institutions. The year of
  transfer comes from the date of birth: Reception in the September after
  the 4th birthday.
"""
import json
import time

from sfharness import (test, main, Database, Daemon, eq, one_line, wait_for, TestError)


def show(d, ref):
    return d.cli("show", ref, json=True)


def text(d, *args, **kw):
    return d.cli(*args, **kw)[1]


def start(d, ref, workflow, on, *sets, **kw):
    args = ["start", ref, workflow, "--on", on]
    for s in sets:
        args += ["--set", s]
    return d.cli(*args, json=True, **kw)


def ev(d, ref, type, on, *sets, actor="cw-ann"):
    args = ["event", ref, type, "--on", on]
    for s in sets:
        args += ["--set", s]
    return d.cli(*args, json=True, env={"SENDFLOW_ACTOR": actor})


def procs(sh, workflow, status=None):
    return [p for p in sh["processes"] if p["workflow"] == workflow and
            (status is None or p["status"] == status)]


def active(sh, workflow):
    ps = procs(sh, workflow, "active")
    if len(ps) != 1:
        raise TestError("expected one active %s, got %s" % (workflow, json.dumps(sh)[:3000]))
    return ps[0]


def dls(p):
    return {x["name"]: x for x in p["deadlines"]}


def dues(p):
    return {x["name"]: x["due"] for x in p["deadlines"]}


def status_of(p):
    return {x["name"]: x["status"] for x in p["deadlines"]}


def clock(d, to):
    d.cli("clock", "set", to)


@test
def the_annual_review_cycle():
    with Database() as db, Daemon(db, clock="2026-01-15T09:00") as d:
        d.cli("case", "open", "C-AR")
        r = start(d, "C-AR", "annual-review", "2025-03-10")
        p = r["process"]
        eq((p["status"], p["state"], p["started_on"]), ("active", "due", "2025-03-10"), "started")
        rm = dls(p)["review_meeting"]
        # 12 months starting with 10 March 2025: the last day is 9 March 2026.
        eq((rm["due"], rm["status"], rm["days"]), ("2026-03-09", "pending", 53), "review_meeting")
        eq(rm["basis"], "Children and Families Act 2014, s. 44(1)", "basis")
        assert "12 months beginning with" in rm["explain"] and "2025-03-10" in rm["explain"], rm
        out = text(d, "show", "C-AR")
        assert "review_meeting" in out and "2026-03-09 Mon" in out and "s. 44(1)" in out, out
        assert "12 months beginning with" in out, out

        # The meeting is scheduled for 20 February: invitations and advice 2 weeks before.
        r = ev(d, "C-AR", "review_meeting_scheduled", "2026-01-15", "date=2026-02-20")
        x = dls(r["process"])
        eq((x["invitations"]["due"], x["review_advice"]["due"]), ("2026-02-06", "2026-02-06"),
           "2 weeks before 2026-02-20")
        assert "2026-02-20" in x["invitations"]["explain"], x["invitations"]
        eq(x["invitations"]["basis"], "SEND Regulations 2014, regs. 20(3) and 21(3)", "basis")
        eq(x["review_advice"]["basis"], "SEND Regulations 2014, regs. 20(4) and 21(4)", "basis")
        # Rescheduled to 2 March: the latest date counts.
        clock(d, "2026-02-01T09:00")
        r = ev(d, "C-AR", "review_meeting_scheduled", "2026-02-01", "date=2026-03-02")
        x = dls(r["process"])
        eq((x["invitations"]["due"], x["review_advice"]["due"]), ("2026-02-16", "2026-02-16"),
           "2 weeks before 2026-03-02")
        assert "2026-03-02" in x["invitations"]["explain"], x["invitations"]
        clock(d, "2026-02-10T09:00")
        ev(d, "C-AR", "invitations_sent", "2026-02-10")
        clock(d, "2026-02-17T09:00")
        st = status_of(active(show(d, "C-AR"), "annual-review"))
        eq((st["invitations"], st["review_advice"], st["review_meeting"]),
           ("met", "overdue", "pending"), "on 2026-02-17")
        items = d.cli("due", "--overdue", json=True)["items"]
        eq([(i["case"], i["deadline"], i["days"]) for i in items],
           [("C-AR", "review_advice", -1)], "due --overdue")
        ev(d, "C-AR", "advice_circulated", "2026-02-17")

        # The meeting is held: this cycle ends, the next starts with the meeting.
        clock(d, "2026-03-02T15:00")
        r = ev(d, "C-AR", "review_meeting_held", "2026-03-02", actor="cw-bob")
        first = r["process"]
        eq((first["status"], first["state"], first["ended_on"]),
           ("completed", "reviewed", "2026-03-02"), "the first cycle")
        eq((dls(first)["review_meeting"]["status"], dls(first)["review_meeting"]["met_on"]),
           ("met", "2026-03-02"), "review met")
        eq(dls(first)["review_advice"]["status"], "late", "advice circulated late")
        eq(len(r["started"]), 1, "one cycle started")
        nxt = r["started"][0]
        eq((nxt["workflow"], nxt["status"], nxt["started_on"], nxt["attrs"]),
           ("annual-review", "active", "2026-03-02", {"started_after": "review_meeting"}),
           "the next cycle")
        # Report in 2 weeks, decision in 4, Devon's 12 weeks, the next review by the
        # day before the anniversary of the meeting.
        eq(dues(nxt), {"review_meeting": "2027-03-01", "review_report": "2026-03-16",
                       "review_decision": "2026-03-30", "amended_plan_devon": "2026-05-25"},
           "steps after the meeting")
        x = dls(nxt)
        eq(x["review_report"]["basis"].startswith("SEND Regulations 2014, reg. 21(7)"), True,
           x["review_report"]["basis"])
        assert "Devon" in x["review_decision"]["basis"], x["review_decision"]
        assert "12 weeks" in x["amended_plan_devon"]["explain"], x["amended_plan_devon"]
        out = text(d, "show", "C-AR")
        assert "started_after=review_meeting" in out and "2027-03-01" in out, out
        sh = show(d, "C-AR")
        eq(sorted((p["started_on"], p["status"]) for p in procs(sh, "annual-review")),
           [("2025-03-10", "completed"), ("2026-03-02", "active")], "cycles")

        clock(d, "2026-03-20T09:00")
        r = ev(d, "C-AR", "review_report_received", "2026-03-13")
        eq(r["process"]["id"], nxt["id"], "the report goes to the new cycle")
        eq(status_of(r["process"])["review_report"], "met", "report")
        # A decision to amend alone does not meet review_decision (Devon: the proposals do).
        r = ev(d, "C-AR", "review_decision", "2026-03-20", "outcome=amend")
        p = r["process"]
        eq(p["state"], "amending", "state after amend")
        x = dls(p)
        eq((x["review_decision"]["status"], x["review_decision"]["met_on"]), ("pending", None),
           "review_decision after outcome=amend")
        assert "amended_plan" not in x and "amendment_representations" not in x, x.keys()
        eq(x["amended_plan_devon"]["status"], "pending", "Devon 12 weeks")

        clock(d, "2026-03-25T09:00")
        r = ev(d, "C-AR", "amendment_proposed", "2026-03-25")
        x = dls(r["process"])
        eq((x["review_decision"]["status"], x["review_decision"]["met_on"]), ("met", "2026-03-25"),
           "review_decision met by the proposals")
        # 8 weeks from the proposals; 15 days beginning with the day they are served.
        eq((x["amended_plan"]["due"], x["amended_plan"]["kind"], x["amended_plan"]["status"]),
           ("2026-05-20", "duty", "pending"), "amended_plan")
        eq(x["amended_plan"]["basis"], "SEND Regulations 2014, reg. 22(3) and (4)", "basis")
        eq((x["amendment_representations"]["due"], x["amendment_representations"]["kind"],
            x["amendment_representations"]["status"]), ("2026-04-08", "period", "pending"),
           "amendment_representations")
        # The period runs: listed as due while it runs, never as overdue.
        items = d.cli("due", "--within", "14", json=True)["items"]
        assert ("C-AR", "amendment_representations") in [(i["case"], i["deadline"]) for i in items], items

        clock(d, "2026-05-10T09:00")
        r = ev(d, "C-AR", "amended_plan_issued", "2026-05-10")
        p = r["process"]
        eq((p["status"], p["state"]), ("active", "due"), "after the amended plan")
        x = dls(p)
        eq([(x[n]["status"], x[n]["met_on"]) for n in ("amended_plan", "amended_plan_devon")],
           [("met", "2026-05-10"), ("met", "2026-05-10")], "amended plan met both")
        eq(x["amendment_representations"]["status"], "met", "the 15 days have run")
        eq((x["review_meeting"]["due"], x["review_meeting"]["status"]), ("2027-03-01", "pending"),
           "the next review")
        eq(d.cli("due", "--overdue", json=True)["items"], [], "nothing overdue")

        # History: every start and event in order, with who did it.
        h = d.cli("history", "C-AR", json=True)["entries"]
        eq([(e["kind"], e.get("type") or e.get("workflow")) for e in h],
           [("start", "annual-review"), ("event", "review_meeting_scheduled"),
            ("event", "review_meeting_scheduled"), ("event", "invitations_sent"),
            ("event", "advice_circulated"), ("event", "review_meeting_held"),
            ("start", "annual-review"), ("event", "review_report_received"),
            ("event", "review_decision"), ("event", "amendment_proposed"),
            ("event", "amended_plan_issued")], "history")
        eq([e["actor"] for e in h if e["kind"] == "event"],
           ["cw-ann"] * 4 + ["cw-bob"] + ["cw-ann"] * 4, "event actors")
        eq((h[6]["actor"], h[6]["by_event"], h[6]["process"], h[6]["attrs"]),
           ("cw-bob", h[5]["id"], nxt["id"], {"started_after": "review_meeting"}),
           "the cycle started by the meeting: its event's actor")
        eq(h[8]["attrs"], {"outcome": "amend"}, "event attrs")
        out = text(d, "history", "C-AR")
        assert "cw-bob" in out and "review_meeting_held" in out and "started annual-review" in out, out


@test
def a_hand_start_records_its_actor_in_the_history():
    """`sendflow start` is a caseworker's act like `event`: the history
    should say who started the process (the daemon takes "actor" on start
    and lists it; $SENDFLOW_ACTOR, else the login name, as for events)."""
    with Database() as db, Daemon(db, clock="2026-01-15T09:00") as d:
        d.cli("case", "open", "C-ACT")
        d.cli("start", "C-ACT", "annual-review", "--on", "2025-03-10",
              env={"SENDFLOW_ACTOR": "cw-carol"})
        h = d.cli("history", "C-ACT", json=True)["entries"]
        eq([(e["kind"], e["actor"]) for e in h], [("start", "cw-carol")], "start's actor")


@test
def ceasing_opens_the_appeal_window():
    with Database() as db, Daemon(db, clock="2026-06-10T12:00") as d:
        # The last review meeting was on 20 May 2026: decision due 17 June.
        d.cli("case", "open", "C-CE")
        p = start(d, "C-CE", "annual-review", "2026-05-20", "started_after=review_meeting")["process"]
        eq(dues(p)["review_decision"], "2026-06-17", "decision due")
        r = ev(d, "C-CE", "review_decision", "2026-06-10", "outcome=cease")
        p = r["process"]
        eq((p["status"], p["state"]), ("active", "ceasing"), "ceasing")
        x = dls(p)
        eq((x["review_decision"]["status"], x["review_decision"]["met_on"]), ("met", "2026-06-10"),
           "a decision to cease meets the decision")
        eq(x["amended_plan_devon"]["status"], "cancelled", "no amendment after a cease")
        aw = x["appeal_window"]
        # 10 June + 2 months = 10 August: in August, so to the first working day after
        # 31 August 2026 (a Monday and the summer bank holiday): Tuesday 1 September.
        eq((aw["due"], aw["kind"], aw["status"]), ("2026-09-01", "period", "pending"), "appeal window")
        assert "r. 20(1)(c)" in aw["basis"] and "s. 45" in aw["basis"], aw
        assert "in August" in aw["explain"] and "2026-08-10" in aw["explain"] and \
            "first working day" in aw["explain"], aw
        out = text(d, "show", "C-CE")
        assert "appeal_window" in out and "2026-09-01 Tue" in out, out

        # Outside August and the Christmas week the window is the plain 2 months.
        d.cli("case", "open", "C-CE2")
        start(d, "C-CE2", "annual-review", "2026-03-20", "started_after=review_meeting")
        r = ev(d, "C-CE2", "review_decision", "2026-04-15", "outcome=cease")
        aw = dls(r["process"])["appeal_window"]
        eq(aw["due"], "2026-06-15", "2 months from 15 April")
        assert "August" not in aw["explain"], aw

        # One ending on another day that is not a working day runs to the next working
        # day (r. 12(2)): 14 April + 2 months = Sunday 14 June 2026 -> Monday 15 June.
        d.cli("case", "open", "C-CE4")
        start(d, "C-CE4", "annual-review", "2026-03-20", "started_after=review_meeting")
        aw = dls(ev(d, "C-CE4", "review_decision", "2026-04-14", "outcome=cease")["process"])["appeal_window"]
        eq(aw["due"], "2026-06-15", "2 months from 14 April, a Sunday")
        assert "2026-06-14" in aw["explain"] and "r. 12(2)" in aw["explain"], aw

        # The window runs while the plan is kept; after its last day it has run.
        clock(d, "2026-09-01T18:00")
        eq(status_of(active(show(d, "C-CE"), "annual-review"))["appeal_window"], "pending",
           "on its last day")
        items = d.cli("due", "--within", "0", json=True)["items"]
        eq([(i["case"], i["status"], i["days"]) for i in items if i["deadline"] == "appeal_window"],
           [("C-CE", "pending", 0)], "appeal windows running today (C-CE2's has run)")
        eq(status_of(active(show(d, "C-CE2"), "annual-review"))["appeal_window"], "met", "C-CE2")
        clock(d, "2026-09-02T09:00")
        eq(status_of(active(show(d, "C-CE"), "annual-review"))["appeal_window"], "met", "run")
        r = ev(d, "C-CE", "plan_ceased", "2026-09-02")
        eq((r["process"]["status"], r["process"]["state"], r["process"]["ended_on"]),
           ("completed", "ceased", "2026-09-02"), "ceased")

        # A window ending from 25 December to 1 January runs to the first working day
        # after 1 January: 28 October + 2 months = 28 December 2026 -> Monday 4 January 2027.
        clock(d, "2026-10-28T09:00")
        d.cli("case", "open", "C-CE3")
        start(d, "C-CE3", "annual-review", "2026-10-01", "started_after=review_meeting")
        aw = dls(ev(d, "C-CE3", "review_decision", "2026-10-28", "outcome=cease")["process"])["appeal_window"]
        eq(aw["due"], "2027-01-04", "over Christmas")
        assert "25 December" in aw["explain"], aw


@test
def preparing_for_adulthood_from_year_9():
    with Database() as db, Daemon(db, clock="2026-01-15T09:00") as d:
        # Born 31 August 2013: Reception September 2017, Year 9 from 1 September 2026.
        # Born a day later: Reception 2018, Year 9 from September 2027.
        d.cli("case", "open", "C-Y9", "--dob", "2013-08-31")
        d.cli("case", "open", "C-Y8", "--dob", "2013-09-01")
        d.cli("case", "open", "C-NODOB")
        for ref in ("C-Y9", "C-Y8", "C-NODOB"):
            start(d, ref, "annual-review", "2025-11-10")   # review due 2026-11-09
        sh = show(d, "C-Y9")
        p = active(sh, "annual-review")
        eq(dues(p)["review_meeting"], "2026-11-09", "review due")
        flags = p.get("flags")
        eq([f["name"] for f in flags or []], ["preparing_for_adulthood"], "flags of C-Y9")
        f = flags[0]
        assert "reg. 21(6)" in f["basis"], f
        for want in ("2026-11-09", "Year 9", "2026-09-01", "2013-08-31"):
            assert want in f["note"], (want, f)
        out = text(d, "show", "C-Y9")
        assert "flag: " in out and "preparing-for-adulthood" in out and "2026-09-01" in out, out
        # Not yet in Year 9 when the review falls due; no date of birth: no flag.
        for ref in ("C-Y8", "C-NODOB"):
            p = active(show(d, ref), "annual-review")
            eq(p.get("flags", []), [], "flags of %s" % ref)
            assert "flag:" not in text(d, "show", ref), ref
        # Held early, in Year 8 (before September 2026): the meeting was not a Year 9 review.
        ev(d, "C-Y9", "review_meeting_held", "2026-01-15")
        sh = show(d, "C-Y9")
        held = procs(sh, "annual-review", "completed")[0]
        eq(held.get("flags", []), [], "a Year 8 meeting")
        # The next cycle's review (due 2027-01-14) falls in Year 9.
        nxt = active(sh, "annual-review")
        eq([f["name"] for f in nxt.get("flags", [])], ["preparing_for_adulthood"], "next cycle")


def wait_transfer(d, ref, seconds=15):
    def opened():
        ps = procs(show(d, ref), "phase-transfer")
        return ps if ps else None
    return wait_for(opened, seconds, "the phase-transfer process of %s" % ref, interval=0.2)


@test
def phase_transfers_open_by_themselves_and_by_hand():
    with Database() as db, Daemon(db, clock="2026-06-01T09:00") as d:
        # Born 2 October 2015: Reception in September 2020, Year 7 in September 2027;
        # primary to secondary on 2027-09-01, its process opening 12 months before.
        d.cli("case", "open", "C-PT", "--dob", "2015-10-02")
        start(d, "C-PT", "annual-review", "2026-05-20")
        sh = show(d, "C-PT")
        eq([(t["transfer"], t["school_year"], t["date"], t["opens"], t["deadline"], t["process"])
            for t in sh["transfers"]],
           [("primary_to_secondary", "Year 7", "2027-09-01", "2026-09-01", "2027-02-14", None),
            ("secondary_to_post16", "Year 12", "2032-09-01", "2031-09-01", "2032-03-30", None)],
           "coming transfers")
        out = text(d, "show", "C-PT")
        assert "Coming phase transfers" in out and "not started" in out, out
        # Before the opening date nothing opens (the start's sweep has had its time).
        time.sleep(1)
        eq(procs(show(d, "C-PT"), "phase-transfer"), [], "nothing opened before 2026-09-01")

        # Moving the clock past the opening date opens it.
        clock(d, "2026-09-02T09:00")
        ps = wait_transfer(d, "C-PT")
        eq(len(ps), 1, "one phase transfer")
        p = ps[0]
        eq((p["status"], p["state"], p["started_on"], p["attrs"]),
           ("active", "open", "2026-09-01", {"transfer": "primary_to_secondary"}), "opened")
        pt = dls(p)["phase_transfer_plan"]
        eq((pt["due"], pt["status"]), ("2027-02-14", "pending"), "before 15 February 2027")
        eq(pt["basis"], "SEND Regulations 2014, reg. 18(1)(b)", "basis")
        assert "2015-10-02" in pt["explain"] and "Year 7" in pt["explain"] and \
            "2027-09-01" in pt["explain"], pt
        sh = show(d, "C-PT")
        eq([(t["transfer"], t["process"]) for t in sh["transfers"]],
           [("primary_to_secondary", p["id"]), ("secondary_to_post16", None)], "transfers")
        h = d.cli("history", "C-PT", json=True)["entries"]
        eq([(e["kind"], e["workflow"], e["actor"]) for e in h if e["kind"] == "start"][1:],
           [("start", "phase-transfer", "sendflowd (phase-transfer schedule)")], "who opened it")

        # With the clock past the opening date, a plan started for a child opens it at once.
        d.cli("case", "open", "C-PT2", "--dob", "2015-10-02")
        start(d, "C-PT2", "annual-review", "2026-07-01")
        p2 = wait_transfer(d, "C-PT2")[0]
        eq((p2["attrs"], dues(p2)), ({"transfer": "primary_to_secondary"},
                                     {"phase_transfer_plan": "2027-02-14"}), "C-PT2")
        # No plan (no annual review): listed, never opened. No date of birth: nothing listed.
        d.cli("case", "open", "C-NOPLAN", "--dob", "2015-10-02")
        d.cli("case", "open", "C-NODOB")
        start(d, "C-NODOB", "annual-review", "2026-07-01")
        clock(d, "2026-09-03T09:00")
        time.sleep(1)
        sh = show(d, "C-NOPLAN")
        eq(([t["process"] for t in sh["transfers"]], sh["processes"]), ([None, None], []), "no plan")
        assert "transfers" not in show(d, "C-NODOB"), show(d, "C-NODOB")
        # Each transfer opens once, whatever the sweeps.
        eq(int(db.sql("SELECT count(*) FROM processes WHERE workflow = 'phase-transfer'")), 2,
           "phase-transfer processes")

        # By hand: secondary to post-16 on a date given: before 31 March of 2027.
        d.cli("case", "open", "C2")
        r = start(d, "C2", "phase-transfer", "2026-09-03", "transfer=secondary_to_post16",
                  "transfer_date=2027-09-01")
        pt = dls(r["process"])["phase_transfer_plan"]
        eq((pt["due"], pt["basis"]), ("2027-03-30", "SEND Regulations 2014, reg. 18(1)(a)"),
           "secondary to post-16")
        # A move between post-16 institutions has no usual date: transfer_date is needed.
        d.cli("case", "open", "C3", "--dob", "2009-01-15")
        rc, out, err = d.cli("start", "C3", "phase-transfer", "--on", "2026-09-03",
                             "--set", "transfer=post16_to_post16", check=False)
        line = one_line(err, "post16_to_post16 without a date")
        eq(rc, 1, "exit status")
        assert line.startswith("sendflow: bad_attribute:") and "transfer_date" in line, line
        r = start(d, "C3", "phase-transfer", "2026-09-03", "transfer=post16_to_post16",
                  "transfer_date=2027-04-01")
        pt = dls(r["process"])["phase_transfer_plan"]
        eq((pt["due"], pt["basis"]), ("2026-11-01", "SEND Regulations 2014, reg. 18(2)"),
           "5 months before 2027-04-01")
        # Without a date of birth the transfer date cannot be worked out.
        d.cli("case", "open", "C4")
        rc, out, err = d.cli("start", "C4", "phase-transfer", "--on", "2026-09-03",
                             "--set", "transfer=primary_to_secondary", check=False)
        line = one_line(err, "no date of birth")
        eq(rc, 1, "exit status")
        assert line.startswith("sendflow: bad_attribute:") and "transfer_date" in line and \
            "date of birth" in line, line
        eq(show(d, "C4")["processes"], [], "nothing started for C4")

        # What if: on 2027-02-20 the two primary-to-secondary reviews would be overdue.
        r = d.cli("due", "--on", "2027-02-20", "--overdue", json=True)
        eq((r["today"], r["on"]), ("2026-09-03", "2027-02-20"), "what-if days")
        got = sorted((i["case"], i["deadline"], i["status"], i["days"]) for i in r["items"])
        want = [("C-PT", "phase_transfer_plan", "overdue", -6),
                ("C-PT2", "phase_transfer_plan", "overdue", -6),
                ("C3", "phase_transfer_plan", "overdue", -111)]
        eq(got, want, "due --on 2027-02-20 --overdue")
        eq(d.cli("due", "--overdue", json=True)["items"], [], "nothing overdue today")
        out = text(d, "due", "--on", "2027-02-20", "--overdue")
        assert "what-if" in out and "C-PT2" in out and "phase_transfer_plan" in out, out
        eq(d.cli("clock", json=True)["today"], "2026-09-03", "the clock did not move")

        # The amended plan naming the school settles the transfer. While the annual
        # review is not amending it cannot take that event: it goes to the transfer.
        r = ev(d, "C-PT", "amended_plan_issued", "2026-09-03")
        eq((r["process"]["id"], r["process"]["status"], r["process"]["state"]),
           (p["id"], "completed", "amended"), "the transfer took it")
        eq((status_of(r["process"])["phase_transfer_plan"]), "met", "reg. 18 met")
        eq(active(show(d, "C-PT"), "annual-review")["state"], "due", "the review is untouched")
        # While the review is amending, either could take it: the caseworker names one.
        ev(d, "C-PT2", "review_decision", "2026-09-03", "outcome=amend")
        rc, out, err = d.cli("event", "C-PT2", "amended_plan_issued", "--on", "2026-09-03",
                             check=False)
        eq(rc, 1, "ambiguous")
        line = one_line(err, "ambiguous")
        assert "ambiguous_process" in line and p2["id"] in line, line
        r = d.cli("event", "C-PT2", "amended_plan_issued", "--on", "2026-09-03",
                  "--process", p2["id"], json=True)
        eq((r["process"]["id"], r["process"]["state"]), (p2["id"], "amended"), "named process")
        eq(active(show(d, "C-PT2"), "annual-review")["state"], "amending", "review still amending")


main()
