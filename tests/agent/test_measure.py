"""Measurement truth: against smtp-sink -w 1 (one second before the reply
to DATA) the data phase's p50 is about a second; --rate 400 --duration 5
sends 2000 messages within a few percent, whatever the server's speed.
Generous bounds: nothing here asserts our own speed."""

import sys

import harness
from agenttest import run_agent_json, start_sink


def main():
    with harness.Procs() as procs:
        port = harness.free_port()
        start_sink(procs, ["-w", "1"], port)
        proc, rep = run_agent_json(["-s", "3", "-m", "6", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, proc.stderr)
        data = rep["latency_ms"]["data"]
        harness.check(data["count"] == 6 and 900 <= data["p50"] <= 1600,
                      f"data phase against smtp-sink -w 1: {data}")
        harness.check(rep["latency_ms"]["mail"]["p50"] < 500, rep["latency_ms"]["mail"])
        harness.check(rep["latency_ms"]["message"]["p50"] >= data["p50"], rep["latency_ms"])

        port = harness.free_port()
        start_sink(procs, [], port)
        proc, rep = run_agent_json(["-s", "20", "-d", "--rate", "400", "--duration", "5",
                                    f"127.0.0.1:{port}"], timeout=60)
        harness.check(proc.returncode == 0, proc.stderr)
        accepted = rep["totals"]["messages_accepted"]
        harness.check(abs(accepted - 2000) <= 60, f"--rate 400 --duration 5 sent {accepted}")
        harness.check(4.5 <= rep["duration_s"] <= 8, f"duration {rep['duration_s']}")
        rows = rep["timeline"]
        harness.check(len(rows) >= 5 and sum(r["accepted"] for r in rows) == accepted,
                      f"timeline {rows}")
        harness.check(all(r["received"] is None for r in rows), "no sink: received is null")
        harness.check(rep["totals"]["sink_received"] is None and rep["totals"]["lost"] is None,
                      rep["totals"])
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
