"""smtpstorm-agent against servers that misbehave: one that closes in the
middle of DATA, one that never answers and one that trickles its greeting
without ever ending it (short --timeout: a reply counts from its command),
one that goes silent after DATA, one that sends garbage, and none at all. Each run ends on time with a clear error count
and exit status 1: no hang, no crash."""

import sys
import time

import harness
from agenttest import run_agent_json
from badserver import Server, closes_mid_data, garbage, never_answers, silent_after_data, trickles


def case(handler, args, kind, count, within):
    server = Server(handler) if handler else None
    port = server.port if server else harness.free_port()
    try:
        t0 = time.monotonic()
        proc, rep = run_agent_json(list(args) + [f"127.0.0.1:{port}"], timeout=within + 30)
        took = time.monotonic() - t0
    finally:
        if server:
            server.stop()
    harness.check(proc.returncode == 1, f"{kind}: exit {proc.returncode}, want 1: {proc.stderr}")
    harness.check(-proc.returncode not in (6, 11), f"{kind}: crashed")
    harness.check(rep is not None, f"{kind}: no report")
    errors = rep["errors_by_kind"]
    harness.check(errors[kind] == count, f"{kind}: errors {errors}, want {count} {kind}")
    harness.check(rep["totals"]["messages_accepted"] == 0, f"{kind}: {rep['totals']}")
    harness.check(took < within, f"{kind}: took {took:.1f}s, want under {within}s")
    harness.check("warning:" in proc.stderr, f"{kind}: no diagnostic on stderr")


def main():
    case(closes_mid_data, ["-m", "6", "-s", "2", "-l", "100000"], "reset", 6, 10)
    case(closes_mid_data, ["-m", "6", "-s", "2", "-d", "--pipelining"], "reset", 6, 10)
    case(never_answers, ["-m", "2", "-s", "2", "--timeout", "1"], "timeout", 2, 8)
    case(trickles, ["-m", "2", "--timeout", "1"], "timeout", 2, 8)
    case(silent_after_data, ["-m", "2", "-d", "--timeout", "1"], "timeout", 2, 8)
    case(garbage, ["-m", "5", "-s", "1"], "protocol", 5, 10)
    case(None, ["-m", "4", "-s", "2", "-C", "2"], "connect_refused", 4, 10)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
