"""A study that grows in rounds and is looked at after each one, with the error rates of a
study looked at once: a group-sequential design (Lan and DeMets 1983) with an O'Brien-Fleming-
type alpha-spending function over a declared maximum number of looks.

The budget fixes the looks: K rounds of new polytopes, information fraction t_k = k / K (the
polytope is the unit, and every round adds as many). At look k the two-sided boundary c_k is
chosen so that, with no effect, the chance of crossing first at look k is what the spending
function allows, alpha(t_k) - alpha(t_{k-1}), where alpha(t) = 4 (1 - Phi(z_{1-alpha/4} / sqrt(t)))
spends alpha/2 on each side (gsDesign's sfLDOF at alpha/2 per side): little early, nearly all at
the end, so the last boundary is close to a single look's 1.96. Under no effect the z-statistics
of the looks are those of a Brownian motion at the t_k; the crossing probabilities are integrated
over its continuation region by the recursion of Armitage, McPherson and Rowe (1969; Jennison and
Turnbull 2000, ch. 19), whose grid and density update come from `gsdesign` (a port of gsDesign's
C routines), and each boundary is solved for with scipy's brentq.

Each claim's test stays what a single look runs (the t-test on polytope means, TOST, a binomial
test when every run agrees); its nominal p becomes a repeated p-value (Jennison and Turnbull
2000, sec. 9.1): the smallest level at which the same design would have stopped at this look,
so that, with no effect, the chance that any look's repeated p falls below a level is at most
that level. Holm within each claim group then acts on repeated p-values, a claim decided at an
earlier look counting as rejected (valid: the first true null rejected at any look is rejected
at a threshold of at most alpha / m0). Intervals become repeated confidence intervals: the 95%
interval widened to the look's boundary (its nominal level 2 (1 - Phi(c_k))), which cover the
truth at every look at once with probability at least 95%.

A claim is decided at the first look where its word is a decision (not one of `UNDECIDED`); its
word then stays (a rejected hypothesis stays rejected), while its estimate and interval keep
narrowing. Shapes: K looks; A levels in the boundary table.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
from gsdesign import h1, hupdate
from scipy import optimize, special
from scipy import stats as sps

from harness.analysis.statistics import ALPHA
from harness.analysis.stats import Interval
from harness.analysis.verdicts import UNDECIDED, Claim, Verdict, decide_all, holm_by_group
from harness.config import MAX_LOOKS
from harness.errors import HarnessError
from harness.jsonable import jsonable

_GRID_R = 18  # gsDesign's default grid density (points per standard deviation, about 6 r in all)
_NEVER = 40.0  # a boundary no path crosses: a look that may spend nothing
# The levels at which boundaries are tabulated for repeated p-values (log-spaced; below the
# smallest, a repeated p reads as that level).
_LEVELS = np.geomspace(1e-10, 0.999, 81)


def decided(word: str) -> bool:
    """Whether a verdict word is a decision (the study need not grow for this claim)."""
    return bool(word) and word not in UNDECIDED


def spent(t: np.ndarray, alpha: float) -> np.ndarray:
    """The two-sided Lan-DeMets O'Brien-Fleming-type alpha spent by information fraction t:
    alpha/2 per side by 2 (1 - Phi(z_{1-alpha/4} / sqrt(t)))."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(t > 0, 4.0 * sps.norm.sf(sps.norm.isf(alpha / 4) / np.sqrt(t)), 0.0)


def boundaries(fractions: Sequence[float], alpha: float = ALPHA) -> np.ndarray:
    """The two-sided boundaries c_k (K,) on the z scale for looks at information `fractions`
    (increasing, the last 1), spending `alpha` as `spent` says: the first look where |Z_k| >= c_k
    stops the study, and with no effect that happens with probability alpha."""
    t = np.asarray(fractions, dtype=float)
    if t.ndim != 1 or not len(t) or np.any(np.diff(t) <= 0) or t[0] <= 0 or not math.isclose(t[-1], 1.0):
        raise HarnessError(f"information fractions must increase from above 0 to 1 (got {list(t)})")
    if not 0 < alpha < 1:
        raise HarnessError(f"alpha must lie between 0 and 1 (got {alpha})")
    increments = np.diff(spent(t, alpha), prepend=0.0)
    out = np.empty(len(t))
    grid = None
    c = float(sps.norm.isf(increments[0] / 2)) if increments[0] > 0 else _NEVER  # the first look alone
    out[0] = c = min(c, _NEVER)
    grid = h1(_GRID_R, 0.0, t[0], -c, c)
    for k in range(1, len(t)):
        out[k] = c = _solve(grid, t[k - 1], t[k], increments[k])
        grid = hupdate(_GRID_R, 0.0, t[k], -c, c, 0.0, t[k - 1], grid)
    return out


