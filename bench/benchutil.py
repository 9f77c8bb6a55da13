"""benchutil - what the bench/ programs share: the test harness's process
helpers (free_port, wait_port, stop), CPU times of a running process,
pinning a child to one CPU, the command line of a lock-step source,
Postfix's smtp-sink for the length of a with block, and 95% intervals;
harness.SinkCount follows a sink's -c counter.
Not a benchmark itself."""

import contextlib
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "tools"))
import harness  # noqa: E402,F401  (re-exported: free_port, wait_port, stop)

TICK = os.sysconf("SC_CLK_TCK")


def cpu_times(pid):
    """(user, system) CPU seconds of process pid so far, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK


def pinned(cpu):
    """A preexec_fn that keeps a child on one CPU (None: anywhere)."""
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def source_argv(path, port, n):
    """The command line that runs the lock-step source at path (an
    smtpstorm-agent build, given --quiet, Postfix's smtp-source, or
    bench/floor-source) against 127.0.0.1:port for n messages: 20
    sessions, -d, 5 KB messages."""
    name = os.path.basename(path)
    if name.startswith("floor-source"):
        return [path, "127.0.0.1", str(port), "20", str(n)]
    quiet = [] if name == "smtp-source" else ["--quiet"]
    return [path] + quiet + ["-s", "20", "-d", "-l", "5000", "-m", str(n), f"127.0.0.1:{port}"]


def check_sources(prog, paths):
    """Exit with prog's message unless every path is an executable file."""
    for path in paths:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            sys.exit(f"{prog}: {path}: not an executable")


POSTFIX = os.path.join(TOP, ".cache", "postfix")     # scripts/fetch-postfix's


def postfix_env():
    """The environment Postfix's programs (scripts/fetch-postfix) run in."""
    return dict(os.environ, LD_LIBRARY_PATH=os.path.join(POSTFIX, "usr", "lib", "postfix"))


@contextlib.contextmanager
def postfix_sink(cpu):
    """Postfix's smtp-sink on 127.0.0.1 (pinned to cpu; None: anywhere),
    accepting, for the with block; yields its port."""
    root = ["-u", "nobody"] if os.geteuid() == 0 else []
    port = harness.free_port()
    sink = subprocess.Popen([os.path.join(POSTFIX, "usr", "sbin", "smtp-sink")] + root
                            + [f"127.0.0.1:{port}", "1024"], env=postfix_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=pinned(cpu))
    try:
        harness.wait_port(port, proc=sink)
        yield port
    finally:
        harness.stop([sink])


def t975(df):
    """Student's t quantile 0.975 for df degrees of freedom (the two-sided
    95% interval): exact to 3 decimals from a table up to 30, then the
    Cornish-Fisher expansion around the normal quantile."""
    table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
             2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
             2.052, 2.048, 2.045, 2.042]
    if df < 1:
        raise ValueError("t975: at least one degree of freedom")
    if df <= len(table):
        return table[df - 1]
    z = 1.959964
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci95(values):
    """(mean, half-width of its 95% confidence interval) of independent
    samples, by Student's t."""
    n = len(values)
    if n < 2:
        raise ValueError("mean_ci95: at least two samples")
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    return mean, t975(n - 1) * (var / n) ** 0.5
