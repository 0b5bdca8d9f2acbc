"""Store and export round trips, and the CLI's one-line errors."""
import dataclasses
import json
import subprocess
import sys
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from harness.config import ENGINE_VERSION, Protocol
from harness.runs.export import export
from harness.runs.provenance import git_commit, provenance
from harness.runs.store import Store
from harness.runs.study import EnsureStats, Study, ensure
from harness.schema import run_table, to_csv_safe
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


# -- provenance stored with the runs (issue 11, point 7) ------------------------------------------
def test_each_stored_chunk_carries_its_provenance_and_runs_csv_leaves_it_out(tmp_path, short):
    study = Study.of(("lp", "linear"), polytopes=1, seeds=2, protocol=short)
    store = Store(tmp_path)
    runs, _ = ensure(study, store, chunk_size=2)
    chunks = store.provenance()
    assert len(chunks) == 2 and chunks["runs"].tolist() == [2, 2]
    row = chunks.iloc[0]
    assert json.loads(row["protocol"]) == dataclasses.asdict(short)
    versions = json.loads(row["versions"])
    assert versions["numpy"] == np.__version__ and versions["pandas"] == pd.__version__ and "python" in versions
    assert row["commit"] == git_commit()[0] and row["dirty"] == git_commit()[1]
    assert datetime.fromisoformat(row["date"]).tzinfo is not None
    assert row["engine"] == ENGINE_VERSION and row["device"] == "cpu"
    assert {"_protocol", "_versions", "_commit", "_dirty", "_date"} <= set(runs.columns)
    assert not [c for c in run_table(runs).columns if c.startswith("_")]
    export(runs, study, tmp_path / "out")
    assert "_commit" not in (tmp_path / "out" / "runs.csv").read_text()
    summary = provenance(study, store, "cpu", EnsureStats(), 0.0)["stored_runs"]
    assert summary["chunks"] == "2" and f"{git_commit()[0][:12]}" in summary["commits"] and "(4 runs)" in summary["commits"]


def test_a_chunk_stored_before_provenance_was_kept_loads_and_reads_unknown(tmp_path, short):
    study = Study.of(("lp",), polytopes=1, seeds=2, protocol=short)
    runs, points = ensure(study, Store(tmp_path / "new"))
    old = Store(tmp_path / "old")
    old.write(runs.drop(columns=[c for c in runs.columns if c.startswith("_")]), points)  # the old format
    st = EnsureStats()
    again, _ = ensure(study, Store(tmp_path / "old"), stats=st)
    assert st.trained == 0
    pd.testing.assert_frame_equal(run_table(again), run_table(runs))
    row = Store(tmp_path / "old").provenance().iloc[0]
    assert (row["protocol"], row["versions"], row["commit"], row["dirty"], row["date"]) == ("unknown",) * 5
    assert row["engine"] == ENGINE_VERSION


# -- export (issue 14, points 16 and 18) ------------------------------------------------------------
def test_exported_tables_are_byte_identical_whatever_order_the_store_was_filled_in(tmp_path, short):
    study = Study.of(("lp", "linear"), polytopes=2, seeds=3, protocol=short)
    backwards = Study.of(("linear", "lp"), polytopes=[1, 0], seeds=[2, 1, 0], protocol=short)
    out = {}
    for name, filling, chunk in (("a", study, 2), ("b", backwards, 5)):
        ensure(filling, Store(tmp_path / name), chunk_size=chunk)
        runs, points = ensure(study, Store(tmp_path / name))
        export(runs, study, tmp_path / f"out-{name}", points)
        out[name] = [(tmp_path / f"out-{name}" / f).read_bytes() for f in ("runs.csv", "points.parquet")]
    assert out["a"][0] == out["b"][0], "runs.csv differs"
    assert out["a"][1] == out["b"][1], "points.parquet differs"
    pts = pd.read_parquet(tmp_path / "out-a" / "points.parquet")
    assert pts[["key", "point"]].equals(pts[["key", "point"]].sort_values(["key", "point"]).reset_index(drop=True))


CRAFTED = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_runs_csv_never_turns_a_text_cell_into_a_formula_and_keeps_negative_numbers(tmp_path):
    df = pd.DataFrame({"model": CRAFTED, "seed": [-1, 0, 1, 2, 3], "accuracy": [-0.5, 0.5, 1, 1, 1],
                       "status": ["ok"] * 5})
    to_csv_safe(df, tmp_path / "runs.csv")
    back = pd.read_csv(tmp_path / "runs.csv", keep_default_na=False)
    assert back["model"].tolist() == ["'" + m for m in CRAFTED]
    assert back["seed"].tolist() == [-1, 0, 1, 2, 3] and back["accuracy"].iloc[0] == -0.5
    plain = pd.DataFrame({"model": ["lp", "linear+l1(0.01)"], "lam": [-0.0, 0.01]})
    to_csv_safe(plain, tmp_path / "plain.csv")
    assert (tmp_path / "plain.csv").read_text() == plain.to_csv(index=False), "ordinary tables are unchanged"


def test_export_and_the_report_write_runs_csv_safely(tmp_path, small, monkeypatch):
    import harness.render.report as report

    runs, points = ensure(small, Store(tmp_path / "store"))
    runs.loc[0, "model"] = "=1+1"
    export(runs, small, tmp_path / "out", points)
    assert ",'=1+1," in (tmp_path / "out" / "runs.csv").read_text()
    monkeypatch.setattr(report, "render", lambda *args, **kwargs: "")
    report.write_report(tmp_path / "page", small, runs, points, [], [], {})
    assert ",'=1+1," in (tmp_path / "page" / "runs.csv").read_text()


def test_run_keys_are_the_sorted_json_hash_they_always_were():
    """RunSpec.key builds its JSON from cached pieces (speed): it must equal the sha256 of
    json.dumps of the whole, sorted, as before, or every stored run would be orphaned."""
    import hashlib
    import json

    from harness.config import VARIANTS, Protocol, RunSpec, key_engine

    for v in VARIANTS.values():
        for protocol in (Protocol(), Protocol(epochs=50, lr=3e-3)):
            for polytope, seed in ((0, 0), (149, 1), (123456, 29)):
                spec = RunSpec(v, polytope, seed, protocol)
                blob = json.dumps({"variant": v.key_dict(), "protocol": protocol.as_dict(), "polytope": polytope,
                                   "seed": seed, "engine": key_engine(v)}, sort_keys=True)
                assert spec.key == hashlib.sha256(blob.encode()).hexdigest()[:24]
    # engine 4 changed Lp with p = 2 only: every other kind keeps its keys (and its stored runs)
    assert {name for name, v in VARIANTS.items() if key_engine(v) != "3"} == {"lp2"}
