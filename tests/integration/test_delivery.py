"""Delivery of outbox notices through real channels: an HTTP receiver on
loopback (signature, idempotency key, retries with back-off, parking after
the last attempt), a real SMTP server (Debian's python3-aiosmtpd) and a local
command. Rows are inserted into the outbox with SQL (schema/004), as the
escalation scheduler does, and picked up by the worker's poll
(--delivery-retry-ms). Several daemons on one database deliver each notice
once; a notice claimed by a daemon that vanished is delivered after its
lease; a stopping daemon hands its in-flight notices back.
"""
import email
import email.policy
import hashlib
import hmac
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

from sfharness import (test, main, Database, Daemon, WORKFLOWS_DIR, tempdir, wait_for, timeout,
                       eq, TestError)

CLOCK = "2026-01-05T09:00"
SECRET_ENV = "SENDFLOW_TEST_WEBHOOK_SECRET"
SECRET = "s3cret-for-tests-\u00e9"  # non-ASCII on purpose: the key is the variable's bytes
RETRY_MS = 200
MAX_ATTEMPTS = 3
ARGS = ["--delivery-retry-ms", str(RETRY_MS), "--delivery-max-attempts", str(MAX_ATTEMPTS)]


# --------------------------------------------------------------------------
# Receivers


class Receiver:
    """An HTTP server on 127.0.0.1 recording every request; `script` maps a
    path to the statuses of its successive answers (the last one repeats)."""

    def __init__(self, script):
        self.script = script
        self.requests = []  # (time, path, headers dict, body bytes)
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.requests.append((time.monotonic(), self.path, dict(self.headers), body))
                    seen = sum(1 for r in receiver.requests if r[1] == self.path)
                statuses = receiver.script.get(self.path, [200])
                status = statuses[min(seen, len(statuses)) - 1]
                self.send_response(status)
                text = b"ok" if status < 300 else b"receiver says no\nsecond line"
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def on(self, path):
        with self.lock:
            return [r for r in self.requests if r[1] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


SMTP_SERVER = r'''
import json, os, sys
from aiosmtpd.controller import Controller
outdir, port = sys.argv[1], int(sys.argv[2])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(outdir))
        tmp = os.path.join(outdir, ".%03d" % n)
        with open(tmp, "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "data": envelope.original_content.decode("utf-8")}, f)
        os.rename(tmp, os.path.join(outdir, "%03d.json" % n))
        return "250 OK"
c = Controller(Handler(), hostname="127.0.0.1", port=port)
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def aiosmtpd_python():
    """An interpreter that has aiosmtpd (python3-aiosmtpd is Debian's)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and subprocess.run([py, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
            return py
    raise TestError("no python3 with aiosmtpd (apt-get install python3-aiosmtpd)")


class SmtpServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 saving each message."""

    def __init__(self):
        self.dir = tempdir()
        self.port = free_port()
        script = os.path.join(self.dir, "smtpd.py")
        with open(script, "w") as f:
            f.write(SMTP_SERVER)
        self.out = os.path.join(self.dir, "mail")
        os.mkdir(self.out)
        self.proc = subprocess.Popen([aiosmtpd_python(), script, self.out, str(self.port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if b"ready" not in line:
            raise TestError("aiosmtpd did not start: %r %r" % (line, self.proc.stderr.read()))

    def messages(self):
        out = []
        for name in sorted(os.listdir(self.out)):
            if name.endswith(".json"):
                with open(os.path.join(self.out, name)) as f:
                    out.append(json.load(f))
        return out

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout(10))
        except Exception:
            self.proc.kill()


# --------------------------------------------------------------------------
# Set-up


def workflows_with(channels):
    """A copy of the shipped workflows with this channels.yaml."""
    d = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, d)
    with open(os.path.join(d, "channels.yaml"), "w") as f:
        f.write(channels)
    return d


def channels_yaml(receiver=None, smtp=None, commands=""):
    y = "channels: 1\npeople:\n  jb: {title: case officer, command: keep}\n"
    if receiver:
        y += ("webhooks:\n"
              "  board: {url: \"%s\", secret_env: %s}\n"
              "  flaky: {url: \"%s\", secret_env: %s}\n"
              "  broken: {url: \"%s\", secret_env: %s}\n"
              "  nobody-home: {url: \"http://127.0.0.1:%d/x\", secret_env: %s}\n" % (
                  receiver.url("/board"), SECRET_ENV, receiver.url("/flaky"), SECRET_ENV,
                  receiver.url("/broken"), SECRET_ENV, free_port(), SECRET_ENV))
    if smtp:
        y += "email: {smtp: \"smtp://127.0.0.1:%d\", from: \"sendflow@council.example\"}\n" % smtp.port
    y += "commands:\n  keep: {argv: [/bin/true]}\n" + commands
    return y


def q(s):
    return "'" + s.replace("'", "''") + "'"


def insert(db, channel, target, payload, key, kind="escalation", subject="Deadline missed",
           body="The final plan for C-1 was due on 2026-05-25."):
    """One outbox row, as the scheduler writes it; returns its id (a string)."""
    return db.sql(
        "INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key) "
        "VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s) RETURNING id" % (
            q(kind), q(channel), q(target), q(subject), q(body), q(json.dumps(payload)),
            q(key))).strip()


def row(db, id):
    out = db.sql("SELECT row_to_json(o) FROM outbox o WHERE id = %s" % id).strip()
    return json.loads(out)


def wait_status(db, id, status, seconds=20):
    return wait_for(lambda: row(db, id)["status"] == status and row(db, id), seconds,
                    "outbox %s to be %s (it is %s)" % (id, status, row(db, id)["status"]))


def compact(payload_text_from_db):
    """What the daemon must send: the stored jsonb without insignificant whitespace."""
    return json.dumps(json.loads(payload_text_from_db), separators=(",", ":"),
                      ensure_ascii=False).encode()


def stored_payload(db, id):
    return db.sql("SELECT payload::text FROM outbox WHERE id = %s" % id).strip()


PAYLOAD = {"kind": "escalation", "case": "C-1", "deadline": "final_plan", "level": "missed",
           "due": "2026-05-25", "note": "a \"quoted\", spaced: text", "name": "Zo\u00eb",
           "to": ["jb", "mk"], "days": -3}


def set_secret():
    os.environ[SECRET_ENV] = SECRET


# --------------------------------------------------------------------------
# Tests


@test
def webhook_is_signed_and_retried_with_back_off_until_it_answers_2xx():
    set_secret()
    rcv = Receiver({"/flaky": [500, 500, 200]})
    try:
        with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS,
                                      workflows=workflows_with(channels_yaml(rcv))) as d:
            id = insert(db, "webhook", "flaky", PAYLOAD, "esc-1-missed")
            r = wait_status(db, id, "sent")
            eq(r["attempts"], 3, "attempts")
            assert r["sent_at"], r
            assert "HTTP 500" in (r["last_error"] or ""), r
            reqs = rcv.on("/flaky")
            eq(len(reqs), 3, "requests received")
            body = compact(stored_payload(db, id))
            for t, path, headers, got in reqs:
                eq(got, body, "body: the stored payload, compact")
                eq(headers.get("Content-Type"), "application/json", "Content-Type")
                eq(headers.get("Idempotency-Key"), "esc-1-missed", "Idempotency-Key")
                eq(headers.get("X-Sendflow-Delivery"), id, "X-Sendflow-Delivery")
                eq(headers.get("X-Sendflow-Kind"), "escalation", "X-Sendflow-Kind")
                want = hmac.new(SECRET.encode(), got, hashlib.sha256).hexdigest()
                eq(headers.get("X-Sendflow-Signature"), "sha256=" + want, "signature")
            eq(json.loads(reqs[0][3]), PAYLOAD, "payload")
            # Back-off: the second attempt at least RETRY_MS after the first, the third
            # at least twice that after the second (less a little for clock reading).
            gaps = [reqs[i + 1][0] - reqs[i][0] for i in range(2)]
            assert gaps[0] >= RETRY_MS / 1000 * 0.9, gaps
            assert gaps[1] >= 2 * RETRY_MS / 1000 * 0.9, gaps
            out = d.stderr()
            assert "attempt 1 failed: HTTP 500" in out, out
            assert "delivered in" in out, out
    finally:
        rcv.close()


@test
def a_webhook_that_always_fails_is_parked_and_listed_by_outbox_failed():
    set_secret()
    rcv = Receiver({"/broken": [500]})
    try:
        with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS,
                                      workflows=workflows_with(channels_yaml(rcv))) as d:
            ok = insert(db, "webhook", "board", {"n": 1}, "ok-1")
            bad = insert(db, "webhook", "broken", {"n": 2}, "broken-1")
            refused = insert(db, "webhook", "nobody-home", {"n": 3}, "refused-1")
            unknown = insert(db, "webhook", "not-declared", {"n": 4}, "unknown-1")
            r = wait_status(db, bad, "failed")
            eq(r["attempts"], MAX_ATTEMPTS, "attempts")
            assert r["sent_at"] is None and "HTTP 500: receiver says no second line" in r["last_error"], r
            eq(len(rcv.on("/broken")), MAX_ATTEMPTS, "requests: one per attempt, then parked")
            r = wait_status(db, refused, "failed")
            assert "onnect" in r["last_error"], r  # "Couldn't connect", "Connection refused"
            r = wait_status(db, unknown, "failed")
            assert 'no webhook "not-declared"' in r["last_error"], r
            wait_status(db, ok, "sent")

            doc = d.cli("outbox", "--failed", json=True)
            eq(doc["failed"], True, "failed")
            eq(sorted(i["id"] for i in doc["items"]), sorted([bad, refused, unknown]), "failed ids")
            item = [i for i in doc["items"] if i["id"] == bad][0]
            eq((item["kind"], item["channel"], item["target"], item["status"], item["attempts"]),
               ("escalation", "webhook", "broken", "failed", MAX_ATTEMPTS), "failed item")
            assert "HTTP 500" in item["last_error"] and item["created_at"].endswith("Z"), item
            eq(item["sent_at"], None, "sent_at")
            eq(item["next_attempt_at"], None, "next_attempt_at of a parked notice")
            everything = d.cli("outbox", json=True)
            eq([i["id"] for i in everything["items"]], [unknown, refused, bad, ok], "newest first")
            eq(everything["truncated"], False, "truncated")

            rc, text, _ = d.cli("outbox", "--failed")
            assert "3 failed notices" in text and "broken" in text and "last error: HTTP 500" in text, text
            rc, text, _ = d.cli("outbox")
            assert "ID" in text and "sent" in text and "failed" in text, text
            rc, _, err = d.cli("outbox", "--overdue", check=False)
            eq(rc, 2, "outbox --overdue is a usage error")
            assert "does not apply to 'outbox'" in err, err
            assert "parked as failed after 3 attempts" in d.stderr()
    finally:
        rcv.close()


@test
def email_goes_through_a_real_smtp_server():
    smtp = SmtpServer()
    try:
        with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS,
                                      workflows=workflows_with(channels_yaml(smtp=smtp))) as d:
            body = ("Final plan for C-1001 is 3 days overdue.\n"
                    ".\n"
                    "..a line that starts with dots\n"
                    "Due 2026-05-25 (SEND Regulations 2014, reg. 13(2)).")
            subject = "Missed: final plan \u2014 C-1001 (Zo\u00eb), 20-week limit passed " + "x" * 40
            id = insert(db, "email", "mk@council.example", PAYLOAD, "esc-7-missed-mk",
                        subject=subject, body=body)
            wait_status(db, id, "sent")
            msgs = wait_for(smtp.messages, 10, "the SMTP server to receive the message")
            eq(len(msgs), 1, "messages")
            m = msgs[0]
            eq(m["from"], "sendflow@council.example", "envelope sender")
            eq(m["to"], ["mk@council.example"], "envelope recipients")
            msg = email.message_from_string(m["data"], policy=email.policy.default)
            eq(msg["From"], "sendflow@council.example", "From")
            eq(msg["To"], "mk@council.example", "To")
            eq(str(msg["Subject"]), subject, "Subject")
            eq(msg.get_content().replace("\r\n", "\n").rstrip("\n"), body, "body")
            eq(msg["Auto-Submitted"], "auto-generated", "Auto-Submitted")
            eq(msg["X-Sendflow-Idempotency-Key"], "esc-7-missed-mk", "idempotency key")
            want_id = "<sendflow.%s@council.example>" % hashlib.sha256(b"esc-7-missed-mk").hexdigest()[:32]
            eq(msg["Message-ID"], want_id, "Message-ID (the same on every retry)")
            assert msg["Date"] and msg["Date"].datetime is not None, msg["Date"]
            bad = insert(db, "email", "not an address", PAYLOAD, "bad-address")
            r = wait_status(db, bad, "failed")
            assert "not an e-mail address" in r["last_error"], r
    finally:
        smtp.close()


@test
def email_without_an_email_section_or_server_is_retried_then_parked():
    with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS,
                                  workflows=workflows_with(channels_yaml())) as d:
        id = insert(db, "email", "mk@council.example", PAYLOAD, "no-email-section")
        r = wait_status(db, id, "failed")
        assert 'no "email:" section' in r["last_error"], r
    port = free_port()  # nothing listens there
    y = channels_yaml() + "email: {smtp: \"smtp://127.0.0.1:%d\", from: s@council.example}\n" % port
    with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=workflows_with(y)) as d:
        id = insert(db, "email", "mk@council.example", PAYLOAD, "no-server")
        r = wait_status(db, id, "failed")
        eq(r["attempts"], MAX_ATTEMPTS, "attempts")
        assert "onnect" in r["last_error"], r


@test
def a_command_gets_the_payload_on_stdin_and_its_exit_status_decides():
    out = tempdir()
    script = os.path.join(out, "keep.sh")
    with open(script, "w") as f:
        f.write('#!/bin/sh\n'
                'cat > "$1/$SENDFLOW_OUTBOX_ID.json"\n'
                'printf "%s|%s|%s|%s" "$SENDFLOW_KIND" "$SENDFLOW_TARGET" '
                '"$SENDFLOW_IDEMPOTENCY_KEY" "${SENDFLOW_TEST_WEBHOOK_SECRET:-unset}" '
                '> "$1/$SENDFLOW_OUTBOX_ID.env"\n')
    cmds = ("  pager: {argv: [/bin/sh, %s, %s]}\n"
            "  grumpy: {argv: [/bin/sh, -c, 'cat >/dev/null; echo boom >&2; exit 3']}\n"
            "  slow: {argv: [/bin/sleep, '30'], timeout_s: 1}\n"
            "  missing: {argv: [/nonexistent/program]}\n" % (script, out))
    set_secret()
    with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS,
                                  workflows=workflows_with(channels_yaml(commands=cmds))) as d:
        ok = insert(db, "command", "pager", PAYLOAD, "esc-9-at_risk", kind="digest")
        grumpy = insert(db, "command", "grumpy", PAYLOAD, "grumpy-1")
        slow = insert(db, "command", "slow", PAYLOAD, "slow-1")
        missing = insert(db, "command", "missing", PAYLOAD, "missing-1")
        wait_status(db, ok, "sent")
        with open(os.path.join(out, ok + ".json"), "rb") as f:
            eq(f.read(), compact(stored_payload(db, ok)), "stdin: the compact payload")
        with open(os.path.join(out, ok + ".env")) as f:
            # The daemon's environment (its secrets) is not passed on.
            eq(f.read(), "digest|pager|esc-9-at_risk|unset", "environment")
        r = wait_status(db, grumpy, "failed")
        assert "exited with status 3: boom" in r["last_error"], r
        r = wait_status(db, missing, "failed")
        assert "cannot run /nonexistent/program" in r["last_error"], r
        r = wait_status(db, slow, "failed", seconds=30)
        assert "ran longer than 1 s and was killed" in r["last_error"], r


@test
def a_webhook_without_its_secret_in_the_environment_refuses_to_start():
    rcv = Receiver({})
    try:
        os.environ.pop(SECRET_ENV, None)
        wdir = workflows_with(channels_yaml(rcv))
        with Database() as db:
            d = Daemon(db, clock=CLOCK, workflows=wdir, start=False)
            d.start(wait=False)
            rc = d.wait_exit(seconds=20)
            d.kill()
            assert rc not in (0, None), "sendflowd started without the webhook's secret"
            err = d.stderr()
            assert SECRET_ENV in err and "channels.yaml:" in err and 'webhook "board"' in err, err
            os.environ[SECRET_ENV] = ""
            d = Daemon(db, clock=CLOCK, workflows=wdir, start=False)
            d.start(wait=False)
            assert d.wait_exit(seconds=20) not in (0, None), "started with an empty secret"
            d.kill()
    finally:
        rcv.close()
        set_secret()


@test
def two_daemons_deliver_each_notice_once_and_a_vanished_claim_is_retried_after_its_lease():
    set_secret()
    rcv = Receiver({})
    try:
        wdir = workflows_with(channels_yaml(rcv))
        with Database() as db, Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir) as a, \
                Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir) as b:
            values = ",".join("('escalation','webhook','board','s','b','{\"n\": %d}'::jsonb,'k-%d')"
                              % (i, i) for i in range(60))
            db.sql("INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key) "
                   "VALUES " + values)
            wait_for(lambda: db.sql("SELECT count(*) FROM outbox WHERE status = 'sent'").strip() == "60",
                     30, "60 notices sent")
            keys = [r[2]["Idempotency-Key"] for r in rcv.on("/board")]
            eq(len(keys), 60, "requests (each notice once)")
            eq(len(set(keys)), 60, "distinct keys")
            eq(db.sql("SELECT max(attempts) FROM outbox").strip(), "1", "attempts")

            # A row claimed by a daemon that died: its lease has run out.
            stale = db.sql(
                "INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key, status,"
                " attempts, lease_until, next_attempt_at) VALUES ('escalation', 'webhook', 'board',"
                " 's', 'b', '{}', 'stale-1', 'sending', 1, now() - interval '1 second',"
                " now() + interval '5 minutes') RETURNING id").strip()
            # One still leased by a live claimant is left alone.
            leased = db.sql(
                "INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key, status,"
                " attempts, lease_until, next_attempt_at) VALUES ('escalation', 'webhook', 'board',"
                " 's', 'b', '{}', 'leased-1', 'sending', 1, now() + interval '1 hour',"
                " now() + interval '1 hour') RETURNING id").strip()
            r = wait_status(db, stale, "sent")
            eq(r["attempts"], 2, "attempts of the reclaimed notice")
            eq(row(db, leased)["status"], "sending", "a live lease is respected")
            assert not [x for x in rcv.on("/board") if x[2]["Idempotency-Key"] == "leased-1"]
    finally:
        rcv.close()


@test
def a_stopping_daemon_hands_its_in_flight_notices_back():
    cmds = "  slow: {argv: [/bin/sleep, '60'], timeout_s: 120}\n"
    with Database() as db:
        d = Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=workflows_with(channels_yaml(commands=cmds)))
        id = insert(db, "command", "slow", PAYLOAD, "slow-stop")
        wait_status(db, id, "sending")
        t0 = time.monotonic()
        d.stop()  # exit 0, clean stderr
        assert time.monotonic() - t0 < timeout(15), "stopping waited for the command"
        r = row(db, id)
        assert r["status"] in ("pending", "sending") and r["sent_at"] is None, r
        # Restarted, it takes the notice up again (at once when it was handed back).
        if r["status"] == "pending":
            assert "stopped" in r["last_error"], r
        db.drop()


main()
