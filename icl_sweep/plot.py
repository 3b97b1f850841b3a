"""One flexible figure from one or many results files:

    python3 -m icl_sweep plot FILES... --x KEY [--hue KEY] [--facet KEY] [--fix KEY=VALUE ...]
                                       [--metric r_over_r0|error|error_per_d] [--predictors model,ols,ridge]
                                       [--out FIGURE.png]

KEY is a column of icl_sweep.load's table (d, n_train, m_test, shift_param, spectrum, shift, sigma,
init_seed, model, ...) or `predictor`. Each point is the mean over every row that shares its x, hue
and facet values (seeds and anything not fixed), with an error bar of one standard error: the
spread of those rows over sqrt(count), or the Monte-Carlo standard error where a point is one row.
What was averaged is printed. Rows whose training did not converge are drawn hollow and counted in
the legend; values below the floor are drawn at the floor as downward triangles.
"""
import argparse
import math
import os
import sys

import numpy as np
import pandas as pd

from .predictors import PREDICTORS
from .intervals import t975
from .results import GRID_AXES, SAMPLED_ONLY, SUCCESS_STATUSES, columns_for, copies_note, load

# Okabe and Ito's palette: told apart with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
# Predictors: the column of the estimate, of its standard error (None: a closed form), the label;
# the program's own list (icl_sweep/predictors.py).
METRICS = {"r_over_r0": "R / R₀", "error": "error  E(ŷ − y)²", "error_per_d": "error / d"}
LABELS = {"d": "d", "n_train": "N (training prompt length)", "m_test": "M (test prompt length)",
          "sigma": "σ (initialisation scale)", "init_seed": "initialisation", "spectrum": "training covariance",
          "shift": "test condition", "model": "model", "predictor": "predictor", "lr": "learning rate",
          "steps": "training steps", "spectrum_param": "spectrum parameter", "m_equals_n": "M = N"}


class PlotError(ValueError):
    """A request the data cannot answer: the message says which key or value."""


def output_of(command, positionals, out, what, metavar):
    """(inputs, output) of a command whose output is named by --out: `out` when given; else, for one
    release, the old spelling, its last positional argument, with a deprecation line on stderr.
    Raises PlotError when there is no output, or the last argument is a results file."""
    if out is not None:
        return positionals, out
    if len(positionals) < 2 or positionals[-1].endswith(".h5"):
        raise PlotError(f"no {what}: name it with --out {metavar} (every positional argument is a results file)")
    print(f"icl_sweep {command}: the {what} as the last positional argument is deprecated and will be "
          f"refused in the next release: use --out {positionals[-1]}", file=sys.stderr)
    return positionals[:-1], positionals[-1]


def axis_label(key, df):
    if key == "shift_param":
        names = sorted(df["shift_name"].dropna().unique())
        return f"{', '.join(names)}: parameter c" if names else "shift parameter"
    return LABELS.get(key, key)


def parse_fix(fixes, df):
    """KEY=VALUE filters; the config's spellings work (m_test=n: the rows with M = N)."""
    for fix in fixes:
        if "=" not in fix:
            raise PlotError(f"--fix {fix}: expected KEY=VALUE")
        key, value = (t.strip() for t in fix.split("=", 1))
        if key == "m_test" and value == "n":
            df = df[df["m_equals_n"]]
            continue
        if key not in df.columns:
            raise PlotError(f"--fix {fix}: no column {key!r} (columns: {', '.join(sorted(df.columns))})")
        column = df[key]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            try:
                wanted = float(value)
            except ValueError:
                raise PlotError(f"--fix {fix}: {key} is numeric, {value!r} is not a number") from None
            df = df[np.isclose(column.astype(float), wanted, rtol=1e-12, atol=0)]
        else:
            df = df[column.astype(str) == value]
        if df.empty:
            raise PlotError(f"--fix {fix}: no row has {key} = {value} (values: "
                            f"{', '.join(map(str, sorted(column.astype(str).unique())[:20]))})")
    return df


# A predictor's own setting: a condition axis that only that predictor's value depends on (every
# value sees the same test prompts), as (column, symbol). It is never averaged over: with several
# values each is its own predictor, `ridge (λ = 0.1)`, and every other predictor, whose rows at the
# other values are copies, not replicates, is taken at one value alone (at_one_setting).
OWN_SETTINGS = {"ridge": ("ridge_lambda", "λ"), "knn": ("knn_k", "k")}
OWN_AXES = [axis for axis, _ in OWN_SETTINGS.values()]


