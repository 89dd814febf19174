"""Starting sendflowd: invalid workflows are refused naming file and line,
migrations apply once, several daemons share one database, the clock modes,
`workflows validate`, and TCP listening."""
import datetime
import os
import re
import shutil
import socket
import zoneinfo

from sfharness import (test, main, Database, Daemon, RawClient, TestError, cli, eq, tempdir,
                       tls_daemon, WORKFLOWS_DIR, SOURCE_DIR)

CLOCK = "2026-03-01T09:00"


def broken_copy(filename, old, new):
    """A copy of the shipped workflows with `old` replaced by `new` in one
    file; returns (dir, path, the 1-based line of the change)."""
    d = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, d)
    path = os.path.join(d, filename)
    with open(path) as f:
        lines = f.read().split("\n")
    hits = [i for i, l in enumerate(lines) if old in l]
    if len(hits) != 1:
        raise TestError("fixture: %r found %d times in %s" % (old, len(hits), filename))
    lines[hits[0]] = lines[hits[0]].replace(old, new)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return d, path, hits[0] + 1


BREAKAGES = [
    # (file, old, new, exact line expected?)
    # (the deadline's own rule, not its or_later for a move to another authority)
    ("ehcp-assessment.yaml", "    within: 20 weeks", "    within: twenty weeks", True),
    ("ehcp-assessment.yaml", "{from: [drafting], to: plan_issued}", "{from: [drafting], to: nowhere}", True),
    ("ehcp-assessment.yaml", "met_by: [final_plan_issued]", "met_by: [no_such_event]", True),
    ("annual-review.yaml", "beginning_with: 12 months", "beginning_with: [12, months]", True),
    ("annual-review.yaml", "title: Annual review of an EHC plan", "title: [unclosed", False),  # YAML syntax
]


@test
def invalid_workflow_refused_naming_file_and_line():
    with Database() as db:
        for fname, old, new, exact in BREAKAGES:
            wdir, path, line = broken_copy(fname, old, new)
            d = Daemon(db, clock=CLOCK, workflows=wdir, start=False)
            d.start(wait=False)
            rc = d.wait_exit(seconds=20)
            d.kill()
            err = d.stderr()
            assert rc not in (0, None), "sendflowd started with %s broken (%s); stderr:\n%s" % (fname, new, err)
            assert 0 < rc < 128, "sendflowd died (status %d) on a broken workflow:\n%s" % (rc, err)
            m = re.search(r"\[([^\]\n]*%s):(\d+)(:\d+)?\]" % re.escape(fname), err)
            assert m, "stderr does not name [%s:LINE] (broke line %d with %r):\n%s" % (fname, line, new, err)
            if exact:
                eq(int(m.group(2)), line, "line named for %r in %s (stderr: %s)" % (new, fname, err.strip()))
            d.check_stderr()
            # The CLI's validator finds the same.
            rc, out, verr = cli("workflows", "validate", path, check=False)
            assert rc != 0, "workflows validate accepted %s with %r:\n%s" % (fname, new, out)
            assert re.search(r"%s:%s\b" % (re.escape(fname), m.group(2)), verr + out), \
                "workflows validate does not name %s:%s:\n%s%s" % (fname, m.group(2), out, verr)


@test
def workflows_validate_accepts_the_shipped_files():
    for f in sorted(os.listdir(WORKFLOWS_DIR)):
        if f.endswith(".yaml"):
            rc, out, err = cli("workflows", "validate", os.path.join(WORKFLOWS_DIR, f), check=False)
            eq(rc, 0, "workflows validate %s (stdout %r, stderr %r)" % (f, out, err))
    rc, out, err = cli("workflows", "validate", os.path.join(tempdir(), "missing.yaml"), check=False)
    assert rc != 0, "validate of a missing file succeeded"


