"""Verdict logic on synthetic run tables whose truth is known, and claim discovery."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.stats import Interval
from harness.analysis.verdicts import Gate
from harness.claims import (
    Claim,
    DipShare,
    MesaContrast,
    MesaShare,
    PairedDiff,
    PairedRatio,
    RatioOfMeans,
    RunMean,
    Slope,
    evaluate,
    evaluate_all,
    load_claims,
    models_needed,
)
from harness.errors import HarnessError
from harness.render.text import verdict_row

ROOT = Path(__file__).resolve().parent.parent


def table(lp, linear, n_poly=10, n_seed=10, seed=0, collapsed_share=0.0, poly_sd=0.0):
    """Paired runs of lp and linear: column `x` drawn from N(mean, 1) per run with a
    polytope effect of sd `poly_sd`; `lp`/`linear` are the means."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_poly):
        shift = rng.normal(0, poly_sd)
        for s in range(n_seed):
            for model, mean in (("lp", lp), ("linear", linear)):
                x = mean + shift + rng.normal(0, 1)
                rows.append({"key": f"{model}-{p}-{s}", "model": model, "polytope": p, "seed": s, "status": "ok",
                             "collapsed": bool(rng.random() < collapsed_share), "x": x, "pos": np.exp(x / 4)})
    return pd.DataFrame(rows)


def verdict(claim, runs, points=None):
    return evaluate_all([claim], runs, points, n_boot=500)[0]


def test_direction_claims_read_supported_contradicted_or_not_supported():
    c = Claim("d", "lp above linear", PairedDiff("x", "lp", "linear"), direction=">")
    assert verdict(c, table(1.0, 0.0)).verdict == "supported"
    assert verdict(c, table(0.0, 1.0)).verdict == "contradicted"
    assert verdict(c, table(0.0, 0.0, n_poly=4, n_seed=3, seed=1)).verdict == "not supported"  # p = 0.67


def test_magnitude_claims_need_the_ci_inside_their_band():
    runs = table(2.0, 0.0)  # pos ratio exp(0.5) = 1.65; estimate 1.71, 95% CI about [1.52, 1.95]

    def word(claimed: float, tolerance: float) -> str:
        c = Claim("m", "x", PairedRatio("pos", "lp", "linear"), kind="magnitude", claimed=claimed, tolerance=tolerance)
        return verdict(c, runs).verdict

    assert word(1.7, 1.25) == "supported"  # band [1.36, 2.13]
    assert word(10.0, 2.0) == "smaller than claimed"  # band [5, 20]
    assert word(1.2, 1.1) == "larger than claimed"  # band [1.09, 1.32]
    assert word(1.4, 1.2) == "magnitude undecided"  # band [1.17, 1.68]: the CI reaches across 1.68


def test_equivalence_claims():
    c = Claim("e", "x", PairedDiff("x", "lp", "linear"), kind="equivalence", margin=(-0.5, 0.5))
    assert verdict(c, table(0.0, 0.0, n_poly=90, n_seed=4)).verdict == "equivalent"  # 90: the fewest that may say it
    assert verdict(c, table(2.0, 0.0)).verdict == "contradicted"
    assert verdict(c, table(0.4, 0.0, n_poly=4, n_seed=3, seed=1)).verdict == "not shown equivalent"


def test_inclusion_rule_drops_collapsed_pairs_and_counts_them():
    runs = table(1.0, 0.0, collapsed_share=0.3)
    c = Claim("d", "x", PairedDiff("x", "lp", "linear"))
    v = evaluate(c, runs)
    both_ok = (~runs[runs.model == "lp"]["collapsed"].to_numpy()) & (~runs[runs.model == "linear"]["collapsed"].to_numpy())
    assert v.n_runs == both_ok.sum() and v.n_runs + v.n_excluded == 100
    assert evaluate(c, runs, rule="all").n_runs == 100


