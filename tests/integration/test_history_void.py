"""history and void through the socket: the history lists every start, event
and void in recording order with who did it; voiding an event keeps it (and
why) in the audit trail, recomputes its process without it, is refused while
a later event depends on it, and cancels the event-less processes it started.
Raw protocol only: the CLI for these is built separately.
"""
import re

from sfharness import test, main, Database, Daemon, cli, deadline, process, eq, TestError

CLOCK = "2026-06-01T09:00"
UTC_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def setup(c, ref, on="2026-01-05", actor=None):
    c.ok({"op": "case_open", "case": ref})
    req = {"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": on}
    if actor:
        req["actor"] = actor
    return c.ok(req)["process"]


def ev(c, ref, type, on, actor=None, key=None, **attrs):
    req = {"op": "event", "case": ref, "type": type, "on": on, "attrs": attrs}
    if actor:
        req["actor"] = actor
    if key:
        req["key"] = key
    return c.ok(req)


def void(ref, event, reason, actor="bob", **extra):
    return dict({"op": "void", "case": ref, "event": event, "reason": reason, "actor": actor},
                **extra)


def to_final_plan(c, ref):
    """An assessment through to its final plan; returns the events' ids by type."""
    ids = {}
    ids["decision_to_assess"] = ev(c, ref, "decision_to_assess", "2026-02-10", outcome="yes")["event"]["id"]
    ids["draft_plan_issued"] = ev(c, ref, "draft_plan_issued", "2026-04-01")["event"]["id"]
    r = ev(c, ref, "final_plan_issued", "2026-05-01", actor="carol")
    ids["final_plan_issued"] = r["event"]["id"]
    ids["started"] = [p["id"] for p in r["started"]]
    return ids


def history(c, ref):
    return c.ok({"op": "history", "case": ref})["entries"]


def count(db, sql):
    return int(db.sql(sql).strip())


@test
def history_lists_starts_events_and_voids_in_recording_order():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        proc = setup(c, "C-H1", actor="alice")
        # Posted out of date order: the history keeps the order they were recorded in.
        a = ev(c, "C-H1", "advice_requested", "2026-02-12", actor="dan", key="k1", **{"from": "health"})
        b = ev(c, "C-H1", "decision_to_assess", "2026-02-10", outcome="yes")
        dr = ev(c, "C-H1", "draft_plan_issued", "2026-04-01", actor="dan")
        fp = ev(c, "C-H1", "final_plan_issued", "2026-05-01", actor="carol")
        review = fp["started"][0]
        r = c.ok(void("C-H1", a["event"]["id"], "asked the wrong service"))
        eq(r["voided"], a["event"]["id"], "voided")

        h = c.ok({"op": "history", "case": "C-H1", "id": 7})
        eq((h["id"], h["case"]), (7, "C-H1"), "history reply")
        entries = h["entries"]
        eq([(e["kind"], e.get("type") or e.get("workflow")) for e in entries],
           [("start", "ehcp-assessment"), ("event", "advice_requested"),
            ("event", "decision_to_assess"), ("event", "draft_plan_issued"),
            ("event", "final_plan_issued"), ("start", "annual-review"),
            ("void", "advice_requested")], "kinds in order")
        for e in entries:
            assert UTC_RE.match(e["recorded_at"]), "recorded_at not UTC ISO 8601: %r" % e
        eq([e["recorded_at"] for e in entries], sorted(e["recorded_at"] for e in entries),
           "recorded_at ascending")

        eq(entries[0], {"kind": "start", "process": proc["id"], "workflow": "ehcp-assessment",
                        "on": "2026-01-05", "attrs": {}, "actor": "alice",
                        "recorded_at": entries[0]["recorded_at"], "by_event": None}, "hand start")
        eq(entries[1], {"kind": "event", "id": a["event"]["id"], "process": proc["id"],
                        "workflow": "ehcp-assessment", "type": "advice_requested",
                        "on": "2026-02-12", "attrs": {"from": "health"}, "actor": "dan",
                        "recorded_at": entries[1]["recorded_at"], "key": "k1", "voided": True},
           "the voided event, kept")
        eq((entries[2]["id"], entries[2]["actor"], entries[2]["key"], entries[2]["voided"]),
           (b["event"]["id"], None, None, False), "an event without actor or key")
        eq(entries[3]["id"], dr["event"]["id"], "draft")
        # The follow-on process comes right after the event that started it, with its actor.
        eq(entries[5], {"kind": "start", "process": review["id"], "workflow": "annual-review",
                        "on": "2026-05-01", "attrs": {"started_after": "plan_issued"},
                        "actor": "carol",
                        "recorded_at": entries[5]["recorded_at"],
                        "by_event": fp["event"]["id"]}, "follow-on start")
        eq(entries[6], {"kind": "void", "event": a["event"]["id"], "type": "advice_requested",
                        "on": "2026-02-12", "reason": "asked the wrong service", "actor": "bob",
                        "recorded_at": entries[6]["recorded_at"]}, "void entry")

        # A case with nothing started yet has an empty history; an unknown one is an error.
        c.ok({"op": "case_open", "case": "C-H2"})
        eq(history(c, "C-H2"), [], "empty history")
        c.error({"op": "history", "case": "C-NONE"}, "unknown_case")
        c.error({"op": "history"}, "bad_request")
        c.error({"op": "history", "case": "bad ref!"}, "bad_request")


