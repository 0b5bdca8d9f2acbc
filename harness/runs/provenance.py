"""Where the numbers come from: package versions, commit, platform and threads, for the
report and for every stored chunk."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness.runs.study import EnsureStats

PACKAGES = ("torch", "numpy", "scipy", "statsmodels", "numba", "pandas", "matplotlib", "diptest", "jinja2")
def provenance(study, store, device: str, stats: EnsureStats, wall_s: float) -> dict:
    """Where the numbers come from: versions, commit, study key, store, date, wall time, runs
    trained vs found, device, platform and threads."""
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
    }


def package_versions() -> dict[str, str]:
    """The installed version of each package that can change a number (PACKAGES)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit() -> tuple[str, bool | None]:
    """The checkout's commit and whether tracked files differ from it ("unknown", None
    outside a git checkout)."""
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


# -- intervals for the descriptive parts -----------------------------------------------------------
