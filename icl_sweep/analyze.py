"""Tables and figures from results files.

    python3 -m icl_sweep analyze RESULTS.h5... --out DIR [--phase X Y] [--metric M] [--fix KEY=VALUE ...]
                                 [--panel M] [--title TEXT] [--no-curves] [--partial]

Writes into DIR:
  summary.csv             one row per (model, spectrum, shift, d, N, M, ridge lambda, k-NN k, and the
                          sampled models' lr, steps, optimizer, batch, lr_schedule, init): runs,
                          convergence, the mean normalised error R/R0 of every predictor, and for the
                          trained model the half-width of its 95% interval across the runs
                          (*_ci95: training replicates; NaN for one run) (also printed)
  convergence.png         loss - L* and the distance to the limit A* against gradient-flow time, one
                          line per training run of the population flow, coloured by spectrum, styled by sigma
  error_vs_m_<shift>.png  R/R0 against the test prompt length M per shift: LSA closed form, LSA
                          Monte-Carlo (error bars), OLS, ridge, one-step GD, zero; one panel per
                          (model, training spectrum, N, and the train.* settings of sampled models), averaged
                          over the other axes
  phase_<X>_<Y>.png       with --phase X Y: a heatmap of --metric over two grid axes, the other
                          axes averaged; cells placed by value on numeric axes (a log axis where the
                          values span a decade or more)
  panel_m<M>.png          with --panel M: R/R0 of every predictor under every shift at M (a
                          robustness panel; all predictors saw the same prompts)

Every output names, in its title and in a line printed as `NAME: ...`, each grid axis it averages
or pools over and its values ("mean over d = 10, 20; sigma = 0, 0.1"); an axis with one value in
the rows drawn is not named. A predictor's own setting (ridge's λ, k-NN's k: icl_sweep.plot's
OWN_SETTINGS) is never averaged: with several values, each is its own curve or column,
`ridge (λ = 0.1)`, `k-NN (k = 5)`, and every other predictor (the same prompts, the same value at
every λ and k) is taken at one value alone.

Axes: d, n_train, m_test, sigma, init_seed, spectrum, shift, model, shift_param (the number in
`covariate_scale(2)`), d_over_n, kappa (the number in `geometric(100)`; 1 for isotropic).
Metrics: lsa_norm (R/R0 of the trained LSA, Monte-Carlo, or closed form when there is no
Monte-Carlo), lsa_theory_norm, lsa_over_ols, ols_norm, gf_time, log_rel_err, converged.
--fix KEY=VALUE (any column of icl_sweep.load or axis above; m_test=n for M = N) keeps only those
rows, for every output. Several files are read as one table (icl_sweep.load: rows that several
files hold as the same computation counted once); unfinished files only with --partial. Bad input exits 2
before anything is written. The old spelling, DIR as the last positional argument, still works for
this release with a deprecation line on stderr.
"""
import argparse
import csv
import os
import re
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .intervals import interval  # noqa: E402
from .plot import (LABELS, OWN_AXES, PALETTE, PREDICTORS as PLOT_PREDICTORS, SAMPLED_ONLY, PlotError,  # noqa: E402
                   applies, at_one_setting, output_of, over_text, own_curves, parse_fix, pooled, predictor_rows,
                   value_text)
from .results import (RUN_AXES, SUCCESS_STATUSES, SUMMARY_KEYS, copies_note, load as load_frame,  # noqa: E402
                      trajectories)

# column, label, standard-error column, colour (the same in every figure; Okabe-Ito): plot's
# predictors, in this command's order.
ORDER = (("model_theory", 0), ("model", 1), ("ols", 2), ("ridge", 3), ("gd", 4), ("avg", 5), ("knn", 7))
PREDICTORS = [(PLOT_PREDICTORS[key][0], PLOT_PREDICTORS[key][2], PLOT_PREDICTORS[key][1], PALETTE[colour])
              for key, colour in ORDER]
KEY_OF = {PLOT_PREDICTORS[key][0]: key for key, _ in ORDER}  # a predictor's column: its name in plot's PREDICTORS
FLOOR = 1e-3  # R/R0 below this (OLS interpolating noiseless prompts: ~1e-30) is drawn at it
METRICS = ["lsa_norm", "lsa_theory_norm", "lsa_over_ols", "ols_norm", "gf_time", "log_rel_err", "converged"]


