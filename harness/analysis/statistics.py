"""What a claim measures: the statistics claim files use (`from harness.claims import
PairedRatio, ...`). Each is one class on a scale family (analysis/scales.py, where the
`Statistic` protocol they implement is described); its units come from the run table by the
helpers of analysis/units.py. Which runs count is the inclusion rule."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.scales import (
    LogStatistic,
    MeanStatistic,
    RatioStatistic,
    Run,
    SlopeStatistic,
    Statistic,
)
from harness.analysis.shape_statistics import DipShare, MesaContrast, MesaShare
from harness.analysis.units import (
    ALPHA,
    RATIO_FLOOR,
    RULES,
    Units,
    empties,
    floor_ratio,
    included,
    log_ratios,
    paired,
    runs_of,
    with_counts,
)

__all__ = ["ALPHA", "RATIO_FLOOR", "RULES", "Run", "Units", "included", "Statistic", "MeanStatistic", "LogStatistic",
           "RatioStatistic", "SlopeStatistic", "PairedRatio", "PairedDiff", "WithinDiff", "RatioOfMeans", "WithinRatio",
           "PairedWithinRatio", "RunMean", "DipShare", "MesaContrast", "MesaShare", "Slope"]



class _PairedColumn:
    """One column compared between two models' runs paired on (polytope, seed): `pair` names
    the two models (first, second); models, columns, the axis label and the paired values
    follow from it."""

    column: str
    symbol = "/"

    @property
    def pair(self) -> tuple[str, str]:
        raise NotImplementedError

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.pair)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def axis_label(self) -> str:
        return f"{self.column}: {self.pair[0]} {self.symbol} {self.pair[1]}"

    def paired_values(self, runs: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
        """(pairs table, first model's values, second's, pairs excluded)."""
        t, n_ex = paired(runs, *self.pair, rule, with_counts(runs, [self.column]))
        return t, t[f"{self.column}_a"].to_numpy(float), t[f"{self.column}_b"].to_numpy(float), n_ex

    def empty(self, t: pd.DataFrame) -> tuple:
        """The pairs where either model's column is undefined for want of units (units.Empty)."""
        first, second = self.pair
        return empties(t, [(first, self.column, "_a"), (second, self.column, "_b")], "pair")


class _TwoColumns:
    """Two columns of one model's runs compared within each run: `column_pair` names them
    (first, second); models, columns, the axis label and the values follow from it."""

    model: str
    symbol = "/"

    @property
    def column_pair(self) -> tuple[str, str]:
        raise NotImplementedError

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.column_pair)

    def axis_label(self) -> str:
        first, second = self.column_pair
        return f"{first} {self.symbol} {second} ({self.model})"

    def run_values(self, runs: pd.DataFrame, rule: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
        """(included runs, first column's values, second's, runs excluded)."""
        r, n_ex = runs_of(runs, self.models, rule)
        first, second = self.column_pair
        return r, r[first].to_numpy(float), r[second].to_numpy(float), n_ex

    def empty(self, r: pd.DataFrame) -> tuple:
        """The runs where a column is undefined for want of units (units.Empty)."""
        return empties(r, [(self.model, c, "") for c in self.column_pair], "run")


@dataclass(frozen=True)
class PairedRatio(_PairedColumn, LogStatistic):
    """Per (polytope, seed) pair: log(column of `num` / column of `den`), both floored at
    RATIO_FLOOR; reported as the geometric-mean ratio exp(mean log ratio)."""

    column: str
    num: str
    den: str
    unit = "pair"

    @property
    def pair(self) -> tuple[str, str]:
        return (self.num, self.den)

    def describe(self) -> str:
        return f"geometric mean over paired runs of {self.column}[{self.num}] / {self.column}[{self.den}]"

    def units(self, runs, points, rule) -> Units:
        t, num, den, n_ex = self.paired_values(runs, rule)
        return log_ratios(t["polytope"], t["seed"], [(num, den)], n_ex, f"pairs with an undefined {self.column}",
                          self.empty(t))

    def seed_zero(self, run: Run) -> float | None:
        return floor_ratio(run[self.num][self.column], run[self.den][self.column])


@dataclass(frozen=True)
class PairedDiff(_PairedColumn, MeanStatistic):
    """Per (polytope, seed) pair: column of `a` minus column of `b`."""

    column: str
    a: str
    b: str
    unit = "pair"
    symbol = "-"

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b)

    def describe(self) -> str:
        return f"mean over paired runs of {self.column}[{self.a}] - {self.column}[{self.b}]"

    def units(self, runs, points, rule) -> Units:
        t, a, b, n_ex = self.paired_values(runs, rule)
        v = a - b
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": v}), n_ex, empty=self.empty(t))

    def seed_zero(self, run: Run) -> float | None:
        return float(run[self.a][self.column]) - float(run[self.b][self.column])


@dataclass(frozen=True)
class WithinDiff(_TwoColumns, MeanStatistic):
    """Per run of `model`: column `after` minus column `before` (a change within a run)."""

    after: str
    before: str
    model: str
    symbol = "-"

    @property
    def column_pair(self) -> tuple[str, str]:
        return (self.after, self.before)

    def describe(self) -> str:
        return f"mean over {self.model} runs of {self.after} - {self.before}"

    def units(self, runs, points, rule) -> Units:
        r, after, before, n_ex = self.run_values(runs, rule)
        v = after - before
        return Units(pd.DataFrame({"polytope": r["polytope"], "seed": r["seed"], "value": v}), n_ex, empty=self.empty(r))

    def seed_zero(self, run: Run) -> float | None:
        return float(run[self.model][self.after]) - float(run[self.model][self.before])


