"""sendflowd as a system service: --check-config validates without starting,
sd_notify tells a service manager READY (only once the socket serves),
WATCHDOG (while the loop turns) and STOPPING (on SIGTERM), and the log lines
carry journald's <N> priority prefixes when stderr is the journal."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from sfharness import (test, main, Database, Daemon, RawClient, TestError, eq, tempdir, timeout,
                       wait_for, SANITIZER_RE, SENDFLOWD, SCHEMA_DIR, WORKFLOWS_DIR)

CLOCK = "2026-03-01T09:00"
# A conninfo no server answers: --check-config must never try it.
NO_DATABASE = "host=/nonexistent/sendflow port=1 dbname=nothing user=nobody"


def check_config(*args, workflows=WORKFLOWS_DIR, cwd=None, env=None):
    """sendflowd --check-config with the given extra args; (rc, stdout, stderr)."""
    sock = os.path.join(tempdir(), "never.sock")
    argv = [SENDFLOWD, "--check-config", "--database", NO_DATABASE, "--socket", sock,
            "--workflows", workflows, "--schema", SCHEMA_DIR] + list(args)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout(60), cwd=cwd,
                       env=dict(os.environ, **(env or {})), stdin=subprocess.DEVNULL)
    assert not os.path.exists(sock), "--check-config created the socket %s" % sock
    assert not SANITIZER_RE.search(p.stderr), "sanitizer report:\n" + p.stderr
    return p.returncode, p.stdout, p.stderr


def workflows_copy():
    d = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, d)
    return d


@test
def check_config_accepts_the_shipped_configuration_without_database_or_socket():
    rc, out, err = check_config()
    eq(rc, 0, "--check-config on the shipped files (stderr %r)" % err)
    lines = out.splitlines()
    eq(len(lines), 1, "--check-config prints one line: %r" % out)
    assert lines[0].startswith("sendflowd: configuration OK"), lines[0]
    n = len([f for f in os.listdir(WORKFLOWS_DIR) if f.endswith(".yaml")]) - 3
    assert "%d workflows" % n in lines[0], "workflow count in %r (expected %d)" % (lines[0], n)
    migrations = len([f for f in os.listdir(SCHEMA_DIR) if re.match(r"\d+_.*\.sql$", f)])
    assert "%d migrations" % migrations in lines[0], lines[0]
    assert "sanitizer" not in err.lower(), err


@test
def check_config_refuses_a_broken_workflow_naming_file_and_line():
    d = workflows_copy()
    path = os.path.join(d, "annual-review.yaml")
    with open(path) as f:
        lines = f.read().split("\n")
    hit = [i for i, l in enumerate(lines) if "beginning_with: 12 months" in l]
    eq(len(hit), 1, "fixture line in annual-review.yaml")
    lines[hit[0]] = lines[hit[0]].replace("12 months", "twelve months")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    rc, out, err = check_config(workflows=d)
    assert rc not in (0, None) and rc < 128, "rc %s; stdout %r stderr %r" % (rc, out, err)
    eq(out, "", "nothing on stdout when the configuration is invalid")
    assert "[%s:%d]" % (path, hit[0] + 1) in err, "stderr does not name [%s:%d]: %r" % (
        path, hit[0] + 1, err)


@test
def check_config_refuses_what_a_start_would_meet_later():
    """Past the definition files: the migrations, the conninfo's syntax, a
    webhook's secret, the access file, the TLS files and the socket group."""
    cases = []
    empty = tempdir()
    cases.append((["--schema", empty], "no migrations"))
    cases.append((["--database", "host=x port"], "invalid --database"))
    d = workflows_copy()
    chan = os.path.join(d, "channels.yaml")
    with open(chan) as f:
        text = f.read()
    assert text.count("\nwebhooks:\n") == 1, "fixture: channels.yaml's webhooks: line"
    with open(chan, "w") as f:
        f.write(text.replace("\nwebhooks:\n", "\nwebhooks:\n  hook: {url: \"https://127.0.0.1:1/x\", "
                             "secret_env: SF_TEST_NO_SUCH_SECRET}\n"))
    cases.append((["--workflows", d], "SF_TEST_NO_SUCH_SECRET"))
    acc = os.path.join(tempdir(), "access.yaml")
    with open(acc, "w") as f:
        f.write("users:\n  root: admiral\n")
    cases.append((["--access", acc], acc + ":"))
    cases.append((["--listen", "127.0.0.1:1", "--tls-cert", os.path.join(empty, "c.pem"),
                   "--tls-key", os.path.join(empty, "k.pem")], "c.pem"))
    cases.append((["--socket-group", "sf-no-such-group"], "sf-no-such-group"))
    for args, want in cases:
        rc, out, err = check_config(*args)
        assert rc not in (0, None) and rc < 128, "%s accepted (rc %s): %r %r" % (args, rc, out, err)
        assert want in err, "%s: stderr does not say %r: %r" % (args, want, err)
        eq(len(err.strip().splitlines()), 1, "one line for %s: %r" % (args, err))
    # The same webhook with its secret in the environment passes.
    rc, out, err = check_config("--workflows", d, env={"SF_TEST_NO_SUCH_SECRET": "s" * 40})
    eq(rc, 0, "webhook with its secret set (stderr %r)" % err)


