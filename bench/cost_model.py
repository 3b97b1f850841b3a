"""The dry run's estimate against the real time (issue "Large phase diagrams end to end", item 3).

    /usr/bin/python3 bench/cost_model.py [--build build] [--only NAME]

For each config below: `icl-sweep --dry-run` (its estimated core-seconds), then the sweep itself on
one process (its wall time is its core-seconds); prints the ratio estimate / real, which should lie
within [1/3, 3] for each. The configs cover what the cost model must know: closed forms only
(eval.mc_prompts = 0) at large d, Monte-Carlo conditions to the default precision target (1%) and
with a fixed count (large_d), the ridge lambda axis (one pass over the prompts for every lambda; a
fixed count, so that the pass, not the process, is what is timed), M < d, queries sampled plainly (orthogonal_query),
and sampled training (lsa, linear_transformer, gpt2). One run each, on this machine (named in the output)."""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

CONFIGS = {
    "closed_forms": "[grid]\nd = 2:40:2\nn_train = 10:100:10\n[eval]\nm_test = 10:50:10\n"
                    "shift = covariate_scale(0.5:4:0.5)\nmc_prompts = 0\n",
    "monte_carlo": "[grid]\nd = 5, 10, 20\nn_train = 20, 40\nspectrum = isotropic, power(1)\n[eval]\nm_test = n, 10\n"
                   "shift = none, covariate_scale(2), label_noise(0.5)\nmc_prompts = 4000\n",
    "ridge_lambdas": "[grid]\nd = 10\nn_train = 20, 40\n[eval]\nm_test = n\nshift = none, covariate_scale(2)\n"
                     "ridge_lambda = 0.01, 0.1, 1, 10\nmc_prompts = 20000\ntarget_rel_se = 0\n",
    "m_below_d": "[grid]\nd = 40, 80\nn_train = 100\n[eval]\nm_test = 10, 20\nshift = none\nmc_prompts = 2000\n",
    "large_d": "[grid]\nd = 40, 80\nn_train = 100, 200\n[eval]\nm_test = n\nshift = none, covariate_scale(2)\n"
               "mc_prompts = 1000\ntarget_rel_se = 0\n",
    "target_shifts": "[grid]\nd = 5, 20, 40\nn_train = 10, 40, 160\n[eval]\nm_test = n, 5, 30\n"
                     "shift = none, label_noise(0.5), orthogonal_query, task_mean(1)\nmc_prompts = 40000\n",
    "lsa": "[grid]\nd = 5\nn_train = 20\nmodel = lsa, linear_transformer(2)\ninit_seed = 0, 1\n[train]\nsteps = 3000\n"
           "[eval]\nm_test = n\nshift = none, covariate_scale(2)\nmc_prompts = 2000\n",
    "gpt2": "[grid]\nd = 3\nn_train = 8\nmodel = gpt2(1, 1, 8), gpt2(2, 2, 16)\n[train]\nsteps = 400\n"
            "[eval]\nm_test = n\nshift = none\nmc_prompts = 500\n",
}


def estimate(program, ini):
    r = subprocess.run([program, "--config", ini, "--dry-run"], env=ENV, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{ini}: dry run exit {r.returncode}: {r.stderr}")
    found = re.search(r"estimated cost: ([0-9.e+]+) core-seconds", r.stdout)
    rows = re.search(r"rows: (\d+)", r.stdout)
    return float(found.group(1)), int(rows.group(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--only", action="append", help="the configs to run (default: all)")
    args = p.parse_args()
    program = os.path.join(args.build, "icl-sweep")
    print(f"on {platform.node()} ({os.cpu_count()} cores); one process each\n")
    print("| config | rows | estimate (core-s) | real (s) | estimate / real |\n|---|---|---|---|---|")
    worst = 1.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, body in CONFIGS.items():
            if args.only and name not in args.only:
                continue
            ini, out = os.path.join(tmp, name + ".ini"), os.path.join(tmp, name + ".h5")
            with open(ini, "w") as f:
                f.write(f"[sweep]\nname = {name}\nseed = 1\n" + body)
            guess, rows = estimate(program, ini)
            t0 = time.monotonic()
            r = subprocess.run([program, "--config", ini, "--output", out, "--progress", "0"], env=ENV,
                               capture_output=True, text=True)
            real = time.monotonic() - t0
            if r.returncode != 0:
                sys.exit(f"{name}: exit {r.returncode}: {r.stderr[-1000:]}")
            ratio = guess / real
            worst = max(worst, ratio, 1 / ratio)
            print(f"| {name} | {rows} | {guess:.1f} | {real:.1f} | {ratio:.2f} |", flush=True)
    print(f"\nworst factor: {worst:.2f} ({'within' if worst <= 3 else 'beyond'} 3)")
    return 0 if worst <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
