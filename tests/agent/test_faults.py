"""test_faults - faults with the real programs on loopback (issue 5, Faults):

- an agent SIGKILLed mid-campaign: the coordinator notices within the
  heartbeat time, finishes with the others, names the agent missing with its
  last cumulative counts (which the totals include), exits 3, no hang;
- a sink SIGKILLed and restarted (same port, same --id) mid-campaign: the
  agents count errors while it is down, the restarted sink counts again,
  the coordinator keeps what the earlier run reported (an entry ID#1) and
  reconciles honestly: lost = accepted - received, exit 5 when it is > 0;
- --rebalance (issue 20): a 3-agent campaign of 30,000 messages with one
  agent SIGKILLed at a third: its unsent messages move to the other two,
  every planned message is sent once and received once (the sink took
  exactly 30,000), the report names the move, exit 0; the same with the
  agent restarted at once (a new process saying hello with the same id),
  and killed at 95% (the others done with their parts take its messages);
  and a campaign's only agent killed, a new one (another id) joining to
  send the rest;
- one sink daemon serving 20 campaigns in a row, one coordinator each:
  every one reconciles (a sink used to stop counting after 16).
Processes are stopped by pid; every wait is bounded."""

import json
import os
import signal
import subprocess
import sys
import time

import harness
from clustertest import COORD, check, check_reconciled, coordinator, endpoints, start_agent, start_sink

EXIT_AGENTS_MISSING, EXIT_TARGET_ERRORS, EXIT_MESSAGES_LOST = 3, 4, 5
JOINER_SKEW_S = 20          # how far behind a joining agent's wall clock runs


def campaign(ctl, snk, agents, sinks, report, *workload):
    """A coordinator in the background: (Popen, started at)."""
    argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", str(agents), "--sinks", str(sinks),
            "--wait", "20s", "--drain", "6s", "--json", report, *workload]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT), time.monotonic()


def finish(coord, report, name, timeout):
    """Wait (bounded) for the coordinator; returns (exit code, output, report)."""
    try:
        out, _ = coord.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        coord.kill()
        coord.wait()
        raise AssertionError(f"{name}: the coordinator hung (no exit within {timeout} s)")
    out = out.decode(errors="replace")
    sys.stdout.write(f"--- {name}: exit {coord.returncode}\n{out}\n")
    data = None
    if os.path.exists(report):
        with open(report) as f:
            data = json.load(f)
    return coord.returncode, out, data


