"""The on-disk store: Parquet files in a folder, no server.

Why Parquet: the run table is columnar and tidy, pandas and pyarrow read it natively, and
anyone can open it without our code. Each trained chunk is written as a new pair of files
(runs, points) under a content hash in its name, by write-to-temporary-then-rename, so a
reader never sees half a file, writers never contend for one file, and a file whose bytes
no longer match its name (truncated, altered) is detected. A run exists in the store iff
its row is in a valid runs file.

Whatever else turns up in the store (a damaged file, an empty or unrelated table, a
directory, a FIFO, a link, a file that cannot be read, a runs file naming a points file
elsewhere) is moved to `quarantine/` with one line on stderr, and its runs are trained
again when asked for: no file can make every command fail until it is removed by hand, and
no file makes the harness read outside the store. Only regular files are ever opened.
Reading needs no write access: a read-only store serves every command but training."""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import sys
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.errors import HarnessError
from harness.runs.lock import StoreLock
from harness.schema import POINT_COLUMNS

DEFAULT_CACHE = Path(".cache") / "mesa-harness"
CACHE_ENV = "MESA_HARNESS_CACHE"
FILE_NAME = re.compile(r"[0-9a-f]{12}-[0-9a-f]{20}\.parquet")  # <chunk>-<checksum>.parquet, nothing else
# What makes a table a runs file (a later version may add columns; older files stay valid).
RUNS_FILE_COLUMNS = ("key", "model", "polytope", "seed", "status", "_points")
FOLDERS = ("runs", "points", "tmp")


def default_cache() -> Path:
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


class _Odd(Exception):
    """A store entry that is not what the store writes; the message says why."""