@test
def migrations_apply_once_and_a_second_daemon_starts_on_the_same_database():
    with Database() as db:
        a = Daemon(db, clock=CLOCK)
        with a.client() as c:
            c.ok({"op": "case_open", "case": "C-MG1"})
        a.stop()
        tables = db.tables()
        for t in ("cases", "processes", "events", "deadlines"):
            assert t in tables, "table %s missing after the first start: %s" % (t, tables)
        mig = [t for t in tables if "migration" in t or "schema" in t]
        assert mig, "no table records the applied migrations: %s" % tables
        rows = {t: db.sql("SELECT count(*) FROM %s" % t) for t in mig}
        b = Daemon(db, clock=CLOCK)
        with b.client() as c:
            eq(c.ok({"op": "show", "case": "C-MG1"})["case"], "C-MG1", "case after the second start")
        b.stop()
        eq(db.tables(), tables, "tables after the second start")
        eq({t: db.sql("SELECT count(*) FROM %s" % t) for t in mig}, rows, "migration records")


@test
def two_daemons_racing_on_a_fresh_database_both_start():
    with Database() as db:
        a = Daemon(db, clock=CLOCK, start=False)
        b = Daemon(db, clock=CLOCK, start=False)
        a.start(wait=False)
        b.start(wait=False)
        a.wait_ready()
        b.wait_ready()
        a.stop()
        b.stop()


