"""Every column of the run table and of the per-point table, named once. Stored parameters
are `param_*` columns; store bookkeeping (provenance included) is `_*`: runs.csv leaves both out."""
from __future__ import annotations

import pandas as pd

# Identity columns first, then the measurements (PROTOCOL.md, Measurements).
RUN_ID_COLUMNS = ["key", "model", "arch", "p", "reg", "lam", "polytope", "seed"]
RUN_MEASURE_COLUMNS = [
    "status", "accuracy", "majority_rate", "collapsed", "final_active_frac", "n_interior",
    "flat_count", "flat_frac", "grad_interior", "grad_boundary", "grad_exterior",
    "active_inside", "active_outside", "center_active_n", "center_active_absw",
    "center_inactive_absw", "min_absw", "n_absw_lt_001", "n_absw_lt_01", "n_negative_w",
    "neg_w_mass", "flipped_flat_count", "flipped_flat_frac", "flipped_accuracy",
]
POINT_COLUMNS = ["key", "point", "grad_norm", "distance", "region"]
REGIONS = ("interior", "boundary", "exterior")


def run_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The tidy run table without stored parameters and store bookkeeping (runs.csv)."""
    drop = [c for c in runs.columns if c.startswith("param_") or c.startswith("_")]
    return runs.drop(columns=drop)


# OWASP, "CSV Injection": spreadsheets run a cell that starts with one of these as a
# formula; a leading apostrophe makes it text again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def to_csv_safe(df: pd.DataFrame, path) -> None:
    """Writes `df` as CSV for spreadsheets (runs.csv): a text cell that a spreadsheet would
    run as a formula gets a leading apostrophe; numeric columns, negative numbers included,
    are written as they are."""
    out = df
    for col in df.columns:
        if pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            continue
        cells = df[col].astype(object)
        risky = cells.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS)).astype(bool)
        if risky.any():
            out = out.copy() if out is df else out
            out[col] = cells.where(~risky, "'" + cells[risky].astype(str))
    out.to_csv(path, index=False)
