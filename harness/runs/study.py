"""A study: a selection of runs (models x polytopes x seeds) under one protocol. `ensure`
trains and measures only what the store lacks, chunk by chunk, each chunk saved as soon as
it is done, and returns the run table and the per-point table."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.config import DEFAULT_POLYTOPES, DEFAULT_SEEDS, ENGINE_VERSION, MAIN_MODELS, Measure, Protocol, RunSpec, Variant, get_variant
from harness.errors import HarnessError
from harness.runs.provenance import chunk_provenance
from harness.runs.store import Store
from harness.schema import POINT_COLUMNS, REGIONS, RUN_ID_COLUMNS, RUN_MEASURE_COLUMNS
from harness.train.engine import group_by_protocol, make_batch, train_batch
from harness.train.measure import Arch, measure
from harness.train.seeding import PARAM_NAMES
from harness.train.task import TaskData, study_task

PARAM_COLUMNS = [f"param_{k}" for k in PARAM_NAMES]


@dataclass(frozen=True)
class Study:
    models: tuple[Variant, ...]
    polytopes: tuple[int, ...]
    seeds: tuple[int, ...]
    protocol: Protocol = field(default_factory=Protocol)

    def __post_init__(self) -> None:
        if not self.models:
            raise HarnessError("the study has no models; name at least one with --models")
        if not self.polytopes or not self.seeds:
            raise HarnessError("the study has no polytopes or no seeds; give at least one of each")

    @classmethod
    def of(cls, models=MAIN_MODELS, polytopes: int | list[int] = DEFAULT_POLYTOPES,
           seeds: int | list[int] = DEFAULT_SEEDS, protocol: Protocol | None = None) -> Study:
        ms = tuple(get_variant(m) if isinstance(m, str) else m for m in models)
        ps = tuple(range(polytopes)) if isinstance(polytopes, int) else tuple(polytopes)
        ss = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
        return cls(ms, ps, ss, protocol or Protocol())

    def specs(self) -> list[RunSpec]:
        return [RunSpec(v, p, s, self.protocol) for v in self.models for p in self.polytopes for s in self.seeds]

    @property
    def key(self) -> str:
        keys = sorted(s.key for s in self.specs())
        return hashlib.sha256("".join(keys).encode()).hexdigest()[:16]

    def describe(self) -> str:
        return (f"{len(self.models)} models x {len(self.polytopes)} polytopes x {len(self.seeds)} seeds "
                f"= {len(self.models) * len(self.polytopes) * len(self.seeds)} runs")


def tasks_for(polytopes, protocol: Protocol) -> dict[int, TaskData]:
    return {p: study_task(p, protocol) for p in polytopes}


def _arch(v: Variant) -> Arch:
    return Arch(v.arch, v.p)


def measure_runs(specs: list[RunSpec], params: dict[str, np.ndarray], tasks: dict[int, TaskData],
                 measure_cfg: Measure = Measure()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run rows and point rows for trained runs (params stacked in the order of specs).
    Built a column at a time per architecture (a multiverse re-measures every run of the study
    twice: row by row this was as slow as the measuring itself)."""
    keys = [s.key for s in specs]
    groups: dict[Arch, list[int]] = {}
    for i, s in enumerate(specs):
        groups.setdefault(_arch(s.variant), []).append(i)
    run_parts, pt_parts = [], []
    for arch, idx in groups.items():
        sub = {k: v[idx] for k, v in params.items()}
        cols, points = measure(sub, arch, [tasks[specs[i].polytope] for i in idx], specs[idx[0]].protocol,
                               measure_cfg)
        sp = [specs[i] for i in idx]
        ids = ([keys[i] for i in idx], [s.variant.name for s in sp], [s.variant.arch for s in sp],
               np.array([s.variant.p for s in sp], dtype=float), [s.variant.reg for s in sp],
               np.array([s.variant.lam for s in sp], dtype=float), np.array([s.polytope for s in sp], dtype=np.int64),
               np.array([s.seed for s in sp], dtype=np.int64))
        frame = {"_order": np.asarray(idx), **dict(zip(RUN_ID_COLUMNS, ids, strict=True))}
        for c in RUN_MEASURE_COLUMNS:
            v = np.asarray(cols[c])
            frame[c] = v.astype(object) if v.dtype.kind == "U" else v
        for k in PARAM_NAMES:
            val = np.asarray(sub[k])
            frame[f"param_{k}"] = list(val.reshape(len(idx), -1).tolist()) if val.ndim > 1 else val.astype(float)
        run_parts.append(pd.DataFrame(frame))
        n, n_pts = points["grad_norm"].shape
        pt_parts.append(pd.DataFrame({
            "key": np.repeat(np.array(frame["key"], dtype=object), n_pts),
            "point": np.tile(np.arange(n_pts, dtype=np.int32), n), "grad_norm": points["grad_norm"].ravel(),
            "distance": points["distance"].ravel(),
            "region": pd.Categorical.from_codes(points["region"].ravel(), REGIONS)}))
    runs = pd.concat(run_parts, ignore_index=True).sort_values("_order", kind="stable")
    return runs.drop(columns="_order").reset_index(drop=True), pd.concat(pt_parts, ignore_index=True)[POINT_COLUMNS]


