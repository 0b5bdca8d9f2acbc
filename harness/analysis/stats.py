"""Statistics for claims on the run table: intervals and tests that respect the nesting of
seeds in polytopes, equivalence (TOST), dip tests, Holm, Wilson, and a random-intercept slope.

Pure functions: numpy arrays in, frozen result dataclasses out. Shapes used throughout:
n runs (units, one per (polytope, seed)), G polytopes (clusters), B bootstrap replicates;
`clusters` is an (n,) array of polytope labels of any sortable type, `data` is (n, k).
The reasons behind the choices are in ../shared/STATISTICS.md.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import struct
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import diptest
import numpy as np
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

# stat(weights (B, n), data (n, k)) -> (B,): a statistic of the data under each row of weights.
Stat = Callable[[np.ndarray, np.ndarray], np.ndarray]

# Without a Generator the bootstrap is seeded, not drawn from fresh entropy: same data, same report.
_DEFAULT_SEED = 0

# Values whose spread is below this fraction of their magnitude count as identical.
_REL_TOL = 1e-12


class _Result:
    """as_dict() for the result dataclasses: plain Python values, nested intervals as dicts."""

    def as_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.metadata.get("export", True)}


def _plain(value: object) -> object:
    if isinstance(value, _Result):
        return value.as_dict()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class Interval(_Result):
    """A confidence interval [low, high] at confidence `level`."""

    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)


@dataclass(frozen=True)
class BootstrapResult(_Result):
    """A statistic, its cluster-bootstrap interval and replicates (left out of repr and as_dict)."""

    estimate: float
    ci: Interval
    distribution: np.ndarray = field(repr=False, compare=False, metadata={"export": False})  # (B,)
    n_clusters: int = 0
    n_units: int = 0
    note: str = ""


@dataclass(frozen=True)
class TestResult(_Result):
    """A two-sided test of a mean; `method` says what was tested (and any fallback)."""

    __test__ = False  # not a pytest test class despite the name

    estimate: float
    p_value: float
    n_clusters: int
    n_units: int
    method: str


@dataclass(frozen=True)
class EquivalenceResult(_Result):
    """TOST of a mean against margins [low, high]; `note` says supported, refuted or undecided."""

    estimate: float
    ci90: Interval
    low: float
    high: float
    p_value: float
    equivalent: bool
    degenerate: bool
    note: str
    n_clusters: int
    n_units: int


@dataclass(frozen=True)
class SlopeResult(_Result):
    """The fixed slope of a random-intercept model, with the checks statsmodels #10239 calls for."""

    slope: float
    ci: Interval
    p_value: float
    group_var: float
    residual_var: float
    converged: bool
    warning: str
    n_groups: int
    n_units: int


# ---------------------------------------------------------------------------------------------
# Cluster bootstrap


