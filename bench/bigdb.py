"""bench/bigdb.py: what bench/recompute and bench/reads share (not a test).

A throwaway PostgreSQL cluster (scripts/pg, fsync on, always stopped), a
release build of sendflowd and sendflow, and a database of a million
processes made quickly but honestly:

1. a few template cases are written through the daemon itself (the CLI, on
   a simulated clock), one of each shape: assessments new, overdue, half
   way and complete (which started its annual review), annual reviews due
   soon, scheduled, overdue, and one with a date of birth whose
   phase-transfer process the daemon opened itself; and, as in a real
   caseload, more processes nowhere near a deadline (reviews through the
   year, new requests): 18 cases, 20 processes, 4 with an overdue duty.
   Overdue duties fire their escalations (their notices go to a local port
   where nothing listens);
2. those rows are cloned set-based (generate_series) into new cases, every
   id moved on by a stride and every reference suffixed ("A1-7"): cases,
   processes (their definition stamps, follow-on links), events,
   deadlines (their signatures), escalations (pending and fired, with
   recipients) and their notices (marked sent: the clones' notices are not
   delivered again). A clone is what the daemon would have written for the
   same requests on the same day, which bench/recompute checks: the
   recompute of stale clones writes back exactly the rows cloned.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLOCK = "2026-06-01T09:00"  # a Monday; the simulated clock of every daemon here
PORT = 54393


def log(msg):
    print(msg, flush=True)


def die(msg):
    sys.stderr.write("%s: %s\n" % (os.path.basename(sys.argv[0]), msg))
    sys.exit(1)


def binaries(build):
    """The daemon and CLI to measure: SENDFLOW_BENCH_DAEMON / SENDFLOW_BENCH_CLI,
    else BUILD (built here, --buildtype=release)."""
    d, c = os.environ.get("SENDFLOW_BENCH_DAEMON"), os.environ.get("SENDFLOW_BENCH_CLI")
    if not (d and c):
        subprocess.run(["bash", "-c", '. scripts/lib.sh; sf_build "$1" -Dbuildtype=release',
                        "sf_build", build], cwd=ROOT, check=True, stdout=sys.stderr)
    d = d or os.path.join(ROOT, build, "daemon", "sendflowd")
    c = c or os.path.join(ROOT, build, "client", "sendflow")
    return d, c


def percentile(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


class Bench:
    """A cluster in a temporary directory and at most one daemon at a time.
    Use as a context manager: the daemon and the cluster are always stopped
    (also on SIGINT/SIGTERM)."""

    def __init__(self, daemon_bin, cli_bin, port=PORT, profile=False):
        self.daemon_bin, self.cli_bin, self.port = daemon_bin, cli_bin, port
        self.profile = profile  # pg_stat_statements (track = all): where the time goes
        self.tmp = tempfile.mkdtemp(prefix="sendflow-bench-big.")
        self.proc = None
        self.db = None

    def __enter__(self):
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        env = dict(os.environ)
        env.pop("SENDFLOW_PG_FAST", None)  # a benchmark runs with fsync on
        pg = [os.path.join(ROOT, "scripts", "pg")]
        out = subprocess.run(pg + ["start", os.path.join(self.tmp, "pg"), str(self.port)],
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
        if self.profile:
            with open(os.path.join(self.tmp, "pg", "data", "postgresql.conf"), "a") as f:
                f.write("shared_preload_libraries = 'pg_stat_statements'\n"
                        "pg_stat_statements.track = all\n")
            subprocess.run(pg + ["stop", os.path.join(self.tmp, "pg")], check=True)
            subprocess.run(pg + ["start", os.path.join(self.tmp, "pg"), str(self.port)],
                           env=env, check=True, capture_output=True)
        self.base = out
        self.psql_base("CREATE DATABASE sf_big")
        self.db = out.replace("dbname=postgres", "dbname=sf_big")
        if self.profile:
            self.psql("CREATE EXTENSION pg_stat_statements")
        return self

    def __exit__(self, *exc):
        self.stop_daemon()
        subprocess.run([os.path.join(ROOT, "scripts", "pg"), "stop",
                        os.path.join(self.tmp, "pg")], capture_output=True)
        subprocess.run(["rm", "-rf", self.tmp])
        return False

    # ---- SQL ---------------------------------------------------------------
    def psql_base(self, sql):
        subprocess.run(["psql", self.base, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       check=True, capture_output=True)

    def psql(self, sql, check=True):
        r = subprocess.run(["psql", self.db, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                           input=sql, capture_output=True, text=True)
        if check and r.returncode != 0:
            die("psql failed: %s\n%s" % (r.stderr.strip(), sql[:2000]))
        return r.stdout.strip()

    def timed_sql(self, sql):
        t0 = time.monotonic()
        self.psql(sql)
        return time.monotonic() - t0

    def count(self, sql):
        return int(self.psql(sql))

    # ---- the daemon --------------------------------------------------------
    def start_daemon(self, name, wait=True, log_level="info"):
        """Start sendflowd; return the seconds from exec to its first answered ping."""
        self.stop_daemon()
        self.sock = os.path.join(self.tmp, "sf.sock")
        self.logpath = os.path.join(self.tmp, name + ".log")
        self.logf = open(self.logpath, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.daemon_bin, "--database", self.db, "--socket", self.sock,
             "--workflows", os.path.join(ROOT, "workflows"),
             "--schema", os.path.join(ROOT, "schema"), "--log-level", log_level,
             "--clock", "simulated:" + CLOCK, "--delivery-retry-ms", "3600000"],
            stdout=self.logf, stderr=self.logf)
        while True:
            if self.proc.poll() is not None:
                die("sendflowd exited (%s):\n%s" % (self.proc.returncode, self.log_tail()))
            if self.ping():
                return time.monotonic() - t0
            if time.monotonic() - t0 > 600:
                die("sendflowd not serving after 600 s")
            time.sleep(0.002)

    def ping(self):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(b'{"op":"ping"}\n')
            line = s.makefile("rb").readline()
            s.close()
            return b'"ok":true' in line.replace(b" ", b"")
        except OSError:
            return False

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """The daemon's user and system CPU time so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tick, int(fields[12]) / tick

    def top_statements(self, n=8):
        """pg_stat_statements' heaviest statements (total ms, calls, query)."""
        return self.psql(
            "SELECT round(total_exec_time)::text || ' ms, ' || calls || ' calls: ' || "
            "regexp_replace(left(query, 160), '\\s+', ' ', 'g') FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT %d" % n)

    def stop_daemon(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        with open(self.logpath) as f:
            return f.read()

    def log_tail(self, n=20):
        return "\n".join(self.log_text().splitlines()[-n:])

    def cli(self, *args, json_out=True, check=True):
        cmd = [self.cli_bin, "--socket", self.sock] + (["--json"] if json_out else []) + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
        if check and r.returncode != 0:
            die("%s: %s %s" % (" ".join(args), r.stdout[-500:], r.stderr[-500:]))
        return json.loads(r.stdout) if json_out and r.stdout.strip() else r.stdout

    def wait_log(self, pattern_fn, seconds):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            m = pattern_fn(self.log_text())
            if m:
                return m
            if self.proc.poll() is not None:
                die("sendflowd exited:\n" + self.log_tail())
            time.sleep(0.2)
        die("timed out waiting on the daemon's log:\n" + self.log_tail())

    # ---- the database of a million -----------------------------------------
    def seed_templates(self):
        """The template cases, through the daemon (see the module's docstring).
        Returns the number of their processes."""
        self.start_daemon("seed")
        c = self.cli
        o = ("--set", "officer=jb", "--set", "team=north")

        def case(ref, *extra):
            c("case", "open", ref, *(o + extra))

        def ev(ref, typ, on, *sets):
            args = ["event", ref, typ, "--on", on]
            for s in sets:
                args += ["--set", s]
            c(*args)
        # Assessments: just requested; the decision overdue; half way; complete.
        case("A1")
        c("start", "A1", "ehcp-assessment", "--on", "2026-05-27")
        case("A2")
        c("start", "A2", "ehcp-assessment", "--on", "2026-03-02")
        case("A3")
        c("start", "A3", "ehcp-assessment", "--on", "2026-02-02")
        ev("A3", "decision_to_assess", "2026-03-10", "outcome=yes")
        ev("A3", "advice_requested", "2026-03-12", "from=health")
        ev("A3", "advice_requested", "2026-03-12", "from=education")
        ev("A3", "advice_received", "2026-04-10", "from=education")
        case("A4")
        c("start", "A4", "ehcp-assessment", "--on", "2025-09-01")
        ev("A4", "decision_to_assess", "2025-10-06", "outcome=yes")
        ev("A4", "advice_requested", "2025-10-08", "from=health")
        ev("A4", "advice_received", "2025-11-10", "from=health")
        ev("A4", "draft_plan_issued", "2025-12-15")
        ev("A4", "final_plan_issued", "2026-01-15")
        # Annual reviews: due within the fortnight; scheduled; overdue; with a date of birth.
        case("R1")
        c("start", "R1", "annual-review", "--on", "2025-06-10")
        case("R2")
        c("start", "R2", "annual-review", "--on", "2025-07-01")
        ev("R2", "review_meeting_scheduled", "2026-05-01", "date=2026-06-20")
        case("R3")
        c("start", "R3", "annual-review", "--on", "2025-03-01")
        case("R4", "--dob", "2014-10-02")
        c("start", "R4", "annual-review", "--on", "2025-11-03")
        # Most processes are nowhere near a deadline: reviews through the year, new requests.
        for i, on in enumerate(("2025-08-01", "2025-09-15", "2025-10-20", "2025-12-01",
                                "2026-01-12", "2026-02-23", "2026-04-01", "2026-05-05")):
            case("R%d" % (5 + i))
            c("start", "R%d" % (5 + i), "annual-review", "--on", on)
        for i, on in enumerate(("2026-05-11", "2026-05-18")):
            case("A%d" % (5 + i))
            c("start", "A%d" % (5 + i), "ehcp-assessment", "--on", on)
        # The phase-transfer sweep opens R4's Year 7 transfer; the scheduler fires the
        # levels already due. Wait for both.
        self.wait_log(lambda t: self.count(
            "SELECT count(*) FROM processes WHERE workflow = 'phase-transfer'") > 0, 60)
        self.wait_log(lambda t: self.count(
            "SELECT count(*) FROM escalations WHERE status = 'pending' AND fire_on <= '%s'"
            % CLOCK[:10]) == 0, 60)
        time.sleep(1)
        self.stop_daemon()
        return self.count("SELECT count(*) FROM processes")

    def columns(self, table):
        return self.psql("SELECT attname FROM pg_attribute WHERE attrelid = '%s'::regclass "
                         "AND attnum > 0 AND NOT attisdropped ORDER BY attnum" % table).split()

    def clone(self, processes):
        """Clone the templates until about PROCESSES processes are stored; returns
        the number stored."""
        t = self.count("SELECT count(*) FROM processes")
        copies = max(0, -(-processes // t) - 1)
        tables = ["cases", "processes", "events", "deadlines", "escalations", "outbox"]
        stride = {x: self.count("SELECT coalesce(max(id), 0) + 1 FROM %s" % x) for x in tables}
        shift = {
            "cases": {"id": "cases", "case_id": "cases"},
            "processes": {"id": "processes", "case_id": "cases", "parent_id": "processes",
                          "parent_event_id": "events"},
            "events": {"id": "events", "case_id": "cases", "process_id": "processes"},
            "deadlines": {"id": "deadlines", "process_id": "processes"},
            "escalations": {"id": "escalations", "case_id": "cases", "process_id": "processes"},
            "outbox": {"id": "outbox", "escalation_id": "escalations"},
        }
        special = {
            ("cases", "ref"): "ref || '-' || k",
            ("outbox", "idem_key"): "idem_key || '-' || k",
            ("outbox", "status"): "CASE WHEN status IN ('pending', 'sending') THEN 'sent' "
                                  "ELSE status END",
            ("outbox", "lease_until"): "NULL",
            ("outbox", "sent_at"): "coalesce(sent_at, created_at)",
        }
        sql = ["BEGIN;"]
        for x in tables:
            cols = self.columns(x)
            exprs = []
            for col in cols:
                if (x, col) in special:
                    exprs.append(special[(x, col)])
                elif col in shift[x]:
                    exprs.append("%s + k * %d" % (col, stride[shift[x][col]]))
                else:
                    exprs.append(col)
            where = " WHERE escalation_id IS NOT NULL" if x == "outbox" else ""
            sql.append("INSERT INTO %s (%s) SELECT %s FROM (SELECT * FROM %s%s) t, "
                       "generate_series(1, %d) k;" % (x, ", ".join(cols), ", ".join(exprs), x,
                                                     where, copies))
            sql.append("SELECT setval(pg_get_serial_sequence('%s', 'id'), "
                       "(SELECT max(id) FROM %s));" % (x, x))
            # Statistics now: the foreign-key checks of the next table's insert look its
            # rows up in this one, planned on its statistics (without them, as the 20
            # template rows: a scan of a whole index per row, hours at a million).
            sql.append("ANALYZE %s;" % x)
        sql.append("UPDATE outbox SET status = 'sent', lease_until = NULL, "
                   "sent_at = coalesce(sent_at, created_at) WHERE status IN ('pending', 'sending');")
        sql.append("COMMIT; VACUUM ANALYZE;")
        self.psql("\n".join(sql))
        return self.count("SELECT count(*) FROM processes")

    def sizes(self):
        return self.psql(
            "SELECT string_agg(n || ' ' || r, ', ') FROM (VALUES "
            "('cases', (SELECT count(*) FROM cases)), ('processes', (SELECT count(*) FROM processes)),"
            "('events', (SELECT count(*) FROM events)), ('deadlines', (SELECT count(*) FROM deadlines)),"
            "('escalations', (SELECT count(*) FROM escalations)),"
            "('notices', (SELECT count(*) FROM outbox))) v(n, r)") + \
            "; database " + self.psql("SELECT pg_size_pretty(pg_database_size(current_database()))")

    def machine(self):
        load = os.getloadavg()
        return "%d cores, load %.1f %.1f %.1f, PostgreSQL %s, fsync %s" % (
            os.cpu_count(), load[0], load[1], load[2], self.psql("SHOW server_version"),
            self.psql("SHOW fsync"))