def params_from_rows(runs: pd.DataFrame, protocol: Protocol) -> dict[str, np.ndarray]:
    h, d = protocol.hidden, protocol.dim
    out = {}
    for k in PARAM_NAMES:
        col = runs[f"param_{k}"]
        if k == "W1":
            out[k] = np.stack([np.asarray(v, dtype=np.float64).reshape(h, d) for v in col])
        elif k in ("b1", "w"):
            out[k] = np.stack([np.asarray(v, dtype=np.float64) for v in col])
        else:
            out[k] = col.to_numpy(dtype=np.float64)
    return out


def remeasure(runs: pd.DataFrame, protocol: Protocol, measure_cfg: Measure) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same trained runs measured under other analysis settings (flat threshold, band,
    centre): no training, the stored parameters are enough."""
    from harness.config import VARIANTS, get_variant

    specs = [RunSpec(VARIANTS.get(m) or get_variant(m), int(pl), int(sd), protocol)
             for m, pl, sd in zip(runs["model"], runs["polytope"], runs["seed"])]
    params = params_from_rows(runs, protocol)
    tasks = tasks_for(sorted(set(runs["polytope"])), protocol)
    new_runs, points = measure_runs(specs, params, tasks, measure_cfg)
    keep = [c for c in runs.columns if c not in new_runs.columns]
    return new_runs.join(runs[keep].reset_index(drop=True)), points


@dataclass
class EnsureStats:
    requested: int = 0
    found: int = 0
    trained: int = 0
    seconds: float = 0.0
    chunks: int = 0


def ensure(study: Study, store: Store | None = None, chunk_size: int | None = None, device: str = "cpu",
           progress: bool = False, stats: EnsureStats | None = None, executor=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (runs, points) of the study, training only the runs the store lacks.
    Whoever holds the store's lock trains; concurrent callers wait and then read. Each
    chunk is saved the moment it is done, so an interrupted study loses at most the chunks
    in flight."""
    store = store or Store()
    stats = stats if stats is not None else EnsureStats()
    specs = study.specs()
    stats.requested = len(specs)
    t0 = time.perf_counter()
    have = store.keys()
    missing = [s for s in specs if s.key not in have]
    if missing:
        with store.lock(f"{_n_runs(len(missing))} of the study {'needs' if len(missing) == 1 else 'need'} training"):
            store.tidy()
            have = store.keys()
            missing = [s for s in specs if s.key not in have]
            if missing:
                _train_missing(missing, store, default_chunk_size(device) if chunk_size is None else chunk_size, device, progress,
                               stats, executor)
    elif store.writable and store.untidy():
        _tidy_if_free(store)
    stats.found = len(specs) - stats.trained
    runs, points = ensure_stored(study, store)
    stats.seconds = time.perf_counter() - t0
    return runs, points


