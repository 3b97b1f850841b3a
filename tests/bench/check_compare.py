"""bench/compare.py flags exactly the figures worse than the baseline beyond the tolerance (not a
timing test: synthetic figures), and the committed baseline is well formed."""
import copy
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import compare  # noqa: E402

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)


base = json.load(open(compare.DEFAULT_BASELINE))
check(base.get("machine") and base["figures"], "baseline.json: no machine or no figures")
for name, f in base["figures"].items():
    check(f["better"] in ("higher", "lower") and f["value"] > 0, f"baseline.json: {name}: {f}")

new = copy.deepcopy(base)
_, flagged = compare.regressions(new, base, 0.25)
check(flagged == [], f"identical figures flagged: {flagged}")
higher = next(n for n, f in base["figures"].items() if f["better"] == "higher")
lower = next(n for n, f in base["figures"].items() if f["better"] == "lower")
new["figures"][higher]["value"] /= 1.5   # 50% worse
new["figures"][lower]["value"] *= 1.2    # 20% worse: within 25%
_, flagged = compare.regressions(new, base, 0.25)
check(flagged == [higher], f"flagged {flagged}, expected [{higher}]")
new["figures"][lower]["value"] *= 1.1    # now 32% worse
_, flagged = compare.regressions(new, base, 0.25)
check(sorted(flagged) == sorted([higher, lower]), f"flagged {flagged}")
better = copy.deepcopy(base)
for f in better["figures"].values():
    f["value"] = f["value"] * 3 if f["better"] == "higher" else f["value"] / 3
check(compare.regressions(better, base, 0.0)[1] == [], "faster figures flagged")

with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "new.json")
    json.dump(new, open(path, "w"))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "compare.py"), path], capture_output=True, text=True)
    check(r.returncode == 1 and "SLOWER" in r.stdout, f"compare.py on a slower run: exit {r.returncode}\n{r.stdout}")
    json.dump(base, open(path, "w"))
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "compare.py"), path], capture_output=True, text=True)
    check(r.returncode == 0, f"compare.py on the baseline itself: exit {r.returncode}\n{r.stdout}")

print("bench compare:", "FAILED" if failures else "ok")
sys.exit(1 if failures else 0)
