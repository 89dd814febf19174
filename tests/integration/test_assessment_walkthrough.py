"""The whole EHC needs assessment, from the request to the final plan and the
first annual review, through the real CLI against the real daemon, on a
simulated clock that the test moves with `sendflow clock set`.

Request received Mon 5 Jan 2026:
  decide_to_assess  6 weeks  -> Mon 16 Feb 2026 (reg. 5(1))
  notify_no_plan   16 weeks  -> Mon 27 Apr 2026 (reg. 10(1))
  final_plan       20 weeks  -> Mon 25 May 2026 (reg. 13(2))
Final plan issued 20 May 2026 -> review within the 12 months starting with
that day -> 19 May 2027 (CFA 2014 s. 44(1)).
"""
from sfharness import test, main, Database, Daemon, deadline, process, eq, TestError


def due_items(doc):
    """Items of a `due --json` document (the reply object, or a bare list)."""
    items = doc["items"] if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise TestError("due --json: no items list in %r" % (doc,))
    return items


def item(items, case, name):
    """The one listing of a deadline, or None; listing it twice is an error."""
    found = [i for i in items if i["case"] == case and i["deadline"] == name]
    if len(found) > 1:
        raise TestError("%s %s listed %d times: %r" % (case, name, len(found), found))
    return found[0] if found else None


