"""Caseload import and export (issue 11, items 2 and 3): every fault of a file
reported as "line N: reason" with nothing written (also across chunks), a dry
run that writes nothing and says what it would do, the same deadlines as the
same facts posted one by one, a second import that changes nothing, past
escalation levels recorded and not sent, and an export whose CSV imports into
an empty database to the same deadlines."""
import csv
import json
import os
import re

from sfharness import test, main, Database, Daemon, eq, wait_for, tempdir, SOURCE_DIR

CLOCK = "2026-01-05T09:00"
SAMPLE = os.path.join(SOURCE_DIR, "examples", "import-sample.csv")


def count(db, table):
    return int(db.sql("SELECT count(*) FROM %s" % table).strip())


def counts(db):
    return {t: count(db, t) for t in ("cases", "processes", "events", "deadlines", "escalations",
                                      "outbox")}


def sample_rows():
    with open(SAMPLE, newline="") as f:
        return list(csv.DictReader(f))


def write_csv(rows, header="case,on,what,dob,officer,team,set,key"):
    path = os.path.join(tempdir(), "import.csv")
    with open(path, "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(r + "\n")
    return path


def normal(show):
    """A show --json without what differs between two databases (ids, keys, statuses
    judged at the same clock stay)."""
    def strip(x):
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()
                    if k not in ("id", "parent", "key", "process", "by_event")}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x
    procs = sorted((strip(p) for p in show["processes"]),
                   key=lambda p: (p["workflow"], p["started_on"]))
    return {"case": show["case"], "processes": procs}


def post_by_hand(d, rows):
    """The sample's facts, posted one at a time through the CLI, in date order per case."""
    for r in sorted(rows, key=lambda r: (r["case"], r["what"] != "case", r["on"])):
        if r["what"] == "case":
            args = ["case", "open", r["case"]]
            if r["dob"]:
                args += ["--dob", r["dob"]]
            for k in ("officer", "team"):
                if r[k]:
                    args += ["--set", "%s=%s" % (k, r[k])]
        elif r["what"].startswith("start:"):
            args = ["start", r["case"], r["what"][6:], "--on", r["on"]]
        else:
            args = ["event", r["case"], r["what"], "--on", r["on"]]
        for pair in filter(None, r["set"].split(";")):
            args += ["--set", pair]
        d.cli(*args)


def shows(d, refs):
    return {ref: normal(d.cli("show", ref, json=True)) for ref in refs}


def settled(d, refs, nprocs):
    """Wait for the phase-transfer sweep (after the reply) to open what it opens: C-2001
    (born 2015) has its move to secondary school opened already."""
    wait_for(lambda: sum(len(d.cli("show", r, json=True)["processes"]) for r in refs) == nprocs,
             10, "%d processes" % nprocs)


