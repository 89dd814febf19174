"""show --as-known-on (issue 11, item 4): events, voids and starts carry the
daemon clock's time of recording, and show answers as the system would have
on a day: later events and voids left out, statuses judged on that day."""
import json

from sfharness import test, main, Database, Daemon, eq


def dls(reply):
    (p,) = reply["processes"]
    return {d["name"]: (d["status"], d.get("met_on")) for d in p["deadlines"]}


@test
def show_as_known_on_a_day_leaves_out_what_was_recorded_later():
    with Database() as db, Daemon(db, clock="2026-02-01T09:00") as d, d.client() as c:
        c.ok({"op": "case_open", "case": "K-1"})
        c.ok({"op": "start", "case": "K-1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        c.ok({"op": "clock_set", "to": "2026-02-20T09:00"})
        first = c.ok({"op": "event", "case": "K-1", "type": "decision_to_assess",
                      "on": "2026-02-10", "attrs": {"outcome": "yes"}})
        c.ok({"op": "clock_set", "to": "2026-03-02T09:00"})
        c.ok({"op": "void", "case": "K-1", "event": first["event"]["id"],
              "reason": "wrong date"})
        c.ok({"op": "event", "case": "K-1", "type": "decision_to_assess", "on": "2026-02-12",
              "attrs": {"outcome": "yes"}})
        eq(json.loads(db.sql("SELECT json_agg(known_at::date ORDER BY id) FROM events")),
           ["2026-02-20", "2026-03-02"], "events' known_at: the daemon's clock")
        eq(db.sql("SELECT known_at::date FROM event_voids").strip(), "2026-03-02", "the void's")

        # Before the start was recorded: no process.
        r = c.ok({"op": "show", "case": "K-1", "as_known_on": "2026-01-31"})
        eq((r["as_known_on"], r["processes"]), ("2026-01-31", []), "before the start")
        # 10 Feb: started, nothing recorded yet, the decision (due 16 Feb) pending.
        r = c.ok({"op": "show", "case": "K-1", "as_known_on": "2026-02-10"})
        eq(dls(r)["decide_to_assess"], ("pending", None), "on 10 Feb")
        eq(r["processes"][0]["state"], "requested", "state on 10 Feb")
        # 18 Feb: still nothing recorded, so the decision was overdue.
        eq(dls(c.ok({"op": "show", "case": "K-1", "as_known_on": "2026-02-18"}))
           ["decide_to_assess"], ("overdue", None), "on 18 Feb")
        # 25 Feb: the first decision (10 Feb), not yet voided.
        r = c.ok({"op": "show", "case": "K-1", "as_known_on": "2026-02-25"})
        eq(dls(r)["decide_to_assess"], ("met", "2026-02-10"), "on 25 Feb")
        eq(r["processes"][0]["state"], "assessing", "state on 25 Feb")
        # Today: voided and recorded again, as show says without the option.
        now = c.ok({"op": "show", "case": "K-1", "as_known_on": "2026-03-02"})
        eq(dls(now)["decide_to_assess"], ("met", "2026-02-12"), "today")
        plain = c.ok({"op": "show", "case": "K-1"})
        eq(sorted((x["name"], x["due"], x["status"]) for x in now["processes"][0]["deadlines"]),
           sorted((x["name"], x["due"], x["status"]) for x in plain["processes"][0]["deadlines"]),
           "as known today is what show says")

        c.error({"op": "show", "case": "K-1", "as_known_on": "2026-03-03"}, "bad_date")
        c.error({"op": "show", "case": "K-1", "as_known_on": "2026-02-30"}, "bad_date")
        c.error({"op": "show", "case": "K-9", "as_known_on": "2026-02-10"}, "unknown_case")
        _, out, _ = d.cli("show", "K-1", "--as-known-on", "2026-02-25")
        assert out.startswith("Case K-1, as known on 2026-02-25") and "met 2026-02-10" in out, out


main()
