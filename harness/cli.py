"""`python -m harness`: run, export, reproduce, bench, claims, report. User mistakes end
in one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.cli_args import check_device, validate
from harness.cli_parser import build_parser
from harness.errors import HarnessError


def _set_threads(n: int | None) -> None:
    import numba
    import torch

    numba.set_num_threads(n or os.cpu_count() or 1)
    torch.set_num_threads(1)  # the reference engine's tiny tensors gain nothing from more


# Each command receives args checked and parsed by harness/cli_args.py (args.study, args.out,
# args.cache, args.claim_list, ...): nothing below runs until every argument is known good.
def cmd_run(args) -> int:
    from harness.render.format import fmt
    from harness.runs.executors import make_executor
    from harness.runs.store import Store
    from harness.runs.study import EnsureStats, ensure, summary

    _set_threads(args.threads)
    stats = EnsureStats()
    with make_executor(args.scheduler) as executor:
        device = check_device(args.device, executor, args.scheduler)
        store = Store(args.cache)
        print(f"study {args.study.key}: {args.study.describe()}; store {store.root}", file=sys.stderr)
        runs, _ = ensure(args.study, store, device=device, progress=not args.no_progress, stats=stats,
                         chunk_size=args.chunk_size, executor=executor)
    print(f"trained {stats.trained}, found {stats.found} in the store, {stats.seconds:.1f} s")
    with _pd_opts():
        print(summary(runs).to_string(float_format=lambda v: fmt(v, decimals=3)))
    return 0


def _pd_opts():
    import pandas as pd

    return pd.option_context("display.width", 160, "display.max_columns", 40)


def cmd_export(args) -> int:
    from harness.runs.export import export
    from harness.runs.store import Store
    from harness.runs.study import ensure

    _set_threads(args.threads)
    _writable(args.out)
    runs, points = ensure(args.study, Store(args.cache), device=args.device, progress=True)
    n = export(runs, args.study, args.out, points)
    print(f"wrote {args.out / 'runs.csv'} ({len(runs)} runs), {n} model files and {len(args.study.polytopes)} "
          f"polytope files")
    return 0


def cmd_reproduce(args) -> int:
    import torch

    from harness.jsonable import dumps
    from harness.render.format import fmt
    from harness.train.reference import reproduce
    from harness.writeup import DECIMALS, WRITEUP_SEED0

    torch.set_num_threads(1)
    res = reproduce(args.seed)
    if args.json:
        print(dumps({m: {k: v for k, v in r.items() if k != "params"} for m, r in res.items()}))
        return 0
    cols = [c for c in res["lp"] if c not in ("params",)]
    print(f"the experiment's own seeding, seed {args.seed} (write-up: seed 0)")
    print(f"{'quantity':22s} {'lp':>10s} {'write-up':>10s}   {'linear':>10s} {'write-up':>10s}")
    for c in cols:
        cells = []
        for m in ("lp", "linear"):
            v = res[m][c]
            w = WRITEUP_SEED0[m].get(c) if args.seed == 0 else None
            cells += ["" if x is None else fmt(x, 6, DECIMALS.get(c)) for x in (v, w)]
        print(f"{c:22s} {cells[0]:>10s} {cells[1]:>10s}   {cells[2]:>10s} {cells[3]:>10s}")
    return 0


def cmd_bench(args) -> int:
    from harness.runs.bench import bench

    _set_threads(args.threads)
    bench(args.sizes, args.study, args.reference_models, args.device)
    return 0


def cmd_claims(args) -> int:
    from harness.analysis.verdicts import evaluate_all
    from harness.jsonable import dumps
    from harness.render.text import verdict_row

    if args.until_decided:
        _set_threads(args.threads)
        from harness.runs.store import Store

        *_, verdicts = _until_decided(args, args.claim_list, Store(args.cache), args.device, None)
        verdicts = [v for v in verdicts if v.id in {c.id for c in args.wanted}]
    elif args.tables is None:  # no --runs: the study, from the store
        from harness.runs.store import Store
        from harness.runs.study import ensure_stored

        args.tables = ensure_stored(args.study, Store(args.cache))
    if not args.until_decided:
        runs, points = args.tables
        wanted = {c.id for c in args.wanted}  # the whole family is evaluated (Holm, requires)
        verdicts = [v for v in evaluate_all(args.claim_list, runs, points, rule=args.rule) if v.id in wanted]
    if args.json:
        print(dumps([v.as_dict() for v in verdicts]))
        return 0
    for v in verdicts:
        print(verdict_row(v))
    return 0


def cmd_report(args) -> int:
    import time

    from harness.analysis.verdicts import evaluate_all
    from harness.render.report import write_report
    from harness.runs.executors import make_executor
    from harness.runs.provenance import provenance
    from harness.runs.store import Store
    from harness.runs.study import EnsureStats, ensure

    t0 = time.perf_counter()
    claims, study = args.claim_list, args.study
    _set_threads(args.threads)
    stats = EnsureStats()
    with make_executor(args.scheduler) as executor:
        device = check_device(args.device, executor, args.scheduler)
        _writable(args.out)
        store = Store(args.cache)
        sections = []
        if args.until_decided:
            history, study, (runs, points), verdicts = _until_decided(args, claims, store, device, executor)
            stats.trained = sum(r.trained for r in history.rounds)
            stats.found = len(runs) - stats.trained
            sections = [_sequential_section(history, claims, args.out)]
        else:
            runs, points = ensure(study, store, device=device, progress=not args.no_progress, stats=stats,
                                  executor=executor)
            verdicts = evaluate_all(claims, runs, points)
        sections += _robustness_sections(args, claims, study, runs, points, verdicts, store, device, executor)
    prov = provenance(study, store, device, stats, time.perf_counter() - t0)
    path = write_report(args.out, study, runs, points, claims, verdicts, prov, sections=sections)
    print(f"wrote {path} ({len(verdicts)} claims, {len(runs)} runs; trained {stats.trained}, "
          f"{time.perf_counter() - t0:.0f} s)")
    return 0


def _until_decided(args, claims, store, device: str, executor):
    """The sequential study of report/claims --until-decided (pipeline.until_decided), its rounds
    said on stderr."""
    from harness.pipeline import until_decided

    history, study, tables, verdicts = until_decided(
        claims, args.study.models, store, seeds=args.round_seeds, round_polytopes=args.round_polytopes,
        budget=args.budget, device=device, progress=not getattr(args, "no_progress", False), executor=executor,
        log=lambda line: print(f"mesa-harness: {line}", file=sys.stderr))
    family = set(history.family)
    n_decided = history.rounds[-1].decided(history.family)
    print(f"mesa-harness: stopped after round {history.rounds[-1].look} of {history.design.looks} "
          f"({history.stopped}): {n_decided} of {len(family)} claims decided, {len(tables[0])} runs",
          file=sys.stderr)
    return history, study, tables, verdicts


def _sequential_section(history, claims, out: Path):
    """The report's round-by-round section; the rounds are also saved as out/rounds.json."""
    from harness.jsonable import dumps
    from harness.render.sequential import sequential_section

    (out / "rounds.json").write_text(dumps(history.as_dict()) + "\n")
    return sequential_section(history, claims)


