"""`pytest claims -n auto`: every claim file checks its recorded verdict on one shared study.

The study comes from the store: whichever worker first takes the store's lock trains what
is missing, the others wait and read, so each model is trained once however many workers
ask. Each test records its verdict row; the controller prints them as one table."""
from __future__ import annotations

import pytest

from harness.claims import evaluate_all, load_claims, models_needed
from harness.claimtest import DEFAULT_POLYTOPES, DEFAULT_SEEDS, size_label
from harness.runs.store import Store
from harness.runs.study import Study, ensure


def pytest_addoption(parser):
    g = parser.getgroup("mesa-harness claims")
    g.addoption("--seeds", type=int, default=DEFAULT_SEEDS, help=f"seeds per polytope (default {DEFAULT_SEEDS})")
    g.addoption("--polytopes", type=int, default=DEFAULT_POLYTOPES,
                help=f"number of polytopes (default {DEFAULT_POLYTOPES})")
    g.addoption("--cache", default=None, help="store folder (default: $MESA_HARNESS_CACHE or .cache/mesa-harness)")


@pytest.fixture(scope="session")
def size(request) -> str:
    return size_label(request.config.getoption("--seeds"), request.config.getoption("--polytopes"))


@pytest.fixture(scope="session")
def claims():
    return load_claims()


@pytest.fixture(scope="session")
def tables(request, claims):
    study = Study.of(models_needed(claims), polytopes=request.config.getoption("--polytopes"),
                     seeds=request.config.getoption("--seeds"))
    return ensure(study, Store(request.config.getoption("--cache")))


@pytest.fixture(scope="session")
def verdicts(tables, claims):
    runs, points = tables
    return {v.id: v for v in evaluate_all(claims, runs, points)}


def pytest_terminal_summary(terminalreporter):
    rows = []
    for key in ("passed", "xfailed", "failed", "skipped"):
        for rep in terminalreporter.stats.get(key, []):
            for name, value in getattr(rep, "user_properties", []):
                if name == "verdict":
                    rows.append(value)
    if rows:
        terminalreporter.section("claim verdicts (estimate, 95% CI, Holm-adjusted p)")
        for r in sorted(set(rows)):
            terminalreporter.write_line(r)
