"""test_web - smtpstorm run --web: the live page and its API on real
--local campaigns (agents and a sink on loopback).

/api/live fetched twice a few seconds apart (accepted grows); headless
Chromium (Debian's, no network beyond loopback) renders the page twice
(different accepted counts, the agents' table) and once the campaign is
over (the final figures equal the --json report's totals); a hostile
subject stays text; POST /api/stop ends a long campaign, which still
drains and reconciles (lost 0); a non-loopback --web without --web-token
is refused (exit 2); with a token, requests without it get 401. The
browser parts skip when /usr/bin/chromium is missing. Timing bounds are
generous; processes are stopped by pid.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import harness

COORD = harness.program("smtpstorm")
CHROMIUM = "/usr/bin/chromium"
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
ARTEFACTS = os.path.join(harness.BUILD, "tests", "coordinator", "web")


def env():
    return dict(os.environ)


def get(url, token=None, method="GET", headers=None):
    """(status, body) of one request; a POST carries the page's Stop header
    unless headers say otherwise."""
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    for name, value in (headers if headers is not None else
                        {"X-Smtpstorm-Stop": "1"} if method == "POST" else {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def live(port, token=None):
    status, body = get(f"http://127.0.0.1:{port}/api/live", token)
    harness.check(status == 200, f"/api/live: {status} {body}")
    return json.loads(body)


def start(procs, tmp, name, port, *args):
    report = os.path.join(tmp, name + ".json")
    argv = [COORD, "run", "--local", "1", "--rate", "200", "--wait", "30s", "--json", report, "--quiet",
            "--web", f"127.0.0.1:{port}", *args]
    p = procs.start(argv, env=env())
    harness.wait_port(port, proc=p, timeout=20)
    return p, report


def wait_accepting(port, token=None):
    harness.wait_for(lambda: live(port, token).get("totals", {}).get("messages_accepted", 0) > 0,
                     timeout=30, what="messages accepted")


def finish(p, name, timeout=90):
    out, err = p.communicate(timeout=timeout)
    sys.stdout.write(f"--- {name}: exit {p.returncode}\n{out.decode()}{err.decode()}\n")
    return p.returncode


def chromium(tmp, *args):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=tmp)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args]
    done = subprocess.run(argv, capture_output=True, timeout=120)
    harness.check(done.returncode == 0, f"chromium exit {done.returncode}: {done.stderr.decode()[-2000:]}")
    return done.stdout.decode()


def dom_value(dom, key):
    m = re.search(r'data-key="' + key + r'">([^<]*)<', dom)
    harness.check(m is not None, f"no {key} in the rendered page")
    return m.group(1)


def check_page(dom):
    harness.check('data-agent="local-a1"' in dom, "the agents' table has no local-a1 row")
    harness.check('data-sink="local-sink"' in dom, "the sinks' table has no local-sink row")
    harness.check(dom.count("<script") == 1, "a <script> element besides the page's own: text was not escaped")
    harness.check("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in dom,
                  "the hostile subject is not shown as text")
    harness.check('class="series-accepted"' in dom, "no accepted series in the chart")


def test_live_page(tmp):
    port = harness.free_port()
    browser = os.access(CHROMIUM, os.X_OK)
    os.makedirs(ARTEFACTS, exist_ok=True)
    with harness.Procs() as procs:
        p, report = start(procs, tmp, "live", port, "--duration", "20s", "--web-linger", "60s", "-S", HOSTILE)
        wait_accepting(port)
        first = live(port)
        time.sleep(3)
        second = live(port)
        harness.check(second["totals"]["messages_accepted"] > first["totals"]["messages_accepted"],
                      f"accepted did not grow: {first['totals']} then {second['totals']}")
        harness.check(first["subject"] == HOSTILE and second["state"] == "running", f"document: {second}")
        # The live backlog and rate are those of one second by event time,
        # the last every peer has reported past: the timeline's own rows.
        at, rows = second["totals"]["backlog_at_s"], {r["t"]: r for r in second["timeline"]}
        harness.check(at >= 1 and at in rows, f"backlog_at_s {at}: {second['timeline']}")
        harness.check(second["totals"]["backlog"] == sum(r["accepted"] - r["received"]
                                                          for t, r in rows.items() if t <= at)
                      and second["rate_msgs_per_s"] == rows[at]["accepted"],
                      f"live backlog/rate not the timeline's at {at} s: {second['totals']}, "
                      f"{second['rate_msgs_per_s']}, {second['timeline']}")
        harness.check([a["id"] for a in second["agents"]] == ["local-a1"], f"agents: {second['agents']}")
        url = f"http://127.0.0.1:{port}/"
        if browser:
            one = chromium(tmp, "--dump-dom", url)
            chromium(tmp, f"--screenshot={os.path.join(ARTEFACTS, 'live-1.png')}", "--window-size=1200,900", url)
            time.sleep(3)
            two = chromium(tmp, "--dump-dom", url)
            chromium(tmp, f"--screenshot={os.path.join(ARTEFACTS, 'live-2.png')}", "--window-size=1200,900", url)
            check_page(one)
            check_page(two)
            harness.check(dom_value(one, "messages_accepted") != dom_value(two, "messages_accepted"),
                          "the page showed the same accepted count twice")
        harness.wait_for(lambda: live(port).get("final"), timeout=90, what="the final document")
        final = live(port)
        with open(report) as f:
            data = json.load(f)
        harness.check(final["totals"] == data["totals"], f"final {final['totals']} != report {data['totals']}")
        harness.check(final["exit_code"] == data["exit_code"] == 0, f"exit codes {final['exit_code']}")
        if browser:
            dom = chromium(tmp, "--dump-dom", url)
            check_page(dom)
            harness.check(dom_value(dom, "messages_accepted") == str(data["totals"]["messages_accepted"]),
                          "the final page's accepted is not the report's")
            harness.check(dom_value(dom, "lost") == str(data["totals"]["lost"]), "final lost differs")
        status, _ = get(f"http://127.0.0.1:{port}/api/stop", method="POST")    # ends the linger
        harness.check(status == 202, f"stop during linger: {status}")
        harness.check(finish(p, "live", timeout=30) == 0, "the live campaign failed")


def test_stop(tmp):
    port = harness.free_port()
    with harness.Procs() as procs:
        p, report = start(procs, tmp, "stop", port, "--duration", "120s", "--web-linger", "0s")
        wait_accepting(port)
        # another site's page: a plain cross-site POST (no Stop header), a rebound name
        status, _ = get(f"http://127.0.0.1:{port}/api/stop", method="POST", headers={})
        harness.check(status == 403, f"POST /api/stop without the page's header: {status}")
        status, _ = get(f"http://127.0.0.1:{port}/api/live", headers={"Host": f"attacker.example:{port}"})
        harness.check(status == 403, f"a request naming another host: {status}")
        harness.check(p.poll() is None, "the campaign stopped on a refused request")
        status, body = get(f"http://127.0.0.1:{port}/api/stop", method="POST")
        harness.check(status == 202, f"POST /api/stop: {status} {body}")
        began = time.monotonic()
        code = finish(p, "stop", timeout=60)
        harness.check(time.monotonic() - began < 45, "the campaign did not stop within seconds")
        harness.check(code == 130, f"stopped from the page: exit {code}, expected 130 as on Ctrl-C")
        with open(report) as f:
            data = json.load(f)
        t = data["totals"]
        harness.check(t["lost"] == 0 and t["sink_received"] == t["messages_accepted"] > 0, f"not reconciled: {t}")
        harness.check(data["duration_s"] < 100, f"ran {data['duration_s']} s of 120")


def test_non_loopback_needs_token(tmp):
    done = harness.run([COORD, "run", "--local", "1", "-m", "1", "--web", "0.0.0.0:0"], env=env())
    harness.check(done.returncode == 2, f"--web 0.0.0.0 without a token: exit {done.returncode}")
    harness.check(b"--web-token" in done.stderr, f"no hint at --web-token: {done.stderr!r}")


def test_token(tmp):
    port = harness.free_port()
    with harness.Procs() as procs:
        p, report = start(procs, tmp, "token", port, "--duration", "120s", "--web-linger", "0s",
                          "--web-token", "s3cret")
        base = f"http://127.0.0.1:{port}"
        for path in ("/", "/api/live"):
            harness.check(get(base + path)[0] == 401, f"{path} without the token")
            harness.check(get(base + path, token="wrong")[0] == 401, f"{path} with a wrong token")
            harness.check(get(base + path, token="s3cret")[0] == 200, f"{path} with the token")
        harness.check(get(base + "/api/live?token=s3cret")[0] == 200, "?token= refused")
        harness.check(get(base + "/api/stop", method="POST")[0] == 401, "stop without the token")
        wait_accepting(port, token="s3cret")
        harness.check(get(base + "/api/stop", token="s3cret", method="POST")[0] == 202, "stop with the token")
        harness.check(finish(p, "token", timeout=60) == 130, "stopped with the token")


def main():
    harness.run_tests([test_non_loopback_needs_token, test_token, test_stop, test_live_page], "smtpstorm-web-")


if __name__ == "__main__":
    main()
