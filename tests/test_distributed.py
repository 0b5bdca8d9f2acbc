"""A study on a Dask cluster (two worker processes on loopback) is the local study, bit for
bit; a worker killed mid-study loses and duplicates nothing; an unreachable scheduler is one
line of error."""
import functools
import os
import signal
import sys
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from distributed import LocalCluster

from harness.cli import main
from harness.config import Protocol
from harness.errors import HarnessError
from harness.runs import executors
from harness.runs.executors import DaskExecutor
from harness.runs.store import Store
from harness.runs.study import Study, ensure
from harness.schema import run_table

STUDY = Study.of(("lp", "linear"), polytopes=2, seeds=3, protocol=Protocol(epochs=5))
CHUNK = 2  # 12 runs in 6 chunks, so that both workers get several

# The workers unpickle _die_once from this module, which they cannot import by name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def local_table(tmp_path_factory) -> pd.DataFrame:
    runs, _ = ensure(STUDY, Store(tmp_path_factory.mktemp("local")), chunk_size=CHUNK)
    return run_table(runs)


def test_dask_study_equals_the_local_study_bit_for_bit(cluster, local_table, tmp_path):
    with DaskExecutor(cluster.scheduler_address) as ex:
        runs, _ = ensure(STUDY, Store(tmp_path), chunk_size=CHUNK, executor=ex)
    pd.testing.assert_frame_equal(run_table(runs), local_table, check_exact=True)


def _die_once(fn, marker: str, victim: str, chunk, **kwargs):
    """Kills this worker process (SIGKILL, no goodbye) while it holds the victim's chunk,
    the first time only."""
    if chunk[0].key == victim and not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return fn(chunk, **kwargs)


class _KillingExecutor(DaskExecutor):
    def __init__(self, address: str, marker: Path, victim: str):
        super().__init__(address)
        self.marker, self.victim = str(marker), victim

    def map(self, fn, chunks, **kwargs):
        return super().map(functools.partial(_die_once, fn, self.marker, self.victim), chunks, **kwargs)


def test_a_worker_killed_mid_study_loses_and_duplicates_no_run(cluster, local_table, tmp_path):
    marker = tmp_path / "killed"
    victim = STUDY.specs()[2 * CHUNK].key  # the third chunk
    store = Store(tmp_path / "store")
    with _KillingExecutor(cluster.scheduler_address, marker, victim) as ex:
        runs, _ = ensure(STUDY, store, chunk_size=CHUNK, executor=ex)
    assert marker.exists(), "a worker must have died holding the victim's chunk"
    # Store.runs() de-duplicates keys, so count the rows of the files themselves.
    files = sorted((store.root / "runs").glob("*.parquet"))
    per_key = pd.concat([pd.read_parquet(f, columns=["key"]) for f in files])["key"].value_counts()
    assert set(per_key.index) == {s.key for s in STUDY.specs()}
    assert (per_key == 1).all(), per_key[per_key > 1]
    assert len(files) == len(STUDY.specs()) // CHUNK
    pd.testing.assert_frame_equal(run_table(runs), local_table, check_exact=True)


def test_an_unreachable_scheduler_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT_S", 1.0)
    monkeypatch.setenv(executors.SCHEDULER_ENV, "tcp://127.0.0.1:9")  # the discard port: nobody listens
    assert main(["run", "--seeds", "1", "--polytopes", "1", "--models", "lp", "--cache", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot reach a Dask scheduler at tcp://127.0.0.1:9 within 1 s" in err
    with pytest.raises(HarnessError, match="not a scheduler address"):
        DaskExecutor("127.0.0.1")
