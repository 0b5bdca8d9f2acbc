"""Measurements of trained models (PROTOCOL.md, "Measurements"), vectorised over models.

Shapes: N models, P test points, H hidden units, d input dimensions. Parameters come
stacked: W1 (N, H, d), b1 (N, H), w (N, H), b, c, e (N,). Everything is computed in
float64 from the stored parameters, so any run can be re-measured under other analysis
settings without retraining."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.config import Measure, Protocol
from harness.train.task import TaskData, regions


@dataclass(frozen=True)
class Arch:
    """What the measurement needs to know of a variant."""

    arch: str  # "lp" | "linear"
    p: float


def _as64(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}


def forward(params: dict[str, np.ndarray], arch: Arch, x: np.ndarray, eps: float):
    """Internal scalar s (N, P), its input gradient ds/dx (N, P, d), hidden pre-activations
    z (N, P, H) and the logit (N, P), for points x (N, P, d)."""
    W1, b1, w, b, c, e = (params[k] for k in ("W1", "b1", "w", "b", "c", "e"))
    z = _contract_d(x, W1) + b1[:, None, :]  # (N, P, H)
    h = np.maximum(z, 0.0)
    on = z > 0
    if arch.arch == "lp":
        p = arch.p
        aw = np.abs(w)[:, None, :]
        a = aw * h  # (N, P, H)
        amax = a.max(axis=-1)
        m = np.maximum(amax, eps)  # (N, P)
        r = a / m[..., None]
        srat = (r if p == 1.0 else r ** p).sum(axis=-1)
        t = srat + eps
        s = m * t ** (1.0 / p) + b[:, None]
        # ds/da_i = T^(1/p-1) (a_i/M)^(p-1), plus eps T^(1/p-1) through M at the argmax
        tq = t ** (1.0 / p - 1.0)
        ds_da = tq[..., None] * (r ** (p - 1.0) if p != 1.0 else 1.0)
        top = (a == amax[..., None]) & (amax > eps)[..., None]
        ds_da = ds_da + np.where(top, (eps * tq)[..., None], 0.0)
        ds_dh = ds_da * aw
    else:
        s = np.einsum("nph,nh->np", h, w) + b[:, None]
        ds_dh = np.broadcast_to(w[:, None, :], z.shape)
    ds_dz = np.where(on, ds_dh, 0.0)
    grad = _contract_h(ds_dz, W1)
    logit = c[:, None] * np.maximum(s, 0.0) + e[:, None]
    return s, grad, z, logit


def _contract_d(x: np.ndarray, W1: np.ndarray) -> np.ndarray:
    """sum_d x[n, p, d] W1[n, h, d] as (N, P, H): the einsum's sum, term by term in the same
    order (so bit for bit the same), without einsum's overhead on a 2-long axis."""
    out = x[:, :, 0, None] * W1[:, None, :, 0]
    for k in range(1, x.shape[-1]):
        out = out + x[:, :, k, None] * W1[:, None, :, k]
    return out


def _contract_h(g: np.ndarray, W1: np.ndarray) -> np.ndarray:
    """sum_h g[n, p, h] W1[n, h, d] as (N, P, d)."""
    return np.stack([np.einsum("nph,nh->np", g, W1[:, :, k]) for k in range(W1.shape[-1])], axis=-1)


