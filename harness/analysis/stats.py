"""Statistics for claims on the run table: intervals and tests that respect the nesting of
seeds in polytopes, equivalence (TOST), dip tests, Holm, Wilson, and a random-intercept slope.

Pure functions: numpy arrays in, frozen result dataclasses out. Shapes used throughout:
n runs (units, one per (polytope, seed)), G polytopes (clusters), B bootstrap replicates;
`clusters` is an (n,) array of polytope labels of any sortable type, `data` is (n, k).
The reasons behind the choices are in ../shared/STATISTICS.md.
"""
from __future__ import annotations

import dataclasses
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

# diptest reports tiny p-values as 0.0 (diptest issue #45) and very unimodal samples as 1.0;
# either end turns a Stouffer z into +-inf (and inf - inf into NaN), so p is clipped first.
P_FLOOR = 1e-16

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
class DipResult(_Result):
    """Per-run dip tests and their summary over runs."""

    share_multimodal: float
    ci: Interval
    combined_p: float
    n_runs: int
    dips: np.ndarray = field(repr=False, compare=False)  # (runs,)
    p_values: np.ndarray = field(repr=False, compare=False)  # (runs,)


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


def _cluster_matrix(clusters: np.ndarray) -> np.ndarray:
    """(G, n) indicator of which unit is in which cluster."""
    _, inv = np.unique(np.asarray(clusters), return_inverse=True)
    m = np.zeros((inv.max() + 1, inv.size))
    m[inv, np.arange(inv.size)] = 1.0
    return m


def _cluster_means(weights: np.ndarray, x: np.ndarray, m: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean of cluster means under two-level weights (B, n): a cluster drawn c times carries
    total weight c * n_g (its units resampled n_g times per draw), so it counts c times."""
    wg = weights @ m.T  # (B, G)
    sg = (weights * x) @ m.T
    c = wg / sizes
    with np.errstate(divide="ignore", invalid="ignore"):
        mg = np.where(wg > 0, sg / np.where(wg > 0, wg, 1.0), 0.0)
    return (c * mg).sum(axis=1) / c.sum(axis=1)


def mean_of_cluster_means(clusters: np.ndarray, col: int = 0) -> Stat:
    """Stat: the mean over clusters (polytopes) of each cluster's mean of data[:, col], the
    quantity cluster_mean_test tests, so estimate, interval and p describe one number.
    `clusters` (n,) must be aligned with the data rows."""
    m = _cluster_matrix(clusters)
    sizes = m.sum(axis=1)

    def stat(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
        return _cluster_means(weights, data[:, col], m, sizes)

    return stat


def ratio_of_cluster_means(clusters: np.ndarray, num_col: int = 0, den_col: int = 1) -> Stat:
    """Stat: mean_of_cluster_means(num) / mean_of_cluster_means(den): above 1 exactly when
    the mean of cluster-mean differences (what cluster_mean_test tests) is above 0."""
    m = _cluster_matrix(clusters)
    sizes = m.sum(axis=1)

    def stat(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _cluster_means(weights, data[:, num_col], m, sizes) / _cluster_means(weights, data[:, den_col], m, sizes)

    return stat


def _weighted_slope(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Stat: weighted least-squares slope of data[:, 1] on data[:, 0], shape (B,)."""
    x = data[:, 0] - data[:, 0].mean()  # centring changes no slope, only the rounding
    y = data[:, 1] - data[:, 1].mean()
    total = weights.sum(axis=1)
    mx, my = weights @ x / total, weights @ y / total
    with np.errstate(divide="ignore", invalid="ignore"):
        return (weights @ (x * y) / total - mx * my) / (weights @ (x * x) / total - mx * mx)


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


def cluster_bootstrap_slope(y: np.ndarray, x: np.ndarray, clusters: np.ndarray, n_boot: int = 4000,
                            level: float = 0.95, rng: np.random.Generator | None = None) -> BootstrapResult:
    """OLS slope of y (n,) on x (n,) with a two-level cluster-bootstrap interval (see
    cluster_bootstrap): every replicate is a weighted least-squares fit with one row of the
    (B, n) weight matrix. The check on mixed_slope that statsmodels #10239 calls for."""
    data = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])  # (n, 2)
    return cluster_bootstrap(data, clusters, _weighted_slope, n_boot=n_boot, level=level, rng=rng)


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
# Unimodality


