"""icl_sweep.load, trajectories and to_xarray on files the program wrote."""
import shutil

import h5py
import numpy as np
import pytest

import icl_sweep
import icl_sweep.chunks
from conftest import run_sweep
from icl_sweep.results import TIMING_COLUMNS


def test_load_is_tidy(small_file):
    df = icl_sweep.load(small_file)
    with h5py.File(small_file, "r") as f:
        raw = f["results"][:]
    assert len(df) == len(raw) == 2 * 2 * 3  # d x M x shifts
    assert (df["file"] == small_file).all()
    assert set(df["shift"]) == {"none", "covariate_scale(0.5)", "covariate_scale(2)"}
    assert df["status"].map(type).eq(str).all() and df["spectrum"].eq("isotropic").all()
    scaled = df[df["shift_name"] == "covariate_scale"]
    assert sorted(scaled["shift_param"].unique()) == [0.5, 2.0]
    assert df.loc[df["shift"] == "none", "shift_param"].isna().all()
    assert (df["m_equals_n"] == (df["m_test"] == 6)).all() and df["m_equals_n"].sum() == 6
    for col in ("risk_model_mc", "risk_model_theory", "risk_ols_mc", "risk_knn_mc_se"):
        np.testing.assert_array_equal(df[col + "_norm"], raw[col] / raw["risk_zero"])
    assert "risk_zero_norm" not in df


def test_load_many_files_and_globs(small_file, tmp_path):
    copy = tmp_path / "copy.h5"
    shutil.copy(small_file, copy)
    # The same rows in two files (as a sweep and its --extend output hold them) count once...
    both = icl_sweep.load([small_file, str(copy)])
    assert len(both) == 12 and both.attrs["copies_dropped"] == 12 and (both["file"] == small_file).all()
    assert "12 row(s) held by several files counted once" in icl_sweep.results.copies_note(both)
    kept = icl_sweep.load([small_file, str(copy)], keep_copies=True)
    assert len(kept) == 24 and kept["file"].nunique() == 2
    # ...while another seed's rows at the same grid points are other samples, all kept.
    from conftest import SMALL, run_sweep
    reseeded = run_sweep(SMALL.replace("seed = 5", "seed = 6"), str(tmp_path / "seed6.h5"))
    two = icl_sweep.load([small_file, reseeded])
    assert len(two) == 24 and two.attrs["copies_dropped"] == 0
    # The same sweep run twice: the same computation (equal but for timing), counted once.
    again = run_sweep(SMALL, str(tmp_path / "again.h5"))
    twice = icl_sweep.load([small_file, again])
    assert len(twice) == 12 and twice.attrs["copies_dropped"] == 12
    assert len(icl_sweep.trajectories([small_file, str(copy)])) == len(icl_sweep.trajectories(small_file))
    assert len(icl_sweep.load(str(tmp_path / "copy*.h5"))) == 12
    with pytest.raises(FileNotFoundError):
        icl_sweep.load(str(tmp_path / "nothing*.h5"))
    with pytest.raises(FileNotFoundError):
        icl_sweep.load(str(tmp_path / "absent.h5"))


def test_incomplete_files_are_refused_unless_partial(small_file, tmp_path):
    partial = tmp_path / "partial.h5"
    shutil.copy(small_file, partial)
    with h5py.File(partial, "r+") as f:
        f.attrs["completed"] = 0
        rows = f["results"][:]
        rows["done"][::2] = 0
        f["results"][:] = rows
    with pytest.raises(icl_sweep.IncompleteFile, match="partial=True"):
        icl_sweep.load(str(partial))
    df = icl_sweep.load(str(partial), partial=True)
    assert len(df) == 6 and (df["done"] == 1).all()
    assert list(df["row"]) == list(range(1, 12, 2))