@test
def two_daemons_on_one_database_both_serve():
    with Database() as db, Daemon(db, clock=CLOCK) as a, Daemon(db, clock=CLOCK) as b:
        with a.client() as ca, b.client() as cb:
            ca.ok({"op": "case_open", "case": "C-TW1"})
            cb.ok({"op": "start", "case": "C-TW1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
            cb.ok({"op": "event", "case": "C-TW1", "type": "decision_to_assess", "on": "2026-02-01",
                   "attrs": {"outcome": "yes"}})
            sa = ca.ok({"op": "show", "case": "C-TW1"})
            sb = cb.ok({"op": "show", "case": "C-TW1"})
            sa.pop("id", None)
            sb.pop("id", None)
            eq(sa, sb, "the same case through both daemons")
            eq(sa["processes"][0]["state"], "assessing", "state seen through the other daemon")
            # The other daemon also refuses what conflicts with the first one's writes.
            ca.error({"op": "start", "case": "C-TW1", "workflow": "ehcp-assessment", "on": "2026-01-06"},
                     "already_active")


def london_today():
    return datetime.datetime.now(zoneinfo.ZoneInfo("Europe/London")).date()


@test
def real_clock_cannot_be_set():
    with Database() as db, Daemon(db) as d, d.client() as c:
        before = london_today()
        r = c.ok({"op": "clock"})
        after = london_today()
        eq((r["mode"], r["zone"]), ("real", "Europe/London"), "clock")
        assert r["today"] in (before.isoformat(), after.isoformat()), "today %s, London says %s" % (
            r["today"], before)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", r["now"]), "now: %r" % r["now"]
        c.error({"op": "clock_set", "to": "2099-01-01T00:00"}, "clock_real")
        rc, _, err = d.cli("clock", "set", "2099-01-01T00:00", check=False)
        assert rc != 0 and "real" in err.lower(), "clock set on a real clock: rc %d, %r" % (rc, err)
        # Today is not in the future; tomorrow is.
        c.ok({"op": "case_open", "case": "C-RC1"})
        today = london_today()
        c.ok({"op": "start", "case": "C-RC1", "workflow": "ehcp-assessment", "on": today.isoformat()})
        c.error({"op": "event", "case": "C-RC1", "type": "withdrawn",
                 "on": (today + datetime.timedelta(days=2)).isoformat()}, "bad_date")


@test
def simulated_clock_only_moves_forward():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        r = c.ok({"op": "clock"})
        eq((r["now"], r["today"], r["mode"], r["zone"]),
           (CLOCK, "2026-03-01", "simulated", "Europe/London"), "clock at start")
        c.error({"op": "clock_set", "to": "2026-02-28T09:00"}, "clock_backwards")
        c.error({"op": "clock_set", "to": "2026-03-01T08:59"}, "clock_backwards")
        r = c.ok({"op": "clock_set", "to": "2026-03-01T09:00"})
        eq(r["now"], "2026-03-01T09:00", "clock_set to now")
        r = c.ok({"op": "clock_set", "to": "2026-04-02T10:30"})
        eq((r["now"], r["today"]), ("2026-04-02T10:30", "2026-04-02"), "clock_set forward")
        rc, _, err = d.cli("clock", "set", "2026-04-01T00:00", check=False)
        assert rc != 0, "clock set backwards through the CLI succeeded"
        eq(c.ok({"op": "clock"})["now"], "2026-04-02T10:30", "clock after refusals")
        _, out, _ = d.cli("clock")
        assert "2026-04-02" in out, "sendflow clock: %r" % out


@test
def tcp_listen_frames_the_protocol_over_tls():
    """TCP speaks the same protocol, over TLS; a request without a token is
    refused as unauthenticated (test_tokens has the rest)."""
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t, d.client() as u:
            eq(t.error({"op": "ping", "id": "tcp"}, "unauthenticated")["id"], "tcp",
               "ping over TCP")
            t.error({"op": "case_open", "case": "C-TCP1"}, "unauthenticated")
            u.error({"op": "show", "case": "C-TCP1"}, "unknown_case")
            t.error("{nope", "bad_json")
            t.error({"op": "ping"}, "unauthenticated")


@test
def ping_and_workflows_describe_the_daemon():
    with open(os.path.join(SOURCE_DIR, "meson.build")) as f:
        version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        eq(c.ok({"op": "ping"})["version"], version, "ping version (meson.build)")
        wfs = {w["name"]: w for w in c.ok({"op": "workflows"})["workflows"]}
        assert {"ehcp-assessment", "annual-review"} <= set(wfs), "workflows: %s" % sorted(wfs)
        ehcp = wfs["ehcp-assessment"]
        eq(ehcp["version"], 3, "ehcp-assessment version")
        names = {x["name"]: x["basis"] for x in ehcp["deadlines"]}
        eq(names.get("final_plan"), "SEND Regulations 2014, reg. 13(2)", "final_plan basis")
        assert "decision_to_assess" in str(ehcp["events"]), "events: %s" % ehcp["events"]
        _, out, _ = d.cli("workflows")
        assert "ehcp-assessment" in out and "annual-review" in out, "sendflow workflows:\n" + out


@test
def every_daemon_option_and_config_key_is_documented():
    """The settings table drives --help; each option must be in the README's
    configuration table, and each must be accepted from a --config file."""
    import subprocess
    out = subprocess.run([os.environ["SENDFLOWD"], "--help"], capture_output=True, text=True,
                         check=True).stdout
    options = sorted(set(re.findall(r"^\s+--([a-z][a-z-]*)", out, re.M)) - {"help", "version"})
    assert len(options) >= 8, "too few options parsed from --help:\n" + out
    readme = open(os.path.join(SOURCE_DIR, "README.md")).read()
    missing = [o for o in options if "`--%s" % o not in readme]
    assert not missing, "options missing from README.md: %s" % missing
    # An unknown key in a config file is refused, naming file and line.
    cfg = os.path.join(tempdir(), "bad.yaml")
    with open(cfg, "w") as f:
        f.write("socket: /tmp/x.sock\nlog_levle: debug\n")
    r = subprocess.run([os.environ["SENDFLOWD"], "--config", cfg], capture_output=True, text=True)
    assert r.returncode != 0, "sendflowd accepted a config file with a typo"
    assert "%s:2" % cfg in r.stderr and "log_levle" in r.stderr, r.stderr


@test
def two_migrations_with_one_number_are_refused():
    """A migration's number is its version: a second file with the same number
    would never be applied, so the daemon refuses to start and names both."""
    sdir = os.path.join(tempdir(), "schema")
    shutil.copytree(os.path.join(SOURCE_DIR, "schema"), sdir)
    with open(os.path.join(sdir, "001_extra.sql"), "w") as f:
        f.write("SELECT 1;\n")
    with Database() as db:
        d = Daemon(db, clock=CLOCK, extra_args=["--schema", sdir], start=False)
        d.start(wait=False)
        rc = d.wait_exit(seconds=20)
        d.kill()
        err = d.stderr()
        assert rc not in (0, None), "sendflowd started with two migrations numbered 001"
        assert "001_extra.sql" in err and "001_init.sql" in err and "same" in err, err
        eq(db.tables(), [], "nothing was created")


main()
