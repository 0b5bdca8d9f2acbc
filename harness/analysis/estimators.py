"""A statistic's estimate, 95% interval and p on R resampled studies at once: the
vectorised twin of `Statistic.estimate`, which power (analysis/power.py) needs because a
bootstrap per resampled study would cost R x B. Each function here mirrors one scale family
of analysis/scales.py: on the same resample the mean's estimate, interval and p are those
`verdicts.assess` gives; a ratio of means and a slope use t quantiles where one table uses a
studentized polytope bootstrap's, and agree on the verdict (tests/test_replicate.py). The checks that
follow an estimate (every run agreeing on a yes/no outcome, equivalence) live here too, in
their one-table and vectorised forms side by side.

Shapes: R resampled studies of G polytope slots; `count` (R, G) units per slot and `sums`,
name -> (R, G), the per-slot sums of each unit column; an empty slot has count 0.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as sps

from harness.analysis import stats


@dataclass(frozen=True)
class Estimate:
    """A statistic on one table of units: the estimate and 95% CI on the reported scale, the p
    of its test against the null, and the note and detail a verdict shows."""

    value: float
    ci: stats.Interval
    p_value: float
    note: str = ""
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Replicates:
    """A statistic in R resampled studies, (R,) arrays on the reported scale. `means` (R, G):
    the polytope means on the test scale (NaN for an empty slot), which an equivalence test
    reads; None for a statistic that has no mean to test. `p_equivalent` and
    `beyond_margin_p`: an equivalence claim's two p's (stats.equivalence), else None."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_value: np.ndarray
    means: np.ndarray | None = None
    beyond_margin_p: np.ndarray | None = None
    p_equivalent: np.ndarray | None = None


def _t975(g: np.ndarray) -> np.ndarray:
    return sps.t.ppf(0.975, np.maximum(g - 1, 1))


