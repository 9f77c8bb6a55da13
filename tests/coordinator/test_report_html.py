"""test_report_html - smtpstorm run --html, rendered in a real browser.

A campaign on simulated agents and a sink (tests/coordinator/simpeer, via
--local) writes --json and --html. Headless Chromium (Debian's chromium,
no network) renders the page: its DOM must hold the five charts (SVG with
known ids, one point per timeline row), the headline, latency, agent,
sink, reply and threshold numbers equal to the JSON report's, the verdict,
and the command line's text escaped. A screenshot is kept in the build
tree as an artefact (tests/coordinator/report/report.png). Skips (77)
when /usr/bin/chromium is not installed.
"""

import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

import harness

SIM = os.environ.get("SMTPSTORM_SIMPEER", os.path.join(harness.BUILD, "tests", "coordinator", "simpeer"))
COORD = harness.program("smtpstorm")
CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = os.path.join(harness.BUILD, "tests", "coordinator", "report")
CHARTS = ("chart-rate", "chart-latency", "chart-phases", "chart-errors", "chart-sessions")
HOSTILE_SUBJECT = '<script>alert("x")</script> & <b>bold</b>'


def chromium(tmp, *args):
    """Run headless Chromium with no network and a fresh profile; returns stdout."""
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", *args]
    done = subprocess.run(argv, capture_output=True, timeout=90)
    harness.check(done.returncode == 0, f"chromium exit {done.returncode}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


class Dom(html.parser.HTMLParser):
    """What the tests look at in the rendered DOM."""

    def __init__(self):
        super().__init__()
        self.stack = []             # open elements: (tag, attrs)
        self.svgs = {}              # id -> {"polylines": [point counts], "classes": set()}
        self.nums = []              # (key, value, path of ids/classes above)
        self.scripts = 0
        self.text = []
        self.tables = {}            # table id -> list of rows (list of cell texts, row attrs)

    def _context(self):
        return [a.get("id") or a.get("data-agent") or a.get("data-sink") or a.get("data-phase")
                or a.get("data-code") or a.get("data-kind") or "" for _, a in self.stack]

    def _svg(self):
        for tag, a in reversed(self.stack):
            if tag == "svg":
                return self.svgs.get(a.get("id"))
        return None

    def _table(self):
        for tag, a in reversed(self.stack):
            if tag == "table":
                return a.get("id")
        return None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg" and a.get("id"):
            self.svgs[a["id"]] = {"polylines": [], "classes": set(), "circles": 0}
        svg = self._svg()
        if svg is not None and tag == "polyline":
            svg["polylines"].append(len(a.get("points", "").split()))
        if svg is not None and tag == "g":
            svg["classes"].update(a.get("class", "").split())
        if tag == "span" and "data-key" in a:
            self.nums.append((a["data-key"], a["data-value"], [c for c in self._context() if c]))
        if tag == "tr" and self._table():
            self.tables.setdefault(self._table(), []).append(([], a))
        if tag not in ("br", "meta", "hr", "img", "input", "link"):
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        if any(t == tag for t, _ in self.stack):
            while self.stack.pop()[0] != tag:
                pass

    def handle_data(self, data):
        self.text.append(data)
        if self.stack and self.stack[-1][0] in ("td", "th", "code", "span"):
            table = self._table()
            if table and self.tables.get(table):
                self.tables[table][-1][0].append(data.strip())

    def num(self, key, *within):
        """The data-value of the one span with data-key key inside elements named within."""
        found = [v for k, v, ctx in self.nums if k == key and all(w in ctx for w in within)]
        harness.check(len(found) == 1, f"expected one number {key} within {within}, found {found}")
        return found[0]


def run_campaign(tmp, name, agent_extra, *args):
    env = dict(os.environ, SMTPSTORM_AGENT_PROGRAM=f"{SIM} --role agent {agent_extra}".strip(),
               SMTPSTORM_SINK_PROGRAM=f"{SIM} --role sink")
    report, page = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".html")
    done = harness.run([COORD, "run", "--local", "3", "--json", report, "--html", page, "--wait", "20s", *args],
                       timeout=90, env=env)
    sys.stdout.write(f"--- {name}: exit {done.returncode}\n{done.stdout.decode()}{done.stderr.decode()}\n")
    with open(report) as f:
        data = json.load(f)
    with open(page) as f:
        text = f.read()
    return done, data, page, text


