"""sfharness: black-box test harness for sendflowd and the sendflow CLI.

Each integration test file is a plain script:

    from sfharness import test, main, Database, Daemon

    @test
    def case_opens():
        with Database() as db, Daemon(db, clock="2026-01-05T09:00") as d:
            assert d.cli("case", "open", "C-1")[0] == 0

    main()

It runs every @test function in order, prints "ok - name" or "FAIL - name"
(with the traceback and the daemon's stderr), and exits 1 when any failed.

Everything is real: a fresh PostgreSQL database per Database() on the
throwaway cluster that scripts/test starts (SENDFLOW_TEST_PGHOST and
SENDFLOW_TEST_PGPORT), the daemon binary $SENDFLOWD and the CLI $SENDFLOW.
Every daemon and database is cleaned up whatever happens (a failed
assertion, a crashed daemon, SIGTERM from meson's timeout). Every wait polls
for a condition under a timeout scaled by SENDFLOW_TEST_TIMEOUT_SCALE
(sanitizer and valgrind builds are slower): no sleep is ever an assertion.

Python standard library only.
"""

import json as jsonlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SCALE = float(os.environ.get("SENDFLOW_TEST_TIMEOUT_SCALE", "1") or "1")
SOURCE_DIR = os.environ.get(
    "SENDFLOW_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SENDFLOWD = os.environ.get("SENDFLOWD", os.path.join(SOURCE_DIR, "build", "daemon", "sendflowd"))
SENDFLOW = os.environ.get("SENDFLOW", os.path.join(SOURCE_DIR, "build", "client", "sendflow"))
WORKFLOWS_DIR = os.path.join(SOURCE_DIR, "workflows")
SCHEMA_DIR = os.path.join(SOURCE_DIR, "schema")

# What a sanitizer (or valgrind) prints when it finds something.
SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer|"
    r": runtime error: |==\d+== (Invalid|Conditional jump|Use of uninitialised|"
    r"Syscall param|Mismatched free|[0-9,]+ bytes in [0-9,]+ blocks are definitely lost)")


def timeout(seconds):
    """A timeout of `seconds` on a plain build, scaled for slow builds."""
    return seconds * SCALE


class TestError(AssertionError):
    pass


def wait_for(cond, seconds, what, interval=0.02):
    """Poll cond() until it returns a true value (returned), or fail after
    timeout(seconds) naming `what`."""
    deadline = time.monotonic() + timeout(seconds)
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestError("timed out after %.1fs waiting for %s" % (timeout(seconds), what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# Resources cleaned up at exit, whatever happens.

_live_daemons = []
_live_databases = []
_temp_dirs = []


def tempdir():
    """A short temporary directory (Unix socket paths are limited to 107
    bytes), removed at exit."""
    d = tempfile.mkdtemp(prefix="sft")
    _temp_dirs.append(d)
    return d


def _cleanup():
    for d in list(_live_daemons):
        d.kill()
    for db in list(_live_databases):
        try:
            db.drop()
        except Exception as e:  # keep cleaning the rest
            print("# cleanup: could not drop %s: %s" % (db.name, e), file=sys.stderr)
    for cl in list(_live_clusters):
        try:
            cl.close()
        except Exception as e:
            print("# cleanup: could not stop the cluster in %s: %s" % (cl.dir, e), file=sys.stderr)
    for t in _temp_dirs:
        shutil.rmtree(t, ignore_errors=True)
    _temp_dirs.clear()


# --------------------------------------------------------------------------
# PostgreSQL


def _pg():
    host = os.environ.get("SENDFLOW_TEST_PGHOST")
    port = os.environ.get("SENDFLOW_TEST_PGPORT")
    if not host or not port:
        sys.stderr.write("SENDFLOW_TEST_PGHOST/SENDFLOW_TEST_PGPORT are not set: "
                         "run via scripts/test\n")
        sys.exit(1)
    return host, port


def psql(sql, dbname="postgres", check=True):
    """Run SQL with psql as user postgres through the cluster's socket dir;
    return its stdout (unaligned, tuples only)."""
    host, port = _pg()
    p = subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-tA", "-h", host, "-p", port,
         "-U", "postgres", "-d", dbname, "-c", sql],
        capture_output=True, text=True, timeout=timeout(60))
    if check and p.returncode != 0:
        raise TestError("psql failed (%s): %s" % (sql, p.stderr.strip()))
    return p.stdout