def load(paths, partial=False, fixes=()):
    """The rows of `paths` (icl_sweep.load) with this command's axes and metrics added, that every
    --fix KEY=VALUE keeps (the plot command's rules: m_test=n is M = N): one tidy DataFrame."""
    df = load_frame(paths, partial=partial)
    if copies_note(df):
        print(copies_note(df))
    # The fixes on load's columns first: the columns below are then made for the rows kept alone.
    early = [(k, v) for k, v in fixes if k in df.columns or k == "m_test"]
    df = parse_fix([f"{k}={v}" for k, v in early], df)
    fixes = [f for f in fixes if f not in early]
    df["kappa"] = np.where(df["spectrum_name"] == "geometric", df["spectrum_param"],
                           np.where(df["spectrum"] == "isotropic", 1.0, np.nan))
    df["d_over_n"] = df["d"] / df["n_train"]
    mc = df["risk_model_mc_norm"]
    df["lsa_norm"] = np.where(np.isfinite(mc), mc, df["risk_model_theory_norm"])
    df["lsa_theory_norm"] = df["risk_model_theory_norm"]
    df["ols_norm"] = df["risk_ols_mc_norm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        df["lsa_over_ols"] = df["risk_model_mc"] / df["risk_ols_mc"]
        df["log_rel_err"] = np.log10(df["rel_err"])
    df["converged"] = df["status"].isin(SUCCESS_STATUSES).astype(float)
    df = parse_fix([f"{k}={v}" for k, v in fixes], df)
    if df.empty:
        raise PlotError(f"{', '.join(paths)}: no rows")
    return df.reset_index(drop=True)


def finite_mean(values):
    """The mean of the finite values (a failed run's NaN, an infinite OLS risk left out); NaN when
    there are none."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else np.nan


def groups(df, keys):
    """(key, rows) for every value of `keys` in order of first appearance, NaN keys kept."""
    return df.groupby(keys, sort=False, dropna=False, observed=True)


def write_summary(df, outdir):
    # One row per SUMMARY_KEYS (model, spectrum, shift, d, N, M, ridge lambda, k-NN k, and the sampled
    # models' settings lr, steps, optimizer, batch, lr_schedule, init): averaged
    # over seeds and sigma only, never over the sizes or settings (a summary that averaged over N and
    # M would mix different questions silently).
    # The trained model's normalised errors also carry the half-width of the 95% t interval of
    # their mean across the group's runs (training replicates: init_seed, and sigma where it
    # varies; NaN for one run), docs/interface.md "Replicates".
    norms = [c.replace("risk_", "") + "_norm" for c, _, _, _ in PREDICTORS]
    spreads = [n + "_ci95" for n in norms if n.startswith("model_")]
    # Means and medians of the finite values (finite_mean, finite_median): infinities as NaN, which
    # pandas' own (compiled) mean and median leave out.
    values = [c + "_norm" for c, _, _, _ in PREDICTORS] + ["rel_err"]
    finite = df[SUMMARY_KEYS + ["row", "converged", "file", "train_id"]].copy()
    for c in values:
        finite[c] = df[c].replace([np.inf, -np.inf], np.nan)
    finite["run"] = list(zip(df["file"], df["train_id"]))
    table = groups(finite, SUMMARY_KEYS).agg(
        rows=("row", "size"), runs=("run", "nunique"), converged=("converged", "mean"),
        median_rel_err=("rel_err", "median"), **{n: (c + "_norm", "mean") for n, (c, _, _, _) in zip(norms, PREDICTORS)},
        **{n + "_ci95": (c + "_norm", lambda v: interval(v)[1]) for n, (c, _, _, _) in zip(norms, PREDICTORS)
           if n + "_ci95" in spreads}).reset_index()
    header = SUMMARY_KEYS + ["rows", "runs", "converged", "median_rel_err"] + norms + spreads
    rows = [[str(v) for v in keys] + [int(n), int(runs), f"{conv:.3f}", f"{rel:.3e}"] + [f"{x:.6g}" for x in rest]
            for keys, n, runs, conv, rel, rest in zip(zip(*(table[k] for k in SUMMARY_KEYS)), table["rows"], table["runs"],
                                                      table["converged"], table["median_rel_err"],
                                                      zip(*(table[c] for c in norms + spreads)))]
    with open(os.path.join(outdir, "summary.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    for line in [header] + rows:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths)))
    return summary_statement(df)


def summary_statement(df):
    """What a row of summary.csv averages: the grid axes that vary among the runs of one row."""
    return (f"one row per {', '.join(k for k in SUMMARY_KEYS if applies(k, df))}; "
            + (over_text(pooled(df, SUMMARY_KEYS)) or "one run per row (nothing averaged)"))


def limit_of(spectra):
    """What the flow's limit A* is for these training spectra: Γ⁻¹ only for a fixed covariance; for
    random ones the minimiser of the loss averaged over the covariances (docs/theory.md §2)."""
    random = [s for s in spectra if s.startswith("random_")]
    return "; ".join((["A* = Γ⁻¹ for a fixed training covariance"] if len(random) < len(spectra) else []) +
                     (["A* = (E[λ²] / E[γλ²])·I for a random one (docs/theory.md §2)"] if random else []))


def plot_convergence(paths, partial, kept_runs, outdir):
    """The population flow's runs among `kept_runs` ((file, train_id) pairs): excess loss and distance to
    the limit A* against flow time, to convergence.png. Returns its caption, which names what the lines
    pool (the axes the legend does not tell apart), or None when there is no flow run."""
    tr = trajectories(paths, partial=partial, runs=kept_runs)
    tr = tr[tr["model"] == "flow"]
    if tr.empty:
        return None
    runs = list(tr.groupby(["file", "train_id"], sort=False, observed=True))
    spectra = list(dict.fromkeys(tr["spectrum"]))
    sigmas = sorted(tr["sigma"].unique())
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(spectra), 1)))
    styles = ["-", "--", ":", "-."]
    by_sigma = len(sigmas) <= len(styles)  # more sigmas than line styles: colour by spectrum only
    step = max(1, len(runs) // 60)  # at most about 60 lines stay readable
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    shown = set()
    for _, run in runs[::step]:
        spec, sig = run["spectrum"].iloc[0], run["sigma"].iloc[0]
        label = f"{spec}, σ={sig:g}" if by_sigma else spec
        kw = dict(color=colours[spectra.index(spec)], ls=styles[sigmas.index(sig)] if by_sigma else "-", lw=1,
                  label=None if label in shown else label)
        shown.add(label)
        ok = run["time"] > 0
        axes[0].loglog(run["time"][ok], np.maximum(run["excess_loss"][ok], 1e-300), **kw)
        axes[1].loglog(run["time"][ok], run["rel_err"][ok], **kw)
    # A* is Γ⁻¹ only for a fixed training covariance; for random ones it is the minimiser of the
    # loss averaged over the covariances (docs/theory.md §2).
    axes[0].set(xlabel="gradient-flow time t", ylabel="excess loss L(t) − L*", title="Loss")
    axes[1].set(xlabel="gradient-flow time t", ylabel="‖A(t) − A*‖_F / ‖A*‖_F", title="Distance to the limit A*")
    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(fontsize=7, loc="lower left", ncol=2 if len(shown) > 8 else 1)
    table = tr.drop_duplicates(["file", "train_id"])
    pool = over_text(pooled(table, ["spectrum"] + (["sigma"] if by_sigma else []), RUN_AXES), "pooled over")
    caption = ("one line per training run" + (f" (one run in {step}, of {len(runs)})" if step > 1 else "")
               + (f"; {pool}" if pool else ""))
    fig.suptitle(wrapped(f"Gradient-flow convergence, {caption}\n{limit_of(spectra)}", fig.get_figwidth(), 10),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "convergence.png"), dpi=90)
    plt.close(fig)
    return caption


def curves(panel, column, label):
    """(label, rows, line style) of each curve a predictor (its column) draws in a panel: one per value
    of its own setting (ridge's λ, k-NN's k), every other predictor one, at one value of each own
    setting alone (plot's own_curves, predictor_rows)."""
    key = KEY_OF[column]
    styles = ["-", "--", ":", "-."]
    return [(text, predictor_rows(panel, key, value), styles[n % len(styles)] if value is not None else "-")
            for n, (text, value) in enumerate(own_curves(panel, key, label))]


# What a panel of the error against M keeps apart: a curve never mixes models or their settings
# (the sampled models' own: lr, steps, optimizer, batch, lr_schedule, init).
PANEL_KEYS = ["model", "spectrum", "n_train"] + list(SAMPLED_ONLY)


def plot_error_vs_m(df, outdir):
    """error_vs_m_<shift>.png for every shift with two or more M; returns {file name: what its points
    average over}."""
    made = {}
    for shift, rows in groups(df, "shift"):
        if rows["m_test"].nunique() < 2:
            continue
        panels = list(groups(rows, PANEL_KEYS))
        several_models = rows["model"].nunique() > 1
        sampled = rows[rows["model"] != "flow"]
        settings = [k for k in SAMPLED_ONLY if sampled[k].nunique() > 1]
        n = len(panels)
        ncol = min(n, 3)
        nrow = (n + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow + 0.4), squeeze=False, sharey=True)
        for ax, (key, panel) in zip(axes.flat, panels):
            model, spec, ntrain = key[:3]
            setting = dict(zip(SAMPLED_ONLY, key[3:]))
            for column, label, se_column, colour in PREDICTORS:
                if column in ("risk_avg_mc", "risk_knn_mc"):
                    continue
                for text, part, style in curves(panel, column, label):
                    by_m = part.groupby("m_test", observed=True)  # M in increasing order
                    ms = list(by_m.groups)
                    ys = np.array([finite_mean(g[column] / g["risk_zero"]) for _, g in by_m])
                    es = [finite_mean(g[se_column] / g["risk_zero"]) if se_column else 0.0 for _, g in by_m]
                    if not np.isfinite(ys).any():
                        continue
                    if se_column == "risk_model_mc_se":
                        ax.errorbar(ms, np.maximum(ys, FLOOR), yerr=es, fmt="o", ms=2.5, lw=0.8, color=colour, label=text)
                    else:
                        ax.plot(ms, np.maximum(ys, FLOOR), lw=1.3, ls=style, color=colour, label=text)
            ax.axhline(1.0, color="k", lw=0.8, ls=":", label="zero predictor")
            ax.axvline(ntrain, color="grey", lw=0.6, ls="--")
            ax.set(xlabel="test prompt length M", ylabel="normalised error R / R₀",
                   title=(f"{model}, " if several_models else "") + f"train {spec}, N={ntrain}"
                   + (setting_text(setting, settings) if settings and model != "flow" else ""), yscale="log")
            ax.grid(True, alpha=0.3)
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=7)
        statement = over_text(pooled(at_one_setting(rows), PANEL_KEYS + ["m_test"])) or "one row per point"
        fig.suptitle(wrapped(f"Error against M under {shift}, model {model if not several_models else 'per panel'} "
                             f"(dashed: M = N; values below {FLOOR:g} drawn at {FLOOR:g})\n{statement}",
                             fig.get_figwidth(), 11), fontsize=11)
        fig.tight_layout()
        name = f"error_vs_m_{file_part(shift)}.png"
        fig.savefig(os.path.join(outdir, name), dpi=80)
        plt.close(fig)
        made[name] = statement
    return made