def _nanmean(x: np.ndarray, mask: np.ndarray, axis) -> np.ndarray:
    cnt = mask.sum(axis=axis)
    tot = np.where(mask, x, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def flip_negative(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The write-up's flip: w_i <- |w_i|, and negate row i of W1 and b1_i where w_i < 0."""
    neg = params["w"] < 0
    out = dict(params)
    out["w"] = np.abs(params["w"])
    out["W1"] = np.where(neg[..., None], -params["W1"], params["W1"])
    out["b1"] = np.where(neg, -params["b1"], params["b1"])
    return out


def measure(params: dict[str, np.ndarray], arch: Arch, tasks: list[TaskData], protocol: Protocol,
            measure_cfg: Measure = Measure()) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-run columns (each an (N,) array) and per-point arrays (each (N, P)) for N models
    of one architecture, model n evaluated on tasks[n]."""
    prm = _as64(params)
    n = prm["w"].shape[0]
    finite = np.all([np.isfinite(prm[k].reshape(n, -1)).all(axis=1) for k in prm], axis=0)
    prm = {k: np.where(finite.reshape((n,) + (1,) * (v.ndim - 1)), v, 0.0) for k, v in prm.items()}
    x = np.stack([t.x_test for t in tasks]).astype(np.float64)  # (N, P, d)
    y = np.stack([t.y_test for t in tasks]) > 0.5
    dist = np.stack([t.polytope.distance(t.x_test) for t in tasks]).astype(np.float64)
    reg = np.stack([regions(dd, measure_cfg.band) for dd in dist])
    interior, boundary, exterior, outside = reg == 0, reg == 1, reg == 2, dist > 0
    eps = protocol.lp_eps

    s, grad, z, logit = forward(prm, arch, x, eps)
    gnorm = np.linalg.norm(grad, axis=-1)  # (N, P)
    pred = logit > 0
    acc = (pred == y).mean(axis=1)
    n_int = interior.sum(axis=1)
    flat = (interior & (gnorm < measure_cfg.flat_threshold)).sum(axis=1)
    active = (z > 0).mean(axis=-1)  # share of units active, (N, P)

    centers = np.stack([t.center(measure_cfg) for t in tasks]).astype(np.float64)[:, None, :]
    _, _, zc, _ = forward(prm, arch, centers, eps)
    c_on = zc[:, 0, :] > 0  # (N, H)
    absw = np.abs(prm["w"])
    is_lin = arch.arch == "linear"
    nanv = np.full(n, np.nan)
    if is_lin:
        fl = flip_negative(prm)
        _, fgrad, _, flogit = forward(fl, arch, x, eps)
        flipped_flat = (interior & (np.linalg.norm(fgrad, axis=-1) < measure_cfg.flat_threshold)).sum(axis=1)
        flipped_acc = ((flogit > 0) == y).mean(axis=1)
    final_on = (s > 0).mean(axis=1)
    collapsed = (final_on == 0) | np.all(pred == pred[:, :1], axis=1)

    cols = {
        "status": np.where(finite, "ok", "nonfinite"),
        "accuracy": acc,
        "majority_rate": np.maximum(y.mean(axis=1), 1 - y.mean(axis=1)),
        "collapsed": collapsed,
        "final_active_frac": final_on,
        "n_interior": n_int,
        "flat_count": flat,
        "flat_frac": _ratio(flat, n_int),
        "grad_interior": _nanmean(gnorm, interior, 1),
        "grad_boundary": _nanmean(gnorm, boundary, 1),
        "grad_exterior": _nanmean(gnorm, exterior, 1),
        "active_inside": _nanmean(active, interior, 1),
        "active_outside": _nanmean(active, outside, 1),
        "center_active_n": c_on.sum(axis=1),
        "center_active_absw": _nanmean(absw, c_on, 1),
        "center_inactive_absw": _nanmean(absw, ~c_on, 1),
        "min_absw": absw.min(axis=1),
        "n_absw_lt_001": (absw < 0.01).sum(axis=1),
        "n_absw_lt_01": (absw < 0.1).sum(axis=1),
        "n_negative_w": (prm["w"] < 0).sum(axis=1).astype(float) if is_lin else nanv,
        "neg_w_mass": np.where(prm["w"] < 0, absw, 0.0).sum(axis=1) if is_lin else np.zeros(n),
        "flipped_flat_count": flipped_flat.astype(float) if is_lin else nanv,
        "flipped_flat_frac": _ratio(flipped_flat, n_int) if is_lin else nanv,
        "flipped_accuracy": flipped_acc if is_lin else nanv,
    }
    # A run whose training blew up is kept, with that status and no measurement: every
    # measurement (counts included, hence float) is NaN, so it is never counted as flat.
    for k, v in cols.items():
        if k not in ("status", "collapsed"):
            cols[k] = np.where(finite, v.astype(np.float64), np.nan)
    cols["collapsed"] = np.where(finite, collapsed, False)
    points = {"grad_norm": np.where(finite[:, None], gnorm, np.nan), "distance": dist, "region": reg}
    return cols, points


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.maximum(b, 1), np.nan)
