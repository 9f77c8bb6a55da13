"""test_behaviour - smtpstorm-sink --behaviour FILE through Python's smtplib,
real processes on free ports: a rule rejecting *@gone.test, greylisting
(deferred, then accepted after min), SIGHUP with a changed file changes the
behaviour, SIGHUP with a broken file keeps it (and the log names the line),
and a bandwidth limit makes a 1 MB message take at least what it implies."""

import os
import signal
import smtplib
import time

import harness
from sinkutil import SINK, USER

check = harness.check


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


def start(procs, tmp, name, text):
    path = os.path.join(tmp, name)
    os.chmod(tmp, 0o755)        # SIGHUP reads it again as -u nobody
    write(path, text)
    port = harness.free_port()
    p = procs.start([SINK] + USER + ["--behaviour", path, f"127.0.0.1:{port}", "10"],
                    stderr=open(path + ".log", "wb"))
    harness.wait_port(port, proc=p)
    return p, port, path


def rcpt_codes(port, rcpts):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("client.test")
    s.mail("sender@example.org")
    codes = [s.rcpt(r)[0] for r in rcpts]
    s.quit()
    return codes


GONE = 'rules:\n  - { at: RCPT, recipient: "*@gone.test", reply: "550 5.1.1 No such user" }\n'


def test_reject_domain(tmp):
    with harness.Procs() as procs:
        _, port, _ = start(procs, tmp, "gone.yaml", GONE)
        codes = rcpt_codes(port, ["a@gone.test", "b@ok.test", "C@GONE.TEST", "d@gone.test.org"])
        check(codes == [550, 250, 550, 250], f"codes {codes}")


def test_greylist_defers_then_accepts(tmp):
    with harness.Procs() as procs:
        _, port, _ = start(procs, tmp, "grey.yaml", 'rules:\n  - { at: RCPT, recipient: "*@grey.test", '
                           'greylist: { min: 2s, lifetime: 1h } }\n')
        first = time.monotonic()
        check(rcpt_codes(port, ["u@grey.test", "v@ok.test"]) == [451, 250], "first attempt deferred")
        check(rcpt_codes(port, ["u@grey.test"]) == [451], "retry before min deferred")
        while time.monotonic() - first < 2.2:
            time.sleep(0.1)
        check(rcpt_codes(port, ["u@grey.test"]) == [250], "retry after min accepted")


def wait_log(path, what, after=0):
    """The first line of the sink's log (path.log) past offset after that
    holds what, and the offset past it."""
    def find():
        with open(path + ".log", "rb") as f:
            f.seek(after)
            for line in f.read().decode(errors="replace").splitlines(True):
                if what in line:
                    return line
        return None
    try:
        harness.wait_for(lambda: find() is not None, what=f"'{what}' in the sink's log")
    except AssertionError:
        with open(path + ".log", "rb") as f:
            raise AssertionError(f"no '{what}' in the sink's log: {f.read()!r}")
    return find(), os.path.getsize(path + ".log")


def test_sighup_reload_and_broken_file(tmp):
    with harness.Procs() as procs:
        p, port, path = start(procs, tmp, "hup.yaml", GONE)
        check(rcpt_codes(port, ["a@gone.test", "b@ok.test"]) == [550, 250], "before SIGHUP")
        write(path, 'rules:\n  - { at: RCPT, recipient: "*@ok.test", reply: "451 4.7.1 Later" }\n')
        p.send_signal(signal.SIGHUP)
        _, off = wait_log(path, "behaviour reloaded")
        check(rcpt_codes(port, ["a@gone.test", "b@ok.test"]) == [250, 451], "after SIGHUP")
        write(path, 'seed: 1\nrules:\n  - { at: RCPT, probability: 1.5, reply: "451 4.7.1 x" }\n')
        p.send_signal(signal.SIGHUP)
        line, _ = wait_log(path, "probability", off)
        check(f"{path}:3: probability must be from 0 to 1, not 1.5" in line, f"log: {line}")
        check(rcpt_codes(port, ["a@gone.test", "b@ok.test"]) == [250, 451], "broken file: behaviour kept")


def connect_code(port):
    """The greeting's code of a new connection (smtplib raises on a 421)."""
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    except smtplib.SMTPConnectError as e:
        return e.smtp_code
    s.quit()
    return 220


