"""Data protection (issue 9, item 4): `sendflow case export REF` gives
everything held about one child (a subject access request), audited like
show; with `--retention DAYS` the daemon purges, once a day on its clock, the
personal data of the cases whose processes all ended more than DAYS days ago,
and the board reports of past periods stay as they were (README, "Data we
hold").

The caseload, on a simulated clock (Europe/London dates):
  DP-PURGE-1  dob and attrs; an assessment received 2026-01-05, an exception
              (school closure) 01-20 to 01-26, a decision posted on a wrong
              day and voided, the decision late on 02-20 (due 02-16:
              missed in February's report), its escalation acknowledged,
              withdrawn 03-02. Purged with 30 days' retention on 05-01.
  DP-OPEN-1   an assessment received 2026-01-05, still active: kept.
  DP-RECENT-1 received 2026-01-12, withdrawn 04-20: ended 11 days before
              05-01, kept.
"""
import json

from sfharness import test, main, Database, Daemon, eq, wait_for, TestError

PURGE, OPEN, RECENT = "DP-PURGE-1", "DP-OPEN-1", "DP-RECENT-1"
ASSESS = "ehcp-assessment"
REPORTS = [("operations", "2026-01"), ("operations", "2026-02"), ("operations", "2026-03"),
           ("strategic", "2026-Q1")]


def at(d, day):
    """Move the simulated clock to day 09:00 if it is not there yet."""
    now = d.cli("clock", json=True)["now"]
    if now[:10] < day:
        d.cli("clock", "set", day + "T09:00")


def build(d):
    d.cli("case", "open", PURGE, "--dob", "2015-03-14", "--set", "officer=jo", "--set",
          "team=north")
    d.cli("case", "open", OPEN, "--set", "officer=jo")
    d.cli("case", "open", RECENT)
    at(d, "2026-01-05")
    d.cli("start", PURGE, ASSESS, "--on", "2026-01-05", "--key", "dp-purge-start")
    d.cli("start", OPEN, ASSESS, "--on", "2026-01-05")
    at(d, "2026-01-12")
    d.cli("start", RECENT, ASSESS, "--on", "2026-01-12")
    at(d, "2026-01-20")
    d.cli("event", PURGE, "exception_started", "--on", "2026-01-20", "--set",
          "reason=school_closure")
    at(d, "2026-01-26")
    d.cli("event", PURGE, "exception_ended", "--on", "2026-01-26", "--set",
          "reason=school_closure")
    at(d, "2026-02-17")
    wrong = d.cli("event", PURGE, "decision_to_assess", "--on", "2026-02-17", "--set",
                  "outcome=yes", json=True)
    d.cli("void", PURGE, wrong["event"]["id"], "--reason", "posted for the wrong child, Sam")
    at(d, "2026-02-20")
    d.cli("event", PURGE, "decision_to_assess", "--on", "2026-02-20", "--set", "outcome=yes",
          "--key", "dp-purge-decision")
    fired = [e for e in d.cli("escalations", json=True)["escalations"] if e["case"] == PURGE]
    if not fired:
        raise TestError("no escalation fired for %s's late decision" % PURGE)
    d.cli("ack", fired[0]["id"], "--note", "phoned the family about the delay")
    at(d, "2026-03-02")
    d.cli("event", PURGE, "withdrawn", "--on", "2026-03-02")
    at(d, "2026-04-20")
    d.cli("event", RECENT, "withdrawn", "--on", "2026-04-20")


def reports(d):
    """The JSON reports of REPORTS, without "today" (the day they were asked for)."""
    out = {}
    for b, p in REPORTS:
        doc = json.loads(d.cli("report", "--board", b, "--period", p, "--format", "json")[1])
        doc.pop("today")
        out[(b, p)] = doc
    return out


def renamed(doc, old, new):
    """doc with every string equal to old replaced by new."""
    if isinstance(doc, dict):
        return {k: renamed(v, old, new) for k, v in doc.items()}
    if isinstance(doc, list):
        return [renamed(v, old, new) for v in doc]
    return new if doc == old else doc


def listed_in_any_order(doc):
    """doc with the rows of each section's list sorted: the missed deadlines are listed by
    due date then case reference, so a purged case's new reference may move its row among
    those due the same day (README, "Data we hold")."""
    for sec in doc.get("sections", []):
        items = (sec.get("list") or {}).get("items")
        if isinstance(items, list):
            items.sort(key=lambda r: json.dumps(r, sort_keys=True))
    return doc