def check_self_contained(text):
    """No fetches: nothing refers to another resource."""
    for pattern in (r"<script", r"<link", r"<img", r"<iframe", r"url\(", r"@import", r"src=", r"href="):
        harness.check(not re.search(pattern, text, re.I), f"the page refers to something: {pattern}")
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    harness.check(urls <= {"http://www.w3.org/2000/svg"}, f"URLs in the page: {urls}")


def check_charts(dom, data):
    rows = len(data["timeline"])
    for chart in CHARTS:
        harness.check(chart in dom.svgs, f"no <svg id={chart}> in the rendered page")
    rate = dom.svgs["chart-rate"]
    harness.check({"s-attempted", "s-accepted", "s-received"} <= rate["classes"], f"rate chart series: {rate}")
    harness.check(rate["polylines"][:3] == [rows, rows, rows],
                  f"rate chart: one point a second ({rows} rows), got {rate['polylines']}")
    with_latency = sum(1 for r in data["timeline"] if r["message_count"] > 0)
    lat = dom.svgs["chart-latency"]
    harness.check({"s-p50", "s-p99"} <= lat["classes"] and sum(lat["polylines"]) == 2 * with_latency,
                  f"latency chart: p50 and p99 for the {with_latency} seconds with messages, got {lat}")
    harness.check({"s-errors", "s-4xx", "s-5xx"} <= dom.svgs["chart-errors"]["classes"], "errors chart series")
    harness.check("s-sessions" in dom.svgs["chart-sessions"]["classes"], "sessions chart series")
    phases = [p for p, v in data["latency_ms"].items() if v]
    harness.check("phase" in dom.svgs["chart-phases"]["classes"], "phase chart rows")
    for phase in phases:
        dom.num(f"{phase}.p99", "latency", phase)      # one table row per measured phase


def check_numbers(dom, data):
    t = data["totals"]
    for key in ("messages_accepted", "messages_rejected", "errors"):
        harness.check(int(dom.num(key, "headline")) == t[key], f"headline {key}: {dom.num(key, 'headline')} vs {t[key]}")
    harness.check(int(dom.num("lost", "headline")) == t["lost"], "headline lost")
    harness.check(dom.num("duration_s", "headline") == f"{data['duration_s']:.3f}", "headline duration")
    harness.check(dom.num("rate_msgs_per_s", "headline") == f"{t['rate_msgs_per_s']:.3f}", "headline rate")
    peak = max(r["accepted"] for r in data["timeline"])
    harness.check(int(dom.num("peak_msgs_per_s", "headline")) == peak, f"peak {peak}")
    for phase, v in data["latency_ms"].items():
        if v is None:
            continue
        for p in ("p50", "p90", "p99", "p999", "max"):
            harness.check(dom.num(f"{phase}.{p}", "latency", phase) == f"{v[p]:.3f}",
                          f"latency {phase} {p}: page {dom.num(f'{phase}.{p}', 'latency', phase)} json {v[p]}")
        harness.check(int(dom.num(f"{phase}.count", "latency", phase)) == v["count"], f"{phase} count")
    for a in data["agents"]:
        for key in ("messages_planned", "messages_accepted", "messages_rejected", "errors", "sink_received"):
            harness.check(int(dom.num(key, "agents", a["id"])) == a[key], f"agent {a['id']} {key}")
    for s in data["sinks"]:
        harness.check(int(dom.num("received", "sinks", s["id"])) == s["received"], f"sink {s['id']}")
    for code, count in data["replies"].items():
        harness.check(int(dom.num(code, "replies", code)) == count, f"replies {code}")
    for kind, count in data["errors_by_kind"].items():
        harness.check(int(dom.num(kind, "errors", kind)) == count, f"errors {kind}")


