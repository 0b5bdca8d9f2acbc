"""Every argument of every command, checked before the command does anything.

A command that fails half-way leaves things behind: `multiverse --train-seeds 5-2` used to
train the whole main study before reading --train-seeds, and a bad option could leave an
empty store folder. So each command has one validation function here, which parses and
checks all of its arguments, creates no file or folder, trains nothing, and sets the parsed
values on `args` (args.study, args.claim_list, ...). Only then does the command run."""
from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from harness.errors import HarnessError

_INT = re.compile(r"-?[0-9]+")  # ASCII digits: int() and str.isdigit also take '３'
# torch.manual_seed takes seeds in [0, 2**64): the experiment seeds torch with its seed.
MAX_EXPERIMENT_SEED = 2**64 - 1


def ascii_int(text: str) -> int:
    """argparse type: an integer written with the ASCII digits 0-9 (int() alone would
    also take other scripts' digits, '1_000' and surrounding spaces)."""
    if not _INT.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer written with the digits 0-9")
    return int(text)


def validate(args: argparse.Namespace) -> argparse.Namespace:
    """Checks and parses every argument of args.cmd; returns args with the parsed values set.
    Raises HarnessError (one line) on the first mistake, before any side effect."""
    VALIDATORS[args.cmd](args)
    return args


# -- the pieces ------------------------------------------------------------------------------
def _nonempty_path(text: str | None, flag: str, what: str = "a folder") -> Path | None:
    """None stays None (the default applies); "" is refused: Path("") is the current folder."""
    if text is None:
        return None
    if not text.strip():
        raise HarnessError(f"{flag} is empty, which would mean the current folder; name {what}")
    return Path(text)


def _creatable_dir(path: Path, fail: Callable[[str], str]) -> None:
    """Refuses a folder that could not be created or written, without creating it: the path
    must be a folder or not exist, and its nearest existing ancestor a writable folder.
    `fail(reason)` words the message."""
    if path.exists() and not path.is_dir():
        raise HarnessError(fail("it is a file"))
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise HarnessError(fail(f"{probe} is a file"))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise HarnessError(fail("permission denied"))


def _cache(args: argparse.Namespace, must_exist: bool = False) -> None:
    from harness.runs.store import default_cache

    path = _nonempty_path(args.cache, "--cache") or default_cache()
    if must_exist:
        if not path.is_dir():
            raise HarnessError(f"there is no store at {path}; train the study with `python -m harness run` "
                               f"(same options), pass --cache DIR, or pass --runs FILE")
    elif not path.is_dir():  # an existing store may be read-only: it is read, and only training refused
        _creatable_dir(path, lambda why: f"cannot use cache folder {path}: {why}; pass a writable --cache DIR")
    args.cache = path


def _out(args: argparse.Namespace) -> None:
    out = _nonempty_path(args.out, "--out")
    _creatable_dir(out, lambda why: f"cannot write to {out}: {why}; choose a writable folder with --out")
    args.out = out


def _threads(args: argparse.Namespace) -> None:
    cores = os.cpu_count() or 1
    if args.threads is not None and not 1 <= args.threads <= cores:
        raise HarnessError(f"--threads must be between 1 and {cores} (got {args.threads})")


def check_device(name: str, executor=None, scheduler: str | None = None) -> str:
    """cpu, cuda or auto, checked where the training runs: here, or on every worker of the
    Dask `scheduler` that `executor` is connected to."""
    if name == "cpu":
        return name
    from harness.runs.executors import LocalExecutor

    has_cuda = (executor or LocalExecutor()).has_cuda()
    if name == "auto":
        return "cuda" if has_cuda else "cpu"
    if not has_cuda:
        where = f"on every worker of {scheduler}" if scheduler else "here"
        raise HarnessError(f"--device cuda: no CUDA device is available {where}; use --device cpu or auto")
    return name


def _local_device(args: argparse.Namespace) -> None:
    """Checks --device here now; with --scheduler the workers are asked once connected."""
    if not getattr(args, "scheduler", None):
        args.device = check_device(args.device)


def _study(args: argparse.Namespace, models=None, seeds: str | None = None, polytopes: str | None = None,
           flags: tuple[str, str] = ("seeds", "polytopes")):
    """The Study of the selection options, refused before it is built if its tables would not
    fit in this machine's memory."""
    from harness.config import parse_models, parse_range, range_size
    from harness.runs.limits import check_study_fits
    from harness.runs.study import Study

    models = parse_models(args.models) if models is None else models
    seeds = args.seeds if seeds is None else seeds
    polytopes = args.polytopes if polytopes is None else polytopes
    n_seeds, n_polys = range_size(seeds, flags[0]), range_size(polytopes, flags[1])
    check_study_fits(n_seeds, n_polys, len(models), what=f"--{flags[0]} {seeds} x --{flags[1]} {polytopes}: ")
    return Study(tuple(models), tuple(parse_range(polytopes, flags[1])), tuple(parse_range(seeds, flags[0])))


