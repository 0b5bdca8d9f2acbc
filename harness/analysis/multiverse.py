"""The multiverse: every claim's verdict under every reasonable choice of analysis and
training (a specification curve), and how often it holds.

A specification is one value for each of seven choices. Four are analysis choices, made on
runs already trained: the flat threshold, the boundary band, the centre (Measure settings,
stored runs re-measured by the `remeasure_fn` the caller hands in: runs.study.remeasure) and the collapse inclusion rule
(`exclude_collapsed`: each claim's declared rule; `all`: every finite run for every claim).
Claims about collapse itself always count every run: excluding collapsed runs would define
their answer away. Three are training choices (faces of the polytope, hidden width, epochs:
Protocol settings), which train new runs (the store caches them by protocol).

A claim *holds* in a specification when its verdict there is positive (`supported` or
`equivalent`), evaluated exactly as `evaluate_all` evaluates the default (the same tests,
bootstrap, Holm within the claim's group in that specification). Its *share* is the number
of specifications in which it holds over the number in which it could be tested. A claim
*agrees* in a specification when its verdict word is the one of the default specification
(so a claim the data contradict "agrees" where it stays contradicted).

Plans (`plan`): "analysis" crosses the analysis choices (3 x 3 x 2 x 2 = 36 specifications)
on the main study; "default" adds each training choice varied alone from the default (6
more), trained on a smaller study; "full" crosses all seven choices (972). Specifications
under the default protocol use the main study, the others the training study; the default
specification on the training study is evaluated too ("reference") and shown beside them, so
that a verdict lost to the smaller study is not read as lost to the choice. It is not
counted in the share.
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace

import pandas as pd

from harness.analysis.verdicts import N_BOOT, POSITIVE, Claim, Verdict, decide_all, evaluate
from harness.config import Measure, Protocol
from harness.errors import HarnessError
from harness.jsonable import jsonable

Tables = tuple[pd.DataFrame, pd.DataFrame]

_M, _P = Measure(), Protocol()

# The choices of issue 6; the default of each is the faithful one (config.Measure / Protocol).
CHOICES: dict[str, tuple] = {
    "flat_threshold": (0.5, 1.0, 2.0),
    "band": (0.1, 0.2, 0.3),
    "center": ("interior_mean", "chebyshev"),
    "rule": ("exclude_collapsed", "all"),
    "n_faces": (4, 6, 8),
    "hidden": (16, 32, 64),
    "epochs": (100, 200, 400),
}
ANALYSIS = ("flat_threshold", "band", "center", "rule")
TRAINING = ("n_faces", "hidden", "epochs")
PLANS = ("analysis", "default", "full")
CHOICE_LABEL = {"flat_threshold": "flat threshold", "band": "boundary band", "center": "centre",
                "rule": "inclusion", "n_faces": "faces", "hidden": "hidden width", "epochs": "epochs"}
VALUE_LABEL = {"interior_mean": "interior mean", "chebyshev": "Chebyshev", "exclude_collapsed": "declared",
               "all": "all runs"}

# Which run-table columns each Measure setting changes (measure.measure); the rest of the
# table is the same under any setting. A band also moves the points' region labels.
MEASURE_COLUMNS = {
    "flat_threshold": ("flat_count", "flat_frac", "flipped_flat_count", "flipped_flat_frac"),
    "band": ("grad_boundary", "grad_exterior"),
    "center": ("center_active_n", "center_active_absw", "center_inactive_absw"),
}
# Which point regions a setting relabels: the band moves points between boundary and exterior
# (the interior is the polytope's inside, whatever the band).
MEASURE_REGIONS = {"band": ("boundary", "exterior")}


@dataclass(frozen=True)
class Spec:
    """One specification: a value for every choice (defaults: the faithful protocol)."""

    flat_threshold: float = _M.flat_threshold
    band: float = _M.band
    center: str = _M.center
    rule: str = "exclude_collapsed"
    n_faces: int = _P.n_faces
    hidden: int = _P.hidden
    epochs: int = _P.epochs

    @property
    def measure(self) -> Measure:
        return Measure(flat_threshold=self.flat_threshold, band=self.band, center=self.center)

    @property
    def protocol(self) -> Protocol:
        return replace(_P, n_faces=self.n_faces, hidden=self.hidden, epochs=self.epochs)

    @property
    def trains(self) -> bool:
        return self.protocol != _P

    def changes(self) -> list[str]:
        """The choices that differ from the default, as 'choice value' text."""
        return [f"{CHOICE_LABEL[f.name]} {_value_text(getattr(self, f.name))}" for f in fields(self)
                if getattr(self, f.name) != getattr(DEFAULT, f.name)]

    @property
    def label(self) -> str:
        return ", ".join(self.changes()) or "default"

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT = Spec()


def _value_text(v) -> str:
    return VALUE_LABEL.get(v, f"{v:g}" if isinstance(v, float) else str(v))


def plan(name: str) -> list[Spec]:
    """The specifications of a plan: "analysis", "default" or "full" (module docstring)."""
    if name not in PLANS:
        raise HarnessError(f"unknown multiverse plan {name!r}; choose one of {', '.join(PLANS)}")
    analysis = [Spec(**dict(zip(ANALYSIS, vals, strict=True)))
                for vals in itertools.product(*(CHOICES[c] for c in ANALYSIS))]
    if name == "analysis":
        return analysis
    if name == "default":
        one_at_a_time = [replace(DEFAULT, **{c: v}) for c in TRAINING for v in CHOICES[c]
                         if v != getattr(DEFAULT, c)]
        return analysis + one_at_a_time
    return [Spec(**dict(zip(CHOICES, vals, strict=True))) for vals in itertools.product(*CHOICES.values())]


# -- the tables of a specification --------------------------------------------------------------------
Remeasure = Callable[[pd.DataFrame, Protocol, Measure], Tables]


class Remeasured:
    """The run and point tables of one protocol's runs under any Measure setting.

    Each setting changes its own columns only (MEASURE_COLUMNS), so a crossed grid of
    settings needs one re-measurement per value, not one per combination: the k-th value of
    every setting is measured together, and a combination takes each setting's columns from
    the measurement that had its value: two re-measurements instead of 17 for CHOICES."""

    def __init__(self, runs: pd.DataFrame, points: pd.DataFrame, protocol: Protocol,
                 remeasure_fn: Remeasure | None = None, base: Measure = _M):
        self.runs, self.points, self.protocol, self.base = runs, points, protocol, base
        self._remeasure = remeasure_fn
        self._probes: dict[tuple[str, object], Tables] = {}
        self._regions: dict[float, pd.DataFrame] = {}

    def prepare(self, measures: Sequence[Measure]) -> None:
        """Re-measures once per value that `measures` need (the k-th values of all settings together)."""
        todo = {s: [v for v in dict.fromkeys(getattr(m, s) for m in measures)
                    if v != getattr(self.base, s) and (s, v) not in self._probes] for s in MEASURE_COLUMNS}
        for k in range(max((len(v) for v in todo.values()), default=0)):
            setting = {s: vals[k] for s, vals in todo.items() if k < len(vals)}
            if self._remeasure is None:
                raise HarnessError("re-measuring stored runs needs a remeasure function (runs.study.remeasure)")
            tables = self._remeasure(self.runs, self.protocol, replace(self.base, **setting))
            for s, v in setting.items():
                self._probes[(s, v)] = tables

    def tables(self, m: Measure) -> Tables:
        self.prepare([m])
        runs, points = self.runs, self.points
        changed = [s for s in MEASURE_COLUMNS if getattr(m, s) != getattr(self.base, s)]
        if changed:
            runs = runs.copy()
            for s in changed:
                probe = self._probes[(s, getattr(m, s))][0].set_index("key")
                for col in MEASURE_COLUMNS[s]:
                    runs[col] = probe.loc[runs["key"], col].to_numpy()
        if m.band != self.base.band:
            points = self._points_for_band(m.band)
        return runs, points

    def _points_for_band(self, band: float) -> pd.DataFrame:
        if band not in self._regions:
            probe = self._probes[("band", band)][1]
            region = probe.set_index(["key", "point"])["region"]
            idx = pd.MultiIndex.from_arrays([self.points["key"], self.points["point"]])
            self._regions[band] = self.points.assign(region=region.reindex(idx).to_numpy())
        return self._regions[band]


def _claims_under(claims: Sequence[Claim], rule: str) -> list[Claim]:
    """`exclude_collapsed` keeps each claim's declared rule; `all` counts every finite run."""
    if rule == "exclude_collapsed":
        return list(claims)
    return [replace(c, rule="all") for c in claims]