def cluster_weights(clusters: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n) non-negative weights for n units from two-level resampling: draw the G
    clusters (polytopes) with replacement, then, for every drawn copy of a cluster, its units
    (seeds) with replacement. Weight = how many times a unit appears.

    Hand-written because scipy.stats.bootstrap has no cluster option. Vectorised over
    replicates: the copies of each cluster are one multinomial draw (B, G), and c copies of a
    cluster of m units, each resampled m times, are together one multinomial of c*m draws.
    """
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    index = index.ravel()
    n_clusters = int(index.max()) + 1
    copies = rng.multinomial(n_clusters, np.full(n_clusters, 1 / n_clusters), size=n_boot)  # (B, G)
    weights = np.zeros((n_boot, index.size))
    for g in range(n_clusters):  # loop over clusters, not replicates
        members = np.flatnonzero(index == g)
        m = members.size
        weights[:, members] = rng.multinomial(copies[:, g] * m, np.full(m, 1 / m))  # (B, m)
    return weights


def weighted_mean(col: int = 0) -> Stat:
    """Stat: the weighted mean of data[:, col], (W @ x) / W.sum(1), shape (B,)."""

    def stat(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
        return weights @ data[:, col] / weights.sum(axis=1)

    return stat


def ratio_of_means(num_col: int = 0, den_col: int = 1) -> Stat:
    """Stat: mean(data[:, num_col]) / mean(data[:, den_col]) under the weights, shape (B,).
    A denominator that resamples to 0 gives +-inf (or NaN for 0/0), never an exception."""

    def stat(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (weights @ data[:, num_col]) / (weights @ data[:, den_col])

    return stat


def cluster_bootstrap(data: np.ndarray, clusters: np.ndarray, stat: Stat, n_boot: int = 4000,
                      level: float = 0.95, rng: np.random.Generator | None = None,
                      log_scale: bool = False) -> BootstrapResult:
    """Two-level cluster bootstrap of `stat` on data (n, k) (or (n,)), clusters (n,).

    stat(weights (B, n), data (n, k)) -> (B,); it is also called with weights of shape (1, n)
    of ones for the point estimate. Rows with a NaN are left out (counted in `note`).

    What the interval covers: the value of the statistic over the population of polytopes
    and seeds, i.e. a study on new polytopes with new seeds, not only new seeds on these
    polytopes (with a single polytope it falls back to new seeds on that one, and says so).

    Interval: Hesterberg's expanded percentile interval (Hesterberg 2015, "What teachers
    should know about the bootstrap", Am. Stat. 69:371), with the number of polytopes G as
    the sample size, because the polytope is the independent unit. A plain percentile
    interval under-covers with ~10 polytopes: the bootstrap variance is (G-1)/G of the
    truth, and it uses normal rather than t_{G-1} tails. The expanded interval takes the
    percentiles at alpha'/2 and 1-alpha'/2 where z_{alpha'/2} = sqrt(G/(G-1)) t_{G-1, alpha/2},
    which for a mean is the t-interval on polytope means, while keeping the percentile
    interval's shape (skew) and its range (a share stays in [0, 1]). Resampling seeds as well
    adds within-polytope variance a second time, so the interval is conservative when few
    seeds per polytope carry much of the variance. Measured coverage of a mean at 95%, 1000
    studies each, 10 or 20 polytopes: 96.7-97.0% with 3 seeds and equal between/within sd,
    98.2-98.5% with 3 seeds and a between sd half the within; 94-97% with 10 or 30 seeds.

    log_scale: for ratios; the interval is built on log(stat) and mapped back. The estimate
    must be > 0. Replicates <= 0 (e.g. a numerator that resamples to <= 0) rank below every
    positive one (log = -inf, so a lower bound can be 0), +inf replicates (a denominator that
    resamples to 0) rank above every finite one; NaN replicates (0/0) are left out and counted.
    Percentiles are order statistics (numpy's "inverted_cdf"), so infinities never mix into
    an interpolation.
    """
    data = np.asarray(data, dtype=float)
    data = data[:, None] if data.ndim == 1 else data
    clusters = np.asarray(clusters)
    _check_same_length(data, clusters, "data")
    _check_level(level)
    if n_boot < 1:
        raise ValueError(f"`n_boot` must be a positive integer (got {n_boot})")
    notes = []
    keep = ~np.isnan(data).any(axis=1)
    if not keep.all():
        notes.append(f"{int((~keep).sum())} runs with NaN left out")
        data, clusters = data[keep], clusters[keep]
    n_units = len(data)
    if n_units < 2:
        raise ValueError(f"`data` needs at least 2 runs without NaN (got {n_units})")
    n_clusters = np.unique(clusters).size
    rng = np.random.default_rng(_DEFAULT_SEED) if rng is None else rng

    estimate = float(np.asarray(stat(np.ones((1, n_units)), data))[0])
    replicates = np.asarray(stat(cluster_weights(clusters, n_boot, rng), data), dtype=float)  # (B,)
    undefined = np.isnan(replicates)
    if undefined.any():
        notes.append(f"{int(undefined.sum())} of {n_boot} replicates undefined (NaN), left out")
    values = replicates[~undefined]
    if log_scale:
        if not estimate > 0:
            raise ValueError(f"log_scale needs a positive statistic (got estimate {estimate})")
        values = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)
    if n_clusters >= 2:
        sample_size = n_clusters
    else:
        sample_size = n_units
        notes.append("single polytope: the interval covers new seeds on it, not new polytopes")
    low, high = _expanded_percentile(values, sample_size, level)
    if log_scale:
        low, high = float(np.exp(low)), float(np.exp(high))
    return BootstrapResult(estimate=estimate, ci=Interval(low, high, level), distribution=replicates,
                           n_clusters=n_clusters, n_units=n_units, note="; ".join(notes))


def _expanded_percentile(values: np.ndarray, sample_size: int, level: float) -> tuple[float, float]:
    """Hesterberg's expanded percentile interval of bootstrap replicates (B,) for a sample of
    `sample_size` independent units; (NaN, NaN) when there are no replicates."""
    if values.size == 0:
        return float("nan"), float("nan")
    t_quantile = stats.t.ppf(0.5 + level / 2, sample_size - 1)
    tail = stats.norm.sf(np.sqrt(sample_size / (sample_size - 1)) * t_quantile)  # alpha' / 2
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


# ---------------------------------------------------------------------------------------------
# Tests of a mean


def cluster_mean_test(values: np.ndarray, clusters: np.ndarray, null: float = 0.0) -> TestResult:
    """Two-sided test that the mean of per-run values (n,) (e.g. paired differences or paired
    log ratios) equals `null`, with runs nested in clusters (n,).

    A one-sample t-test (scipy) on the G polytope means: the polytope is the independent unit,
    so the test holds its level whatever the between-polytope variance; the estimate is the
    mean of polytope means. NaN values are dropped. Fallbacks, named in `method`:
    all values identical -> p = 0 if they differ from `null`, 1 if equal (never NaN);
    a single polytope, or polytope means that are all equal while runs differ -> t-test on the
    runs; fewer than 2 runs -> no test, p = NaN (Holm leaves it out of the family).
    """
    values, clusters = _drop_nan(values, clusters)
    n_units, n_clusters = values.size, np.unique(clusters).size
    if n_units < 2:
        estimate = float(values[0]) if n_units else float("nan")
        return TestResult(estimate, float("nan"), n_clusters, n_units, "no test: fewer than 2 runs")
    if _identical(values):
        estimate = float(values[0])
        p_value = 1.0 if _equal(estimate, null) else 0.0
        return TestResult(estimate, p_value, n_clusters, n_units, f"no variance: identical in all {n_units} runs")
    sample, method = _test_sample(values, clusters, "one-sample t-test")
    p_value = float(stats.ttest_1samp(sample, null).pvalue)
    return TestResult(float(sample.mean()), p_value, n_clusters, n_units, method)


def tost(values: np.ndarray, clusters: np.ndarray, low: float, high: float, alpha: float = 0.05) -> EquivalenceResult:
    """Equivalence test (TOST) that the mean of per-run values (n,) lies inside [low, high],
    on the G polytope means (DescrStatsW.ttost_mean; same fallbacks as cluster_mean_test).

    Equivalent when p < alpha, i.e. the (1 - 2 alpha) CI (`ci90` at alpha = 0.05) lies inside
    the margins. Degenerate data (all values identical, e.g. a flip that changes nothing in
    any run) are decided explicitly: equivalent iff the common value is strictly inside the
    margins, degenerate=True, note "identical in all N runs". A NaN p is never equivalent.
    `note` also says whether a non-equivalent result is refuted (CI entirely outside the
    margins) or undecided (CI straddles a margin: underpowered, with how many times more
    polytopes would make the CI fit when the estimate itself lies inside).
    """
    if not low < high:
        raise ValueError(f"margins need `low` < `high` (got {low}, {high})")
    values, clusters = _drop_nan(values, clusters)
    n_units, n_clusters = values.size, np.unique(clusters).size
    level = 1 - 2 * alpha
    if n_units < 2:
        estimate = float(values[0]) if n_units else float("nan")
        return EquivalenceResult(estimate, Interval(float("nan"), float("nan"), level), low, high, float("nan"),
                                 False, False, "no test: fewer than 2 runs", n_clusters, n_units)
    if _identical(values):
        value = float(values[0])
        inside = low < value < high
        where = "inside" if inside else "outside"
        return EquivalenceResult(value, Interval(value, value, level), low, high, 0.0 if inside else 1.0, inside,
                                 True, f"identical in all {n_units} runs ({value:g}, {where} the margins)",
                                 n_clusters, n_units)
    sample, method = _test_sample(values, clusters, "TOST")
    described = DescrStatsW(sample)
    p_value = float(described.ttost_mean(low, high)[0])
    ci = Interval(*map(float, described.tconfint_mean(alpha=2 * alpha)), level)
    estimate = float(sample.mean())
    equivalent = bool(p_value < alpha)
    if equivalent:
        verdict = "equivalent: CI inside the margins"
    elif ci.low >= high or ci.high <= low:
        verdict = "refuted: CI entirely outside the margins"
    elif low < estimate < high:
        factor = ((ci.high - ci.low) / 2 / min(estimate - low, high - estimate)) ** 2
        verdict = f"undecided (underpowered): about {factor:.1f}x the polytopes would fit the CI inside the margins"
    else:
        verdict = "undecided: the estimate lies outside the margins but the CI reaches inside"
    return EquivalenceResult(estimate, ci, low, high, p_value, equivalent, False, f"{method}; {verdict}",
                             n_clusters, n_units)


def _test_sample(values: np.ndarray, clusters: np.ndarray, test: str) -> tuple[np.ndarray, str]:
    """The sample a t-based test runs on: the polytope means (G,), or the runs (n,) when there
    is one polytope or the polytope means do not vary; and the method line that says which."""
    labels, index = np.unique(clusters, return_inverse=True)
    means = np.bincount(index.ravel(), weights=values) / np.bincount(index.ravel())  # (G,)
    if labels.size >= 2 and not _identical(means):
        return means, f"{test} on {labels.size} polytope means"
    why = "a single polytope" if labels.size < 2 else "polytope means all equal"
    return values, f"{test} on {values.size} runs ({why}: covers new seeds, not new polytopes)"


def _drop_nan(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, clusters = np.asarray(values, dtype=float).ravel(), np.asarray(clusters).ravel()
    _check_same_length(values, clusters, "values")
    keep = ~np.isnan(values)
    return values[keep], clusters[keep]


def _identical(x: np.ndarray) -> bool:
    return bool(np.ptp(x) <= _REL_TOL * np.abs(x).max())


def _equal(a: float, b: float) -> bool:
    return abs(a - b) <= _REL_TOL * max(abs(a), abs(b))


def _check_same_length(data: np.ndarray, clusters: np.ndarray, name: str) -> None:
    if clusters.ndim != 1 or len(clusters) != len(data):
        raise ValueError(f"`clusters` must be 1-D with one label per row of `{name}` "
                         f"(got {clusters.shape} for {np.shape(data)})")


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1) (got {level})")


# ---------------------------------------------------------------------------------------------
# Intervals on polytope means, calibrated (tests/test_calibration.py, tests/calibration/)
#
# The polytope is the independent unit, so everything below works on the G polytope means
# (a few numbers per polytope), never on resampled runs: seed noise is counted once (it is
# already in each polytope's mean; resampling seeds as well counts it twice and covered
# 99.3-99.8% at 95%); the interval and the p-value come from one procedure, so the null lies
# outside the interval exactly when p < 1 - level; and memory grows with G, not runs x B.

# Studentized-bootstrap resamples. B + 1 is odd, so a bootstrap p (a multiple of 2 / (B + 1))
# is never exactly 0.05; the smallest two-sided p is 2 / (B + 1) = 5e-4, small enough for
# Holm over a family of up to 100 claims.
N_BOOT_T = 4000

# Resampled polytope indices held at once (chunk x G values): bounds memory for any table.
_CHUNK_VALUES = 1 << 20

# Fewer polytopes than this never show equivalence: the smallest multiple of 15 at which the
# error rate at a margin was at most 5% in 4000 studies on the real units of every equivalence
# claim of the default 2 x 150 study (equivalence(), tests/calibration, whose cached cells
# give the figures): below it soft(0.5)-keeps-accuracy said "equivalent" in 23% of studies at
# 10 polytopes and 11% at 30, and soft(1)-as-flat-as-lp's right tail kept it near 6% from 45
# to 75 polytopes.
EQUIVALENCE_MIN_POLYTOPES = 90


@dataclass(frozen=True)
class Estimate(_Result):
    """A statistic, its interval and the p-value of `null`, all from one procedure (`method`):
    `null` lies outside `ci` exactly when p_value < 1 - ci.level."""

    estimate: float
    ci: Interval
    p_value: float
    null: float
    n_clusters: int
    n_units: int
    method: str
    note: str = ""


@dataclass(frozen=True)
class Equivalence(_Result):
    """An equivalence test of a mean against margins (low, high), read off one interval `ci`:
    `outcome` is "equivalent" when ci lies inside the margins (p_equivalent < alpha), "beyond
    the margins" when it lies wholly on one side of them (p_beyond < alpha), else "undecided";
    `note` says which and, when the data are too few, about how many more polytopes."""

    estimate: float
    ci: Interval
    low: float
    high: float
    p_equivalent: float
    p_beyond: float
    outcome: str
    n_clusters: int
    n_units: int
    method: str
    note: str = ""


def polytope_means(values: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each polytope's mean of `values` ((n,) -> (G,), or (n, k) -> (G, k)) and its number of
    runs (G,), polytopes in sorted label order: the summaries every interval here is built on."""
    values, clusters = np.asarray(values, dtype=float), np.asarray(clusters)
    _check_same_length(values, clusters, "values")
    _, index = np.unique(clusters, return_inverse=True)
    index = index.ravel()
    counts = np.bincount(index)
    if values.ndim == 1:
        return np.bincount(index, weights=values) / counts, counts
    sums = np.stack([np.bincount(index, weights=column) for column in values.T], axis=1)  # (G, k)
    return sums / counts[:, None], counts


def mean_interval(values: np.ndarray, clusters: np.ndarray, null: float = 0.0, level: float = 0.95) -> Estimate:
    """The mean of polytope means of per-run values (n,) (runs nested in polytopes, `clusters`
    (n,)), its t-interval and the t-test of `null`: one procedure, scipy.stats.ttest_1samp on
    the G polytope means (its pvalue and confidence_interval(level)).

    The interval covers the mean over the population of polytopes of each polytope's mean over
    seeds: a study on new polytopes. Measured coverage of the 95% interval (tests/calibration,
    2000 studies a cell): 93.8-96.0% on skewed, tied values, balanced or unbalanced (as after
    exclusions), between/within SD ratio 0-1, 5-30 polytopes; the same on log ratios (the
    geometric-mean ratio). Its limit: a strongly skewed polytope effect (exponential, as large
    as the seed noise) covers 88.5-93.5% at 5-30 polytopes (skewness 1: 93.1-94.6%).

    Fallbacks, named in `method`: all values identical -> [v, v] and p = 0 or 1; one polytope,
    or polytope means all equal while runs differ -> the t-test on the runs (it covers new
    seeds, not new polytopes); fewer than 2 runs -> NaN. NaN values are dropped.
    """
    _check_level(level)
    values, clusters = _drop_nan(values, clusters)
    n_units, n_clusters = values.size, np.unique(clusters).size
    if n_units < 2:
        estimate = float(values[0]) if n_units else float("nan")
        nan = float("nan")
        return Estimate(estimate, Interval(nan, nan, level), nan, null, n_clusters, n_units, "no test: fewer than 2 runs")
    if _identical(values):
        return _constant(float(values[0]), null, level, n_clusters, n_units)
    sample, method = _test_sample(values, clusters, "t-test")
    result = stats.ttest_1samp(sample, null)
    ci = result.confidence_interval(level)
    return Estimate(float(sample.mean()), Interval(float(ci.low), float(ci.high), level), float(result.pvalue), null,
                    n_clusters, n_units, method)


def _constant(value: float, null: float, level: float, n_clusters: int, n_units: int) -> Estimate:
    """Every run has the same value: nothing varies, so the interval is [value, value] and the
    test is decided, not computed (a t-test would divide by zero)."""
    p_value = 1.0 if _equal(value, null) else 0.0
    return Estimate(value, Interval(value, value, level), p_value, null, n_clusters, n_units,
                    f"constant: identical in all {n_units} runs")


def ratio_interval(num: np.ndarray, den: np.ndarray, clusters: np.ndarray, null: float = 1.0, level: float = 0.95,
                   n_boot: int = N_BOOT_T, rng: np.random.Generator | None = None) -> Estimate:
    """The ratio of means over paired runs, R = mean_g(num_g) / mean_g(den_g) on polytope means
    (num, den, clusters: (n,)), with Fieller's interval studentized by a polytope bootstrap,
    and the p of `null` from the same procedure.

    Fieller (1954): r is in the interval when the polytope-level contrast a_g - r b_g has an
    unremarkable mean, T(r) = (mean(a) - r mean(b)) / se(r) between two quantiles; the p of
    `null` is where T(null) falls. The quantiles are not t_{G-1}'s but those of T* for the
    pivot a_g - R b_g over resampled polytopes (studentized bootstrap, Davison & Hinkley 1997,
    sec. 5.2): a skewed denominator (Linear's flat fraction: most polytopes near 0.03, some
    near 0.2) makes T skewed, and the t quantiles then cover 91-92% at 10 polytopes (measured).
    Measured coverage at 95% (tests/calibration, 2000 studies a cell): 93.7-95.8% from 5 to 30
    polytopes, balanced or not, polytope effects from none to an exponential one as large as
    the seed noise (Linear's across 59 polytopes: CV 1.03, skewness 2.2); a lognormal one of
    CV 1 (skewness 4) covers 92.2-94.5%. Hand-written: scipy.stats.bootstrap offers
    percentile, basic and BCa (BCa covered 80-92% here), no studentized interval, and neither
    scipy nor statsmodels has Fieller's.

    A bound is infinite where the denominator's mean is not clearly above 0 at that level
    (T never reaches the quantile), as Fieller's is; with non-negative data the lower bound is
    at least 0. A ratio that is the same in every polytope gives [R, R]. Rows with a NaN are
    dropped; a single polytope falls back to runs as units (new seeds, not new polytopes).
    """
    _check_level(level)
    if n_boot < 1:
        raise ValueError(f"`n_boot` must be a positive integer (got {n_boot})")
    data = np.column_stack([np.asarray(num, dtype=float).ravel(), np.asarray(den, dtype=float).ravel()])  # (n, 2)
    clusters = np.asarray(clusters).ravel()
    _check_same_length(data, clusters, "num")
    keep = ~np.isnan(data).any(axis=1)
    data, clusters = data[keep], clusters[keep]
    n_units, n_clusters = len(data), np.unique(clusters).size
    if n_clusters >= 2:
        pairs, _ = polytope_means(data, clusters)  # (G, 2)
        method = f"Fieller interval, studentized polytope bootstrap ({n_boot} resamples), {n_clusters} polytope means"
    else:
        pairs = data
        method = f"Fieller interval, studentized bootstrap over {n_units} runs (a single polytope: covers new seeds)"
    a, b = pairs[:, 0], pairs[:, 1]
    if n_units < 2 or b.mean() == 0:
        nan = float("nan")
        why = "fewer than 2 runs" if n_units < 2 else "the denominator's mean is 0"
        return Estimate(nan, Interval(nan, nan, level), nan, null, n_clusters, n_units, f"no test: {why}")
    if b.mean() < 0:  # the same ratio with a positive denominator
        a, b = -a, -b
    ratio = float(a.mean() / b.mean())
    pivot = a - ratio * b  # (G,): mean 0 at the estimate
    if np.ptp(pivot) <= _REL_TOL * (np.abs(a).max() + abs(ratio) * np.abs(b).max()):
        p_value = 1.0 if _equal(ratio, null) else 0.0
        return Estimate(ratio, Interval(ratio, ratio, level), p_value, null, n_clusters, n_units,
                        "constant: the same ratio in every polytope")
    moments = _fieller_moments(a, b)
    t_star = np.sort(_bootstrap_t(pivot, n_boot, np.random.default_rng(_DEFAULT_SEED) if rng is None else rng))
    lower_q, upper_q = _bootstrap_t_quantiles(t_star, level)
    (low, below), (high, above) = _fieller_bound(moments, upper_q), _fieller_bound(moments, lower_q)
    floor = 0.0 if (data >= 0).all() else -math.inf  # the ratio of non-negative means is >= 0
    low = max(low, floor)
    notes = []
    if math.isinf(high):
        notes.append("no upper bound at this level: too few polytopes, or a denominator not clearly above 0")
    pieces = ([f"[{floor:g}, {below:g}]"] if below is not None and below >= floor else []) + \
        ([f"[{above:g}, inf]"] if above is not None else [])
    if pieces:
        notes.append(f"the confidence set also holds {' and '.join(pieces)} (Fieller's two-piece case); "
                     "the interval is the piece holding the estimate")
    p_value = _bootstrap_p(t_star, _fieller_t(moments, null))
    return Estimate(ratio, Interval(low, high, level), p_value, null, n_clusters, n_units, method, "; ".join(notes))


def equivalence(values: np.ndarray, clusters: np.ndarray, low: float, high: float, alpha: float = 0.05,
                n_boot: int = N_BOOT_T, rng: np.random.Generator | None = None,
                min_polytopes: int | None = None) -> Equivalence:
    """Equivalence (TOST) of the mean of polytope means of per-run values (n,) with margins
    (low, high): each one-sided test at alpha / 2 against a studentized polytope bootstrap, so
    "equivalent" means the (1 - alpha) bootstrap-t interval lies inside the margins; and never
    on fewer than `min_polytopes` polytopes (default: EQUIVALENCE_MIN_POLYTOPES, read at the call).

    Why not the textbook TOST (t on polytope means, each side at alpha): real accuracy
    differences are skewed (mostly 0, a few large losses), and with the true mean on a margin
    it said "equivalent" in 6-12% of studies at 5-30 polytopes (tests/calibration). The
    bootstrap-t sees the skew, and one-sided alpha / 2 is ICH E9's convention for
    non-inferiority (a two-sided 95% interval). Together they hold the rate at <= 5% (+ Monte
    Carlo error) from 90 polytopes on, on the real units of every equivalence claim of the
    default 2 x 150 study, resampled and shifted onto the margin of their long tail. Below
    that, no procedure can: with 1-2 runs per polytope the polytope means of
    soft(1)-keeps-accuracy are skewed -5.6 (excess kurtosis 41), and a study of 8-30
    polytopes that misses the rare large losses looks equivalent while the mean sits on the
    margin (bootstrap-t 30% at 10 polytopes, 7% at 30; BCa, the plain t, Hall's and Johnson's
    skew-corrected t all above 5% at 30 too: tests/calibration/procedures.py), and soft(1)-as-flat-as-lp's right tail still gave about 6% at
    45 to 75. So the word is refused there (p_equivalent NaN, outcome "undecided", the note says
    why); "beyond the margins" is still said. On the 30-seed study's milder differences,
    resampled from its 10 polytopes, 8 sufficed (tests/calibration, stress cells).

    p_equivalent = 2 max(p of mean <= low, p of mean >= high) and p_beyond = 2 min(p of mean >=
    low, p of mean <= high), capped at 1: on the usual alpha scale, equivalent exactly when
    p_equivalent < alpha, beyond the margins exactly when p_beyond < alpha. All values
    identical: [v, v], equivalent iff low < v < high (at any size: nothing is skewed). The
    fallbacks are mean_interval's.
    """
    if not low < high:
        raise ValueError(f"margins need `low` < `high` (got {low}, {high})")
    min_polytopes = EQUIVALENCE_MIN_POLYTOPES if min_polytopes is None else min_polytopes
    level = 1 - alpha
    _check_level(level)
    values, clusters = _drop_nan(values, clusters)
    n_units, n_clusters = values.size, np.unique(clusters).size
    nan = float("nan")
    if n_units < 2:
        estimate = float(values[0]) if n_units else nan
        return Equivalence(estimate, Interval(nan, nan, level), low, high, nan, nan, "undecided", n_clusters, n_units,
                           "no test: fewer than 2 runs", "fewer than 2 runs")
    if _identical(values):
        value = float(values[0])
        inside, beyond = low < value < high, value < low or value > high
        outcome = "equivalent" if inside else "beyond the margins" if beyond else "undecided"
        return Equivalence(value, Interval(value, value, level), low, high, 0.0 if inside else 1.0,
                           0.0 if beyond else 1.0, outcome, n_clusters, n_units, f"constant: identical in all {n_units} runs",
                           f"identical in all {n_units} runs ({value:g}): {outcome}")
    sample, method = _test_sample(values, clusters, "TOST, studentized bootstrap")
    estimate = float(sample.mean())
    se = float(sample.std(ddof=1) / math.sqrt(sample.size))
    t_star = np.sort(_bootstrap_t(sample - estimate, n_boot, np.random.default_rng(_DEFAULT_SEED) if rng is None else rng))
    lower_q, upper_q = _bootstrap_t_quantiles(t_star, level)
    ci = Interval(estimate - upper_q * se, estimate - lower_q * se, level)
    t_low, t_high = (estimate - low) / se, (estimate - high) / se
    p_equivalent = min(1.0, 2 * max(_tail(t_star, t_low, "upper"), _tail(t_star, t_high, "lower")))
    p_beyond = min(1.0, 2 * min(_tail(t_star, t_low, "lower"), _tail(t_star, t_high, "upper")))
    if p_beyond >= alpha and n_clusters < min_polytopes:
        p_equivalent = nan
        outcome, why = "undecided", (f"{n_clusters} polytopes: equivalence is not decided on fewer than {min_polytopes}, "
                                     "where a skewed mean's tail can be missed")
    elif p_equivalent < alpha:
        outcome, why = "equivalent", f"the {level:.0%} interval lies inside the margins"
    elif p_beyond < alpha:
        outcome, why = "beyond the margins", f"the {level:.0%} interval lies wholly outside the margins"
    elif math.isinf(ci.high - ci.low):
        outcome, why = "undecided", f"too few polytopes ({sample.size}) for a finite interval"
    elif low < estimate < high:
        factor = ((ci.high - ci.low) / 2 / min(estimate - low, high - estimate)) ** 2
        outcome, why = "undecided", f"underpowered: about {factor:.1f}x the polytopes would fit the interval inside the margins"
    else:
        outcome, why = "undecided", "the estimate lies outside the margins but the interval reaches inside"
    return Equivalence(estimate, ci, low, high, p_equivalent, p_beyond, outcome, n_clusters, n_units, method,
                       f"{outcome}: {why}")


def _bootstrap_t(pivot: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """T* = mean / (sd / sqrt(G)) of the pivot values (G,) (centred here: the bootstrap
    population's mean is the null) over n_boot resamples of the G units, (n_boot,). A resample
    whose units are all alike has no spread: T* = 0 when its mean is 0, else +-inf."""
    pivot = pivot - pivot.mean()
    n_units = pivot.size
    scale = float(np.abs(pivot).max())

    def studentized(draws: np.ndarray) -> np.ndarray:
        resampled = pivot[draws]  # (chunk, G)
        mean, sd = resampled.mean(axis=1), resampled.std(axis=1, ddof=1)
        flat = sd <= _REL_TOL * scale
        with np.errstate(divide="ignore", invalid="ignore"):
            t = mean / (sd / math.sqrt(n_units))
        return np.where(flat, np.where(np.abs(mean) <= _REL_TOL * scale, 0.0, np.copysign(np.inf, mean)), t)

    return _resample(studentized, n_units, 1, n_boot, rng)


def _resample(statistic: Callable[[np.ndarray], np.ndarray], n_units: int, width: int, n_boot: int,
              rng: np.random.Generator) -> np.ndarray:
    """statistic(draws) over n_boot resamples of n_units units, (n_boot,): draws is a (chunk,
    n_units) array of unit indices drawn with replacement, a chunk at a time so that at most
    _CHUNK_VALUES x `width` values (what statistic gathers per draw) are held, for any number
    of units. The numbers do not depend on the chunk size: one stream of indices."""
    out = np.empty(n_boot)
    chunk = max(1, _CHUNK_VALUES // (n_units * width))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        out[start:stop] = statistic(rng.integers(0, n_units, size=(stop - start, n_units)))
    return out


def _slope_and_se(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and its cluster-robust (sandwich) SE from per-polytope sums (..., G,
    5) = (n, Sx, Sy, Sxx, Sxy) of the polytopes in a sample (repeats allowed): (...,) each.
    A polytope's score is sum_i (x_i - mean x) e_i with e the residuals, written in its sums;
    the variance is c x sum of squared scores / SSxx^2 with statsmodels' CR1 small-sample
    factor c = G / (G - 1) x (N - 1) / (N - 2), so the SE is its cluster SE (tested)."""
    n, sx, sy, sxx, sxy = np.moveaxis(sums, -1, 0)  # each (..., G)
    total = sums.sum(axis=-2)  # (..., 5)
    mean_x, mean_y = total[..., 1] / total[..., 0], total[..., 2] / total[..., 0]
    ss_xx = total[..., 3] - total[..., 0] * mean_x**2
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (total[..., 4] - total[..., 0] * mean_x * mean_y) / ss_xx
        mx, my, b = mean_x[..., None], mean_y[..., None], slope[..., None]
        score = sxy - mx * sy - my * sx + n * mx * my - b * (sxx - 2 * mx * sx + n * mx * mx)  # (..., G)
        n_clusters, n_runs = sums.shape[-2], total[..., 0]
        factor = n_clusters / (n_clusters - 1) * (n_runs - 1) / (n_runs - 2)
        se = np.sqrt(factor * (score * score).sum(axis=-1)) / ss_xx
    return slope, se


def slope_interval(y: np.ndarray, x: np.ndarray, clusters: np.ndarray, null: float = 0.0, level: float = 0.95,
                   n_boot: int = N_BOOT_T, rng: np.random.Generator | None = None) -> Estimate:
    """The least-squares slope of y on x (n,) over runs nested in polytopes (n,), its
    studentized polytope-bootstrap interval and the p of `null` from the same procedure.

    Each resample of polytopes gives a slope and its cluster-robust SE (polytopes as clusters),
    and T* = (slope* - slope) / se*; no normality, no random-effect variance to collapse (as
    statsmodels MixedLM's can, #10239). Every replicate is computed from five sums per
    polytope, so memory grows with polytopes, not runs x B (as a (B, runs) weight matrix of a
    two-level cluster bootstrap would). Rows with a NaN are dropped; x constant: no slope, NaN.

    Not calibrated to 93.5-96.5%: with x skewed and a skewed noise that grows with x
    (tests/calibration, stress cells) it covered 91.5-94.2% at 5-30 polytopes, where the
    cluster-robust t-interval covered 86.5-93% and MixedLM's Wald interval 75-79% (200-600
    studies a cell); the earlier percentile cluster bootstrap of the slope (seeds resampled
    within resampled polytopes) over-covered (97.5-99.5%) at runs x B memory.
    """
    _check_level(level)
    y, x, clusters = np.asarray(y, dtype=float).ravel(), np.asarray(x, dtype=float).ravel(), np.asarray(clusters).ravel()
    _check_same_length(y, clusters, "y")
    _check_same_length(x, clusters, "x")
    keep = ~(np.isnan(y) | np.isnan(x))
    y, x, clusters = y[keep], x[keep], clusters[keep]
    _, index = np.unique(clusters, return_inverse=True)
    n_units, n_clusters = y.size, int(index.max()) + 1 if y.size else 0
    nan = float("nan")
    if n_units < 3 or _identical(x):
        why = "fewer than 3 runs" if n_units < 3 else "x is the same in every run"
        return Estimate(nan, Interval(nan, nan, level), nan, null, n_clusters, n_units, f"no test: {why}")
    index = index.ravel() if n_clusters >= 2 else np.arange(n_units)
    x, y = x - x.mean(), y - y.mean()  # centring changes no slope, only the rounding
    sums = np.stack([np.bincount(index), np.bincount(index, x), np.bincount(index, y), np.bincount(index, x * x),
                     np.bincount(index, x * y)], axis=1).astype(float)  # (G, 5): n, Sx, Sy, Sxx, Sxy
    slope, se = (float(v) for v in _slope_and_se(sums))
    method = (f"least-squares slope, cluster-robust SE, studentized polytope bootstrap ({n_boot} resamples), "
              f"{n_clusters} polytopes" if n_clusters >= 2 else
              f"least-squares slope, studentized bootstrap over {n_units} runs (a single polytope: covers new seeds)")
    if not se > 0:
        p_value = 1.0 if _equal(slope, null) else 0.0
        return Estimate(slope, Interval(slope, slope, level), p_value, null, n_clusters, n_units,
                        "constant: every run on one line")

    def studentized(draws: np.ndarray) -> np.ndarray:
        b, s = _slope_and_se(sums[draws])  # (chunk,)
        with np.errstate(divide="ignore", invalid="ignore"):  # s = 0: one polytope drawn G times
            return (b - slope) / s

    t_star = _resample(studentized, len(sums), 5, n_boot, np.random.default_rng(_DEFAULT_SEED) if rng is None else rng)
    undefined = np.isnan(t_star)
    t_star = np.sort(t_star[~undefined])
    lower_q, upper_q = _bootstrap_t_quantiles(t_star, level)
    note = f"{int(undefined.sum())} of {n_boot} resamples with no slope (x constant), left out" if undefined.any() else ""
    return Estimate(slope, Interval(slope - upper_q * se, slope - lower_q * se, level),
                    _bootstrap_p(t_star, (slope - null) / se), null, n_clusters, n_units, method, note)


def _accept_count(n_boot: int, level: float) -> int:
    """The fewest replicates that must lie at or beyond a value on each side for a two-sided
    bootstrap p (_bootstrap_p) of at least 1 - level: the smallest c with 2 (c + 1) / (B + 1)
    >= 1 - level, found in the same floating-point arithmetic as the p itself."""
    alpha = 1 - level
    c = max(0, math.ceil(alpha * (n_boot + 1) / 2) - 1)
    while c > 0 and 2 * c / (n_boot + 1) >= alpha:
        c -= 1
    while 2 * (c + 1) / (n_boot + 1) < alpha:
        c += 1
    return c


def _bootstrap_t_quantiles(t_star: np.ndarray, level: float) -> tuple[float, float]:
    """Quantiles (lower, upper) of the sorted T* (B,) that bound the values whose two-sided
    bootstrap p is at least 1 - level: the interval they give is exactly the set of nulls not
    rejected at 1 - level (the c-th smallest and c-th largest replicate, _accept_count)."""
    c = _accept_count(t_star.size, level)
    if c == 0:
        return -math.inf, math.inf
    return float(t_star[c - 1]), float(t_star[t_star.size - c])


def _tail(t_star: np.ndarray, t: float, side: str) -> float:
    """One-sided bootstrap p of t against the sorted T* (B,): (#{T* >= t} + 1) / (B + 1) for
    side "upper", (#{T* <= t} + 1) / (B + 1) for "lower" (Davison & Hinkley 1997, eq. 4.11)."""
    count = t_star.size - np.searchsorted(t_star, t, side="left") if side == "upper" else np.searchsorted(t_star, t, side="right")
    return float((count + 1) / (t_star.size + 1))


def _bootstrap_p(t_star: np.ndarray, t: float) -> float:
    """Two-sided equal-tailed bootstrap p of t against the sorted T* (B,)."""
    return min(1.0, 2 * min(_tail(t_star, t, "lower"), _tail(t_star, t, "upper")))


def _fieller_moments(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float, float]:
    """(mean a, mean b, var of mean a, covariance of the means, var of mean b) for paired (G,)."""
    cov = np.cov(a, b, ddof=1) / a.size
    return float(a.mean()), float(b.mean()), float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])


def _fieller_t(moments: tuple[float, float, float, float, float], r: float) -> float:
    """Fieller's statistic T(r) = (mean a - r mean b) / se(mean a - r mean b)."""
    mean_a, mean_b, var_a, cov_ab, var_b = moments
    diff, var = mean_a - r * mean_b, var_a - 2 * r * cov_ab + r * r * var_b
    if var <= 0:
        return 0.0 if diff == 0 else math.copysign(math.inf, diff)
    return diff / math.sqrt(var)


def _fieller_bound(moments: tuple[float, float, float, float, float], q: float) -> tuple[float, float | None]:
    """Where the Fieller set ends on one side of the estimate R (mean b > 0): the r nearest R
    with T(r) = q, below R for q > 0 and above it for q < 0, or -inf / +inf when T never gets
    that far on that side (the denominator's mean is not clearly above 0). Moving away from R,
    T rises towards q and, having at most one turn, may fall back: then the set has a second
    piece beyond the far root (Fieller's two-piece case), returned as that root, else None."""
    mean_a, mean_b, var_a, cov_ab, var_b = moments
    if q == 0:
        return mean_a / mean_b, None
    if math.isinf(q):
        return (-math.inf if q > 0 else math.inf), None
    # (mean a - r mean b)^2 = q^2 var(r), i.e. quad r^2 + lin r + const = 0; a root is on the
    # asked side exactly when mean a - r mean b has the sign of q (then T(r) = q, not -q).
    quad, lin = mean_b**2 - q * q * var_b, -2 * (mean_a * mean_b - q * q * cov_ab)
    const = mean_a**2 - q * q * var_a
    if quad == 0:
        roots = [-const / lin] if lin != 0 else []
    else:
        disc = lin * lin - 4 * quad * const
        roots = [] if disc < 0 else [(-lin - math.sqrt(disc)) / (2 * quad), (-lin + math.sqrt(disc)) / (2 * quad)]
    side = sorted(r for r in roots if (mean_a - r * mean_b) * q > 0)
    if not side:
        return (-math.inf if q > 0 else math.inf), None
    if q > 0:
        return side[-1], (side[0] if len(side) == 2 else None)
    return side[0], (side[-1] if len(side) == 2 else None)


# ---------------------------------------------------------------------------------------------
# Unimodality


def dip_per_run(samples: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hartigan's dip statistic and its p-value (diptest.diptest, interpolated table) per run:
    samples is a list of 1-D arrays (one per run, NaNs dropped); returns dips (runs,) and
    p-values (runs,), NaN for runs with fewer than 4 points.

    diptest pitfall: p-values below the table print as exactly 0.0 (diptest #45), and very
    unimodal samples give exactly 1.0; they are returned as they are, so a caller that
    combines them (a Stouffer z, say) must clip them away from 0 and 1 first."""
    dips = np.full(len(samples), np.nan)
    p_values = np.full(len(samples), np.nan)
    for i, sample in enumerate(samples):  # diptest takes one sample at a time
        x = np.asarray(sample, dtype=float).ravel()
        x = x[~np.isnan(x)]
        if x.size >= 4:
            dips[i], p_values[i] = diptest.diptest(x)
    return dips, p_values


# ---------------------------------------------------------------------------------------------
# The mesa shape


# The mesa criterion's settings, declared once (tests/calibration measures them; README has
# the reasons): on log10 of the gradient norm, floored at MESA_FLOOR x the flat threshold,
# a Gaussian kernel density of sd MESA_BANDWIDTH must have a peak below the threshold and a
# mode above it, the density between them must fall below MESA_DIP x the lower of the two,
# and at least MESA_MIN_SPIKE of the run's points must lie in the spike.
MESA_FLOOR = 0.01  # gradient norms below 1% of the flat threshold count as zero
MESA_BANDWIDTH = 0.2  # kernel sd, log10 units: a factor of 1.58
MESA_DIP = 0.25
MESA_MIN_SPIKE = 0.10
_MESA_GRID = 512


@dataclass(frozen=True)
class MesaShape(_Result):
    """One run's gradient norms against the mesa criterion (mesa_shape). The spike, mode and
    dip describe the spike-mode pair that decided (the deepest dip when none qualifies); they
    are NaN when the density has no peak on one side of the threshold."""

    mesa: bool
    spike_share: float  # share of points below both the dip and the threshold
    spike_at: float  # gradient norm at the spike's peak
    mode_at: float  # gradient norm at the highest peak above the threshold
    dip_ratio: float  # density at the dip / the lower of the two peaks
    n_points: int


def mesa_shape(sample: np.ndarray, threshold: float) -> MesaShape:
    """Does one run's interior gradient-norm sample (points,) have a mesa: a spike below the
    flat `threshold` (config Measure.flat_threshold) and a separate mode above it?

    A Gaussian kernel density (bandwidth declared as MESA_BANDWIDTH) on the log scale, where
    a mesa's near-zero gradients (1e-7 to 0.5 in Lp runs) form one spike and the rest one
    broad mode; the floor (MESA_FLOOR) gathers exact and numerical zeros.
    Why not the dip test: a ReLU network's gradient is constant on each linear region, so a
    run's ~90 points take ~45 values with multiplicities, and Hartigan's dip rejects 80% of
    such unimodal samples. Measured (tests/calibration, 1000 samples a cell): unimodal samples
    of 54 or 93 points snapped to 45 or 100 regions are called a mesa at most 3.8% of the time
    (11 shapes: exponential, gamma, lognormal, Weibull, uniform, half-normal, Linear-like); a
    spike holding 10%, 20%, 30% of the points is found 38-41%, 93-94%, 98% of the time. Real
    runs (default study): Lp 80.5%, Linear 1.7%, Linear with no flat point 0%. Fewer than 4
    points, or no point on one side of the threshold: not a mesa.
    """
    x = np.asarray(sample, dtype=float).ravel()
    x = x[~np.isnan(x)]
    nan = float("nan")
    none = MesaShape(False, nan, nan, nan, nan, int(x.size))
    if x.size < 4 or not (x < threshold).any() or not (x >= threshold).any():
        return none
    z = np.log10(np.maximum(x, MESA_FLOOR * threshold))  # (points,)
    grid = np.linspace(z.min() - 3 * MESA_BANDWIDTH, z.max() + 3 * MESA_BANDWIDTH, _MESA_GRID)
    f = _gaussian_density(z, grid, MESA_BANDWIDTH)  # (grid,)
    peaks = np.flatnonzero((f[1:-1] > f[:-2]) & (f[1:-1] >= f[2:])) + 1
    cut = math.log10(threshold)
    spikes, modes = peaks[grid[peaks] < cut], peaks[grid[peaks] >= cut]
    if spikes.size == 0 or modes.size == 0:
        return none
    mode = modes[np.argmax(f[modes])]
    best = None
    for spike in spikes:  # a few peaks at most
        dip = spike + int(np.argmin(f[spike:mode + 1]))
        ratio = float(f[dip] / min(f[spike], f[mode]))
        share = float(np.mean(z < min(grid[dip], cut)))
        candidate = (ratio <= MESA_DIP and share >= MESA_MIN_SPIKE, -ratio, share, spike)
        best = candidate if best is None or candidate[:2] > best[:2] else best
    mesa, neg_ratio, share, spike = best
    return MesaShape(bool(mesa), share, float(10 ** grid[spike]), float(10 ** grid[mode]), -neg_ratio, int(x.size))


def _gaussian_density(points: np.ndarray, grid: np.ndarray, bandwidth: float) -> np.ndarray:
    """The Gaussian kernel density of points (n,) at grid (m,) by its definition, the mean of
    normal densities centred on the points: what scipy.stats.gaussian_kde(points, bandwidth /
    sd) evaluates to (tested), without its BLAS solve, which costs up to 25 ms a run on a busy
    machine against 1 ms here."""
    u = (grid[:, None] - points[None, :]) / bandwidth  # (m, n)
    return np.exp(-0.5 * u * u).mean(axis=1) / (bandwidth * math.sqrt(2 * math.pi))


def mesa_per_run(samples: Sequence[np.ndarray], threshold: float) -> np.ndarray:
    """mesa_shape per run: 1.0 for a mesa, 0.0 for none, NaN for runs with fewer than 4 points;
    samples is a list of 1-D arrays (one per run), the result (runs,)."""
    out = np.full(len(samples), np.nan)
    for i, sample in enumerate(samples):  # one density per run
        x = np.ascontiguousarray(sample, dtype=float)
        # Content-addressed memo (the sample's bytes and the threshold): a pure function of
        # them, recomputed at every look of a sequential study for every earlier run otherwise.
        memo_key = hashlib.blake2b(x.tobytes(), digest_size=16, key=struct.pack("<d", threshold)).digest()
        if memo_key not in _MESA_MEMO:
            if len(_MESA_MEMO) >= _MESA_MEMO_MAX:
                _MESA_MEMO.clear()
            result = mesa_shape(x, threshold)
            _MESA_MEMO[memo_key] = float(result.mesa) if result.n_points >= 4 else float("nan")
        out[i] = _MESA_MEMO[memo_key]
    return out


_MESA_MEMO: dict[bytes, float] = {}
_MESA_MEMO_MAX = 500_000  # about 60 MB; cleared when full


# ---------------------------------------------------------------------------------------------
# Multiplicity, proportions, percentiles


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels multipletests), same order and shape (m,); NaNs stay
    NaN and are not counted in the family."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        adjusted[tested] = multipletests(p[tested], method="holm")[1]
    return adjusted


def proportion_ci(k: int, n: int, level: float = 0.95) -> Interval:
    """Wilson interval for k successes in n trials (statsmodels proportion_confint)."""
    _check_level(level)
    if not 0 <= k <= n or n < 1:
        raise ValueError(f"need 0 <= `k` <= `n` and `n` >= 1 (got k={k}, n={n})")
    low, high = proportion_confint(k, n, alpha=1 - level, method="wilson")
    return Interval(float(low), float(high), level)


def percentile_of(value: float, sample: np.ndarray) -> float:
    """Where `value` falls in the per-run sample (n,), in percent (scipy percentileofscore,
    kind='mean': ties count half). NaNs in the sample are dropped; NaN value or no data -> NaN."""
    x = np.asarray(sample, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if np.isnan(value) or x.size == 0:
        return float("nan")
    return float(stats.percentileofscore(x, value, kind="mean"))


# ---------------------------------------------------------------------------------------------
# Slopes


def mixed_slope(y: np.ndarray, x: np.ndarray, groups: np.ndarray, level: float = 0.95) -> SlopeResult:
    """Random-intercept model y ~ x + (1 | group) fitted by REML (statsmodels MixedLM); y, x,
    groups are (n,), rows with a NaN in y or x dropped. Returns the fixed slope, its Wald CI and
    p, the group (random-intercept) and residual variances and the converged flag.

    statsmodels can report "converged" with the group variance collapsed to zero and
    misleading fixed effects (statsmodels #10239): `warning` says so when the group variance
    is below 1e-3 of the residual variance (REML often stops near the boundary, ~1e-5, rather
    than on it), and repeats every warning statsmodels raised during the fit
    (ConvergenceWarning and others); compare with slope_interval.
    """
    _check_level(level)
    y, x, groups = np.asarray(y, dtype=float), np.asarray(x, dtype=float), np.asarray(groups)
    _check_same_length(y, groups, "y")
    _check_same_length(x, groups, "x")
    keep = ~(np.isnan(y) | np.isnan(x))
    y, x, groups = y[keep], x[keep], groups[keep]
    exog = np.column_stack([np.ones(y.size), x])  # (n, 2): intercept, slope
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = MixedLM(y, exog, groups=groups).fit(reml=True)
    group_var, residual_var = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
    problems = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    if group_var <= 1e-3 * residual_var:
        problems.insert(0, f"random-intercept variance collapsed to ~0 ({group_var:.3g}), statsmodels #10239: "
                           "check against slope_interval")
    low, high = np.asarray(fit.conf_int(alpha=1 - level))[1]
    return SlopeResult(slope=float(fit.fe_params[1]), ci=Interval(float(low), float(high), level),
                       p_value=float(fit.pvalues[1]), group_var=group_var, residual_var=residual_var,
                       converged=bool(fit.converged), warning="; ".join(problems),
                       n_groups=np.unique(groups).size, n_units=int(y.size))
