"""Tokens and TLS (issue 9): a TCP client (--listen) speaks TLS only and is
identified by a token that an admin makes with `sendflow token add`, shown
once and stored only as its SHA-256; each request brings it, so a revoked
token is refused on the very next request. An integration token made with
--events may post only those event types. Token changes are in the audit
trail. Everything real: the daemon, the CLI over TLS (--connect, --tls-ca)
and a self-signed certificate made with the openssl command.
"""
import hashlib
import json
import os
import socket
import subprocess

from sfharness import (test, main, Database, Daemon, RawClient, TestError, cli, eq, one_line,
                       timeout, wait_for, tls_daemon, tls_cert, free_port)

CLOCK = "2026-06-01T09:00"


def tcp(d, *args, token=None, ca=None, check=True, json=False, env=None):
    """The real CLI over TCP+TLS to d (--connect, --tls-ca d's certificate unless ca is
    given), with --token when given; SENDFLOW_TOKEN is cleared unless env sets it."""
    e = {"SENDFLOW_TOKEN": "", "SENDFLOW_TLS_CA": ""}
    e.update(env or {})
    a = ["--connect", "127.0.0.1:%d" % d.port, "--tls-ca", ca or d.cert]
    if token is not None:
        a += ["--token", token]
    return cli(*(a + list(args)), json=json, check=check, env=e)


def add_token(d, name, role, events=None):
    """token add over the Unix socket (the daemon's own user is admin): the reply."""
    args = ["token", "add", name, "--role", role] + (["--events", events] if events else [])
    return d.cli(*args, json=True)


def refused(result, code, what):
    rc, _, err = result
    if rc != 1 or ("sendflow: %s:" % code) not in one_line(err, what):
        raise TestError("%s: expected exit 1 with %s, got %d %r" % (what, code, rc, err))


def state(db):
    """Everything a refused request could have changed."""
    return db.sql("SELECT (SELECT count(*) FROM cases), (SELECT coalesce(sum(version), 0) FROM"
                  " cases), (SELECT count(*) FROM processes), (SELECT count(*) FROM events),"
                  " (SELECT count(*) FROM deadlines), (SELECT count(*) FROM tokens)")


@test
def listen_without_tls_refuses_to_start():
    with Database() as db:
        cert, key = tls_cert()
        d = Daemon(db, clock=CLOCK, listen="127.0.0.1:%d" % free_port(), start=False)
        for extra in ([], ["--tls-cert", cert], ["--tls-key", key]):
            p = subprocess.run(d.argv() + extra, capture_output=True, text=True,
                               timeout=timeout(60), cwd=d.dir)
            line = one_line(p.stderr, "--listen %s" % extra)
            if p.returncode == 0 or "--tls-cert" not in line or "TLS" not in line:
                raise TestError("%s: expected a refusal naming --tls-cert, got %d %r" % (
                    extra, p.returncode, p.stderr))
        # A key that is not the certificate's: refused too, saying which.
        _, other_key = tls_cert()
        p = subprocess.run(d.argv() + ["--tls-cert", cert, "--tls-key", other_key],
                           capture_output=True, text=True, timeout=timeout(60), cwd=d.dir)
        if p.returncode == 0 or "--tls-key" not in p.stderr:
            raise TestError("mismatched key: got %d %r" % (p.returncode, p.stderr[-2000:]))


@test
def a_token_is_shown_once_and_only_its_hash_is_kept():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        _, out, _ = d.cli("token", "add", "crm", "--role", "integration",
                          "--events", "decision_to_assess,withdrawn")
        tokens = [w for w in out.split() if w.startswith("sft_")]
        eq(len(tokens), 1, "tokens printed by token add:\n" + out)
        token = tokens[0]
        assert "shown this once" in out, out
        eq(db.sql("SELECT hash FROM tokens WHERE name = 'crm'").strip(),
           hashlib.sha256(token.encode()).hexdigest(), "the stored hash")
        assert token not in db.sql("SELECT t::text FROM tokens t"), "the token is stored"
        for args in (("token", "list"), ("token", "list", "--json")):
            _, listed, _ = d.cli(*args)
            assert token not in listed and "sft_" not in listed, "list shows it: " + listed
        rows = d.cli("token", "list", json=True)["tokens"]
        eq([(r["name"], r["role"], r["events"], r["revoked"]) for r in rows],
           [("crm", "integration", ["decision_to_assess", "withdrawn"], None)], "token list")
        # The name is taken (revoked names too): refused, nothing changes.
        refused(d.cli("token", "add", "crm", "--role", "caseworker", check=False),
                "token_exists", "a second crm")
        refused(d.cli("token", "add", "x", "--role", "wizard", check=False), "bad_request",
                "an unknown role")
        refused(d.cli("token", "add", "x", "--role", "caseworker", "--events", "withdrawn",
                      check=False), "bad_request", "--events on a caseworker")
        refused(d.cli("token", "add", "x", "--role", "integration", "--events", "no_such_event",
                      check=False), "bad_request", "an unknown event type")
        eq(db.sql("SELECT count(*) FROM tokens").strip(), "1", "tokens")
        # Token changes are audited, refusals included; the token is never in a row or a log line.
        tcp(d, "ping", token=token)
        d.cli("token", "revoke", "crm")
        eq(db.sql("SELECT op || ' ' || result || ' ' || via || ' ' || detail FROM audit_log"
                  " WHERE op LIKE 'token%' ORDER BY id").split("\n")[:3],
           ["token_add ok unix:root token crm (integration --events decision_to_assess,withdrawn)",
            "token_add token_exists unix:root token crm (caseworker)",
            "token_revoke ok unix:root token crm"], "audit rows")
        assert token not in db.sql("SELECT a::text FROM audit_log a"), "token in the audit trail"
        assert token not in d.stderr(), "the token is in the daemon's log"


