"""The audit trail (issue 9, stage 1): every change (case opened, process
started, event posted or voided, acknowledgement, clock, recompute), every
read of one child's record (show, history) and every refusal by role is a
row: who, role, via, wall-clock and daemon-clock time, op, case, key,
result. `sendflow audit` shows them; the schema refuses UPDATE, DELETE and
TRUNCATE on the table.
"""
import os
import re
import secrets
import subprocess

from sfharness import test, main, Database, Daemon, eq, wait_for, TestError, psql, timeout

CLOCK = "2026-06-01T09:00"
UTC_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def audit(d, *args):
    return d.cli("audit", *args, json=True)["rows"]


@test
def every_change_and_read_is_a_row():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        me = d.cli("ping")  # the CLI runs as the daemon's user: admin
        c.ok({"op": "case_open", "case": "C-1"})
        c.ok({"op": "start", "case": "C-1", "workflow": "ehcp-assessment", "on": "2026-01-05",
              "key": "s-1"})
        ev = c.ok({"op": "event", "case": "C-1", "type": "decision_to_assess",
                   "on": "2026-02-10", "attrs": {"outcome": "yes"}, "key": "e-1",
                   "actor": "dana"})
        c.ok({"op": "show", "case": "C-1"})
        c.ok({"op": "history", "case": "C-1"})
        c.ok({"op": "void", "case": "C-1", "event": ev["event"]["id"], "reason": "wrong day"})
        c.error({"op": "event", "case": "C-1", "type": "no_such_event", "on": "2026-02-11"},
                ("unknown_event", "bad_attribute", "not_allowed"))
        c.ok({"op": "clock_set", "to": "2026-06-02T09:00"})
        rows = audit(d)
        got = [(r["op"], r["case"], r["key"], r["result"]) for r in rows]
        eq(got[:6], [("case_open", "C-1", None, "ok"), ("start", "C-1", "s-1", "ok"),
                     ("event", "C-1", "e-1", "ok"), ("show", "C-1", None, "ok"),
                     ("history", "C-1", None, "ok"), ("void", "C-1", None, "ok")], "rows")
        eq(got[6][0], "event", "the refused event")
        if got[6][2] is not None or got[6][3] == "ok":
            raise TestError("refused event row: %r" % (rows[6],))
        eq(got[7][:1] + got[7][3:], ("clock_set", "ok"), "clock_set row")
        for r in rows:
            eq((r["role"], r["via"], r["who"]), ("admin", "unix:" + r["who"], r["who"]), "who")
            if not UTC_RE.match(r["at"]):
                raise TestError("at: %r" % r["at"])
        eq(rows[0]["clock"], CLOCK, "daemon clock of the first row")
        eq(rows[2]["on_behalf"], "dana", "the event's actor is recorded beside who")
        eq(rows[2]["detail"], "event " + ev["event"]["id"], "the event row's detail")
        # One case, and --since.
        eq(len(audit(d, "C-1")), 7, "rows of C-1")
        eq(audit(d, "C-2"), [], "rows of another case")
        eq(audit(d, "--since", "2099-01-01"), [], "rows since a future date")
        _, text, _ = d.cli("audit", "C-1")
        if "case_open" not in text or "unix:" not in text:
            raise TestError("sendflow audit text:\n" + text)
        # Paged like history.
        page = d.cli("audit", "--limit", "3", json=True)
        eq(len(page["rows"]), 3, "first page")
        nxt = d.cli("audit", "--limit", "3", "--cursor", page["next"], json=True)
        eq(nxt["rows"][0]["id"], rows[3]["id"], "second page starts after the first")


@test
def the_trail_cannot_be_changed():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-1"})
        wait_for(lambda: db.sql("SELECT count(*) FROM audit_log").strip() == "1", 10, "the row")
        for sql in ("UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            try:
                db.sql(sql)
            except Exception as e:
                if "append-only" not in str(e):
                    raise TestError("%s: refused, but not by the trigger: %s" % (sql, e))
            else:
                raise TestError("%s was allowed" % sql)
        eq(db.sql("SELECT count(*) FROM audit_log").strip(), "1", "rows after")
        eq(db.sql("SELECT has_table_privilege('public', 'audit_log', 'UPDATE'),"
                  " has_table_privilege('public', 'audit_log', 'DELETE')").strip(), "f|f",
           "PUBLIC's grants")



@test
def the_daemons_own_role_cannot_change_the_trail():
    """Run as an ordinary role that owns its database (as in production), the
    daemon's role has no UPDATE, DELETE or TRUNCATE on audit_log (013): the
    privilege refuses before 009's trigger does."""
    role = "sf_own_" + secrets.token_hex(3)
    psql("CREATE ROLE %s LOGIN" % role)
    try:
        with Database() as db:
            psql('ALTER DATABASE "%s" OWNER TO %s' % (db.name, role))
            db.conninfo = db.conninfo.replace("user=postgres", "user=" + role)
            with Daemon(db, clock=CLOCK) as d, d.client() as c:
                c.ok({"op": "case_open", "case": "C-OWN"})
            eq(db.sql("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_log'").strip(),
               role, "the daemon's role owns the trail")
            host, port = db.conninfo.split()[0][5:], db.conninfo.split()[1][5:]
            for stmt in ("UPDATE audit_log SET who = 'x'", "DELETE FROM audit_log",
                         "TRUNCATE audit_log"):
                p = subprocess.run(["psql", "-X", "-q", "-tA", "-h", host, "-p", port, "-U", role,
                                    "-d", db.name, "-c", stmt],
                                   capture_output=True, text=True, timeout=timeout(60))
                assert p.returncode != 0 and "permission denied" in p.stderr, (stmt, p.stderr)
            eq(db.sql("SELECT count(*) FROM audit_log WHERE case_ref = 'C-OWN'").strip(), "1",
               "the row is still there")
            db.drop()
    finally:
        psql("DROP ROLE IF EXISTS %s" % role)

if __name__ == "__main__":
    main()
