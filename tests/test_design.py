"""The design of a study: variance components against statsmodels' mixed model, Cochran's
allocation, the power formula against the noncentral t of power.analytic_power and against a
simulation of the study it prescribes, and `design` end to end on a small run table."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from harness.analysis.design import (
    Components,
    Costs,
    Pilot,
    cochran_seeds,
    components,
    design,
    pilot_variance,
    polytopes_needed,
    power,
)
from harness.analysis.power import analytic_power
from harness.analysis.statistics import RunMean
from harness.analysis.verdicts import Claim, evaluate_all
from harness.cli import main


def _table(values: np.ndarray) -> pd.DataFrame:
    """A units table from values (polytopes, seeds)."""
    P, S = values.shape
    return pd.DataFrame({"polytope": np.repeat(np.arange(P), S), "seed": np.tile(np.arange(S), P),
                         "value": values.ravel()})


def test_components_of_a_hand_built_table():
    """Polytope means 2, 3, 7 (grand mean 4) of 2 seeds each, deviations +-1: MS_between =
    2 (4 + 1 + 9) / 2 = 14, MS_within = 6 / 3 = 2, so s_b^2 = (14 - 2) / 2 = 6, s_w^2 = 2."""
    comp = components(_table(np.array([[1.0, 3.0], [2.0, 4.0], [6.0, 8.0]])), cells=6)
    assert (comp.between, comp.within) == pytest.approx((6.0, 2.0))
    assert comp.usable == 1.0 and comp.counts == (2, 2, 2) and comp.icc == pytest.approx(0.75)


def test_components_equal_statsmodels_reml_on_balanced_data():
    """On balanced data the method of moments is REML's answer (when the between part is positive)."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    values = rng.normal(size=(12, 1)) * 1.5 + rng.normal(size=(12, 4))
    t = _table(values)
    fit = smf.mixedlm("value ~ 1", t, groups=t["polytope"]).fit(reml=True)
    comp = components(t, cells=48)
    assert comp.between == pytest.approx(float(fit.cov_re.iloc[0, 0]), rel=1e-3)
    assert comp.within == pytest.approx(float(fit.scale), rel=1e-3)


def test_cochran_seeds():
    comp = Components(between=1.0, within=4.0, counts=(2, 2), usable=1.0, per_cell=1)
    assert cochran_seeds(comp, polytope_cost=1.0, seed_cost=1.0) == 2  # sqrt(4) = 2
    assert cochran_seeds(comp, polytope_cost=9.0, seed_cost=1.0) == 6  # sqrt(36)
    assert cochran_seeds(comp, polytope_cost=1e-4, seed_cost=1.0) == 2  # never below 2
    assert cochran_seeds(comp, polytope_cost=1e4, seed_cost=1.0) == 10  # nor above 10
    assert cochran_seeds(Components(0.0, 1.0, (2, 2), 1.0, 1), 1.0, 1.0) == 10


def _direction_case(effect: float, tau: float, sigma: float, pilot_m: int = 10, pilot_n: int = 4):
    comp = Components(tau ** 2, sigma ** 2, (pilot_n,) * pilot_m, 1.0, 1)
    se = math.sqrt(pilot_variance(comp))
    return comp, Pilot(theta=effect, se=se, t_stat=effect / se, bounds=None, polytopes=pilot_m)


def test_power_is_the_noncentral_t_of_analytic_power():
    claim = Claim(id="d", sentence="d", statistic=RunMean("accuracy", "lp"))
    comp, pilot = _direction_case(0.3, tau=0.5, sigma=1.0)
    for m, n in ((10, 2), (40, 2), (25, 5)):
        assert power(claim, pilot, comp, m, n, family_size=1) == pytest.approx(
            analytic_power(0.3, 0.5, 1.0, m, n), abs=2e-3)


def test_the_polytopes_needed_are_the_fewest_that_reach_the_target():
    claim = Claim(id="d", sentence="d", statistic=RunMean("accuracy", "lp"))
    comp, pilot = _direction_case(0.3, tau=0.5, sigma=1.0)
    m = polytopes_needed(claim, pilot, comp, 2, family_size=5)
    assert power(claim, pilot, comp, m, 2, 5) >= 0.8 > power(claim, pilot, comp, m - 1, 2, 5)
    flat = Pilot(theta=0.0, se=pilot.se, t_stat=0.0, bounds=None, polytopes=10)
    assert polytopes_needed(claim, flat, comp, 2, family_size=1) is None  # no effect: never decided


def test_equivalence_is_not_predicted_below_the_floor_evaluation_holds_to():
    """accuracy-equal's 30 x 10 pilot (estimate -0.00087, SE 0.0010, margins +-0.01): power
    to say "equivalent" is 0 below stats.EQUIVALENCE_MIN_POLYTOPES usable polytopes (evaluation
    refuses the word there) and high from it on. At 32 polytopes scipy's nct.cdf is NaN far
    in its tail, which once read as power 1 (min(1, NaN) is 1): the design said 32."""
    from harness.analysis import stats
    from harness.analysis.design import _outside

    claim = Claim(id="e", sentence="e", statistic=RunMean("accuracy", "lp"), kind="equivalence", margin=(-0.01, 0.01))
    comp = Components(0.00188 ** 2, 0.00855 ** 2, (12,) * 10, 0.38, 1)
    pilot = Pilot(theta=-0.000874, se=0.00101, t_stat=-0.0, bounds=(-0.01, 0.01), polytopes=10)
    assert _outside(-0.000874, 0.0013645, -0.01, 0.01, 3.042, 26.37) < 1e-15
    floor = stats.EQUIVALENCE_MIN_POLYTOPES
    for n in (2, 4):
        m = polytopes_needed(claim, pilot, comp, n, family_size=19)
        m_eff = m * (1 - (1 - comp.usable) ** n)
        assert floor <= m_eff < floor + 3, (n, m, m_eff)
        assert power(claim, pilot, comp, m - 1, n, 19) < 1e-6 < 0.8 <= power(claim, pilot, comp, m, n, 19)


