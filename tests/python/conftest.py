"""Fixtures for the Python package's tests: small sweeps run by the program ctest built."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

PROGRAM = os.environ.get("ICL_SWEEP_PROGRAM", os.path.join(ROOT, "build", "icl-sweep"))

SMALL = """[sweep]
name = python_tests
seed = 5
[grid]
d = 3, 4
n_train = 6
[eval]
m_test = n, 3
shift = none, covariate_scale(0.5, 2)
mc_prompts = 200
[train]
trajectory_points = 8
"""


def run_sweep(config_text, output, *extra):
    config = output + ".ini"
    with open(config, "w") as f:
        f.write(config_text)
    r = subprocess.run([PROGRAM, "--config", config, "--output", output, "--progress", "0", *extra],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return output


@pytest.fixture(scope="session")
def small_file(tmp_path_factory):
    return run_sweep(SMALL, str(tmp_path_factory.mktemp("small") / "small.h5"))
