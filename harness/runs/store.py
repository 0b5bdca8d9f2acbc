"""The on-disk store: Parquet files in a folder, no server.

Why Parquet: the run table is columnar and tidy, pandas and pyarrow read it natively, and
anyone can open it without our code. Each trained chunk is written as a new pair of files
(runs, points) under a content hash in its name, by write-to-temporary-then-rename, so a
reader never sees half a file, writers never contend for one file, and a file whose bytes
no longer match its name (truncated, altered) is detected, reported and ignored (its runs
are then trained again). A run exists in the store iff its row is in a valid runs file."""
from __future__ import annotations

import hashlib
import os
import sys
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from harness.errors import HarnessError

DEFAULT_CACHE = Path(".cache") / "mesa-harness"
CACHE_ENV = "MESA_HARNESS_CACHE"


def default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


class Store:
    """runs/<chunk>-<sha>.parquet and points/<chunk>-<sha>.parquet under `root`; each runs
    row names its points file in the column `_points`."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache()
        try:
            for sub in ("runs", "points", "tmp"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HarnessError(f"cannot use cache folder {self.root}: {exc.strerror}; pass a writable --cache DIR")
        if not os.access(self.root, os.W_OK):
            raise HarnessError(f"cache folder {self.root} is not writable; pass a writable --cache DIR")
        self._seen: dict[str, pd.DataFrame] = {}  # valid runs files read so far
        self._bad: set[str] = set()

    def lock(self, timeout: float = -1) -> FileLock:
        """The study lock: whoever holds it trains what is missing; others wait, then read."""
        return FileLock(str(self.root / "study.lock"), timeout=timeout)

    # -- reading ---------------------------------------------------------------------------
    def _read_verified(self, path: Path) -> pd.DataFrame | None:
        data = path.read_bytes()
        name = path.stem.rsplit("-", 1)[-1]
        if _digest(data) != name:
            self._warn_bad(path, "its checksum does not match")
            return None
        try:
            return pq.read_table(pa.BufferReader(data)).to_pandas()
        except Exception as exc:  # a file that hashes right but does not parse
            self._warn_bad(path, f"it cannot be read ({type(exc).__name__})")
            return None

    def _warn_bad(self, path: Path, why: str) -> None:
        if path.name not in self._bad:
            self._bad.add(path.name)
            print(f"mesa-harness: ignoring store file {path} because {why}; its runs will be recomputed",
                  file=sys.stderr)

    def runs(self) -> pd.DataFrame:
        """Every valid run row in the store (last write of a key wins)."""
        for path in sorted((self.root / "runs").glob("*.parquet")):
            if path.name in self._seen or path.name in self._bad:
                continue
            df = self._read_verified(path)
            if df is None:
                continue
            pts = self.root / "points" / str(df["_points"].iloc[0])
            if not pts.exists():
                self._warn_bad(path, f"its points file {pts.name} is missing")
                continue
            if _digest(pts.read_bytes()) != pts.stem.rsplit("-", 1)[-1]:
                self._warn_bad(pts, "its checksum does not match")
                self._bad.add(path.name)
                continue
            self._seen[path.name] = df
        if not self._seen:
            return pd.DataFrame()
        allr = pd.concat(self._seen.values(), ignore_index=True)
        return allr.drop_duplicates("key", keep="last").reset_index(drop=True)

    def keys(self) -> set[str]:
        df = self.runs()
        return set(df["key"]) if len(df) else set()

    def points(self, runs: pd.DataFrame) -> pd.DataFrame:
        """The per-point rows of the given runs (as returned by runs())."""
        frames = []
        for part, grp in runs.groupby("_points"):
            df = self._read_verified(self.root / "points" / part)
            if df is None:
                raise HarnessError(f"store file points/{part} is damaged; run the command again to recompute it")
            frames.append(df[df["key"].isin(set(grp["key"]))])
        if not frames:
            return pd.DataFrame(columns=["key", "point", "grad_norm", "distance", "region"])
        return pd.concat(frames, ignore_index=True)

    # -- writing ---------------------------------------------------------------------------
    def write(self, runs: pd.DataFrame, points: pd.DataFrame) -> str:
        """Writes one chunk atomically: the points file first, then the runs file that
        makes its runs visible and names its points file. Returns the runs file's name."""
        chunk = uuid.uuid4().hex[:12]
        pts_bytes = _to_parquet(points)
        pts_name = f"{chunk}-{_digest(pts_bytes)}.parquet"
        runs = runs.assign(_points=pts_name)
        run_bytes = _to_parquet(runs)
        name = f"{chunk}-{_digest(run_bytes)}.parquet"
        self._atomic(self.root / "points" / pts_name, pts_bytes)
        self._atomic(self.root / "runs" / name, run_bytes)
        return name

    def _atomic(self, path: Path, data: bytes) -> None:
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def clean_tmp(self) -> None:
        """Removes what an interrupted writer left; called under the study lock."""
        for f in (self.root / "tmp").glob("*.tmp"):
            f.unlink(missing_ok=True)


def _to_parquet(df: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()