def setting_text(setting, varied):
    """A sampled model's settings in a panel title: `, lr=0.01, 200 steps` and every other of its
    axes that takes several values (`varied`), `, optimizer=adam`."""
    return (f", lr={setting['lr']:g}, {setting['steps']} steps"
            + "".join(f", {k}={value_text(setting[k])}" for k in varied if k not in ("lr", "steps")))


def wrapped(text, inches, fontsize):
    """`text` broken into lines that fit a title `inches` wide at `fontsize` points (its own line
    breaks kept)."""
    width = max(20, int(inches * 72 / (0.55 * fontsize)))
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def file_part(text):
    """A shift as part of a file name: signs kept, so that task_mean(-1) and task_mean(1) differ."""
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", text).strip("_")


def bad_input(message):
    print(f"icl_sweep analyze: {message}", file=sys.stderr)
    sys.exit(2)


# Mathematical labels for the axes and metrics.
AXIS_LABELS = {**LABELS, "d_over_n": "d / N", "kappa": "κ (condition number)", "shift_param": "shift parameter c"}
METRIC_LABELS = {"lsa_norm": "R / R₀ of the LSA", "lsa_theory_norm": "R / R₀ of the LSA (closed form)",
                 "ols_norm": "R / R₀ of OLS", "lsa_over_ols": "R(LSA) / R(OLS)", "gf_time": "gradient-flow time",
                 "log_rel_err": "log₁₀ ‖A − A*‖ / ‖A*‖", "converged": "fraction of runs converged"}
