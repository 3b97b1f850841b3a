"""One HTML page for one or more results files:

    python3 -m icl_sweep report FILES... --out DIR [--partial]

DIR/index.html holds, in this order: every figure, one per value of d (error against M per shift,
error against each shift's parameter) and the flow's convergence, each captioned with the grid axes
its points average or its lines pool over and their values; the summary (one row per model,
spectrum, shift, d, N, M, ridge λ, k-NN k, and lr, steps and the other train.* settings where a row
is a sampled model: means of R/R0,
with a caption naming what they average over and the settings every row shares, which get no
column); each file's config and provenance. The figures are PNG files beside it. The page checks
on load that every figure loaded and says so in its footer (`data-images-loaded` on <body>), which
the test reads through headless Chromium. `--html DIR`, the old spelling of `--out DIR`, still
works for this release with a deprecation line on stderr.
"""
import argparse
import html
import os
import sys

import h5py

from .analyze import plot_convergence
from .intervals import interval
from .plot import PREDICTORS, SAMPLED_ONLY, PlotError, applies, over_text, plot, pooled, value_text
from .results import SUCCESS_STATUSES, SUMMARY_KEYS, copies_note, expand_paths, load

SUMMARY_PREDICTORS = ["model", "ols", "ridge", "avg", "knn"]

CHECK_IMAGES = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
  document.body.dataset.imagesLoaded = loaded + " of " + images.length;
  document.getElementById("images").textContent = loaded + " of " + images.length + " figures loaded";
});
</script>"""


def summary_table(df):
    """The summary as (HTML table, caption): one row per SUMMARY_KEYS, means over the rest. A column
    only where it tells rows apart: lr, steps, ... (SAMPLED_ONLY, the sampled models' settings) blank on the flow's
    rows and left out without a sampled model; a key every row shares, and a predictor no row has,
    left out. The caption names what the means are over and the keys every row shares."""
    cols = {f"{p} R/R₀": PREDICTORS[p][0] + "_norm" for p in SUMMARY_PREDICTORS}
    g = df.groupby(SUMMARY_KEYS, sort=False, dropna=False, observed=True)
    # The trained model's mean carries the half-width of its 95% t interval across the group's
    # training runs (replicates; NaN for one run).
    model = PREDICTORS["model"][0] + "_norm"
    out = g.agg(rows=("row", "size"), converged=("status", lambda s: float(s.isin(SUCCESS_STATUSES).mean())),
                **{label: (column, "mean") for label, column in cols.items()},
                **{"model R/R₀ ±95% across runs": (model, lambda v: interval(v)[1])}).reset_index()
    for k in SAMPLED_ONLY:
        out[k] = out[k].where(out["model"] != "flow")
    keys = [k for k in SUMMARY_KEYS if applies(k, df)]
    fixed = {k: out[k].iloc[0] for k in keys if k not in SAMPLED_ONLY and out[k].nunique(dropna=False) == 1}
    # A sampled models' setting with one value among their rows: said once, not a column.
    sampled = {k: out[k].dropna().iloc[0] for k in keys if k in SAMPLED_ONLY and out[k].nunique() == 1}
    empty = [c for c in out.columns if c not in SUMMARY_KEYS and out[c].isna().all()]
    out = out.drop(columns=[k for k in SUMMARY_KEYS if k in fixed or k in sampled or k not in keys] + empty)
    shown = [k for k in keys if k not in fixed and k not in sampled]
    caption = (f"One row per {', '.join(shown) or 'table'}; "
               + (over_text(pooled(df, SUMMARY_KEYS)) or "one run per row, nothing averaged")
               + ("; every row: " + ", ".join(f"{k} = {value_text(v)}" for k, v in fixed.items()) if fixed else "")
               + ("; every sampled model: " + ", ".join(f"{k} = {value_text(v)}" for k, v in sampled.items())
                  if sampled else "")
               + ".")
    table = out.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="–", border=0, classes="summary")
    return table, caption


def shift_figures(paths, df, d, outdir, partial, made):
    """At one d: error against M for every shift with three or more test lengths per training length,
    and error against each shift's parameter; appends (file name, caption) to `made`."""
    at_d = df[df["d"] == d]
    for shift in at_d["shift"].unique():
        rows = at_d[at_d["shift"] == shift]
        if rows.groupby(["file", "n_train"], observed=True)["m_test"].nunique().max() < 3:
            continue
        facet = "n_train" if rows["n_train"].nunique() > 1 else None
        said = over_text(pooled(rows, ["m_test", facet])) or "one row per point"
        what = f"R/R₀ against the test prompt length M, test condition {shift}, d = {d}"
        name = f"error_vs_m_{len(made)}.png"
        try:
            plot(paths, "m_test", "predictor", facet, [f"shift={shift}", f"d={d}"], out=os.path.join(outdir, name),
                 title=f"test condition {shift}, d = {d}; {said}", partial=partial)
            made.append((name, f"{what}; {said}"))
        except PlotError:
            pass
    for shift_name, rows in at_d.groupby("shift_name", observed=True):
        if rows["shift_param"].nunique() < 2:
            continue
        at_n = rows["m_equals_n"].any()
        rows = rows[rows["m_equals_n"]] if at_n else rows
        facet = "n_train" if rows["n_train"].nunique() > 1 else None
        said = over_text(pooled(rows, ["shift_param", facet])) or "one row per point"
        what = f"R/R₀ against the parameter of {shift_name}" + (" (M = N)" if at_n else "") + f", d = {d}"
        name = f"error_vs_{shift_name}_d{value_text(d)}.png"
        try:
            plot(paths, "shift_param", "predictor", facet,
                 [f"shift_name={shift_name}", f"d={d}"] + (["m_test=n"] if at_n else []),
                 out=os.path.join(outdir, name), title=f"{shift_name}, d = {d}; {said}", partial=partial)
            made.append((name, f"{what}; {said}"))
        except PlotError:
            pass


def figures(paths, df, outdir, partial):
    """(file name, caption) of every figure written: one per value of d, never a mean over sizes;
    the flow's convergence, whose caption names what its lines pool."""
    made = []
    for d in sorted(df["d"].unique()):
        shift_figures(paths, df, d, outdir, partial, made)
    pool = plot_convergence(paths, partial, set(zip(df["file"], df["train_id"])), outdir)  # convergence.png
    if pool:
        made.append(("convergence.png", f"the flow's excess loss and distance to its limit A* against gradient-flow "
                                        f"time, {pool}"))
    return made


def provenance(path):
    with h5py.File(path, "r", locking=False) as f:
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
    config = attrs.pop("config", "")
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in sorted(attrs.items()))
    return (f"<h3>{html.escape(path)}</h3><table class='provenance'>{rows}</table>"
            f"<details><summary>config</summary><pre>{html.escape(config)}</pre></details>")


