"""Export a study so that anyone can re-measure its models without our code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.runs.study import Study, params_from_rows, tasks_for
from harness.schema import run_table


def export(runs: pd.DataFrame, study: Study, out: Path, points: pd.DataFrame | None = None) -> int:
    """DIR/runs.csv; DIR/points.parquet (per-point table, when given); DIR/models/<model>__p<polytope>__s<seed>.npz with W1 (H, d), b1, w
    (signed stored aggregation weights), b, c, e (last layer) and p (NaN for linear);
    DIR/polytopes/<polytope>.npz with normals, radii, x_test, y_test."""
    out = Path(out)
    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "polytopes").mkdir(parents=True, exist_ok=True)
    run_table(runs).to_csv(out / "runs.csv", index=False)
    if points is not None:
        points.to_parquet(out / "points.parquet", index=False)
    params = params_from_rows(runs, study.protocol)
    for i, row in enumerate(runs.itertuples(index=False)):
        arrays = {k: v[i] for k, v in params.items()}
        np.savez(out / "models" / f"{row.model}__p{row.polytope}__s{row.seed}.npz", p=np.float64(row.p), **arrays)
    for pid, task in tasks_for(sorted(set(runs["polytope"])), study.protocol).items():
        np.savez(out / "polytopes" / f"{pid}.npz", normals=task.polytope.normals, radii=task.polytope.radii,
                 x_test=task.x_test, y_test=task.y_test)
    return len(runs)
