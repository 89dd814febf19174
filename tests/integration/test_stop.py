"""A clean stop (SIGTERM) while notices are being delivered hands them back:
transfers in flight get a grace to finish and are recorded as sent; those
still running after it are released (pending, no lease); nothing is left
leased until --delivery-lease-s runs out, and after a restart every notice
is delivered exactly once. The exit stays prompt and clean (exit 0, no
sanitizer report).
"""
import http.server
import json
import os
import shutil
import threading
import time

from sfharness import (test, main, Database, Daemon, WORKFLOWS_DIR, tempdir, wait_for, timeout,
                       eq)

CLOCK = "2026-01-05T09:00"
SECRET_ENV = "SENDFLOW_TEST_WEBHOOK_SECRET"
ARGS = ["--delivery-retry-ms", "200", "--delivery-max-attempts", "5"]
# The daemon's DELIVERY_STOP_GRACE_MS (delivery.h), in seconds.
GRACE_S = 5


class SlowReceiver:
    """An HTTP receiver on 127.0.0.1 that answers 200 after `delay` seconds
    (per path; 0 when not given). `arrived` and `answered` list the
    Idempotency-Key of every request when it came and when its 200 was sent."""

    def __init__(self, delays):
        self.delays = delays
        self.arrived, self.answered = [], []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("Idempotency-Key")
                with receiver.lock:
                    receiver.arrived.append(key)
                    delay = receiver.delays.get(self.path, 0)
                time.sleep(delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                except OSError:
                    return  # the daemon hung up: not delivered
                with receiver.lock:
                    receiver.answered.append(key)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def counts(self, which):
        with self.lock:
            out = {}
            for k in getattr(self, which):
                out[k] = out.get(k, 0) + 1
            return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def workflows_with(rcv):
    d = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, d)
    with open(os.path.join(d, "channels.yaml"), "w") as f:
        f.write("channels: 1\npeople:\n  jb: {title: case officer, command: keep}\n"
                "webhooks:\n"
                "  slow: {url: \"%s\", secret_env: %s}\n"
                "  stuck: {url: \"%s\", secret_env: %s}\n"
                "commands:\n  keep: {argv: [/bin/true]}\n" % (
                    rcv.url("/slow"), SECRET_ENV, rcv.url("/stuck"), SECRET_ENV))
    return d


def insert_many(db, target, n, prefix):
    values = ",".join("('escalation','webhook','%s','s','b','{\"n\": %d}'::jsonb,'%s-%d')"
                      % (target, i, prefix, i) for i in range(n))
    db.sql("INSERT INTO outbox (kind, channel, target, subject, body, payload, idem_key) "
           "VALUES " + values)
    return ["%s-%d" % (prefix, i) for i in range(n)]


def rows(db):
    out = db.sql("SELECT coalesce(json_agg(row_to_json(o) ORDER BY id), '[]') FROM "
                 "(SELECT id, idem_key, status, attempts, lease_until, sent_at, last_error "
                 "FROM outbox) o").strip()
    return {r["idem_key"]: r for r in json.loads(out)}


def stop_timed(d):
    t0 = time.monotonic()
    err = d.stop()
    return time.monotonic() - t0, err


@test
def a_stop_mid_delivery_records_what_was_delivered_and_delivers_each_notice_once():
    os.environ[SECRET_ENV] = "stop-test-secret"
    # Answers take 1.5 s: well within the stop's grace, so every transfer in flight at the
    # SIGTERM reaches its receiver and must be recorded as sent, not handed back.
    rcv = SlowReceiver({"/slow": 1.5})
    try:
        wdir = workflows_with(rcv)
        with Database() as db:
            d = Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir)
            keys = insert_many(db, "slow", 8, "slow")
            wait_for(lambda: len(rcv.counts("arrived")) >= 1, 20, "a delivery in flight")
            took, err = stop_timed(d)
            assert took < timeout(GRACE_S + 8), "stopping took %.1f s" % took
            after = rows(db)
            # Nothing left leased: every row is sent, or pending with no lease.
            for k, r in after.items():
                assert r["status"] in ("sent", "pending"), r
                assert r["lease_until"] is None, ("still leased after a clean stop", r)
                if r["status"] == "pending":
                    assert r["sent_at"] is None, r
            # Every notice the receiver answered is recorded as sent.
            for k in rcv.counts("answered"):
                eq(after[k]["status"], "sent", "status of %s, answered before the stop" % k)
            assert "delivered in" in err, err[-3000:]
            assert "still leased" not in err

            # Restarted: the rest go out; each notice reaches the receiver exactly once.
            d = Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir)
            wait_for(lambda: all(r["status"] == "sent" for r in rows(db).values()), 30,
                     "every notice sent after the restart")
            d.stop()
            arrived = rcv.counts("arrived")
            eq(sorted(arrived), sorted(keys), "notices received")
            twice = {k: n for k, n in arrived.items() if n != 1}
            eq(twice, {}, "notices delivered more than once")
            db.drop()
    finally:
        rcv.close()


@test
def a_transfer_still_running_after_the_grace_is_released_at_once_not_left_for_the_lease():
    os.environ[SECRET_ENV] = "stop-test-secret"
    # The receiver takes far longer than the grace: the stop must not wait for it.
    rcv = SlowReceiver({"/stuck": timeout(GRACE_S + 20)})
    try:
        wdir = workflows_with(rcv)
        with Database() as db:
            d = Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir)
            keys = insert_many(db, "stuck", 3, "stuck")
            wait_for(lambda: len(rcv.counts("arrived")) == 3, 20, "3 deliveries in flight")
            took, err = stop_timed(d)
            assert took >= GRACE_S - 0.5, "the transfers got no grace (%.1f s)" % took
            assert took < timeout(GRACE_S + 8), "stopping took %.1f s" % took
            after = rows(db)
            for k in keys:
                r = after[k]
                eq(r["status"], "pending", "status of %s" % k)
                assert r["lease_until"] is None, r
                eq(r["attempts"], 1, "attempts of %s" % k)
                assert "stopped" in (r["last_error"] or ""), r
            # Ready again at once (not after the 300 s lease): a new daemon takes them up.
            rcv.delays["/stuck"] = 0
            d = Daemon(db, clock=CLOCK, extra_args=ARGS, workflows=wdir)
            wait_for(lambda: all(rows(db)[k]["status"] == "sent" for k in keys), 20,
                     "the released notices sent by the next daemon")
            d.stop()
            db.drop()
    finally:
        rcv.close()


main()
