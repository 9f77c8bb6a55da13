"""test_battery - a battery of hostile clients against one running
smtpstorm-sink (with STARTTLS, -d dumps, a short -t), all at once, while a
normal client (smtplib) keeps sending mail and must never fail:

- bare CR and bare LF in commands and in message data;
- SMTP smuggling: <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF>, <CR><LF>.<LF> never
  end a message; only <CR><LF>.<CR><LF> does, so a smuggler who hopes for
  two messages gets one (counted in the dumps);
- BDAT with wrong sizes: fewer octets than announced then close, non-numeric,
  negative, huge, BDAT 0 LAST, BDAT without MAIL, DATA after BDAT;
- 10,000 RCPTs in one BDAT transaction, every one in the dump;
- TLS garbage: random bytes before STARTTLS (as commands), instead of a
  ClientHello, a half ClientHello then silence, and garbage records after a
  valid handshake;
- 5,000 idle connections (RLIMIT_NOFILE raised, -m above them) that the
  sink closes after -t;
- a client sending one byte a second (within -t) and then stalling.
Bounded: every socket has a timeout, every wait a deadline."""

import glob
import os
import random
import re
import resource
import smtplib
import socket
import ssl
import sys
import tempfile
import threading
import time

import harness
from sinkutil import SINK, USER, Client

check = harness.check
TIMEOUT = 5             # the sink's -t
IDLE = 5000             # idle connections


def dumps_with(tmp, marker):
    """The -d files of transactions whose MAIL FROM was <marker>."""
    found = []
    for path in glob.glob(os.path.join(tmp, "dump", "m.*")):
        with open(path, "rb") as f:
            text = f.read()
        if re.search(rb"^X-Mail-Args: <" + re.escape(marker.encode()) + rb">[ \n]", text, re.M):
            found.append(text)
    return found


def start_transaction(c, marker, rcpts=1):
    check(c.reply().startswith("220 "), "greeting")
    c.send(b"EHLO battery\r\nMAIL FROM:<" + marker.encode() + b">\r\n"
           + b"".join(b"RCPT TO:<r%d@example>\r\n" % i for i in range(rcpts)))
    check("250-PIPELINING" in c.reply(), "EHLO")
    check(c.reply() == "250 2.1.0 Ok", "MAIL")
    for _ in range(rcpts):
        check(c.reply() == "250 2.1.5 Ok", "RCPT")


def rest(c, timeout=TIMEOUT + 3):
    """Every reply line until the server closes."""
    lines = []
    c.s.settimeout(timeout)
    try:
        while True:
            lines.append(c.line())
    except (EOFError, ConnectionResetError):
        pass
    return lines


# ---- bare CR and LF ----

def test_bare_cr_lf_commands(port, tmp):
    c = Client(port, timeout=10)
    c.reply()
    c.send(b"NOOP\n")                                   # bare LF ends a line, as smtp-sink
    check(c.reply() == "250 2.0.0 Ok", "bare LF command")
    c.send(b"NOOP\rNOOP\r\n")                           # bare CR does not split commands
    check(c.reply() == "500 5.5.1 Error: unknown command", "bare CR inside a verb")
    c.send(b"HELO x\rMAIL FROM:<evil>\r\n")             # nor hide one in an argument
    check(c.reply() == "250 smtp-sink", "HELO with a bare CR in its argument")
    c.send(b"RCPT TO:<a>\r\n")
    check(c.reply() == "503 5.5.1 Error: need MAIL command", "the hidden MAIL did not count")
    c.send(b"\r\r\n")
    check(c.reply().startswith("500 5.5."), "a lone CR line")
    c.send(b"QUIT\r\n")
    check(rest(c) == ["221 Bye"], "nothing more")


