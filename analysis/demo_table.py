"""Prints the demo's headline from a results file: normalised error R/R0 per shift for the
trained LSA (closed form and Monte-Carlo) and for least squares, averaged over training runs.

    /usr/bin/python3 analysis/demo_table.py demo.h5
"""
import sys

import h5py
import pandas as pd

import results_schema


def main(path):
    with h5py.File(path, "r") as f:
        results_schema.check(f, path)
        df = pd.DataFrame(f["results"][:])
        completed = int(f.attrs["completed"])
    for column in ("status", "spectrum", "shift"):
        df[column] = df[column].str.decode("ascii")
    runs = df.drop_duplicates("train_id")
    print(f"{path}: {len(df)} rows, {len(runs)} training runs, completed = {completed}")
    print(f"training: {dict(runs['status'].value_counts())}; max rel_err {runs['rel_err'].max():.2e}; "
          f"max (loss - L*)/L* {((runs['loss_final'] - runs['loss_min']) / runs['loss_min']).max():.2e}")
    df["lsa_theory"] = df["risk_model_theory"] / df["risk_zero"]
    df["lsa_mc"] = df["risk_model_mc"] / df["risk_zero"]
    df["ols_mc"] = df["risk_ols_mc"] / df["risk_zero"]
    # Medians: with label noise and M close to d, least squares' error has no finite mean.
    fixed = df[~df["spectrum"].str.startswith("random_")]
    table = fixed.groupby("shift", sort=False)[["lsa_theory", "lsa_mc", "ols_mc"]].median()
    random = df[df["spectrum"].str.startswith("random_")]
    if len(random):
        table["lsa_mc_random_cov"] = random.groupby("shift", sort=False)["lsa_mc"].median()
    print("\nnormalised error R/R0, median over training runs and m_test")
    print("(lsa_*: trained LSA on fixed training covariances; lsa_mc_random_cov: trained on random ones)")
    print(table.to_string(float_format=lambda v: f"{v:10.4f}"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo.h5")
