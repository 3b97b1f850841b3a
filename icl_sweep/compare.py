"""python3 -m icl_sweep compare FILES --a KEY=VALUE --b KEY=VALUE [--fix KEY=VALUE ...]: a paired
comparison of two settings of one grid axis (two training spectra, two models, two learning rates)
over training replicates.

Rows of A and B are paired when every other grid axis agrees, the training replicate
(`init_seed`) included. Test prompts are drawn by test law (docs/interface.md, "Determinism"):
where A and B have the same test law (another model, learning rate or training spectrum under a
shift with its own covariance) a pair saw the same prompts; every replicate of a condition sees
the same prompts too. Per condition (the grid point without init_seed) it prints the mean of A and
of B, the mean difference A - B with its 95% t interval across replicates (ci_low, ci_high), the
sign test (how many replicates have A > B, and the two-sided exact p), mc_bound, a bound on the
Monte-Carlo standard error of that mean difference that holds however the estimates are
correlated (the mean over pairs of se_A + se_B: shared prompts make the replicates' Monte-Carlo
errors alike, which the spread across replicates does not see), and a verdict: "A < B" or "A > B"
where the interval widened by 1.96 mc_bound on each side excludes 0, else "no difference shown".
Exit 2 with one message on bad input, nothing written."""
import argparse
import sys

import numpy as np
import pandas as pd

from .intervals import interval, sign_test
from .plot import METRICS, OWN_SETTINGS, PREDICTORS, PlotError, at_one_setting, parse_fix
from .results import GRID_AXES, load

REPLICATE = "init_seed"


def paired(df, a, b, predictor, metric):
    """The pairs of rows of df with KEY = a's value and KEY = b's (a and b: "KEY=VALUE"): one row per
    pair with the other grid axes, value_a, value_b, se_a, se_b."""
    key_a, key_b = a.split("=", 1)[0].strip(), b.split("=", 1)[0].strip()
    if key_a != key_b:
        raise PlotError(f"--a {a} and --b {b}: compare two values of one key")
    if key_a not in GRID_AXES:
        raise PlotError(f"--a {a}: {key_a!r} is not a grid axis ({', '.join(GRID_AXES)})")
    if predictor not in PREDICTORS:
        raise PlotError(f"--predictor {predictor}: unknown (known: {', '.join(PREDICTORS)})")
    column, se_column, _ = PREDICTORS[predictor]
    # Another predictor's own setting (ridge's λ, k-NN's k) leaves this one's values as they are:
    # its rows at one value alone (the others are copies); the compared axis and the predictor's own
    # setting are kept whole.
    df = at_one_setting(df, keep=[key_a, OWN_SETTINGS.get(predictor, (None,))[0]])
    scale = {"r_over_r0": 1.0 / df["risk_zero"], "error": 1.0, "error_per_d": 1.0 / df["d"]}[metric]
    df = df.assign(value=df[column] * scale, se=(df[se_column] * scale) if se_column else np.nan)
    keys = [k for k in GRID_AXES if k != key_a]
    sides = []
    for name, spec in (("a", a), ("b", b)):
        side = parse_fix([spec], df)
        twice = side.duplicated(keys, keep=False)
        if twice.any():
            first = side[twice].iloc[0]
            raise PlotError(f"--{name} {spec}: {int(twice.sum())} rows share a grid point (e.g. "
                            + ", ".join(f"{k}={first[k]}" for k in keys) + "): several files with other seeds? "
                            "--fix file=PATH or compare one sweep")
        sides.append(side[keys + ["value", "se"]].rename(columns={"value": f"value_{name}", "se": f"se_{name}"}))
    pairs = sides[0].merge(sides[1], on=keys, how="inner")
    if pairs.empty:
        raise PlotError(f"no row of {a} has a partner in {b} with the same other grid values")
    return pairs, keys


def compare(df, a, b, predictor="model", metric="r_over_r0"):
    """The table of the paired comparison (one row per condition), and the condition's keys that vary."""
    pairs, keys = paired(df, a, b, predictor, metric)
    conditions = [k for k in keys if k != REPLICATE]
    out = []
    for condition, group in pairs.groupby(conditions, sort=True, dropna=False, observed=True):
        group = group[np.isfinite(group["value_a"] - group["value_b"])]  # pairs with both values
        diff = (group["value_a"] - group["value_b"]).to_numpy(dtype=float)
        mean, half, n = interval(diff)
        positive, nonzero, p = sign_test(diff)
        se = (group["se_a"] + group["se_b"]).to_numpy(dtype=float)
        mc_bound = float(np.mean(se)) if n > 0 and np.isfinite(se).all() else 0.0
        low, high = mean - half, mean + half
        widened = half + 1.96 * mc_bound
        verdict = ("no difference shown" if not np.isfinite(half) or mean - widened <= 0 <= mean + widened
                   else "A < B" if mean + widened < 0 else "A > B")
        out.append({**dict(zip(conditions, condition)), "replicates": n,
                    "mean_a": group["value_a"].mean(), "mean_b": group["value_b"].mean(), "diff": mean,
                    "ci_low": low, "ci_high": high, "mc_bound": mc_bound,
                    "a_greater": positive, "nonzero": nonzero, "sign_p": p, "verdict": verdict})
    table = pd.DataFrame(out)
    varied = [k for k in conditions if table[k].nunique() > 1]
    return table, varied


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep compare", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--a", required=True, metavar="KEY=VALUE", help="setting A, e.g. spectrum=isotropic")
    p.add_argument("--b", required=True, metavar="KEY=VALUE", help="setting B of the same key")
    p.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE", help="keep only these rows (plot's rules)")
    p.add_argument("--predictor", default="model", help="whose error (plot's names; default: the trained model)")
    p.add_argument("--metric", default="r_over_r0", choices=list(METRICS))
    p.add_argument("--csv", help="also write the whole table here")
    p.add_argument("--partial", action="store_true", help="read unfinished files' rows done")
    args = p.parse_args(argv)
    try:
        df = load(args.files, partial=args.partial)
        df = parse_fix(args.fix, df)
        table, varied = compare(df, args.a, args.b, args.predictor, args.metric)
    except (PlotError, FileNotFoundError, ValueError, OSError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    shown = table[varied + ["replicates", "mean_a", "mean_b", "diff", "ci_low", "ci_high", "mc_bound", "a_greater",
                            "nonzero", "sign_p", "verdict"]]
    fixed = {k: table[k].iloc[0] for k in table.columns if k not in shown.columns and k in GRID_AXES}
    print(f"A: {args.a}; B: {args.b}; {args.predictor} error as {args.metric}; paired by every other grid axis "
          f"(replicates: {REPLICATE})" + ("; fixed: " + ", ".join(f"{k}={v}" for k, v in fixed.items()) if fixed else ""))
    print("diff = mean over replicates of A - B; ci: its 95% t interval across replicates; mc_bound: a bound on the "
          "Monte-Carlo standard error of diff; verdict: whether ci widened by 1.96 mc_bound excludes 0; "
          "a_greater of nonzero: the sign test, sign_p its two-sided p")
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.float_format", "{:.6g}".format):
        print(shown.to_string(index=False))
    shown_counts = table["verdict"].value_counts()
    print("; ".join(f"{v}: {n}" for v, n in shown_counts.items()))
    if args.csv:
        table.to_csv(args.csv, index=False, float_format="%.17g")
    return 0


if __name__ == "__main__":
    sys.exit(main())
