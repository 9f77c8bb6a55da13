"""The messages smtpstorm-agent sends are the ones Postfix's smtp-source
sends: under Postfix's smtp-sink -d the dumps of both are the same but for
ids, times and our X-Smtpstorm-Trace header (exactly one per message).
Under a wall clock stopped on each date and zone of harness.CLOCK_CASES
the times are the same too: the Date header and the Received line."""

import os
import re
import sys
import tempfile

import harness
from agenttest import read_dumps, run_agent, smtp_source, start_sink

TRACE = re.compile(rb"^X-Smtpstorm-Trace: [A-Za-z0-9._:-]+ [A-Za-z0-9._:-]+ \d+ \d+\n", re.M)
DATE = re.compile(rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), +\d+ \w+ \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w*\)")


def normalize(dump, want_trace, mask_date=True):
    traces = TRACE.findall(dump)
    harness.check(len(traces) == (1 if want_trace else 0),
                  f"want {int(want_trace)} trace header(s) in {dump[:600]!r}")
    dump = TRACE.sub(b"", dump)
    dump = re.sub(rb"with (E?SMTP|LMTP) id [0-9A-Fa-f]+;", rb"with \1 id ID;", dump)
    dump = re.sub(rb"Message-Id: <[^@>]*@", b"Message-Id: <ID@", dump)
    return DATE.sub(b"DATE", dump) if mask_date else dump


def dumps_of(run, args, sink_args, clock=None):
    with harness.Procs() as procs, tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        port = harness.free_port()
        start_sink(procs, ["-d", os.path.join(tmp, "%Y%m%d")] + sink_args, port, clock=clock)
        proc = run(args + [f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"{args}: exit {proc.returncode}: {proc.stderr}")
        # smtp-sink writes a dump before it replies to ".", so they are complete now
        return read_dumps(tmp)


def compare(args, sink_args=(), trace=True, clock=None):
    """Our agent's and smtp-source's dumps with args are the same; with clock
    (when, tz) every program runs under it and the dates are compared too."""
    def ours_run(a):
        env = harness.fake_clock(dict(os.environ), *clock) if clock else None
        return run_agent(a + ["--quiet"], env=env)

    ours = dumps_of(ours_run, list(args), list(sink_args), clock)
    theirs = dumps_of(lambda a: smtp_source(a, clock=clock), list(args), list(sink_args), clock)
    harness.check(len(ours) == len(theirs) > 0, f"{args}: {len(ours)} dumps vs {len(theirs)}")
    ours = sorted(normalize(d, trace, clock is None) for d in ours)
    theirs = sorted(normalize(d, False, clock is None) for d in theirs)
    if clock:
        want = f"\nDate: {harness.mail_date(*clock)}\n".encode()
        harness.check(all(want in d for d in ours), f"{clock}: want {want!r} in {ours[0]!r}")
    for a, b in zip(ours, theirs):
        harness.check(a == b, f"{args}: dumps differ:\n--- smtpstorm-agent\n{a.decode(errors='replace')}"
                      f"\n--- smtp-source\n{b.decode(errors='replace')}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        msg = os.path.join(tmp, "msg.txt")
        with open(msg, "w") as f:
            f.write("Subject: file test\nFrom: <x@y>\n\n.dot line\n..two dots\nbody\n.\nlast line")
        compare(["-m", "3", "-r", "2", "-l", "200", "-S", "hello there"])
        compare(["-d", "-m", "3", "-N", "-r", "3", "-l", "5000"])
        compare(["-o", "-m", "2"], trace=False)
        compare(["-F", msg, "-m", "2", "-d"])
        compare(["-m", "1", "-l", "160", "-f", "a@b", "-t", "c@d", "-M", "[1.2.3.4]"])
        compare(["-L", "-m", "2", "-r", "2", "-l", "81"], sink_args=["-L"])
        for clock in harness.CLOCK_CASES:
            compare(["-m", "2", "-r", "2", "-l", "200"], clock=clock)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
