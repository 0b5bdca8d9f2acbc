from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.analysis import stats
from harness.analysis.statistics import (
    ALPHA,
    RATIO_FLOOR,
    DipShare,
    PairedDiff,
    PairedRatio,
    RatioOfMeans,
    RunMean,
    Slope,
    WithinDiff,
    WithinRatio,
)
from harness.analysis.verdicts import Claim, Verdict
from harness.jsonable import jsonable


@dataclass(frozen=True)
class SeedZero:
    """The write-up's own run (seed 0 under the experiment's seeding) on one claim's per-run
    distribution: its value of the claim's per-run statistic and that value's percentile."""

    id: str
    group: str
    value: float | None
    source: str  # "reproduced" (computed from reference.reproduce), "write-up" (its table) or ""
    percentile: float
    n_runs: int
    scale: str
    why: str = ""

    def as_dict(self) -> dict:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def _floor_ratio(a: float, b: float) -> float:
    return math.exp(math.log(max(a, RATIO_FLOOR)) - math.log(max(b, RATIO_FLOOR)))


def _dip_reject(reproduced: Mapping[str, dict], model: str, region: str) -> float:
    """1.0 when seed 0's gradient norms in `region` fail the dip test at alpha, else 0.0.
    reproduced[model]["grad_norms"][region]: that run's per-point norms (the pipeline measures them)."""
    g = np.asarray(reproduced[model]["grad_norms"][region], dtype=float)
    _, p = stats.dip_per_run([g])
    return float(p[0] < ALPHA)


def seed_zero_value(claim: Claim, reproduced: Mapping[str, dict]) -> float | None:
    """The claim's per-run statistic on the write-up's run (reference.reproduce output, keyed
    by model, then by run-table column); None when that run lacks a model it needs."""
    st = claim.statistic
    if not set(st.models) <= set(reproduced):
        return None
    r = reproduced

    def col(m: str, c: str) -> float:
        return float(r[m][c])

    if isinstance(st, PairedRatio):
        return _floor_ratio(col(st.num, st.column), col(st.den, st.column))
    if isinstance(st, PairedDiff):
        return col(st.a, st.column) - col(st.b, st.column)
    if isinstance(st, WithinDiff):
        return col(st.model, st.after) - col(st.model, st.before)
    if isinstance(st, RatioOfMeans):
        den = col(st.den, st.column)
        return col(st.num, st.column) / den if den > 0 else math.inf
    if isinstance(st, WithinRatio):
        return _floor_ratio(col(st.model, st.num_col), col(st.model, st.den_col))
    if isinstance(st, RunMean):
        return float(np.mean([col(m, st.column) for m in st.models]))
    if isinstance(st, DipShare):
        return _dip_reject(r, st.model, st.region) if "grad_norms" in r[st.model] else None
    return None  # a slope needs many runs


def seed_zero(claims: Sequence[Claim], verdicts: Sequence[Verdict],
              reproduced: Mapping[str, dict] | None) -> list[SeedZero]:
    """Seed 0 on every claim's per-run distribution (Verdict.unit_values). The value comes from
    the reproduced run when it has the claim's models (reproduced = reference.reproduce(0)),
    else from the write-up's table (claim.writeup), else there is none."""
    by_id = {v.id: v for v in verdicts}
    out = []
    for c in claims:
        v = by_id.get(c.id)
        if v is None:
            continue
        units = np.asarray(v.unit_values if v.unit_values is not None else [], dtype=float)
        value, source, why = None, "", ""
        if reproduced is not None:
            value = seed_zero_value(c, reproduced)
            source = "reproduced" if value is not None else ""
        if value is None and c.writeup is not None:
            value, source = float(c.writeup), "write-up"
        if value is None:
            why = ("a slope across runs has no single-run value" if isinstance(c.statistic, Slope)
                   else f"the write-up ran only lp and linear; this claim needs {', '.join(c.statistic.models)}")
        pct = stats.percentile_of(value, units) if value is not None and units.size else float("nan")
        out.append(SeedZero(c.id, c.group, value, source, pct, int(np.isfinite(units).sum()),
                            c.statistic.scale, why))
    return out


# -- the report's sections ------------------------------------------------------------------------