def settings_of(df, axis):
    """The values of `axis` in the rows, in increasing order ([] without the column)."""
    return sorted(df[axis].dropna().unique()) if axis in df else []


def at_one_setting(df, keep=None):
    """Each evaluation's rows at its smallest value of every own-setting axis (OWN_SETTINGS) but
    those named in `keep` (an axis or a list of them; None: every axis taken at one value). Every
    predictor but the setting's own sees the same prompts and gives the same value at each, so the
    rows at the other values are copies of these, not replicates to average. Per evaluation (file,
    training run, M, shift), so that files sweeping different values all keep their rows."""
    keep = [keep] if isinstance(keep, str) else list(keep or [])
    keys = [k for k in ("file", "train_id", "m_test", "shift") if k in df]
    for axis in OWN_AXES:
        if axis in keep or len(settings_of(df, axis)) < 2:
            continue
        first = df.groupby(keys, observed=True, sort=False)[axis].transform("min") if "train_id" in keys \
            else df[axis].min()
        df = df[df[axis] == first]
    return df


def own_label(label, symbol, value):
    """A predictor at one value of its own setting as its own predictor: `ridge (λ = 0.1)`."""
    return f"{label} ({symbol} = {value_text(value)})"


def own_curves(df, predictor, label):
    """[(label, value of its own setting or None)] of each curve (column, line) that `predictor`
    (a key of PREDICTORS) draws from df: one per value of its own setting where its values are
    finite at several (own_label), else one, its label."""
    axis, symbol = OWN_SETTINGS.get(predictor, (None, None))
    if axis not in df:
        return [(label, None)]
    column = PREDICTORS[predictor][0]
    values = settings_of(df[np.isfinite(df[column])] if column in df else df, axis)
    if len(values) < 2:
        return [(label, None)]
    return [(own_label(label, symbol, v), v) for v in values]


def predictor_rows(df, predictor, value=None):
    """The rows of df that give `predictor`'s values: at one value of every other predictor's own
    setting (at_one_setting), and at `value` of its own where given (own_curves' values)."""
    axis = OWN_SETTINGS.get(predictor, (None,))[0]
    rows = at_one_setting(df, keep=axis)
    return rows if value is None else rows[rows[axis] == value]


def long_form(df, predictors, metric):
    """One row per (row of df, predictor): value and se in the metric's units.

    A predictor's own setting (OWN_SETTINGS: ridge's λ, k-NN's k) is never averaged over: with
    several values in df, each is its own predictor, `ridge (λ = 0.1)`; every other predictor is
    taken at one value of it alone (at_one_setting)."""
    frames, order = [], []
    for p in predictors:
        if p not in PREDICTORS:
            raise PlotError(f"--predictors: unknown {p!r} (known: {', '.join(PREDICTORS)})")
        value_col, se_col, label = PREDICTORS[p]
        for name, value in own_curves(df, p, label):
            rows = predictor_rows(df, p, value)
            scale = {"r_over_r0": 1.0 / rows["risk_zero"], "error": 1.0, "error_per_d": 1.0 / rows["d"]}[metric]
            part = rows.copy()
            part["predictor"] = name
            order.append(name)
            part["value"] = rows[value_col] * scale
            part["se"] = rows[se_col] * scale if se_col else np.nan
            frames.append(part[np.isfinite(part["value"])])
    out = pd.concat(frames, ignore_index=True)
    out["predictor"] = pd.Categorical(out["predictor"], categories=order, ordered=True)
    if out.empty:
        raise PlotError("no finite values for the predictors asked for")
    return out


def applies(axis, rows):
    """Whether `axis` is a setting of some row: lr, steps and the other SAMPLED_ONLY axes only where a
    row is a sampled model."""
    return axis not in SAMPLED_ONLY or "model" not in rows or bool((rows["model"] != "flow").any())


class Varying(list):
    """An axis's values among all the rows, where each group (point, cell) holds only some of them:
    `fewest` to `most` values a group (pooled's answer for such an axis)."""

    def __init__(self, values, fewest, most):
        super().__init__(values)
        self.fewest, self.most = fewest, most