def test_agent_killed_mid_campaign(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    report = os.path.join(tmp, "agent-killed.json")
    with harness.Procs() as procs:
        _, count = start_sink(procs, snk, "sink", port, count=True)
        agents = {ident: start_agent(procs, ctl, ident, "--heartbeat-timeout", "2")
                  for ident in ("k1", "k2", "k3")}
        coord, started = campaign(ctl, snk, 3, 1, report, "-s", "6", "--rate", "300", "--duration", "6",
                                  f"127.0.0.1:{port}")
        try:
            # Two seconds in: every agent has sent progress (one a second).
            harness.wait_for(lambda: count.messages >= 700, timeout=20, what="load on the sink")
            agents["k2"].send_signal(signal.SIGKILL)
            agents["k2"].wait()
            killed = time.monotonic()
        finally:
            rc, out, data = finish(coord, report, "agent killed", timeout=60)
        took = time.monotonic() - started
        check(rc == EXIT_AGENTS_MISSING, f"exit {rc}, wanted {EXIT_AGENTS_MISSING} (agents missing)")
        check(took < 6 + 30, f"the campaign took {took:.1f} s")
        check("agent k2" in out and "lost" in out, "the coordinator says k2 was lost")
        check(data is not None, "no report")
        by_id = {a["id"]: a for a in data["agents"]}
        k2 = by_id["k2"]
        check(k2["missing"] is True, f"k2 not marked missing: {k2}")
        check(k2["messages_accepted"] > 0, f"k2's work before it died is not in the report: {k2}")
        check("lost" in k2["status"], f"k2's status: {k2['status']!r}")
        for ident in ("k1", "k3"):
            a = by_id[ident]
            check(not a["missing"] and a["messages_accepted"] > k2["messages_accepted"],
                  f"{ident} should have finished the campaign: {a}")
            check(a["messages_accepted"] == a["sink_received"], f"{ident} does not reconcile: {a}")
        t = data["totals"]
        check(t["messages_accepted"] == sum(a["messages_accepted"] for a in data["agents"]),
              "the totals do not include the lost agent's counts")
        # What k2 had accepted but not yet reported when it died was still
        # received: the sink can only have more, never less, of k2's mail.
        check(k2["sink_received"] >= k2["messages_accepted"], f"k2: {k2}")
        sys.stdout.write(f"k2 killed {killed - started:.1f} s in, after {k2['messages_accepted']} accepted\n")


REBALANCED = 30000


def rebalanced(tmp, name, restart, at=REBALANCED // 3, agent_args=(), sink_args=()):
    """--rebalance with agent m2 SIGKILLed once the sink has AT messages (and
    started again at once with restart); checks that every planned message
    was sent once and received once."""
    ctl, snk = endpoints()
    port = harness.free_port()
    report, page = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".html")
    with harness.Procs() as procs:
        _, count = start_sink(procs, snk, "sink", port, *sink_args, count=True)
        agents = {ident: start_agent(procs, ctl, ident, "--heartbeat-timeout", "2", *agent_args)
                  for ident in ("m1", "m2", "m3")}
        coord, started = campaign(ctl, snk, 3, 1, report, "--html", page, "--rebalance", "--heartbeat-timeout", "2",
                                  "-s", "12",
                                  "--rate", "2500", "-m", str(REBALANCED), f"127.0.0.1:{port}")
        try:
            harness.wait_for(lambda: count.messages >= at, timeout=30, what=f"{at} messages on the sink")
            agents["m2"].send_signal(signal.SIGKILL)
            agents["m2"].wait()
            if restart:
                start_agent(procs, ctl, "m2", "--heartbeat-timeout", "2", *agent_args)
        finally:
            rc, out, data = finish(coord, report, name, timeout=90)
        check(rc == 0, f"{name}: exit {rc}, wanted 0: every message of the lost agent moved")
        check(data is not None, f"{name}: no report")
        t = data["totals"]
        # sent once: the sink took exactly the planned messages, none twice
        check(data["sinks"][0]["messages"] == REBALANCED, f"{name}: the sink took {data['sinks'][0]['messages']} "
              f"messages, {REBALANCED} planned")
        check(t["sink_received"] == REBALANCED and t["duplicates"] == 0 and t["lost"] == 0,
              f"{name}: received {t['sink_received']}, duplicates {t['duplicates']}, lost {t['lost']}")
        moves = data["rebalance"]
        check(len(moves) == 1 and moves[0]["from"] == "m2" and moves[0]["decided"], f"{name}: moves {moves}")
        m = moves[0]
        taken = [s for s in m["to"] if s["state"] == "taken"]
        check(m["moved"] > 0 and m["not_moved"] == 0 and m["sent"] + m["moved"] == m["planned"]
              and sum(s["messages"] for s in taken) == m["moved"] and {s["agent"] for s in taken} <= {"m1", "m3"},
              f"{name}: the move {m}")
        by_id = {a["id"]: a for a in data["agents"]}
        check(by_id["m2"]["missing"] and by_id["m2"]["sink_received"] == m["sent"],
              f"{name}: m2 sent {m['sent']} by the move, the sink has {by_id['m2']['sink_received']}")
        for ident in ("m1", "m3"):
            a = by_id[ident]
            check(a["messages_accepted"] == a["messages_planned"] == a["sink_received"],
                  f"{name}: {ident} did not send its part and its extra share: {a}")
        check("rebalance: agent m2 lost" in out and " moved:" in out, f"{name}: the summary names no move")
        with open(page) as f:
            html = f.read()
        check('id="rebalance"' in html and f'data-key="rebalance-moved" data-value="{m["moved"]}"' in html,
              f"{name}: the HTML report names no move")
        sys.stdout.write(f"{name}: m2 killed after {m['sent']} sent, {m['moved']} moved in "
                         f"{time.monotonic() - started:.1f} s\n")


def test_agent_killed_rebalanced(tmp):
    rebalanced(tmp, "rebalanced", restart=False)


def test_agent_restarted_rebalanced(tmp):
    rebalanced(tmp, "rebalanced-restart", restart=True)


def test_agent_killed_late_rebalanced(tmp):
    # at 95%: the others are done with their parts before the loss is even
    # noticed; they take its messages all the same (and run again)
    rebalanced(tmp, "rebalanced-late", restart=False, at=REBALANCED * 95 // 100)


def test_agent_restarted_rebalanced_reporting_slowly(tmp):
    # the agents send no progress before their Done, the sink reports every
    # 3 s and m2 comes back at once: when its new process says hello, the
    # sink's last report most likely holds less than m2 sent, and m2 said
    # nothing; the move waits for two sink reports since the loss, so
    # nothing is sent twice
    rebalanced(tmp, "rebalanced-slow-reports", restart=True, agent_args=("--report-interval", "30"),
               sink_args=("--report-interval", "3"))


def test_lone_agent_killed_one_joins(tmp):
    """--rebalance with the campaign's only agent SIGKILLed at a third and a
    new agent (another id) started then: it joins and sends the rest. Its
    wall clock runs 20 s behind: the sinks learn its offset when it joins,
    so its messages' delivery latency is not 20 s."""
    ctl, snk = endpoints()
    port = harness.free_port()
    messages = 12000
    report = os.path.join(tmp, "joined.json")
    with harness.Procs() as procs:
        _, count = start_sink(procs, snk, "sink", port, count=True)
        lone = start_agent(procs, ctl, "j0", "--heartbeat-timeout", "2")
        coord, started = campaign(ctl, snk, 1, 1, report, "--rebalance", "--heartbeat-timeout", "2", "-s", "6",
                                  "--rate", "2000", "-m", str(messages), f"127.0.0.1:{port}")
        try:
            harness.wait_for(lambda: count.messages >= messages // 3, timeout=30, what="a third on the sink")
            lone.send_signal(signal.SIGKILL)
            lone.wait()
            start_agent(procs, ctl, "j1", "--heartbeat-timeout", "2",
                        env=harness.shifted_clock(dict(os.environ), -JOINER_SKEW_S))
        finally:
            rc, out, data = finish(coord, report, "joined", timeout=90)
        check(rc == 0, f"joined: exit {rc}, wanted 0: the lost agent's messages all moved")
        check(data is not None, "joined: no report")
        t = data["totals"]
        check(data["sinks"][0]["messages"] == messages and t["sink_received"] == messages and t["duplicates"] == 0,
              f"joined: the sink took {data['sinks'][0]['messages']}, received {t['sink_received']} of {messages}")
        m = data["rebalance"][0] if len(data["rebalance"]) == 1 else {}
        check(m.get("from") == "j0" and m["not_moved"] == 0 and m["sent"] + m["moved"] == m["planned"] == messages
              and [(s["agent"], s["state"]) for s in m["to"]] == [("j1", "taken")], f"joined: the move {m}")
        j1 = {a["id"]: a for a in data["agents"]}.get("j1")
        check(j1 is not None and j1["messages_planned"] == j1["messages_accepted"] == j1["sink_received"] == m["moved"],
              f"joined: j1's line {j1}")
        check("joins to take" in out, "joined: the coordinator does not say j1 joined")
        worst = data["latency_ms"]["delivery"]["max"]
        check(worst < JOINER_SKEW_S * 1000 / 4,
              f"joined: delivery latency up to {worst} ms: j1's clock offset ({-JOINER_SKEW_S} s) not corrected")
        sys.stdout.write(f"joined: j0 killed after {m['sent']} sent, j1 sent {m['moved']} in "
                         f"{time.monotonic() - started:.1f} s\n")


def test_sink_restarted_mid_campaign(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    report = os.path.join(tmp, "sink-restarted.json")
    with harness.Procs() as procs:
        sink, count = start_sink(procs, snk, "s1", port, count=True)
        for ident in ("r1", "r2"):
            start_agent(procs, ctl, ident)
        coord, _ = campaign(ctl, snk, 2, 1, report, "-s", "4", "--rate", "200", "--duration", "8",
                            f"127.0.0.1:{port}")
        try:
            harness.wait_for(lambda: count.messages >= 400, timeout=20, what="load on the sink")
            sink.send_signal(signal.SIGKILL)
            sink.wait()
            before = count.messages
            time.sleep(1.5)                 # the fault: the sink is down this long
            _, count2 = start_sink(procs, snk, "s1", port, count=True)
            harness.wait_for(lambda: count2.messages >= 50, timeout=15, what="the restarted sink counting")
        finally:
            rc, out, data = finish(coord, report, "sink restarted", timeout=60)
        check(data is not None, "no report")
        t = data["totals"]
        sinks = {s["id"]: s for s in data["sinks"]}
        sys.stdout.write(f"sink killed at {before} messages; sinks {sinks}; totals {t}\n")
        check(set(sinks) == {"s1", "s1#1"}, f"sinks in the report: {sorted(sinks)}")
        check(sinks["s1#1"]["received"] > 0 and sinks["s1#1"]["received"] <= before,
              f"the earlier run's counts: {sinks['s1#1']} (it showed {before})")
        check(sinks["s1"]["received"] > 0 and not sinks["s1"]["missing"], f"the restarted sink: {sinks['s1']}")
        check(t["sink_received"] == sinks["s1"]["received"] + sinks["s1#1"]["received"],
              "the total received is not both runs' sum")
        check(t["errors"] > 0, "the agents counted no errors while the sink was down")
        check(t["lost"] - t["received_beyond_accepted"] == t["messages_accepted"] - t["sink_received"],
              f"lost: {t}")
        check(t["lost"] == sum(a["lost"] for a in data["agents"]), f"lost is not the agents' sum: {t}")
        # Lost: accepted by the first run after its last report (at most about a
        # second of load), never anything the earlier run reported.
        check(0 <= t["lost"] <= 200 + 50, f"lost {t['lost']}")
        check(sum(a["sink_received"] for a in data["agents"]) == t["sink_received"],
              "per-agent received does not add up across the sink's two runs")
        want = EXIT_MESSAGES_LOST if t["lost"] > 0 else EXIT_TARGET_ERRORS
        check(rc == want, f"exit {rc}, wanted {want} (lost {t['lost']}, errors {t['errors']})")
        check("sink s1 restarted" in out, "the coordinator does not say the sink restarted")


def test_sink_serves_twenty_campaigns_in_a_row(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    with harness.Procs() as procs:
        start_sink(procs, snk, "long-lived", port)
        for ident in ("q1", "q2", "q3"):
            start_agent(procs, ctl, ident)
        seen = set()
        for k in range(20):
            done, data = coordinator(ctl, snk, 3, 1, tmp, f"row-{k}", "-s", "3", "-m", "60",
                                     f"127.0.0.1:{port}", wait="10s", timeout=60)
            check(done.returncode == 0, f"campaign {k + 1} of 20: exit {done.returncode}")
            check_reconciled(data, 60)
            check(data["campaign"] not in seen, "campaign ids repeat")
            seen.add(data["campaign"])


def main():
    tests = [test_agent_killed_mid_campaign, test_agent_killed_rebalanced, test_agent_restarted_rebalanced,
             test_agent_killed_late_rebalanced, test_agent_restarted_rebalanced_reporting_slowly,
             test_lone_agent_killed_one_joins,
             test_sink_restarted_mid_campaign,
             test_sink_serves_twenty_campaigns_in_a_row]
    harness.run_tests(tests, "smtpstorm-faults-")


if __name__ == "__main__":
    main()