def test_intake_paused_then_open(tmp):
    """intake: paused over SIGHUP: new connections get 421, an open session
    gets 421 at its next command and is closed; a malformed file keeps the
    pause (its line named); intake: open takes mail again."""
    with harness.Procs() as procs:
        p, port, path = start(procs, tmp, "intake.yaml", GONE)
        held = smtplib.SMTP("127.0.0.1", port, timeout=30)
        held.ehlo("client.test")
        write(path, "intake: paused\n" + GONE)
        p.send_signal(signal.SIGHUP)
        _, off = wait_log(path, "behaviour reloaded")
        check(connect_code(port) == 421, "a new connection while paused")
        code, text = held.mail("sender@example.org")
        check(code == 421 and b"Intake paused" in text, f"open session's MAIL: {code} {text!r}")
        write(path, "intake: paused\nrules:\n  - { at: RCPT reply: x }\n")
        p.send_signal(signal.SIGHUP)
        line, off = wait_log(path, f"{path}:", off)
        check(f"{path}:3:" in line, f"log: {line}")
        check(connect_code(port) == 421, "a malformed file keeps the pause")
        write(path, "intake: open\n" + GONE)
        p.send_signal(signal.SIGHUP)
        wait_log(path, "behaviour reloaded", off)
        check(rcpt_codes(port, ["a@gone.test", "b@ok.test"]) == [550, 250], "intake: open again")


def test_open_session_takes_new_rules_at_its_next_transaction(tmp):
    """A session kept open across a reload (an MTA's connection cache across
    a campaign's phases) keeps the old rules for the transaction in hand and
    has the new ones from its next MAIL on."""
    with harness.Procs() as procs:
        p, port, path = start(procs, tmp, "phase.yaml", GONE)
        held = smtplib.SMTP("127.0.0.1", port, timeout=30)
        held.ehlo("client.test")
        held.mail("sender@example.org")
        check(held.rcpt("a@gone.test")[0] == 550, "the old rules before the reload")
        write(path, 'rules:\n  - { at: RCPT, recipient: "*@new.test", reply: "550 5.1.1 No such user" }\n')
        p.send_signal(signal.SIGHUP)
        wait_log(path, "behaviour reloaded")
        codes = [held.rcpt(r)[0] for r in ("b@gone.test", "c@new.test")]
        check(codes == [550, 250], f"the transaction in hand keeps the old rules: {codes}")
        held.rset()
        held.mail("sender@example.org")
        codes = [held.rcpt(r)[0] for r in ("d@gone.test", "e@new.test")]
        check(codes == [250, 550], f"the next transaction has the new rules: {codes}")
        held.quit()


def test_bad_file_at_start(tmp):
    path = os.path.join(tmp, "bad.yaml")
    write(path, "rules:\n  - { at: FOO, reply: \"550 5.0.0 x\" }\n")
    r = harness.run([harness.program("smtpstorm-sink"), "-u", "nobody", "--behaviour", path,
                     f"127.0.0.1:{harness.free_port()}", "10"], timeout=10)
    check(r.returncode == 1 and f"{path}:2: unknown command 'FOO'".encode() in r.stderr, f"{r.stderr!r}")


def test_bandwidth_lower_bound(tmp):
    rate = 256 * 1024
    with harness.Procs() as procs:
        _, port, _ = start(procs, tmp, "bw.yaml", "rules:\n  - { bandwidth: 256k }\n")
        body = ("x" * 998 + "\r\n") * 1000      # 1 MB
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("client.test")
        s.mail("sender@example.org")
        s.rcpt("r@ok.test")
        t = time.monotonic()
        code = s.data(body.encode())[0]
        took = time.monotonic() - t
        s.quit()
        # the burst allowance is a tenth of a second's worth
        check(code == 250 and took >= len(body) / rate - 0.2, f"{code}, {took:.2f} s for {len(body)} octets")


if __name__ == "__main__":
    harness.run_tests([test_open_session_takes_new_rules_at_its_next_transaction, test_reject_domain, test_greylist_defers_then_accepts, test_sighup_reload_and_broken_file,
                       test_intake_paused_then_open, test_bad_file_at_start, test_bandwidth_lower_bound], "sink-behaviour-")
