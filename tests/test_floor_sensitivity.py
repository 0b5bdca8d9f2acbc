"""Magnitudes that a floor sets (issue 12.9): a floored ratio's estimate at other ratio floors,
and runs with no unit to average (no active unit at the centre) counted as an outcome, on
synthetic run tables whose truth is known; and the terminal row, the JSON and the page's
rows show both."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis import stats
from harness.analysis.units import FLOORS, RATIO_FLOOR
from harness.claims import Claim, PairedRatio, PairedWithinRatio, WithinRatio, evaluate_all
from harness.jsonable import dumps
from harness.render.claim_sections import _facts, headline
from harness.render.text import caveats, verdict_row


def table(n_poly=10, n_seed=10, zeroed=0, no_centre=(), seed=0):
    """Paired runs of lp and linear. `w` is exp(N(0, 1) / 4) (never near any floor), except
    that lp's is exactly 0 in seeds below `zeroed` (as hard non-negativity leaves it);
    `center_active_absw` is undefined (count center_active_n 0) for lp in the (polytope,
    seed) pairs of `no_centre`."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_poly):
        for s in range(n_seed):
            for model in ("lp", "linear"):
                w = float(np.exp(rng.normal(0, 1) / 4))
                empty = model == "lp" and (p, s) in no_centre
                rows.append({"model": model, "polytope": p, "seed": s, "status": "ok", "collapsed": False,
                             "w": 0.0 if (model == "lp" and s < zeroed) else w,
                             "center_inactive_absw": 2 * w,
                             "center_active_n": 0 if empty else 3,
                             "center_active_absw": math.nan if empty else w / (10 if model == "lp" else 1)})
    return pd.DataFrame(rows)


def verdict(claim, runs):
    return evaluate_all([claim], runs, None, n_boot=200)[0]


RATIO = Claim("floored", "linear's w above lp's", PairedRatio("w", num="linear", den="lp"), direction=">")
CENTRE = Claim("centre", "linear's centre-active |w| above lp's",
               PairedRatio("center_active_absw", num="linear", den="lp"), direction=">")


def test_the_estimate_moves_with_the_floor_when_the_floor_sets_it():
    """In 3 of each polytope's 10 pairs lp's w is exactly 0: there the log ratio is
    log(linear's w / floor), so each decade lower puts 0.3 decades on the geometric mean."""
    v = verdict(RATIO, table(zeroed=3))
    fs = v.floor_sensitivity
    assert fs.floors == FLOORS == (1e-3, 1e-4, 1e-5, 1e-6) and fs.default == RATIO_FLOOR
    assert fs.estimates[FLOORS.index(RATIO_FLOOR)] == v.estimate  # the claim's own estimate at the default
    steps = np.diff(np.log10(fs.estimates))
    assert steps == pytest.approx([0.3, 0.3, 0.3], abs=1e-9)
    assert fs.shares_at_floor == pytest.approx((0.3,) * 4) and fs.share_at_default == pytest.approx(0.3)
    assert fs.fold == pytest.approx(10 ** 0.9) and fs.set_by_floor and fs.touched
    assert v.verdict == "supported"  # a caveat beside the word, not a change of it
    assert v.detail["share_at_ratio_floor"] == pytest.approx(0.3)


def test_the_estimate_stays_put_when_no_floor_reaches_a_unit():
    v = verdict(RATIO, table(zeroed=0))
    fs = v.floor_sensitivity
    assert fs.estimates == (v.estimate,) * 4 and fs.fold == 1.0
    assert not fs.set_by_floor and not fs.touched and fs.shares_at_floor == (0.0,) * 4
    assert caveats(v) == [] and "\n" not in verdict_row(v)