def _solve(grid, t_prev: float, t: float, increment: float) -> float:
    """The boundary at information t that paths still inside at t_prev (their sub-density on
    `grid`, gsdesign's (z, w, h)) cross with probability `increment`, either side."""
    z, _, h = grid
    sd = math.sqrt(t - t_prev)
    start = z * math.sqrt(t_prev)

    def crossing(c: float) -> float:
        edge = c * math.sqrt(t)
        return float(h @ (special.ndtr((start - edge) / sd) + special.ndtr(-(edge + start) / sd))) - increment

    if increment <= 0 or crossing(_NEVER) >= 0:
        return _NEVER
    return float(optimize.brentq(crossing, 0.0, _NEVER, xtol=1e-9))


@lru_cache(maxsize=32)
def _bounds(looks: int, alpha: float) -> np.ndarray:
    """Boundaries of the equally spaced K-look design at one level (computed once per process)."""
    return boundaries(np.arange(1, looks + 1) / looks, alpha)


@lru_cache(maxsize=32)
def _table(looks: int) -> np.ndarray:
    """Boundaries (A, K) of the equally spaced K-look design at every level of _LEVELS."""
    t = np.arange(1, looks + 1) / looks
    return np.stack([boundaries(t, float(a)) for a in _LEVELS])


@dataclass(frozen=True)
class Design:
    """K equally spaced looks (rounds of as many new polytopes) at overall two-sided level alpha."""

    looks: int
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        if not 1 <= self.looks <= MAX_LOOKS:
            raise HarnessError(f"a sequential study needs between 1 and {MAX_LOOKS} looks (got {self.looks})")

    @property
    def fractions(self) -> np.ndarray:
        return np.arange(1, self.looks + 1) / self.looks

    @property
    def bounds(self) -> np.ndarray:
        """The boundaries c_k (K,) at the design's alpha."""
        return _bounds(self.looks, self.alpha).copy()

    def nominal_level(self, look: int) -> float:
        """The two-sided nominal level of look `look` (1-based): a single test at this level
        crosses the boundary, 2 (1 - Phi(c_k))."""
        return float(2 * sps.norm.sf(_bounds(self.looks, self.alpha)[self._index(look)]))

    def repeated_p(self, p: np.ndarray | float, look: int) -> np.ndarray:
        """Repeated p-values (two-sided) of nominal two-sided p-values at look `look`: the
        smallest level at which this design stops there, i.e. at which |z| = Phi^-1(1 - p/2)
        reaches that level's boundary. NaN stays NaN; 1 where no level below 1 stops."""
        p = np.asarray(p, dtype=float)
        z = sps.norm.isf(np.clip(p, 0.0, 1.0) / 2)
        c = _table(self.looks)[:, self._index(look)]  # (A,), decreasing in the level
        # np.interp needs increasing x: the boundaries reversed, levels on the log scale
        log_level = np.interp(z, c[::-1], np.log(_LEVELS[::-1]), left=0.0, right=np.log(_LEVELS[0]))
        out = np.where(z < c[-1], 1.0, np.exp(log_level))
        return np.where(np.isnan(p), np.nan, np.minimum(out, 1.0))

    def widening(self, look: int, df: np.ndarray | float) -> np.ndarray:
        """The factor by which a 95% t-interval with `df` degrees of freedom widens into the
        look's repeated confidence interval: t_{1 - a_k/2, df} / t_{0.975, df}, a_k the nominal level."""
        df = np.maximum(np.asarray(df, dtype=float), 1.0)
        return sps.t.isf(self.nominal_level(look) / 2, df) / sps.t.isf((1 - 0.95) / 2, df)

    def _index(self, look: int) -> int:
        if not 1 <= look <= self.looks:
            raise HarnessError(f"look {look} is outside the design's 1..{self.looks}")
        return look - 1


def repeated_interval(v: Verdict, factor: float, log_axis: bool) -> Interval:
    """The verdict's 95% interval widened by `factor` about its estimate, on the scale it is
    tested on (log for a ratio), each side by its own half-width (bootstrap intervals are not
    symmetric)."""
    est, lo, hi = v.estimate, v.ci.low, v.ci.high
    if not all(math.isfinite(x) for x in (est, lo, hi)):
        return v.ci
    if log_axis and min(est, lo, hi) > 0:
        le = math.log(est)
        return Interval(math.exp(le - factor * (le - math.log(lo))), math.exp(le + factor * (math.log(hi) - le)))
    return Interval(est - factor * (est - lo), est + factor * (hi - est))


@dataclass
class Locked:
    """A claim's decision at the look it was first decided."""

    look: int
    verdict: Verdict


