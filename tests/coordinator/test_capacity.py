"""test_capacity - smtpstorm capacity against targets of known capacity,
real processes on loopback (the agent with --local, smtpstorm-sink, the
test relay), and its usage errors.

- smtpstorm-sink -m 100 -w 1 serves at most 100 sessions at once, each
  answered 1 s after DATA (the rest wait in the listen queue): at most 100
  messages a second. Above it the wait grows by (rate - 100) / 100 s per
  second: with 'p99(message)<1250ms' over 1 s of settle and a 4 s window,
  a step fails from about 105/s, and the search (from 80, by 1.25, to 5%)
  finds 100 +- 10%, limited by that objective, in about 6 steps.
- holdrelay with RATE 300 accepts at once and forwards at most 300 a
  second to a sink that counts for the coordinator: with
  'backlog_growth<20/s' (the growth is the excess rate, read off the sinks'
  counts, exact enough over 3 s) the search from 250 finds 300 +- 10%, and
  every step's mail reconciles (lost == 0).
- smtpstorm-sink -w 3 answers DATA 3 s late: with 'p99(message)<1s' even
  the start rate fails, and the search ends at once with exit 8, no
  capacity (end start_failed, rate null) and the failed objective named.
- Bad objectives, --start above --max, no TARGET, no --slo: exit 2 with a
  message saying what is wrong.
Generous bounds only: no timing is asserted beyond the capacity's +-10%.
"""

import json
import os
import re
import sys

import harness

COORD, SINK = harness.program("smtpstorm"), harness.program("smtpstorm-sink")
USER = ["-u", "nobody"] if os.geteuid() == 0 else []     # smtp-sink's rule when run as root
RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "holdrelay.py")


def capacity(tmp, name, args, timeout=400):
    report = os.path.join(tmp, name + ".json")
    done, data = harness.run_campaign([COORD, "capacity", "--json", report] + args, report, name, timeout=timeout)
    return done, data


def check_found(done, data, what, low, high, objective):
    """The search ended with a capacity in [low, high] limited by objective."""
    harness.check(done.returncode == 0, f"exit {done.returncode}")
    cap = data["capacity"]
    print(f"capacity of {what}: {cap['rate']:.1f}/s, first bad {cap['first_bad']}, "
          f"limited by {cap['limited_by']}, {len(cap['steps'])} steps")
    harness.check(low <= cap["rate"] <= high, f"capacity {cap['rate']} is not within {low}..{high}")
    harness.check(cap["limited_by"] == objective, f"limited by {cap['limited_by']}")
    return cap


def test_capacity_usage_errors(tmp):
    cases = [
        (["--local", "1", "--slo", "p99(mesage)<2s"], "unknown phase"),
        (["--local", "1", "--slo", "p99(message)<2s", "--start", "500", "--max", "100"], "above --max"),
        (["--slo", "p99(message)<2s"], "no TARGET"),
        (["--local", "1"], "no objective"),
        (["--local", "1", "--slo", "steady:p99(message)<2s"], "drop the 'steady:' scope"),
        (["--local", "1", "--slo", "p99(message)<2s", "--rate", "100"], "drop --rate"),
        (["--local", "1", "--slo", "p99(message)<2s", "--resolution", "0"], "--resolution"),
    ]
    for args, words in cases:
        done = harness.run([COORD, "capacity"] + args, timeout=30)
        err = done.stderr.decode()
        harness.check(done.returncode == 2, f"{args}: exit {done.returncode}, not 2: {err}")
        harness.check(words in err, f"{args}: '{words}' not in {err!r}")
    done = harness.run([COORD, "run", "--local", "1", "--slo", "p99(message)<2s"], timeout=30)
    harness.check(done.returncode == 2 and "smtpstorm capacity" in done.stderr.decode(), "run took --slo")


