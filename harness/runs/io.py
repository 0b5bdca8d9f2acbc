"""Reading a run table someone gives us (runs.csv or .parquet, with points.parquet beside it),
checked column by column and value by value. A table that passed silently could move a
verdict: six out-of-range values took flat-10x from 5.8x to 9.9x. So every measure column of
`harness export` must be there, typed, finite, in its range, and NaN only where the
measurement is undefined for that run."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from harness.config import Protocol, get_variant
from harness.errors import HarnessError
from harness.schema import POINT_COLUMNS, REGIONS, RUN_MEASURE_COLUMNS

ID_COLUMNS = ("model", "polytope", "seed")
NUMERIC = [c for c in RUN_MEASURE_COLUMNS if c not in ("status", "collapsed")]
STATUSES = ("ok", "nonfinite")
# Shares of points or units, and accuracies: within [0, 1].
FRACTIONS = ("accuracy", "majority_rate", "final_active_frac", "flat_frac", "active_inside", "active_outside",
             "flipped_flat_frac", "flipped_accuracy")
# Counts, gradient norms, weight magnitudes: never negative.
NON_NEGATIVE = tuple(c for c in NUMERIC if c not in FRACTIONS)
# Where a measurement is undefined for a run, and so NaN with status ok (train/measure.py):
# Linear-only quantities of an Lp run, and means over an empty set of points or units.
LINEAR_ONLY = ("n_negative_w", "flipped_flat_count", "flipped_flat_frac", "flipped_accuracy")
OVER_INTERIOR = ("flat_frac", "grad_interior", "active_inside")
# Means over regions whose size only the per-point table records: (column, regions).
OVER_REGIONS = {"grad_boundary": ("boundary",), "grad_exterior": ("exterior",),
                "active_outside": ("boundary", "exterior")}


def read_run_table(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(runs, points or None). points.parquet beside the runs file is read when present,
    and must hold exactly the points of these runs."""
    if not str(path).strip():
        raise HarnessError("the runs file path is empty; give the runs.csv written by `python -m harness export`")
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"runs file {path} does not exist; export one with `python -m harness export --out DIR`")
    is_parquet = path.suffix == ".parquet"
    if not is_parquet:
        _check_last_row(path)
    try:
        runs = pd.read_parquet(path) if is_parquet else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same user error
        raise HarnessError(f"cannot read runs file {path}: {type(exc).__name__}; is it a CSV or Parquet run table?")
    pts_path = path.parent / "points.parquet"
    points = None
    if pts_path.is_file():
        try:
            points = pd.read_parquet(pts_path)
        except Exception as exc:  # noqa: BLE001
            raise HarnessError(f"cannot read {pts_path}: {type(exc).__name__}; export it again")
        missing = [c for c in POINT_COLUMNS if c not in points.columns]
        if missing:
            raise HarnessError(f"{pts_path} lacks column {missing[0]!r}; export it again")
        region = points["region"].astype(str)
        if not region.isin(REGIONS).all():
            raise HarnessError(f"column 'region' of {pts_path} holds values other than {', '.join(REGIONS)}; "
                               f"export it again")
        points["region"] = pd.Categorical(region, REGIONS)
    check_run_table(runs, str(path), points)
    if points is not None:
        _check_points(points, runs, pts_path, path)
    return runs, points


def _check_last_row(path: Path) -> None:
    """A CSV cut short (an interrupted copy or write) has a last row without its line end,
    or with fewer fields than the header; pandas would fill the rest with NaN."""
    with open(path, "rb") as f:
        header = f.readline()
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65536))
        tail = f.read()
    if not header or size == len(header):
        return  # no data rows: reported as a table without runs, or unreadable, below
    if not tail.endswith(b"\n"):
        raise HarnessError(f"the last row of {path} is cut short (no line end); the file looks truncated: export it again")
    try:
        head_fields = next(csv.reader([header.decode()]))
        last_fields = next(csv.reader([tail.rstrip(b"\r\n").rsplit(b"\n", 1)[-1].decode()]))
    except (UnicodeDecodeError, StopIteration, csv.Error):
        return  # not a text table: pandas' reading says so
    if len(last_fields) != len(head_fields):
        raise HarnessError(f"the last row of {path} has {len(last_fields)} of the header's {len(head_fields)} fields; "
                           f"the file looks truncated: export it again")