def ensure_stored(study: Study, store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study's runs from the store without training; a clear error if any is missing."""
    have = store.keys()
    specs = study.specs()
    missing = [s for s in specs if s.key not in have]
    if missing:
        raise HarnessError(f"{len(missing)} of the study's {len(specs)} runs are not in the store {store.root}; "
                           f"train them with `python -m harness run` (same options) or pass --runs FILE")
    runs = store.runs().set_index("key").loc[[s.key for s in specs]].reset_index()
    # A store written before variant names were canonical may hold a run under an alias
    # (lp(p=1) for lp): the study's own name for each key is the one that counts.
    runs["model"] = [s.variant.name for s in specs]
    return runs, store.points(runs)


def default_chunk_size(device: str) -> int:
    """Runs per chunk: enough to keep every core (or the GPU) busy, small enough that an
    interruption loses little. A GPU wants thousands of models in flight."""
    return 64 if device == "cpu" else 2048


def plan_chunks(specs: list[RunSpec], chunk_size: int) -> list[list[RunSpec]]:
    """Chunks of at most chunk_size runs, one protocol each (a batch trains one protocol)."""
    if chunk_size < 1:
        raise HarnessError(f"chunk size must be at least 1 (got {chunk_size})")
    chunks = []
    for group in group_by_protocol(specs).values():
        chunks += [group[i:i + chunk_size] for i in range(0, len(group), chunk_size)]
    return chunks


def train_chunk(specs: list[RunSpec], device: str = "cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trains and measures one chunk; touches no store, so any worker can run it."""
    tasks: dict[int, TaskData] = {}
    batch = make_batch(specs, tasks)
    params = train_batch(batch, device=device)
    runs, points = measure_runs(specs, params, tasks)
    runs["engine"] = ENGINE_VERSION
    runs["device"] = device
    return runs.assign(**chunk_provenance(specs[0].protocol)), points


def _train_missing(missing: list[RunSpec], store: Store, chunk_size: int, device: str, progress: bool,
                   stats: EnsureStats, executor=None) -> None:
    from tqdm import tqdm

    from harness.runs.executors import LocalExecutor

    executor = executor or LocalExecutor()
    chunks = plan_chunks(missing, chunk_size)
    bar = tqdm(total=len(missing), unit="run", disable=not progress, desc="training")
    try:
        for runs, points in executor.map(train_chunk, chunks, device=device):
            try:
                store.write(runs, points)
            except OSError as exc:
                raise HarnessError(
                    f"cannot save chunk {stats.chunks + 1} of {len(chunks)} ({_describe(runs)}) to the store "
                    f"{store.root}: {exc.strerror or exc}; {_kept(stats.chunks)}; free some space or pass a writable "
                    f"--cache DIR, then run again") from None
            stats.trained += len(runs)
            stats.chunks += 1
            bar.update(len(runs))
    finally:
        bar.close()


def _tidy_if_free(store: Store) -> None:
    """Clears what an interrupted writer left in a complete store, unless a writer holds
    the lock now (then it is that writer's, or the next training's, to clear)."""
    lock = store.lock()
    if lock.try_acquire():
        try:
            store.tidy()
        finally:
            lock.release()


def _kept(n: int) -> str:
    return "no chunk was saved before it" if n == 0 else "the chunk saved before it is kept" if n == 1 else \
        f"the {n} chunks saved before it are kept"


def _n_runs(n: int) -> str:
    return "1 missing run" if n == 1 else f"{n} missing runs"


def _describe(runs: pd.DataFrame) -> str:
    """'3 runs: lp, linear; polytopes 0, 1; seeds 4, 7', to name a chunk."""
    def values(col: str) -> str:
        return ", ".join(str(v) for v in dict.fromkeys(runs[col]))[:80]

    return (f"{len(runs)} run{'' if len(runs) == 1 else 's'}: {values('model')}; polytopes {values('polytope')}; "
            f"seeds {values('seed')}")


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model: runs, collapsed, median accuracy, median flat fraction."""
    g = runs.groupby("model", sort=False)
    return pd.DataFrame({
        "runs": g.size(),
        "collapsed": g["collapsed"].sum().astype(int),
        "nonfinite": g["status"].apply(lambda s: int((s != "ok").sum())),
        "median_accuracy": g["accuracy"].median(),
        "median_flat_frac": g["flat_frac"].median(),
    })