def test_ratio_of_means_and_run_mean_bounds():
    runs = table(1.0, 0.0)
    v = verdict(Claim("r", "x", RatioOfMeans("pos", "lp", "linear"), kind="magnitude", claimed=1.3,
                           tolerance=1.25), runs)
    truth = runs[runs.model == "lp"]["pos"].mean() / runs[runs.model == "linear"]["pos"].mean()
    assert v.estimate == pytest.approx(truth) and v.verdict == "supported"
    below = Claim("b", "x", RunMean("x", "linear"), direction="<", null=0.5)
    assert verdict(below, runs).verdict == "supported"
    assert verdict(below, table(0.0, 1.0)).verdict == "contradicted"


def test_holm_runs_within_each_group_and_requires_gates_support():
    runs = table(0.5, 0.0, n_poly=10, n_seed=3, seed=3)
    strong = Claim("strong", "x", PairedDiff("x", "lp", "linear"))
    alone = evaluate_all([strong], runs, n_boot=200)[0]
    assert alone.p_adj < 0.05 and alone.verdict == "supported"
    noise = [Claim(f"n{i}", "x", RunMean("x", "lp"), null=0.5 + 0.01 * i, group="ablation") for i in range(10)]
    together = evaluate_all([strong, *noise], runs, n_boot=200)[0]
    assert together.p_adj == pytest.approx(alone.p_adj)  # another group does not dilute it
    same_group = [Claim(f"s{i}", "x", RunMean("x", "lp"), null=0.5) for i in range(30)]
    diluted = evaluate_all([strong, *same_group], runs, n_boot=200)[0]
    assert diluted.p_adj > alone.p_adj and diluted.p_adj == pytest.approx(min(1, 31 * alone.p_value))
    gate = Claim("gate", "x", PairedDiff("x", "lp", "linear"), kind="equivalence", margin=(-0.01, 0.01))
    gated = Claim("gated", "x", PairedDiff("x", "lp", "linear"), requires=("gate",))
    vs = {v.id: v for v in evaluate_all([gate, gated], table(1.0, 0.0), n_boot=200)}
    assert vs["gate"].verdict != "equivalent" and vs["gated"].verdict == "not supported"
    assert "gate is" in vs["gated"].note and "(gated)" in verdict_row(vs["gated"])
    orphan = Claim("orphan", "x", PairedDiff("x", "lp", "linear"), requires=("missing",))
    v = evaluate_all([orphan], table(1.0, 0.0), n_boot=200)[0]
    assert v.verdict == "not supported" and "missing was not evaluated" in v.note


def test_estimate_and_test_describe_one_quantity_when_polytopes_differ_in_size():
    """Five polytopes with 50 pairs at +1 and fifteen with 2 pairs at -1: the pooled mean is
    positive, the mean of polytope means (what the t-test on polytopes tests) negative. The
    estimate must be the tested quantity, so a '>' claim cannot read supported."""
    rng = np.random.default_rng(0)
    rows = []
    for p in range(20):
        big = p < 5
        for s in range(50 if big else 2):
            v = (1.0 if big else -1.0) + rng.normal(0, 0.1)
            rows += [{"model": "lp", "polytope": p, "seed": s, "status": "ok", "collapsed": False, "x": v},
                     {"model": "linear", "polytope": p, "seed": s, "status": "ok", "collapsed": False, "x": 0.0}]
    runs = pd.DataFrame(rows)
    up = verdict(Claim("u", "x", PairedDiff("x", "lp", "linear"), direction=">"), runs)
    assert up.estimate == pytest.approx(-0.5, abs=0.05) and up.verdict == "contradicted"