def test_bare_cr_lf_data(port, tmp):
    c = Client(port, timeout=10)
    start_transaction(c, "bare-data")
    c.send(b"DATA\r\n")
    check(c.reply().startswith("354 "), "DATA")
    c.send(b"Subject: bare\r\n\r\nline\nlf only\rcr only\r\n\r\n.\r\nQUIT\r\n")
    check(rest(c) == ["250 2.0.0 Ok", "221 Bye"], "one message")
    texts = dumps_with(tmp, "bare-data")
    check(len(texts) == 1 and b"line\nlf only" in texts[0] and b"cr only\n" in texts[0],
          f"dumped (CR dropped, as smtp-sink): {texts!r}")


# ---- SMTP smuggling ----

SMUGGLERS = {
    "lf-dot-lf": b"\n.\n",
    "cr-dot-cr": b"\r.\r",
    "lf-dot-crlf": b"\n.\r\n",
    "crlf-dot-lf": b"\r\n.\n",
}


def test_smuggling(port, tmp):
    for name, end in SMUGGLERS.items():
        marker = "smuggle-" + name
        c = Client(port, timeout=10)
        start_transaction(c, marker)
        c.send(b"DATA\r\n")
        check(c.reply().startswith("354 "), "DATA")
        c.send(b"Subject: first\r\n\r\nhello" + end
               + b"MAIL FROM:<smuggled-" + name.encode() + b">\r\nRCPT TO:<victim@example>\r\n"
               + b"DATA\r\nSubject: second\r\n\r\nsmuggled\r\n.\r\nQUIT\r\n")
        got = rest(c)
        check(got == ["250 2.0.0 Ok", "221 Bye"], f"{name}: one message, then QUIT: {got}")
        texts = dumps_with(tmp, marker)
        check(len(texts) == 1 and b"Subject: second" in texts[0],
              f"{name}: the smuggled message is data of the first: {texts!r}")
        check(not dumps_with(tmp, "smuggled-" + name), f"{name}: no second transaction")


# ---- BDAT ----

def test_bdat_wrong_sizes(port, tmp):
    c = Client(port, timeout=10)
    c.reply()
    c.send(b"EHLO x\r\nBDAT 5\r\nhelloNOOP\r\n")       # no MAIL: the chunk is read and refused
    check("250-CHUNKING" in c.reply(), "CHUNKING announced")
    check(c.reply() == "503 5.5.1 Error: need RCPT command", "BDAT without MAIL")
    check(c.reply() == "250 2.0.0 Ok", "the chunk was not taken for commands")
    for bad in (b"BDAT abc", b"BDAT -5", b"BDAT 99999999999999999999999", b"BDAT 1099511627777",
                b"BDAT", b"BDAT 5 LAST junk", b"BDAT +5", b"BDAT 0x10"):
        c.send(bad + b"\r\n")
        r = c.reply()
        check(r == "501 5.5.4 Syntax: BDAT count [LAST]", f"{bad!r}: {r}")
    c.send(b"MAIL FROM:<bdat-zero>\r\nRCPT TO:<b>\r\nBDAT 0 LAST\r\n")
    check([c.reply() for _ in range(3)] == ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok"],
          "BDAT 0 LAST ends an empty message")
    c.send(b"MAIL FROM:<bdat-mixed>\r\nRCPT TO:<b>\r\nBDAT 3\r\nabcDATA\r\nBDAT 2 LAST\r\nde")
    check([c.reply() for _ in range(5)]
          == ["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.0.0 Ok: 3 octets",
              "503 5.5.1 Error: BDAT in progress", "250 2.0.0 Ok"], "DATA within BDAT refused")
    c.send(b"QUIT\r\n")
    check(rest(c) == ["221 Bye"], "QUIT")
    check(len(dumps_with(tmp, "bdat-zero")) == 1 and len(dumps_with(tmp, "bdat-mixed")) == 1,
          "both BDAT messages dumped")
    texts = dumps_with(tmp, "bdat-mixed")
    check(b"abcde" in texts[0], f"chunks joined: {texts[0][-40:]!r}")

    c = Client(port, timeout=10)                        # fewer octets than announced, then close
    start_transaction(c, "bdat-short")
    c.send(b"BDAT 1000 LAST\r\n" + b"x" * 10)
    time.sleep(0.2)
    c.close()
    c = Client(port, timeout=10)                        # a huge chunk, then close
    start_transaction(c, "bdat-huge")
    c.send(b"BDAT 1099511627776 LAST\r\n" + b"y" * 100000)
    c.close()
    time.sleep(0.5)
    check(not dumps_with(tmp, "bdat-short") and not dumps_with(tmp, "bdat-huge"),
          "an unfinished chunk is no message")


