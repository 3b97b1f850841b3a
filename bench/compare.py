"""Flags performance regressions: the figures of a bench/perf_table.py run (--json) against a
baseline (bench/baseline.json, written the same way on the machine it names).

    /usr/bin/python3 bench/perf_table.py --json new.json
    /usr/bin/python3 bench/compare.py new.json [--baseline bench/baseline.json] [--tolerance 0.25]

Each figure says whether higher or lower is better; one that is worse than the baseline by more than
the tolerance (a fraction: 0.25 = 25%) is flagged, and the exit status is 1 if any is. Figures
measured on another machine are compared all the same, with a warning: timings only compare on the
same kind of machine. A figure missing on either side is reported, not flagged.
"""
import argparse
import json
import os
import sys

DEFAULT_BASELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "baseline.json")


def regressions(new, base, tolerance):
    """(lines, flagged): one line per figure, and the names worse than the baseline beyond tolerance."""
    lines, flagged = [], []
    for name, b in sorted(base["figures"].items()):
        n = new["figures"].get(name)
        if n is None:
            lines.append(f"{name}: missing in the new run")
            continue
        if b["better"] == "higher":
            worse_by = b["value"] / n["value"] - 1.0 if n["value"] > 0 else float("inf")
        else:
            worse_by = n["value"] / b["value"] - 1.0 if b["value"] > 0 else 0.0
        mark = ""
        if worse_by > tolerance:
            flagged.append(name)
            mark = "  <-- SLOWER"
        lines.append(f"{name}: {b['value']:.4g} -> {n['value']:.4g} {n['unit']} "
                     f"({'+' if worse_by <= 0 else '-'}{abs(worse_by):.0%}){mark}")
    for name in sorted(set(new["figures"]) - set(base["figures"])):
        lines.append(f"{name}: new figure, not in the baseline")
    return lines, flagged


def main():
    p = argparse.ArgumentParser()
    p.add_argument("new")
    p.add_argument("--baseline", default=DEFAULT_BASELINE)
    p.add_argument("--tolerance", type=float, default=0.25)
    args = p.parse_args()
    with open(args.new) as f:
        new = json.load(f)
    with open(args.baseline) as f:
        base = json.load(f)
    if new.get("machine") != base.get("machine"):
        print(f"warning: baseline from {base.get('machine')}, new run on {new.get('machine')}", file=sys.stderr)
    lines, flagged = regressions(new, base, args.tolerance)
    print("\n".join(lines))
    if flagged:
        print(f"{len(flagged)} figure(s) worse than the baseline by more than {args.tolerance:.0%}: {', '.join(flagged)}")
        return 1
    print(f"no figure worse than the baseline by more than {args.tolerance:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