@test
def every_fault_is_a_line_and_nothing_is_written():
    bad = write_csv([
        "G-1,2025-03-03,case,,jb,north,,",                     # 2: a good case
        "G-1,2025-03-03,start:ehcp-assessment,,,,,",           # 3
        "B-1,2025-03-03,case,,,,,",                            # 4
        "B-1,2025-03-03,start:no-such-workflow,,,,,",          # 5: unknown workflow
        "B-2,2025-03-03,start:ehcp-assessment,,,,,",           # 6: never opened
        "B-3,2025-03-03,case,,,,,",                            # 7
        "B-3,2025-03-03,start:ehcp-assessment,,,,,",           # 8
        "B-3,2025-04-10,decision_to_assess,,,,outcome=maybe,",  # 9: a value not allowed
        "B-4,2025-02-30,case,,,,,",                            # 10: not a date
        "B-5,2025-03-03,case,,,,notapair,",                    # 11: set without =
        "B-6,2030-01-01,case,,,,,",                            # 12: in the future
        "B-7,2025-03-03,case,,,,,,extra",                      # 13: one field too many
        "B-8,2025-03-03,case,,,,,",                            # 14
        "B-8,2025-03-10,review_meeting_held,,,,,",             # 15: no process takes it
    ])
    with Database() as db, Daemon(db, clock=CLOCK) as d:
        rc, out, err = d.cli("import", bad, check=False)
        eq(rc, 1, "refused")
        lines = [l for l in err.splitlines() if l.startswith("line ")]
        eq([int(re.match(r"line (\d+):", l).group(1)) for l in lines],
           [5, 6, 9, 10, 11, 12, 13, 15], "every fault, by line:\n" + err)
        assert "no-such-workflow" in lines[0] and "not in the database" in lines[1], err
        assert "outcome" in lines[2] and "not a real date" in lines[3], err
        assert "KEY=VALUE" in lines[4] and "future" in lines[5], err
        assert "9 fields, but the header has 8" in lines[6], err
        assert "review_meeting_held" in lines[7], err
        assert "nothing was written" in err, err
        eq(counts(db)["cases"], 0, "nothing written, not even the good case")
        rc, doc, _ = d.cli("import", bad, json=True, check=False)
        eq((rc, doc["valid"], doc["written"], len(doc["errors"])), (1, False, False, 8), "--json")
        eq(doc["errors"][0]["line"], 5, "--json errors carry the line")
        # A header without the required columns.
        rc, _, err = d.cli("import", write_csv(["X,2025-01-01"], header="ref,on"), check=False)
        assert rc == 1 and 'line 1: unknown column "ref"' in err and '"case" column' in err, err
        eq(counts(db)["cases"], 0, "still nothing")


@test
def a_fault_in_the_last_chunk_writes_nothing_of_the_first():
    """3,001 rows are sent in chunks (at most 1,000 rows each): every chunk is checked
    before any is written."""
    rows = []
    for i in range(1000):
        ref = "K-%04d" % i
        rows += ["%s,2025-09-01,case,,jb,north,," % ref,
                 "%s,2025-09-01,start:ehcp-assessment,,,,," % ref,
                 "%s,2025-10-01,decision_to_assess,,,,outcome=yes," % ref]
    rows.append("K-0999,2025-10-02,decision_to_assess,,,,outcome=yes,")  # 3002: not twice
    path = write_csv(rows)
    with Database() as db, Daemon(db, clock=CLOCK) as d:
        rc, _, err = d.cli("import", path, check=False, seconds=120)
        eq(rc, 1, "refused: " + err)
        assert re.search(r"^line 3002: ", err, re.M), err
        eq(counts(db)["cases"], 0, "no chunk written")
        # Without the fault: all of it, and a second run changes nothing.
        path = write_csv(rows[:-1])
        doc = d.cli("import", path, json=True, seconds=120)
        eq((doc["written"], doc["cases"], doc["processes"], doc["events"]),
           (True, {"new": 1000, "unchanged": 0}, 1000, 1000), "imported")
        # The current levels fire once the import has paused (the scheduler holds back
        # while it writes, bench/import): wait for them before counting.
        due = ("SELECT count(*) FROM escalations WHERE status = 'pending' AND fire_on <= '%s'"
               % CLOCK[:10])
        wait_for(lambda: int(db.sql(due).strip()) == 0, 30, "the current levels fired")
        assert count(db, "outbox") > 0, "the current levels were sent"
        before = counts(db)
        doc = d.cli("import", path, json=True, seconds=120)
        eq((doc["cases"], doc["processes"], doc["events"]),
           ({"new": 0, "unchanged": 1000}, 0, 0), "again")
        eq(counts(db), before, "nothing changed")


@test
def a_dry_run_writes_nothing_and_says_what_it_would_do():
    with Database() as db, Daemon(db, clock=CLOCK) as d:
        _, out, _ = d.cli("import", SAMPLE, "--dry-run")
        assert out.startswith("Would import 16 rows: open 4 cases, start 6 processes"), out
        assert "record 8 events" in out and "Nothing was written (dry run)" in out, out
        doc = d.cli("import", SAMPLE, "--dry-run", json=True)
        eq((doc["dry_run"], doc["valid"], doc["written"], doc["cases"]["new"]),
           (True, True, False, 4), "--json")
        eq(counts(db), {"cases": 0, "processes": 0, "events": 0, "deadlines": 0,
                        "escalations": 0, "outbox": 0}, "nothing written")
        eq(count(db, "audit_log"), 0, "a dry run reads only: not audited")


