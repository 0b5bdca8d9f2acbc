"""The pytest plugin end to end (pytester): a claim file of CLAIM, EXPECTED and COUNTER becomes
a verdict test and a counter-table test, judged on a small run table given with --runs
(nothing trains); the verdict table, the record and --compare; explicit tests and markers;
evaluations shared through the store; the write-up's numbers from writeup.py."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.discovery import load_claims
from harness.claims import Claim, PairedDiff
from harness.errors import HarnessError
from harness.schema import RUN_MEASURE_COLUMNS
from harness.testing import record, sharing
from harness.writeup import seed0

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

CLAIM_FILE = '''"""Lp has more flat points than Linear (a test claim)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, scale, swap

CLAIM = Claim(id="fake-flat", sentence="Lp has more flat points.",
              statistic=PairedDiff("flat_frac", a="lp", b="linear"), direction="{direction}")
EXPECTED = {{"3x4": "{expected}"}}
COUNTER = Counter(make_false={make_false}, make_true=swap("lp", "linear"), why="swapped, Linear has them")
'''


def fake_runs(folder: Path, lp_flat: float = 0.30, linear_flat: float = 0.03) -> Path:
    """A valid exported run table (runs.csv): lp and linear on 4 polytopes x 3 seeds, every
    measure column filled; flat_frac near `lp_flat` and `linear_flat`."""
    rng = np.random.default_rng(0)
    rows = []
    for model, flat in (("lp", lp_flat), ("linear", linear_flat)):
        for polytope in range(4):
            for seed in range(3):
                row = {c: 0.5 for c in RUN_MEASURE_COLUMNS}
                row.update(model=model, polytope=polytope, seed=seed, status="ok", collapsed=False,
                           flat_frac=flat + rng.uniform(0, 0.02))
                rows.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    return folder / "runs.csv"


@pytest.fixture
def claims_run(pytester: pytest.Pytester, tmp_path: Path):
    """Writes a claim file into a fresh claims folder and runs pytest on it with --runs."""
    runs = fake_runs(tmp_path / "data")

    def run(*args: str, direction: str = ">", expected: str = "supported",
            make_false: str = 'swap("lp", "linear")', runs_file: Path = runs) -> pytest.RunResult:
        pytester.makepyfile(test_fake=CLAIM_FILE.format(direction=direction, expected=expected, make_false=make_false))
        return pytester.runpytest("-p", "no:cacheprovider", "-rA", "--runs", str(runs_file),
                                  "--cache", str(tmp_path / "store"), *args)

    return run


def test_a_correct_expected_passes_and_its_counter_table_turns(claims_run, pytester):
    result = claims_run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_fake.py::verdict[[]fake-flat[]] PASSED*",
                                 "*test_fake.py::counter_table[[]fake-flat[]] PASSED*",
                                 "*claim verdicts (estimate, 95% CI, Holm-adjusted p)*",
                                 "fake-flat * supported *"])
    rec = json.loads((pytester.path / "reports" / "claims-record.json").read_text())
    assert rec["verdicts"]["fake-flat"]["verdict"] == "supported"
    assert rec["verdicts"]["fake-flat"]["ci_low"] > 0 and rec["study"]["size"] == "3x4"
    assert {"git_commit", "versions", "date", "mesa_harness"} <= set(rec)


@pytest.mark.slow
def test_under_xdist_the_controller_prints_the_table_once_and_writes_the_record(claims_run, pytester):
    result = claims_run("-n", "2")
    result.assert_outcomes(passed=2)
    assert result.stdout.str().count("claim verdicts (estimate") == 1
    result.stdout.fnmatch_lines(["fake-flat * supported *"])
    rec = json.loads((pytester.path / "reports" / "claims-record.json").read_text())
    assert rec["verdicts"]["fake-flat"]["verdict"] == "supported"


def test_a_wrong_expected_fails_naming_the_change(claims_run):
    result = claims_run(expected="not supported")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*verdict of fake-flat changed: recorded 'not supported', now supported*"])


def test_a_verdict_recorded_as_not_positive_xfails(claims_run):
    result = claims_run(direction="<", expected="contradicted")
    result.assert_outcomes(xfailed=1, passed=1)
    result.stdout.fnmatch_lines(["*XFAIL*verdict[[]fake-flat[]]*the data do not support fake-flat: contradicted*"])


def test_a_counter_table_that_changes_nothing_fails(claims_run):
    result = claims_run(make_false='scale("lp", "flat_frac", 1.0)')
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["on the counter-table fake-flat still reads supported: *; expected one of "
                                 "contradicted, not supported, not shown equivalent (swapped, Linear has them)"])


def test_compare_lists_each_changed_verdict_and_fails_the_run(claims_run, pytester, tmp_path):
    claims_run()
    path = pytester.path / "reports" / "claims-record.json"
    rec = json.loads(path.read_text())
    rec["verdicts"]["fake-flat"]["verdict"] = "contradicted"
    (tmp_path / "old.json").write_text(json.dumps(rec))
    result = claims_run("--compare", str(tmp_path / "old.json"), "--record", "")
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*verdicts changed against*old.json*",
                                 "fake-flat: recorded 'contradicted', now 'supported'"])
    same = claims_run("--compare", str(path))
    assert same.ret == pytest.ExitCode.OK
    same.stdout.fnmatch_lines(["no verdict changed against*(1 claims compared)"])


def test_compare_refuses_a_missing_record_in_one_line(claims_run, tmp_path):
    result = claims_run("--compare", str(tmp_path / "nothing.json"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot read the claims record*nothing.json*"])


def test_a_runs_file_that_is_not_there_fails_each_test_in_one_line(claims_run, tmp_path):
    result = claims_run(runs_file=tmp_path / "missing.csv")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["mesa-harness: runs file *missing.csv does not exist; export one with*"])


def test_explicit_tests_keep_working_and_a_bad_claim_marker_is_refused(pytester, tmp_path):
    pytester.makepyfile(test_explicit='''
