"""Claims are data: a sentence of the write-up, the statistic that measures it on the run
table, the kind of test, the comparison, the inclusion rule. Evaluating a family of claims
gives one Verdict per claim, with Holm-adjusted p across the family.

Each verdict word has one meaning, VERDICT_MEANINGS below: the text of what `decide` does,
from which the report's legend and the README's "Verdicts" table are generated.
"""
from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from harness.analysis import stats
from harness.analysis.estimators import EmptyShare, agreement, all_agree, decision_p, empty_share
from harness.analysis.statistics import ALPHA, RULES, Statistic, Units
from harness.analysis.units import FloorSensitivity
from harness.errors import HarnessError
from harness.jsonable import jsonable

# Bootstrap resamples of a claim's studentized bootstrap: stats' own, whose smallest p (5e-4)
# survives Holm over a family of up to 100 claims (2000 would floor p at 1e-3).
N_BOOT = stats.N_BOOT_T
KINDS = ("direction", "magnitude", "equivalence", "shape")
VERDICTS = ("supported", "smaller than claimed", "larger than claimed", "magnitude undecided", "not supported",
            "contradicted", "equivalent", "not shown equivalent")
POSITIVE = ("supported", "equivalent")
# The words with which the data cannot decide yet (a larger study may): every other word is a decision.
UNDECIDED = ("not supported", "not shown equivalent", "magnitude undecided")
# What `decide` does, word by word; change one with the other (tests/test_report.py checks
# that the README's table is the one render.text.verdict_table_markdown() makes from this).
VERDICT_MEANINGS = {
    "supported": "significant after Holm in the claimed direction; for a magnitude claim (\"~10x\") the 95% CI also "
                 "lies inside the claim's band (its declared tolerance around the claimed value), and every claim it "
                 "requires is positive",
    "smaller than claimed": "a magnitude claim significant after Holm in the claimed direction whose 95% CI lies "
                            "wholly below its band: the claimed value is refuted as too large",
    "larger than claimed": "a magnitude claim significant after Holm in the claimed direction whose 95% CI lies "
                           "wholly above its band: the claimed value is refuted as too small",
    "magnitude undecided": "a magnitude claim significant after Holm in the claimed direction whose 95% CI reaches "
                           "across an edge of its band: the size is neither pinned nor refuted at this size",
    "not supported": "not significant after Holm (or the estimate equals the null): the data cannot decide at this "
                     "size; or, marked (gated), significant but a claim it requires is not positive (the note says "
                     "which); or untested: fewer than 2 usable runs (the note says so)",
    "contradicted": "significant after Holm on the other side of the null; for an equivalence claim, its 95% "
                    "interval (studentized polytope bootstrap) lies wholly past a margin and that test's p "
                    "(p_beyond_margin) is significant after Holm",
    "equivalent": "equivalence test (TOST, each side at 2.5%, studentized polytope bootstrap) significant after Holm: "
                  "the 95% interval lies inside the declared margin (never on fewer than 90 polytopes, below which the "
                  "error rate at a margin was not held on skewed data)",
    "not shown equivalent": "an equivalence claim whose interval is neither inside the margin nor wholly past it, "
                            "or whose p is not significant after Holm: underpowered, or a real but small difference; "
                            "or untested: fewer than 2 usable runs, or too few polytopes (the note says so)",
}


