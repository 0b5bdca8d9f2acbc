"""The write-up's own seed 0 on each claim's per-run distribution: its value of the claim's
statistic (asked of the statistic) and where it falls among the runs."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from harness.analysis import stats
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
    scale: str  # the statistic's test scale (its name)
    log_axis: bool  # a ratio: compared on the log scale
    why: str = ""

    def as_dict(self) -> dict:
        return jsonable({k: getattr(self, k) for k in self.__dataclass_fields__})


def seed_zero_value(claim: Claim, reproduced: Mapping[str, dict]) -> float | None:
    """The claim's per-run statistic on the write-up's run (reference.reproduce output, keyed
    by model, then by run-table column); None when that run lacks a model it needs."""
    if not set(claim.statistic.models) <= set(reproduced):
        return None
    return claim.statistic.seed_zero(reproduced)


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
            why = c.statistic.seed_zero_missing()
        pct = stats.percentile_of(value, units) if value is not None and units.size else float("nan")
        out.append(SeedZero(c.id, c.group, value, source, pct, int(np.isfinite(units).sum()),
                            c.statistic.scale, c.statistic.log_axis, why))
    return out


# -- the report's sections ------------------------------------------------------------------------
