"""The batched engine: N independent models trained together, each with its own data,
shuffle, Adam state and gradient-norm clipping, mathematically the same as training each
alone with the reference engine (tests/test_engine.py shows it to 1e-8 in float64).

On the CPU the whole training loop of one model (forward, hand-written backward, clipping,
Adam, projection) is one fused numba kernel, and models run in parallel over the cores:
eager torch spends its time in per-op dispatch and memory traffic for these 32-unit
networks, a fused loop keeps a model's state in cache. On a GPU (`device="cuda"`) the same
algorithm runs as torch tensors with a leading model axis (harness.engine_torch).

Training runs in float64: a model's numbers are then stable to the last digits that matter,
whatever the batch composition or the thread count."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from .config import Protocol, RunSpec
from .seeding import PARAM_NAMES, epoch_perms, init_params
from .task import TaskData, study_task, study_train_data

# Kinds of aggregation and of regulariser, as small integers for the kernel.
_LINEAR, _LP = 0, 1
_REG_CODE = {"none": 0, "l1": 1, "nonneg_soft": 2, "nonneg_hard": 3}


@njit(cache=True, fastmath=False)
def _train_one(W1, b1, w, bvec, cvec, evec, X, Y, perms, kind, p, reg, lam,
               lr, beta1, beta2, adam_eps, clip, eps, batch, steps):
    """Trains one model in place. W1 (H, d), b1 (H,), w (H,), bvec/cvec/evec (1,),
    X (n_train, d), Y (n_train,), perms (epochs, steps * batch)."""
    H, d = W1.shape
    gW1 = np.zeros((H, d))
    gb1 = np.zeros(H)
    gw = np.zeros(H)
    mW1 = np.zeros((H, d))
    vW1 = np.zeros((H, d))
    mb1 = np.zeros(H)
    vb1 = np.zeros(H)
    mw = np.zeros(H)
    vw = np.zeros(H)
    ms = np.zeros(3)  # Adam state of b, c, e
    vs = np.zeros(3)
    z = np.zeros(H)
    hh = np.zeros(H)
    aa = np.zeros(H)
    sc = np.zeros(3)  # b, c, e
    gs = np.zeros(3)
    sc[0] = bvec[0]
    sc[1] = cvec[0]
    sc[2] = evec[0]
    inv_p = 1.0 / p
    inv_b = 1.0 / batch
    t = 0
    for ep in range(perms.shape[0]):
        for st in range(steps):
            gW1[:] = 0.0
            gb1[:] = 0.0
            gw[:] = 0.0
            gs[:] = 0.0
            for bi in range(batch):
                i = perms[ep, st * batch + bi]
                # forward
                for j in range(H):
                    acc = b1[j]
                    for k in range(d):
                        acc += W1[j, k] * X[i, k]
                    z[j] = acc
                    hh[j] = acc if acc > 0.0 else 0.0
                tq = 1.0
                amax = 0.0
                jmax = 0
                m_ = 0.0
                if kind == _LP:
                    for j in range(H):
                        aa[j] = abs(w[j]) * hh[j]
                        if aa[j] > amax:
                            amax = aa[j]
                            jmax = j
                    m_ = amax if amax > eps else eps
                    srat = 0.0
                    for j in range(H):
                        r = aa[j] / m_
                        srat += r if p == 1.0 else r ** p
                    tt = srat + eps
                    s = (m_ * tt if p == 1.0 else m_ * tt ** inv_p) + sc[0]
                    tq = 1.0 if p == 1.0 else tt ** (inv_p - 1.0)
                else:
                    s = sc[0]
                    for j in range(H):
                        s += w[j] * hh[j]
                relu_s = s if s > 0.0 else 0.0
                logit = sc[1] * relu_s + sc[2]
                # d(mean BCE-with-logits)/d logit = (sigmoid(logit) - y) / batch
                if logit >= 0.0:
                    sig = 1.0 / (1.0 + math.exp(-logit))
                else:
                    ex = math.exp(logit)
                    sig = ex / (1.0 + ex)
                dl = (sig - Y[i]) * inv_b
                gs[1] += dl * relu_s
                gs[2] += dl
                ds = dl * sc[1] if s > 0.0 else 0.0
                gs[0] += ds
                if ds == 0.0:
                    continue
                for j in range(H):
                    if z[j] <= 0.0:
                        continue
                    if kind == _LP:
                        dsda = tq if p == 1.0 else tq * (aa[j] / m_) ** (p - 1.0)
                        if j == jmax and amax > eps:
                            dsda += eps * tq  # through M = max_i a_i
                        da = ds * dsda
                        sw = 1.0 if w[j] > 0.0 else (-1.0 if w[j] < 0.0 else 0.0)
                        gw[j] += da * hh[j] * sw
                        dz = da * abs(w[j])
                    else:
                        gw[j] += ds * hh[j]
                        dz = ds * w[j]
                    gb1[j] += dz
                    for k in range(d):
                        gW1[j, k] += dz * X[i, k]
            # regulariser on the aggregation weights
            if reg == 1:
                for j in range(H):
                    gw[j] += lam * (1.0 if w[j] > 0.0 else (-1.0 if w[j] < 0.0 else 0.0))
            elif reg == 2:
                for j in range(H):
                    if w[j] < 0.0:
                        gw[j] += -2.0 * lam * (-w[j])
            # gradient-norm clipping over all of this model's parameters (clip_grad_norm_)
            tot = 0.0
            for j in range(H):
                tot += gb1[j] * gb1[j] + gw[j] * gw[j]
                for k in range(d):
                    tot += gW1[j, k] * gW1[j, k]
            for q in range(3):
                tot += gs[q] * gs[q]
            coef = clip / (math.sqrt(tot) + 1e-6)
            if coef > 1.0:
                coef = 1.0
            # Adam (torch.optim.Adam's update, bias corrections as torch computes them)
            t += 1
            bc1 = 1.0 - beta1 ** t
            bc2s = math.sqrt(1.0 - beta2 ** t)
            step = lr / bc1
            for j in range(H):
                for k in range(d):
                    g = gW1[j, k] * coef
                    mW1[j, k] += (g - mW1[j, k]) * (1.0 - beta1)
                    vW1[j, k] = vW1[j, k] * beta2 + (1.0 - beta2) * g * g
                    W1[j, k] -= step * mW1[j, k] / (math.sqrt(vW1[j, k]) / bc2s + adam_eps)
                g = gb1[j] * coef
                mb1[j] += (g - mb1[j]) * (1.0 - beta1)
                vb1[j] = vb1[j] * beta2 + (1.0 - beta2) * g * g
                b1[j] -= step * mb1[j] / (math.sqrt(vb1[j]) / bc2s + adam_eps)
                g = gw[j] * coef
                mw[j] += (g - mw[j]) * (1.0 - beta1)
                vw[j] = vw[j] * beta2 + (1.0 - beta2) * g * g
                w[j] -= step * mw[j] / (math.sqrt(vw[j]) / bc2s + adam_eps)
                if reg == 3 and w[j] < 0.0:
                    w[j] = 0.0
            for q in range(3):
                g = gs[q] * coef
                ms[q] += (g - ms[q]) * (1.0 - beta1)
                vs[q] = vs[q] * beta2 + (1.0 - beta2) * g * g
                sc[q] -= step * ms[q] / (math.sqrt(vs[q]) / bc2s + adam_eps)
    bvec[0] = sc[0]
    cvec[0] = sc[1]
    evec[0] = sc[2]


@njit(parallel=True, cache=True)
def _train_many(W1, b1, w, b, c, e, X, Y, perms, kind, p, reg, lam,
                lr, beta1, beta2, adam_eps, clip, eps, batch, steps):
    """Models along axis 0 of every array; one model per parallel iteration."""
    for m in prange(W1.shape[0]):
        _train_one(W1[m], b1[m], w[m], b[m:m + 1], c[m:m + 1], e[m:m + 1], X[m], Y[m], perms[m],
                   kind[m], p[m], reg[m], lam[m], lr, beta1, beta2, adam_eps, clip, eps, batch, steps)


@dataclass
class Batch:
    """Stacked inputs of N runs: initial parameters and training data, models along axis 0."""

    specs: list[RunSpec]
    params: dict[str, np.ndarray]  # W1 (N, H, d), b1 (N, H), w (N, H), b, c, e (N,)
    x: np.ndarray  # (N, n_train, d)
    y: np.ndarray  # (N, n_train)
    perms: np.ndarray  # (N, epochs, steps * batch)


def make_batch(specs: list[RunSpec], tasks: dict[int, TaskData] | None = None) -> Batch:
    tasks = {} if tasks is None else tasks
    inits, xs, ys, perms = [], [], [], []
    for s in specs:
        if s.polytope not in tasks:
            tasks[s.polytope] = study_task(s.polytope, s.protocol)
        x, y = study_train_data(tasks[s.polytope], s.seed, s.protocol)
        inits.append(init_params(s.variant, s.seed, s.protocol))
        xs.append(x)
        ys.append(y)
        perms.append(epoch_perms(s.seed, s.protocol))
    params = {k: np.stack([i[k] for i in inits]).astype(np.float64) for k in PARAM_NAMES}
    return Batch(list(specs), params, np.stack(xs).astype(np.float64), np.stack(ys).astype(np.float64),
                 np.stack(perms))


def train_batch(batch: Batch, device: str = "cpu") -> dict[str, np.ndarray]:
    """Trains every run of the batch (one protocol); returns the final parameters stacked
    like batch.params. Runs of any mix of variants may share a batch."""
    protos = {s.protocol for s in batch.specs}
    if len(protos) != 1:
        raise ValueError("one batch trains under one protocol")
    pr = protos.pop()
    v = [s.variant for s in batch.specs]
    kind = np.array([_LP if x.arch == "lp" else _LINEAR for x in v], dtype=np.int64)
    p = np.array([x.p if x.arch == "lp" else 1.0 for x in v], dtype=np.float64)
    reg = np.array([_REG_CODE[x.reg] for x in v], dtype=np.int64)
    lam = np.array([x.lam for x in v], dtype=np.float64)
    out = {k: a.copy() for k, a in batch.params.items()}
    if device != "cpu":
        from .engine_torch import train_torch

        return train_torch(batch, pr, kind, p, reg, lam, device)
    _train_many(out["W1"], out["b1"], out["w"], out["b"], out["c"], out["e"], batch.x, batch.y, batch.perms,
                kind, p, reg, lam, pr.lr, pr.beta1, pr.beta2, pr.adam_eps, pr.clip, pr.lp_eps,
                pr.batch_size, pr.steps_per_epoch)
    return out


def group_by_protocol(specs: list[RunSpec]) -> dict[Protocol, list[RunSpec]]:
    groups: dict[Protocol, list[RunSpec]] = defaultdict(list)
    for s in specs:
        groups[s.protocol].append(s)
    return groups