@test
def an_import_gives_the_deadlines_of_the_same_facts_posted_one_by_one():
    rows = sample_rows()
    refs = sorted({r["case"] for r in rows})
    with Database() as db_a, Daemon(db_a, clock=CLOCK) as a, \
            Database() as db_b, Daemon(db_b, clock=CLOCK) as b:
        _, out, _ = a.cli("import", SAMPLE)
        assert out.startswith("Imported 16 rows: opened 4 cases, started 6 processes"), out
        post_by_hand(b, rows)
        settled(a, refs, 7)  # one phase transfer opened by the sweep
        settled(b, refs, 7)
        got, want = shows(a, refs), shows(b, refs)
        for ref in refs:
            eq(got[ref], want[ref], "case %s as imported and as posted" % ref)
        # The audit trail names the caller, one row per case imported.
        eq(int(db_a.sql("SELECT count(*) FROM audit_log WHERE op = 'import' AND result = 'ok'"
                        " AND case_ref IS NOT NULL").strip()), 4, "audited per case")
        # Again: nothing changes.
        before = counts(db_a)
        _, out, _ = a.cli("import", SAMPLE)
        assert "4 cases were already imported" in out, out
        eq(counts(db_a), before, "a second import changes nothing")
        eq(shows(a, refs), got, "nor any deadline")


@test
def levels_passed_before_the_import_are_recorded_not_sent():
    """C-2002's final plan (due 2025-10-20) was missed long before the import
    (2026-01-05): at risk and missed are recorded as fired, superseded, told nobody;
    only its current level (still overdue) is sent, once."""
    with Database() as db, Daemon(db, clock=CLOCK) as d:
        d.cli("import", SAMPLE)

        def fired():
            return json.loads(db.sql(
                "SELECT coalesce(json_agg(json_build_object('level', e.level, 'status', e.status,"
                " 'superseded', e.superseded, 'by', e.fired_by, 'n', jsonb_array_length("
                "coalesce(e.recipients, '[]'))) ORDER BY e.fire_on), '[]') FROM escalations e"
                " JOIN cases c ON c.id = e.case_id WHERE c.ref = 'C-2002'"
                " AND e.deadline = 'final_plan'"))
        wait_for(lambda: all(e["status"] == "fired" for e in fired()), 10, "the current level")
        levels = fired()
        eq([(e["level"], e["superseded"], e["by"] == "import") for e in levels],
           [("at_risk", True, True), ("missed", True, True), ("still_overdue", False, False)],
           "past levels historical, the current one fired by the daemon")
        assert levels[2]["n"] > 0, levels
        # Notices: only those of current levels; no open deadline has two levels sent.
        sent = json.loads(db.sql(
            "SELECT coalesce(json_agg(json_build_object('case', c.ref, 'deadline', e.deadline,"
            " 'level', e.level)), '[]') FROM (SELECT DISTINCT escalation_id FROM outbox"
            " WHERE kind = 'escalation') o JOIN escalations e ON e.id = o.escalation_id"
            " JOIN cases c ON c.id = e.case_id"))
        per_deadline = {}
        for s in sent:
            per_deadline.setdefault((s["case"], s["deadline"]), []).append(s["level"])
        eq(per_deadline[("C-2002", "final_plan")], ["still_overdue"], "one level sent")
        for k, v in per_deadline.items():
            eq(len(v), 1, "levels sent for %s" % (k,))
        eq(int(db.sql("SELECT count(*) FROM outbox o JOIN escalations e ON e.id = o.escalation_id"
                      " WHERE e.superseded").strip()), 0, "no notice for a historical level")
        # The listing shows them as historical: recorded, not sent.
        _, out, _ = d.cli("escalations")
        assert "historical: its day had passed before the caseload was imported" in out, out
        hist = [e for e in d.cli("escalations", json=True)["escalations"] if e["historical"]]
        # Historical: superseded by the current level of a deadline still open, or reached
        # before its deadline was met (or ended) and resolved on that day.
        assert hist and all(e["superseded"] != bool(e["resolved_on"]) for e in hist), hist
        # C-2001 decided to assess on 2025-04-10, inside its 6 weeks (due 2025-04-14): its
        # at-risk level (2025-03-31) had been reached, and is recorded, resolved, not sent.
        c1 = [(e["level"], e["fire_on"], e["resolved_on"], e["superseded"]) for e in hist
              if e["case"] == "C-2001" and e["deadline"] == "decide_to_assess"]
        eq(c1, [("at_risk", "2025-03-31", "2025-04-10", False)], "a level of a deadline met")
        opened = d.cli("escalations", "--open", json=True)["escalations"]
        assert not [e for e in opened if e["historical"] and e["resolved_on"]], opened


