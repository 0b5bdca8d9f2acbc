"""Claims are data: a sentence of the write-up, the statistic that measures it on the run
table, the kind of test, the comparison, the inclusion rule. Evaluating a family of claims
gives one Verdict per claim, with Holm-adjusted p across the family.

Verdict words, one meaning each (README, "Verdicts"):
  supported       significant after Holm in the claimed direction (and, for a magnitude
                  claim, the claimed magnitude inside the 95% CI)
  direction only  significant in the claimed direction, claimed magnitude outside the CI
  not supported   not significant after Holm: the data cannot decide at this size (or
                  "gated": significant, but a claim it `requires` is not positive)
  contradicted    significant the other way (for an equivalence claim: the one-sided test
                  that the mean lies past the nearer margin is significant, Bonferroni
                  over the family)
  equivalent      TOST significant after Holm: the mean lies inside the declared margin
  not shown equivalent  TOST not significant, CI not wholly outside the margin
"""
from __future__ import annotations

import importlib.util
import math
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from . import stats
from .errors import HarnessError

ALPHA = 0.05
N_BOOT = 2000
# Ratios of weights floor both sides here: a weight below 1e-4 acts as zero (its unit moves
# the scalar by < 1e-3 for any hidden activation seen), and hard non-negativity sets weights
# to exactly 0, whose log ratio would otherwise be infinite and silently dropped.
RATIO_FLOOR = 1e-4
RULES = ("exclude_collapsed", "all")
KINDS = ("direction", "magnitude", "equivalence", "shape")
VERDICTS = ("supported", "direction only", "not supported", "contradicted", "equivalent", "not shown equivalent")
POSITIVE = ("supported", "equivalent")


# -- which runs count -----------------------------------------------------------------------
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


@dataclass(frozen=True)
class Claim:
    """One sentence of the write-up as a check. `null` and `claimed` are on the reported
    scale (ratios as ratios); `margin` (low, high) bounds an equivalence claim's mean."""

    id: str
    sentence: str
    statistic: Statistic
    kind: str = "direction"
    direction: str = ">"  # the claimed side of `null`
    null: float | None = None  # default: 1 for ratios, 0 otherwise
    claimed: float | None = None  # the write-up's magnitude, for kind="magnitude"
    writeup: float | None = None  # the write-up's seed-0 value of the statistic
    margin: tuple[float, float] | None = None
    rule: str = "exclude_collapsed"
    order: float = 100.0
    group: str = "write-up"  # "write-up" (the write-up's own claims) or "ablation"
    requires: tuple[str, ...] = ()  # claims that must be positive for this one to be supported
    source: str = ""  # the file that declared it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HarnessError(f"claim {self.id}: kind must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if self.direction not in (">", "<"):
            raise HarnessError(f"claim {self.id}: direction must be '>' or '<'")
        if self.kind == "equivalence" and (self.margin is None or not self.margin[0] < self.margin[1]):
            raise HarnessError(f"claim {self.id}: an equivalence claim needs a margin (low, high) with low < high")
        if self.kind == "magnitude" and self.claimed is None:
            raise HarnessError(f"claim {self.id}: a magnitude claim needs the claimed value")
        if self.kind == "equivalence" and self.statistic.scale != "linear":
            raise HarnessError(f"claim {self.id}: an equivalence margin needs a difference, not a ratio or slope")
        if self.rule not in RULES:
            raise HarnessError(f"claim {self.id}: rule must be one of {', '.join(RULES)}")

    @property
    def null_value(self) -> float:
        if self.null is not None:
            return self.null
        return 1.0 if self.statistic.scale in ("log", "ratio_of_means") else 0.0

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.statistic.models)


@dataclass(frozen=True)
class Verdict:
    """What the data say about one claim. Prints as one readable row."""

    id: str
    sentence: str
    kind: str
    verdict: str
    estimate: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adj: float
    null: float
    claimed: float | None
    writeup: float | None
    writeup_percentile: float
    n_runs: int
    n_polytopes: int
    n_seeds: int
    n_excluded: int
    rule: str
    statistic: str
    note: str = ""
    margin: tuple[float, float] | None = None
    detail: dict = field(default_factory=dict)
    per_polytope: tuple = ()
    unit_values: np.ndarray = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "unit_values"}
        out["per_polytope"] = [dict(r) for r in self.per_polytope]
        return _jsonable(out)

    def row(self) -> str:
        ci = f"[{_num(self.ci_low)}, {_num(self.ci_high)}]"
        gated = " (gated)" if "gated:" in self.note else ""
        return (f"{self.id:28s} {self.verdict + gated:21s} est {_num(self.estimate):>9s} 95% CI {ci:22s} "
                f"p {_p(self.p_value):>7s} p_adj {_p(self.p_adj):>7s}  n {self.n_runs} "
                f"({self.n_polytopes} polytopes, {self.n_excluded} excl.)")

    def __str__(self) -> str:
        return self.row()


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 1:
        return f"{v:.3g}" if a < 10 else f"{v:.1f}"
    return f"{v:.3g}"