def _inputs(claim: Claim, m: Measure) -> tuple:
    """The Measure settings a claim's statistic reads: those that change one of its columns
    (MEASURE_COLUMNS) or the labels of a point region it reads (MEASURE_REGIONS)."""
    st = claim.statistic
    return tuple((s, getattr(m, s)) for s in MEASURE_COLUMNS
                 if set(st.columns) & set(MEASURE_COLUMNS[s]) or set(st.regions) & set(MEASURE_REGIONS.get(s, ())))


# -- running it -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Robustness:
    """One claim across the multiverse. `by_choice` maps 'choice=value' to (holds, tested)
    over the specifications that use that value; `flips` lists the choices that, changed
    alone from the default specification, turn the verdict from positive to not or back."""

    id: str
    group: str
    default_verdict: str
    n_specs: int
    n_holds: int
    n_agree: int
    n_untestable: int
    reference_verdict: str | None
    by_choice: dict = field(default_factory=dict)
    flips: tuple[str, ...] = ()

    @property
    def share(self) -> float:
        return self.n_holds / self.n_specs if self.n_specs else float("nan")

    @property
    def agree_share(self) -> float:
        return self.n_agree / self.n_specs if self.n_specs else float("nan")

    def as_dict(self) -> dict:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["by_choice"] = {k: {"holds": h, "tested": n} for k, (h, n) in self.by_choice.items()}
        out["flips"] = list(self.flips)
        out["share"] = self.share
        out["agree_share"] = self.agree_share
        return jsonable(out)


