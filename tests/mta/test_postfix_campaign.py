#!/usr/bin/python3
"""test_postfix_campaign - a whole smtpstorm campaign through a real MTA:
3 smtpstorm-agent daemons and 2 smtpstorm-sink --coordinator processes
(started first, on loopback), a throwaway Postfix (scripts/postfix-instance)
relaying to both sinks, and `smtpstorm run --agents 3 --sinks 2` aimed at
the instance's smtpd. From the JSON report: every accepted message was
received by a sink exactly once (lost 0, duplicates 0, per agent too), each
has an end-to-end delivery latency from its trace header, injection and
delivery are reported apart with the backlog between them; afterwards no
process of the instance is left. Then the same over LMTP to a sink run with
-L. Suite 'mta'; root only; loopback only."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mta      # noqa: E402

AGENT = harness.program("smtpstorm-agent")
SINK = harness.program("smtpstorm-sink")
COORD = harness.program("smtpstorm")
MESSAGES = 3000
SESSIONS = 12
DRAIN = "60s"           # bounded wait for Postfix's queue to reach the sinks
check = harness.check


def endpoints():
    return f"tcp://127.0.0.1:{harness.free_port()}", f"tcp://127.0.0.1:{harness.free_port()}"


def start_cluster(procs, ctl, snk, sinks, lmtp=False):
    """The sinks (listening before the instance starts) and 3 agent daemons;
    returns the sinks' HOST:PORT."""
    addrs = []
    for i in range(sinks):
        port = harness.free_port()
        argv = [SINK, "-u", "nobody", *(["-L"] if lmtp else []), "--coordinator", snk,
                "--id", f"sink-{i + 1}", f"127.0.0.1:{port}", "256"]
        harness.wait_port(port, proc=procs.start(argv))
        addrs.append(f"127.0.0.1:{port}")
    for ident in ("a1", "a2", "a3"):
        procs.start([AGENT, "--coordinator", ctl, "--id", ident])
    return addrs


def campaign(ctl, snk, sinks, port, tmp, name):
    """smtpstorm run through the MTA; returns (exit code, report, CSV text)."""
    report, table = os.path.join(tmp, name + ".json"), os.path.join(tmp, name + ".csv")
    argv = [COORD, "run", "--bind", ctl, "--sink-bind", snk, "--agents", "3", "--sinks", str(sinks),
            "--wait", "20s", "--drain", DRAIN, "--drain-quiet", "0", "--json", report, "--csv", table,
            "-N", "-s", str(SESSIONS), "-m", str(MESSAGES), f"127.0.0.1:{port}"]
    t0 = time.monotonic()
    done = harness.run(argv, timeout=150)
    out = done.stdout.decode() + done.stderr.decode()
    print(f"--- {name}: exit {done.returncode} in {time.monotonic() - t0:.1f}s\n{out}")
    check(os.path.exists(report), f"{name}: no JSON report")
    with open(report) as f:
        data = json.load(f)
    with open(table) as f:
        csv = f.read()
    return done.returncode, data, csv, out


