"""Results files as pandas DataFrames and xarray Datasets."""
import glob
import os
import re

import h5py
import numpy as np
import pandas as pd

from . import chunks, schema
from .declared import declared

# The axes of a sweep's grid, in the program's order (icl-sweep --describe-axes): a row is one
# point of these, and its values depend on nothing else but the sweep's seed and settings. The run
# axes make training runs, the others a run's conditions.
GRID_AXES = [a["name"] for a in declared("axes")]
RUN_AXES = [a["name"] for a in declared("axes") if a["kind"] == "run"]
# The text columns every results file has (schema 9 adds optimizer, lr_schedule and init); a text
# column is one stored as an HDF5 enumeration (schema 8 on) or as fixed-length bytes (7): is_text.
TEXT_COLUMNS = ["status", "spectrum", "shift", "model"]
TRAJECTORY_COLUMNS = ["time", "loss", "rel_err", "excess_loss"]
# Columns that differ between runs of the same rows: when and where they were computed
# (docs/interface.md, "Determinism").
TIMING_COLUMNS = ("seconds", "train_seconds", "rank", "device", "finished_unix")
# The statuses of a training run that reached its end: the flow converged, a sampled model trained
# its steps (docs/interface.md, "status"); any other status is a failure or a stop.
SUCCESS_STATUSES = ("converged", "trained")
# A summary row: a point of these, averaged over the seeds and sigma (never over sizes or settings).
SUMMARY_KEYS = ["model", "spectrum", "shift", "d", "n_train", "m_test", "ridge_lambda", "knn_k", "lr", "steps",
                "optimizer", "batch", "lr_schedule", "init"]
# Columns that say where a row sits in its file, not what it is: the same row has other values in
# another file (an extension or a merge reorders the grid).
PLACE_COLUMNS = ("file", "row", "train_id")

_CALL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$")


class IncompleteFile(ValueError):
    """A file whose sweep has not completed, read without partial=True."""


def split_call(text):
    """'covariate_scale(2)' -> ('covariate_scale', 2.0); 'none' -> ('none', nan); a call with
    several parameters, or one that is not a number, gives nan as its parameter; shifts composed
    with '+' are their own name: ('covariate_scale(2)+label_noise(0.5)', nan)."""
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "+" and depth == 0:
            return text, np.nan
    m = _CALL.match(text)
    if not m:
        return text, np.nan
    args = [a.strip() for a in m.group(2).split(",")] if m.group(2) else []
    if len(args) == 1:
        try:
            return m.group(1), float(args[0])
        except ValueError:
            pass
    return m.group(1), np.nan