@test
def void_rederives_deadlines_and_the_engine_never_sees_the_voided_event():
    with Database() as db, Daemon(db, clock="2026-03-01T09:00") as d, d.client() as c:
        setup(c, "C-V1")
        ev(c, "C-V1", "decision_to_assess", "2026-02-10", outcome="yes")
        ev(c, "C-V1", "advice_requested", "2026-02-12", **{"from": "health"})
        got = ev(c, "C-V1", "advice_received", "2026-02-20", **{"from": "health"})
        eq(deadline(c.ok({"op": "show", "case": "C-V1"}), "advice_health")["status"], "met",
           "advice met before the void")

        # The advice was logged against the wrong child: void it.
        r = c.ok(void("C-V1", got["event"]["id"], "posted to the wrong case", key="v-1"))
        eq((r["voided"], r["duplicate"]), (got["event"]["id"], False), "void reply")
        show = c.ok({"op": "show", "case": "C-V1"})
        eq(r["process"], show["processes"][0], "the reply's process is show's")
        dl = deadline(show, "advice_health")
        eq((dl["status"], dl["met_on"], dl["due"]), ("pending", None, "2026-03-26"),
           "advice deadline open again")
        # As time passes it becomes overdue like any other open deadline.
        c.ok({"op": "clock_set", "to": "2026-03-27T09:00"})
        eq(deadline(c.ok({"op": "show", "case": "C-V1"}), "advice_health")["status"], "overdue",
           "advice deadline after its due date")
        due = c.ok({"op": "due", "overdue": True})["items"]
        eq([(i["case"], i["deadline"]) for i in due], [("C-V1", "advice_health")], "due --overdue")

        # The event is kept, its void beside it with the reason.
        eq(db.count_events("C-V1"), 3, "events stored (none deleted)")
        eq(db.sql("SELECT v.event_id, v.reason, v.actor, v.idem_key FROM event_voids v").strip(),
           "%s|posted to the wrong case|bob|v-1" % got["event"]["id"], "the void row")

        # Further events are checked against the history without it: receiving the
        # health advice again meets the deadline (late now).
        ev(c, "C-V1", "advice_received", "2026-03-27", **{"from": "health"})
        dl = deadline(c.ok({"op": "show", "case": "C-V1"}), "advice_health")
        eq((dl["status"], dl["met_on"]), ("late", "2026-03-27"), "advice received again")

        # Voiding the only state-changing event takes the process back, and the
        # event can then be recorded again (the engine would refuse a second
        # decision if it still saw the first).
        setup(c, "C-V2")
        dec = ev(c, "C-V2", "decision_to_assess", "2026-02-10", outcome="no")
        eq(dec["process"]["status"], "completed", "decided not to assess")
        r = c.ok(void("C-V2", dec["event"]["id"], "outcome was yes, mistyped"))
        p = r["process"]
        eq((p["status"], p["state"], p["ended_on"]), ("active", "requested", None), "reopened")
        eq({x["name"]: x["status"] for x in p["deadlines"]},
           {"decide_to_assess": "overdue", "notify_no_plan": "pending", "final_plan": "pending"},
           "deadlines re-derived")
        r = ev(c, "C-V2", "decision_to_assess", "2026-02-10", outcome="yes")
        eq((r["process"]["status"], r["process"]["state"]), ("active", "assessing"), "decided again")