@dataclass
class State:
    """The decisions a sequential study has taken so far (claim id -> Locked)."""

    design: Design
    locked: dict[str, Locked] = field(default_factory=dict)

    def step(self, claims: Sequence[Claim], raw: Sequence[Verdict], look: int) -> list[Verdict]:
        """The verdicts at look `look` from the claims' raw verdicts there (verdicts.evaluate,
        before Holm): repeated p-values and repeated intervals, Holm within each claim group
        with earlier decisions counting as rejected, the words of decide_all; a claim decided
        earlier keeps its word, and one decided now is locked. `detail["sequential"]` says
        the look, the repeated level and the look where the claim was decided."""
        adjusted = [self._repeated(c, v, look) for c, v in zip(claims, raw)]
        p = np.array([self._holm_input(c, v) for c, v in zip(claims, adjusted)], dtype=float)
        out = decide_all(claims, adjusted, holm_by_group(p, [c.group for c in claims]))
        final = []
        for c, v in zip(claims, out):
            lock = self.locked.get(c.id)
            if lock is None and decided(v.verdict):
                lock = self.locked[c.id] = Locked(look, v)
            if lock is not None:
                kept = lock.verdict
                v = replace(v, verdict=kept.verdict, p_adj=kept.p_adj, gate=kept.gate,
                            note=_join(v.note, f"decided in round {lock.look} of {self.design.looks}"))
            seq = {**v.detail["sequential"], "decided_round": lock.look if lock else None}
            final.append(replace(v, detail={**v.detail, "sequential": seq}))
        return final

    def _repeated(self, claim: Claim, v: Verdict, look: int) -> Verdict:
        d = self.design
        factor = float(d.widening(look, max(v.n_polytopes - 1, 1)))
        detail = dict(v.detail)
        # an equivalence claim's p is two-sided too: that of the side its interval points to (verdicts.decide)
        p = float(d.repeated_p(v.p_value, look))
        detail["sequential"] = {"round": look, "rounds": d.looks, "nominal_p": v.p_value,
                                "nominal_level": d.nominal_level(look), "ci95": [v.ci.low, v.ci.high]}
        ci = repeated_interval(v, factor, claim.statistic.log_axis)
        return replace(v, p_value=p, p_adj=p, ci=ci, detail=detail)

    def _holm_input(self, claim: Claim, v: Verdict) -> float:
        """A claim whose Holm-tested hypothesis an earlier look rejected enters Holm with p 0:
        every decision, an equivalence claim's `contradicted` too (its p is Holm's, as
        `equivalent`'s is)."""
        return 0.0 if claim.id in self.locked else v.p_value

    @property
    def decided_ids(self) -> set[str]:
        return set(self.locked)


def _join(*parts: str) -> str:
    return "; ".join(x for x in parts if x)


@dataclass(frozen=True)
class Round:
    """One look: the study's polytopes and seeds per polytope after this round, the runs it
    trained and found, its wall time, and the verdicts at this look (repeated p and intervals)."""

    look: int
    polytopes: int
    seeds: int
    runs: int
    trained: int
    seconds: float
    verdicts: tuple[Verdict, ...]

    def decided(self, ids: Sequence[str]) -> int:
        """How many of the claims `ids` are decided at this look."""
        return sum(1 for v in self.verdicts if v.id in ids and decided(v.verdict))


@dataclass
class History:
    """A sequential study, round by round: its design (looks, alpha), the rounds' size, the
    claims whose decisions stop it (`family`), the rounds so far and why it stopped."""

    design: Design
    round_polytopes: int
    seeds: int
    budget: int
    family: tuple[str, ...]
    rounds: list[Round] = field(default_factory=list)
    stopped: str = ""

    def decided_round(self, claim_id: str) -> int | None:
        """The look at which a claim was first decided, None if it never was."""
        for r in self.rounds:
            for v in r.verdicts:
                if v.id == claim_id and decided(v.verdict):
                    return r.look
        return None

    def as_dict(self) -> dict:
        return jsonable({
            "looks": self.design.looks, "alpha": self.design.alpha, "boundaries": list(self.design.bounds),
            "round_polytopes": self.round_polytopes, "seeds": self.seeds, "budget": self.budget,
            "family": list(self.family), "stopped": self.stopped,
            "rounds": [{"round": r.look, "polytopes": r.polytopes, "seeds": r.seeds, "runs": r.runs,
                        "trained": r.trained, "seconds": round(r.seconds, 1), "decided": r.decided(self.family),
                        "claims": [{"id": v.id, "verdict": v.verdict, "estimate": v.estimate, "low": v.ci.low,
                                    "high": v.ci.high, "p_adj": v.p_adj} for v in r.verdicts]}
                       for r in self.rounds]})
