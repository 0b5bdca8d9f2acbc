from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.analysis.multiverse import Multiverse


def table_text(mv: Multiverse, power: Sequence | None = None) -> str:
    """The terminal table: per claim, the default verdict, where it holds, and seeds needed."""
    need = {p.id: p.display for p in power} if power else {}
    n_specs = len(mv.specs)
    head = (f"{'claim':28s} {'default verdict':20s} {'holds in':>14s} {'same verdict':>12s}  "
            f"{'seeds needed' if need else ''}")
    lines = [f"multiverse ({mv.plan}): {n_specs} specifications; main study {mv.main_size}"
             + (f", training choices on {mv.train_size}" if mv.train_size else "") + f"; {mv.seconds:.0f} s", head]
    for r in mv.robustness:
        holds = f"{r.n_holds}/{r.n_specs} {100 * r.share:3.0f}%" if r.n_specs else "untestable"
        agree = f"{100 * r.agree_share:3.0f}%" if r.n_specs else ""
        line = f"{r.id:28s} {r.default_verdict:20s} {holds:>14s} {agree:>12s}  {need.get(r.id, '')}"
        lines.append(line.rstrip())
        if r.flips:
            lines.append(f"{'':28s}   changes under: {', '.join(r.flips)}")
        if r.reference_verdict is not None and r.reference_verdict != r.default_verdict:
            lines.append(f"{'':28s}   default specification on the training study: {r.reference_verdict}")
    return "\n".join(lines)


def as_json(mv: Multiverse, power: Sequence | None = None, seed0: Sequence | None = None) -> list[dict]:
    """One object per claim: the robustness summary, its specifications, power and seed 0."""
    pw = {p.id: p.as_dict() for p in power or ()}
    s0 = {s.id: s.as_dict() for s in seed0 or ()}
    out = []
    for r in mv.robustness:
        o = mv.of(r.id)
        specs = [{k: _plain(v) for k, v in row.items() if k not in ("id", "group")}
                 for row in o.drop(columns=["label"]).to_dict("records")]
        out.append({**r.as_dict(), "seeds_needed": pw.get(r.id, {}).get("seeds_needed"),
                    "seeds_answer": pw.get(r.id, {}).get("answer"), "power": pw.get(r.id), "seed0": s0.get(r.id),
                    "specifications": specs})
    return out


def _plain(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# -- the report's sections ---------------------------------------------------------------------------
# The verdict colours of the report's badges (templates/report.css).
