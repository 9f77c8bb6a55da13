"""test_beats - a peer's report stands for its heartbeat (wire version 5),
with the real programs on loopback and the coordinator declaring a peer
lost after 2 s of silence (--heartbeat-timeout 2):

- an idle agent (no campaign: the coordinator waits for a second one)
  still heartbeats on its own: after three of those timeouts of waiting it
  is not lost, and the campaign starts as soon as the second agent says
  hello (a lost one would not be counted: the coordinator would wait out
  --wait and exit 3, since the agents' own dead-man switch, 10 s here,
  would not make it say hello again before);
- while an agent and the sink run the campaign they send no Heartbeat of
  their own (the report's clock.heartbeats), stay alive (no agent or sink
  lost, the campaign reconciles), and their clock offset is still
  estimated from their reports' beats (clock.samples, about one a report;
  an agent whose wall clock runs 3 s ahead is measured 3 s ahead);
- the coordinator beats a peer whose dead-man switch is the default 5 s
  (agent "late", the sink) every 2 s: its switch never fires (the agent
  would log that the coordinator was silent and stop its load);
- with --report-interval 2 the agents report every 2 s and still send no
  Heartbeat of their own in between (their beat waits for the next
  report), are not lost under --heartbeat-timeout 4, and the timeline
  still has a row for every second; an interval over half the timeout,
  or over 4 s, is a usage error."""

import json
import os
import sys
import time

import harness
from clustertest import AGENT, COORD, check, check_reconciled, endpoints, start_sink

COORD_TIMEOUT_S = 2     # the coordinator's --heartbeat-timeout
IDLE_S = 3 * COORD_TIMEOUT_S
DURATION_S = 12
SKEW_S = 3              # agent "ahead"'s wall clock runs this far ahead (libfaketime)


