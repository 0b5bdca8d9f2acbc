"""Nothing lost, nothing wrong (issue 7): interruption, concurrency, bad files, numerical
faults, determinism. The bad-input table lives in tests/test_bad_input.py."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from harness.config import Protocol
from harness.runs.store import Store
from harness.runs.study import EnsureStats, Study, ensure, summary
from harness.schema import run_table

HARNESS = [sys.executable, "-m", "harness"]


def _stored_rows(root: Path) -> pd.Series:
    """Run rows per key over every runs file in the store, duplicates not merged."""
    files = sorted((root / "runs").glob("*.parquet"))
    if not files:
        return pd.Series(dtype=int)
    keys = pd.concat([pq.read_table(f, columns=["key"]).to_pandas() for f in files])["key"]
    return keys.value_counts()


def test_sigkill_midway_resumes_without_recomputing_finished_runs(tmp_path):
    args = [*HARNESS, "run", "--models", "lp,linear", "--polytopes", "4", "--seeds", "40", "--chunk-size", "16",
            "--cache", str(tmp_path), "--no-progress"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "runs").glob("*.parquet"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = int(_stored_rows(tmp_path).sum())
    assert 0 < done_before < 320, "the kill must land mid-study"
    st = EnsureStats()
    runs, _ = ensure(Study.of(("lp", "linear"), polytopes=4, seeds=40), Store(tmp_path), stats=st)
    assert st.trained == 320 - done_before  # nothing finished is trained again
    assert len(runs) == 320 and (_stored_rows(tmp_path) == 1).all()
    assert not list((tmp_path / "tmp").glob("*")), "partial files are cleaned, never read"


def test_four_processes_on_a_cold_store_train_each_run_once(tmp_path):
    args = [*HARNESS, "run", "--models", "lp,linear", "--polytopes", "3", "--seeds", "8", "--chunk-size", "8",
            "--no-progress"]
    procs = [subprocess.Popen([*args, "--cache", str(tmp_path / "shared")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(4)]
    assert all(p.wait(timeout=300) == 0 for p in procs)
    counts = _stored_rows(tmp_path / "shared")
    assert len(counts) == 48 and (counts == 1).all()  # every run trained exactly once
    serial = Study.of(("lp", "linear"), polytopes=3, seeds=8)
    a, _ = ensure(serial, Store(tmp_path / "shared"))
    b, _ = ensure(serial, Store(tmp_path / "serial"), chunk_size=48)
    pd.testing.assert_frame_equal(run_table(a), run_table(b), check_exact=True)


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "delete_points"])
def test_damaged_store_file_is_reported_in_one_line_and_recomputed(tmp_path, short, damage, capfd):
    study = Study.of(("lp", "linear"), polytopes=2, seeds=4, protocol=short)
    ensure(study, Store(tmp_path), chunk_size=4)
    capfd.readouterr()
    victim = sorted((tmp_path / "runs").glob("*.parquet"))[0]
    if damage == "truncate":
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "flip_byte":
        data = bytearray(victim.read_bytes())
        data[len(data) // 3] ^= 0xFF
        victim.write_bytes(bytes(data))
    else:
        pts = pq.read_table(victim, columns=["_points"]).to_pandas()["_points"].iloc[0]
        (tmp_path / "points" / pts).unlink()
    st = EnsureStats()
    runs, points = ensure(study, Store(tmp_path), stats=st, chunk_size=4)
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "ignoring store file" in err[0] and "recomputed" in err[0]
    assert st.trained == 4 and len(runs) == 16 and len(points) == 16 * 500


def test_unfinished_temporary_files_are_never_read(tmp_path, short):
    study = Study.of(("lp",), polytopes=1, seeds=2, protocol=short)
    (tmp_path / "tmp").mkdir(parents=True)
    (tmp_path / "tmp" / "abc.tmp").write_bytes(b"PAR1 half a file")
    st = EnsureStats()
    ensure(study, Store(tmp_path), stats=st)
    assert st.trained == 2 and not list((tmp_path / "tmp").glob("*.tmp"))


def test_numerical_faults_are_recorded_counted_and_never_flat(tmp_path):
    """An absurd learning rate blows training up: the runs are kept with status
    'nonfinite', counted in the summary, never counted as flat or collapsed, and the
    claims leave them out under every inclusion rule."""
    from harness.claims import Claim, PairedDiff, evaluate

    study = Study.of(("lp", "linear"), polytopes=2, seeds=3, protocol=Protocol(lr=1e38, epochs=2))
    runs, points = ensure(study, Store(tmp_path))
    bad = runs[runs["status"] == "nonfinite"]
    assert len(bad) >= 10
    assert bad["flat_count"].isna().all() and bad["flat_frac"].isna().all() and not bad["collapsed"].any()
    assert points.loc[points["key"].isin(bad["key"]), "grad_norm"].isna().all()
    assert summary(runs)["nonfinite"].sum() == len(bad)
    claim = Claim("x", "x", PairedDiff("flat_frac", "lp", "linear"))
    for rule in ("all", "exclude_collapsed"):
        v = evaluate(claim, runs, points, rule=rule)
        assert v.n_runs + v.n_excluded == 6 and v.n_runs <= 6 - len(bad) // 2


def test_same_study_in_two_fresh_processes_gives_byte_identical_run_tables(tmp_path):
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        subprocess.run([*HARNESS, "export", "--models", "lp,linear,lp2", "--polytopes", "2", "--seeds", "3",
                        "--cache", str(tmp_path / f"store{i}"), "--out", str(out)], check=True, capture_output=True)
        outs.append((out / "runs.csv").read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 1000
