"""Claims about harness.stats, checked on simulated data with known truths.

Nested studies: G polytopes (clusters) x m seeds (units); a run's value is
mu + polytope effect (sd_between) + seed noise (sd_within). Fixed seeds make every test
deterministic; Monte Carlo tolerances are 3 standard errors.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.analysis import stats as stats_module
from harness.analysis.stats import (
    Interval,
    cluster_bootstrap,
    cluster_mean_test,
    cluster_weights,
    dip_per_run,
    equivalence,
    holm,
    mean_interval,
    mesa_per_run,
    mesa_shape,
    mixed_slope,
    percentile_of,
    polytope_means,
    proportion_ci,
    ratio_interval,
    ratio_of_means,
    slope_interval,
    tost,
    weighted_mean,
)


def nested(rng: np.random.Generator, studies: int, n_clusters: int, n_units: int, mu: float = 0.0,
           sd_between: float = 1.0, sd_within: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Values (studies, G * m) of independent nested studies, and their cluster labels (G * m,)."""
    between = rng.normal(0, sd_between, (studies, n_clusters, 1))
    within = rng.normal(0, sd_within, (studies, n_clusters, n_units))
    return (mu + between + within).reshape(studies, -1), np.repeat(np.arange(n_clusters), n_units)


def mc_bound(rate: float, studies: int) -> float:
    """rate + 3 Monte Carlo standard errors."""
    return rate + 3 * math.sqrt(rate * (1 - rate) / studies)


# --- cluster bootstrap --------------------------------------------------------------------------


def test_mean_ci_covers_the_truth_95_percent_of_nested_studies_where_plain_percentile_does_not():
    """The 95% CI of a mean (10 polytopes x 10 seeds, between sd = within sd = 1) covers the true
    mean in 93-97% of 500 studies; the plain 2.5-97.5% percentile of the same replicates
    under-covers (t_9 tails and the (G-1)/G bootstrap variance), which the expansion fixes."""
    rng = np.random.default_rng(20240601)
    values, clusters = nested(rng, 500, 10, 10, mu=3.0)
    covered, plain_covered = 0, 0
    for study in values:
        result = cluster_bootstrap(study, clusters, weighted_mean(0), n_boot=1000, rng=rng)
        covered += result.ci.contains(3.0)
        low, high = np.quantile(result.distribution, [0.025, 0.975])
        plain_covered += low <= 3.0 <= high
    assert 0.93 <= covered / 500 <= 0.97
    assert plain_covered / 500 < 0.935


def test_ratio_ci_on_the_log_scale_covers_the_true_ratio_of_means():
    """The log-scale 95% CI of a ratio of means (lognormal runs; a polytope effect shared by
    numerator and denominator and one of the numerator alone, 12 polytopes x 5 seeds) covers
    E[num] / E[den] in 93-97% of 1000 studies."""
    rng = np.random.default_rng(7)
    studies, n_clusters, n_units = 1000, 12, 5
    shape = (studies, n_clusters)
    shared = rng.normal(0, 0.5, (*shape, 1))
    num = 10 * np.exp(shared + rng.normal(0, 0.4, (*shape, 1)) + rng.normal(0, 0.3, (*shape, n_units)))
    den = np.exp(shared + rng.normal(0, 0.3, (*shape, n_units)))
    truth = 10 * math.exp((0.5**2 + 0.4**2 + 0.3**2) / 2) / math.exp((0.5**2 + 0.3**2) / 2)
    clusters = np.repeat(np.arange(n_clusters), n_units)
    covered = 0
    for s in range(studies):
        data = np.column_stack([num[s].ravel(), den[s].ravel()])  # (runs, 2)
        result = cluster_bootstrap(data, clusters, ratio_of_means(0, 1), n_boot=1000, rng=rng, log_scale=True)
        covered += result.ci.contains(truth)
    assert 0.93 <= covered / studies <= 0.97


def test_a_denominator_that_resamples_to_zero_gives_an_infinite_bound_not_a_crash():
    """Only polytope 0 has a non-zero denominator: replicates that miss it are +inf, so the
    upper bound of the log-scale CI is +inf while the lower bound stays finite and positive."""
    clusters = np.repeat(np.arange(5), 4)
    num = np.arange(1.0, 21.0)
    den = np.where(clusters == 0, 1.0, 0.0)
    result = cluster_bootstrap(np.column_stack([num, den]), clusters, ratio_of_means(0, 1), n_boot=500,
                               rng=np.random.default_rng(0), log_scale=True)
    assert result.estimate == pytest.approx(num.mean() / den.mean())
    assert np.isinf(result.ci.high) and 0 < result.ci.low < result.estimate


