"""icl_sweep: reading icl-sweep's results files (docs/interface.md, "The results file").

    import icl_sweep
    df = icl_sweep.load("results/*.h5")          # one tidy DataFrame over one or many files
    tr = icl_sweep.trajectories("results/a.h5")  # training trajectories in long form
    w = icl_sweep.parameters("results/a.h5")     # trained weights of lsa and linear_transformer runs
    ds = icl_sweep.to_xarray(df)                 # the grid axes as dimensions
    icl_sweep.merge("array/task_*.h5", "all.h5")  # one file from an array job's (icl-sweep --merge)

Importable with Debian's /usr/bin/python3 after `bash scripts/install-deps.sh`, which puts this
checkout on its path.
"""
from .merge import MergeRefused, merge
from .results import GRID_AXES, IncompleteFile, load, model_state, models, parameters, to_xarray, trajectories
from .schema import SCHEMA_VERSION, SchemaMismatch

__all__ = ["load", "trajectories", "parameters", "models", "model_state", "to_xarray", "merge", "MergeRefused", "GRID_AXES", "IncompleteFile", "SchemaMismatch", "SCHEMA_VERSION"]
