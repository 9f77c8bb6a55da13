"""A campaign in phases with the real programs (`smtpstorm run --local 1`):
a 4 s ramp to 200 msg/s, 2 s steady at 200, then a 1 s spike to 8 sessions
at 400 msg/s, sessions kept (-d). Every message planned is sent and
counted by the sink (25+75+125+175 in the ramp's one-second steps, 400
steady, 400 in the spike: 1200), and the sessions are opened once per
session count: 4 for the ramp and the steady phase (the ramp's steps and
the next phase at the same session count run on the same connections),
8 for the spike, 12 in all. (Before, every step of a ramp closed and
reopened every session: 28 connections here, and a connection storm at
the server under test every second of a ramp.)

Results per phase: a named ramp, steady and spike campaign straight into
the sink: the phases' counts sum to the totals, each phase's achieved rate
is within 1% of its plan, and thresholds scoped to one phase are judged on
it alone (the JSON, the CSV's phase column and the summary agree); with
--warmup 3s the ramp is out of the headline latency and rates but in the
totals, and the report says so."""

import csv
import os
import sys

import harness

COORD = harness.program("smtpstorm")

CAMPAIGN = """\
sessions: 4
reuse_session: true
phases:
  - {kind: ramp, rate: 200, duration: 4s}
  - {kind: steady, rate: 200, duration: 2s}
  - {kind: spike, sessions: 8, rate: 400, duration: 1s}
"""


def test_ramp_keeps_its_sessions(tmp):
    path = os.path.join(tmp, "phases.yaml")
    with open(path, "w") as f:
        f.write(CAMPAIGN)
    report = os.path.join(tmp, "phases.json")
    done, data = harness.run_campaign([COORD, "run", "--local", "1", "--campaign", path, "--json", report],
                                      report, "phases", timeout=120)
    harness.check(done.returncode == 0, f"exit {done.returncode}")
    totals = data["totals"]
    harness.check(totals["messages_accepted"] == 1200 and totals["sink_received"] == 1200,
                  f"1200 planned, sent and counted: {totals}")
    harness.check(totals["sessions"] == 12, f"sessions opened {totals['sessions']}, want 4 + 8")
    harness.check(data["latency_ms"]["connect"]["count"] == 12, "one connect per session")
    harness.check(max(r["sessions_active"] for r in data["timeline"]) <= 8, "never more than 8 at once")


NAMED = """\
sessions: 10
reuse_session: true
phases:
  - {name: warm, kind: ramp, rate: 400, duration: 3s}
  - {name: plateau, kind: steady, rate: 400, duration: 4s}
  - {kind: spike, rate: 800, duration: 2s}
"""


def test_results_per_phase(tmp):
    path = os.path.join(tmp, "named.yaml")
    with open(path, "w") as f:
        f.write(NAMED)
    report, csv_path = os.path.join(tmp, "named.json"), os.path.join(tmp, "named.csv")
    done, data = harness.run_campaign([COORD, "run", "--local", "2", "--campaign", path, "--json", report,
                                       "--csv", csv_path, "--warmup", "3s",
                                       "--threshold", "plateau:rate(accepted)>390/s",
                                       "--threshold", "spike:rate(accepted)<700/s"],
                                      report, "named phases", timeout=120)
    harness.check(done.returncode == 7, f"exit {done.returncode}: the spike threshold must fail alone")
    verdicts = {v["expr"]: v["ok"] for v in data["thresholds"]}
    harness.check(verdicts == {"plateau:rate(accepted)>390/s": True, "spike:rate(accepted)<700/s": False},
                  f"verdicts {data['thresholds']}")
    phases, totals = data["phases"], data["totals"]
    harness.check([p["name"] for p in phases] == ["warm", "plateau", "spike"], f"names {phases}")
    harness.check([p["kind"] for p in phases] == ["ramp", "steady", "spike"], f"kinds {phases}")
    for key, total in (("accepted", "messages_accepted"), ("attempted", "messages_attempted"),
                       ("received", "sink_received"), ("errors", "errors")):
        harness.check(sum(p[key] for p in phases) == totals[total], f"phases' {key} do not sum to {totals}")
    for p, plan, start, end in zip(phases, (200, 400, 800), (0, 3, 7), (3, 7, 9)):
        harness.check(p["start_s"] == start and p["end_s"] == end, f"{p['name']}: span {p}")
        harness.check(p["planned_rate_msgs_per_s"] == plan, f"{p['name']}: planned {p}")
        harness.check(abs(p["rate_msgs_per_s"] - plan) <= 0.01 * plan, f"{p['name']}: achieved {p}")
        harness.check(p["message_count"] == p["accepted"] and p["message_p50_ms"] is not None,
                      f"{p['name']}: latency {p}")
        harness.check(p["backlog_end"] is not None and abs(p["backlog_end"]) <= 10, f"{p['name']}: backlog {p}")
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    for p in phases:
        got = sum(int(r["accepted"]) for r in rows if r["phase"] == p["name"])
        harness.check(got == p["accepted"], f"CSV rows of {p['name']}: {got}, JSON {p['accepted']}")
    out = done.stdout.decode()
    harness.check("campaign phase" in out and "plateau" in out, f"the summary's phases:\n{out}")
    warm = data["warmup"]
    harness.check(warm is not None and warm["seconds"] == 3 and warm["accepted"] == phases[0]["accepted"],
                  f"warmup {warm}, ramp {phases[0]}")
    harness.check(data["latency_ms"]["message"]["count"] == totals["messages_accepted"] - warm["accepted"],
                  f"the headline latency holds the warmup: {data['latency_ms']['message']}")
    after = totals["messages_accepted"] - warm["accepted"]
    harness.check(abs(data["injection"]["rate_msgs_per_s"] - after / 6) <= 0.01 * after / 6,
                  f"injection rate after the warmup: {data['injection']}")
    harness.check("warmup: the first 3 s" in out, f"the summary says what was excluded:\n{out}")


def main():
    harness.run_tests([test_ramp_keeps_its_sessions, test_results_per_phase], "phases.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
