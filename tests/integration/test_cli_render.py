"""The CLI's side of history, void, recompute, due --on and the new show
fields, against a stand-in daemon that records each request and answers with
a canned reply. This pins what the CLI sends and how it prints a reply,
independently of the real daemon (whose replies the other tests check)."""
import json
import os
import socket
import threading

from sfharness import test, main, cli, eq, tempdir

DEADLINE = {"name": "advice_health", "title": "health advice", "kind": "duty",
            "due": "2026-02-16", "status": "pending", "met_on": None, "days": 10,
            "basis": "SEND Regulations 2014, reg. 8(2)",
            "explain": "6 weeks from advice requested on 2026-01-05", "note": None}
PROCESS = {"id": "3", "workflow": "ehcp-assessment", "version": 1, "status": "active",
           "state": "assessing", "started_on": "2026-01-05", "ended_on": None, "attrs": {},
           "parent": None, "deadlines": [DEADLINE]}


class FakeDaemon:
    """Answers every request line with `reply` (plus the request's id) and
    keeps the requests it got."""

    def __init__(self, reply):
        self.reply = reply
        self.requests = []
        self.path = os.path.join(tempdir(), "s")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\n" not in buf:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                if b"\n" not in buf:
                    continue
                req = json.loads(buf.split(b"\n")[0])
                self.requests.append(req)
                rep = dict(self.reply, id=req.get("id"))
                conn.sendall(json.dumps(rep).encode() + b"\n")

    def run(self, *args, **kw):
        return cli(*args, socket_path=self.path, **kw)

    def last(self):
        r = dict(self.requests[-1])
        r.pop("id", None)
        return r

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()
        return False


HISTORY = {"ok": True, "case": "C-1", "entries": [
    {"kind": "start", "process": "3", "workflow": "ehcp-assessment", "on": "2026-01-05",
     "attrs": {}, "actor": "alice", "recorded_at": "2026-01-05T09:00:00Z", "by_event": None},
    {"kind": "event", "id": "12", "process": "3", "workflow": "ehcp-assessment",
     "type": "advice_requested", "on": "2026-01-10", "attrs": {"from": "health"},
     "actor": "alice", "recorded_at": "2026-01-10T09:30:00.123456Z", "key": "k1",
     "voided": True},
    {"kind": "event", "id": "13", "process": "3", "workflow": "ehcp-assessment",
     "type": "advice_requested", "on": "2026-01-10", "attrs": {"from": "education"},
     "actor": None, "recorded_at": "2026-01-10T09:31:00Z", "key": None, "voided": False},
    {"kind": "void", "event": "12", "type": "advice_requested", "on": "2026-01-10",
     "reason": "posted to the\nwrong case", "actor": "bob", "recorded_at": "2026-01-11T10:00:00Z"},
    {"kind": "start", "process": "4", "workflow": "annual-review", "on": "2026-05-20",
     "attrs": {}, "actor": "alice", "recorded_at": "2026-05-20T08:00:00Z", "by_event": "20"},
]}


@test
def history_is_an_audit_table():
    with FakeDaemon(HISTORY) as f:
        _, out, _ = f.run("history", "C-1")
        eq(f.last(), {"op": "history", "case": "C-1"}, "request")
        lines = out.splitlines()
        eq(lines[0], "History of case C-1", "heading")
        assert lines[1].split() == ["RECORDED", "BY", "EVENT", "PROCESS", "WHAT"], lines[1]
        assert "2026-01-05 09:00:00 UTC" in lines[2] and "started ehcp-assessment on 2026-01-05" \
            in lines[2], lines[2]
        assert "advice_requested (from=health) on 2026-01-10, key k1  VOIDED" in lines[3], lines[3]
        assert "2026-01-10 09:30:00 UTC" in lines[3], lines[3]
        assert "VOIDED" not in lines[4] and " - " in lines[4], lines[4]
        # The void names the event's process and gives its reason on one line.
        assert lines[5].startswith("2026-01-11 10:00:00 UTC  bob"), lines[5]
        assert "3 ehcp-assessment" in lines[5], lines[5]
        assert lines[5].endswith(
            "VOID of event 12 (advice_requested on 2026-01-10): posted to the wrong case"), lines[5]
        assert "started annual-review on 2026-05-20, by event 20" in lines[6], lines[6]
        assert "1 event voided" in lines[7], lines[7]
        assert all(l == l.rstrip() for l in lines), "no trailing spaces"
        doc = f.run("history", "C-1", json=True)
        eq(doc["entries"], HISTORY["entries"], "--json passes the entries through")