RATIOS = ("lsa_norm", "lsa_theory_norm", "ols_norm", "lsa_over_ols")  # 1 is the neutral value


def placement(axis, values, rows):
    """Where the cells of a heatmap axis lie: (centres, edges, log). A numeric axis by value, each cell
    reaching half way to its neighbours (on a log scale where positive values span a decade or
    more); a text axis one cell per value, in order."""
    numeric = pd.api.types.is_numeric_dtype(rows[axis]) and not pd.api.types.is_bool_dtype(rows[axis])
    if not numeric:
        centres = np.arange(len(values), dtype=float)
        return centres, np.arange(len(values) + 1) - 0.5, False
    centres = np.asarray(values, dtype=float)
    log = len(centres) > 1 and centres.min() > 0 and centres.max() >= 10 * centres.min()
    t = np.log10(centres) if log else centres
    if len(t) == 1:
        half = 0.5 if log or t[0] == 0 else abs(t[0]) / 2
        edges = np.array([t[0] - half, t[0] + half])
    else:
        mids = (t[1:] + t[:-1]) / 2
        edges = np.concatenate([[2 * t[0] - mids[0]], mids, [2 * t[-1] - mids[-1]]])
    return centres, 10.0 ** edges if log else edges, log


def heatmap(fig, ax, grid, unconverged, ratio, label, cell_text=True, x=None, y=None):
    """Draws `grid` (rows y, columns x) with its cells where `x` and `y` (placement's answers; None:
    one cell per index) put them. Ratios: log scale on a diverging map centred at 1 (blue better, red
    worse), values below FLOOR at the floor and written "<floor"; cells holding an unconverged run
    hatched. Returns the count of hatched cells."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import NullLocator
    rows, cols_ = grid.shape
    xc, xe, xlog = x or (np.arange(cols_, dtype=float), np.arange(cols_ + 1) - 0.5, False)
    yc, ye, ylog = y or (np.arange(rows, dtype=float), np.arange(rows + 1) - 0.5, False)
    if ratio:
        shown = np.log10(np.maximum(grid, FLOOR))
        top = max(np.nanmax(shown) if np.isfinite(shown).any() else 1.0, 0.5)
        image = ax.pcolormesh(xe, ye, np.ma.masked_invalid(shown), cmap="RdBu_r",
                              norm=TwoSlopeNorm(vmin=np.log10(FLOOR), vcenter=0.0, vmax=top))
        fig.colorbar(image, ax=ax).set_label(f"log₁₀ {label}\n0: as good as predicting 0; floor {FLOOR:g}")
    else:
        shown = grid
        image = ax.pcolormesh(xe, ye, np.ma.masked_invalid(shown), cmap="viridis")
        fig.colorbar(image, ax=ax).set_label(label)
    if xlog:
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
    if ylog:
        ax.set_yscale("log")
        ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    norm = image.norm
    hatched = 0
    for i in range(rows):
        for j in range(cols_):
            if unconverged is not None and unconverged[i, j]:
                ax.add_patch(Rectangle((xe[j], ye[i]), xe[j + 1] - xe[j], ye[i + 1] - ye[i], fill=False, hatch="///",
                                       edgecolor="0.25", linewidth=0))
                hatched += 1
            if cell_text and np.isfinite(grid[i, j]) and rows * cols_ <= 150:
                v = grid[i, j]
                text = f"<{FLOOR:g}" if ratio and v < FLOOR else (f"{v:.0f}" if 100 <= abs(v) < 1e5 else f"{v:.2g}")
                dark = abs(float(norm(shown[i, j])) - 0.5) > 0.3
                ax.text(xc[j], yc[i], text, ha="center", va="center", fontsize=8, color="w" if dark else "k")
    return hatched


def tick_text(axis, values, rows):
    """Tick labels; a rotation's angle θ in units of π."""
    rotations = axis == "shift_param" and set(rows["shift_name"]) == {"covariate_rotate"}
    fmt = (lambda v: f"{v / np.pi:.2g}π") if rotations else \
        (lambda v: f"{v:g}" if isinstance(v, (float, np.floating)) else str(v))
    return [fmt(v) for v in values]


