"""HTTP on the daemon's loop (issue 12, items 1 and 4): --http serves
/healthz, /readyz and /metrics; plain HTTP only on a loopback address, TLS
with --tls-cert/--tls-key; /readyz says 503 while the database is away;
/metrics is the Prometheus text format (parsed here with prometheus_client's
own parser), its request counters agree with the requests made and its
figures with the database, and it names no case. A stop with an idle
keep-alive connection open is prompt and clean.
"""
import os
import socket
import subprocess
import time

from sfharness import (test, main, Database, Daemon, PrivateCluster, TestError, debian_module,
                       eq, free_port, http_daemon, http_request, one_line, timeout, wait_for)

# An independent parser of the exposition format: Debian's python3-prometheus-client.
text_string_to_metric_families = debian_module(
    "prometheus_client.parser").text_string_to_metric_families

CLOCK = "2026-03-02T09:00"


def metrics(d):
    """GET /metrics parsed: {(name, labels as a sorted tuple): value}, and the text."""
    status, headers, text = http_request(d, "/metrics")
    eq(status, 200, "/metrics status")
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    samples = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("sendflow_"), family.name
        assert family.documentation, "no HELP for " + family.name
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, text


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


@test
def health_ready_and_metrics_agree_with_what_happened():
    with Database() as db, http_daemon(db, clock=CLOCK) as d, d.client() as c:
        eq(http_request(d, "/healthz")[:1], (200,), "/healthz")
        status, _, body = http_request(d, "/readyz")
        eq((status, body.strip()), (200, "ready"), "/readyz")
        for i in range(3):
            c.ok({"op": "case_open", "case": "C-HT%d" % i, "attrs": {"officer": "jb"}})
        c.ok({"op": "start", "case": "C-HT0", "workflow": "ehcp-assessment",
              "on": "2026-01-05"})
        c.ok({"op": "event", "case": "C-HT0", "type": "decision_to_assess",
              "on": "2026-02-01", "attrs": {"outcome": "yes"}})
        c.error({"op": "show", "case": "C-NOPE"}, "unknown_case")
        c.error({"op": "show", "case": "C-NOPE"}, "unknown_case")
        c.error({"op": "no_such_op"}, "unknown_op")
        samples, text = metrics(d)
        eq(value(samples, "sendflow_requests_total", op="case_open", result="ok"), 3.0,
           "case_open ok")
        eq(value(samples, "sendflow_requests_total", op="show", result="unknown_case"), 2.0,
           "show unknown_case")
        eq(value(samples, "sendflow_requests_total", op="unknown", result="unknown_op"), 1.0,
           "an unknown op is counted as unknown, not by its name")
        eq(value(samples, "sendflow_request_duration_seconds_count", op="case_open"), 3.0,
           "case_open latency observations")
        eq(value(samples, "sendflow_request_duration_seconds_bucket", op="case_open",
                 le="+Inf"), 3.0, "the +Inf bucket holds every observation")
        events = int(db.sql("SELECT count(*) FROM events").strip())
        assert events >= 1, events
        eq(value(samples, "sendflow_events_recorded"), float(events), "events recorded")
        eq(value(samples, "sendflow_database_up"), 1.0, "database up")
        eq(value(samples, "sendflow_db_pool_size", pool="main"), 4.0, "the main pool's size")
        assert value(samples, "sendflow_db_query_duration_seconds_count", pool="main") > 0
        eq(value(samples, "sendflow_connections"), 1.0, "our one socket client")
        eq(value(samples, "sendflow_outbox_notices", status="failed"), 0.0, "failed notices")
        # Nothing personal: no case reference, no officer.
        for word in ("C-HT", "jb"):
            assert word not in text, "%r in /metrics" % word
        # The HTTP responses so far are counted too.
        assert value(samples, "sendflow_http_responses_total", status="200") >= 2, samples
        eq(http_request(d, "/ical/nothing-here")[0], 404, "an unknown calendar path")
        status, headers, _ = http_request(d, "/nothing-here")
        eq((status, headers.get("location")), (303, "/signin"),
           "below / without a token: to the sign-in form")
        eq(http_request(d, "/healthz", method="DELETE")[0], 405, "a method not served")
        eq(http_request(d, "/ack", method="POST", body="x" * 100000)[0], 413,
           "a body over 64 KiB")


@test
def readyz_says_503_while_the_database_is_away():
    cluster = PrivateCluster()
    try:
        d = http_daemon(cluster, clock=CLOCK)
        eq(http_request(d, "/readyz")[0], 200, "ready with the database up")
        cluster.stop()
        status, _, body = wait_for(
            lambda: (lambda r: r if r[0] == 503 else None)(http_request(d, "/readyz")), 30,
            "/readyz to say 503")
        assert "database" in body, body
        eq(http_request(d, "/healthz")[0], 200, "/healthz: the loop runs")
        samples, _ = metrics(d)
        eq(value(samples, "sendflow_database_up"), 0.0, "database down in /metrics")
        eq(value(samples, "sendflow_events_recorded"), None, "no database figure when down")
        cluster.start()
        wait_for(lambda: http_request(d, "/readyz")[0] == 200, 60, "/readyz to recover")
        d.stop()
    finally:
        cluster.close()


@test
def plain_http_only_on_loopback_and_tls_elsewhere():
    with Database() as db:
        d = Daemon(db, clock=CLOCK, start=False,
                   extra_args=["--http", "0.0.0.0:%d" % free_port()])
        p = subprocess.run(d.argv(), capture_output=True, text=True, timeout=timeout(60),
                           cwd=d.dir)
        line = one_line(p.stderr, "--http 0.0.0.0 without TLS")
        if p.returncode == 0 or "loopback" not in line or "--tls-cert" not in line:
            raise TestError("expected a refusal naming loopback and --tls-cert, got %d %r" % (
                p.returncode, p.stderr))
        d = Daemon(db, clock=CLOCK, start=False, extra_args=["--http", "localhost:80"])
        p = subprocess.run(d.argv(), capture_output=True, text=True, timeout=timeout(60),
                           cwd=d.dir)
        if p.returncode == 0 or "--http" not in p.stderr or "numeric" not in p.stderr:
            raise TestError("a host name: expected a refusal, got %d %r" % (p.returncode,
                                                                            p.stderr))
        # With a certificate the same pages are served over TLS (here on loopback too).
        with http_daemon(db, clock=CLOCK, tls=True) as t:
            status, _, body = http_request(t, "/healthz")
            eq((status, body.strip()), (200, "ok"), "/healthz over TLS")
            # Plain HTTP to the TLS port gets no page.
            s = socket.create_connection(("127.0.0.1", t.http_port), timeout=timeout(10))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                got = s.recv(100)
            except OSError:
                got = b""
            s.close()
            assert not got.startswith(b"HTTP/1.1 200"), got


@test
def a_stop_with_an_idle_keep_alive_connection_is_prompt():
    import http.client
    with Database() as db:
        d = http_daemon(db, clock=CLOCK)
        c = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=timeout(10))
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        eq(r.getheader("Connection"), "keep-alive", "the connection stays open")
        t0 = time.monotonic()
        err = d.stop(seconds=20)  # asserts exit 0 and no sanitizer report
        took = time.monotonic() - t0
        c.close()
        assert took < timeout(5), "the stop took %.1fs with an idle connection" % took
        assert "http: stopped" in err, err[-2000:]


if __name__ == "__main__":
    main()