def test_all_agreeing_yes_no_runs_are_tested_over_polytopes_not_runs():
    """Every run agreeing is evidence from G polytopes, not p = 0: with 3 polytopes the
    exact binomial test against a share of 0.5 cannot reach 0.05."""
    runs = table(1.0, 0.0, n_poly=3, n_seed=2).assign(flag=1.0)
    v = verdict(Claim("f", "x", RunMean("flag", "lp", yes_no=True), null=0.5), runs)
    assert v.p_value == pytest.approx(0.25) and v.verdict == "not supported" and v.ci_low < 0.5
    assert "exact binomial test" in v.note
    many = table(1.0, 0.0, n_poly=10, n_seed=2).assign(flag=1.0)
    assert verdict(Claim("f", "x", RunMean("flag", "lp", yes_no=True), null=0.5), many).verdict == "supported"


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_a_constant_difference_gets_a_zero_width_interval_not_a_share_interval(value):
    """A difference that is the same in every pair is not a yes/no share: its interval is
    [v, v] and the note says so (a Wilson interval would give [0, 0.278] or [0.722, 1])."""
    runs = table(1.0, 0.0)
    runs["flag"] = np.where(runs["model"] == "lp", value, 0.0)
    v = verdict(Claim("c", "x", PairedDiff("flag", "lp", "linear"), direction=">"), runs)
    assert (v.ci_low, v.ci_high) == (value, value) and "constant" in v.note
    eq = verdict(Claim("e", "x", PairedDiff("flag", "lp", "linear"), kind="equivalence", margin=(-0.1, 0.1)), runs)
    assert (eq.ci_low, eq.ci_high) == (value, value)
    assert eq.verdict == ("equivalent" if value == 0.0 else "contradicted")


def test_equivalence_is_contradicted_only_by_a_significant_excess_over_the_margin():
    c = Claim("e", "x", PairedDiff("x", "lp", "linear"), kind="equivalence", margin=(-0.5, 0.5))
    v = verdict(c, table(2.0, 0.0))
    assert v.verdict == "contradicted" and v.p_adj < 0.05 and v.detail["beyond_margin_p"] < 0.05
    near = verdict(c, table(0.6, 0.0, n_poly=4, n_seed=3, seed=1))
    assert near.verdict == "not shown equivalent"


def test_dip_share_tells_bimodal_from_unimodal():
    rng = np.random.default_rng(1)
    runs, pts = [], []
    for model, bimodal in (("lp", True), ("linear", False)):
        for p in range(6):
            for s in range(5):
                key = f"{model}{p}{s}"
                runs.append({"key": key, "model": model, "polytope": p, "seed": s, "status": "ok", "collapsed": False})
                g = np.concatenate([rng.uniform(0, 0.3, 35), rng.uniform(5, 18, 65)]) if bimodal \
                    else rng.normal(9, 2, 100)
                pts.append(pd.DataFrame({"key": key, "grad_norm": g, "region": "interior"}))
    runs, pts = pd.DataFrame(runs), pd.concat(pts)
    assert verdict(Claim("b", "x", DipShare("lp"), kind="shape", null=0.5), runs, pts).verdict == "supported"
    v = verdict(Claim("u", "x", DipShare("linear"), kind="shape", direction="<", null=0.5), runs, pts)
    assert v.verdict == "supported" and v.estimate < 0.2


def test_the_mesa_contrast_tells_lp_from_linear_where_the_dip_test_did_not():
    """A spike below the flat threshold beside a mode above it (Lp) against one mode (Linear),
    paired per (polytope, seed): the contrast is near 1 and supported; with both unimodal it
    is 0, and the share of Linear runs with a mesa is 0."""
    rng = np.random.default_rng(1)
    runs = table(1.0, 0.0, n_poly=8, n_seed=4)
    pts = [pd.DataFrame({"key": k, "region": "interior",
                         "grad_norm": (np.concatenate([rng.uniform(0, 0.3, 30), rng.uniform(5, 18, 60)])
                                       if k.startswith("lp") else rng.normal(9, 2, 90))})
           for k in runs["key"]]
    points = pd.concat(pts, ignore_index=True)
    v = verdict(Claim("m", "x", MesaContrast("lp", "linear"), kind="shape"), runs, points)
    assert v.estimate == 1.0 and v.verdict == "supported"
    none = verdict(Claim("u", "x", MesaShare("linear"), kind="shape", direction="<", null=0.5), runs, points)
    assert none.estimate == 0.0 and none.verdict == "supported"