@test
def ehc_assessment_from_request_to_annual_review():
    with Database() as db, Daemon(db, clock="2026-01-05T09:00") as d:
        cli = d.cli
        cli("case", "open", "C-1001")
        cli("start", "C-1001", "ehcp-assessment", "--on", "2026-01-05")

        show = cli("show", "C-1001", json=True)
        eq(show["case"], "C-1001", "show.case")
        p = process(show, "ehcp-assessment")
        eq(p["status"], "active", "process status")
        dl = deadline(show, "decide_to_assess")
        eq((dl["due"], dl["status"], dl["met_on"]), ("2026-02-16", "pending", None), "decide_to_assess")
        eq(dl["basis"], "SEND Regulations 2014, reg. 5(1)", "decide_to_assess basis")
        eq(dl["explain"], "6 weeks from request received on 2026-01-05", "decide_to_assess explain")
        dl = deadline(show, "notify_no_plan")
        eq((dl["due"], dl["status"]), ("2026-04-27", "pending"), "notify_no_plan")
        eq(dl["basis"], "SEND Regulations 2014, reg. 10(1)", "notify_no_plan basis")
        dl = deadline(show, "final_plan")
        eq((dl["due"], dl["status"], dl["met_on"]), ("2026-05-25", "pending", None), "final_plan")
        eq(dl["basis"], "SEND Regulations 2014, reg. 13(2)", "final_plan basis")
        eq(dl["explain"], "20 weeks from request received on 2026-01-05", "final_plan explain")
        names = [x["name"] for x in p["deadlines"]]
        assert not [n for n in names if n.startswith("advice_")], \
            "no adviser asked yet, but advice deadlines exist: %s" % names

        # The text view shows the dates and why.
        _, out, _ = cli("show", "C-1001")
        for s in ("C-1001", "2026-05-25", "20 weeks from request received on 2026-01-05",
                  "2026-02-16"):
            assert s in out, "show (text) lacks %r:\n%s" % (s, out)

        # "within N days" includes the day N days from today.
        items = due_items(cli("due", "--within", "42", json=True))
        it = item(items, "C-1001", "decide_to_assess")
        assert it, "decide_to_assess (due in 42 days) missing from due --within 42: %s" % items
        eq((it["due"], it["days"], it["status"], it["workflow"]),
           ("2026-02-16", 42, "pending", "ehcp-assessment"), "due item")
        eq(it["basis"], "SEND Regulations 2014, reg. 5(1)", "due item basis")
        assert it["explain"], "due item without explain"
        items = due_items(cli("due", "--within", "41", json=True))
        assert not item(items, "C-1001", "decide_to_assess"), "due --within 41 lists a deadline 42 days away"
        _, out, _ = cli("due", "--within", "7")
        assert "C-1001" not in out, "nothing of C-1001 is due within 7 days:\n" + out

        # A second case on the same request date (overdue with C-1001 later).
        cli("case", "open", "C-1002")
        cli("start", "C-1002", "ehcp-assessment", "--on", "2026-01-05")

        # Last minute of the due day: still pending; the next minute: overdue.
        cli("clock", "set", "2026-02-16T23:59")
        dl = deadline(cli("show", "C-1001", json=True), "decide_to_assess")
        eq((dl["status"], dl["days"]), ("pending", 0), "decide_to_assess at 23:59 on its due day")
        assert not due_items(cli("due", "--overdue", json=True)), "nothing is overdue yet"
        cli("clock", "set", "2026-02-17T00:00")
        clk = cli("clock", json=True)
        eq((clk["now"], clk["today"], clk["mode"], clk["zone"]),
           ("2026-02-17T00:00", "2026-02-17", "simulated", "Europe/London"), "clock")
        dl = deadline(cli("show", "C-1001", json=True), "decide_to_assess")
        eq((dl["status"], dl["days"]), ("overdue", -1), "decide_to_assess the day after")

        # A third case, a week later, to see the order of `due`: decide by 2026-02-23.
        cli("case", "open", "C-1003")
        cli("start", "C-1003", "ehcp-assessment", "--on", "2026-01-12")
        items = due_items(cli("due", "--within", "7", json=True))
        keys = [(i["case"], i["deadline"], i["status"]) for i in items]
        assert ("C-1001", "decide_to_assess", "overdue") in keys, keys
        assert ("C-1003", "decide_to_assess", "pending") in keys, keys
        assert keys.index(("C-1001", "decide_to_assess", "overdue")) < \
            keys.index(("C-1003", "decide_to_assess", "pending")), "overdue must come first: %s" % keys
        eq(item(items, "C-1003", "decide_to_assess")["days"], 6, "C-1003 days")
        over = due_items(cli("due", "--overdue", json=True))
        eq(sorted((i["case"], i["deadline"]) for i in over),
           [("C-1001", "decide_to_assess"), ("C-1002", "decide_to_assess")], "due --overdue")
        assert all(i["status"] == "overdue" and i["days"] < 0 for i in over), over
        _, out, _ = cli("due", "--overdue")
        assert "C-1001" in out and "C-1003" not in out, "due --overdue (text):\n" + out

        # The decision, a day late.
        cli("clock", "set", "2026-02-17T09:00")
        cli("event", "C-1001", "decision_to_assess", "--on", "2026-02-17", "--set", "outcome=yes")
        show = cli("show", "C-1001", json=True)
        dl = deadline(show, "decide_to_assess")
        eq((dl["status"], dl["met_on"]), ("late", "2026-02-17"), "decide_to_assess after a late decision")
        eq(process(show, "ehcp-assessment")["state"], "assessing", "state")
        over = due_items(cli("due", "--overdue", json=True))
        assert not item(over, "C-1001", "decide_to_assess"), "a met deadline is still listed overdue"

        # Advice, one deadline per adviser.
        cli("event", "C-1001", "advice_requested", "--on", "2026-02-17", "--set", "from=education")
        cli("event", "C-1001", "advice_requested", "--on", "2026-02-17", "--set", "from=health")
        show = cli("show", "C-1001", json=True)
        for who in ("education", "health"):
            dl = deadline(show, "advice_" + who)
            eq((dl["due"], dl["status"]), ("2026-03-31", "pending"), "advice_" + who)
            eq(dl["basis"], "SEND Regulations 2014, reg. 8(1)", "advice basis")
        cli("clock", "set", "2026-03-20T09:00")
        cli("event", "C-1001", "advice_received", "--on", "2026-03-20", "--set", "from=education")
        show = cli("show", "C-1001", json=True)
        dl = deadline(show, "advice_education")
        eq((dl["status"], dl["met_on"]), ("met", "2026-03-20"), "advice_education")
        dl = deadline(show, "advice_health")
        eq((dl["status"], dl["days"]), ("pending", 11), "advice_health")
        cli("clock", "set", "2026-04-01T09:00")
        over = due_items(cli("due", "--overdue", json=True))
        it = item(over, "C-1001", "advice_health")
        assert it and it["days"] == -1, "advice_health should be overdue by a day: %s" % over
        cli("event", "C-1001", "advice_received", "--on", "2026-04-01", "--set", "from=health")
        dl = deadline(cli("show", "C-1001", json=True), "advice_health")
        eq((dl["status"], dl["met_on"]), ("late", "2026-04-01"), "advice_health")

        # The draft plan: the 15-day representations period runs.
        cli("clock", "set", "2026-04-10T09:00")
        cli("event", "C-1001", "draft_plan_issued", "--on", "2026-04-10")
        show = cli("show", "C-1001", json=True)
        eq(process(show, "ehcp-assessment")["state"], "drafting", "state")
        eq(deadline(show, "notify_no_plan")["status"], "cancelled", "notify_no_plan once a draft is issued")
        dl = deadline(show, "draft_representations")
        eq((dl["due"], dl["kind"], dl["status"]), ("2026-04-24", "period", "pending"), "draft_representations")
        eq(dl["basis"], "SEND Regulations 2014, reg. 13(1)(a)", "draft_representations basis")
        cli("clock", "set", "2026-04-24T18:00")
        eq(deadline(cli("show", "C-1001", json=True), "draft_representations")["status"], "pending",
           "representations period on its last day")
        cli("clock", "set", "2026-04-25T09:00")
        eq(deadline(cli("show", "C-1001", json=True), "draft_representations")["status"], "met",
           "representations period once it has ended")

        # The final plan completes the assessment and starts the annual review.
        cli("clock", "set", "2026-05-20T10:00")
        reply = cli("event", "C-1001", "final_plan_issued", "--on", "2026-05-20", json=True)
        eq([p["workflow"] for p in reply["started"]], ["annual-review"], "started")
        show = cli("show", "C-1001", json=True)
        ehcp = process(show, "ehcp-assessment")
        eq((ehcp["status"], ehcp["ended_on"]), ("completed", "2026-05-20"), "assessment")
        dl = deadline(show, "final_plan", workflow="ehcp-assessment")
        eq((dl["status"], dl["met_on"]), ("met", "2026-05-20"), "final_plan")
        ar = process(show, "annual-review")
        eq((ar["status"], ar["started_on"]), ("active", "2026-05-20"), "annual review")
        eq(str(ar["parent"]), str(ehcp["id"]), "annual review's parent")
        dl = deadline(show, "review_meeting", workflow="annual-review")
        eq((dl["due"], dl["status"]), ("2027-05-19", "pending"), "review_meeting")
        eq(dl["basis"], "Children and Families Act 2014, s. 44(1)", "review_meeting basis")

        items = due_items(cli("due", "--within", "364", json=True))
        it = item(items, "C-1001", "review_meeting")
        assert it and it["days"] == 364 and it["workflow"] == "annual-review", items
        items = due_items(cli("due", "--within", "363", json=True))
        assert not item(items, "C-1001", "review_meeting"), "review_meeting is 364 days away"
        over = due_items(cli("due", "--overdue", json=True))
        assert not [i for i in over if i["case"] == "C-1001"], "C-1001 has nothing overdue: %s" % over
        _, out, _ = cli("due", "--within", "400")
        assert "2027-05-19" in out and "C-1001" in out, "due --within 400 (text):\n" + out


main()
