"""Numbers as text, one way everywhere: the terminal verdict table, the pytest messages and
the HTML page all call these, so the same p prints the same in each."""
from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np


def fmt(v: object, digits: int = 3, decimals: int | None = None) -> str:
    """A number with `digits` significant digits: 0.0123, 6.91, 105, 12,300, 3.01e-4; or,
    given `decimals`, with that many decimals (a table matched to the write-up's). Integers
    as they are; None and NaN as "n/a"; booleans as yes/no; text unchanged."""
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if abs(int(v)) >= 10_000 else str(int(v))
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if decimals is not None:
        return f"{x:,.{decimals}f}" if abs(x) >= 10_000 else f"{x:.{decimals}f}"
    if x == 0:
        return "0"
    a = abs(x)
    if a < 1e-3:
        mant, exp = f"{x:.{digits - 1}e}".split("e")
        mant = mant.rstrip("0").rstrip(".") if "." in mant else mant
        return f"{mant}e{int(exp)}"
    if a >= 10 ** digits:
        return f"{float(f'{x:.{digits}g}'):,.0f}"
    return f"{x:.{digits}g}"


def fmt_p(p: float | None) -> str:
    """A p-value: "<1e-4" below 1e-4, "3.2e-4" below 1e-3, else 3 significant digits."""
    if p is None or math.isnan(p):
        return "n/a"
    if p < 1e-4:
        return "<1e-4"
    if p < 1e-3:
        return fmt(p, 2)
    return fmt(p)


def fmt_ci(low: float | None, high: float | None, digits: int = 3) -> str:
    """An interval as [low, high]; "n/a" when neither end is known."""
    if low is None or high is None or (math.isnan(low) and math.isnan(high)):
        return "n/a"
    return f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def fmt_pct(share: float | None, digits: int = 3) -> str:
    """A share in [0, 1] as a percentage: 0.388 -> 38.8%."""
    if share is None or math.isnan(share):
        return "n/a"
    return f"{fmt(100 * share, digits)}%"


def ordinal(x: float | None) -> str:
    """A percentile as an ordinal: 93.4 -> 93rd."""
    if x is None or math.isnan(x):
        return "n/a"
    n = round(x)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def slug(text: str) -> str:
    """Text as an HTML id: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def id_ranges(ids: Sequence[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    ids = sorted({int(i) for i in ids})
    parts, start = [], None
    for i, x in enumerate(ids):
        if start is None:
            start = x
        if i + 1 == len(ids) or ids[i + 1] != x + 1:
            parts.append(str(start) if start == x else f"{start}-{x}")
            start = None
    return ", ".join(parts)
