"""`python -m harness design` as terminal text: one row per claim (its variance components,
Cochran's seeds per polytope, the polytopes, runs and time that decide it), then the one
allocation for the whole family and what each step of it buys."""
from __future__ import annotations

from harness.analysis.design import StudyDesign
from harness.render.format import fmt, fmt_pct


def duration(seconds: float | None) -> str:
    """Seconds as '40 s', '12 min' or '3.5 h'."""
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def design_text(d: StudyDesign) -> str:
    """The design as a table and a few lines (module docstring)."""
    c = d.costs
    lines = [f"pilot: {d.pilot}; a polytope costs {fmt(c.polytope_s * 1000)} ms, a run {fmt(c.run_s * 1000)} ms "
             f"({c.source}); {d.models} models per (polytope, seed); power target {fmt_pct(d.target)} to decide",
             "",
             f"{'claim':24s} {'kind':11s} {'pilot verdict':21s} {'sd between':>10s} {'sd within':>10s} {'usable':>7s} "
             f"{'seeds':>5s} {'polytopes':>9s} {'runs':>9s} {'time':>8s}"]
    for r in d.claims:
        lines.append(f"{r.id:24s} {r.kind:11s} {r.verdict:21s} {fmt(r.between_sd):>10s} {fmt(r.within_sd):>10s} "
                     f"{fmt_pct(r.usable, 2):>7s} {fmt(r.seeds):>5s} {fmt(r.polytopes):>9s} {fmt(r.runs):>9s} "
                     f"{duration(r.seconds):>8s}" + (f"  {r.note}" if r.note else ""))
    lines.append("")
    if d.seeds is None:
        lines.append("no claim can be decided at any study size the pilot suggests")
        return "\n".join(lines)
    lines.append(f"one study for every claim that can be decided: {fmt(d.polytopes)} polytopes x {d.seeds} seeds = "
                 f"{fmt(d.runs)} runs, about {duration(d.seconds)} here")
    lines.append(f"at {d.seeds} seeds per polytope, claims decided (80% power each) by study size:")
    for k, (cid, m, runs, seconds) in enumerate(d.ladder, 1):
        lines.append(f"  {k:2d}  {fmt(m):>7s} polytopes  {fmt(runs):>9s} runs  {duration(seconds):>8s}  + {cid}")
    return "\n".join(lines)