def test_an_undecided_claim_whose_unadjusted_interval_excludes_the_null_says_which_side():
    """The interval is the claim's own (labelled unadjusted); when Holm leaves the claim
    undecided although that interval excludes the null, the note says where it points."""
    from harness.analysis.verdicts import decide_all, evaluate

    runs = table(0.8, 0.0, seed=3)
    c = Claim("d", "x", PairedDiff("x", "lp", "linear"), direction="<")
    raw = evaluate(c, runs, n_boot=200)
    assert raw.p_value < 0.05 and raw.ci_low > 0  # wrong side, significant alone
    (v,) = decide_all([c], [raw], np.array([0.5]))  # as if Holm had left it undecided
    assert v.verdict == "not supported" and v.ci_label == "95% CI (unadjusted)"
    assert "wholly above the null (the other side" in v.note and v.as_dict()["ci_label"] == v.ci_label


def test_a_log_ratio_reports_the_share_of_units_the_floor_set():
    """Hard non-negativity sets weights to exactly 0: the ratio is then the floor's, and the
    verdict's detail says for how many units."""
    runs = table(1.0, 0.0)
    runs["zeroed"] = np.where(runs["seed"] < 3, 0.0, runs["pos"])
    v = verdict(Claim("f", "x", PairedRatio("zeroed", "lp", "linear"), direction="<"), runs)
    assert v.detail["share_at_ratio_floor"] == pytest.approx(0.3)


def test_slope_claim_recovers_a_negative_slope():
    rng = np.random.default_rng(2)
    rows = []
    for p in range(10):
        for s in range(20):
            x = rng.uniform(0, 3)
            rows.append({"model": "linear", "polytope": p, "seed": s, "status": "ok", "collapsed": False,
                         "neg": x, "flat": 0.4 - 0.1 * x + rng.normal(0, 0.05) + 0.02 * p})
    v = verdict(Claim("s", "x", Slope("flat", "neg", ("linear",)), direction="<"), pd.DataFrame(rows))
    assert v.verdict == "supported" and v.ci_low < -0.1 < v.ci_high


def test_verdict_prints_as_one_row_and_serialises():
    v = verdict(Claim("d", "x", PairedDiff("x", "lp", "linear")), table(1.0, 0.0))
    assert "\n" not in verdict_row(v) and "supported" in verdict_row(v)
    d = v.as_dict()
    json.dumps(d)
    assert {"id", "verdict", "estimate", "ci_low", "ci_high", "p_adj", "n_runs"} <= set(d)


def test_every_claim_file_declares_loadable_claims():
    claims = load_claims(ROOT / "claims")
    assert len(claims) >= 19 and len({c.id for c in claims}) == len(claims)
    assert {"lp", "linear", "lp2", "linear+nonneg_hard"} <= set(models_needed(claims))
    for c in claims:
        assert c.writeup is None or np.isfinite(c.writeup)


NEW_CLAIM = '''"""Lp's interior is flatter than its boundary band (a new claim, one short file)."""
from harness.claims import Claim, PairedRatio
from harness.testing.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(
    id="lp-interior-below-boundary-NEW",
    sentence="Lp's interior gradient is lower than Linear's boundary gradient.",
    statistic=PairedRatio("grad_boundary", num="linear", den="lp"),
    direction=">",
)
EXPECTED = {}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted", "supported", "not supported"))
'''


