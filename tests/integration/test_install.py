"""meson install: the binaries, the schema, the shipped workflows (defaults
under the data directory, the local copy under the system configuration
directory), the systemd unit (checked by systemd-analyze verify), the man
pages (true to --help) and bash completion; and the installed daemon serves
from those files."""
import os
import re
import shlex
import shutil
import subprocess

from sfharness import (test, main, Database, Daemon, TestError, eq, tempdir, timeout, SENDFLOWD,
                       SENDFLOW, SCHEMA_DIR, WORKFLOWS_DIR, SOURCE_DIR)

BUILD_DIR = os.path.dirname(os.path.dirname(os.path.abspath(SENDFLOWD)))
_dest = []


def destdir():
    """meson install --destdir of the build the tests run (once per file)."""
    if not _dest:
        d = os.path.join(tempdir(), "dest")
        p = subprocess.run(["meson", "install", "-C", BUILD_DIR, "--destdir", d, "--no-rebuild",
                            "--quiet"], capture_output=True, text=True, timeout=timeout(120))
        if p.returncode != 0:
            raise TestError("meson install failed:\n%s%s" % (p.stdout, p.stderr))
        _dest.append(d)
    return _dest[0]


def installed():
    """Every installed file, relative to DESTDIR."""
    root = destdir()
    out = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return sorted(out)


def one(files, suffix):
    hits = [f for f in files if f.endswith(suffix)]
    if len(hits) != 1:
        raise TestError("expected one installed */%s, found %r" % (suffix, hits))
    return os.path.join(destdir(), hits[0])


def source_files(d):
    return sorted(os.path.relpath(os.path.join(p, f), d) for p, _, fs in os.walk(d) for f in fs)


@test
def meson_install_places_every_file():
    files = installed()
    one(files, "bin/sendflowd")
    one(files, "bin/sendflow")
    one(files, "share/bash-completion/completions/sendflow")
    one(files, "man8/sendflowd.8")
    one(files, "man1/sendflow.1")
    one(files, "systemd/system/sendflowd.service")
    one(files, "sendflow/sendflowd.yaml")
    for f in source_files(SCHEMA_DIR):
        one(files, "share/sendflow/schema/" + f)
    shipped = source_files(WORKFLOWS_DIR)
    assert "calendars/bank-holidays.yaml" in shipped, shipped
    for f in shipped:
        defaults = one(files, "share/sendflow/workflows/" + f)
        local = one(files, "etc/sendflow/workflows/" + f)
        with open(defaults, "rb") as a, open(local, "rb") as b, \
                open(os.path.join(WORKFLOWS_DIR, f), "rb") as c:
            src = c.read()
            eq(a.read(), src, "installed default %s" % f)
            eq(b.read(), src, "installed local copy %s" % f)
    # The unit runs the installed binary with the installed settings file.
    unit = open(one(files, "systemd/system/sendflowd.service")).read()
    exe = "/" + [f for f in files if f.endswith("bin/sendflowd")][0]
    cfg = "/" + [f for f in files if f.endswith("sendflow/sendflowd.yaml")][0]
    assert "\nExecStart=%s --config %s\n" % (exe, cfg) in unit, unit


@test
def the_installed_daemon_serves_from_the_installed_files():
    files = installed()
    exe = one(files, "bin/sendflowd")
    cli = one(files, "bin/sendflow")
    wf = os.path.dirname(one(files, "etc/sendflow/workflows/ehcp-assessment.yaml"))
    schema = os.path.dirname(one(files, "share/sendflow/schema/001_init.sql"))
    cfg = one(files, "sendflow/sendflowd.yaml")
    # The Daemon runs `sh -c 'exec INSTALLED "$@"'` in place of the build's binary.
    wrapper = ["sh", "-c", 'shift; exec %s "$@"' % shlex.quote(exe), "sh"]
    p = subprocess.run([exe, "--config", cfg, "--check-config", "--workflows", wf, "--schema",
                        schema, "--socket", os.path.join(tempdir(), "x.sock")],
                       capture_output=True, text=True, timeout=timeout(60))
    eq(p.returncode, 0, "installed --check-config (stderr %r)" % p.stderr)
    with Database() as db:
        d = Daemon(db, wrapper=wrapper, extra_args=["--config", cfg, "--workflows", wf,
                                                    "--schema", schema])
        rc, out, err = d.cli("workflows")
        assert "ehcp-assessment" in out, out
        r = subprocess.run([cli, "--socket", d.socket, "case", "open", "C-INST1"],
                           capture_output=True, text=True, timeout=timeout(30))
        eq(r.returncode, 0, "installed CLI (stderr %r)" % r.stderr)
        stderr = d.stop()
        assert "loaded from %s/ehcp-assessment.yaml" % wf in stderr, stderr[-3000:]


