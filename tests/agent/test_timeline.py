"""test_timeline - the report's timeline tells when things happened (event
time), with the real programs on loopback:

- straight into two sinks, open loop: delivery keeps pace with injection
  within 1%, the backlog never exceeds the sessions in flight, the full
  seconds hold the rate within 1%, and in every full second received is
  accepted, and accepted is attempted, within the sessions in flight (a
  second may hold a little less when the generator, on a busy machine, fell
  behind its schedule, and the next one more: attempted shows it);
- the same with one sink's and one agent's wall clocks 3 s off (libfaketime,
  one ahead, one behind): the coordinator's clock offsets put every count
  back in its second;
- through a relay written for the test that holds every message 2 s
  (tests/tools/holdrelay.py): delivery p50 is 2 s within 2%, and the
  steady-state backlog is rate x 2 s within 3%; and the same with the
  sink's wall clock 3 s ahead and an agent's 3 s behind."""

import os
import subprocess
import sys

import harness
from clustertest import check, check_reconciled, coordinator, endpoints

RELAY = os.path.join(os.path.dirname(harness.__file__), "holdrelay.py")
# Sanitized builds run several times slower: a rate the machine keeps.
RATE = 1000 if os.environ.get("ASAN_OPTIONS", "").startswith("detect_leaks") else 3000
DURATION = 6


def straight_campaign(tmp, name, sink_env=(None, None), agent_env=(None, None)):
    """2 agents, 2 sinks, --rate RATE for DURATION s: the report."""
    ctl, snk = endpoints()
    ports = [harness.free_port(), harness.free_port()]
    with harness.Procs() as procs:
        for i, port in enumerate(ports):
            start_sink_env(procs, snk, f"sink-{i + 1}", port, sink_env[i])
        for i in range(2):
            procs.start([harness.program("smtpstorm-agent"), "--coordinator", ctl, "--id", f"a{i + 1}"],
                        env=agent_env[i])
        done, data = coordinator(ctl, snk, 2, 2, tmp, name, "-s", "20", "--rate", str(RATE),
                                 "--duration", f"{DURATION}s", "--drain-quiet", "1s",
                                 *[f"127.0.0.1:{p}" for p in ports])
    check(done.returncode == 0, f"{name}: exit {done.returncode}")
    return data


def start_sink_env(procs, snk, ident, port, env):
    from clustertest import SINK, USER
    p = procs.start([SINK, *USER, "--coordinator", snk, "--id", ident, f"127.0.0.1:{port}", "256"], env=env)
    harness.wait_port(port, proc=p)
    return p


def check_straight(data, name):
    check_reconciled(data)
    inj, dlv = data["injection"], data["delivery"]
    check(abs(dlv["rate_msgs_per_s"] - inj["rate_msgs_per_s"]) <= 0.01 * inj["rate_msgs_per_s"],
          f"{name}: delivery {dlv['rate_msgs_per_s']} msg/s, injection {inj['rate_msgs_per_s']}")
    check(dlv["backlog_peak"] <= 20, f"{name}: backlog peak {dlv['backlog_peak']} > 20 sessions")
    rows = {r["t"]: r for r in data["timeline"]}
    full = [rows.get(t) for t in range(1, DURATION + 1)]   # second t: [t - 1, t) after the start
    check(None not in full, f"{name}: a full second has no row: {data['timeline']}")
    for what in ("attempted", "accepted", "received"):
        got = sum(r[what] for r in full)
        check(abs(got - RATE * DURATION) <= 0.01 * RATE * DURATION,
              f"{name}: {what} {got} in the full seconds, want {RATE * DURATION} within 1%")
    for r in full:
        check(abs(r["received"] - r["accepted"]) <= 20 and abs(r["accepted"] - r["attempted"]) <= 20,
              f"{name}: second {r['t']}: attempted {r['attempted']} accepted {r['accepted']} "
              f"received {r['received']} differ by more than the 20 sessions: {data['timeline']}")


def test_straight_into_sinks(tmp):
    check_straight(straight_campaign(tmp, "straight"), "straight")


def test_clock_skew(tmp):
    env = dict(os.environ)
    data = straight_campaign(tmp, "skew", sink_env=(harness.shifted_clock(env, 3), None),
                             agent_env=(None, harness.shifted_clock(env, -3)))
    check_straight(data, "skew")


def relay_campaign(tmp, name, sink_env=None, agent_env=(None, None)):
    """2 agents through holdrelay (every message held 2 s) into one sink:
    the report; a sink and agents' environments may shift their clocks."""
    rate, duration, hold = 200, 8, 2.0
    ctl, snk = endpoints()
    sink_port, relay_port = harness.free_port(), harness.free_port()
    with harness.Procs() as procs:
        start_sink_env(procs, snk, "sink-1", sink_port, sink_env)
        relay = procs.start([sys.executable, RELAY, str(relay_port), f"127.0.0.1:{sink_port}", str(hold)],
                            stdout=subprocess.PIPE)
        check(relay.stdout.readline().strip() == b"ready", "relay did not start")
        for i in range(2):
            procs.start([harness.program("smtpstorm-agent"), "--coordinator", ctl, "--id", f"a{i + 1}"],
                        env=agent_env[i])
        done, data = coordinator(ctl, snk, 2, 1, tmp, name, "-s", "10", "-d", "--rate", str(rate),
                                 "--duration", f"{duration}s", "--drain-quiet", "4s",
                                 f"127.0.0.1:{relay_port}")
    check(done.returncode == 0, f"{name}: exit {done.returncode}")
    check_relay(data, rate, duration, hold)


def test_relay_holding_two_seconds(tmp):
    relay_campaign(tmp, "relay")


def test_relay_with_clock_skew(tmp):
    """The relay's results with the sink's clock 3 s ahead and one agent's
    3 s behind: the measured offsets put every message back in its second."""
    env = dict(os.environ)
    relay_campaign(tmp, "relay-skew", sink_env=harness.shifted_clock(env, 3),
                   agent_env=(None, harness.shifted_clock(env, -3)))


def check_relay(data, rate, duration, hold):
    check_reconciled(data)
    p50 = data["latency_ms"]["delivery"]["p50"] / 1000
    check(abs(p50 - hold) <= 0.02 * hold, f"delivery p50 {p50} s, want {hold} s within 2%")
    want = rate * hold
    steady = [r for r in data["timeline"] if hold + 1 < r["t"] <= duration]
    check(len(steady) >= 4, f"steady rows: {data['timeline']}")
    for r in steady:
        check(abs(r["backlog"] - want) <= 0.03 * want,
              f"second {r['t']}: backlog {r['backlog']}, want {want} within 3%: {data['timeline']}")


def main():
    harness.run_tests([test_straight_into_sinks, test_clock_skew, test_relay_holding_two_seconds,
                       test_relay_with_clock_skew],
                      "timeline-")


if __name__ == "__main__":
    sys.exit(main())
