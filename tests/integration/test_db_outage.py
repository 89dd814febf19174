"""The database goes away and comes back: requests that need it are refused
with `unavailable` (promptly, nothing recorded), the daemon itself keeps
answering, and it serves again once PostgreSQL is back, without a restart.
Uses a cluster of its own, since it stops the server."""
from sfharness import test, main, Daemon, Database, PrivateCluster, eq, wait_for

CLOCK = "2026-03-01T09:00"


@test
def database_outage_gives_unavailable_then_recovers():
    cluster = PrivateCluster()
    try:
        d = Daemon(cluster, clock=CLOCK)
        with d.client() as c:
            c.ok({"op": "case_open", "case": "C-OU1"})
            c.ok({"op": "start", "case": "C-OU1", "workflow": "ehcp-assessment", "on": "2026-01-05"})
            before = c.ok({"op": "show", "case": "C-OU1"})["processes"]
            cluster.stop()
            c.error({"op": "show", "case": "C-OU1"}, "unavailable", seconds=30)
            c.error({"op": "event", "case": "C-OU1", "type": "decision_to_assess", "on": "2026-02-01",
                     "attrs": {"outcome": "yes"}, "key": "ou-1"}, "unavailable", seconds=30)
            c.error({"op": "case_open", "case": "C-OU2"}, "unavailable", seconds=30)
            eq(c.ok({"op": "ping"}).get("ok"), True, "ping during the outage")
            eq(c.ok({"op": "clock"})["now"], CLOCK, "clock during the outage")
            # Validation that needs no database still answers precisely.
            c.error("{nope", "bad_json")
            cluster.start()
            wait_for(lambda: c.request({"op": "show", "case": "C-OU1"}, seconds=30).get("ok"), 30,
                     "the daemon to serve again after PostgreSQL came back", interval=0.1)
            eq(c.ok({"op": "show", "case": "C-OU1"})["processes"], before, "nothing recorded meanwhile")
            c.error({"op": "show", "case": "C-OU2"}, "unknown_case")
            r = c.ok({"op": "event", "case": "C-OU1", "type": "decision_to_assess", "on": "2026-02-01",
                      "attrs": {"outcome": "yes"}, "key": "ou-1"})
            eq(r["duplicate"], False, "the retried event after the outage is new")
        with d.client() as c2:
            c2.ok({"op": "case_open", "case": "C-OU2"})
        d.stop()
    finally:
        cluster.close()


@test
def a_conninfo_with_several_hosts_fails_over_to_the_one_that_answers():
    """libpq tries the hosts of "host=a,b" in turn; the daemon's non-blocking
    connect must let it, not give up at the first refused connection (libuv
    reports that as a poll error)."""
    db = Database()
    try:
        class Alias:
            # Port 1 on loopback refuses at once; the real cluster comes second.
            conninfo = db.conninfo.replace("host=", "host=127.0.0.1,", 1).replace(
                "port=", "port=1,", 1)
        d = Daemon(Alias, clock="2026-03-01T09:00")
        try:
            with d.client() as c:
                eq(c.ok({"op": "case_open", "case": "C-FO1"})["created"], True, "created")
        finally:
            d.stop()
    finally:
        db.drop()


main()
