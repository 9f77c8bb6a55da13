"""test_report_clock - what a campaign writes about time does not follow
the time zone or the locale it runs in. A --local campaign with the real
programs, every one of them under a wall clock shifted (libfaketime) to
just after midnight in Asia/Kolkata and to the evening of 29 February in
America/St_Johns, in a German locale: the JSON's started_at, the campaign
id and the HTML page's date are the UTC instant, and every number in the
JSON, the CSV and the terminal summary is written with a decimal point."""

import csv
import datetime
import json
import os
import re
import sys
import tempfile

import harness

COORD = harness.program("smtpstorm")
CASES = [("2026-12-03 02:00:00", "Asia/Kolkata"),          # 2 Dec 20:30 UTC
         ("2024-02-29 23:59:30", "America/St_Johns")]      # 1 Mar 03:29:30 UTC


def campaign(tmp, when, tz, locale_dir):
    env = harness.fake_clock(dict(os.environ), when, tz, locale_dir, running=True)
    files = {k: os.path.join(tmp, f"{tz.replace('/', '-')}.{k}") for k in ("json", "csv", "html")}
    done = harness.run([COORD, "run", "--local", "2", "-m", "400", "-s", "4", "--rate", "400",
                        "--json", files["json"], "--csv", files["csv"], "--html", files["html"]],
                       timeout=120, env=env)
    out = done.stdout.decode() + done.stderr.decode()
    harness.check(done.returncode == 0, f"{when} {tz}: exit {done.returncode}:\n{out}")
    return out, files


def check_case(tmp, when, tz, locale_dir):
    out, files = campaign(tmp, when, tz, locale_dir)
    utc = harness.local_time(when, tz).astimezone(datetime.timezone.utc)
    with open(files["json"]) as f:
        data = json.load(f)      # a decimal comma would not parse
    started = datetime.datetime.strptime(data["started_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    slack = datetime.timedelta(seconds=2)     # the shift is whole seconds
    harness.check(-2 <= (started - utc).total_seconds() < 60,
                  f"{tz}: started_at {data['started_at']}, want just after {utc:%Y-%m-%dT%H:%M:%S}Z")
    m = re.fullmatch(r"c-(\d{8}T\d{6})-[0-9a-f]+", data["campaign"])
    named = m and datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=datetime.timezone.utc)
    harness.check(named and utc - slack <= named <= started,
                  f"{tz}: campaign id {data['campaign']}, want the UTC time between {utc} and {started}")
    page = open(files["html"], encoding="utf-8").read()
    shown = started.strftime("%Y-%m-%d %H:%M:%S UTC")
    harness.check(shown in page, f"{tz}: the page does not say {shown}")
    with open(files["csv"], newline="") as f:
        rows = list(csv.DictReader(f))
    harness.check(rows, f"{tz}: no CSV rows")
    for row in rows:
        for key, value in row.items():
            if value not in ("", None):
                float(value)     # raises on "1,5"
    harness.check(re.search(r"rate \d+\.\d msg/s", out) is not None and not re.search(r"\d,\d", out),
                  f"{tz}: the summary's numbers:\n{out}")


def main():
    with tempfile.TemporaryDirectory(prefix="report-clock-") as tmp:
        locale_dir = harness.make_locale(tmp)
        for when, tz in CASES:
            check_case(tmp, when, tz, locale_dir)
    print("ok")


if __name__ == "__main__":
    sys.exit(main())
