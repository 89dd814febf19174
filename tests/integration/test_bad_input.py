"""Bad input over the raw socket and through the CLI: every error has the
right code, the connection keeps working, and nothing is written.

One daemon on one database serves the whole file; each test uses its own
cases, so the tests are independent.
"""
import json
import os
import socket
import threading
import time

from sfharness import (test, main, Database, Daemon, RawClient, TestError, cli, eq,
                       one_line, timeout, wait_for, tempdir)

CLOCK = "2026-03-01T09:00"
MiB = 1024 * 1024
state = {}


def daemon():
    """The file's daemon, started on first use and stopped at the end."""
    if "d" not in state or not state["d"].alive():
        state["db"] = Database()
        state["d"] = Daemon(state["db"], clock=CLOCK)
    return state["d"]


def make_case(c, ref):
    """A case with a started assessment (request 2026-01-05), and its show."""
    c.ok({"op": "case_open", "case": ref, "dob": "2015-10-02", "attrs": {"team": "north"}})
    c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": "2026-01-05"})
    return snapshot(c, ref)


def snapshot(c, ref):
    r = c.ok({"op": "show", "case": ref})
    r.pop("id", None)
    return r


@test
def malformed_lines_get_bad_json_and_the_connection_lives_on():
    with daemon().client() as c:
        for line in ['{"op":"ping"', '{op: ping}', '[1,2]', '"ping"', '42', 'null', 'true',
                     '{"op":"ping"} trailing', b'\xff\xfe', b'{"op":"ping","x":"\xff"}']:
            c.error(line, "bad_json")
            c.ok({"op": "ping"})


@test
def id_is_echoed_on_success_and_error():
    with daemon().client() as c:
        for ident in [1, "abc", {"x": [1, 2]}, None, 3.5]:
            r = c.ok({"op": "ping", "id": ident})
            eq(r.get("id"), ident, "echoed id")
            r = c.error({"op": "nope", "id": ident}, "unknown_op")
            eq(r.get("id"), ident, "echoed id on error")
        r = c.ok({"op": "ping", "id": 7})
        assert isinstance(r.get("version"), str) and r["version"], "ping without version: %s" % r


@test
def over_long_line_is_refused_and_the_connection_lives_on():
    with daemon().client() as c:
        # Just under the limit: accepted.
        pad = "x" * (MiB - 200)
        r = c.request('{"op":"ping","id":"big","pad":"%s"}' % pad, seconds=30)
        eq((r.get("ok"), r.get("id")), (True, "big"), "a line just under 1 MiB")
        # Over the limit, sent in pieces: refused, then discarded up to the newline.
        body = ('{"op":"ping","id":"huge","pad":"%s"}' % ("y" * (MiB + 100))).encode()
        for i in range(0, len(body), 65536):
            c.send_raw(body[i:i + 65536])
        c.send_raw(b"\n")
        r = c.recv(seconds=30)
        eq((r.get("ok"), (r.get("error") or {}).get("code")),
           (False, "line_too_long"), "reply to a 1 MiB + 100 line")
        r = c.ok({"op": "ping", "id": "after"})
        eq(r.get("id"), "after", "ping after an over-long line")
        # Several MiB without a newline, then a good request on the same write.
        c.send_raw(b"z" * (3 * MiB) + b'\n{"op":"ping","id":"next"}\n')
        r = c.recv(seconds=30)
        eq((r.get("error") or {}).get("code"), "line_too_long", "3 MiB line")
        eq(c.recv(seconds=30).get("id"), "next", "the request after a 3 MiB line")