@dataclass(frozen=True)
class RatioOfMeans(_PairedColumn, RatioStatistic):
    """mean(column of `num`) / mean(column of `den`) over paired runs (pairs resampled
    together); tested on the paired difference."""

    column: str
    num: str
    den: str
    unit = "pair"

    @property
    def pair(self) -> tuple[str, str]:
        return (self.num, self.den)

    def describe(self) -> str:
        return f"mean {self.column}[{self.num}] / mean {self.column}[{self.den}] over paired runs"

    def units(self, runs, points, rule) -> Units:
        t, a, b, n_ex = self.paired_values(runs, rule)
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": a - b,
                                   "num": a, "den": b}), n_ex, empty=self.empty(t))

    def seed_zero(self, run: Run) -> float | None:
        num, den = float(run[self.num][self.column]), float(run[self.den][self.column])
        return num / den if den > 0 else math.inf


@dataclass(frozen=True)
class WithinRatio(_TwoColumns, LogStatistic):
    """Per run of `model`: log(num column / den column); reported as a geometric mean."""

    num_col: str
    den_col: str
    model: str

    @property
    def column_pair(self) -> tuple[str, str]:
        return (self.num_col, self.den_col)

    def describe(self) -> str:
        return f"geometric mean over runs of {self.num_col} / {self.den_col} in {self.model}"

    def units(self, runs, points, rule) -> Units:
        r, num, den, n_ex = self.run_values(runs, rule)
        return log_ratios(r["polytope"], r["seed"], [(num, den)], n_ex,
                          f"runs with an undefined {self.num_col} or {self.den_col}", self.empty(r))

    def seed_zero(self, run: Run) -> float | None:
        return floor_ratio(run[self.model][self.num_col], run[self.model][self.den_col])


@dataclass(frozen=True)
class PairedWithinRatio(LogStatistic):
    """Per (polytope, seed) pair: log(num column / den column) in model `a` minus the same in
    model `b`, each side floored at RATIO_FLOOR; reported as the geometric-mean ratio of the two
    within-run ratios. A mechanism the write-up states as a contrast (Lp suppresses its
    centre-active weights, Linear does not) is tested as one: a within-model ratio alone can
    pass for both models."""

    num_col: str
    den_col: str
    a: str
    b: str
    unit = "pair"

    @property
    def models(self) -> tuple[str, ...]:
        return (self.a, self.b)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.num_col, self.den_col)

    def describe(self) -> str:
        return (f"geometric mean over paired runs of ({self.num_col} / {self.den_col})[{self.a}] over "
                f"({self.num_col} / {self.den_col})[{self.b}]")

    def axis_label(self) -> str:
        return f"{self.num_col} / {self.den_col}: {self.a} over {self.b}"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = paired(runs, self.a, self.b, rule, with_counts(runs, [self.num_col, self.den_col]))
        (a_num, a_den), (b_num, b_den) = ((t[f"{self.num_col}_{m}"].to_numpy(float), t[f"{self.den_col}_{m}"].to_numpy(float))
                                          for m in "ab")
        # log(a_num / a_den) - log(b_num / b_den), as a sum of floored log ratios
        empty = empties(t, [(m, c, f"_{s}") for s, m in (("a", self.a), ("b", self.b))
                            for c in (self.num_col, self.den_col)], "pair")
        return log_ratios(t["polytope"], t["seed"], [(a_num, a_den), (b_den, b_num)], n_ex,
                          f"pairs with an undefined {self.num_col} or {self.den_col}", empty)

    def seed_zero(self, run: Run) -> float | None:
        return (floor_ratio(run[self.a][self.num_col], run[self.a][self.den_col])
                / floor_ratio(run[self.b][self.num_col], run[self.b][self.den_col]))


@dataclass(frozen=True)
class RunMean(MeanStatistic):
    """Per run of `model` (or of several models, pooled): the column's value; `yes_no` when
    the column is a 0/1 outcome (collapsed or not), whose mean is a share."""

    column: str
    model: str | tuple[str, ...]
    yes_no: bool = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,) if isinstance(self.model, str) else tuple(self.model)

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> str:
        return f"mean over runs of {self.column} in {', '.join(self.models)}"

    def axis_label(self) -> str:
        return f"{self.column} ({', '.join(self.models)})"

    def units(self, runs, points, rule) -> Units:
        r, n_ex = runs_of(runs, self.models, rule)
        return Units(pd.DataFrame({"polytope": r["polytope"], "seed": r["seed"],
                                   "value": r[self.column].to_numpy(float)}), n_ex)

    def seed_zero(self, run: Run) -> float | None:
        return float(np.mean([float(run[m][self.column]) for m in self.models]))


@dataclass(frozen=True)
class Slope(SlopeStatistic):
    """Across runs of `models`: the least-squares slope of column `y` on column `x`; p and
    interval as SlopeStatistic says (the random-intercept mixed model is a detail)."""

    y: str
    x: str
    models: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.y, self.x)

    def describe(self) -> str:
        return f"least-squares slope of {self.y} on {self.x} across runs (polytopes as clusters) over {', '.join(self.models)}"

    def axis_label(self) -> str:
        return f"{self.y} against {self.x}"

    def units(self, runs, points, rule) -> Units:
        r, n_ex = runs_of(runs, self.models, rule)
        return Units(pd.DataFrame({"polytope": r["polytope"].to_numpy(), "seed": r["seed"].to_numpy(),
                                   "value": r[self.y].to_numpy(float), "x": r[self.x].to_numpy(float),
                                   "model": r["model"].to_numpy()}), n_ex)

    def seed_zero(self, run: Run) -> float | None:
        return None