@test
def the_unit_passes_systemd_analyze_verify():
    files = installed()
    src = one(files, "systemd/system/sendflowd.service")
    text = open(src).read()
    for want in ("Type=notify", "WatchdogSec=", "User=sendflow", "RuntimeDirectory=sendflow",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n"):
        assert want in text, "unit lacks %s" % want
    if not shutil.which("systemd-analyze"):
        print("# skipped systemd-analyze verify: systemd-analyze is not installed")
        return
    # verify wants ExecStart to exist and the Documentation= man page to be found.
    d = tempdir()
    unit = os.path.join(d, "sendflowd.service")
    exe = "/" + [f for f in files if f.endswith("bin/sendflowd")][0]
    with open(unit, "w") as f:
        f.write(text.replace("ExecStart=" + exe, "ExecStart=" + one(files, "bin/sendflowd")))
    man = os.path.dirname(os.path.dirname(one(files, "man8/sendflowd.8")))
    p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=man), timeout=timeout(60))
    eq((p.returncode, p.stderr.strip()), (0, ""), "systemd-analyze verify (stdout %r)" % p.stdout)
    # A broken unit is caught (the check can fail).
    with open(unit, "w") as f:
        f.write(text.replace("Type=notify", "Type=notifyy"))
    p = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=man), timeout=timeout(60))
    assert "notifyy" in p.stderr, p.stderr


@test
def default_paths_without_options():
    """No path options: a source tree's ./workflows, ./schema and ./var, or the
    socket systemd's RuntimeDirectory names (the installed ones are checked by
    scripts/deb-check, which installs the package)."""
    cwd = tempdir()
    os.symlink(WORKFLOWS_DIR, os.path.join(cwd, "workflows"))
    os.symlink(SCHEMA_DIR, os.path.join(cwd, "schema"))
    os.mkdir(os.path.join(cwd, "var"))
    run = os.path.join(tempdir(), "run")
    for env, sock in (({}, "./var/sendflowd.sock"), ({"RUNTIME_DIRECTORY": run},
                                                     run + "/sendflowd.sock")):
        e = dict(os.environ, **env)
        e.pop("SENDFLOW_DATABASE", None)
        p = subprocess.run([SENDFLOWD, "--check-config"], capture_output=True, text=True, cwd=cwd,
                           env=e, timeout=timeout(60))
        eq(p.returncode, 0, "--check-config with no options (stderr %r)" % p.stderr)
        for want in ("in ./workflows,", "in ./schema,", "socket %s\n" % sock):
            assert want in p.stdout, "%r not in %r" % (want, p.stdout)


def roff_text(path):
    return open(path).read().replace("\\-", "-").replace("\\fB", "").replace("\\fR", "") \
        .replace("\\fI", "")


@test
def the_man_pages_name_every_option_and_command():
    files = installed()
    page = roff_text(one(files, "man8/sendflowd.8"))
    out = subprocess.run([SENDFLOWD, "--help"], capture_output=True, text=True, check=True).stdout
    options = set(re.findall(r"^\s+(--[a-z][a-z-]*)", out, re.M))
    assert len(options) > 20, options
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"\b", page))
    assert not missing, "sendflowd(8) lacks %s" % missing
    page = roff_text(one(files, "man1/sendflow.1"))
    out = subprocess.run([SENDFLOW, "--help"], capture_output=True, text=True).stdout
    options = set(re.findall(r"(--[a-z][a-z-]*)", out))
    commands = set(m.strip() for m in re.findall(r"^  ([a-z][a-z]*(?: [a-z]+)?)\b", out, re.M))
    assert len(options) > 20 and len(commands) > 20, (options, commands)
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"\b", page))
    assert not missing, "sendflow(1) lacks options %s" % missing
    missing = sorted(c for c in commands if not re.search(r"\b%s\b" % re.escape(c), page))
    assert not missing, "sendflow(1) lacks commands %s" % missing


main()
