"""The pytest plugin of mesa-harness (entry point `pytest11: mesa_harness`): `pytest claims`.

A claim file declares `CLAIM` (or a list `CLAIMS`), `EXPECTED` (the verdict recorded per
study size) and its counter-tables as data, `COUNTER`; the plugin generates its tests:

    claims/test_flat_10x.py::verdict[flat-10x]        the verdict is the one recorded
    claims/test_flat_10x.py::counter_table[flat-10x]  a changed table turns the verdict

A file that defines its own `test_verdict` keeps it and gets no generated one; explicit
tests use the fixtures `claims`, `tables`, `verdicts` and `size`. Only modules that define
CLAIM or CLAIMS, and EXPECTED or COUNTER, are touched: in another suite (`pytest tests`)
the plugin adds its options and a marker, and imports nothing heavy.

Under xdist (`pytest claims -n auto`) each worker loads the study from the store (training,
under the store's lock, what it lacks) and the claims' evaluations are computed once and
shared (sharing.py). Each verdict test reports its verdict as a user property; the
controller alone, from those reports, prints the verdict table, writes the run's record and
compares it with an earlier one (record.py), as pytest-benchmark does with its results."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.config import DEFAULT_POLYTOPES, DEFAULT_SEEDS
from harness.errors import HarnessError

if TYPE_CHECKING:
    import pandas as pd

    from harness.analysis.verdicts import Claim, Verdict
    from harness.testing.claimtest import Counter

DEFAULT_RECORD = "reports/claims-record.json"
TABLE_TITLE = "claim verdicts (estimate, 95% CI, Holm-adjusted p)"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("mesa-harness", "mesa-harness claims (pytest claims)")
    g.addoption("--seeds", type=int, default=DEFAULT_SEEDS, metavar="N",
                help=f"seeds per polytope of the study the claims are judged on (default {DEFAULT_SEEDS})")
    g.addoption("--polytopes", type=int, default=DEFAULT_POLYTOPES, metavar="N",
                help=f"number of polytopes of that study (default {DEFAULT_POLYTOPES})")
    g.addoption("--cache", default=None, metavar="DIR",
                help="store folder (default: $MESA_HARNESS_CACHE, else .cache/mesa-harness); shared evaluations "
                     "are kept in its verdicts/")
    g.addoption("--runs", default=None, metavar="FILE",
                help="judge the claims on this run table (runs.csv or .parquet, points.parquet beside it, as written "
                     "by `python -m harness export`) instead of the store's study; never trains")
    g.addoption("--record", default=DEFAULT_RECORD, metavar="PATH",
                help=f"where the run leaves its record of verdicts, study, commit and versions (default "
                     f"{DEFAULT_RECORD}, from where pytest runs; an empty PATH writes none)")
    g.addoption("--compare", default=None, metavar="RECORD",
                help="fail, listing each claim whose verdict differs from this earlier record")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim(id): the claim a test checks (generated claim tests carry it; "
                                       "`-m claim` selects them)")
    for name in ("seeds", "polytopes"):
        if config.getoption(name) < 1:
            raise pytest.UsageError(f"--{name} must be at least 1 (got {config.getoption(name)})")
    config.pluginmanager.register(ClaimSession(config), "mesa-harness-claims")


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> list[pytest.Item] | None:
    """The verdict and counter-table tests of a module's CLAIM or CLAIMS."""
    # A Claim exists only once its module is imported: without it there is no claim to see,
    # and a suite without claims does not pay for importing the analysis code.
    verdicts_module = sys.modules.get("harness.analysis.verdicts")
    if name not in ("CLAIM", "CLAIMS") or not isinstance(collector, pytest.Module) or verdicts_module is None:
        return None
    claim_type = verdicts_module.Claim
    declared = [obj] if name == "CLAIM" else list(obj) if isinstance(obj, (list, tuple)) else []
    module = collector.obj
    if not declared or not all(isinstance(c, claim_type) for c in declared) or not _is_claim_file(module):
        return None
    items = []
    if not hasattr(module, "test_verdict"):
        expected = _expected(module, name, declared)
        items += [_item(collector, "verdict", c, _verdict_test(c, expected)) for c in declared]
    if getattr(module, "COUNTER", None) is not None:
        items += [_item(collector, "counter_table", c, _counter_test(c, _counter(module, c))) for c in declared]
    return items


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A `claim` marker names one claim of its file, as its one argument."""
    for mark in item.iter_markers("claim"):
        known = _claim_ids(getattr(item, "module", None))
        if len(mark.args) != 1 or mark.kwargs or mark.args[0] not in known:
            pytest.fail(f"@pytest.mark.claim takes one claim id of this file ({', '.join(sorted(known)) or 'none'}); "
                        f"got {mark.args!r}{' ' + repr(mark.kwargs) if mark.kwargs else ''}", pytrace=False)


# -- fixtures for explicit tests (generated ones read `claim_study`) -------------------------------
@pytest.fixture(scope="module")
def claim_study(request: pytest.FixtureRequest) -> ClaimStudy:
    """The requesting module's claims folder judged on this run's study (loaded once per
    folder and process)."""
    return request.config.pluginmanager.get_plugin("mesa-harness-claims").study(request.path.parent)


@pytest.fixture(scope="module")
def claims(claim_study: ClaimStudy) -> list[Claim]:
    """Every claim of the folder, in (order, id) order."""
    return claim_study.claims


@pytest.fixture(scope="module")
def tables(claim_study: ClaimStudy) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(runs, points) of the study; counter-tables are made from them."""
    return claim_study.runs, claim_study.points