def expand_paths(paths_or_glob):
    """A path, a glob pattern, or a list of either -> the files, in the order given (a pattern's
    matches sorted). A pattern that matches nothing, or a missing file, raises FileNotFoundError."""
    items = [paths_or_glob] if isinstance(paths_or_glob, (str, os.PathLike)) else list(paths_or_glob)
    files = []
    for item in items:
        item = os.fspath(item)
        if glob.has_magic(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise FileNotFoundError(f"{item}: no file matches")
            files.extend(matches)
        elif not os.path.exists(item):
            raise FileNotFoundError(f"{item}: no such file")
        else:
            files.append(item)
    if not files:
        raise FileNotFoundError("no results file given")
    return files


def _open(path):
    try:
        f = h5py.File(path, "r", locking=False)  # a reader never locks out the writer
    except OSError as e:
        raise schema.SchemaMismatch(f"{path}: cannot be read as an HDF5 results file ({e}); a sweep still "
                                    f"writing it is read with `icl-sweep status {path} --export SNAPSHOT.h5`") from None
    try:
        schema.check(f, path)
    except Exception:
        f.close()
        raise
    return f


def is_complete(path):
    """Whether the sweep that writes the file at `path` has completed (checks its schema)."""
    with _open(path) as f:
        return int(f.attrs.get("completed", 0)) == 1


def is_text(dtype):
    """Whether a /results column of this dtype holds texts: an enumeration, or fixed-length bytes."""
    return h5py.check_enum_dtype(dtype) is not None or dtype.kind == "S"


def text_values(values, dtype):
    """A text column as a pandas Categorical whose categories are the values it holds, in lexical
    order, each decoded once: from the numbers and the enumeration of schema 8 (0 is "", a row not
    yet computed), or from the fixed-length bytes of schema 7."""
    mapping = h5py.check_enum_dtype(dtype)
    if mapping is None:
        uniques, codes = np.unique(values, return_inverse=True)
        return pd.Categorical.from_codes(codes, [u.decode("ascii") for u in uniques])
    names = {code: "" if code == 0 else name for name, code in mapping.items()}
    size = max(names) + 1
    held = np.flatnonzero(np.bincount(values, minlength=size)[:size])
    ordered = sorted({names[code] for code in held})
    recode = np.zeros(size, dtype=np.int32)
    for code in held:
        recode[code] = ordered.index(names[code])
    return pd.Categorical.from_codes(recode[values], ordered)


def read_table(f, path, columns=None, derived=False):
    """/results of an open h5py File as a DataFrame, every row (done or not), texts decoded;
    with `columns`, those alone are read from the file (and `done`); with `derived`, the columns a
    researcher computes first too (load's: shift and spectrum split into name and parameter, M = N,
    R/R0 of every risk column), where the columns they come from were read.

    Memory is the frame itself and a few chunks of rows: the chunks are read into the columns
    (chunks.read_columns), and every real-valued column (derived ones too) lies in one 2-D array, so that pandas never copies
    the frame to consolidate it (a selection of rows copies what it selects, nothing more)."""
    table = f.get("results")
    names = getattr(getattr(table, "dtype", None), "names", None) or ()
    missing = [c for c in ("done", "risk_zero") + tuple(TEXT_COLUMNS) if c not in names]
    if not isinstance(table, h5py.Dataset) or missing:
        raise schema.SchemaMismatch(f"{path}: /results is not an icl-sweep results table (" +
                                    (f"no column {', '.join(dict.fromkeys(missing))}" if names else "not a table") + ")")
    if columns is None:
        wanted = list(names)
    else:
        unknown = [c for c in columns if c not in names]
        if unknown:
            raise KeyError(f"{path}: no column {', '.join(unknown)} in /results")
        wanted = [c for c in names if c in set(columns) | {"done"}]
    real = [c for c in wanted if table.dtype[c] == np.float64]
    order, norms = list(wanted), []
    if derived:
        extra = _derived_columns(wanted)
        order += extra
        norms = [c for c in extra if c.endswith("_norm")]
        real += [c for c in extra if c.endswith(("_param", "_norm"))]
    rows = table.shape[0]
    reals = np.empty((len(real), rows))  # row i: column real[i], contiguous
    at = {c: i for i, c in enumerate(real)}
    out = {c: reals[at[c]] if c in at else np.empty(rows, dtype=table.dtype[c]) for c in wanted}
    chunks.read_columns(table, wanted, out)
    for c in wanted:
        if is_text(table.dtype[c]):
            out[c] = text_values(out[c], table.dtype[c])
    if "seed" in out:  # an identifier, one value a file: a categorical (a byte a row, not eight)
        out["seed"] = pd.Categorical(out["seed"])
    if derived:
        for col in ("shift", "spectrum"):
            if col in out:
                out[col + "_name"], reals[at[col + "_param"]] = _split_calls(out[col])
        if "m_equals_n" in order:
            out["m_equals_n"] = out["m_test"] == out["n_train"]
        if "risk_zero" in out:
            with np.errstate(divide="ignore", invalid="ignore"):
                for c in norms:
                    np.divide(out[c[:-len("_norm")]], out["risk_zero"], out=reals[at[c]])
    df = pd.DataFrame(reals.T, columns=real, copy=False)
    for i, c in enumerate(order):  # the others in place, in order: each its own block
        if c not in at:
            df.insert(i, c, out.pop(c))  # pandas copies it: the original goes at once
    return df


def _completed(f, path, partial):
    """Whether the open file's sweep has completed; IncompleteFile if not, unless `partial`."""
    completed = int(f.attrs.get("completed", 0)) == 1
    if not completed and not partial:
        raise IncompleteFile(f"{path}: the sweep has not completed ({int(f.attrs.get('rows_done', 0))} of "
                             f"{int(f.attrs.get('rows_total', 0))} rows); load(..., partial=True) reads the rows done")
    return completed


def _derived_columns(wanted):
    """The columns read_table(..., derived=True) adds to the /results columns `wanted`, in order."""
    extra = []
    for col in ("shift", "spectrum"):
        if col in wanted:
            extra += [col + "_name", col + "_param"]
    if "m_test" in wanted and "n_train" in wanted:
        extra.append("m_equals_n")
    if "risk_zero" in wanted:
        extra += [c + "_norm" for c in wanted if c.startswith("risk_") and c != "risk_zero"]
    return extra


# A run's condition, within one file: two rows with the same of these are one condition computed
# twice, as `m_test = n, 20` at N = 20 gives (the grid is a product; the rows are bitwise equal but
# for timing).
REPEAT_KEYS = ["train_id", "m_test", "shift", "ridge_lambda", "knn_k"]
# The sampled models' own grid axes (the train.* lists: lr, steps, optimizer, batch, lr_schedule,
# init): the population flow ignores them, so flow runs that differ only there are one computation.
SAMPLED_ONLY = [a["name"] for a in declared("axes") if a["key"].startswith("train.")]


def _read_one(path, partial, columns=None):
    """One file's rows done; a condition a run holds twice (REPEAT_KEYS), and a flow run repeated
    along the sampled models' own axes (SAMPLED_ONLY: the rows at their first values are kept),
    counted once, the number dropped in df.attrs["repeats_dropped"]."""
    with _open(path) as f:
        completed = _completed(f, path, partial)
        names = f["results"].dtype.names or ()
        keys = [c for c in REPEAT_KEYS + GRID_AXES + ["n_train", "status"] if c in names]
        extra = [] if columns is None else [c for c in dict.fromkeys(keys) if c not in columns]
        df = read_table(f, path, None if columns is None else list(columns) + extra, derived=True)
    # A row is done when done = 1 and it has a status ("" is a row never computed).
    not_done = (df["done"] != 1) | (df["status"] == "")
    undone = int(not_done.sum())
    if completed and undone and not partial:
        raise IncompleteFile(f"{path}: marked complete, but {undone} of its {len(df)} rows are not done (done is not 1, or no status): "
                             "not a result; load(..., partial=True) reads the rows done")
    keep = ~not_done if undone else None
    # Only rows with M = N can be repeats (`n` and the number): those alone are compared.
    equal = (df["m_test"] == df["n_train"]).to_numpy()
    repeats = np.zeros(len(df), dtype=bool)
    if equal.any():
        repeats[equal] = pd.DataFrame({k: df[k].to_numpy()[equal] for k in REPEAT_KEYS if k in df}).duplicated().to_numpy()
    flow = (df["model"] == "flow").to_numpy() if "model" in df else np.zeros(len(df), dtype=bool)
    if flow.any() and any(df[a].nunique() > 1 for a in SAMPLED_ONLY if a in df):
        same = [a for a in GRID_AXES if a in df and a not in SAMPLED_ONLY]
        repeats[flow] |= pd.DataFrame({k: df[k].to_numpy()[flow] for k in same}).duplicated().to_numpy()
    if repeats.any():
        keep = ~repeats if keep is None else keep & ~repeats
    if keep is not None:
        df = df[keep].reset_index(drop=True)
    for axis, value in _settings_of_older_files(path, names):
        if axis not in df and (columns is None or axis in columns):
            df[axis] = pd.Categorical([value] * len(df)) if isinstance(value, str) else np.full(len(df), value)
    if extra:
        asked = set(columns) | {"done"}
        asked |= set(_derived_columns([c for c in df.columns if c in asked]))
        df = df.drop(columns=[c for c in df.columns if c not in asked])
    df.attrs["repeats_dropped"] = int(repeats.sum())
    return df


# Keys that older files' configs lack, with the value that gives what those sweeps computed.
KEYS_ADDED_LATER = {"grid.train_noise": 0.0}


def _settings_of_older_files(path, names):
    """[(column, value)] for the grid axes (and `seed`) that a file of an older schema has no column
    for (version 8: optimizer, batch, lr_schedule, init, knn_k, seed, train_noise): each was then
    one setting of the whole sweep, which its stored config holds (train_noise, which did not
    exist, was 0: noiseless training)."""
    axes = {a["name"]: a["key"] for a in declared("axes")}
    axes["seed"] = "sweep.seed"
    missing = {c: k for c, k in axes.items() if c not in names}
    if not missing:
        return []
    import configparser

    with _open(path) as f:
        text = f.attrs["config"]
    stored = configparser.ConfigParser(interpolation=None)
    stored.read_string(text.decode() if isinstance(text, bytes) else str(text))
    out = []
    for column, key in missing.items():
        section, name = key.split(".")
        if not stored.has_option(section, name):
            if key in KEYS_ADDED_LATER:
                out.append((column, KEYS_ADDED_LATER[key]))
            continue
        value = stored.get(section, name).strip()
        for kind in (int, float):
            try:
                value = kind(value)
                break
            except ValueError:
                pass
        out.append((column, value))
    return out


def columns_for(keys):
    """The /results columns that load(..., columns=...) must read for a frame holding `keys`
    (columns of load's table, derived ones included: shift_param needs shift, risk_ols_mc_norm
    needs risk_ols_mc and risk_zero); `file` and `predictor` need none."""
    needed = []
    for key in keys:
        if key in ("file", "predictor"):
            continue
        if key in ("shift_name", "shift_param", "spectrum_name", "spectrum_param"):
            needed.append(key.rsplit("_", 1)[0])
        elif key == "m_equals_n":
            needed += ["m_test", "n_train"]
        elif key.startswith("risk_") and key.endswith("_norm"):
            needed += [key[:-len("_norm")], "risk_zero"]
        else:
            needed.append(key)
    return list(dict.fromkeys(needed))


def _split_calls(texts):
    """split_call over a Categorical of texts, once per category: (names, a Categorical, and the
    parameters, an array)."""
    parts = [split_call(t) for t in texts.categories]
    names = pd.Categorical([p[0] for p in parts])
    params = np.array([p[1] for p in parts], dtype=float)
    codes = texts.codes
    return (pd.Categorical.from_codes(names.codes[codes], names.categories),
            np.where(codes >= 0, params[codes], np.nan))


def load(paths_or_glob, partial=False, keep_copies=False, columns=None):
    """One tidy DataFrame over one or many results files: a row per row of /results, strings
    decoded, `shift_name`/`shift_param` and `spectrum_name`/`spectrum_param` split out,
    `m_equals_n`, every risk column also as R/R0 (`<column>_norm`), and the `file` it came from.

    With `columns` (a list of /results columns), only those are read from the files (with `done`),
    and only the derived columns they give: on a large file, much less time and memory
    (columns_for(keys) names those a frame of load's columns needs). Copies among several files are
    then found among the columns read.

    Checks each file's schema version (SchemaMismatch). A file whose sweep has not completed is
    refused (IncompleteFile) unless partial=True, which reads its rows done so far.

    A row that several files hold as the same computation (equal in every column but the timing
    ones and its place: a sweep and its --extend or --merge output, or the same sweep run twice) is
    kept once, from the first file, unless keep_copies=True: averages would count it twice. df.attrs["copies_dropped"] says how many were dropped. Rows of sweeps with other
    seeds differ in their values and are all kept. Within a file, a condition that a run holds twice
    (`m_test = n, 20` at N = 20: the grid is a product) is kept once, and so is a flow run repeated
    along the sampled models' own axes (train.lr, steps, optimizer, batch, lr_schedule, init, which
    the flow ignores: the rows at their first values are kept); df.attrs["repeats_dropped"]
    says how many such rows were dropped."""
    frames = []
    for path in expand_paths(paths_or_glob):
        df = _read_one(path, partial, columns)
        df.insert(0, "file", pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), [path]))
        frames.append(df)
    repeats = sum(frame.attrs.get("repeats_dropped", 0) for frame in frames)
    df = concat(frames)
    dropped = 0
    if len(frames) > 1 and not keep_copies:
        copies = df.duplicated([c for c in df.columns if c not in PLACE_COLUMNS and c not in TIMING_COLUMNS])
        dropped = int(copies.sum())
        df = df[~copies].reset_index(drop=True)
    df.attrs["copies_dropped"] = dropped
    df.attrs["repeats_dropped"] = repeats
    return df