def dip_per_run(samples: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Hartigan's dip statistic and its p-value (diptest.diptest, interpolated table) per run:
    samples is a list of 1-D arrays (one per run, NaNs dropped); returns dips (runs,) and
    p-values (runs,), NaN for runs with fewer than 4 points.

    diptest pitfall: p-values below the table print as exactly 0.0 (diptest #45), and very
    unimodal samples give exactly 1.0; they are returned as they are here and clipped to
    [P_FLOOR, 1 - P_FLOOR] only where they are combined (dip_summary)."""
    dips = np.full(len(samples), np.nan)
    p_values = np.full(len(samples), np.nan)
    for i, sample in enumerate(samples):  # diptest takes one sample at a time
        x = np.asarray(sample, dtype=float).ravel()
        x = x[~np.isnan(x)]
        if x.size >= 4:
            dips[i], p_values[i] = diptest.diptest(x)
    return dips, p_values


def dip_summary(samples: Sequence[np.ndarray], clusters: np.ndarray, alpha: float = 0.05,
                rng: np.random.Generator | None = None, n_boot: int = 2000) -> DipResult:
    """Share of runs whose dip test rejects unimodality at `alpha`, with a cluster-bootstrap
    95% CI, and a combined p over runs. samples: one 1-D array per run; clusters: (runs,).

    When every run agrees (share 0 or 1) the bootstrap collapses to a point; the CI is then
    Wilson's with the number of polytopes as the sample size, conservative because the
    effective sample size lies between the number of polytopes and of runs.

    combined_p: Stouffer's method (scipy.stats.combine_pvalues) on p clipped to
    [P_FLOOR, 1 - P_FLOOR]. Stouffer rather than Fisher because the claim is about a typical
    run: Stouffer grows with evidence that is consistent across runs, while under Fisher one
    run at the 0.0 floor adds -2 ln(1e-16) = 74 to the chi-square and can decide alone. It
    treats runs as independent, which runs on one polytope are not, so it overstates the
    evidence when polytopes differ; the share and its CI are the primary answer.
    """
    dips, p_values = dip_per_run(samples)
    clusters = np.asarray(clusters)
    _check_same_length(p_values, clusters, "samples")
    tested = ~np.isnan(p_values)
    n_runs = int(tested.sum())
    if n_runs == 0:
        nan = float("nan")
        return DipResult(nan, Interval(nan, nan), nan, 0, dips, p_values)
    rejects = (p_values[tested] < alpha).astype(float)  # (runs,)
    share = float(rejects.mean())
    if np.ptp(rejects) > 0:  # runs disagree, so the bootstrap has something to resample
        ci = cluster_bootstrap(rejects, clusters[tested], weighted_mean(0), n_boot=n_boot, rng=rng).ci
    else:
        n_clusters = np.unique(clusters[tested]).size
        ci = proportion_ci(round(share * n_clusters), n_clusters)
    clipped = np.clip(p_values[tested], P_FLOOR, 1 - P_FLOOR)
    combined = float(stats.combine_pvalues(clipped, method="stouffer").pvalue)
    return DipResult(share, ci, combined, n_runs, dips, p_values)


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
    (ConvergenceWarning and others); compare with cluster_bootstrap_slope.
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
                           "check against cluster_bootstrap_slope")
    low, high = np.asarray(fit.conf_int(alpha=1 - level))[1]
    return SlopeResult(slope=float(fit.fe_params[1]), ci=Interval(float(low), float(high), level),
                       p_value=float(fit.pvalues[1]), group_var=group_var, residual_var=residual_var,
                       converged=bool(fit.converged), warning="; ".join(problems),
                       n_groups=np.unique(groups).size, n_units=int(y.size))
