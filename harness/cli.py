"""`python -m harness`: run, export, reproduce, bench, claims, report. User mistakes end
in one line on stderr and exit code 2, never a traceback."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from harness.cli_args import ascii_int, check_device, validate
from harness.config import DEFAULT_POLYTOPES, DEFAULT_SEEDS
from harness.errors import HarnessError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit code 2
        raise HarnessError(f"{message} (see {self.prog} --help)")


def _add_selection(p: argparse.ArgumentParser, seeds: str = f"0-{DEFAULT_SEEDS - 1}",
                   polytopes: str = f"0-{DEFAULT_POLYTOPES - 1}") -> None:
    p.add_argument("--seeds", default=seeds,
                   help=f"seeds: a count N (0..N-1), a range a-b, or a list 0,3,7-9 (default {seeds})")
    p.add_argument("--polytopes", default=polytopes,
                   help=f"polytopes, written like --seeds (default {polytopes})")
    p.add_argument("--models", default=None,
                   help="comma-separated model variants (default: every registered variant: "
                        "lp, linear, lp2, linear+l1(...), linear+nonneg_soft(...), linear+nonneg_hard)")
    p.add_argument("--cache", default=None,
                   help="store folder (default: $MESA_HARNESS_CACHE, else .cache/mesa-harness)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="where to train (default cpu)")
    p.add_argument("--threads", type=ascii_int, default=None, help="CPU threads for training (default: all cores)")


def _add_scheduler(p: argparse.ArgumentParser) -> None:
    from harness.runs.executors import SCHEDULER_ENV

    p.add_argument("--scheduler", default=os.environ.get(SCHEDULER_ENV) or None,
                   help=f"train on the Dask distributed cluster at tcp://HOST:PORT (its workers in this project's "
                        f"environment; default: ${SCHEDULER_ENV}, else this machine)")


def _add_claims_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--claims-dir", default=None,
                   help="load claims from this folder instead of the package's own claims/ (default: "
                        "$MESA_HARNESS_CLAIMS if set); the folder is named on stderr")


def _add_until_decided(p: argparse.ArgumentParser) -> None:
    from harness.analysis.sequential import DEFAULT_BUDGET, ROUND_POLYTOPES, ROUND_SEEDS

    p.add_argument("--until-decided", action="store_true",
                   help=f"grow the study in rounds of new polytopes until every write-up claim is decided or the "
                        f"budget is spent (a group-sequential design: repeated p-values and intervals keep the error "
                        f"rates of one look); --seeds N is then the seeds per polytope (default {ROUND_SEEDS}), "
                        f"--polytopes N the new polytopes per round (default {ROUND_POLYTOPES}), and --models "
                        f"defaults to the write-up's models; trains what the store lacks")
    p.add_argument("--budget", type=ascii_int, default=None,
                   help=f"with --until-decided: the most runs the study may have (default {DEFAULT_BUDGET:,}); it "
                        f"fixes the number of rounds, declared before the first look")
    p.set_defaults(seeds=None, polytopes=None)  # cli_args tells a given --seeds from the default


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m harness",
                 description="mesa-harness: check the write-up's claims across many seeds and polytopes.")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="train and measure what the store lacks; print a summary")
    _add_selection(p)
    _add_scheduler(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--chunk-size", type=ascii_int, default=None,
                   help="runs per saved chunk (default 64 on a CPU, 2048 on a GPU)")

    p = sub.add_parser("export", help="write runs.csv, models/*.npz and polytopes/*.npz")
    _add_selection(p)
    p.add_argument("--out", required=True, help="output folder")

    p = sub.add_parser("reproduce", help="the write-up's run with the experiment's own seeding")
    p.add_argument("--seed", type=ascii_int, default=0, help="the experiment's seed (default 0, the write-up's)")
    p.add_argument("--json", action="store_true", help='print {"lp": {...}, "linear": {...}}')

    p = sub.add_parser("bench", help="batched engine vs reference engine: per-model time, ratio, memory")
    p.add_argument("--sizes", default="8,32,128", help="batch sizes to time (default 8,32,128)")
    p.add_argument("--reference-models", type=ascii_int, default=2, help="models timed on the reference engine")
    size = f"{DEFAULT_SEEDS}x{DEFAULT_POLYTOPES}"
    p.add_argument("--study", default=size, help=f"end-to-end study SEEDSxPOLYTOPES of lp,linear (default {size})")
    p.add_argument("--threads", type=ascii_int, default=None, help="CPU threads for the batched engine (default: all)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device for the batched engine")
    p = sub.add_parser("claims", help="evaluate every claim on a run table, without training")
    p.add_argument("--runs", default=None,
                   help="an exported runs.csv (or .parquet); per-point data are read from points.parquet beside it. "
                        "Default: the study below, from the store (never trains)")
    _add_selection(p)
    p.add_argument("--claims", default=None, help="comma-separated claim ids (default: all)")
    _add_claims_dir(p)
    p.add_argument("--rule", default=None, choices=["exclude_collapsed", "all"],
                   help="override every claim's inclusion rule")
    p.add_argument("--json", action="store_true", help="print a JSON list of verdicts")
    _add_until_decided(p)

    p = sub.add_parser("report", help="train what the store lacks, evaluate every claim, write the HTML report")
    _add_selection(p, seeds=str(DEFAULT_SEEDS), polytopes=str(DEFAULT_POLYTOPES))
    _add_claims_dir(p)
    _add_scheduler(p)
    p.add_argument("--out", default="reports/latest", help="output folder (default reports/latest)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--multiverse", default="analysis", choices=["none", "analysis", "default", "full"],
                   help="the robustness sections (see `multiverse --help`): 'analysis' (default, about a minute) "
                        "crosses the analysis choices on the report's runs; 'default' adds the training choices one "
                        "at a time (trains about 6,000 small runs once); 'full' crosses all seven; 'none' leaves "
                        "the multiverse, seeds-needed and seed-0 sections out (the default with --until-decided: "
                        "they are made for many seeds per polytope)")
    _add_until_decided(p)
    p.set_defaults(multiverse=None)  # cli_args: 'analysis', or 'none' with --until-decided

    p = sub.add_parser("multiverse", help="how robust each verdict is: the multiverse of choices, seeds needed",
                       description=MULTIVERSE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_selection(p, seeds=str(DEFAULT_SEEDS), polytopes=str(DEFAULT_POLYTOPES))
    _add_scheduler(p)
    p.add_argument("--train-seeds", default="10",
                   help="seeds of the training study, on which specifications that change a training choice "
                        "train (written like --seeds; default 10)")
    p.add_argument("--train-polytopes", default="10", help="polytopes of the training study (default 10)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--full", action="store_true",
                   help="cross all seven choices: 972 specifications, 26 protocols trained on the training study "
                        "(about 26,000 runs the first time; tens of minutes here)")
    g.add_argument("--analysis-only", action="store_true",
                   help="only the 36 analysis specifications on the stored runs (no training)")
    p.add_argument("--claims", default=None, help="comma-separated claim ids (default: all)")
    _add_claims_dir(p)
    p.add_argument("--reps", type=ascii_int, default=200,
                   help="resampled studies per point of a power curve (default 200; Monte Carlo error about 0.03)")
    p.add_argument("--power-seeds", default="3,5,10,20,30,50",
                   help="seeds per polytope at which power is estimated (default 3,5,10,20,30,50)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list, one object per claim: share, n_holds, n_specs, agree_share, flips, "
                        "by_choice, seeds_needed, seeds_answer, power (the curve) and every specification's verdict")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")

    p = sub.add_parser("design", help="the polytopes and seeds each claim needs to be decided, from a pilot study",
                       description=DESIGN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_selection(p, seeds=str(DEFAULT_SEEDS), polytopes=str(DEFAULT_POLYTOPES))
    p.add_argument("--claims", default=None, help="comma-separated claim ids (default: the write-up's claims)")
    _add_claims_dir(p)
    p.add_argument("--json", action="store_true", help="print the design as one JSON object")
    return ap


DESIGN_HELP = """\
How large must a study be to decide each claim, and where should its runs go? Reads a pilot
study from the store (--seeds x --polytopes; never trains it) and prints, per claim: the
between- and within-polytope standard deviations of its units (on its test scale), the seeds
per polytope of Cochran's two-stage rule n* = sqrt(c1 s_w^2 / (c2 q s_b^2)) (c1 the cost of a
polytope, c2 of a seed on a polytope, q the share of usable runs; at least 2), the polytopes
needed at that many seeds for 80% power to reach a decided verdict (any word but not
supported, not shown equivalent or magnitude undecided), and that study's runs and time on this
machine; then one allocation for the whole family and what each step of it buys. The truth is
taken to be the pilot's estimate; see README "Designs" for the formulas.

