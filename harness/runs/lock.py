"""The store's study lock: whoever holds it trains what is missing; others wait, then read.

A waiter is never silent and never waits for ever: it says in one line whom it waits for
(the holder writes its pid and host beside the lock, in `study.lock.pid`) and gives up
with one line when the holder has saved no chunk for MESA_HARNESS_LOCK_TIMEOUT seconds
(a stopped or hung holder), however long a busy holder keeps the lock. The lock itself is
the operating system's (flock through `filelock`), so a holder that dies frees it at once."""
from __future__ import annotations

import contextlib
import math
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from harness.errors import HarnessError

LOCK_TIMEOUT_ENV = "MESA_HARNESS_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 600.0  # ten minutes without a saved chunk: no healthy chunk takes that long
POLL_S = 0.25


def lock_timeout() -> float:
    """Seconds a waiter allows the holder between two saved chunks ($MESA_HARNESS_LOCK_TIMEOUT)."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise HarnessError(f"{LOCK_TIMEOUT_ENV} must be a positive number of seconds (got {text!r})")
    return value


class StoreLock:
    """A context manager around the lock file `path`. `progress()` returns anything that
    changes whenever the holder saves a chunk; `denied(exc)` turns a lock file that cannot
    be created (a read-only store) into the user's one-line error."""

    def __init__(self, path: Path, progress: Callable[[], object], denied: Callable[[OSError], HarnessError]):
        self.path = Path(path)
        self.holder_file = self.path.with_name(self.path.name + ".pid")
        self._progress = progress
        self._denied = denied
        self._lock = FileLock(str(self.path))

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        timeout = lock_timeout()
        if not self._try(0):
            self._wait(timeout)
        self._write_holder()

    def try_acquire(self) -> bool:
        """Takes the lock if it is free now; False if another process holds it."""
        if not self._try(0):
            return False
        self._write_holder()
        return True

    def release(self) -> None:
        # The pid file goes first: once the lock is free, the next holder writes its own.
        with contextlib.suppress(OSError):
            if self._read_holder() == (os.getpid(), socket.gethostname()):
                self.holder_file.unlink()
        self._lock.release()

    def _try(self, timeout: float) -> bool:
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            return False
        except OSError as exc:
            raise self._denied(exc) from None
        return True

    def _wait(self, timeout: float) -> None:
        print(f"mesa-harness: waiting for the store lock {self.path}, held by {self._who()}; giving up after "
              f"{timeout:g} s without a saved chunk (${LOCK_TIMEOUT_ENV})", file=sys.stderr, flush=True)
        last, since = self._progress(), time.monotonic()
        while not self._try(POLL_S):
            now = self._progress()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= timeout:
                raise HarnessError(f"gave up after {timeout:g} s waiting for the store lock {self.path}: "
                                   f"{self._who()} saved nothing in that time{self._advice()}; "
                                   f"set {LOCK_TIMEOUT_ENV} to wait longer")

    def _write_holder(self) -> None:
        """Advisory: a pid file that cannot be written only makes waiters less specific."""
        tmp = self.holder_file.with_name(f"{self.holder_file.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(f"{os.getpid()} {socket.gethostname()}\n")
            os.replace(tmp, self.holder_file)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()

    def _read_holder(self) -> tuple[int, str] | None:
        try:
            if not self.holder_file.is_file() or self.holder_file.is_symlink():
                return None
            pid, host = self.holder_file.read_text()[:300].split()[:2]
            return int(pid), host
        except (OSError, ValueError):
            return None

    def _who(self) -> str:
        holder = self._read_holder()
        if holder is None:
            return "another process"
        pid, host = holder
        return f"pid {pid}" if host == socket.gethostname() else f"pid {pid} on host {host}"

    def _advice(self) -> str:
        holder = self._read_holder()
        if holder is None or holder[1] != socket.gethostname():
            return ""
        state = _process_state(holder[0])
        if state == "stopped":
            return f" (it is stopped: resume it with `kill -CONT {holder[0]}`, or end it)"
        if state == "gone":
            return " (that process has ended; a process it started may still hold the lock)"
        return f" (it may be hung: look at it with `ps -p {holder[0]}`)"


def _process_state(pid: int) -> str:
    """'stopped', 'gone' (a zombie too) or 'running', from /proc on Linux; elsewhere 'gone' or 'running'."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
        return "stopped" if state in ("T", "t") else "gone" if state in ("Z", "X") else "running"
    except FileNotFoundError:
        return "gone"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except OSError:
        pass
    return "running"
