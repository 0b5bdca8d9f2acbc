"""The data flow in one place: study -> run tables -> verdicts -> robustness -> page.
Each stage is usable alone; this module wires them for the CLI, the pytest plugin and
notebooks."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from harness.analysis.design import Costs, StudyDesign
from harness.analysis.discovery import models_needed
from harness.analysis.multiverse import Multiverse, Tables, plan, run
from harness.analysis.seedzero import seed_zero
from harness.analysis.sequential import Design, History, Round, State
from harness.analysis.verdicts import N_BOOT, Claim, Verdict
from harness.config import DEFAULT_BUDGET, ROUND_POLYTOPES, ROUND_SEEDS, Protocol
from harness.errors import HarnessError
from harness.render.design import design_section
from harness.render.sections import multiverse_section, seed0_section
from harness.runs.study import remeasure


def study_tables(claims: Sequence[Claim], polytopes: Sequence[int], seeds: Sequence[int], store, device: str = "cpu",
                 progress: bool = False, executor=None) -> Callable[[Protocol], Tables]:
    """train_tables for `run`: the claims' models on these polytopes and seeds under a
    protocol, from the store, training what it lacks."""
    from harness.config import get_variant
    from harness.runs.study import Study, ensure

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
               remeasure_fn=remeasure, n_boot=n_boot, progress=progress, plan_name=plan_name)


def seed0_run() -> dict[str, dict]:
    """The write-up's own run (reference.reproduce(0)), with each model's per-point gradient
    norms by region added as ["grad_norms"][region], for the seed-0 dip test."""
    from harness.config import VARIANTS
    from harness.schema import REGIONS
    from harness.train.measure import Arch, measure
    from harness.train.reference import reproduce
    from harness.train.task import experiment_task

    reproduced = reproduce(0)
    protocol = Protocol()
    task, _, _, _ = experiment_task(0, protocol)
    for model, row in reproduced.items():
        if "params" not in row:
            continue
        v = VARIANTS[model]
        params = {k: np.asarray(a)[None] for k, a in row["params"].items()}
        _, pts = measure(params, Arch(v.arch, v.p), [task], protocol)
        row["grad_norms"] = {r: pts["grad_norm"][0][pts["region"][0] == i] for i, r in enumerate(REGIONS)}
    return reproduced


def report_sections(claims: Sequence[Claim], runs: pd.DataFrame, points: pd.DataFrame, verdicts: Sequence[Verdict],
                    *, plan_name: str = "analysis", main_size: str = "", store=None, device: str = "cpu",
                    train_polytopes: Sequence[int] = range(10), train_seeds: Sequence[int] = range(10),
                    progress: bool = False, executor=None, reproduce_seed0: bool = True) -> list:
    """The report's three sections: the multiverse (plan `plan_name`), the study design (the
    polytopes and seeds that decide each write-up claim, with the report's study as the pilot),
    and whether seed 0 was typical. runs/points/verdicts: the report's study and its verdicts."""
    mv = multiverse(claims, (runs, points), plan_name, store=store, train_polytopes=train_polytopes,
                    train_seeds=train_seeds, main_size=main_size, device=device, progress=progress,
                    executor=executor)
    t1 = time.perf_counter()
    family = [c for c in claims if c.group == "write-up"] or list(claims)
    plan_ = design_of(family, verdicts, runs, points, store) if store is not None else None
    t2 = time.perf_counter()
    reproduced = seed0_run() if reproduce_seed0 else None
    t3 = time.perf_counter()
    out = [multiverse_section(mv, claims), design_section(plan_, t2 - t1) if plan_ is not None else None,
           seed0_section(seed_zero(claims, verdicts, reproduced), verdicts, t3 - t2)]
    return [s for s in out if s is not None]


# -- the public API (harness/__init__.py re-exports these) -------------------------------------------
def study(seeds: int | Sequence[int] | None = None, polytopes: int | Sequence[int] | None = None,
          models: Sequence[str] | None = None, protocol: Protocol | None = None, claims_dir: str | None = None):
    """A study: models x polytopes x seeds under a protocol (default PROTOCOL.md). `seeds` and
    `polytopes` are a count (the first N) or explicit ids; models default to what the claims need."""
    from harness.analysis.discovery import load_claims
    from harness.config import DEFAULT_POLYTOPES, DEFAULT_SEEDS
    from harness.runs.study import Study

    models = list(models) if models is not None else models_needed(load_claims(claims_dir))
    return Study.of(models, polytopes=DEFAULT_POLYTOPES if polytopes is None else polytopes,
                    seeds=DEFAULT_SEEDS if seeds is None else seeds, protocol=protocol)