def check_run_table(runs: pd.DataFrame, where: str = "run table", points: pd.DataFrame | None = None) -> None:
    """Refuses a table that is missing a column, holds a wrong type, an unknown status, an
    infinite value, a value out of its range, a NaN where the measurement is defined, or a
    run twice; each message names the column (and the first run at fault)."""
    if runs.empty:
        raise HarnessError(f"{where} holds no runs; export a study with `python -m harness export`")
    for col in (*ID_COLUMNS, *RUN_MEASURE_COLUMNS):
        if col not in runs.columns:
            raise HarnessError(f"{where} has no column {col!r}; it needs the run-table columns of `harness export`")
    for col in ("polytope", "seed"):
        if not pd.api.types.is_integer_dtype(runs[col]):
            raise HarnessError(f"column {col!r} of {where} must hold integers (found {runs[col].dtype})")
    _as_boolean(runs, "collapsed", where)
    for col in NUMERIC:
        if not pd.api.types.is_numeric_dtype(runs[col]) or pd.api.types.is_bool_dtype(runs[col]):
            raise HarnessError(f"column {col!r} of {where} must be numeric (found {runs[col].dtype})")
    bad_status = ~runs["status"].isin(STATUSES)
    if bad_status.any():
        raise HarnessError(f"column 'status' of {where} holds {runs['status'][bad_status].iloc[0]!r}; "
                           f"each run is {' or '.join(STATUSES)}")
    if runs.duplicated(list(ID_COLUMNS)).any():
        raise HarnessError(f"{where} has duplicate (model, polytope, seed) rows; keep one row per run")
    ok = runs[runs["status"] == "ok"]
    undefined = _undefined(ok, points, where)
    never = np.zeros(len(ok), dtype=bool)
    for col in NUMERIC:
        v = ok[col].to_numpy(dtype=float)
        _refuse(ok, np.isinf(v), where, col, "infinite values")
        _refuse(ok, np.isnan(v) & ~undefined.get(col, never), where, col,
                "NaN values where the measurement is defined")
        if col in FRACTIONS:
            _refuse(ok, (v < 0) | (v > 1), where, col, "values outside [0, 1]")
        elif col in NON_NEGATIVE:
            _refuse(ok, v < 0, where, col, "negative values")


def _as_boolean(runs: pd.DataFrame, col: str, where: str) -> None:
    s = runs[col]
    if s.dtype == object:
        low = s.astype(str).str.lower()
        if not low.isin(["true", "false"]).all():
            raise HarnessError(f"column {col!r} of {where} must hold True/False")
        runs[col] = low == "true"
    elif not pd.api.types.is_bool_dtype(s):
        raise HarnessError(f"column {col!r} of {where} must hold True/False (found {s.dtype})")


def _refuse(ok: pd.DataFrame, bad: np.ndarray, where: str, col: str, what: str) -> None:
    if bad.any():
        first = ok[bad].iloc[0]
        raise HarnessError(f"column {col!r} of {where} has {int(bad.sum())} {what} in runs with status ok "
                           f"(first: {first['model']}, polytope {first['polytope']}, seed {first['seed']}); "
                           f"fix or drop those rows, or export the table again")


def _undefined(ok: pd.DataFrame, points: pd.DataFrame | None, where: str) -> dict[str, np.ndarray]:
    """Per column, the runs for which the measurement is undefined (NaN is its value)."""
    if "arch" in ok.columns:
        is_lp = (ok["arch"] == "lp").to_numpy()
    else:
        try:
            arch = {m: get_variant(str(m)).arch for m in ok["model"].unique()}
        except HarnessError as exc:
            raise HarnessError(f"{where} has no column 'arch', and {exc}")
        is_lp = (ok["model"].map(arch) == "lp").to_numpy()
    no_interior = (ok["n_interior"] == 0).to_numpy()
    # An export is of the default protocol (PROTOCOL.md): hidden units at the centre.
    all_active = (ok["center_active_n"] == Protocol().hidden).to_numpy()
    out = {c: is_lp for c in LINEAR_ONLY}
    out.update({c: no_interior for c in OVER_INTERIOR})
    out["center_active_absw"] = (ok["center_active_n"] == 0).to_numpy()
    out["center_inactive_absw"] = all_active
    counts = None
    if points is not None and "key" in ok.columns:
        counts = points.groupby(["key", "region"], observed=False).size().unstack("region")
    for col, regions in OVER_REGIONS.items():
        if counts is None:
            out[col] = np.zeros(len(ok), dtype=bool)  # every region holds test points unless the points say not
            continue
        n = counts.reindex(ok["key"])[list(regions)].sum(axis=1).to_numpy()
        out[col] = n == 0
    return out


def _check_points(points: pd.DataFrame, runs: pd.DataFrame, pts_path: Path, path: Path) -> None:
    """points.parquet must hold the points of exactly these runs, finite where run is ok."""
    if "key" not in runs.columns:
        raise HarnessError(f"{path} has no column 'key', which joins it to {pts_path.name}; export it again")
    keys = set(runs["key"])
    stray = ~points["key"].isin(keys)
    if stray.any():
        raise HarnessError(f"{pts_path} holds points of {points.loc[stray, 'key'].nunique()} runs that are not in "
                           f"{path.name} (first key {points.loc[stray, 'key'].iloc[0]}); export both files together")
    without = sorted(keys - set(points["key"]))
    if without:
        raise HarnessError(f"{len(without)} runs of {path.name} have no points in {pts_path.name} "
                           f"(first key {without[0]}); export both files together")
    ok_keys = set(runs.loc[runs["status"] == "ok", "key"])
    for col in ("grad_norm", "distance"):
        v = points[col].to_numpy(dtype=float)
        bad = ~np.isfinite(v) & points["key"].isin(ok_keys).to_numpy()
        if bad.any():
            raise HarnessError(f"column {col!r} of {pts_path} has {int(bad.sum())} NaN or infinite values in runs "
                               f"with status ok; export it again")
