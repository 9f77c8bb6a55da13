#!/usr/bin/python3
"""test_postfix_capacity - smtpstorm capacity through a real MTA: a
throwaway Postfix (scripts/postfix-instance) relaying to one
smtpstorm-sink --coordinator that serves 10 sessions at once and answers
DATA after 1 s (-m 10 -w 1: it takes at most 10 messages a second, so
the instance's queue grows above that), the agent with --local 1.

The search comes from a campaign file's capacity: section (the target
too), one key overridden on the command line: it finds a capacity limited
by 'backlog_growth<3/s' (Postfix keeping up with what it accepts), prints
it with its table of steps, and every step's mail reconciles on its own
(each step drained, lost 0 in each step of the JSON). Bounded: about ten
steps of 2 s + 4 s and their drains, about a minute. Suite 'mta'; root only;
loopback only."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mta      # noqa: E402

SINK = harness.program("smtpstorm-sink")
COORD = harness.program("smtpstorm")
SINK_RATE = 10          # -m 10 -w 1: messages a second at most
check = harness.check

CAMPAIGN = """name: postfix-capacity
targets: [127.0.0.1:{port}]
size: 2k
capacity:
  slo:
    - backlog_growth<3/s
  start: 8
  max: 1000
  factor: 2
  resolution: 20%
  step: 4s
  settle: 2s
"""


def test_capacity_through_postfix(tmp):
    snk = f"tcp://127.0.0.1:{harness.free_port()}"
    report, smtpd = os.path.join(tmp, "capacity.json"), harness.free_port()
    campaign = os.path.join(tmp, "capacity.yaml")
    with open(campaign, "w") as f:
        f.write(CAMPAIGN.format(port=smtpd))
    with harness.Procs() as procs:
        port = harness.free_port()
        harness.wait_port(port, proc=procs.start([SINK, "-u", "nobody", "--coordinator", snk, "--id", "sink-1",
                                                  "-m", "10", "-w", "1", f"127.0.0.1:{port}", "256"]))
        with mta.Instance(smtpd, relays=[f"127.0.0.1:{port}"]) as pf:
            t0 = time.monotonic()
            done = harness.run([COORD, "capacity", "--campaign", campaign, "--max", "64", "--local", "1",
                                "--sinks", "1", "--sink-bind", snk, "--wait", "20s", "--drain", "30s",
                                "--drain-quiet", "0", "--json", report], timeout=150)
            out = done.stdout.decode()
            print(f"--- exit {done.returncode} in {time.monotonic() - t0:.1f}s\n{out}{done.stderr.decode()}")
            check(pf.queue_empty(), f"Postfix's queue not empty after the search:\n{pf.queue_listing()[-2000:]}")
    check(done.returncode == 0, f"exit {done.returncode}")
    with open(report) as f:
        cap = json.load(f)["capacity"]
    check(cap["end"] == "found" and cap["limited_by"] == "backlog_growth<3/s", f"{cap['end']} {cap['limited_by']}")
    check(cap["max"] == 64 and cap["resolution"] == 20 and cap["step_s"] == 4, f"the file and --max: {cap}")
    check(SINK_RATE / 2 <= cap["rate"] <= 2 * SINK_RATE, f"capacity {cap['rate']}/s, the sinks take {SINK_RATE}/s")
    check(f"capacity: {cap['rate']:.1f}" in out and "planned/s" in out, "no capacity and table of steps printed")
    check(len(cap["steps"]) >= 3, f"{len(cap['steps'])} steps")
    for s in cap["steps"]:
        check(s["drained"] and s["lost"] == 0 and s["received"] == s["accepted"] > 0,
              f"step {s['index']} at {s['planned_rate']}/s: accepted {s['accepted']}, received {s['received']}, "
              f"lost {s['lost']}, drained {s['drained']}")


def main():
    return mta.run_tests([test_capacity_through_postfix], (SINK, COORD), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
