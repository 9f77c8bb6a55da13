"""A campaign in phases with the real programs (`smtpstorm run --local 1`):
a 4 s ramp to 200 msg/s, 2 s steady at 200, then a 1 s spike to 8 sessions
at 400 msg/s, sessions kept (-d). Every message planned is sent and
counted by the sink (25+75+125+175 in the ramp's one-second steps, 400
steady, 400 in the spike: 1200), and the sessions are opened once per
session count: 4 for the ramp and the steady phase (the ramp's steps and
the next phase at the same session count run on the same connections),
8 for the spike, 12 in all. (Before, every step of a ramp closed and
reopened every session: 28 connections here, and a connection storm at
the server under test every second of a ramp.)"""

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


def main():
    harness.run_tests([test_ramp_keeps_its_sessions], "phases.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