def test_undefined_replicates_are_left_out_and_counted():
    """0/0 replicates (numerator and denominator both only in polytope 0) are NaN: left out of
    the interval and counted in the note; the interval itself is not NaN."""
    clusters = np.repeat(np.arange(5), 4)
    data = np.column_stack([np.where(clusters == 0, 2.0, 0.0), np.where(clusters == 0, 1.0, 0.0)])
    result = cluster_bootstrap(data, clusters, ratio_of_means(0, 1), n_boot=500, rng=np.random.default_rng(0))
    assert "replicates undefined (NaN)" in result.note
    assert result.ci.low == result.ci.high == 2.0


def test_log_scale_refuses_a_non_positive_estimate():
    """A ratio estimate <= 0 has no log: a ValueError that names the problem."""
    with pytest.raises(ValueError, match="log_scale"):
        cluster_bootstrap(np.column_stack([-np.ones(6), np.ones(6)]), np.repeat([0, 1], 3), ratio_of_means(0, 1),
                          n_boot=10, rng=np.random.default_rng(0), log_scale=True)


def test_cluster_weights_resample_polytopes_then_seeds():
    """Each replicate draws G polytopes: a polytope's total weight is a multiple of its seed
    count, the multiples sum to G, and every unit has expected weight 1 (unbalanced sizes)."""
    clusters = np.array(["a"] * 3 + ["b"] * 5 + ["c"] * 2)
    weights = cluster_weights(clusters, 20000, np.random.default_rng(1))  # (B, n)
    sizes = {"a": 3, "b": 5, "c": 2}
    copies = np.stack([weights[:, clusters == c].sum(1) / size for c, size in sizes.items()], axis=1)
    assert weights.shape == (20000, 10) and (weights >= 0).all()
    np.testing.assert_array_equal(copies, np.round(copies))
    np.testing.assert_array_equal(copies.sum(1), 3)
    np.testing.assert_allclose(weights.mean(0), 1, atol=0.05)


def test_the_same_seed_gives_the_same_numbers():
    """Same Generator seed -> identical replicates and intervals; another seed -> different."""
    values, clusters = nested(np.random.default_rng(0), 1, 8, 4)

    def run(seed: int | None):
        rng = None if seed is None else np.random.default_rng(seed)
        return cluster_bootstrap(values[0], clusters, weighted_mean(0), n_boot=300, rng=rng)

    first, again, other = run(11), run(11), run(12)
    np.testing.assert_array_equal(first.distribution, again.distribution)
    assert first.ci == again.ci
    assert not np.array_equal(first.distribution, other.distribution)
    np.testing.assert_array_equal(run(None).distribution, run(None).distribution)


@pytest.mark.parametrize("seed", range(10))
def test_interval_brackets_the_estimate(seed: int):
    """lower <= estimate <= upper for a mean and a log-scale ratio, at few resamples."""
    rng = np.random.default_rng(seed)
    values, clusters = nested(rng, 2, 6, 3, mu=5.0)
    data = np.column_stack([values[0], np.exp(values[1] / 5)])
    for result in (cluster_bootstrap(data, clusters, weighted_mean(0), n_boot=200, rng=rng),
                   cluster_bootstrap(np.exp(data), clusters, ratio_of_means(0, 1), n_boot=200, rng=rng, log_scale=True)):
        assert result.ci.low <= result.estimate <= result.ci.high


def test_a_single_polytope_falls_back_to_seeds_and_says_so():
    """With one polytope the interval can only cover new seeds on it; the note says so."""
    result = cluster_bootstrap(np.arange(8.0), np.zeros(8), weighted_mean(0), n_boot=200,
                               rng=np.random.default_rng(0))
    assert result.n_clusters == 1 and "single polytope" in result.note
    assert result.ci.low < 3.5 < result.ci.high


# --- tests of a mean ----------------------------------------------------------------------------


def test_cluster_mean_test_holds_its_level_under_nesting_where_naive_pooling_does_not():
    """Under a true null with a polytope effect (10 x 10, between sd = within sd), 2000 studies:
    the test on polytope means rejects in <= 5% + 3 MC SE; a t-test pooling all 100 runs as if
    independent rejects far more often (design effect 1 + 9 * 0.5 = 5.5)."""
    studies = 2000
    values, clusters = nested(np.random.default_rng(42), studies, 10, 10)
    cluster_rate = np.mean([cluster_mean_test(study, clusters).p_value < 0.05 for study in values])
    naive_rate = np.mean(stats.ttest_1samp(values, 0.0, axis=1).pvalue < 0.05)
    assert cluster_rate <= mc_bound(0.05, studies)
    assert naive_rate > 0.25


def test_cluster_mean_test_detects_a_real_effect():
    """A mean of 2 between-polytope sd, 12 polytopes x 5 seeds: p < 0.01."""
    values, clusters = nested(np.random.default_rng(3), 1, 12, 5, mu=2.0)
    result = cluster_mean_test(values[0], clusters)
    assert result.p_value < 0.01 and "12 polytope means" in result.method