class Store:
    """runs/<chunk>-<sha>.parquet and points/<chunk>-<sha>.parquet under `root`; each runs
    row names its points file in the column `_points`, and carries its chunk's provenance
    in the other `_` columns (harness/runs/provenance.py)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_cache()
        self.read_only_reason: str | None = None
        try:
            for sub in FOLDERS:
                (self.root / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            if not self.root.is_dir():
                raise HarnessError(f"cannot use cache folder {self.root}: {exc.strerror}; pass a writable --cache DIR")
            self.read_only_reason = exc.strerror
        if self.read_only_reason is None and not all(os.access(self.root / s, os.W_OK) for s in ("", *FOLDERS)):
            self.read_only_reason = "read-only file system" if _on_read_only_media(self.root) else "no write access"
        self._seen: dict[str, pd.DataFrame] = {}  # valid runs files read so far
        self._bad: set[str] = set()  # entries set aside (or, in a read-only store, to be ignored)

    @property
    def writable(self) -> bool:
        return self.read_only_reason is None

    # -- the lock -------------------------------------------------------------------------------
    def lock(self, why: str = "training needs write access") -> StoreLock:
        """The study lock: whoever holds it trains what is missing; others wait, then read.
        `why` completes the error on a read-only store ("3 missing runs need training")."""
        if not self.writable:
            raise self._read_only(why, self.read_only_reason)
        path = self.root / "study.lock"
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            self._set_aside(path, f"it is {_kind(mode)}, not a lock file", tail="")
        return StoreLock(path, self._progress, lambda exc: self._read_only(why, exc.strerror))

    def _read_only(self, why: str, reason: str | None) -> HarnessError:
        return HarnessError(f"the store {self.root} is read-only ({reason}): it can be read, but {why}; "
                            f"pass a writable --cache DIR")

    def _progress(self) -> int:
        """Changes whenever a chunk is saved: what a waiter for the lock watches."""
        try:
            return len(os.listdir(self.root / "runs"))
        except OSError:
            return -1

    # -- reading ----------------------------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        """Every valid run row in the store (last write of a key wins)."""
        for path in sorted((self.root / "runs").glob("*.parquet")):
            if path.name not in self._seen and path.name not in self._bad:
                df = self._load_runs(path)
                if df is not None:
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
            df = self._table(self.root / "points" / part, quiet=True) if FILE_NAME.fullmatch(str(part)) else None
            if df is None:
                raise HarnessError(f"store file points/{part} is damaged; run the command again to recompute it")
            frames.append(df[df["key"].isin(set(grp["key"]))])
        if not frames:
            return pd.DataFrame(columns=POINT_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def provenance(self, keys: set[str] | None = None) -> pd.DataFrame:
        """One row per stored chunk (file, runs, then its `_` columns without the underscore:
        protocol, versions, commit, dirty, date; and engine, device). A chunk stored before
        provenance was kept reads 'unknown'. keys: count only these runs, skip other chunks."""
        self.runs()
        rows = []
        for name, df in sorted(self._seen.items()):
            n = len(df) if keys is None else int(df["key"].isin(keys).sum())
            if n == 0:
                continue
            row = {"file": name, "runs": n}
            for col in ("_protocol", "_versions", "_commit", "_dirty", "_date", "engine", "device"):
                value = df[col].iloc[0] if col in df.columns else None
                row[col.lstrip("_")] = "unknown" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) \
                    else value
            rows.append(row)
        return pd.DataFrame(rows, columns=["file", "runs", "protocol", "versions", "commit", "dirty", "date", "engine",
                                           "device"])

    def _load_runs(self, path: Path) -> pd.DataFrame | None:
        """The runs file at `path` if it and its points files are sound; else None, after
        setting it aside (with its points files when they are what is wrong)."""
        df = self._table(path)
        if df is None:
            return None
        try:
            missing = [c for c in RUNS_FILE_COLUMNS if c not in df.columns]
            if missing:
                raise _Odd(f"it is not a runs file (it has no column {missing[0]!r})")
            if df.empty:
                raise _Odd("it holds no runs")
            for name in df["_points"].unique():
                if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
                    raise _Odd(f"it names a points file outside the store ({str(name)[:80]!r})")
                self._check_points(name)
        except _Odd as odd:
            self._set_aside(path, str(odd))
            return None
        return df

    def _check_points(self, name: str) -> None:
        pts = self.root / "points" / name
        try:
            data = _read_regular(pts)
        except FileNotFoundError:
            raise _Odd(f"its points file {name} is missing") from None
        except _Odd as odd:
            self._set_aside(pts, str(odd), quiet=True)
            raise _Odd(f"its points file {name} is unusable ({odd})") from None
        if _digest(data) != name.rsplit("-", 1)[-1].removesuffix(".parquet"):
            self._set_aside(pts, "its checksum does not match", quiet=True)
            raise _Odd(f"its points file {name} is damaged (its checksum does not match)")

    def _table(self, path: Path, quiet: bool = False) -> pd.DataFrame | None:
        """A store file's table, checked against the checksum in its name; None (the file
        set aside) if it is not a sound store file, or if it vanished meanwhile (another
        process set it aside)."""
        try:
            data = _read_regular(path)
            if not FILE_NAME.fullmatch(path.name) or _digest(data) != path.stem.rsplit("-", 1)[-1]:
                raise _Odd("its checksum does not match")
            try:
                return pq.read_table(pa.BufferReader(data)).to_pandas()
            except Exception as exc:  # noqa: BLE001 - a file that hashes right but does not parse
                raise _Odd(f"it cannot be read as Parquet ({type(exc).__name__})") from None
        except FileNotFoundError:
            return None
        except _Odd as odd:
            self._set_aside(path, str(odd), quiet=quiet)
            return None

    # -- setting aside ----------------------------------------------------------------------------
    def _set_aside(self, path: Path, why: str, tail: str = "; its runs will be recomputed", quiet: bool = False) -> None:
        """Moves `path` to quarantine/<its folder>/ and says so in one line, once. In a
        read-only store it stays, and is ignored for the rest of this process."""
        if path.name in self._bad:
            return
        self._bad.add(path.name)
        folder = self.root / "quarantine" / (path.parent.name if path.parent != self.root else "")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            dest = folder / path.name
            if os.path.lexists(dest):
                dest = folder / f"{path.name}.{uuid.uuid4().hex[:8]}"
            os.rename(path, dest)
            where = f"moved it to {folder}"
        except FileNotFoundError:
            return  # another process moved it first, and said so
        except OSError as exc:
            where = f"it stays in place ({exc.strerror})"
        if not quiet:
            print(f"mesa-harness: ignoring store file {path} because {why}; {where}{tail}", file=sys.stderr, flush=True)

    # -- writing ----------------------------------------------------------------------------------
    def write(self, runs: pd.DataFrame, points: pd.DataFrame) -> str:
        """Writes one chunk atomically, under the study lock: the points file first, then
        the runs file that makes its runs visible and names its points file. Returns the
        runs file's name. On failure (a full disk, a read-only tmp/) it removes what it
        wrote, so that every file in the store stays whole and named, and raises OSError."""
        chunk = uuid.uuid4().hex[:12]
        pts_bytes = _to_parquet(points)
        pts_path = self.root / "points" / f"{chunk}-{_digest(pts_bytes)}.parquet"
        run_bytes = _to_parquet(runs.assign(_points=pts_path.name))
        name = f"{chunk}-{_digest(run_bytes)}.parquet"
        self._atomic(pts_path, pts_bytes)
        try:
            self._atomic(self.root / "runs" / name, run_bytes)
        except BaseException:
            with contextlib.suppress(OSError):
                pts_path.unlink()
            raise
        return name

    def _atomic(self, path: Path, data: bytes) -> None:
        tmp = self.root / "tmp" / f"{uuid.uuid4().hex}.tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise

    def untidy(self) -> bool:
        """Whether an interrupted writer left something behind (see tidy)."""
        tmp, orphans = self._leftovers()
        return bool(tmp or orphans)

    def tidy(self) -> None:
        """Removes what interrupted writers left: partial files in tmp/, and points files
        that no runs file names (a kill between a chunk's two renames). Only under the study
        lock: a writer between its two renames holds it."""
        tmp, orphans = self._leftovers()
        for path in tmp + orphans:
            try:
                mode = os.lstat(path).st_mode
                if stat.S_ISDIR(mode) or (path in orphans and not FILE_NAME.fullmatch(path.name)):
                    self._set_aside(path, "the store did not write it" if not stat.S_ISDIR(mode) else "it is a directory",
                                    tail="")
                else:
                    path.unlink()
            except FileNotFoundError:
                pass

    def _leftovers(self) -> tuple[list[Path], list[Path]]:
        self.runs()
        named = {n for df in self._seen.values() for n in df["_points"].unique()}
        try:
            tmp = [self.root / "tmp" / n for n in os.listdir(self.root / "tmp")]
            points = [self.root / "points" / n for n in os.listdir(self.root / "points")]
        except OSError:
            return [], []
        return tmp, [p for p in points if p.name not in named and p.name not in self._bad]


def _read_regular(path: Path) -> bytes:
    """The bytes of a regular file; raises _Odd for anything else (a directory, a FIFO, a
    link, a file it may not read) without waiting on it, and FileNotFoundError if gone."""
    mode = os.lstat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _Odd(f"it is {_kind(mode)}, not a file")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise _Odd(f"it cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since lstat
            raise _Odd("it is not a regular file")
        try:
            return f.read()
        except OSError as exc:
            raise _Odd(f"it cannot be read ({exc.strerror})") from None


def _on_read_only_media(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # statvfs is POSIX only
        return False


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISLNK, "a symbolic link"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _to_parquet(df: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()