def test_a_complete_file_with_rows_not_done_is_refused(small_file, tmp_path):
    undone = tmp_path / "undone.h5"
    shutil.copy(small_file, undone)
    with h5py.File(undone, "r+") as f:
        rows = f["results"][:]
        rows["done"][3] = 0
        f["results"][:] = rows
    with pytest.raises(icl_sweep.IncompleteFile, match="marked complete, but 1 of its 12 rows are not done"):
        icl_sweep.load(str(undone))
    df = icl_sweep.load(str(undone), partial=True)
    assert len(df) == 11 and 3 not in set(df["row"])
    # done = 1 but no status (number 0: a row never computed): not done either, with columns= too.
    with h5py.File(undone, "r+") as f:
        rows = f["results"][:]
        rows["done"][3] = 1
        rows["status"][3] = 0
        f["results"][:] = rows
    for columns in (None, ["d", "risk_zero"]):
        with pytest.raises(icl_sweep.IncompleteFile, match="1 of its 12 rows are not done"):
            icl_sweep.load(str(undone), columns=columns)


def test_a_results_dataset_that_is_not_the_table_is_refused(small_file, tmp_path):
    other = tmp_path / "other.h5"
    shutil.copy(small_file, other)
    with h5py.File(other, "r+") as f:
        del f["results"]
        f["results"] = np.zeros((3, 2))
    with pytest.raises(icl_sweep.SchemaMismatch, match="/results is not an icl-sweep results table"):
        icl_sweep.load(str(other))


def test_other_schema_versions_are_refused(small_file, tmp_path):
    old = tmp_path / "old.h5"
    shutil.copy(small_file, old)
    with h5py.File(old, "r+") as f:
        f.attrs["schema_version"] = 6
    with pytest.raises(icl_sweep.SchemaMismatch, match="schema version 6; this analysis reads versions 7, 8, 9"):
        icl_sweep.load(str(old))


def test_text_columns_are_stored_once_and_version_7_files_still_load(small_file, tmp_path):
    """Schema 8 keeps each text once (an HDF5 enumeration, number 0 for ""); a file of version 7,
    whose text columns are fixed-length strings, loads to the same frame."""
    with h5py.File(small_file, "r") as f:
        rows = f["results"][:]
        mapping = h5py.check_enum_dtype(f["results"].dtype["shift"])
    assert mapping["(none)"] == 0 and set(mapping) == {"(none)", "none", "covariate_scale(0.5)", "covariate_scale(2)"}
    old = tmp_path / "v7.h5"
    shutil.copy(small_file, old)
    widths = {"status": 16, "spectrum": 128, "shift": 48, "model": 48}
    with h5py.File(small_file, "r") as f:
        texts = {c: icl_sweep.results.text_values(rows[c], f["results"].dtype[c]) for c in widths}
    dtype = np.dtype([(n, f"S{widths[n]}" if n in widths else rows.dtype[n]) for n in rows.dtype.names])
    v7 = np.zeros(len(rows), dtype=dtype)
    for n in rows.dtype.names:
        v7[n] = np.array(texts[n], dtype=f"S{widths[n]}") if n in widths else rows[n]
    with h5py.File(old, "r+") as f:
        del f["results"]
        f["results"] = v7
        f.attrs["schema_version"] = 7
    new, back = icl_sweep.load(small_file), icl_sweep.load(str(old))
    assert back.drop(columns="file").equals(new.drop(columns="file"))


def test_columns_reads_only_those(small_file):
    df = icl_sweep.load(small_file, columns=["d", "shift", "risk_model_mc", "risk_zero"])
    full = icl_sweep.load(small_file)
    assert set(df.columns) == {"file", "d", "done", "shift", "risk_model_mc", "risk_zero", "shift_name", "shift_param",
                               "risk_model_mc_norm"}
    for c in df.columns:
        assert df[c].equals(full[c]), c
    with pytest.raises(KeyError, match="no column risk_bogus"):
        icl_sweep.load(small_file, columns=["risk_bogus"])