@dataclass(frozen=True)
class Multiverse:
    """Every claim in every specification: `outcomes` has one row per (specification, claim)
    with the choices, `block` ("analysis": default protocol on the main study; "training":
    another protocol on the training study; "reference": the default specification on the
    training study, not counted), `study`, and the verdict's id, group, verdict, estimate,
    ci_low, ci_high, p_adj, n_runs, holds and testable."""

    plan: str
    specs: tuple[Spec, ...]
    outcomes: pd.DataFrame
    robustness: tuple[Robustness, ...]
    main_size: str
    train_size: str
    seconds: float

    def of(self, claim_id: str) -> pd.DataFrame:
        return self.outcomes[self.outcomes["id"] == claim_id]


OUTCOME_FIELDS = ("id", "group", "verdict", "estimate", "ci_low", "ci_high", "p_adj", "n_runs")


def _rows(spec: Spec, block: str, study: str, verdicts: Sequence[Verdict], claims: Sequence[Claim]) -> list[dict]:
    group = {c.id: c.group for c in claims}
    out = []
    for v in verdicts:
        row = {**spec.as_dict(), "block": block, "study": study, "label": spec.label}
        row.update({k: getattr(v, k) for k in OUTCOME_FIELDS if k != "group"})
        row["group"] = group[v.id]
        row["testable"] = not math.isnan(v.p_value)
        row["holds"] = row["testable"] and v.verdict in POSITIVE
        out.append(row)
    return out


