"""test_cluster_real - the cluster with the real programs on loopback:
smtpstorm-agent daemons and smtpstorm-sink --coordinator as separate
processes, started before the coordinator (issue 4, guarded agents of 5):

- 3 agents and 2 sinks: a campaign whose counts reconcile in total and per
  agent, with delivery latency; then a second, timed campaign on the same
  agents under a new coordinator;
- an agent refuses a target outside its --allow-target list, and the
  report names the target and the list; one whose hard descriptor limit
  is too low for its sessions refuses its part, naming both numbers;
- --max-rate: an unlimited campaign is held to the ceiling, still
  reconciles, and the report says so;
- dead-man switch: the coordinator killed (SIGKILL) mid-campaign, the
  agents stop their load within --heartbeat-timeout (the sink's count stops
  growing), and a new coordinator runs a campaign at once;
- a Stop (the coordinator interrupted) is obeyed within one second."""

import signal
import subprocess
import sys
import time

import harness
from clustertest import (COORD, check, check_reconciled, coordinator, endpoints, start_agent,
                         start_sink, wait_still)


def test_two_campaigns_three_agents_two_sinks(tmp):
    ctl, snk = endpoints()
    ports = [harness.free_port(), harness.free_port()]
    targets = [f"127.0.0.1:{p}" for p in ports]
    with harness.Procs() as procs:
        for i, port in enumerate(ports):
            start_sink(procs, snk, f"sink-{i + 1}", port)
        for ident in ("a1", "a2", "a3"):
            start_agent(procs, ctl, ident)
        done, data = coordinator(ctl, snk, 3, 2, tmp, "first", "-s", "12", "-m", "3000", *targets)
        check(done.returncode == 0, f"first campaign: exit {done.returncode}")
        check_reconciled(data, 3000)
        check(sorted(a["id"] for a in data["agents"]) == ["a1", "a2", "a3"], "agents")
        check(sorted(s["id"] for s in data["sinks"]) == ["sink-1", "sink-2"], "sinks")
        check(all(s["received"] > 0 for s in data["sinks"]), "both sinks got mail")
        first = data["campaign"]
        done, data = coordinator(ctl, snk, 3, 2, tmp, "second", "-s", "6", "--rate", "400",
                                 "--duration", "3", *targets)
        check(done.returncode == 0, f"second campaign: exit {done.returncode}")
        check_reconciled(data)
        check(data["campaign"] != first, "a new campaign id")
        accepted = data["totals"]["messages_accepted"]
        check(1000 <= accepted <= 1300, f"--rate 400 for 3 s accepted {accepted}")


def test_allow_target_refusal_in_report(tmp):
    ctl, snk = endpoints()
    with harness.Procs() as procs:
        start_agent(procs, ctl, "guarded")
        # 198.18.255.254 is never connected to: the agent refuses it first.
        done, data = coordinator(ctl, snk, 1, 0, tmp, "refused", "-s", "2", "-m", "10", "198.18.255.254:2525")
        check(done.returncode == 3, f"refusal: exit {done.returncode}, wanted 3 (agents missing)")
        status = data["agents"][0]["status"]
        check("198.18.255.254:2525" in status and "--allow-target" in status and "127.0.0.0/8" in status,
              f"the report's status: {status!r}")
        out = done.stdout.decode() + done.stderr.decode()
        check("refused" in out and "not in its --allow-target list" in out, "the summary names the refusal")
        check(data["totals"]["messages_attempted"] == 0, "nothing was sent")


def test_descriptor_limit_refusal_in_report(tmp):
    ctl, snk = endpoints()
    with harness.Procs() as procs:
        start_agent(procs, ctl, "cramped", prefix=("prlimit", "--nofile=64:300"))
        done, data = coordinator(ctl, snk, 1, 0, tmp, "cramped", "-s", "1000", "-m", "1000",
                                 f"127.0.0.1:{harness.free_port()}")
        check(done.returncode == 3, f"refusal: exit {done.returncode}, wanted 3 (agents missing)")
        status = data["agents"][0]["status"]
        check("1000 sessions need 1066 file descriptors, but the hard limit is 300" in status,
              f"the report's status: {status!r}")
        check(data["totals"]["messages_attempted"] == 0, "nothing was sent")


