"""prometheus - what the Prometheus tests share: a PromQL query over the
HTTP API (/api/v1/query), polling it until it answers a value, and the
metric names the Grafana dashboard's expressions use (deploy/grafana/)."""

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

DASHBOARD = "deploy/grafana/smtpstorm.json"

# PromQL's functions, aggregations and keywords: every other identifier left
# in an expression (after labels, ranges and strings are taken out) is a
# metric name
PROMQL_WORDS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "group",
    "count_values", "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile",
    "label_replace", "label_join", "vector", "scalar", "abs", "clamp_min", "clamp_max", "time",
    "timestamp", "absent", "round", "ceil", "floor", "sort", "sort_desc", "resets", "changes",
    "max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "last_over_time", "inf", "nan",
}


def query(base, expr, timeout=5):
    """The result list of an instant query at base (http://HOST:PORT);
    raises AssertionError when Prometheus says the expression is bad."""
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            answer = json.load(r)
    except urllib.error.HTTPError as e:
        answer = json.load(e)
    if answer.get("status") != "success":
        raise AssertionError(f"PromQL {expr!r}: {answer.get('errorType')}: {answer.get('error')}")
    return answer["data"]["result"]


def scalar(base, expr):
    """The value of a query that answers one series, or None when it answers none."""
    result = query(base, expr)
    if not result:
        return None
    if len(result) != 1:
        raise AssertionError(f"PromQL {expr!r} answered {len(result)} series: {result}")
    return float(result[0]["value"][1])


def wait_value(base, expr, want, timeout, alive=None):
    """Poll expr until it answers want (Prometheus scrapes every second);
    returns the last value seen. alive(): stop early when it turns false."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = scalar(base, expr)
        except (OSError, urllib.error.URLError):
            seen = None
        if seen == want or (alive is not None and not alive()):
            return seen
        time.sleep(0.25)
    return seen


def wait_ready(base, timeout, alive=None):
    """Poll /-/ready until Prometheus answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise AssertionError("Prometheus exited before it was ready")
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
                if r.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"Prometheus at {base} not ready after {timeout}s")


def wait_targets(base, jobs, timeout):
    """Poll until Prometheus has tried every job's targets once (`up` has a
    sample, 0 or 1): it takes its targets up some seconds after it starts."""
    expr = "count(up{job=~\"" + "|".join(jobs) + "\"})"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scalar(base, expr) == len(jobs):
            return
        time.sleep(0.2)
    raise AssertionError(f"Prometheus has not scraped {jobs} after {timeout}s")


def dashboard_exprs(dashboard):
    """Every PromQL expression of the dashboard's panels (rows' too) and variables."""
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t["expr"] for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))
    walk(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
            m = re.match(r"label_values\((\w+),\s*(\w+)\)", q)
            exprs.append(f'count by ({m.group(2)}) ({m.group(1)})' if m else q)
    return exprs


def expr_names(expr):
    """(metric names, label names used in by/without) of one expression."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # strings
    text = re.sub(r"\{[^}]*\}", "", text)                      # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)                     # ranges
    labels = set()
    for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", text):
        labels |= {w.strip() for w in group.split(",") if w.strip()}
    text = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", text)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text))
    return {w for w in words if w not in PROMQL_WORDS}, labels


def for_prometheus(expr, coordinator_job, sink_job):
    """A dashboard expression with Grafana's variables filled in."""
    return (expr.replace("$__rate_interval", "1m").replace("$campaign", ".*")
            .replace("$coordinator_job", coordinator_job).replace("$sink_job", sink_job))


def check_dashboard(path, samples, check):
    """Every metric name in the dashboard's expressions is the name of a
    sample in samples ({(name, labels): value} of real scrapes), every
    label it groups by is on such a sample (or is le), and the dashboard
    is importable: schemaVersion, a DS_PROMETHEUS input every target uses.
    Returns the expressions."""
    with open(path) as f:
        dashboard = json.load(f)
    check(isinstance(dashboard.get("schemaVersion"), int), "no schemaVersion")
    check([i.get("name") for i in dashboard.get("__inputs", [])] == ["DS_PROMETHEUS"],
          "the dashboard's __inputs are not one DS_PROMETHEUS")
    scraped = {name for name, _ in samples}
    label_names = set(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', " ".join(l for _, l in samples))) | {"le"}
    exprs = dashboard_exprs(dashboard)
    check(len(exprs) >= 20, f"only {len(exprs)} expressions in the dashboard")
    used = set()
    for e in exprs:
        names, labels = expr_names(e)
        check(names, f"no metric in {e!r}")
        missing = names - scraped
        check(not missing, f"{sorted(missing)} in {e!r} are in no scrape")
        check(labels <= label_names, f"{sorted(labels - label_names)} in {e!r} are no scraped label")
        used |= names

    def targets(panels):
        for p in panels:
            yield from p.get("targets", [])
            yield from targets(p.get("panels", []))
    for t in targets(dashboard["panels"]):
        check(t.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", f"target {t['expr']!r}: not DS_PROMETHEUS")
    print(f"dashboard: {len(exprs)} expressions, {len(used)} metric names, each in a real scrape")
    return exprs
