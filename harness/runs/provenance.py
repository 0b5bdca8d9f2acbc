"""Where the numbers come from: package versions, commit, platform and threads, for the
report and for every stored chunk.

Each chunk the store saves carries its own provenance as `_` columns of its runs file
(`chunk_provenance`): the protocol as JSON, the package versions as JSON, the commit and
whether the checkout had uncommitted changes, and the date; `engine` and `device` are
ordinary columns. runs.csv leaves `_` columns out (schema.run_table); `Store.provenance()`
reads them back, one row per chunk, and `provenance()` summarises them for the report."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Protocol as Structural

if TYPE_CHECKING:
    import pandas as pd

    from harness.config import Protocol

PACKAGES = ("torch", "numpy", "scipy", "statsmodels", "numba", "pandas", "matplotlib", "diptest", "jinja2")


class RunCounts(Structural):
    """What provenance reads of a study.EnsureStats (study.py imports this module)."""

    trained: int
    found: int


def chunk_provenance(protocol: Protocol) -> dict[str, object]:
    """The `_` columns of a chunk trained here and now under `protocol`."""
    commit, dirty = git_commit()
    return {
        "_protocol": json.dumps(dataclasses.asdict(protocol), sort_keys=True),
        "_versions": json.dumps({"python": platform.python_version(), **package_versions()}, sort_keys=True),
        "_commit": commit,
        "_dirty": dirty,
        "_date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def provenance(study, store, device: str, stats: RunCounts, wall_s: float) -> dict:
    """Where the numbers come from: versions, commit, study key, store, date, wall time, runs
    trained vs found, device, platform and threads; and how the study's stored runs were
    made (commits, dates, engines and devices of their chunks)."""
    commit, dirty = git_commit()
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": commit,
        "git_uncommitted_changes": dirty,
        "study_key": study.key,
        "study": study.describe(),
        "store": str(Path(store.root).resolve()),
        "runs_trained": int(stats.trained),
        "runs_found": int(stats.found),
        "wall_s": round(float(wall_s), 1),
        "device": device,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpu_count": os.cpu_count(),
        "threads": _threads(),
        "python": platform.python_version(),
        "versions": package_versions(),
        "stored_runs": stored_summary(store.provenance({s.key for s in study.specs()})),
    }


def stored_summary(chunks: pd.DataFrame) -> dict[str, str]:
    """How the runs in `chunks` (Store.provenance rows) were made, each field's distinct
    values with their run counts: 'abc123 (3000 runs)', or 'unknown' for chunks stored
    before provenance was kept."""
    if chunks.empty:
        return {}
    dirty = chunks["dirty"].astype(str).eq("True")
    commits = chunks["commit"].astype(str).str[:12] + dirty.map({True: " with uncommitted changes", False: ""})
    return {"chunks": str(len(chunks)),
            **{name: _counted(values, chunks["runs"]) for name, values in
               (("commits", commits), ("dates", chunks["date"].astype(str).str[:10]),
                ("engines", chunks["engine"].astype(str)), ("devices", chunks["device"].astype(str)))}}


def _counted(values: pd.Series, runs: pd.Series) -> str:
    totals = runs.groupby(values.to_numpy()).sum().sort_index()
    return ", ".join(f"{v} ({n} runs)" for v, n in totals.items())


def package_versions() -> dict[str, str]:
    """The installed version of each package that can change a number (PACKAGES)."""
    return dict(_installed_versions())


@lru_cache(maxsize=1)  # installed packages do not change under a running process
def _installed_versions() -> tuple[tuple[str, str], ...]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, "not installed"))
    return tuple(versions)


@lru_cache(maxsize=1)
def git_commit() -> tuple[str, bool | None]:
    """The checkout's commit and whether tracked files differ from it ("unknown", None
    outside a git checkout). Asked once per process: every chunk a process saves comes
    from the same checkout, and git status costs a fraction of a second each time."""
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10,
                              check=False)
        if head.returncode != 0:
            return "unknown", None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                capture_output=True, text=True, timeout=10, check=False)
        return head.stdout.strip(), bool(status.stdout.strip()) if status.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return "unknown", None


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _threads() -> dict:
    out = {}
    if "numba" in sys.modules:
        out["numba"] = sys.modules["numba"].get_num_threads()
    if "torch" in sys.modules:
        out["torch"] = sys.modules["torch"].get_num_threads()
    return out
