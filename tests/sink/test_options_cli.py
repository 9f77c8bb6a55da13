"""test_options_cli - the smtpstorm-sink command line as smtp-sink's: bad
values exit 1 with a usage or fatal message, root needs -u, and the options
that change the conversation (-e -P -h -L -b -B -f -r -q -Q -A -w -M -n)."""

import os

import harness
from sinkutil import SINK, USER, Client, counters, start_sink

check = harness.check


def test_bad_values_exit_1():
    bad = [["-A", "x"], ["-b", "500 x"], ["-B", "4"], ["-f", "bogus"], ["-q", "x"], ["-Q", "y"],
           ["-r", "z"], ["-s", "w"], ["-H", "0"], ["-m", "0"], ["-M", "0"], ["-n", "0"],
           ["-t", "0"], ["-T", "-1"], ["-w", "0"], ["-W", "data"], ["-W", "nope:1"],
           ["-W", "data:1:200"], ["--threads", "0"], ["-Z"], ["--coordinator", "x"],
           ["-d", "a", "-D", "b"], ["--tls-cert", "/nonexistent"]]
    for args in bad:
        r = harness.run([SINK] + USER + args + ["127.0.0.1:1", "1"], timeout=10)
        check(r.returncode == 1, f"{args}: exit {r.returncode}")
        check(b"fatal:" in r.stderr, f"{args}: {r.stderr!r}")
    for args in [[], ["127.0.0.1:1"], ["127.0.0.1:1", "0"], ["127.0.0.1:1", "x"], ["a", "b", "c"]]:
        r = harness.run([SINK] + USER + args, timeout=10)
        check(r.returncode == 1 and b"fatal: usage:" in r.stderr, f"{args}: {r.stderr!r}")
    if os.geteuid() == 0:
        r = harness.run([SINK, "127.0.0.1:1", "1"], timeout=10)
        check(r.returncode == 1 and r.stderr.endswith(b"fatal: -u option is required if running as root\n"),
              f"root without -u: {r.stderr!r}")
    r = harness.run([SINK, "--help"], timeout=10)
    check(r.returncode == 0 and b"--threads" in r.stdout, "--help")
    r = harness.run([SINK, "--version"], timeout=10)
    check(r.returncode == 0 and r.stdout.startswith(b"smtpstorm-sink "), "--version")


def session(args, lines, procs=None):
    """Replies to lines (after the greeting), and the greeting."""
    with harness.Procs() as own:
        p, port = start_sink(procs or own, args)
        c = Client(port)
        out = [c.reply()]
        for line in lines:
            try:
                c.send(line)
                out.append(c.reply())
            except (EOFError, ConnectionResetError, BrokenPipeError):
                out.append("<closed>")
                break
        c.close()
        return out


def test_conversation_options():
    check(session(["-e", "-h", "mx.example"], [b"EHLO x\r\n", b"HELO x\r\n"]) ==
          ["220 mx.example", "500 5.5.1 Error: unknown command", "250 mx.example"], "-e -h")
    check(session(["-P"], [])[0] == "220 ********", "-P")
    r = session(["-8", "-a", "-C", "-E", "-F", "-N", "-p", "--no-size", "--no-chunking", "--no-smtputf8"],
                [b"EHLO x\r\n"])
    check(r[1] == "250-smtp-sink\n250 ", f"all extensions off: {r}")
    check(session(["-L"], [b"HELO x\r\n", b"LHLO x\r\n"])[1:2] == ["500 5.5.1 Error: unknown command"], "-L")
    r = session(["-b", "451 4.7.1 soft", "-B", "554 5.7.1 hard", "-r", "mail", "-f", "helo"],
                [b"HELO x\r\n", b"MAIL FROM:<a>\r\n"])
    check(r[1:] == ["554 5.7.1 hard", "451 4.7.1 soft"], f"-b -B -f -r: {r}")
    check(session(["-Q", "rcpt"], [b"HELO x\r\n", b"MAIL FROM:<a>\r\n", b"RCPT TO:<b>\r\n", b"NOOP\r\n"])[3:] ==
          ["421 4.0.0 Server closing connection", "<closed>"], "-Q")
    check(session(["-q", "mail"], [b"HELO x\r\n", b"MAIL FROM:<a>\r\n"])[2:] == ["<closed>"], "-q")
    r = session(["-A", "0"], [b"HELO x\r\n", b"MAIL FROM:<a>\r\n", b"RCPT TO:<b>\r\n", b"DATA\r\n", b""])
    check(r[4:] == ["354 End data with <CR><LF>.<CR><LF>", "550 This violates SMTP"], f"-A 0: {r}")
    r = session(["-w", "1", "-W", "noop:1:50"], [b"HELO x\r\n", b"MAIL FROM:<a>\r\n", b"RCPT TO:<b>\r\n",
                                                 b"DATA\r\n", b"x\r\n.\r\n", b"NOOP\r\n"])
    check(r[4:] == ["354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 Ok", "250 2.0.0 Ok"], f"-w -W: {r}")
    r = session(["-f", "connect"], [b"NOOP\r\n"])
    check(r == ["500 5.3.0 Error: command failed", "250 2.0.0 Ok"], f"-f connect: {r}")