def concat(frames):
    """pd.concat of frames of load's, their text columns kept categorical (the union of their
    categories, in lexical order; pandas makes them objects where the categories differ)."""
    if len(frames) == 1:
        return frames[0]
    for c in frames[0].columns:
        if all(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames if c in f):
            union = sorted(set().union(*(f[c].cat.categories for f in frames if c in f)))
            for f in frames:
                if c in f:
                    f[c] = f[c].cat.set_categories(union)
    return pd.concat(frames, ignore_index=True)


def copies_note(df):
    """The sentence a command prints when load dropped copies or repeated conditions, or ''."""
    n, r = df.attrs.get("copies_dropped", 0), df.attrs.get("repeats_dropped", 0)
    notes = ([f"{n} row(s) held by several files counted once (the same computation: --extend and --merge copy rows, "
              "and a sweep run twice computes them again)"] if n else []) + \
            ([f"{r} row(s) the grid computes twice counted once (m_test = n beside the same number; the flow at "
              "several values of the train.* lists it ignores)"] if r else [])
    return "; ".join(notes)


def _first_rows(path, partial, ids):
    """The run axes of runs `ids` (sorted train_ids) of the file at `path`, from each run's first row
    alone (a run's rows share them): only the chunks holding those rows are read."""
    with _open(path) as f:
        _completed(f, path, partial)
        table = f["results"]
        conditions = table.shape[0] // f["trajectories"]["time"].shape[0]
        wanted = ["train_id", "done"] + RUN_AXES
        rows = table.fields(wanted)[[int(i) * conditions for i in ids]] if ids else table.fields(wanted)[0:0]
        df = pd.DataFrame({c: text_values(rows[c], table.dtype[c]) if is_text(table.dtype[c]) else rows[c] for c in wanted})
    return df[df["done"] == 1]


