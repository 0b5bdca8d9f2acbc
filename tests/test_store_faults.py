"""The store under faults (issue 14, points 4-8 and 17): an odd file in the store is set
aside in one line and its runs recomputed; a full disk ends in one line that names the
chunk; a read-only store can be read; a process waiting for the lock says for whom; a kill
between the two renames leaves no orphan; nothing outside the store is ever read."""
import contextlib
import errno
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.errors import HarnessError
from harness.runs.export import export
from harness.runs.store import Store
from harness.runs.study import EnsureStats, Study, ensure, ensure_stored

HARNESS = [sys.executable, "-m", "harness"]


@pytest.fixture
def study(short):
    return Study.of(("lp",), polytopes=1, seeds=4, protocol=short)


@pytest.fixture
def root(tmp_path, study):
    """A complete store of `study` in two chunks of two runs."""
    path = tmp_path / "store"
    ensure(study, Store(path), chunk_size=2)
    return path


def _files(root: Path, sub: str) -> list[Path]:
    return sorted((root / sub).glob("*.parquet"))


def _plant(root: Path, table: pd.DataFrame) -> Path:
    """A runs file whose name carries the right checksum, as the store names its own."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), sink)
    data = sink.getvalue().to_pybytes()
    path = root / "runs" / f"{uuid.uuid4().hex[:12]}-{hashlib.sha256(data).hexdigest()[:20]}.parquet"
    path.write_bytes(data)
    return path


def _again(study, root: Path, capfd) -> tuple[EnsureStats, pd.DataFrame, pd.DataFrame, list[str]]:
    st = EnsureStats()
    runs, points = ensure(study, Store(root), stats=st, chunk_size=2)
    return st, runs, points, capfd.readouterr().err.strip().splitlines()


def _refuse_open(monkeypatch, refuse) -> None:
    """Makes every open of a path for which refuse(path, writing) is true fail, whichever
    way it is opened (os.open, open, Path.open)."""
    real_os_open, real_open = os.open, io.open

    def os_open(path, flags, *args, **kwargs):
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if refuse(Path(os.fsdecode(path)), writing):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    def py_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and refuse(Path(os.fsdecode(file)), any(c in mode for c in "wax+")):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", py_open)
    monkeypatch.setattr("builtins.open", py_open)


def _replace_by_copy_without_points(root: Path, victim: Path) -> Path:
    df = pq.read_table(victim).to_pandas().drop(columns="_points")
    victim.unlink()
    return _plant(root, df)


def _replace_by_fifo(root: Path, victim: Path) -> Path:
    victim.unlink()
    os.mkfifo(victim)
    return victim


def _replace_by_directory(root: Path, victim: Path) -> Path:
    victim.unlink()
    victim.mkdir()
    (victim / "inside").write_text("x")
    return victim


def _flip_a_byte(root: Path, victim: Path) -> Path:
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0xFF
    victim.write_bytes(bytes(data))
    return victim


def _symlink_outside(root: Path, victim: Path) -> Path:
    outside = root.parent / victim.name
    shutil.move(victim, outside)
    victim.symlink_to(outside)
    return victim


FAULTS = {  # fault -> (make it from one of the store's runs files, runs it loses)
    "zero-row runs file": (lambda root, v: _plant(root, pq.read_table(v).to_pandas().iloc[:0]), 0),
    "runs file without the points column": (_replace_by_copy_without_points, 2),
    "unrelated table": (lambda root, v: _plant(root, pd.DataFrame({"city": ["Oslo"], "people": [709000]})), 0),
    "directory named *.parquet": (_replace_by_directory, 2),
    "FIFO": (_replace_by_fifo, 2),
    "damaged file": (_flip_a_byte, 2),
    "symlink to a file outside the store": (_symlink_outside, 2),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_odd_store_file_is_set_aside_once_and_its_runs_recomputed(root, study, fault, capfd):
    make, lost = FAULTS[fault]
    capfd.readouterr()
    bad = make(root, _files(root, "runs")[0])
    unblock = threading.Timer(20, _unblock_fifo, [bad])  # today's reader blocks on the FIFO forever
    unblock.start()
    t0 = time.perf_counter()
    try:
        st, runs, points, err = _again(study, root, capfd)
    finally:
        unblock.cancel()
    assert time.perf_counter() - t0 < 15, "the store opened a file that is not a regular file"
    assert len(err) == 1 and bad.name in err[0] and "quarantine" in err[0], err
    assert not os.path.lexists(bad) and any(p.name == bad.name for p in (root / "quarantine").rglob("*"))
    assert st.trained == lost and len(runs) == 4 and len(points) == 4 * 500
    st, _, _, err = _again(study, root, capfd)
    assert err == [] and st.trained == 0, "reported once, never again"


def _unblock_fifo(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def test_an_unreadable_store_file_is_set_aside_and_its_runs_recomputed(root, study, capfd, monkeypatch):
    """Root reads any file whatever its mode, so the refusal is simulated at open."""
    victim = _files(root, "runs")[0]
    capfd.readouterr()
    _refuse_open(monkeypatch, lambda path, writing: path.name == victim.name and path.parent.name == "runs")
    st, runs, _, err = _again(study, root, capfd)
    assert len(err) == 1 and victim.name in err[0] and "quarantine" in err[0], err
    assert st.trained == 2 and len(runs) == 4
    assert (root / "quarantine" / "runs" / victim.name).exists()


def test_a_lock_that_is_a_directory_is_set_aside(tmp_path, study, capfd):
    root = tmp_path / "store"
    (root / "study.lock" / "inside").mkdir(parents=True)
    capfd.readouterr()
    st, runs, _, err = _again(study, root, capfd)
    assert len(err) == 1 and "study.lock" in err[0] and "quarantine" in err[0], err
    assert st.trained == 4 and len(runs) == 4 and not (root / "study.lock").is_dir()


# -- a full disk, a read-only tmp/ (point 5) --------------------------------------------------
def _fail_at(monkeypatch, root: Path, nth: int, code: int) -> None:
    """The nth fsync of a file in the store's tmp/ fails with `code` (a full disk often
    shows only there, when delayed allocation meets the disk)."""
    real, seen = os.fsync, []

    def fsync(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(root / "tmp")):
            seen.append(fd)
            if len(seen) == nth:
                raise OSError(code, os.strerror(code))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


@pytest.mark.parametrize("nth", [5, 6], ids=["points-file", "runs-file"])
def test_a_full_disk_names_the_chunk_keeps_the_saved_ones_and_leaves_no_partial_file(tmp_path, study, monkeypatch, nth):
    root = tmp_path / "store"
    _fail_at(monkeypatch, root, nth, errno.ENOSPC)  # chunks of one run: two fsyncs each
    with pytest.raises(HarnessError) as exc:
        ensure(study, Store(root), chunk_size=1)
    msg = str(exc.value)
    assert "\n" not in msg and "No space left on device" in msg and "chunk 3 of 4" in msg, msg
    assert "the 2 chunks saved before it are kept" in msg, msg
    assert not list((root / "tmp").iterdir()), "no partial file is left"
    assert len(_files(root, "runs")) == 2 and len(_files(root, "points")) == 2, "no orphan points file"
    monkeypatch.undo()
    st = EnsureStats()
    ensure(study, Store(root), chunk_size=1, stats=st)
    assert st.trained == 2


def test_a_read_only_tmp_folder_is_one_line(tmp_path, study, monkeypatch):
    root = tmp_path / "store"
    Store(root)
    _refuse_open(monkeypatch, lambda path, writing: writing and path.parent == root / "tmp")
    with pytest.raises(HarnessError) as exc:
        ensure(study, Store(root), chunk_size=2)
    assert "\n" not in str(exc.value) and "chunk 1 of 2" in str(exc.value) and "Permission denied" in str(exc.value)
    assert not list((root / "tmp").iterdir()) and not _files(root, "points")


# -- a read-only store (point 6) -----------------------------------------------------------------
def _read_only(monkeypatch, root: Path) -> None:
    """Every change inside `root` fails as on read-only media (root ignores file modes)."""
    inside = str(root.resolve())

    def within(path) -> bool:
        return os.path.abspath(os.fsdecode(path)).startswith(inside)

    def refuse(*paths):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(paths[0]))

    _refuse_open(monkeypatch, lambda path, writing: writing and within(path))
    for name in ("mkdir", "replace", "rename", "unlink", "remove", "rmdir", "mkfifo"):
        real = getattr(os, name)
        monkeypatch.setattr(os, name, lambda path, *a, _real=real, **k: refuse(path) if within(path) else _real(path, *a, **k))


def test_a_read_only_store_can_be_read_and_refuses_only_training(root, study, tmp_path, monkeypatch, short):
    _read_only(monkeypatch, root)
    store = Store(root)
    runs, points = ensure(study, store)
    assert len(runs) == 4 and len(points) == 4 * 500
    runs, points = ensure_stored(study, Store(root))
    assert export(runs, study, tmp_path / "out", points) == 4
    bigger = Study.of(("lp",), polytopes=1, seeds=5, protocol=short)
    with pytest.raises(HarnessError) as exc:
        ensure(bigger, Store(root))
    assert "\n" not in str(exc.value) and "read-only" in str(exc.value) and "1 missing run" in str(exc.value)


def _can_mount_read_only() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        "d=$(mktemp -d) && mount --bind $d $d && mount -o remount,bind,ro $d $d"],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_read_only(), reason="needs a private mount namespace (unshare -m)")
def test_claims_export_and_report_on_a_store_mounted_read_only(tmp_path):
    """The real thing: the store on a read-only bind mount, in a private mount namespace."""
    store, out = tmp_path / "store", tmp_path / "out"
    sel = ["--models", "lp,linear", "--polytopes", "2", "--seeds", "2", "--cache", str(store)]
    subprocess.run([*HARNESS, "run", *sel, "--no-progress"], check=True, capture_output=True)

    def read_only(*args: str) -> subprocess.CompletedProcess:
        mount = f"mount --bind {store} {store} && mount -o remount,bind,ro {store} {store} && "
        return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", mount + " ".join(args)],
                              capture_output=True, text=True)

    for command in (["claims"], ["export", "--out", str(out / "export")],
                    ["report", "--multiverse", "none", "--no-progress", "--out", str(out / "report")]):
        r = read_only(*HARNESS, *command, *sel)
        assert r.returncode == 0 and "Traceback" not in r.stderr, (command, r.stderr)
    assert (out / "export" / "runs.csv").exists() and (out / "report" / "index.html").exists()
    r = read_only(*HARNESS, "run", *sel[:-4], "--seeds", "3", "--cache", str(store), "--no-progress")
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and "read-only file system" in last and "4 missing runs" in last, r.stderr


# -- waiting for the lock (point 7) ---------------------------------------------------------------
HOLD = """import sys, time
from harness.runs.store import Store
with Store(sys.argv[1]).lock():
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _holder(root: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(root), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.parametrize("stopped", [False, True], ids=["busy", "stopped"])
def test_a_waiting_process_names_the_holder_and_gives_up(tmp_path, study, monkeypatch, capfd, stopped):
    root = tmp_path / "store"
    holder = _holder(root, 60)
    watchdog = threading.Timer(20, holder.kill)  # today's waiter would wait for ever
    watchdog.start()
    try:
        if stopped:
            os.kill(holder.pid, signal.SIGSTOP)
        monkeypatch.setenv("MESA_HARNESS_LOCK_TIMEOUT", "1")
        capfd.readouterr()
        with pytest.raises(HarnessError) as exc:
            ensure(study, Store(root))
        err = capfd.readouterr().err.strip().splitlines()
    finally:
        watchdog.cancel()
        holder.kill()
        holder.wait()
    msg = str(exc.value)
    assert len(err) == 1 and "waiting" in err[0] and f"pid {holder.pid}" in err[0], err
    assert "\n" not in msg and f"pid {holder.pid}" in msg and "MESA_HARNESS_LOCK_TIMEOUT" in msg, msg
    assert ("stopped" in msg) == stopped, msg


def test_a_waiting_process_goes_on_when_the_holder_is_done(tmp_path, study, capfd):
    root = tmp_path / "store"
    holder = _holder(root, 2)
    capfd.readouterr()
    st, runs, _, err = _again(study, root, capfd)
    holder.wait()
    assert st.trained == 4 and len(runs) == 4
    assert len(err) == 1 and f"pid {holder.pid}" in err[0], err


BUSY = """import shutil, sys, time, uuid
from pathlib import Path
from harness.runs.store import Store
runs = Path(sys.argv[1]) / "runs"
first = sorted(runs.glob("*.parquet"))[0]
with Store(sys.argv[1]).lock():
    print("held", flush=True)
    for _ in range(12):  # a chunk saved every 0.3 s: a copy under a new chunk name is a valid runs file
        time.sleep(0.3)
        shutil.copy(first, runs / f"{uuid.uuid4().hex[:12]}-{first.name.split('-', 1)[1]}")
"""


def test_a_holder_that_keeps_saving_chunks_is_waited_for_past_the_timeout(root, study, short, monkeypatch, capfd):
    holder = subprocess.Popen([sys.executable, "-c", BUSY, str(root)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    monkeypatch.setenv("MESA_HARNESS_LOCK_TIMEOUT", "1")
    capfd.readouterr()
    t0 = time.perf_counter()
    st = EnsureStats()
    ensure(Study.of(("lp",), polytopes=1, seeds=5, protocol=short), Store(root), stats=st)
    assert holder.wait() == 0 and time.perf_counter() - t0 > 3 and st.trained == 1


def test_a_bad_lock_timeout_is_one_line(tmp_path, study, monkeypatch):
    monkeypatch.setenv("MESA_HARNESS_LOCK_TIMEOUT", "soon")
    with pytest.raises(HarnessError, match="MESA_HARNESS_LOCK_TIMEOUT"):
        ensure(study, Store(tmp_path))


# -- a kill between the two renames (point 8) ---------------------------------------------------------
KILL_BETWEEN_RENAMES = """import os, signal, sys
from harness.config import Protocol
from harness.runs.store import Store
from harness.runs.study import Study, ensure
real = os.replace
def replace(src, dst, *a, **k):
    if os.path.basename(os.path.dirname(os.fspath(dst))) == "runs":
        os.kill(os.getpid(), signal.SIGKILL)
    return real(src, dst, *a, **k)
os.replace = replace
ensure(Study.of(("lp",), polytopes=1, seeds=4, protocol=Protocol(epochs=2)), Store(sys.argv[1]), chunk_size=2)
"""


def _referenced(root: Path) -> set[str]:
    return {n for f in _files(root, "runs") for n in pq.read_table(f, columns=["_points"]).to_pandas()["_points"]}


def test_a_kill_between_the_two_renames_leaves_no_orphan(tmp_path, study, capfd):
    root = tmp_path / "store"
    r = subprocess.run([sys.executable, "-c", KILL_BETWEEN_RENAMES, str(root)], capture_output=True)
    assert r.returncode == -signal.SIGKILL
    assert len(_files(root, "points")) == 1 and not _files(root, "runs"), "the kill left an orphan points file"
    st, runs, _, err = _again(study, root, capfd)
    assert st.trained == 4 and len(runs) == 4 and err == []
    assert {p.name for p in _files(root, "points")} == _referenced(root)


def test_an_orphan_points_file_is_removed_on_open_of_a_complete_store(root, study, capfd):
    orphan = root / "points" / f"{uuid.uuid4().hex[:12]}-{_files(root, 'points')[0].name.split('-', 1)[1]}"
    shutil.copy(_files(root, "points")[0], orphan)
    capfd.readouterr()
    st, _, _, err = _again(study, root, capfd)
    assert st.trained == 0 and err == [] and not orphan.exists()
    assert {p.name for p in _files(root, "points")} == _referenced(root)


# -- nothing outside the store (point 17) ---------------------------------------------------------
@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_a_points_path_outside_the_store_is_refused(root, study, tmp_path, capfd, monkeypatch, how):
    victim = _files(root, "runs")[0]
    df = pq.read_table(victim).to_pandas()
    outside = tmp_path / df["_points"].iloc[0]  # a valid points file, checksum and all, outside the store
    shutil.copy(root / "points" / df["_points"].iloc[0], outside)
    df["_points"] = f"../../{outside.name}" if how == "relative" else str(outside)
    victim.unlink()
    crafted = _plant(root, df)
    opened = []
    _refuse_open(monkeypatch, lambda path, writing: opened.append(path.resolve()) and False)
    capfd.readouterr()
    st, runs, _, err = _again(study, root, capfd)
    assert outside.resolve() not in opened, "the harness read a file outside the store"
    assert len(err) == 1 and crafted.name in err[0] and "outside the store" in err[0], err
    assert st.trained == 2 and len(runs) == 4
