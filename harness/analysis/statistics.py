"""What a claim measures: each statistic turns the run table (and per-point table) into
units, one row per run or per pair of runs on the test's scale, and says which models and
columns it reads. Which runs count is the inclusion rule."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.errors import HarnessError

ALPHA = 0.05
# Ratios of weights floor both sides here: a weight below 1e-4 acts as zero (its unit moves
# the scalar by < 1e-3 for any hidden activation seen), and hard non-negativity sets weights
# to exactly 0, whose log ratio would otherwise be infinite and silently dropped.
RATIO_FLOOR = 1e-4
RULES = ("exclude_collapsed", "all")
def included(runs: pd.DataFrame, rule: str) -> pd.Series:
    """exclude_collapsed: runs that learned the task (not collapsed, finite); all: every
    finite run. A run whose training produced NaN/inf is never measured, under any rule."""
    ok = runs["status"] == "ok"
    if rule == "exclude_collapsed":
        return ok & ~runs["collapsed"].astype(bool)
    if rule == "all":
        return ok
    raise HarnessError(f"unknown inclusion rule {rule!r}; choose one of {', '.join(RULES)}")


@dataclass
class Units:
    """The independent-ish units a claim is tested on: one row per run or per pair of runs,
    with `value` (on the test's scale) and, for a ratio of means, `num` and `den`."""

    table: pd.DataFrame  # columns polytope, seed, value [, num, den]
    n_excluded: int
    excluded_why: str = ""


def _pairs(runs: pd.DataFrame, a: str, b: str, rule: str, cols: list[str]) -> tuple[pd.DataFrame, int]:
    """Runs of models a and b joined on (polytope, seed), columns suffixed _a and _b; a pair
    counts only when both of its runs pass the inclusion rule."""
    r = runs.assign(_keep=included(runs, rule).to_numpy())
    ra = r[r["model"] == a].set_index(["polytope", "seed"])[cols + ["_keep"]]
    rb = r[r["model"] == b].set_index(["polytope", "seed"])[cols + ["_keep"]]
    for m, part in ((a, ra), (b, rb)):
        if part.empty:
            raise HarnessError(f"the run table has no runs of model {m!r}; include it with --models")
    both = ra.add_suffix("_a").join(rb.add_suffix("_b"), how="inner")
    mask = both["_keep_a"].astype(bool) & both["_keep_b"].astype(bool)
    return both[mask].drop(columns=["_keep_a", "_keep_b"]).reset_index(), int((~mask).sum())


def _log_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """log(num / den) with both floored at RATIO_FLOOR; NaN where either is undefined."""
    with np.errstate(invalid="ignore"):
        return np.log(np.maximum(num, RATIO_FLOOR)) - np.log(np.maximum(den, RATIO_FLOOR))


@dataclass(frozen=True)
class PairedRatio:
    """Per (polytope, seed) pair: log(column of `num` / column of `den`), both floored at
    RATIO_FLOOR; reported as the geometric-mean ratio exp(mean log ratio)."""

    column: str
    num: str
    den: str
    scale = "log"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.num, self.den)

    def describe(self) -> str:
        return f"geometric mean over paired runs of {self.column}[{self.num}] / {self.column}[{self.den}]"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = _pairs(runs, self.num, self.den, rule, [self.column])
        v = _log_ratio(t[f"{self.column}_a"].to_numpy(float), t[f"{self.column}_b"].to_numpy(float))
        good = np.isfinite(v)
        why = f"{int((~good).sum())} pairs with an undefined {self.column}" if (~good).any() else ""
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": v})[good],
                     n_ex + int((~good).sum()), why)


@dataclass(frozen=True)
class PairedDiff:
    """Per (polytope, seed) pair: column of `a` minus column of `b`."""

    column: str
    a: str
    b: str
    scale = "linear"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.a, self.b)

    def describe(self) -> str:
        return f"mean over paired runs of {self.column}[{self.a}] - {self.column}[{self.b}]"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = _pairs(runs, self.a, self.b, rule, [self.column])
        v = t[f"{self.column}_a"].to_numpy(float) - t[f"{self.column}_b"].to_numpy(float)
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": v}), n_ex)


@dataclass(frozen=True)
class WithinDiff:
    """Per run of `model`: column `after` minus column `before` (a change within a run)."""

    after: str
    before: str
    model: str
    scale = "linear"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,)

    def describe(self) -> str:
        return f"mean over {self.model} runs of {self.after} - {self.before}"

    def units(self, runs, points, rule) -> Units:
        r = runs[runs["model"] == self.model]
        keep = included(r, rule)
        r = r[keep]
        v = r[self.after].to_numpy(float) - r[self.before].to_numpy(float)
        return Units(pd.DataFrame({"polytope": r["polytope"], "seed": r["seed"], "value": v}), int((~keep).sum()))


@dataclass(frozen=True)
class RatioOfMeans:
    """mean(column of `num`) / mean(column of `den`) over paired runs (pairs resampled
    together); tested on the paired difference."""

    column: str
    num: str
    den: str
    scale = "ratio_of_means"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.num, self.den)

    def describe(self) -> str:
        return f"mean {self.column}[{self.num}] / mean {self.column}[{self.den}] over paired runs"

    def units(self, runs, points, rule) -> Units:
        t, n_ex = _pairs(runs, self.num, self.den, rule, [self.column])
        a, b = t[f"{self.column}_a"].to_numpy(float), t[f"{self.column}_b"].to_numpy(float)
        return Units(pd.DataFrame({"polytope": t["polytope"], "seed": t["seed"], "value": a - b,
                                   "num": a, "den": b}), n_ex)


