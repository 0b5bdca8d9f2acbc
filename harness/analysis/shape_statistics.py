"""The shape statistics: whether a run's interior gradient norms form a mesa (a spike below
the flat threshold plus a mode above it, stats.mesa_per_run), as a share of runs or as a
paired contrast between two models, and Hartigan's dip test as a share of runs (kept for
comparison: it reacts to the steps of a ReLU network's piecewise-constant gradient)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.analysis.scales import MeanStatistic, Run
from harness.analysis.units import ALPHA, Units, defined, paired, runs_of, untie
from harness.config import Measure


class _RunShape:
    """A yes/no verdict on each run of one model from its per-point gradient norms in one
    region: the models, the points it reads, and no run-table column."""

    model: str
    region: str
    needs_points = True
    yes_no = True

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,)

    @property
    def columns(self) -> tuple[str, ...]:
        return ()

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.region,)


@dataclass(frozen=True)
class DipShare(_RunShape, MeanStatistic):
    """Per run of `model`: 1 when Hartigan's dip test rejects unimodality of the interior
    gradient norms (ties broken, see units.untie) at alpha = 0.05, else 0; the share of such runs."""

    model: str
    region: str = "interior"

    def describe(self) -> str:
        return f"share of {self.model} runs whose {self.region} gradient norms fail Hartigan's dip test (p < 0.05)"

    def axis_label(self) -> str:
        return f"{self.model}: dip test rejects (1) or not (0)"

    def units(self, runs, points, rule) -> Units:
        r, n_ex = runs_of(runs, self.models, rule)
        pts = points[(points["region"] == self.region) & points["key"].isin(set(r["key"]))]
        by = {k: g["grad_norm"].to_numpy(float) for k, g in pts.groupby("key", observed=True)}
        samples = [untie(by.get(k, np.array([])), k) for k in r["key"]]
        dips, p = stats.dip_per_run(samples)
        good = ~np.isnan(p)
        return Units(pd.DataFrame({"polytope": r["polytope"].to_numpy()[good], "seed": r["seed"].to_numpy()[good],
                                   "value": (p[good] < ALPHA).astype(float), "dip": dips[good], "dip_p": p[good]}),
                     n_ex + int((~good).sum()),
                     f"{int((~good).sum())} runs with under 4 interior points" if (~good).any() else "")

    def seed_zero(self, run: Run) -> float | None:
        """1.0 when the run's gradient norms in the region fail the dip test, else 0.0; the
        pipeline adds them to the reproduced run as ["grad_norms"][region]."""
        if "grad_norms" not in run[self.model]:
            return None
        _, p = stats.dip_per_run([np.asarray(run[self.model]["grad_norms"][self.region], dtype=float)])
        return float(p[0] < ALPHA)

    def extra_detail(self, table) -> dict:
        return {"median_dip_p": float(np.median(table["dip_p"]))}


def _mesas(runs: pd.DataFrame, points: pd.DataFrame, keys: pd.Series, region: str) -> np.ndarray:
    """stats.mesa_per_run of each run in `keys` (its gradient norms in `region`), at the flat
    threshold the runs were measured with (config Measure): 1.0, 0.0 or NaN (too few points)."""
    pts = points[(points["region"] == region) & points["key"].isin(set(keys))]
    by = {k: g["grad_norm"].to_numpy(float) for k, g in pts.groupby("key", observed=True)}
    return stats.mesa_per_run([by.get(k, np.array([])) for k in keys], Measure().flat_threshold)


def _mesa_of(run: Run, model: str, region: str) -> float | None:
    if "grad_norms" not in run[model]:
        return None
    return float(stats.mesa_per_run([np.asarray(run[model]["grad_norms"][region], dtype=float)],
                                    Measure().flat_threshold)[0])


@dataclass(frozen=True)
class MesaContrast(MeanStatistic):
    """Per (polytope, seed) pair: 1 when `a`'s gradient norms in `region` have a mesa
    (stats.mesa_shape: a spike below the flat threshold and a mode above it) and `b`'s do not,
    -1 the other way round, else 0; the mean is the difference of the two models' mesa shares,
    tested on polytope means. Why a contrast, not a share against 0.5: the criterion is a
    yes/no reading of each run, and the write-up's point is that Lp has the mesa where Linear
    has not."""

    a: str
    b: str
    region: str = "interior"
    needs_points = True
    unit = "pair"

    @property
    def models(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @property
    def columns(self) -> tuple[str, ...]:
        return ()

    @property
    def regions(self) -> tuple[str, ...]:
        return (self.region,)

    def describe(self) -> str:
        return (f"share of {self.a} runs minus share of paired {self.b} runs whose {self.region} gradient norms have a "
                "mesa (a spike below the flat threshold and a mode above it)")

    def axis_label(self) -> str:
        return f"mesa: {self.a} - {self.b}"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = paired(runs, self.a, self.b, rule, ["key"])
        v = _mesas(runs, points, t["key_a"], self.region) - _mesas(runs, points, t["key_b"], self.region)
        return defined(t["polytope"].to_numpy(), t["seed"].to_numpy(), v, n_ex, "pairs with a run of under 4 points")

    def seed_zero(self, run: Run) -> float | None:
        a, b = _mesa_of(run, self.a, self.region), _mesa_of(run, self.b, self.region)
        return None if a is None or b is None else a - b


@dataclass(frozen=True)
class MesaShare(_RunShape, MeanStatistic):
    """Per run of `model`: 1 when its gradient norms in `region` have a mesa (stats.mesa_shape),
    else 0; the share of such runs."""

    model: str
    region: str = "interior"

    def describe(self) -> str:
        return (f"share of {self.model} runs whose {self.region} gradient norms have a mesa (a spike below the flat "
                "threshold and a mode above it)")

    def axis_label(self) -> str:
        return f"{self.model}: mesa (1) or not (0)"

    def units(self, runs, points, rule) -> Units:
        r, n_ex = runs_of(runs, self.models, rule)
        v = _mesas(runs, points, r["key"], self.region)
        return defined(r["polytope"].to_numpy(), r["seed"].to_numpy(), v, n_ex, "runs with under 4 points")

    def seed_zero(self, run: Run) -> float | None:
        return _mesa_of(run, self.model, self.region)


