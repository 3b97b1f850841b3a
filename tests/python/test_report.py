"""python3 -m icl_sweep report: one HTML page (summary, figures, config, provenance), opened in
headless Chromium (Debian's `chromium`, installed by scripts/install-deps.sh) with every image loaded."""
import html
import os
import re
import shutil
import subprocess
import sys

import icl_sweep
from conftest import ROOT, SMALL, run_sweep
from icl_sweep.report import summary_table

QUESTION = SMALL.replace("shift = none, covariate_scale(0.5, 2)", "shift = none, covariate_scale(0.5:2:0.5)").replace(
    "m_test = n, 3", "m_test = n, 2, 3, 4").replace("n_train = 6", "n_train = 6\nsigma = 0.5, 1")


def test_report_opens_in_chromium_with_every_image_loaded(small_file, tmp_path):
    other = run_sweep(QUESTION, str(tmp_path / "question.h5"))
    outdir = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", small_file, other, "--out", str(outdir)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "deprecated" not in r.stderr, r.stderr
    page = (outdir / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    # A figure per value of d, never a mean over d: both files hold d = 3 and 4.
    assert {"error_vs_covariate_scale_d3.png", "error_vs_covariate_scale_d4.png", "convergence.png"} <= set(images)
    assert all((outdir / name).stat().st_size > 5000 for name in images)
    # Figures first, then the summary; every caption says its d, or that its lines pool over d.
    assert page.index("<h2>Figures</h2>") < page.index("<img") < page.index("<h2>Summary</h2>") \
        < page.index("<table class=\"dataframe summary\">") < page.index("<h2>Config and provenance</h2>")
    captions = [html.unescape(c) for c in re.findall(r"<figcaption>([^<]*)</figcaption>", page)]
    assert len(captions) == len(images)
    assert all(re.search(r", d = [34];", c) or "pooled over d = 3, 4" in c for c in captions), captions
    # The two files' σ: M = 2 and 4 are only the second file's, so a point pools 2 or 3 of them.
    assert any("mean over sigma (2 to 3 values each, not the same ones, among 0.01, 0.5, 1)" in c for c in captions), captions
    # The summary: no column for what does not apply (lr, steps: flow rows only) or what every row
    # shares (model, spectrum, N), which the caption names with what the means are over.
    header = re.findall(r"<th>([^<]*)</th>", page[page.index("<table class=\"dataframe summary\">"):].split("</thead>")[0])
    assert header[:4] == ["shift", "d", "m_test", "rows"] and not {"lr", "steps", "model", "ridge_lambda", "knn_k"} & set(header), header
    caption = html.unescape(re.search(r"<p class='caption'>([^<]*)</p>", page).group(1))
    assert caption == ("One row per shift, d, m_test; mean over sigma (2 to 3 values each, not the same ones, among "
                       "0.01, 0.5, 1); every row: "
                       "model = flow, spectrum = isotropic, n_train = 6, ridge_lambda = 0.1, knn_k = 3."), caption
    for path in (small_file, other):
        assert path in page  # provenance of each file
    assert "sweep.seed" in page or "seed = " in page  # the config
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (scripts/install-deps.sh installs it)"
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000",
                          "--dump-dom", "file://" + str(outdir / "index.html")],
                         capture_output=True, text=True, timeout=300).stdout
    loaded = re.search(r'data-images-loaded="(\d+) of (\d+)"', dom)
    assert loaded, "the page's check did not run: " + dom[:300]
    assert loaded.group(1) == loaded.group(2) == str(len(images)), loaded.group(0)


def test_report_refuses_what_it_cannot_read(tmp_path):
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", str(tmp_path / "absent.h5"), "--out",
                        str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "no such file" in r.stderr and not os.path.exists(tmp_path / "r")
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", str(tmp_path / "absent.h5")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "name the output folder once, with --out DIR" in r.stderr, r.stderr


def test_the_old_html_spelling_still_works_with_a_deprecation_line(small_file, tmp_path):
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", small_file, "--html", str(tmp_path / "r")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and (tmp_path / "r" / "index.html").exists(), r.stderr
    assert "--html is deprecated" in r.stderr and f"use --out {tmp_path / 'r'}" in r.stderr, r.stderr


def test_the_summary_shows_lr_and_steps_only_for_sampled_models(small_file):
    """lr, steps, optimizer, batch, lr_schedule and init are the sampled models' settings: a column
    where they take several values among the sampled rows, blank on the flow's rows; one value is
    said once in the caption; a predictor no row has gets no column."""
    df = icl_sweep.load(small_file)
    df["model"] = df["model"].astype(str).where(df["d"] == 3, "lsa")  # d = 4's runs as a sampled model
    df["risk_knn_mc_norm"] = float("nan")
    df["lr"] = df["lr"].where(df["shift"] != "none", 0.01)  # two learning rates among the sampled rows
    table, caption = summary_table(df)
    header = re.findall(r"<th>([^<]*)</th>", table)
    assert {"model", "lr"} <= set(header) and "knn R/R₀" not in header and "steps" not in header, header
    rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    lr = header.index("lr")
    assert {row[lr] for row in rows if row[0] == "flow"} == {"–"} and {row[lr] for row in rows if row[0] == "lsa"} == {"0.001", "0.01"}
    assert caption.startswith("One row per model, shift, d, m_test, lr; one run per row"), caption
    assert caption.endswith("; every sampled model: steps = 1000, optimizer = adam, batch = 64, lr_schedule = constant, "
                            "init = paper."), caption