@dataclass(frozen=True)
class WithinRatio:
    """Per run of `model`: log(num column / den column); reported as a geometric mean."""

    num_col: str
    den_col: str
    model: str
    scale = "log"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,)

    def describe(self) -> str:
        return f"geometric mean over runs of {self.num_col} / {self.den_col} in {self.model}"

    def units(self, runs, points, rule) -> Units:
        r = runs[runs["model"] == self.model]
        keep = included(r, rule)
        r = r[keep]
        v = _log_ratio(r[self.num_col].to_numpy(float), r[self.den_col].to_numpy(float))
        good = np.isfinite(v)
        why = f"{int((~good).sum())} runs with an undefined {self.num_col} or {self.den_col}" if (~good).any() else ""
        return Units(pd.DataFrame({"polytope": r["polytope"], "seed": r["seed"], "value": v})[good],
                     int((~keep).sum()) + int((~good).sum()), why)


@dataclass(frozen=True)
class RunMean:
    """Per run of `model` (or of several models, pooled): the column's value."""

    column: str
    model: str | tuple[str, ...]
    scale = "linear"
    needs_points = False

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,) if isinstance(self.model, str) else tuple(self.model)

    def describe(self) -> str:
        return f"mean over runs of {self.column} in {', '.join(self.models)}"

    def units(self, runs, points, rule) -> Units:
        r = runs[runs["model"].isin(self.models)]
        keep = included(r, rule)
        r = r[keep]
        return Units(pd.DataFrame({"polytope": r["polytope"], "seed": r["seed"],
                                   "value": r[self.column].to_numpy(float)}), int((~keep).sum()))


@dataclass(frozen=True)
class DipShare:
    """Per run of `model`: 1 when Hartigan's dip test rejects unimodality of the interior
    gradient norms (ties broken, see _untie) at alpha = 0.05, else 0; the share of such runs."""

    model: str
    region: str = "interior"
    scale = "linear"
    needs_points = True

    @property
    def models(self) -> tuple[str, ...]:
        return (self.model,)

    def describe(self) -> str:
        return f"share of {self.model} runs whose {self.region} gradient norms fail Hartigan's dip test (p < 0.05)"

    def units(self, runs, points, rule) -> Units:
        r = runs[runs["model"] == self.model]
        keep = included(r, rule)
        r = r[keep]
        pts = points[(points["region"] == self.region) & points["key"].isin(set(r["key"]))]
        by = {k: g["grad_norm"].to_numpy(float) for k, g in pts.groupby("key", observed=True)}
        samples = [_untie(by.get(k, np.array([])), k) for k in r["key"]]
        dips, p = stats.dip_per_run(samples)
        good = ~np.isnan(p)
        return Units(pd.DataFrame({"polytope": r["polytope"].to_numpy()[good], "seed": r["seed"].to_numpy()[good],
                                   "value": (p[good] < ALPHA).astype(float), "dip": dips[good], "dip_p": p[good]}),
                     int((~keep).sum()) + int((~good).sum()),
                     f"{int((~good).sum())} runs with under 4 interior points" if (~good).any() else "")


@dataclass(frozen=True)
class Slope:
    """Across runs of `models`: the slope of column `y` on column `x` in a random-intercept
    mixed model (statsmodels MixedLM, polytope as the random effect). The interval and p
    are the mixed model's; a two-level cluster bootstrap of the OLS slope is reported beside
    it, since MixedLM can report convergence with a collapsed random effect
    (statsmodels #10239) - the note says when that happened."""

    y: str
    x: str
    models: tuple[str, ...]
    scale = "slope"
    needs_points = False

    def describe(self) -> str:
        return f"mixed-model slope of {self.y} on {self.x} (random intercept per polytope) over {', '.join(self.models)}"

    def units(self, runs, points, rule) -> Units:
        r = runs[runs["model"].isin(self.models)]
        keep = included(r, rule)
        r = r[keep]
        return Units(pd.DataFrame({"polytope": r["polytope"].to_numpy(), "seed": r["seed"].to_numpy(),
                                   "value": r[self.y].to_numpy(float), "x": r[self.x].to_numpy(float),
                                   "model": r["model"].to_numpy()}), int((~keep).sum()))


def _untie(x: np.ndarray, key: str) -> np.ndarray:
    """Breaks ties before a dip test. Hartigan's dip assumes a continuous distribution, but a
    ReLU network's input gradient is constant on each of its linear regions, so test points
    tie in groups and the steps of their empirical CDF read as many modes (Linear "fails"
    unimodality that way as often as Lp). A deterministic jitter of +-1% of the sample's
    standard deviation spreads each tie without moving any mode."""
    x = x[~np.isnan(x)]
    if x.size < 2 or not x.std() > 0:
        return x
    rng = np.random.default_rng(int.from_bytes(key.encode()[:16].ljust(16, b"0"), "little"))
    return x + rng.uniform(-0.01, 0.01, x.size) * x.std()


Statistic = PairedRatio | PairedDiff | WithinDiff | RatioOfMeans | WithinRatio | RunMean | DipShare | Slope