@test
def tokens_identify_tcp_clients_over_tls():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        cw = add_token(d, "cw1", "caseworker")["token"]
        before = state(db)
        refused(tcp(d, "case", "open", "C-T1", check=False), "unauthenticated", "no token")
        refused(tcp(d, "case", "open", "C-T1", token="sft_" + "0" * 64, check=False),
                "unauthenticated", "a bad token")
        refused(tcp(d, "ping", token=cw[:-1], check=False), "unauthenticated", "a cut token")
        eq(state(db), before, "state after the refusals")
        # The good token, from SENDFLOW_TOKEN: the connection is its identity, whatever actor says.
        env = {"SENDFLOW_TOKEN": cw, "SENDFLOW_ACTOR": "someone_else"}
        tcp(d, "case", "open", "C-T1", env=env)
        tcp(d, "start", "C-T1", "ehcp-assessment", "--on", "2026-05-01", env=env)
        show = tcp(d, "show", "C-T1", env=env, json=True)
        eq(show["processes"][0]["workflow"], "ehcp-assessment", "show over TLS")
        eq(db.sql("SELECT started_by FROM processes").strip(), "cw1", "start's actor")
        eq(db.sql("SELECT DISTINCT who || ' ' || role || ' ' || via FROM audit_log"
                  " WHERE op IN ('case_open', 'start', 'show')").strip(),
           "cw1 caseworker token:cw1", "audit rows of the token's requests")
        # A caseworker's token is not an admin's.
        refused(tcp(d, "token", "add", "x", "--role", "admin", token=cw, check=False),
                "forbidden", "token add by a caseworker")
        refused(tcp(d, "clock", "set", "2026-06-02T09:00", token=cw, check=False), "forbidden",
                "clock set by a caseworker")
        # An admin token may manage tokens over TCP.
        adm = add_token(d, "ops", "admin")["token"]
        tcp(d, "token", "add", "aud", "--role", "auditor", token=adm)
        eq(db.sql("SELECT created_by FROM tokens WHERE name = 'aud'").strip(), "token:ops",
           "made by")
        # The CLI refuses a daemon whose certificate its CA did not sign.
        other, _ = tls_cert()
        rc, _, err = tcp(d, "ping", token=cw, ca=other, check=False)
        if rc != 1 or "certificate" not in one_line(err, "wrong CA"):
            raise TestError("wrong CA: expected a certificate error, got %d %r" % (rc, err))


@test
def a_revoked_token_is_refused_at_once():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        tok = add_token(d, "mgr", "manager")["token"]
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t:
            t.ok({"op": "ping", "token": tok})
            t.ok({"op": "case_open", "case": "C-R1", "token": tok})
            _, out, _ = d.cli("token", "revoke", "mgr")
            assert "revoked" in out, out
            # The same connection, its next request: refused.
            t.error({"op": "ping", "token": tok}, "unauthenticated")
            t.error({"op": "case_open", "case": "C-R2", "token": tok}, "unauthenticated")
            # No token on a connection that had one: refused too (identity is per request).
            t.error({"op": "ping"}, "unauthenticated")
        refused(tcp(d, "ping", token=tok, check=False), "unauthenticated", "the revoked token")
        eq(db.sql("SELECT count(*) FROM cases").strip(), "1", "cases")
        refused(d.cli("token", "revoke", "mgr", check=False), "no_token", "revoked twice")
        refused(d.cli("token", "revoke", "nobody", check=False), "no_token", "an unknown name")
        rows = d.cli("token", "list", json=True)["tokens"]
        assert rows[0]["revoked"] and rows[0]["revoked_by"] == "unix:root", rows


