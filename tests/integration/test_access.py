"""Identity and access (issue 9, stage 1): Unix-socket clients are known by
their peer uid, mapped to a role by --access; every "no" cell of design.md's
role table is refused as forbidden and changes nothing; an unknown uid (and
a TCP client without a token) is unauthenticated; the socket is 0660
with --socket-group. The test runs as root and creates the users it needs.
"""
import grp
import json
import os
import pwd
import socket
import stat
import subprocess

from sfharness import (test, main, Database, Daemon, RawClient, eq, TestError, timeout, wait_for,
                       tls_daemon)

CLOCK = "2026-06-01T09:00"
GROUP = "sf_sock"
USERS = {"sf_mgr": "manager", "sf_cw": "caseworker", "sf_int": "integration",
         "sf_aud": "auditor"}
STRANGER = "sf_stranger"  # a member of the socket's group, but not in the access file

# Every operation the protocol has, with fields enough to do something if it were allowed.
REQ = {
    "case_open": {"op": "case_open", "case": "C-NEW"},
    "start": {"op": "start", "case": "C-A1", "workflow": "ehcp-assessment", "on": "2026-05-01"},
    "event": {"op": "event", "case": "C-A1", "type": "decision_to_assess", "on": "2026-02-10",
              "attrs": {"outcome": "yes"}},
    "void": {"op": "void", "case": "C-A1", "event": "1", "reason": "mistake"},
    "show": {"op": "show", "case": "C-A1"},
    "due": {"op": "due", "within": 30},
    "history": {"op": "history", "case": "C-A1"},
    "escalations": {"op": "escalations"},
    "report": {"op": "report", "kind": "operations", "month": "2026-05"},
    "outbox": {"op": "outbox"},
    "watch": {"op": "watch"},
    "ack": {"op": "ack", "escalation": "1", "note": "seen"},
    "clock_set": {"op": "clock_set", "to": "2026-07-01T09:00"},
    "recompute": {"op": "recompute"},
    "reload": {"op": "reload"},
    "audit": {"op": "audit"},
    "case_assign": {"op": "case_assign", "case": "C-A1", "officer": "zz"},
    "caseload": {"op": "caseload"},
    "case_export": {"op": "case_export", "case": "C-A1"},
    "export": {"op": "export", "limit": 1},
    "import": {"op": "import", "dry_run": True,
               "rows": [{"line": 2, "case": "C-IMP", "on": "2026-01-05", "what": "case"}]},
}

# design.md's table: the cells that say no, per role.
NO = {
    "manager": ["clock_set", "recompute", "reload", "audit"],
    "caseworker": ["clock_set", "recompute", "reload", "audit"],
    "integration": ["void", "show", "due", "history", "escalations", "report", "outbox", "watch",
                    "ack", "clock_set", "recompute", "reload", "audit", "case_assign", "caseload",
                    "case_export", "export", "import"],
    "auditor": ["case_open", "start", "event", "void", "ack", "clock_set", "recompute",
                "reload", "case_assign", "import"],
}


