"""agenttest - helpers the agent's integration tests share: run
smtpstorm-agent, start Postfix's smtp-sink, read its counters and dumps,
load the agent's JSON report, and run Python's aiosmtpd. Built on tests/tools/harness.py."""

import json
import os
import re
import signal
import subprocess
import tempfile

import harness

AGENT = harness.program("smtpstorm-agent")
HERE = os.path.dirname(os.path.abspath(__file__))


def run_agent(args, timeout=60, **kw):
    """Run smtpstorm-agent with args to completion (CompletedProcess, text).
    Fails the test on any AddressSanitizer/UBSan report, whatever the exit
    status the test expects."""
    p = subprocess.run([AGENT] + list(args), capture_output=True, text=True,
                       timeout=timeout, **kw)
    harness.check("Sanitizer" not in p.stderr and "runtime error:" not in p.stderr,
                  f"{args}: sanitizer report:\n{p.stderr}")
    return p


def run_agent_json(args, timeout=60):
    """Run the agent with --json into a temporary file: (proc, report)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "report.json")
        proc = run_agent(list(args) + ["--json", path], timeout=timeout)
        report = None
        if os.path.exists(path):
            with open(path) as f:
                report = json.load(f)
        return proc, report


def sink_argv(name="smtp-sink"):
    """argv prefix and env for Postfix's smtp-sink (or smtp-source)."""
    path, env = harness.postfix_tool(name)
    argv = [path]
    if name == "smtp-sink" and os.geteuid() == 0:
        argv += ["-u", "nobody"]
    return argv, env


def start_sink(procs, args, port, clock=None):
    """Start smtp-sink with args on 127.0.0.1:port (its wall clock stopped at
    clock, a (when, tz) of harness.CLOCK_CASES); wait until it listens."""
    argv, env = sink_argv("smtp-sink")
    if clock:
        env = harness.fake_clock(env, *clock)
    p = procs.start(argv + list(args) + [f"127.0.0.1:{port}", "100"], env=env)
    harness.wait_port(port, proc=p)
    return p


def stop_sink_counts(proc):
    """Stop an smtp-sink started with -c and return its last counters as a
    dict {sess, quit, mesg}."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    text = out.decode(errors="replace") if isinstance(out, bytes) else out
    found = re.findall(r"sess=(\d+) quit=(\d+) mesg=(\d+)", text)
    harness.check(found, f"no counters in smtp-sink output {text!r} {err!r}")
    sess, quit_, mesg = (int(x) for x in found[-1])
    return {"sess": sess, "quit": quit_, "mesg": mesg}


def smtp_source(args, timeout=60, clock=None):
    """Run Postfix's own smtp-source with args to completion (its wall clock
    stopped at clock, as start_sink's)."""
    argv, env = sink_argv("smtp-source")
    if clock:
        env = harness.fake_clock(env, *clock)
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=timeout,
                          env=env)


def read_dumps(directory):
    """Contents of every smtp-sink dump file in directory (bytes)."""
    out = []
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out.append(f.read())
    return out


def start_aiosmtpd(procs, tmp, *extra):
    """Start Python's aiosmtpd (aiosmtpd_server.py with extra options) on a
    free port; wait until it listens. Returns (port, the JSON-lines file of
    what it receives)."""
    port = harness.free_port()
    out = os.path.join(tmp, f"got-{port}.jsonl")
    p = procs.start(["/usr/bin/python3", os.path.join(HERE, "aiosmtpd_server.py"), "--port",
                     str(port), "--out", out] + list(extra))
    harness.wait_port(port, proc=p)
    return port, out


def aiosmtpd_received(out):
    """The messages start_aiosmtpd's server recorded in out, in order."""
    if not os.path.exists(out):
        return []
    with open(out) as f:
        return [json.loads(line) for line in f]
