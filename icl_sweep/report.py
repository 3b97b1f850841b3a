"""One HTML page for one or more results files:

    python3 -m icl_sweep report FILES... --html DIR [--partial]

DIR/index.html holds the summary (one row per model, spectrum, shift, d, N, M, ridge λ, lr, steps: means of
R/R0 over seeds and σ), every figure (error against M per shift, error against each shift's
parameter, the training convergence), and each file's config and provenance. The figures are PNG
files beside it. The page checks on load that every figure loaded and says so in its footer
(`data-images-loaded` on <body>), which the test reads through headless Chromium.
"""
import argparse
import html
import os
import sys

import h5py

from .analyze import plot_convergence
from .intervals import interval
from .plot import PREDICTORS, PlotError, plot
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
    cols = {f"{p} R/R₀": PREDICTORS[p][0] + "_norm" for p in SUMMARY_PREDICTORS}
    g = df.groupby(SUMMARY_KEYS, sort=False, dropna=False, observed=True)
    # The trained model's mean carries the half-width of its 95% t interval across the group's
    # training runs (replicates; NaN for one run).
    model = PREDICTORS["model"][0] + "_norm"
    out = g.agg(rows=("row", "size"), converged=("status", lambda s: float(s.isin(SUCCESS_STATUSES).mean())),
                **{label: (column, "mean") for label, column in cols.items()},
                **{"model R/R₀ ±95% across runs": (model, lambda v: interval(v)[1])}).reset_index()
    return out.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, classes="summary")


def figures(paths, df, outdir, partial):
    """(file name, caption) of every figure written."""
    made = []
    # Error against M where a shift has at least three test lengths per training length.
    for shift in df["shift"].unique():
        rows = df[df["shift"] == shift]
        if rows.groupby(["file", "n_train"], observed=True)["m_test"].nunique().max() >= 3:
            name = f"error_vs_m_{len(made)}.png"
            try:
                plot(paths, "m_test", "predictor", "n_train" if df["n_train"].nunique() > 1 else None,
                     [f"shift={shift}"], out=os.path.join(outdir, name), title=f"test condition {shift}", partial=partial)
                made.append((name, f"R/R₀ against the test prompt length M, test condition {shift}"))
            except PlotError:
                pass
    for shift_name, rows in df.groupby("shift_name", observed=True):
        if rows["shift_param"].nunique() < 2:
            continue
        name = f"error_vs_{shift_name}.png"
        fixes = [f"shift_name={shift_name}"] + (["m_test=n"] if rows["m_equals_n"].any() else [])
        try:
            plot(paths, "shift_param", "predictor", "n_train" if rows["n_train"].nunique() > 1 else None, fixes,
                 out=os.path.join(outdir, name), title=shift_name, partial=partial)
            made.append((name, f"R/R₀ against the parameter of {shift_name}" + (" (M = N)" if len(fixes) > 1 else "")))
        except PlotError:
            pass
    if plot_convergence(paths, partial, set(zip(df["file"], df["train_id"])), outdir):  # writes convergence.png
        made.append(("convergence.png", "the flow's excess loss and distance to its limit A* against gradient-flow time"))
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
            "<h2>Summary</h2>", summary_table(df), "<h2>Figures</h2>"]
    body += [f"<figure><img src='{html.escape(name)}' alt='{html.escape(caption)}'><figcaption>{html.escape(caption)}"
             f"</figcaption></figure>" for name, caption in made]
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
    p.add_argument("--html", required=True, metavar="DIR")
    p.add_argument("--partial", action="store_true", help="read unfinished files' rows done")
    args = p.parse_args(argv)
    try:
        index = report(args.files, args.html, args.partial)
    except (PlotError, FileNotFoundError, ValueError) as e:
        print(f"icl_sweep report: {e}", file=sys.stderr)
        return 2
    print(f"wrote {os.path.abspath(index)}")
    return 0
