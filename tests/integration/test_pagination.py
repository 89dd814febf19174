"""Paged reads through the real daemon and CLI: `due`, `history`, `escalations`
and `outbox` take "limit" and "cursor" and reply "next" (README, Socket
protocol). Walking every page with the cursor must list every row exactly
once and in order, the last page has "next": null, a limit out of range or a
cursor the daemon could not have written is refused with bad_request, and the
text output's "More:" line, run as printed, lists the next page.

The rows are written straight into the tables with psql (schema/001, 002,
004): building this many through the protocol would take minutes. The order
each page must follow is read back with SQL, independently of the daemon's
statements."""
import shlex
import subprocess

from sfharness import test, main, Database, Daemon, TestError, eq, SENDFLOW, timeout

CLOCK = "2026-03-01T09:00"  # today is 2026-03-01


def rows(db, query):
    """The rows of a query, in its order, as lists of strings (psql's unaligned
    output: no value here holds a "|" or a newline)."""
    return [line.split("|") for line in db.sql(query).splitlines() if line]


def walk(c, req, key, limit, field="items"):
    """Every page of req (limit rows each), following "next"; returns the
    rows (mapped by key) and the number of pages. Checks each page's size,
    that truncated (when the reply has it) agrees with next, and that the
    cursor moves on."""
    got, cursor, pages, seen = [], None, 0, set()
    while True:
        r = c.ok(dict(req, limit=limit, **({"cursor": cursor} if cursor else {})))
        pages += 1
        page = r[field]
        nxt = r["next"]
        if "truncated" in r:
            eq(r["truncated"], nxt is not None, "truncated means next != null (page %d)" % pages)
        if nxt is not None:
            eq(len(page), limit, "a page before the last is full (page %d)" % pages)
            if nxt in seen:
                raise TestError("cursor %r came back twice" % nxt)
            seen.add(nxt)
        got += [key(x) for x in page]
        if nxt is None:
            return got, pages
        if pages > 1000:
            raise TestError("more than 1000 pages: the cursor does not move on")
        cursor = nxt


def more_line(out):
    """The "More:" line that ends a text page, as argv (sendflow replaced by the binary)."""
    lines = [l for l in out.splitlines() if l.strip()]
    if not lines or not lines[-1].startswith("More: sendflow "):
        raise TestError("the text does not end with a More: line:\n%s" % out[-1500:])
    argv = shlex.split(lines[-1][len("More: "):])
    eq(argv.count("--cursor"), 1, "one --cursor in %r" % lines[-1])
    return [SENDFLOW] + argv[1:]


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout(30))
    if p.returncode != 0:
        raise TestError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr))
    return p.stdout


# --------------------------------------------------------------------------
# due


def seed_due(db):
    """60 cases with an open duty each on five shared due dates (ties across
    processes), a second open duty on the same date in every third (ties
    within a process, ordered by name), met ones, one due after the window,
    and periods: those that ran their course (never listed) and those still
    running (listed)."""
    db.sql("""
        INSERT INTO cases (ref) SELECT 'C-' || g FROM generate_series(1, 60) g;
        INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state)
             SELECT id, 'ehcp-assessment', 1, DATE '2026-01-05', 'active', 'assessing' FROM cases;
        INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, basis,
                               explain)
             SELECT id, 'final_plan', 'final plan', 'duty', DATE '2026-01-05',
                    DATE '2026-02-20' + (id % 5)::int * 7, 'open', 'reg. 13(2)', 'seeded'
               FROM processes;
        INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, basis,
                               explain)
             SELECT id, 'advice_health', 'health advice', 'duty', DATE '2026-01-05',
                    DATE '2026-02-20' + (id % 5)::int * 7,
                    CASE WHEN id % 3 = 0 THEN 'open' ELSE 'met' END, 'reg. 8(2)', 'seeded'
               FROM processes;
        INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, basis,
                               explain)
             SELECT id, 'draft_representations', 'representations', 'period', DATE '2026-01-05',
                    CASE WHEN id % 2 = 0 THEN DATE '2026-01-20' ELSE DATE '2026-03-06' END,
                    'open', 'reg. 13(1)', 'seeded'
               FROM processes;
        INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, basis,
                               explain)
             SELECT id, 'decide_to_assess', 'decide', 'duty', DATE '2026-01-05',
                    DATE '2026-06-01', 'open', 'reg. 5(1)', 'seeded'
               FROM processes WHERE id % 4 = 0;""")


