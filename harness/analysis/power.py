"""Seeds: how many a claim needs, and whether the write-up's own seed 0 was typical.

Power by resampling the stored runs (one study, every claim at once). A resampled study
draws G polytopes with replacement and, within each drawn polytope, n seeds with
replacement (seeds are nested in polytopes: seeding.py); every claim is then tested on those
runs through the verdict path of `evaluate_all`: each statistic's estimate and test in
vectorised form (`Statistic.replicate`, analysis/estimators.py), the same yes/no and equivalence checks,
Holm within each claim group (`holm_by_group`) and the verdict words of
`verdicts.decide_all`. For a mean or a log ratio the estimate, interval and p are exactly
`verdicts.assess`'s on the same resample (the t-interval and t-test on polytope means); where
one study gets a studentized polytope bootstrap, a resampled study gets its t-quantile twin
(a bootstrap per resampled study would cost R x B): Fieller's interval with t quantiles for
a ratio of means, the cluster-robust t-test for a slope. Those give the same verdicts except
near alpha (tests/test_replicate.py), where the t quantiles are the more lenient under skew.
Power = the share of R resampled studies that reach the claim's target (`Target`).

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

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.analysis.estimators import Replicates, agreeing_replicates, equivalence_replicates
from harness.analysis.statistics import ALPHA
from harness.analysis.stats import Interval
from harness.analysis.verdicts import UNDECIDED, Claim, Verdict, decide_words, holm_by_group, magnitude_word
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

    a decided word (not in verdicts.UNDECIDED): the same verdict word.
    not supported: significant after Holm with the estimate on the side where it lies now
      (the data cannot decide at this size; how many seeds until they do).
    not shown equivalent: `equivalent` when the estimate lies inside the margin, else
      `contradicted`.
    magnitude undecided: the word where the estimate lies (`supported` inside the band,
      else `smaller than claimed` or `larger than claimed`)."""

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
    if v.verdict not in UNDECIDED:
        return Target(f"'{v.verdict}'", (v.verdict,))
    if v.verdict == "not shown equivalent":
        inside = claim.margin[0] < v.estimate < claim.margin[1]
        word = "equivalent" if inside else "contradicted"
        return Target(f"'{word}'", (word,))
    if v.verdict == "magnitude undecided":
        word = magnitude_word(Interval(v.estimate, v.estimate), claim.band)
        return Target(f"'{word}'", (word,))
    side = ">" if v.estimate > v.null else "<"
    return Target(f"significant, estimate {side} {v.null:g}", side=side)


# -- the study as arrays ------------------------------------------------------------------------
@dataclass(frozen=True)
class Cells:
    """One claim's units on the study's (P, S) grid: `cnt` units per cell and, per unit
    column, their sum per cell: "v" (the value, test scale), "ones" and "zeros" (units whose
    value is exactly 1 or 0: a resample where every unit agrees on a yes/no outcome is
    tested as `verdicts.assess` tests it), and the statistic's own (`cell_columns`)."""

    cnt: np.ndarray  # (P, S)
    cols: dict  # name -> (P, S)


