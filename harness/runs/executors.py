"""Who runs the chunks of a study. The caller writes each result to the store as it comes
back, so a chunk is either saved whole or not at all, whichever executor ran it.

- LocalExecutor: this process, one chunk at a time.
- DaskExecutor: a Dask distributed cluster the user already runs (`--scheduler
  tcp://HOST:PORT`). Workers must run in this project's environment (they import
  `harness`); a chunk whose worker dies is run again elsewhere, a chunk that raises is
  retried twice, and results come back as they finish, in any order."""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator

from harness.errors import HarnessError

SCHEDULER_ENV = "MESA_HARNESS_SCHEDULER"
CONNECT_TIMEOUT_S = 5.0


class LocalExecutor:
    """This process, one chunk at a time; the batched engine spreads each chunk over every
    core (numba threads), so more local processes would only compete for them."""

    def map(self, fn: Callable, chunks: Iterable, **kwargs) -> Iterator:
        for chunk in chunks:
            yield fn(chunk, **kwargs)

    def has_cuda(self) -> bool:
        import torch

        return torch.cuda.is_available()

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor:
    """Chunks as tasks of a Dask distributed cluster at `address` (tcp://HOST:PORT).

    Each task sets its worker's numba threads to (cores of its host) // (Dask threads on
    that host), unless `numba_threads` says otherwise: a worker per core with one thread
    each, or one worker per host with one thread, both fill the cores without
    oversubscribing them (benchmarks/dask_throughput.py measures the choice)."""

    def __init__(self, address: str, timeout: float | None = None, numba_threads: int | None = None):
        try:
            from distributed import Client
        except ImportError:
            raise HarnessError("--scheduler needs Dask distributed: pip install 'dask[distributed]'") from None
        if not re.fullmatch(r"((tcp|tls)://)?(\[[0-9a-fA-F:]+\]|[^\s:/\[\]]+):\d+", address):
            raise HarnessError(f"--scheduler {address!r} is not a scheduler address; write it like tcp://HOST:PORT")
        self.address = address
        timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
        self.numba_threads = numba_threads
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError):
            raise HarnessError(f"cannot reach a Dask scheduler at {address} within {timeout:g} s; start one "
                               f"(dask scheduler) or fix --scheduler / ${SCHEDULER_ENV}") from None
        self._check_workers()

    def _check_workers(self) -> None:
        """Workers present now must import this harness at this engine version, or their
        numbers would be stored under keys that promise ours."""
        from harness.config import ENGINE_VERSION

        try:
            versions = self.client.run(_engine_version)
        except Exception as exc:
            self.close()
            raise HarnessError(f"workers of the Dask cluster at {self.address} cannot run the harness "
                               f"({type(exc).__name__}); start them in this project's environment") from exc
        wrong = sorted(a for a, v in versions.items() if v != ENGINE_VERSION)
        if wrong:
            self.close()
            raise HarnessError(f"{len(wrong)} Dask worker(s) at {self.address} run another harness engine version "
                               f"(here {ENGINE_VERSION}); start them in this project's environment")

    def map(self, fn: Callable, chunks: Iterable, **kwargs) -> Iterator:
        from distributed import as_completed
        from distributed.comm import get_address_host
        from distributed.scheduler import KilledWorker

        host_threads: dict[str, int] = {}
        for address, n in self.client.nthreads().items():
            host = get_address_host(address)
            host_threads[host] = host_threads.get(host, 0) + n
        futures = [self.client.submit(_run_chunk, fn, chunk, host_threads, self.numba_threads,
                                      pure=False, retries=2, **kwargs) for chunk in chunks]
        pending = set(futures)
        del futures
        try:
            for fut in as_completed(pending, loop=self.client.loop):
                pending.discard(fut)
                try:
                    result = fut.result()
                except KilledWorker:
                    raise HarnessError("a chunk of the study killed several Dask workers in turn (out of memory?); "
                                       "lower --chunk-size, or give the workers more memory") from None
                fut.release()
                yield result
        finally:
            if pending:
                self.client.cancel(list(pending))

    def has_cuda(self) -> bool:
        """Whether every worker present sees a CUDA device."""
        found = self.client.run(_cuda_available)
        return bool(found) and all(found.values())

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def make_executor(scheduler: str | None) -> LocalExecutor | DaskExecutor:
    """The executor for the CLI's --scheduler (or $MESA_HARNESS_SCHEDULER): none means local."""
    return DaskExecutor(scheduler) if scheduler else LocalExecutor()


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_chunk(fn: Callable, chunk, host_threads: dict[str, int], numba_threads: int | None, **kwargs):
    """On a worker: share the host's cores among its Dask threads, then run the chunk."""
    import numba
    from distributed import get_worker
    from distributed.comm import get_address_host

    if numba_threads is None:
        worker = get_worker()
        busy = host_threads.get(get_address_host(worker.address), worker.state.nthreads)
        numba_threads = max(1, _cores() // busy)
    numba.set_num_threads(min(numba_threads, numba.config.NUMBA_NUM_THREADS))
    return fn(chunk, **kwargs)


def _engine_version() -> str:
    from harness.config import ENGINE_VERSION

    return ENGINE_VERSION


def _cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()
