"""Calendar feeds (issue 12, item 3): /ical/officer/NAME.ics and
/ical/team/NAME.ics, RFC 5545 written by libical, parsed here with an
independent parser (Debian's python3-icalendar). One all-day event per open
deadline of that officer's or team's cases, as due lists them; its UID stays
when the deadline moves; a met deadline leaves. The token in the URL is a
feed token of that very calendar (sendflow token add NAME --role feed
--officer NAME): read-only, refused for another calendar, revocable; a
manager's token is refused in a URL.
"""
from sfharness import (test, main, Database, cli, debian_module, eq, http_daemon, http_request,
                       tls_daemon)

icalendar = debian_module("icalendar")

CLOCK = "2026-02-01T09:00"


def feed(d, kind, name, token):
    """GET the feed: (status, events by UID or the body when not 200)."""
    status, headers, body = http_request(d, "/ical/%s/%s.ics?token=%s" % (kind, name, token))
    if status != 200:
        return status, body
    assert headers["content-type"].startswith("text/calendar"), headers
    cal = icalendar.Calendar.from_ical(body)
    eq(str(cal["VERSION"]), "2.0", "VERSION")
    assert "PRODID" in cal, body
    events = {}
    for ev in cal.walk("VEVENT"):
        uid = str(ev["UID"])
        assert uid not in events, "UID %s twice" % uid
        start = ev["DTSTART"]
        eq(start.params.get("VALUE"), "DATE", "DTSTART is a date (all-day)")
        events[uid] = {"start": start.dt.isoformat(), "summary": str(ev["SUMMARY"]),
                       "description": str(ev["DESCRIPTION"]),
                       "end": ev["DTEND"].dt.isoformat()}
    return status, events


def uid(item):
    return "deadline-%s-%s@sendflow" % (item["process"], item["deadline"])


def due_feed(d, **who):
    """What the feed must hold: due as far ahead as it looks, for who."""
    args = ["due", "--within", "3660"]
    for k, v in who.items():
        args += ["--" + k, v]
    return {uid(i): i for i in d.cli(*args, json=True)["items"]}


def same(d, kind, name, token):
    status, events = feed(d, kind, name, token)
    eq(status, 200, "feed %s %s: %r" % (kind, name, events))
    want = due_feed(d, **{kind: name})
    eq(sorted(events), sorted(want), "the feed's UIDs are due's deadlines")
    for u, item in want.items():
        ev = events[u]
        eq(ev["start"], item["due"], "DTSTART of " + u)
        assert item["case"] in ev["summary"] and item["title"] in ev["summary"], ev
        assert item["basis"] and item["basis"] in ev["description"], (item, ev)
        assert item["explain"] and item["explain"] in ev["description"], (item, ev)
    return events


def token(d, name, *args):
    return d.cli("token", "add", name, "--role", *args, json=True)["token"]


@test
def a_feed_holds_the_open_deadlines_and_follows_them():
    with Database() as db, http_daemon(db, clock=CLOCK) as d, d.client() as c:
        for ref, officer, team in (("C-F1", "jb", "north"), ("C-F2", "jb", "north"),
                                   ("C-F3", "sl", "north"), ("C-F4", "sl", "south")):
            c.ok({"op": "case_open", "case": ref, "attrs": {"officer": officer, "team": team}})
            c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment",
                  "on": "2026-01-05"})
        c.ok({"op": "event", "case": "C-F2", "type": "advice_requested", "on": "2026-01-20",
              "attrs": {"from": "health"}})
        jb = token(d, "feed-jb", "feed", "--officer", "jb")
        north = token(d, "feed-north", "feed", "--team", "north")
        events = same(d, "officer", "jb", jb)
        assert any("C-F1" in e["summary"] for e in events.values()), events
        assert not any("C-F3" in e["summary"] for e in events.values()), events
        team = same(d, "team", "north", north)
        assert any("C-F3" in e["summary"] for e in team.values()), team
        assert not any("C-F4" in e["summary"] for e in team.values()), team

        # A move to another authority moves decide_to_assess: same UID, a new day.
        show = c.ok({"op": "show", "case": "C-F1"})
        pid = show["processes"][0]["id"]
        key = "deadline-%s-decide_to_assess@sendflow" % pid
        eq(events[key]["start"], "2026-02-16", "decide_to_assess before the move")
        eq(events[key]["end"], "2026-02-17", "an all-day event ends the next day")
        c.ok({"op": "event", "case": "C-F1", "type": "responsibility_transferred",
              "on": "2026-02-01"})
        moved = same(d, "officer", "jb", jb)
        assert moved[key]["start"] > "2026-02-16", moved[key]
        # The decision meets it: it leaves the feed; the others stay.
        c.ok({"op": "event", "case": "C-F1", "type": "decision_to_assess", "on": "2026-02-01",
              "attrs": {"outcome": "yes"}})
        after = same(d, "officer", "jb", jb)
        assert key not in after, after.keys()
        f2 = {u: e for u, e in events.items() if "C-F2" in e["summary"]}
        assert f2, events
        eq({u: e for u, e in after.items() if "C-F2" in e["summary"]}, f2, "C-F2 untouched")