@test
def void_is_refused_while_a_later_event_depends_on_it():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-D1")
        dec = ev(c, "C-D1", "decision_to_assess", "2026-02-10", outcome="yes")
        ev(c, "C-D1", "advice_requested", "2026-02-12", **{"from": "education"})
        draft = ev(c, "C-D1", "draft_plan_issued", "2026-04-01")
        before_show = c.ok({"op": "show", "case": "C-D1"})
        before_hist = history(c, "C-D1")
        version = db.sql("SELECT version FROM cases WHERE ref = 'C-D1'")
        r = c.error(void("C-D1", dec["event"]["id"], "wrong date"), "not_allowed")
        msg = r["error"]["message"]
        assert ("event %s" % draft["event"]["id"]) in msg and "draft_plan_issued" in msg, msg
        assert "depends on it" in msg and "first" in msg, msg
        eq(c.ok({"op": "show", "case": "C-D1"}), before_show, "show after the refusal")
        eq(history(c, "C-D1"), before_hist, "history after the refusal")
        eq(db.sql("SELECT version FROM cases WHERE ref = 'C-D1'"), version, "case version")
        eq(count(db, "SELECT count(*) FROM event_voids"), 0, "voids stored")

        # Voiding the dependent event first, then the decision, works.
        c.ok(void("C-D1", draft["event"]["id"], "draft not actually sent"))
        r = c.ok(void("C-D1", dec["event"]["id"], "wrong date"))
        eq(r["process"]["state"], "requested", "state after both voids")
        # The advice request does not depend on the decision: it stays.
        names = [x["name"] for x in r["process"]["deadlines"]]
        assert "advice_education" in names, names


@test
def voiding_the_final_plan_cancels_its_event_less_annual_review():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-F1")
        ids = to_final_plan(c, "C-F1")
        review1 = ids["started"][0]
        eq(process(c.ok({"op": "show", "case": "C-F1"}), "annual-review")["status"], "active",
           "review started by the plan")

        r = c.ok(void("C-F1", ids["final_plan_issued"], "plan dated wrongly"))
        p = r["process"]
        eq((p["status"], p["state"], p["ended_on"]), ("active", "drafting", None),
           "assessment back to drafting")
        eq(deadline({"processes": [p]}, "final_plan")["status"], "overdue", "final plan due again")
        show = c.ok({"op": "show", "case": "C-F1"})
        rev = process(show, "annual-review")
        eq((rev["id"], rev["status"]), (review1, "cancelled"), "the review, kept but cancelled")
        for x in rev["deadlines"]:
            eq(x["status"], "cancelled", "review deadline %s" % x["name"])
            eq(x["note"], "started by event %s, which was voided: plan dated wrongly"
               % ids["final_plan_issued"], "note")
        items = c.ok({"op": "due", "within": 3660})["items"]
        assert all(i["process"] != review1 for i in items), items
        # An event cannot go to the cancelled review, even when named.
        c.error({"op": "event", "case": "C-F1", "type": "review_meeting_held", "on": "2026-05-20",
                 "process": review1}, "not_allowed")
        c.error({"op": "event", "case": "C-F1", "type": "review_meeting_held", "on": "2026-05-20"},
                "unknown_event")

        # The plan issued again (on its real date) starts a fresh review.
        r = ev(c, "C-F1", "final_plan_issued", "2026-05-04")
        eq(len(r["started"]), 1, "started by the new plan")
        review2 = r["started"][0]
        eq((review2["workflow"], review2["status"], review2["started_on"]),
           ("annual-review", "active", "2026-05-04"), "the new review")
        assert review2["id"] != review1
        starts = [e for e in history(c, "C-F1") if e["kind"] == "start" and e["workflow"] == "annual-review"]
        eq([(e["process"], e["by_event"]) for e in starts],
           [(review1, ids["final_plan_issued"]), (review2["id"], r["event"]["id"])], "review starts")
        eq(count(db, "SELECT count(*) FROM processes"), 3, "processes stored")


