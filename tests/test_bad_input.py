"""Bad input, CLI and Python API alike: one line that says what is wrong and what to do,
exit code 2 on the CLI, never a traceback. The README's "When something is wrong" table
lists the same cases."""
import math
import subprocess
import sys

import pandas as pd
import pytest

from harness.config import Protocol, Variant, parse_range
from harness.errors import HarnessError

CLI = [
    (["run", "--seeds", "5-2"], "reversed"),
    (["run", "--seeds", ""], "empty"),
    (["run", "--seeds", "0"], "selects nothing"),
    (["run", "--polytopes", "x"], "not a count or range"),
    (["run", "--models", "nope"], "unknown model"),
    (["run", "--models", "lp(p=0.5)"], "p >= 1"),
    (["run", "--threads", "0"], "--threads"),
    (["run", "--chunk-size", "0", "--seeds", "1", "--polytopes", "1", "--models", "lp"], "chunk size"),
    (["run", "--device", "cuda", "--seeds", "1", "--polytopes", "1"], "CUDA"),
    (["run", "--bogus"], "unrecognized arguments"),
    (["export", "--seeds", "1"], "--out"),
    (["claims", "--runs", "no/such/runs.csv"], "does not exist"),
    (["claims", "--claims", "no-such-claim", "--runs", "{runs_ok}"], "unknown claim"),
    (["claims", "--runs", "{runs_missing_col}"], "'seed'"),
    (["claims", "--runs", "{runs_bad_type}"], "'polytope'"),
    (["claims", "--runs", "{runs_nan}"], "NaN"),
    (["claims", "--runs", "{runs_not_csv}"], "cannot read"),
    (["reproduce", "--seed", "-1"], "non-negative"),
    (["bench", "--sizes", "a"], "--sizes"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    ok = pd.DataFrame({"model": ["lp", "linear"], "polytope": [0, 0], "seed": [0, 0], "status": ["ok", "ok"],
                       "collapsed": [False, False], "accuracy": [0.99, 0.98], "flat_frac": [0.3, 0.03]})
    ok.to_csv(d / "ok.csv", index=False)
    ok.drop(columns=["seed"]).to_csv(d / "missing.csv", index=False)
    ok.assign(polytope=["a", "b"]).to_csv(d / "badtype.csv", index=False)
    ok.assign(accuracy=[float("nan"), 0.9]).to_csv(d / "nan.csv", index=False)
    (d / "notcsv.parquet").write_bytes(b"this is not parquet")
    return {"runs_ok": d / "ok.csv", "runs_missing_col": d / "missing.csv", "runs_bad_type": d / "badtype.csv",
            "runs_nan": d / "nan.csv", "runs_not_csv": d / "notcsv.parquet"}


@pytest.mark.parametrize("args,needle", CLI, ids=[" ".join(a)[:40] for a, _ in CLI])
def test_cli_bad_input_is_one_line_and_exit_2(args, needle, files, tmp_path):
    args = [a.format(**files) for a in args]
    if args[0] == "run":
        args += ["--cache", str(tmp_path)]
    r = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("mesa-harness: error:"), r.stderr


def test_cli_non_writable_output_folder(tmp_path):
    """A read-only folder (under /proc even root cannot create one) is refused in one line."""
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    target = ro / "x" if not os.access(ro, os.W_OK) else "/proc/mesa-harness-out"
    try:
        for cmd in (["export", "--seeds", "1"], ["report", "--seeds", "1"]):
            r = subprocess.run([sys.executable, "-m", "harness", *cmd, "--out", str(target)],
                               capture_output=True, text=True)
            assert r.returncode == 2 and "cannot write" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    finally:
        ro.chmod(0o700)


def test_cli_cache_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = subprocess.run([sys.executable, "-m", "harness", "run", "--cache", str(f / "sub"), "--seeds", "1",
                        "--polytopes", "1", "--models", "lp"], capture_output=True, text=True)
    assert r.returncode == 2 and "cannot use cache folder" in r.stderr and len(r.stderr.strip().splitlines()) == 1


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
    (lambda: __import__("harness.train.task", fromlist=["x"]).study_task(0, Protocol(box=1000.0, n_test=20)),
     "no interior test point"),
    (lambda: __import__("harness.runs.study", fromlist=["x"]).Study((), (0,), (0,)), "no models"),
    (lambda: __import__("harness.claims", fromlist=["x"]).load_claims("/no/such/folder"), "no claims folder"),
    (lambda: __import__("harness.config", fromlist=["x"]).Measure(center="median"), "center"),
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