def _adjusted(cols: dict[str, np.ndarray], pi: np.ndarray, si: np.ndarray, shape: tuple[int, int]) -> dict:
    """Unit columns (n,) moved so that polytope means and the seed noise within polytopes have
    the variances of a new study (module docstring): each unit u of polytope p becomes
    centre_p + d_p (u - mean_p), column by column. The factors are estimated on "v" (the
    test's scale) and applied to every column alike, so that value = num - den survives."""
    cnt = np.zeros(shape)
    np.add.at(cnt, (pi, si), 1.0)
    has = cnt > 0
    m = has.sum(axis=1)  # usable cells per polytope
    rows = m > 0
    if rows.sum() < 2:
        return cols
    means = {}  # cell means (P, S), 0 in an empty cell
    for k, u in cols.items():
        total = np.zeros(shape)
        np.add.at(total, (pi, si), u)
        means[k] = np.where(has, total / np.maximum(cnt, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pmean = {k: np.where(rows, y.sum(axis=1) / m, 0.0) for k, y in means.items()}  # (P,)
    y, yp = means["v"], pmean["v"]
    dof = int(np.maximum(m - 1, 0).sum())
    noise = float(np.where(has, (y - yp[:, None]) ** 2, 0.0).sum()) / dof if dof else 0.0
    between = float(np.var(yp[rows], ddof=1))
    tau2 = max(between - noise * float(np.mean(1.0 / m[rows])), 0.0)
    plug_in = float(np.var(yp[rows]))  # what drawing polytopes with replacement reproduces
    c = math.sqrt(tau2 / plug_in) if plug_in > 0 else 1.0
    d = np.where(m >= 2, np.sqrt(m / np.maximum(m - 1, 1)), 1.0)  # (P,)
    out = {}
    for k, u in cols.items():
        grand = float(pmean[k][rows].mean())
        centre = grand + c * (pmean[k] - grand)
        out[k] = centre[pi] + d[pi] * (u - pmean[k][pi])
    return out


def claim_cells(claim: Claim, runs: pd.DataFrame, points: pd.DataFrame | None, polytopes: np.ndarray,
                seeds: np.ndarray, adjust: bool = True) -> Cells:
    """The claim's units (its own inclusion rule; rows `verdicts.assess` would exclude left
    out) summed per cell of the (P, S) grid."""
    st = claim.statistic
    u = st.units(runs, points, claim.rule).finite(st.inputs).table
    u = u[u["polytope"].isin(polytopes) & u["seed"].isin(seeds)]
    shape = (len(polytopes), len(seeds))
    pi = np.searchsorted(polytopes, u["polytope"].to_numpy())
    si = np.searchsorted(seeds, u["seed"].to_numpy())
    cols = {"v": u["value"].to_numpy(float), **st.cell_columns(u)}
    if adjust and st.adjustable and len(u):
        cols = _adjusted(cols, pi, si, shape)
    cols.update(ones=(cols["v"] == 1.0).astype(float), zeros=(cols["v"] == 0.0).astype(float))
    cnt = np.zeros(shape)
    np.add.at(cnt, (pi, si), 1.0)
    sums = {}
    for k, a in cols.items():
        sums[k] = np.zeros(shape)
        np.add.at(sums[k], (pi, si), a)
    return Cells(cnt, sums)


# -- one resampled study, every claim -------------------------------------------------------------
def _slots(a: np.ndarray, poly: np.ndarray, seed: np.ndarray | None) -> np.ndarray:
    """Per-slot sums (R, G) of a (P, S) array: polytope poly[r, g] with seeds seed[r, g, :]
    ((R, G, n)); None: every seed once (the polytope's mean known exactly)."""
    if seed is None:
        return a.sum(axis=1)[poly]
    return a[poly[..., None], seed].sum(axis=-1)


def replicate(claim: Claim, cells: Cells, poly: np.ndarray, seed: np.ndarray | None) -> Replicates:
    """The claim's statistic in each resampled study (R,): `Statistic.replicate`, then what
    `verdicts.assess` does after the estimate (every unit agreeing on a yes/no outcome, the
    equivalence test), from the same functions (analysis/estimators.py)."""
    count = _slots(cells.cnt, poly, seed)
    sums = {k: _slots(a, poly, seed) for k, a in cells.cols.items()}
    null = claim.null_value
    rep = claim.statistic.replicate(sums, count, null)
    if claim.statistic.yes_no:
        rep = agreeing_replicates(rep, sums, count, null)
    if claim.kind != "equivalence":
        return rep
    if rep.means is None:
        raise HarnessError(f"claim {claim.id}: its statistic gives no polytope means to test equivalence on")
    low, high, p_eq, beyond, p = equivalence_replicates(rep.means, claim.margin, ALPHA)
    return dataclasses.replace(rep, ci_low=low, ci_high=high, p_value=p, beyond_margin_p=beyond, p_equivalent=p_eq)


def _verdict(claim: Claim, rep: Replicates, r: int) -> Verdict:
    """Resampled study r as the raw Verdict `decide` reads (estimate, CI, p, null, and the
    one-sided p past the margin)."""
    p = float(rep.p_value[r])
    beyond = None if rep.beyond_margin_p is None else float(rep.beyond_margin_p[r])
    p_eq = None if rep.p_equivalent is None else float(rep.p_equivalent[r])
    return Verdict(id=claim.id, sentence=claim.sentence, kind=claim.kind, verdict="",
                   estimate=float(rep.estimate[r]), ci=Interval(float(rep.ci_low[r]), float(rep.ci_high[r])),
                   p_value=p, p_adj=p, null=claim.null_value, claimed=claim.claimed, writeup=claim.writeup,
                   writeup_percentile=float("nan"), n_runs=0, n_polytopes=0, n_seeds=0, n_excluded=0,
                   rule=claim.rule, statistic="", margin=claim.margin, p_equivalent=p_eq,
                   p_beyond_margin=beyond, detail={"beyond_margin_p": beyond})


def _words(claims: Sequence[Claim], reps: dict[str, Replicates]) -> tuple[np.ndarray, np.ndarray]:
    """Verdict words (R, K) and Holm-adjusted p (R, K) of every claim in every resampled study:
    Holm within each claim group, then the words of `decide_all`, as evaluate_all does."""
    p = np.column_stack([reps[c.id].p_value for c in claims])  # (R, K)
    p_adj = holm_by_group(p, [c.group for c in claims])
    words = np.empty(p.shape, dtype=object)
    for r in range(p.shape[0]):
        raw = [_verdict(c, reps[c.id], r) for c in claims]
        words[r] = decide_words(claims, raw, p_adj[r])
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
    cells = {c.id: claim_cells(c, runs, points, polytopes, seeds, adjust=adjust) for c in claims}
    targets = {c.id: target_for(c, by_id[c.id]) for c in claims}

    def power_at(G: int, n: int | None) -> dict[str, float]:
        poly = rng.integers(0, P, size=(reps, G))
        seed = None if n is None else rng.integers(0, S, size=(reps, G, n))
        reps_ = {c.id: replicate(c, cells[c.id], poly, seed) for c in claims}
        words, p_adj = _words(claims, reps_)
        out = {}
        for k, c in enumerate(claims):
            t = targets[c.id]
            out[c.id] = float("nan") if t is None else float(
                t.reached(words[:, k], p_adj[:, k], reps_[c.id].estimate, c.null_value).mean())
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
                note = f"falls to {pw[-1]:.2f} at {seed_grid[-1]} seeds"
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