def check_through_mta(name, code, data, csv, out, sinks):
    t = data["totals"]
    check(code == 0, f"{name}: exit {code}, wanted 0 (a clean, reconciled campaign)")
    check(t["messages_accepted"] == MESSAGES, f"{name}: accepted {t['messages_accepted']} of {MESSAGES}")
    check(t["sink_received"] == t["messages_accepted"],
          f"{name}: delivered {t['sink_received']}, accepted {t['messages_accepted']}")
    check(t["duplicates"] == 0 and t["lost"] == 0, f"{name}: lost {t['lost']}, duplicates {t['duplicates']}")
    check(t["errors"] == 0 and t["messages_rejected"] == 0, f"{name}: errors {t['errors']}, "
          f"rejected {t['messages_rejected']}")
    for a in data["agents"]:
        check(a["messages_accepted"] == a["sink_received"] == a["messages_planned"] and a["lost"] == 0,
              f"{name}: agent {a['id']} does not reconcile: {a}")
    check(len(data["sinks"]) == sinks and all(s["received"] > 0 for s in data["sinks"]),
          f"{name}: every sink must get mail: {data['sinks']}")
    check(sum(s["received"] for s in data["sinks"]) == MESSAGES, f"{name}: sinks' lines do not add up")
    d = data["latency_ms"]["delivery"]
    check(d is not None and d["count"] == t["messages_accepted"], f"{name}: delivery latency not for "
          f"every message: {d}")
    check(0 < d["p50"] <= d["p99"] <= d["max"], f"{name}: delivery latency implausible: {d}")

    # injection and delivery apart, and the backlog between them
    inj, dlv = data["injection"], data["delivery"]
    check(inj["accepted"] == MESSAGES and dlv["received"] == MESSAGES, f"{name}: flow counts {inj} {dlv}")
    check(0 < inj["seconds"] <= dlv["seconds"] + 1.0, f"{name}: delivery ended before injection? {inj} {dlv}")
    check(inj["rate_msgs_per_s"] > 0 and dlv["rate_msgs_per_s"] > 0, f"{name}: rates {inj} {dlv}")
    rows = data["timeline"]
    backlog = [r["backlog"] for r in rows]
    acc = rec = 0
    for r in rows:
        acc, rec = acc + r["accepted"], rec + r["received"]
        check(r["backlog"] == acc - rec, f"{name}: backlog at {r['t']} s is {r['backlog']}, not {acc} - {rec}")
    check(max([0] + backlog) == dlv["backlog_peak"], f"{name}: backlog peak {dlv['backlog_peak']} vs {backlog}")
    check(backlog[-1] == dlv["backlog_end"] == t["lost"] == 0, f"{name}: backlog at the end {backlog[-1]}")
    header, *lines = csv.strip().split("\n")
    columns = header.split(",")
    check("backlog" in columns and len(lines) == len(rows), f"{name}: CSV {header!r}")
    at = columns.index("backlog")
    check([int(x.split(",")[at]) for x in lines] == backlog, f"{name}: CSV backlog differs from JSON's")
    for words in ("injection: accepted", "delivery:  received", "backlog (accepted - received): peak"):
        check(words in out, f"{name}: the summary has no {words!r}")
    print(f"{name}: injection {inj['rate_msgs_per_s']:.0f} msg/s by {inj['seconds']:.1f}s, delivery "
          f"{dlv['rate_msgs_per_s']:.0f} msg/s by {dlv['seconds']:.1f}s, backlog peak {dlv['backlog_peak']}, "
          f"delivery p50 {d['p50']:.0f} ms p99 {d['p99']:.0f} ms")


def run_through_postfix(tmp, name, lmtp):
    sinks = 1 if lmtp else 2
    ctl, snk = endpoints()
    with harness.Procs() as procs:
        addrs = start_cluster(procs, ctl, snk, sinks, lmtp=lmtp)
        pf = mta.Instance(harness.free_port(), relays=() if lmtp else addrs, lmtps=addrs if lmtp else ())
        with pf:
            code, data, csv, out = campaign(ctl, snk, sinks, pf.port, tmp, name)
            check(pf.queue_empty(), f"{name}: Postfix's queue not empty after the drain:\n"
                  f"{pf.queue_listing()[-2000:]}\nlog:\n{pf.log_tail()}")
        # Instance.stop checked: no process of it left, its directory gone,
        # the default main.cf no longer names it
        check_through_mta(name, code, data, csv, out, sinks)


def test_campaign_through_postfix_to_two_smtp_sinks(tmp):
    run_through_postfix(tmp, "smtp", lmtp=False)


def test_campaign_through_postfix_lmtp_to_a_sink(tmp):
    run_through_postfix(tmp, "lmtp", lmtp=True)


def main():
    return mta.run_tests([test_campaign_through_postfix_to_two_smtp_sinks,
                          test_campaign_through_postfix_lmtp_to_a_sink], (AGENT, SINK, COORD), sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