def phase_rows(df, x, y, metric):
    """The rows a phase diagram over x and y draws: those where both are defined (shift_param of
    shifts without a parameter is not); refuses when none is left or the metric is nowhere finite."""
    rows = df[np.isfinite(df[[x, y]].select_dtypes("float")).all(axis=1)]
    if rows.empty:
        bad_input(f"--phase {x} {y}: no row has both defined (shift_param needs shifts with a parameter)")
    if not np.isfinite(rows[metric].astype(float)).any():
        bad_input(f"--phase {x} {y} --metric {metric}: the metric is not defined on these rows "
                  "(gf_time and log_rel_err need population-flow runs, lsa_theory_norm a closed form)")
    return rows


def ordered(values):
    """Numbers by value, then texts."""
    return sorted(set(values), key=lambda v: (isinstance(v, str), v))


def plot_phase(df, x, y, metric, fixes, outdir, title):
    """phase_<x>_<y>.png: the metric's mean per cell, cells placed by value on numeric axes; returns what
    each cell averages over. Every metric is the trained model's or OLS's: taken at one value of each
    predictor's own setting (ridge λ, k-NN k) that is not x or y."""
    rows = at_one_setting(phase_rows(df, x, y, metric), keep=[a for a in (x, y) if a in OWN_AXES])
    xs, ys = ordered(rows[x]), ordered(rows[y])
    cells = groups(rows.assign(phase_y=rows[y]), ["phase_y", x])  # a copy of y: x and y may be one axis
    grid = cells[metric].agg(finite_mean).unstack(x).reindex(index=ys, columns=xs).to_numpy(dtype=float)
    unconverged = (cells["converged"].min() < 1).unstack(x, fill_value=False) \
        .reindex(index=ys, columns=xs, fill_value=False).to_numpy(dtype=bool)
    fig, ax = plt.subplots(figsize=(1.6 + 0.62 * max(len(xs), 6), 1.9 + 0.45 * max(len(ys), 5)))
    label = METRIC_LABELS.get(metric, metric)
    if metric == "gf_time":
        grid_shown, label = np.log10(grid), "log₁₀ " + label
    else:
        grid_shown = grid
    px, py = placement(x, xs, rows), placement(y, ys, rows)
    hatched = heatmap(fig, ax, grid_shown, unconverged, metric in RATIOS, label, x=px, y=py)
    ax.set_xticks(px[0], tick_text(x, xs, rows), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(py[0], tick_text(y, ys, rows), fontsize=8)
    ax.set(xlabel=AXIS_LABELS.get(x, x), ylabel=AXIS_LABELS.get(y, y))
    statement = over_text(pooled(rows, [x, y])) or "one row per cell"
    notes = [statement] + [f"fixed: {', '.join(f'{k}={v}' for k, v in fixes)}"] * bool(fixes) \
        + [f"hatched: {hatched} cell(s) with unconverged runs"] * bool(hatched)
    ax.set_title(wrapped(f"{title or label}\n" + "; ".join(notes), fig.get_figwidth() - 1.5, 9), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, f"phase_{x}_{y}.png"), dpi=110)
    plt.close(fig)
    return statement


