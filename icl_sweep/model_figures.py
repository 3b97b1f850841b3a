"""Figures comparing the trained models of results files (grid.model).

    python3 -m icl_sweep models RESULTS.h5... --out OUT.png --paper [--n N]
        the paper's layout: normalised error R/R0 against the test prompt length M, one panel per
        test condition (shift), one row per training covariance; curves for every model, the LSA's
        limit A*, least squares and zero (R/R0 = 1); at N = --n (default: the largest)
    python3 -m icl_sweep models RESULTS.h5... --out OUT.png --training
        sampled training against the population flow: L - L* and rel_err of A (flow) or A_eff
        (sampled LSA models) along training, flow time and optimizer steps side by side; prints,
        per one-layer sampled model and grid point at M = N, the gaps of R(A_eff) and of the whole
        layer's risk to R(A*) (mean ± 95% interval across replicates, docs/theory.md §12)
    python3 -m icl_sweep models RESULTS.h5... --out OUT.png --depth
        error of linear_transformer(L) against the number of layers L, per shift, at M = N

The old spelling, OUT.png as the last positional argument, still works for this release with a
deprecation line on stderr.
"""
import argparse
import warnings
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .intervals import interval  # noqa: E402
from .plot import PALETTE, PlotError, at_one_setting, facet_title, output_of  # noqa: E402
from .results import GRID_AXES, SUCCESS_STATUSES, load as load_frame, split_call, trajectories  # noqa: E402

FLOOR = 1e-3
TRAINING_TITLES = {"isotropic": "Λ = I", "random_exp": "random Λ = diag(Exp(1))"}
warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
STYLE = {"flow": ("LSA, population flow", PALETTE[0]), "lsa": ("LSA, sampled training", PALETTE[1])}


def load(paths):
    """The rows' columns as arrays, at one value of each predictor's own setting (ridge λ, k-NN k:
    no figure here draws those predictors, and every other's rows at the other values are copies)."""
    df = at_one_setting(load_frame(paths))
    return {name: df[name].to_numpy() for name in df.columns}


def ordered(values):
    return list(dict.fromkeys(values))


OTHERS = [PALETTE[i] for i in (3, 4, 5, 7, 6)]  # after the LSA's two and least squares' (2): Okabe-Ito


def label(model, seen):
    """A model's legend text and colour; the models without a style of their own get the next
    colour of OTHERS, the same in every panel (`seen`: this figure's assignments)."""
    if model in STYLE:
        return STYLE[model]
    return model, seen.setdefault(model, OTHERS[len(seen) % len(OTHERS)])


