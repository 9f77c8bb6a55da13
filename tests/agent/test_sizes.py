"""--size, --recipients and --seed (issue 15), as Python's aiosmtpd (a peer
nobody here wrote) receives the messages:

- every body has the length drawn and smtp-source's -l shape (numbered
  80-octet lines, the rest as one line, then CRLF); the agent's --json
  body_sizes counts exactly what arrived;
- the same --seed sends the same multiset of sizes whatever the sessions,
  threads and pipelining, and in a campaign on 1 agent and on 3 (the
  command line and the campaign file's size:/seed: keys); another seed
  another one;
- --recipients 1-4: every message has a drawn number of recipients, each
  numbered as -r numbers them; the same seed gives the same multiset on
  any split, on the command line and as the campaign key recipients:;
- the sizes that arrive follow the asked log-normal (a Kolmogorov-Smirnov
  test against its CDF, fixed seed);
- a bad distribution is refused with the token named, by the agent, by
  smtpstorm run and in a campaign file (with its line); --size with -l too."""

import math
import os
import re
import sys

import harness
from agenttest import aiosmtpd_received, run_agent, run_agent_json, start_aiosmtpd

check = harness.check
MIX = "mix:100=50,3k=30,20k=20"


def bodies(out):
    """The body of every message aiosmtpd recorded (after the headers)."""
    got = []
    for m in aiosmtpd_received(out):
        data = m["data"]
        at = data.find("\r\n\r\n")
        check(at > 0, f"no header end in {data[:200]!r}")
        got.append(data[at + 4:])
    return got


def drawn_lengths(out):
    """Each body's drawn length (-l's meaning: before the final CRLF), after
    checking its shape."""
    lengths = []
    for body in bodies(out):
        check(body.endswith("\r\n"), f"body does not end in CRLF: {body[-10:]!r}")
        lines = body[:-2].split("\r\n")
        for i, line in enumerate(lines[:-1]):
            check(len(line) == 78 and line[0] == "0123456789"[(i + 1) % 10] and set(line[1:]) <= {"X"},
                  f"line {i} of a body: {line[:20]!r}... ({len(line)} octets)")
        last = lines[-1]
        check(len(last) < 80 and (last == "" or (last[0].isdigit() and set(last[1:]) <= {"X"})),
              f"last line {last!r}")
        lengths.append(len(body) - 2)
    return lengths


def test_standalone_same_seed_same_sizes(tmp):
    runs = {}
    with harness.Procs() as procs:
        for name, extra in (("one session", ["-s", "1", "--seed", "9"]),
                            ("threads and pipelining", ["-s", "6", "--threads", "3", "-d", "--pipelining",
                                                        "--seed", "9"]),
                            ("another seed", ["-s", "2", "--seed", "10"])):
            port, out = start_aiosmtpd(procs, tmp, "--pipelining")
            proc, rep = run_agent_json(["-m", "200", "--size", MIX, "--quiet"] + extra + [f"127.0.0.1:{port}"])
            check(proc.returncode == 0 and rep["totals"]["messages_accepted"] == 200, f"{name}: {proc.stderr}")
            lengths = drawn_lengths(out)
            check(len(lengths) == 200, f"{name}: {len(lengths)} messages arrived")
            check(set(lengths) <= {100, 3072, 20480}, f"{name}: sizes {sorted(set(lengths))}")
            bs = rep["body_sizes"]
            check(bs["count"] == 200 and bs["total_octets"] == sum(lengths) and bs["max"] == max(lengths),
                  f"{name}: body_sizes {bs}, arrived {sum(lengths)} octets, max {max(lengths)}")
            runs[name] = sorted(lengths)
    check(runs["one session"] == runs["threads and pipelining"], "the same seed sent other sizes")
    check(runs["one session"] != runs["another seed"], "another seed sent the same sizes")


def lognormal_cdf(x, median, sigma, cut):
    """dist_cdf of lib/dist.c: values are rounded, cut at max."""
    if x >= cut:
        return 1.0
    return 0.5 * math.erfc(-(math.log(math.floor(x) + 0.5) - math.log(median)) / (sigma * math.sqrt(2)))


def test_sizes_follow_the_lognormal(tmp):
    n, median, sigma, cut = 2000, 2048, 0.8, 65536
    with harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp, "--pipelining")
        proc = run_agent(["-m", str(n), "-s", "8", "-d", "--pipelining", "--seed", "1", "--quiet",
                          "--size", f"lognormal:median=2k,sigma={sigma},max=64k", f"127.0.0.1:{port}"],
                         timeout=120)
        check(proc.returncode == 0, f"lognormal: {proc.stderr}")
        lengths = sorted(drawn_lengths(out))
    check(len(lengths) == n, f"{len(lengths)} of {n} arrived")
    worst = max(max(abs((i + 1) / n - lognormal_cdf(x, median, sigma, cut)),
                    abs(i / n - lognormal_cdf(x - 1, median, sigma, cut))) for i, x in enumerate(lengths))
    check(worst < 1.95 / math.sqrt(n), f"Kolmogorov-Smirnov distance {worst:.4f} over {1.95 / math.sqrt(n):.4f}")