@test
def unknown_op_and_bad_requests():
    with daemon().client() as c:
        before = make_case(c, "C-BR1")
        c.error({"op": "frobnicate", "id": 5}, "unknown_op")
        c.error({"id": 6}, "bad_request")                        # no op
        c.error({"op": 5}, "bad_request")                        # op not a string
        c.error({"op": "event", "type": "withdrawn", "on": "2026-02-01"}, "bad_request")  # no case
        c.error({"op": "event", "case": "C-BR1", "on": "2026-02-01"}, "bad_request")      # no type
        c.error({"op": "event", "case": "C-BR1", "type": "withdrawn"}, "bad_request")     # no on
        c.error({"op": "start", "case": "C-BR1", "on": "2026-02-01"}, "bad_request")      # no workflow
        c.error({"op": "show"}, "bad_request")
        c.error({"op": "case_open"}, "bad_request")
        c.error({"op": "clock_set"}, "bad_request")
        # Wrong types.
        c.error({"op": "show", "case": 1001}, "bad_request")
        c.error({"op": "event", "case": "C-BR1", "type": ["withdrawn"], "on": "2026-02-01"}, "bad_request")
        c.error({"op": "event", "case": "C-BR1", "type": "withdrawn", "on": 20260201}, "bad_request")
        c.error({"op": "event", "case": "C-BR1", "type": "withdrawn", "on": "2026-02-01",
                 "attrs": "outcome=yes"}, "bad_request")
        c.error({"op": "event", "case": "C-BR1", "type": "decision_to_assess", "on": "2026-02-01",
                 "attrs": {"outcome": True}}, ("bad_request", "bad_attribute"))
        c.error({"op": "event", "case": "C-BR1", "type": "withdrawn", "on": "2026-02-01",
                 "key": 17}, "bad_request")
        c.error({"op": "due", "within": "7"}, "bad_request")
        c.error({"op": "due", "within": -1}, "bad_request")
        c.error({"op": "due", "within": 1.5}, "bad_request")
        c.error({"op": "due", "overdue": "yes"}, "bad_request")
        c.error({"op": "case_open", "case": "C-BR2", "attrs": ["a"]}, "bad_request")
        c.error({"op": "case_open", "case": "C-BR2", "attrs": {"team": 3}}, ("bad_request", "bad_attribute"))
        # Case references: 1-64 of A-Z a-z 0-9 . _ / -
        for ref in ["", "C 1001", "C-1001;DROP", "C\u00e9", "x" * 65, "C-1\n"]:
            c.error({"op": "case_open", "case": ref}, "bad_request")
        c.ok({"op": "case_open", "case": "a" * 64})
        c.ok({"op": "case_open", "case": "Az09._/-"})
        eq(snapshot(c, "C-BR1"), before, "C-BR1 after the bad requests")
        c.error({"op": "show", "case": "C-BR2"}, "unknown_case")


@test
def dates_must_be_real_and_not_in_the_future():
    with daemon().client() as c:
        before = make_case(c, "C-DT1")
        ev = {"op": "event", "case": "C-DT1", "type": "decision_to_assess", "attrs": {"outcome": "yes"}}
        for bad in ["2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "2026-1-5", "26-01-05",
                    "2026-01-05T00:00", "", "2026/01/05", " 2026-01-05", "2026-01-32"]:
            c.error(dict(ev, on=bad), "bad_date")
        c.error(dict(ev, on="2026-03-02"), "bad_date")   # tomorrow on the daemon's clock
        c.error(dict(ev, on="2027-01-01"), "bad_date")
        c.error(dict(ev, on="2026-01-04"), "bad_date")   # before the process started
        c.error({"op": "case_open", "case": "C-DT2", "dob": "2015-02-29"}, "bad_date")
        c.error({"op": "case_open", "case": "C-DT2", "dob": "2015-1-1"}, "bad_date")
        c.ok({"op": "case_open", "case": "C-DT3", "dob": "2016-02-29"})  # a leap day is real
        c.error({"op": "start", "case": "C-DT3", "workflow": "ehcp-assessment", "on": "2026-03-02"},
                "bad_date")
        c.error({"op": "start", "case": "C-DT3", "workflow": "ehcp-assessment", "on": "2026-02-30"},
                "bad_date")
        c.error({"op": "clock_set", "to": "2026-03-01"}, ("bad_request", "bad_date"))
        c.error({"op": "clock_set", "to": "2026-02-30T10:00"}, ("bad_request", "bad_date"))
        c.error({"op": "clock_set", "to": "2026-03-01T25:00"}, ("bad_request", "bad_date"))
        eq(snapshot(c, "C-DT1"), before, "C-DT1 after the bad dates")
        for ref in ("C-DT2",):
            c.error({"op": "show", "case": ref}, "unknown_case")
        eq([p for p in snapshot(c, "C-DT3")["processes"]], [], "C-DT3 processes")
        eq(c.ok({"op": "clock"})["now"], CLOCK, "clock after refused clock_set")


