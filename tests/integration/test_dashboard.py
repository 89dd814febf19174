"""The manager's dashboard (issue 12, items 1 and 2), in real headless
Chromium (Debian's chromium and chromium-driver, driven by python3-selenium)
with JavaScript off: a manager signs in with a token through the form and
gets a session cookie (HttpOnly, SameSite=Strict); the test reads the week's
figures, the caseloads, the open escalations and the SEN2 20-week rates on
the page and checks them against the CLI's; opens a case's page and checks
every deadline's day, basis and explanation against show; acknowledges an
escalation with the page's button. A caseworker is refused the dashboard, a
form without the session's CSRF value does nothing, and a revoked token's
session ends at once. A screenshot of each page is kept in
$SENDFLOW_TEST_ARTEFACTS (default: test-artefacts/ beside the daemon's build
directory). Skipped (exit 77) without Chromium, its driver or selenium.
"""
import os
import re
import shutil
import sys

from sfharness import (test, main, Database, SENDFLOWD, debian_module, eq, http_daemon,
                       http_request, timeout, wait_for)

CLOCK = "2026-02-20T09:00"
ARTEFACTS = os.environ.get("SENDFLOW_TEST_ARTEFACTS") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(SENDFLOWD))), "test-artefacts",
    "test_dashboard")
DRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

try:
    webdriver = debian_module("selenium.webdriver")
    By = debian_module("selenium.webdriver.common.by").By
    Service = debian_module("selenium.webdriver.chrome.service").Service
    WebDriverWait = debian_module("selenium.webdriver.support.ui").WebDriverWait
    EC = debian_module("selenium.webdriver.support.expected_conditions")
except ImportError:
    webdriver = None


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1400",
              "--disable-dev-shm-usage"):
        opts.add_argument(a)
    # Usable with JavaScript off: the pages have none, and the test proves it.
    opts.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=DRIVER)
    return webdriver.Chrome(options=opts, service=service)


def shot(b, name):
    os.makedirs(ARTEFACTS, exist_ok=True)
    path = os.path.join(ARTEFACTS, name + ".png")
    b.save_screenshot(path)
    assert os.path.getsize(path) > 1000, path


def text(b, css):
    return b.find_element(By.CSS_SELECTOR, css).text.strip()


def rows(b, table):
    """{data-name: {data-key: int}} of a table's rows."""
    out = {}
    for tr in b.find_elements(By.CSS_SELECTOR, "#%s tr[data-name]" % table):
        out[tr.get_attribute("data-name")] = {
            td.get_attribute("data-key"): int(td.text)
            for td in tr.find_elements(By.CSS_SELECTOR, "td[data-key]")}
    return out


def follow(b, el):
    """Click el (a link or a form's button) and wait until its page has gone and the next
    one is there: a busy machine may take seconds, and the caller reads the new page."""
    el.click()
    WebDriverWait(b, timeout(30)).until(EC.staleness_of(el))
    WebDriverWait(b, timeout(30)).until(lambda drv: drv.find_elements(By.TAG_NAME, "body"))


def sign_in(b, d, token):
    b.get("http://127.0.0.1:%d/" % d.http_port)
    assert b.current_url.endswith("/signin"), b.current_url
    b.find_element(By.ID, "token").send_keys(token)
    follow(b, b.find_element(By.ID, "signin"))  # the form posts; the answer redirects


def year_rate(report, year):
    num = den = 0
    for m in report["data"]["trend"]["months"]:
        if m["month"].startswith(str(year)):
            for f in m["figures"]:
                if f["key"] == "plans_within_20_weeks_incl":
                    num += f["numerator"]
                    den += f["denominator"]
    return num, den


def plan(c, ref, officer, start, decided, draft, final):
    c.ok({"op": "case_open", "case": ref, "attrs": {"officer": officer, "team": "north"}})
    c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment", "on": start})
    c.ok({"op": "event", "case": ref, "type": "decision_to_assess", "on": decided,
          "attrs": {"outcome": "yes"}})
    c.ok({"op": "event", "case": ref, "type": "draft_plan_issued", "on": draft})
    c.ok({"op": "event", "case": ref, "type": "final_plan_issued", "on": final})