def test_trajectories_in_long_form(small_file):
    tr = icl_sweep.trajectories(small_file)
    with h5py.File(small_file, "r") as f:
        time = f["trajectories"]["time"][:]
    assert len(tr) == np.isfinite(time).sum() and tr["train_id"].nunique() == time.shape[0] == 2
    assert set(tr["d"]) == {3, 4} and (tr["model"] == "flow").all()
    for run, points in tr.groupby("train_id"):
        assert (np.diff(points["time"]) > 0).all() and points["time"].iloc[0] == 0
        np.testing.assert_array_equal(points["loss"], f_loss(small_file, run)[: len(points)])


def test_trajectories_of_some_runs_read_those_alone(small_file):
    full = icl_sweep.trajectories(small_file)
    one = icl_sweep.trajectories(small_file, runs={(small_file, 1)})
    want = full[full["train_id"] == 1].reset_index(drop=True)
    assert len(one) == len(want) > 0 and one.equals(want)
    assert icl_sweep.trajectories(small_file, runs=set()).empty


def f_loss(path, run):
    with h5py.File(path, "r") as f:
        return f["trajectories"]["loss"][run]


def test_to_xarray_has_the_grid_as_dimensions(small_file):
    df = icl_sweep.load(small_file)
    ds = icl_sweep.to_xarray(df)
    assert list(ds.sizes) == ["d", "m_test", "test_shift"] and ds.sizes["test_shift"] == 3
    one = df[(df["d"] == 4) & (df["m_test"] == 3) & (df["shift"] == "covariate_scale(2)")].iloc[0]
    assert ds["risk_model_mc"].sel(d=4, m_test=3, test_shift="covariate_scale(2)").item() == one["risk_model_mc"]
    # Numbers stay numbers: the shift's parameter along the text dimension, integer columns integers.
    assert ds["shift_param"].sel(test_shift="covariate_scale(0.5)").item() == 0.5
    assert np.isnan(ds["shift_param"].sel(test_shift="none").item())
    assert ds["init_seed"].dtype == np.int32 and ds["gf_steps"].dtype == np.int64 and ds["done"].dtype == np.uint8
    # No variable or dimension hides a Dataset method (ds.shift, ds.rank are xarray's).
    assert callable(ds.shift) and callable(ds.rank) and "mpi_rank" in ds and "shift" not in ds.variables
    with pytest.raises(ValueError, match="share their grid point"):
        icl_sweep.to_xarray(icl_sweep.load([small_file, small_file], keep_copies=True))


def test_to_xarray_one_shift_family_and_m_test_n(tmp_path):
    """covariate_scale(c) alone gives a numeric shift_param dimension; m_test = n beside fixed M
    gives the fixed M as the m_test dimension and the M = N rows as *_m_equals_n variables, so
    that no cell of the cube is empty (a plain cube over M would be half empty here)."""
    out = run_sweep("[sweep]\nname = cube\nseed = 2\n[grid]\nd = 2, 3\nn_train = 4, 8\n[eval]\n"
                    "m_test = n, 3\nshift = covariate_scale(0.5, 2, 4)\nmc_prompts = 0\n", str(tmp_path / "cube.h5"))
    df = icl_sweep.load(out)
    ds = icl_sweep.to_xarray(df)
    assert dict(ds.sizes) == {"d": 2, "n_train": 2, "m_test": 1, "shift_param": 3}
    assert ds.attrs["shift_name"] == "covariate_scale" and list(ds["shift_param"].values) == [0.5, 2.0, 4.0]
    assert not ds["risk_model_theory"].isnull().any() and not ds["risk_model_theory_m_equals_n"].isnull().any()
    assert ds["risk_model_theory_m_equals_n"].dims == ("d", "n_train", "shift_param")
    row = df[(df["d"] == 3) & (df["n_train"] == 8) & (df["m_test"] == 8) & (df["shift"] == "covariate_scale(2)")]
    assert ds["risk_model_theory_m_equals_n"].sel(d=3, n_train=8, shift_param=2.0).item() == row["risk_model_theory"].item()
    only_n = icl_sweep.to_xarray(df[df["m_test"] == df["n_train"]])
    assert "m_test" not in only_n.dims and only_n.attrs["m_test"] == "n" and not only_n["risk_model_theory"].isnull().any()


