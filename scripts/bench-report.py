#!/usr/bin/env python3
"""Rewrites the results table of docs/BENCHMARKS.md from one `make bench` run.

    scripts/bench-report.py RESULTS [DOCUMENT]
    scripts/bench-report.py --start RESULTS | --finish RESULTS

RESULTS is the file the benchmarks appended to through $BENCH_RESULTS (scripts/bench-results.sh
describes its tab-separated lines: section, figure, value, unit, peer, peer value, ratio, goal).
Lines starting with `#` are the run's marks, which `--start` (a new file: the time and the commit)
and `--finish` (the time) write. DOCUMENT (default docs/BENCHMARKS.md) keeps everything outside the
`<!-- bench-results:begin -->` and `<!-- bench-results:end -->` markers; what lies between them is
replaced by one table per section, the goals met and the machine and commit the run was on. Without
the markers, the block goes after the document's title. Python 3 standard library only.
"""

import datetime
import os
import platform
import re
import subprocess
import sys

BEGIN = "<!-- bench-results:begin -->"
END = "<!-- bench-results:end -->"


def number(text):
    """The first number in text ("+0.59 ms" is 0.59, "-1.2" is -1.2), or None."""
    match = re.search(r"[-+]?\d+(?:\.\d+)?", text or "")
    return float(match.group()) if match else None


def show(value, unit):
    """A figure as the tables print it: thousands separated, fewer decimals as it grows."""
    if value == "":
        return ""
    x = float(value)
    if abs(x) >= 1000:
        text = f"{x:,.0f}"
    elif abs(x) >= 100:
        text = f"{x:.0f}"
    elif abs(x) >= 10:
        text = f"{x:.1f}"
    else:
        text = f"{x:.2f}"
    return f"{text} {unit}".strip()


def verdict(goal, ratio, value):
    """Whether the goal holds: "yes", "no", or "" when there is no goal. A goal written like a ratio
    (">= 0.8x", or a signed difference such as "<= +0.2 ms") is held to the ratio, any other
    ("<= 20 ms", ">= 500 texts/s") to the value."""
    match = re.match(r"\s*(<=|>=|<|>)\s*(.*)", goal or "")
    if not match:
        return ""
    limit = number(match.group(2))
    of_ratio = match.group(2).strip().endswith("x") or match.group(2).strip()[:1] in "+-"
    figure = number(ratio) if of_ratio else number(value)
    if limit is None or figure is None:
        return ""
    holds = {"<=": figure <= limit, ">=": figure >= limit, "<": figure < limit, ">": figure > limit}[match.group(1)]
    return "yes" if holds else "no"


def command_line(*command):
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (out.stdout or out.stderr).strip()


def commit():
    """HEAD, and whether the tree differs from it (this report's own document aside)."""
    head = command_line("git", "rev-parse", "--short=12", "HEAD") or "unknown"
    if command_line("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/BENCHMARKS.md"):
        head += " (with uncommitted changes)"
    return head


def machine(started, elapsed, commit):
    """The machine and the run, as a list: CPU, memory, system, tools, date and commit."""
    cpu = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                cpu.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = cpu.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in cpu and "model" in cpu:
        model += f" (family {cpu['cpu family']}, model {cpu['model']})"
    if "hypervisor" in cpu.get("flags", "").split():
        model += ", a virtual machine"
    memory = ""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB memory"
    except OSError:
        pass
    system = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    system = line.split("=", 1)[1].strip().strip('"') + ", Linux"
    except OSError:
        pass
    swift = command_line(os.environ.get("SWIFT", "swift"), "--version").splitlines()
    swift = next((line for line in swift if "Swift version" in line), "Swift version unknown")
    swift = re.sub(r"^.*?Swift version (\S+).*$", r"Swift \1", swift)
    tools = [swift,
             command_line("nginx", "-v").replace("nginx version: nginx/", "nginx "),
             command_line("valgrind", "--version").replace("valgrind-", "valgrind "),
             re.sub(r"^wrk (\S+).*", r"wrk \1", (command_line("wrk", "-v").splitlines() or [""])[0])]
    when = datetime.datetime.fromtimestamp(started or datetime.datetime.now().timestamp(), datetime.timezone.utc)
    run = f"{when:%Y-%m-%d %H:%M} UTC, commit {commit}"
    if elapsed is not None:
        run += f"; the whole `make bench` took {elapsed // 60} min {elapsed % 60:02d} s (goal: at most 10 min)"
    return [f"- CPU: {model}, {os.cpu_count()} cores{memory}",
            f"- System: {system} {platform.release()}",
            f"- Tools: {', '.join(t for t in tools if t)}",
            f"- Run: {run}"]


def block(lines):
    started = finished = None
    run_commit = None
    sections = {}
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        if line.startswith("#"):
            fields = line[1:].split("\t")
            if fields[0] == "started" and len(fields) > 1:
                started = float(fields[1])
            elif fields[0] == "finished" and len(fields) > 1:
                finished = float(fields[1])
            elif fields[0] == "commit" and len(fields) > 1:
                run_commit = fields[1]
            continue
        fields = (line.split("\t") + [""] * 8)[:8]
        sections.setdefault(fields[0], []).append(fields[1:])
    out = [BEGIN, "## Latest results", "",
           "Written by `make bench` (`scripts/bench-report.py`) from its last run; the sections after this one",
           "interpret earlier runs. Wall-clock figures move by 10 to 40 % between runs on this machine;",
           "instruction counts hardly do (about 1 %). \"met\" holds the figure, or its ratio when the goal is one, to the goal.", ""]
    elapsed = None if started is None else int((finished or datetime.datetime.now().timestamp()) - started)
    out += machine(started, elapsed, run_commit or commit()) + [""]
    tables, goals = [], []
    for section, rows in sections.items():
        tables += [f"### {section}", "", "| figure | value | compared with | ratio | goal | met |", "|---|---|---|---|---|---|"]
        counts = [0, 0]
        for figure, value, unit, peer, peer_value, ratio, goal in rows:
            met = verdict(goal, ratio, value)
            counts[0] += met == "yes"
            counts[1] += met != ""
            compared = f"{peer}: {show(peer_value, unit)}" if peer and peer_value else peer
            tables.append(f"| {figure} | {show(value, unit)} | {compared} | {ratio} | {goal} | {met} |")
        tables.append("")
        if counts[1]:
            goals.append(f"- {section}: {counts[0]} of {counts[1]}")
    if goals:
        out += ["Goals met in this run, by table:", ""] + goals + [""]
    out += tables
    out.append(END)
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("--start", "--finish"):
        # The marks of a run: when it started, at which commit, and when it finished.
        now = int(datetime.datetime.now().timestamp())
        if sys.argv[1] == "--start":
            with open(sys.argv[2], "w") as f:
                f.write(f"#started\t{now}\n#commit\t{commit()}\n")
        else:
            with open(sys.argv[2], "a") as f:
                f.write(f"#finished\t{now}\n")
        return
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[2].strip())
    results = sys.argv[1]
    document = sys.argv[2] if len(sys.argv) == 3 else os.path.join(os.path.dirname(__file__), "..", "docs", "BENCHMARKS.md")
    with open(results) as f:
        new = block(f)
    with open(document) as f:
        text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + new + "\n" + tail
    else:
        title, _, rest = text.partition("\n")
        text = title + "\n\n" + new + "\n" + rest.lstrip("\n")
    with open(document, "w") as f:
        f.write(text)
    print(f"{document}: results of {results} written")


if __name__ == "__main__":
    main()