@dataclass(frozen=True)
class Claim:
    """One sentence of the write-up as a check. `null` and `claimed` are on the reported
    scale (ratios as ratios); `margin` (low, high) bounds an equivalence claim's mean;
    `tolerance` says what "about `claimed`" admits for a magnitude claim (`band`): a factor
    for a ratio (2.0: from claimed/2 to claimed*2), an absolute distance otherwise."""

    id: str
    sentence: str
    statistic: Statistic
    kind: str = "direction"
    direction: str = ">"  # the claimed side of `null`
    null: float | None = None  # default: 1 for ratios, 0 otherwise
    claimed: float | None = None  # the write-up's magnitude, for kind="magnitude"
    tolerance: float | None = None  # the band around `claimed`, for kind="magnitude"
    writeup: float | None = None  # the write-up's seed-0 value of the statistic
    margin: tuple[float, float] | None = None
    rule: str = "exclude_collapsed"
    order: float = 100.0
    group: str = "write-up"  # "write-up" (the write-up's own claims) or "ablation"
    requires: tuple[str, ...] = ()  # claims that must be positive for this one to be supported
    source: str = ""  # the file that declared it

    def __post_init__(self) -> None:
        if not isinstance(self.statistic, Statistic):
            raise HarnessError(f"claim {self.id}: its statistic must be a harness.claims statistic (a Statistic), "
                               f"got {type(self.statistic).__name__}")
        if self.kind not in KINDS:
            raise HarnessError(f"claim {self.id}: kind must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if self.direction not in (">", "<"):
            raise HarnessError(f"claim {self.id}: direction must be '>' or '<'")
        if self.kind == "equivalence" and (self.margin is None or not self.margin[0] < self.margin[1]):
            raise HarnessError(f"claim {self.id}: an equivalence claim needs a margin (low, high) with low < high")
        if self.kind == "magnitude" and self.claimed is None:
            raise HarnessError(f"claim {self.id}: a magnitude claim needs the claimed value")
        self._check_tolerance()
        if self.kind == "equivalence" and not self.statistic.additive:
            raise HarnessError(f"claim {self.id}: an equivalence margin needs a difference, not a ratio or slope")
        if self.rule not in RULES:
            raise HarnessError(f"claim {self.id}: rule must be one of {', '.join(RULES)}")

    def _check_tolerance(self) -> None:
        if self.kind != "magnitude":
            if self.tolerance is not None:
                raise HarnessError(f"claim {self.id}: only a magnitude claim has a tolerance (this one is {self.kind})")
            return
        ratio = self.statistic.log_axis
        if self.tolerance is None or not math.isfinite(self.tolerance) or self.tolerance <= (1.0 if ratio else 0.0):
            what = "a factor above 1 (2.0: from claimed/2 to claimed*2)" if ratio else "a distance above 0"
            raise HarnessError(f"claim {self.id}: a magnitude claim needs its tolerance, {what}")
        if ratio and self.claimed <= 0:
            raise HarnessError(f"claim {self.id}: a claimed ratio must be above 0 (got {self.claimed})")
        low, high = self.band
        if not (low > self.null_value if self.direction == ">" else high < self.null_value):
            raise HarnessError(f"claim {self.id}: its band [{low:.4g}, {high:.4g}] must lie wholly on the claimed side "
                               f"({self.direction}) of the null {self.null_value:g}; narrow the tolerance")

    @property
    def band(self) -> tuple[float, float] | None:
        """What "about `claimed`" admits, (low, high) on the reported scale: claimed divided
        and multiplied by the tolerance for a ratio (pinned on the log scale it is tested
        on), claimed minus and plus it otherwise. None unless a magnitude claim."""
        if self.kind != "magnitude":
            return None
        if self.statistic.log_axis:
            return self.claimed / self.tolerance, self.claimed * self.tolerance
        return self.claimed - self.tolerance, self.claimed + self.tolerance

    @property
    def null_value(self) -> float:
        if self.null is not None:
            return self.null
        return self.statistic.default_null

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(self.statistic.models)


@dataclass(frozen=True)
class Gate:
    """Why a claim that is significant in its claimed direction reads `not supported`: the
    claims it `requires` that are not positive, one text each ("x is contradicted",
    "y was not evaluated")."""

    failed: tuple[str, ...]

    @property
    def note(self) -> str:
        return "gated: significant, but " + ", ".join(self.failed)


# The keys of Verdict.as_dict, in the order `claims --json` has always printed them.
_EXPORTED = ("id", "sentence", "kind", "verdict", "estimate", "ci_low", "ci_high", "p_value", "p_adj", "null",
             "claimed", "writeup", "writeup_percentile", "n_runs", "n_polytopes", "n_seeds", "n_excluded", "rule",
             "statistic", "note", "margin", "p_equivalent", "p_beyond_margin", "band", "ci_label", "detail",
             "per_polytope", "floor_sensitivity", "empty")
# What the interval is: each claim's own, not adjusted for the family as its word is (Holm).
CI_LABEL = "95% CI (unadjusted)"


@dataclass(frozen=True, repr=False)
class Verdict:
    """What the data say about one claim (harness.render.text.verdict_row prints it as one
    row): the estimate and its 95% interval `ci` on the reported scale, the p of the claim's
    test and its Holm-adjusted p, the verdict word and, when a required claim failed, the
    `gate`; a magnitude claim's `band` (Claim.band). `unit_values` are the per-unit values
    on the reported scale (figures, seed 0).
    `floor_sensitivity`: a floored ratio's estimate at other ratio floors (units.FloorSensitivity;
    None for other statistics). `empty`: per model and column that a zero count can leave
    undefined (no active unit at the centre), how many units it did (estimators.EmptyShare):
    an outcome shown beside the estimate, which leaves those units out."""

    id: str
    sentence: str
    kind: str
    verdict: str
    estimate: float
    ci: stats.Interval
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
    p_equivalent: float | None = None  # an equivalence claim's p that the mean lies inside its margin
    p_beyond_margin: float | None = None  # ... and that it lies past one of them
    band: tuple[float, float] | None = None
    gate: Gate | None = None
    detail: dict = field(default_factory=dict)
    per_polytope: tuple = ()
    unit_values: np.ndarray = field(default=None, compare=False)
    floor_sensitivity: FloorSensitivity | None = None
    empty: tuple[EmptyShare, ...] = ()

    @property
    def ci_low(self) -> float:
        return self.ci.low

    @property
    def ci_label(self) -> str:
        return CI_LABEL

    @property
    def ci_high(self) -> float:
        return self.ci.high

    @property
    def tested(self) -> bool:
        """Whether there was a test (at least 2 usable units); an untested claim stays out
        of its Holm family."""
        return not math.isnan(self.p_value)

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in _EXPORTED}
        out["per_polytope"] = [dict(r) for r in self.per_polytope]
        out["floor_sensitivity"] = None if self.floor_sensitivity is None else self.floor_sensitivity.as_dict()
        out["empty"] = [e.as_dict() for e in self.empty]
        return jsonable(out)

    def __repr__(self) -> str:
        gated = " (gated)" if self.gate else ""
        return (f"Verdict({self.id}: {self.verdict or 'undecided'}{gated}, estimate {self.estimate:.4g} "
                f"[{self.ci.low:.4g}, {self.ci.high:.4g}], p {self.p_value:.3g}, p_adj {self.p_adj:.3g}, "
                f"n {self.n_runs})")