def test_cluster_mean_test_decides_zero_variance_explicitly():
    """Identical values: p = 0 when they differ from the null, 1 when equal; never NaN."""
    clusters = np.repeat(np.arange(4), 5)
    differs = cluster_mean_test(np.full(20, 0.1), clusters, null=0.0)
    equal = cluster_mean_test(np.full(20, 0.1), clusters, null=0.1)
    assert (differs.p_value, equal.p_value) == (0.0, 1.0)
    assert "identical in all 20 runs" in differs.method


def test_cluster_mean_test_falls_back_to_runs_and_drops_nans():
    """One polytope: a t-test on its runs, named in `method`. NaN runs are dropped and uncounted."""
    values = np.array([0.5, 1.2, np.nan, 0.9, 1.4, 0.7])
    result = cluster_mean_test(values, np.zeros(6))
    expected = stats.ttest_1samp(values[~np.isnan(values)], 0.0).pvalue
    assert result.p_value == pytest.approx(expected)
    assert result.n_units == 5 and "single polytope" in result.method


# --- equivalence ------------------------------------------------------------------------------


def test_tost_declares_equivalence_when_the_truth_is_well_inside_the_margins():
    """Truth 0, margins +-0.5, 20 polytopes x 10 seeds (between sd 0.2, within 0.5): at least
    90% of 500 studies are declared equivalent."""
    values, clusters = nested(np.random.default_rng(5), 500, 20, 10, sd_between=0.2, sd_within=0.5)
    rate = np.mean([tost(study, clusters, -0.5, 0.5).equivalent for study in values])
    assert rate >= 0.9


def test_tost_rarely_declares_equivalence_when_the_truth_is_on_or_outside_a_margin():
    """Truth on the upper margin (the hardest case): equivalence in <= alpha + 3 MC SE of 1000
    studies; truth at twice the margin: never."""
    studies = 1000
    on_margin, clusters = nested(np.random.default_rng(6), studies, 10, 5, mu=0.5, sd_between=0.3, sd_within=0.5)
    outside, _ = nested(np.random.default_rng(7), 200, 10, 5, mu=1.0, sd_between=0.3, sd_within=0.5)
    on_rate = np.mean([tost(study, clusters, -0.5, 0.5).equivalent for study in on_margin])
    outside_rate = np.mean([tost(study, clusters, -0.5, 0.5).equivalent for study in outside])
    assert on_rate <= mc_bound(0.05, studies)
    assert outside_rate == 0.0


def test_tost_decides_degenerate_data_explicitly():
    """A flip that changes nothing in any of 30 runs: equivalent iff 0 is inside the margins,
    degenerate, 'identical in all 30 runs', and no NaN anywhere."""
    clusters = np.repeat(np.arange(6), 5)
    inside = tost(np.zeros(30), clusters, -1.0, 1.0)
    outside = tost(np.zeros(30), clusters, 0.5, 1.0)
    assert inside.equivalent and inside.degenerate and "identical in all 30 runs" in inside.note
    assert not outside.equivalent and outside.degenerate and outside.p_value == 1.0
    for result in (inside, outside):
        assert not any(isinstance(v, float) and math.isnan(v) for v in result.as_dict().values())


def test_tost_agrees_with_its_90_percent_interval_and_calls_a_wide_one_underpowered():
    """Equivalent exactly when the 90% CI lies inside the margins; with 4 spread-out polytope
    means around 0.1 and margins +-0.8 the CI straddles both margins: 'undecided
    (underpowered)', not a refutation."""
    clusters = np.repeat(np.arange(4), 2)
    values = np.repeat([-1.0, 1.2, -0.8, 1.1], 2) + np.tile([-0.1, 0.1], 4)
    wide_margins = tost(values, clusters, -3.0, 3.0)
    assert wide_margins.equivalent and wide_margins.ci90.low > -3.0 and wide_margins.ci90.high < 3.0
    assert wide_margins.ci90.level == pytest.approx(0.9)
    narrow = tost(values, clusters, -0.8, 0.8)
    assert not narrow.equivalent and narrow.ci90.low < -0.8 and narrow.ci90.high > 0.8
    assert "undecided (underpowered)" in narrow.note


# --- intervals on polytope means -----------------------------------------------------------------


def test_polytope_means_are_per_polytope_means_in_label_order():
    """Polytopes "b" (runs 1, 3) and "a" (runs 2, 4, 6): means (4, 2) in label order a, b,
    counts (3, 2); two columns at once give a (G, 2) array."""
    clusters = np.array(["b", "a", "b", "a", "a"])
    values = np.array([1.0, 2.0, 3.0, 4.0, 0.0])
    means, counts = polytope_means(values, clusters)
    np.testing.assert_allclose(means, [2.0, 2.0])
    np.testing.assert_array_equal(counts, [3, 2])
    pairs, _ = polytope_means(np.column_stack([values, 2 * values]), clusters)
    np.testing.assert_allclose(pairs, [[2.0, 4.0], [2.0, 4.0]])