def cmd_design(args) -> int:
    from harness.jsonable import dumps
    from harness.pipeline import design_study
    from harness.render.design import design_text
    from harness.runs.store import Store

    _set_threads(args.threads)
    d = design_study(args.wanted, args.study, Store(args.cache))
    print(dumps(d.as_dict()) if args.json else design_text(d))
    return 0


def _robustness_sections(args, claims, study, runs, points, verdicts, store, device, executor) -> list:
    """The report's multiverse, study-design and seed-0 sections (report --multiverse)."""
    if args.multiverse == "none":
        return []
    from harness.pipeline import report_sections

    return report_sections(claims, runs, points, verdicts, plan_name=args.multiverse, main_size=_size(study),
                           store=store, device=device, progress=not args.no_progress, executor=executor)


def _size(study) -> str:
    return f"{len(study.seeds)} seeds x {len(study.polytopes)} polytopes"


def cmd_multiverse(args) -> int:
    from harness.analysis.power import power_curves
    from harness.analysis.verdicts import evaluate_all
    from harness.jsonable import dumps
    from harness.pipeline import multiverse
    from harness.render.text import as_json, table_text
    from harness.runs.executors import make_executor
    from harness.runs.store import Store
    from harness.runs.study import ensure

    claims, study = args.claim_list, args.study
    _set_threads(args.threads)
    plan = "full" if args.full else "analysis" if args.analysis_only else "default"
    with make_executor(args.scheduler) as executor:
        device = check_device(args.device, executor, args.scheduler)
        store = Store(args.cache)
        runs, points = ensure(study, store, device=device, progress=not args.no_progress, executor=executor)
        mv = multiverse(claims, (runs, points), plan, store=store, train_polytopes=args.train_polytopes,
                        train_seeds=args.train_seeds, main_size=_size(study),
                        device=device, progress=not args.no_progress, executor=executor)
    curves = power_curves(claims, evaluate_all(claims, runs, points), runs, points, seed_grid=args.grid,
                          reps=args.reps)
    if args.json:
        print(dumps(as_json(mv, curves)))
    else:
        print(table_text(mv, curves))
    return 0


def _writable(out: Path) -> None:
    """Creates --out (checked by cli_args, but a folder can still refuse: /proc, a full disk)."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise HarnessError(f"cannot write to {out}: {exc.strerror}; choose a writable folder with --out")


COMMANDS = {"run": cmd_run, "export": cmd_export, "reproduce": cmd_reproduce, "bench": cmd_bench,
            "claims": cmd_claims, "report": cmd_report, "multiverse": cmd_multiverse, "design": cmd_design}


def main(argv: list[str] | None = None) -> int:
    try:
        args = validate(build_parser().parse_args(argv))
        return COMMANDS[args.cmd](args)
    except HarnessError as exc:
        print(f"mesa-harness: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mesa-harness: interrupted; finished chunks are saved in the store and will not be recomputed",
              file=sys.stderr)
        return 130