import pytest
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(id="explicit-flat", sentence="Lp has more flat points.",
              statistic=PairedDiff("flat_frac", a="lp", b="linear"), direction=">")
EXPECTED = {"3x4": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


@pytest.mark.claim("explicit-flat")
def test_counter(tables):
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted",))


@pytest.mark.claim("no-such-claim")
def test_marked_wrongly():
    pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--runs", str(fake_runs(tmp_path / "data")),
                                "--cache", str(tmp_path / "store"))
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test_explicit.py::test_verdict PASSED*", "*test_explicit.py::test_counter PASSED*",
                                 "*@pytest.mark.claim takes one claim id of this file (explicit-flat)*",
                                 "explicit-flat * supported *"])
    assert "verdict[" not in result.stdout.str()  # its own test_verdict: none generated


def test_a_counter_dict_must_name_the_files_claims(pytester, tmp_path):
    pytester.makepyfile(test_bad='''
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, swap

CLAIMS = [Claim(id="a", sentence="a", statistic=PairedDiff("flat_frac", a="lp", b="linear"))]
EXPECTED = {"3x4": {"a": "supported"}}
COUNTER = {"b": Counter(make_false=swap("lp", "linear"), make_true=swap("lp", "linear"))}
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--runs", str(fake_runs(tmp_path / "data")))
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*COUNTER needs one Counter per claim id of the file; unknown b*"])


def test_other_suites_are_left_alone(pytester):
    """A module without CLAIM or CLAIMS gets no claim tests, no table, no record, and does not
    import the analysis code (the plugin is loaded in every pytest run of this environment)."""
    pytester.makepyfile(test_plain='''
import sys

CLAIM = "just a constant"


def test_nothing_heavy_was_imported():
    assert "harness.analysis.verdicts" not in sys.modules and "pandas" not in sys.modules
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert "claim verdicts" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()


# -- evaluations shared between processes --------------------------------------------------------
def _tables(lp_flat: float = 0.30) -> pd.DataFrame:
    return pd.DataFrame([{"model": m, "polytope": p, "seed": s, "status": "ok", "collapsed": False,
                          "flat_frac": (lp_flat if m == "lp" else 0.03) + 0.001 * (p + s)}
                         for m in ("lp", "linear") for p in range(4) for s in range(3)])


TWO_CLAIMS = [Claim("more-flat", "Lp has more flat points.", PairedDiff("flat_frac", a="lp", b="linear")),
          Claim("less-flat", "Lp has fewer flat points.", PairedDiff("flat_frac", a="lp", b="linear"), direction="<")]


def test_evaluations_are_computed_once_and_then_read(tmp_path, monkeypatch):
    first = sharing.shared_evaluations(TWO_CLAIMS, _tables(), None, tmp_path)
    assert len(list(tmp_path.glob("*.pkl"))) == 2 and not list(tmp_path.glob("*.lock"))

    def refuse(*args, **kwargs):
        raise AssertionError("evaluated again")

    monkeypatch.setattr(sharing, "evaluate", refuse)
    again = sharing.shared_evaluations(TWO_CLAIMS, _tables(), None, tmp_path)
    assert {k: (v.estimate, v.p_value, v.ci_low) for k, v in again.items()} == \
           {k: (v.estimate, v.p_value, v.ci_low) for k, v in first.items()}
    with pytest.raises(AssertionError, match="evaluated again"):  # other data: another key
        sharing.shared_evaluations(TWO_CLAIMS, _tables(lp_flat=0.5), None, tmp_path)


def test_the_data_key_follows_the_contents():
    assert sharing.data_key(_tables(), None) == sharing.data_key(_tables(), None)
    assert sharing.data_key(_tables(), None) != sharing.data_key(_tables(lp_flat=0.31), None)


def test_records_of_another_study_size_are_not_compared():
    rec = {"study": {"size": "30x10"}, "verdicts": {"a": {"verdict": "supported"}}}
    with pytest.raises(HarnessError, match="30x10 study and this run of a 10x5"):
        record.compare(rec, {"a": {"verdict": "supported"}}, {"size": "10x5"})
    assert [str(c) for c in record.compare(rec, {"a": {"verdict": "contradicted"}}, {"size": "30x10"})] == \
           ["a: recorded 'supported', now 'contradicted'"]


# -- the repository's claim files ------------------------------------------------------------------
def test_every_claim_file_declares_its_counter_tables_as_data():
    claims = load_claims(ROOT / "claims")
    for c in claims:
        module = sys.modules[f"_mesa_claim_{Path(c.source).stem}"]
        counter = module.COUNTER
        assert counter is not None and (not isinstance(counter, dict) or c.id in counter), c.id


def test_writeup_values_come_from_writeup_py_bit_for_bit():
    by_id = {c.id: c.writeup for c in load_claims(ROOT / "claims")}
    assert by_id["flat-10x"] == 32 / 3
    assert by_id["center-weight-70x"] == 0.6112 / 0.0086
    assert by_id["accuracy-equal"] == 0.990 - 0.992
    assert by_id["flip-keeps-accuracy"] == 0.866 - 0.992
    assert seed0("linear", "n_negative_w") == 3.0
    with pytest.raises(HarnessError, match="no seed-0 value of 'nonsense'"):
        seed0("lp", "nonsense")