def test_mean_interval_is_the_t_interval_on_polytope_means_and_agrees_with_its_p():
    """Estimate, interval and p are scipy's one-sample t on the 4 polytope means (whatever the
    seeds per polytope), and the null lies outside the interval exactly when p < 0.05."""
    clusters = np.repeat(np.arange(4), [2, 3, 4, 5])
    values = np.random.default_rng(0).normal(1.0, 1.0, clusters.size)
    means, _ = polytope_means(values, clusters)
    result = mean_interval(values, clusters, null=0.0)
    expected = stats.ttest_1samp(means, 0.0)
    assert result.estimate == pytest.approx(means.mean()) and result.p_value == pytest.approx(expected.pvalue)
    assert (result.ci.low, result.ci.high) == pytest.approx(tuple(expected.confidence_interval(0.95)))
    for null in np.linspace(result.ci.low - 1, result.ci.high + 1, 41):
        other = mean_interval(values, clusters, null=null)
        assert (other.p_value < 0.05) == (not other.ci.contains(null))


def test_mean_interval_shows_a_constant_as_a_zero_width_interval():
    """A difference of exactly 0 in every pair: [0, 0], p = 1 against 0 and 0 against 0.1,
    'identical in all 20 runs' (issue 12: not a proportion interval [0, 0.278])."""
    clusters = np.repeat(np.arange(4), 5)
    at_zero, off = mean_interval(np.zeros(20), clusters), mean_interval(np.zeros(20), clusters, null=0.1)
    assert (at_zero.ci.low, at_zero.ci.high, at_zero.p_value, off.p_value) == (0.0, 0.0, 1.0, 0.0)
    assert "identical in all 20 runs" in at_zero.method


def test_mean_interval_falls_back_to_runs_for_one_polytope():
    """One polytope: the t-interval over its runs, and `method` says it covers new seeds only."""
    values = np.array([0.5, 1.2, np.nan, 0.9, 1.4, 0.7])
    result = mean_interval(values, np.zeros(6))
    expected = stats.ttest_1samp(values[~np.isnan(values)], 0.0)
    assert result.p_value == pytest.approx(expected.pvalue) and "single polytope" in result.method
    assert result.n_units == 5


