"""How much memory a selection needs, estimated before anything is built, so that a
selection that cannot fit is refused in one line instead of exhausting the machine.

The limit is this machine's available memory, not a fixed count of runs: a study is held
in memory as its run table and its per-point table, so its size is its number of runs
times the bytes of one run's rows under the protocol."""
from __future__ import annotations

import os
from pathlib import Path

from harness.config import Protocol
from harness.errors import HarnessError
from harness.schema import RUN_ID_COLUMNS, RUN_MEASURE_COLUMNS

KEY_CHARS = 24  # RunSpec.key: 24 hex characters
# Copies of a study's tables alive at the peak: the store's files as read, the study's
# selection of them, and one working copy (pandas merges and filters copy). Measured:
# `claims` on the 30 x 10 study (82 MB of tables) peaks about 250 MB above the interpreter.
TABLE_COPIES = 3
# (models, points, hidden) float64 arrays alive at once while a batch is measured (z, h,
# the scaled activations, their gradient, ds/dz). Measured: bench's measurement of 1,024
# models at once peaks 0.6 MB per model above the trained batch (500 points x 32 units).
MEASURE_ARRAYS = 5


def available_bytes() -> int:
    """Memory available to a new allocation: MemAvailable from /proc/meminfo (Linux), else
    the physical memory from sysconf."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def run_bytes(protocol: Protocol) -> int:
    """Bytes one run takes in a study's tables: n_test per-point rows (a key in an Arrow
    string column with its 8-byte offset, int32 point, float64 gradient norm and distance,
    a 1-byte region code) and its run row (8 bytes a column, parameters included)."""
    point_row = KEY_CHARS + 8 + 4 + 8 + 8 + 1
    n_params = protocol.hidden * (protocol.dim + 2) + 3  # W1, b1, w; b, c, e
    run_row = 8 * (len(RUN_ID_COLUMNS) + len(RUN_MEASURE_COLUMNS) + n_params) + KEY_CHARS
    return protocol.n_test * point_row + run_row


def batch_model_bytes(protocol: Protocol) -> int:
    """Bytes one model takes while a batch is trained and measured at once (bench): the
    measurement's (points, hidden) arrays, and its training data (float64 inputs and label)."""
    return 8 * (MEASURE_ARRAYS * protocol.n_test * protocol.hidden + protocol.n_train * (protocol.dim + 1))


def human(n: float) -> str:
    """1500 -> "1.5 KB"; decimal units, as `free -h` and disk sizes are usually read."""
    units = ("B", "KB", "MB", "GB", "TB", "PB", "EB")
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000
        i += 1
    return f"{n:.3g} {units[i]}"


def check_fits(what: str, count: int, per_item: int, advice: str) -> None:
    """Refuses `count` items of `per_item` bytes each when they exceed the available memory;
    `what` names the selection ("10 seeds x 10 polytopes x 2 models = 200 runs")."""
    need = count * per_item
    have = available_bytes()
    if need > have:
        raise HarnessError(f"{what} would need about {human(need)} of memory ({human(per_item)} each) "
                           f"but {human(have)} is available here; {advice}")


def check_study_fits(n_seeds: int, n_polytopes: int, n_models: int, protocol: Protocol | None = None,
                     what: str = "") -> None:
    """Refuses a study whose tables would not fit in this machine's memory."""
    n = n_seeds * n_polytopes * n_models
    label = f"{what}{n_seeds:,} seeds x {n_polytopes:,} polytopes x {n_models} models = {n:,} runs"
    check_fits(label, n, TABLE_COPIES * run_bytes(protocol or Protocol()), "select fewer seeds or polytopes")