def first_difference(a, b, path="$"):
    """Where a and b first differ (a path and both values), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return "%s.%s: only in one" % (path, k)
            d = first_difference(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None if len(a) == len(b) else "%s: %d items, not %d" % (path, len(a), len(b))
    return None if a == b else "%s: %r, not %r" % (path, a, b)


def check_export(d):
    doc = d.cli("case", "export", PURGE, json=True)
    eq((doc["case"], doc["dob"], doc["attrs"]), (PURGE, "2015-03-14",
                                                 {"officer": "jo", "team": "north"}), "the case")
    eq([p["workflow"] for p in doc["processes"]], [ASSESS], "processes")
    p = doc["processes"][0]
    eq((p["status"], p["ended_on"], p["key"]), ("cancelled", "2026-03-02", "dp-purge-start"),
       "the process")
    if not any(dl["name"] == "decide_to_assess" for dl in p["deadlines"]):
        raise TestError("no deadlines in the export: %r" % p)
    types = [(e["type"], e["voided"]) for e in doc["events"]]
    eq(types, [("exception_started", False), ("exception_ended", False),
               ("decision_to_assess", True), ("decision_to_assess", False),
               ("withdrawn", False)], "every event, the voided one too")
    eq([v["reason"] for v in doc["voids"]], ["posted for the wrong child, Sam"], "the void")
    acks = [a["note"] for e in doc["escalations"] for a in e["acks"]]
    eq(acks, ["phoned the family about the delay"], "the acknowledgement")
    if not any(n["kind"] == "escalation" for n in doc["notices"]):
        raise TestError("no escalation notice in the export: %r" % doc["notices"])
    ops = [a["op"] for a in doc["audit"]]
    for op in ("case_open", "start", "event", "void", "ack"):
        if op not in ops:
            raise TestError("audit rows of the export lack %s: %r" % (op, ops))
    # Audited like show: a row for the export itself.
    rows = d.cli("audit", PURGE, json=True)["rows"]
    eq((rows[-1]["op"], rows[-1]["result"]), ("case_export", "ok"), "the export's audit row")
    # Only JSON, whatever --json says.
    _, out, _ = d.cli("case", "export", OPEN)
    eq(json.loads(out)["case"], OPEN, "the export without --json is JSON too")
    rc, _, err = d.cli("case", "export", "DP-NOBODY", check=False)
    if rc == 0 or "unknown_case" not in err and "no case" not in err:
        raise TestError("export of an unknown case: rc %d, %s" % (rc, err))


@test
def export_then_purge_keeps_the_reports():
    with Database() as db:
        with Daemon(db, clock="2026-01-02T09:00") as d:
            build(d)
            check_export(d)
            before = reports(d)
            if PURGE not in json.dumps(before[("operations", "2026-02")]):
                raise TestError("February's report should list %s's missed deadline" % PURGE)
        case_id = db.sql("SELECT id FROM cases WHERE ref = '%s'" % PURGE).strip()
        pseudo = "#purged-" + case_id
        # The daemon restarted with 30 days' retention, on 1 May: the purge runs at its first
        # tick (and once a day after).
        with Daemon(db, clock="2026-05-01T09:00", extra_args=["--retention", "30"]) as d:
            wait_for(lambda: db.sql("SELECT count(*) FROM cases WHERE purged_on IS NOT NULL")
                     .strip() == "1", 20, "the purge")
            # The reports: every figure as before; the purged case's missed deadline is still
            # listed, under its new opaque reference.
            after = reports(d)
            for k in before:
                diff = first_difference(listed_in_any_order(after[k]),
                                        listed_in_any_order(renamed(before[k], PURGE, pseudo)))
                if diff:
                    raise TestError("report %s %s changed: %s" % (k + (diff,)))
            if PURGE in json.dumps(list(after.values())):
                raise TestError("a report still names %s" % PURGE)
            # Nothing personal left: the reference answers unknown_case, the fields are empty.
            rc, _, err = d.cli("case", "export", PURGE, check=False)
            if rc == 0 or "unknown_case" not in err and "no case" not in err:
                raise TestError("export of a purged case: rc %d, %s" % (rc, err))
            eq(db.sql("SELECT ref, dob IS NULL, attrs::text, purged_on FROM cases WHERE id = %s"
                      % case_id).strip(), "%s|t|{}|2026-05-01" % pseudo, "the purged case row")
            eq(db.sql("SELECT count(*) FROM processes WHERE case_id = %s AND (attrs <> '{}'"
                      " OR started_by IS NOT NULL OR idem_key IS NOT NULL)" % case_id).strip(),
               "0", "personal fields of processes")
            eq(db.sql("SELECT string_agg(type || ':' || attrs::text || ':' ||"
                      " coalesce(actor, '-') || ':' || coalesce(idem_key, '-'), ' ' ORDER BY id)"
                      " FROM events WHERE case_id = %s" % case_id).strip(),
               'exception_started:{"reason": "school_closure"}:-:- '
               'exception_ended:{"reason": "school_closure"}:-:- decision_to_assess:{}:-:- '
               'decision_to_assess:{}:-:- withdrawn:{}:-:-', "events: the facts only")
            eq(db.sql("SELECT reason, actor IS NULL FROM event_voids WHERE case_id = %s"
                      % case_id).strip(), "(purged)|t", "the void's reason")
            eq(db.sql("SELECT (SELECT count(*) FROM escalations WHERE case_id = %s),"
                      " (SELECT count(*) FROM escalation_acks WHERE note LIKE 'phoned%%')"
                      % case_id).strip(), "0|0", "escalations and acknowledgements")
            eq(db.sql("SELECT count(*) FROM outbox WHERE subject LIKE '%%%s%%'"
                      " OR body LIKE '%%%s%%' OR payload::text LIKE '%%%s%%'"
                      % (PURGE, PURGE, PURGE)).strip(), "0", "notices naming the case")
            # February's board pack names it by its new id, as the report now does.
            eq(db.sql("SELECT count(*) FROM outbox WHERE kind = 'board_pack'"
                      " AND payload->>'period' = '2026-02' AND strpos(body, '%s') > 0"
                      " AND strpos(payload::text, '%s') > 0" % (pseudo, pseudo)).strip() != "0",
               True, "the February pack names %s" % pseudo)
            # The statutory facts stay.
            eq(db.sql("SELECT count(*) FROM deadlines d JOIN processes p ON p.id = d.process_id"
                      " WHERE p.case_id = %s" % case_id).strip() != "0", True, "deadlines kept")
            # The two others are kept whole.
            eq(d.cli("case", "export", OPEN, json=True)["attrs"], {"officer": "jo"}, OPEN)
            eq(d.cli("case", "export", RECENT, json=True)["processes"][0]["ended_on"],
               "2026-04-20", RECENT)
            # The trail: the rows before the purge are unchanged, and the purge is a row.
            rows = d.cli("audit", PURGE, json=True)["rows"]
            purges = [r for r in rows if r["op"] == "purge"]
            eq(len(purges), 1, "the purge's audit rows")
            eq((purges[0]["who"], purges[0]["role"], purges[0]["clock"], purges[0]["result"]),
               ("sendflowd", "admin", "2026-05-01T09:00", "ok"), "who purged")
            if not purges[0]["via"].startswith("daemon:"):
                raise TestError("the purge's via: %r" % purges[0]["via"])
            # The export asked for after the purge is audited too, as refused.
            eq((rows[-1]["op"], rows[-1]["result"]), ("case_export", "unknown_case"),
               "the refused export's row")
            if "case_open" not in [r["op"] for r in rows]:
                raise TestError("the audit rows before the purge are gone: %r" % rows)
            # Once: a day later nothing more is purged, and events stay append-only.
            d.cli("clock", "set", "2026-05-02T09:00")
            eq(db.sql("SELECT count(*) FROM audit_log WHERE op = 'purge'").strip(), "1",
               "purge rows")
            for sql in ("UPDATE events SET actor = 'x'", "DELETE FROM event_voids"):
                try:
                    db.sql(sql)
                except Exception as e:
                    if "append-only" not in str(e):
                        raise TestError("%s: refused, but not by the trigger: %s" % (sql, e))
                else:
                    raise TestError("%s was allowed" % sql)


@test
def retention_is_off_by_default():
    with Database() as db, Daemon(db, clock="2026-01-05T09:00") as d:
        d.cli("case", "open", PURGE)
        d.cli("start", PURGE, ASSESS, "--on", "2026-01-05")
        d.cli("event", PURGE, "withdrawn", "--on", "2026-01-05")
        d.cli("clock", "set", "2040-01-05T09:00")
        eq(d.cli("case", "export", PURGE, json=True)["case"], PURGE, "kept without --retention")
        eq(db.sql("SELECT count(*) FROM cases WHERE purged_on IS NOT NULL").strip(), "0",
           "nothing purged")


if __name__ == "__main__":
    main()