def test_the_prescribed_study_decides_in_about_80_percent_of_simulated_studies():
    """Simulate the study `polytopes_needed` prescribes (polytope effects + seed noise, a quarter
    of the runs collapsed) and test each at alpha / K: about 80% significant."""
    claim = Claim(id="d", sentence="d", statistic=RunMean("accuracy", "lp"))
    tau, sigma, effect, q, K = 0.5, 1.0, 0.25, 0.75, 5
    comp = Components(tau ** 2, sigma ** 2, (4,) * 10, q, 1)
    se = math.sqrt(pilot_variance(comp))
    pilot = Pilot(effect, se, effect / se, None, 10)
    m = polytopes_needed(claim, pilot, comp, 2, family_size=K)
    rng = np.random.default_rng(5)
    S = 4000
    y = effect + tau * rng.normal(size=(S, m, 1)) + sigma * rng.normal(size=(S, m, 2))
    y = np.where(rng.random((S, m, 2)) < q, y, np.nan)
    counts = np.sum(~np.isnan(y), axis=2)
    pm = np.where(counts > 0, np.nansum(np.nan_to_num(y), axis=2) / np.maximum(counts, 1), np.nan)
    g = np.sum(~np.isnan(pm), axis=1)
    mean = np.nanmean(pm, axis=1)
    t = mean / (np.nanstd(pm, axis=1, ddof=1) / np.sqrt(g))
    decided = 2 * sps.t.sf(np.abs(t), g - 1) < 0.05 / K
    assert decided.mean() == pytest.approx(0.8, abs=0.04)


def test_design_end_to_end_on_a_run_table():
    """Two claims on a synthetic study: a clear effect needs few polytopes, a null one none."""
    rng = np.random.default_rng(1)
    P, S = 10, 4
    b = rng.normal(size=(P, 1)) * 0.02
    rows = pd.DataFrame({"polytope": np.repeat(np.arange(P), S), "seed": np.tile(np.arange(S), P),
                         "model": "lp", "status": "ok", "collapsed": False,
                         "accuracy": (0.9 + b + 0.05 * rng.normal(size=(P, S))).ravel(),
                         "flat_frac": (0.3 + 0.1 * rng.normal(size=(P, S))).ravel()})
    claims = [Claim(id="acc", sentence="acc", statistic=RunMean("accuracy", "lp"), null=0.85),
              Claim(id="flat", sentence="flat", statistic=RunMean("flat_frac", "lp"), null=0.3)]
    verdicts = evaluate_all(claims, rows, n_boot=200)
    units = {c.id: c.statistic.units(rows, None, c.rule).table for c in claims}
    d = design(claims, verdicts, units, cells=P * S, costs=Costs(1e-4, 0.02, "test"), models=2, pilot="4 x 10")
    acc, flat = d.claims
    assert acc.seeds == 2 and acc.polytopes is not None and acc.polytopes <= 10
    assert acc.runs == acc.polytopes * 2 * 2 and acc.seconds == pytest.approx(acc.runs * 0.02 + acc.polytopes * 1e-4)
    assert d.polytopes >= acc.polytopes and [x[0] for x in d.ladder][0] == "acc"
    assert set(d.as_dict()) >= {"seeds", "polytopes", "runs", "seconds", "claims", "costs", "ladder"}


def test_design_without_a_store_is_one_line(capsys, tmp_path):
    assert main(["design", "--cache", str(tmp_path / "none")]) == 2
    assert "there is no store" in capsys.readouterr().err


def test_a_pilot_too_small_for_a_claim_gives_a_row_that_says_so_not_an_abort():
    """A claim whose pilot units cannot be split (one polytope, or no polytope with 2 usable
    runs) gets a row with the reason; the report's study-design section then still renders
    (`harness report --seeds 2 --polytopes 2` failed on it)."""
    import pandas as pd

    from harness.analysis.design import Costs, design
    from harness.analysis.verdicts import evaluate_all
    from harness.claims import Claim, RunMean

    claim = Claim("tiny", "x", RunMean("accuracy", "lp"), null=0.5)
    runs = pd.DataFrame({"key": ["a", "b"], "model": "lp", "polytope": [0, 1], "seed": [0, 0],
                         "accuracy": [0.9, 0.95], "collapsed": False, "status": "ok"})
    verdicts = evaluate_all([claim], runs, None)
    units = {"tiny": pd.DataFrame({"polytope": [0, 1], "seed": [0, 0], "value": [0.9, 0.95]})}
    d = design([claim], verdicts, units, 2, Costs(0.0002, 0.02, "given"), 1, "1 seed x 2 polytopes")
    assert d.claims[0].polytopes is None and "variance components need" in d.claims[0].note