def panel_columns(rows):
    """(label, column, value of the predictor's own setting or None) of each column of a robustness
    panel: every predictor, ridge once per λ and k-NN once per k (plot's own_curves), and zero."""
    out = [(text, column, value) for column, label, _, _ in PREDICTORS
           for text, value in own_curves(rows, KEY_OF[column], label)]
    return out + [("zero", "risk_zero", None)]


def plot_panel(df, m, outdir):
    """panel_m<M>.png: R/R₀ of every predictor under every shift at M; returns what each cell averages
    over."""
    rows = df[df["m_test"] == m]
    by_shift = list(groups(rows, "shift"))
    shifts = [shift for shift, _ in by_shift]
    columns = panel_columns(rows)

    def cell(g, column, value):
        part = predictor_rows(g, KEY_OF.get(column), value)
        return finite_mean(part[column] / part["risk_zero"])

    grid = np.array([[cell(g, c, value) for _, c, value in columns] for _, g in by_shift])
    unconverged = np.array([[(g["converged"] < 1).any()] * len(columns) for _, g in by_shift])
    fig, ax = plt.subplots(figsize=(9.5 + 0.6 * max(len(columns) - 8, 0), 0.4 * len(shifts) + 2.6))
    hatched = heatmap(fig, ax, grid, unconverged, True, "R / R₀")
    ax.invert_yaxis()  # the shifts top-down, as listed
    ax.set_xticks(range(len(columns)), [label for label, _, _ in columns], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(shifts)), shifts, fontsize=8)
    ax.set(xlabel="predictor", ylabel="test condition")
    statement = over_text(pooled(at_one_setting(rows), ["shift", "m_test"])) or "one row per cell"
    note = f"; hatched: {hatched} cell(s) with unconverged runs" if hatched else ""
    ax.set_title(wrapped(f"R / R₀ at M = {m} (blue: better than predicting 0, red: worse{note})\n{statement}",
                         fig.get_figwidth() - 1.5, 9), fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, f"panel_m{m}.png"), dpi=90)
    plt.close(fig)
    return statement


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep analyze", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+", metavar="RESULTS.h5")
    p.add_argument("--out", metavar="DIR", help="the folder to write into (the old spelling, a last positional "
                   "argument, is deprecated)")
    p.add_argument("--phase", nargs=2, metavar=("X", "Y"), action="append", default=[])
    p.add_argument("--metric", choices=METRICS, default="lsa_norm")
    p.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--title", default="")
    p.add_argument("--no-curves", action="store_true", help="skip the error-against-M figures")
    p.add_argument("--panel", type=int, action="append", default=[], metavar="M")
    p.add_argument("--partial", action="store_true", help="read unfinished files' rows done")
    args = p.parse_args(argv)
    # Everything is checked before anything is written.
    try:
        args.results, args.outdir = output_of("analyze", args.results, args.out, "output folder", "DIR")
    except PlotError as e:
        bad_input(str(e))
    if os.path.exists(args.outdir) and not os.path.isdir(args.outdir) or args.outdir.endswith(".h5"):
        bad_input(f"--out {args.outdir}: the output folder, not a file (a results file there would be left out "
                  "of the analysis)")
    for f in args.fix:
        if "=" not in f:
            bad_input(f"--fix {f}: expected KEY=VALUE")
    fixes = [tuple(t.strip() for t in f.split("=", 1)) for f in args.fix]
    try:
        df = load(args.results, args.partial, fixes)
    except (FileNotFoundError, ValueError) as e:  # PlotError and the package's refusals are ValueErrors
        bad_input(str(e))
    for x, y in args.phase:
        for axis in (x, y):
            if axis not in df:
                bad_input(f"--phase: unknown axis {axis} (axes: see --help)")
        phase_rows(df, x, y, args.metric)
    for m in args.panel:
        at_m = df[df["m_test"] == m]
        if at_m.empty:
            bad_input(f"--panel {m}: no rows with m_test = {m}")
        if at_m["model"].nunique() > 1:
            bad_input(f"--panel {m}: the rows hold several models ({', '.join(sorted(set(df['model'])))}); "
                      "choose one with --fix model=NAME")
    os.makedirs(args.outdir, exist_ok=True)
    # Each output with what it averages or pools over, also in its title.
    said = {"summary.csv": write_summary(df, args.outdir)}
    said["convergence.png"] = plot_convergence(args.results, args.partial, set(zip(df["file"], df["train_id"])),
                                               args.outdir)
    if not args.no_curves:
        said.update(plot_error_vs_m(df, args.outdir))
    for x, y in args.phase:
        said[f"phase_{x}_{y}.png"] = plot_phase(df, x, y, args.metric, fixes, args.outdir, args.title)
    for m in args.panel:
        said[f"panel_m{m}.png"] = plot_panel(df, m, args.outdir)
    for name, statement in said.items():
        if statement:
            print(f"{name}: {statement}")
    print(f"wrote {', '.join(sorted(os.listdir(args.outdir)))} to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