@test
def a_feed_token_reads_its_own_calendar_only_and_can_be_revoked():
    with Database() as db, http_daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-T1", "attrs": {"officer": "jb", "team": "north"}})
        c.ok({"op": "start", "case": "C-T1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        jb = token(d, "feed-jb", "feed", "--officer", "jb")
        manager = token(d, "boss", "manager")
        eq(feed(d, "officer", "jb", jb)[0], 200, "its own calendar")
        status, body = feed(d, "officer", "sl", jb)
        assert status == 403 and "officer jb" in body, (status, body)
        eq(feed(d, "team", "north", jb)[0], 403, "a team's calendar with an officer's token")
        status, body = feed(d, "officer", "jb", manager)
        assert status == 403 and "feed token" in body, (status, body)
        eq(http_request(d, "/ical/officer/jb.ics")[0], 401, "no token")
        eq(feed(d, "officer", "jb", "sft_" + "0" * 64)[0], 401, "an unknown token")
        eq(feed(d, "officer", "j%20b", jb)[0], 403, "not its calendar (nor a name)")
        eq(http_request(d, "/ical/desk/jb.ics?token=" + jb)[0], 404, "neither officer nor team")
        # The feed token is refused by every other op (read-only, one calendar).
        listed = d.cli("token", "list")[1]
        assert "feed: officer jb" in listed, listed
        d.cli("token", "revoke", "feed-jb")
        eq(feed(d, "officer", "jb", jb)[0], 401, "a revoked feed token")
        # A feed token must name exactly one calendar; no other token names one.
        rc, _, err = d.cli("token", "add", "f2", "--role", "feed", check=False)
        assert rc != 0 and "officer" in err, err
        rc, _, err = d.cli("token", "add", "f3", "--role", "manager", "--officer", "jb",
                           check=False)
        assert rc != 0 and "feed" in err, err
        eq(db.sql("SELECT count(*) FROM tokens").strip(), "2", "nothing made by the refusals")


@test
def a_feed_token_over_tcp_reads_its_due_and_nothing_else():
    with Database() as db, tls_daemon(db, clock=CLOCK) as d, d.client() as c:
        c.ok({"op": "case_open", "case": "C-R1", "attrs": {"officer": "jb"}})
        c.ok({"op": "start", "case": "C-R1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
        jb = token(d, "feed-jb", "feed", "--officer", "jb")
        env = {"SENDFLOW_TOKEN": "", "SENDFLOW_TLS_CA": ""}
        tcp = ["--connect", "127.0.0.1:%d" % d.port, "--tls-ca", d.cert, "--token", jb]
        doc = cli(*(tcp + ["due", "--within", "60", "--officer", "jb"]), json=True, env=env)
        eq([i["case"] for i in doc["items"]][:1], ["C-R1"], "its own due")
        for args in (["due", "--within", "60"], ["show", "C-R1"], ["caseload"],
                     ["event", "C-R1", "decision_to_assess", "--on", "2026-02-01",
                      "--set", "outcome=yes"]):
            rc, _, err = cli(*(tcp + args), check=False, env=env)
            assert rc != 0 and "forbidden" in err, (args, rc, err)
        eq(db.sql("SELECT count(*) FROM events").strip(), "0", "nothing recorded")


if __name__ == "__main__":
    main()