@test
def void_is_refused_while_a_process_it_started_has_events():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-F2")
        ids = to_final_plan(c, "C-F2")
        review1 = ids["started"][0]
        held = ev(c, "C-F2", "review_meeting_held", "2026-05-20")
        eq(held["process"]["id"], review1, "meeting held in the first review")
        review2 = held["started"][0]["id"]
        r = c.error(void("C-F2", ids["final_plan_issued"], "wrong"), "not_allowed")
        assert "void the 1 event of the annual review" in r["error"]["message"], r
        eq(count(db, "SELECT count(*) FROM event_voids"), 0, "voids stored")

        # Void the meeting: the next cycle it started is cancelled and the first review
        # is due again (in one transaction: never two active reviews).
        r = c.ok(void("C-F2", held["event"]["id"], "meeting was postponed"))
        eq((r["process"]["id"], r["process"]["status"]), (review1, "active"), "review reopened")
        show = c.ok({"op": "show", "case": "C-F2"})
        st = {p["id"]: p["status"] for p in show["processes"]}
        eq((st[review1], st[review2]), ("active", "cancelled"), "reviews")
        # Now the plan can go.
        c.ok(void("C-F2", ids["final_plan_issued"], "wrong"))
        st = {p["id"]: p["status"] for p in c.ok({"op": "show", "case": "C-F2"})["processes"]}
        eq((st[review1], st[review2]), ("cancelled", "cancelled"), "reviews after the plan void")


@test
def voiding_twice_and_idempotency_keys():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-T1")
        a = ev(c, "C-T1", "advice_requested", "2026-02-12", **{"from": "health"})
        b = ev(c, "C-T1", "advice_requested", "2026-02-13", **{"from": "education"})
        first = c.ok(void("C-T1", a["event"]["id"], "duplicate post", key="vk"))
        eq(first["duplicate"], False, "first void")
        # Leading zeros name the same event (the CLI strips them; integrations may not).
        again = c.ok(void("C-T1", "00" + a["event"]["id"], "duplicate post", key="vk"))
        eq((again["duplicate"], again["voided"]), (True, a["event"]["id"]), "with leading zeros")
        # The same void again (a retry), with or without the key: nothing changes.
        again = c.ok(void("C-T1", a["event"]["id"], "duplicate post", key="vk"))
        eq((again["duplicate"], again["voided"], again["process"]), (True, a["event"]["id"], first["process"]),
           "retried with the key")
        again = c.ok(void("C-T1", a["event"]["id"], "duplicate post", actor="someone else"))
        eq(again["duplicate"], True, "again without a key")
        eq(count(db, "SELECT count(*) FROM event_voids"), 1, "voids stored")
        # Another reason: refused, saying when, by whom and why it was voided.
        r = c.error(void("C-T1", a["event"]["id"], "another reason"), "not_allowed")
        assert "already voided" in r["error"]["message"] and "bob" in r["error"]["message"] and \
            "duplicate post" in r["error"]["message"], r
        # The key names that void: another event or reason under it is a conflict.
        c.error(void("C-T1", b["event"]["id"], "duplicate post", key="vk"), "key_conflict")
        c.error(void("C-T1", a["event"]["id"], "other words", key="vk"), "key_conflict")
        eq(count(db, "SELECT count(*) FROM event_voids"), 1, "voids stored after conflicts")
        eq(len([e for e in history(c, "C-T1") if e["kind"] == "void"]), 1, "void entries")