def test_a_new_claim_file_is_picked_up_everywhere(tmp_path):
    """Adding one file to a copy of claims/ is all it takes: pytest claims, `harness claims`
    and the report all see it."""
    claims = tmp_path / "claims"
    shutil.copytree(ROOT / "claims", claims, ignore=shutil.ignore_patterns("__pycache__"))
    (claims / "test_new_claim.py").write_text(NEW_CLAIM)
    env = {**os.environ, "MESA_HARNESS_CLAIMS": str(claims), "MESA_HARNESS_CACHE": str(tmp_path / "store")}
    sel = ["--seeds", "2", "--polytopes", "2"]
    r = subprocess.run([sys.executable, "-m", "pytest", str(claims / "test_new_claim.py"), "-q", "-p", "no:cacheprovider",
                        *sel], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "1 passed, 1 skipped" in r.stdout  # its counter-test ran; no verdict recorded at 2x2
    r = subprocess.run([sys.executable, "-m", "harness", "claims", "--json", *sel], capture_output=True, text=True,
                       cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "lp-interior-below-boundary-NEW" in {d["id"] for d in json.loads(r.stdout)}
    r = subprocess.run([sys.executable, "-m", "harness", "report", "--no-progress", *sel, "--out", str(tmp_path / "rep")],
                       capture_output=True, text=True, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "lp-interior-below-boundary-NEW" in (tmp_path / "rep" / "index.html").read_text()


def test_a_ratio_whose_numerator_is_zero_everywhere_is_reported_not_raised():
    runs = table(1.0, 0.0).assign(zero=lambda d: np.where(d["model"] == "lp", 0.0, d["pos"]))
    v = verdict(Claim("z", "x", RatioOfMeans("zero", "lp", "linear"), direction="<"), runs)
    assert v.estimate == 0 and v.verdict == "supported"


def test_an_equivalence_claim_with_no_usable_runs_says_it_could_not_be_tested():
    """Issue 14 point 2: with every run collapsed nothing can be tested. The Bonferroni factor
    of the 'contradicted' test is the family's testable size, 0 here, and once made p_adj 0
    and the word 'contradicted'."""
    runs = table(0.0, 0.0, n_poly=1, n_seed=1, collapsed_share=1.0)
    c = Claim("e", "x", PairedDiff("x", "lp", "linear"), kind="equivalence", margin=(-0.5, 0.5))
    v = verdict(c, runs)
    assert v.verdict == "not shown equivalent" and not v.tested
    assert np.isnan(v.p_adj) and "nothing to test" in v.note
    assert verdict(Claim("d", "x", PairedDiff("x", "lp", "linear")), runs).verdict == "not supported"


def test_verdict_carries_a_typed_interval_a_typed_gate_and_a_one_line_repr():
    gate = Claim("gate", "x", PairedDiff("x", "lp", "linear"), kind="equivalence", margin=(-0.01, 0.01))
    gated = Claim("gated", "x", PairedDiff("x", "lp", "linear"), requires=("gate",))
    free = Claim("free", "x", PairedDiff("x", "lp", "linear"))
    vs = {v.id: v for v in evaluate_all([gate, gated, free], table(1.0, 0.0), n_boot=200)}
    v = vs["gated"]
    assert isinstance(v.ci, Interval) and (v.ci_low, v.ci_high) == (v.ci.low, v.ci.high)
    assert v.gate == Gate(("gate is " + vs["gate"].verdict,)) and v.gate.note in v.note
    assert vs["free"].gate is None and vs["free"].verdict == "supported"
    assert "\n" not in repr(v) and repr(v).startswith("Verdict(gated: not supported (gated)")
    d = v.as_dict()  # the JSON keeps its keys and their order: no interval object, no gate
    assert list(d)[4:7] == ["estimate", "ci_low", "ci_high"] and "ci" not in d and "gate" not in d


def test_a_claim_needs_a_statistic():
    with pytest.raises(HarnessError, match="must be a harness.claims statistic"):
        Claim("bad", "x", statistic=("x", "lp", "linear"))
