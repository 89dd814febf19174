"""The HTML board report, rendered by headless Chromium: the DOM Chromium
built (not the bytes we wrote) holds every figure in its cell, the SVG charts
have one bar per band or month and one point per month with something to
count, nothing is fetched from outside the file, and printing gives A4 pages
with a page break before every section.

Chromium is Debian's `chromium` package, which scripts/lib.sh installs. When
it is not installed the test exits 77 (meson: skipped), saying so.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

from sfharness import (test, main, Database, Daemon, eq, tempdir, timeout, TestError,
                       WORKFLOWS_DIR)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# A small caseload, judged as on 2026-11-30 (operations, November 2026, run on 2026-12-01).
# Request R: decide_to_assess due R+42, notify_no_plan R+112, final_plan R+140.
#   H1 06-01: decided 07-01 (due 07-13), draft 09-01, plan 09-30 (due 10-19): on time.
#   H2 06-15: decided 08-01 (due 07-27, late), draft 09-10, plan 11-10 (due 11-02, late).
#   H3 07-01: exception 07-10..08-20; decided 08-05 (due 08-12), draft 10-01, plan 11-20
#             (due 11-18, late, excused: removed when excluding exceptions).
#   H4 08-03: nothing since: decide_to_assess (due 09-14) 77 days overdue on 11-30,
#             notify_no_plan (due 11-23) 7 days; final_plan (due 12-21) pending.
#   H5 an annual review from a plan of 2025-08-01: due 2026-07-31, 122 days overdue.
#   H6 06-22: decided 07-20 (due 08-03), draft 09-15, plan 11-05 (due 11-09): on time.
#   H7 10-19: decided 11-25 (due 11-30): on time.
ACTIONS = [
    ("2025-08-01", "H5", "start", "annual-review", {}),
    ("2026-06-01", "H1", "start", "ehcp-assessment", {}),
    ("2026-06-15", "H2", "start", "ehcp-assessment", {}),
    ("2026-06-22", "H6", "start", "ehcp-assessment", {}),
    ("2026-07-01", "H1", "event", "decision_to_assess", {"outcome": "yes"}),
    ("2026-07-01", "H3", "start", "ehcp-assessment", {}),
    ("2026-07-10", "H3", "event", "exception_started", {"reason": "exceptional_circumstances"}),
    ("2026-07-20", "H6", "event", "decision_to_assess", {"outcome": "yes"}),
    ("2026-08-01", "H2", "event", "decision_to_assess", {"outcome": "yes"}),
    ("2026-08-03", "H4", "start", "ehcp-assessment", {}),
    ("2026-08-05", "H3", "event", "decision_to_assess", {"outcome": "yes"}),
    ("2026-08-20", "H3", "event", "exception_ended", {"reason": "exceptional_circumstances"}),
    ("2026-09-01", "H1", "event", "draft_plan_issued", {}),
    ("2026-09-10", "H2", "event", "draft_plan_issued", {}),
    ("2026-09-15", "H6", "event", "draft_plan_issued", {}),
    ("2026-09-30", "H1", "event", "final_plan_issued", {}),
    ("2026-10-01", "H3", "event", "draft_plan_issued", {}),
    ("2026-10-19", "H7", "start", "ehcp-assessment", {}),
    ("2026-11-05", "H6", "event", "final_plan_issued", {}),
    ("2026-11-10", "H2", "event", "final_plan_issued", {}),
    ("2026-11-20", "H3", "event", "final_plan_issued", {}),
    ("2026-11-25", "H7", "event", "decision_to_assess", {"outcome": "yes"}),
]

# The cells, as Chromium shows them.
CELLS = {
    "assessment_requests_received": "0",          # H7 came in October
    "decisions_made": "1",                        # H7
    "decisions_within_6_weeks": ("100.0%", 1, 1),
    "plans_issued": "3",                          # H6, H2, H3
    "plans_issued_within_20_weeks_incl": ("33.3%", 1, 3),  # H6
    "plans_with_exceptions": "1",                 # H3
    "plans_issued_excl": "2",
    "plans_issued_within_20_weeks_excl": ("50.0%", 1, 2),
    "advice_health_within_6_weeks": ("-", 0, 0),  # no advice asked for
    "overdue_total": "3",
    "overdue_1_7_days": "1",                      # H4 notify_no_plan, 7 days
    "overdue_8_28_days": "0",
    "overdue_29_84_days": "1",                    # H4 decide_to_assess, 77 days
    "overdue_85_plus_days": "1",                  # H5 review_meeting, 122 days
    "overdue_decide_to_assess": "1",
    "overdue_notify_no_plan": "1",
    "overdue_review_meeting": "1",
    "missed_deadlines": "3",                      # H2 and H3 plans, H4's notice
    "trend_2026_09_plans_issued": "1",
    "trend_2026_11_plans_issued": "3",
    "trend_2026_11_plans_within_20_weeks_incl": ("33.3%", 1, 3),
    "trend_2026_11_plans_within_20_weeks_excl": ("50.0%", 1, 2),
    "trend_2026_07_decisions_within_6_weeks": ("100.0%", 2, 2),  # H1, H6
    "trend_2026_08_decisions_within_6_weeks": ("50.0%", 1, 2),   # H3 on time, H2 late
    "trend_2026_10_decisions_within_6_weeks": ("-", 0, 0),
}
MONTHS = ["Dec 2025", "Jan 2026", "Feb 2026", "Mar 2026", "Apr 2026", "May 2026", "Jun 2026",
          "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find(self, tag=None, **attrs):
        """Every descendant (and self) with that tag and those attribute values (None: any)."""
        return [n for n in self.walk() if (tag is None or n.tag == tag) and
                all(n.attrs.get(k.replace("_", "-")) == v if v is not None else
                    k.replace("_", "-") in n.attrs for k, v in attrs.items())]

    def one(self, tag=None, **attrs):
        found = self.find(tag, **attrs)
        if len(found) != 1:
            raise TestError("expected one <%s %s>, found %d" % (tag, attrs, len(found)))
        return found[0]


VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "source", "wbr"}


class DomBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


# People the shipped escalation policy names, with no board: nothing is sent anywhere.
CHANNELS = """channels: 1
people:
  mk: {title: team manager, email: mk@example.org}
  sl: {title: team manager, email: sl@example.org}
  hos: {title: head of service, email: hos@example.org}