def report(files, outdir, partial=False):
    """Writes outdir/index.html and its figures; returns the page's path."""
    paths = expand_paths(files)
    df = load(paths, partial=partial)
    os.makedirs(outdir, exist_ok=True)
    made = figures(paths, df, outdir, partial)
    body = [f"<h1>icl-sweep report: {html.escape(', '.join(os.path.basename(p) for p in paths))}</h1>",
            f"<p>{len(df)} rows from {len(paths)} file(s){html.escape('; ' + copies_note(df)) if copies_note(df) else ''}; "
            "errors as R/R₀ (1 is no better than predicting 0).</p>",
            "<h2>Figures</h2>"]
    body += [f"<figure><img src='{html.escape(name)}' alt='{html.escape(caption)}'><figcaption>{html.escape(caption)}"
             f"</figcaption></figure>" for name, caption in made]
    table, caption = summary_table(df)
    body += ["<h2>Summary</h2>", f"<p class='caption'>{html.escape(caption)}</p>", table]
    body += ["<h2>Config and provenance</h2>"] + [provenance(p) for p in paths]
    body += ["<footer id='images'>figures not checked (no script)</footer>"]
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>icl-sweep report</title><style>"
            "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
            "table.summary{border-collapse:collapse;font-size:12px}table.summary td,table.summary th{padding:2px 6px;"
            "border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}figure{margin:1em 0}"
            "table.provenance th{text-align:left;padding-right:1em}pre{background:#f6f6f6;padding:.5em}"
            "</style>" + CHECK_IMAGES + "</head><body>" + "\n".join(body) + "</body></html>")
    index = os.path.join(outdir, "index.html")
    with open(index, "w") as f:
        f.write(page)
    return index


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep report", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+")
    p.add_argument("--out", metavar="DIR", help="the folder to write index.html and its figures into")
    p.add_argument("--html", metavar="DIR", help="the old spelling of --out (deprecated)")
    p.add_argument("--partial", action="store_true", help="read unfinished files' rows done")
    args = p.parse_args(argv)
    if (args.out is None) == (args.html is None):
        print("icl_sweep report: name the output folder once, with --out DIR", file=sys.stderr)
        return 2
    if args.html is not None:
        print(f"icl_sweep report: --html is deprecated and will be refused in the next release: use --out {args.html}",
              file=sys.stderr)
    try:
        index = report(args.files, args.out or args.html, args.partial)
    except (PlotError, FileNotFoundError, ValueError) as e:
        print(f"icl_sweep report: {e}", file=sys.stderr)
        return 2
    print(f"wrote {os.path.abspath(index)}")
    return 0
