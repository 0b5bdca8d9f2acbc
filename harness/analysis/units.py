"""How a run table becomes units: the runs an inclusion rule keeps, runs of two models
paired on (polytope, seed), floored log ratios, ties broken before a dip test. The
statistics (analysis/statistics.py) build their units from these."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from harness.errors import HarnessError

# The significance level of every test behind a verdict.
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
    with `value` (on the test's scale) and whatever else the statistic's estimate reads."""

    table: pd.DataFrame  # columns polytope, seed, value [, num, den | x, model | dip, dip_p]
    n_excluded: int
    excluded_why: str = ""

    def finite(self, columns: tuple[str, ...]) -> Units:
        """Without the rows where one of `columns` is NaN or infinite (e.g. a region with no
        test point), counted among the excluded, never silently dropped."""
        ok = np.isfinite(self.table[list(columns)].to_numpy(float)).all(axis=1)
        if ok.all():
            return self
        why = "; ".join(x for x in (self.excluded_why, f"{int((~ok).sum())} with undefined values") if x)
        return replace(self, table=self.table[ok], n_excluded=self.n_excluded + int((~ok).sum()), excluded_why=why)


def paired(runs: pd.DataFrame, a: str, b: str, rule: str, cols: list[str]) -> tuple[pd.DataFrame, int]:
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


def runs_of(runs: pd.DataFrame, models: tuple[str, ...], rule: str) -> tuple[pd.DataFrame, int]:
    """The runs of `models` that pass the rule, and how many did not."""
    r = runs[runs["model"].isin(models)]
    keep = included(r, rule)
    return r[keep], int((~keep).sum())


def log_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """log(num / den) with both floored at RATIO_FLOOR; NaN where either is undefined."""
    with np.errstate(invalid="ignore"):
        return np.log(np.maximum(num, RATIO_FLOOR)) - np.log(np.maximum(den, RATIO_FLOOR))


def floor_ratio(a: float, b: float) -> float:
    """One run's a / b with both floored at RATIO_FLOOR, as `log_ratio` floors them."""
    return math.exp(math.log(max(float(a), RATIO_FLOOR)) - math.log(max(float(b), RATIO_FLOOR)))


def at_floor(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Whether either side of a ratio is at or below RATIO_FLOOR, where the floor, not the
    data, sets the ratio's size."""
    with np.errstate(invalid="ignore"):
        return (num <= RATIO_FLOOR) | (den <= RATIO_FLOOR)


def defined(polytope, seed, v: np.ndarray, n_ex: int, what: str, floored: np.ndarray | None = None) -> Units:
    """Units of finite values (log ratios, per-run outcomes); the undefined ones are counted as
    excluded and said.
    `floored` (at_floor) becomes the column "at_floor", so that a verdict can say how many
    units the floor set."""
    good = np.isfinite(v)
    why = f"{int((~good).sum())} {what}" if (~good).any() else ""
    table = pd.DataFrame({"polytope": polytope, "seed": seed, "value": v})
    if floored is not None:
        table["at_floor"] = np.asarray(floored, dtype=float)
    return Units(table[good], n_ex + int((~good).sum()), why)


def untie(x: np.ndarray, key: str) -> np.ndarray:
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