def slot_means(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per-slot means (R, G) of a column from its sums; NaN for an empty slot."""
    valid = count > 0
    return np.where(valid, total / np.where(valid, count, 1), np.nan)


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Row means of a (R, G) over its non-NaN entries; NaN for a row with none."""
    ok = ~np.isnan(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, a, 0.0).sum(axis=1) / ok.sum(axis=1)


def mean_rows(pm: np.ndarray, null: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The t-test of polytope means pm (R, G; NaN = empty slot) against `null`, as
    stats.mean_interval runs it on one table (the verdict path): mean, se, df, p (R,). Identical polytope
    means: p = 0 when they differ from the null, 1 when equal; fewer than 2 polytopes: NaN."""
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


def mean_replicates(sums: Mapping[str, np.ndarray], count: np.ndarray, null: float,
                    from_test: Callable[[np.ndarray], np.ndarray]) -> Replicates:
    """The mean of polytope means of "v" (the test scale), tested against `null` (test
    scale); estimate and t-interval mapped to the reported scale by `from_test`."""
    pm = slot_means(sums["v"], count)
    mean, se, _, p = mean_rows(pm, null)
    tq = _t975(np.sum(count > 0, axis=1))
    with np.errstate(invalid="ignore", over="ignore"):
        return Replicates(from_test(mean), from_test(mean - tq * se), from_test(mean + tq * se), p, means=pm)


def ratio_replicates(sums: Mapping[str, np.ndarray], count: np.ndarray, null: float) -> Replicates:
    """mean of polytope means of "num" / that of "den" with Fieller's interval and the p of
    `null` from Fieller's statistic T(null), as stats.ratio_interval, but with t_{G-1}
    quantiles where one table gets the studentized polytope bootstrap's (a bootstrap per
    resampled study would cost R x B). The two differ in p (tests/test_replicate.py checks
    that the verdicts agree); the t quantiles under-cover a little under a skewed denominator
    (stats.ratio_interval), so power read this way is slightly optimistic there."""
    valid = count > 0
    g = valid.sum(axis=1)
    a, b = slot_means(sums["num"], count), slot_means(sums["den"], count)
    ma, mb = _nanmean(a), _nanmean(b)
    flip = np.where(mb < 0, -1.0, 1.0)  # the same ratio with a positive denominator
    ma, mb = ma * flip, mb * flip
    da, db = np.where(valid, a * flip[:, None] - ma[:, None], 0.0), np.where(valid, b * flip[:, None] - mb[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scale = 1.0 / (np.maximum(g - 1, 1) * g)  # the covariance of the two means
        va, vb, cab = (da * da).sum(axis=1) * scale, (db * db).sum(axis=1) * scale, (da * db).sum(axis=1) * scale
        ratio = ma / mb
        df = np.maximum(g - 1, 1)
        var0 = va - 2 * null * cab + null * null * vb
        t0 = (ma - null * mb) / np.sqrt(var0)
        p = np.where(var0 > 0, 2 * sps.t.sf(np.abs(t0), df), np.where(ma - null * mb == 0, 1.0, 0.0))
        q2 = _t975(g) ** 2
        quad, lin, const = mb * mb - q2 * vb, -2 * (ma * mb - q2 * cab), ma * ma - q2 * va
        root = np.sqrt(np.maximum(lin * lin - 4 * quad * const, 0.0))
        low, high = (-lin - root) / (2 * quad), (-lin + root) / (2 * quad)
        bounded = quad > 0  # the denominator's mean clearly above 0: a bounded Fieller interval
        nonneg = np.all(~valid | ((sums["num"] >= 0) & (sums["den"] >= 0)), axis=1)
        low = np.where(bounded, np.where(nonneg, np.maximum(low, 0.0), low), -np.inf)
        high = np.where(bounded, high, np.inf)
        flat = (va + vb) <= 0  # the same ratio in every polytope: [R, R]
        low, high = np.where(flat, ratio, low), np.where(flat, ratio, high)
        p = np.where(flat, np.where(ratio == null, 1.0, 0.0), p)
        ok = (g >= 2) & (mb != 0)
        return Replicates(np.where(mb != 0, ratio, np.nan), np.where(ok, low, np.nan), np.where(ok, high, np.nan),
                          np.where(ok, p, np.nan))


def slope_replicates(sums: Mapping[str, np.ndarray], count: np.ndarray) -> Replicates:
    """The pooled least-squares slope of "v" on "x" with a polytope-clustered (CR1) standard
    error and t on G-1 df: stats.slope_interval's slope and SE, with t quantiles where one
    table uses the studentized polytope bootstrap's (tests/test_replicate.py)."""
    sx, sy, sxx, sxy = (sums[k] for k in ("x", "v", "xx", "xv"))
    g = (count > 0).sum(axis=1)
    n = count.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xbar, ybar = sx.sum(axis=1) / n, sy.sum(axis=1) / n
        sxx_c = sxx.sum(axis=1) - n * xbar ** 2
        b = (sxy.sum(axis=1) - n * xbar * ybar) / sxx_c
        a = ybar - b * xbar
        # per slot: the sum over its runs of (x - xbar) * residual
        score = (sxy - a[:, None] * sx - b[:, None] * sxx) - xbar[:, None] * (sy - a[:, None] * count - b[:, None] * sx)
        se = np.sqrt((score ** 2).sum(axis=1) / sxx_c ** 2 * g / np.maximum(g - 1, 1))
        p = np.where(g >= 2, 2 * sps.t.sf(np.abs(b / se), np.maximum(g - 1, 1)), np.nan)
    tq = _t975(g)
    return Replicates(b, b - tq * se, b + tq * se, p)


# -- every run agrees on a yes/no outcome -----------------------------------------------------------
def all_agree(values: np.ndarray) -> bool:
    """Every unit has the same yes/no value (0 or 1)."""
    return bool(values.size and np.ptp(values) == 0 and set(np.unique(values)) <= {0.0, 1.0})


def agreement(k: int, g: int, null: float, p: float) -> tuple[float, stats.Interval]:
    """The p and 95% CI when every run agrees on a yes/no outcome, k of g polytopes saying
    yes (k = 0 or g). The bootstrap has nothing to resample then, and a t-test would say
    p = 0 at any size: the polytopes are counted instead, with an exact binomial test against
    the null share (when the null is a share strictly between 0 and 1; else `p` stands) and
    Wilson's interval (`agreeing_interval`). The one implementation: evaluate and power use it,
    the report its interval."""
    if 0 < null < 1:
        p = float(sps.binomtest(k, g, null).pvalue)
    return p, agreeing_interval(k, g)


def agreeing_interval(k: int, g: int) -> stats.Interval:
    """The 95% interval of a yes/no share on which every run agrees, k of g polytopes saying
    yes: Wilson's, with the polytopes (not the runs) as n."""
    return stats.proportion_ci(k, g)


@dataclass(frozen=True)
class EmptyShare:
    """How many units a zero count left undefined (units.Empty: `model`'s `column`, for want
    of `what`), as an outcome: `n_empty` of the `n` units that passed the inclusion rule, on
    `polytopes_empty` of `n_polytopes` polytopes, and the mean over polytopes of each one's
    share, with its 95% interval on the polytope shares (stats.mean_interval; Wilson's over
    polytopes when every unit agrees, as `agreement`), clipped to [0, 1]."""

    model: str
    column: str
    what: str
    unit: str
    n_empty: int
    n: int
    polytopes_empty: int
    n_polytopes: int
    share: float
    ci: stats.Interval
    method: str

    def as_dict(self) -> dict:
        return {"model": self.model, "column": self.column, "what": self.what, "unit": self.unit,
                "n_empty": self.n_empty, "n": self.n, "polytopes_empty": self.polytopes_empty,
                "n_polytopes": self.n_polytopes, "share": self.share, "ci_low": self.ci.low, "ci_high": self.ci.high,
                "method": self.method}


def empty_share(e) -> EmptyShare:
    """The outcome of a units.Empty: count, share on polytopes and its interval."""
    flag = np.asarray(e.empty, dtype=float)
    poly = np.asarray(e.polytope)
    g = int(np.unique(poly).size)
    hit = int(np.unique(poly[flag == 1.0]).size)
    if flag.size and all_agree(flag):
        share, method = float(flag[0]), "all units agree: Wilson interval, n = polytopes"
        ci = agreeing_interval(g if share == 1.0 else 0, g)
    else:
        m = stats.mean_interval(flag, poly)
        share, method, ci = m.estimate, m.method, stats.Interval(m.ci.low, m.ci.high)
    ci = stats.Interval(min(max(ci.low, 0.0), 1.0), min(max(ci.high, 0.0), 1.0))  # a share's interval, in [0, 1]
    return EmptyShare(e.model, e.column, e.what, e.unit, int(flag.sum()), int(flag.size), hit, g, float(share),
                      ci, method)


def agreeing_replicates(rep: Replicates, sums: Mapping[str, np.ndarray], count: np.ndarray,
                        null: float) -> Replicates:
    """`rep` with `agreement` in each resampled study where every unit is 1 (sums "ones") or
    every unit is 0 (sums "zeros"), as `verdicts.assess` does on one table."""
    valid = count > 0
    g = valid.sum(axis=1)
    enough = count.sum(axis=1) >= 2
    yes = enough & np.all(~valid | (sums["ones"] == count), axis=1)
    no = enough & np.all(~valid | (sums["zeros"] == count), axis=1)
    rows = np.flatnonzero(yes | no)
    if rows.size == 0:
        return rep
    p, lo, hi = rep.p_value.copy(), rep.ci_low.copy(), rep.ci_high.copy()
    done: dict[tuple[int, int, float], tuple[float, stats.Interval]] = {}
    for r in rows:
        k = int(g[r]) if yes[r] else 0
        key = (k, int(g[r]), float(p[r]))
        if key not in done:
            done[key] = agreement(k, int(g[r]), null, float(p[r]))
        p[r], ci = done[key]
        lo[r], hi[r] = ci.low, ci.high
    return Replicates(rep.estimate, lo, hi, p, rep.means, rep.beyond_margin_p, rep.p_equivalent)


# -- equivalence ------------------------------------------------------------------------------------
def decision_p(p_equivalent: float, p_beyond: float) -> float:
    """An equivalence claim's one p: that of the side its interval points to, inside the
    margins or past one (the two cannot both be below alpha: the interval cannot lie both
    inside and wholly outside). Each word's error is bounded by its own test, as a direction
    claim's two-sided p decides either side; Holm adjusts this p with the family. NaN when
    neither was computed (p_equivalent alone is NaN below the polytopes equivalence needs)."""
    return float(np.fmin(p_equivalent, p_beyond))


def equivalence_replicates(pm: np.ndarray, margin: tuple[float, float],
                           alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """stats.equivalence on R studies at once from their polytope means pm (R, G; NaN = empty
    slot): the interval (low, high), p_equivalent, p_beyond and `decision_p` (R,) each, with
    t_{G-1} quantiles where one table gets the studentized bootstrap's (R x B bootstraps
    would be too many), the same 2 x one-sided p's and the same refusal below
    stats.EQUIVALENCE_MIN_POLYTOPES. The t quantiles ignore skew, so power read this way is
    somewhat optimistic for equivalence on skewed differences (tests/test_replicate.py)."""
    low, high = margin
    mean, se, df, p = mean_rows(pm, 0.0)
    dfm = np.maximum(df, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_low, t_high = (mean - low) / se, (mean - high) / se
        p_eq = np.minimum(1.0, 2 * np.maximum(sps.t.sf(t_low, dfm), sps.t.cdf(t_high, dfm)))
        p_beyond = np.minimum(1.0, 2 * np.minimum(sps.t.cdf(t_low, dfm), sps.t.sf(t_high, dfm)))
        tq = sps.t.ppf(1 - alpha / 2, dfm)
        lo, hi = mean - tq * se, mean + tq * se
    flat = se == 0  # every polytope mean alike: inside, beyond or on a margin, decided
    inside, beyond = (mean > low) & (mean < high), (mean < low) | (mean > high)
    p_eq = np.where(flat, np.where(inside, 0.0, 1.0), p_eq)
    p_beyond = np.where(flat, np.where(beyond, 0.0, 1.0), p_beyond)
    few = (df + 1 < stats.EQUIVALENCE_MIN_POLYTOPES) & ~flat & ~(p_beyond < alpha)
    untested = np.isnan(p)
    p_eq = np.where(few | untested, np.nan, p_eq)
    p_beyond = np.where(untested, np.nan, p_beyond)
    return lo, hi, p_eq, p_beyond, np.fmin(p_eq, p_beyond)


DESCRIPTIVE_SEED = 0  # the bootstrap of the report's descriptive intervals: same data, same page


def descriptive_mean(values: np.ndarray, clusters: np.ndarray, share: bool = False) -> tuple[float, float, float, str]:
    """Mean of per-run values with its 95% two-level cluster-bootstrap interval (clusters:
    polytopes), for the report's descriptive tables (no verdict reads it). A share on which
    every run agrees gets Wilson's interval with the number of polytopes as n, since the
    bootstrap would collapse to a point."""
    values = np.asarray(values, dtype=float)
    clusters = np.asarray(clusters)
    ok = np.isfinite(values)
    values, clusters = values[ok], clusters[ok]
    nan = float("nan")
    if values.size == 0:
        return nan, nan, nan, "no runs"
    est = float(values.mean())
    if values.size < 2:
        return est, nan, nan, "one run"
    if share and all_agree(values):
        g = np.unique(clusters).size
        ci = agreeing_interval(g if values[0] == 1 else 0, g)
        return est, ci.low, ci.high, "all runs agree: Wilson interval, n = polytopes"
    if np.ptp(values) == 0:
        return est, est, est, "identical in every run"
    res = stats.cluster_bootstrap(values, clusters, stats.weighted_mean(0), n_boot=stats.N_BOOT_T,
                                  rng=np.random.default_rng(DESCRIPTIVE_SEED))
    return res.estimate, res.ci.low, res.ci.high, res.note


# -- sections of the page ---------------------------------------------------------------------------