def campaign_lengths(tmp, procs, name, argv):
    port, out = start_aiosmtpd(procs, tmp, "--pipelining")
    report = os.path.join(tmp, f"{name}.json")
    done, data = harness.run_campaign([harness.program("smtpstorm"), "run"] + argv
                                      + ["--json", report, f"127.0.0.1:{port}"], report, name)
    check(done.returncode == 0 and data["totals"]["messages_accepted"] == 150, f"{name}: exit {done.returncode}")
    return sorted(drawn_lengths(out))


def test_campaign_same_multiset_on_1_and_3_agents(tmp):
    path = os.path.join(tmp, "sizes.yaml")
    with open(path, "w") as f:
        f.write(f"messages: 150\nsessions: 3\nsize: \"{MIX}\"\nseed: 4\n")
    with harness.Procs() as procs:
        one = campaign_lengths(tmp, procs, "one agent", ["--local", "1", "-s", "3", "-m", "150", "--size", MIX,
                                                         "--seed", "4"])
        three = campaign_lengths(tmp, procs, "three agents", ["--local", "3", "--campaign", path])
    check(len(one) == 150 and one == three, f"1 agent and 3 agents sent other sizes: {one[:5]} {three[:5]}")


def rcpt_counts(out):
    """How many recipients each recorded message had (checking -r's numbering)."""
    counts = []
    for m in aiosmtpd_received(out):
        n = len(m["rcpt_tos"])
        want = [f"{k}r@rcpt.test" if k > 1 else "r@rcpt.test" for k in range(n, 0, -1)]
        check(m["rcpt_tos"] == want, f"recipients {m['rcpt_tos']}, want {want}")
        counts.append(n)
    return sorted(counts)


def test_recipients_drawn(tmp):
    runs = {}
    path = os.path.join(tmp, "rcpts.yaml")
    with open(path, "w") as f:
        f.write("messages: 120\nsessions: 2\nrecipients: 1-4\nseed: 3\nto: r@rcpt.test\n")
    with harness.Procs() as procs:
        for name, kind, extra in (("agent", "agent", ["-s", "1"]),
                                  ("agent pipelined", "agent", ["-s", "4", "-d", "--pipelining"]),
                                  ("campaign 2 agents", "run", ["--local", "2", "--campaign", path])):
            port, out = start_aiosmtpd(procs, tmp, "--pipelining")
            target = f"127.0.0.1:{port}"
            if kind == "agent":
                proc = run_agent(["-m", "120", "--recipients", "1-4", "--seed", "3", "-t", "r@rcpt.test",
                                  "--quiet"] + extra + [target])
                check(proc.returncode == 0, f"{name}: {proc.stderr}")
            else:
                report = os.path.join(tmp, "rcpts.json")
                done, data = harness.run_campaign([harness.program("smtpstorm"), "run"] + extra
                                                  + ["--json", report, target], report, name)
                check(done.returncode == 0, f"{name}: exit {done.returncode}")
            runs[name] = rcpt_counts(out)
            check(len(runs[name]) == 120 and set(runs[name]) == {1, 2, 3, 4}, f"{name}: {runs[name][:10]}...")
    check(runs["agent"] == runs["agent pipelined"] == runs["campaign 2 agents"],
          "the same seed drew other recipient counts")


def test_bad_distributions_are_refused(tmp):
    proc = run_agent(["--size", "lognormal:median=8x,sigma=1", "127.0.0.1:1"])
    check(proc.returncode != 0 and "--size: 'lognormal:median=8x,sigma=1': bad size '8x'" in proc.stderr,
          f"agent: {proc.returncode} {proc.stderr}")
    proc = run_agent(["--recipients", "0-3", "127.0.0.1:1"])
    check(proc.returncode != 0 and "--recipients: '0-3': 0 is out of range (1 to 100000)" in proc.stderr,
          f"agent --recipients: {proc.stderr}")
    proc = run_agent(["--size", "1k-5k", "-l", "100", "127.0.0.1:1"])
    check(proc.returncode != 0 and "--size cannot be used with -l or -F" in proc.stderr, f"agent -l: {proc.stderr}")
    done = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "--size", "mix:2k=60,20k",
                        "127.0.0.1:1"])
    err = done.stderr.decode()
    check(done.returncode != 0 and "--size: 'mix:2k=60,20k': want value=weight, not '20k'" in err,
          f"smtpstorm run: {done.returncode} {err}")
    path = os.path.join(tmp, "bad-size.yaml")
    with open(path, "w") as f:
        f.write("messages: 10\nsize: 100k-1k\n")
    done = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "--campaign", path, "127.0.0.1:1"])
    err = done.stderr.decode()
    check(done.returncode != 0 and re.search(r"bad-size\.yaml:2: 'size': '100k-1k': the low end is above", err),
          f"campaign file: {done.returncode} {err}")


def main():
    harness.run_tests([test_standalone_same_seed_same_sizes, test_sizes_follow_the_lognormal,
                       test_campaign_same_multiset_on_1_and_3_agents, test_recipients_drawn,
                       test_bad_distributions_are_refused],
                      "sizes-")


if __name__ == "__main__":
    sys.exit(main())