@pytest.fixture(scope="module")
def verdicts(claim_study: ClaimStudy) -> dict[str, Verdict]:
    """{claim id: verdict}, Holm within each family and `requires` applied."""
    return claim_study.verdicts


@pytest.fixture(scope="module")
def size(claim_study: ClaimStudy) -> str:
    """The study's size as an EXPECTED key: "2x150" (seeds per polytope x polytopes)."""
    return claim_study.size


# -- the study and the run's verdicts ------------------------------------------------------------
@dataclass
class ClaimStudy:
    """A claims folder judged on one study: its claims, the tables, the size label and each
    claim's evaluation before Holm (`evaluate`'s result, shared between processes)."""

    claims: list[Claim]
    runs: pd.DataFrame
    points: pd.DataFrame | None
    size: str
    raw: dict[str, Verdict]

    @cached_property
    def verdicts(self) -> dict[str, Verdict]:
        """What evaluate_all gives: Holm within each family, then `requires`."""
        from harness.analysis.verdicts import decide_all

        return {v.id: v for v in decide_all(self.claims, [self.raw[c.id] for c in self.claims])}

    @cached_property
    def baselines(self) -> dict[str, Verdict]:
        """Each claim's verdict on the unchanged table as on a counter-table."""
        from harness.testing.claimtest import baseline

        return {c.id: baseline(c, self.raw[c.id]) for c in self.claims}


