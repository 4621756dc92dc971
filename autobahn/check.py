#!/usr/bin/env python3
"""Judge Autobahn testsuite reports and regenerate the results table.

wstest's exit status means nothing (it exits 0 with failed cases, and 0 when
it never reached the testee), so this script is the gate. For every expected
agent in every given report it requires:

  * the agent is present in index.json, and every expected case is present
    (expected = the --cases patterns minus the --exclude patterns, resolved
    the way wstest resolves them against the 517 cases of the testsuite);
  * behavior is OK, NON-STRICT or INFORMATIONAL (never UNIMPLEMENTED: weir
    implements permessage-deflate, sections 12 and 13);
  * behaviorClose is OK or INFORMATIONAL.

It exits 1 listing the offending cases otherwise. Either way it records the
per-section counts of each agent in the results file (JSON, keyed by agent,
so a partial run keeps the other agents' rows) and rewrites the table between
the results markers of the README from it.

Usage (run.sh does this):
  check.py --cases '*' --agent-exclude weir-std 12.1.2 12.1.3 ... \\
      --report server autobahn/reports/servers/index.json weir-std,weir-mio \\
      --report client autobahn/reports/clients/index.json weir-std-client,weir-mio-client

  check.py --sample-excludes prints the case ids of sections 12 and 13 that
  the sample (--sample) leaves out, for run.sh's per-agent exclusions.
"""

import argparse
import datetime
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Every case id of autobahntestsuite (the last release, 0.8.x / 25.10.1), as
# "prefix.first-last" runs: 517 cases, 216 of them in sections 12 and 13.
ALL_CASES_COMPACT = """
1.1.1-8 1.2.1-8 2.1-11 3.1-7 4.1.1-5 4.2.1-5 5.1-20 6.1.1-3 6.2.1-4 6.3.1-2
6.4.1-4 6.5.1-5 6.6.1-11 6.7.1-4 6.8.1-2 6.9.1-4 6.10.1-3 6.11.1-5 6.12.1-8
6.13.1-5 6.14.1-10 6.15.1 6.16.1-3 6.17.1-5 6.18.1-5 6.19.1-5 6.20.1-7
6.21.1-8 6.22.1-34 6.23.1-7 7.1.1-6 7.3.1-6 7.5.1 7.7.1-13 7.9.1-9 7.13.1-2
9.1.1-6 9.2.1-6 9.3.1-9 9.4.1-9 9.5.1-6 9.6.1-6 9.7.1-6 9.8.1-6 10.1.1
12.1.1-18 12.2.1-18 12.3.1-18 12.4.1-18 12.5.1-18
13.1.1-18 13.2.1-18 13.3.1-18 13.4.1-18 13.5.1-18 13.6.1-18 13.7.1-18
"""
TOTAL_CASES = 517
COMPRESSION_SECTIONS = ("12", "13")  # permessage-deflate
COMPRESSION_CASES = 216

# The sample of sections 12 and 13 run for the testees that CI does not run
# in full. 13.N are the parameter combinations (N = 1: default offer; 2: no
# context takeover; 3, 4: window 9, 15; 5, 6: both; 7: three offers with
# fallbacks), 12.N the five corpora (text, JSON, HTML, binary); the case
# numbers pick small messages (1: 16 B), the threshold's neighbourhood
# (4: 1 KiB) and fragmented ones (11: 8 KiB in 256-byte frames).
SAMPLE = ["13.%d.%d" % (n, c) for n in range(1, 8) for c in (1, 4, 11)] + \
         ["12.%d.%d" % (n, c) for n in range(1, 6) for c in (4, 11)]

OUTCOMES = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED", "MISSING")
BEHAVIOR_OK = ("OK", "NON-STRICT", "INFORMATIONAL")
CLOSE_OK = ("OK", "INFORMATIONAL")
ROLE_ORDER = {"server": 0, "client": 1}
AGENT_ORDER = ("weir-std", "weir-mio", "weir-mio-wss", "weir-std-client", "weir-mio-client")

START = "<!-- results:start -->"
END = "<!-- results:end -->"
MAX_LISTED = 100  # offending cases listed per agent


def case_key(case_id):
    return tuple(int(x) for x in case_id.split("."))


def section(case_id):
    return case_id.split(".", 1)[0]


def all_case_ids():
    ids = []
    for run in ALL_CASES_COMPACT.split():
        prefix, _, last = run.rpartition(".")
        first, _, end = last.partition("-")
        for n in range(int(first), int(end or first) + 1):
            ids.append("%s.%d" % (prefix, n))
    assert len(ids) == TOTAL_CASES, len(ids)
    assert sum(section(c) in COMPRESSION_SECTIONS for c in ids) == COMPRESSION_CASES
    return ids


def resolve(patterns, universe):
    """wstest's CaseSet.resolveCasePatternList: '*' is a wildcard, matched
    from the start of the id ('1.*' does not match '10.1.1'); a pattern
    without '*' names one case."""
    out = set()
    for p in patterns:
        if "*" in p:
            rx = re.compile(p.replace(".", r"\.").replace("*", ".*"))
            out.update(c for c in universe if rx.match(c))
        else:
            out.add(p)
    return out


