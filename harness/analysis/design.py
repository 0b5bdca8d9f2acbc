"""How large a study must be to decide each claim, and how to spend it: the variance
components of a pilot study, Cochran's two-stage allocation, and the power to reach a decided
verdict.

Variance components. A claim's units (its test scale: log ratios, differences, 0/1 outcomes)
are nested, seeds within polytopes: y_ps = mu + b_p + e_ps with var(b) = s_b^2 (between
polytopes) and var(e) = s_w^2 (within, seed to seed). They are estimated by the one-way
random-effects ANOVA's method of moments (Searle, Casella & McCulloch 1992, sec. 3.6; unbalanced
groups through n0 = (N - sum n_p^2 / N) / (G - 1)): s_w^2 = MS_within, s_b^2 = max(0, (MS_between -
MS_within) / n0). Written here rather than fitted with statsmodels' MixedLM because it is a
closed formula (no optimiser, one per claim) and MixedLM's REML can report convergence with the
between component collapsed to zero (statsmodels #10239).

Allocation (Cochran 1977, "Sampling Techniques", sec. 10.6). A polytope costs c1 (drawing its
task), a seed on a polytope costs c2 (training every model of the study there); a polytope mean
over n seeds varies as s_b^2 + s_w^2 / (q n), q the share of runs a claim can use (collapsed runs
are left out), so the cost of a given precision is least at n* = sqrt(c1 s_w^2 / (c2 q s_b^2)),
rounded and held between 2 (the within-polytope spread must be estimated) and MAX_SEEDS. The
design searches n in that range for the least cost of deciding the claim, which is n* when every
run is usable; collapsed runs leave some polytopes with no usable unit at all, which makes a few
more seeds worth their cost.

Power (the noncentral t on polytope means, `power.analytic_power`'s model). With m polytopes of n
seeds, the estimate's standard error is the pilot's scaled by sqrt(V(m, n) / V_pilot),
V = (s_b^2 + s_w^2 E[1/k | k >= 1]) / m_eff: k ~ Binomial(n, q) usable units per polytope, m_eff =
m P(k >= 1) polytopes with any. The truth is taken to be the pilot's estimate (its t statistic for
the test, its 95% interval for the standard error on the scale the claim is decided on: log for a
ratio). "Decided" is:
  direction, shape: significant either way, |T| > t_{1-a/2, m_eff-1} with T ~ nct(m_eff - 1,
    t_pilot sqrt(V_pilot / V)), at a = alpha / K (Holm's first step, K claims in the family:
    conservative);
  equivalence: equivalent (TOST at level a: P(T_low > t_{1-a}) - P(T_high > -t_{1-a}); only from
    stats.EQUIVALENCE_MIN_POLYTOPES usable polytopes on, as evaluation says it) or contradicted
    (the one-sided test past the nearer margin at a, Bonferroni as `decide` does);
  magnitude: the direction significant and the 95% interval wholly inside or wholly outside the
    band (the two one-sided events of TOST at 2.5% each, and their complements); the two are
    combined by the Bonferroni lower bound P(A and B) >= P(A) + P(B) - 1.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.analysis import stats
from harness.analysis.statistics import ALPHA
from harness.analysis.verdicts import Claim, Verdict
from harness.errors import HarnessError
from harness.jsonable import jsonable

TARGET_POWER = 0.8
MIN_SEEDS, MAX_SEEDS = 2, 10
MAX_POLYTOPES = 100_000


@dataclass(frozen=True)
class Components:
    """A claim's units in the pilot: between- and within-polytope variances on the test scale,
    the usable units of each polytope, and q, the share of (polytope, seed) units the claim could
    use (per `per_cell`, the units one cell holds when every run is usable)."""

    between: float
    within: float
    counts: tuple[int, ...]
    usable: float
    per_cell: int

    @property
    def icc(self) -> float:
        """The share of the variance that lies between polytopes."""
        total = self.between + self.within
        return self.between / total if total > 0 else float("nan")


def components(table: pd.DataFrame, cells: int) -> Components:
    """Variance components of a units table (columns polytope, seed, value) by the one-way
    ANOVA's method of moments; `cells` = polytopes x seeds of the pilot's grid."""
    g = table.groupby("polytope")["value"]
    n_p, means = g.size().to_numpy(float), g.mean().to_numpy(float)
    N, G = n_p.sum(), len(n_p)
    if G < 2 or N <= G:
        raise HarnessError("variance components need at least 2 polytopes and a polytope with 2 usable runs")
    grand = table["value"].mean()
    ms_between = float((n_p * (means - grand) ** 2).sum() / (G - 1))
    ms_within = float(((table["value"] - g.transform("mean")) ** 2).sum() / (N - G))
    n0 = (N - (n_p ** 2).sum() / N) / (G - 1)
    per_cell = int(table.groupby(["polytope", "seed"]).size().max())
    return Components(max(0.0, (ms_between - ms_within) / n0), ms_within, tuple(int(x) for x in n_p),
                      min(1.0, N / (cells * per_cell)), per_cell)


def _inverse_count(n: int, comp: Components) -> tuple[float, float]:
    """(P(k >= 1), E[1/k | k >= 1]) for k ~ Binomial(n * per_cell, usable)."""
    trials = n * comp.per_cell
    k = np.arange(1, trials + 1)
    pmf = sps.binom.pmf(k, trials, comp.usable)
    some = float(pmf.sum())
    return some, float((pmf / k).sum() / some) if some > 0 else float("inf")


def variance(comp: Components, m: int, n: int) -> tuple[float, float]:
    """(V, m_eff): the variance of the mean of polytope means with m polytopes of n seeds, and
    the polytopes expected to hold a usable unit."""
    some, inv = _inverse_count(n, comp)
    m_eff = m * some
    return (comp.between + comp.within * inv) / m_eff, m_eff


def pilot_variance(comp: Components) -> float:
    """The variance of the pilot's mean of polytope means, from its own usable units."""
    counts = np.array(comp.counts, dtype=float)
    return (comp.between + comp.within * float(np.mean(1 / counts))) / len(counts)


