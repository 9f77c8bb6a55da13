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
- --rcpt-file with weights, --rcpt-domains uniform and by --rcpt-zipf,
  and --senders: each recipient's domain and each sender in proportion
  (binomial 99.9% bounds), the From: header the drawn sender, and the same
  multiset of envelopes on 1 agent and on 3 (the lists read by the
  coordinator and sent); a bad list line named;
- the sizes that arrive follow the asked log-normal (a Kolmogorov-Smirnov
  test against its CDF, fixed seed);
- a bad distribution is refused with the token named, by the agent, by
  smtpstorm run and in a campaign file (with its line); --size with -l too."""

import json
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
    with open(os.path.join(tmp, "three agents.json")) as f:
        traffic = json.load(f)["traffic"]
    bs = traffic["body_sizes"]
    check(traffic["size"] == MIX and traffic["seed"] == 4 and bs["count"] == 150 and bs["total_octets"] == sum(three)
          and bs["max"] == max(three), f"the report's traffic {traffic}, arrived {sum(three)} octets")


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


def within(count, n, p, what):
    """count of n is what a probability p gives, within the binomial 99.9% bounds."""
    sd = math.sqrt(n * p * (1 - p))
    check(abs(count - n * p) <= 3.29 * sd + 1, f"{what}: {count} of {n}, want {n * p:.0f} +- {3.29 * sd:.0f}")


def zipf_share(k, n, s):
    return (1 / k ** s) / sum(1 / j ** s for j in range(1, n + 1))


def test_spreads(tmp):
    lists = os.path.join(tmp, "rcpts.txt")
    with open(lists, "w") as f:
        f.write("# weights 5:1:2\na@one.test 5\ntwo.test\n\nb@three.test 2\n")
    with harness.Procs() as procs:
        port, out = start_aiosmtpd(procs, tmp, "--pipelining")
        proc = run_agent(["-m", "1000", "-r", "2", "-s", "4", "-d", "--pipelining", "-t", "u@x.test", "-f",
                          "s@from.test", "--rcpt-file", lists, "--senders", "5", "--quiet", f"127.0.0.1:{port}"])
        check(proc.returncode == 0, f"--rcpt-file: {proc.stderr}")
        got = aiosmtpd_received(out)
        rcpts = [r.lstrip("0123456789") for m in got for r in m["rcpt_tos"]]
        n = len(rcpts)
        check(n == 2000, f"{n} recipients")
        within(rcpts.count("a@one.test"), n, 5 / 8, "a@one.test")
        within(rcpts.count("u@two.test"), n, 1 / 8, "u@two.test (a domain line)")
        within(rcpts.count("b@three.test"), n, 2 / 8, "b@three.test")
        senders = [m["mail_from"] for m in got]
        for k in range(1, 6):
            within(senders.count(f"s{k}@from.test"), len(senders), 1 / 5, f"sender s{k}")
        for m in got:
            frm = re.search(r"\r\nFrom: <([^>]+)>", "\r\n" + m["data"])
            check(frm and frm.group(1) == m["mail_from"], f"From: {frm and frm.group(1)} for {m['mail_from']}")
        for zipf in ([], ["--rcpt-zipf", "1.2"]):
            port, out = start_aiosmtpd(procs, tmp, "--pipelining")
            proc = run_agent(["-m", "2000", "-s", "4", "-d", "--pipelining", "-t", "u@x.test", "--rcpt-domains", "10",
                              *zipf, "--quiet", f"127.0.0.1:{port}"])
            check(proc.returncode == 0, f"--rcpt-domains {zipf}: {proc.stderr}")
            rcpts = [r for m in aiosmtpd_received(out) for r in m["rcpt_tos"]]
            for k in range(1, 11):
                p = zipf_share(k, 10, 1.2) if zipf else 0.1
                within(rcpts.count(f"u@d{k}.x.test"), len(rcpts), p, f"--rcpt-domains 10 {zipf} d{k}")
        envelopes = {}
        for agents in ("1", "3"):
            port, out = start_aiosmtpd(procs, tmp, "--pipelining")
            report = os.path.join(tmp, f"spread-{agents}.json")
            done, data = harness.run_campaign([harness.program("smtpstorm"), "run", "--local", agents, "-s", "3",
                                               "-m", "300", "-r", "2", "-t", "u@x.test", "--rcpt-file", lists,
                                               "--senders", "7", "--seed", "5", "--json", report,
                                               f"127.0.0.1:{port}"], report, f"spreads on {agents} agents")
            check(done.returncode == 0, f"{agents} agents: exit {done.returncode}")
            envelopes[agents] = sorted((m["mail_from"], tuple(m["rcpt_tos"])) for m in aiosmtpd_received(out))
            check(len(envelopes[agents]) == 300, f"{agents} agents: {len(envelopes[agents])} arrived")
        check(envelopes["1"] == envelopes["3"], "1 agent and 3 agents drew other envelopes")
    with open(lists, "a") as f:
        f.write("c@four.test x\n")
    proc = run_agent(["--rcpt-file", lists, "127.0.0.1:1"])
    check(proc.returncode != 0 and f"{lists}:6: bad weight 'x'" in proc.stderr, f"agent: {proc.stderr}")
    done = harness.run([harness.program("smtpstorm"), "run", "--local", "1", "--rcpt-file", lists, "127.0.0.1:1"])
    err = done.stderr.decode()
    check(done.returncode != 0 and f"{lists}:6: bad weight 'x'" in err, f"smtpstorm run: {done.returncode} {err}")


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
                       test_campaign_same_multiset_on_1_and_3_agents, test_recipients_drawn, test_spreads,
                       test_bad_distributions_are_refused],
                      "sizes-")


if __name__ == "__main__":
    sys.exit(main())
