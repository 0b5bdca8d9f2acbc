"""The torch engine (any device) is the numba engine: parity on the CPU in float64, and on a
GPU, where one exists, the same measurements within float32 tolerance."""
import numpy as np
import pytest
import torch

from harness.config import VARIANTS, Protocol, RunSpec
from harness.runs.study import train_chunk
from harness.train import engine_torch
from harness.train.batch import _LINEAR, _LP, _REG_CODE
from harness.train.engine import make_batch, train_batch
from harness.train.engine_torch import train_torch

MIXED = ["lp", "linear", "lp2", "linear+l1(0.01)", "linear+nonneg_soft(0.5)", "linear+nonneg_hard"]


def _codes(specs: list[RunSpec]):
    """The per-model codes train_batch hands to train_torch."""
    v = [s.variant for s in specs]
    kind = np.array([_LP if x.arch == "lp" else _LINEAR for x in v], dtype=np.int64)
    p = np.array([x.p if x.arch == "lp" else 1.0 for x in v])
    reg = np.array([_REG_CODE[x.reg] for x in v], dtype=np.int64)
    return kind, p, reg, np.array([x.lam for x in v])


def test_torch_engine_on_cpu_equals_the_numba_engine_in_float64(monkeypatch):
    """8 models of every kind, 3 epochs (45 steps of shuffles, clipping, Adam, penalties,
    projection): the torch engine ends where the numba kernel ends, to 1e-8. The shuffles
    travel two epochs at a time here, so the epoch chunking is exercised too."""
    pr = Protocol(epochs=3)
    specs = [RunSpec(VARIANTS[MIXED[i % 6]], i % 3, 40 + i, pr) for i in range(8)]
    monkeypatch.setattr(engine_torch, "_PERM_BYTES", 2 * 4 * len(specs) * pr.steps_per_epoch * pr.batch_size)
    batch = make_batch(specs)
    init = {k: a.copy() for k, a in batch.params.items()}
    out = train_torch(batch, pr, *_codes(specs), "cpu", np.float64)
    assert all(np.array_equal(batch.params[k], init[k]) for k in init), "the batch's initial parameters stay put"
    ref = train_batch(make_batch(specs), dtype=np.float64)
    for k in ref:
        assert out[k].shape == ref[k].shape and out[k].dtype == np.float64
        moved = np.abs(ref[k] - init[k]).max()
        assert moved > 1e-3, f"training must move {k} for the comparison to mean anything"
        np.testing.assert_allclose(out[k], ref[k], atol=1e-8, rtol=0, err_msg=k)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_gpu_measurements_match_the_cpu_engine_within_float32_tolerance():
    """The same chunk trained on the GPU and on the CPU (both float32, 10 epochs): counts
    agree within one point or weight, continuous measurements to 1%, parameters to 5e-3.
    Float32 rounding alone moves a few coordinates by about lr = 1e-3 (Adam turns a
    gradient at rounding level into a full step); torch on the CPU against the numba
    kernel, 48 models, 10 epochs: parameters within 1.3e-3, measurements within 0.4%."""
    pr = Protocol(epochs=10)
    specs = [RunSpec(VARIANTS[MIXED[i % 6]], i % 4, 7 + i, pr) for i in range(12)]
    gpu, _ = train_chunk(specs, device="cuda")
    cpu, _ = train_chunk(specs, device="cpu")
    assert list(gpu["key"]) == list(cpu["key"])
    assert (gpu["collapsed"] == cpu["collapsed"]).all()
    np.testing.assert_allclose(gpu["accuracy"], cpu["accuracy"], atol=2 / pr.n_test, rtol=0)
    for col in ("flat_count", "flipped_flat_count", "center_active_n", "n_absw_lt_001", "n_absw_lt_01",
                "n_negative_w"):
        assert np.nanmax(np.abs(gpu[col].to_numpy(float) - cpu[col].to_numpy(float))) <= 1, col
    for col in ("grad_interior", "grad_boundary", "grad_exterior", "active_inside", "active_outside",
                "min_absw", "neg_w_mass"):
        np.testing.assert_allclose(gpu[col], cpu[col], rtol=1e-2, atol=1e-3, err_msg=col)
    for col in ("param_W1", "param_w"):
        np.testing.assert_allclose(np.stack(gpu[col]), np.stack(cpu[col]), rtol=0, atol=5e-3, err_msg=col)
