"""Secrets stay off the command line and out of the log: the daemon takes its
conninfo from SENDFLOW_DATABASE (as scripts/up passes it) or from libpq's
own PGSERVICE / service file; a --database given anyway is hidden from
/proc/PID/cmdline once read; the SMTP URL's and a webhook URL's passwords,
and a conninfo's password, never appear in a log line or a stored error.
(The test cluster trusts local connections, so a password in the conninfo
is accepted and ignored: it is there to be looked for.)
"""
import os
import shutil
import socket

from sfharness import (test, main, Database, Daemon, WORKFLOWS_DIR, tempdir, wait_for, eq)

CLOCK = "2026-01-05T09:00"
SECRET_ENV = "SENDFLOW_TEST_WEBHOOK_SECRET"
PG_PASSWORD = "pg-pass-4711"
SMTP_PASSWORD = "smtp-pass-0815"
HOOK_PASSWORD = "hook-pass-42"
ARGS = ["--delivery-retry-ms", "200", "--delivery-max-attempts", "2"]


class NoDatabaseArgDaemon(Daemon):
    """Started as scripts/up starts it: no --database on the command line."""

    def argv(self):
        a = Daemon.argv(self)
        i = a.index("--database")
        del a[i:i + 2]
        return a


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def workflows_with_credentials():
    """Channels whose SMTP relay and webhook URLs carry passwords (nobody listens there)."""
    d = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, d)
    with open(os.path.join(d, "channels.yaml"), "w") as f:
        f.write("channels: 1\npeople:\n  jb: {title: case officer, command: keep}\n"
                "webhooks:\n"
                "  board: {url: \"http://hook:%s@127.0.0.1:%d/in\", secret_env: %s}\n"
                "email: {smtp: \"smtp://mailer:%s@127.0.0.1:%d\", from: \"sf@council.example\"}\n"
                "commands:\n  keep: {argv: [/bin/true]}\n" % (
                    HOOK_PASSWORD, free_port(), SECRET_ENV, SMTP_PASSWORD, free_port()))
    return d


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().replace(b"\0", b" ").decode("utf-8", "replace")


def assert_no_secret(text, where):
    for s in (PG_PASSWORD, SMTP_PASSWORD, HOOK_PASSWORD):
        assert s not in text, "%s shows %s:\n%s" % (where, s, text[-3000:])


@test
def started_like_scripts_up_the_conninfo_is_in_the_environment_and_no_password_shows():
    os.environ[SECRET_ENV] = "secrets-test-secret"
    with Database() as db:
        os.environ["SENDFLOW_DATABASE"] = db.conninfo + " password=" + PG_PASSWORD
        try:
            d = NoDatabaseArgDaemon(db, clock=CLOCK, extra_args=ARGS,
                                    workflows=workflows_with_credentials())
        finally:
            del os.environ["SENDFLOW_DATABASE"]
        line = cmdline(d.pid)
        assert "--database" not in line and "password" not in line, line
        assert_no_secret(line, "/proc/PID/cmdline")
        # Both channels fail (nobody listens) and log their errors, with the URLs' hosts.
        for channel, target, key in (("email", "jb@council.example", "e-1"),
                                     ("webhook", "board", "w-1")):
            db.sql("INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key)"
                   " VALUES ('escalation', '%s', '%s', 's', 'b', '{}', '%s')" % (channel, target, key))
        wait_for(lambda: db.sql("SELECT count(*) FROM outbox WHERE status = 'failed'").strip() == "2",
                 30, "both notices parked as failed")
        errors = db.sql("SELECT string_agg(last_error, ' | ') FROM outbox")
        err = d.stop()
        assert "smtp://mailer:***@127.0.0.1" in err, err[-3000:]  # the line is there, redacted
        assert_no_secret(err, "the log")
        assert_no_secret(errors, "last_error")
        db.drop()


@test
def a_database_given_on_the_command_line_wins_and_its_password_is_hidden_once_read():
    with Database() as db:
        # A wrong SENDFLOW_DATABASE: --database wins over it.
        os.environ["SENDFLOW_DATABASE"] = "host=/nonexistent port=1"
        try:
            d = Daemon(db, clock=CLOCK, extra_args=["--database", db.conninfo + " password=" +
                                                    PG_PASSWORD])
        finally:
            del os.environ["SENDFLOW_DATABASE"]
        line = cmdline(d.pid)
        assert_no_secret(line, "/proc/PID/cmdline")
        assert "--database" in line, line
        assert_no_secret(d.stop(), "the log")
        db.drop()


@test
def with_no_conninfo_at_all_libpq_reads_pgservice_and_its_service_file():
    with Database() as db:
        conf = os.path.join(tempdir(), "pg_service.conf")
        with open(conf, "w") as f:
            f.write("[sendflow-test]\n" + "\n".join(db.conninfo.split(" ")) + "\n")
        saved = {k: os.environ.get(k) for k in ("PGSERVICE", "PGSERVICEFILE", "SENDFLOW_DATABASE")}
        os.environ.update(PGSERVICE="sendflow-test", PGSERVICEFILE=conf)
        os.environ.pop("SENDFLOW_DATABASE", None)
        try:
            d = NoDatabaseArgDaemon(db, clock=CLOCK)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        with d.client() as c:
            eq(c.ok({"op": "ping"}).get("ok"), True, "ping")
        d.stop()
        eq(db.sql("SELECT count(*) > 0 FROM schema_migrations").strip(), "t",
           "migrations applied through the service")
        db.drop()


main()