def pooled(rows, held, axes=GRID_AXES):
    """{axis: its values in order} for every grid axis that takes several values among rows sharing
    the values of `held` (the columns a point, cell or line keeps apart): what a mean over such rows
    averages, or a figure pools; a Varying where the groups do not all hold the same values (M
    pooled in cells of N with m_test = n: each cell its own M). Never a predictor's own setting
    (OWN_AXES: each value is its own predictor, the others taken at one value alone); the sampled
    models' own axes (SAMPLED_ONLY: lr, steps, ...) among their rows alone."""
    held = [k for k in held if k in rows]
    out = {}
    for a in axes:
        if a in held or a in OWN_AXES or a not in rows:
            continue
        part = rows[rows["model"] != "flow"] if a in SAMPLED_ONLY and "model" in rows else rows
        if part.empty:
            continue
        counts = part.groupby(held, observed=True, dropna=False)[a].nunique() if held else pd.Series([part[a].nunique()])
        if counts.max() > 1:
            values = sorted(part[a].dropna().unique(), key=lambda v: (isinstance(v, str), v))
            same = counts.min() == counts.max() == len(values)
            out[a] = values if same else Varying(values, int(counts.min()), int(counts.max()))
    return out


def value_text(v):
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def over_text(axes, verb="mean over"):
    """`mean over d = 3, 4; sigma = 0.5, 1` for pooled's answer ('' for none); more than six values
    as the first two, the last and their count."""
    def values(vs):
        texts = [value_text(v) for v in vs]
        return ", ".join(texts) if len(texts) <= 6 else f"{texts[0]}, {texts[1]}, …, {texts[-1]} ({len(texts)} values)"

    def axis(a, vs):
        if not isinstance(vs, Varying):
            return f"{a} = {values(vs)}"
        each = f"{vs.most}" if vs.fewest == vs.most else f"{vs.fewest} to {vs.most}"
        return f"{a} ({each} values each, not the same ones, among {values(vs)})"
    return f"{verb} " + "; ".join(axis(a, vs) for a, vs in axes.items()) if axes else ""


def aggregate(long, x, hue, facet):
    """Per (facet, hue, x): the mean of the rows, the 95% t interval across them (ci_low, ci_high:
    across training replicates where init_seed is what varies; NaN for one row), and a bound on
    the Monte-Carlo standard error of the mean that holds however the rows' estimates are
    correlated (se: the mean of their standard errors; replicates share their test prompts); what
    varied inside the groups."""
    keys = [k for k in (facet, hue, x) if k]
    for k in keys:
        if k not in long.columns:
            raise PlotError(f"no column {k!r} to plot by (columns: {', '.join(sorted(long.columns))})")
        if long[k].isna().all():
            raise PlotError(f"{k} is not defined for these rows (e.g. shift_param of shifts without a parameter): "
                            "--fix a shift name first, e.g. --fix shift_name=covariate_scale")
    undefined = ~long[keys].notna().all(axis=1)
    left_out = ""
    if undefined.any():
        shifts = sorted(long.loc[undefined, "shift"].unique()) if "shift" in long else []
        left_out = (f"; left out: {int(undefined.sum())} values of rows where {', '.join(k for k in keys if long.loc[undefined, k].isna().any())} "
                    f"is undefined ({', '.join(shifts[:5])}{', ...' if len(shifts) > 5 else ''})")
    long = long[~undefined]
    grouped = long.groupby(keys, sort=True, dropna=True, observed=True)
    stats = grouped.agg(mean=("value", "mean"), sd=("value", "std"), n=("value", "size"),
                        se=("se", lambda e: np.mean(e) if np.isfinite(e).any() else np.nan),
                        unconverged=("converged", lambda c: int((~c).sum()))).reset_index()
    half = stats["n"].map(lambda n: t975(n - 1)) * stats["sd"] / np.sqrt(stats["n"])
    stats["ci_low"], stats["ci_high"] = stats["mean"] - half, stats["mean"] + half
    axes = ["d", "n_train", "m_test", "spectrum", "shift", "ridge_lambda", "sigma", "init_seed", "model", "lr", "steps"]
    axes += [a for a in GRID_AXES if a not in axes] + ["file"]
    # What differs between the rows of one point: the mean is over those.
    varied = {}
    for a in axes:
        if a in keys or a not in long:
            continue
        within = int(grouped[a].nunique().max())
        if within > 1:
            varied[a] = within
    if "predictor" in long and "predictor" not in keys and long["predictor"].nunique() > 1:
        if not any(k and "predictor" in k.split(",") for k in keys):
            raise PlotError("several predictors but none of --x, --hue, --facet is `predictor`")
    return stats, varied, left_out


