"""A batch of runs as stacked arrays (models along axis 0), and the small integer codes the
engines use for aggregation and regulariser."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from harness.config import Protocol, RunSpec
from harness.train.seeding import PARAM_NAMES, init_params, shuffle_key
from harness.train.task import TaskData, study_task, study_train_data

_LINEAR = 0
_LP = 1
_REG_CODE = {"none": 0, "l1": 1, "nonneg_soft": 2, "nonneg_hard": 3}


@dataclass
class Batch:
    """Stacked inputs of N runs: initial parameters and training data, models along axis 0."""

    specs: list[RunSpec]
    params: dict[str, np.ndarray]  # W1 (N, H, d), b1 (N, H), w (N, H), b, c, e (N,)
    x: np.ndarray  # (N, n_train, d)
    y: np.ndarray  # (N, n_train)
    keys: np.ndarray  # (N,) uint64 shuffle keys


def make_batch(specs: list[RunSpec], tasks: dict[int, TaskData] | None = None) -> Batch:
    tasks = {} if tasks is None else tasks
    inits, xs, ys = [], [], []
    for s in specs:
        if s.polytope not in tasks:
            tasks[s.polytope] = study_task(s.polytope, s.protocol)
        x, y = study_train_data(tasks[s.polytope], s.seed, s.protocol)
        inits.append(init_params(s.variant, s.polytope, s.seed, s.protocol))
        xs.append(x)
        ys.append(y)
    params = {k: np.stack([i[k] for i in inits]).astype(np.float64) for k in PARAM_NAMES}
    keys = np.array([shuffle_key(s.polytope, s.seed) for s in specs], dtype=np.uint64)
    return Batch(list(specs), params, np.stack(xs).astype(np.float64), np.stack(ys).astype(np.float64), keys)


def group_by_protocol(specs: list[RunSpec]) -> dict[Protocol, list[RunSpec]]:
    groups: dict[Protocol, list[RunSpec]] = defaultdict(list)
    for s in specs:
        groups[s.protocol].append(s)
    return groups
