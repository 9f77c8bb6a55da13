"""The command line of smtpstorm-agent: --help names every option with its
default, --version, bad values refused with the usage message and exit 1,
-c prints smtp-source's running counter byte for byte, an unexpected reply
aborts with smtp-source's message unless -A, and unix:pathname works."""

import os
import subprocess
import sys
import tempfile

import harness
from agenttest import AGENT, run_agent, run_agent_json, sink_argv, smtp_source, start_sink

LETTERS = "46AcCdfFlLmMNorRsStTvw"
LONGS = ["--threads", "--rate", "--duration", "--timeout", "--pipelining", "--chunking",
         "--starttls", "--tls-verify", "--tls-ca", "--auth", "--json", "--campaign-id", "--id",
         "--no-trace", "--quiet", "--help", "--version", "--mail-size", "--smtputf8"]


def main():
    p = run_agent(["--help"])
    harness.check(p.returncode == 0 and "usage:" in p.stdout, p.stderr)
    for ch in LETTERS:
        harness.check(f"  -{ch} " in p.stdout, f"--help does not describe -{ch}")
    for opt in LONGS:
        harness.check(f"  {opt}" in p.stdout, f"--help does not describe {opt}")
    harness.check(p.stdout.count("default") >= 20, "--help gives the defaults")
    manual = open(os.path.join(harness.SOURCE, "docs/smtpstorm-agent.1")).read().replace("\\-", "-")
    for opt in LONGS:
        harness.check(opt in manual, f"docs/smtpstorm-agent.1 does not describe {opt}")
    p = run_agent(["--version"])
    harness.check(p.returncode == 0 and p.stdout.startswith("smtpstorm-agent "), p.stdout)

    bad = [["-m", "0"], ["-m", "2x"], ["-s", "0"], ["-r", "-1"], ["-l", "abc"], ["-C", "0"],
           ["-T", "0"], ["-w", "0"], ["-R", "x"], ["-M", "bad host!"], ["-M", "[1.2.3]"],
           ["--rate", "0"], ["--duration", "-1"], ["--threads", "0"], ["--timeout", "x"],
           ["--timeout", "0"], ["--timeout", "-5"], ["--timeout", ""], ["--mail-size=1"],
           ["--auth", "nocolon"], ["--campaign-id", "a b"], ["--id", ""], ["-w", "1", "-R", "1"],
           ["-l", "5", "-F", "/etc/hostname"], ["--rate", "10", "-w", "1"], ["--bogus"], ["-x"],
           ["-m"], ["--tls-verify"]]
    for args in bad:
        p = run_agent(args + ["127.0.0.1:1"])
        harness.check(p.returncode == 1 and "usage:" in p.stderr and "fatal:" in p.stderr,
                      f"{args}: exit {p.returncode} {p.stderr!r}")
    for args in [[], ["127.0.0.1:1", "127.0.0.1:2"]]:
        p = run_agent(args)
        harness.check(p.returncode == 1 and "usage:" in p.stderr, f"{args}: {p.stderr!r}")

    # -s sessions need descriptors: raised within the hard limit, or a clear error
    p = run_agent(["-s", "1000", "127.0.0.1:1"], preexec_fn=harness.nofile_limits(64, 300))
    harness.check(p.returncode == 1 and "fatal: 1000 sessions need 1066 file descriptors, but the hard limit "
                  "is 300 (ulimit -Hn)" in p.stderr, f"hard limit 300 for -s 1000: {p.returncode} {p.stderr!r}")
    with harness.Procs() as procs:
        port = harness.free_port()
        start_sink(procs, ["-m", "300"], port)
        p = run_agent(["-d", "-s", "200", "-m", "400", f"127.0.0.1:{port}"],
                      preexec_fn=harness.nofile_limits(64, 4096))
        harness.check(p.returncode == 0 and "messages: 400 accepted" in p.stdout and "errors" not in p.stderr,
                      f"-s 200 with a soft limit of 64: {p.returncode} {p.stdout!r} {p.stderr!r}")

    with harness.Procs() as procs:
        port = harness.free_port()
        start_sink(procs, [], port)
        ours = subprocess.run([AGENT, "-c", "--quiet", "-m", "3", f"127.0.0.1:{port}"],
                              capture_output=True, timeout=60)
        argv, env = sink_argv("smtp-source")
        theirs = subprocess.run(argv + ["-c", "-m", "3", f"127.0.0.1:{port}"],
                                capture_output=True, timeout=60, env=env)
        harness.check(ours.stdout == theirs.stdout == b"1\r2\r3\r\n",
                      f"-c: ours {ours.stdout!r}, smtp-source {theirs.stdout!r}")
        ours = subprocess.run([AGENT, "-c", "-m", "2", f"inet:127.0.0.1:{port}"],
                              capture_output=True, timeout=60)
        harness.check(ours.stdout.startswith(b"1\r2\r\nmessages: 2 accepted"), ours.stdout)

        port = harness.free_port()
        start_sink(procs, ["-f", "RCPT"], port)
        theirs = smtp_source(["-m", "3", f"127.0.0.1:{port}"])
        ours = run_agent(["-m", "3", f"127.0.0.1:{port}"])
        want = theirs.stderr.split("fatal: ", 1)[-1].strip()
        harness.check(theirs.returncode == ours.returncode == 1, f"{theirs} {ours}")
        harness.check(f"fatal: {want}" in ours.stderr, f"want {want!r} in {ours.stderr!r}")
        proc, rep = run_agent_json(["-A", "-m", "3", "-s", "2", f"127.0.0.1:{port}"])
        harness.check(proc.returncode == 0, f"-A: {proc.returncode} {proc.stderr}")
        harness.check(rep["totals"]["messages_rejected"] == 3 and rep["totals"]["messages_accepted"] == 0,
                      rep["totals"])
        harness.check(sum(v for k, v in rep["replies"].items() if k.startswith("5")) == 3, rep["replies"])
        harness.check(proc.stderr.count("warning: recipient rejected: 5") == 3, proc.stderr)

    with harness.Procs() as procs, tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        path = os.path.join(tmp, "smtp.sock")
        argv, env = sink_argv("smtp-sink")
        sink = procs.start(argv + ["-c", f"unix:{path}", "10"], env=env)
        harness.wait_for(lambda: os.path.exists(path), what="smtp-sink's unix socket")
        proc, rep = run_agent_json(["-m", "4", "-s", "2", f"unix:{path}"])
        harness.check(proc.returncode == 0 and rep["totals"]["messages_accepted"] == 4,
                      f"unix: {proc.stderr}")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