def floor_of(means):
    """Where a log axis starts: a decade below the smallest value that is not zero to rounding
    (least squares interpolating noiseless prompts gives 0 or ~1e-31); None when no value is."""
    means = np.asarray(means, dtype=float)
    means = means[np.isfinite(means)]
    if means.size == 0 or means.max() <= 0:
        return None
    real = means[means > 1e-12 * means.max()]
    return 10.0 ** (math.floor(math.log10(real.min())) - 1)


def none_first(key, values):
    """The values of a facet or hue in drawing order: for the shift, `none` (no shift) first."""
    if key in ("shift", "shift_name") and "none" in values:
        return ["none"] + [v for v in values if v != "none"]
    return values


def draw(stats, x, hue, facet, metric, title, labels, styles=None, columns=None):
    """One panel per facet value, a curve per hue value. `styles` maps a hue value to (colour index,
    style index) where a combined hue (`n_train,predictor`) gives its first key the colour and its
    second the line style and marker."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    facets = none_first(facet, list(stats[facet].unique())) if facet else [None]
    hues = (list(stats[hue].cat.categories[stats[hue].cat.categories.isin(stats[hue])])
            if hue and isinstance(stats[hue].dtype, pd.CategoricalDtype)
            else none_first(hue, list(stats[hue].unique())) if hue else [None])
    # A numeric hue (d, N, c, ...) is a quantity: a sequential colour map in its order, not a
    # cycle of 8 colours that gives d = 2 and d = 18 the same one.
    sequential = (hue is not None and not styles and not isinstance(stats[hue].dtype, pd.CategoricalDtype)
                  and pd.api.types.is_numeric_dtype(stats[hue]) and len(hues) > 1)
    if sequential:
        hues = sorted(hues)
    cols = columns or (len(facets) if len(facets) <= 4 else 3)
    rows = math.ceil(len(facets) / cols)
    numeric_x = pd.api.types.is_numeric_dtype(stats[x])
    # Text on x: one position per value, the same in every curve and panel, each given room.
    positions = {v: n for n, v in enumerate(dict.fromkeys(stats[x]))} if not numeric_x else None
    width = 4.2 if numeric_x else max(4.2, 0.45 * len(positions))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, 3.4 * rows), sharey=True, squeeze=False)
    # A log scale where the values span decades; values below the floor (zeros to rounding) are
    # then drawn at it as downward triangles.
    floor = floor_of(stats["mean"])
    real = stats["mean"][stats["mean"] >= floor * 10] if floor else stats["mean"][:0]
    low_any = floor is not None and bool((stats["mean"] < floor).any())
    log_y = floor is not None and (low_any or real.max() / real.min() > 30)
    dense = stats.groupby([k for k in (facet, hue) if k] or (lambda _: 0), observed=True).size().max() > 30
    line_styles = ["-", "--", ":", "-."]
    unconverged_total = int(stats["unconverged"].sum())
    for i, f in enumerate(facets):
        ax = axes[i // cols][i % cols]
        sub = stats[stats[facet] == f] if facet else stats
        for j, h in enumerate(hues):
            line = sub[sub[hue] == h] if hue else sub
            if line.empty:
                continue
            c, k = styles[h] if styles else (j, j)
            colour, marker = PALETTE[c % len(PALETTE)], MARKERS[k % len(MARKERS)]
            if sequential:
                colour = plt.cm.viridis(0.9 * j / (len(hues) - 1))
            xs = line[x].to_numpy() if numeric_x else line[x].map(positions).to_numpy(dtype=float)
            ys = line["mean"].to_numpy(dtype=float)
            low = ys < floor if log_y else np.zeros(len(ys), bool)
            shown = np.where(low, floor, ys)
            every = max(1, len(xs) // 12) if dense else 1  # markers and error bars on a dense curve: every k-th
            band = np.isfinite(line["ci_low"].to_numpy(dtype=float))
            if band.any():  # the 95% interval across the point's rows (replicates)
                floor_at = floor if log_y else -np.inf
                ax.fill_between(xs, np.maximum(line["ci_low"].to_numpy(dtype=float), floor_at),
                                np.maximum(line["ci_high"].to_numpy(dtype=float), floor_at), where=band, color=colour,
                                alpha=0.18, linewidth=0)
            ax.errorbar(xs, shown, yerr=np.where(low, 0, line["se"].fillna(0)), color=colour, marker=marker,
                        markersize=3.5 if dense else 4, capsize=0 if dense else 2, linewidth=1.2, markevery=every,
                        errorevery=every, linestyle=line_styles[k % len(line_styles)] if styles else "-",
                        label=str(h) if h is not None else None)
            bad = line["unconverged"].to_numpy() > 0
            if bad.any():
                ax.plot(xs[bad], shown[bad], linestyle="none", marker=marker, markersize=9, markerfacecolor="white",
                        markeredgecolor=colour)
            if low.any():
                ax.plot(xs[low][::every], shown[low][::every], linestyle="none", marker="v", markersize=7, color=colour)
        if not numeric_x:
            ax.set_xticks(range(len(positions)), [str(v) for v in positions], rotation=45 if len(positions) > 8 else 30,
                          ha="right", rotation_mode="anchor")
        if log_y:
            ax.set_yscale("log")
        if metric == "r_over_r0":
            ax.axhline(1.0, color="0.6", linewidth=0.8, linestyle=":")
        ax.set_xlabel(labels[x])
        if i % cols == 0:
            ax.set_ylabel(METRICS[metric])
        if facet:
            ax.set_title(facet_title(facet, f, labels[facet]), fontsize=10)
        ax.grid(alpha=0.3)
    for k in range(len(facets), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    handles, legend_labels = [], []
    for ax in axes.flat:  # every curve once, in the hue order, whichever panel drew it
        for handle, text in zip(*ax.get_legend_handles_labels()):
            if text not in legend_labels:
                handles.append(handle)
                legend_labels.append(text)
    order = sorted(range(len(legend_labels)), key=lambda n: [str(h) for h in hues].index(legend_labels[n]))
    handles, legend_labels = [handles[n] for n in order], [legend_labels[n] for n in order]
    if unconverged_total:
        handles.append(plt.Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="0.3"))
        legend_labels.append(f"hollow: {unconverged_total} row(s) not converged")
    if log_y and low_any:
        handles.append(plt.Line2D([], [], linestyle="none", marker="v", color="0.3"))
        legend_labels.append(f"below {floor:g} (zero to rounding), drawn at it")
    if handles:
        fig.legend(handles, legend_labels, title=labels[hue] if hue else None, loc="upper center",
                   ncol=min(len(legend_labels), 4), fontsize=9, bbox_to_anchor=(0.5, 1.0))
    if title:
        fig.suptitle(title, y=1.06)
    # Room above the panels for the legend: the figure grows by its rows (and title).
    legend_rows = math.ceil(len(legend_labels) / 4) + (1 if hue else 0) if handles else 0
    room = 0.15 + 0.2 * legend_rows
    fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() + room)
    fig.tight_layout(rect=(0, 0, 1, 1 - room / fig.get_figheight()))
    return fig


# Panel titles in the paper's words for the shifts that change the test covariance (docs/theory.md §7).
SHIFT_TITLES = {"covariate_isotropic": lambda c: "test covariance I",
                "covariate_random": lambda c: "test covariance " + (f"{c:g}·" if c != 1 else "") + "diag(Exp(1))",
                "covariate_scale": lambda c: f"test covariates scaled by {c:g}",
                "none": lambda c: "no shift"}
SYMBOLS = {"n_train": "N", "m_test": "M", "d": "d", "sigma": "σ", "init_seed": "seed", "shift_param": "c",
           **dict(OWN_SETTINGS.values())}


def facet_title(key, value, label):
    if key == "shift":
        from .results import split_call
        name, c = split_call(str(value))
        if name in SHIFT_TITLES:
            return SHIFT_TITLES[name](c)
    return f"{SYMBOLS.get(key, label)} = {value}"


def combine_hue(long, hue):
    """`--hue a,b`: one curve per pair, in the order of a then b (numbers by value, predictors as
    asked), labelled `N = 40, trained model`; returns the style of each: a's colour, b's line."""
    parts = [h.strip() for h in hue.split(",")]
    for k in parts:
        if k not in long.columns:
            raise PlotError(f"--hue {hue}: no column {k!r}")
    rank = [{v: n for n, v in enumerate(long[k].cat.categories if isinstance(long[k].dtype, pd.CategoricalDtype)
                                         else sorted(long[k].dropna().unique()))} for k in parts]

    def text(key, v):
        if key == "predictor":
            return str(v)
        number = isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
        return f"{SYMBOLS.get(key, key)} = {v:g}" if number else f"{SYMBOLS.get(key, key)} = {v}"

    # Rows where a part is undefined (shift_param of `none`) get no curve: aggregate leaves them out
    # and says so.
    defined = long[parts].notna().all(axis=1)
    label = pd.Series(np.nan, index=long.index, dtype=object)
    text_of = [long.loc[defined, k].astype(object).map(lambda v, k=k: text(k, v)) for k in parts]
    label[defined] = text_of[0].str.cat(text_of[1:], sep=", ") if len(parts) > 1 else text_of[0]
    combos = long.loc[defined, parts].assign(_label=label[defined]).drop_duplicates("_label")
    keyed = sorted((tuple(rank[n][v] for n, v in enumerate(row[:-1])), row[-1])
                   for row in combos.itertuples(index=False, name=None))
    long[hue] = pd.Categorical(label, categories=[name for _, name in keyed], ordered=True)
    return {name: (key[0], key[-1] if len(parts) > 1 else 0) for key, name in keyed}


def plot(files, x, hue=None, facet=None, fix=(), metric="r_over_r0", predictors=("model", "ols", "ridge"),
         out="figure.png", title="", partial=False, columns=None):
    """Draws the figure to `out`; returns (the aggregated table, the statement of what was averaged)."""
    if metric not in METRICS:
        raise PlotError(f"--metric {metric}: one of {', '.join(METRICS)}")
    if columns is not None and columns < 1:
        raise PlotError(f"--columns {columns}: at least 1 panel per row")
    # Only the columns this figure needs are read (a large file's other columns cost time and memory).
    keys = [k.strip() for key in (x, hue, facet) if key for k in key.split(",")]
    keys += [f.split("=", 1)[0].strip() for f in fix if "=" in f]
    keys += ["status", "row", "train_id", "risk_zero", "d", "shift"] + list(GRID_AXES)
    keys += [c for p in predictors if p in PREDICTORS for c in PREDICTORS[p][:2] if c]
    try:
        df = load(files, partial=partial, columns=columns_for(keys))
    except KeyError:  # a key that is no column: the whole table, and the usual message below
        df = load(files, partial=partial)
    df["converged"] = df["status"].isin(SUCCESS_STATUSES)
    copies = copies_note(df)
    df = parse_fix(fix, df)
    long = long_form(df, list(predictors), metric)
    styles = combine_hue(long, hue) if hue and "," in hue else None  # `--hue n_train,predictor`
    stats, varied, left_out = aggregate(long, x, hue, facet)
    counts = sorted({int(stats["n"].min()), int(stats["n"].max())})
    replicates = list(varied) == ["init_seed"]
    statement = (f"each point: the mean of {'-'.join(map(str, counts))} row(s); averaged over "
                 + (", ".join(f"{k} ({n} values)" for k, n in varied.items()) if varied else "nothing (one row a point)")
                 + ("; band: 95% t interval across " + ("training replicates" if replicates else "those rows")
                    if counts[-1] > 1 else "")
                 + ("; error bars: Monte-Carlo standard error of the mean (bounded: the mean of the rows')"
                    if stats["se"].notna().any() else "; no error bars: closed forms, no Monte-Carlo") + left_out
                 + (f"; {copies}" if copies else ""))
    labels = {k: axis_label(k, long) if "," not in k else " / ".join(axis_label(p.strip(), long) for p in k.split(","))
              for k in (x, hue, facet) if k}
    fig = draw(stats, x, hue, facet, metric, title, labels, styles, columns)
    fig.savefig(out, dpi=150, bbox_inches="tight")
    return stats, statement


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep plot", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+")
    p.add_argument("--x", required=True)
    p.add_argument("--hue", default="predictor")
    p.add_argument("--facet")
    p.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--metric", default="r_over_r0", choices=list(METRICS))
    p.add_argument("--predictors", default="model,ols,ridge")
    p.add_argument("--out", default="figure.png")
    p.add_argument("--title", default="")
    p.add_argument("--columns", type=int, default=None, help="panels per row (default: all up to 4, else 3)")
    p.add_argument("--partial", action="store_true", help="read unfinished files' rows done")
    args = p.parse_args(argv)
    try:
        stats, statement = plot(args.files, args.x, args.hue or None, args.facet, args.fix, args.metric,
                                [s.strip() for s in args.predictors.split(",") if s.strip()], args.out, args.title,
                                args.partial, args.columns)
    except (PlotError, FileNotFoundError, ValueError) as e:
        print(f"icl_sweep plot: {e}", file=sys.stderr)
        return 2
    print(statement)
    print(f"wrote {os.path.abspath(args.out)}")
    return 0