def test_merge_an_array_job(small_file, tmp_path):
    from conftest import SMALL, run_sweep
    parts = [run_sweep(SMALL.replace("d = 3, 4", f"d = {d}"), str(tmp_path / f"part{d}.h5")) for d in (3, 4)]
    out = tmp_path / "merged.h5"
    assert icl_sweep.merge(str(tmp_path / "part*.h5"), out) is True
    merged, whole = icl_sweep.load(str(out)), icl_sweep.load(small_file)
    timing = ["file", *TIMING_COLUMNS]
    assert merged.drop(columns=timing).equals(whole.drop(columns=timing))
    with pytest.raises(icl_sweep.MergeRefused, match="exists"):
        icl_sweep.merge(parts, out)
    assert icl_sweep.merge(parts, out, force=True) is True


def test_a_condition_a_run_holds_twice_is_counted_once(tmp_path):
    """`m_test = n, 6` at N = 6: the grid holds M = 6 twice for that run (bitwise equal rows but for
    timing); load keeps it once and says so, with and without `columns`."""
    from conftest import SMALL, run_sweep
    path = run_sweep(SMALL.replace("n_train = 6", "n_train = 6, 8").replace("m_test = n, 3", "m_test = n, 6"),
                     str(tmp_path / "twice.h5"))
    with h5py.File(path, "r") as f:
        raw = icl_sweep.results.read_table(f, path)
    assert len(raw) == 2 * 2 * 2 * 3  # d x N x M x shifts
    df = icl_sweep.load(path)
    assert len(df) == len(raw) - 2 * 3 and df.attrs["repeats_dropped"] == 6  # d = 3, 4 at N = 6, every shift
    assert not df.duplicated(["d", "n_train", "m_test", "shift"]).any()
    assert "6 row(s) the grid computes twice counted once (m_test = n" in icl_sweep.results.copies_note(df)
    few = icl_sweep.load(path, columns=["d", "risk_model_mc"])
    assert len(few) == len(df) and set(few.columns) == {"file", "d", "done", "risk_model_mc"}


def test_chunks_read_in_threads_are_bitwise_what_hdf5_reads(tmp_path):
    """chunks.read_columns inflates /results' chunks itself (in threads): every column, every bit,
    equals h5py's own read, over several chunks and a partial last one; a table stored otherwise
    (no filters here) is read by h5py and loads to the same frame."""
    out = run_sweep("[sweep]\nname = chunks\nseed = 3\n[grid]\nd = 2:8:2\nn_train = 10:100:10\n[eval]\n"
                    "m_test = 10:100:10\nshift = none, covariate_scale(0.5, 2)\nmc_prompts = 0\n", str(tmp_path / "c.h5"))
    with h5py.File(out, "r") as f:
        table = f["results"]
        assert table.shape[0] == 1200 and table.chunks[0] < 1200 and icl_sweep.chunks._fast_layout(table)
        stored = table[:]
        read = {c: np.empty(len(stored), dtype=table.dtype[c]) for c in table.dtype.names}
        icl_sweep.chunks.read_columns(table, list(table.dtype.names), read)
    for c in stored.dtype.names:
        assert read[c].tobytes() == np.ascontiguousarray(stored[c]).tobytes(), c
    plain = tmp_path / "plain.h5"
    shutil.copy(out, plain)
    with h5py.File(plain, "r+") as f:
        del f["results"]
        f.create_dataset("results", data=stored, chunks=(100,))
        assert not icl_sweep.chunks._fast_layout(f["results"])
    assert icl_sweep.load(str(plain)).drop(columns="file").equals(icl_sweep.load(out).drop(columns="file"))