def judge(case_id, result):
    """Return (outcome for the table, reason if the case fails the gate)."""
    behavior = result.get("behavior")
    close = result.get("behaviorClose")
    reason = "behavior=%s behaviorClose=%s" % (behavior, close)
    if behavior == "UNIMPLEMENTED":
        return "UNIMPLEMENTED", reason
    if behavior in BEHAVIOR_OK and close in CLOSE_OK:
        return behavior, None
    return "FAILED", reason


def compress_ids(ids):
    """['1.1.1', '1.1.2', '1.1.3', '2.4'] -> '1.1.1-3 2.4'."""
    runs = []
    for c in sorted(ids, key=case_key):
        prefix, _, n = c.rpartition(".")
        n = int(n)
        if runs and runs[-1][0] == prefix and runs[-1][2] == n - 1:
            runs[-1][2] = n
        else:
            runs.append([prefix, n, n])
    return " ".join(
        "%s.%d" % (p, a) if a == b else "%s.%d-%d" % (p, a, b) for p, a, b in runs
    )


def check_report(role, index_path, agents, expected_of, universe, problems):
    """Judge one index.json; return {agent: results entry}."""
    entries = {}
    index = None
    if not os.path.isfile(index_path):
        problems.append("%s: no such file (wstest produced no report)" % index_path)
    else:
        try:
            with open(index_path) as f:
                index = json.load(f)
        except ValueError as e:
            problems.append("%s: not valid JSON: %s" % (index_path, e))
        if index is not None and not index:
            problems.append("%s: empty index (wstest never reached a testee)" % index_path)
            index = {}
    mtime = os.path.getmtime(index_path) if os.path.isfile(index_path) else None
    date = datetime.datetime.fromtimestamp(
        mtime if mtime is not None else datetime.datetime.now().timestamp(),
        datetime.timezone.utc,
    ).strftime("%Y-%m-%d %H:%M UTC")
    outdir = os.path.dirname(index_path)

    for agent in agents:
        expected = expected_of(agent)
        cases = (index or {}).get(agent)
        if index is not None and cases is None:
            seen = ", ".join(sorted(index)) or "none"
            problems.append("%s: agent %r missing from %s (agents present: %s)"
                            % (agent, agent, index_path, seen))
        cases = cases or {}
        counts = {}
        failed = []
        for case_id, result in cases.items():
            if case_id not in universe:
                problems.append("%s: unknown case id %s in %s: the testsuite's case list "
                                "changed, update ALL_CASES_COMPACT in check.py"
                                % (agent, case_id, index_path))
            outcome, reason = judge(case_id, result)
            sec = counts.setdefault(section(case_id), dict.fromkeys(OUTCOMES, 0))
            sec[outcome] += 1
            if reason:
                report = os.path.join(outdir, result.get("reportfile", ""))
                failed.append("  %s %s: %s  (%s)"
                              % (agent, case_id, reason, os.path.relpath(report)))
        missing = expected - set(cases)
        for case_id in missing:
            sec = counts.setdefault(section(case_id), dict.fromkeys(OUTCOMES, 0))
            sec["MISSING"] += 1
        if missing and not cases:
            problems.append("%s: none of the %d expected cases ran" % (agent, len(expected)))
        elif missing:
            problems.append("%s: %d of %d expected cases missing: %s"
                            % (agent, len(missing), len(expected), compress_ids(missing)))
        if failed:
            failed.sort(key=lambda line: case_key(line.split()[1].rstrip(":")))
            problems.append("%s: %d cases failed:" % (agent, len(failed)))
            problems.extend(failed[:MAX_LISTED])
            if len(failed) > MAX_LISTED:
                problems.append("  ... and %d more (see %s)"
                                % (len(failed) - MAX_LISTED, index_path))
        entries[agent] = {
            "role": role,
            "date": date,
            "expected": len(expected),
            "passed": not missing and not failed and bool(cases),
            "sections": {k: counts[k] for k in sorted(counts, key=int)},
        }
    return entries