def test_max_rate_clamps_and_reports(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    with harness.Procs() as procs:
        start_sink(procs, snk, "sink", port)
        start_agent(procs, ctl, "capped", "--max-rate", "200", "--max-sessions", "3")
        started = time.monotonic()
        done, data = coordinator(ctl, snk, 1, 1, tmp, "capped", "-s", "8", "-m", "600", f"127.0.0.1:{port}")
        took = time.monotonic() - started
        check(done.returncode == 0, f"capped campaign: exit {done.returncode}")
        check_reconciled(data, 600)
        a = data["agents"][0]
        check(a["elapsed_s"] >= 2.7, f"600 messages at --max-rate 200 took {a['elapsed_s']} s")
        check("--max-rate 200" in a["status"] and "--max-sessions 3" in a["status"],
              f"the report's status: {a['status']!r}")
        check(took < 30, f"took {took:.1f} s")


def test_dead_man_switch_and_a_new_coordinator(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    timeout_s = 2.0
    with harness.Procs() as procs:
        _, count = start_sink(procs, snk, "sink", port, count=True)
        for ident in ("d1", "d2", "d3"):
            start_agent(procs, ctl, ident, "--heartbeat-timeout", str(timeout_s))
        argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "3", "--sinks", "1",
                "--wait", "20s", "-s", "6", "--rate", "300", "--duration", "60", f"127.0.0.1:{port}"]
        coord = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            harness.wait_for(lambda: count.messages >= 300, timeout=20, what="load on the sink")
        finally:
            coord.send_signal(signal.SIGKILL)
            coord.wait()
        killed = time.monotonic()
        moved, value = wait_still(count, 1.0, timeout=timeout_s + 8)
        sys.stdout.write(f"coordinator killed at {value} messages; load stopped {moved - killed:.2f} s later\n")
        check(moved - killed <= timeout_s + 1.0,
              f"load went on {moved - killed:.2f} s after the coordinator died (timeout {timeout_s} s)")
        time.sleep(1.5)
        check(count.messages == value, f"load resumed without a coordinator: {value} -> {count.messages}")
        done, data = coordinator(ctl, snk, 3, 1, tmp, "after", "-s", "3", "-m", "300", f"127.0.0.1:{port}",
                                 wait="10s")
        check(done.returncode == 0, f"campaign after the dead coordinator: exit {done.returncode}")
        check_reconciled(data, 300)


def test_stop_obeyed_within_a_second(tmp):
    ctl, snk = endpoints()
    port = harness.free_port()
    with harness.Procs() as procs:
        _, count = start_sink(procs, snk, "sink", port, count=True)
        for ident in ("t1", "t2"):
            start_agent(procs, ctl, ident)
        argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "2", "--sinks", "1",
                "--wait", "20s", "--drain", "3s", "-s", "4", "--rate", "300", "--duration", "60",
                f"127.0.0.1:{port}"]
        coord = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            harness.wait_for(lambda: count.messages >= 300, timeout=20, what="load on the sink")
            coord.send_signal(signal.SIGINT)        # the coordinator sends Stop to every agent
            stopped = time.monotonic()
            moved, value = wait_still(count, 1.0, timeout=10)
            rc = coord.wait(timeout=60)
        finally:
            if coord.poll() is None:
                coord.kill()
                coord.wait()
        sys.stdout.write(f"interrupted at {value} messages; load stopped {moved - stopped:.2f} s later\n")
        check(moved - stopped <= 1.0, f"load went on {moved - stopped:.2f} s after Stop")
        check(rc == 130, f"an interrupted campaign exits 130, not {rc}")


def main():
    tests = [test_two_campaigns_three_agents_two_sinks, test_allow_target_refusal_in_report,
             test_descriptor_limit_refusal_in_report, test_max_rate_clamps_and_reports, test_dead_man_switch_and_a_new_coordinator,
             test_stop_obeyed_within_a_second]
    harness.run_tests(tests, "smtpstorm-cluster-")


if __name__ == "__main__":
    main()