def cochran_seeds(comp: Components, polytope_cost: float, seed_cost: float) -> int:
    """n* = sqrt(c1 s_w^2 / (c2 q s_b^2)), rounded and held in [MIN_SEEDS, MAX_SEEDS]."""
    if comp.between <= 0:
        return MAX_SEEDS
    n = math.sqrt(polytope_cost * comp.within / (seed_cost * comp.usable * comp.between))
    return int(min(MAX_SEEDS, max(MIN_SEEDS, round(n))))


# -- power to decide ------------------------------------------------------------------------------
def _nct_tail(x: float, df: float, nc: float, upper: bool) -> float:
    """P(T > x) (upper) or P(T < x) of a noncentral t, with scipy's NaN far out in a tail
    replaced by the complement of the other tail: scipy 1.17's nct.cdf(-3.04, 26.4, 6.69) is
    NaN (the true value is below 1e-20), and a NaN summed into a power read as 1 through
    min(1, NaN)."""
    tail, other = (sps.nct.sf, sps.nct.cdf) if upper else (sps.nct.cdf, sps.nct.sf)
    p = float(tail(x, df, nc))
    return p if math.isfinite(p) else min(1.0, max(0.0, 1.0 - float(other(x, df, nc))))


def _two_sided(nc: float, df: float, a: float) -> float:
    if math.isinf(nc):
        return 1.0
    q = sps.t.isf(a / 2, df)
    return _nct_tail(q, df, nc, upper=True) + _nct_tail(-q, df, nc, upper=False)


def _inside(theta: float, se: float, low: float, high: float, q: float, df: float) -> float:
    """P(the interval theta_hat -+ q se lies inside [low, high])  >= P(T_low > q) - P(T_high > -q)."""
    return max(0.0, _nct_tail(q, df, (theta - low) / se, upper=True) - _nct_tail(-q, df, (theta - high) / se, upper=True))


def _outside(theta: float, se: float, low: float, high: float, q: float, df: float) -> float:
    """P(the interval theta_hat -+ q se lies wholly below low or wholly above high)."""
    return _nct_tail(-q, df, (theta - low) / se, upper=False) + _nct_tail(q, df, (theta - high) / se, upper=True)


@dataclass(frozen=True)
class Pilot:
    """What the power calculation reads of a claim's pilot verdict, on the scale the claim is
    decided on (log for a ratio): the estimate, its standard error, the test's t statistic,
    the band or margin, and the polytopes."""

    theta: float
    se: float
    t_stat: float
    bounds: tuple[float, float] | None
    polytopes: int