def trajectories(paths_or_glob, partial=False, runs=None):
    """The training trajectories in long form: one row per (file, train_id, point) with the run's
    grid values (d, n_train, spectrum, sigma, init_seed, model, lr, steps) and time, loss, rel_err,
    excess_loss; the NaN padding of runs with fewer points is dropped. With `runs`, a set of
    (file, train_id) pairs, those runs alone (and only their rows are read)."""
    frames = []
    run_axes = RUN_AXES
    for path in expand_paths(paths_or_glob):
        if runs is None:
            rows = _read_one(path, partial, ["train_id"] + run_axes)
        else:
            rows = _first_rows(path, partial, sorted({int(t) for f, t in runs if f == path}))
        runs_here = rows.drop_duplicates("train_id").set_index("train_id")[run_axes]
        with _open(path) as f:
            t = f["trajectories"]
            ids = runs_here.index.to_numpy(dtype=np.int64)
            values = {c: t[c][:] if runs is None else (t[c][list(ids)] if len(ids) else np.empty((0, t[c].shape[1])))
                      for c in TRAJECTORY_COLUMNS}
        n_runs, points = values["time"].shape
        long = pd.DataFrame({c: v.reshape(-1) for c, v in values.items()})
        long.insert(0, "point", np.tile(np.arange(points), n_runs))
        long.insert(0, "train_id", np.repeat(ids.astype(np.uint64) if runs is not None
                                             else np.arange(n_runs, dtype=np.uint64), points))
        long = long[np.isfinite(long["time"]) & long["train_id"].isin(runs_here.index)]
        long = long.join(runs_here, on="train_id")
        long.insert(0, "file", path)
        frames.append(long)
    long = pd.concat(frames, ignore_index=True)
    if len(frames) > 1:  # a run several files hold (an extension's copy) is drawn once, as load keeps it
        long = long[~long.duplicated([c for c in long.columns if c not in PLACE_COLUMNS])].reset_index(drop=True)
    return long


