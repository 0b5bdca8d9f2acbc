"""The Statistic protocol, and the scale families that implement most of it.

A statistic (the classes claim files use are in analysis/statistics.py) turns the run table
into units, one row per run or per pair of runs with a `value` on its test scale, and answers
everything else the harness asks about it: the models, columns and point regions it reads,
its scale (null, transform, axis), its estimate, interval and test, its per-polytope summary,
its value on one run (the write-up's seed 0), its labels, and its estimate on R resampled
studies at once (power). Other modules ask the statistic and never switch on its type or
its scale.

A scale family says how units become an estimate: the mean of polytope means on the test
scale (`MeanStatistic`; `LogStatistic` for ratios tested as log ratios), a ratio of polytope
means (`RatioStatistic`), or a random-intercept slope across runs (`SlopeStatistic`). A new
statistic subclasses one and writes `models`, `columns`, `describe`, `axis_label`, `units`
and `seed_zero`; nothing else in the harness changes.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.analysis import estimators, stats
from harness.analysis.estimators import Estimate, Replicates
from harness.analysis.units import Units

# One run's values, as `reference.reproduce` gives them: model -> run-table column -> value
# (and "grad_norms" -> region -> per-point gradient norms).
Run = Mapping[str, Mapping]


class Statistic(ABC):
    """The protocol every statistic implements. Class attributes (a scale family sets most):

    scale: the test scale's name (the report's Methods table shows it).
    default_null: the null when a claim gives none (1 for a ratio, 0 for a difference).
    additive: a difference or a mean, so that an equivalence margin applies.
    log_axis: reported as a ratio, drawn on a log axis.
    unit: what one unit is, "run" or "pair" (for labels).
    needs_points: reads the per-point table.
    per_run: each unit has a value of its own, so per-polytope summaries and per-unit
      figures exist (a slope across runs has none).
    per_polytope_interval: the per-polytope summary has an interval.
    test_name: the test, for a statistic whose estimate's detail does not name it.
    adjustable: power may move its cell means to match variance components (power.py).
    inputs: the unit columns an estimate reads (rows where one is not finite are excluded).
    regions: the per-point regions it reads.

    A subclass also has `models`, the models it reads (a field or a property)."""

    scale = ""
    default_null = 0.0
    additive = True
    log_axis = False
    unit = "run"
    needs_points = False
    per_run = True
    per_polytope_interval = True
    test_name = ""
    adjustable = True
    inputs: tuple[str, ...] = ("value",)
    regions: tuple[str, ...] = ()

    @property
    @abstractmethod
    def columns(self) -> tuple[str, ...]:
        """The run-table columns it reads."""

    @abstractmethod
    def describe(self) -> str:
        """One sentence: what is averaged over what."""

    @abstractmethod
    def axis_label(self) -> str:
        """The label of an axis of per-unit values."""

    @abstractmethod
    def units(self, runs: pd.DataFrame, points: pd.DataFrame | None, rule: str) -> Units:
        """The units of the runs that pass `rule`, and how many were excluded."""

    @abstractmethod
    def seed_zero(self, run: Run) -> float | None:
        """The statistic's per-unit value on one run of each model (`Run`); None when that
        run does not carry what it needs."""

    def seed_zero_missing(self) -> str:
        """Why the write-up's run has no value of this statistic."""
        return f"the write-up ran only lp and linear; this claim needs {', '.join(self.models)}"

    @abstractmethod
    def estimate(self, table: pd.DataFrame, null: float, n_boot: int, rng: np.random.Generator) -> Estimate:
        """Estimate, 95% CI and p of the test against `null` (reported scale) from the units."""

    @abstractmethod
    def unit_values(self, table: pd.DataFrame) -> np.ndarray:
        """The per-unit values on the reported scale (n,)."""

    def per_polytope(self, table: pd.DataFrame) -> tuple[dict, ...]:
        """Per polytope: its estimate, a 95% interval across its seeds, and n."""
        rows = []
        for pid, g in table.groupby("polytope", sort=True):
            est, lo, hi = self._polytope_summary(g)
            rows.append({"polytope": int(pid), "estimate": float(est), "low": float(lo), "high": float(hi),
                         "n": len(g)})
        return tuple(rows)

    def _polytope_summary(self, g: pd.DataFrame) -> tuple[float, float, float]:
        raise NotImplementedError(f"{type(self).__name__} has no per-polytope summary")

    def veto(self, ci: stats.Interval, null: float) -> str:
        """Why a significant estimate in the claimed direction still cannot read supported
        (empty: it can)."""
        return ""

    def extra_detail(self, table: pd.DataFrame) -> dict:
        """Figures beside the estimate that a verdict's detail shows."""
        return {}

    def cell_columns(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per-unit columns besides "v" (the value) that `replicate` sums per cell."""
        return {}

    @abstractmethod
    def replicate(self, sums: Mapping[str, np.ndarray], count: np.ndarray, null: float) -> Replicates:
        """`estimate` on R resampled studies at once, from per-slot sums (estimators.py)."""


# -- the scale families --------------------------------------------------------------------------------
class MeanStatistic(Statistic):
    """The mean over polytopes of each polytope's mean unit value: the t-test on polytope means
    against the null, the two-level cluster bootstrap's interval. `to_test` / `from_test` map
    the reported scale to the test scale and back (here the identity)."""

    scale = "linear"

    def to_test(self, x: float) -> float:
        return x

    def from_test(self, x):
        return x

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        v, cl = table["value"].to_numpy(float), table["polytope"].to_numpy()
        boot = stats.cluster_bootstrap(v, cl, stats.mean_of_cluster_means(cl), n_boot=n_boot, rng=rng)
        test = stats.cluster_mean_test(v, cl, self.to_test(null))
        f = self.from_test
        return Estimate(f(boot.estimate), stats.Interval(f(boot.ci.low), f(boot.ci.high)), test.p_value, boot.note,
                        {"test": test.method})

    def unit_values(self, table) -> np.ndarray:
        return self.from_test(table["value"].to_numpy(float))

    def _polytope_summary(self, g):
        v = g["value"].to_numpy(float)
        m = v.mean()
        half = (sps.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
                if len(v) > 1 and v.std(ddof=1) > 0 else 0.0)
        return self.from_test(m), self.from_test(m - half), self.from_test(m + half)

    def replicate(self, sums, count, null) -> Replicates:
        return estimators.mean_replicates(sums, count, self.to_test(null), self.from_test)


class LogStatistic(MeanStatistic):
    """A ratio tested on the log scale: units are log ratios, reported as the geometric mean
    ratio exp(mean of polytope means)."""

    scale = "log"
    default_null = 1.0
    additive = False
    log_axis = True

    def to_test(self, x: float) -> float:
        return math.log(x)

    def from_test(self, x):
        return np.exp(x) if isinstance(x, np.ndarray) else math.exp(x)


class RatioStatistic(Statistic):
    """mean of polytope means of `num` / that of `den` (pairs resampled together), tested on
    the paired difference num - den (the unit's value) against 0."""

    scale = "ratio_of_means"
    default_null = 1.0
    additive = False
    log_axis = True
    per_polytope_interval = False
    inputs = ("value", "num", "den")

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        v, cl = table["value"].to_numpy(float), table["polytope"].to_numpy()
        data = table[["num", "den"]].to_numpy(float)
        ratio = stats.ratio_of_cluster_means(cl, 0, 1)
        point = float(ratio(np.ones((1, len(data))), data)[0])
        # a ratio of 0 (or no finite ratio) has no log: its interval is then built as it is
        boot = stats.cluster_bootstrap(data, cl, ratio, n_boot=n_boot, rng=rng, log_scale=0 < point < np.inf)
        test = stats.cluster_mean_test(v, cl, 0.0)  # its mean of polytope means is num - den
        return Estimate(boot.estimate, boot.ci, test.p_value, boot.note,
                        {"mean_num": float(data[:, 0].mean()), "mean_den": float(data[:, 1].mean()),
                         "test": test.method})

    def unit_values(self, table) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return table["num"].to_numpy(float) / table["den"].to_numpy(float)

    def _polytope_summary(self, g):
        den = g["den"].mean()
        return (g["num"].mean() / den if den > 0 else float("inf")), float("nan"), float("nan")

    def cell_columns(self, table) -> dict[str, np.ndarray]:
        return {"num": table["num"].to_numpy(float), "den": table["den"].to_numpy(float)}

    def replicate(self, sums, count, null) -> Replicates:
        return estimators.ratio_replicates(sums, count)


class SlopeStatistic(Statistic):
    """The slope of the unit value on `x` across runs in a random-intercept mixed model
    (statsmodels MixedLM, polytope as the random effect). The p is the mixed model's; the
    interval is a two-level cluster bootstrap's of the OLS slope, since MixedLM can report
    convergence with a collapsed random effect (statsmodels #10239) and a too narrow
    interval: support then also needs that interval to exclude the null."""

    scale = "slope"
    per_run = False
    adjustable = False
    test_name = "mixed model, Wald test of the slope"
    inputs = ("value", "x")

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        v, cl, x = table["value"].to_numpy(float), table["polytope"].to_numpy(), table["x"].to_numpy(float)
        mixed = stats.mixed_slope(v, x, cl)
        boot = stats.cluster_bootstrap_slope(v, x, cl, n_boot=n_boot, rng=rng)
        detail = {"bootstrap_slope": boot.estimate, "mixed_ci": [mixed.ci.low, mixed.ci.high],
                  "group_var": mixed.group_var, "residual_var": mixed.residual_var, "converged": mixed.converged,
                  "per_model": {m: [float(g["x"].mean()), float(g["value"].mean()), len(g)]
                                for m, g in table.groupby("model", sort=False)}}
        return Estimate(mixed.slope, boot.ci, mixed.p_value, mixed.warning, detail)

    def unit_values(self, table) -> np.ndarray:
        return table["value"].to_numpy(float)

    def per_polytope(self, table) -> tuple[dict, ...]:
        return ()

    def veto(self, ci, null) -> str:
        return "the mixed model is significant but the cluster-bootstrap CI includes 0" if ci.contains(null) else ""

    def seed_zero_missing(self) -> str:
        return "a slope across runs has no single-run value"

    def cell_columns(self, table) -> dict[str, np.ndarray]:
        x, v = table["x"].to_numpy(float), table["value"].to_numpy(float)
        return {"x": x, "xx": x * x, "xv": x * v}

    def replicate(self, sums, count, null) -> Replicates:
        return estimators.slope_replicates(sums, count)