def _join(*parts: str) -> str:
    return "; ".join(x for x in parts if x)


def evaluate(claim: Claim, runs: pd.DataFrame, points: pd.DataFrame | None = None, rule: str | None = None,
             n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """One claim on a run table (and per-point table), before multiplicity correction:
    verdict words use p_adj = p until `decide` is applied by `evaluate_all`."""
    rule = rule or claim.rule
    if claim.statistic.needs_points and (points is None or len(points) == 0):
        raise HarnessError(f"claim {claim.id} needs the per-point table (points.parquet beside the run table)")
    return assess(claim, claim.statistic.units(runs, points, rule), rule, n_boot=n_boot, seed=seed)


def assess(claim: Claim, units: Units, rule: str, n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """`evaluate` from the claim's units on: the statistic's estimate, then the checks every
    statistic shares (every run agreeing on a yes/no outcome, equivalence). Power's
    vectorised replicates are tested against this on the same resampled units."""
    st = claim.statistic
    u = units.finite(st.inputs)
    t = u.table
    n, null, nan = len(t), claim.null_value, float("nan")
    detail: dict = {}
    p_eq = p_beyond = None
    floors = None
    if n < 2:
        est, ci, p = nan, stats.Interval(nan, nan), nan
        note = f"only {n} usable runs: nothing to test"
    else:
        e = st.estimate(t, null, n_boot, np.random.default_rng(seed))
        est, ci, p, detail = e.value, e.ci, e.p_value, dict(e.detail)
        note = _join(e.note, u.excluded_why)
        v, cl = t["value"].to_numpy(float), t["polytope"].to_numpy()
        g = int(t["polytope"].nunique())
        if st.yes_no and all_agree(v):
            p, ci = agreement(g if v[0] == 1.0 else 0, g, null, p)
            test = "exact binomial test" if 0 < null < 1 else "the t-test on polytope means"
            note = _join(note, f"all {n} runs agree: {test} and Wilson interval over {g} polytopes")
        if claim.kind == "equivalence":
            eq = stats.equivalence(v, cl, *claim.margin, alpha=ALPHA, n_boot=n_boot, rng=np.random.default_rng(seed))
            est, ci, p_eq, p_beyond = eq.estimate, eq.ci, eq.p_equivalent, eq.p_beyond
            p = decision_p(p_eq, p_beyond)
            detail.update(test=eq.method, beyond_margin_p=p_beyond)
            # a decided outcome is the word's, or (not significant after Holm) `_raw_side`'s; an undecided one says why
            note = _join(e.note, u.excluded_why, eq.note if eq.outcome == "undecided" else "")
        detail.update(st.extra_detail(t))
        floors = st.floor_sensitivity(t, null, n_boot, seed)
    unit_values = st.unit_values(t)
    wpct = stats.percentile_of(claim.writeup, unit_values) if (claim.writeup is not None and n) else nan
    return Verdict(
        id=claim.id, sentence=claim.sentence, kind=claim.kind, verdict="", estimate=float(est),
        ci=stats.Interval(float(ci.low), float(ci.high)), p_value=float(p), p_adj=float(p), null=null,
        claimed=claim.claimed, writeup=claim.writeup, writeup_percentile=float(wpct), n_runs=n,
        n_polytopes=int(t["polytope"].nunique()) if n else 0, n_seeds=int(t["seed"].nunique()) if n else 0,
        n_excluded=u.n_excluded, rule=rule, statistic=st.describe(), note=note, margin=claim.margin,
        p_equivalent=None if p_eq is None else float(p_eq), p_beyond_margin=None if p_beyond is None else float(p_beyond),
        band=claim.band, detail=detail,
        per_polytope=st.per_polytope(t) if n else (), unit_values=unit_values, floor_sensitivity=floors,
        empty=tuple(empty_share(e) for e in u.empty))


def decide(claim: Claim, v: Verdict, p_adj: float, others: dict[str, Verdict] | None = None) -> Verdict:
    """The verdict word from the Holm-adjusted p, the direction and the CI, for a magnitude
    claim its band too (`magnitude_word`), as VERDICT_MEANINGS says.
    A claim that could not be tested reads "not supported" ("not shown equivalent" for an
    equivalence claim), its note saying why. A claim that `requires` others is supported only
    when they are positive too (`gate` says which is not, and a required claim that was not
    evaluated counts as not positive). An equivalence claim has one rule: its p is that of the
    side its interval points to (`estimators.decision_p`), Holm-adjusted with the family; when
    significant, the word is that side's, "equivalent" or "contradicted"."""
    words = None if others is None else {k: o.verdict for k, o in others.items()}
    word, p_adj, note, gate = _outcome(claim, v, p_adj, words)
    return replace(v, verdict=word, p_adj=p_adj, note=note, gate=gate)


def _outcome(claim: Claim, v: Verdict, p_adj: float, words: dict[str, str] | None) -> tuple[str, float, str, Gate | None]:
    """`decide` as (word, p_adj, note, gate), `words` the other claims' verdict words."""
    sig = p_adj < ALPHA if not math.isnan(p_adj) else False
    note, gate = v.note, None
    if claim.kind == "equivalence":
        past = v.p_beyond_margin is not None and not (v.p_equivalent is not None and v.p_equivalent < v.p_beyond_margin)
        word = "not shown equivalent" if not sig else "contradicted" if past else "equivalent"
    else:
        right_way = v.estimate > v.null if claim.direction == ">" else v.estimate < v.null
        if not sig or v.estimate == v.null:
            word = "not supported"
        elif not right_way:
            word = "contradicted"
        elif claim.kind == "magnitude":
            word = magnitude_word(v.ci, claim.band)
        else:
            word = "supported"
    if word in UNDECIDED and not sig and v.p_value < ALPHA:
        note = _join(note, _raw_side(claim, v))
    if word == "supported" and claim.requires and words is not None:
        failed = tuple(f"{r} is {words[r]}" if r in words else f"{r} was not evaluated"
                       for r in claim.requires if words.get(r) not in POSITIVE)
        if failed:
            gate = Gate(failed)
            word, note = "not supported", _join(note, gate.note)
    return word, float(p_adj), note, gate


def _raw_side(claim: Claim, v: Verdict) -> str:
    """Where the unadjusted evidence points when Holm leaves a claim undecided: the claim's
    own 95% interval already excludes the null (or, for equivalence, decides a side)."""
    if claim.kind == "equivalence":
        past = v.p_beyond_margin is not None and not (v.p_equivalent is not None and v.p_equivalent < v.p_beyond_margin)
        side = "wholly past a margin" if past else "inside the margins"
        return f"unadjusted, the 95% interval lies {side} (p {v.p_value:.3g}); not significant after Holm"
    above = v.ci.low > v.null
    toward = "the claimed side" if above == (claim.direction == ">") else "the other side"
    return (f"unadjusted, the 95% interval lies wholly {'above' if above else 'below'} the null ({toward}, "
            f"p {v.p_value:.3g}); not significant after Holm")


def magnitude_word(ci: stats.Interval, band: tuple[float, float]) -> str:
    """A magnitude claim's word once its direction is significant: the claimed size pinned
    (the 95% interval inside the band), refuted either way (wholly outside it), or undecided
    (across an edge: the interval is too wide, or the truth lies near the edge). As TOST
    pins a mean inside an equivalence margin, so that a small study's wide interval, which
    holds almost any value, can no longer read as support. An interval that is not finite
    decides nothing."""
    low, high = band
    if low <= ci.low and ci.high <= high:
        return "supported"
    if ci.high < low:
        return "smaller than claimed"
    if ci.low > high:
        return "larger than claimed"
    return "magnitude undecided"


def evaluate_all(claims: list[Claim], runs: pd.DataFrame, points: pd.DataFrame | None = None,
                 rule: str | None = None, n_boot: int = N_BOOT) -> list[Verdict]:
    """Every claim, then Holm within each family (claims that could not be tested stay out).
    A family is a claim group: the write-up's own claims are one question, the ablations
    another, so adding an ablation does not move the write-up's verdicts."""
    return decide_all(claims, [evaluate(c, runs, points, rule=rule, n_boot=n_boot) for c in claims])


def decide_all(claims: Sequence[Claim], raw: Sequence[Verdict], adj: np.ndarray | None = None) -> list[Verdict]:
    """What follows evaluation: Holm within each claim group (`holm_by_group`, unless `adj`
    gives the adjusted p in claim order), the verdict words (`decide`), then `requires` until
    the words settle."""
    out = _settle(claims, raw, adj)
    return [replace(v, verdict=w, p_adj=p, note=note, gate=gate) for v, (w, p, note, gate) in zip(raw, out)]


def decide_words(claims: Sequence[Claim], raw: Sequence[Verdict], adj: np.ndarray | None = None) -> list[str]:
    """The words of `decide_all` alone: all power needs of each of its resampled studies."""
    return [o[0] for o in _settle(claims, raw, adj)]


def _settle(claims: Sequence[Claim], raw: Sequence[Verdict], adj: np.ndarray | None) -> list[tuple]:
    if adj is None:
        adj = holm_by_group(np.array([v.p_value for v in raw], dtype=float), [c.group for c in claims])
    jobs = [(c, v, float(a)) for c, v, a in zip(claims, raw, adj)]
    out = {c.id: _outcome(c, v, a, None) for c, v, a in jobs}
    for _ in range(len(claims)):  # `requires` chains settle in at most len(claims) passes
        words = {k: o[0] for k, o in out.items()}
        nxt = {c.id: _outcome(c, v, a, words) if c.requires else out[c.id] for c, v, a in jobs}
        if all(nxt[k][0] == words[k] for k in out):
            break
        out = nxt
    return [out[c.id] for c in claims]


def holm_by_group(p: np.ndarray, groups: Sequence[str]) -> np.ndarray:
    """Holm-adjusted p within each group of claims (a claim group is a Holm family), for
    one evaluation's p (K,) or R resampled studies' (R, K), claims in `groups` order.
    stats.holm (statsmodels) on each row's family; NaN (untested) stays NaN and out of it.
    The one Holm-by-group: evaluate_all, the multiverse and power all come here."""
    p = np.asarray(p, dtype=float)
    rows = np.atleast_2d(p)
    out = np.full(rows.shape, np.nan)
    families = [[k for k, g in enumerate(groups) if g == name] for name in dict.fromkeys(groups)]
    with _cheap_gc():
        for r, row in enumerate(rows):
            for idx in families:
                out[r, idx] = stats.holm(row[idx])
    return out.reshape(p.shape)


@contextmanager
def _cheap_gc() -> Iterator[None]:
    """statsmodels' Holm runs gc.collect() on every call (statsmodels/stats/multitest.py),
    about 0.1 s with a loaded study in memory: 4,000 resampled families would take minutes.
    Freezing the objects that exist now into gc's permanent generation leaves that collection
    only the new ones (the collection still runs); they are unfrozen after. A caller that
    froze objects itself keeps them frozen."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
