"""Bounded clients (issue 9, item 5): one peer holding thousands of idle
connections cannot lock another user out; each peer (a Unix uid, a TCP
address) has a share, the last slots are kept for peers holding none, a
refused connection gets a "busy" line; an idle connection is closed with an
"idle_timeout" line while a watch stream stays open; attributes are bounded
in count and size and a case's keys are the configuration's. The test runs
as root and creates the users it needs.
"""
import json
import re
import os
import pwd
import resource
import socket
import subprocess
import time

from sfharness import (tls_cert, test, main, Database, Daemon, RawClient, eq, TestError, timeout, wait_for,
                       cli, SENDFLOWD, WORKFLOWS_DIR)

CLOCK = "2026-06-01T09:00"
GROUP = "sf_sock"
OTHER = "sf_lim"  # another Unix user, a caseworker in the access file


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def ensure_user():
    if subprocess.run(["getent", "group", GROUP], capture_output=True).returncode != 0:
        sh("groupadd", "-r", GROUP)
    if subprocess.run(["id", OTHER], capture_output=True).returncode != 0:
        sh("useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "-G", GROUP, OTHER)


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        raise TestError("the hard open-files limit %d is below the %d this test needs" % (hard, want))
    if soft == resource.RLIM_INFINITY or soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def limits_daemon(db, extra=(), listen=None):
    ensure_user()
    d = Daemon(db, clock=CLOCK, listen=listen, start=False)
    path = os.path.join(d.dir, "access.yaml")
    with open(path, "w") as f:
        f.write("users:\n  %s: caseworker\n" % OTHER)
    os.chmod(d.dir, 0o755)  # the other user must reach the socket
    d.extra_args += ["--access", path, "--socket-group", GROUP] + list(extra)
    return d.start()


def other_cli(d, *args, check=True):
    """The real CLI, run as the other Unix user."""
    return cli(*args, check=check, socket_path=d.socket, wrapper=("runuser", "-u", OTHER, "--"))


def connect_unix(path):
    """Connect; a full listen backlog (EAGAIN on a Unix socket) is waited out."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout(10))
    give_up = time.monotonic() + timeout(10)
    while True:
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.01)


def connect_tcp(port, source):
    """A TCP connection from a loopback address of our choosing: each source is another peer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout(10))
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def first_line(s, seconds):
    """The first line the daemon sent on s within seconds (parsed), or None if none came."""
    s.settimeout(seconds)
    buf = b""
    try:
        while b"\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        return None
    if b"\n" not in buf:
        return None
    return json.loads(buf.split(b"\n", 1)[0])