@test
def an_integration_token_posts_only_its_event_types():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        tok = add_token(d, "crm", "integration", "decision_to_assess")["token"]
        eq(add_token(d, "crm2", "integration")["events"], None, "no --events: any")
        env = {"SENDFLOW_TOKEN": tok, "SENDFLOW_ACTOR": "dana"}
        tcp(d, "case", "open", "C-I1", env=env)
        tcp(d, "start", "C-I1", "ehcp-assessment", "--on", "2026-05-01", env=env)
        tcp(d, "event", "C-I1", "decision_to_assess", "--on", "2026-05-10", "--set",
            "outcome=yes", env=env)
        before = state(db)
        r = tcp(d, "event", "C-I1", "withdrawn", "--on", "2026-05-11", env=env, check=False)
        refused(r, "forbidden", "an event type outside --events")
        assert "withdrawn" in r[2], r[2]
        eq(state(db), before, "state after the refused event")
        # Nor can it read or void (its role), whatever its events.
        refused(tcp(d, "show", "C-I1", env=env, check=False), "forbidden", "show by integration")
        # An integration names the caseworker it acts for: on_behalf, beside its own identity.
        eq(db.sql("SELECT actor FROM events").strip(), "dana", "the event's actor")
        q = ("SELECT op || ' ' || result || ' ' || via || ' ' || coalesce(on_behalf, '-')"
             " FROM audit_log WHERE via = 'token:crm' ORDER BY id")
        wait_for(lambda: len(db.sql(q).split("\n")) >= 5, 20, "the refusals' audit rows")
        rows = db.sql(q).strip().split("\n")
        eq(rows[:4], ["case_open ok token:crm -", "start ok token:crm dana",
                      "event ok token:crm dana", "event forbidden token:crm dana"],
           "the integration's audit rows")
        # The same refusal over a raw connection: forbidden, and nothing changed.
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t:
            t.error({"op": "event", "case": "C-I1", "type": "withdrawn", "on": "2026-05-11",
                     "token": tok}, "forbidden")
        eq(state(db), before, "state after the raw refusal")


@test
def tls_carries_split_and_pipelined_requests():
    """TLS records and request lines do not line up: a line split over many
    records, many lines in one, a reply over many records, all in order."""
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        tok = add_token(d, "cw", "caseworker")["token"]
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t:
            line = (json.dumps({"op": "ping", "id": "split", "token": tok}) + "\n").encode()
            for i in range(0, len(line), 7):
                t.send_raw(line[i:i + 7])  # one TLS record each
            eq(t.recv()["id"], "split", "a line over many records")
            reqs = [{"op": "case_open", "case": "C-%d" % i, "id": i, "token": tok}
                    for i in range(40)]
            replies = t.pipeline(reqs)
            eq([(r["id"], r["ok"]) for r in replies], [(i, True) for i in range(40)],
               "pipelined replies")
            starts = [{"op": "start", "case": "C-%d" % i, "workflow": "ehcp-assessment",
                       "on": "2026-05-01", "token": tok} for i in range(40)]
            eq([r["ok"] for r in t.pipeline(starts)], [True] * 40, "pipelined starts")
            due = t.ok({"op": "due", "within": 400, "token": tok})
            if len(json.dumps(due)) < 2 * 16384:
                raise TestError("the due reply is small (%d bytes)" % len(json.dumps(due)))
            # A request line longer than many records, too.
            t.ok({"op": "ping", "token": tok, "pad": "x" * 100000})
            t.error("{nope", "bad_json")
            t.ok({"op": "ping", "token": tok})
        eq(db.sql("SELECT count(*) FROM cases").strip(), "40", "cases")


@test
def a_plain_client_on_the_tls_port_is_closed_unanswered():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=timeout(10))
        s.sendall(b'{"op":"ping"}\n{"op":"case_open","case":"C-P1"}\n')
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            raise TestError("the daemon kept a plain-text client open (got %r)" % got[:200])
        finally:
            s.close()
        if b'"ok"' in got or b"version" in got:
            raise TestError("a plain-text client was answered: %r" % got[:300])
        eq(db.sql("SELECT count(*) FROM cases").strip(), "0", "cases")
        # The daemon goes on serving TLS clients.
        with RawClient(tcp=("127.0.0.1", d.port), tls_ca=d.cert) as t:
            t.error({"op": "ping"}, "unauthenticated")
        if "TLS handshake failed" not in d.stderr():
            raise TestError("the closed connection is not logged:\n" + d.stderr()[-2000:])


if __name__ == "__main__":
    main()