@test
def an_export_imports_into_an_empty_database_to_the_same_deadlines():
    rows = sample_rows()
    refs = sorted({r["case"] for r in rows})
    out_csv = os.path.join(tempdir(), "export.csv")
    out_json = os.path.join(tempdir(), "export.json")
    with Database() as db_a, Daemon(db_a, clock=CLOCK) as a, \
            Database() as db_b, Daemon(db_b, clock=CLOCK) as b:
        a.cli("import", SAMPLE)
        # More facts by hand, and one voided: the export carries what stands.
        a.cli("case", "open", "H-1", "--set", "officer=mk")
        a.cli("start", "H-1", "ehcp-assessment", "--on", "2025-11-03")
        doc = a.cli("event", "H-1", "decision_to_assess", "--on", "2025-11-20", "--set",
                    "outcome=no", json=True)
        a.cli("void", "H-1", doc["event"]["id"], "--reason", "posted on the wrong case")
        a.cli("event", "H-1", "decision_to_assess", "--on", "2025-11-21", "--set", "outcome=yes")
        refs.append("H-1")
        settled(a, refs, 8)
        _, out, _ = a.cli("export", "--output", out_csv)
        assert "Exported 5 cases" in out, out
        with open(out_csv) as f:
            text = f.read()
        assert text.startswith("case,on,what,dob,officer,team,set,key\n"), text
        assert "H-1,2025-11-20" not in text, "the voided event is not exported:\n" + text
        _, stdout_csv, _ = a.cli("export")
        eq(stdout_csv, text, "stdout and --output agree")
        b.cli("import", out_csv)
        settled(b, refs, 8)
        eq(shows(b, refs), shows(a, refs), "the same deadlines after the round trip")
        # JSON: every case with its processes (deadlines judged today) and events.
        a.cli("export", "--format", "json", "--output", out_json)
        with open(out_json) as f:
            exp = json.load(f)
        eq((exp["count"], exp["today"], [c["case"] for c in exp["cases"]]),
           (5, "2026-01-05", ["C-2001", "C-2002", "C-2003", "C-2004", "H-1"]), "json export")
        c1 = exp["cases"][0]
        eq((c1["dob"], c1["attrs"]), ("2015-06-14", {"officer": "jb", "team": "north"}), "case")
        p = c1["processes"][0]
        assert {"workflow", "status", "started_on", "deadlines"} <= set(p), p
        assert {"name", "due", "status", "basis", "explain"} <= set(p["deadlines"][0]), p
        assert {"type", "on", "attrs", "key", "voided"} <= set(c1["events"][0]), c1
        h1 = exp["cases"][4]
        eq([e["voided"] for e in h1["events"]], [True, False], "voided events marked")
        rc, _, err = a.cli("export", "--format", "xml", check=False)
        eq(rc, 2, "a format not known: " + err)


if __name__ == "__main__":
    main()
