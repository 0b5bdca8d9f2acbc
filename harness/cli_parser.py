"""The command line's grammar: every subcommand, option, default and help text of
`python -m harness` (cli.py runs them; cli_args.py checks their values before anything runs)."""
from __future__ import annotations

import argparse
import os

from harness.cli_args import ascii_int
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
    from harness.config import DEFAULT_BUDGET, ROUND_POLYTOPES, ROUND_SEEDS

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
                        "the multiverse, study-design and seed-0 sections out (the default with --until-decided: "
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


