"""The batched engine: N independent models trained together, each with its own data,
shuffle, Adam state and gradient-norm clipping, mathematically the same as training each
alone with the reference engine (tests/test_engine.py shows it to 1e-8 in float64).

On the CPU the whole training loop of one model (forward, hand-written backward, clipping,
Adam, projection) is one fused numba kernel, and models run in parallel over the cores:
eager torch spends its time in per-op dispatch and memory traffic for these 32-unit
networks, a fused loop keeps a model's state in cache. On a GPU (`device="cuda"`) the same
algorithm runs as torch tensors with a leading model axis (harness.train.engine_torch).

A model's numbers do not depend on the batch composition or the thread count: each
model's loop runs alone in its kernel call. Studies train in float32 (the default of
engine.train_batch); float64 matches the reference engine to 1e-15."""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from harness.config import Protocol
from harness.train.batch import _LP, Batch
from harness.train.seeding import fill_permutation


# Kinds of aggregation and of regulariser, as small integers for the kernel.
@njit(cache=True, fastmath=True, error_model="numpy")
def _train_one(W1, b1, w, bvec, cvec, evec, X, Y, key, epochs, kind, p, reg, lam,
               lr, beta1, beta2, adam_eps, clip, eps, batch, steps):
    """Trains one model in place. W1 (H, d), b1 (H,), w (H,), bvec/cvec/evec (1,),
    X (n_train, d), Y (n_train,); `key` is the seed's shuffle key (seeding.py). The loops over hidden
    units are branch-free so that they vectorise; fastmath only reorders sums."""
    # Constants and buffers take the parameters' float type (float32 or float64): numba
    # compiles one version per type, and float32 vectorises twice as wide.
    F = W1.dtype
    ZERO = np.zeros(1, F)[0]
    ONE = np.ones(1, F)[0]
    TWO = ONE + ONE
    H, d = W1.shape
    WT = np.ascontiguousarray(W1.T)  # (d, H): loops over hidden units run contiguous
    gW1 = np.zeros((d, H), F)
    gb1 = np.zeros(H, F)
    gw = np.zeros(H, F)
    mW1 = np.zeros((d, H), F)
    vW1 = np.zeros((d, H), F)
    mb1 = np.zeros(H, F)
    vb1 = np.zeros(H, F)
    mw = np.zeros(H, F)
    vw = np.zeros(H, F)
    ms = np.zeros(3, F)  # Adam state of b, c, e
    vs = np.zeros(3, F)
    z = np.zeros(H, F)
    hh = np.zeros(H, F)
    aa = np.zeros(H, F)
    absw = np.zeros(H, F)
    sgnw = np.zeros(H, F)
    xb = np.zeros(d, F)
    dzv = np.zeros(H, F)
    sc = np.zeros(3, F)  # b, c, e
    gs = np.zeros(3, F)
    sc[0] = bvec[0]
    sc[1] = cvec[0]
    sc[2] = evec[0]
    is_lp = kind == _LP
    p_one = p == ONE
    p_two = p == TWO
    inv_p = ONE / p
    inv_b = np.full(1, 1.0 / batch, F)[0]
    perm = np.empty(X.shape[0], dtype=np.int64)
    t = 0
    for ep in range(epochs):
        fill_permutation(perm, key, ep)
        for st in range(steps):
            gW1[:] = ZERO
            gb1[:] = ZERO
            gw[:] = ZERO
            gs[:] = ZERO
            for j in range(H):
                absw[j] = abs(w[j])
                sgnw[j] = ONE if w[j] > ZERO else (-ONE if w[j] < ZERO else ZERO)
            for bi in range(batch):
                i = perm[st * batch + bi]
                for k in range(d):
                    xb[k] = X[i, k]
                # forward: z = W1 x + b1, h = ReLU(z)
                for j in range(H):
                    z[j] = b1[j]
                for k in range(d):
                    xk = xb[k]
                    for j in range(H):
                        z[j] += WT[k, j] * xk
                for j in range(H):
                    hh[j] = max(z[j], ZERO)
                tq = ONE
                amax = ZERO
                jmax = -1
                m_ = ONE
                if is_lp:
                    for j in range(H):
                        aa[j] = absw[j] * hh[j]
                        amax = max(amax, aa[j])
                    for j in range(H):  # first index of the maximum, as torch's max
                        if aa[j] == amax:
                            jmax = j
                            break
                    m_ = max(amax, eps)
                    inv_m = ONE / m_
                    srat = ZERO
                    if p_one:
                        for j in range(H):
                            srat += aa[j] * inv_m
                        s = m_ * (srat + eps) + sc[0]
                    else:
                        if p_two:  # r * r, not pow: the per-unit pow was 4/5 of an Lp2 run
                            for j in range(H):
                                r = aa[j] * inv_m
                                srat += r * r
                        else:
                            for j in range(H):
                                srat += (aa[j] * inv_m) ** p
                        tt = srat + eps
                        if p_two:
                            root = math.sqrt(tt)
                            s = m_ * root + sc[0]
                            tq = ONE / root
                        else:
                            s = m_ * tt ** inv_p + sc[0]
                            tq = tt ** (inv_p - ONE)
                else:
                    s = sc[0]
                    for j in range(H):
                        s += w[j] * hh[j]
                relu_s = max(s, ZERO)
                logit = sc[1] * relu_s + sc[2]
                # d(mean BCE-with-logits)/d logit = (sigmoid(logit) - y) / batch
                if logit >= ZERO:
                    sig = ONE / (ONE + math.exp(-logit))
                else:
                    ex = math.exp(logit)
                    sig = ex / (ONE + ex)
                dl = (sig - Y[i]) * inv_b
                gs[1] += dl * relu_s
                gs[2] += dl
                ds = dl * sc[1] if s > ZERO else ZERO
                gs[0] += ds
                if ds == ZERO:
                    continue
                if is_lp:
                    if amax <= eps:
                        jmax = -1  # M = eps: no gradient through the max
                    if p_one:  # ds/da_i = 1
                        for j in range(H):
                            on = z[j] > ZERO
                            gw[j] += (ds * hh[j] * sgnw[j]) if on else ZERO
                            dzv[j] = (ds * absw[j]) if on else ZERO
                    elif p_two:  # ds/da_i = T^(-1/2) a_i / M: no pow in the loop, so it vectorises
                        for j in range(H):
                            da = ds * tq * (aa[j] * inv_m)
                            on = z[j] > ZERO
                            gw[j] += (da * hh[j] * sgnw[j]) if on else ZERO
                            dzv[j] = (da * absw[j]) if on else ZERO
                    else:
                        for j in range(H):
                            da = ds * tq * (aa[j] * inv_m) ** (p - ONE)
                            on = z[j] > ZERO
                            gw[j] += (da * hh[j] * sgnw[j]) if on else ZERO
                            dzv[j] = (da * absw[j]) if on else ZERO
                    if jmax >= 0:  # through M = max_i a_i: ds/dM = eps T^(1/p - 1)
                        da = ds * eps * tq
                        gw[jmax] += da * hh[jmax] * sgnw[jmax]
                        dzv[jmax] += da * absw[jmax]
                else:
                    for j in range(H):
                        on = z[j] > ZERO
                        gw[j] += ds * hh[j]
                        dzv[j] = (ds * w[j]) if on else ZERO
                for j in range(H):
                    gb1[j] += dzv[j]
                for k in range(d):
                    xk = xb[k]
                    for j in range(H):
                        gW1[k, j] += dzv[j] * xk
            # regulariser on the aggregation weights
            if reg == 1:
                for j in range(H):
                    gw[j] += lam * sgnw[j]
            elif reg == 2:
                for j in range(H):
                    gw[j] += -TWO * lam * max(-w[j], ZERO)
            # gradient-norm clipping over all of this model's parameters (clip_grad_norm_)
            tot = ZERO
            for j in range(H):
                tot += gb1[j] * gb1[j] + gw[j] * gw[j]
            for k in range(d):
                for j in range(H):
                    tot += gW1[k, j] * gW1[k, j]
            for q in range(3):
                tot += gs[q] * gs[q]
            coef = min(clip / (math.sqrt(tot) + np.full(1, 1e-6, F)[0]), ONE)
            # Adam (torch.optim.Adam's update, bias corrections as torch computes them)
            t += 1
            bc1 = 1.0 - float(beta1) ** t
            bc2s = np.full(1, math.sqrt(1.0 - float(beta2) ** t), F)[0]
            step = np.full(1, lr / bc1, F)[0]
            b1m = ONE - beta1
            b2m = ONE - beta2
            for k in range(d):
                for j in range(H):
                    g = gW1[k, j] * coef
                    mW1[k, j] += (g - mW1[k, j]) * b1m
                    vW1[k, j] = vW1[k, j] * beta2 + b2m * g * g
                    WT[k, j] -= step * mW1[k, j] / (math.sqrt(vW1[k, j]) / bc2s + adam_eps)
            for j in range(H):
                g = gb1[j] * coef
                mb1[j] += (g - mb1[j]) * b1m
                vb1[j] = vb1[j] * beta2 + b2m * g * g
                b1[j] -= step * mb1[j] / (math.sqrt(vb1[j]) / bc2s + adam_eps)
                g = gw[j] * coef
                mw[j] += (g - mw[j]) * b1m
                vw[j] = vw[j] * beta2 + b2m * g * g
                w[j] -= step * mw[j] / (math.sqrt(vw[j]) / bc2s + adam_eps)
                if reg == 3:
                    w[j] = max(w[j], ZERO)
            for q in range(3):
                g = gs[q] * coef
                ms[q] += (g - ms[q]) * b1m
                vs[q] = vs[q] * beta2 + b2m * g * g
                sc[q] -= step * ms[q] / (math.sqrt(vs[q]) / bc2s + adam_eps)
    W1[:, :] = WT.T
    bvec[0] = sc[0]
    cvec[0] = sc[1]
    evec[0] = sc[2]