def test_capacity_none_when_the_start_rate_fails(tmp):
    port = harness.free_port()
    with harness.Procs() as procs:
        sink = procs.start([SINK] + USER + ["-w", "3", f"127.0.0.1:{port}", "256"])
        harness.wait_port(port, proc=sink)
        done, data = capacity(tmp, "none", ["--local", "1", "--slo", "p99(message)<1s", "--start", "5", "--step", "1s",
                                            "--settle", "0", f"127.0.0.1:{port}"], timeout=60)
    cap = data["capacity"]
    out = done.stdout.decode()
    print(out)
    harness.check(done.returncode == 8, f"exit {done.returncode}, not 8")
    harness.check(cap["end"] == "start_failed" and cap["rate"] is None and len(cap["steps"]) == 1, f"{cap}")
    step = cap["steps"][0]
    harness.check(step["verdict"] == "fail" and step["failed"] == "p99(message)<1s"
                  and step["message_p99_ms"] >= 3000, f"step {step}")
    harness.check(data["exit_code"] == 8, f"exit_code {data['exit_code']} in the JSON")
    harness.check("capacity: none: even the start rate 5.0/s failed p99(message)<1s" in out, f"headline: {out}")


def test_capacity_of_a_sink_of_known_capacity(tmp):
    port = harness.free_port()
    with harness.Procs() as procs:
        sink = procs.start([SINK] + USER + ["-m", "100", "-w", "1", f"127.0.0.1:{port}", "4096"])
        harness.wait_port(port, proc=sink)
        done, data = capacity(tmp, "sink", ["--local", "1", "--slo", "p99(message)<1250ms", "--start", "80",
                                            "--max", "400", "--factor", "1.25", "--step", "4s", "--settle", "1s",
                                            "--max-sessions", "1000", f"127.0.0.1:{port}"])
    cap = check_found(done, data, "smtpstorm-sink -m 100 -w 1", 90, 110, "p99(message)<1250ms")
    harness.check(cap["end"] == "found" and cap["resolution"] == 5, f"{cap['end']} {cap['resolution']}")
    harness.check(len(data["phases"]) == len(cap["steps"]), "a phase per step")
    for s in cap["steps"]:
        harness.check(s["verdict"] in ("pass", "fail", "generator"), f"verdict {s['verdict']}")
        harness.check(s["attempted"] > 0 and s["message_p99_ms"] is not None, f"step {s}")
    harness.check("capacity: " in done.stdout.decode() and "planned/s" in done.stdout.decode(), "no table")


def test_capacity_of_a_relay_that_delivers_slowly(tmp):
    sink_port, relay_port, snk_ep = harness.free_port(), harness.free_port(), harness.free_port()
    with harness.Procs() as procs:
        sink = procs.start([SINK] + USER + ["--coordinator", f"tcp://127.0.0.1:{snk_ep}", f"127.0.0.1:{sink_port}", "1000"])
        harness.wait_port(sink_port, proc=sink)
        relay = procs.start([sys.executable, RELAY, str(relay_port), f"127.0.0.1:{sink_port}", "0", "0", "300"])
        harness.wait_port(relay_port, proc=relay)
        html = os.path.join(tmp, "relay.html")
        junit = os.path.join(tmp, "relay.xml")
        done, data = capacity(tmp, "relay", ["--local", "1", "--sinks", "1", "--sink-bind", f"tcp://127.0.0.1:{snk_ep}",
                                             "--slo", "backlog_growth<20/s", "--start", "250", "--max", "1000",
                                             "--factor", "1.25", "--step", "3s", "--settle", "1s", "-d",
                                             "--html", html, "--junit", junit, f"127.0.0.1:{relay_port}"])
    cap = check_found(done, data, "holdrelay RATE 300", 270, 330, "backlog_growth<20/s")
    for s in cap["steps"]:
        harness.check(s["lost"] == 0 or not s["drained"], f"step {s['index']}: lost {s['lost']} after draining")
        harness.check(s["backlog_growth_per_s"] is not None, "no backlog growth")
    page = open(html).read()
    harness.check("capacity-latency" in page and "capacity-backlog" in page, "no chart in the HTML")
    # the x axis is the planned rate: its ticks and tooltips read "300/s", never seconds
    harness.check(re.search(r'class="tick"[^>]*>\d+/s</text>', page) and "<title>rate " in page
                  and "<title>t=" not in page and not re.search(r'class="tick"[^>]*>\d+s</text>', page),
                  "the capacity charts' x axis does not read as a rate")
    harness.check("<testcase" in open(junit).read(), "no testcase in the JUnit file")


if __name__ == "__main__":
    harness.run_tests([test_capacity_usage_errors, test_capacity_none_when_the_start_rate_fails,
                       test_capacity_of_a_sink_of_known_capacity,
                       test_capacity_of_a_relay_that_delivers_slowly], "smtpstorm-capacity-")
