"""`python -m harness bench`: per-model wall time of the batched engine at several batch
sizes against the reference engine on the same protocol, the end-to-end time of a study,
and peak memory. Measure on an otherwise idle machine; ratios are taken within one run."""
from __future__ import annotations

import resource
import tempfile
import time

import numpy as np
import torch

from harness.config import VARIANTS, Protocol, RunSpec
from harness.runs.store import Store
from harness.runs.study import Study, ensure, measure_runs, tasks_for
from harness.train.engine import make_batch, train_batch
from harness.train.reference import train_study_run
from harness.train.seeding import epoch_perms


def _specs(n: int, offset: int = 0) -> list[RunSpec]:
    return [RunSpec(VARIANTS["lp" if i % 2 == 0 else "linear"], (offset + i) % 10, 1000 + offset + i)
            for i in range(n)]


def bench(sizes: list[int], study: tuple[int, int] = (30, 10), reference_models: int = 2,
          device: str = "cpu") -> dict:
    """Times `reference_models` on the reference engine, one batch of each size on the
    batched engine, and a `study` (seeds, polytopes) of lp and linear into a cold store.
    The arguments are checked by the CLI (harness/cli_args.py) before anything runs."""
    pr = Protocol()
    n_seeds, n_polys = study
    out: dict = {"threads_batched": __import__("numba").get_num_threads(), "threads_reference": torch.get_num_threads()}
    print(f"batched engine threads: {out['threads_batched']}; reference engine torch threads: "
          f"{out['threads_reference']}; device {device}")

    specs = _specs(reference_models)
    batch = make_batch(specs)
    t0 = time.perf_counter()
    for i, s in enumerate(specs):
        train_study_run(s.variant, {k: v[i].astype(np.float32) for k, v in batch.params.items()},
                        batch.x[i].astype(np.float32), batch.y[i].astype(np.float32), epoch_perms(s.polytope, s.seed, pr), pr)
    ref = (time.perf_counter() - t0) / len(specs)
    out["reference_s_per_model"] = ref
    print(f"reference engine (torch, float32): {1000 * ref:8.1f} ms per model ({len(specs)} models)")

    train_batch(make_batch(_specs(2, 500)), device=device)  # compile / warm up
    out["batched"] = {}
    for n in sizes:
        specs = _specs(n, 2000 + n)
        tasks = tasks_for(range(10), pr)
        t0 = time.perf_counter()
        b = make_batch(specs, tasks)
        params = train_batch(b, device=device)
        measure_runs(specs, params, tasks)
        per = (time.perf_counter() - t0) / n
        out["batched"][n] = per
        print(f"batched engine, batch {n:4d}: {1000 * per:8.1f} ms per model (train + measure)  "
              f"= {ref / per:6.0f}x faster than the reference")

    e2e_study = Study.of(("lp", "linear"), polytopes=n_polys, seeds=n_seeds)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ensure(e2e_study, Store(tmp), device=device)
        e2e = time.perf_counter() - t0
    out["study_s"] = e2e
    n_models = len(e2e_study.specs())
    print(f"end to end, {n_models} models ({n_seeds} seeds x {n_polys} polytopes x lp,linear) into a cold store: "
          f"{e2e:.1f} s ({1000 * e2e / n_models:.1f} ms per model)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_mb"] = peak
    print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    return out
