"""test_compare - smtpstorm compare on reports of real campaigns, and --junit.

Two small local campaigns (smtpstorm run --local 1, the real agent and
sink over loopback) write --json; run's --junit is parsed with
xml.etree. Copies of a report edited here stand for a slower campaign
(latency and rate changed by known factors), so that no assertion depends
on timing: a regression beyond a threshold exits 7, an improvement exits
0, reports of another version or with other phases, and files that are
no report, exit 2 with a message naming what differs. The JUnit files
hold one testcase per threshold and a failure, with the measured value
and the limit, for each that failed. The --html page is self-contained
and escapes the reports' text.
"""

import copy
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

import harness

COORD = harness.program("smtpstorm")
HOSTILE = '<script>alert("x")</script>&'


def campaign(tmp, name, *extra):
    report, junit = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".xml")
    done, data = harness.run_campaign([COORD, "run", "--local", "1", "-m", "2000", "-s", "5", "--quiet",
                                       "--wait", "20s", "--json", report, "--junit", junit, *extra],
                                      report, name, timeout=120)
    harness.check(data is not None, f"{name}: no report written")
    return done, data, report, junit


def write(tmp, name, data):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(data, f)
    return path


def compare(*args):
    done = harness.run([COORD, "compare", *args], timeout=60)
    sys.stdout.write(f"--- compare {' '.join(args)}: exit {done.returncode}\n{done.stdout.decode()}"
                     f"{done.stderr.decode()}\n")
    return done


def junit_cases(path):
    """{testcase name: failure message or None} and the suite's counts."""
    root = ET.parse(path).getroot()
    harness.check(root.tag == "testsuites", f"{path}: root is {root.tag}")
    suite = root.find("testsuite")
    cases = {}
    for case in suite.findall("testcase"):
        failure = case.find("failure")
        cases[case.get("name")] = None if failure is None else failure.get("message")
    harness.check(int(suite.get("tests")) == len(cases), f"{path}: tests= says {suite.get('tests')}")
    harness.check(int(suite.get("failures")) == sum(1 for m in cases.values() if m is not None),
                  f"{path}: failures= disagrees with the testcases")
    return cases


def slower(data, factor):
    """A copy of data whose latencies are factor times and rates 1/factor times the original's."""
    out = copy.deepcopy(data)
    for values in out["latency_ms"].values():
        for key in ("p50", "p90", "p99", "p999", "max", "mean"):
            if values and values.get(key) is not None:
                values[key] *= factor
    out["totals"]["rate_msgs_per_s"] /= factor
    out["duration_s"] *= factor
    return out


def test_run_junit(tmp, base_run):
    done, data, _, junit = base_run
    harness.check(done.returncode == 7, f"run with an impossible threshold: exit {done.returncode}, expected 7")
    cases = junit_cases(junit)
    harness.check(set(cases) == {"errors==0", "p99(message)<0.000001ms"}, f"run's testcases: {cases}")
    harness.check(cases["errors==0"] is None, f"errors==0 failed: {cases}")
    message = cases["p99(message)<0.000001ms"]
    p99 = data["latency_ms"]["message"]["p99"]
    harness.check(message is not None and message.startswith("measured ") and "limit <1e-06ms" in message,
                  f"failure message: {message!r}")
    measured = float(re.match(r"measured ([0-9.e+-]+)ms", message).group(1))
    harness.check(abs(measured - p99) <= 0.001 + 1e-6 * p99, f"measured {measured} against the report's p99 {p99}")


def test_regression_exits_7(tmp, base, slow):
    junit, page = os.path.join(tmp, "regress.xml"), os.path.join(tmp, "regress.html")
    done = compare(base, slow, "--threshold", "p99(message)<+10%", "--threshold", "rate>-5%",
                   "--threshold", "errors==0", "--junit", junit, "--html", page)
    harness.check(done.returncode == 7, f"a 50% slower report: exit {done.returncode}, expected 7")
    out = done.stdout.decode()
    harness.check(re.search(r"message p99 .* \+50\.0%", out), "the table shows message p99 +50.0%")
    harness.check(re.search(r"rate_msgs_per_s .* -33\.3%", out), "the table shows the rate -33.3%")
    cases = junit_cases(junit)
    harness.check(cases["p99(message)<+10%"] == "change +50.00%, limit <+10%", f"p99 failure: {cases}")
    harness.check(cases["rate>-5%"] == "change -33.33%, limit >-5%", f"rate failure: {cases}")
    harness.check(cases["errors==0"] is None, f"errors==0 on the new report: {cases}")


def test_improvement_exits_0(tmp, base, slow):
    junit = os.path.join(tmp, "improve.xml")
    done = compare(slow, base, "--threshold", "p99(message)<+10%", "--threshold", "rate>-5%", "--junit", junit)
    harness.check(done.returncode == 0, f"a faster report: exit {done.returncode}, expected 0")
    cases = junit_cases(junit)
    harness.check(set(cases) == {"p99(message)<+10%", "rate>-5%"} and all(m is None for m in cases.values()),
                  f"improvement testcases: {cases}")


def test_two_real_campaigns(tmp, base, other):
    done = compare(base, other, "--threshold", "accepted<=+0%", "--threshold", "accepted>=+0%",
                   "--threshold", "lost==0")
    harness.check(done.returncode == 0, f"two campaigns of 2000 messages: exit {done.returncode}, expected 0")
    out = done.stdout.decode()
    for row in ("messages_accepted", "rate_msgs_per_s", "message p99", "delivery p99", "connect p50"):
        harness.check(row in out, f"no row {row} in the comparison")


