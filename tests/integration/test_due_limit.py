"""`due` lists at most 10,000 deadlines and says when there were more."""
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
def due_says_when_it_cut_the_list():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        seed(db, 10000)
        r = c.ok({"op": "due", "within": 30}, seconds=60)
        eq((len(r["items"]), r["truncated"]), (10000, False), "exactly 10,000")
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
        r = c.ok({"op": "due", "within": 30}, seconds=60)
        eq((len(r["items"]), r["truncated"]), (10000, True), "one more than 10,000")
        _, out, _ = d.cli("due", "--within", "30")
        assert "only the first 10000 are listed" in out, out[-300:]


main()
