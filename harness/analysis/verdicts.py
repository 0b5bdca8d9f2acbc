"""Claims are data: a sentence of the write-up, the statistic that measures it on the run
table, the kind of test, the comparison, the inclusion rule. Evaluating a family of claims
gives one Verdict per claim, with Holm-adjusted p across the family.

Each verdict word has one meaning, VERDICT_MEANINGS below: the text of what `decide` does,
from which the report's legend and the README's "Verdicts" table are generated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from harness.analysis import stats
from harness.analysis.statistics import (
    ALPHA,
    RULES,
    DipShare,
    Statistic,
)
from harness.errors import HarnessError
from harness.jsonable import jsonable

N_BOOT = 2000
KINDS = ("direction", "magnitude", "equivalence", "shape")
VERDICTS = ("supported", "direction only", "not supported", "contradicted", "equivalent", "not shown equivalent")
POSITIVE = ("supported", "equivalent")
# What `decide` does, word by word; change one with the other (tests/test_report.py checks
# that the README's table is the one render.text.verdict_table_markdown() makes from this).
VERDICT_MEANINGS = {
    "supported": "significant after Holm in the claimed direction; for a magnitude claim (\"~10x\") the claimed "
                 "magnitude also lies inside the 95% CI, for a slope the cluster-bootstrap CI also excludes the null, "
                 "and every claim it requires is positive",
    "direction only": "significant after Holm in the claimed direction, but the claimed magnitude lies outside the "
                      "95% CI",
    "not supported": "not significant after Holm (or the estimate equals the null): the data cannot decide at this "
                     "size; or a slope whose mixed model is significant but whose cluster-bootstrap CI includes the "
                     "null; or, marked (gated), significant but a claim it requires is not positive (the note says "
                     "which)",
    "contradicted": "significant after Holm on the other side of the null; for an equivalence claim, the one-sided "
                    "test that the mean lies past the nearer margin is significant after Bonferroni over the family",
    "equivalent": "equivalence test (TOST) significant after Holm: the mean lies inside the declared margin",
    "not shown equivalent": "TOST not significant after Holm, and the one-sided test past the nearer margin not "
                            "significant after Bonferroni: underpowered, or a real but small difference",
}


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
    """What the data say about one claim (harness.render.text.verdict_row prints it as one row)."""

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
        return jsonable(out)


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
