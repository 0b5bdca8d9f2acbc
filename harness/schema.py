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
