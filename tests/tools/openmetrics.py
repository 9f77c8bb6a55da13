"""openmetrics - what the /metrics tests share: fetching with curl, checking
and parsing the OpenMetrics text format, finding a sample, and which
addresses a port listens on."""

import re
import subprocess

import harness

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|NaN)$')


def curl(url, *extra):
    """(status, content type, body) of one request."""
    done = subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "-", "-w", "\n%{http_code} %{content_type}",
                           *extra, url], capture_output=True, timeout=10)
    harness.check(done.returncode == 0, f"curl {url}: {done.stderr.decode()}")
    body, _, tail = done.stdout.decode().rpartition("\n")
    status, _, ctype = tail.partition(" ")
    return int(status), ctype, body


def parse(text):
    """Check the OpenMetrics structure; returns {(name, labels): value} and the families' types."""
    harness.check(text.endswith("# EOF\n"), "the document does not end with # EOF")
    types, samples, seen, current = {}, {}, [], None
    for line in text.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            harness.check(name not in types, f"family {name} declared twice")
            types[name], current = kind, name
            seen.append(name)
            continue
        if line.startswith("# HELP ") or line.startswith("# UNIT "):
            harness.check(line.split(" ")[2] == current, f"{line!r} outside its family")
            continue
        m = SAMPLE.match(line)
        harness.check(m is not None, f"not a sample line: {line!r}")
        name = m.group(1)
        kind = types.get(current)
        allowed = {"counter": [current + "_total"], "gauge": [current],
                   "histogram": [current + s for s in ("_bucket", "_count", "_sum")]}[kind]
        harness.check(name in allowed, f"sample {name} inside family {current} ({kind})")
        samples[(name, m.group(2) or "")] = float(m.group(3))
    return types, samples


def value(samples, name, **labels):
    found = [v for (n, l), v in samples.items() if n == name and all(f'{k}="{w}"' in l for k, w in labels.items())]
    harness.check(len(found) == 1, f"expected one {name} {labels}, found {found}")
    return found[0]


def listening_addresses(port):
    """Local addresses of the TCP sockets listening on port (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                addr, _, p = local.partition(":")
                if state == "0A" and int(p, 16) == port:
                    found.append(addr)
    return found