def test_every_floored_ratio_statistic_reports_its_floors_and_others_do_not():
    runs = table(zeroed=2)
    within = Claim("within", "x", WithinRatio("center_inactive_absw", "w", model="lp"), direction=">")
    contrast = Claim("contrast", "x", PairedWithinRatio("center_inactive_absw", "w", a="lp", b="linear"), direction=">")
    for c in (within, contrast):
        v = verdict(c, runs)
        assert v.floor_sensitivity.estimates[1] == v.estimate and v.floor_sensitivity.set_by_floor, c.id
        assert v.floor_sensitivity.share_at_default == pytest.approx(0.2), c.id
    from harness.claims import PairedDiff
    assert verdict(Claim("diff", "x", PairedDiff("w", "linear", "lp")), runs).floor_sensitivity is None


def test_no_active_centre_unit_is_counted_and_shared_on_polytopes():
    """k pairs where lp has no active unit at the centre: counted (and the pairs of collapsed
    runs, outside the inclusion rule, are not), with the mean of the polytopes' shares and its
    t-interval on polytope shares; Linear's zero too."""
    no_centre = {(0, 0), (0, 1), (0, 2), (3, 5), (7, 9)}
    runs = table(no_centre=no_centre)
    runs.loc[(runs["polytope"] == 9) & (runs["seed"] < 4), "collapsed"] = True  # 4 pairs out under the rule
    v = verdict(CENTRE, runs)
    empty = {e.model: e for e in v.empty}
    lp, linear = empty["lp"], empty["linear"]
    assert (lp.n_empty, lp.n, lp.polytopes_empty, lp.n_polytopes) == (5, 96, 3, 10)
    assert lp.what == "no active unit at the centre" and lp.unit == "pair" and lp.column == "center_active_absw"
    shares = np.array([3 / 10, 0, 0, 1 / 10, 0, 0, 0, 1 / 10, 0, 0])
    assert lp.share == pytest.approx(shares.mean())
    t = stats.mean_interval(shares, np.arange(10))  # one flag a pair, polytope means: the same t-interval
    assert (lp.ci.low, lp.ci.high) == pytest.approx((max(t.ci.low, 0.0), t.ci.high))
    assert (linear.n_empty, linear.n, linear.share, linear.ci.low) == (0, 96, 0.0, 0.0) and 0 < linear.ci.high < 0.35
    assert v.n_runs == 91 and "5 pairs with an undefined center_active_absw" in v.note  # still out of the ratio


def test_the_row_the_json_and_the_page_show_both():
    no_centre = {(1, 1), (2, 2), (4, 4)}
    runs = table(zeroed=3, no_centre=no_centre)
    runs["center_active_absw"] = np.where(runs["model"].eq("lp") & runs["seed"].lt(3) & runs["center_active_n"].gt(0),
                                          0.0, runs["center_active_absw"])  # and at the floor where defined
    v = verdict(CENTRE, runs)
    row = verdict_row(v)
    first, floor_line, empty_line = row.split("\n")
    assert first.startswith("centre") and v.verdict in first
    assert "estimate with the ratio floor at 1e-3 / 1e-4 / 1e-5 / 1e-6: " in floor_line
    assert "its magnitude is set by the floor" in floor_line
    assert "no active unit at the centre: linear in 0 of 100 pairs" in empty_line
    assert "lp in 3 of 100 pairs, on 3 of 10 polytopes" in empty_line and "left out of the estimate" in empty_line

    d = json.loads(dumps(v.as_dict()))
    fs = d["floor_sensitivity"]
    assert fs["floors"] == list(FLOORS) and len(fs["estimates"]) == 4 and fs["set_by_floor"] is True
    assert fs["estimates"][1] == d["estimate"]
    lp = next(e for e in d["empty"] if e["model"] == "lp")
    assert (lp["n_empty"], lp["n"], lp["polytopes_empty"]) == (3, 100, 3) and lp["ci_low"] <= lp["share"] <= lp["ci_high"]

    (group,) = headline([CENTRE], [v])
    assert group["rows"][0]["caveats"] == caveats(v) == [floor_line.strip(), empty_line.strip()]
    facts = dict(_facts(CENTRE, v, "write-up", {}))
    assert facts["estimate at other ratio floors"] == floor_line.strip()
    assert facts["no units to average"] == empty_line.strip()
