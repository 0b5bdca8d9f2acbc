"""One Statistic protocol: a new kind of statistic is one class, and every part of the harness
(verdicts, the terminal row, seed 0, the multiverse, power) takes it without an edit; and no
module switches on a statistic's type or its scale."""
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness
from harness.analysis.multiverse import DEFAULT, Spec, _inputs, run
from harness.analysis.power import power_curves
from harness.analysis.scales import MeanStatistic
from harness.analysis.seedzero import seed_zero
from harness.analysis.units import Units, paired
from harness.claims import Claim, PairedDiff, evaluate_all
from harness.config import Measure
from harness.render.text import verdict_row

PACKAGE = Path(harness.__file__).resolve().parent


@dataclass(frozen=True)
class PairedWins(MeanStatistic):
    """Per (polytope, seed) pair: 1 when `a`'s column beats `b`'s, else 0: the share of pairs
    that `a` wins. Nothing in the harness knows this class."""

    column: str
    a: str
    b: str
    unit = "pair"

    @property
    def models(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"share of pairs where {self.column}[{self.a}] > {self.column}[{self.b}]"

    def axis_label(self) -> str:
        return f"{self.a} beats {self.b} on {self.column} (1) or not (0)"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = paired(runs, self.a, self.b, rule, [self.column])
        wins = (t[f"{self.column}_a"] > t[f"{self.column}_b"]).astype(float)
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": wins}), n_ex)

    def seed_zero(self, run) -> float | None:
        return float(run[self.a][self.column] > run[self.b][self.column])


WINS = Claim("lp-wins-most-pairs", "Lp has more flat points than Linear in most pairs.",
             PairedWins("flat_frac", "lp", "linear"), kind="shape", null=0.5, group="new")
DIFF = Claim("lp-flatter", "Lp has more flat points.", PairedDiff("flat_frac", "lp", "linear"), group="new")


def _tables(n_poly: int = 8, n_seed: int = 6, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = [{"key": f"{m}-{p}-{s}", "model": m, "polytope": p, "seed": s, "status": "ok", "collapsed": False,
             "flat_frac": (0.35 if m == "lp" else 0.2) + rng.normal(0, 0.1), "accuracy": 0.95}
            for p in range(n_poly) for s in range(n_seed) for m in ("lp", "linear")]
    return pd.DataFrame(rows), pd.DataFrame({"key": [], "point": [], "grad_norm": [], "region": []})


def test_a_new_statistic_is_one_class_that_every_part_of_the_harness_takes():
    runs, points = _tables()
    wins, diff = evaluate_all([WINS, DIFF], runs, points, n_boot=200)
    assert 0.7 < wins.estimate < 1 and wins.verdict == "supported" and diff.verdict == "supported"
    assert len(wins.per_polytope) == 8 and wins.statistic.startswith("share of pairs")
    row = verdict_row(wins)
    assert row.startswith("lp-wins-most-pairs") and "supported" in row and "\n" not in row
    (s0,) = seed_zero([WINS], [wins], {"lp": {"flat_frac": 0.3}, "linear": {"flat_frac": 0.1}})
    assert s0.value == 1.0 and s0.source == "reproduced" and 0 < s0.percentile <= 100
    (s0,) = seed_zero([WINS], [wins], {"lp": {"flat_frac": 0.3}})  # the run lacks a model it needs
    assert s0.value is None and "linear" in s0.why
    # the multiverse: its column is re-measured under a flat threshold, not under a band
    assert _inputs(WINS, Measure(flat_threshold=1.0, band=0.3)) == (("flat_threshold", 1.0),)
    mv = run([WINS, DIFF], (runs, points), [DEFAULT, Spec(rule="all")], n_boot=200)
    assert set(mv.of(WINS.id)["verdict"]) == {"supported"}
    (curve, _) = power_curves([WINS, DIFF], [wins, diff], runs, points, seed_grid=(3, 6), polytope_grid=(4,),
                              reps=20, rng=np.random.default_rng(0))
    assert curve.id == WINS.id and len(curve.power) == 2


def test_an_equivalence_margin_needs_an_additive_statistic():
    from harness.errors import HarnessError

    ratio_like = type("RatioWins", (PairedWins,), {"additive": False})
    with pytest.raises(HarnessError, match="needs a difference"):
        Claim("x", "x", ratio_like("flat_frac", "lp", "linear"), kind="equivalence", margin=(-1, 1))


STATISTIC_CLASSES = (r"\b(PairedRatio|PairedDiff|WithinDiff|RatioOfMeans|WithinRatio|PairedWithinRatio|RunMean|DipShare"
                     r"|MesaContrast|MesaShare|Slope)\b")
SWITCHES = {
    "an isinstance switch on a statistic class": re.compile(r"isinstance\([^)]*" + STATISTIC_CLASSES),
    "a comparison with a scale": re.compile(r"\.scale\s*(==|!=|\bin\b|\bnot in\b)"),
    "a scale string": re.compile(r"[\"'](ratio_of_means|slope)[\"']|(==|!=|\bin\b)\s*\(?[\"']log[\"']"),
}


def test_no_module_switches_on_a_statistics_type_or_its_scale():
    """The statistic classes (analysis/statistics.py) and their scale families
    (analysis/scales.py) are the only places that know them."""
    own = {PACKAGE / "analysis" / "statistics.py", PACKAGE / "analysis" / "scales.py"}
    found = [f"{path.relative_to(PACKAGE.parent)}:{i}: {what}: {line.strip()}"
             for path in sorted(PACKAGE.rglob("*.py")) if path not in own
             for i, line in enumerate(path.read_text().splitlines(), 1)
             for what, pattern in SWITCHES.items() if pattern.search(line)]
    assert not found, "\n".join(found)
