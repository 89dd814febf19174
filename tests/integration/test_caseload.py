"""Caseloads (issue 11, item 1): case assign (audited; open escalations tell
the new officer), due --officer/--team/--mine, caseload per officer with the
unassigned first, and an unassigned case named so in show."""
import getpass
import json
import re

from sfharness import test, main, Database, Daemon, eq, wait_for

CLOCK = "2026-01-05T09:00"


def open_start(c, ref, **attrs):
    c.ok({"op": "case_open", "case": ref, "attrs": attrs})
    c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": "2026-01-05"})


def rows(db, query):
    return json.loads(db.sql("SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t" % query))


def due_cases(reply):
    return sorted((i["case"], i["officer"], i["team"]) for i in reply["items"])


@test
def due_lists_one_officers_or_one_teams_cases():
    me = getpass.getuser()  # the daemon's own user: --mine is the caller's user name
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        open_start(c, "C-JB", officer="jb", team="north")
        open_start(c, "C-SL", officer="sl", team="south")
        open_start(c, "C-ME", officer=me, team="north")
        open_start(c, "C-NONE")
        all_ = c.ok({"op": "due", "within": 60})
        eq(due_cases(all_), [("C-JB", "jb", "north"), ("C-ME", me, "north"),
                             ("C-NONE", None, None), ("C-SL", "sl", "south")], "every case")
        eq(due_cases(c.ok({"op": "due", "within": 60, "officer": "jb"})),
           [("C-JB", "jb", "north")], "officer jb")
        eq(due_cases(c.ok({"op": "due", "within": 60, "team": "north"})),
           [("C-JB", "jb", "north"), ("C-ME", me, "north")], "team north")
        mine = c.ok({"op": "due", "within": 60, "mine": True})
        eq((due_cases(mine), mine["officer"]), ([("C-ME", me, "north")], me), "mine")
        eq(due_cases(c.ok({"op": "due", "within": 60, "officer": "jb", "team": "south"})), [],
           "officer and team both apply")
        # A page of one, then the next, keeps to the filter.
        p1 = c.ok({"op": "due", "within": 60, "team": "north", "limit": 1})
        p2 = c.ok({"op": "due", "within": 60, "team": "north", "limit": 1, "cursor": p1["next"]})
        eq(due_cases(p1) + due_cases(p2), [("C-JB", "jb", "north"), ("C-ME", me, "north")],
           "paged")
        c.error({"op": "due", "mine": True, "officer": "jb"}, "bad_request")
        c.error({"op": "due", "officer": "j b; DROP"}, "bad_request")
        # The CLI: an OFFICER column, "unassigned" for none, the filter in the heading.
        _, out, _ = d.cli("due", "--within", "60")
        assert "OFFICER" in out.splitlines()[1], out
        assert any(l.startswith("C-NONE") and "unassigned" in l for l in out.splitlines()), out
        _, out, _ = d.cli("due", "--within", "60", "--team", "north")
        assert ", team north" in out.splitlines()[0] and "C-SL" not in out, out
        doc = d.cli("due", "--within", "60", "--mine", json=True)
        eq([i["case"] for i in doc["items"]], ["C-ME"], "CLI --mine")
        rc, _, err = d.cli("due", "--mine", "--officer", "jb", check=False)
        eq(rc, 2, "--mine with --officer is a usage error")


@test
def caseload_counts_per_officer_with_the_unassigned_first():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        open_start(c, "C-1", officer="jb", team="north")
        open_start(c, "C-2", officer="jb", team="north")
        open_start(c, "C-3", officer="sl", team="south")
        open_start(c, "C-4")
        c.ok({"op": "start", "case": "C-1", "workflow": "annual-review", "on": "2025-03-10"})
        c.ok({"op": "case_open", "case": "C-CLOSED", "attrs": {"officer": "zz"}})  # no process
        # 2026-02-10: decide_to_assess (due 02-16) is due soon, nothing overdue yet.
        c.ok({"op": "clock_set", "to": "2026-02-10T09:00"})
        got = c.ok({"op": "caseload"})
        eq((got["today"], got["due_by"]), ("2026-02-10", "2026-02-24"), "10 working days")
        eq([o["officer"] for o in got["officers"]], [None, "jb", "sl"],
           "officers, the unassigned first; zz has no open process")
        jb = got["officers"][1]
        eq((jb["cases"], jb["open_processes"], jb["processes"], jb["teams"]),
           (2, 3, {"annual-review": 1, "ehcp-assessment": 2}, ["north"]), "jb's caseload")
        eq((jb["due_soon"], jb["overdue"]), (2, 0), "jb's decisions due on 02-16")
        # After the due date: overdue, and the missed escalations are open.
        c.ok({"op": "clock_set", "to": "2026-02-17T09:00"})
        wait_for(lambda: re.search(r"escalations: \d+ fired", d.stderr()), 10, "a firing")
        got = c.ok({"op": "caseload"})
        jb = got["officers"][1]
        eq((jb["overdue"], jb["escalations_open"] >= 2), (2, True), "jb overdue")
        north = c.ok({"op": "caseload", "team": "north"})
        eq([o["officer"] for o in north["officers"]], ["jb"], "team north")
        _, out, _ = d.cli("caseload")
        lines = out.splitlines()
        assert lines[1].split()[0] == "OFFICER" and lines[2].startswith("unassigned"), out
        assert "ehcp-assessment 2" in out and "annual-review 1" in out, out


