"""Seeds: how many a claim needs, and whether the write-up's own seed 0 was typical.

Power by resampling the stored runs (one study, every claim at once). A resampled study
draws G polytopes with replacement and, within each drawn polytope, n seeds with
replacement (seeds are nested in polytopes: seeding.py); every claim is then tested on those
runs as `evaluate_all` tests it (each claim's own test at alpha 0.05, Holm within its claim
group, the verdict words of `claims.decide`), without the bootstrap: the 95% interval that a
magnitude claim needs is the t-interval on polytope means, which is what the expanded-
percentile bootstrap gives for a mean (stats.cluster_bootstrap). Power = the share of R
resampled studies that reach the claim's target (`Target`).

Shapes: P polytopes x S seeds in the study's grid, a cell per (polytope, seed) holding the
claim's units there (a run, a pair of runs, or the runs of several models); R resampled
studies; G polytope slots per study; n seeds per slot.

A plain two-level resample counts the seed noise twice (a polytope's observed mean already
carries sigma^2/S of it, and redrawing seeds adds sigma^2/n around that mean) and shrinks
the spread of polytope means by (G-1)/G: too little power at few seeds, too much at many.
So the cell values are first moved to match the variance components (Davison & Hinkley
1997, "Bootstrap methods and their application", sec. 3.8, two-stage resampling with
adjusted cluster means): polytope means are pulled towards the grand mean until their
spread is the estimated between-polytope variance tau^2 = var(polytope means) - sigma^2/m,
and the deviations within a polytope are widened by sqrt(m/(m-1)). The polytope means of a
resampled study then vary as tau^2 + sigma^2/n, as those of a new study would. Slope claims
are resampled as they are (no single decomposition for a slope).

Runs that the claim's inclusion rule leaves out (collapsed runs) stay in the seed pool: a
drawn seed whose run collapsed contributes nothing, so "n seeds" means n trained seeds, as
a user would run them, not n usable ones.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.analysis.statistics import (
    ALPHA,
    RatioOfMeans,
    Slope,
)
from harness.analysis.verdicts import Claim, Verdict, decide_all
from harness.errors import HarnessError
from harness.jsonable import jsonable

SEED_GRID = (3, 5, 10, 20, 30, 50)
POLYTOPE_GRID = (5, 10, 20, 40)
TARGET_POWER = 0.8
N_REPS = 200
POWER_SEED = 0  # same runs, same power curves


# -- what "confirming the verdict" means --------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """What a resampled study must show to confirm a claim's verdict.

    supported, direction only, contradicted, equivalent: the same verdict word.
    not supported: significant after Holm with the estimate on the side where it lies now
      (the data cannot decide at this size; how many seeds until they do).
    not shown equivalent: `equivalent` when the estimate lies inside the margin, else
      `contradicted`."""

    label: str
    words: tuple[str, ...] = ()
    side: str = ""  # ">" or "<" of the null: significance on that side (for "not supported")

    def reached(self, words: np.ndarray, p_adj: np.ndarray, estimate: np.ndarray, null: float) -> np.ndarray:
        if self.words:
            return np.isin(words, self.words)
        sig = np.nan_to_num(p_adj, nan=1.0) < ALPHA
        return sig & ((estimate > null) if self.side == ">" else (estimate < null))


def target_for(claim: Claim, v: Verdict) -> Target | None:
    """The target for a claim whose verdict on the full study is `v`; None when it was untestable."""
    if not math.isfinite(v.estimate):
        return None
    if v.verdict in ("supported", "direction only", "contradicted", "equivalent"):
        return Target(f"'{v.verdict}'", (v.verdict,))
    if v.verdict == "not shown equivalent":
        inside = claim.margin[0] < v.estimate < claim.margin[1]
        word = "equivalent" if inside else "contradicted"
        return Target(f"'{word}'", (word,))
    side = ">" if v.estimate > v.null else "<"
    return Target(f"significant, estimate {side} {v.null:g}", side=side)


# -- the study as arrays ------------------------------------------------------------------------
@dataclass(frozen=True)
class Cells:
    """One claim's units on the study's (P, S) grid: `cnt` units per cell and, per column of
    `cols`, their sum per cell (test scale: "v"; "num", "den" for a ratio of means; "x", "y",
    "xx", "xy" for a slope). kind: "mean", "ratio" or "slope"."""

    kind: str
    cnt: np.ndarray  # (P, S)
    cols: dict  # name -> (P, S)


def _kind(claim: Claim) -> str:
    if isinstance(claim.statistic, Slope):
        return "slope"
    return "ratio" if isinstance(claim.statistic, RatioOfMeans) else "mean"


def _adjusted(means: dict[str, np.ndarray], has: np.ndarray) -> dict[str, np.ndarray]:
    """Cell means (P, S) moved so that polytope means and the seed noise within polytopes
    have the variances of a new study (module docstring). The factors are estimated on "v"
    (the test's scale) and applied to every column alike, so that value = num - den survives."""
    m = has.sum(axis=1)  # usable cells per polytope
    rows = m > 0
    if rows.sum() < 2:
        return means
    with np.errstate(invalid="ignore", divide="ignore"):
        pmean = {k: np.where(rows, np.where(has, y, 0.0).sum(axis=1) / m, 0.0) for k, y in means.items()}
    y, yp = means["v"], pmean["v"]
    dof = int(np.maximum(m - 1, 0).sum())
    noise = float(np.where(has, (y - yp[:, None]) ** 2, 0.0).sum()) / dof if dof else 0.0
    between = float(np.var(yp[rows], ddof=1))
    tau2 = max(between - noise * float(np.mean(1.0 / m[rows])), 0.0)
    plug_in = float(np.var(yp[rows]))  # what drawing polytopes with replacement reproduces
    c = math.sqrt(tau2 / plug_in) if plug_in > 0 else 1.0
    d = np.where(m >= 2, np.sqrt(m / np.maximum(m - 1, 1)), 1.0)[:, None]  # (P, 1)
    out = {}
    for k, yk in means.items():
        grand = float(pmean[k][rows].mean())
        centre = grand + c * (pmean[k] - grand)
        out[k] = np.where(has, centre[:, None] + d * (yk - pmean[k][:, None]), 0.0)
    return out


def claim_cells(claim: Claim, runs: pd.DataFrame, points: pd.DataFrame | None, polytopes: np.ndarray,
                seeds: np.ndarray, adjust: bool = True) -> Cells:
    """The claim's units (its own inclusion rule) summed per cell of the (P, S) grid."""
    u = claim.statistic.units(runs, points, claim.rule).table
    u = u[u["polytope"].isin(polytopes) & u["seed"].isin(seeds)]
    kind = _kind(claim)
    if kind == "slope":
        x, y = u["x"].to_numpy(float), u["value"].to_numpy(float)
        u = u.assign(x=x, y=y, xx=x * x, xy=x * y)[np.isfinite(x) & np.isfinite(y)]
        names = ["x", "y", "xx", "xy"]
    else:
        u = u.assign(v=u["value"].to_numpy(float))
        names = ["v", "num", "den"] if kind == "ratio" else ["v"]
    shape = (len(polytopes), len(seeds))
    pi = np.searchsorted(polytopes, u["polytope"].to_numpy())
    si = np.searchsorted(seeds, u["seed"].to_numpy())
    cnt = np.zeros(shape)
    np.add.at(cnt, (pi, si), 1.0)
    sums = {}
    for k in names:
        sums[k] = np.zeros(shape)
        np.add.at(sums[k], (pi, si), u[k].to_numpy(float))
    has = cnt > 0
    if adjust and kind != "slope" and has.any():
        means = _adjusted({k: np.where(has, s / np.maximum(cnt, 1), 0.0) for k, s in sums.items()}, has)
        sums = {k: m * cnt for k, m in means.items()}
    return Cells(kind, cnt, sums)


# -- one resampled study, every claim -------------------------------------------------------------
def _slots(a: np.ndarray, poly: np.ndarray, seed: np.ndarray | None) -> np.ndarray:
    """Per-slot sums (R, G) of a (P, S) array: polytope poly[r, g] with seeds seed[r, g, :]
    ((R, G, n)); None: every seed once (the polytope's mean known exactly)."""
    if seed is None:
        return a.sum(axis=1)[poly]
    return a[poly[..., None], seed].sum(axis=-1)


def _mean_test(pm: np.ndarray, null: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """t-test of polytope means pm (R, G; NaN = empty slot) against `null`: mean, se, df, p (R,).
    Identical polytope means: p = 0 when they differ from the null, 1 when equal (as
    stats.cluster_mean_test); fewer than 2 polytopes: p = NaN."""
    g = np.sum(~np.isnan(pm), axis=1)
    z = np.where(np.isnan(pm), 0.0, pm)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = z.sum(axis=1) / g
        sd = np.sqrt(np.where(np.isnan(pm), 0.0, (pm - mean[:, None]) ** 2).sum(axis=1) / np.maximum(g - 1, 1))
        se = sd / np.sqrt(g)
        p = 2 * sps.t.sf(np.abs((mean - null) / se), np.maximum(g - 1, 1))
    flat = sd <= 1e-12 * np.abs(mean)
    same = np.abs(mean - null) <= 1e-12 * np.maximum(abs(null), np.abs(mean))
    p = np.where(flat, np.where(same, 1.0, 0.0), p)
    return mean, np.where(flat, 0.0, se), g - 1, np.where(g >= 2, p, np.nan)


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Row means of a (R, G) over its non-NaN entries; NaN for a row with none."""
    ok = ~np.isnan(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, a, 0.0).sum(axis=1) / ok.sum(axis=1)


def _replicate(claim: Claim, s: Cells, poly: np.ndarray, seed: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per resampled study (R,): estimate and 95% CI on the reported scale, p of the claim's
    test, and beyond_margin_p (equivalence claims: one-sided, past the nearer margin). The
    estimate is the mean of polytope means (a ratio of them for ratio claims), the quantity
    claims.evaluate estimates and tests."""
    C = _slots(s.cnt, poly, seed)
    valid = C > 0
    g = valid.sum(axis=1)
    tq = sps.t.ppf(0.975, np.maximum(g - 1, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        if s.kind == "slope":
            return _slope_replicate(s, poly, seed, C, g, tq)

        def per_poly(name: str) -> np.ndarray:
            return np.where(valid, _slots(s.cols[name], poly, seed) / np.where(valid, C, 1), np.nan)

        pm = per_poly("v")
        if s.kind == "ratio":
            _, _, _, p = _mean_test(pm, 0.0)
            npm, dpm = per_poly("num"), per_poly("den")
            mn, md = _nanmean(npm), _nanmean(dpm)
            est = mn / md
            z = npm / mn[:, None] - dpm / md[:, None]  # delta method for log(mean num / mean den)
            dev = np.where(valid, z - _nanmean(z)[:, None], 0.0)
            se_log = np.sqrt((dev ** 2).sum(axis=1) / np.maximum(g - 1, 1) / g)
            ok = (mn > 0) & (md > 0)
            lo = np.where(ok, mn / md * np.exp(-tq * se_log), np.nan)
            hi = np.where(ok, mn / md * np.exp(tq * se_log), np.nan)
            return {"estimate": est, "ci_low": lo, "ci_high": hi, "p": p, "beyond_margin_p": np.ones_like(p)}
        log = claim.statistic.scale == "log"
        mean, se, df, p = _mean_test(pm, math.log(claim.null_value) if log else claim.null_value)
        est = mean
        lo, hi = mean - tq * se, mean + tq * se
        if log:
            est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
        out = {"estimate": est, "ci_low": lo, "ci_high": hi, "p": p, "beyond_margin_p": np.ones_like(p)}
        if claim.kind == "equivalence":
            m_lo, m_hi = claim.margin
            dfm = np.maximum(df, 1)
            p_eq = np.maximum(sps.t.sf((mean - m_lo) / se, dfm), sps.t.cdf((mean - m_hi) / se, dfm))
            p_eq = np.where(se == 0, np.where((mean > m_lo) & (mean < m_hi), 0.0, 1.0), p_eq)
            out["p"] = np.where(np.isnan(p), np.nan, p_eq)
            mid = (m_lo + m_hi) / 2
            out["beyond_margin_p"] = np.where(mean >= mid, sps.t.sf((mean - m_hi) / se, dfm),
                                              sps.t.cdf((mean - m_lo) / se, dfm))
        return out


def _slope_replicate(s: Cells, poly, seed, C, g, tq) -> dict[str, np.ndarray]:
    """Pooled least-squares slope with a polytope-clustered (CR1) standard error and t on G-1
    df: the mixed model's test without fitting one per resampled study."""
    sx, sy, sxx, sxy = (_slots(s.cols[k], poly, seed) for k in ("x", "y", "xx", "xy"))
    n = C.sum(axis=1)
    xbar, ybar = sx.sum(axis=1) / n, sy.sum(axis=1) / n
    sxx_c = sxx.sum(axis=1) - n * xbar ** 2
    b = (sxy.sum(axis=1) - n * xbar * ybar) / sxx_c
    a = ybar - b * xbar
    # per slot: sum over its runs of (x - xbar) * residual
    score = (sxy - a[:, None] * sx - b[:, None] * sxx) - xbar[:, None] * (sy - a[:, None] * C - b[:, None] * sx)
    se = np.sqrt((score ** 2).sum(axis=1) / sxx_c ** 2 * g / np.maximum(g - 1, 1))
    p = np.where(g >= 2, 2 * sps.t.sf(np.abs(b / se), np.maximum(g - 1, 1)), np.nan)
    return {"estimate": b, "ci_low": b - tq * se, "ci_high": b + tq * se, "p": p, "beyond_margin_p": np.ones_like(p)}


def holm_rows(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p per row of p (R, m), NaN left out of each row's family and kept NaN:
    stats.holm on every row at once (statsmodels' multipletests runs gc.collect on each
    call, far too slow for thousands of rows)."""
    p = np.asarray(p, dtype=float)
    tested = ~np.isnan(p)
    m = tested.sum(axis=1, keepdims=True)
    order = np.argsort(np.where(tested, p, np.inf), axis=1, kind="stable")
    ps = np.take_along_axis(np.where(tested, p, np.inf), order, axis=1)
    k = np.arange(p.shape[1])[None, :]
    scaled = np.where(np.isfinite(ps), np.maximum(m - k, 1) * np.where(np.isfinite(ps), ps, 0.0), np.inf)
    adj = np.minimum(np.maximum.accumulate(scaled, axis=1), 1.0)
    out = np.empty_like(adj)
    np.put_along_axis(out, order, adj, axis=1)
    return np.where(tested, out, np.nan)


@dataclass(frozen=True)
class _Rep:
    """The fields of a Verdict that `claims.decide_all` reads, for one resampled study."""

    estimate: float
    null: float
    ci_low: float
    ci_high: float
    p_value: float
    detail: dict
    note: str = ""
    verdict: str = ""
    p_adj: float = float("nan")


def _words(claims: Sequence[Claim], reps: dict[str, dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Verdict words (R, K) and Holm-adjusted p (R, K) of every claim in every resampled study:
    Holm within each claim group (vectorised), then claims.decide_all, as evaluate_all does."""
    K = len(claims)
    R = len(next(iter(reps.values()))["p"])
    p = np.column_stack([reps[c.id]["p"] for c in claims])  # (R, K)
    p_adj = np.full_like(p, np.nan)
    for grp in dict.fromkeys(c.group for c in claims):
        idx = [k for k, c in enumerate(claims) if c.group == grp]
        p_adj[:, idx] = holm_rows(p[:, idx])
    words = np.empty((R, K), dtype=object)
    for r in range(R):
        raw = [_Rep(float(reps[c.id]["estimate"][r]), c.null_value, float(reps[c.id]["ci_low"][r]),
                    float(reps[c.id]["ci_high"][r]), float(p[r, k]),
                    {"beyond_margin_p": float(reps[c.id]["beyond_margin_p"][r])})
               for k, c in enumerate(claims)]
        words[r] = [v.verdict for v in decide_all(list(claims), raw, p_adj[r])]
    return words, p_adj


# -- power curves ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerCurve:
    """Power to confirm one claim's verdict, against seeds per polytope (at the study's number
    of polytopes) and against polytopes (at its number of seeds). `plateau` is the power with
    every polytope's mean known exactly, i.e. infinitely many seeds: below the target, seeds
    alone cannot get there."""

    id: str
    group: str
    verdict: str
    target: str
    seeds: tuple[int, ...]
    power: tuple[float, ...]
    plateau: float
    n_polytopes: int
    polytopes: tuple[int, ...]
    polytope_power: tuple[float, ...]
    n_seeds: int
    reps: int
    seeds_needed: int | None
    polytopes_needed: int | None
    answer: str
    note: str = ""

    def as_dict(self) -> dict:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})

    @property
    def display(self) -> str:
        """The answer with its note, for tables."""
        return f"{self.answer} ({self.note})" if self.note else self.answer

    def __str__(self) -> str:
        return f"{self.id}: seeds needed {self.display} (target {self.target})"


def _needed(grid: Sequence[int], power: Sequence[float], target: float) -> int | None:
    for n, pw in zip(grid, power, strict=True):
        if pw >= target:
            return int(n)
    return None


def _check_grid(grid: Sequence[int], what: str) -> tuple[int, ...]:
    g = tuple(sorted({int(n) for n in grid}))
    if not g or g[0] < 2:
        raise HarnessError(f"the {what} grid needs values of at least 2 (got {list(grid)})")
    return g


def power_curves(claims: Sequence[Claim], verdicts: Sequence[Verdict], runs: pd.DataFrame,
                 points: pd.DataFrame | None, seed_grid: Sequence[int] = SEED_GRID,
                 polytope_grid: Sequence[int] = POLYTOPE_GRID, reps: int = N_REPS,
                 target_power: float = TARGET_POWER, rng: np.random.Generator | None = None,
                 adjust: bool = True) -> list[PowerCurve]:
    """Power to confirm each claim's verdict (`verdicts`, from evaluate_all on these runs) by
    resampling the study: for n in `seed_grid`, R = `reps` studies of the study's number of
    polytopes (drawn with replacement) with n seeds each (drawn with replacement within each
    polytope); for G in `polytope_grid`, studies of G polytopes with the study's number of
    seeds. All claims are tested on the same resampled studies, so Holm acts within each
    claim group as in the real evaluation. runs: the run table (the study's full grid of
    polytopes x seeds); points: the per-point table (for dip-test claims)."""
    if reps < 10:
        raise HarnessError(f"power needs at least 10 resampled studies (got {reps})")
    seed_grid, polytope_grid = _check_grid(seed_grid, "seeds"), _check_grid(polytope_grid, "polytopes")
    rng = rng if rng is not None else np.random.default_rng(POWER_SEED)
    by_id = {v.id: v for v in verdicts}
    claims = [c for c in claims if c.id in by_id]
    polytopes = np.sort(runs["polytope"].unique())
    seeds = np.sort(runs["seed"].unique())
    P, S = len(polytopes), len(seeds)
    sums = {c.id: claim_cells(c, runs, points, polytopes, seeds, adjust=adjust) for c in claims}
    targets = {c.id: target_for(c, by_id[c.id]) for c in claims}

    def power_at(G: int, n: int | None) -> dict[str, float]:
        poly = rng.integers(0, P, size=(reps, G))
        seed = None if n is None else rng.integers(0, S, size=(reps, G, n))
        reps_ = {c.id: _replicate(c, sums[c.id], poly, seed) for c in claims}
        words, p_adj = _words(claims, reps_)
        out = {}
        for k, c in enumerate(claims):
            t = targets[c.id]
            out[c.id] = float("nan") if t is None else float(
                t.reached(words[:, k], p_adj[:, k], reps_[c.id]["estimate"], c.null_value).mean())
        return out

    by_seeds = [power_at(P, n) for n in seed_grid]
    plateau = power_at(P, None)
    by_polys = [power_at(G, S) for G in polytope_grid]
    result = []
    for c in claims:
        v, t = by_id[c.id], targets[c.id]
        pw = tuple(r[c.id] for r in by_seeds)
        ppw = tuple(r[c.id] for r in by_polys)
        need = _needed(seed_grid, pw, target_power) if t else None
        need_g = _needed(polytope_grid, ppw, target_power) if t else None
        note = ""
        if t is None:
            answer = "n/a (untestable)"
        elif need is not None:
            answer = str(need)
            if pw[-1] < target_power:
                note = f"falls to {pw[-1]:.2f} at {seed_grid[-1]} seeds" + (
                    ": the tighter interval leaves the claimed magnitude out" if c.kind == "magnitude" else "")
        elif plateau[c.id] < target_power:
            more = f"about {need_g} polytopes at {S} seeds" if need_g else f"more than {polytope_grid[-1]} polytopes"
            answer = f"not reachable by seeds alone (max {plateau[c.id]:.2f}): add polytopes ({more})"
        else:
            answer = f"> {seed_grid[-1]}"
        result.append(PowerCurve(
            id=c.id, group=c.group, verdict=v.verdict, target=t.label if t else "", seeds=seed_grid, power=pw,
            plateau=plateau[c.id], n_polytopes=P, polytopes=polytope_grid, polytope_power=ppw, n_seeds=S,
            reps=reps, seeds_needed=need, polytopes_needed=need_g, answer=answer, note=note))
    return result


def analytic_power(effect: float, tau: float, sigma: float, n_polytopes: int, n_seeds: int,
                   alpha: float = ALPHA) -> float:
    """Power of the two-sided t-test on polytope means to find a mean `effect` > 0 significant
    and positive, when polytope means vary with sd `tau` and seeds within with sd `sigma`:
    noncentral t with G - 1 df and noncentrality effect / sqrt((tau^2 + sigma^2 / n) / G)."""
    df = n_polytopes - 1
    nc = effect / math.sqrt((tau ** 2 + sigma ** 2 / n_seeds) / n_polytopes)
    return float(sps.nct.sf(sps.t.ppf(1 - alpha / 2, df), df, nc))