@njit(parallel=True, cache=True, error_model="numpy")
def _train_many(W1, b1, w, b, c, e, X, Y, keys, epochs, kind, p, reg, lam,
                lr, beta1, beta2, adam_eps, clip, eps, batch, steps):
    """Models along axis 0 of every array; one model per parallel iteration."""
    for m in prange(W1.shape[0]):
        _train_one(W1[m], b1[m], w[m], b[m:m + 1], c[m:m + 1], e[m:m + 1], X[m], Y[m], keys[m], epochs,
                   kind[m], p[m], reg[m], lam[m], lr, beta1, beta2, adam_eps, clip, eps, batch, steps)


def train_numba(batch: Batch, pr: Protocol, kind: np.ndarray, p: np.ndarray, reg: np.ndarray, lam: np.ndarray,
                dtype=np.float32) -> dict[str, np.ndarray]:
    """The CPU path of engine.train_batch: every model of the batch in parallel over cores."""
    F = np.dtype(dtype).type
    out = {k: np.array(a, dtype=F, order="C") for k, a in batch.params.items()}  # a copy: batch stays as given
    _train_many(out["W1"], out["b1"], out["w"], out["b"], out["c"], out["e"],
                batch.x.astype(F), batch.y.astype(F), batch.keys, pr.epochs, kind, p, reg, lam,
                F(pr.lr), F(pr.beta1), F(pr.beta2), F(pr.adam_eps), F(pr.clip), F(pr.lp_eps),
                pr.batch_size, pr.steps_per_epoch)
    return {k: a.astype(np.float64) for k, a in out.items()}