def paper(cols, out, n):
    n = n or int(cols["n_train"].max())
    colours = {}
    if not (cols["n_train"] == n).any():
        raise ValueError(f"--n {n}: no rows with n_train = {n} (values: {', '.join(map(str, ordered(cols['n_train'])))})")
    spectra, shifts = ordered(cols["spectrum"]), ordered(cols["shift"])
    replicates = set()
    fig, axes = plt.subplots(len(spectra), len(shifts), figsize=(3.6 * len(shifts), 3.0 * len(spectra)),
                             squeeze=False, sharex=True, sharey=True)
    for i, spectrum in enumerate(spectra):
        for j, shift in enumerate(shifts):
            ax = axes[i][j]
            sel = (cols["spectrum"] == spectrum) & (cols["shift"] == shift) & (cols["n_train"] == n)
            models = ordered(cols["model"][sel])
            for k, model in enumerate(models):
                s = sel & (cols["model"] == model)
                m = np.unique(cols["m_test"][s])
                # The mean over training replicates and its 95% t interval across them (a band).
                points = [interval(cols["risk_model_mc"][s & (cols["m_test"] == v)] / cols["risk_zero"][s & (cols["m_test"] == v)])
                          for v in m]
                y = np.array([p[0] for p in points])
                half = np.array([p[1] for p in points])
                replicates.update(p[2] for p in points)
                text, colour = label(model, colours)
                ax.plot(m, np.maximum(y, FLOOR), marker="o", ms=2.5, label=text, color=colour)
                if np.isfinite(half).any():
                    ax.fill_between(m, np.maximum(y - half, FLOOR), np.maximum(y + half, FLOOR), color=colour, alpha=0.2,
                                    linewidth=0)
            s = sel & (cols["model"] == models[0]) if models else sel
            m = np.unique(cols["m_test"][s])
            ratio = lambda c: [np.nanmean(cols[c][s & (cols["m_test"] == v)] / cols["risk_zero"][s & (cols["m_test"] == v)]) for v in m]
            if np.isfinite(ratio("risk_lsa_limit")).any():
                ax.plot(m, ratio("risk_lsa_limit"), ls="--", color="black", label="LSA limit A* (closed form)")
            ax.plot(m, np.maximum(ratio("risk_ols_mc"), FLOOR), color=PALETTE[2], label="least squares")
            ax.axhline(1.0, color="grey", lw=0.8, label="zero predictor")
            ax.axvline(n, color="grey", lw=0.5, ls=":")
            ax.set_yscale("log")
            ax.set_title(f"trained on {TRAINING_TITLES.get(spectrum, spectrum)}\n{facet_title('shift', shift, shift)}",
                         fontsize=8)
            if i == len(spectra) - 1:
                ax.set_xlabel("test prompt length M")
            if j == 0:
                ax.set_ylabel("R / R₀")
    axes[0][0].legend(fontsize=6)
    counts = "-".join(map(str, sorted({min(replicates), max(replicates)}))) if replicates else "0"
    fig.suptitle(f"d = {', '.join(map(str, ordered(cols['d'])))}, N = {n}: each model's curve the mean over {counts} "
                 "training replicate(s),\nband its 95% t interval across them (dotted: M = N; values below "
                 f"{FLOOR:g}, least squares' zeros to rounding, drawn at it)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def training(paths, out):
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), squeeze=False)
    colours = {}
    tr = trajectories(paths)
    if not tr["model"].isin(["flow", "lsa", "linear_transformer(1)"]).any():
        raise ValueError("--training: no flow, lsa or linear_transformer(1) runs in the file")
    for model in ordered(tr["model"]):
        if model not in ("flow", "lsa") and not model.startswith("linear_transformer(1)"):
            continue
        column = 0 if model == "flow" else 1
        text, colour = label(model, colours)
        for k, (_, run) in enumerate(tr[tr["model"] == model].groupby(["file", "train_id"], sort=False, observed=True)):
            ok = run["time"] > 0
            axes[0][column].loglog(run["time"][ok], np.maximum(run["excess_loss"][ok], 1e-12), color=colour, alpha=0.5,
                                   label=text if k == 0 else None)
            axes[1][column].loglog(run["time"][ok], run["rel_err"][ok], color=colour, alpha=0.5)
    axes[0][0].set_title("population flow: against flow time", fontsize=9)
    axes[0][1].set_title("sampled training: against optimizer steps", fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("flow time" if ax is axes[1][0] else "step")
    axes[0][0].set_ylabel("L(A) − L*")
    axes[1][0].set_ylabel("‖A − A*‖ / ‖A*‖")
    for ax in axes[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def layer_gaps(paths):
    """The sampled one-layer models' risks against the optimum, at M = N, per model, spectrum and
    shift: each (R − R(A*))/R(A*) as the mean over replicates ± its 95% t interval (the README's
    figures). R(A_eff) is A_eff's closed form; the layer's is `risk_model_theory` (every block,
    docs/theory.md §12), its row standard errors relative to R(A*) beside it, and the largest
    |z| of a row against plain Monte-Carlo of the same layer."""
    df = at_one_setting(load_frame(paths))
    df = df[df["model"].isin(["lsa", "linear_transformer(1)"]) & (df["m_test"] == df["n_train"])]
    lines = []

    def fmt(mean, half):
        return f"{mean:+.2f}" + (f" ± {half:.2f}" if np.isfinite(half) else "")

    point = [a for a in GRID_AXES if a != "init_seed"]  # replicates differ in init_seed alone
    varied = [a for a in point if a not in ("model", "spectrum", "shift") and df[a].nunique() > 1]
    for key, g in df.groupby(point, sort=False, observed=True):
        model, spectrum, shift = (key[point.index(a)] for a in ("model", "spectrum", "shift"))
        spectrum += "".join(f" {a}={key[point.index(a)]}" for a in varied)
        limit = g["risk_lsa_limit"]
        if not np.isfinite(limit).all():
            continue
        parts = []
        a_eff, layer = g["risk_a_eff_theory"], g["risk_model_theory"]
        for name, gap in (("A_eff", a_eff - limit), ("layer", layer - limit), ("layer − A_eff", layer - a_eff)):
            mean, half, n = interval((gap / limit).to_numpy())
            parts.append(f"{name} {fmt(1e4 * mean, 1e4 * half)}")
        se = g["risk_model_theory_se"] / limit
        z = (g["risk_model_theory"] - g["risk_model_mc"]) / np.hypot(g["risk_model_theory_se"], g["risk_model_mc_se"])
        count = f"{n} replicates" if n > 1 else "1 replicate: no interval"
        lines.append(f"{model} {spectrum} {shift} ({count}), × 1e-4 of R(A*): " + ", ".join(parts)
                     + f"; layer se {1e4 * se.min():.2f}–{1e4 * se.max():.2f}; max |z| vs plain {np.abs(z).max():.2f}")
    return lines


def depth(cols, out):
    """R/R₀ at M = N against the number of layers L of linear_transformer(L), one panel per shift
    (in distribution first, on its own): per training spectrum the trained models' mean over the
    replicates that trained, its 95% t band and every replicate as a dot; the L-step GD reference
    (risk_gd_steps_mc, docs/theory.md §13) dashed with its Monte-Carlo error; the one-layer
    optimum R(A*) dotted where it has a closed form; the zero predictor at 1. Runs whose training
    failed (status not converged/trained, or a non-finite error) are left out of the mean and
    counted under their point ("2 failed")."""
    layers = {m: int(split_call(m)[1]) for m in ordered(cols["model"]) if split_call(m)[0] == "linear_transformer"}
    if not layers:
        print("icl_sweep models --depth: no linear_transformer(L) models in the file", file=sys.stderr)
        return 2
    at_n = cols["m_test"] == cols["n_train"]
    ls = sorted(layers.items(), key=lambda kv: kv[1])
    shifts = ordered(cols["shift"][at_n])
    shifts = (["none"] if "none" in shifts else []) + [s for s in shifts if s != "none"]
    # One row of panels per setting that is neither drawn nor a replicate (lr, steps, sigma, ...).
    others = [a for a in GRID_AXES if a not in ("init_seed", "model", "spectrum", "shift", "m_test")
              and len(set(cols[a][at_n])) > 1]
    settings = ordered(zip(*(cols[a] for a in others))) if others else [()]
    fig, axes = plt.subplots(len(settings), len(shifts), figsize=(4.6 * len(shifts), 3.8 * len(settings)),
                             squeeze=False)
    ok = np.isin(cols["status"], SUCCESS_STATUSES) & np.isfinite(cols["risk_model_mc"])
    counts = set()
    for (setting, shift), ax in zip(((t, sh) for t in settings for sh in shifts), axes.flat):
        shown = [1.0]  # positive values drawn: the panel's lower limit follows them
        in_setting = np.ones_like(at_n)
        for a, v in zip(others, setting):
            in_setting &= cols[a] == v
        for k, spectrum in enumerate(ordered(cols["spectrum"])):
            colour = PALETTE[k % len(PALETTE)]
            sel = at_n & in_setting & (cols["spectrum"] == spectrum) & (cols["shift"] == shift)
            x, mean, low, high, ref, ref_se, limit = [], [], [], [], [], [], []
            for model, l in ls:
                rows = sel & (cols["model"] == model)
                if not rows.any():
                    continue
                norm = cols["risk_model_mc"][rows & ok] / cols["risk_zero"][rows & ok]
                m, half, n = interval(norm)
                counts.add(n)
                failed = int(rows.sum() - (rows & ok).sum())
                x.append(l)
                mean.append(m)
                low.append(m - half if np.isfinite(half) else m)
                shown.extend(v for v in norm if v > 0)
                high.append(m + half if np.isfinite(half) else m)
                ax.scatter(np.full(n, l), norm, s=8, color=colour, alpha=0.4, zorder=3)
                if failed:
                    ax.annotate(f"{failed} failed", (l, m if np.isfinite(m) else 1.0), textcoords="offset points",
                                xytext=(0, -14), ha="center", fontsize=6, color=colour)
                zero = cols["risk_zero"][rows]
                ref.append(np.nanmean(cols["risk_gd_steps_mc"][rows] / zero))
                ref_se.append(np.nanmean(cols["risk_gd_steps_mc_se"][rows] / zero))
                limit.append(np.nanmean(cols["risk_lsa_limit"][rows] / zero))
            if not x:
                continue
            ax.plot(x, mean, marker="o", color=colour, label=f"{spectrum}: trained")
            # A band whose lower end is 0 or below runs to the panel's bottom edge (log axis).
            ax.fill_between(x, np.maximum(low, 1e-300), high, color=colour, alpha=0.2, lw=0)
            shown.extend(v for v in ref + limit + high if np.isfinite(v) and v > 0)
            if np.isfinite(ref).any():
                ax.errorbar(x, ref, yerr=1.96 * np.asarray(ref_se), color=colour, ls="--", marker="s", ms=3,
                            capsize=2, label=f"{spectrum}: L-step GD (fitted)")
            if np.isfinite(limit).any():
                ax.axhline(np.nanmean(limit), color=colour, ls=":", lw=1, label=f"{spectrum}: one layer at A*")
        ax.axhline(1.0, color="0.5", lw=0.8, label="zero predictor")
        ax.set_yscale("log")
        ax.set_ylim(min(shown) / 3.0, max(shown) * 3.0)
        ax.set_xticks([l for _, l in ls])
        ax.set_xlabel("layers L")
        ax.set_ylabel("R / R₀ at M = N")
        where = "".join(f", {a} = {v}" for a, v in zip(others, setting))
        ax.set_title(("in distribution" if shift == "none" else f"test under {shift}") + where, fontsize=9)
        ax.legend(fontsize=6)
    replicates = "-".join(map(str, sorted({min(counts), max(counts)}))) if counts else "0"
    fig.suptitle(f"linear_transformer(L): mean over {replicates} trained replicate(s) with its 95% t band, dots "
                 "the replicates (a band reaching the bottom edge holds 0);\nL-step GD: ±1.96 Monte-Carlo "
                 "standard errors; failed runs (status diverged) counted, not drawn", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep models", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", metavar="RESULTS.h5")
    p.add_argument("--out", metavar="OUT.png", help="the figure to write (the old spelling, a last positional "
                   "argument, is deprecated)")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--paper", action="store_true")
    kind.add_argument("--training", action="store_true")
    kind.add_argument("--depth", action="store_true")
    p.add_argument("--n", type=int, default=None)
    a = p.parse_args(argv)
    try:
        a.results, a.out = output_of("models", a.results, a.out, "figure to write", "OUT.png")
    except PlotError as e:
        print(f"icl_sweep models: {e}", file=sys.stderr)
        return 2
    if a.out.endswith(".h5"):
        print(f"icl_sweep models: --out {a.out}: the figure to write, not a results file", file=sys.stderr)
        return 2
    try:
        if a.training:
            training(a.results, a.out)
            for line in layer_gaps(a.results):
                print(line)
        else:
            cols = load(a.results)
            status = paper(cols, a.out, a.n) if a.paper else depth(cols, a.out)
            if status:
                return status
    except (FileNotFoundError, ValueError) as e:
        print(f"icl_sweep models: {e}", file=sys.stderr)
        return 2
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
