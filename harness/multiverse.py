"""The multiverse: every claim's verdict under every reasonable choice of analysis and
training (a specification curve), and how often it holds.

A specification is one value for each of seven choices. Four are analysis choices, made on
runs already trained: the flat threshold, the boundary band, the centre (Measure settings,
stored runs re-measured by `study.remeasure`) and the collapse inclusion rule
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

import numpy as np
import pandas as pd

from .claims import N_BOOT, POSITIVE, Claim, DipShare, Verdict, decide_all, evaluate
from .config import Measure, Protocol
from .errors import HarnessError
from .power import holm_rows
from .study import remeasure

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
                 remeasure_fn: Remeasure = remeasure, base: Measure = _M):
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


_COLUMN_FIELDS = ("column", "after", "before", "num_col", "den_col", "y", "x")


def _inputs(claim: Claim, m: Measure) -> tuple:
    """The Measure settings a claim's statistic reads (its columns among MEASURE_COLUMNS; a
    dip test outside the interior reads the band). A statistic of unknown shape reads all."""
    st = claim.statistic
    if isinstance(st, DipShare):
        return (("band", m.band),) if st.region != "interior" else ()
    cols = {getattr(st, a) for a in _COLUMN_FIELDS if isinstance(getattr(st, a, None), str)}
    if not cols:
        return tuple((s, getattr(m, s)) for s in MEASURE_COLUMNS)
    return tuple((s, getattr(m, s)) for s, owned in MEASURE_COLUMNS.items() if cols & set(owned))


def decide_family(claims: Sequence[Claim], raw: Sequence[Verdict]) -> list[Verdict]:
    """What `evaluate_all` does after evaluating each claim (claims.decide_all), with the
    vectorised Holm of power.holm_rows."""
    adj = np.full(len(raw), np.nan)
    for g in dict.fromkeys(c.group for c in claims):
        idx = [i for i, c in enumerate(claims) if c.group == g]
        adj[idx] = holm_rows(np.array([[raw[i].p_value for i in idx]]))[0]
    return decide_all(list(claims), list(raw), adj)


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
        out["share"] = None if math.isnan(self.share) else self.share
        out["agree_share"] = None if math.isnan(self.agree_share) else self.agree_share
        return out


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
        remeasure_fn: Remeasure = remeasure, n_boot: int = N_BOOT, progress: bool = False,
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
                rows += _rows(s, block, size, decide_family(under, raw), claims)
                bar.update(1)
        if train_tables is not None and len(by_protocol) > 1:
            runs, points = train_tables(_P)
            raw = [evaluate(c, runs, points, n_boot=n_boot) for c in claims]
            rows += _rows(DEFAULT, "reference", train_size, decide_family(claims, raw), claims)
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


def study_tables(claims: Sequence[Claim], polytopes: Sequence[int], seeds: Sequence[int], store, device: str = "cpu",
                 progress: bool = False, executor=None) -> Callable[[Protocol], Tables]:
    """train_tables for `run`: the claims' models on these polytopes and seeds under a
    protocol, from the store, training what it lacks."""
    from .claims import models_needed
    from .config import get_variant
    from .study import Study, ensure

    models = tuple(get_variant(m) for m in models_needed(list(claims)))

    def tables(protocol: Protocol) -> Tables:
        return ensure(Study(models, tuple(polytopes), tuple(seeds), protocol), store, device=device,
                      progress=progress, executor=executor)

    return tables


def multiverse(claims: Sequence[Claim], main: Tables, plan_name: str = "default", *, store=None,
               train_polytopes: Sequence[int] = range(10), train_seeds: Sequence[int] = range(10),
               main_size: str = "", device: str = "cpu", n_boot: int = N_BOOT, progress: bool = False,
               executor=None) -> Multiverse:
    """`run` with a named plan and the training study from the store."""
    specs = plan(plan_name)
    train = None
    train_size = f"{len(train_seeds)} seeds x {len(train_polytopes)} polytopes"
    if any(s.trains for s in specs):
        train = study_tables(claims, train_polytopes, train_seeds, store, device, progress, executor)
    return run(claims, main, specs, train_tables=train, main_size=main_size, train_size=train_size if train else "",
               n_boot=n_boot, progress=progress, plan_name=plan_name)


# -- text -----------------------------------------------------------------------------------------------
def table_text(mv: Multiverse, power: Sequence | None = None) -> str:
    """The terminal table: per claim, the default verdict, where it holds, and seeds needed."""
    need = {p.id: p.display for p in power} if power else {}
    n_specs = len(mv.specs)
    head = (f"{'claim':28s} {'default verdict':20s} {'holds in':>14s} {'same verdict':>12s}  "
            f"{'seeds needed' if need else ''}")
    lines = [f"multiverse ({mv.plan}): {n_specs} specifications; main study {mv.main_size}"
             + (f", training choices on {mv.train_size}" if mv.train_size else "") + f"; {mv.seconds:.0f} s", head]
    for r in mv.robustness:
        holds = f"{r.n_holds}/{r.n_specs} {100 * r.share:3.0f}%" if r.n_specs else "untestable"
        agree = f"{100 * r.agree_share:3.0f}%" if r.n_specs else ""
        line = f"{r.id:28s} {r.default_verdict:20s} {holds:>14s} {agree:>12s}  {need.get(r.id, '')}"
        lines.append(line.rstrip())
        if r.flips:
            lines.append(f"{'':28s}   changes under: {', '.join(r.flips)}")
        if r.reference_verdict is not None and r.reference_verdict != r.default_verdict:
            lines.append(f"{'':28s}   default specification on the training study: {r.reference_verdict}")
    return "\n".join(lines)


def as_json(mv: Multiverse, power: Sequence | None = None, seed0: Sequence | None = None) -> list[dict]:
    """One object per claim: the robustness summary, its specifications, power and seed 0."""
    pw = {p.id: p.as_dict() for p in power or ()}
    s0 = {s.id: s.as_dict() for s in seed0 or ()}
    out = []
    for r in mv.robustness:
        o = mv.of(r.id)
        specs = [{k: _plain(v) for k, v in row.items() if k not in ("id", "group")}
                 for row in o.drop(columns=["label"]).to_dict("records")]
        out.append({**r.as_dict(), "seeds_needed": pw.get(r.id, {}).get("seeds_needed"),
                    "seeds_answer": pw.get(r.id, {}).get("answer"), "power": pw.get(r.id), "seed0": s0.get(r.id),
                    "specifications": specs})
    return out


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- the report's sections ---------------------------------------------------------------------------
# The verdict colours of the report's badges (templates/report.css).
VERDICT_COLORS = {"supported": "#1a7f37", "equivalent": "#0f766e", "direction only": "#9a6700",
                  "not supported": "#6e7781", "not shown equivalent": "#57606a", "contradicted": "#c0362c"}


def _choice_columns(mv: Multiverse) -> list[tuple[str, object]]:
    """(choice, value) pairs that some counted specification uses, in CHOICES order; a choice
    that keeps one value in every specification is left out."""
    counted = mv.outcomes[mv.outcomes["block"] != "reference"]
    return [(ch, v) for ch, vals in CHOICES.items() if counted[ch].nunique() > 1 for v in vals
            if (counted[ch] == v).any()]


def summary_figure(mv: Multiverse) -> str:
    """Heatmap: per claim (rows), the share of specifications in which it holds, overall and
    among the specifications that use each choice value (columns)."""
    from . import figures as figs

    cols = _choice_columns(mv)
    rob = list(mv.robustness)
    mat = np.full((len(rob), len(cols) + 1), np.nan)
    for i, r in enumerate(rob):
        mat[i, 0] = r.share
        for j, (ch, v) in enumerate(cols, start=1):
            h, n = r.by_choice.get(f"{ch}={_value_text(v)}", (0, 0))
            mat[i, j] = h / n if n else np.nan
    labels = ["all"] + [f"{CHOICE_LABEL[ch]} {_value_text(v)}" + (" *" if v == getattr(DEFAULT, ch) else "")
                        for ch, v in cols]
    with figs.style():
        fig, axes = figs.new_figure(figs.WIDTH, 0.16 * len(rob) + 1.6)
        ax = axes[0, 0]
        im = ax.imshow(mat, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if np.isfinite(mat[i, j]):
                    ax.text(j, i, f"{100 * mat[i, j]:.0f}", ha="center", va="center", fontsize=5.2,
                            color="white" if abs(mat[i, j] - 0.5) > 0.35 else "#222")
        ax.xaxis.set_ticks_position("top")
        ax.set_xticks(range(len(labels)), labels, rotation=55, ha="left", rotation_mode="anchor", fontsize=6.3)
        ax.set_yticks(range(len(rob)), [f"{r.id} ({r.default_verdict})" for r in rob], fontsize=6.3)
        bounds = [0.5] + [j + 0.5 for j in range(1, len(cols)) if cols[j][0] != cols[j - 1][0]]
        for b in bounds:
            ax.axvline(b, color="white", lw=1.6)
        groups = [i + 0.5 for i in range(len(rob) - 1) if rob[i].group != rob[i + 1].group]
        for g in groups:
            ax.axhline(g, color="white", lw=2.2)
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.3, label="share of specifications where the claim holds", pad=0.01)
        return figs.to_svg(fig, "multiverse-summary")


def curve_figure(mv: Multiverse, claim: Claim) -> str:
    """The specification curve of one claim: estimate and 95% CI in every counted
    specification, sorted by estimate and coloured by verdict (top), and which value of each
    choice every specification used (bottom)."""
    from matplotlib.figure import Figure as MplFigure

    from . import figures as figs

    o = mv.of(claim.id)
    o = o[o["block"] != "reference"].sort_values("estimate", na_position="last").reset_index(drop=True)
    x = np.arange(len(o))
    est, lo, hi = (o[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
    rows = [(ch, v) for ch, v in _choice_columns(mv)]
    log = claim.statistic.scale in ("log", "ratio_of_means") and bool(np.all(est[np.isfinite(est)] > 0))
    with figs.style():
        fig = MplFigure(figsize=(figs.WIDTH, 2.2 + 0.105 * len(rows)), layout="constrained")
        gs = fig.add_gridspec(2, 1, height_ratios=[1.7, 0.105 * len(rows) + 0.25])
        ax = fig.add_subplot(gs[0])
        ax2 = fig.add_subplot(gs[1], sharex=ax)
        if claim.margin is not None:
            ax.axhspan(*claim.margin, color=figs.REF["claimed"], alpha=0.12, lw=0)
        else:
            ax.axhline(claim.null_value, color=figs.REF["null"], lw=0.9, ls="--")
        if claim.claimed is not None:
            ax.axhline(claim.claimed, color=figs.REF["claimed"], lw=1.0, ls="-.")
        many = len(o) > 150  # the full grid: draw the marks as an image inside the SVG
        for word, colour in VERDICT_COLORS.items():
            m = (o["verdict"] == word).to_numpy()
            if m.any():
                with np.errstate(invalid="ignore"):
                    err = np.vstack([np.clip(est[m] - lo[m], 0, None), np.clip(hi[m] - est[m], 0, None)])
                err = np.where(np.isfinite(err), err, 0.0)
                bars = ax.errorbar(x[m], est[m], yerr=err, fmt="o", ms=1.6 if many else 3.2, lw=0.5 if many else 0.9,
                                   color=colour, label=word)
                for artist in bars.lines[0:1] + bars.lines[2]:
                    artist.set_rasterized(many)
        d = np.flatnonzero((o[list(CHOICES)] == pd.Series(DEFAULT.as_dict())).all(axis=1).to_numpy())
        if d.size:
            ax.plot(x[d], est[d], marker="o", ms=9, mfc="none", mec="black", mew=1.1, ls="none",
                    label="default specification")
        if log:
            ax.set_yscale("log")
        ax.set_ylim(*_ylim(est, lo, hi, [claim.null_value, claim.claimed, *(claim.margin or ())], log))
        ax.set_ylabel("estimate, 95% CI")
        ax.legend(loc="upper left", fontsize=6.5, ncol=3)
        ax.set_title(f"{claim.id}: holds in {int(o['holds'].sum())} of {int(o['testable'].sum())} specifications",
                     loc="left")
        ax.tick_params(labelbottom=False)
        for i, (ch, v) in enumerate(rows):
            m = (o[ch] == v).to_numpy()
            ax2.scatter(x[m], np.full(m.sum(), i), s=1.5 if many else 7, marker="s", lw=0, rasterized=many,
                        color="#9aa3ab" if v == getattr(DEFAULT, ch) else "#1f2328")
        for i in range(1, len(rows)):
            if rows[i][0] != rows[i - 1][0]:
                ax2.axhline(i - 0.5, color="#d0d7de", lw=0.7)
        ax2.set_yticks(range(len(rows)), [f"{CHOICE_LABEL[ch]} {_value_text(v)}" for ch, v in rows], fontsize=5.8)
        ax2.set_ylim(len(rows) - 0.5, -0.5)
        ax2.set_xlim(-0.8, len(o) - 0.2)
        ax2.grid(False)
        ax2.set_xlabel("specifications, sorted by estimate (grey: the default value of a choice)")
        return figs.to_svg(fig, f"spec-curve-{claim.id}")


def _ylim(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, refs: list, log: bool) -> tuple[float, float]:
    """Limits that show every estimate and reference line, and intervals up to 3x the spread
    of the estimates beyond them (a few huge intervals would flatten the curve; they are cut)."""
    f = (np.log if log else np.asarray)
    pts = np.array([v for v in [*est, *refs] if v is not None and np.isfinite(v) and (not log or v > 0)], float)
    if pts.size == 0:
        return (0.1, 10.0) if log else (-1.0, 1.0)
    a, b = float(f(pts).min()), float(f(pts).max())
    span = max(b - a, 0.05 * max(abs(a), abs(b)), 1e-3)
    ends = np.array([v for v in [*lo, *hi] if np.isfinite(v) and (not log or v > 0)], float)
    if ends.size:
        a = max(min(a, float(f(ends).min())), a - 3 * span)
        b = min(max(b, float(f(ends).max())), b + 3 * span)
    pad = 0.06 * (b - a or 1.0)
    a, b = a - pad, b + pad
    return (math.exp(a), math.exp(b)) if log else (a, b)


def multiverse_section(mv: Multiverse, claims: Sequence[Claim], group: str = "write-up"):
    """The report section "How robust is each verdict?": definitions, the summary table and
    heatmap, and the specification curves of the claims in `group`."""
    from .report import Figure, Section, Table

    n_analysis = int((mv.outcomes.drop_duplicates("label")["block"] == "analysis").sum())
    n_training = len(mv.specs) - n_analysis
    blocks = [f"{n_analysis} specifications cross the analysis choices (flat threshold "
              f"{', '.join(_value_text(v) for v in CHOICES['flat_threshold'])}; boundary band "
              f"{', '.join(_value_text(v) for v in CHOICES['band'])}; centre interior mean or Chebyshev; inclusion "
              f"declared or all runs) on the report's study ({mv.main_size}), re-measuring its stored runs"]
    if n_training:
        blocks.append(f"{n_training} change training choices (faces {', '.join(map(str, CHOICES['n_faces']))}; "
                      f"hidden width {', '.join(map(str, CHOICES['hidden']))}; epochs "
                      f"{', '.join(map(str, CHOICES['epochs']))}) on a training study of {mv.train_size}"
                      + (" each alone from the default" if mv.plan == "default" else ", crossed with the analysis "
                         "choices"))
    else:
        blocks.append("training choices (faces, hidden width, epochs) are not part of this report: "
                      "`python -m harness report --multiverse default` adds them one at a time (and trains "
                      "about 6,000 small runs once), `--multiverse full` crosses all seven choices")
    intro = (
        "A verdict that flips when a reasonable analysis choice moves tells a reader little. Here every claim is "
        f"evaluated in {len(mv.specs)} specifications: " + "; ".join(blocks) + ". Each specification is "
        "evaluated exactly as the headline: the same tests and bootstrap, Holm within the claim's group in that "
        "specification.\n\n"
        "A claim holds in a specification when its verdict there is positive (supported or equivalent); its share "
        "is the number of specifications where it holds over the number where it could be tested. 'Same verdict' "
        "counts the specifications whose verdict word is the default's, so a contradicted claim that stays "
        "contradicted is stable too. 'Changes under' lists the choices that, changed alone from the default, turn "
        "the verdict from positive to not or back. Inclusion 'declared' keeps each claim's own rule (collapsed runs "
        "out for the mesa claims; claims about collapse always count every run, since excluding collapsed runs "
        "would define their answer away); 'all runs' counts every finite run for every claim.")
    if mv.train_size:
        intro += ("\n\nSpecifications with other training choices use the smaller training study; the column "
                  f"'default at {mv.train_size}' gives the default specification's verdict on that study, so that "
                  "a verdict lost to the smaller study is not read as lost to the choice.")
    columns = ["claim", "group", "default verdict", "holds in", "share", "same verdict", "changes under"]
    if mv.train_size:
        columns.append(f"default at {mv.train_size}")
    rows = []
    for r in mv.robustness:
        row = [r.id, r.group, r.default_verdict, f"{r.n_holds} / {r.n_specs}",
               f"{100 * r.share:.0f}%" if r.n_specs else "n/a",
               f"{100 * r.agree_share:.0f}%" if r.n_specs else "n/a", ", ".join(r.flips) or "none"]
        if mv.train_size:
            row.append(r.reference_verdict or "n/a")
        rows.append(row)
    table = Table(columns, rows, caption=f"Each claim across {len(mv.specs)} specifications ({mv.plan} plan).")
    figures = [Figure("multiverse-summary", summary_figure(mv),
                      "Share of specifications in which each claim holds (number in each cell, in percent): overall "
                      "(first column) and among the specifications that use each value of a choice (* marks the "
                      "default value). A column much redder than the rest of its row names the choice that breaks "
                      "the claim; rows are the claims, with their default verdict.")]
    for c in claims:
        if c.group == group and c.id in set(mv.outcomes["id"]):
            figures.append(Figure(f"spec-curve-{c.id}", curve_figure(mv, c),
                                  f"Specification curve of {c.id}: the estimate and 95% CI in every specification, "
                                  "sorted, coloured by verdict, the default specification circled; below, the value "
                                  "of each choice that specification used. Dashed: the null; dash-dot: the claimed "
                                  "value; band: the equivalence margin."))
    return Section("multiverse", "How robust is each verdict? The multiverse of choices", intro, figures=figures,
                   tables=[table])


def report_sections(claims: Sequence[Claim], runs: pd.DataFrame, points: pd.DataFrame, verdicts: Sequence[Verdict],
                    *, plan_name: str = "analysis", main_size: str = "", store=None, device: str = "cpu",
                    train_polytopes: Sequence[int] = range(10), train_seeds: Sequence[int] = range(10),
                    progress: bool = False, executor=None, reproduce_seed0: bool = True) -> list:
    """The report's three sections: the multiverse (plan `plan_name`), seeds needed, and
    whether seed 0 was typical. runs/points/verdicts: the report's study and its verdicts."""
    from . import power

    mv = multiverse(claims, (runs, points), plan_name, store=store, train_polytopes=train_polytopes,
                    train_seeds=train_seeds, main_size=main_size, device=device, progress=progress,
                    executor=executor)
    t1 = time.perf_counter()
    curves = power.power_curves(claims, verdicts, runs, points)
    t2 = time.perf_counter()
    reproduced = None
    if reproduce_seed0:
        from .reference import reproduce

        reproduced = reproduce(0)
    t3 = time.perf_counter()
    out = [multiverse_section(mv, claims), power.power_section(curves, t2 - t1),
           power.seed0_section(power.seed_zero(claims, verdicts, reproduced), verdicts, t3 - t2)]
    return [s for s in out if s is not None]