email:
  smtp: "smtp://127.0.0.1:9"
  from: "sendflow@example.org"
"""


def workflows():
    wf = os.path.join(tempdir(), "workflows")
    shutil.copytree(WORKFLOWS_DIR, wf)
    with open(os.path.join(wf, "channels.yaml"), "w") as f:
        f.write(CHANNELS)
    return wf


def chromium(*args):
    """Run headless Chromium with a profile of its own; its stdout."""
    profile = tempdir()
    p = subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox",
                        "--user-data-dir=" + profile, "--no-first-run"] + list(args),
                       capture_output=True, timeout=timeout(120),
                       env=dict(os.environ, HOME=profile))
    if p.returncode != 0:
        raise TestError("chromium %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                       p.stderr.decode(errors="replace")[-2000:]))
    return p.stdout.decode("utf-8")


@test
def chromium_renders_every_figure_and_chart():
    with Database() as db, Daemon(db, clock="2025-08-01T09:00", workflows=workflows()) as d:
        today = None
        for day, ref, what, name, attrs in sorted(ACTIONS, key=lambda a: a[0]):
            if day != today:
                d.cli("clock", "set", day + "T17:00")
                today = day
            if what == "start":
                d.cli("case", "open", ref)
                argv = ["start", ref, name, "--on", day]
            else:
                argv = ["event", ref, name, "--on", day]
            for k, v in attrs.items():
                argv += ["--set", "%s=%s" % (k, v)]
            d.cli(*argv)
        d.cli("clock", "set", "2026-12-01T09:00")
        path = os.path.join(tempdir(), "operations-2026-11.html")
        d.cli("report", "--board", "operations", "--period", "2026-11", "--format", "html",
              "--output", path)
        data = d.cli("report", "--board", "operations", "--period", "2026-11", json=True)["data"]

    # Self-contained: no script, no stylesheet link, nothing loaded by URL.
    raw = open(path, encoding="utf-8").read()
    assert not re.search(r"<(script|link|img|iframe|object)\b", raw, re.I), "external element"
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", raw, re.I), "external URL"
    assert not re.search(r"url\(|@import", raw, re.I), "CSS that loads something"
    assert "@media print" in raw and re.search(r"@page\s*\{[^}]*size:\s*A4", raw), "print CSS"

    dom = DomBuilder()
    dom.feed(chromium("--dump-dom", "file://" + path))
    doc = dom.root
    eq(doc.one("h1").text(), "SEND operational board", "heading")
    eq(doc.one("p", **{"class": "period"}).attrs.get("data-period"), "2026-11", "period")

    # Every figure's cell holds its number; rates also carry their parts.
    for fid, want in CELLS.items():
        cell = doc.one("td", data_figure=fid)
        if isinstance(want, tuple):
            text, num, den = want
            assert cell.text().strip().startswith(text), "%s: %r" % (fid, cell.text())
            eq((cell.attrs["data-numerator"], cell.attrs["data-denominator"]), (str(num), str(den)),
               fid + " parts")
            if fid in {f["id"] for s in data["sections"] for f in s["figures"]}:
                eq(doc.one("td", data_numerator_of=fid).text(), str(num), fid + " numerator cell")
                eq(doc.one("td", data_denominator_of=fid).text(), str(den), fid + " denominator")
        else:
            eq(cell.text().strip(), want, fid)
    # One cell per figure of the data, each in the table of its section.
    for s in data["sections"]:
        table = doc.one("table", id=s["id"]) if s["figures"] else None
        for f in s["figures"]:
            cell = doc.one("td", data_figure=f["id"])
            t = cell
            while t.tag != "table":
                t = t.parent
            eq(t, table, "table of " + f["id"])
            eq(cell.attrs["data-kind"], f["kind"], f["id"] + " kind")
        section = doc.one("section", id="section-" + s["id"])
        eq(section.one("h2").text(), s["title"], "section title")
    trend_rows = doc.one("table", id="trend").find("tr", data_month=None)
    eq([r.one("th").text() for r in trend_rows], MONTHS, "trend months")
    missed = doc.one("table", id="missed-deadlines-list").find("tr")
    eq([[td.text() for td in r.find("td")][:5] for r in missed[1:]],
       [["H2", "ehcp-assessment", "final_plan", "2026-11-02", "late"],
        ["H3", "ehcp-assessment", "final_plan", "2026-11-18", "excused"],
        ["H4", "ehcp-assessment", "notify_no_plan", "2026-11-23", "overdue"]], "missed list")

    # Charts: titles, labelled axes, one bar per age band and per month, a point per month
    # that had something to count.
    age = doc.one("svg", id="chart-overdue-age")
    eq(age.attrs.get("role"), "img", "age chart role")
    eq(age.one("title", id=age.attrs["aria-labelledby"]).text(), "Overdue deadlines by days overdue",
       "age chart title")
    eq(age.one("text", **{"class": "axis-label x-label"}).text(), "Days overdue on the as-on date",
       "age chart x axis")
    eq(age.one("text", **{"class": "axis-label y-label"}).text(), "Deadlines", "age chart y axis")
    eq([(b.attrs["data-label"], b.attrs["data-value"]) for b in age.find("rect", **{"class": "bar"})],
       [("1-7 days", "1"), ("8-28 days", "0"), ("29-84 days", "1"), ("85+ days", "1")], "age bars")
    plans = doc.one("svg", id="chart-trend-plans")
    bars = plans.find("rect", **{"class": "bar"})
    eq([b.attrs["data-label"] for b in bars], MONTHS, "plans chart months")
    eq([b.attrs["data-value"] for b in bars], ["0"] * 9 + ["1", "0", "3"], "plans per month")
    eq(plans.one("text", **{"class": "axis-label y-label"}).text(), "Plans issued", "plans y axis")
    rates = doc.one("svg", id="chart-trend-rates")
    eq(rates.one("text", **{"class": "axis-label x-label"}).text(), "Month", "rates x axis")
    points = {}
    for p in rates.walk():
        if p.attrs.get("class") == "point":
            points.setdefault(p.attrs["data-series"], []).append(
                (p.attrs["data-label"], p.attrs["data-value"]))
    eq(points, {"plans_within_20_weeks_incl": [("Sep 2026", "100.0"), ("Nov 2026", "33.3")],
                "plans_within_20_weeks_excl": [("Sep 2026", "100.0"), ("Nov 2026", "50.0")],
                "decisions_within_6_weeks": [("Jul 2026", "100.0"), ("Aug 2026", "50.0"),
                                             ("Nov 2026", "100.0")]}, "trend points")
    eq(len(rates.find("path", **{"class": "line"})), 3, "one line per series")

    # Printed: A4 pages, each section starting a page of its own (header and contents first).
    pdf_path = os.path.join(tempdir(), "report.pdf")
    chromium("--no-pdf-header-footer", "--print-to-pdf=" + pdf_path, "file://" + path)
    pdf = open(pdf_path, "rb").read()
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    sections = len(data["sections"]) + 1
    assert pages >= 1 + sections, "%d pages for %d sections" % (pages, sections)
    boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
    assert boxes and all(abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5
                         for w, h in boxes), "not A4: %r" % boxes


if __name__ == "__main__":
    if not CHROMIUM:
        print("skip - headless Chromium is not installed (scripts/lib.sh installs Debian's "
              "chromium; or: apt-get install chromium)")
        sys.exit(77)
    main()