def tables(study, cache: str | None = None, train: bool = True, device: str = "cpu",
           progress: bool = False) -> Tables:
    """(runs, points) of a study from the store at `cache` (default .cache/mesa-harness or
    $MESA_HARNESS_CACHE), training what it lacks unless train=False."""
    from harness.runs.store import Store
    from harness.runs.study import ensure, ensure_stored

    store = Store(cache)
    return ensure(study, store, device=device, progress=progress) if train else ensure_stored(study, store)


def verdicts(runs: pd.DataFrame, points: pd.DataFrame | None = None, claims: Sequence[Claim] | None = None,
             claims_dir: str | None = None) -> list[Verdict]:
    """Every claim's verdict on a run table (Holm within each family; `requires` applied).
    claims default to the package's claims/ folder; those whose models the table lacks are left out."""
    from harness.analysis.discovery import load_claims
    from harness.analysis.verdicts import evaluate_all

    claims = list(claims) if claims is not None else load_claims(claims_dir)
    have = set(runs["model"].unique())
    claims = [c for c in claims if set(c.models) <= have and (points is not None or not c.statistic.needs_points)]
    return evaluate_all(claims, runs, points)


def report(study, runs: pd.DataFrame, points: pd.DataFrame, verdicts: Sequence[Verdict], out: str = "reports/latest",
           claims: Sequence[Claim] | None = None, claims_dir: str | None = None, cache: str | None = None):
    """Writes out/index.html and out/runs.csv for a study's tables and verdicts; returns the page's path.
    `cache`: the store the tables came from (as given to `tables`), named in the page's provenance.
    The robustness sections (multiverse, study design, seed 0) are the CLI's `report --multiverse`."""
    from pathlib import Path

    from harness.analysis.discovery import load_claims
    from harness.render.report import write_report
    from harness.runs.provenance import provenance
    from harness.runs.store import Store
    from harness.runs.study import EnsureStats

    by_id = {c.id: c for c in (claims if claims is not None else load_claims(claims_dir))}
    used = [by_id[v.id] for v in verdicts]
    prov = provenance(study, Store(cache), "cpu", EnsureStats(), 0.0)
    return write_report(Path(out), study, runs, points, used, list(verdicts), prov)


# -- the design of a study, and the sequential study ------------------------------------------------
def run_costs(store, models: Sequence, protocol: Protocol | None = None) -> Costs:
    """What a polytope (drawing its task) and a run cost here, in seconds. A run's cost comes from
    the store's chunk dates when one session saved several chunks back to back (the gaps
    between them, per run); else from training one small chunk now (not stored)."""
    from harness.config import RunSpec
    from harness.train.task import study_task

    protocol = protocol or Protocol()
    scratch = 2**62  # polytope ids no study uses: the timing trains nothing anyone reads
    t0 = time.perf_counter()
    for p in range(20):
        study_task(scratch + p, protocol)
    polytope_s = (time.perf_counter() - t0) / 20
    per_run = _stored_run_seconds(store)
    if per_run is not None:
        return Costs(polytope_s, per_run[0], f"the store's chunk dates ({per_run[1]} back-to-back chunks)")
    from harness.runs.study import train_chunk

    specs = [RunSpec(v, scratch, s, protocol) for v in models for s in range(2)]
    train_chunk(specs[:1])  # loads the compiled kernel
    t0 = time.perf_counter()
    train_chunk(specs)
    return Costs(polytope_s, (time.perf_counter() - t0) / len(specs), f"{len(specs)} runs timed now")


def _stored_run_seconds(store, gap_s: float = 120.0) -> tuple[float, int] | None:
    """Median seconds per run over consecutive chunks saved within `gap_s` of each other (one
    training session), when at least 5 such pairs exist; None otherwise."""
    chunks = store.provenance()
    dates = pd.to_datetime(chunks["date"], errors="coerce", utc=True, format="ISO8601") if len(chunks) else pd.Series(dtype=float)
    timed = chunks.assign(when=dates).dropna(subset=["when"]).sort_values("when")
    gaps = timed["when"].diff().dt.total_seconds().to_numpy()
    per = gaps[1:] / timed["runs"].to_numpy(float)[1:]
    per = per[(gaps[1:] > 0) & (gaps[1:] <= gap_s)]
    return (float(np.median(per)), len(per)) if len(per) >= 5 else None


