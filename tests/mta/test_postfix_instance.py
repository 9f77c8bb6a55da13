#!/usr/bin/python3
"""test_postfix_instance - a throwaway Postfix (scripts/postfix-instance)
takes 500 messages from Postfix's smtp-source and relays every one of them to
Postfix's smtp-sink: over SMTP to two sinks, then over LMTP to a sink started
with -L. Afterwards no process of the instance is left, its directory is gone
and the default /etc/postfix/main.cf is as it was. Suite 'mta'; root only
(Postfix's master runs as root); only loopback."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import mta      # noqa: E402

MESSAGES = 500
SESSIONS = 10
DELIVERY_TIMEOUT = 60


def inject(port, messages=MESSAGES, sessions=SESSIONS):
    """Run smtp-source against the instance (-N: a new recipient each
    message, so the resolve cache does not pin every message to one sink);
    return its wall time."""
    argv0, env = harness.postfix_tool("smtp-source")
    t0 = time.monotonic()
    r = harness.run([argv0, "-N", "-s", str(sessions), "-m", str(messages), f"127.0.0.1:{port}"],
                    env=env, timeout=120)
    took = time.monotonic() - t0
    harness.check(r.returncode == 0 and not r.stderr,
                  f"smtp-source failed ({r.returncode}): {r.stderr.decode()[-2000:]}")
    return took


def test_postfix_relays_every_message_to_two_smtp_sinks():
    with harness.Procs() as procs:
        sinks = [mta.CountingSink(procs, harness.free_port()) for _ in range(2)]
        relays = [f"127.0.0.1:{s.port}" for s in sinks]
        with mta.Instance(harness.free_port(), relays=relays) as pf:
            injected = inject(pf.port)
            delivered = mta.wait_delivered(sinks, MESSAGES, pf, DELIVERY_TIMEOUT)
        # stopped: nothing more can arrive; the count must be exact
        counts = [s.count() for s in sinks]
        harness.check(sum(counts) == MESSAGES, f"sinks received {counts}, want {MESSAGES} in all")
        harness.check(all(c > 0 for c in counts), f"one sink got nothing: {counts}")
        print(f"smtp: injected {MESSAGES} in {injected:.2f}s, delivered in {delivered:.2f}s more, "
              f"sinks {counts}")


def test_postfix_delivers_every_message_over_lmtp():
    with harness.Procs() as procs:
        sink = mta.CountingSink(procs, harness.free_port(), lmtp=True)
        with mta.Instance(harness.free_port(), lmtps=[f"127.0.0.1:{sink.port}"]) as pf:
            injected = inject(pf.port)
            delivered = mta.wait_delivered([sink], MESSAGES, pf, DELIVERY_TIMEOUT)
        harness.check(sink.count() == MESSAGES, f"LMTP sink received {sink.count()}, want {MESSAGES}")
        print(f"lmtp: injected {MESSAGES} in {injected:.2f}s, delivered in {delivered:.2f}s more")


PREEXISTING = (b"# an operator's own default main.cf: must come back byte for byte\n"
               b"compatibility_level = 3.6\n"
               b"myhostname = operator.invalid\n"
               b"alternate_config_directories = /nonexistent/a,\n"
               b"    /nonexistent/b\n"
               b"#  trailing comment, no newline after it")


def test_two_instances_leave_an_existing_main_cf_byte_for_byte():
    """Two instances overlap (A starts, B starts, A stops, B stops) over an
    existing default main.cf: each unregisters only itself, and the last one
    puts the file back exactly."""
    if mta.default_main_cf() is not None or os.path.exists(mta.STATE):
        print("note: a default main.cf exists or an instance runs; overlap test not run")
        return
    os.makedirs(os.path.dirname(mta.DEFAULT_MAIN_CF), exist_ok=True)
    with open(mta.DEFAULT_MAIN_CF, "wb") as f:
        f.write(PREEXISTING)
    try:
        a = mta.Instance(harness.free_port(), relays=[f"127.0.0.1:{harness.free_port()}"]).start()
        try:
            b = mta.Instance(harness.free_port(), lmtps=[f"127.0.0.1:{harness.free_port()}"]).start()
        except Exception:
            a.stop(check=False)
            raise
        try:
            both = mta.default_main_cf()
            for inst in (a, b):
                harness.check(f"{inst.dir}/conf".encode() in both, f"{inst.dir} not registered: {both!r}")
            a.stop()
            mid = mta.default_main_cf()
            harness.check(f"{b.dir}/conf".encode() in mid and b"/nonexistent/b" in mid,
                          f"stopping A took more than A's entry: {mid!r}")
        finally:
            a.stop(check=False)
            b.stop()
        after = mta.default_main_cf()
        harness.check(after == PREEXISTING, f"main.cf not restored: {after!r}")
    finally:
        os.unlink(mta.DEFAULT_MAIN_CF)


def main():
    if os.geteuid() != 0:
        print("skip: needs root (Postfix's master runs as root)", file=sys.stderr)
        return harness.SKIP
    harness.postfix_tool("smtp-source")      # skips when not fetched
    before = mta.default_main_cf()
    alone_before = not os.path.exists(mta.STATE)
    tests = [test_postfix_relays_every_message_to_two_smtp_sinks,
             test_postfix_delivers_every_message_over_lmtp,
             test_two_instances_leave_an_existing_main_cf_byte_for_byte]
    failed = 0
    for t in tests:
        try:
            t()
            print(f"ok {t.__name__}")
        except Exception as e:  # report every test, then fail
            failed += 1
            print(f"FAIL {t.__name__}: {e}")
    after = mta.default_main_cf()
    if alone_before and not os.path.exists(mta.STATE):
        # no other instance ran meanwhile: the default main.cf is exactly as it was
        if after != before:
            failed += 1
            print(f"FAIL default main.cf changed: before {before!r}, after {after!r}")
    else:
        print("note: other instances ran meanwhile; checked only that ours were unregistered")
    print(f"{len(tests) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
