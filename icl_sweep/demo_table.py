"""The demo's headline from a results file: normalised error R/R0 per shift for the trained LSA
(closed form and Monte-Carlo) and for least squares, medians over training runs.

    python3 -m icl_sweep demo-table demo.h5
"""
import argparse
import sys

from .results import is_complete, load


def main(argv=None):
    p = argparse.ArgumentParser(prog="python3 -m icl_sweep demo-table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="?", default="demo.h5", metavar="RESULTS.h5")
    path = p.parse_args(argv).results
    try:
        df = load(path, partial=True)
        completed = int(is_complete(path))
    except (FileNotFoundError, ValueError) as e:
        print(f"icl_sweep demo-table: {e}", file=sys.stderr)
        return 2
    runs = df.drop_duplicates("train_id")
    print(f"{path}: {len(df)} rows, {len(runs)} training runs, completed = {completed}")
    print(f"training: {dict(runs['status'].value_counts())}; max rel_err {runs['rel_err'].max():.2e}; "
          f"max (loss - L*)/L* {((runs['loss_final'] - runs['loss_min']) / runs['loss_min']).max():.2e}")
    rse = (df["risk_model_mc_se"] / df["risk_model_mc"].abs()).dropna()
    cap = int(df["mc_prompts"].max())
    print(f"Monte-Carlo: prompts per condition median {df['mc_prompts'].median():.0f}, {df['mc_prompts'].min()} to {cap} "
          f"({int((df['mc_prompts'] == cap).sum())} rows drew {cap}); the model's relative standard error "
          f"median {rse.median():.2%}, largest {rse.max():.2%}")
    df = df.rename(columns={"risk_model_theory_norm": "lsa_theory", "risk_model_mc_norm": "lsa_mc",
                            "risk_ols_mc_norm": "ols_mc"})
    # Medians: with label noise and M close to d, least squares' error has no finite mean.
    fixed = df[~df["spectrum"].str.startswith("random_")]
    table = fixed.groupby("shift", sort=False, observed=True)[["lsa_theory", "lsa_mc", "ols_mc"]].median()
    random = df[df["spectrum"].str.startswith("random_")]
    if len(random):
        table["lsa_mc_random_cov"] = random.groupby("shift", sort=False, observed=True)["lsa_mc"].median()
    print("\nnormalised error R/R0, median over training runs and m_test")
    print("(lsa_*: trained LSA on fixed training covariances; lsa_mc_random_cov: trained on random ones)")
    print(table.to_string(float_format=lambda v: f"{v:10.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