def _send_as(uid, gid, groups, sock, reqs):
    """In a forked child with the user's ids: connect, send, return the replies."""
    os.setgroups(groups)
    os.setgid(gid)
    os.setuid(uid)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout(10))
    try:
        s.connect(sock)
    except OSError as e:
        return {"connect_error": e.errno}
    f = s.makefile("rwb")
    out = []
    for r in reqs:
        f.write((json.dumps(r) + "\n").encode())
        f.flush()
        out.append(json.loads(f.readline()))
    return out


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def ensure_users():
    if subprocess.run(["getent", "group", GROUP], capture_output=True).returncode != 0:
        sh("groupadd", "-r", GROUP)
    for u in list(USERS) + [STRANGER]:
        if subprocess.run(["id", u], capture_output=True).returncode != 0:
            sh("useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "-G", GROUP, u)


def as_user(user, sock, reqs):
    """Send reqs over the daemon's socket as Unix user `user` (a forked child that drops
    root for the user's uid, gid and groups); the replies, or {"connect_error": errno}."""
    pw = pwd.getpwnam(user)
    groups = os.getgrouplist(user, pw.pw_gid)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = json.dumps(_send_as(pw.pw_uid, pw.pw_gid, groups, sock, reqs))
        except BaseException as e:
            out = json.dumps({"child_error": repr(e)})
        os.write(w, out.encode())
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    got = json.loads(data)
    if isinstance(got, dict) and "child_error" in got:
        raise TestError("as %s: %s" % (user, got["child_error"]))
    return got


def access_daemon(db, extra=()):
    ensure_users()
    d = Daemon(db, clock=CLOCK, start=False)
    path = os.path.join(d.dir, "access.yaml")
    with open(path, "w") as f:
        f.write("users:\n" + "".join("  %s: %s\n" % (u, r) for u, r in USERS.items()))
    # Other users must reach the socket: the test's directory is traversable.
    os.chmod(d.dir, 0o755)
    d.extra_args += ["--access", path, "--socket-group", GROUP] + list(extra)
    return d.start()


def state(db):
    """Everything a refused request could have changed."""
    return db.sql("SELECT (SELECT count(*) FROM cases), (SELECT coalesce(sum(version), 0) FROM cases),"
                  " (SELECT count(*) FROM processes), (SELECT count(*) FROM events),"
                  " (SELECT count(*) FROM event_voids), (SELECT count(*) FROM escalation_acks),"
                  " (SELECT count(*) FROM deadlines)")


@test
def socket_is_0660_with_its_group():
    with Database() as db, access_daemon(db) as d:
        st = os.stat(d.socket)
        eq(stat.S_IMODE(st.st_mode), 0o660, "socket mode")
        eq(grp.getgrgid(st.st_gid).gr_name, GROUP, "socket group")
        eq(st.st_uid, os.geteuid(), "socket owner")


@test
def every_no_cell_is_forbidden_and_changes_nothing():
    with Database() as db, access_daemon(db) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-A1"})
        c.ok({"op": "start", "case": "C-A1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        before = state(db)
        clock = c.ok({"op": "clock"})
        for user, role in USERS.items():
            refused = NO[role]
            replies = as_user(user, d.socket, [REQ[op] for op in refused])
            for op, r in zip(refused, replies):
                if r.get("ok") is not False or r["error"]["code"] != "forbidden":
                    raise TestError("%s (%s) %s: expected forbidden, got %r" % (user, role, op, r))
                if role not in r["error"]["message"]:
                    raise TestError("%s: the refusal names no role: %r" % (op, r))
            eq(state(db), before, "state after %s's refusals" % role)
        eq(c.ok({"op": "clock"})["now"], clock["now"], "clock after the refusals")
        # Each refusal is in the audit trail, with who was refused.
        want = sum(len(v) for v in NO.values())
        q = "SELECT count(*) FROM audit_log WHERE result = 'forbidden'"
        wait_for(lambda: db.sql(q).strip() == str(want), 20, "%d forbidden rows" % want)
        eq(db.sql("SELECT who || ' ' || role || ' ' || via FROM audit_log WHERE"
                  " result = 'forbidden' AND op = 'recompute' ORDER BY who").split("\n")[:4],
           ["sf_aud auditor unix:sf_aud", "sf_cw caseworker unix:sf_cw",
            "sf_int integration unix:sf_int", "sf_mgr manager unix:sf_mgr"], "refusal rows")


@test
def the_yes_cells_answer():
    with Database() as db, access_daemon(db) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-A1"})
        c.ok({"op": "start", "case": "C-A1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        for user, role in USERS.items():
            allowed = [op for op in ("ping", "clock", "workflows", "show", "due", "history",
                                     "case_export", "export", "import")
                       if op not in NO[role]]
            reqs = [REQ.get(op, {"op": op}) for op in allowed]
            for op, r in zip(allowed, as_user(user, d.socket, reqs)):
                if r.get("ok") is not True:
                    raise TestError("%s (%s) %s: expected ok, got %r" % (user, role, op, r))
        # Writers: an integration opens a case and posts for a caseworker it names.
        r = as_user("sf_int", d.socket, [
            {"op": "case_open", "case": "C-I1"},
            {"op": "start", "case": "C-I1", "workflow": "ehcp-assessment", "on": "2026-01-05",
             "actor": "dana"}])
        eq([x["ok"] for x in r], [True, True], "integration writes")


@test
def a_caseworker_is_themself_whatever_actor_they_send():
    with Database() as db, access_daemon(db) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-A1"})
        r = as_user("sf_cw", d.socket, [
            {"op": "start", "case": "C-A1", "workflow": "ehcp-assessment", "on": "2026-01-05",
             "actor": "someone_else"},
            {"op": "event", "case": "C-A1", "type": "decision_to_assess", "on": "2026-02-10",
             "attrs": {"outcome": "yes"}}])
        eq([x["ok"] for x in r], [True, True], "caseworker writes")
        eq(db.sql("SELECT started_by FROM processes").strip(), "sf_cw", "start's actor")
        eq(db.sql("SELECT actor FROM events").strip(), "sf_cw", "event's actor")


@test
def an_unknown_uid_is_unauthenticated():
    with Database() as db, access_daemon(db) as d:
        before = state(db)
        r = as_user(STRANGER, d.socket, [{"op": "ping"}, REQ["case_open"]])
        eq([x["error"]["code"] for x in r], ["unauthenticated"] * 2, "stranger")
        eq(state(db), before, "state after the stranger")
        # Not in the socket's group at all: the kernel refuses the connection.
        r = as_user("nobody", d.socket, [{"op": "ping"}])
        if "connect_error" not in r:
            raise TestError("nobody could connect to a 0660 socket: %r" % r)


@test
def without_access_only_the_daemons_user_is_admitted():
    ensure_users()
    with Database() as db:
        d = Daemon(db, clock=CLOCK, start=False)
        os.chmod(d.dir, 0o755)
        d.extra_args += ["--socket-group", GROUP]
        with d.start(), d.client() as c:
            c.ok({"op": "clock_set", "to": "2026-06-02T09:00"})
            r = as_user("sf_mgr", d.socket, [{"op": "ping"}])
            eq(r[0]["error"]["code"], "unauthenticated", "a user without --access")
            if "only the daemon's own user" not in d.stderr():
                raise TestError("the startup log does not say who is admitted:\n" + d.stderr())
    

@test
def tcp_clients_without_a_token_are_unauthenticated():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t:
            t.error({"op": "ping"}, "unauthenticated")
            t.error({"op": "case_open", "case": "C-T1"}, "unauthenticated")
        eq(db.sql("SELECT count(*) FROM cases").strip(), "0", "cases after TCP")


@test
def a_bad_access_file_stops_the_daemon():
    with Database() as db:
        d = Daemon(db, clock=CLOCK, start=False)
        path = os.path.join(d.dir, "access.yaml")
        for text, want in [("users:\n  root: wizard\n", "unknown role"),
                           ("users:\n  no_such_user_sf: admin\n", "no such Unix user"),
                           ("people: {}\n", "unknown key")]:
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run(d.argv() + ["--access", path], capture_output=True, text=True,
                               timeout=timeout(30), cwd=d.dir)
            if p.returncode == 0 or want not in p.stderr:
                raise TestError("%r: expected exit != 0 with %r, got %d %r" % (
                    text, want, p.returncode, p.stderr))


if __name__ == "__main__":
    main()
