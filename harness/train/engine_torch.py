"""The batched engine on any torch device (a GPU above all): the same algorithm as the numba
kernel in harness.engine, as tensors with a leading model axis. N independent models train
together; summing their losses leaves each model's gradient its own, and every other step
(clipping, Adam, projection) acts per model or per element.

- Forward and backward: torch autograd on the reference engine's formulas (LpNet.scalar's
  max-factored Lp aggregation, gradient through |w h| and through the max).
- Lp and Linear models share one batch: both aggregations are computed for every model and
  `torch.where` picks each model's own, so a step costs the same few kernel launches
  whatever the mix (at 32 hidden units a GPU step is launch-bound, not compute-bound).
- Clipping as clip_grad_norm_ (coef = clip / (norm + 1e-6), at most 1), over all of one
  model's parameters; Adam is torch.optim.Adam itself, elementwise hence per model.
- Shuffles: the CPU kernel's permutations (seeding.fill_permutation), computed on the CPU a
  few epochs at a time and shipped to the device, so no (epochs, models, n_train) table is
  ever held whole.

`device="cpu"` runs the same code on the CPU; in float64 it matches the numba kernel to
1e-8 (tests/test_engine_torch.py)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numba import njit, prange

from harness.config import Protocol
from harness.train.batch import _LP, _REG_CODE, Batch
from harness.train.seeding import PARAM_NAMES, fill_permutation

_PERM_BYTES = 64 * 2**20  # shuffle indices shipped to the device at a time


@njit(parallel=True, cache=True)
def _fill_epochs(keys: np.ndarray, first: int, out: np.ndarray, n: int) -> None:
    """out[e, m] <- the first out.shape[2] entries of model m's permutation of 0..n-1 in
    epoch first + e: out (epochs, models, used) int32, keys (models,) uint64."""
    for m in prange(keys.shape[0]):
        perm = np.empty(n, dtype=np.int64)
        for e in range(out.shape[0]):
            fill_permutation(perm, keys[m], first + e)
            for i in range(out.shape[2]):
                out[e, m, i] = perm[i]


def _epoch_chunks(keys: np.ndarray, pr: Protocol, device: torch.device):
    """Yields (epochs, models, steps * batch) index tensors on the device, in epoch order."""
    used = pr.steps_per_epoch * pr.batch_size
    per = max(1, _PERM_BYTES // (4 * used * len(keys)))
    for first in range(0, pr.epochs, per):
        out = np.empty((min(per, pr.epochs - first), len(keys), used), dtype=np.int32)
        _fill_epochs(keys, first, out, pr.n_train)
        yield torch.from_numpy(out).to(device).long()


def _scalar(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, is_lp: torch.Tensor, p: torch.Tensor,
            eps: float) -> torch.Tensor:
    """The internal scalar s (N, B) from h (N, B, H): each model's own aggregation.
    w (N, H); b, p (N,); is_lp (N,) bool. Lp as reference.LpNet.scalar, in max-factored form."""
    a = torch.abs(h * w[:, None, :])  # (N, B, H); gradient through the absolute value
    m = a.max(dim=2, keepdim=True).values.clamp_min(eps)  # (N, B, 1); gradient through the max
    pp = p[:, None, None]
    s_lp = (m * ((a / m).pow(pp).sum(dim=2, keepdim=True) + eps).pow(1.0 / pp)).squeeze(-1)
    s_lin = (h * w[:, None, :]).sum(dim=2)
    return torch.where(is_lp[:, None], s_lp, s_lin) + b[:, None]


def train_torch(batch: Batch, protocol: Protocol, kind: np.ndarray, p: np.ndarray, reg: np.ndarray,
                lam: np.ndarray, device: str, dtype) -> dict[str, np.ndarray]:
    """Trains every run of the batch on `device` in `dtype`; returns the final parameters
    stacked like batch.params, as float64 arrays. kind, reg (N,) int codes of harness.engine;
    p, lam (N,) (p is 1 for Linear models, lam 0 where unused)."""
    pr = protocol
    dev = torch.device(device)
    tdt = torch.float64 if np.dtype(dtype) == np.float64 else torch.float32
    n_models = len(batch.specs)

    def put(a) -> torch.Tensor:
        return torch.tensor(np.asarray(a), dtype=tdt, device=dev)  # a copy: batch.params stay as they are

    params = [put(batch.params[k]).requires_grad_() for k in PARAM_NAMES]
    W1, b1, w, b, c, e = params  # (N, H, d), (N, H), (N, H), (N,), (N,), (N,)
    x, y = put(batch.x), put(batch.y)  # (N, n_train, d), (N, n_train)
    is_lp = torch.as_tensor(kind == _LP, device=dev)
    p_t = put(p)
    lam_l1 = put(np.where(reg == _REG_CODE["l1"], lam, 0.0))
    lam_soft = put(np.where(reg == _REG_CODE["nonneg_soft"], lam, 0.0))
    hard_np = reg == _REG_CODE["nonneg_hard"]
    hard = torch.as_tensor(hard_np, device=dev)[:, None]
    opt = torch.optim.Adam(params, lr=pr.lr, betas=(pr.beta1, pr.beta2), eps=pr.adam_eps)
    rows = torch.arange(n_models, device=dev)[:, None]
    bs = pr.batch_size

    for perms in _epoch_chunks(batch.keys, pr, dev):  # (epochs, N, steps * batch)
        for ep_perm in perms:
            for st in range(pr.steps_per_epoch):
                idx = ep_perm[:, st * bs:(st + 1) * bs]  # (N, B)
                xb, yb = x[rows, idx], y[rows, idx]  # (N, B, d), (N, B)
                h = torch.relu((W1[:, None, :, :] * xb[:, :, None, :]).sum(-1) + b1[:, None, :])  # (N, B, H)
                s = _scalar(h, w, b, is_lp, p_t, pr.lp_eps)  # (N, B)
                logit = c[:, None] * torch.relu(s) + e[:, None]
                loss = F.binary_cross_entropy_with_logits(logit, yb, reduction="none").mean(dim=1)  # (N,)
                loss = loss + lam_l1 * w.abs().sum(dim=1) + lam_soft * torch.relu(-w).pow(2).sum(dim=1)
                opt.zero_grad(set_to_none=False)
                loss.sum().backward()  # each model's gradient is its own loss's
                with torch.no_grad():
                    sq = sum(q.grad.reshape(n_models, -1).pow(2).sum(dim=1) for q in params)  # (N,)
                    coef = (pr.clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
                    for q in params:
                        q.grad.mul_(coef.view(-1, *([1] * (q.dim() - 1))))
                opt.step()
                if hard_np.any():
                    with torch.no_grad():
                        w.copy_(torch.where(hard, w.clamp(min=0.0), w))
    return {k: q.detach().to("cpu", torch.float64).numpy() for k, q in zip(PARAM_NAMES, params, strict=True)}