class Database:
    """A fresh database sf_<random> on the test cluster, dropped at close()."""

    def __init__(self):
        host, port = _pg()
        self.name = "sf_" + secrets.token_hex(6)
        psql('CREATE DATABASE "%s"' % self.name)
        _live_databases.append(self)
        self.conninfo = "host=%s port=%s user=postgres dbname=%s" % (host, port, self.name)
        self.dropped = False

    def sql(self, query):
        return psql(query, dbname=self.name)

    def count_events(self, case, type=None):
        """How many events the database holds for a case (of a type). This
        looks inside (schema/001_init.sql: events, cases) to prove that a
        duplicate was not recorded twice."""
        q = ("SELECT count(*) FROM events e JOIN cases c ON c.id = e.case_id "
             "WHERE c.ref = '%s'" % case.replace("'", "''"))
        if type:
            q += " AND e.type = '%s'" % type.replace("'", "''")
        return int(self.sql(q).strip())

    def tables(self):
        """The names of the tables in the public schema (sorted)."""
        out = self.sql("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema NOT IN ('pg_catalog','information_schema') "
                       "ORDER BY 1")
        return [l for l in out.splitlines() if l]

    def drop(self):
        if self.dropped:
            return
        psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.name)
        self.dropped = True
        if self in _live_databases:
            _live_databases.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        # On failure the runner drops it after the daemons are gone.
        if exc_type is None:
            self.drop()
        return False


class PrivateCluster:
    """A PostgreSQL cluster of the test's own (scripts/pg in a temporary
    directory), for tests that stop and start the database server. It has
    one database, sendflow; conninfo reaches it. Stopped at exit."""

    def __init__(self):
        self.dir = os.path.join(tempdir(), "pg")
        self.port = str(55000 + secrets.randbelow(5000))  # only names the socket
        self.script = os.path.join(SOURCE_DIR, "scripts", "pg")
        self.start()
        _live_clusters.append(self)
        subprocess.run(["psql", "-X", "-q", "-h", self.dir, "-p", self.port, "-U", "postgres",
                        "-d", "postgres", "-c", "CREATE DATABASE sendflow"], check=True,
                       capture_output=True, timeout=timeout(60))
        self.conninfo = "host=%s port=%s user=postgres dbname=sendflow" % (self.dir, self.port)

    def start(self):
        p = subprocess.run([self.script, "start", self.dir, self.port], capture_output=True,
                           text=True, timeout=timeout(120), env=dict(os.environ, SENDFLOW_PG_FAST="1"))
        if p.returncode != 0:
            raise TestError("scripts/pg start failed: %s" % p.stderr)

    def stop(self):
        p = subprocess.run([self.script, "stop", self.dir], capture_output=True, text=True,
                           timeout=timeout(120))
        if p.returncode != 0:
            raise TestError("scripts/pg stop failed: %s" % p.stderr)

    def close(self):
        try:
            self.stop()
        finally:
            if self in _live_clusters:
                _live_clusters.remove(self)


_live_clusters = []


# --------------------------------------------------------------------------
# TLS for TCP (--listen)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tls_cert(directory=None):
    """A self-signed certificate for 127.0.0.1 and localhost, made with the
    openssl command: (cert.pem, key.pem) in directory (default: a new
    temporary one). The certificate is its own CA (--tls-ca)."""
    d = directory or tempdir()
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       capture_output=True, text=True, timeout=timeout(60))
    if p.returncode != 0:
        raise TestError("openssl req failed: %s" % p.stderr)
    return cert, key


