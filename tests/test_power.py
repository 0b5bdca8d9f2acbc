"""Seeds needed: resampled power against known answers on simulated studies."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from harness.analysis import stats
from harness.analysis.power import analytic_power, power_curves
from harness.analysis.seedzero import seed_zero, seed_zero_value
from harness.analysis.verdicts import holm_by_group
from harness.claims import Claim, PairedRatio, RunMean, evaluate_all

P, S = 10, 30


def _standardised(x: np.ndarray, sd: float) -> np.ndarray:
    x = x - x.mean()
    return x * sd / x.std(ddof=1)


def _study(effect: float, tau: float, sigma: float, seed: int = 1) -> pd.DataFrame:
    """A run table of one model whose column x is effect + polytope effect + seed noise,
    built so that the sample moments are exactly the stated ones: polytope means vary with
    variance tau^2 + sigma^2 / S (what a real study of S seeds shows), the seeds within each
    polytope with variance sigma^2."""
    rng = np.random.default_rng(seed)
    a = _standardised(rng.permutation(sps.norm.ppf((np.arange(P) + 0.5) / P)), math.sqrt(tau ** 2 + sigma ** 2 / S))
    z = rng.standard_normal((P, S))
    e = np.stack([_standardised(row, sigma) for row in z])
    x = effect + a[:, None] + e
    pp, ss = np.meshgrid(np.arange(P), np.arange(S), indexing="ij")
    return pd.DataFrame({"key": [f"k{i}" for i in range(P * S)], "model": "a", "polytope": pp.ravel(),
                         "seed": ss.ravel(), "status": "ok", "collapsed": False, "x": x.ravel()})


MEAN_CLAIM = Claim(id="positive-mean", sentence="x is positive.", statistic=RunMean("x", model="a"), direction=">",
              null=0.0, rule="all", group="simulated")


def _power(runs: pd.DataFrame, grid, reps=2000):
    verdicts = evaluate_all([MEAN_CLAIM], runs, None, n_boot=200)
    (curve,) = power_curves([MEAN_CLAIM], verdicts, runs, None, seed_grid=grid, polytope_grid=(5,), reps=reps,
                            rng=np.random.default_rng(7))
    return curve


def test_resampled_power_agrees_with_the_noncentral_t():
    """Polytope means of n seeds vary as tau^2 + sigma^2 / n; the t-test on G = 10 of them has
    noncentral-t power. The resampled power agrees within 5 points at every n (Monte Carlo
    error at 2000 studies is about 1 point)."""
    effect, tau, sigma = 1.0, 1.0, 3.0
    curve = _power(_study(effect, tau, sigma), grid=(3, 10, 30))
    assert curve.verdict == "supported"
    for n, got in zip(curve.seeds, curve.power, strict=True):
        want = analytic_power(effect, tau, sigma, P, n)
        assert abs(got - want) < 0.05, f"n={n}: resampled {got:.3f}, noncentral t {want:.3f}"
    # the plateau: infinitely many seeds leave only the polytope variance
    assert abs(curve.plateau - analytic_power(effect, tau, 1e-9, P, 1)) < 0.05


def test_unadjusted_resampling_would_miss_the_analytic_power():
    """The check above can fail: resampling raw runs counts the seed noise twice and misses."""
    effect, tau, sigma = 1.0, 0.5, 4.0
    runs = _study(effect, tau, sigma)
    verdicts = evaluate_all([MEAN_CLAIM], runs, None, n_boot=200)
    (raw,) = power_curves([MEAN_CLAIM], verdicts, runs, None, seed_grid=(30,), polytope_grid=(5,), reps=2000,
                          rng=np.random.default_rng(7), adjust=False)
    assert abs(raw.power[0] - analytic_power(effect, tau, sigma, P, 30)) > 0.10  # 0.74 against 0.89


def test_seeds_needed_reads_the_curve_and_says_when_seeds_cannot_get_there():
    strong = _power(_study(2.0, 0.5, 3.0), grid=(3, 5, 10, 20), reps=400)
    assert strong.seeds_needed == next(n for n, p in zip(strong.seeds, strong.power, strict=True) if p >= 0.8)
    assert strong.answer == str(strong.seeds_needed)
    # polytope variance dominates: more seeds cannot make up for 10 polytopes
    weak = _power(_study(0.9, 1.5, 0.5), grid=(3, 5, 10, 20), reps=400)
    assert weak.plateau < 0.8
    assert weak.seeds_needed is None and weak.answer.startswith("not reachable by seeds alone")


def test_power_is_reproducible_with_a_seeded_generator():
    runs = _study(1.0, 1.0, 3.0)
    a, b = _power(runs, grid=(3, 10), reps=100), _power(runs, grid=(3, 10), reps=100)
    assert a.power == b.power


def test_holm_by_group_is_statsmodels_holm_within_each_group_row_by_row():
    """One Holm for one evaluation (K,) and for R resampled studies (R, K): statsmodels' Holm
    on each group's claims, NaN (untested) left out of the family and kept NaN."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 0.2, size=(50, 6))
    p[rng.uniform(size=p.shape) < 0.2] = np.nan
    groups = ["a", "b", "a", "a", "b", "c"]
    got = holm_by_group(p, groups)
    for row, adj in zip(p, got, strict=True):
        for g in set(groups):
            idx = [k for k, x in enumerate(groups) if x == g]
            np.testing.assert_array_equal(adj[idx], stats.holm(row[idx]))
    np.testing.assert_array_equal(holm_by_group(p[3], groups), got[3])


def test_seed_zero_value_and_percentile_come_from_the_reproduced_run():
    claim = Claim(id="ratio", sentence="linear over lp", statistic=PairedRatio("grad_interior", "linear", "lp"),
                  writeup=1.22)
    reproduced = {"lp": {"grad_interior": 6.0}, "linear": {"grad_interior": 7.5}}
    assert seed_zero_value(claim, reproduced) == pytest.approx(1.25)
    verdict = type("V", (), {"id": "ratio", "unit_values": np.array([1.0, 1.1, 1.2, 1.3, 1.4])})()
    (row,) = seed_zero([claim], [verdict], reproduced)
    assert row.source == "reproduced" and row.percentile == pytest.approx(60.0)
    (row,) = seed_zero([claim], [verdict], None)  # without the run: the write-up's own number
    assert row.source == "write-up" and row.value == pytest.approx(1.22)