def design_study(claims: Sequence[Claim], study, store) -> StudyDesign:
    """`python -m harness design`: the pilot `study` from the store (never trained), each claim's
    variance components and allocation (analysis/design.py), at this machine's costs."""
    from harness.analysis.verdicts import evaluate_all
    from harness.runs.study import ensure_stored

    runs, points = ensure_stored(study, store)
    verdicts = evaluate_all(list(claims), runs, points)
    return design_of(claims, verdicts, runs, points, store, study.protocol)


def design_of(claims: Sequence[Claim], verdicts: Sequence[Verdict], runs: pd.DataFrame, points: pd.DataFrame,
              store, protocol: Protocol | None = None) -> StudyDesign:
    """The design with these tables as the pilot (their claims' verdicts already evaluated):
    each claim's units, the pilot's cells (polytopes x seeds), its models and this machine's costs."""
    from harness.analysis.design import design
    from harness.config import get_variant

    by_id = {v.id: v for v in verdicts}
    claims = [c for c in claims if c.id in by_id]
    units = {}
    for c in claims:
        if c.statistic.per_run:
            st = c.statistic
            units[c.id] = st.units(runs, points, c.rule).finite(st.inputs).table
    n_seeds, n_polytopes = runs["seed"].nunique(), runs["polytope"].nunique()
    models = [get_variant(m) for m in models_needed(list(claims))]  # what a study of these claims trains
    costs = run_costs(store, models, protocol or Protocol())
    pilot = f"{n_seeds} seeds x {n_polytopes} polytopes"
    return design(claims, [by_id[c.id] for c in claims], units, n_seeds * n_polytopes, costs, len(models), pilot)


def until_decided(claims: Sequence[Claim], models: Sequence, store, *, seeds: int = ROUND_SEEDS,
                  round_polytopes: int = ROUND_POLYTOPES, budget: int = DEFAULT_BUDGET,
                  protocol: Protocol | None = None, device: str = "cpu", progress: bool = False, executor=None,
                  log: Callable[[str], None] | None = None) -> tuple[History, object, Tables, list[Verdict]]:
    """The sequential study (analysis/sequential.py): rounds of `round_polytopes` new polytopes
    (0, 1, ... in order) at `seeds` seeds each, as many as `budget` runs allow (the declared
    maximum number of looks); after each round the write-up's claims (every claim when none is
    the write-up's) are judged with repeated p-values and intervals, and the study stops when all
    are decided. Rounds come from the store: a rerun, a resumed run or a larger budget trains only
    the polytopes the store lacks, and the looks are recomputed as they were (the round plan and
    the evaluation are deterministic). Returns the history, the final study, its tables and
    every claim's verdict at the last look."""
    from harness.analysis.verdicts import evaluate
    from harness.runs.study import EnsureStats, Study, ensure

    per_round = len(models) * seeds * round_polytopes
    looks = budget // per_round
    state = State(Design(looks))
    family = [c for c in claims if c.group == "write-up"] or list(claims)
    others = [c for c in claims if c not in family]
    history = History(state.design, round_polytopes, seeds, budget, tuple(c.id for c in family))
    say = log or (lambda _: None)
    for look in range(1, looks + 1):
        t0 = time.perf_counter()
        study = Study(tuple(models), tuple(range(look * round_polytopes)), tuple(range(seeds)),
                      protocol or Protocol())
        stats = EnsureStats()
        runs, points = ensure(study, store, device=device, progress=progress, stats=stats, executor=executor)
        verdicts = state.step(family, [evaluate(c, runs, points) for c in family], look)
        last = look == looks or all(c.id in state.locked for c in family)
        if last and others:
            extra = state.step(others, [evaluate(c, runs, points) for c in others], look)
            by_id = {v.id: v for v in verdicts + extra}
            verdicts = [by_id[c.id] for c in claims]
        history.rounds.append(Round(look, len(study.polytopes), seeds, len(runs), stats.trained,
                                    time.perf_counter() - t0, tuple(verdicts)))
        say(f"round {look}/{looks}: {len(study.polytopes)} polytopes x {seeds} seeds, trained {stats.trained} runs, "
            f"{history.rounds[-1].decided(history.family)} of {len(family)} claims decided "
            f"({history.rounds[-1].seconds:.0f} s)")
        if last:
            history.stopped = ("every claim decided" if all(c.id in state.locked for c in family)
                               else f"the budget of {budget:,} runs spent")
            return history, study, (runs, points), verdicts
    raise HarnessError("the sequential study has no round")  # looks >= 1 (Design checks it)
