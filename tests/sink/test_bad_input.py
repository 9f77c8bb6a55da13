"""test_bad_input - hostile clients get the right reply or a timeout while
the sink keeps serving others: a multi-megabyte line without CRLF, NUL
bytes, 20,000 pipelined RCPT commands, a client sending a byte at a time,
one that stalls past -t."""

import os
import socket
import threading
import time

import harness
from sinkutil import Client, start_sink

check = harness.check


def good_transaction(port):
    """A complete transaction on the side: the sink keeps serving."""
    c = Client(port)
    check(c.reply().startswith("220 "), "greeting")
    c.send(b"HELO ok\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n")
    replies = [c.reply() for _ in range(4)]
    check(replies[-1].startswith("354"), f"{replies}")
    c.send(b"hello\r\n.\r\nQUIT\r\n")
    check(c.reply() == "250 2.0.0 Ok" and c.reply() == "221 Bye", "message accepted")
    c.close()


def test_huge_line(port):
    c = Client(port)
    c.reply()
    chunk = b"A" * 65536
    for _ in range(64):                 # 4 MB without a line end
        c.send(chunk)
    good_transaction(port)              # served meanwhile
    c.send(b"\r\nNOOP\r\n")
    check(c.reply() == "500 5.5.2 Error: command line too long", "long line refused")
    check(c.reply() == "250 2.0.0 Ok", "session goes on")
    c.close()


def test_nul_bytes(port):
    c = Client(port)
    c.reply()
    c.send(b"NO\x00OP\r\n\x00\r\nHELO x\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n")
    check(c.reply() == "500 5.5.1 Error: unknown command", "NUL in verb")
    check(c.reply().startswith("500 5.5."), "NUL line")
    for _ in range(4):
        c.reply()
    c.send(b"bin\x00ary\r\n\x00\r\n.\r\n")
    check(c.reply() == "250 2.0.0 Ok", "NUL in data accepted")
    c.close()


def test_many_rcpts(port):
    c = Client(port, timeout=60)
    c.reply()
    cmds = b"EHLO x\r\nMAIL FROM:<a>\r\n" + b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i
                                                     for i in range(20000)) + b"DATA\r\n"
    sender = threading.Thread(target=c.send, args=(cmds,))
    sender.start()
    c.reply()
    check(c.reply() == "250 2.1.0 Ok", "MAIL")
    for i in range(20000):
        r = c.reply()
        if r != "250 2.1.5 Ok":
            raise AssertionError(f"RCPT {i}: {r}")
    check(c.reply().startswith("354"), "DATA")
    sender.join()
    c.send(b".\r\n")
    check(c.reply() == "250 2.0.0 Ok", "message")
    c.close()


def test_slow_and_stalled(port):
    slow = Client(port)
    slow.reply()
    for b in b"NOOP\r\n":               # one byte a read, each within -t, longer than -t in all
        slow.send(bytes([b]))
        time.sleep(0.45)
    check(slow.reply() == "250 2.0.0 Ok", "slow client answered")
    good_transaction(port)
    slow.s.settimeout(30)
    slow.send(b"NO")                    # then stalls: the sink hangs up after -t
    check(slow.closed(), "stalled client disconnected")


def main():
    with harness.Procs() as procs:
        p, port = start_sink(procs, ["-t", "2"])
        tests = [test_huge_line, test_nul_bytes, test_many_rcpts, test_slow_and_stalled]
        errors = []

        def run(t):
            try:
                t(port)
            except Exception as e:      # reported below
                errors.append(f"{t.__name__}: {e!r}")

        threads = [threading.Thread(target=run, args=(t,)) for t in tests]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(not errors, "; ".join(errors))
        good_transaction(port)
        check(p.poll() is None, "sink still running")
    print("ok")


if __name__ == "__main__":
    main()