def _claims(args: argparse.Namespace) -> None:
    """args.claim_list (every claim of the folder), args.wanted (the --claims selection)."""
    from harness.analysis.discovery import claims_dir, is_default_dir, load_claims, select

    folder = claims_dir(args.claims_dir)
    args.claim_list = load_claims(folder)
    if not is_default_dir(folder):
        print(f"mesa-harness: claims loaded from {folder.resolve()}", file=sys.stderr)
    args.wanted = select(args.claim_list, getattr(args, "claims", None))  # report has no --claims


def _claims_study(args: argparse.Namespace, claims) -> None:
    """args.study: the selection; models default to what the claims need."""
    from harness.analysis.discovery import models_needed
    from harness.config import parse_models

    models = parse_models(args.models or ",".join(models_needed(claims)))
    args.study = _study(args, models)
    args.claim_list = claims_for(args.claim_list, [m.name for m in models])


def claims_for(claims: list, models) -> list:
    """The claims whose models are all in `models`; the others are named on stderr."""
    have = set(models)
    keep = [c for c in claims if set(c.models) <= have]
    skipped = [c.id for c in claims if c not in keep]
    if skipped:
        print(f"mesa-harness: skipping {len(skipped)} claims whose models are not selected: {', '.join(skipped)}",
              file=sys.stderr)
    if not keep:
        raise HarnessError("no claim can be checked with the selected models; add models with --models")
    return keep


def _counts(text: str, what: str) -> list[int]:
    """A comma-separated list of counts of at least 2, e.g. 3,5,10."""
    parts = [t.strip() for t in str(text).split(",") if t.strip()]
    if not parts or not all(re.fullmatch(r"[0-9]+", t) and int(t) >= 2 for t in parts):
        raise HarnessError(f"--{what} {text!r}: give counts of at least 2 separated by commas, e.g. 3,5,10,20")
    return sorted({int(t) for t in parts})


# -- one validation function per command -----------------------------------------------------
def validate_run(args: argparse.Namespace) -> None:
    args.study = _study(args)
    _threads(args)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise HarnessError(f"--chunk-size: chunk size must be at least 1 (got {args.chunk_size})")
    _cache(args)
    _local_device(args)


def validate_export(args: argparse.Namespace) -> None:
    args.study = _study(args)
    _threads(args)
    _out(args)
    _cache(args)
    _local_device(args)


def validate_reproduce(args: argparse.Namespace) -> None:
    if not 0 <= args.seed <= MAX_EXPERIMENT_SEED:
        raise HarnessError(f"the experiment's seed must be a non-negative integer below 2**64 (torch's seed range); "
                           f"got {args.seed}")


def validate_bench(args: argparse.Namespace) -> None:
    from harness.config import Protocol
    from harness.runs.limits import batch_model_bytes, check_fits, check_study_fits

    parts = [t.strip() for t in args.sizes.split(",")]
    m = re.fullmatch(r"([0-9]+)[xX]([0-9]+)", args.study.strip())
    if not all(re.fullmatch(r"[0-9]+", t) for t in parts) or not m:
        raise HarnessError("--sizes takes numbers like 8,32,128 and --study takes SEEDSxPOLYTOPES like 2x150")
    args.sizes = [int(t) for t in parts]
    args.study = (int(m.group(1)), int(m.group(2)))
    if min(args.sizes) < 1 or args.reference_models < 1 or min(args.study) < 1:
        raise HarnessError("--sizes, --reference-models and both numbers of --study must be at least 1")
    check_fits(f"--sizes: a batch of {max(args.sizes):,} models trained and measured at once", max(args.sizes),
               batch_model_bytes(Protocol()), "time smaller batches")
    check_fits(f"--reference-models {args.reference_models:,}: their batch", args.reference_models,
               batch_model_bytes(Protocol()), "time fewer reference models")
    check_study_fits(args.study[0], args.study[1], 2, what="--study: ")
    _threads(args)
    args.device = check_device(args.device)