def test_10000_rcpts(port, tmp):
    c = Client(port, timeout=60)
    c.reply()
    cmds = (b"EHLO x\r\nMAIL FROM:<many>\r\n"
            + b"".join(b"RCPT TO:<r%d@example.com>\r\n" % i for i in range(10000))
            + b"BDAT 6 LAST\r\nhello\n")
    sender = threading.Thread(target=c.send, args=(cmds,))
    sender.start()
    c.reply()
    check(c.reply() == "250 2.1.0 Ok", "MAIL")
    for i in range(10000):
        r = c.reply()
        if r != "250 2.1.5 Ok":
            raise AssertionError(f"RCPT {i}: {r}")
    check(c.reply() == "250 2.0.0 Ok", "message of 10,000 recipients")
    sender.join()
    c.close()
    texts = dumps_with(tmp, "many")
    check(len(texts) == 1 and texts[0].count(b"\nX-Rcpt-Args: <r") == 10000, "10,000 recipients dumped")


# ---- TLS ----

def test_tls_garbage(port, tmp):
    rnd = random.Random(5321)
    garbage = bytes(rnd.randrange(256) for _ in range(3000)).replace(b"\n", b"")

    # random bytes before STARTTLS: a too long line (or unknown commands)
    c = Client(port, timeout=10)
    c.reply()
    c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + garbage + b"\r\nNOOP\r\n")
    r = c.reply()
    check(r.startswith("500 5.5."), f"garbage before STARTTLS: {r}")
    check(c.reply() == "250 2.0.0 Ok", "the session goes on")
    c.close()

    def starttls():
        c = Client(port, timeout=10)
        c.reply()
        c.send(b"EHLO x\r\n")
        check("250-STARTTLS" in c.reply(), "STARTTLS announced")
        c.send(b"STARTTLS\r\n")
        check(c.reply() == "220 2.0.0 Ready to start TLS", "STARTTLS")
        return c

    c = starttls()                                      # random bytes instead of a ClientHello
    c.send(garbage[:1000])
    check(rest(c) == [], "handshake garbage: closed without plaintext")
    c.close()

    c = starttls()                                      # half a ClientHello, then silence
    c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 20)
    t0 = time.monotonic()
    check(rest(c, timeout=TIMEOUT + 5) == [] and time.monotonic() - t0 < TIMEOUT + 4,
          "stalled handshake closed after -t")
    c.close()

    c = starttls()                                      # a valid handshake, then garbage records
    tls = ssl._create_unverified_context().wrap_socket(c.s)
    tls.sendall(b"NOOP\r\n")
    check(tls.recv(100) == b"250 2.0.0 Ok\r\n", "TLS session works")
    raw = socket.socket(fileno=os.dup(tls.fileno()))
    raw.settimeout(TIMEOUT + 3)
    raw.sendall(b"\x17\x03\x03\x00\x40" + bytes(rnd.randrange(256) for _ in range(64)))
    closed = False
    try:
        while raw.recv(4096):                           # perhaps an alert first
            pass
        closed = True
    except ConnectionResetError:
        closed = True
    check(closed, "garbage record: connection closed")
    raw.close()
    tls.close()


# ---- many idle, one slow ----

