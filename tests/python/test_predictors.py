"""The package's predictor table is the program's (icl_sweep/predictors.json, from
`icl-sweep --describe-predictors`): its columns are exactly the files' risk columns, and the names
the figures use resolve to them."""
import h5py

from icl_sweep.plot import PREDICTORS as PLOT_PREDICTORS
from icl_sweep.predictors import COLUMNS, PREDICTORS


def test_columns_are_the_files_risk_columns(small_file):
    with h5py.File(small_file, "r") as f:
        names = f["results"].dtype.names
    assert [n for n in names if n.startswith("risk_")] == COLUMNS


def test_names_resolve_to_columns():
    assert PLOT_PREDICTORS is PREDICTORS
    assert PREDICTORS["model"] == ("risk_model_mc", "risk_model_mc_se", "trained model")
    assert PREDICTORS["model_theory"] == ("risk_model_theory", "risk_model_theory_se", "trained model, theory")
    assert PREDICTORS["lsa_limit"] == ("risk_lsa_limit", None, "LSA at A*, closed form")
    assert PREDICTORS["gd"] == ("risk_gd_mc", None, "one-step GD")
    for value, se, _ in PREDICTORS.values():
        assert value in COLUMNS and (se is None or se in COLUMNS)