def run(claims: Sequence[Claim], main: Tables, specs: Sequence[Spec], *,
        train_tables: Callable[[Protocol], Tables] | None = None, main_size: str = "", train_size: str = "",
        remeasure_fn: Remeasure | None = None, n_boot: int = N_BOOT, progress: bool = False,
        plan_name: str = "custom") -> Multiverse:
    """Evaluates every claim in every specification. main: (runs, points) of the main study
    under the default protocol, measured with the default Measure; train_tables(protocol):
    the training study's tables under that protocol (trained on demand), needed for any
    specification that changes a training choice, and for the reference."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    if not specs:
        raise HarnessError("the multiverse has no specifications")
    by_protocol: dict[Protocol, list[Spec]] = {}
    for s in specs:
        by_protocol.setdefault(s.protocol, []).append(s)
    if any(p != _P for p in by_protocol) and train_tables is None:
        raise HarnessError("specifications that change a training choice need a training study")
    rows: list[dict] = []
    bar = tqdm(total=len(specs) + (train_tables is not None and len(by_protocol) > 1), unit="spec",
               disable=not progress, desc="multiverse")
    try:
        for protocol, group in by_protocol.items():
            base = main if protocol == _P else train_tables(protocol)
            block, size = ("analysis", main_size) if protocol == _P else ("training", train_size)
            source = Remeasured(*base, protocol, remeasure_fn)
            source.prepare([s.measure for s in group])
            done: dict[tuple, Verdict] = {}  # a claim's verdict depends only on the settings it reads
            for s in group:
                under = _claims_under(claims, s.rule)
                tables = None
                raw = []
                for c in under:
                    key = (c.id, c.rule, _inputs(c, s.measure))
                    if key not in done:
                        tables = tables or source.tables(s.measure)
                        done[key] = evaluate(c, *tables, n_boot=n_boot)
                    raw.append(done[key])
                rows += _rows(s, block, size, decide_all(under, raw), claims)
                bar.update(1)
        if train_tables is not None and len(by_protocol) > 1:
            runs, points = train_tables(_P)
            raw = [evaluate(c, runs, points, n_boot=n_boot) for c in claims]
            rows += _rows(DEFAULT, "reference", train_size, decide_all(claims, raw), claims)
            bar.update(1)
    finally:
        bar.close()
    outcomes = pd.DataFrame(rows)
    return Multiverse(plan=plan_name, specs=tuple(specs), outcomes=outcomes, robustness=tuple(summarise(outcomes, claims)),
                      main_size=main_size, train_size=train_size, seconds=time.perf_counter() - t0)


def summarise(outcomes: pd.DataFrame, claims: Sequence[Claim]) -> list[Robustness]:
    """Per claim: specifications tested, held, agreeing with the default; shares per choice value."""
    out = []
    for c in claims:
        o = outcomes[outcomes["id"] == c.id]
        counted = o[o["block"] != "reference"]
        default = counted[(counted[list(CHOICES)] == pd.Series(DEFAULT.as_dict())).all(axis=1)]
        dv = default["verdict"].iloc[0] if len(default) else ""
        ref = o[o["block"] == "reference"]
        tested = counted[counted["testable"]]
        by_choice, flips = {}, []
        d_pos = dv in POSITIVE
        for ch, values in CHOICES.items():
            others = [k for k in CHOICES if k != ch]
            alone = tested[(tested[others] == pd.Series(DEFAULT.as_dict())[others]).all(axis=1)]
            for val in values:
                sub = tested[tested[ch] == val]
                if len(sub) == 0:
                    continue
                by_choice[f"{ch}={_value_text(val)}"] = (int(sub["holds"].sum()), len(sub))
                one = alone[alone[ch] == val]
                if val != getattr(DEFAULT, ch) and len(one) and bool(one["holds"].iloc[0]) != d_pos:
                    flips.append(f"{CHOICE_LABEL[ch]} {_value_text(val)}")
        out.append(Robustness(
            id=c.id, group=c.group, default_verdict=dv, n_specs=len(tested), n_holds=int(tested["holds"].sum()),
            n_agree=int((tested["verdict"] == dv).sum()), n_untestable=int((~counted["testable"]).sum()),
            reference_verdict=ref["verdict"].iloc[0] if len(ref) else None, by_choice=by_choice, flips=tuple(flips)))
    return out