@test
def void_sends_the_reason_and_prints_the_process():
    reply = {"ok": True, "voided": "12", "duplicate": False, "process": PROCESS,
             "event": {"id": "12", "type": "advice_requested", "on": "2026-01-10"}}
    with FakeDaemon(reply) as f:
        env = {"SENDFLOW_ACTOR": "bob"}
        _, out, _ = f.run("void", "C-1", "012", "--reason", "wrong case", "--key", "v1", env=env)
        eq(f.last(), {"op": "void", "case": "C-1", "event": "12", "reason": "wrong case",
                      "actor": "bob", "key": "v1"}, "request")
        lines = out.splitlines()
        eq(lines[0], "voided event 12 (advice_requested on 2026-01-10) of C-1: wrong case", "line")
        eq(lines[2], "Process 3: ehcp-assessment v1, active, state assessing", "process")
        assert "6 weeks from advice requested on 2026-01-05 \u00b7 SEND Regulations 2014, " \
            "reg. 8(2)" in out, out
        # Without the event in the reply, the line still reads well.
        del reply["event"]
        _, out, _ = f.run("void", "C-1", "12", "--reason=x", env=env)
        eq(out.splitlines()[0], "voided event 12 of C-1: x", "line without the event")
        reply["duplicate"] = True
        _, out, _ = f.run("void", "C-1", "12", "--reason=x", "--key", "v1", env=env)
        eq(out.splitlines()[0], "event 12 of C-1 already voided (idempotency key v1): nothing "
           "changed", "duplicate")
    for args in (["void", "C-1", "12"], ["void", "C-1", "12", "--reason", " "],
                 ["void", "C-1", "x12", "--reason", "r"], ["void", "C-1", "--reason", "r"]):
        rc, out, err = cli(*args, socket_path="/nonexistent", check=False)
        eq(rc, 2, " ".join(args))


@test
def recompute_lists_what_moved():
    reply = {"ok": True, "processes": 120, "changed": 2, "batches": 3, "ms": 45, "moved": [
        {"case": "C-1", "process": "3", "workflow": "annual-review", "deadline": "review_meeting",
         "from": "2026-03-09", "to": "2026-03-10", "days": 1},
        {"case": "C-22", "process": "9", "workflow": "ehcp-assessment",
         "deadline": "final_plan", "from": "2026-05-25", "to": "2026-05-22", "days": -3},
        {"case": "C-22", "process": "9", "workflow": "ehcp-assessment",
         "deadline": "advice_health", "from": None, "to": "2026-04-02", "days": None},
        {"case": "C-22", "process": "9", "workflow": "ehcp-assessment",
         "deadline": "notify_no_plan", "from": "2026-04-27", "to": None, "days": None}],
        "moved_truncated": True}
    with FakeDaemon(reply) as f:
        _, out, _ = f.run("recompute", "--all")
        eq(f.last(), {"op": "recompute", "all": True}, "request")
        lines = out.splitlines()
        eq(lines[0], "recomputed 120 processes in 3 batches (45 ms): 2 changed", "summary")
        eq(lines[1], "C-1   annual-review    review_meeting  2026-03-09  \u2192  2026-03-10  "
           "(+1 day)", "moved later")
        assert lines[2].endswith("2026-05-25  \u2192  2026-05-22  (-3 days)"), lines[2]
        assert lines[3].endswith("-           \u2192  2026-04-02  (new)"), lines[3]
        assert lines[4].endswith("2026-04-27  \u2192  -           (removed)"), lines[4]
        assert "only the first 4" in lines[5], lines[5]
        f.run("recompute")
        eq(f.last(), {"op": "recompute", "all": False}, "request without --all")


@test
def due_on_is_a_what_if():
    reply = {"ok": True, "today": "2026-01-05", "on": "2027-02-15", "truncated": False,
             "items": []}
    with FakeDaemon(reply) as f:
        _, out, err = f.run("due", "--on", "2027-02-15", "--overdue")
        eq(f.last(), {"op": "due", "within": 7, "overdue": True, "on": "2027-02-15"}, "request")
        eq(out.splitlines()[0],
           "Overdue as on 2027-02-15 (what-if; the clock is not moved)", "heading")
        eq(err, "", "stderr")
        del reply["on"]
        _, out, err = f.run("due", "--on", "2027-02-15")
        eq(out.splitlines()[0], "Due within 7 days of 2026-01-05 (today)", "heading")
        assert "did not apply --on" in err, err
    rc, _, err = cli("due", "--on", "2027-02-30", socket_path="/nonexistent", check=False)
    eq(rc, 2, "a date that does not exist")


def run_on_a_terminal(path, *args, env=None):
    """Run the CLI with its stdout on a pseudo-terminal; what it printed there."""
    import pty
    import subprocess
    from sfharness import SENDFLOW
    master, slave = pty.openpty()
    e = dict(os.environ, TERM="xterm")
    e.pop("NO_COLOR", None)
    e.update(env or {})
    p = subprocess.Popen([SENDFLOW, "--socket", path] + list(args), stdout=slave,
                         stderr=subprocess.PIPE, env=e)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO once the child has closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    eq(p.wait(timeout=30), 0, "exit status on a terminal")
    return out.decode()