def tls_daemon(db, clock=None, extra_args=(), start=True):
    """A Daemon listening on a free 127.0.0.1 port with a fresh certificate;
    d.port, d.cert (also the CA) and d.key say which."""
    port = free_port()
    cert, key = tls_cert()
    d = Daemon(db, clock=clock, listen="127.0.0.1:%d" % port, start=False,
               extra_args=["--tls-cert", cert, "--tls-key", key] + list(extra_args))
    d.port, d.cert, d.key = port, cert, key
    return d.start() if start else d


def debian_module(name):
    """Import name, from Debian's python3-* packages if this interpreter (perhaps
    not Debian's) lacks it: scripts/lib.sh installs them there."""
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError:
        import sys
        if "/usr/lib/python3/dist-packages" not in sys.path:
            sys.path.append("/usr/lib/python3/dist-packages")
        return importlib.import_module(name)


def http_daemon(db, clock=None, tls=False, extra_args=(), start=True):
    """A Daemon serving HTTP (--http) on a free 127.0.0.1 port, with TLS and a
    fresh certificate when tls; d.http_port, d.http_tls and (with TLS)
    d.cert, d.key say which."""
    port = free_port()
    args = ["--http", "127.0.0.1:%d" % port]
    cert = key = None
    if tls:
        cert, key = tls_cert()
        args += ["--tls-cert", cert, "--tls-key", key]
    d = Daemon(db, clock=clock, start=False, extra_args=args + list(extra_args))
    d.http_port, d.http_tls, d.cert, d.key = port, tls, cert, key
    return d.start() if start else d


def http_request(d, path, method="GET", body=None, headers=None, seconds=30):
    """One request to d's --http (a new connection): (status, headers as a
    dict with lower-case names, body as text). A form body (a dict) is
    sent urlencoded."""
    import http.client
    import ssl
    import urllib.parse
    if isinstance(body, dict):
        body = urllib.parse.urlencode(body)
        headers = dict(headers or {}, **{"Content-Type": "application/x-www-form-urlencoded"})
    if d.http_tls:
        ctx = ssl.create_default_context(cafile=d.cert)
        c = http.client.HTTPSConnection("127.0.0.1", d.http_port, timeout=timeout(seconds),
                                        context=ctx)
    else:
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=timeout(seconds))
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read().decode("utf-8", "replace")
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
        return r.status, hdrs, data
    finally:
        c.close()


# --------------------------------------------------------------------------
# Raw socket client