@test
def unknown_things_and_events_not_allowed():
    with daemon().client() as c:
        before = make_case(c, "C-UN1")
        pid = before["processes"][0]["id"]
        for op in ({"op": "show", "case": "C-NOPE"},
                   {"op": "start", "case": "C-NOPE", "workflow": "ehcp-assessment", "on": "2026-01-05"},
                   {"op": "event", "case": "C-NOPE", "type": "withdrawn", "on": "2026-01-05"}):
            c.error(op, "unknown_case")
        c.error({"op": "start", "case": "C-UN1", "workflow": "no-such-workflow", "on": "2026-01-05"},
                "unknown_workflow")
        c.error({"op": "start", "case": "C-UN1", "workflow": "ehcp-assessment", "on": "2026-01-06"},
                "already_active")
        ev = {"op": "event", "case": "C-UN1", "on": "2026-02-01"}
        c.error(dict(ev, type="frobnicated"), "unknown_event")
        c.error(dict(ev, type="review_meeting_held"), "unknown_event")  # no annual review on this case
        c.error(dict(ev, type="decision_to_assess"), "bad_attribute")  # outcome missing
        c.error(dict(ev, type="decision_to_assess", attrs={"outcome": "maybe"}), "bad_attribute")
        c.error(dict(ev, type="decision_to_assess", attrs={"outcome": "yes", "colour": "red"}),
                "bad_attribute")
        c.error(dict(ev, type="advice_requested", attrs={"from": "astrology"}), "bad_attribute")
        c.error(dict(ev, type="final_plan_issued"), "not_allowed")  # a final plan before a draft
        c.error(dict(ev, type="draft_plan_issued"), "not_allowed")  # a draft before the decision
        c.error(dict(ev, type="decision_to_assess", attrs={"outcome": "yes"}, process="999999"),
                "no_process")
        c.error({"op": "case_open", "case": "C-UN1", "dob": "2015-10-03"}, "case_exists")
        c.error({"op": "case_open", "case": "C-UN1", "dob": "2015-10-02", "attrs": {"team": "south"}},
                "case_exists")
        r = c.ok({"op": "case_open", "case": "C-UN1", "dob": "2015-10-02", "attrs": {"team": "north"}})
        eq(r.get("created"), False, "re-opening with the same details")
        eq(snapshot(c, "C-UN1"), before, "C-UN1 after refused requests")
        # The process named explicitly works.
        c.ok(dict(ev, type="decision_to_assess", attrs={"outcome": "yes"}, process=pid))


@test
def pipelined_requests_are_answered_in_order():
    with daemon().client() as c:
        make_case(c, "C-PL1")
        reqs = []
        for i in range(60):
            kind = i % 4
            if kind == 0:
                reqs.append({"op": "ping", "id": i})
            elif kind == 1:
                reqs.append({"op": "show", "case": "C-PL1", "id": i})
            elif kind == 2:
                reqs.append({"op": "show", "case": "C-NOPE-%d" % i, "id": i})
            else:
                reqs.append({"op": "case_open", "case": "C-PL-%d" % i, "id": i})
        replies = c.pipeline(reqs)
        eq([r.get("id") for r in replies], list(range(60)), "reply ids in order")
        for i, r in enumerate(replies):
            want_ok = i % 4 != 2
            assert r.get("ok") is want_ok, "reply %d: %s" % (i, r)
            if i % 4 == 3:
                eq(r["case"]["ref"], "C-PL-%d" % i, "case_open reply %d" % i)
        # Writes and reads of one case, pipelined: each read sees the writes before it.
        replies = c.pipeline([
            {"op": "event", "case": "C-PL1", "type": "decision_to_assess", "on": "2026-02-01",
             "attrs": {"outcome": "yes"}, "id": "w"},
            {"op": "show", "case": "C-PL1", "id": "r"}])
        eq([r.get("ok") for r in replies], [True, True], "event then show")
        eq(replies[1]["processes"][0]["state"], "assessing", "show after a pipelined event")


