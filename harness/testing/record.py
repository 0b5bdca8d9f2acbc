"""The record a run of `pytest claims` leaves, and the comparison of a later run against it.

A record is one JSON file: each claim's verdict with its estimate, 95% CI, p and Holm p,
the study it was judged on, the commit, the package versions and the date. `pytest claims
--compare RECORD` fails, naming every claim whose verdict differs from the record's.
The controller writes it once, from the verdicts the workers reported."""
from __future__ import annotations

import json
import os
import platform
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from harness.errors import HarnessError
from harness.jsonable import jsonable
from harness.runs.provenance import git_commit, package_versions

FORMAT = "mesa-harness claims record 1"


@dataclass(frozen=True)
class Change:
    """A claim whose verdict differs from the record's."""

    id: str
    recorded: str
    now: str

    def __str__(self) -> str:
        return f"{self.id}: recorded {self.recorded!r}, now {self.now!r}"


def build(verdicts: dict[str, dict], study: dict) -> dict:
    """The record of one run: `verdicts` maps claim id to the summary its verdict test
    reported (claimtest.verdict_summary); `study` says what they were judged on."""
    commit, dirty = git_commit()
    try:
        version = metadata.version("mesa-harness")
    except metadata.PackageNotFoundError:
        version = "not installed"
    rows = {k: {f: v for f, v in verdicts[k].items() if f not in ("id", "row")} for k in sorted(verdicts)}
    return {"format": FORMAT, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "study": study,
            "git_commit": commit, "git_uncommitted_changes": dirty, "mesa_harness": version,
            "python": platform.python_version(), "versions": package_versions(), "verdicts": rows}


def write(record: dict, path: str | os.PathLike) -> Path:
    """Writes the record as JSON, atomically (a reader never sees half a file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(jsonable(record), indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)
    return path


def read(path: str | os.PathLike) -> dict:
    """A record written by `write`; a missing or foreign file is a one-line error."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except OSError as exc:
        raise HarnessError(f"cannot read the claims record {path}: {exc.strerror}; a run of `pytest claims` writes "
                           f"one (reports/claims-record.json)")
    except json.JSONDecodeError:
        raise HarnessError(f"{path} is not JSON; give a record written by `pytest claims`")
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise HarnessError(f"{path} is not a claims record ({FORMAT!r}); give one written by `pytest claims`")
    return record


def compare(record: dict, verdicts: dict[str, dict], study: dict) -> list[Change]:
    """The claims judged in both whose verdict word changed, by id. A claim missing from
    either side is no change: a run of some claim files records only those. Records of
    another study size are not compared: their verdicts are expected to differ."""
    if record["study"].get("size") != study.get("size"):
        raise HarnessError(f"the record is of a {record['study'].get('size')} study and this run of a "
                           f"{study.get('size')} one; compare runs of one size")
    old = record["verdicts"]
    return [Change(k, old[k]["verdict"], verdicts[k]["verdict"]) for k in sorted(verdicts)
            if k in old and old[k]["verdict"] != verdicts[k]["verdict"]]
