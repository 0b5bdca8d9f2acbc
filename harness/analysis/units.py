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
# The floors a floored ratio's estimate is shown at beside the default (issue 12.9): where it
# moves by more than FLOOR_FOLD across them, its magnitude is the floor's, not the data's.
FLOORS = (1e-3, 1e-4, 1e-5, 1e-6)
FLOOR_FOLD = 2.0
RULES = ("exclude_collapsed", "all")
# A column that is a mean over some of a run's units is undefined where the run has none of
# them: the run-table column that counts them, and what a zero count means. Such a run is an
# outcome, counted and shown (Units.empty), not only a dropped row.
EMPTY_WHEN = {"center_active_absw": ("center_active_n", "no active unit at the centre")}


def included(runs: pd.DataFrame, rule: str) -> pd.Series:
    """exclude_collapsed: runs that learned the task (not collapsed, finite); all: every
    finite run. A run whose training produced NaN/inf is never measured, under any rule."""
    ok = runs["status"] == "ok"
    if rule == "exclude_collapsed":
        return ok & ~runs["collapsed"].astype(bool)
    if rule == "all":
        return ok
    raise HarnessError(f"unknown inclusion rule {rule!r}; choose one of {', '.join(RULES)}")


@dataclass(frozen=True, eq=False)
class Empty:
    """Units whose `column` of `model` is undefined because that run has none of the units
    the column averages over (EMPTY_WHEN: `what`, e.g. no active unit at the centre): one
    flag per unit that passed the inclusion rule, with its polytope."""

    model: str
    column: str
    what: str
    unit: str  # "run" or "pair"
    polytope: np.ndarray
    empty: np.ndarray  # bool


@dataclass
class Units:
    """The independent-ish units a claim is tested on: one row per run or per pair of runs,
    with `value` (on the test's scale) and whatever else the statistic's estimate reads.
    `empty`: the units (kept or not) whose value a zero count left undefined (`Empty`)."""

    table: pd.DataFrame  # columns polytope, seed, value [, num, den | x, model | dip, dip_p | floor_num0, ...]
    n_excluded: int
    excluded_why: str = ""
    empty: tuple[Empty, ...] = ()

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


def with_counts(runs: pd.DataFrame, cols: list[str]) -> list[str]:
    """`cols` and the count columns (EMPTY_WHEN) that say where one of them is undefined,
    those the run table has."""
    counts = [EMPTY_WHEN[c][0] for c in cols if c in EMPTY_WHEN]
    return cols + [c for c in dict.fromkeys(counts) if c in runs.columns and c not in cols]


def empties(t: pd.DataFrame, sides: list[tuple[str, str, str]], unit: str) -> tuple[Empty, ...]:
    """Per (model, column, suffix of its columns in `t`) whose column has a count (EMPTY_WHEN)
    in `t`: the units of `t` where that count is 0."""
    out = []
    for model, column, suffix in sides:
        count, what = EMPTY_WHEN.get(column, (None, ""))
        if count is None or count + suffix not in t:
            continue
        out.append(Empty(model, column, what, unit, t["polytope"].to_numpy(),
                         t[count + suffix].to_numpy(float) == 0))
    return tuple(out)


def log_ratio(num: np.ndarray, den: np.ndarray, floor: float = RATIO_FLOOR) -> np.ndarray:
    """log(num / den) with both floored at `floor`; NaN where either is undefined."""
    with np.errstate(invalid="ignore"):
        return np.log(np.maximum(num, floor)) - np.log(np.maximum(den, floor))


def floor_ratio(a: float, b: float) -> float:
    """One run's a / b with both floored at RATIO_FLOOR, as `log_ratio` floors them."""
    return math.exp(math.log(max(float(a), RATIO_FLOOR)) - math.log(max(float(b), RATIO_FLOOR)))


def at_floor(num: np.ndarray, den: np.ndarray, floor: float = RATIO_FLOOR) -> np.ndarray:
    """Whether either side of a ratio is at or below `floor`, where the floor, not the data,
    sets the ratio's size."""
    with np.errstate(invalid="ignore"):
        return (num <= floor) | (den <= floor)


