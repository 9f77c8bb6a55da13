"""The three programs under valgrind's memcheck, doing real work: the sink
(dumping, STARTTLS, BDAT) receiving from the agent in each of its modes
(lock-step, pipelining, chunking, STARTTLS, several recipients), and a
whole `smtpstorm run --local` campaign whose agent daemons and sink are
traced too (--trace-children). Every process writes its own valgrind log;
the test fails on any memory error or any definite or indirect leak in
any of them, and prints the first offending log.

valgrind runs only here and on the cmocka units (scripts/test); the other
suites run the programs under AddressSanitizer instead, which is faster
but a different instrument (valgrind also sees uninitialised reads and
works on the very binaries that ship)."""

import glob
import json
import os
import re
import shutil
import sys

import harness

SINK = harness.program("smtpstorm-sink")
AGENT = harness.program("smtpstorm-agent")
COORD = harness.program("smtpstorm")
USER = ["-u", "nobody"] if os.geteuid() == 0 else []

ERRORS = re.compile(r"ERROR SUMMARY: ([1-9][0-9]*) errors")
LEAKS = re.compile(r"(definitely|indirectly) lost: ([1-9][0-9,]*) bytes")


def valgrind(logdir, *extra):
    """The valgrind prefix: one log per process in logdir."""
    return ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--num-callers=30", f"--log-file={os.path.join(logdir, 'vg.%p.log')}", *extra]


def check_logs(logdir, want_at_least):
    """Fail on any error or leak in any log of logdir; there must be logs of
    at least want_at_least processes (so that the check checked something)."""
    logs = sorted(glob.glob(os.path.join(logdir, "vg.*.log")))
    harness.check(len(logs) >= want_at_least, f"{len(logs)} valgrind logs in {logdir}, want {want_at_least}+")
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        bad = ERRORS.search(text) or LEAKS.search(text)
        if bad:
            sys.stdout.write(text)
        harness.check(bad is None, f"{path}: {bad.group(0) if bad else ''}")
    print(f"{len(logs)} valgrind logs clean in {os.path.basename(logdir)}")
    return logs


def test_sink_and_agent(tmp):
    logdir = os.path.join(tmp, "pair")
    dumps = os.path.join(tmp, "dumps")
    os.chmod(tmp, 0o755)        # the sink runs as nobody (-u) and dumps below tmp
    os.makedirs(logdir)
    os.makedirs(dumps)
    os.chmod(dumps, 0o777)
    os.chmod(logdir, 0o777)
    cert, key = harness.make_cert(tmp)
    runs = [(["-d", "-s", "4", "-m", "100", "-r", "3", "-l", "2000"], 100),
            (["--pipelining", "-d", "-s", "4", "-m", "100"], 100),
            (["--chunking", "--pipelining", "-s", "2", "-m", "20"], 20),
            (["--starttls", "-d", "-s", "2", "-m", "20"], 20)]
    total = sum(n for _, n in runs)
    port = harness.free_port()
    with harness.Procs() as procs:
        sink = procs.start(valgrind(logdir) + [SINK] + USER + [
            "-d", os.path.join(dumps, "%H/m."), "--tls-cert", cert, "--tls-key", key,
            f"127.0.0.1:{port}", "64"])
        harness.wait_port(port, proc=sink, timeout=60)
        for args, n in runs:
            report = os.path.join(tmp, "agent.json")
            done = harness.run(valgrind(logdir) + [AGENT, "--quiet", "--json", report] + args
                               + [f"127.0.0.1:{port}"], timeout=300)
            harness.check(done.returncode == 0, f"agent {args}: exit {done.returncode} {done.stderr!r}")
            with open(report) as f:
                accepted = json.load(f)["totals"]["messages_accepted"]
            harness.check(accepted == n, f"agent {args}: {accepted} accepted, want {n}")
        sink.terminate()            # SIGTERM: the sink closes everything and exits 0
        out, err = sink.communicate(timeout=120)
        harness.check(sink.returncode == 0, f"sink exit {sink.returncode}: {err!r}")
    files = sum(len(fs) for _, _, fs in os.walk(dumps))
    harness.check(files == total, f"{files} dump files, want {total}")
    check_logs(logdir, 1 + len(runs))


def test_local_campaign(tmp):
    logdir = os.path.join(tmp, "campaign")
    os.makedirs(logdir)
    os.chmod(logdir, 0o777)
    report = os.path.join(tmp, "campaign.json")
    done, data = harness.run_campaign(
        valgrind(logdir, "--trace-children=yes")
        + [COORD, "run", "--local", "2", "-s", "4", "-m", "400", "--json", report],
        report, "valgrind campaign", timeout=600)
    harness.check(done.returncode == 0, f"campaign exit {done.returncode}")
    harness.check(data is not None and data["totals"]["messages_accepted"] == 400,
                  f"campaign report: {data and data['totals']}")
    check_logs(logdir, 4)       # the coordinator, two agents and the sink


def main():
    if shutil.which("valgrind") is None:
        print("skip: valgrind missing; scripts/install-deps installs it", file=sys.stderr)
        return harness.SKIP
    harness.run_tests([test_sink_and_agent, test_local_campaign], "valgrind.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