@test
def void_errors_change_nothing():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-E1")
        setup(c, "C-E2")
        a = ev(c, "C-E1", "advice_requested", "2026-02-12", **{"from": "health"})
        other = ev(c, "C-E2", "advice_requested", "2026-02-12", **{"from": "health"})
        before = c.ok({"op": "show", "case": "C-E1"})
        eid = a["event"]["id"]
        c.error(void("C-E1", "999999", "x"), "no_event")
        c.error(void("C-E1", other["event"]["id"], "x"), "no_event")  # another case's event
        c.error(void("C-NONE", eid, "x"), "unknown_case")
        c.error({"op": "void", "case": "C-E1", "event": eid}, "bad_request")
        c.error(void("C-E1", eid, ""), "bad_request")
        c.error(void("C-E1", eid, "   "), "bad_request")
        c.error(void("C-E1", eid, 5), "bad_request")
        c.error(void("C-E1", eid, "x" * 1001), "bad_request")
        c.error({"op": "void", "case": "C-E1", "reason": "x"}, "bad_request")
        c.error(void("C-E1", "12a", "x"), "bad_request")
        c.error(void("C-E1", int(eid), "x"), "bad_request")
        c.error(void("C-E1", "9" * 19, "x"), "bad_request")
        c.error(void("C-E1", eid, "x", key=""), "bad_request")
        c.error(void("C-E1", eid, "x", actor=3), "bad_request")
        eq(c.ok({"op": "show", "case": "C-E1"}), before, "show after the errors")
        eq(count(db, "SELECT count(*) FROM event_voids"), 0, "voids stored")
        # The log itself refuses edits, voids included.
        c.ok(void("C-E1", eid, "mistake"))
        for sql in ("DELETE FROM event_voids", "UPDATE event_voids SET reason = 'x'",
                    "DELETE FROM events"):
            try:
                db.sql(sql)
            except TestError as e:
                assert "append-only" in str(e), e
            else:
                raise TestError("%s succeeded" % sql)


@test
def start_records_its_actor():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-S1"})
        c.error({"op": "start", "case": "C-S1", "workflow": "ehcp-assessment", "on": "2026-01-05",
                 "actor": 7}, "bad_request")
        c.ok({"op": "start", "case": "C-S1", "workflow": "ehcp-assessment", "on": "2026-01-05",
              "actor": "erin"})
        eq(db.sql("SELECT started_by FROM processes").strip(), "erin", "started_by")
        eq([(e["kind"], e["actor"]) for e in history(c, "C-S1")], [("start", "erin")], "history")


@test
def concurrent_voids_through_two_daemons_void_once():
    import threading
    from sfharness import RawClient
    with Database() as db, Daemon(db, clock=CLOCK) as a, Daemon(db, clock=CLOCK) as b, \
            a.client() as c:
        setup(c, "C-R1")
        ids = [ev(c, "C-R1", "advice_requested", "2026-02-1%d" % i, **{"from": w})["event"]["id"]
               for i, w in enumerate(["health", "education", "psychology"])]
        sockets = [a.socket, b.socket] * 4
        barrier = threading.Barrier(len(sockets))
        replies, errors = [], []

        def run(i, path):
            try:
                with RawClient(path) as rc:
                    rc.ok({"op": "ping"})
                    barrier.wait(timeout=60)
                    # Every connection voids all three; each event is voided once.
                    replies.extend(rc.pipeline([void("C-R1", e, "bulk mistake") for e in ids],
                                               seconds=60))
            except BaseException as e:
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sockets)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        bad = [r for r in replies if r.get("ok") is not True]
        eq(bad, [], "failed voids")
        eq(sorted(r["voided"] for r in replies if r["duplicate"] is False), sorted(ids),
           "first voids")
        eq(count(db, "SELECT count(*) FROM event_voids"), 3, "voids stored")
        names = [x["name"] for x in c.ok({"op": "show", "case": "C-R1"})["processes"][0]["deadlines"]]
        assert not any(n.startswith("advice_") for n in names), names


def cli_has(text):
    """The CLI being built beside the daemon lists the command in its usage."""
    rc, out, err = cli("help", check=False)
    return rc == 0 and text in out + err


@test
def the_cli_voids_and_lists_the_history():
    if not cli_has("void REF EVENT_ID"):
        print("# skipped: this sendflow has no void/history commands")
        return
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        setup(c, "C-CLI")
        a = ev(c, "C-CLI", "advice_requested", "2026-02-12", **{"from": "health"})
        env = {"SENDFLOW_ACTOR": "frank"}
        r = d.cli("void", "C-CLI", a["event"]["id"], "--reason", "typed into the wrong case",
                  json=True, env=env)
        eq((r["voided"], r["duplicate"]), (a["event"]["id"], False), "CLI void")
        h = d.cli("history", "C-CLI", json=True)
        eq([(e["kind"], e["actor"]) for e in h["entries"]],
           [("start", None), ("event", None), ("void", "frank")], "CLI history")
        rc, out, err = d.cli("history", "C-CLI")
        assert "typed into the wrong case" in out, out
        rc, out, err = d.cli("void", "C-CLI", "4242", "--reason", "x", check=False)
        assert rc == 1 and "no event 4242" in err, (rc, out, err)


main()
