"""The batched engines behind one dispatch: `train_batch` trains N independent models
together, each with its own data, shuffle, Adam state and gradient-norm clipping, on the
CPU with the fused numba kernel (engine_numba.py) or on a GPU with torch (engine_torch.py).
Both are mathematically the same as training each model alone with the reference engine
(tests/test_engine.py, tests/test_engine_torch.py). Studies train in float32; float64 is
there for the equivalence tests."""
from __future__ import annotations

import numpy as np

from harness.train.batch import _LINEAR, _LP, _REG_CODE, Batch, group_by_protocol, make_batch
from harness.train.engine_numba import train_numba

__all__ = ["Batch", "make_batch", "group_by_protocol", "train_batch"]


def train_batch(batch: Batch, device: str = "cpu", dtype=np.float32) -> dict[str, np.ndarray]:
    """Trains every run of the batch (one protocol; any mix of variants); returns the final
    parameters stacked like batch.params, in float64 arrays holding `dtype` values."""
    protos = {s.protocol for s in batch.specs}
    if len(protos) != 1:
        raise ValueError("one batch trains under one protocol")
    pr = protos.pop()
    F = np.dtype(dtype).type
    v = [s.variant for s in batch.specs]
    kind = np.array([_LP if x.arch == "lp" else _LINEAR for x in v], dtype=np.int64)
    p = np.array([x.p if x.arch == "lp" else 1.0 for x in v], dtype=F)
    reg = np.array([_REG_CODE[x.reg] for x in v], dtype=np.int64)
    lam = np.array([x.lam for x in v], dtype=F)
    if device != "cpu":
        from harness.train.engine_torch import train_torch  # torch loads only for a GPU run

        return train_torch(batch, pr, kind, p, reg, lam, device, dtype)
    return train_numba(batch, pr, kind, p, reg, lam, dtype)