@test
def misbehaving_clients_do_not_affect_others():
    d = daemon()
    with d.client() as good:
        make_case(good, "C-MB1")
        # A client that goes away in the middle of a line.
        c = d.client()
        c.send_raw(b'{"op":"show","case":"C-M')
        c.close()
        # A client that sends requests and leaves without reading the replies.
        c = d.client()
        c.send_raw(b''.join(b'{"op":"show","case":"C-MB1"}\n' for _ in range(200)))
        c.close()
        good.ok({"op": "ping"})
        # A client that floods without reading: its replies back up, the
        # daemon must stop reading it, not stop serving everyone else.
        flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        flood.connect(d.socket)
        flood.setblocking(False)
        line = b'{"op":"show","case":"C-MB1"}\n'
        chunk = line * 2000
        sent = 0
        stop = time.monotonic() + timeout(5)
        while time.monotonic() < stop and sent < 64 * MiB:
            try:
                sent += flood.send(chunk)
            except BlockingIOError:
                break
        try:
            for i in range(20):
                t0 = time.monotonic()
                r = good.ok({"op": "show", "case": "C-MB1", "id": i}, seconds=10)
                eq(r.get("id"), i, "reply id while another client floods")
            good.ok({"op": "event", "case": "C-MB1", "type": "decision_to_assess", "on": "2026-02-02",
                     "attrs": {"outcome": "yes"}})
            with d.client() as newcomer:
                newcomer.ok({"op": "ping"})
        finally:
            flood.close()
        good.ok({"op": "ping"})