# --------------------------------------------------------------------------
# sd_notify


class Notify:
    """A service manager's notification socket (AF_UNIX, SOCK_DGRAM)."""

    def __init__(self):
        self.path = os.path.join(tempdir(), "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def next(self, seconds):
        """The next datagram's fields as a dict, or None after timeout(seconds)."""
        self.sock.settimeout(timeout(seconds))
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        msg = dict(l.split("=", 1) for l in data.decode().split("\n") if "=" in l)
        self.messages.append(msg)
        return msg

    def until(self, key, seconds):
        """Read until a message with key arrives; return it (fail on timeout)."""
        deadline = time.monotonic() + timeout(seconds)
        while time.monotonic() < deadline:
            m = self.next(max(0.05, (deadline - time.monotonic()) / timeout(1)))
            if m is not None and key in m:
                return m
        raise TestError("no %s within %.1fs; got %r" % (key, timeout(seconds), self.messages))

    def close(self):
        self.sock.close()


def notify_daemon(db, notify, env, workflows=None, wrapper=()):
    """A Daemon started (not waited for) with env set in its environment."""
    d = Daemon(db, clock=CLOCK, start=False, workflows=workflows, wrapper=wrapper)
    saved = dict(os.environ)
    os.environ.update(env, NOTIFY_SOCKET=notify.path)
    try:
        d.start(wait=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return d


@test
def ready_only_once_serving_then_watchdog_then_stopping():
    n = Notify()
    with Database() as db:
        # WATCHDOG_PID is the daemon's own pid: sh execs it with $$ set.
        d = notify_daemon(db, n, {"WATCHDOG_USEC": "200000"},
                          wrapper=["sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"',
                                   "sh"])
        ready = n.until("READY", 60)
        # Nothing before READY said it was ready, and the first word was progress.
        assert all("READY" not in m for m in n.messages[:-1]), n.messages
        eq(ready["READY"], "1", "READY value")
        assert "serving on " + d.socket in ready.get("STATUS", ""), ready
        # At READY the migrations are applied and the socket answers at once.
        migrations = len([f for f in os.listdir(SCHEMA_DIR) if re.match(r"\d+_.*\.sql$", f)])
        eq(int(db.sql("SELECT count(*) FROM schema_migrations").strip()), migrations,
           "migrations applied at READY")
        with RawClient(d.socket, connect_timeout=2) as c:
            c.ok({"op": "ping"}, seconds=5)
        # WATCHDOG=1 every 100 ms (half of WATCHDOG_USEC): several in a row.
        t0 = time.monotonic()
        for i in range(4):
            n.until("WATCHDOG", 5)
        assert time.monotonic() - t0 < timeout(5), "watchdog pings too slow"
        d.proc.send_signal(signal.SIGTERM)
        stopping = n.until("STOPPING", 20)
        eq(stopping["STOPPING"], "1", "STOPPING value")
        eq(d.wait_exit(20), 0, "exit status after SIGTERM")
        d._forget()
        d.check_stderr()
        assert "watchdog: WATCHDOG=1 every 100 ms" in d.stderr(), d.stderr()[-2000:]
    n.close()


@test
def no_watchdog_for_another_pid_and_no_ready_when_start_fails():
    n = Notify()
    with Database() as db:
        d = notify_daemon(db, n, {"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"})
        n.until("READY", 60)
        # The watchdog is meant for pid 1, not us: no WATCHDOG=1 at all.
        deadline = time.monotonic() + timeout(1)
        while time.monotonic() < deadline:
            m = n.next(0.2)
            assert m is None or "WATCHDOG" not in m, "WATCHDOG sent for another pid: %r" % m
        d.stop()
        # A daemon that refuses to start never says READY.
        wf = workflows_copy()
        with open(os.path.join(wf, "ehcp-assessment.yaml"), "a") as f:
            f.write("\nthis is: [not valid\n")
        n.messages.clear()
        bad = notify_daemon(db, n, {}, workflows=wf)
        rc = bad.wait_exit(20)
        bad._forget()
        assert rc not in (0, None), "started with a broken workflow"
        while n.next(0.2) is not None:
            pass
        assert all("READY" not in m for m in n.messages), n.messages
    n.close()


# --------------------------------------------------------------------------
# Log lines for journald

PLAIN_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z sendflowd\[\d+\] (info|warn|error|debug): ")
JOURNAL_RE = re.compile(r"^<([0-7])>(info|warn|error|debug): ")
PRIORITY = {"debug": "7", "info": "6", "warn": "4", "error": "3"}


def log_lines(d):
    return [l for l in d.stderr().splitlines() if l.strip()]


def started_with(db, extra_args=(), journal_stream=None, workflows=None):
    """A daemon started and stopped; its stderr lines. journal_stream: "match" sets
    $JOURNAL_STREAM to its stderr file's device:inode, "other" to something else."""
    d = Daemon(db, clock=CLOCK, start=False, extra_args=list(extra_args), workflows=workflows)
    env = {}
    if journal_stream:
        open(d.stderr_path, "ab").close()
        st = os.stat(d.stderr_path)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino + (journal_stream == "other"))
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        d.start()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    d.stop()
    return log_lines(d)


@test
def log_lines_carry_priorities_for_journald_and_stay_plain_otherwise():
    wf = workflows_copy()
    os.remove(os.path.join(wf, "escalations.yaml"))  # a warning line at start
    with Database() as db:
        for how, args, stream in (("--log-format journal", ["--log-format", "journal"], None),
                                  ("JOURNAL_STREAM naming stderr", [], "match")):
            lines = started_with(db, args, stream, workflows=wf)
            bad = [l for l in lines if not JOURNAL_RE.match(l)]
            assert not bad, "%s: lines without a <N> prefix: %r" % (how, bad[:5])
            for l in lines:
                m = JOURNAL_RE.match(l)
                eq(m.group(1), PRIORITY[m.group(2)], "priority of %r" % l)
            assert any(l.startswith("<4>warn: no escalations.yaml") for l in lines), lines
            assert any(l.startswith("<6>info: stopped cleanly") for l in lines), lines
        for how, args, stream in (("default", [], None), ("JOURNAL_STREAM naming another file",
                                                          [], "other"),
                                  ("--log-format plain", ["--log-format", "plain"], "match")):
            lines = started_with(db, args, stream, workflows=wf)
            bad = [l for l in lines if not PLAIN_RE.match(l)]
            assert not bad, "%s: lines not in the plain format: %r" % (how, bad[:5])
            assert any("warn: no escalations.yaml" in l for l in lines), lines
    rc, out, err = check_config("--log-format", "syslog")
    assert rc == 2 and "--log-format" in err, (rc, err)


main()
