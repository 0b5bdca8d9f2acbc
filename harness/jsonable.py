"""Plain JSON values, one way for every result: the `as_dict()` of verdicts, power curves,
seed-0 rows and multiverse summaries, and every `--json` output.

It lives in the base layer because analysis (which builds the dicts) and render and the CLI
(which print them) must share it, and analysis may not import render. NaN and infinities
have no JSON token (Python's json writes `NaN`/`Infinity`, which other parsers reject), so
they become null: "no finite value" is what a reader of the JSON can act on.
"""
from __future__ import annotations

import json
import math

import numpy as np


def jsonable(x: object) -> object:
    """`x` with tuples and arrays as lists, numpy scalars as Python ones, and NaN/inf as None."""
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def dumps(x: object) -> str:
    """One line of valid JSON (no NaN or Infinity token: `allow_nan=False` would raise)."""
    return json.dumps(jsonable(x), allow_nan=False)
