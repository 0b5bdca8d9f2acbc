"""Reading a run table someone gives us (runs.csv or .parquet), checked column by column."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.errors import HarnessError
from harness.schema import POINT_COLUMNS, REGIONS

# What the claims read, and the type each must have.
REQUIRED = {
    "model": "text", "polytope": "integer", "seed": "integer", "status": "text", "collapsed": "boolean",
}
NUMERIC_PREFIXES = ("accuracy", "flat_", "grad_", "active_", "center_", "min_absw", "n_", "neg_w_mass", "flipped_")


def read_run_table(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(runs, points or None). points.parquet beside the runs file is read when present."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"runs file {path} does not exist; export one with `python -m harness export --out DIR`")
    try:
        runs = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the same user error
        raise HarnessError(f"cannot read runs file {path}: {type(exc).__name__}; is it a CSV or Parquet run table?")
    check_run_table(runs, str(path))
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
        points["region"] = pd.Categorical(points["region"].astype(str), REGIONS)
    return runs, points


def check_run_table(runs: pd.DataFrame, where: str = "run table") -> None:
    """Refuses a table with a missing or wrong-typed column, naming the column."""
    for col, kind in REQUIRED.items():
        if col not in runs.columns:
            raise HarnessError(f"{where} has no column {col!r}; it needs the run-table columns of `harness export`")
        s = runs[col]
        if kind == "integer" and not (pd.api.types.is_integer_dtype(s)):
            raise HarnessError(f"column {col!r} of {where} must hold integers (found {s.dtype})")
        if kind == "boolean":
            if s.dtype == object:
                low = s.astype(str).str.lower()
                if not low.isin(["true", "false"]).all():
                    raise HarnessError(f"column {col!r} of {where} must hold True/False")
                runs[col] = low == "true"
            elif not pd.api.types.is_bool_dtype(s):
                raise HarnessError(f"column {col!r} of {where} must hold True/False (found {s.dtype})")
    for col in runs.columns:
        if col.startswith(NUMERIC_PREFIXES) and not pd.api.types.is_numeric_dtype(runs[col]):
            raise HarnessError(f"column {col!r} of {where} must be numeric (found {runs[col].dtype})")
    ok = runs["status"] == "ok"
    for col in ("accuracy",):
        if col in runs.columns and runs.loc[ok, col].isna().any():
            bad = int(runs.loc[ok, col].isna().sum())
            raise HarnessError(f"column {col!r} of {where} has {bad} NaN values in runs with status ok; "
                               f"fix or drop those rows")
    if runs.duplicated(["model", "polytope", "seed"]).any():
        raise HarnessError(f"{where} has duplicate (model, polytope, seed) rows; keep one row per run")
