"""python3 -m icl_sweep report: one HTML page (summary, figures, config, provenance), opened in
headless Chromium (Debian's `chromium`, installed by scripts/install-deps.sh) with every image loaded."""
import os
import re
import shutil
import subprocess
import sys

from conftest import ROOT, SMALL, run_sweep

QUESTION = SMALL.replace("shift = none, covariate_scale(0.5, 2)", "shift = none, covariate_scale(0.5:2:0.5)").replace(
    "m_test = n, 3", "m_test = n, 2, 3, 4")


def test_report_opens_in_chromium_with_every_image_loaded(small_file, tmp_path):
    other = run_sweep(QUESTION, str(tmp_path / "question.h5"))
    outdir = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", small_file, other, "--html", str(outdir)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    page = (outdir / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", page)
    assert "error_vs_covariate_scale.png" in images and "convergence.png" in images and len(images) >= 4, images
    assert all((outdir / name).stat().st_size > 5000 for name in images)
    assert "<h2>Summary</h2>" in page and "<table class=\"dataframe summary\">" in page
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
    r = subprocess.run([sys.executable, "-m", "icl_sweep", "report", str(tmp_path / "absent.h5"), "--html",
                        str(tmp_path / "r")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "no such file" in r.stderr and not os.path.exists(tmp_path / "r")
