"""Postgres is the source of truth: a restarted daemon serves exactly what the
old one acknowledged, after a clean stop (SIGTERM) or a crash (SIGKILL)."""
import json
import signal

from sfharness import test, main, Database, Daemon, TestError, eq

CLOCK = "2026-03-01T09:00"


def strip_ids(reply):
    r = dict(reply)
    r.pop("id", None)
    return r


def populate(c):
    c.ok({"op": "case_open", "case": "C-RS1", "dob": "2015-10-02", "attrs": {"team": "west"}})
    c.ok({"op": "start", "case": "C-RS1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
    c.ok({"op": "event", "case": "C-RS1", "type": "decision_to_assess", "on": "2026-02-20",
          "attrs": {"outcome": "yes"}, "key": "k1"})
    c.ok({"op": "event", "case": "C-RS1", "type": "advice_requested", "on": "2026-02-21",
          "attrs": {"from": "health"}})
    c.ok({"op": "case_open", "case": "C-RS2"})
    c.ok({"op": "start", "case": "C-RS2", "workflow": "ehcp-assessment", "on": "2026-01-12"})
    c.ok({"op": "event", "case": "C-RS2", "type": "decision_to_assess", "on": "2026-01-20",
          "attrs": {"outcome": "no"}})
    c.ok({"op": "case_open", "case": "C-RS3"})
    c.ok({"op": "start", "case": "C-RS3", "workflow": "annual-review", "on": "2025-02-10"})


def view(c):
    return {
        "shows": [strip_ids(c.ok({"op": "show", "case": r})) for r in ("C-RS1", "C-RS2", "C-RS3")],
        "due": strip_ids(c.ok({"op": "due", "within": 400})),
        "overdue": strip_ids(c.ok({"op": "due", "overdue": True})),
    }


@test
def clean_restart_keeps_everything():
    with Database() as db:
        a = Daemon(db, clock=CLOCK)
        with a.client() as c:
            populate(c)
            before = view(c)
        assert before["overdue"]["items"], "C-RS3's review (due 2026-02-09) should be overdue"
        a.stop()
        b = Daemon(db, clock=CLOCK, socket_path=a.socket)
        with b.client() as c:
            eq(view(c), before, "what the restarted daemon serves")
            # The idempotency keys survived too.
            r = c.ok({"op": "event", "case": "C-RS1", "type": "decision_to_assess", "on": "2026-02-20",
                      "attrs": {"outcome": "yes"}, "key": "k1"})
            eq(r["duplicate"], True, "a retry after the restart")
        b.stop(sig=signal.SIGINT)


N_CASES = 400


def open_cases(c, prefix):
    reqs = []
    for i in range(N_CASES):
        reqs.append({"op": "case_open", "case": "%s%d" % (prefix, i)})
        reqs.append({"op": "start", "case": "%s%d" % (prefix, i), "workflow": "ehcp-assessment",
                     "on": "2026-01-05"})
    for r in c.pipeline(reqs, seconds=120):
        if r.get("ok") is not True:
            raise TestError("setting up: %s" % r)


def decisions(prefix):
    return [{"op": "event", "id": i, "case": "%s%d" % (prefix, i), "type": "decision_to_assess",
             "on": "2026-02-02", "attrs": {"outcome": "yes"}, "key": "dec-%d" % i}
            for i in range(N_CASES)]


def stream_and_interrupt(d, reqs, after, sig):
    """Pipeline all reqs on one connection; once `after` replies came back,
    send `sig` to the daemon; then read whatever else arrives until the
    connection closes. Returns the replies received."""
    replies = []
    with d.client() as c:
        c.send_raw(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
        while len(replies) < len(reqs):
            try:
                replies.append(c.recv(seconds=60))
            except TestError:
                break  # closed by the dying daemon
            if len(replies) == after:
                d.proc.send_signal(sig)
    return replies


def verify_after_restart(db, c, prefix, acked):
    for i in sorted(acked):
        show = c.ok({"op": "show", "case": "%s%d" % (prefix, i)})
        p = show["processes"][0]
        dl = [x for x in p["deadlines"] if x["name"] == "decide_to_assess"][0]
        if p["state"] != "assessing" or dl["status"] != "met":
            raise TestError("acknowledged event %d lost after the restart: %s" % (i, show))
    # Every request retried with its key: acknowledged ones are duplicates;
    # all end up recorded exactly once.
    for r in c.pipeline(decisions(prefix), seconds=120):
        if r.get("ok") is not True:
            raise TestError("retry after restart failed: %s" % r)
        if r["id"] in acked and r["duplicate"] is not True:
            raise TestError("acknowledged event %s was recorded again on retry: %s" % (r["id"], r))
    counts = db.sql("SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id "
                    "WHERE c.ref LIKE '%s%%' GROUP BY e.case_id HAVING count(*) <> 1" % prefix)
    eq(counts.strip(), "", "cases with other than one decision recorded")


@test
def sigkill_mid_stream_loses_nothing_acknowledged():
    with Database() as db:
        a = Daemon(db, clock=CLOCK)
        with a.client() as c:
            open_cases(c, "C-K")
        replies = stream_and_interrupt(a, decisions("C-K"), after=50, sig=signal.SIGKILL)
        a.wait_exit()
        a.kill()
        acked = {r["id"] for r in replies if r.get("ok") is True}
        assert len(acked) >= 50, "only %d acknowledged" % len(acked)
        print("# %d of %d acknowledged before the kill" % (len(acked), N_CASES))
        # The new daemon takes over the same socket path (the dead one left its file).
        b = Daemon(db, clock=CLOCK, socket_path=a.socket)
        with b.client() as c:
            verify_after_restart(db, c, "C-K", acked)
        b.stop()


@test
def sigterm_mid_stream_stops_cleanly_and_loses_nothing_acknowledged():
    with Database() as db:
        a = Daemon(db, clock=CLOCK)
        with a.client() as c:
            open_cases(c, "C-T")
        replies = stream_and_interrupt(a, decisions("C-T"), after=50, sig=signal.SIGTERM)
        rc = a.wait_exit()
        eq(rc, 0, "exit status after SIGTERM with requests in flight")
        a.check_stderr()
        a.kill()
        for r in replies:
            if r.get("ok") is not True and r.get("error", {}).get("code") not in ("shutting_down",):
                raise TestError("a request during shutdown failed with: %s" % r)
        acked = {r["id"] for r in replies if r.get("ok") is True}
        b = Daemon(db, clock=CLOCK, socket_path=a.socket)
        with b.client() as c:
            verify_after_restart(db, c, "C-T", acked)
        b.stop()


@test
def a_client_that_never_reads_does_not_hold_up_a_clean_stop():
    """Stopping waits for replies to drain, but only for a while: a client
    that sends requests and never reads the replies is closed, and the daemon
    still exits 0 promptly."""
    import socket as socketlib
    import time as timelib
    with Database() as db:
        d = Daemon(db, clock=CLOCK)
        s = socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        s.connect(d.socket)
        s.setblocking(False)
        sent = 0
        line = b'{"op":"workflows"}\n' * 100
        deadline = timelib.monotonic() + 10
        # Fill the daemon's reply queue until it stops reading from us.
        while timelib.monotonic() < deadline:
            try:
                sent += s.send(line)
            except BlockingIOError:
                break
        # Let the daemon answer what it has read, so replies pile up unread.
        timelib.sleep(0.5)
        started = timelib.monotonic()
        d.stop()  # asserts exit status 0 and a clean stderr
        took = timelib.monotonic() - started
        s.close()
        assert took < 20, "stopping took %.1f s" % took
        assert "replies unread" in open(d.stderr_path).read(), "the scenario did not happen"



main()
