"""The multiverse: planted effects show up in exactly the specifications that carry them."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from harness.analysis.multiverse import CHOICES, DEFAULT, MEASURE_COLUMNS, Remeasured, plan, run
from harness.claims import Claim, PairedDiff, evaluate_all
from harness.config import Measure, Protocol
from harness.render.text import as_json, table_text
from harness.runs.study import remeasure
from harness.schema import REGIONS, RUN_MEASURE_COLUMNS

POLYTOPES, SEEDS = 6, 8

FLAT = Claim(id="planted-flat", sentence="Lp has more flat points.", statistic=PairedDiff("flat_frac", "lp", "linear"),
             direction=">", group="planted")
ACC = Claim(id="planted-accuracy", sentence="Lp is more accurate.", statistic=PairedDiff("accuracy", "lp", "linear"),
            direction=">", group="planted")


def _tables(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired lp/linear runs with no flat-point difference and a clear accuracy difference."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("lp", "linear"):
        for p in range(POLYTOPES):
            for s in range(SEEDS):
                row = {c: 0.0 for c in RUN_MEASURE_COLUMNS}
                row.update(key=f"{model}-{p}-{s}", model=model, polytope=p, seed=s, status="ok", collapsed=False,
                           flat_frac=0.3 + rng.normal(0, 0.05),
                           accuracy=0.95 + (0.02 if model == "lp" else 0.0) + rng.normal(0, 0.005))
                rows.append(row)
    runs = pd.DataFrame(rows)
    points = pd.DataFrame({"key": runs["key"].repeat(2).to_numpy(), "point": np.tile([0, 1], len(runs)),
                           "grad_norm": 1.0, "distance": -0.1,
                           "region": pd.Categorical.from_codes(np.zeros(2 * len(runs), int), REGIONS)})
    return runs, points


def planted_remeasure(runs: pd.DataFrame, protocol: Protocol, m: Measure):
    """Stands in for study.remeasure: Lp gains 0.1 flat fraction only at flat threshold 0.5."""
    out = runs.copy()
    if m.flat_threshold == 0.5:
        out.loc[out["model"] == "lp", "flat_frac"] += 0.1
    return out, _tables()[1]


def test_an_effect_planted_at_one_threshold_holds_in_exactly_that_share():
    specs = plan("analysis")
    mv = run([FLAT, ACC], _tables(), specs, remeasure_fn=planted_remeasure)
    flat = {r.id: r for r in mv.robustness}["planted-flat"]
    at_half = sum(s.flat_threshold == 0.5 for s in specs)
    assert (flat.n_specs, flat.n_holds) == (36, at_half) == (36, 12)
    assert flat.share == pytest.approx(1 / 3)
    held = mv.of("planted-flat")
    assert set(held.loc[held["holds"], "flat_threshold"]) == {0.5}
    assert held.loc[held["flat_threshold"] == 0.5, "holds"].all()
    assert flat.default_verdict == "not supported" and flat.flips == ("flat threshold 0.5",)
    assert flat.by_choice["flat_threshold=0.5"] == (12, 12) and flat.by_choice["flat_threshold=1"] == (0, 12)
    # a claim that reads no re-measured column holds everywhere
    acc = {r.id: r for r in mv.robustness}["planted-accuracy"]
    assert (acc.n_holds, acc.n_specs, acc.flips) == (36, 36, ())


def test_an_effect_planted_in_one_band_is_attributed_to_the_band():
    """The threshold and the band are measured together (0.5 with 0.1, 2.0 with 0.3); an
    effect on grad_boundary at band 0.3 must still land on band 0.3 alone."""
    claim = Claim(id="planted-boundary", sentence="Lp is steeper in the band.",
                  statistic=PairedDiff("grad_boundary", "lp", "linear"), direction=">", group="planted")

    def at_band(runs, protocol, m):
        out = runs.copy()
        out["grad_boundary"] = 5.0 + np.random.default_rng(1).normal(0, 0.1, len(out))
        if m.band == 0.3:
            out.loc[out["model"] == "lp", "grad_boundary"] += 1.0
        return out, _tables()[1]

    mv = run([claim], _tables(), plan("analysis"), remeasure_fn=at_band)
    held = mv.of("planted-boundary")
    assert set(held.loc[held["holds"], "band"]) == {0.3} and held["holds"].sum() == 12


def test_the_default_specification_is_evaluate_all():
    runs, points = _tables()
    required = replace(ACC, id="needs-flat", requires=("planted-flat",))
    claims = [FLAT, ACC, required]
    mv = run(claims, (runs, points), [DEFAULT], remeasure_fn=planted_remeasure)
    want = {v.id: v for v in evaluate_all(claims, runs, points)}
    got = mv.outcomes.set_index("id")
    for cid, v in want.items():  # one verdict path: the same words and the same Holm p, exactly
        assert got.loc[cid, "verdict"] == v.verdict
        assert got.loc[cid, "p_adj"] == v.p_adj
    assert want["needs-flat"].verdict == "not supported"  # the requirement is what failed


def test_plans_cover_the_choices():
    analysis, default, full = plan("analysis"), plan("default"), plan("full")
    assert len(analysis) == 36 and len(default) == 42 and len(full) == 972
    assert analysis.count(DEFAULT) == default.count(DEFAULT) == full.count(DEFAULT) == 1
    assert len(set(full)) == 972
    for s in default[36:]:  # each training choice alone
        assert len(s.changes()) == 1 and s.trains
    assert {getattr(s, c) for s in full for c in ["n_faces"]} == set(CHOICES["n_faces"])


def _random_params(n_polytopes: int = 2, n_seeds: int = 2, hidden: int = 32) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for model in ("lp", "linear"):
        for p in range(n_polytopes):
            for s in range(n_seeds):
                params = {"W1": rng.normal(0, 1, hidden * 2).tolist(), "b1": rng.normal(0, 0.5, hidden).tolist(),
                          "w": rng.normal(0, 1, hidden).tolist(), "b": 0.1, "c": 1.0, "e": -0.5}
                rows.append({"model": model, "polytope": p, "seed": s, **{f"param_{k}": v for k, v in params.items()}})
    return pd.DataFrame(rows)


def test_crossed_settings_are_composed_from_one_measurement_per_value():
    """Remeasured takes each setting's columns from a measurement that had its value: the
    composed table equals measuring the crossed setting directly."""
    base_runs, base_points = remeasure(_random_params(), Protocol(), Measure())
    source = Remeasured(base_runs, base_points, Protocol(), remeasure)
    crossed = Measure(flat_threshold=2.0, band=0.1, center="chebyshev")
    source.prepare([Measure(flat_threshold=0.5, band=0.3), crossed])
    runs, points = source.tables(crossed)
    want_runs, want_points = remeasure(base_runs, Protocol(), crossed)
    for col in RUN_MEASURE_COLUMNS:
        np.testing.assert_array_equal(runs[col].to_numpy(), want_runs.set_index("key").loc[runs["key"], col].to_numpy(),
                                      err_msg=col)
    merged = points.merge(want_points, on=["key", "point"], suffixes=("", "_want"))
    assert len(merged) == len(points)
    assert (merged["region"].astype(str) == merged["region_want"].astype(str)).all()
    changed = {c for cols in MEASURE_COLUMNS.values() for c in cols}
    assert any((runs[c] != base_runs[c]).any() for c in changed)  # the settings did change something


def test_text_and_json_name_every_claim():
    mv = run([FLAT, ACC], _tables(), plan("analysis"), remeasure_fn=planted_remeasure, plan_name="analysis")
    text = table_text(mv)
    assert "planted-flat" in text and "12/36" in text and "changes under: flat threshold 0.5" in text
    out = as_json(mv)
    assert [o["id"] for o in out] == ["planted-flat", "planted-accuracy"]
    assert out[0]["share"] == pytest.approx(1 / 3) and len(out[0]["specifications"]) == 36


def test_report_sections_are_built_from_the_results():
    """The three report sections: real tables (a row per claim) and inline SVG figures."""
    from harness.analysis.design import Costs, design
    from harness.analysis.seedzero import seed_zero
    from harness.render.design import design_section
    from harness.render.sections import multiverse_section, seed0_section

    runs, points = _tables()
    mv = run([FLAT, ACC], (runs, points), plan("analysis"), remeasure_fn=planted_remeasure,
             main_size="8 seeds x 6 polytopes", plan_name="analysis")
    section = multiverse_section(mv, [FLAT, ACC], group="planted")
    assert [r[0] for r in section.tables[0].rows] == ["planted-flat", "planted-accuracy"]
    assert [f.id for f in section.figures] == ["multiverse-summary", "spec-curve-planted-flat",
                                               "spec-curve-planted-accuracy"]
    assert "36 specifications" in section.intro
    verdicts = evaluate_all([FLAT, ACC], runs, points, n_boot=200)
    units = {c.id: c.statistic.units(runs, points, c.rule).finite(c.statistic.inputs).table for c in (FLAT, ACC)}
    plan_ = design([FLAT, ACC], verdicts, units, 8 * 6, Costs(0.0002, 0.02, "given"), 2, "8 seeds x 6 polytopes")
    section = design_section(plan_, 1.0)
    assert section.id == "study-design" and [r[0] for r in section.tables[0].rows] == ["planted-flat", "planted-accuracy"]
    assert "8 seeds x 6 polytopes" in section.intro and "Computed in 1 s" in section.intro
    if plan_.seeds is not None:  # the ladder: one row per claim the family's study decides
        assert len(section.tables[1].rows) == len(plan_.ladder)
    reproduced = {"lp": {"flat_frac": 0.32, "accuracy": 0.99}, "linear": {"flat_frac": 0.03, "accuracy": 0.99}}
    seed0 = seed0_section(seed_zero([FLAT, ACC], verdicts, reproduced), verdicts)
    assert [r[0] for r in seed0.tables[0].rows] == ["planted-flat", "planted-accuracy"]
    assert seed0.tables[0].rows[0][1] == pytest.approx(0.29)
