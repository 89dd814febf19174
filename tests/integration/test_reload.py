"""Reload (issue 11, item 5): `sendflow reload` and SIGHUP read the
workflows, calendar, escalation policy, channels and access file again while
the daemon runs. A valid change is in use at once (every connection stamps
with the new definitions, processes computed under the old ones are
recomputed, as at start); an invalid one is refused as a whole with its
[file:line] and the running definitions stay."""
import os
import re
import signal

from sfharness import test, main, Database, Daemon, eq, wait_for, STAMP, copy_workflows, edit


def show(d, ref):
    return d.cli("show", ref, json=True)


def start(d, ref, workflow, on, *sets):
    args = ["start", ref, workflow, "--on", on]
    for s in sets:
        args += ["--set", s]
    return d.cli(*args, json=True)["process"]


def active(sh, workflow):
    (p,) = [p for p in sh["processes"] if p["workflow"] == workflow and p["status"] == "active"]
    return p


def dls(p):
    return {x["name"]: x for x in p["deadlines"]}


def review_due(d, ref):
    return dls(active(show(d, ref), "annual-review"))["review_meeting"]["due"]


@test
def reload_puts_a_changed_workflow_in_use_without_a_restart():
    wdir = copy_workflows()
    with Database() as db:
        d = Daemon(db, clock="2026-03-20T09:00", workflows=wdir)
        d.cli("case", "open", "R1")
        start(d, "R1", "annual-review", "2025-03-10")
        d.cli("case", "open", "R3")
        start(d, "R3", "ehcp-assessment", "2026-01-05")
        eq(review_due(d, "R1"), "2026-03-09", "before")
        r3 = show(d, "R3")

        # Nothing changed: a reload changes nothing and says so.
        r = d.cli("reload", json=True)
        eq(r["changed"], [], "nothing changed")
        eq(sorted(w["name"] for w in r["workflows"]),
           sorted(w["name"] for w in d.cli("workflows", json=True)["workflows"]), "workflows")

        ar = os.path.join(wdir, "annual-review.yaml")
        edit(ar, "version: 3 ", "version: 4 ")
        edit(ar, "beginning_with: 12 months", "beginning_with: 6 months")
        rc, out, _ = d.cli("reload")
        assert out.startswith("Reloaded: 1 workflow changed") and "changed" in out, out
        eq(d.cli("reload", json=True)["changed"], [], "a second reload: nothing more")
        eq([w["version"] for w in d.cli("workflows", json=True)["workflows"]
            if w["name"] == "annual-review"], [4], "the version in use")
        # The recompute the reload started moves R1's review: 6 months from 10 March 2025.
        wait_for(lambda: review_due(d, "R1") == "2025-09-09", 20, "R1's review to move")
        eq(active(show(d, "R1"), "annual-review")["version"], 4, "R1 recomputed under v4")
        eq(show(d, "R3"), r3, "the assessment (unchanged) untouched")
        # Every pool connection now stamps with the new definitions: a new process is
        # stamped v4, and nothing is left stale.
        d.cli("case", "open", "R2")
        start(d, "R2", "annual-review", "2026-03-01")
        stamps = db.sql("SELECT DISTINCT defs FROM processes WHERE workflow = 'annual-review'")
        eq(len(stamps.splitlines()), 1, "one stamp: %s" % stamps)
        assert re.match(STAMP % 4, stamps.strip()), stamps
        eq(review_due(d, "R2"), "2026-08-31", "a new review under v4")
        eq(d.cli("recompute", json=True)["processes"], 0, "nothing stale")
        assert "reload (conn " in d.stderr(), d.stderr()[-2000:]
        eq(db.sql("SELECT op || ' ' || result FROM audit_log WHERE op = 'reload' LIMIT 1").strip(),
           "reload started", "audited")
        d.stop()


@test
def an_invalid_change_is_refused_and_the_running_definitions_stay():
    wdir = copy_workflows()
    with Database() as db:
        d = Daemon(db, clock="2026-03-20T09:00", workflows=wdir)
        d.cli("case", "open", "R1")
        start(d, "R1", "annual-review", "2025-03-10")
        before = show(d, "R1")
        ar = os.path.join(wdir, "annual-review.yaml")
        with open(ar) as f:
            good = f.read()
        # A broken workflow: the daemon names the file and line, and keeps v3.
        edit(ar, "version: 3 ", "version: 4 ")
        edit(ar, "beginning_with: 12 months", "beginning_with: twelve months")
        rc, out, err = d.cli("reload", check=False)
        eq(rc, 1, "exit status of a refused reload")
        m = re.search(r"\[([^\]]*annual-review\.yaml):(\d+)\]", err)
        assert m and "nothing was reloaded" in err, err
        with open(ar) as f:
            line = f.read().splitlines()[int(m.group(2)) - 1]
        assert "twelve months" in line, (m.group(0), line)
        r = d.client().error({"op": "reload"}, "invalid_definitions")
        assert "annual-review.yaml" in r["error"]["message"], r
        eq([w["version"] for w in d.cli("workflows", json=True)["workflows"]
            if w["name"] == "annual-review"], [3], "still v3")
        eq(show(d, "R1"), before, "nothing recomputed")
        d.cli("case", "open", "R2")
        start(d, "R2", "annual-review", "2026-03-01")
        eq(review_due(d, "R2"), "2027-02-28", "new work still under v3")

        # SIGHUP with an invalid escalation policy: refused, logged with its line.
        with open(ar, "w") as f:
            f.write(good)
        esc = os.path.join(wdir, "escalations.yaml")
        with open(esc) as f:
            esc_good = f.read()
        with open(esc, "a") as f:
            f.write("\nnot_a_key: [\n")
        os.kill(d.pid, signal.SIGHUP)
        wait_for(lambda: "reload (SIGHUP) refused" in d.stderr(), 20, "the refusal in the log")
        line = [x for x in d.stderr().splitlines() if "reload (SIGHUP) refused" in x][0]
        assert "escalations.yaml:" in line and "running definitions stay" in line, line

        # A version that would orphan running processes (defcheck) is refused too.
        with open(esc, "w") as f:
            f.write(esc_good)
        with open(ar) as f:
            text = f.read()
        with open(ar, "w") as f:
            f.write(re.sub(r"\bamending\b", "amendments_due", text)
                    .replace("version: 3 ", "version: 4 "))
        d.cli("case", "open", "O1")
        start(d, "O1", "annual-review", "2026-01-10", "started_after=review_meeting")
        d.cli("event", "O1", "review_decision", "--on", "2026-02-01", "--set", "outcome=amend")
        rc, _, err = d.cli("reload", check=False)
        assert rc == 1 and "orphan" in err and "O1" in err, err

        # Fixed: SIGHUP puts it in use.
        with open(ar, "w") as f:
            f.write(good.replace("version: 3 ", "version: 4 ")
                    .replace("beginning_with: 12 months", "beginning_with: 6 months"))
        os.kill(d.pid, signal.SIGHUP)
        wait_for(lambda: review_due(d, "R1") == "2025-09-09", 20, "R1's review to move")
        assert "reload (SIGHUP): definitions in use" in d.stderr(), d.stderr()[-2000:]
        d.stop()


main()