def due_expected(db, horizon, today):
    return [tuple(r) for r in rows(db, """
        SELECT c.ref, d.name, to_char(d.due, 'YYYY-MM-DD'), d.process_id::text
          FROM deadlines d JOIN processes p ON p.id = d.process_id JOIN cases c ON c.id = p.case_id
         WHERE d.resolution = 'open' AND d.due <= DATE '%s'
           AND (d.kind = 'duty' OR d.due >= DATE '%s')
         ORDER BY d.due, d.process_id, d.name""" % (horizon, today))]


def due_key(it):
    return (it["case"], it["deadline"], it["due"], it["process"])


@test
def due_pages_list_every_deadline_once_in_order():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed_due(db)
        want = due_expected(db, "2026-03-31", "2026-03-01")
        eq(len(want), 60 + 20 + 30, "seeded rows in the window")
        for limit in (7, 1, len(want), 1000):
            got, pages = walk(c, {"op": "due", "within": 30}, due_key, limit)
            eq(got, want, "due, %d a page" % limit)
            eq(pages, max(1, -(-len(want) // limit)), "pages at %d a page" % limit)
        # Only the overdue: the periods that ran their course are not among them.
        got, _ = walk(c, {"op": "due", "overdue": True}, due_key, 4)
        eq(got, [w for w in want if w[2] < "2026-03-01" and w[1] != "draft_representations"],
           "due --overdue")
        # The default page is 500: all of these in one, and next null.
        r = c.ok({"op": "due", "within": 30})
        eq((len(r["items"]), r["truncated"], r["next"]), (len(want), False, None), "default page")
        # A cursor is a place, not a snapshot: a row added before it is not listed again
        # and one added after it is.
        r = c.ok({"op": "due", "within": 30, "limit": 50})
        db.sql("""INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution,
                                         basis, explain)
                  VALUES (1, 'aa_early', 't', 'duty', DATE '2026-01-05', DATE '2026-01-01', 'open',
                          'b', 'e'),
                         (1, 'zz_late', 't', 'duty', DATE '2026-01-05', DATE '2026-03-30', 'open',
                          'b', 'e')""")
        rest, _ = walk(c, {"op": "due", "within": 30, "cursor": r["next"]}, due_key, 50)
        eq(rest, want[50:] + [("C-1", "zz_late", "2026-03-30", "1")], "pages after a change")


@test
def due_text_ends_with_a_more_line_that_works():
    with Database() as db, Daemon(db, clock=CLOCK) as d:
        seed_due(db)
        want = due_expected(db, "2026-03-15", "2026-03-01")
        _, out, _ = d.cli("due", "--within", "14", "--limit", "15")
        argv = more_line(out)
        assert "--within" in argv and "14" in argv and "--limit" in argv, argv
        listed = [l.split()[0] for l in out.splitlines()[2:17]]
        eq(listed, [w[0] for w in want[:15]], "first text page")
        # Run it as printed, then the line that page prints, to the end.
        seen = list(listed)
        while True:
            out = run(argv)
            body = [l for l in out.splitlines()[2:] if l.strip() and not l.startswith("More:")]
            seen += [l.split()[0] for l in body]
            if "More: " not in out:
                break
            argv = more_line(out)
        eq(seen, [w[0] for w in want], "every case, following the More: lines")
        # --json prints next.
        doc = d.cli("due", "--within", "14", "--limit", "5", json=True)
        assert isinstance(doc["next"], str) and doc["truncated"] is True, doc
        doc = d.cli("due", "--within", "14", "--limit", "1000", json=True)
        eq((doc["next"], doc["truncated"], len(doc["items"])), (None, False, len(want)), "one page")
        _, out, _ = d.cli("due", "--within", "14", "--limit", "1000")
        assert "More:" not in out, out[-500:]


# --------------------------------------------------------------------------
# history


def seed_history(db):
    """Case C-H: a process, 40 events recorded in threes at the same instant
    (the first three at the process's own instant: events go before the start
    they share it with), 6 of them voided (two voids at one instant), and a
    follow-on process. Case C-OTHER's rows must never show."""
    db.sql("""
        INSERT INTO cases (ref) VALUES ('C-H'), ('C-OTHER');
        INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state, created_at)
             SELECT id, 'ehcp-assessment', 1, DATE '2026-01-05', 'active', 'assessing',
                    timestamptz '2026-01-05 09:00:00.250001+00' FROM cases;
        INSERT INTO events (case_id, process_id, type, on_date, actor, recorded_at)
             SELECT p.case_id, p.id, 'advice_requested', DATE '2026-01-05', 'seed',
                    timestamptz '2026-01-05 09:00:00.250001+00' + ((g / 3) || ' seconds')::interval
               FROM processes p, generate_series(0, 39) g;
        INSERT INTO event_voids (event_id, case_id, reason, actor, recorded_at)
             SELECT e.id, e.case_id, 'posted twice', 'seed',
                    timestamptz '2026-02-01 10:00:00+00' + ((e.id / 2) || ' seconds')::interval
               FROM events e WHERE e.id % 7 = 0;
        INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state,
                               parent_event_id, created_at)
             SELECT c.id, 'annual-review', 1, DATE '2026-01-06', 'active', 'waiting',
                    (SELECT min(id) FROM events WHERE case_id = c.id),
                    timestamptz '2026-01-05 09:00:05.250001+00'
               FROM cases c WHERE c.ref = 'C-H';""")


def history_expected(db):
    return [tuple(r) for r in rows(db, """
        SELECT kind, id FROM (
          SELECT p.created_at AS at, 1 AS rank, p.id AS n, 'start' AS kind, p.id::text AS id
            FROM processes p JOIN cases c ON c.id = p.case_id WHERE c.ref = 'C-H'
          UNION ALL
          SELECT e.recorded_at, 0, e.id, 'event', e.id::text
            FROM events e JOIN cases c ON c.id = e.case_id WHERE c.ref = 'C-H'
          UNION ALL
          SELECT w.recorded_at, 2, w.id, 'void', w.event_id::text
            FROM event_voids w JOIN cases c ON c.id = w.case_id WHERE c.ref = 'C-H') h
        ORDER BY at, rank, n""")]


def history_key(e):
    return (e["kind"], e["process"] if e["kind"] == "start" else
            e["id"] if e["kind"] == "event" else e["event"])


@test
def history_pages_list_every_entry_once_in_order():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed_history(db)
        want = history_expected(db)
        eq(len(want), 2 + 40 + 6, "seeded entries")
        eq(want[0][0], "event", "an event goes before the start recorded at its instant")
        for limit in (1, 2, 3, 5, 48, 500):
            got, _ = walk(c, {"op": "history", "case": "C-H"}, history_key, limit, "entries")
            eq(got, want, "history, %d a page" % limit)
        # Text: the More: line repeats the reference and --limit.
        _, out, _ = d.cli("history", "C-H", "--limit", "10")
        argv = more_line(out)
        assert "C-H" in argv, argv
        out2 = run(argv)
        ids = [w[1] for w in want[10:20] if w[0] == "event"]
        for i in ids:
            assert (" %s " % i) in out2, "event %s on the second text page:\n%s" % (i, out2)
        # A case with nothing recorded, and no case at all.
        db.sql("INSERT INTO cases (ref) VALUES ('C-EMPTY')")
        r = c.ok({"op": "history", "case": "C-EMPTY", "limit": 1})
        eq((r["entries"], r["next"]), ([], None), "an empty history")
        c.error({"op": "history", "case": "C-NONE", "limit": 5}, "unknown_case")


# --------------------------------------------------------------------------
# escalations and the outbox


def seed_escalations(db):
    """90 processes, each with escalations at_risk and missed: fired (a
    third of them resolved since), pending (not yet due) or cancelled (never listed); an
    outbox row per fired escalation (sent or failed) and a resolved notice."""
    db.sql("""
        INSERT INTO cases (ref) SELECT 'C-' || g FROM generate_series(1, 90) g;
        INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state)
             SELECT id, 'ehcp-assessment', 1, DATE '2026-01-05', 'active', 'assessing' FROM cases;
        INSERT INTO escalations (case_id, process_id, deadline, level, due, fire_on, status,
                                 fired_at, recipients, resolved_on)
             SELECT p.case_id, p.id, 'decide_to_assess', l.level, DATE '2026-02-16',
                    -- The pending ones fall due after the test's today: the scheduler
                    -- must not fire them while the pages are walked.
                    CASE WHEN p.id % 9 = 0 THEN DATE '2026-06-01' ELSE DATE '2026-02-16' END,
                    CASE WHEN p.id % 9 = 0 THEN 'pending' WHEN p.id % 11 = 0 THEN 'cancelled'
                         ELSE 'fired' END,
                    now(), '[]'::jsonb, CASE WHEN p.id % 3 = 0 THEN DATE '2026-02-20' END
               FROM processes p, (VALUES ('at_risk'), ('missed')) l(level)
              ORDER BY p.id, l.level;
        INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload,
                            idem_key, status, attempts)
             SELECT 'escalation', e.id, 'email', 'jb@example.org', 's', 'b', '{}'::jsonb,
                    'esc-' || e.id, CASE WHEN e.id % 4 = 0 THEN 'failed' ELSE 'sent' END, 1
               FROM escalations e WHERE e.status = 'fired' ORDER BY e.id;
        INSERT INTO outbox (kind, escalation_id, channel, target, subject, body, payload,
                            idem_key, status, attempts)
             SELECT 'resolved', e.id, 'email', 'jb@example.org', 's', 'b', '{}'::jsonb,
                    'res-' || e.id, 'sent', 1
               FROM escalations e WHERE e.resolved_on IS NOT NULL AND e.status = 'fired'
              ORDER BY e.id;""")


@test
def escalation_and_outbox_pages_list_every_row_once_newest_first():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed_escalations(db)
        fired = [r[0] for r in rows(db, "SELECT id::text AS n FROM escalations WHERE status = 'fired'"
                                        " ORDER BY id DESC")]
        open_ = [r[0] for r in rows(db, "SELECT id::text AS n FROM escalations WHERE status = 'fired'"
                                        " AND resolved_on IS NULL ORDER BY id DESC")]
        assert len(fired) > 100 and 0 < len(open_) < len(fired), (len(fired), len(open_))
        for limit in (1, 7, 100, 1000):
            got, _ = walk(c, {"op": "escalations"}, lambda e: e["id"], limit, "escalations")
            eq(got, fired, "escalations, %d a page" % limit)
            got, _ = walk(c, {"op": "escalations", "open": True}, lambda e: e["id"], limit,
                          "escalations")
            eq(got, open_, "escalations --open, %d a page" % limit)
        # The default page is 100, and each entry still counts its notices.
        r = c.ok({"op": "escalations"})
        eq(len(r["escalations"]), 100, "default page")
        assert isinstance(r["next"], str), r["next"]
        first = r["escalations"][0]
        want = "failed" if int(first["id"]) % 4 == 0 else "sent"
        eq(first["delivery"], {want: 1}, "delivery of escalation %s" % first["id"])

        everything = [r[0] for r in rows(db, "SELECT id::text AS n FROM outbox ORDER BY id DESC")]
        failed = [r[0] for r in rows(db, "SELECT id::text AS n FROM outbox WHERE status = 'failed'"
                                         " ORDER BY id DESC")]
        for limit in (1, 9, 1000):
            got, _ = walk(c, {"op": "outbox"}, lambda o: o["id"], limit)
            eq(got, everything, "outbox, %d a page" % limit)
            got, _ = walk(c, {"op": "outbox", "failed": True}, lambda o: o["id"], limit)
            eq(got, failed, "outbox --failed, %d a page" % limit)

        # The CLI: --limit, --cursor and --json, and More: lines that run as printed.
        doc = d.cli("escalations", "--open", "--limit", "3", json=True)
        eq([e["id"] for e in doc["escalations"]], open_[:3], "escalations --open --limit 3")
        doc = d.cli("escalations", "--open", "--limit", "3", "--cursor", doc["next"], json=True)
        eq([e["id"] for e in doc["escalations"]], open_[3:6], "the second page")
        _, out, _ = d.cli("escalations", "--open", "--limit", "2")
        argv = more_line(out)
        assert "--open" in argv, argv
        out2 = run(argv)
        for i in open_[2:4]:
            assert "#%s " % i in out2, "escalation %s on the second page:\n%s" % (i, out2)
        _, out, _ = d.cli("outbox", "--failed", "--limit", "4")
        argv = more_line(out)
        assert "--failed" in argv, argv
        out2 = run(argv)
        listed = [l.split()[0] for l in out2.splitlines()[2:] if l.strip() and l[0].isdigit()]
        eq(listed, failed[4:8], "outbox --failed, second text page")


# --------------------------------------------------------------------------
# refusals


@test
def limits_and_cursors_are_checked():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed_due(db)
        ops = [{"op": "due", "within": 30}, {"op": "history", "case": "C-1"},
               {"op": "escalations"}, {"op": "outbox"}]
        for req in ops:
            for bad in (0, -1, 1001, "5", 2.5, True, [], {}):
                r = c.error(dict(req, limit=bad), "bad_request")
                assert '"limit"' in r["error"]["message"] and "1 to 1000" in r["error"]["message"], r
            c.ok(dict(req, limit=1000))
            c.ok(dict(req, limit=1))
            c.ok(dict(req, limit=None, cursor=None))
            for bad in (5, True, {}, "", "x", ":", "z9:1", "d1", "h1:", "e1:", "o1:"):
                r = c.error(dict(req, cursor=bad), "bad_request")
                assert '"cursor"' in r["error"]["message"], r
        bad_cursors = {
            "due": ["d1:2026-02-30:1:final_plan", "d1:2026-03-01:0:final_plan",
                    "d1:2026-03-01:01:final_plan", "d1:2026-03-01:1", "d1:2026-03-01:1:a:b",
                    "d1:2026-03-01:x:final_plan", "d1:2026-3-01:1:final_plan",
                    "d1:2026-03-01:1:", "d1:2026-03-01:1:a%2", "d1:2026-03-01:1:a%3a",
                    "d1:2026-03-01:1:%61", "d1:2026-03-01:1:a%00", "d1:2026-03-01:1:a b",
                    "d1:2026-03-01:1234567890123456789:a", "e1:5", "d2:2026-03-01:1:a"],
            "history": ["h1:20260105T090000.250001Z:3", "h1:20260105T090000.250001Z:1:0",
                        "h1:20260105T250000.250001Z:1:1", "h1:20260230T090000.250001Z:1:1",
                        "h1:2026-01-05T09:00:00.250001Z:1:1", "h1:20260105T090000Z:1:1",
                        "h1:20260105T090000.250001Z:10:1", "d1:2026-03-01:1:a"],
            "escalations": ["e1:-1", "e1:0", "e1:1.5", "e1:1:2", "o1:5", "e1:99999999999999999999"],
            "outbox": ["o1:x", "o1:007", "e1:5", "o1: 5"],
        }
        for req in ops:
            for bad in bad_cursors[req["op"]]:
                r = c.error(dict(req, cursor=bad), "bad_request")
                assert '"cursor"' in r["error"]["message"], r
        # Good cursors of each shape are taken (a place past every row: an empty page).
        eq(c.ok({"op": "due", "within": 30, "cursor": "d1:2099-01-01:1:a%20b"})["items"], [],
           "a due cursor past the end")
        r = c.ok({"op": "history", "case": "C-1", "cursor": "h1:20990105T090000.000000Z:2:1"})
        eq((r["entries"], r["next"]), ([], None), "a history cursor past the end")
        eq(c.ok({"op": "escalations", "cursor": "e1:1"})["escalations"], [], "before the first")

        # The CLI checks --limit itself (exit 2) and passes a cursor on as it is.
        for args in (["due", "--limit", "0"], ["due", "--limit", "1001"],
                     ["outbox", "--limit", "x"], ["history", "C-1", "--limit", "-3"],
                     ["escalations", "--cursor", ""], ["show", "C-1", "--limit", "5"]):
            rc, _, err = d.cli(*args, check=False)
            eq(rc, 2, "sendflow %s" % " ".join(args))
        rc, _, err = d.cli("due", "--cursor", "e1:5", check=False)
        eq(rc, 1, "a cursor of another op is refused by the daemon")
        assert "bad_request" in err and "cursor" in err, err


main()