def test_bad_input_exits_2(tmp, data, base):
    other_version = write(tmp, "v2", dict(data, version=data["version"] + 1))
    two = write(tmp, "two-phases", dict(data, phases=[{"index": 0, "name": "ramp"}, {"index": 1, "name": "steady"}]))
    soak = write(tmp, "soak", dict(data, phases=[{"index": 0, "name": "ramp"}, {"index": 1, "name": "soak"}]))
    no_report = write(tmp, "not-a-report", {"hello": "world"})
    garbage = os.path.join(tmp, "garbage.json")
    with open(garbage, "w") as f:
        f.write('{"version": 1,')
    cases = [
        ((base, other_version), ["different versions", base, other_version]),
        ((base, two), ["different phases", "has 0", "has 2", "'ramp', 'steady'"]),
        ((two, soak), ["different phases", "'steady' is not in", soak]),
        ((base, no_report), [no_report, "is not a smtpstorm report"]),
        ((base, garbage), [garbage, "not JSON", "line 1"]),
        ((base, os.path.join(tmp, "missing.json")), ["cannot read", "missing.json"]),
        ((base,), ["two reports"]),
        (("--threshold", "p99(message)<+10ms", base, base), ["a change"]),
        (("--threshold", "steady:rate>-5%", base, base), ["no campaign phase named 'steady'"]),
    ]
    for args, words in cases:
        done = compare(*args)
        err = done.stderr.decode()
        harness.check(done.returncode == 2, f"compare {args}: exit {done.returncode}, expected 2")
        for word in words:
            harness.check(word in err, f"compare {args}: {word!r} not in {err!r}")
    done = compare("--threshold", "steady:rate>-5%", two, two)
    harness.check(done.returncode == 7, f"a phase without values: not measured, exit {done.returncode}")


def test_phase_backlog_growth(tmp, data):
    """A phase's backlog_growth is read from the report's backlog_growth_per_s."""
    def with_growth(growth):
        return dict(data, phases=[{"index": 0, "name": "steady", "backlog_growth_per_s": growth}])
    base, worse = write(tmp, "growth-1", with_growth(1.0)), write(tmp, "growth-5", with_growth(5.0))
    for args, want in ((("--threshold", "steady:backlog_growth<+10%", base, worse), 7),
                       (("--threshold", "steady:backlog_growth<+10%", worse, base), 0),
                       (("--threshold", "steady:backlog_growth<2/s", worse, base), 0),
                       (("--threshold", "steady:backlog_growth<2/s", base, worse), 7)):
        done = compare(*args)
        harness.check(done.returncode == want, f"compare {args}: exit {done.returncode}, expected {want}")


def test_html_self_contained_and_escaped(tmp, data, slow_data):
    new = write(tmp, "hostile-new", dict(slow_data, phases=[], campaign="new" + HOSTILE))
    base = write(tmp, "hostile-base", dict(data, phases=[], campaign=HOSTILE))
    page = os.path.join(tmp, "page.html")
    done = compare(base, new, "--html", page, "--threshold", "p99(message)<+10%")
    harness.check(done.returncode == 7, f"exit {done.returncode}")
    with open(page) as f:
        text = f.read()
    for pattern in (r"<script", r"<link", r"<img", r"<iframe", r"url\(", r"@import", r"src=", r"href="):
        harness.check(not re.search(pattern, text, re.I), f"the page refers to something or is not escaped: {pattern}")
    harness.check("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in text, "the campaign name escaped")
    harness.check('data-key="message p99"' in text and "+50.0%" in text, "the message p99 row and its change")
    harness.check("FAIL: 1 of 1 thresholds failed" in text, "the verdict")


def main():
    import tempfile

    with tempfile.TemporaryDirectory(prefix="compare-") as tmp:
        sys.stdout.write("=== campaigns\n")
        base_run = campaign(tmp, "base", "--threshold", "errors==0", "--threshold", "p99(message)<0.000001ms")
        other_run = campaign(tmp, "other")
        data, base = base_run[1], base_run[2]
        harness.check(data["latency_ms"]["message"] and data["totals"]["rate_msgs_per_s"] > 0,
                      "the base campaign measured messages")
        slow_data = slower(data, 1.5)
        slow = write(tmp, "slow", slow_data)
        for name, test in (("test_run_junit", lambda: test_run_junit(tmp, base_run)),
                           ("test_regression_exits_7", lambda: test_regression_exits_7(tmp, base, slow)),
                           ("test_improvement_exits_0", lambda: test_improvement_exits_0(tmp, base, slow)),
                           ("test_two_real_campaigns", lambda: test_two_real_campaigns(tmp, base, other_run[2])),
                           ("test_bad_input_exits_2", lambda: test_bad_input_exits_2(tmp, data, base)),
                           ("test_phase_backlog_growth", lambda: test_phase_backlog_growth(tmp, data)),
                           ("test_html_self_contained_and_escaped",
                            lambda: test_html_self_contained_and_escaped(tmp, data, slow_data))):
            sys.stdout.write(f"=== {name}\n")
            test()
    print("ok")


if __name__ == "__main__":
    main()
