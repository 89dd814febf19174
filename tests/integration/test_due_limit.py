"""`due` lists a page at a time (500 by default, 1,000 at most) and says
how to see the rest: "truncated" now means "there is more", and "next" is
the cursor that lists it (once it meant that all past the first 10,000 were
lost). test_pagination.py checks the order and the cursors in detail."""
from sfharness import test, main, Database, Daemon, eq

CLOCK = "2026-03-01T09:00"


def seed(db, n):
    """n open deadlines across n cases, written straight into the tables (the
    protocol would take minutes to build this many)."""
    db.sql("""
        INSERT INTO cases (ref) SELECT 'C-' || g FROM generate_series(1, %d) g;
        INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state)
             SELECT id, 'ehcp-assessment', 1, DATE '2026-01-05', 'active', 'requested' FROM cases;
        INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution, basis,
                               explain)
             SELECT id, 'final_plan', 'issue the final EHC plan', 'duty', DATE '2026-01-05',
                    DATE '2026-03-05', 'open', 'SEND Regulations 2014, reg. 13(2)', 'seeded'
               FROM processes;""" % n)


@test
def due_pages_through_ten_thousand():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed(db, 10000)
        r = c.ok({"op": "due", "within": 30}, seconds=60)
        eq((len(r["items"]), r["truncated"]), (500, True), "the default page")
        assert isinstance(r["next"], str), r["next"]

        def walk():
            seen, cursor, pages = set(), None, 0
            while True:
                req = {"op": "due", "within": 30, "limit": 1000}
                if cursor:
                    req["cursor"] = cursor
                r = c.ok(req, seconds=60)
                pages += 1
                seen.update(it["case"] for it in r["items"])
                eq(r["truncated"], r["next"] is not None, "truncated means next")
                if r["next"] is None:
                    return seen, pages
                eq(len(r["items"]), 1000, "a full page before the last")
                cursor = r["next"]

        seen, pages = walk()
        eq((len(seen), pages), (10000, 10), "exactly 10,000 in 10 pages of 1,000")
        db.sql("""INSERT INTO cases (ref) VALUES ('C-EXTRA');
                  INSERT INTO processes (case_id, workflow, wf_version, started_on, status, state)
                       SELECT id, 'ehcp-assessment', 1, DATE '2026-01-05', 'active', 'requested'
                         FROM cases WHERE ref = 'C-EXTRA';
                  INSERT INTO deadlines (process_id, name, title, kind, anchor_on, due, resolution,
                                         basis, explain)
                       SELECT p.id, 'final_plan', 't', 'duty', DATE '2026-01-05', DATE '2026-03-05',
                              'open', 'b', 'e'
                         FROM processes p JOIN cases c ON c.id = p.case_id
                        WHERE c.ref = 'C-EXTRA';""")
        seen, pages = walk()
        eq((len(seen), pages, "C-EXTRA" in seen), (10001, 11, True), "one more than 10,000")
        _, out, _ = d.cli("due", "--within", "30")
        last = out.rstrip("\n").splitlines()[-1]
        assert last.startswith("More: sendflow ") and "--within 30 --cursor '" in last, last
        assert "only the first" not in out, out[-300:]


main()