def _layers(model):
    """Layers whose weights a run of `model` keeps: lsa 1, linear_transformer(L) L, else 0."""
    if model == "lsa":
        return 1
    found = re.fullmatch(r"linear_transformer\((\d+)\)", model)
    return int(found.group(1)) if found else 0


def parameters(paths_or_glob, partial=False):
    """The trained weights of every run that keeps them (`lsa`, `linear_transformer(L)`;
    docs/interface.md, /parameters): one row per (file, train_id, layer) with the run's grid values
    and `w_pv`, `w_kq`, each a (d+1) x (d+1) numpy array, layer 0 first, and the layer's share of
    squared weight norm outside Ahn et al.'s sparse form (`outside_sparse`). With them a trained layer
    can be evaluated again anywhere (docs/theory.md §11-§12). Runs that were not trained (yet) are
    left out; a file without /parameters gives no rows."""
    out = []
    for path in expand_paths(paths_or_glob):
        rows = _read_one(path, partial, ["train_id"] + RUN_AXES)
        runs = rows.drop_duplicates("train_id").set_index("train_id")[RUN_AXES]
        with _open(path) as f:
            if "parameters" not in f:
                continue
            values = f["parameters"][:]
        for train_id, run in runs.iterrows():
            layers, side = _layers(run["model"]), int(run["d"]) + 1
            block = values[int(train_id), :2 * layers * side * side]
            if layers == 0 or np.isnan(block).all():
                continue
            for layer, pair in enumerate(block.reshape(layers, 2, side, side)):
                out.append({"file": path, "train_id": int(train_id), **run.to_dict(), "layer": layer,
                            "w_pv": pair[0].copy(), "w_kq": pair[1].copy(),
                            "outside_sparse": outside_sparse_form(pair[0], pair[1])})
    return pd.DataFrame(out, columns=["file", "train_id", *RUN_AXES, "layer", "w_pv", "w_kq", "outside_sparse"])