def test_reports_carry_the_beat_and_idle_peers_still_beat(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    report = os.path.join(tmp, "beats.json")
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink-1", port)
        argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                "--wait", f"{IDLE_S + 3}s", "--heartbeat-timeout", str(COORD_TIMEOUT_S), "--drain", "10s",
                "--json", report, "-s", "4", "--rate", "200", "--duration", str(DURATION_S), f"127.0.0.1:{port}"]
        coord = procs.start(argv)
        logs = {ident: open(os.path.join(tmp, ident + ".log"), "w+") for ident in ("ahead", "late")}
        procs.start([AGENT, "--coordinator", ctl, "--id", "ahead", "--heartbeat-timeout", "10"],
                    env=harness.shifted_clock(dict(os.environ), SKEW_S), stderr=logs["ahead"])
        time.sleep(IDLE_S)      # "ahead" idles: only its own Heartbeats say it is there
        check(coord.poll() is None, f"the coordinator ended while waiting: exit {coord.returncode}")
        procs.start([AGENT, "--coordinator", ctl, "--id", "late"], stderr=logs["late"])
        out, err = coord.communicate(timeout=DURATION_S + 60)
        sys.stdout.write(f"--- coordinator: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
        check(coord.returncode == 0, f"exit {coord.returncode}: an idle agent was lost, or a running one")
        check(b"lost" not in err, "a peer was lost")
        for ident, log in logs.items():
            log.seek(0)
            said = log.read()
            check("silent" not in said, f"agent {ident}'s dead-man switch fired: {said}")
    with open(report) as f:
        data = json.load(f)
    check_reconciled(data)
    check(data["report_interval_s"] == 1, f"report_interval_s {data['report_interval_s']}, wanted 1")
    peers = {p["id"]: p for p in data["agents"] + data["sinks"]}
    check(sorted(peers) == ["ahead", "late", "sink-1"], f"peers: {sorted(peers)}")
    for ident, p in peers.items():
        clock = p["clock"]
        sys.stdout.write(f"{ident}: {clock}\n")
        check(not p["missing"], f"{ident} missing")
        # Without reports carrying the beat, one Heartbeat a second: about 12.
        check(clock["heartbeats"] <= 1, f"{ident} sent {clock['heartbeats']} Heartbeats of its own while it reported")
        # About one sample a report after the first (10 of 12 s measured
        # here); none if the reports' beats were not taken.
        check(clock["samples"] >= DURATION_S // 2, f"{ident}: {clock['samples']} clock samples in {DURATION_S} s")
        check(clock["offset_ms"] is not None and 0 <= clock["rtt_ms"] < 100, f"{ident}: no clock: {clock}")
    check(abs(peers["ahead"]["clock"]["offset_ms"] - 1000 * SKEW_S) < 100,
          f"ahead's offset {peers['ahead']['clock']['offset_ms']} ms, wanted about {1000 * SKEW_S}")
    for ident in ("late", "sink-1"):
        check(abs(peers[ident]["clock"]["offset_ms"]) < 100, f"{ident}'s offset {peers[ident]['clock']['offset_ms']} ms")


def test_reports_every_2_s_still_beat_and_keep_every_second(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    report = os.path.join(tmp, "slow.json")
    duration_s, rate = 12, 200
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink-1", port)
        argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                "--heartbeat-timeout", "4", "--report-interval", "2", "--drain", "10s",
                "--json", report, "-s", "4", "--rate", str(rate), "--duration", str(duration_s), f"127.0.0.1:{port}"]
        coord = procs.start(argv)
        for ident in ("a1", "a2"):
            procs.start([AGENT, "--coordinator", ctl, "--id", ident])
        out, err = coord.communicate(timeout=duration_s + 60)
        sys.stdout.write(f"--- coordinator: exit {coord.returncode}\n{out.decode()}{err.decode()}\n")
        check(coord.returncode == 0, f"exit {coord.returncode}")
        check(b"lost" not in err, "a peer was lost")
        check(b"agents report every 2.0 s" in err, "the coordinator did not say how often agents report")
    with open(report) as f:
        data = json.load(f)
    check_reconciled(data)
    check(data["report_interval_s"] == 2, f"report_interval_s {data['report_interval_s']}, wanted 2")
    for a in data["agents"]:
        clock = a["clock"]
        sys.stdout.write(f"{a['id']}: {clock}\n")
        # A beat interval of 1 s between 2 s reports: a Heartbeat between
        # every two, about 6.
        check(clock["heartbeats"] <= 1, f"{a['id']} sent {clock['heartbeats']} Heartbeats between its reports")
        # One sample a report: about 6 in 12 s, where reports every second give 11 or 12.
        check(3 <= clock["samples"] <= duration_s * 3 // 4, f"{a['id']}: {clock['samples']} clock samples "
              f"in {duration_s} s: not one report every 2 s")
    rows = {r["t"]: r for r in data["timeline"]}
    for t in range(1, duration_s + 1):
        check(t in rows and rows[t]["accepted"] > 0, f"second {t} has no accepted row: {data['timeline']}")
    check(sum(r["accepted"] for r in data["timeline"]) == data["totals"]["messages_accepted"],
          f"the timeline's rows do not add up to the total: {data['timeline']}")


def test_report_interval_bounds(_tmp):
    cases = [(["--report-interval", "3", "--heartbeat-timeout", "4"], b"--heartbeat-timeout"),
             (["--report-interval", "5", "--heartbeat-timeout", "60"], b"between 0.1s and 4s"),
             (["--report-interval", "soon"], b"--report-interval"),
             (["--report-interval", "50ms"], b"between 0.1s and 4s")]
    for extra, said in cases:
        p = harness.run([COORD, "run", "--local", "1", "-m", "1"] + extra + ["127.0.0.1:1"], timeout=30)
        check(p.returncode == 2 and said in p.stderr, f"{extra}: exit {p.returncode}, {p.stderr!r}")


def main():
    harness.run_tests([test_reports_carry_the_beat_and_idle_peers_still_beat,
                       test_reports_every_2_s_still_beat_and_keep_every_second,
                       test_report_interval_bounds], "smtpstorm-beats-")


if __name__ == "__main__":
    main()