def render_table(results, source="autobahn/results.json"):
    lines = [
        START,
        "_Generated by `autobahn/check.py` from `%s`; do not edit by hand._" % source,
        "",
    ]
    agents = sorted(results, key=lambda a: (
        ROLE_ORDER.get(results[a]["role"], 9),
        AGENT_ORDER.index(a) if a in AGENT_ORDER else len(AGENT_ORDER), a))
    if not agents:
        lines += ["_No results yet: run `bash autobahn/run.sh`._", ""]
    for agent in agents:
        r = results[agent]
        cases = ", ".join("`%s`" % c for c in r.get("cases", ["*"]))
        excl = r.get("exclude") or []
        sel = "cases %s" % cases + (
            " excluding %s" % ", ".join("`%s`" % c for c in excl) if excl else "")
        if r.get("sample"):
            sel = r["sample"]
        verdict = "**PASS**" if r["passed"] else "**FAIL**"
        lines.append("**%s** (%s testee) — %s — %s, %d expected — %s"
                     % (agent, r["role"], r["date"], sel, r["expected"], verdict))
        lines.append("")
        lines.append("| Section | " + " | ".join(OUTCOMES) + " |")
        lines.append("|---" + "|--:" * len(OUTCOMES) + "|")
        total = dict.fromkeys(OUTCOMES, 0)
        for sec, counts in sorted(r["sections"].items(), key=lambda kv: int(kv[0])):
            lines.append("| %s | " % sec + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
            for o in OUTCOMES:
                total[o] += counts[o]
        lines.append("| **Total** | " + " | ".join("**%d**" % total[o] for o in OUTCOMES) + " |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def update_readme(path, table):
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    else:
        text = "# Autobahn testsuite results\n\n%s\n%s\n" % (START, END)
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        text = text.rstrip("\n") + "\n\n## Results\n\n%s\n%s\n" % (START, END)
        start, end = text.find(START), text.find(END)
    text = text[:start] + table + text[end + len(END):]
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", nargs=3, action="append", default=[],
                    metavar=("ROLE", "INDEX_JSON", "AGENTS"),
                    help="ROLE is server or client; AGENTS is a comma-separated list of "
                         "agents that must be in INDEX_JSON (repeatable)")
    ap.add_argument("--cases", nargs="*", default=["*"], metavar="PATTERN",
                    help="case patterns that were run (default: *)")
    ap.add_argument("--exclude", nargs="*", default=[], metavar="PATTERN",
                    help="case patterns that were excluded")
    ap.add_argument("--agent-exclude", nargs="+", action="append", default=[],
                    metavar=("AGENT", "PATTERN"),
                    help="case patterns excluded for one agent only (repeatable)")
    ap.add_argument("--sample-excludes", action="store_true",
                    help="print the ids of sections 12 and 13 outside the sample, and exit")
    ap.add_argument("--results", default=os.path.join(HERE, "results.json"),
                    help="results store (default: autobahn/results.json)")
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"),
                    help="file whose results markers get the table (default: autobahn/README.md)")
    ap.add_argument("--no-update", action="store_true",
                    help="only judge; leave the results store and the README alone")
    args = ap.parse_args()
    if args.sample_excludes:
        print(" ".join(c for c in all_case_ids()
                       if section(c) in COMPRESSION_SECTIONS and c not in SAMPLE))
        return 0
    if not args.report:
        ap.error("nothing to check: give at least one --report")

    universe = all_case_ids()
    expected = resolve(args.cases, universe) - resolve(args.exclude, universe)
    unknown = expected - set(universe)
    if unknown:
        ap.error("--cases names unknown case ids: %s" % " ".join(sorted(unknown)))
    if not expected:
        ap.error("the case selection is empty")

    agent_excludes = {}
    for agent, *patterns in args.agent_exclude:
        agent_excludes.setdefault(agent, []).extend(patterns)

    def expected_of(agent):
        return expected - resolve(agent_excludes.get(agent, []), universe)

    problems = []
    entries = {}
    for role, index_path, agents in args.report:
        agents = [a for a in agents.split(",") if a]
        if not agents:
            ap.error("--report %s %s: no agents given" % (role, index_path))
        entries.update(check_report(role, index_path, agents, expected_of, universe, problems))
    for agent, e in entries.items():
        e["cases"] = list(args.cases)
        e["exclude"] = list(args.exclude)
        if agent in agent_excludes:
            e["sample"] = "sections 1-10 and a sample of 12 and 13 (%d of 216)" % len(SAMPLE)

    source = "autobahn/results.json"
    if os.path.abspath(args.results) != os.path.join(HERE, "results.json"):
        source = os.path.relpath(args.results, os.path.dirname(os.path.abspath(args.readme)))
    if not args.no_update:
        store = {"agents": {}}
        if os.path.exists(args.results):
            with open(args.results) as f:
                store = json.load(f)
        store.setdefault("agents", {}).update(entries)
        store["agents"] = dict(sorted(store["agents"].items()))
        with open(args.results, "w") as f:
            json.dump(store, f, indent=2)
            f.write("\n")
        update_readme(args.readme, render_table(store["agents"], source))
        shown = store["agents"]
    else:
        shown = entries

    print(render_table({a: shown[a] for a in entries}, source)
          .replace(START + "\n", "").replace("\n" + END, ""))
    if not args.no_update:
        print("(table written to %s, data to %s)"
              % (os.path.relpath(args.readme), os.path.relpath(args.results)))

    if problems:
        print("\nAUTOBAHN CHECK FAILED:", file=sys.stderr)
        for p in problems:
            print(p, file=sys.stderr)
        return 1
    print("\nAutobahn check passed: %s."
          % ", ".join("%s (%d cases)" % (a, e["expected"]) for a, e in entries.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
