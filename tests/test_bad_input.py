"""Bad input, CLI and Python API alike: one line that says what is wrong and what to do,
exit code 2 on the CLI, never a traceback, and nothing done before every argument is
checked. The README's "When something is wrong" table lists the same cases.

Most CLI cases call `harness.cli.main` in this process (a traceback would fail the test just
as well, and it is 50x faster than a fresh interpreter); a few run `python -m harness`."""
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.cli import main
from harness.config import Protocol, Variant, get_variant, parse_models, parse_range, range_size
from harness.errors import HarnessError

HAS_CUDA = __import__("torch").cuda.is_available()


def cli(args: list[str], capsys) -> tuple[int, list[str]]:
    """(exit code, stderr lines) of `python -m harness ARGS`, run in this process."""
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err.strip().splitlines()


def assert_one_line(rc: int, lines: list[str], needle: str) -> None:
    assert rc == 2, lines
    errors = [x for x in lines if x.startswith("mesa-harness: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0] and needle in errors[0], lines


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A real exported study (3 seeds x 2 polytopes of lp and linear): runs.csv, points.parquet."""
    d = tmp_path_factory.mktemp("export")
    r = subprocess.run([sys.executable, "-m", "harness", "export", "--out", d / "out", "--seeds", "3", "--polytopes",
                        "2", "--models", "lp,linear", "--cache", d / "store"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return d / "out"


@pytest.fixture
def damaged(export, tmp_path):
    """damaged(fn_runs, fn_points=None) -> path of a runs.csv (and points.parquet) changed by the functions."""
    def make(fn_runs=None, fn_points=None, text=None) -> Path:
        runs = pd.read_csv(export / "runs.csv")
        points = pd.read_parquet(export / "points.parquet")
        runs = fn_runs(runs) if fn_runs else runs
        (fn_points(points) if fn_points else points).to_parquet(tmp_path / "points.parquet", index=False)
        path = tmp_path / "runs.csv"
        runs.to_csv(path, index=False)
        if text:
            path.write_bytes(text(path.read_bytes()))
        return path
    return make


# -- command lines -------------------------------------------------------------------------------
CLI = [
    (["run", "--seeds", "5-2"], "reversed"),
    (["run", "--seeds", ""], "empty"),
    (["run", "--seeds", "0"], "selects nothing"),
    (["run", "--polytopes", "x"], "not a count or range"),
    (["run", "--seeds", "1-"], "not a count or range"),
    (["run", "--seeds", "-3"], "not a count or range"),
    (["run", "--models", "nope"], "unknown model"),
    (["run", "--models", ","], "--models is empty"),
    (["run", "--models", "lp(p=0.5)"], "p >= 1"),
    (["run", "--models", "lp(p=1.2.3)"], "is not a number"),
    (["run", "--models", "lp(p=1e999)"], "finite"),
    (["run", "--threads", "0"], "--threads"),
    (["run", "--threads", "x"], "--threads"),
    (["run", "--chunk-size", "0", "--seeds", "1", "--polytopes", "1", "--models", "lp"], "chunk size"),
    (["run", "--bogus"], "unrecognized arguments"),
    (["run", "--device", "gpu"], "invalid choice"),
    (["export", "--seeds", "1"], "--out"),
    (["claims", "--runs", "no/such/runs.csv"], "does not exist"),
    (["claims", "--claims", "no-such-claim"], "unknown claim"),
    (["claims", "--rule", "some"], "invalid choice"),
    (["reproduce", "--seed", "-1"], "non-negative"),
    (["reproduce", "--seed", "1.5"], "digits 0-9"),
    (["bench", "--sizes", "a"], "--sizes"),
    (["bench", "--sizes", "0"], "at least 1"),
    (["bench", "--study", "30by10"], "SEEDSxPOLYTOPES"),
    (["bench", "--reference-models", "0"], "at least 1"),
    (["multiverse", "--reps", "3"], "--reps"),
    (["multiverse", "--power-seeds", "1,5"], "--power-seeds"),
    # point 9: a selection too large for memory, refused before it is built, with its size
    (["run", "--seeds", "0-100000000"], "100,000,001 seeds"),
    (["run", "--seeds", "99999999999999999999"], "of memory"),
    (["claims", "--polytopes", "0-100000000000"], "of memory"),
    (["multiverse", "--train-seeds", "100000000000"], "of memory"),
    (["bench", "--sizes", "100000000"], "of memory"),
    (["bench", "--study", "100000000000x10"], "of memory"),
    (["reproduce", "--seed", "99999999999999999999999"], "below 2**64"),
    (["run", "--seeds", "9223372036854775808-9223372036854775809"], "largest id"),
    # point 11: an empty path is not the current folder
    (["run", "--cache", ""], "--cache is empty"),
    (["export", "--out", "", "--seeds", "1"], "--out is empty"),
    (["report", "--out", ""], "--out is empty"),
    (["claims", "--runs", ""], "--runs is empty"),
    (["claims", "--claims-dir", ""], "--claims-dir is empty"),
    (["claims", "--claims-dir", "no/such/folder"], "no claims folder"),
    # point 14: digits of other scripts are refused, not read as numbers
    (["run", "--seeds", "３"], "non-ASCII digit"),
    (["run", "--polytopes", "0-٩"], "non-ASCII digit"),
    (["run", "--threads", "２"], "digits 0-9"),
    (["reproduce", "--seed", "３"], "digits 0-9"),
    (["bench", "--sizes", "８"], "--sizes"),
    (["multiverse", "--power-seeds", "３,５"], "--power-seeds"),
]


@pytest.mark.parametrize("args,needle", CLI, ids=[" ".join(a)[:48] for a, _ in CLI])
def test_cli_bad_input_is_one_line_and_exit_2(args, needle, tmp_path, capsys):
    if "--cache" not in args:
        args = [*args, "--cache", tmp_path / "store"] if args[0] in ("run", "multiverse") else args
    rc, lines = cli(args, capsys)
    assert_one_line(rc, lines, needle)


def test_cli_in_a_fresh_interpreter_has_no_traceback(tmp_path):
    """The same path end to end, as a user meets it."""
    for args, needle in [(["run", "--seeds", "5-2"], "reversed"), (["claims", "--runs", ""], "empty"),
                         (["reproduce", "--seed", "99999999999999999999999"], "2**64")]:
        r = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and needle in lines[0], r.stderr


@pytest.mark.skipif(HAS_CUDA, reason="needs a machine without a CUDA device")
@pytest.mark.parametrize("cmd", [["run", "--seeds", "1", "--polytopes", "1"], ["bench"], ["export", "--seeds", "1"],
                                 ["report", "--seeds", "1"], ["multiverse", "--seeds", "1"]])
def test_device_cuda_without_a_gpu_is_the_same_line_everywhere(cmd, tmp_path, capsys):
    extra = [] if cmd[0] == "bench" else ["--cache", tmp_path / "store"]
    extra += ["--out", tmp_path / "out"] if cmd[0] in ("export", "report") else []
    rc, lines = cli([*cmd, "--device", "cuda", *extra], capsys)
    assert_one_line(rc, lines, "no CUDA device is available here; use --device cpu or auto")


# -- point 12: every argument is checked before anything is done ----------------------------------
NOTHING_DONE = [
    ["run", "--threads", "0"],
    ["run", "--chunk-size", "0"],
    ["run", "--seeds", "5-2"],
    ["run", "--models", "nope"],
    ["export", "--seeds", "5-2"],
    ["export", "--threads", "0"],
    ["report", "--polytopes", "x"],
    ["report", "--claims-dir", "no/such/folder"],
    ["multiverse", "--train-seeds", "5-2"],
    ["multiverse", "--train-polytopes", "0"],
    ["multiverse", "--reps", "1"],
    ["multiverse", "--power-seeds", "x"],
    ["claims", "--claims", "nope"],
    ["claims", "--seeds", "1", "--polytopes", "1"],  # nothing stored there: said, not created
    *([] if HAS_CUDA else [["run", "--device", "cuda"], ["report", "--device", "cuda"],
                           ["export", "--device", "cuda"], ["multiverse", "--device", "cuda"]]),
]


@pytest.mark.parametrize("args", NOTHING_DONE, ids=[" ".join(a) for a in NOTHING_DONE])
def test_a_bad_argument_creates_no_folder_and_trains_nothing(args, tmp_path, capsys):
    """Before, `multiverse --train-seeds 5-2` trained the main study first, and a bad
    --device left an empty store behind."""
    store, out = tmp_path / "store", tmp_path / "out"
    extra = ["--cache", store] + (["--out", out] if args[0] in ("export", "report") else [])
    rc, lines = cli([*args, *extra], capsys)
    assert rc == 2 and lines[-1].startswith("mesa-harness: error:"), lines
    assert not store.exists() and not out.exists(), sorted(p.name for p in tmp_path.iterdir())


def test_cli_non_writable_output_folder(tmp_path):
    """A read-only folder (under /proc even root cannot create one) is refused in one line."""
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    target = ro / "x" if not os.access(ro, os.W_OK) else "/proc/mesa-harness-out"
    try:
        for cmd in (["export", "--seeds", "1"], ["report", "--seeds", "1"]):
            r = subprocess.run([sys.executable, "-m", "harness", *cmd, "--out", str(target), "--cache",
                                str(tmp_path / "store")], capture_output=True, text=True)
            assert r.returncode == 2 and "cannot write" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    finally:
        ro.chmod(0o700)


@pytest.mark.parametrize("where", ["file/sub", "file"])
def test_cli_cache_that_is_a_file(where, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    rc, lines = cli(["run", "--cache", tmp_path / where, "--seeds", "1", "--polytopes", "1", "--models", "lp"], capsys)
    assert_one_line(rc, lines, "cannot use cache folder")


def test_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    rc, lines = cli(["export", "--out", tmp_path / "file", "--seeds", "1", "--cache", tmp_path / "s"], capsys)
    assert_one_line(rc, lines, "cannot write to")
    assert not (tmp_path / "s").exists()


# -- point 1: run tables given with --runs are checked value by value ------------------------------
def _at(df: pd.DataFrame, model: str, col: str, value, n: int = 1) -> pd.DataFrame:
    """df with `col` set to `value` in the first n runs of `model`."""
    df = df.copy()
    rows = df.index[df["model"] == model][:n]
    df[col] = df[col].astype(object if isinstance(value, str) else float) if col in df else np.nan
    df.loc[rows, col] = value
    return df


def _other_keys(points: pd.DataFrame) -> pd.DataFrame:
    first = points["key"].iloc[0]
    return points.assign(key=points["key"].where(points["key"] != first, "0" * 24))


TABLES = [
    ("NaN flat fraction", lambda r: _at(r, "linear", "flat_frac", np.nan, 6), None, None, "'flat_frac'"),
    ("NaN accuracy", lambda r: _at(r, "lp", "accuracy", np.nan), None, None, "NaN values"),
    ("inf gradient", lambda r: _at(r, "lp", "grad_interior", np.inf), None, None, "infinite"),
    ("-inf accuracy", lambda r: _at(r, "linear", "accuracy", -np.inf), None, None, "infinite"),
    ("accuracy above 1", lambda r: _at(r, "lp", "accuracy", 1.5), None, None, "outside [0, 1]"),
    ("fraction below 0", lambda r: _at(r, "lp", "flat_frac", -0.1), None, None, "outside [0, 1]"),
    ("fraction above 1", lambda r: _at(r, "linear", "flipped_flat_frac", 2.0), None, None, "outside [0, 1]"),
    ("negative count", lambda r: _at(r, "lp", "flat_count", -3), None, None, "negative"),
    ("negative norm", lambda r: _at(r, "linear", "grad_boundary", -1.0), None, None, "negative"),
    ("NaN in a Linear-only column of Linear", lambda r: _at(r, "linear", "n_negative_w", np.nan), None, None,
     "'n_negative_w'"),
    ("NaN centre weight with units active", lambda r: _at(r, "lp", "center_active_absw", np.nan), None, None,
     "'center_active_absw'"),
    ("missing measure column", lambda r: r.drop(columns=["flat_frac"]), None, None, "no column 'flat_frac'"),
    ("missing id column", lambda r: r.drop(columns=["seed"]), None, None, "no column 'seed'"),
    ("missing status", lambda r: r.drop(columns=["status"]), None, None, "no column 'status'"),
    ("polytope not integer", lambda r: r.assign(polytope=r["polytope"].astype(str) + "a"), None, None, "'polytope'"),
    ("collapsed not boolean", lambda r: r.assign(collapsed="maybe"), None, None, "True/False"),
    ("accuracy as text", lambda r: _at(r, "lp", "accuracy", "high"), None, None, "must be numeric"),
    ("unknown status", lambda r: r.assign(status="OK"), None, None, "'status'"),
    ("duplicate run", lambda r: pd.concat([r, r.iloc[:1]]), None, None, "duplicate"),
    ("no runs", lambda r: r.iloc[:0], None, None, "no runs"),
    ("last row cut mid-field", None, None, lambda b: b[:-7], "truncated"),
    ("last row cut at a comma", None, None, lambda b: b[:b.rstrip(b"\n").rfind(b",", 0, len(b) - 60)] + b"\n",
     "fields"),
    ("points of other runs", None, _other_keys, None, "not in runs.csv"),
    ("a run without points", None, lambda p: p[p["key"] != p["key"].iloc[0]], None, "no points"),
    ("NaN point gradient", None, lambda p: p.assign(grad_norm=p["grad_norm"].where(p.index != 3)), None, "'grad_norm'"),
    ("unknown region", None, lambda p: p.assign(region=p["region"].astype(str).where(p.index != 3, "moon")), None,
     "'region'"),
    ("points without run keys", lambda r: r.drop(columns=["key"]), None, None, "'key'"),
]


@pytest.mark.parametrize("runs_fn,points_fn,text_fn,needle", [t[1:] for t in TABLES], ids=[t[0] for t in TABLES])
def test_a_damaged_run_table_is_refused_naming_what_is_wrong(runs_fn, points_fn, text_fn, needle, damaged, capsys):
    """Each of these passed silently before (or crashed): 6 NaN flat fractions took
    flat-10x from 5.8x to 9.9x."""
    rc, lines = cli(["claims", "--runs", damaged(runs_fn, points_fn, text_fn)], capsys)
    assert_one_line(rc, lines, needle)


def test_undefined_measurements_may_be_nan(damaged):
    """NaN is the value of a measurement that does not exist for a run: Linear-only columns
    of Lp, a centre mean over no active unit. Such a table is read as is."""
    from harness.runs.io import read_run_table

    def undefined(r):
        r = r.copy()
        i = r.index[r["model"] == "lp"][0]
        r.loc[i, "center_active_n"], r.loc[i, "center_active_absw"] = 0, np.nan
        return r

    runs, points = read_run_table(damaged(undefined))
    assert runs.loc[runs["model"] == "lp", "n_negative_w"].isna().all() and points is not None


def test_the_export_itself_is_read_and_judged(export, capsys):
    rc = main(["claims", "--runs", str(export / "runs.csv"), "--claims", "flat-10x"])
    assert rc == 0 and "flat-10x" in capsys.readouterr().out


# -- point 3: one run, one name ------------------------------------------------------------------
@pytest.mark.parametrize("spelling,name", [("lp(p=1)", "lp"), ("lp(p=1.0)", "lp"), ("lp(p=2.0)", "lp2"),
                                           ("lp(p=2)", "lp2"), ("lp(p=3.0)", "lp(p=3)"), ("lp(p=2.50)", "lp(p=2.5)")])
def test_a_variant_has_one_name_however_it_is_spelled(spelling, name):
    assert get_variant(spelling).name == name
    assert get_variant(spelling).key_dict() == get_variant(name).key_dict()


def test_models_spelled_twice_select_one_model():
    assert [v.name for v in parse_models("lp,lp(p=1),lp2,lp(p=2.0),linear")] == ["lp", "lp2", "linear"]


def test_a_run_asked_under_two_names_is_trained_once(tmp_path, capsys):
    args = ["run", "--seeds", "1", "--polytopes", "1", "--no-progress", "--cache", str(tmp_path)]
    assert main([*args, "--models", "lp,lp(p=1)"]) == 0
    assert capsys.readouterr().out.startswith("trained 1, found 0")
    assert main([*args, "--models", "lp(p=1.0)"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("trained 0, found 1") and "\nlp " in out


# -- point 14 and ranges, in the API ----------------------------------------------------------------
def test_ranges_are_counted_before_they_are_built():
    assert range_size("0-4,2-6,9", "seeds") == 8 == len(parse_range("0-4,2-6,9", "seeds"))
    assert range_size("99999999999999999999", "seeds") == 10**20 - 1  # counted, never listed


# -- point 15: claims load from the declared folder only --------------------------------------------
EVIL = 'open({marker!r}, "w").write("ran")\n'


def test_a_claims_folder_where_the_user_stands_is_not_executed(tmp_path, export, monkeypatch, capsys):
    marker = tmp_path / "ran"
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "test_evil.py").write_text(EVIL.format(marker=str(marker)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MESA_HARNESS_CLAIMS", raising=False)
    assert main(["claims", "--runs", str(export / "runs.csv"), "--claims", "flat-10x"]) == 0
    assert not marker.exists() and "claims loaded from" not in capsys.readouterr().err
    # asked for, it is loaded (and named); it declares no claim, so nothing can be checked
    assert main(["claims", "--runs", str(export / "runs.csv"), "--claims-dir", str(tmp_path / "claims")]) == 2
    assert marker.exists() and "claims loaded from" in capsys.readouterr().err


def test_another_claims_folder_is_named_on_stderr(tmp_path, export, monkeypatch, capsys):
    import shutil

    from harness.analysis.discovery import DEFAULT_CLAIMS_DIR

    other = tmp_path / "mine"
    shutil.copytree(DEFAULT_CLAIMS_DIR, other, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.delenv("MESA_HARNESS_CLAIMS", raising=False)
    assert main(["claims", "--runs", str(export / "runs.csv"), "--claims-dir", str(other), "--claims", "flat-10x"]) == 0
    assert f"claims loaded from {other.resolve()}" in capsys.readouterr().err
    monkeypatch.setenv("MESA_HARNESS_CLAIMS", str(other))
    assert main(["claims", "--runs", str(export / "runs.csv"), "--claims", "flat-10x"]) == 0
    assert f"claims loaded from {other.resolve()}" in capsys.readouterr().err


# -- the Python API ---------------------------------------------------------------------------------
API = [
    (lambda: Protocol(n_faces=2), "at least 3 faces"),
    (lambda: Protocol(hidden=0), "hidden"),
    (lambda: Protocol(dim=1), "dim"),
    (lambda: Protocol(n_train=10), "batch_size"),
    (lambda: Variant("x", "lp", p=0.5), "p >= 1"),
    (lambda: Variant("x", "lp", p=math.nan), "p >= 1"),
    (lambda: Variant("x", "mlp"), "unknown architecture"),
    (lambda: Variant("x", "linear", reg="l2"), "unknown regulariser"),
    (lambda: Variant("x", "linear", reg="l1"), "lam > 0"),
    (lambda: parse_range("3-1", "seeds"), "reversed"),
    (lambda: parse_range("３", "seeds"), "non-ASCII"),
    (lambda: range_size("1,x", "seeds"), "not a count or range"),
    (lambda: get_variant("lp(p=inf)"), "unknown model"),
    (lambda: __import__("harness.train.task", fromlist=["x"]).study_task(0, Protocol(box=1000.0, n_test=20)),
     "no interior test point"),
    (lambda: __import__("harness.runs.study", fromlist=["x"]).Study((), (0,), (0,)), "no models"),
    (lambda: __import__("harness.claims", fromlist=["x"]).load_claims("/no/such/folder"), "no claims folder"),
    (lambda: __import__("harness.claims", fromlist=["x"]).load_claims(""), "empty"),
    (lambda: __import__("harness.config", fromlist=["x"]).Measure(center="median"), "center"),
    (lambda: __import__("harness.runs.io", fromlist=["x"]).read_run_table(""), "empty"),
    (lambda: __import__("harness.runs.limits", fromlist=["x"]).check_study_fits(10**12, 10, 2), "of memory"),
]


@pytest.mark.parametrize("call,needle", API, ids=[n for _, n in API])
def test_api_bad_input_raises_one_line_harness_error(call, needle):
    with pytest.raises(HarnessError) as e:
        call()
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_claim_on_a_table_without_its_model_names_the_model():
    from harness.claims import Claim, PairedDiff, evaluate

    runs = pd.DataFrame({"model": ["lp"], "polytope": [0], "seed": [0], "status": ["ok"], "collapsed": [False],
                         "accuracy": [0.9]})
    with pytest.raises(HarnessError, match="no runs of model 'linear'"):
        evaluate(Claim("x", "x", PairedDiff("accuracy", "lp", "linear")), runs)