@test
def a_manager_reads_the_week_and_acknowledges_in_chromium():
    with Database() as db, http_daemon(db, clock=CLOCK) as d, d.client() as c:
        for ref, o, t in (("C-D1", "jb", "north"), ("C-D2", "sl", "north"),
                          ("C-D3", "jb", "south"), ("C-D4", None, None)):
            attrs = {"officer": o, "team": t} if o else {}
            c.ok({"op": "case_open", "case": ref, "attrs": attrs})
            c.ok({"op": "start", "case": ref, "workflow": "ehcp-assessment",
                  "on": "2026-01-05"})
        # Plans for SEN2: last year one late (1 of 2 in time), this year one in time.
        plan(c, "C-P1", "jb", "2025-01-06", "2025-02-03", "2025-04-01", "2025-05-20")
        plan(c, "C-P2", "jb", "2025-01-13", "2025-02-10", "2025-05-01", "2025-07-01")
        plan(c, "C-P3", "sl", "2025-11-03", "2025-12-01", "2026-01-10", "2026-01-15")
        c.ok({"op": "event", "case": "C-D2", "type": "advice_requested", "on": "2026-01-20",
              "attrs": {"from": "health"}})
        c.ok({"op": "event", "case": "C-D3", "type": "advice_requested", "on": "2026-01-12",
              "attrs": {"from": "education"}})  # due 2026-02-23: this week
        wait_for(lambda: d.cli("escalations", "--open", json=True)["escalations"], 30,
                 "escalations to fire")
        boss = d.cli("token", "add", "boss", "--role", "manager", json=True)["token"]
        b = browser()
        try:
            b.get("http://127.0.0.1:%d/" % d.http_port)
            shot(b, "01-signin")
            sign_in(b, d, boss)
            eq(b.current_url, "http://127.0.0.1:%d/" % d.http_port, "signed in: the week")
            shot(b, "02-week")
            cookie = b.get_cookie("sf_session")
            assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie

            # The week against the CLI's due (7 days ahead; overdue duties included).
            due = d.cli("due", "--within", "7", json=True)["items"]
            overdue = [i for i in due if i["status"] == "overdue"]
            assert overdue and len(overdue) < len(due), due
            eq(int(text(b, "#total-overdue")), len(overdue), "overdue")
            eq(int(text(b, "#total-week")), len(due) - len(overdue), "due within 7 days")
            by_officer = {}
            for i in due:
                k = by_officer.setdefault(i["officer"] or "unassigned", {"overdue": 0, "week": 0})
                k["overdue" if i["status"] == "overdue" else "week"] += 1
            eq(rows(b, "by-officer"), by_officer, "by officer")
            by_team = {}
            for i in due:
                k = by_team.setdefault(i["team"] or "no team", {"overdue": 0, "week": 0})
                k["overdue" if i["status"] == "overdue" else "week"] += 1
            eq(rows(b, "by-team"), by_team, "by team")
            caseload = d.cli("caseload", json=True)["officers"]
            eq(rows(b, "caseload"), {
                (o["officer"] or "unassigned"): {k: o[k] for k in (
                    "open_processes", "due_soon", "overdue", "escalations_open")}
                for o in caseload}, "caseloads")
            esc = d.cli("escalations", "--open", json=True)["escalations"]
            eq(int(text(b, "#total-escalations")), len([e for e in esc if not e["acked_at"]]),
               "escalations not acknowledged")
            eq(sorted(tr.get_attribute("data-id") for tr in
                      b.find_elements(By.CSS_SELECTOR, "#escalations tr[data-id]")),
               sorted(e["id"] for e in esc), "the open escalations listed")
            # SEN2 against the CLI's board reports.
            now = d.cli("report", "--board", "operations", "--period", "2026-02", "--format",
                        "json", json=True)
            last = d.cli("report", "--board", "operations", "--period", "2025-12", "--format",
                         "json", json=True)
            for cell, want in (("rate-this-year", year_rate(now, 2026)),
                               ("rate-last-year", year_rate(last, 2025))):
                td = b.find_element(By.ID, cell)
                eq((int(td.get_attribute("data-num")), int(td.get_attribute("data-den"))), want,
                   cell)
            eq(year_rate(now, 2026), (1, 1), "this year's plans (the fixture)")
            eq(year_rate(last, 2025), (1, 2), "last year's plans (the fixture)")
            assert "100.0%" in text(b, "#rate-this-year"), text(b, "#rate-this-year")
            assert "50.0%" in text(b, "#rate-last-year"), text(b, "#rate-last-year")

            # A case's page: every deadline's day, basis and explanation, and its history.
            follow(b, b.find_element(By.LINK_TEXT, "C-D2"))
            assert b.current_url.endswith("/case/C-D2"), b.current_url
            shot(b, "03-case")
            show = d.cli("show", "C-D2", json=True)
            want = {dl["name"]: (dl["due"], dl["basis"], dl["explain"])
                    for p in show["processes"] for dl in p["deadlines"]}
            got = {}
            for tr in b.find_elements(By.CSS_SELECTOR, "tr[data-deadline]"):
                tds = [td.text.strip() for td in tr.find_elements(By.TAG_NAME, "td")]
                got[tr.get_attribute("data-deadline")] = (tds[1], tds[3], tds[4])
            eq(got, want, "the case's deadlines")
            history = d.cli("history", "C-D2", json=True)["entries"]
            eq(len(b.find_elements(By.CSS_SELECTOR, "#history tr")) - 1, len(history),
               "history rows")
            assert "advice_requested" in text(b, "#history"), text(b, "#history")

            # Acknowledge the first open escalation with the page's button.
            b.get("http://127.0.0.1:%d/" % d.http_port)
            first = b.find_element(By.CSS_SELECTOR, "#escalations tr[data-id]")
            eid = first.get_attribute("data-id")
            first.find_element(By.NAME, "note").send_keys("called the school")
            follow(b, first.find_element(By.TAG_NAME, "button"))
            eq(b.current_url, "http://127.0.0.1:%d/" % d.http_port, "back to the week")
            shot(b, "04-acknowledged")
            acked = [e for e in d.cli("escalations", json=True)["escalations"] if e["id"] == eid]
            eq((acked[0]["acked_by"], acked[0]["ack_note"]), ("boss", "called the school"),
               "acknowledged as the signed-in manager")
            row = b.find_element(By.CSS_SELECTOR, '#escalations tr[data-id="%s"]' % eid)
            assert "called the school" in row.text, row.text

            # A form without the session's CSRF value does nothing.
            sess = "sf_session=" + cookie["value"]
            other = [e for e in esc if e["id"] != eid][0]["id"]
            status, _, _ = http_request(d, "/ack", method="POST", headers={"Cookie": sess},
                                        body={"escalation": other, "note": "forged",
                                              "csrf": "0" * 64})
            eq(status, 403, "a forged form")
            eq(db.sql("SELECT count(*) FROM escalations WHERE ack_note = 'forged'").strip(), "0",
               "nothing acknowledged by the forged form")

            # Revoked: the very next page is the sign-in form again.
            d.cli("token", "revoke", "boss")
            b.get("http://127.0.0.1:%d/" % d.http_port)
            assert b.current_url.endswith("/signin"), b.current_url

            # A caseworker is not a manager: refused, saying so.
            cw = d.cli("token", "add", "cw", "--role", "caseworker", json=True)["token"]
            sign_in(b, d, cw)
            assert "for managers" in text(b, "main"), text(b, "main")
            shot(b, "05-caseworker-refused")
            status, _, _ = http_request(d, "/", headers={"Authorization": "Bearer " + cw})
            eq(status, 403, "a caseworker's Bearer token")
            mgr = d.cli("token", "add", "m2", "--role", "manager", json=True)["token"]
            status, _, body = http_request(d, "/", headers={"Authorization": "Bearer " + mgr})
            assert status == 200 and 'id="total-overdue"' in body, status
            eq(http_request(d, "/")[0], 303, "no token: to the sign-in form")
        finally:
            b.quit()


if __name__ == "__main__":
    if not (CHROMIUM and DRIVER and webdriver):
        print("chromium, chromium-driver or python3-selenium is not installed: skipped "
              "(scripts/lib.sh installs them)")
        sys.exit(77)
    main()
