"""mesa-harness: checks a research write-up's claims across many seeds and polytopes.

For notebooks (README, "Python API")::

    import harness
    study = harness.study(seeds=3, polytopes=10)    # models: what the claims need
    runs, points = harness.tables(study)            # from the store, training what it lacks
    verdicts = harness.verdicts(runs, points)       # one Verdict per claim
    harness.report(study, runs, points, verdicts, out="reports/notebook")

Attributes load on first use, so `python -m harness` does not pay for what it does not run.
"""
from __future__ import annotations

import importlib

__all__ = ["study", "tables", "verdicts", "report", "load_claims", "evaluate_all", "Study", "Store", "Claim",
           "Verdict", "Protocol"]

_WHERE = {
    "study": "harness.pipeline", "tables": "harness.pipeline", "verdicts": "harness.pipeline",
    "report": "harness.pipeline", "load_claims": "harness.analysis.discovery",
    "evaluate_all": "harness.analysis.verdicts", "Study": "harness.runs.study", "Store": "harness.runs.store",
    "Claim": "harness.analysis.verdicts", "Verdict": "harness.analysis.verdicts", "Protocol": "harness.config",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'harness' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
