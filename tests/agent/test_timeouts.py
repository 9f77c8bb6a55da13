"""Campaigns against hung targets end on time (smtpstorm run --timeout,
the campaign file's timeout:, Workload.timeout_ms applied by the agent
daemon): a server that accepts TCP and never sends its banner, and one
that goes silent after DATA. Each campaign returns within seconds, counts
every session as timed out in the JSON report, reconciles and exits 4
(target errors); with no --timeout the campaign default (30 s) still ends
it well within a minute. Bad --timeout values and timeout: keys are usage
errors (exit 2)."""

import os
import sys
import time

import harness
from badserver import Server, never_answers, silent_after_data
from clustertest import coordinator, endpoints, start_agent, start_sink

check = harness.check
COORD = harness.program("smtpstorm")


def campaign(tmp, name, handler, *args, within):
    """A --local campaign with args against a Server(handler): it must end
    within the given seconds with exit 4. Returns its JSON report."""
    report = os.path.join(tmp, f"{name}.json")
    server = Server(handler)
    try:
        t0 = time.monotonic()
        done, data = harness.run_campaign([COORD, "run", "--local", "1", "--json", report] + list(args)
                                          + [f"127.0.0.1:{server.port}"], report, name, timeout=within + 30)
        took = time.monotonic() - t0
    finally:
        server.stop()
    check(took < within, f"{name}: took {took:.1f} s, want under {within} s")
    check(done.returncode == 4, f"{name}: exit {done.returncode}, want 4 (target errors)")
    check(data is not None and data["exit_code"] == 4, f"{name}: no report or its exit_code")
    return data


def check_timed_out(name, data, sessions, attempted):
    t = data["totals"]
    check(data["errors_by_kind"]["timeout"] == sessions and t["errors"] == sessions,
          f"{name}: errors {data['errors_by_kind']}, want {sessions} timeouts")
    check(t["sessions"] == sessions and t["messages_attempted"] == attempted and t["messages_accepted"] == 0,
          f"{name}: totals {t}")
    a = data["agents"][0]
    check(a["status"] == "" and not a["missing"], f"{name}: the agent did not finish cleanly: {a}")


def test_no_banner(tmp):
    data = campaign(tmp, "no-banner", never_answers, "--timeout", "2s", "-m", "4", "-s", "2", within=15)
    check_timed_out("no banner", data, 4, 0)


def test_silent_after_data(tmp):
    data = campaign(tmp, "silent-after-data", silent_after_data, "--timeout", "1500ms", "-m", "3", "-s", "3",
                    "-l", "5000", within=15)
    check_timed_out("silent after DATA", data, 3, 3)
    check(data["latency_ms"]["data"]["count"] == 3, "DATA was answered, the end of data never")


def test_campaign_file_timeout(tmp):
    path = os.path.join(tmp, "hung.yaml")
    with open(path, "w") as f:
        f.write("messages: 2\nsessions: 2\ntimeout: 2s\n")
    data = campaign(tmp, "file-timeout", never_answers, "--campaign", path, within=15)
    check_timed_out("timeout: in the file", data, 2, 0)


def test_default_timeout_ends_within_a_minute(tmp):
    data = campaign(tmp, "default-timeout", never_answers, "-m", "1", within=55)
    check_timed_out("default --timeout", data, 1, 0)


