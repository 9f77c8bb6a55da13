"""benchutil - what the bench/ programs share: the test harness's process
helpers (free_port, wait_port, stop), CPU times of a running process,
pinning a child to one CPU, and a sink's -c counter followed as it runs.
Not a benchmark itself."""

import os
import sys
import threading

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


class SinkCounter:
    """Follows a sink's -c output (sess=N quit=N mesg=N, CR-separated)."""

    def __init__(self, proc):
        self.mesg = 0
        self.proc = proc
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            buf = (buf + chunk)[-4096:]
            for part in reversed(buf.replace(b"\n", b"\r").split(b"\r")):
                if b"mesg=" in part:
                    try:
                        self.mesg = int(part.split(b"mesg=")[1].split()[0])
                    except (IndexError, ValueError):
                        continue
                    break