def models(paths_or_glob, partial=False):
    """Every run's stored model (docs/interface.md, "Stored models"): one row per (file, train_id)
    with the run's grid values, `A` (the flow's trained d x d matrix, a numpy array; None for
    sampled models) and `state` (a sampled model's final training state, bytes; None for the flow
    and a run that failed), which model_state(state) reads. Runs not trained (yet) are left out.
    `--extend` evaluates these models on new conditions instead of training again."""
    out = []
    for path in expand_paths(paths_or_glob):
        rows = _read_one(path, partial, ["train_id", "status"] + RUN_AXES)
        runs = rows.drop_duplicates("train_id").set_index("train_id")
        with _open(path) as f:
            weights = f["parameters"] if "parameters" in f else None
            kept = f["models"] if "models" in f else {}
            for train_id, run in runs.iterrows():
                d, a, state = int(run["d"]), None, None
                if run["model"] == "flow" and weights is not None and run["status"] != "failed":
                    a = weights[int(train_id), :d * d].reshape(d, d)
                elif str(int(train_id)) in kept:
                    state = kept[str(int(train_id))][:].tobytes()
                out.append({"file": path, "train_id": int(train_id), **run[RUN_AXES].to_dict(), "A": a, "state": state})
    return pd.DataFrame(out, columns=["file", "train_id", *RUN_AXES, "A", "state"])


def model_state(state):
    """A sampled model's final training state (bytes, from models()) as a dict of numpy arrays:
    `parameter0`, `parameter1`, ... (the model's parameters in its order: for lsa W^PV, W^KQ),
    `step` (the steps trained, and the loss-curve points taken), `trajectory` (points x 4: step,
    loss, rel_err, excess), `tail_sum` and `train_key`. The bytes are libtorch's archive, read
    with PyTorch (Debian: python3-torch) as a TorchScript module."""
    import io

    import torch  # only this function needs it

    archive = torch.jit.load(io.BytesIO(state), map_location="cpu")
    names = []
    while hasattr(archive, f"parameter{len(names)}"):
        names.append(f"parameter{len(names)}")
    values = {name: getattr(archive, name).detach().numpy() for name in names + ["step", "tail_sum", "train_key"]}
    values["trajectory"] = archive.trajectory.numpy().reshape(-1, 4)
    return values


def outside_sparse_form(w_pv, w_kq):
    """The share of a layer's squared weight norm outside Ahn et al.'s sparse form (W^PV with only
    its label-label entry, W^KQ with only its covariate block): the program's `outside_sparse` column
    is the largest over a run's layers (src/lsa_layer.hpp)."""
    d = w_pv.shape[0] - 1
    total = float(np.sum(w_pv ** 2) + np.sum(w_kq ** 2))
    inside = float(w_pv[d, d] ** 2 + np.sum(w_kq[:d, :d] ** 2))
    return (total - inside) / total if total > 0 else float("nan")


# Columns whose names are xarray.Dataset's own methods, and their names in to_xarray's Dataset.
XARRAY_NAMES = {"shift": "test_shift", "rank": "mpi_rank"}