def test_models_are_kept_with_their_runs(small_file, tmp_path):
    """The flow's A is in the file: on the isotropic law, ||A - A*||_F / ||A*||_F with
    A* = N / (N + 1 + d) I (docs/theory.md) is the row's rel_err. A sampled model's final state
    holds its weights (those of /parameters) and its loss curve (that of /trajectories)."""
    runs = icl_sweep.models(small_file)
    df = icl_sweep.load(small_file)
    assert len(runs) == df["train_id"].nunique() and runs["state"].isna().all()
    for _, run in runs.iterrows():
        d, n = int(run["d"]), int(run["n_train"])
        assert run["spectrum"] == "isotropic" and run["A"].shape == (d, d)
        optimum = n / (n + 1 + d) * np.eye(d)
        rel_err = np.linalg.norm(run["A"] - optimum) / np.linalg.norm(optimum)
        row = df[df["train_id"] == run["train_id"]].iloc[0]
        assert rel_err == pytest.approx(row["rel_err"], rel=1e-9, abs=1e-15)
    out = run_sweep("[sweep]\nname = kept\nseed = 3\n[grid]\nd = 3\nn_train = 6\nmodel = lsa\n[eval]\nm_test = 4\n"
                    "mc_prompts = 100\n[train]\nsteps = 30\ntrajectory_points = 8\n", str(tmp_path / "kept.h5"))
    (_, run), = icl_sweep.models(out).iterrows()
    assert run["A"] is None and run["model"] == "lsa"
    state = icl_sweep.model_state(run["state"])
    layer = icl_sweep.parameters(out).iloc[0]
    assert np.array_equal(state["parameter0"], layer["w_pv"]) and np.array_equal(state["parameter1"], layer["w_kq"])
    assert state["step"][0] == 30
    curve = icl_sweep.trajectories(out)
    assert np.array_equal(state["trajectory"][:len(curve), 1], curve["loss"].to_numpy())


def test_training_settings_and_knn_k_are_axes_with_their_columns(tmp_path):
    """train.optimizer, train.init (and batch, lr_schedule) are run axes, eval.knn_k a condition
    axis, each with its column; runs that differ only in a training setting start from the same
    weights on the same prompts (paired: equal loss at step 0); the flow, which ignores them, is
    kept once; every row holds the sweep's seed. A file of schema 8 (no such columns) loads with
    the values its stored config gave the whole sweep."""
    out = run_sweep("[sweep]\nname = axes\nseed = 21\n[grid]\nd = 3\nn_train = 6\nmodel = flow, lsa\n[eval]\n"
                    "m_test = 4\nknn_k = 1, 3\nmc_prompts = 100\n[train]\nsteps = 20\ntrajectory_points = 4\n"
                    "optimizer = adam, sgd\ninit = paper, gaussian(0.1)\n", str(tmp_path / "axes.h5"))
    with h5py.File(out, "r") as f:
        raw = len(f["results"])
    df = icl_sweep.load(out)
    assert raw == 2 * 2 * 2 * 2 and df.attrs["repeats_dropped"] == 2 * 3  # the flow's 3 repeats, at each k
    assert (df["seed"] == 21).all() and set(df["knn_k"]) == {1, 3} and set(df["batch"]) == {64}
    lsa = df[df["model"] == "lsa"]
    assert set(zip(lsa["optimizer"], lsa["init"])) == {("adam", "paper"), ("sgd", "paper"), ("adam", "gaussian(0.1)"),
                                                      ("sgd", "gaussian(0.1)")}
    flow = df[df["model"] == "flow"]
    assert len(flow) == 2 and (flow["optimizer"] == "adam").all() and (flow["init"] == "paper").all()
    # Only k-NN changes with k, only the model with its training: the test prompts are the test law's.
    one = lsa[lsa["optimizer"] == "adam"]
    assert one["risk_ridge_mc"].nunique() == 1 and one["risk_knn_mc"].nunique() == 2
    assert one.groupby("init", observed=True)["risk_model_mc"].nunique().max() == 1 and one["risk_model_mc"].nunique() == 2
    curve = icl_sweep.trajectories(out)
    start = curve[(curve["model"] == "lsa") & (curve["time"] == 0)].set_index("train_id")["loss"]
    runs = lsa.drop_duplicates("train_id").set_index(["optimizer", "init"])["train_id"]
    assert start[runs[("adam", "paper")]] == start[runs[("sgd", "paper")]]
    assert start[runs[("adam", "paper")]] != start[runs[("adam", "gaussian(0.1)")]]
    # Schema 8: the same rows without the new columns; the stored config's values fill them in.
    old = tmp_path / "v8.h5"
    shutil.copy(out, old)
    with h5py.File(old, "r+") as f:
        rows = f["results"][:]
        keep = [n for n in rows.dtype.names
                if n not in ("seed", "optimizer", "batch", "lr_schedule", "init", "knn_k", "train_noise")]
        v8 = np.zeros(len(rows), dtype=[(n, rows.dtype[n]) for n in keep])
        for n in keep:
            v8[n] = rows[n]
        v8 = v8[(rows["knn_k"] == 3) & (rows["optimizer"] == rows["optimizer"][0]) & (rows["init"] == rows["init"][0])]
        del f["results"]
        f["results"] = v8
        f.attrs["schema_version"] = 8
        f.attrs["config"] = f.attrs["config"].replace(b"knn_k = 1, 3", b"knn_k = 3").replace(
            b"optimizer = adam, sgd", b"optimizer = adam").replace(b"init = paper, gaussian(0.1)", b"init = paper").replace(
            b"train_noise = 0\n", b"")
    back = icl_sweep.load(str(old), partial=True)
    assert (back["seed"] == 21).all() and (back["knn_k"] == 3).all() and (back["optimizer"] == "adam").all()
    assert (back["train_noise"] == 0.0).all()
    assert (back["batch"] == 64).all() and (back["init"] == "paper").all() and (back["lr_schedule"] == "constant").all()


