"""Throughput (models/s) of one study, trained end to end into a cold store, by the local
executor and by a Dask LocalCluster (worker processes on loopback) of 1 and 2 workers.

    python benchmarks/dask_throughput.py [--seeds 10 --polytopes 10 --chunk-size 25 --repeat 2]

Every executor is warmed up first (each process compiles or loads the numba kernels once),
so the table compares steady-state training, the best of --repeat studies; the start-up
column says what the warm-up cost. Other load on the machine shows in the load averages
printed at the end: compare rows of one run only.
Numba threads per worker follow DaskExecutor's rule (cores // Dask threads on the host),
and the last row oversubscribes on purpose (every worker uses every core) to show why."""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from distributed import LocalCluster

from harness.config import Protocol, RunSpec, get_variant
from harness.runs.executors import DaskExecutor, LocalExecutor
from harness.runs.store import Store
from harness.runs.study import Study, ensure, train_chunk

WARM_UP = [RunSpec(get_variant(m), 0, 10_000, Protocol(epochs=1)) for m in ("lp", "linear")]


def _study_seconds(study: Study, chunk_size: int, executor, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            ensure(study, Store(tmp), chunk_size=chunk_size, executor=executor)
            best = min(best, time.perf_counter() - t0)
    return best


def _local(study: Study, chunk_size: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    train_chunk(WARM_UP)
    start = time.perf_counter() - t0
    return {"start_s": start, "s": _study_seconds(study, chunk_size, LocalExecutor(), repeat)}


def _dask(study: Study, chunk_size: int, workers: int, numba_threads: int | None, repeat: int) -> dict:
    t0 = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            DaskExecutor(cluster.scheduler_address, numba_threads=numba_threads) as ex:
        addresses = list(ex.client.scheduler_info()["workers"])
        ex.client.gather([ex.client.submit(train_chunk, WARM_UP, workers=[a], pure=False) for a in addresses])
        start = time.perf_counter() - t0
        return {"start_s": start, "s": _study_seconds(study, chunk_size, ex, repeat)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--polytopes", type=int, default=10)
    ap.add_argument("--chunk-size", type=int, default=25)
    ap.add_argument("--repeat", type=int, default=2, help="studies per executor; the best counts")
    args = ap.parse_args()
    study = Study.of(("lp", "linear"), polytopes=args.polytopes, seeds=args.seeds)
    n = len(study.specs())
    cores = len(os.sched_getaffinity(0))
    print(f"{study.describe()}, faithful protocol (200 epochs), chunks of {args.chunk_size}; {cores} cores")
    rows = [("local (this process)", "-", cores, _local(study, args.chunk_size, args.repeat))]
    for workers, threads in ((1, None), (2, None), (2, cores)):
        shown = threads or max(1, cores // workers)
        rows.append(("Dask LocalCluster", workers, shown, _dask(study, args.chunk_size, workers, threads, args.repeat)))
    print(f"\n{'executor':22s} {'workers':>7s} {'numba thr/worker':>16s} {'start-up s':>10s} {'study s':>8s} "
          f"{'models/s':>9s}")
    for name, workers, threads, r in rows:
        print(f"{name:22s} {workers!s:>7s} {threads:>16d} {r['start_s']:>10.1f} {r['s']:>8.1f} {n / r['s']:>9.1f}")
    print("load averages (1, 5, 15 min) at the end: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