examples:
  python -m harness design
  python -m harness design --seeds 30 --polytopes 10 --json
"""


MULTIVERSE_HELP = """\
How robust is each verdict? Every claim is evaluated in many specifications (choices of
analysis and training), and the power to confirm its verdict is estimated for other numbers
of seeds. Prints, per claim: the default verdict, the share of specifications in which the
claim holds, the share with the same verdict as the default, the choices that change it, and
the seeds per polytope needed for 80% power.

choices (the default of each is the faithful protocol's, PROTOCOL.md):
  flat threshold   0.5, 1.0*, 2.0     analysis: stored runs re-measured, no training
  boundary band    0.1, 0.2*, 0.3     analysis
  centre           interior mean*, Chebyshev centre            analysis
  inclusion        declared* (each claim's own rule: mesa claims leave collapsed runs out,
                   collapse claims count all), all (every finite run, for every claim)
  faces            4, 6*, 8           training: new runs, cached in the store
  hidden width     16, 32*, 64        training
  epochs           100, 200*, 400     training

plans:
  default          the 36 analysis specifications on the main study (--seeds x --polytopes,
                   from the store), plus each training choice changed alone (6 more), trained
                   on the training study (--train-seeds x --train-polytopes: 6,000 runs the
                   first time, a few minutes on 2 cores; cached after)
  --analysis-only  the 36 analysis specifications only (about half a minute, no training)
  --full           all 972 combinations (26 protocols trained; tens of minutes)
Training specifications use the smaller training study; the default specification on it is
shown beside them ("default at ...") and not counted, so that a verdict lost to fewer seeds
is not read as lost to the choice.

holds: a claim holds in a specification when its verdict there is positive (supported or
equivalent), evaluated as `claims` evaluates it (same tests and bootstrap, Holm within the
claim's group in that specification). share = specifications where it holds / where it could
be tested.

seeds needed: the smallest n (of --power-seeds) at which at least 80% of --reps resampled
studies (the main study's polytopes drawn with replacement, n seeds drawn with replacement
in each) confirm the verdict: the same verdict word; for "not supported", significance on the
side of the observed estimate; for "not shown equivalent", equivalence if the estimate is
inside the margin, else contradiction; for "magnitude undecided", the word where the estimate
lies (supported inside the band, else smaller or larger than claimed). "> 50" when the grid
does not reach 80%; "not reachable by seeds alone: add polytopes (about N at S seeds)" when
even infinitely many seeds would not, because power comes from the number of polytopes.

examples:
  python -m harness multiverse
  python -m harness multiverse --analysis-only --json > multiverse.json
  python -m harness multiverse --claims flat-10x,grad-interior-lower --reps 1000
"""


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
    """The report's multiverse, seeds-needed and seed-0 sections (report --multiverse)."""
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
