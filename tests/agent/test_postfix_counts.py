"""Postfix's smtp-sink counts exactly what smtpstorm-agent says it sent:
-s 20 with and without -d, -r 3, --pipelining, and -L against smtp-sink -L;
Postfix's smtp-source under the same conditions gives the same counts."""

import sys

import harness
from agenttest import run_agent_json, smtp_source, start_sink, stop_sink_counts


def case(args, sink_args=(), want_sess=None, want_mesg=None, want_rcpt=None, compare=True):
    with harness.Procs() as procs:
        port = harness.free_port()
        sink = start_sink(procs, ["-c"] + list(sink_args), port)
        proc, report = run_agent_json(list(args) + [f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"{args}: exit {proc.returncode}: {proc.stderr}")
        counts = stop_sink_counts(sink)
    totals = report["totals"]
    harness.check(counts["mesg"] == want_mesg == totals["messages_accepted"],
                  f"{args}: sink counted {counts}, agent {totals}, want {want_mesg}")
    # the sink also counts harness.wait_port's probe connection
    harness.check(counts["sess"] - 1 == want_sess == totals["sessions"],
                  f"{args}: sink sessions {counts}, agent {totals['sessions']}, want {want_sess}")
    harness.check(counts["quit"] == want_sess, f"{args}: every session QUITs: {counts}")
    if want_rcpt is not None:
        harness.check(totals["recipients"] == want_rcpt, f"{args}: recipients {totals}")
    harness.check(totals["errors"] == 0 and totals["messages_rejected"] == 0, f"{args}: {totals}")
    if compare:     # Postfix's own client gives the same counts
        with harness.Procs() as procs:
            port = harness.free_port()
            sink = start_sink(procs, ["-c"] + list(sink_args), port)
            src = smtp_source(list(args) + [f"127.0.0.1:{port}"])
            harness.check(src.returncode == 0, f"smtp-source {args}: {src.stderr}")
            ref = stop_sink_counts(sink)
        harness.check(ref == counts, f"{args}: smtp-source gives {ref}, we give {counts}")


def main():
    case(["-s", "20", "-m", "200", "-l", "1000"], want_sess=200, want_mesg=200)
    case(["-s", "20", "-m", "200", "-d", "-l", "1000"], want_sess=20, want_mesg=200)
    case(["-s", "5", "-m", "50", "-r", "3"], want_sess=50, want_mesg=50, want_rcpt=150)
    case(["-s", "20", "-m", "200", "-d", "--pipelining", "--threads", "2"], want_sess=20,
         want_mesg=200, compare=False)
    case(["-L", "-s", "4", "-m", "40", "-r", "2", "-d"], sink_args=["-L"], want_sess=4,
         want_mesg=40, want_rcpt=80)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