def _until_decided(args: argparse.Namespace) -> None:
    """--until-decided (report, claims): --seeds and --polytopes are counts, the seeds per
    polytope and the new polytopes per round; --models defaults to the write-up's claims'
    models; the budget must hold at least one round and at most MAX_LOOKS. args.study is the
    largest study the budget allows (checked against memory); args.round_seeds,
    args.round_polytopes and args.budget are set. Without it, --budget is refused and the
    selection defaults apply."""
    from harness.analysis.discovery import models_needed
    from harness.config import (
        DEFAULT_BUDGET,
        DEFAULT_POLYTOPES,
        DEFAULT_SEEDS,
        MAX_LOOKS,
        ROUND_POLYTOPES,
        ROUND_SEEDS,
        parse_models,
    )

    if not args.until_decided:
        if args.budget is not None:
            raise HarnessError("--budget sets the runs of a sequential study; add --until-decided")
        args.seeds = str(DEFAULT_SEEDS) if args.seeds is None else args.seeds
        args.polytopes = str(DEFAULT_POLYTOPES) if args.polytopes is None else args.polytopes
        return
    args.round_seeds = _round_count(args.seeds, "seeds", ROUND_SEEDS)
    args.round_polytopes = _round_count(args.polytopes, "polytopes", ROUND_POLYTOPES)
    args.budget = DEFAULT_BUDGET if args.budget is None else args.budget
    family = [c for c in args.claim_list if c.group == "write-up"] or args.claim_list
    models = parse_models(args.models or ",".join(models_needed(family)))
    per_round = len(models) * args.round_seeds * args.round_polytopes
    looks = args.budget // per_round
    if looks < 1:
        raise HarnessError(f"--budget {args.budget:,} is less than one round ({per_round:,} runs: {len(models)} models x "
                           f"{args.round_polytopes} polytopes x {args.round_seeds} seeds); raise it")
    if looks > MAX_LOOKS:
        raise HarnessError(f"--budget {args.budget:,} makes {looks} rounds of {per_round:,} runs, more than {MAX_LOOKS}; "
                           f"take more polytopes per round (--polytopes) or a smaller budget")
    args.study = _study(args, models, seeds=str(args.round_seeds), polytopes=str(looks * args.round_polytopes))
    args.claim_list = claims_for(args.claim_list, [m.name for m in models])


def _round_count(text: str | None, what: str, default: int) -> int:
    """--seeds / --polytopes under --until-decided: one count of at least 2."""
    if text is None:
        return default
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < 2:
        raise HarnessError(f"--{what} {text!r}: with --until-decided give one count of at least 2 (the "
                           f"{'seeds per polytope' if what == 'seeds' else 'new polytopes per round'})")
    return int(text)


def validate_claims(args: argparse.Namespace) -> None:
    from harness.runs.io import read_run_table

    _claims(args)
    _until_decided(args)
    runs_path = _nonempty_path(args.runs, "--runs", "the runs.csv written by `python -m harness export`")
    args.tables = None
    if args.until_decided:
        if runs_path is not None or args.rule is not None:
            raise HarnessError("--until-decided grows the study in the store: it takes neither --runs nor --rule")
        _threads(args)
        _cache(args)
        _local_device(args)
        return
    if runs_path is None:
        _claims_study(args, args.claim_list)
        _cache(args, must_exist=True)
        return
    args.tables = runs, points = read_run_table(runs_path)
    claims = args.claim_list
    if points is None:
        skipped = [c.id for c in claims if c.statistic.needs_points]
        if skipped:
            print(f"mesa-harness: no points.parquet beside {runs_path}; skipping {', '.join(skipped)}", file=sys.stderr)
        claims = [c for c in claims if not c.statistic.needs_points]
    args.claim_list = claims_for(claims, runs["model"].unique())


def validate_report(args: argparse.Namespace) -> None:
    _claims(args)
    _until_decided(args)
    if args.multiverse is None:
        args.multiverse = "none" if args.until_decided else "analysis"
    if not args.until_decided:
        _claims_study(args, args.claim_list)
    _threads(args)
    _out(args)
    _cache(args)
    _local_device(args)


def validate_multiverse(args: argparse.Namespace) -> None:
    from harness.analysis.discovery import models_needed
    from harness.config import parse_models

    _claims(args)
    args.claim_list = args.wanted  # only the selected claims are evaluated in each specification
    _claims_study(args, args.claim_list)
    train_models = parse_models(",".join(models_needed(args.claim_list)))
    train = _study(args, train_models, seeds=args.train_seeds, polytopes=args.train_polytopes,
                   flags=("train-seeds", "train-polytopes"))
    args.train_seeds, args.train_polytopes = train.seeds, train.polytopes
    args.grid = _counts(args.power_seeds, "power-seeds")
    if args.reps < 10:
        raise HarnessError(f"--reps must be at least 10 (got {args.reps})")
    _threads(args)
    _cache(args)
    _local_device(args)


def validate_design(args: argparse.Namespace) -> None:
    """args.wanted: the --claims selection, by default the write-up's claims; args.study: the
    pilot, with the models they need unless --models names others."""
    from harness.analysis.discovery import models_needed
    from harness.config import parse_models

    _claims(args)
    chosen = args.wanted if args.claims else [c for c in args.claim_list if c.group == "write-up"] or args.claim_list
    models = parse_models(args.models or ",".join(models_needed(chosen)))
    args.study = _study(args, models)
    args.wanted = claims_for(chosen, [m.name for m in models])
    _threads(args)
    _cache(args, must_exist=True)


VALIDATORS: dict[str, Callable[[argparse.Namespace], None]] = {
    "run": validate_run, "export": validate_export, "reproduce": validate_reproduce, "bench": validate_bench,
    "claims": validate_claims, "report": validate_report, "multiverse": validate_multiverse,
    "design": validate_design,
}
