"""The sequential study: group-sequential boundaries against gsDesign's published values, the
error rates of the whole procedure (stopping rule included) on simulated nested, skewed data,
the verdict path at each look (repeated p, Holm with earlier decisions, locked words), the
rounds reusing the store, and bad arguments refused before anything runs."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from harness.analysis.estimators import mean_rows
from harness.analysis.sequential import Design, History, State, boundaries, decided, repeated_interval
from harness.analysis.statistics import RunMean
from harness.analysis.stats import Interval
from harness.analysis.verdicts import Claim, Verdict
from harness.cli import main


# -- boundaries --------------------------------------------------------------------------------------
@pytest.mark.parametrize("looks, expected", [
    (3, (3.7103, 2.5114, 1.9930)),
    (5, (4.8769, 3.3570, 2.6803, 2.2898, 2.0310)),
])
def test_boundaries_are_gsdesigns_obrien_fleming_spending_boundaries(looks, expected):
    """gsDesign(k, test.type = 2, alpha = 0.025, sfu = sfLDOF): the published upper bounds."""
    assert boundaries(np.arange(1, looks + 1) / looks) == pytest.approx(expected, abs=2e-4)


def test_one_look_is_a_single_test():
    d = Design(1)
    assert d.bounds[0] == pytest.approx(1.95996, abs=1e-4)
    assert d.repeated_p([0.05, 0.01, 0.3], 1) == pytest.approx([0.05, 0.01, 0.3], rel=2e-3)


def test_repeated_p_is_at_least_the_nominal_p_and_stops_where_the_boundary_does():
    d = Design(5)
    p = np.array([1e-6, 1e-3, 0.01, 0.04])
    for look in range(1, 6):
        rep = d.repeated_p(p, look)
        assert np.all(rep >= p * 0.999)
        at_boundary = 2 * sps.norm.sf(d.bounds[look - 1])  # the nominal p that just stops at alpha
        assert d.repeated_p(at_boundary, look) == pytest.approx(0.05, rel=0.02)
    assert math.isnan(d.repeated_p(np.nan, 2))


def test_repeated_interval_widens_each_side_on_the_test_scale():
    v = _verdict("c", estimate=2.0, ci=Interval(1.0, 5.0), p=0.01)
    ci = repeated_interval(v, 2.0, log_axis=True)
    assert ci.low == pytest.approx(0.5) and ci.high == pytest.approx(12.5)
    lin = repeated_interval(v, 2.0, log_axis=False)
    assert (lin.low, lin.high) == pytest.approx((0.0, 8.0))


# -- the whole procedure on simulated studies ----------------------------------------------------------
def _studies(rng, n_studies: int, polytopes: int, seeds: int, truth: float, usable: float = 0.6,
             skewed: bool = True) -> np.ndarray:
    """Polytope means (S, P) of nested data: polytope effects (sd 1) plus seed noise (sd 1.5),
    a unit usable with probability `usable` (collapsed runs), NaN where a polytope has none.
    Skewed: the effects from a centred gamma (shape 4, skewness 1), the noise from a centred
    log-normal (sigma 0.5, skewness 1.75); else both normal."""
    shape = (n_studies, polytopes, seeds)
    if skewed:
        b = (rng.gamma(4.0, 1.0, size=shape[:2] + (1,)) - 4.0) / 2.0
        s2 = 0.5 ** 2
        e = 1.5 * (rng.lognormal(0.0, 0.5, size=shape) - math.exp(s2 / 2)) / math.sqrt((math.exp(s2) - 1) * math.exp(s2))
    else:
        b, e = rng.normal(size=shape[:2] + (1,)), 1.5 * rng.normal(size=shape)
    y = np.where(rng.random(shape) < usable, truth + b + e, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a polytope with no usable unit: NaN
        return np.nanmean(y, axis=2)


def _run(pm: np.ndarray, design: Design, round_polytopes: int, null: float = 0.0):
    """The stopping rule on each study: the first look whose repeated p is below alpha stops it.
    Returns (stopped, estimate, RCI low, high at the stopping or last look, naive: any nominal p < alpha)."""
    S = pm.shape[0]
    stopped = np.zeros(S, bool)
    est, lo, hi = np.full(S, np.nan), np.full(S, np.nan), np.full(S, np.nan)
    naive = np.zeros(S, bool)
    for look in range(1, design.looks + 1):
        mean, se, df, p = mean_rows(pm[:, : look * round_polytopes], null)
        half = sps.t.isf(0.025, np.maximum(df, 1)) * se * design.widening(look, df)
        live = ~stopped
        est[live], lo[live], hi[live] = mean[live], mean[live] - half[live], mean[live] + half[live]
        naive |= np.nan_to_num(p, nan=1.0) < 0.05
        stopped |= live & (np.nan_to_num(design.repeated_p(p, look), nan=1.0) < design.alpha)
    return stopped, est, lo, hi, naive


N_STUDIES, LOOKS, ROUND = 2000, 5, 20


def _mc(rate: float) -> float:
    return 2.5 * math.sqrt(rate * (1 - rate) / N_STUDIES)


def test_supported_under_a_true_null_stays_within_alpha_over_every_look():
    """With no effect, a study looked at after each of 5 rounds (20 new polytopes, 2 seeds) and
    stopped at the first decision reads "supported" (significant on the claimed side, either
    side claimed) in at most 5% of studies, Monte Carlo error aside, on skewed nested data; testing
    each look at the nominal 5% would not. On skewed data the t-test on polytope means is itself
    a little liberal with few polytopes (about 6% either way at 40, 5% at 100): the optional
    stopping adds nothing to that, and on normal data it decides either way in at most 5%."""
    design, P = Design(LOOKS), LOOKS * ROUND
    pm = _studies(np.random.default_rng(1), N_STUDIES, P, 2, truth=0.0)
    stopped, est, _, _, naive = _run(pm, design, ROUND)
    for claimed_side in (est > 0, est < 0):
        assert (stopped & claimed_side).mean() <= 0.05 + _mc(0.05)
    one_look = (np.nan_to_num(mean_rows(pm, 0.0)[3], nan=1.0) < 0.05).mean()
    assert stopped.mean() <= one_look + _mc(one_look)
    assert naive.mean() > 0.1  # the inflation the design prevents
    normal, *_ = _run(_studies(np.random.default_rng(3), N_STUDIES, P, 2, truth=0.0, skewed=False), design, ROUND)
    assert normal.mean() <= 0.05 + _mc(0.05)


def test_the_final_repeated_interval_covers_the_truth():
    """With a real effect (studies stop early, at varying looks), the repeated 95% interval at
    the stopping look covers the truth in at least 94% of studies."""
    truth = 0.45
    pm = _studies(np.random.default_rng(2), N_STUDIES, LOOKS * ROUND, 2, truth=truth)
    stopped, _, lo, hi, _ = _run(pm, Design(LOOKS), ROUND)
    assert 0.2 < stopped.mean() < 0.98  # some studies stop early, some run on: the rule is exercised
    covered = ((lo <= truth) & (truth <= hi)).mean()
    assert covered >= 0.94


# -- the verdict path at each look ---------------------------------------------------------------------
def _claim(cid: str, kind: str = "direction", **kw) -> Claim:
    return Claim(id=cid, sentence=cid, statistic=RunMean("accuracy", "lp"), kind=kind, **kw)


def _verdict(cid: str, estimate: float, ci: Interval, p: float, kind: str = "direction", g: int = 20,
             beyond: float = 1.0) -> Verdict:
    eq = {"p_equivalent": 1.0, "p_beyond_margin": beyond} if kind == "equivalence" else {}
    return Verdict(id=cid, sentence=cid, kind=kind, verdict="", estimate=estimate, ci=ci, p_value=p, p_adj=p, null=0.0,
                   claimed=None, writeup=None, writeup_percentile=float("nan"), n_runs=2 * g, n_polytopes=g, n_seeds=2,
                   n_excluded=0, rule="exclude_collapsed", statistic="", detail={"beyond_margin_p": beyond}, **eq)


def test_a_look_uses_repeated_p_and_a_decided_claim_keeps_its_word():
    claims = [_claim("a"), _claim("b")]
    state = State(Design(3))
    first = state.step(claims, [_verdict("a", 1.0, Interval(0.8, 1.2), 1e-8),
                                _verdict("b", 0.1, Interval(-0.1, 0.3), 0.03)], look=1)
    assert first[0].verdict == "supported" and first[1].verdict == "not supported"  # 0.03 is far from look 1's boundary
    assert first[1].p_value > 0.03 and first[0].detail["sequential"]["decided_round"] == 1
    assert first[0].ci.low < 0.8 and first[0].ci.high > 1.2  # the repeated interval is wider than the 95% one
    later = state.step(claims, [_verdict("a", 0.2, Interval(-0.1, 0.5), 0.3),
                                _verdict("b", 0.1, Interval(0.02, 0.18), 0.02)], look=3)
    assert later[0].verdict == "supported" and "decided in round 1" in later[0].note
    # b is tested alone: a, decided before, counts as rejected in Holm (0.02 < 0.05 x 1 at the last look)
    assert later[1].verdict == "supported" and later[1].detail["sequential"]["decided_round"] == 3


def test_a_contradicted_equivalence_is_a_rejection_in_holm():
    eq = _claim("e", kind="equivalence", margin=(-0.01, 0.01))
    claims = [eq, _claim("b")]
    state = State(Design(1))
    state.step(claims, [_verdict("e", 0.5, Interval(0.4, 0.6), 1e-9, kind="equivalence", beyond=1e-9),
                        _verdict("b", 0.1, Interval(0.0, 0.2), 0.04)], look=1)
    assert state.locked["e"].verdict.verdict == "contradicted"
    assert state._holm_input(eq, _verdict("e", 0.5, Interval(0.4, 0.6), 1.0, kind="equivalence")) == 0.0
    assert decided("contradicted") and not decided("not supported") and not decided("")


# -- rounds from the store, and bad arguments ------------------------------------------------------------
@pytest.mark.slow
def test_rounds_reuse_the_store_and_the_section_renders(tmp_path):
    """A rerun with a larger budget trains only the new round's polytopes and replays the looks
    before it as they were; the report section draws the rounds."""
    from harness.config import get_variant
    from harness.pipeline import until_decided
    from harness.render.sequential import sequential_section
    from harness.runs.store import Store

    claims = [Claim(id="acc", sentence="acc", statistic=RunMean("accuracy", "lp"), null=0.5)]
    models = [get_variant("lp")]
    store = Store(tmp_path / "store")
    one, _, _, v1 = until_decided(claims, models, store, seeds=2, round_polytopes=2, budget=4)
    assert [r.trained for r in one.rounds] == [4]
    two, study, (runs, _), v2 = until_decided(claims, models, store, seeds=2, round_polytopes=2, budget=8)
    assert two.rounds[0].trained == 0 and len(runs) == len(study.specs())
    assert isinstance(two, History) and two.design.looks == 2
    assert two.rounds[0].verdicts[0].estimate == pytest.approx(one.rounds[0].verdicts[0].estimate)
    section = sequential_section(two, claims)
    assert section.figures[0].svg.startswith("<svg") and len(section.tables[1].rows) == len(two.rounds)


@pytest.mark.parametrize("args, needle", [
    (["report", "--budget", "100"], "add --until-decided"),
    (["claims", "--until-decided", "--budget", "10"], "less than one round"),
    (["report", "--until-decided", "--seeds", "0-4"], "one count of at least 2"),
    (["report", "--until-decided", "--polytopes", "1"], "one count of at least 2"),
    (["claims", "--until-decided", "--rule", "all"], "neither --runs nor --rule"),
    (["report", "--until-decided", "--polytopes", "2", "--budget", "100000000"], "more than 200"),
])
def test_bad_sequential_arguments_are_refused_before_anything_runs(args, needle, capsys, tmp_path):
    rc = main([*args, "--cache", str(tmp_path / "store")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and needle in err[-1], err
    assert not (tmp_path / "store").exists()
