"""Store and export round trips, and the CLI's one-line errors."""
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from harness.config import Protocol
from harness.runs.export import export
from harness.runs.store import Store
from harness.runs.study import EnsureStats, Study, ensure
from harness.schema import run_table
from harness.train.measure import Arch, measure
from harness.train.task import Polytope, TaskData


@pytest.fixture
def small(short):
    return Study.of(("lp", "linear"), polytopes=2, seeds=3, protocol=short)


def test_store_round_trip_trains_only_what_is_missing(tmp_path, small, short):
    st = EnsureStats()
    runs, points = ensure(small, Store(tmp_path), stats=st)
    assert st.trained == 12 and len(runs) == 12 and len(points) == 12 * 500
    st2 = EnsureStats()
    runs2, points2 = ensure(small, Store(tmp_path), stats=st2)
    assert st2.trained == 0
    pd.testing.assert_frame_equal(run_table(runs), run_table(runs2))
    pd.testing.assert_frame_equal(points.reset_index(drop=True), points2.reset_index(drop=True))
    bigger = Study.of(("lp", "linear"), polytopes=2, seeds=4, protocol=short)
    st3 = EnsureStats()
    ensure(bigger, Store(tmp_path), stats=st3)
    assert st3.trained == 4


def test_run_table_has_the_issue_columns(tmp_path, small):
    runs, _ = ensure(small, Store(tmp_path))
    need = ["model", "arch", "p", "reg", "lam", "polytope", "seed", "accuracy", "collapsed", "n_interior",
            "flat_count", "flat_frac", "grad_interior", "grad_boundary", "grad_exterior", "active_inside",
            "active_outside", "center_active_n", "center_active_absw", "center_inactive_absw", "min_absw",
            "n_absw_lt_001", "n_absw_lt_01", "n_negative_w", "flipped_flat_count", "flipped_accuracy"]
    assert not set(need) - set(run_table(runs).columns)
    lin = runs[runs.arch == "linear"]
    assert lin["flipped_accuracy"].notna().all() and runs[runs.arch == "lp"]["p"].eq(1.0).all()


def test_export_round_trip_remeasures_without_our_engine(tmp_path, small, short):
    runs, _ = ensure(small, Store(tmp_path / "store"))
    export(runs, small, tmp_path / "out")
    csv = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert len(csv) == 12
    for row in csv.itertuples():
        m = np.load(tmp_path / "out" / "models" / f"{row.model}__p{row.polytope}__s{row.seed}.npz")
        g = np.load(tmp_path / "out" / "polytopes" / f"{row.polytope}.npz")
        assert m["W1"].shape == (32, 2) and m["w"].shape == (32,)
        task = TaskData(row.polytope, Polytope(g["normals"], g["radii"]), g["x_test"], g["y_test"])
        prm = {k: np.asarray(m[k])[None] for k in ("W1", "b1", "w", "b", "c", "e")}
        p = float(m["p"])
        cols, _ = measure(prm, Arch(row.arch, p), [task], short)
        assert cols["flat_count"][0] == row.flat_count
        assert cols["accuracy"][0] == pytest.approx(row.accuracy)
        # and by hand: the logit from the exported arrays alone
        h = np.maximum(g["x_test"] @ m["W1"].T + m["b1"], 0)
        if row.arch == "linear":
            s = h @ m["w"] + m["b"]
            logit = m["c"] * np.maximum(s, 0) + m["e"]
            assert np.mean((logit > 0) == (g["y_test"] > 0.5)) == pytest.approx(row.accuracy)


@pytest.mark.parametrize("args,needle", [
    (["run", "--seeds", "5-2"], "reversed"),
    (["run", "--models", "nope"], "unknown model"),
    (["run", "--polytopes", "x"], "not a count or range"),
    (["run", "--seeds", ""], "empty"),
    (["run", "--threads", "0"], "threads"),
    (["export"], "--out"),
    (["bench", "--sizes", "a"], "--sizes"),
])
def test_cli_errors_are_one_line_with_exit_code_2(args, needle, tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness", *args, *(["--cache", str(tmp_path)] if args[0] == "run" else [])],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in r.stderr


def test_protocol_is_default(small):
    assert Protocol().epochs == 200 and Protocol().hidden == 32 and Protocol().n_faces == 6