def test_a_noisy_training_law_moves_the_flows_optimum(tmp_path):
    """grid.train_noise = s: the flow trains on the population loss of prompts with label noise s,
    whose optimum on the isotropic law is N / (N + 1 + d + s^2) I (docs/theory.md §14): the stored
    A is there; s = 0 is the paper's N / (N + 1 + d)."""
    out = run_sweep("[sweep]\nname = noisy\nseed = 2\n[grid]\nd = 3\nn_train = 8\ntrain_noise = 0, 2\n[eval]\n"
                    "m_test = 8\nmc_prompts = 100\n", str(tmp_path / "noisy.h5"))
    runs = icl_sweep.models(out)
    df = icl_sweep.load(out)
    assert sorted(df["train_noise"]) == [0.0, 2.0]
    for _, run in runs.iterrows():
        s = df.loc[df["train_id"] == run["train_id"], "train_noise"].iloc[0]
        want = 8 / (8 + 1 + 3 + s * s) * np.eye(3)
        assert np.linalg.norm(run["A"] - want) < 1e-6 * np.linalg.norm(want), (s, run["A"])


def test_to_xarray_keeps_what_tells_a_cube_apart(small_file):
    """A cube of one shift says which (an attribute), as does one model; a text that varies (status)
    is a variable; the M = N variables hold no copy of m_test or m_equals_n."""
    df = icl_sweep.load(small_file)
    one = icl_sweep.to_xarray(df[df["shift"] == "covariate_scale(2)"])
    assert one.attrs["test_shift"] == "covariate_scale(2)" and one.attrs["model"] == "flow"
    assert one.attrs["shift_name"] == "covariate_scale" and one.attrs["status"] == "converged"
    assert icl_sweep.to_xarray(df[df["shift"] == "none"]).attrs["test_shift"] == "none"
    mixed = df.assign(status=np.where(df["d"] == 3, "converged", "max_steps"))
    ds = icl_sweep.to_xarray(mixed)
    assert ds["status"].dtype == object and ds["status"].sel(d=4).to_series().eq("max_steps").all()
    assert not any(v.startswith(("m_test_", "m_equals_n_")) for v in ds.data_vars)
