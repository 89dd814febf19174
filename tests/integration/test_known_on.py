"""show and due --as-known-on (issue 11, item 4): events, voids and starts
carry the daemon clock's time of recording, and show and due answer as the
system would have on a day: later events and voids left out, statuses judged
on that day."""
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


def due_items(reply):
    return [(i["case"], i["deadline"], i["due"], i["status"], i["officer"]) for i in reply["items"]]


@test
def due_as_known_on_a_day_lists_what_the_system_listed_then():
    with Database() as db, Daemon(db, clock="2026-01-05T09:00") as d, d.client() as c:
        for ref, officer in (("K-1", "jb"), ("K-2", "am")):
            c.ok({"op": "case_open", "case": ref, "attrs": {"officer": officer, "team": "north"}})
            c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": "2026-01-05"})
        c.ok({"op": "clock_set", "to": "2026-02-20T09:00"})
        # Recorded on 20 Feb: K-1's decision, made on 10 Feb.
        first = c.ok({"op": "event", "case": "K-1", "type": "decision_to_assess",
                      "on": "2026-02-10", "attrs": {"outcome": "yes"}})
        c.ok({"op": "clock_set", "to": "2026-03-02T09:00"})
        c.ok({"op": "void", "case": "K-1", "event": first["event"]["id"], "reason": "wrong case"})
        c.ok({"op": "event", "case": "K-2", "type": "decision_to_assess", "on": "2026-02-12",
              "attrs": {"outcome": "yes"}})

        # 18 Feb: nothing recorded yet; both decisions (due 16 Feb) overdue.
        r = c.ok({"op": "due", "as_known_on": "2026-02-18", "overdue": True})
        eq((r["as_known_on"], r["on"], r["today"]), ("2026-02-18", "2026-02-18", "2026-03-02"),
           "the day judged")
        eq(due_items(r), [("K-1", "decide_to_assess", "2026-02-16", "overdue", "jb"),
                          ("K-2", "decide_to_assess", "2026-02-16", "overdue", "am")], "18 Feb")
        # 25 Feb: K-1's decision recorded (not yet voided): only K-2 overdue.
        r = c.ok({"op": "due", "as_known_on": "2026-02-25", "overdue": True})
        eq(due_items(r), [("K-2", "decide_to_assess", "2026-02-16", "overdue", "am")], "25 Feb")
        eq(due_items(c.ok({"op": "due", "as_known_on": "2026-02-18", "overdue": True,
                            "officer": "jb"})),
           [("K-1", "decide_to_assess", "2026-02-16", "overdue", "jb")], "one officer's")
        # Before the starts were recorded: nothing.
        eq(c.ok({"op": "due", "as_known_on": "2026-01-04", "within": 3660})["items"], [],
           "before anything was recorded")
        # Known on today: what due says without the option, page by page alike.
        for args in ({"within": 3660}, {"overdue": True}, {"within": 30}):
            now = c.ok(dict({"op": "due", "as_known_on": "2026-03-02"}, **args))
            plain = c.ok(dict({"op": "due"}, **args))
            eq(due_items(now), due_items(plain), f"as known today is due's answer {args}")
            assert now["items"], args if args != {"overdue": True} else now
        pages, cursor = [], None
        while True:
            req = {"op": "due", "as_known_on": "2026-03-02", "within": 3660, "limit": 3}
            if cursor:
                req["cursor"] = cursor
            r = c.ok(req)
            pages += due_items(r)
            cursor = r["next"]
            if not cursor:
                break
        eq(pages, due_items(c.ok({"op": "due", "within": 3660})), "paged as known on today")

        c.error({"op": "due", "as_known_on": "2026-03-03"}, "bad_date")
        c.error({"op": "due", "as_known_on": "2026-02-18", "on": "2026-03-10"}, "bad_request")
        _, out, _ = d.cli("due", "--overdue", "--as-known-on", "2026-02-18")
        assert out.startswith("Overdue as known on 2026-02-18") and "K-1" in out, out
        rc, _, err = d.cli("due", "--as-known-on", "2026-02-18", "--on", "2026-03-10", check=False)
        assert rc == 2 and "give one" in err, (rc, err)


@test
def due_as_known_on_reads_the_caseload_in_chunks():
    # More processes than one chunk (500): every one is replayed.
    with Database() as db, Daemon(db, clock="2026-01-05T09:00") as d, d.client() as c:
        n = 520
        c.pipeline([{"op": "case_open", "case": f"C-{i}"} for i in range(n)], seconds=120)
        c.pipeline([{"op": "start", "case": f"C-{i}", "workflow": "ehcp-assessment",
                     "on": "2026-01-05"} for i in range(n)], seconds=120)
        c.ok({"op": "clock_set", "to": "2026-02-20T09:00"})
        r = c.ok({"op": "due", "as_known_on": "2026-02-18", "overdue": True, "limit": 1000})
        eq(len(r["items"]), n, "every case's overdue decision")
        r = c.ok({"op": "due", "as_known_on": "2026-02-20", "overdue": True, "limit": 1000})
        eq(due_items(r), due_items(c.ok({"op": "due", "overdue": True, "limit": 1000})),
           "as today's list (nothing recorded since)")


main()
