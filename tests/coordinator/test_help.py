"""test_help - every long option of smtpstorm-agent and smtpstorm-sink
(their getopt tables) is listed by their --help and documented in their
manual; every option of `smtpstorm run` (cli.c's getopt table and
smtp-source letters) is listed by `smtpstorm run --help` and documented
in docs/smtpstorm.1, and so is every option of `smtpstorm compare`
(compare.c's table) in `smtpstorm compare --help`, each with its default;
and every subcommand `smtpstorm` dispatches is named
by `smtpstorm --help` and the manual: the help and the manual cannot
drift from the code.
"""

import os
import re
import subprocess

import harness

COORD = harness.program("smtpstorm")


def source(path):
    with open(os.path.join(harness.SOURCE, path)) as f:
        return f.read()


# Options whose help needs no "default": flags that only switch something on
# with a name saying so, --campaign and --local (nothing unless given).
NO_DEFAULT = {"-c", "-v", "--campaign", "--local", "--help"}


def option_blocks(text):
    """Each option's lines in the help: its first line and the deeper-indented ones after it."""
    blocks = []
    for line in text.splitlines():
        if re.match(r"  (-[-a-zA-Z0-9])", line):
            blocks.append([line.strip()])
        elif blocks and re.match(r"\s{5,}\S", line):
            blocks[-1].append(line.strip())
    return blocks


def check_program(program, options_c, manual_path):
    """Every long option in options_c's getopt table is in program --help
    and in the manual at manual_path."""
    table = re.findall(r'\{\s*"([a-z0-9-]+)",\s*(?:no|required|optional)_argument', source(options_c))
    harness.check(len(table) > 15, f"parsed {options_c}'s options: {table}")
    done = subprocess.run([harness.program(program), "--help"], capture_output=True)
    help_text = (done.stdout + done.stderr).decode()
    manual = source(manual_path).replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")
    for name in table:
        harness.check(f"--{name}" in help_text, f"--{name} is not in {program} --help")
        harness.check(f"--{name}" in manual, f"--{name} is not in {manual_path}")


def main():
    check_program("smtpstorm-agent", "agent/options.c", "docs/smtpstorm-agent.1")
    check_program("smtpstorm-sink", "sink/options.c", "docs/smtpstorm-sink.1")
    cli, main_c, manual = source("coordinator/cli.c"), source("coordinator/main.c"), source("docs/smtpstorm.1")
    longs = re.findall(r'\{\s*"([a-z-]+)",\s*(?:no|required)_argument', cli)
    letters = re.search(r'#define CLI_SHORT "([^"]+)"', cli).group(1).replace(":", "")
    harness.check(len(longs) > 20 and len(letters) > 20, f"parsed {longs} {letters}")
    help_text = subprocess.run([COORD, "run", "--help"], capture_output=True, check=True).stdout.decode()
    plain_manual = manual.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")
    for name in longs:
        harness.check(f"--{name}" in help_text, f"--{name} is not in smtpstorm run --help")
        harness.check(f"--{name}" in plain_manual, f"--{name} is not in docs/smtpstorm.1")
    for letter in letters:
        harness.check(re.search(rf"(^|[\s|])-{letter}\b", help_text, re.M), f"-{letter} is not in --help")
        harness.check(re.search(rf"(^|[\s|])-{letter}\b", plain_manual, re.M), f"-{letter} is not in the manual")
    for block in option_blocks(help_text):
        first = block[0].split()[0]
        harness.check(re.search(r"default|required", " ".join(block)) or first in NO_DEFAULT,
                      f"no default given for {first}: {' '.join(block)}")
    compare_c = source("coordinator/compare.c")
    compare_longs = re.findall(r'\{\s*"([a-z-]+)",\s*(?:no|required)_argument', compare_c)
    compare_help = subprocess.run([COORD, "compare", "--help"], capture_output=True, check=True).stdout.decode()
    harness.check(len(compare_longs) >= 4, f"parsed compare's options {compare_longs}")
    for name in compare_longs:
        harness.check(f"--{name}" in compare_help, f"--{name} is not in smtpstorm compare --help")
    harness.check(".SH COMPARE" in manual, "docs/smtpstorm.1 has no COMPARE section")
    compare_manual = plain_manual[plain_manual.index(".SH COMPARE"):]
    compare_manual = compare_manual[:compare_manual.index(".SH", 4)]
    for name in compare_longs:
        harness.check(f"--{name}" in compare_manual, f"--{name} is not in the manual's COMPARE section")
    for block in option_blocks(compare_help):
        first = block[0].split()[0]
        harness.check(re.search(r"default|required", " ".join(block)) or first in NO_DEFAULT,
                      f"no default given for compare's {first}: {' '.join(block)}")
    # smtpstorm capacity: its own options (cli.c's table from "capacity only") in its
    # --help, with a default, and in the manual's CAPACITY section
    capacity_longs = re.findall(r'\{\s*"([a-z-]+)",\s*(?:no|required)_argument', cli[cli.index("capacity only") - 80:])
    harness.check(len(capacity_longs) >= 8, f"parsed capacity's options {capacity_longs}")
    capacity_help = subprocess.run([COORD, "capacity", "--help"], capture_output=True, check=True).stdout.decode()
    harness.check(".SH CAPACITY" in manual, "docs/smtpstorm.1 has no CAPACITY section")
    capacity_manual = plain_manual[plain_manual.index(".SH CAPACITY"):]
    capacity_manual = capacity_manual[:capacity_manual.index(".SH", 4)]
    for name in capacity_longs:
        harness.check(f"--{name}" in capacity_help, f"--{name} is not in smtpstorm capacity --help")
        harness.check(f"--{name}" in capacity_manual, f"--{name} is not in the manual's CAPACITY section")
    for block in option_blocks(capacity_help):
        first = block[0].split()[0]
        harness.check(re.search(r"default|required", " ".join(block)) or first in NO_DEFAULT,
                      f"no default given for capacity's {first}: {' '.join(block)}")
    commands = re.findall(r'strcmp\(argv\[1\], "([a-z]+)"\) == 0\)\s*\n\s*return', main_c)
    top = subprocess.run([COORD, "--help"], capture_output=True, check=True).stdout.decode()
    for command in commands:
        harness.check(f"smtpstorm {command}" in top, f"smtpstorm --help does not name {command}")
        harness.check(f"smtpstorm {command}" in plain_manual, f"the manual does not name smtpstorm {command}")
    print(f"ok: {len(longs)} long options, {len(letters)} letters, commands {commands}")


if __name__ == "__main__":
    main()