def test_idle_connections(port, tmp):
    socks = []
    try:
        for i in range(IDLE):
            s = socket.socket()
            s.settimeout(10)
            s.connect(("127.0.0.1", port))
            socks.append(s)
        got = 0
        for s in socks[-20:]:                           # the last ones were served too
            got += s.recv(100).startswith(b"220 ")
        check(got == 20, f"greetings on the last connections: {got}/20")
        normal_client(port, "during-idle")
        deadline = time.monotonic() + TIMEOUT + 10      # -t closes them all
        closed = 0
        for s in socks:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                while s.recv(4096):
                    pass
                closed += 1
            except (socket.timeout, ConnectionResetError):
                closed += 0
        check(closed == IDLE, f"idle connections closed after -t: {closed}/{IDLE}")
    finally:
        for s in socks:
            s.close()


def test_one_byte_a_second(port, tmp):
    c = Client(port, timeout=TIMEOUT + 5)
    c.reply()
    for b in b"NOOP\r\n":                               # one byte a second, within -t
        c.send(bytes([b]))
        time.sleep(1)
    check(c.reply() == "250 2.0.0 Ok", "slow client answered")
    c.send(b"RS")                                       # then stalls
    t0 = time.monotonic()
    check(c.closed() and time.monotonic() - t0 < TIMEOUT + 4, "stalled client disconnected after -t")
    c.close()


# ---- the normal client ----

def normal_client(port, marker):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        refused = s.sendmail(marker + "@example.com", ["b@example.com", "c@example.com"],
                             b"Subject: normal\r\n\r\n.leading dot\r\nbody\r\n")
        check(refused == {}, f"normal client refused: {refused}")


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * IDLE + 512                               # our sockets, and the sink's (inherited)
    if hard != resource.RLIM_INFINITY and hard < want:
        print(f"note: RLIMIT_NOFILE hard limit {hard} < {want}: fewer idle connections")
        globals()["IDLE"] = max(100, (hard - 512) // 2)
        want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    with tempfile.TemporaryDirectory() as tmp, harness.Procs() as procs:
        cert, key = harness.make_cert(tmp)
        os.chmod(tmp, 0o777)            # the sink runs as nobody when we are root
        port = harness.free_port()
        log = open(os.path.join(tmp, "sink.log"), "wb")     # a warning per timeout: not a pipe
        p = procs.start([SINK] + USER + ["-t", str(TIMEOUT), "-m", str(IDLE + 100), "-d",
                                         os.path.join(tmp, "dump", "m."), "--tls-cert", cert,
                                         "--tls-key", key, f"127.0.0.1:{port}", "1000"],
                        stdout=log, stderr=log)
        harness.wait_port(port, proc=p)
        tests = [test_bare_cr_lf_commands, test_bare_cr_lf_data, test_smuggling, test_bdat_wrong_sizes,
                 test_10000_rcpts, test_tls_garbage, test_idle_connections, test_one_byte_a_second]
        tests = [t for t in tests if not sys.argv[1:] or t.__name__ in sys.argv[1:]]
        errors = []
        done = threading.Event()
        sent = [0]

        def run(t):
            try:
                t(port, tmp)
            except Exception as e:      # reported below
                errors.append(f"{t.__name__}: {e!r}")

        def normal():
            while not done.is_set():
                try:
                    normal_client(port, "normal")
                    sent[0] += 1
                except Exception as e:  # reported below
                    errors.append(f"normal client: {e!r}")
                    return
                time.sleep(0.1)

        threads = [threading.Thread(target=run, args=(t,)) for t in tests]
        side = threading.Thread(target=normal)
        side.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join(150)
        done.set()
        side.join(30)
        check(not any(t.is_alive() for t in threads),
              f"did not finish: {[tests[i].__name__ for i, t in enumerate(threads) if t.is_alive()]}")
        check(not errors, "; ".join(errors))
        check(sent[0] > 0, f"the normal client sent only {sent[0]} messages")
        check(p.poll() is None, "sink still running")
        normal_client(port, "after")
        check(len(dumps_with(tmp, "normal@example.com")) == sent[0], "every normal message dumped")
        print(f"ok: normal client sent {sent[0]} messages meanwhile")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