class RawClient:
    """One NDJSON connection: send lines, read lines, pipeline."""

    def __init__(self, path=None, tcp=None, connect_timeout=10, tls_ca=None):
        if tcp:
            self.sock = socket.create_connection(tcp, timeout=timeout(connect_timeout))
            if tls_ca:
                import ssl
                ctx = ssl.create_default_context(cafile=tls_ca)
                self.sock = ctx.wrap_socket(self.sock, server_hostname=tcp[0])
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout(connect_timeout))
            self.sock.connect(path)
        self.buf = bytearray()
        self.closed = False

    def send_raw(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send(self, obj):
        """Send one request (a dict, or a str/bytes line without its newline)."""
        if isinstance(obj, (dict, list)):
            line = jsonlib.dumps(obj).encode()
        elif isinstance(obj, str):
            line = obj.encode()
        else:
            line = obj
        self.send_raw(line + b"\n")

    def recv_line(self, seconds=10):
        """The next response line (bytes, without the newline). Fails on
        timeout or when the daemon closes the connection."""
        self.sock.settimeout(timeout(seconds))
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TestError("no reply within %.1fs" % timeout(seconds))
            if not chunk:
                raise TestError("the daemon closed the connection (pending: %r)" % bytes(self.buf[:200]))
            self.buf += chunk

    def recv(self, seconds=10):
        line = self.recv_line(seconds)
        try:
            v = jsonlib.loads(line)
        except ValueError:
            raise TestError("reply is not JSON: %r" % line[:300])
        if not isinstance(v, dict):
            raise TestError("reply is not an object: %r" % line[:300])
        return v

    def request(self, obj, seconds=10):
        self.send(obj)
        return self.recv(seconds)

    def pipeline(self, objs, seconds=30):
        """Send all requests in one write, then read one reply for each."""
        data = b"".join((jsonlib.dumps(o).encode() if isinstance(o, dict) else
                         (o.encode() if isinstance(o, str) else o)) + b"\n" for o in objs)
        self.send_raw(data)
        return [self.recv(seconds) for _ in objs]

    def ok(self, obj, seconds=10):
        """request() that must succeed; returns the reply."""
        r = self.request(obj, seconds)
        if r.get("ok") is not True:
            raise TestError("request failed: %s\n -> %s" % (jsonlib.dumps(obj)[:500], jsonlib.dumps(r)[:1000]))
        return r

    def error(self, obj, code, seconds=10):
        """request() that must fail with error `code` (or one of a tuple of
        codes); returns the reply."""
        r = self.request(obj, seconds)
        codes = code if isinstance(code, tuple) else (code,)
        got = (r.get("error") or {}).get("code") if isinstance(r.get("error"), dict) else None
        if r.get("ok") is not False or got not in codes:
            raise TestError("expected error %s for %s\n -> %s" % (
                "/".join(codes), (jsonlib.dumps(obj) if isinstance(obj, dict) else repr(obj))[:300],
                jsonlib.dumps(r)[:1000]))
        if not isinstance(r["error"].get("message"), str) or not r["error"]["message"]:
            raise TestError("error without a message: %s" % jsonlib.dumps(r))
        return r

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# --------------------------------------------------------------------------
# Daemon


class Daemon:
    """One sendflowd on a Database.

    clock: "YYYY-MM-DDTHH:MM" for a simulated clock, None for the real one.
    workflows: a workflows directory (default: the shipped one).
    listen: "HOST:PORT" for TCP as well.
    wrapper: a command prefix (e.g. valgrind ...).
    socket_path: reuse a given socket path (e.g. across a restart).
    start(): starts it and waits until it answers ping (wait=False: not).
    stop(): SIGTERM, waits, and asserts exit status 0 and a clean stderr.
    """

    def __init__(self, db, clock=None, workflows=None, listen=None, extra_args=(),
                 wrapper=(), socket_path=None, start=True, ready_seconds=20):
        self.db = db
        self.clock = clock
        self.workflows = workflows or WORKFLOWS_DIR
        self.listen = listen
        self.extra_args = list(extra_args)
        self.wrapper = list(wrapper)
        self.dir = tempdir()
        self.socket = socket_path or os.path.join(self.dir, "sf.sock")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.proc = None
        self.ready_seconds = ready_seconds
        if start:
            self.start()

    def argv(self):
        a = self.wrapper + [SENDFLOWD, "--database", self.db.conninfo, "--socket", self.socket,
                            "--workflows", self.workflows, "--schema", SCHEMA_DIR,
                            "--log-level", "info"]
        if self.clock:
            a += ["--clock", "simulated:" + self.clock]
        if self.listen:
            a += ["--listen", self.listen]
        return a + self.extra_args

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_file, stderr=self._stderr_file,
                                     cwd=self.dir)
        _live_daemons.append(self)
        if wait:
            self.wait_ready()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None and self in _live_daemons

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _ping(self):
        if self.proc.poll() is not None:
            raise TestError("sendflowd exited with status %s before it was ready:\n%s" % (
                self.proc.returncode, self.stderr()[-4000:]))
        try:
            with RawClient(self.socket, connect_timeout=2) as c:
                r = c.request({"op": "ping", "id": "ready"}, seconds=5)
                return r.get("ok") is True
        except (OSError, TestError):
            return False

    def wait_ready(self):
        wait_for(self._ping, self.ready_seconds, "sendflowd to answer ping on " + self.socket,
                 interval=0.05)

    def client(self):
        return RawClient(self.socket)

    def wait_exit(self, seconds=20):
        try:
            return self.proc.wait(timeout=timeout(seconds))
        except subprocess.TimeoutExpired:
            raise TestError("sendflowd did not exit within %.1fs" % timeout(seconds))

    def _forget(self):
        if self in _live_daemons:
            _live_daemons.remove(self)
        try:
            self._stderr_file.close()
        except Exception:
            pass

    def check_stderr(self):
        m = SANITIZER_RE.search(self.stderr())
        if m:
            raise TestError("sendflowd stderr has a sanitizer/valgrind report:\n" + self.stderr()[-8000:])

    def stop(self, sig=signal.SIGTERM, seconds=20):
        """Stop with SIGTERM (or SIGINT); assert a clean exit 0 and no
        sanitizer report. Returns stderr."""
        if self.proc is None:
            return self.stderr()
        if self.proc.poll() is not None:
            self._forget()
            raise TestError("sendflowd had already exited by itself, status %s:\n%s" % (
                self.proc.returncode, self.stderr()[-4000:]))
        self.proc.send_signal(sig)
        try:
            rc = self.wait_exit(seconds)
        except TestError:
            self.kill()
            raise TestError("sendflowd did not stop within %.1fs after %s:\n%s" % (
                timeout(seconds), signal.Signals(sig).name, self.stderr()[-4000:]))
        self._forget()
        if rc != 0:
            raise TestError("sendflowd exited with status %s after %s (expected 0):\n%s" % (
                rc, signal.Signals(sig).name, self.stderr()[-6000:]))
        self.check_stderr()
        return self.stderr()

    def kill(self):
        """SIGKILL, no questions asked (crash simulation and cleanup)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=timeout(20))
            except Exception:
                pass
        self._forget()

    def cli(self, *args, json=False, check=True, env=None, socket_path=None, seconds=30, use_env=False):
        """Run the real CLI against this daemon (see cli())."""
        return cli(*args, json=json, check=check, env=env, socket_path=socket_path or self.socket,
                   seconds=seconds, use_env=use_env, wrapper=self.cli_wrapper)

    cli_wrapper = ()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        # On failure the runner prints our stderr, then kills us.
        if exc_type is None:
            self.stop()
        return False


class CliError(TestError):
    pass


def cli(*args, json=False, check=True, env=None, socket_path=None, seconds=30, use_env=False,
        wrapper=()):
    """Run $SENDFLOW with --socket PATH (or SENDFLOW_SOCKET when use_env).

    json=False: returns (rc, stdout, stderr); with check, rc must be 0.
    json=True: adds --json; with check returns the parsed document, without
    check returns (rc, parsed or None, stderr).
    """
    argv = list(wrapper) + [SENDFLOW]
    e = dict(os.environ)
    e.pop("SENDFLOW_SOCKET", None)
    if env:
        e.update(env)
    if socket_path is not None:
        if use_env:
            e["SENDFLOW_SOCKET"] = socket_path
        else:
            argv += ["--socket", socket_path]
    argv += [str(a) for a in args]
    if json:
        argv.append("--json")
    try:
        p = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           env=e, timeout=timeout(seconds))
    except subprocess.TimeoutExpired:
        raise CliError("sendflow %s: no answer within %.1fs" % (" ".join(map(str, args)), timeout(seconds)))
    m = SANITIZER_RE.search(p.stderr)
    if m:
        raise CliError("sendflow %s: sanitizer report:\n%s" % (" ".join(map(str, args)), p.stderr[-6000:]))
    if check and p.returncode != 0:
        raise CliError("sendflow %s: exit %d\nstdout: %s\nstderr: %s" % (
            " ".join(argv[len(wrapper) + 1:]), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    if not json:
        return p.returncode, p.stdout, p.stderr
    parsed = None
    if p.stdout.strip():
        try:
            parsed = jsonlib.loads(p.stdout)
        except ValueError:
            if check:
                raise CliError("sendflow %s --json: stdout is not one JSON document:\n%s" % (
                    " ".join(map(str, args)), p.stdout[-2000:]))
    if check:
        return parsed
    return p.returncode, parsed, p.stderr


# --------------------------------------------------------------------------
# Assertions and lookups


def copy_workflows():
    wdir = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, wdir)
    return wdir


def edit(path, old, new, count=1):
    with open(path) as f:
        s = f.read()
    if s.count(old) < 1 or (count and s.count(old) != count):
        raise TestError("%s: expected %s occurrence(s) of %r, found %d" % (path, count, old,
                                                                         s.count(old)))
    with open(path, "w") as f:
        f.write(s.replace(old, new))


# What an annual review is stamped with: its version and the hashes of its file,
# the calendar files, the escalation policy (its escalations are planned with its
# deadlines) and the service settings it reads.
STAMP = (r"^v%d #[0-9a-f]{16}; calendar bank-holidays v1; terms \(Example Council\) v1 "
         r"#[0-9a-f]{16}; escalations v4 #[0-9a-f]{16}; service v1 #[0-9a-f]{16}$")


def eq(got, want, what=""):
    if got != want:
        raise TestError("%s: expected %r, got %r" % (what or "value", want, got))


def deadline(show, name, workflow=None):
    """The deadline `name` in a show reply (the active process first)."""
    procs = show["processes"]
    if workflow:
        procs = [p for p in procs if p["workflow"] == workflow]
    procs = sorted(procs, key=lambda p: p.get("status") != "active")
    for p in procs:
        for d in p.get("deadlines", []):
            if d["name"] == name:
                return d
    raise TestError("no deadline %s in %s" % (name, jsonlib.dumps(show)[:3000]))


def process(show, workflow, status=None):
    ps = [p for p in show["processes"] if p["workflow"] == workflow and
          (status is None or p["status"] == status)]
    if len(ps) != 1:
        raise TestError("expected one %s process%s, found %d in %s" % (
            workflow, " (%s)" % status if status else "", len(ps), jsonlib.dumps(show)[:3000]))
    return ps[0]


def one_line(text, what):
    """A CLI error must be one non-empty line on stderr."""
    lines = [l for l in text.splitlines() if l.strip()]
    if len(lines) != 1:
        raise TestError("%s: expected a one-line reason on stderr, got %r" % (what, text))
    return lines[0]


# --------------------------------------------------------------------------
# Runner

_tests = []


def test(fn):
    _tests.append(fn)
    return fn


def _on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main():
    """Run the @test functions of the calling script (or those named on the
    command line), print ok/FAIL for each, clean up, exit 1 on any failure."""
    _pg()
    signal.signal(signal.SIGTERM, _on_signal)
    if not os.access(SENDFLOWD, os.X_OK) or not os.access(SENDFLOW, os.X_OK):
        print("FAIL - binaries missing: %s %s" % (SENDFLOWD, SENDFLOW))
        sys.exit(1)
    only = set(sys.argv[1:])
    failed = 0
    ran = 0
    try:
        for fn in _tests:
            if only and fn.__name__ not in only:
                continue
            ran += 1
            t0 = time.monotonic()
            try:
                fn()
                print("ok - %s (%.1fs)" % (fn.__name__, time.monotonic() - t0), flush=True)
            except KeyboardInterrupt:
                print("FAIL - %s: interrupted" % fn.__name__, flush=True)
                failed += 1
                raise
            except BaseException:
                failed += 1
                print("FAIL - %s" % fn.__name__, flush=True)
                for line in traceback.format_exc().rstrip().splitlines():
                    print("#   " + line)
                for d in list(_live_daemons):
                    print("#   --- stderr of sendflowd (pid %s), last lines:" % d.proc.pid)
                    for line in d.stderr()[-3000:].splitlines():
                        print("#   " + line)
                sys.stdout.flush()
                # A failed test leaves nothing behind for the next one.
                for d in list(_live_daemons):
                    d.kill()
                for db in list(_live_databases):
                    try:
                        db.drop()
                    except Exception as e:
                        print("# could not drop %s: %s" % (db.name, e))
    except KeyboardInterrupt:
        pass
    finally:
        _cleanup()
    print("%d passed, %d failed" % (ran - failed, failed))
    sys.exit(1 if failed or ran == 0 else 0)