def test_hung_target_leaves_the_rest_of_the_mail(tmp):
    """Two agent daemons, two targets: a server that never greets and a
    real sink; a session a message (smtp-source's way), the sessions
    alternating between the targets. Those on the hung one time out
    (counted, exit 4); every one on the sink delivers its message, for both
    agents, and the mail reconciles."""
    ctl, snk = endpoints()
    port = harness.free_port()
    server = Server(never_answers)
    try:
        with harness.Procs() as procs:
            start_sink(procs, snk, "sink-1", port)
            for i in (1, 2):
                start_agent(procs, ctl, f"a{i}")
            done, data = coordinator(ctl, snk, 2, 1, tmp, "hung-and-sink", "-m", "40", "-s", "4",
                                     "--timeout", "2s", f"127.0.0.1:{server.port}", f"127.0.0.1:{port}")
    finally:
        server.stop()
    check(done.returncode == 4, f"hung and sink: exit {done.returncode}, want 4 (target errors)")
    t = data["totals"]
    check(t["messages_accepted"] == t["sink_received"] == 20 and t["lost"] == 0 and t["duplicates"] == 0,
          f"the sink's share: {t}")
    check(all(a["messages_accepted"] == a["sink_received"] for a in data["agents"]), f"per agent: {data['agents']}")
    check(data["errors_by_kind"].get("timeout", 0) == 20 and data["totals"]["sessions"] == 40,
          f"timeouts: {data['errors_by_kind']}, sessions {data['totals']['sessions']}")
    check(all(a["messages_accepted"] == 10 for a in data["agents"]), f"per agent: {data['agents']}")


def test_session_timeout_ends_a_slow_session(tmp):
    """A sink that answers each DATA after 1 s (-w 1) keeps every reply within
    --timeout; --session-timeout 2.5s still ends each connection within its
    third message, counted as a timeout; without it, none times out."""
    port = harness.free_port()
    with harness.Procs() as procs:
        p = procs.start([harness.program("smtpstorm-sink"), "-u", "nobody", "-w", "1", f"127.0.0.1:{port}", "16"])
        harness.wait_port(port, proc=p)
        runs = {}
        for name, extra in (("capped", ["--session-timeout", "2500ms"]), ("uncapped", [])):
            report = os.path.join(tmp, f"{name}.json")
            t0 = time.monotonic()
            done, data = harness.run_campaign([COORD, "run", "--local", "1", "-s", "1", "-d", "-m", "6",
                                               "--timeout", "5s", *extra, "--json", report,
                                               f"127.0.0.1:{port}"], report, name, timeout=60)
            runs[name] = (done, data, time.monotonic() - t0)
    done, data, took = runs["capped"]
    t = data["totals"]
    check(done.returncode == 4 and data["errors_by_kind"].get("timeout", 0) >= 1,
          f"capped: exit {done.returncode}, errors {data['errors_by_kind']}")
    check(t["sessions"] >= 2 and t["messages_accepted"] >= 2, f"capped: {t}")
    check(t["messages_attempted"] == t["messages_accepted"] + t["messages_rejected"] + t["messages_unfinished"],
          f"capped: the identity: {t}")
    check(b"session over --session-timeout" in done.stderr, f"capped: the reason: {done.stderr[-600:]!r}")
    done, data, took = runs["uncapped"]
    check(done.returncode == 0 and data["totals"]["messages_accepted"] == 6
          and data["errors_by_kind"].get("timeout", 0) == 0, f"uncapped: exit {done.returncode} {data['totals']}")


def test_bad_timeout_values(tmp):
    for opt in ("--timeout", "--session-timeout"):
        for value in ("0", "abc", "-1s", "25h", "5 s", ""):
            done = harness.run([COORD, "run", "--local", "1", opt, value, "127.0.0.1:9"], timeout=20)
            err = done.stderr.decode()
            check(done.returncode == 2, f"{opt} {value!r}: exit {done.returncode}, want 2")
            check(opt in err and "duration" in err, f"{opt} {value!r}: {err!r}")
    path = os.path.join(tmp, "bad.yaml")
    with open(path, "w") as f:
        f.write("messages: 1\ntimeout: never\n")
    done = harness.run([COORD, "run", "--local", "1", "--campaign", path, "127.0.0.1:9"], timeout=20)
    check(done.returncode == 2 and f"{path}:2: 'timeout'" in done.stderr.decode(),
          f"bad timeout: key: {done.returncode} {done.stderr!r}")


def main():
    harness.run_tests([test_bad_timeout_values, test_no_banner, test_silent_after_data, test_campaign_file_timeout,
                       test_default_timeout_ends_within_a_minute, test_hung_target_leaves_the_rest_of_the_mail,
                       test_session_timeout_ends_a_slow_session], "timeouts-")


if __name__ == "__main__":
    sys.exit(main())
