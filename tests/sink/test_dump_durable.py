"""test_dump_durable - a message that got 250 is complete in its dump:

- -d and -D (a message over the 1 MB spill size too): the sink is killed
  with SIGKILL as soon as the client reads the 250, and the dump holds the
  whole message;
- the order of system calls (strace): the dump's last write comes before
  the send of the 250; with --fsync, fsync of the file and of the directory
  of a new file come between them; without it, no fsync at all;
- --fsync without -d or -D is a usage error.
strace is optional: without it the order checks are skipped."""

import glob
import os
import re
import shutil
import signal
import tempfile

import harness
from sinkutil import SINK, USER, Client

check = harness.check


def body(size):
    line = b"0123456789" * 7 + b"abcdefgh\r\n"         # 80 octets
    return line * (size // len(line)) + b"the last line\r\n"


def send_message(port, marker, size):
    c = Client(port, timeout=30)
    check(c.reply().startswith("220 "), "greeting")
    c.send(b"EHLO d\r\nMAIL FROM:<" + marker.encode() + b">\r\nRCPT TO:<r@example>\r\nDATA\r\n")
    c.reply()
    check(c.reply() == "250 2.1.0 Ok" and c.reply() == "250 2.1.5 Ok", "envelope")
    check(c.reply().startswith("354 "), "DATA")
    c.send(body(size) + b".\r\n")
    return c


def start(procs, tmp, args, strace=None):
    port = harness.free_port()
    log = open(os.path.join(tmp, "sink.log"), "ab")
    argv = [SINK] + USER + args + [f"127.0.0.1:{port}", "10"]
    if strace:
        argv = ["strace", "-f", "-qq", "-s", "40", "-e", "trace=write,sendto,fsync,fdatasync,openat",
                "-o", strace] + argv
    p = procs.start(argv, stdout=log, stderr=log)
    harness.wait_port(port, proc=p, timeout=20)
    return p, port


def expected_dump_tail(size):
    return body(size).replace(b"\r\n", b"\n") + b"\n"


def test_kill_after_250(tmp, mode, size, fsync):
    """SIGKILL the moment the 250 is read; the dump must be whole."""
    d = tempfile.mkdtemp(dir=tmp)
    os.chmod(d, 0o777)
    template = os.path.join(d, "m." if mode == "-d" else "shared")
    with harness.Procs() as procs:
        p, port = start(procs, tmp, [mode, template] + (["--fsync"] if fsync else []))
        marker = f"kill{mode}{size}{'-fsync' if fsync else ''}"
        c = send_message(port, marker, size)
        r = c.reply()
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        check(r == "250 2.0.0 Ok", f"{marker}: {r}")
        c.close()
    files = glob.glob(template + "*")
    check(len(files) == 1, f"{marker}: one dump file, found {files}")
    with open(files[0], "rb") as f:
        text = f.read()
    check(f"X-Mail-Args: <{marker}>\n".encode() in text, f"{marker}: envelope dumped")
    check(text.endswith(expected_dump_tail(size)), f"{marker}: dump incomplete ({len(text)} octets): "
          f"{text[-60:]!r}")


def syscalls(path):
    """strace lines as (call, first argument, text)."""
    calls = []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"\d+\s+(\w+)\((\d+)?(.*)", line)
            if m:
                calls.append((m.group(1), m.group(2), line))
    return calls


def test_order(tmp, mode, fsync):
    """The dump is written (and flushed with --fsync) before the 250 is sent."""
    d = tempfile.mkdtemp(dir=tmp)
    os.chmod(d, 0o777)
    trace = os.path.join(tmp, f"strace{mode}{fsync}.txt")
    template = os.path.join(d, "m." if mode == "-d" else "shared")
    with harness.Procs() as procs:
        p, port = start(procs, tmp, [mode, template] + (["--fsync"] if fsync else []), strace=trace)
        c = send_message(port, "order", 3000)
        check(c.reply() == "250 2.0.0 Ok", "message accepted")
        c.send(b"QUIT\r\n")
        check(c.reply() == "221 Bye", "QUIT")
        c.close()
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            sink_pid = int(f.read().split()[0])     # strace's child: the sink
        os.kill(sink_pid, signal.SIGTERM)
        p.wait(10)
    calls = syscalls(trace)
    sent = [i for i, (call, _, text) in enumerate(calls) if call == "sendto" and "250 2.0.0 Ok" in text]
    check(sent, f"no send of the 250 in {trace}")
    sent = sent[-1]
    dump_fds = {re.search(r"= (\d+)$", text.strip()).group(1) for call, _, text in calls
                if call == "openat" and '"' + d in text and "O_DIRECTORY" not in text
                and re.search(r"= (\d+)$", text.strip())}
    writes = [i for i, (call, fd, _) in enumerate(calls) if call == "write" and fd in dump_fds]
    check(writes and max(writes) < sent, f"{mode}: dump written before the 250: writes {writes}, send {sent}")
    syncs = [i for i, (call, _, _) in enumerate(calls) if call in ("fsync", "fdatasync")]
    if fsync:
        check(len(syncs) >= 2 and max(writes) < min(syncs) and max(syncs) < sent,
              f"{mode} --fsync: file and directory flushed between the write and the 250: "
              f"writes {writes}, syncs {syncs}, send {sent}")
    else:
        check(not syncs, f"{mode}: no fsync without --fsync: {syncs}")


def test_fsync_needs_a_dump():
    r = harness.run([SINK] + USER + ["--fsync", f"127.0.0.1:{harness.free_port()}", "10"], timeout=10)
    check(r.returncode == 1 and b"--fsync goes with -d or -D" in r.stderr, f"--fsync alone: {r!r}")


def main():
    test_fsync_needs_a_dump()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)            # the sink runs as nobody when we are root
        for mode, size in (("-d", 300000), ("-D", 300000), ("-D", 1500000)):
            for fsync in (False, True):
                test_kill_after_250(tmp, mode, size, fsync)
        if shutil.which("strace"):
            for mode in ("-d", "-D"):
                for fsync in (False, True):
                    test_order(tmp, mode, fsync)
        else:
            print("note: no strace; system call order not checked")
    print("ok")


if __name__ == "__main__":
    main()