class ClaimSession:
    """The run's state, one per pytest process: the studies loaded, and (in the controller)
    the verdicts the tests reported, the record written and the comparison."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.worker = hasattr(config, "workerinput")
        self.seeds, self.polytopes = config.getoption("seeds"), config.getoption("polytopes")
        self.cache, self.runs_file = config.getoption("cache"), config.getoption("runs")
        rec = config.getoption("record")
        self.record_path = (Path(config.invocation_params.dir) / rec) if rec else None
        self.compare_path = config.getoption("compare")
        self.compare_to = None
        if self.compare_path and not self.worker:
            from harness.testing import record

            try:
                self.compare_to = record.read(self.compare_path)
            except HarnessError as exc:
                raise pytest.UsageError(str(exc))
        self.studies: dict[Path, ClaimStudy | str] = {}
        self.reported: dict[str, dict] = {}
        self.written: Path | None = None
        self.changes: list = []
        self.problem = ""

    def study(self, folder: Path) -> ClaimStudy:
        folder = folder.resolve()
        if folder not in self.studies:
            try:
                self.studies[folder] = self._load(folder)
            except HarnessError as exc:  # a user's mistake: one line, for every test of the folder
                self.studies[folder] = f"mesa-harness: {exc}"
        got = self.studies[folder]
        if isinstance(got, str):
            pytest.fail(got, pytrace=False)
        return got

    def _load(self, folder: Path) -> ClaimStudy:
        from harness.analysis.discovery import load_claims, models_needed
        from harness.runs.store import Store
        from harness.testing.claimtest import size_label
        from harness.testing.sharing import shared_evaluations

        claims = load_claims(folder)
        store = Store(self.cache)
        if self.runs_file:
            from harness.runs.io import read_run_table

            runs, points = read_run_table(self.runs_file)
            size = size_label(runs["seed"].nunique(), runs["polytope"].nunique())
        else:
            from harness.runs.study import Study, ensure

            runs, points = ensure(Study.of(models_needed(claims), polytopes=self.polytopes, seeds=self.seeds), store)
            size = size_label(self.seeds, self.polytopes)
        return ClaimStudy(claims, runs, points, size, shared_evaluations(claims, runs, points, store.root / "verdicts"))

    def describe(self) -> dict:
        """What the verdicts were judged on, for the record."""
        sizes = sorted({v["size"] for v in self.reported.values()})
        source = (f"run table {self.runs_file}" if self.runs_file else
                  f"store {self.cache or 'default'}: {self.seeds} seeds x {self.polytopes} polytopes")
        return {"size": sizes[0] if len(sizes) == 1 else sizes, "source": source}

    # -- hooks (controller side: workers only report) ----------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker or report.when != "call":
            return
        for name, value in report.user_properties:
            if name == "claim_verdict":
                self.reported[value["id"]] = value

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.worker or not self.reported:
            return
        from harness.testing import record

        study = self.describe()
        if self.record_path is not None:
            self.written = record.write(record.build(self.reported, study), self.record_path)
        if self.compare_to is not None:
            try:
                self.changes = record.compare(self.compare_to, self.reported, study)
            except HarnessError as exc:
                self.problem = str(exc)
            if (self.changes or self.problem) and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.worker or not self.reported:
            return
        tr = terminalreporter
        tr.section(TABLE_TITLE)
        for k in sorted(self.reported):
            tr.write_line(self.reported[k]["row"])
        if self.written:
            tr.write_line(f"record: {self.written}")
        if self.compare_to is None:
            return
        if self.problem:
            tr.write_line(f"--compare {self.compare_path}: {self.problem}", red=True, bold=True)
        elif self.changes:
            tr.section(f"verdicts changed against {self.compare_path}", red=True)
            for change in self.changes:
                tr.write_line(str(change), red=True)
        else:
            n = len(set(self.reported) & set(self.compare_to["verdicts"]))
            tr.write_line(f"no verdict changed against {self.compare_path} ({n} claims compared)", green=True)


# -- generated tests -----------------------------------------------------------------------------
def _item(collector: pytest.Module, kind: str, claim: Claim, fn) -> pytest.Function:
    item = pytest.Function.from_parent(collector, name=f"{kind}[{claim.id}]", callobj=fn)
    item.add_marker(pytest.mark.claim(claim.id))
    return item


def _verdict_test(claim: Claim, expected: dict):
    from harness.testing.claimtest import assert_verdict

    def verdict(claim_study: ClaimStudy, record_property) -> None:
        assert_verdict(claim, expected, claim_study.verdicts, claim_study.size, record_property)

    return verdict


def _counter_test(claim: Claim, counter: Counter):
    from harness.testing.claimtest import assert_turns_either_way

    def counter_table(claim_study: ClaimStudy) -> None:
        assert_turns_either_way(claim, (claim_study.runs, claim_study.points), None, counter.make_false,
                                counter.make_true, base=claim_study.baselines[claim.id], why=counter.why)

    return counter_table


def _is_claim_file(module) -> bool:
    """A module that declares claims and checks them (EXPECTED or COUNTER): a test module
    that merely builds some Claim objects is no claim file."""
    return getattr(module, "EXPECTED", None) is not None or getattr(module, "COUNTER", None) is not None


def _claim_ids(module) -> set[str]:
    declared = [getattr(module, "CLAIM", None), *getattr(module, "CLAIMS", [])]
    return {c.id for c in declared if hasattr(c, "id")}


def _expected(module, name: str, declared: list[Claim]) -> dict:
    """The module's EXPECTED, checked: {size: word} for CLAIM, {size: {claim id: word}} for
    CLAIMS, every word a verdict word and every id one of the file's claims."""
    from harness.analysis.verdicts import VERDICTS

    expected = getattr(module, "EXPECTED", None)
    example = '{"2x150": "supported"}' if name == "CLAIM" else '{"2x150": {"<claim id>": "supported"}}'
    if not isinstance(expected, dict):
        raise pytest.Collector.CollectError(f"{module.__name__} declares {name} but no EXPECTED dict such as {example}")
    ids = {c.id for c in declared}
    for size, want in expected.items():
        words = want if isinstance(want, dict) else {None: want}
        for cid, word in words.items():
            if (cid is None) != (name == "CLAIM") or (cid is not None and cid not in ids):
                raise pytest.Collector.CollectError(
                    f"{module.__name__}: EXPECTED[{size!r}] must look like {example} (found key {cid!r})")
            if word not in VERDICTS:
                raise pytest.Collector.CollectError(
                    f"{module.__name__}: EXPECTED[{size!r}] has {word!r}, not a verdict word ({', '.join(VERDICTS)})")
    return expected


def _counter(module, claim: Claim) -> Counter:
    """The module's counter-tables for `claim`: COUNTER itself (a Counter), or COUNTER[claim.id]
    (a dict per claim id, for a CLAIMS file)."""
    from harness.testing.claimtest import Counter

    counter = module.COUNTER
    if isinstance(counter, dict):
        unknown = set(counter) - _claim_ids(module)
        if unknown or claim.id not in counter:
            raise pytest.Collector.CollectError(
                f"{module.__name__}: COUNTER needs one Counter per claim id of the file"
                f"{'; unknown ' + ', '.join(sorted(map(str, unknown))) if unknown else '; missing ' + claim.id}")
        counter = counter[claim.id]
    if not isinstance(counter, Counter):
        raise pytest.Collector.CollectError(f"{module.__name__}: COUNTER must be a Counter(make_false=..., "
                                            f"make_true=...) or a dict of them per claim id")
    return counter