def defined(polytope, seed, v: np.ndarray, n_ex: int, what: str, floored: np.ndarray | None = None,
            sides: dict[str, np.ndarray] | None = None, empty: tuple[Empty, ...] = ()) -> Units:
    """Units of finite values (log ratios, per-run outcomes); the undefined ones are counted as
    excluded and said.
    `floored` (at_floor) becomes the column "at_floor", so that a verdict can say how many
    units the floor set; `sides` are further columns kept beside the value."""
    good = np.isfinite(v)
    why = f"{int((~good).sum())} {what}" if (~good).any() else ""
    table = pd.DataFrame({"polytope": polytope, "seed": seed, "value": v})
    if floored is not None:
        table["at_floor"] = np.asarray(floored, dtype=float)
    for name, col in (sides or {}).items():
        table[name] = np.asarray(col, dtype=float)
    return Units(table[good], n_ex + int((~good).sum()), why, empty)


def _floored_sum(ratios, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The sum of log_ratio(num, den, floor) over `ratios` [(num, den), ...], and whether any
    of them has a side at the floor."""
    (num, den), *rest = ratios
    v, at = log_ratio(num, den, floor), at_floor(num, den, floor)
    for num, den in rest:
        v, at = v + log_ratio(num, den, floor), at | at_floor(num, den, floor)
    return v, at


def log_ratios(polytope, seed, ratios: list[tuple[np.ndarray, np.ndarray]], n_ex: int, what: str,
               empty: tuple[Empty, ...] = ()) -> Units:
    """Units of floored log ratios: each unit's value the sum over `ratios` [(num, den), ...]
    of log(num / den), both sides floored at RATIO_FLOOR (a ratio of ratios is
    [(a_num, a_den), (b_den, b_num)]). The unfloored sides stay in the table (columns
    floor_num{k}, floor_den{k}), so that `refloor` can put the floor elsewhere."""
    v, at = _floored_sum(ratios, RATIO_FLOOR)
    sides = {}
    for k, (num, den) in enumerate(ratios):
        sides[f"floor_num{k}"], sides[f"floor_den{k}"] = num, den
    return defined(polytope, seed, v, n_ex, what, at, sides, empty)


def floored(table: pd.DataFrame) -> bool:
    """Whether the units are floored log ratios (`log_ratios`) that `refloor` can move."""
    return "floor_num0" in table


def refloor(table: pd.DataFrame, floor: float) -> pd.DataFrame:
    """Units of `log_ratios` with their value and "at_floor" as the floor `floor` sets them."""
    k = sum(1 for c in table.columns if c.startswith("floor_num"))
    ratios = [(table[f"floor_num{i}"].to_numpy(float), table[f"floor_den{i}"].to_numpy(float)) for i in range(k)]
    v, at = _floored_sum(ratios, floor)
    return table.assign(value=v, at_floor=at.astype(float))


@dataclass(frozen=True)
class FloorSensitivity:
    """A floored ratio's estimate with the floor at each of `floors` (the claim's own estimate,
    units re-floored by `refloor`), and the share of units with a side at or below each.
    `fold`: the largest estimate over the smallest; above FLOOR_FOLD the magnitude is the
    floor's (`set_by_floor`), a caveat shown beside the verdict, which it does not change."""

    floors: tuple[float, ...]
    estimates: tuple[float, ...]
    shares_at_floor: tuple[float, ...]
    default: float = RATIO_FLOOR

    @property
    def fold(self) -> float:
        e = np.asarray(self.estimates, dtype=float)
        if not (np.isfinite(e).all() and (e > 0).all()):
            return float("nan")
        return float(e.max() / e.min())

    @property
    def share_at_default(self) -> float:
        return self.shares_at_floor[self.floors.index(self.default)]

    @property
    def touched(self) -> bool:
        """Whether any floor reaches any unit (else every estimate is the same)."""
        return max(self.shares_at_floor) > 0

    @property
    def set_by_floor(self) -> bool:
        return self.fold > FLOOR_FOLD

    def as_dict(self) -> dict:
        return {"floors": list(self.floors), "estimates": list(self.estimates),
                "shares_at_floor": list(self.shares_at_floor), "default": self.default, "fold": self.fold,
                "set_by_floor": self.set_by_floor}


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