def pilot_of(claim: Claim, v: Verdict) -> Pilot | None:
    """The pilot's figures for `power`; None when the claim was not tested (or its interval is
    not finite)."""
    log = claim.statistic.log_axis
    to = math.log if log else float
    g = v.n_polytopes
    vals = (v.estimate, v.ci.low, v.ci.high)
    if not v.tested or g < 2 or not all(math.isfinite(x) for x in vals) or (log and min(vals) <= 0):
        return None
    se = (to(v.ci.high) - to(v.ci.low)) / (2 * sps.t.isf(0.025, g - 1))
    side = 1.0 if v.estimate >= v.null else -1.0
    t_stat = side * (math.inf if v.p_value <= 0 else float(sps.t.isf(v.p_value / 2, g - 1)))
    if claim.kind == "equivalence":
        bounds = tuple(claim.margin)
    elif claim.kind == "magnitude" and getattr(claim, "band", None) is not None:
        bounds = tuple(to(b) for b in claim.band)
    else:
        bounds = None
    return Pilot(to(v.estimate), se, t_stat, bounds, g)


def power(claim: Claim, pilot: Pilot, comp: Components, m: int, n: int, family_size: int,
          alpha: float = ALPHA) -> float:
    """The chance that a study of m polytopes x n seeds decides the claim (module docstring)."""
    var, m_eff = variance(comp, m, n)
    if m_eff < 2:
        return 0.0
    shrink = math.sqrt(pilot_variance(comp) / var) if var > 0 else math.inf
    df, a = m_eff - 1, alpha / max(family_size, 1)
    se = pilot.se / shrink if math.isfinite(shrink) else 0.0
    if claim.kind == "equivalence":
        low, high = pilot.bounds
        if se == 0:  # every value alike: decided at any size, as stats.equivalence decides it
            return 1.0 if pilot.theta != low and pilot.theta != high else 0.0
        q = sps.t.isf(a, df)
        # "equivalent" is never said on fewer polytopes than stats.equivalence's floor: below
        # it only "beyond the margins" decides
        allowed = m_eff >= stats.EQUIVALENCE_MIN_POLYTOPES
        inside = _inside(pilot.theta, se, low, high, q, df) if allowed else 0.0
        return min(1.0, inside + _outside(pilot.theta, se, low, high, q, df))
    sig = _two_sided(pilot.t_stat * shrink, df, a)
    if claim.kind != "magnitude" or pilot.bounds is None:
        return sig
    if se == 0:
        return sig
    q = sps.t.isf(0.025, df)
    low, high = pilot.bounds
    band = _inside(pilot.theta, se, low, high, q, df) + _outside(pilot.theta, se, low, high, q, df)
    return max(0.0, sig + min(1.0, band) - 1.0)


def polytopes_needed(claim: Claim, pilot: Pilot, comp: Components, n: int, family_size: int,
                     target: float = TARGET_POWER) -> int | None:
    """The fewest polytopes (at n seeds each) with power >= target; None past MAX_POLYTOPES."""
    def ok(m: int) -> bool:
        return power(claim, pilot, comp, m, n, family_size) >= target

    lo, hi = 2, 4
    while not ok(hi):
        if hi >= MAX_POLYTOPES:
            return None
        lo, hi = hi, min(2 * hi, MAX_POLYTOPES)
    while hi - lo > 1:  # ok(hi), and not ok(lo) unless lo is the start
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return lo if ok(lo) else hi


# -- the design of a study ------------------------------------------------------------------------
@dataclass(frozen=True)
class Costs:
    """What a polytope and a run cost on this machine, in seconds, and how that was measured."""

    polytope_s: float
    run_s: float
    source: str


@dataclass(frozen=True)
class ClaimDesign:
    """One claim's allocation: its variance components (test scale), the seeds per polytope
    of Cochran's rule, the polytopes needed there for TARGET_POWER to decide it, the runs and
    time of that study (every model the study trains), or why none is given (`note`)."""

    id: str
    kind: str
    verdict: str
    between_sd: float
    within_sd: float
    icc: float
    usable: float
    seeds: int | None
    polytopes: int | None
    runs: int | None
    seconds: float | None
    note: str = ""

    def as_dict(self) -> dict:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