def check_thresholds(dom, data, verdict):
    rows = dom.tables.get("thresholds", [])[1:]       # after the header
    harness.check(len(rows) == len(data["thresholds"]), f"threshold rows {len(rows)}")
    for (cells, attrs), t in zip(rows, data["thresholds"]):
        harness.check(t["expr"] in cells, f"threshold {t['expr']} not in its row {cells}")
        harness.check(attrs.get("data-ok") == ("true" if t["ok"] else "false"), f"threshold {t['expr']} verdict")
    text = "".join(dom.text)
    harness.check(verdict in text, f"no {verdict} line")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    harness.check(head[:8] == b"\x89PNG\r\n\x1a\n", "the screenshot is not a PNG")
    return struct.unpack(">II", head[16:24])


def test_failing_thresholds_page(tmp):
    done, data, page, text = run_campaign(
        tmp, "fail", "--speed 80 --reject-every 100", "-m", "2400", "-s", "6", "-S", HOSTILE_SUBJECT,
        "--threshold", "p99(message)<1s", "--threshold", "rejected<=1%", "--threshold", "lost==0",
        "--threshold", "rate(accepted)>1000000/s")
    harness.check(done.returncode == 7, f"a failed threshold exits 7, got {done.returncode}")
    harness.check([t["ok"] for t in data["thresholds"]] == [True, True, True, False], f"{data['thresholds']}")
    harness.check(b"thresholds: FAIL (3 of 4 held)" in done.stdout, "the summary says which held")
    harness.check(data["totals"]["messages_rejected"] == 24 and data["replies"].get("550") == 24, "rejections")
    check_self_contained(text)
    harness.check("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in text,
                  "the subject from the command line is escaped")
    dom = Dom()
    dom.feed(chromium(tmp, "--dump-dom", "file://" + page))
    harness.check(dom.scripts == 0, "the rendered page has a script element: text was not escaped")
    harness.check(HOSTILE_SUBJECT in "".join(dom.text), "the subject shows as text")
    check_charts(dom, data)
    check_numbers(dom, data)
    check_thresholds(dom, data, "FAIL")
    harness.check(sum(r["replies_5xx"] for r in data["timeline"]) == 24, "5xx replies over time add up")

    os.makedirs(ARTEFACTS, exist_ok=True)
    shot = os.path.join(ARTEFACTS, "report.png")
    if os.path.exists(shot):
        os.unlink(shot)
    chromium(tmp, f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars", "file://" + page)
    harness.check(os.path.exists(shot) and os.path.getsize(shot) > 20000, "no screenshot")
    harness.check(png_size(shot) == (1280, 2400), f"screenshot size {png_size(shot)}")
    for name in ("report.html", "report.json"):
        shutil.copy(os.path.join(tmp, "fail." + name.split(".")[1]), os.path.join(ARTEFACTS, name))
    print(f"artefacts: {ARTEFACTS}/report.png report.html report.json")


def test_passing_thresholds_page(tmp):
    done, data, page, text = run_campaign(tmp, "pass", "--reject-every 50", "-m", "300",
                                          "--threshold", "rejected<5%", "--threshold", "p99(delivery)<10s")
    harness.check(done.returncode == 0, f"thresholds held: exit 0 despite rejections, got {done.returncode}")
    harness.check(b"thresholds: PASS (2 of 2 held)" in done.stdout, "the summary says PASS")
    dom = Dom()
    dom.feed(chromium(tmp, "--dump-dom", "file://" + page))
    check_thresholds(dom, data, "PASS")
    check_numbers(dom, data)


def main():
    if not os.access(CHROMIUM, os.X_OK):
        print(f"skip: {CHROMIUM} missing; install Debian's chromium (scripts/install-deps)", file=sys.stderr)
        sys.exit(harness.SKIP)
    harness.check(os.access(SIM, os.X_OK), f"{SIM} not built")
    for test in (test_failing_thresholds_page, test_passing_thresholds_page):
        with tempfile.TemporaryDirectory(prefix="smtpstorm-report-") as tmp:
            print(f"=== {test.__name__}", flush=True)
            test(tmp)
    print("ok")


if __name__ == "__main__":
    main()
