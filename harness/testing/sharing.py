"""Claim evaluations computed once per run of `pytest claims`, however many xdist workers ask.

Each worker needs every claim's verdict (Holm adjusts each p by the whole family's), and
evaluating all claims costs seconds. So each claim's evaluation (before Holm: `evaluate`'s
result) is kept in the store folder, under a hash of what determines it: the run and point
tables' contents, the claim's definition, the analysis code and the statistics packages'
versions. Workers walk the claims in the same order; a worker takes each claim whose
file is missing and whose lock no one holds, evaluates it and writes it atomically, and
skips the claims another worker holds; then it waits for those and reads them. Two
workers thus split the evaluations between them, and a later run on the same data reads
them all. Files are pickles: the folder is the user's own store, written only by this code,
and a hash that includes the code means a file is never read by another version of it."""
from __future__ import annotations

import hashlib
import os
import pickle
import re
import sys
import uuid
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

import harness
from harness.analysis.verdicts import Claim, Verdict, evaluate

# The packages whose versions can change an evaluation.
PACKAGES = ("numpy", "scipy", "statsmodels", "pandas", "diptest")


def data_key(runs: pd.DataFrame, points: pd.DataFrame | None) -> str:
    """A hash of the tables' contents. Columns of arrays (stored parameters) are left out:
    no claim reads them, and every measurement made from them is a column of its own."""
    h = hashlib.sha256()
    scalar = [c for c in runs.columns if not len(runs) or not hasattr(runs[c].iloc[0], "__len__")
              or isinstance(runs[c].iloc[0], str)]
    h.update(repr(scalar).encode())
    h.update(pd.util.hash_pandas_object(runs[scalar], index=False).to_numpy().tobytes())
    if points is not None:
        h.update(repr(list(points.columns)).encode())
        h.update(pd.util.hash_pandas_object(points, index=False).to_numpy().tobytes())
    return h.hexdigest()


def code_key() -> str:
    """A hash of the code an evaluation runs (harness/analysis/*.py and the base modules they
    import, found by following their `harness.X` imports: the layer rule keeps analysis
    from importing anything else), the statistics packages' versions and Python's."""
    root = Path(harness.__file__).resolve().parent
    todo, seen = sorted((root / "analysis").glob("*.py")), set()
    while todo:
        path = todo.pop()
        if path not in seen:
            seen.add(path)
            names = set(re.findall(r"\bharness\.(\w+)", path.read_text()))
            todo += [root / f"{m}.py" for m in sorted(names) if (root / f"{m}.py").is_file()]
    h = hashlib.sha256(sys.version.encode())
    for path in sorted(seen):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    for name in PACKAGES:
        h.update(f"{name}=={metadata.version(name)}".encode())
    return h.hexdigest()


def evaluation_path(folder: Path, claim: Claim, key: str) -> Path:
    """The file of one claim's evaluation: its id (readable) and a hash of claim and key."""
    h = hashlib.sha256(f"{key}\n{claim!r}".encode()).hexdigest()[:20]
    return folder / f"{re.sub(r'[^A-Za-z0-9_.()-]', '_', claim.id)}-{h}.pkl"


def shared_evaluations(claims: Sequence[Claim], runs: pd.DataFrame, points: pd.DataFrame | None,
                       folder: str | os.PathLike) -> dict[str, Verdict]:
    """{claim id: evaluate(claim, runs, points)}, computed by whichever process first takes
    each claim's lock and read by every other (see the module docstring)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = f"{data_key(runs, points)}:{code_key()}"
    paths = {c.id: evaluation_path(folder, c, key) for c in claims}
    out: dict[str, Verdict] = {}
    for blocking in (False, True):  # first the claims no one holds, then wait for the rest
        for claim in claims:
            if claim.id in out:
                continue
            path = paths[claim.id]
            v = _read(path)  # a file that exists is whole (written by rename): no lock needed
            if v is None:
                lock = Path(f"{path}.lock")
                try:
                    with FileLock(lock, timeout=-1 if blocking else 0):
                        v = _read(path) or _write(path, evaluate(claim, runs, points))
                        # Once the file exists nobody needs the lock (readers look first), so
                        # the store keeps no empty lock file per claim.
                        lock.unlink(missing_ok=True)
                except Timeout:
                    continue
            out[claim.id] = v
    return out


def _read(path: Path) -> Verdict | None:
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None


def _write(path: Path, v: Verdict) -> Verdict:
    tmp = path.with_name(f".{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(v, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)  # readers see the whole file or none
    return v