@test
def cli_errors_are_one_line_and_non_zero():
    d = daemon()
    d.cli("case", "open", "C-CL1")
    d.cli("start", "C-CL1", "ehcp-assessment", "--on", "2026-01-05")
    before = d.cli("show", "C-CL1", json=True)
    # No daemon on that socket.
    dead = os.path.join(tempdir(), "none.sock")
    rc, out, err = cli("show", "C-CL1", socket_path=dead, check=False)
    assert rc != 0, "the CLI succeeded with no daemon"
    one_line(err, "no daemon")
    eq(out, "", "stdout with no daemon")
    # A socket that nobody listens on any more (a stale file).
    stale = os.path.join(tempdir(), "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()
    rc, out, err = cli("clock", socket_path=stale, check=False)
    assert rc != 0, "the CLI succeeded on a stale socket"
    one_line(err, "stale socket")
    # Exit 2: refused by the CLI before anything is sent; exit 1 with the daemon's
    # code: refused by the daemon (which proves it was reached and said why).
    for args, rc_want, says in (
            (["event", "C-CL1", "decision_to_assess", "--on", "2026-02-30", "--set", "outcome=yes"], 2, "2026-02-30"),
            (["event", "C-CL1", "decision_to_assess", "--on", "tomorrow", "--set", "outcome=yes"], 2, "tomorrow"),
            (["event", "C-CL1", "decision_to_assess", "--on", "2026-02-01", "--set", "outcome"], 2, "KEY=VALUE"),
            (["event", "C-CL1", "decision_to_assess", "--on", "2026-02-01", "--set", "=yes"], 2, "KEY=VALUE"),
            (["event", "C-CL1", "decision_to_assess", "--on", "2026-02-01", "--set", "outcome=yes",
              "--set", "outcome=no"], 2, "twice"),
            (["event", "C-CL1", "decision_to_assess", "--on", "2026-02-01", "--set", "outcome=maybe"], 1, "bad_attribute"),
            (["event", "C-CL1", "final_plan_issued", "--on", "2026-02-01"], 1, "not_allowed"),
            (["event", "C-CL1", "decision_to_assess", "--set", "outcome=yes"], 2, "--on"),
            (["case", "open", "C-CL2", "--dob", "2015-02-29"], 2, "2015-02-29"),
            (["show", "C-NOPE"], 1, "unknown_case"),
            (["start", "C-NOPE", "ehcp-assessment", "--on", "2026-01-05"], 1, "unknown_case"),
            (["due", "--within", "soon"], 2, "soon"),
            (["clock", "set", "2026-02-01T00:00"], 1, "clock_backwards"),
            ([], 2, "no command"),
            (["frobnicate"], 2, "frobnicate")):
        rc, out, err = d.cli(*args, check=False)
        eq(rc, rc_want, "exit status of sendflow %s (stderr %r)" % (" ".join(args), err))
        one_line(err, "sendflow " + " ".join(args))
        assert says in err, "sendflow %s: the reason does not mention %r: %r" % (" ".join(args), says, err)
    # With --json a refusal by the daemon is also one JSON document on stdout.
    rc, out, err = d.cli("show", "C-NOPE", "--json", check=False)
    eq(rc, 1, "exit status of show --json for an unknown case")
    eq(json.loads(out)["error"]["code"], "unknown_case", "--json error document")
    rc, _, err = d.cli("show", "C-NOPE", check=False)
    assert "C-NOPE" in err or "unknown" in err.lower() or "no case" in err.lower(), \
        "the reason does not say the case is unknown: %r" % err
    eq(d.cli("show", "C-CL1", json=True), before, "C-CL1 after refused CLI commands")
    rc, _, _ = d.cli("show", "C-CL2", check=False)
    assert rc != 0, "C-CL2 was created by a refused case open"
    # SENDFLOW_SOCKET works as well as --socket.
    rc, out, err = d.cli("clock", use_env=True, check=False)
    eq(rc, 0, "sendflow clock with SENDFLOW_SOCKET (stderr %r)" % err)


@test
def teardown():
    """Stop the shared daemon: it must exit 0 with a clean stderr after all that."""
    if "d" in state:
        state.pop("d").stop()
        state.pop("db").drop()


@test
def a_burst_of_instant_replies_is_answered_in_order_without_deep_recursion():
    """Requests answered without the database (ping, unknown op) used to reply
    from inside the line parser and re-enter it, one stack level per line. A
    client that pipelines a mass of them behind one slow request (here an
    event held up by a row lock) could overflow the daemon's stack."""
    import subprocess
    import threading
    d = daemon()
    host, port = os.environ["SENDFLOW_TEST_PGHOST"], os.environ["SENDFLOW_TEST_PGPORT"]
    with d.client() as c:
        make_case(c, "C-BURST")
        # Hold the case row so that the event's write waits.
        locker = subprocess.Popen(
            ["psql", "-X", "-q", "-tA", "-h", host, "-p", port, "-U", "postgres", "-d",
             state["db"].name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            locker.stdin.write("BEGIN;\nSELECT 'locked' FROM cases WHERE ref = 'C-BURST' FOR UPDATE;\n")
            locker.stdin.flush()
            assert "locked" in locker.stdout.readline(), "could not lock the case row"
            n = 60000
            burst = ['{"op":"event","id":-1,"case":"C-BURST","type":"advice_requested",'
                     '"on":"2026-01-06","attrs":{"from":"health"}}']
            # The shortest line the handlers answer at once: as many as possible per read.
            burst += ['{"op":""}'] * n
            sender = threading.Thread(target=c.send_raw, args=(("\n".join(burst) + "\n").encode(),))
            sender.start()
            # Give the daemon a moment to read what it will while the event waits (a
            # shorter moment only makes the test milder, never wrong).
            time.sleep(1)
        finally:
            locker.stdin.write("COMMIT;\n")
            locker.stdin.close()
            locker.wait(timeout=timeout(30))
        r = c.recv(seconds=60)
        assert r.get("id") == -1 and r["ok"], r
        for i in range(n):
            r = c.recv(seconds=60)
            assert not r["ok"] and r["error"]["code"] == "unknown_op", "reply %d: %r" % (i, r)
        sender.join()
        c.ok({"op": "ping"})


main()
