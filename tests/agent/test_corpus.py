"""--corpus (issue 15): a corpus made by Python's mailbox module, an mbox
and a maildir with leading dots, long (but legal) lines and 8-bit text,
arrives in smtpstorm-sink's -d dumps identical to the source messages (the
sink's own header lines and the trace header removed, CRLF and
dot-stuffing undone by the dump); a message with a line over 998 octets
is left out and named; --corpus-shuffle sends each message once per cycle
in another order; a campaign of two agents reads the corpus on their host;
a missing corpus is refused by the agent and, in a campaign, by each
agent naming the path."""

import glob
import mailbox
import os
import email.message
import sys

import harness
from agenttest import run_agent

check = harness.check
SINK = harness.program("smtpstorm-sink")
USER = ["-u", "nobody"] if os.geteuid() == 0 else []
SINK_HEADERS = (b"X-Client-Addr:", b"X-Client-Proto:", b"X-Helo-Args:", b"X-Mail-Args:", b"X-Rcpt-Args:",
                b"X-Smtpstorm-Trace:")


def make_corpus(tmp):
    """An mbox and a maildir of the same 6 messages; the 6th has a 1200-octet line."""
    mb = mailbox.mbox(os.path.join(tmp, "box.mbox"))
    md = mailbox.Maildir(os.path.join(tmp, "maildir"))
    for i in range(6):
        m = email.message.EmailMessage()
        m["From"] = f"a{i}@src.test"
        m["To"] = "b@dst.test"
        m["Subject"] = f"message {i} caf\u00e9"
        body = (f".a leading dot\n..two of them\nline {i}: 8-bit \u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9\n"
                + "y" * 900 + "\n.\n")
        if i == 5:
            body += "z" * 1200 + "\n"
        m.set_content(body, charset="utf-8", cte="8bit")
        mb.add(m)
        md.add(m)
    mb.flush()
    mb.close()
    want = {}
    for key, m in mailbox.mbox(os.path.join(tmp, "box.mbox")).items():
        data = mailbox.mbox(os.path.join(tmp, "box.mbox")).get_bytes(key)
        want[data.split(b"Subject: ", 1)[1].split(b"\n", 1)[0]] = data
    return os.path.join(tmp, "box.mbox"), os.path.join(tmp, "maildir"), want


def dumped(folder):
    """Each dump with the sink's header lines (and their folded lines), the trace header and the
    empty line smtp-sink's dump format ends with removed."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "m.*"))):
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        i = 0
        while i < len(lines) and (lines[i].startswith(SINK_HEADERS) or lines[i].startswith(b"Received:")
                                  or (lines[i][:1] == b"\t")):
            i += 1
        data = b"\n".join(lines[i:])
        check(data.endswith(b"\n\n"), f"{path}: no empty last line, as smtp-sink's dumps have")
        out.append(data[:-1])
    return out


def start_sink(procs, tmp, name):
    folder = os.path.join(tmp, name)
    os.mkdir(folder)
    os.chmod(folder, 0o777)
    port = harness.free_port()
    p = procs.start([SINK, *USER, "-d", os.path.join(folder, "m."), f"127.0.0.1:{port}", "100"])
    harness.wait_port(port, proc=p)
    return port, folder


def test_corpus_arrives_identical(tmp):
    os.chmod(tmp, 0o755)
    mbox, maildir, want = make_corpus(tmp)
    with harness.Procs() as procs:
        for name, path, extra in (("mbox", mbox, []), ("maildir", maildir, ["-d"]),
                                  ("shuffled", mbox, ["--corpus-shuffle", "--seed", "3"])):
            port, folder = start_sink(procs, tmp, f"dumps-{name}")
            proc = run_agent(["-m", "10", "--quiet", "--corpus", path, *extra, f"127.0.0.1:{port}"])
            check(proc.returncode == 0, f"{name}: {proc.stderr}")
            check("1 messages left out" in proc.stderr and "a line over 998 octets" in proc.stderr,
                  f"{name}: the long line not named: {proc.stderr}")
            harness.wait_for(lambda: len(glob.glob(os.path.join(folder, "m.*"))) == 10, what=f"{name} dumps")
            got = dumped(folder)
            subjects = [g.split(b"Subject: ", 1)[1].split(b"\n", 1)[0] for g in got]
            check(sorted(subjects) == sorted([s for s in want if b"message 5" not in s] * 2),
                  f"{name}: messages sent {sorted(subjects)}")
            for subject, data in zip(subjects, got):
                check(data == want[subject], f"{name}: {subject!r} differs:\n{data[:300]!r}\nwant\n"
                                             f"{want[subject][:300]!r}")


def test_corpus_in_a_campaign_and_refused(tmp):
    os.chmod(tmp, 0o755)
    sub = os.path.join(tmp, "campaign-corpus")
    os.mkdir(sub)
    mbox, _, want = make_corpus(sub)
    with harness.Procs() as procs:
        port, folder = start_sink(procs, tmp, "campaign")
        report = os.path.join(tmp, "corpus.json")
        done, data = harness.run_campaign([harness.program("smtpstorm"), "run", "--local", "2", "-s", "2", "-m", "10",
                                           "--corpus", mbox, "--json", report, f"127.0.0.1:{port}"], report,
                                          "corpus campaign")
        check(done.returncode == 0 and data["totals"]["messages_accepted"] == 10, f"campaign: exit {done.returncode}")
        check(data["traffic"]["corpus"] == mbox, f"traffic {data['traffic']}")
        check(all(a["corpus"] == {"messages": 5, "skipped": 1} for a in data["agents"]),
              f"agents' corpus {[a['corpus'] for a in data['agents']]}")
        harness.wait_for(lambda: len(glob.glob(os.path.join(folder, "m.*"))) == 10, what="campaign dumps")
        for g in dumped(folder):
            subject = g.split(b"Subject: ", 1)[1].split(b"\n", 1)[0]
            check(g == want[subject], f"campaign: {subject!r} differs")
    proc = run_agent(["--corpus", os.path.join(tmp, "nowhere"), "127.0.0.1:1"])
    check(proc.returncode != 0 and "--corpus: " + os.path.join(tmp, "nowhere") in proc.stderr, f"agent: {proc.stderr}")
    done = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "-m", "3", "--corpus",
                        os.path.join(tmp, "nowhere"), "127.0.0.1:1"], timeout=60)
    out = done.stdout.decode() + done.stderr.decode()
    check(done.returncode != 0 and "refused its part" in out and "nowhere" in out, f"campaign: {out}")


def main():
    harness.run_tests([test_corpus_arrives_identical, test_corpus_in_a_campaign_and_refused], "corpus-")


if __name__ == "__main__":
    sys.exit(main())