def ratio_data(seed: int, n_clusters: int = 10, n_units: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paired flat-fraction-like runs: numerator around 0.3, denominator around 0.05 with a
    polytope effect (gamma, as Linear's), counts out of 90 points."""
    rng = np.random.default_rng(seed)
    clusters = np.repeat(np.arange(n_clusters), n_units)
    effect = rng.gamma(1.0, 1.0, n_clusters)[clusters]
    num = rng.binomial(90, np.minimum(0.3 * rng.gamma(4, 0.25, clusters.size), 1)) / 90
    den = rng.binomial(90, np.minimum(0.05 * effect * rng.gamma(1, 1, clusters.size), 1)) / 90
    return num, den, clusters


def test_ratio_interval_estimate_is_the_ratio_of_polytope_means_and_brackets_it():
    """R = mean of polytope means of num / of den; lower <= R <= upper; lower >= 0 for
    non-negative data."""
    for seed in range(5):
        num, den, clusters = ratio_data(seed)
        result = ratio_interval(num, den, clusters, n_boot=2000, rng=np.random.default_rng(seed))
        a, b = polytope_means(np.column_stack([num, den]), clusters)[0].T
        assert result.estimate == pytest.approx(a.mean() / b.mean())
        assert 0 <= result.ci.low <= result.estimate <= result.ci.high


def test_ratio_interval_and_its_p_agree_for_every_null():
    """The null ratio lies outside the interval exactly when its p < 1 - level (one
    procedure), at 95% and at 80%, across nulls on both sides."""
    num, den, clusters = ratio_data(3)
    for level in (0.95, 0.8):
        first = ratio_interval(num, den, clusters, level=level, n_boot=999, rng=np.random.default_rng(1))
        assert "two-piece" not in first.note
        nulls = np.linspace(0, first.estimate * 4, 81)
        for null in np.r_[nulls, first.ci.low * (1 + 1e-9), first.ci.high * (1 - 1e-9)]:
            result = ratio_interval(num, den, clusters, null=null, level=level, n_boot=999, rng=np.random.default_rng(1))
            assert result.ci == first.ci
            assert (result.p_value < 1 - level) == (not result.ci.contains(null)), null


def test_ratio_interval_reports_fiellers_two_piece_case():
    """A numerator clearly above 0 over a denominator that is not (mean 0.1, sd 0.3, 10
    polytopes): the set of unrejected ratios is a ray (-inf, r1] plus [low, inf) around the
    estimate. The interval is the piece holding the estimate, unbounded above; the note names
    the other piece, whose nulls are not rejected either, while those between are."""
    rng = np.random.default_rng(0)
    clusters = np.arange(10)
    z = rng.normal(0, 1, 10)
    num, den = rng.normal(1.0, 0.1, 10), 0.1 + 0.3 * (z - z.mean()) / z.std(ddof=1)
    result = ratio_interval(num, den, clusters, n_boot=999, rng=np.random.default_rng(1))
    assert math.isinf(result.ci.high) and 0 < result.ci.low < result.estimate
    assert "two-piece" in result.note
    ray_end = float(result.note.split("holds [-inf, ")[1].split("]")[0])
    for null, rejected in [(ray_end - 1, False), ((ray_end + result.ci.low) / 2, True), (result.ci.low * 1.01, False)]:
        p = ratio_interval(num, den, clusters, null=null, n_boot=999, rng=np.random.default_rng(1)).p_value
        assert (p < 0.05) == rejected, null


def test_ratio_interval_with_a_constant_denominator_is_the_mean_interval_rescaled():
    """A denominator equal in every polytope reduces Fieller to the numerator's interval / c:
    with the bootstrap-t quantiles, the interval is c^-1 x the studentized-bootstrap interval
    of the numerator's mean, which brackets it like a t-interval does."""
    num, _, clusters = ratio_data(4)
    result = ratio_interval(num, np.full(num.size, 0.5), clusters, n_boot=4000, rng=np.random.default_rng(0))
    plain = mean_interval(num, clusters)
    assert result.estimate == pytest.approx(plain.estimate / 0.5)
    assert result.ci.low == pytest.approx(plain.ci.low / 0.5, rel=0.1)
    assert result.ci.high == pytest.approx(plain.ci.high / 0.5, rel=0.1)


def test_ratio_interval_decides_degenerate_ratios_explicitly():
    """The same ratio (3) in every polytope: [3, 3], p 0 against 1 and 1 against 3; a
    denominator of 0 everywhere: no ratio, NaN with a reason; a denominator not clearly above 0
    at 3 polytopes: an infinite upper bound, said in the note."""
    clusters = np.repeat(np.arange(4), 3)
    den = np.arange(1.0, 13.0)
    exact = ratio_interval(3 * den, den, clusters)
    assert (exact.ci.low, exact.ci.high, exact.p_value) == (3.0, 3.0, 0.0)
    assert ratio_interval(3 * den, den, clusters, null=3.0).p_value == 1.0
    none = ratio_interval(den, np.zeros(12), clusters)
    assert math.isnan(none.estimate) and "denominator's mean is 0" in none.method
    shaky = ratio_interval(np.full(9, 1.0), np.array([0, 0, 0, 0, 0, 0, 0.3, 0.1, 0.2]), np.repeat(np.arange(3), 3))
    assert math.isinf(shaky.ci.high) and "no upper bound" in shaky.note


def test_bootstrap_t_numbers_do_not_depend_on_the_chunk_size(monkeypatch):
    """Resampling in chunks of 7 polytope draws gives the same replicates, interval and p as
    in one go: memory is bounded without changing a number."""
    num, den, clusters = ratio_data(5)
    values = num - den
    whole = (ratio_interval(num, den, clusters, n_boot=500, rng=np.random.default_rng(2)),
             equivalence(values, clusters, -0.5, 0.5, n_boot=500, rng=np.random.default_rng(2), min_polytopes=1))
    monkeypatch.setattr(stats_module, "_CHUNK_VALUES", 7 * 10)
    chunked = (ratio_interval(num, den, clusters, n_boot=500, rng=np.random.default_rng(2)),
               equivalence(values, clusters, -0.5, 0.5, n_boot=500, rng=np.random.default_rng(2), min_polytopes=1))
    assert whole == chunked


def test_bootstrap_results_are_seeded_and_the_seed_controls_them():
    """No Generator: a fixed default seed (same numbers twice); a Generator's seed decides."""
    num, den, clusters = ratio_data(6)
    assert ratio_interval(num, den, clusters, n_boot=300) == ratio_interval(num, den, clusters, n_boot=300)
    first = ratio_interval(num, den, clusters, n_boot=300, rng=np.random.default_rng(1))
    again = ratio_interval(num, den, clusters, n_boot=300, rng=np.random.default_rng(1))
    other = ratio_interval(num, den, clusters, n_boot=300, rng=np.random.default_rng(2))
    assert first == again and first.ci != other.ci


def test_a_660_thousand_run_table_needs_tens_of_megabytes_not_gigabytes():
    """Issue 14, point 10: 660,810 runs (22,027 polytopes x 30 seeds). A (B, runs) weight
    matrix at 2000 replicates would be 10.6 GB; here every interval works on polytope means (a
    slope on five sums per polytope) and resamples them in bounded chunks, so the peak
    (tracemalloc) stays under 64 MiB, about that of sorting the polytope labels, and does not
    grow with the number of resamples."""
    import tracemalloc

    rng = np.random.default_rng(0)
    clusters = np.repeat(np.arange(22_027), 30)
    num, den = rng.binomial(90, 0.3, clusters.size) / 90, rng.binomial(90, 0.05, clusters.size) / 90
    peaks = {}
    for name, n_boot, run in [
        ("mean", 0, lambda b: mean_interval(num - den, clusters)),
        ("ratio", 400, lambda b: ratio_interval(num, den, clusters, n_boot=b)),
        ("ratio", 4000, lambda b: ratio_interval(num, den, clusters, n_boot=b)),
        ("equivalence", 4000, lambda b: equivalence(num - den, clusters, -1.0, 1.0, n_boot=b)),
        ("slope", 400, lambda b: slope_interval(num, den, clusters, n_boot=b)),
    ]:
        tracemalloc.start()
        result = run(n_boot)
        peaks[name, n_boot] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        assert result.ci.low < result.estimate < result.ci.high
    assert max(peaks.values()) < 64, peaks
    assert peaks["ratio", 4000] < peaks["ratio", 400] + 4, peaks


def test_equivalence_reads_one_interval_for_all_three_outcomes():
    """Equivalent exactly when the 95% interval lies inside the margins, beyond exactly when it
    lies wholly outside; undecided when it straddles a margin, with the reason."""
    rng = np.random.default_rng(8)
    clusters = np.repeat(np.arange(100), 2)
    values = 0.002 + rng.normal(0, 0.01, clusters.size)
    for low, high in [(-0.02, 0.02), (0.005, 0.05), (0.02, 0.05), (-0.05, -0.01), (-0.003, 0.003)]:
        result = equivalence(values, clusters, low, high, n_boot=999, rng=np.random.default_rng(0))
        inside = low < result.ci.low and result.ci.high < high
        outside = result.ci.high < low or result.ci.low > high
        assert (result.p_equivalent < 0.05) == inside and (result.p_beyond < 0.05) == outside
        assert result.outcome == ("equivalent" if inside else "beyond the margins" if outside else "undecided")
        assert result.ci.level == 0.95 and result.outcome in result.note


def test_equivalence_is_refused_below_the_calibrated_number_of_polytopes_but_beyond_is_said():
    """Below stats.EQUIVALENCE_MIN_POLYTOPES (90: where the error rate at a margin held on the
    real 2 x 150 units, tests/calibration) a tight interval inside the margins is "undecided"
    with p_equivalent NaN and the reason in the note; at the floor it is "equivalent"; an
    interval wholly past a margin is "beyond the margins" at any size."""
    floor = stats_module.EQUIVALENCE_MIN_POLYTOPES
    assert floor == 90
    rng = np.random.default_rng(3)
    for n_polytopes, word in [(floor - 1, "undecided"), (floor, "equivalent")]:
        clusters = np.repeat(np.arange(n_polytopes), 2)
        result = equivalence(rng.normal(0, 0.001, clusters.size), clusters, -0.01, 0.01, n_boot=999)
        assert result.outcome == word
        assert math.isnan(result.p_equivalent) == (word == "undecided")
        assert (f"fewer than {floor}" in result.note) == (word == "undecided")
    clusters = np.repeat(np.arange(10), 2)
    beyond = equivalence(0.05 + rng.normal(0, 0.001, clusters.size), clusters, -0.01, 0.01, n_boot=999)
    assert beyond.outcome == "beyond the margins" and beyond.p_beyond < 0.05


def test_equivalence_of_constant_differences_is_decided_without_nan():
    """A flip that changes nothing in any of 30 runs: [0, 0], equivalent iff 0 is strictly
    inside the margins; 'identical in all 30 runs'; no NaN anywhere."""
    clusters = np.repeat(np.arange(6), 5)
    inside = equivalence(np.zeros(30), clusters, -1.0, 1.0)
    outside = equivalence(np.zeros(30), clusters, 0.5, 1.0)
    assert inside.outcome == "equivalent" and (inside.ci.low, inside.ci.high) == (0.0, 0.0)
    assert outside.outcome == "beyond the margins" and outside.p_equivalent == 1.0 and outside.p_beyond == 0.0
    assert "identical in all 30 runs" in inside.note
    for result in (inside, outside):
        assert not any(isinstance(v, float) and math.isnan(v) for v in result.as_dict().values())


def test_equivalence_refuses_margins_in_the_wrong_order():
    with pytest.raises(ValueError, match="low"):
        equivalence(np.arange(6.0), np.repeat([0, 1], 3), 1.0, -1.0)


def test_slope_interval_has_statsmodels_cluster_se_and_agrees_with_its_p():
    """The slope is OLS's and its SE statsmodels' cluster-robust one (CR1, polytopes as
    clusters), computed from five sums per polytope; the null lies outside the interval
    exactly when p < 0.05; the true slope 2 is inside."""
    import statsmodels.api as sm

    y, x, groups = slope_study(1, sd_between=1.0)
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="cluster", cov_kwds={"groups": groups})
    centred = np.column_stack([np.ones(x.size), x - x.mean(), y - y.mean(), (x - x.mean()) ** 2,
                               (x - x.mean()) * (y - y.mean())])
    sums = np.stack([np.bincount(groups, weights=c) for c in centred.T], axis=1)
    slope, se = stats_module._slope_and_se(sums)
    assert (slope, se) == pytest.approx((fit.params[1], fit.bse[1]), rel=1e-12)
    result = slope_interval(y, x, groups, n_boot=999, rng=np.random.default_rng(0))
    assert result.estimate == pytest.approx(fit.params[1]) and result.ci.contains(2.0)
    for null in np.linspace(result.ci.low - 0.3, result.ci.high + 0.3, 41):
        other = slope_interval(y, x, groups, null=null, n_boot=999, rng=np.random.default_rng(0))
        assert (other.p_value < 0.05) == (not other.ci.contains(null))


def test_slope_interval_without_a_slope_says_so():
    """x the same in every run: no slope to estimate, NaN and the reason."""
    result = slope_interval(np.arange(6.0), np.ones(6), np.repeat([0, 1], 3))
    assert math.isnan(result.estimate) and "x is the same" in result.method


# --- the mesa shape ---------------------------------------------------------------------------


def test_mesa_shape_finds_a_spike_of_flat_points_and_a_mode_above():
    """12 points at ~0 and 8 between 0.01 and 0.3, the rest spread over 4-20: a mesa, its spike
    below the threshold and its mode above, the spike holding 20/90 of the points."""
    rng = np.random.default_rng(1)
    x = np.r_[np.full(12, 1e-7), 10 ** rng.uniform(-2, -0.5, 8), rng.uniform(4, 20, 70)]
    result = mesa_shape(x, 1.0)
    assert result.mesa and result.spike_at < 1.0 < result.mode_at
    assert result.spike_share == pytest.approx(20 / 90) and result.dip_ratio < 0.25


def test_mesa_shape_rejects_one_mode_with_a_tail_below_the_threshold():
    """A Linear-like run (a wide mode near 10, a few points below 1) and an exponential run
    (most mass near 0, no second mode) are not mesas; nor is a run with no point below 1."""
    rng = np.random.default_rng(2)
    linear_like = 16 * rng.beta(1.6, 1.2, 90)
    assert not mesa_shape(linear_like, 1.0).mesa
    assert not mesa_shape(rng.exponential(2.0, 90), 1.0).mesa
    above = mesa_shape(rng.uniform(2, 20, 90), 1.0)
    assert not above.mesa and math.isnan(above.spike_at)


def test_the_mesa_density_is_scipys_gaussian_kde_at_the_declared_bandwidth():
    """The density mesa_shape reads equals scipy.stats.gaussian_kde's with bw_method set to
    the declared bandwidth over the sample's SD (to rounding)."""
    z = np.log10(np.maximum(np.random.default_rng(4).exponential(2.0, 90), 0.01))
    grid = np.linspace(-3, 2, 200)
    scipy_kde = stats.gaussian_kde(z, bw_method=stats_module.MESA_BANDWIDTH / z.std(ddof=1))
    np.testing.assert_allclose(stats_module._gaussian_density(z, grid, stats_module.MESA_BANDWIDTH), scipy_kde(grid),
                               rtol=1e-10, atol=1e-14)


def test_mesa_per_run_marks_runs_and_skips_tiny_ones():
    """1 / 0 per run, NaN under 4 points."""
    rng = np.random.default_rng(3)
    mesa = np.r_[np.full(20, 1e-6), rng.uniform(5, 15, 70)]
    out = mesa_per_run([mesa, rng.uniform(5, 15, 90), np.array([0.0, 5.0, 6.0])], 1.0)
    assert out[0] == 1.0 and out[1] == 0.0 and math.isnan(out[2])


# --- unimodality ------------------------------------------------------------------------------


def test_dip_test_finds_bimodal_runs_and_not_unimodal_ones():
    """Runs mixing a spike near 0 with a wide mode at 5-18 are multimodal (share of p < 0.05
    ~ 1); normal runs are not (share <= alpha + 3 MC SE; the dip table's uniform null makes it
    conservative)."""
    rng = np.random.default_rng(9)
    n_runs = 120
    bimodal = [np.concatenate([rng.normal(0, 0.05, 100), rng.uniform(5, 18, 100)]) for _ in range(n_runs)]
    unimodal = [rng.normal(0, 1, 200) for _ in range(n_runs)]
    _, many = dip_per_run(bimodal)
    _, one = dip_per_run(unimodal)
    assert np.mean(many < 0.05) >= 0.95
    assert np.mean(one < 0.05) <= mc_bound(0.05, n_runs)


def test_dip_per_run_skips_tiny_runs_and_returns_p_of_exactly_zero_and_one():
    """Runs with < 4 points get NaN; a bimodal run gets p of exactly 0.0 and a constant one
    exactly 1.0 (diptest #45), returned as they are."""
    samples = [np.array([1.0, 2.0, 3.0]), np.r_[np.zeros(50), np.full(50, 10.0)], np.ones(20)]
    dips, p_values = dip_per_run(samples)
    assert np.isnan(dips[0]) and np.isnan(p_values[0])
    assert p_values[1] == 0.0 and p_values[2] == 1.0


# --- multiplicity, proportions, percentiles ----------------------------------------------------


def test_holm_matches_a_hand_computed_example_and_ignores_nans():
    """p = (0.01, 0.04, 0.03, 0.005): sorted x (4, 3, 2, 1) = (0.02, 0.03, 0.06, 0.04), made
    monotone (0.02, 0.03, 0.06, 0.06). A NaN stays NaN and shrinks the family."""
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(holm([0.01, np.nan, 0.04]), [0.02, np.nan, 0.04])


def test_proportion_ci_is_wilson():
    """Wilson's closed form: 0/10 -> [0, z^2 / (n + z^2)]; 5/10 symmetric about 0.5 with
    half-width z sqrt(n/4 + z^2/4) / (n + z^2)."""
    z, n = stats.norm.ppf(0.975), 10
    zero = proportion_ci(0, n)
    assert zero.low == pytest.approx(0, abs=1e-12) and zero.high == pytest.approx(z**2 / (n + z**2))
    half = proportion_ci(5, n)
    width = z * math.sqrt(n / 4 + z**2 / 4) / (n + z**2)
    assert (half.low, half.high) == pytest.approx((0.5 - width, 0.5 + width))


def test_percentile_of_counts_ties_half_and_ignores_nans():
    """3 in (1, 2, 3, 4): 2 below, 1 tie -> (50 + 75) / 2 = 62.5; NaNs dropped; NaN value -> NaN."""
    assert percentile_of(3, np.array([1, 2, 3, 4, np.nan])) == 62.5
    assert math.isnan(percentile_of(np.nan, np.arange(4.0)))


# --- slopes -------------------------------------------------------------------------------------


def slope_study(seed: int, sd_between: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = 1.5 + 2 x + polytope effect + noise, 15 polytopes x 10 seeds; x varies within and between."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(15), 10)
    x = rng.normal(0, 1, 150) + rng.normal(0, 1, 15)[groups]
    y = 1.5 + 2 * x + rng.normal(0, sd_between, 15)[groups] + rng.normal(0, 1, 150)
    return y, x, groups


def test_mixed_slope_recovers_a_known_slope():
    """True slope 2, group sd 1: the REML slope's CI holds 2, the group variance is clearly
    positive, and no warning."""
    y, x, groups = slope_study(1, sd_between=1.0)
    result = mixed_slope(y, x, groups)
    assert result.ci.contains(2.0) and abs(result.slope - 2) < 0.15
    assert result.converged and result.group_var > 0.3 and result.warning == ""


def test_mixed_slope_flags_a_collapsed_group_variance():
    """Residuals demeaned within each polytope leave no group variance: the fit 'converges'
    with variance ~0 (statsmodels #10239), and `warning` says so."""
    y, x, groups = slope_study(1, sd_between=0.0)
    noise = y - 1.5 - 2 * x
    y = 1.5 + 2 * x + noise - (np.bincount(groups, noise) / 10)[groups]
    result = mixed_slope(y, x, groups)
    assert result.group_var < 1e-3 and "collapsed" in result.warning


# --- result objects -----------------------------------------------------------------------------


def test_results_are_one_line_and_export_plain_values():
    """Results print on one line without the replicates and export to plain dicts."""
    result = cluster_bootstrap(np.arange(10.0), np.repeat([0, 1], 5), weighted_mean(0), n_boot=50,
                               rng=np.random.default_rng(0))
    assert "\n" not in repr(result) and "distribution" not in repr(result)
    exported = result.as_dict()
    assert "distribution" not in exported and set(exported["ci"]) == {"low", "high", "level"}
    assert Interval(0.0, 1.0).as_dict() == {"low": 0.0, "high": 1.0, "level": 0.95}
    assert isinstance(cluster_mean_test(np.arange(6.0), np.repeat([0, 1, 2], 2)).as_dict()["p_value"], float)