@test
def assigning_a_case_is_audited_and_its_open_escalations_follow_it():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        open_start(c, "C-A", officer="jb", team="north")
        c.ok({"op": "clock_set", "to": "2026-02-17T09:00"})  # missed fires: jb and mk told
        wait_for(lambda: re.search(r"escalations: \d+ fired", d.stderr()), 10, "a firing")
        before = rows(db, "SELECT e.id, e.recipients FROM escalations e WHERE e.status = 'fired'"
                          " AND NOT e.superseded AND e.resolved_on IS NULL")
        eq(len(before), 1, "one open fired level (missed)")
        eq(sorted(r["person"] for r in before[0]["recipients"]), ["jb", "mk"], "told at firing")
        version = db.sql("SELECT version FROM cases WHERE ref = 'C-A'")

        r = c.ok({"op": "case_assign", "case": "C-A", "officer": "sl", "team": "south"})
        eq((r["case"], r["officer"], r["team"], r["was_officer"], r["was_team"], r["told"]),
           ("C-A", "sl", "south", "jb", "north", 1), "the reply: sl told (both roles now)")
        eq(json.loads(db.sql("SELECT attrs::text FROM cases WHERE ref = 'C-A'")),
           {"officer": "sl", "team": "south"}, "the case's attributes")
        assert db.sql("SELECT version FROM cases WHERE ref = 'C-A'") != version, "version moved"
        told = rows(db, "SELECT target, payload->>'recipient' AS who, (payload->>'reassigned')::bool"
                        " AS re FROM outbox WHERE kind = 'escalation' AND payload->>'recipient' = 'sl'")
        eq(told, [{"target": "sl@example.org", "who": "sl", "re": True}], "sl's notice")
        after = rows(db, "SELECT e.recipients FROM escalations e WHERE e.id = %d" % before[0]["id"])
        eq(sorted(r["person"] for r in after[0]["recipients"]), ["jb", "mk", "sl"],
           "recipients gain sl")
        # Again: nobody new to tell.
        eq(c.ok({"op": "case_assign", "case": "C-A", "officer": "sl"})["told"], 0, "again")
        # Audited, as a change.
        aud = rows(db, "SELECT op, case_ref, result FROM audit_log WHERE op = 'case_assign'"
                       " ORDER BY id")
        eq(aud, [{"op": "case_assign", "case_ref": "C-A", "result": "ok"}] * 2, "audit rows")
        # Refusals change nothing.
        c.error({"op": "case_assign", "case": "C-NO", "officer": "sl"}, "unknown_case")
        c.error({"op": "case_assign", "case": "C-A"}, "bad_request")
        c.error({"op": "case_assign", "case": "C-A", "officer": ""}, "bad_request")
        eq(json.loads(db.sql("SELECT attrs::text FROM cases WHERE ref = 'C-A'")),
           {"officer": "sl", "team": "south"}, "unchanged by the refusals")
        # The CLI, and show naming an unassigned case.
        _, out, _ = d.cli("case", "assign", "C-A", "--officer", "jb")
        assert "case C-A assigned to jb" in out and "was sl" in out, out
        c.ok({"op": "case_open", "case": "C-U"})
        _, out, _ = d.cli("show", "C-U")
        assert "unassigned" in out, out
        _, out, _ = d.cli("show", "C-A")
        assert "unassigned" not in out, out


@test
def the_team_manager_hears_of_an_unassigned_case():
    # escalations.yaml: "unassigned: [team_manager]": a level for the case officer of a
    # case nobody holds goes to the manager of its team (north: mk) instead.
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        open_start(c, "C-HELD", officer="jb", team="north")
        open_start(c, "C-FREE", team="north")
        c.ok({"op": "clock_set", "to": "2026-02-03T09:00"})  # at risk: to the case officer
        wait_for(lambda: len(rows(db, "SELECT id FROM escalations WHERE status = 'fired'")) == 2,
                 10, "both at-risk levels fired")
        told = rows(db, "SELECT c.ref, e.level, e.recipients FROM escalations e"
                        " JOIN cases c ON c.id = e.case_id WHERE e.status = 'fired' ORDER BY c.ref")
        eq([(t["ref"], t["level"], sorted(r["person"] for r in t["recipients"])) for t in told],
           [("C-FREE", "at_risk", ["mk"]), ("C-HELD", "at_risk", ["jb"])], "who was told")
        body = db.sql("SELECT body FROM outbox WHERE payload->>'case' = 'C-FREE'")
        assert "Officer: unassigned" in body and "Team: north" in body, body
        # Once assigned, the next level goes to the officer (and, for "missed", the manager).
        c.ok({"op": "case_assign", "case": "C-FREE", "officer": "sl"})
        c.ok({"op": "clock_set", "to": "2026-02-17T09:00"})
        wait_for(lambda: len(rows(db, "SELECT id FROM escalations WHERE status = 'fired'"
                                      " AND level = 'missed'")) == 2, 10, "missed fired")
        missed = rows(db, "SELECT e.recipients FROM escalations e JOIN cases c ON c.id = e.case_id"
                          " WHERE c.ref = 'C-FREE' AND e.level = 'missed' AND e.status = 'fired'")
        eq(sorted(r["person"] for r in missed[0]["recipients"]), ["mk", "sl"], "after assigning")


main()
