"""--chunking sends each message in one BDAT ... LAST (RFC 3030) when the
server offers CHUNKING, un-dot-stuffed; with --pipelining the envelope and
the chunk go in one write. Against a small BDAT server written here, and
against smtpstorm-sink when it is built and offers CHUNKING."""

import os
import sys
import tempfile

import harness
from agenttest import run_agent_json
from badserver import Server, bdat_sink

FILE = "Subject: chunk\n\n.leading dot\n..two\nbody\n.\nend"


def check_bdat(args, want):
    server = Server(bdat_sink)
    try:
        proc, rep = run_agent_json(list(args) + [f"127.0.0.1:{server.port}"])
    finally:
        server.stop()
    harness.check(proc.returncode == 0, f"{args}: {proc.stderr}")
    got = server.messages
    harness.check(len(got) == want, f"{args}: server got {len(got)} messages, want {want}")
    harness.check(all(m[0] == "BDAT" for m in got), f"{args}: not all by BDAT: {[m[0] for m in got]}")
    harness.check(rep["totals"]["messages_accepted"] == want, rep["totals"])
    harness.check(rep["latency_ms"]["data"] is None, "BDAT has no DATA phase")
    return got


def main():
    with tempfile.TemporaryDirectory() as tmp:
        msg = os.path.join(tmp, "msg.txt")
        with open(msg, "w") as f:
            f.write(FILE)
        got = check_bdat(["--chunking", "-m", "10", "-s", "3", "-F", msg], 10)
        for m in got:
            body = m[3].split(b"\r\n", 1)[1]        # after our trace header
            harness.check(body == FILE.replace("\n", "\r\n").encode() + b"\r\n\r\n",
                          f"BDAT content is the file, not dot-stuffed: {m[3]!r}")
        got = check_bdat(["--chunking", "--pipelining", "-d", "-m", "20", "-s", "2", "-r", "2",
                          "-l", "3000"], 20)
        harness.check(all(len(m[2]) == 2 for m in got), "two recipients each")
        harness.check(all(len(m[3].split(b"\r\n\r\n", 1)[1]) == 3002 for m in got), "3000-octet body")

    sink = harness.program("smtpstorm-sink")
    if os.access(sink, os.X_OK):
        with harness.Procs() as procs:
            port = harness.free_port()
            root = ["-u", "nobody"] if os.geteuid() == 0 else []
            p = procs.start([sink] + root + [f"127.0.0.1:{port}", "100"])
            harness.wait_port(port, proc=p)
            proc, rep = run_agent_json(["--chunking", "--pipelining", "-d", "-s", "4", "-m", "100",
                                        f"127.0.0.1:{port}"])
            harness.check(proc.returncode == 0 and rep["totals"]["messages_accepted"] == 100,
                          f"smtpstorm-sink: {proc.stderr}")
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
