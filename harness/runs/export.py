"""Export a study so that anyone can re-measure its models without our code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.runs.study import Study, params_from_rows, tasks_for
from harness.schema import run_table, to_csv_safe


def export(runs: pd.DataFrame, study: Study, out: Path, points: pd.DataFrame | None = None) -> int:
    """DIR/runs.csv (in the study's order); DIR/points.parquet (the per-point table, when
    given, sorted by key and point, so that a study exports the same bytes from any store);
    DIR/models/<model>__p<polytope>__s<seed>.npz with W1 (H, d), b1, w (signed stored
    aggregation weights), b, c, e (last layer) and p (NaN for linear);
    DIR/polytopes/<polytope>.npz with normals, radii, x_test, y_test."""
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "polytopes").mkdir(parents=True, exist_ok=True)
    to_csv_safe(run_table(runs), out / "runs.csv")
    if points is not None:  # sorted: the store's chunk order differs from store to store
        points.sort_values(["key", "point"]).to_parquet(out / "points.parquet", index=False)
    params = params_from_rows(runs, study.protocol)
    for i, row in enumerate(runs.itertuples(index=False)):
        arrays = {k: v[i] for k, v in params.items()}
        np.savez(out / "models" / f"{row.model}__p{row.polytope}__s{row.seed}.npz", p=np.float64(row.p), **arrays)
    for pid, task in tasks_for(sorted(set(runs["polytope"])), study.protocol).items():
        np.savez(out / "polytopes" / f"{pid}.npz", normals=task.polytope.normals, radii=task.polytope.radii,
                 x_test=task.x_test, y_test=task.y_test)
    return len(runs)