@dataclass(frozen=True)
class StudyDesign:
    """The allocation for the whole family: one seeds-per-polytope for every claim (the one of
    least cost for the claims that can be decided) and the polytopes the hardest of them needs."""

    claims: tuple[ClaimDesign, ...]
    seeds: int | None
    polytopes: int | None
    runs: int | None
    seconds: float | None
    models: int
    costs: Costs
    pilot: str
    target: float = TARGET_POWER
    ladder: tuple[tuple[str, int, int, float], ...] = ()  # (claim, polytopes, runs, seconds) at `seeds`, cheapest first

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("seeds", "polytopes", "runs", "seconds", "models", "pilot", "target")}
        out["ladder"] = [{"claim": c, "polytopes": m, "runs": r, "seconds": s} for c, m, r, s in self.ladder]
        out["costs"] = {"polytope_s": self.costs.polytope_s, "run_s": self.costs.run_s, "source": self.costs.source}
        out["claims"] = [c.as_dict() for c in self.claims]
        return jsonable(out)


def design(claims: Sequence[Claim], verdicts: Sequence[Verdict], units: dict[str, pd.DataFrame], cells: int,
           costs: Costs, models: int, pilot: str, target: float = TARGET_POWER) -> StudyDesign:
    """The design for `claims` from their pilot `verdicts` (evaluate_all on the pilot) and units
    tables (id -> polytope, seed, value), `cells` = the pilot's polytopes x seeds, `models` the
    models each (polytope, seed) trains. Each claim gets the seeds per polytope n (MIN_SEEDS..
    MAX_SEEDS) of least cost m(n) (c1 + n c2) for the power target, m(n) its polytopes needed:
    Cochran's n* (`cochran_seeds`) when every run is usable, a little more when collapsed runs
    leave polytopes with none."""
    by_id = {v.id: v for v in verdicts}
    family = {g: sum(1 for c in claims if c.group == g and by_id[c.id].tested) for g in {c.group for c in claims}}
    seed_cost = costs.run_s * models
    grid = range(MIN_SEEDS, MAX_SEEDS + 1)
    rows, need = [], {}
    for c in claims:
        v = by_id[c.id]
        table = units.get(c.id)
        pilot_fig = pilot_of(c, v)
        if not c.statistic.per_run:
            why = "a slope across runs has no per-polytope mean"
        elif table is None or pilot_fig is None:
            why = "not testable in the pilot"
        else:
            try:
                comp, why = components(table, cells), ""
            except HarnessError as exc:  # a pilot too small for this claim: a row that says so, not an abort
                why = str(exc)
        if why:
            rows.append(ClaimDesign(c.id, c.kind, v.verdict, *(float("nan"),) * 4, None, None, None, None, why))
            continue
        need[c.id] = {n: polytopes_needed(c, pilot_fig, comp, n, family[c.group], target) for n in grid}
        n, m = _cheapest({c.id: need[c.id]}, costs, seed_cost)
        note = "" if m else f"not reachable below {MAX_POLYTOPES:,} polytopes: the estimate lies at a boundary it must clear"
        n = n or cochran_seeds(comp, costs.polytope_s, seed_cost)
        runs = m * n * models if m else None
        rows.append(ClaimDesign(c.id, c.kind, v.verdict, math.sqrt(comp.between), math.sqrt(comp.within), comp.icc,
                                comp.usable, n, m, runs, _seconds(runs, m, costs) if m else None, note))
    n, m = _cheapest(need, costs, seed_cost)
    runs = m * n * models if m else None
    ladder = []
    if n is not None:
        at_n = sorted(((k, ms[n]) for k, ms in need.items() if ms[n]), key=lambda x: x[1])
        ladder = [(k, mk, mk * n * models, _seconds(mk * n * models, mk, costs)) for k, mk in at_n]
    return StudyDesign(tuple(rows), n, m, runs, _seconds(runs, m, costs) if m else None, models, costs, pilot, target,
                       tuple(ladder))


def _seconds(runs: int, polytopes: int, costs: Costs) -> float:
    return runs * costs.run_s + polytopes * costs.polytope_s


def _cheapest(need: dict[str, dict[int, int | None]], costs: Costs, seed_cost: float) -> tuple[int | None, int | None]:
    """The seeds per polytope at which a study deciding every claim of `need` (id -> seeds ->
    polytopes needed, None past MAX_POLYTOPES) costs least, and its polytopes (the most any claim
    needs there); claims that no seeds per polytope can decide are left out."""
    reachable = [ms for ms in need.values() if any(ms.values())]
    best = (math.inf, None, None)
    for n in range(MIN_SEEDS, MAX_SEEDS + 1):
        if not reachable or any(ms[n] is None for ms in reachable):
            continue
        m = max(ms[n] for ms in reachable)
        cost = m * (costs.polytope_s + n * seed_cost)
        if cost < best[0]:
            best = (cost, n, m)
    return best[1], best[2]
