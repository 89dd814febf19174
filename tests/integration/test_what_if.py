"""due what-if: "on" judges the deadlines as on a later day without moving
the clock or writing anything; a past day is refused."""
from sfharness import test, main, Database, Daemon, cli, eq

CLOCK = "2026-02-01T09:00"


def items(reply):
    return [(i["case"], i["deadline"], i["status"], i["days"]) for i in reply["items"]]


@test
def due_on_a_later_day_shows_what_will_be_overdue():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-W1"})
        c.ok({"op": "start", "case": "C-W1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        c.ok({"op": "event", "case": "C-W1", "type": "advice_requested", "on": "2026-01-20",
              "attrs": {"from": "health"}})
        before = c.ok({"op": "show", "case": "C-W1"})
        rows = db.sql("SELECT version FROM cases") + db.sql(
            "SELECT string_agg(name || resolution || updated_at, ',' ORDER BY name) FROM deadlines")

        # Today (2026-02-01): decide_to_assess (due 2026-02-16) is pending and within 30 days.
        now = c.ok({"op": "due", "within": 30})
        eq((now["today"], now["on"]), ("2026-02-01", "2026-02-01"), "today and on without on")
        eq(items(now), [("C-W1", "decide_to_assess", "pending", 15),
                        ("C-W1", "advice_health", "pending", 30)], "due today")

        # As on 2026-03-01: the decision and the advice (due 2026-03-03) look different.
        then = c.ok({"op": "due", "within": 7, "on": "2026-03-01"})
        eq((then["today"], then["on"]), ("2026-02-01", "2026-03-01"), "today and on")
        eq(items(then), [("C-W1", "decide_to_assess", "overdue", -13),
                         ("C-W1", "advice_health", "pending", 2)], "due on 2026-03-01")
        over = c.ok({"op": "due", "overdue": True, "on": "2026-03-01"})
        eq(items(over), [("C-W1", "decide_to_assess", "overdue", -13)], "overdue on 2026-03-01")
        # The day itself is allowed and is the same as no "on".
        eq(items(c.ok({"op": "due", "within": 30, "on": "2026-02-01"})), items(now), "on today")
        eq(items(c.ok({"op": "due", "overdue": True})), [], "nothing overdue today")

        # Nothing moved: the clock, the case, the stored deadlines.
        eq(c.ok({"op": "clock"})["today"], "2026-02-01", "clock")
        eq(c.ok({"op": "show", "case": "C-W1"}), before, "show")
        eq(db.sql("SELECT version FROM cases") + db.sql(
            "SELECT string_agg(name || resolution || updated_at, ',' ORDER BY name) FROM deadlines"),
           rows, "rows")


@test
def due_on_refuses_past_and_malformed_days():
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        r = c.error({"op": "due", "on": "2026-01-31"}, "bad_date")
        msg = r["error"]["message"]
        assert "in the past" in msg and "show" in msg and "2026-01-31" in msg, msg
        c.error({"op": "due", "on": "2026-02-30"}, "bad_date")
        c.error({"op": "due", "on": "tomorrow"}, "bad_date")
        c.error({"op": "due", "on": 20260301}, "bad_request")
        # Once the clock has moved, yesterday's "later day" is the past too.
        c.ok({"op": "due", "on": "2026-02-10"})
        c.ok({"op": "clock_set", "to": "2026-02-11T09:00"})
        c.error({"op": "due", "on": "2026-02-10"}, "bad_date")


@test
def the_cli_asks_what_if():
    rc, out, err = cli("help", check=False)
    if rc != 0 or "--on DATE" not in (out + err).split("due [", 1)[-1].split("\n", 1)[0]:
        print("# skipped: this sendflow has no due --on")
        return
    with Database() as db, Daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-W2"})
        c.ok({"op": "start", "case": "C-W2", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        r = d.cli("due", "--overdue", "--on", "2026-03-01", json=True)
        eq((r["on"], [(i["deadline"], i["status"]) for i in r["items"]]),
           ("2026-03-01", [("decide_to_assess", "overdue")]), "CLI due --on")
        rc, out, err = d.cli("due", "--on", "2026-01-01", check=False)
        assert rc == 1 and "in the past" in err, (rc, out, err)
        eq(c.ok({"op": "clock"})["today"], "2026-02-01", "clock after the what-ifs")


main()