def is_closed(s, seconds):
    """Did the daemon close s (EOF after whatever it sent) within seconds?"""
    s.settimeout(seconds)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def busy(reply, what):
    if not reply or reply.get("ok") is not False or reply["error"]["code"] != "busy":
        raise TestError("%s: expected a busy line, got %r" % (what, reply))
    eq(reply.get("id"), None, what + ": id")
    return reply["error"]["message"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@test
def two_thousand_idle_connections_of_one_peer_do_not_lock_out_another_user():
    raise_nofile(2300)
    with Database() as db, limits_daemon(db) as d:
        held = []
        # The harness's ready-ping connection must be gone (its close is seen asynchronously).
        time.sleep(timeout(0.3))
        try:
            for _ in range(2000):
                held.append(connect_unix(d.socket))
            # The first 64 (the default share) are admitted and answer; each later one was
            # told "busy" on one line and closed.
            ok = held[63]
            ok.sendall(b'{"op":"ping","id":1}\n')
            r = first_line(ok, timeout(10))
            eq((r or {}).get("ok"), True, "ping on the 64th connection")
            msg = busy(first_line(held[64], timeout(10)), "the 65th connection")
            assert "64 connections" in msg and "--max-clients-per-peer" in msg, msg
            for i in range(64, 2000):
                if not is_closed(held[i], timeout(10)):
                    raise TestError("connection %d over the share was not closed" % i)
            eq(first_line(held[0], 0.2), None, "an admitted idle connection is left alone")
            # Root (this test's peer) is at its share: its CLI is refused, precisely.
            rc, out, err = cli("ping", check=False, socket_path=d.socket)
            eq(rc, 1, "root's ping over its share")
            assert "busy" in err and "--max-clients-per-peer" in err, err
            # Another user is served all the while, by the real CLI.
            rc, out, err = other_cli(d, "ping")
            eq(rc, 0, "the other user's ping")
            other_cli(d, "case", "open", "C-LIM1", "--set", "team=north")
            eq(db.sql("SELECT count(*) FROM cases WHERE ref = 'C-LIM1'").strip(), "1", "case opened")
        finally:
            for s in held:
                s.close()
        # Once root lets go, it is served again.
        wait_for(lambda: cli("ping", check=False, socket_path=d.socket)[0] == 0, timeout(10),
                 "root to be served again")
        assert "refused (uid:0)" in d.stderr(), "the refusal is logged with its peer"
        lines = [l for l in d.stderr().splitlines() if "refused (uid:0)" in l]
        assert len(lines) < 200, "refusals flood the log: %d lines" % len(lines)


def connect_tls(port, source, ca):
    """A TLS connection from a loopback address of our choosing (each source is
    another peer), or None when the daemon closed it at once: a refusal at
    accept has no session to answer on, so it is a close without a line."""
    import ssl
    ctx = ssl.create_default_context(cafile=ca)
    raw = connect_tcp(port, source)
    try:
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")
    except (ssl.SSLError, ConnectionError, OSError):
        raw.close()
        return None


@test
def tcp_peers_are_addresses_and_the_last_slots_are_kept_for_new_peers():
    port = free_port()
    cert, key = tls_cert()
    with Database() as db, limits_daemon(db, listen="127.0.0.1:%d" % port,
                                         extra=["--max-clients", "40",
                                                "--max-clients-per-peer", "10",
                                                "--tls-cert", cert, "--tls-key", key]) as d:
        held = []
        # The harness's ready-ping connection must be gone (its close is seen asynchronously).
        time.sleep(timeout(0.3))
        try:
            # Three hosts take their share of 10 each: 30 of 40.
            for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
                for _ in range(10):
                    s = connect_tls(port, host, cert)
                    assert s is not None, host + ": a connection within its share"
                    held.append(s)
                eq(connect_tls(port, host, cert), None, host + " over its share: closed")
            for s in held[:10]:
                eq(first_line(s, 0.05), None, "an admitted connection")
            # The last 10 slots go only to hosts holding none: one each.
            for i in range(10):
                s = connect_tls(port, "127.0.1.%d" % (i + 1), cert)
                assert s is not None, "a new host's first connection"
                held.append(s)
                eq(connect_tls(port, "127.0.1.%d" % (i + 1), cert), None,
                   "a new host's second connection")
            # Full: anyone new, a Unix user included, is refused; the Unix user is told so.
            eq(connect_tls(port, "127.0.2.1", cert), None, "a host when full")
            rc, out, err = other_cli(d, "ping", check=False)
            eq(rc, 1, "the other user's ping when the daemon is full")
            assert "busy" in err and "--max-clients" in err, err
            # One host lets go of one connection: a new user gets in.
            held[0].close()
            wait_for(lambda: other_cli(d, "ping", check=False)[0] == 0, timeout(10),
                     "the other user to be served once a slot is free")
            assert re.search(r"refused \(tcp:127\.0\.0\.2\)", d.stderr()), \
                "the TCP refusal is logged with its peer"
        finally:
            for s in held:
                s.close()


@test
def idle_connections_are_closed_but_watch_streams_and_busy_ones_are_not():
    with Database() as db:
        d = limits_daemon(db, extra=["--idle-timeout", "2"])
        idle = RawClient(d.socket)
        t0 = time.monotonic()
        watcher = RawClient(d.socket)
        eq(watcher.request({"op": "watch", "id": "w"})["watching"], True, "watching")
        talker = RawClient(d.socket)
        keepalive = RawClient(d.socket)
        # Talk and keep alive for longer than the timeout.
        for _ in range(8):
            talker.ok({"op": "ping"})
            keepalive.send_raw(b"\n")  # a blank line is a keep-alive
            time.sleep(0.5)
        r = idle.recv(timeout(10))
        waited = time.monotonic() - t0
        eq((r["ok"], r["error"]["code"], r["id"]), (False, "idle_timeout", None), "idle line")
        assert "2 s" in r["error"]["message"], r
        assert waited >= 2.0, "closed after %.2f s, before the 2 s timeout" % waited
        assert is_closed(idle.sock, timeout(5)), "the idle connection is closed"
        talker.ok({"op": "ping"})
        keepalive.ok({"op": "ping"})
        # The watch stream is a request in flight: never idle.
        try:
            watcher.sock.settimeout(0.5)
            data = watcher.sock.recv(4096)
            raise TestError("the watch stream got %r while idle" % data)
        except socket.timeout:
            pass
        d.stop()
        eq(watcher.recv(timeout(10)).get("end"), True, "the stream ended only at the stop")
        assert "closed: idle for 2 s" in d.stderr()
        for c in (idle, watcher, talker, keepalive):
            c.close()


def state(db):
    return db.sql("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM processes),"
                  " (SELECT count(*) FROM events)")


def bad_attribute(c, req, *words):
    r = c.request(req, seconds=30)
    if r.get("ok") is not False or r["error"]["code"] != "bad_attribute":
        raise TestError("%s: expected bad_attribute, got %r" % (req.get("op"), r))
    for w in words:
        assert w in r["error"]["message"], (w, r["error"]["message"])
    return r["error"]["message"]


@test
def attributes_are_bounded_and_a_case_takes_only_known_keys():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-AT1", "attrs": {"officer": "jb", "team": "north",
                                                           "school_system": "three_tier"}})
        c.ok({"op": "start", "case": "C-AT1", "workflow": "ehcp-assessment", "on": "2026-05-01"})
        before = state(db)
        many = {"k%d" % i: "v" for i in range(50000)}
        bad_attribute(c, {"op": "case_open", "case": "C-AT2", "attrs": many},
                      "50000 attributes", "at most 32", "--max-attributes")
        bad_attribute(c, {"op": "start", "case": "C-AT1", "workflow": "annual-review",
                          "on": "2026-05-01", "attrs": many}, "at most 32")
        bad_attribute(c, {"op": "event", "case": "C-AT1", "type": "decision_to_assess",
                          "on": "2026-05-10", "attrs": many}, "at most 32")
        bad_attribute(c, {"op": "case_open", "case": "C-AT2", "attrs": {"team": "x" * 257}},
                      "\"team\"", "257 bytes", "at most 256", "--max-attribute-length")
        bad_attribute(c, {"op": "event", "case": "C-AT1", "type": "decision_to_assess",
                          "on": "2026-05-10", "attrs": {"outcome": "y" * 300}}, "300 bytes")
        msg = bad_attribute(c, {"op": "case_open", "case": "C-AT2", "attrs": {"nhs_number": "1"}},
                            "no attribute \"nhs_number\"")
        for key in ("officer", "team", "school", "school_system"):
            assert key in msg, (key, msg)
        # Precise errors, nothing changed.
        eq(state(db), before, "nothing changed")
        # The CLI says so too.
        rc, out, err = d.cli("case", "open", "C-AT3", "--set", "nhs_number=1", check=False)
        eq(rc, 1, "CLI exit status")
        assert "bad_attribute" in err and "nhs_number" in err, err
        # Exactly at the limits is fine.
        c.ok({"op": "case_open", "case": "C-AT4", "attrs": {"officer": "o" * 256}})
    # --case-attributes adds keys; the limits are options.
    with Database() as db, Daemon(db, clock=CLOCK,
                                  extra_args=["--case-attributes", "locality, area",
                                              "--max-attributes", "2",
                                              "--max-attribute-length", "4"]) as d, \
            d.client() as c:
        c.ok({"op": "case_open", "case": "C-AT5", "attrs": {"locality": "ab", "area": "cd"}})
        bad_attribute(c, {"op": "case_open", "case": "C-AT6",
                          "attrs": {"locality": "ab", "area": "cd", "team": "n"}}, "at most 2")
        bad_attribute(c, {"op": "case_open", "case": "C-AT6", "attrs": {"team": "north"}},
                      "at most 4")
        eq(db.sql("SELECT count(*) FROM cases").strip(), "1", "only the good case")


@test
def a_share_over_half_the_slots_is_refused_at_start():
    p = subprocess.run([SENDFLOWD, "--workflows", WORKFLOWS_DIR, "--max-clients", "100",
                        "--max-clients-per-peer", "51"], capture_output=True, text=True,
                       timeout=timeout(30))
    eq(p.returncode, 2, "exit status")
    assert "--max-clients-per-peer 51 must be at most half of --max-clients 100" in p.stderr, p.stderr


if __name__ == "__main__":
    main()
