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

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from harness.analysis import estimators, stats
from harness.analysis.estimators import Estimate, Replicates
from harness.analysis.units import FLOORS, FloorSensitivity, Units, floored, refloor

# One run's values, as `reference.reproduce` gives them: model -> run-table column -> value
# (and "grad_norms" -> region -> per-point gradient norms).
Run = Mapping[str, Mapping]


class _Rows(dict):
    """One polytope's rows for `_polytope_summary`: column name -> numpy array; len = rows."""

    def __len__(self) -> int:
        return len(self["polytope"])


def _nanmean(x) -> float:
    """The mean of the non-NaN values (NaN when none), as pandas' Series.mean computes it."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    return float(x.sum() / x.size) if x.size else float("nan")


@functools.lru_cache(maxsize=1024)
def _t975(df: int) -> float:
    """Student's t 97.5% quantile (scipy), once per degrees of freedom."""
    return float(sps.t.ppf(0.975, df))


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
    yes_no: each unit's value is a yes/no outcome (0 or 1), so that when every run agrees the
      polytopes are counted (estimators.agreement); a constant of any other statistic gets
      the interval [v, v] instead.
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
    yes_no = False
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
        """Per polytope: its estimate, a 95% interval across its seeds, and n. Each polytope's
        rows come as numpy arrays (`_Rows`, in table order): pandas' groupby made a frame per
        polytope, most of a 2,400-polytope look's time."""
        if not len(table):
            return ()
        order = np.argsort(table["polytope"].to_numpy(), kind="stable")
        cols = {c: table[c].to_numpy()[order] for c in table.columns}
        bounds = [0, *(np.flatnonzero(np.diff(cols["polytope"])) + 1), len(order)]
        rows = []
        for lo_i, hi_i in zip(bounds[:-1], bounds[1:], strict=True):
            g = _Rows({c: a[lo_i:hi_i] for c, a in cols.items()})
            est, lo, hi = self._polytope_summary(g)
            rows.append({"polytope": int(g["polytope"][0]), "estimate": float(est), "low": float(lo),
                         "high": float(hi), "n": len(g)})
        return tuple(rows)

    def _polytope_summary(self, g: _Rows) -> tuple[float, float, float]:
        raise NotImplementedError(f"{type(self).__name__} has no per-polytope summary")

    def extra_detail(self, table: pd.DataFrame) -> dict:
        """Figures beside the estimate that a verdict's detail shows."""
        return {}

    def floor_sensitivity(self, table: pd.DataFrame, null: float, n_boot: int, seed: int) -> FloorSensitivity | None:
        """The estimate with the ratio floor at each of units.FLOORS: this statistic's own
        `estimate` on its units re-floored (units.refloor); None unless its units are floored
        log ratios (units.log_ratios)."""
        if not floored(table):
            return None
        estimates, shares = [], []
        for floor in FLOORS:
            t = refloor(table, floor)
            estimates.append(float(self.estimate(t, null, n_boot, np.random.default_rng(seed)).value))
            shares.append(float(t["at_floor"].mean()))
        return FloorSensitivity(FLOORS, tuple(estimates), tuple(shares))

    def cell_columns(self, table: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per-unit columns besides "v" (the value) that `replicate` sums per cell."""
        return {}

    @abstractmethod
    def replicate(self, sums: Mapping[str, np.ndarray], count: np.ndarray, null: float) -> Replicates:
        """`estimate` on R resampled studies at once, from per-slot sums (estimators.py)."""


# -- the scale families --------------------------------------------------------------------------------
class MeanStatistic(Statistic):
    """The mean over polytopes of each polytope's mean unit value, with the t-interval and
    t-test on the polytope means against the null (stats.mean_interval: one procedure, so the
    interval excludes the null exactly when p < 0.05; the polytope is the independent unit,
    seed noise is already in its mean). `to_test` / `from_test` map the reported scale to the
    test scale and back (here the identity)."""

    scale = "linear"

    def to_test(self, x: float) -> float:
        return x

    def from_test(self, x):
        return x

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        e = stats.mean_interval(table["value"].to_numpy(float), table["polytope"].to_numpy(), self.to_test(null))
        f = self.from_test
        # a value the same in every run has nothing to test: the note says so beside [v, v]
        note = e.method if e.ci.low == e.ci.high else e.note
        return Estimate(f(e.estimate), stats.Interval(f(e.ci.low), f(e.ci.high)), e.p_value, note,
                        {"test": e.method})

    def unit_values(self, table) -> np.ndarray:
        return self.from_test(table["value"].to_numpy(float))

    def _polytope_summary(self, g):
        v = np.asarray(g["value"], dtype=float)
        m = v.mean()
        half = (_t975(len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
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

    def extra_detail(self, table) -> dict:
        """The share of units whose ratio the floor (units.RATIO_FLOOR) set, not the data:
        where it is large the estimate's size is the floor's (issue 12.9)."""
        if "at_floor" not in table:
            return {}
        return {"share_at_ratio_floor": float(table["at_floor"].mean())}


class RatioStatistic(Statistic):
    """mean of polytope means of `num` / that of `den` (pairs resampled together), with
    Fieller's interval studentized by a polytope bootstrap and the p of the null from the same
    procedure (stats.ratio_interval)."""

    scale = "ratio_of_means"
    default_null = 1.0
    additive = False
    log_axis = True
    per_polytope_interval = False
    inputs = ("value", "num", "den")

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        num, den = table["num"].to_numpy(float), table["den"].to_numpy(float)
        e = stats.ratio_interval(num, den, table["polytope"].to_numpy(), null, n_boot=n_boot, rng=rng)
        return Estimate(e.estimate, stats.Interval(e.ci.low, e.ci.high), e.p_value, e.note,
                        {"mean_num": float(num.mean()), "mean_den": float(den.mean()), "test": e.method})

    def unit_values(self, table) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return table["num"].to_numpy(float) / table["den"].to_numpy(float)

    def _polytope_summary(self, g):
        den = _nanmean(g["den"])
        return (_nanmean(g["num"]) / den if den > 0 else float("inf")), float("nan"), float("nan")

    def cell_columns(self, table) -> dict[str, np.ndarray]:
        return {"num": table["num"].to_numpy(float), "den": table["den"].to_numpy(float)}

    def replicate(self, sums, count, null) -> Replicates:
        return estimators.ratio_replicates(sums, count, null)


class SlopeStatistic(Statistic):
    """The least-squares slope of the unit value on `x` across runs, with its studentized
    polytope-bootstrap interval on a cluster-robust SE and the p of the null from the same
    procedure (stats.slope_interval). The random-intercept mixed model (statsmodels MixedLM,
    polytope as the random effect) is a reported detail only: it can report convergence with
    a collapsed random effect (statsmodels #10239) and a too narrow interval."""

    scale = "slope"
    per_run = False
    adjustable = False
    test_name = "least-squares slope, cluster-robust studentized polytope bootstrap"
    inputs = ("value", "x")

    def estimate(self, table, null, n_boot, rng) -> Estimate:
        v, cl, x = table["value"].to_numpy(float), table["polytope"].to_numpy(), table["x"].to_numpy(float)
        e = stats.slope_interval(v, x, cl, null, n_boot=n_boot, rng=rng)
        mixed = stats.mixed_slope(v, x, cl)
        detail = {"test": e.method, "mixed_slope": mixed.slope, "mixed_ci": [mixed.ci.low, mixed.ci.high],
                  "mixed_p": mixed.p_value, "group_var": mixed.group_var, "residual_var": mixed.residual_var,
                  "converged": mixed.converged,
                  "per_model": {m: [float(g["x"].mean()), float(g["value"].mean()), len(g)]
                                for m, g in table.groupby("model", sort=False)}}
        return Estimate(e.estimate, stats.Interval(e.ci.low, e.ci.high), e.p_value, e.note, detail)

    def unit_values(self, table) -> np.ndarray:
        return table["value"].to_numpy(float)

    def per_polytope(self, table) -> tuple[dict, ...]:
        return ()

    def seed_zero_missing(self) -> str:
        return "a slope across runs has no single-run value"

    def cell_columns(self, table) -> dict[str, np.ndarray]:
        x, v = table["x"].to_numpy(float), table["value"].to_numpy(float)
        return {"x": x, "xx": x * x, "xv": x * v}

    def replicate(self, sums, count, null) -> Replicates:
        return estimators.slope_replicates(sums, count)