def to_xarray(df, axes=None):
    """An xarray Dataset of `df`'s numeric columns with the grid axes as dimensions (by default the
    GRID_AXES that vary in df), every coordinate a number where the axis is one:

    - shifts: where every shift in df is one call with a numeric parameter (covariate_scale(c) for
      several c), the dimension is `shift_param`, the number c (attrs["shift_name"] names the call);
      otherwise it is `test_shift`, the text, with `shift_name` and `shift_param` (NaN for `none`)
      as coordinates along it (select a call and `swap_dims(test_shift="shift_param")`);
    - `m_test = n` (rows with M = N at every N, beside fixed values of M): the fixed values of M
      make the `m_test` dimension, and the rows with M = N are the variables `<column>_m_equals_n`,
      without that dimension (a row with M = N whose M is also a fixed value is in both); with no
      fixed value, the M = N rows alone, without an `m_test` dimension (attrs["m_test"] = "n");
    - integer and boolean columns keep their types where every cell of the cube is filled (a cube
      with empty cells holds them as floats, NaN where empty);
    - text columns: one the same on every row is an attribute (ds.attrs["model"], and
      ds.attrs["test_shift"] for a cube of one shift), another (status) a variable of strings;
    - no name shadows a Dataset method: the column `shift` is `test_shift`, `rank` is `mpi_rank`.

    Refuses (ValueError) a frame with two rows at the same grid point, as several files holding
    the same rows would give: select or merge first."""
    import xarray  # only this function needs it (Debian: python3-xarray)

    if axes is None:
        axes = [a for a in GRID_AXES if a in df and df[a].nunique() > 1] or ["d"]
    duplicated = df.duplicated(axes, keep=False)
    if duplicated.any():
        first = df[duplicated].iloc[0]
        raise ValueError(f"{int(duplicated.sum())} rows share their grid point with another, e.g. "
                         + ", ".join(f"{a}={first[a]}" for a in axes) + ": select one file or merge first")
    attrs = {}
    dims = list(axes)
    if "shift" in axes:
        names = df["shift_name"].unique() if "shift_name" in df else []
        if len(names) == 1 and df["shift_param"].notna().all():
            dims[dims.index("shift")] = "shift_param"
            attrs["shift_name"] = str(names[0])
    at_n = None
    if "m_test" in axes and "n_train" in df and df["n_train"].nunique() > 1:
        diagonal = (df["m_test"] == df["n_train"]).to_numpy()
        if diagonal.any() and df.loc[diagonal, "n_train"].nunique() == df["n_train"].nunique():
            fixed = df.loc[~diagonal, "m_test"].unique()
            at_n = df[diagonal]
            df = df[~diagonal | df["m_test"].isin(fixed).to_numpy()]
            if not len(fixed):
                df, at_n = at_n, None
                dims.remove("m_test")
                attrs["m_test"] = "n"
    ds = _cube(xarray, df, dims)
    if at_n is not None:
        extra = _cube(xarray, at_n.drop(columns=["m_test", "m_equals_n"], errors="ignore"),
                      [a for a in dims if a != "m_test"])
        ds = ds.merge(extra.rename({v: v + "_m_equals_n" for v in extra.data_vars}))
    if "test_shift" in ds.dims and "shift_name" in df:
        along = df.drop_duplicates("shift").set_index("shift").reindex(ds["test_shift"].to_numpy())
        ds = ds.assign_coords(shift_name=("test_shift", along["shift_name"].astype(object).to_numpy()),
                              shift_param=("test_shift", along["shift_param"].to_numpy()))
    ds.attrs.update(attrs)
    return ds


def _cube(xarray, df, dims):
    """The Dataset of df's columns over `dims` (names as in to_xarray): numeric ones in their own
    integer and boolean types where the cube is full; a text column the same on every row as an
    attribute (the shift a cube was selected at, the model), other text columns (status) as
    variables of strings."""
    texts = [c for c in df.columns if c not in dims and c != "file" and
             (isinstance(df[c].dtype, pd.CategoricalDtype) or df[c].dtype == object)]
    constant = {c: df[c].iloc[0] for c in texts if len(df) and df[c].nunique(dropna=False) == 1}
    values = df.select_dtypes(include=[np.number, bool]).drop(columns=[a for a in dims if a in df], errors="ignore")
    for c in texts:
        if c not in constant:
            values[c] = df[c].astype(object)
    index = df[dims].rename(columns=XARRAY_NAMES)
    values.index = pd.MultiIndex.from_frame(index.astype({c: object for c in index.select_dtypes("category")}))
    ds = xarray.Dataset.from_dataframe(values.rename(columns=XARRAY_NAMES))
    for name, column in values.rename(columns=XARRAY_NAMES).items():
        if column.dtype != object and column.dtype != ds[name].dtype and not ds[name].isnull().any():
            ds[name] = ds[name].astype(column.dtype)
    ds.attrs.update({XARRAY_NAMES.get(c, c): str(v) for c, v in constant.items()})
    return ds