def _p(p: float) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "n/a"
    return "<1e-4" if p < 1e-4 else f"{p:.4f}"


def _per_polytope(units: pd.DataFrame, scale: str) -> tuple:
    rows = []
    for pid, g in units.groupby("polytope", sort=True):
        if scale == "ratio_of_means":
            den = g["den"].mean()
            est = g["num"].mean() / den if den > 0 else float("inf")
            lo = hi = float("nan")
        else:
            v = g["value"].to_numpy(float)
            m = v.mean()
            if len(v) > 1 and v.std(ddof=1) > 0:
                from scipy import stats as sps

                half = sps.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v))
            else:
                half = 0.0
            est, lo, hi = m, m - half, m + half
            if scale == "log":
                est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
        rows.append({"polytope": int(pid), "estimate": float(est), "low": float(lo), "high": float(hi), "n": len(g)})
    return tuple(rows)


def evaluate(claim: Claim, runs: pd.DataFrame, points: pd.DataFrame | None = None, rule: str | None = None,
             n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """One claim on a run table (and per-point table), before multiplicity correction:
    verdict words use p_adj = p until `decide` is applied by `evaluate_all`."""
    rule = rule or claim.rule
    if claim.statistic.needs_points and (points is None or len(points) == 0):
        raise HarnessError(f"claim {claim.id} needs the per-point table (points.parquet beside the run table)")
    u = claim.statistic.units(runs, points, rule)
    t = u.table
    scale = claim.statistic.scale
    cols = ["value", "num", "den", "x"]
    finite = np.isfinite(t[[c for c in cols if c in t.columns]].to_numpy(float)).all(axis=1)
    if not finite.all():  # e.g. a region with no test point: counted, never silently dropped
        u.n_excluded += int((~finite).sum())
        u.excluded_why = "; ".join(x for x in (u.excluded_why, f"{int((~finite).sum())} with undefined values") if x)
        t = t[finite]
    rng = np.random.default_rng(seed)
    n = len(t)
    null = claim.null_value
    detail: dict = {}
    nan = float("nan")
    if n < 2:
        est = lo = hi = p = nan
        note = f"only {n} usable runs: nothing to test"
        unit_nat = t["value"].to_numpy(float)
    else:
        cl = t["polytope"].to_numpy()
        v = t["value"].to_numpy(float)
        test = None
        if scale == "slope":
            x = t["x"].to_numpy(float)
            mixed = stats.mixed_slope(v, x, cl)
            boot = stats.cluster_bootstrap_slope(v, x, cl, n_boot=n_boot, rng=rng)
            # The interval is the cluster bootstrap's: MixedLM's can be too narrow when its
            # random-effect variance collapses (statsmodels #10239); the p is the mixed model's.
            est, lo, hi, p = mixed.slope, boot.ci.low, boot.ci.high, mixed.p_value
            detail.update(bootstrap_slope=boot.estimate, mixed_ci=[mixed.ci.low, mixed.ci.high],
                          group_var=mixed.group_var, residual_var=mixed.residual_var, converged=mixed.converged,
                          per_model={m: [float(g["x"].mean()), float(g["value"].mean()), len(g)]
                                     for m, g in t.groupby("model", sort=False)})
            note = "; ".join(x for x in (mixed.warning, u.excluded_why) if x)
            unit_nat = v
        elif scale == "ratio_of_means":
            data = t[["num", "den"]].to_numpy(float)
            ratio = stats.ratio_of_cluster_means(cl, 0, 1)
            point = float(ratio(np.ones((1, len(data))), data)[0])
            # a ratio of 0 (or no finite ratio) has no log: its interval is then built as it is
            boot = stats.cluster_bootstrap(data, cl, ratio, n_boot=n_boot, rng=rng,
                                           log_scale=0 < point < np.inf)
            est, lo, hi = boot.estimate, boot.ci.low, boot.ci.high
            test = stats.cluster_mean_test(v, cl, 0.0)  # its mean of polytope means is num - den
            detail.update(mean_num=float(data[:, 0].mean()), mean_den=float(data[:, 1].mean()))
            with np.errstate(divide="ignore", invalid="ignore"):
                unit_nat = data[:, 0] / data[:, 1]
        else:
            boot = stats.cluster_bootstrap(v, cl, stats.mean_of_cluster_means(cl), n_boot=n_boot, rng=rng)
            est, lo, hi = boot.estimate, boot.ci.low, boot.ci.high
            tnull = math.log(null) if scale == "log" else null
            test = stats.cluster_mean_test(v, cl, tnull)
            unit_nat = v
            if scale == "log":
                est, lo, hi = math.exp(est), math.exp(lo), math.exp(hi)
                unit_nat = np.exp(v)
        if test is not None:
            p = test.p_value
            note = "; ".join(x for x in (boot.note, u.excluded_why) if x)
            detail["test"] = test.method
        g = int(t["polytope"].nunique())
        if np.ptp(v) == 0 and set(np.unique(v)) <= {0.0, 1.0}:
            # Every run agrees on a yes/no outcome: the bootstrap has nothing to resample and
            # a t-test would say p = 0 at any size. Count polytopes instead: an exact binomial
            # test of G agreeing polytopes against the null share, and Wilson's interval.
            k = g if v[0] == 1.0 else 0
            p = float(scipy_stats.binomtest(k, g, null).pvalue) if 0 < null < 1 else p
            ci = stats.proportion_ci(k, g)
            lo, hi = ci.low, ci.high
            note = "; ".join(x for x in (note, f"all {n} runs agree; binomial test and Wilson interval over {g} polytopes")
                             if x)
        if claim.kind == "equivalence":
            lo_m, hi_m = claim.margin
            eq = stats.tost(v, cl, lo_m, hi_m)
            p = eq.p_value
            near = hi_m if est > hi_m else lo_m if est < lo_m else (hi_m if est > (lo_m + hi_m) / 2 else lo_m)
            side = stats.cluster_mean_test(v, cl, near)
            beyond = (est > hi_m) or (est < lo_m)
            beyond_p = side.p_value / 2 if beyond else 1 - side.p_value / 2  # one-sided: past the margin
            detail.update(tost_ci90=[eq.ci90.low, eq.ci90.high], tost_note=eq.note, beyond_margin_p=float(beyond_p))
            note = "; ".join(x for x in (note, eq.note) if x)
        if isinstance(claim.statistic, DipShare):
            detail["median_dip_p"] = float(np.median(t["dip_p"]))
    per_poly = _per_polytope(t, scale) if (n and scale != "slope") else ()
    wpct = stats.percentile_of(claim.writeup, unit_nat) if (claim.writeup is not None and n) else nan
    return Verdict(
        id=claim.id, sentence=claim.sentence, kind=claim.kind, verdict="", estimate=float(est), ci_low=float(lo),
        ci_high=float(hi), p_value=float(p), p_adj=float(p), null=null, claimed=claim.claimed,
        writeup=claim.writeup, writeup_percentile=float(wpct), n_runs=n,
        n_polytopes=int(t["polytope"].nunique()) if n else 0, n_seeds=int(t["seed"].nunique()) if n else 0,
        n_excluded=u.n_excluded, rule=rule, statistic=claim.statistic.describe(), note=note,
        margin=claim.margin, detail=detail, per_polytope=per_poly, unit_values=unit_nat)


def decide(claim: Claim, v: Verdict, p_adj: float, others: dict[str, Verdict] | None = None,
           family_size: int = 1) -> Verdict:
    """The verdict word from the Holm-adjusted p, the direction and the CI. A claim that
    `requires` others is supported only when they are positive too (the note says which is
    not, and a required claim that was not evaluated counts as not positive). An equivalence
    claim is contradicted when the one-sided test that its mean lies past the nearer margin
    is significant after Bonferroni over the family (conservative); p_adj then shows that p."""
    sig = p_adj < ALPHA if not math.isnan(p_adj) else False
    note = v.note
    if claim.kind == "equivalence":
        beyond = min(1.0, v.detail.get("beyond_margin_p", 1.0) * family_size)
        if sig:
            word = "equivalent"
        elif beyond < ALPHA:
            word, p_adj = "contradicted", beyond
        else:
            word = "not shown equivalent"
    else:
        right_way = v.estimate > v.null if claim.direction == ">" else v.estimate < v.null
        if not sig or v.estimate == v.null:
            word = "not supported"
        elif not right_way:
            word = "contradicted"
        elif claim.kind == "magnitude" and not (v.ci_low <= claim.claimed <= v.ci_high):
            word = "direction only"
        elif claim.statistic.scale == "slope" and v.ci_low <= v.null <= v.ci_high:
            word = "not supported"
            note = "; ".join(x for x in (note, "the mixed model is significant but the cluster-bootstrap CI includes 0")
                             if x)
        else:
            word = "supported"
    if word == "supported" and claim.requires and others is not None:
        failed = [f"{r} is {others[r].verdict}" if r in others else f"{r} was not evaluated"
                  for r in claim.requires if r not in others or others[r].verdict not in POSITIVE]
        if failed:
            word = "not supported"
            note = "; ".join(x for x in (note, "gated: significant, but " + ", ".join(failed)) if x)
    return replace(v, verdict=word, p_adj=float(p_adj), note=note)


def evaluate_all(claims: list[Claim], runs: pd.DataFrame, points: pd.DataFrame | None = None,
                 rule: str | None = None, n_boot: int = N_BOOT) -> list[Verdict]:
    """Every claim, then Holm within each family (claims that could not be tested stay out).
    A family is a claim group: the write-up's own claims are one question, the ablations
    another, so adding an ablation does not move the write-up's verdicts."""
    return decide_all(claims, [evaluate(c, runs, points, rule=rule, n_boot=n_boot) for c in claims])


def decide_all(claims: list[Claim], raw: list[Verdict], adj: np.ndarray | None = None) -> list[Verdict]:
    """What follows evaluation: Holm within each claim group (unless `adj` gives the adjusted
    p in claim order), the verdict words, then `requires` until the words settle."""
    if adj is None:
        adj = np.full(len(raw), np.nan)
        for g in dict.fromkeys(c.group for c in claims):
            idx = [i for i, c in enumerate(claims) if c.group == g]
            adj[idx] = stats.holm([raw[i].p_value for i in idx])
    size = {g: sum(1 for c, v in zip(claims, raw) if c.group == g and not math.isnan(v.p_value))
            for g in {c.group for c in claims}}
    out = {c.id: decide(c, v, float(a), None, size[c.group]) for c, v, a in zip(claims, raw, adj)}
    for _ in range(len(claims)):  # `requires` chains settle in at most len(claims) passes
        nxt = {c.id: decide(c, v, float(a), out, size[c.group]) for c, v, a in zip(claims, raw, adj)}
        if all(nxt[k].verdict == out[k].verdict for k in out):
            break
        out = nxt
    return [out[c.id] for c in claims]


# -- where claims live: one file each in claims/ ---------------------------------------------
CLAIMS_ENV = "MESA_HARNESS_CLAIMS"


def claims_dir() -> Path:
    """$MESA_HARNESS_CLAIMS, else ./claims, else the claims/ beside the installed package."""
    env = os.environ.get(CLAIMS_ENV)
    if env:
        return Path(env)
    here = Path("claims")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "claims"


def load_claims(directory: str | os.PathLike | None = None) -> list[Claim]:
    """Every claim declared by a .py file in the claims folder (as `CLAIM`, or a list
    `CLAIMS` for a claim checked at several settings), in (order, id) order."""
    d = Path(directory) if directory is not None else claims_dir()
    if not d.is_dir():
        raise HarnessError(f"no claims folder at {d}; run from the repository or set {CLAIMS_ENV}")
    found: dict[str, Claim] = {}
    sys.path.insert(0, str(d.resolve()))  # claim files may share helpers (claims/_*.py)
    try:
        _load_into(d, found)
    finally:
        sys.path.remove(str(d.resolve()))
    return sorted(found.values(), key=lambda c: (c.order, c.id))


def _load_into(d: Path, found: dict[str, Claim]) -> None:
    for path in sorted(d.glob("*.py")):
        if path.name.startswith("_") or path.name == "conftest.py":
            continue
        name = f"_mesa_claim_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except HarnessError as exc:
            raise HarnessError(f"{path.name}: {exc}")
        declared = list(getattr(mod, "CLAIMS", []))
        if getattr(mod, "CLAIM", None) is not None:
            declared.insert(0, mod.CLAIM)
        for claim in declared:
            if claim.id in found:
                raise HarnessError(f"claim id {claim.id!r} is declared twice ({found[claim.id].source} and {path.name})")
            found[claim.id] = replace(claim, source=path.name)


def select(claims: list[Claim], ids: str | None) -> list[Claim]:
    if not ids:
        return claims
    want = [x.strip() for x in ids.split(",") if x.strip()]
    known = {c.id: c for c in claims}
    for w in want:
        if w not in known:
            raise HarnessError(f"unknown claim {w!r}; known claims: {', '.join(known)}")
    return [known[w] for w in want]


def models_needed(claims: list[Claim]) -> list[str]:
    out: list[str] = []
    for c in claims:
        for m in c.statistic.models:
            if m not in out:
                out.append(m)
    return out