def test_ends_after_messages_and_quits(tmp):
    out = os.path.join(tmp, "m.out")
    with harness.Procs() as procs, open(out, "wb") as f:
        p, port = start_sink(procs, ["-c", "-M", "3"], stdout=f)
        c = Client(port)
        c.reply()
        c.send(b"HELO x\r\n")
        c.reply()
        for i in range(3):              # the third 250 still arrives, then the sink ends
            c.send(b"MAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nx\r\n.\r\n")
            got = [c.reply() for _ in range(4)]
            check(got[3] == "250 2.0.0 Ok", f"message {i}: {got}")
        check(p.wait(timeout=20) == 0, "-M exit status")
        check(counters(out)[2] == 3, f"-c {counters(out)}")
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-n", "2"])
        for i in range(2):
            c = Client(port)
            c.reply()
            c.send(b"QUIT\r\n")
            check(c.reply() == "221 Bye", "quit")
            c.close()
        check(p.wait(timeout=20) == 0, "-n exit status")


def test_max_clients_queue(tmp):
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-m", "1"])
        a = Client(port)
        check(a.reply().startswith("220"), "first client")
        b = Client(port, timeout=0.5)   # queued in the listen backlog: no greeting yet
        try:
            b.reply()
            raise AssertionError("second client served beyond -m 1")
        except OSError:
            pass
        a.send(b"QUIT\r\n")
        a.reply()
        a.close()
        b.s.settimeout(20)
        check(b.reply().startswith("220"), "queued client served after the first left")
        b.close()


def test_max_clients_shared_by_threads(tmp):
    """-m is one count for all --threads loops: the kernel spreads
    connections over their listeners unevenly, and a fixed share a loop
    left some waiting while fewer than -m were open. The one over -m waits
    until a session ends, on whichever loop."""
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["--threads", "2", "-m", "40"])
        clients = [Client(port) for _ in range(40)]
        for i, c in enumerate(clients):
            check(c.reply().startswith("220"), f"client {i} of -m 40 greeted")
        extra = [Client(port, timeout=0.5) for _ in range(4)]
        for c in extra:             # queued in a listen backlog: no greeting yet
            try:
                c.reply()
                raise AssertionError("a client served beyond -m 40")
            except OSError:
                pass
            c.s.settimeout(20)
        for c in clients[:4]:
            c.send(b"QUIT\r\n")
            c.reply()
            c.close()
        for c in extra:
            check(c.reply().startswith("220"), "a queued client served once sessions ended")
        for c in clients[4:] + extra:
            c.close()


def test_descriptor_limit():
    """-m sessions need descriptors: the sink raises its own soft limit
    within the hard one, or says it cannot, with the numbers, and exits 1."""
    r = harness.run([SINK] + USER + ["-m", "1000", "127.0.0.1:1", "10"], timeout=10,
                    preexec_fn=harness.nofile_limits(64, 300))
    check(r.returncode == 1, f"hard limit 300 for -m 1000: exit {r.returncode}")
    check(b"fatal: -m 1000 sessions need 1073 file descriptors, but the hard limit is 300 (ulimit -Hn)"
          in r.stderr, f"hard limit 300 for -m 1000: {r.stderr!r}")
    with harness.Procs() as procs:
        port = harness.free_port()
        p = procs.start([SINK] + USER + ["-m", "200", f"127.0.0.1:{port}", "300"],
                        preexec_fn=harness.nofile_limits(64, 4096))
        harness.wait_port(port, proc=p)
        check(harness.soft_nofile(p.pid) == 200 + 64 + 9, f"soft limit {harness.soft_nofile(p.pid)}")
        clients = [Client(port) for _ in range(150)]     # beyond the soft limit it was given
        for c in clients:
            check(c.reply().startswith("220"), "greeted beyond the original soft limit")
        for c in clients:
            c.close()


def main():
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        test_descriptor_limit()
        test_bad_values_exit_1()
        test_conversation_options()
        test_ends_after_messages_and_quits(tmp)
        test_max_clients_queue(tmp)
        test_max_clients_shared_by_threads(tmp)
    print("ok")


if __name__ == "__main__":
    main()