@test
def overdue_and_soon_due_are_in_colour_only_on_a_terminal():
    item = {"case": "C-1", "officer": "jb", "team": "north", "process": "1",
            "workflow": "ehcp-assessment", "kind": "duty", "title": "t", "basis": "b",
            "explain": "e"}
    reply = {"ok": True, "today": "2026-03-02", "on": "2026-03-02", "truncated": False,
             "next": None, "items": [
                 dict(item, deadline="decide_to_assess", due="2026-02-16", status="overdue",
                      days=-14),
                 dict(item, deadline="advice_health", due="2026-03-05", status="pending", days=3),
                 dict(item, deadline="final_plan", due="2026-06-21", status="pending", days=111)]}
    red, yellow, reset = "\033[31m", "\033[33m", "\033[0m"
    with FakeDaemon(reply) as f:
        out = run_on_a_terminal(f.path, "due", "--within", "200")
        lines = out.splitlines()
        assert red + "overdue" + reset in lines[2], lines
        assert yellow + "pending" + reset in lines[3], lines
        assert "\033" not in lines[4], "far off: plain: %r" % lines[4]
        # The columns still line up: the colour takes no width.
        plain = [l.replace(red, "").replace(yellow, "").replace(reset, "") for l in lines[1:5]]
        eq(len({l.index("DUE") if i == 0 else l.index("2026-") for i, l in enumerate(plain)}), 1,
           "aligned: %r" % plain)
        # NO_COLOR, a pipe, --json: none.
        assert "\033" not in run_on_a_terminal(f.path, "due", env={"NO_COLOR": "1"}), "NO_COLOR"
        _, out, _ = f.run("due")
        assert "\033" not in out, "piped"
        assert "\033" not in run_on_a_terminal(f.path, "due", "--json"), "--json"


@test
def bash_completes_commands_and_options_from_the_client():
    """client/sendflow-completion.bash asks the client for its words."""
    import subprocess
    from sfharness import SENDFLOW
    src = os.path.join(os.environ["SENDFLOW_SOURCE_DIR"], "client", "sendflow-completion.bash")
    script = ('source %s; t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
              '_sendflow; echo "${COMPREPLY[*]}"; }; '
              't sendflow ca; t sendflow case ""; t sendflow due --mi; t sendflow --socket /x sho; '
              't sendflow clock ""' % src)
    env = dict(os.environ, PATH=os.path.dirname(SENDFLOW) + ":" + os.environ["PATH"])
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                         timeout=60)
    eq((out.returncode, out.stderr), (0, ""), "bash")
    eq(out.stdout.splitlines(), ["case caseload", "assign export open", "--mine", "show", "set"],
       "completions")


@test
def a_commands_help_is_its_part_of_the_list():
    """sendflow COMMAND --help and sendflow help COMMAND print that command's
    entries of the usage (not the whole list); an unknown one is a usage error."""
    for args in (("show", "--help"), ("help", "show")):
        rc, out, err = cli(*args, socket_path="/nonexistent", check=False)
        eq((rc, err), (0, ""), " ".join(args))
        assert "  show REF" in out and "history REF" not in out, out
    rc, out, _ = cli("case", "--help", socket_path="/nonexistent", check=False)
    eq(rc, 0, "case --help")
    assert "case open REF" in out and "show REF" not in out, out
    rc, out, _ = cli("clock", "--help", socket_path="/nonexistent", check=False)
    assert "clock set YYYY-MM-DDTHH:MM" in out and "  clock  " in out, out
    rc, out, err = cli("nosuch", "--help", socket_path="/nonexistent", check=False)
    eq((rc, out), (2, ""), "unknown command")
    assert "nosuch" in err, err
    rc, out, _ = cli("--help", socket_path="/nonexistent", check=False)
    assert "show REF" in out and "history REF" in out, "the whole list"


@test
def show_prints_flags_and_transfers():
    proc = dict(PROCESS, flags=[{"name": "preparing_for_adulthood",
                                 "title": "preparing-for-adulthood review",
                                 "note": "Year 9 from 2030-09-01 (date of birth 2016-10-02)"}])
    reply = {"ok": True, "case": "C-1", "dob": "2016-10-02", "attrs": {}, "processes": [proc],
             "transfers": [{"transfer": "primary_to_secondary", "date": "2027-09-01",
                            "opens": "2026-09-01", "deadline": "2027-02-14", "process": None},
                           {"transfer": "secondary_to_post16", "date": "2032-09-01",
                            "opens": "2031-09-01", "deadline": "2032-03-31", "process": "7"}]}
    with FakeDaemon(reply) as f:
        _, out, _ = f.run("show", "C-1")
        lines = out.splitlines()
        i = lines.index("Coming phase transfers")
        assert lines[i + 1].split() == ["TRANSFER", "DATE", "OPENS", "DEADLINE", "PROCESS"], \
            lines[i + 1]
        assert lines[i + 2].startswith("  primary_to_secondary  2027-09-01 Wed  2026-09-01 Tue") \
            and lines[i + 2].endswith("not started"), lines[i + 2]
        assert lines[i + 3].endswith("  7"), lines[i + 3]
        j = lines.index("Process 3: ehcp-assessment v1, active, state assessing")
        eq(lines[j + 2], "  flag: preparing-for-adulthood review: Year 9 from 2030-09-01 "
           "(date of birth 2016-10-02)", "flag")
        assert "6 weeks from advice requested on 2026-01-05 \u00b7 SEND Regulations 2014, " \
            "reg. 8(2)" in out, out


main()
