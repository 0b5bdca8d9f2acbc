"""`python -m harness design` as terminal text and as the report's "Study design" section: one
row per claim (its variance components, Cochran's seeds per polytope, the polytopes, runs and
time that decide it), then the one allocation for the whole family and what each step of it buys."""
from __future__ import annotations

import math

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


def design_section(d: StudyDesign, seconds: float = float("nan")):
    """The report section "Study design": the rule, a row per claim, and the ladder (what each
    further claim costs at the family's seeds per polytope)."""
    from harness.render.page import Section, Table

    c = d.costs
    intro = (
        f"How large must a study be to decide each write-up claim, and where should its runs go? The report's own "
        f"study ({d.pilot}) serves as the pilot. Each claim's units are split into the variance between polytopes "
        "(s_b) and within them, seed to seed (s_w), by the one-way random-effects ANOVA's method of moments. A "
        f"polytope costs c1 = {fmt(c.polytope_s * 1000)} ms here and a run {fmt(c.run_s * 1000)} ms ({c.source}), so "
        f"a seed on a polytope, a run of each of the {d.models} models, costs c2 = {fmt(c.run_s * d.models * 1000)} ms; "
        "Cochran's allocation n* = sqrt(c1 s_w^2 / (c2 q s_b^2)) puts the runs on polytopes: "
        "the fewest seeds per polytope that still estimate the within-polytope spread (2), and many polytopes. "
        f"'polytopes' is how many, at that n, give {fmt_pct(d.target)} power to reach a decided verdict (any word "
        "but not supported, not shown equivalent or magnitude undecided), the truth taken to be the pilot's "
        "estimate: a claim whose estimate moves is decided sooner or later than said. A claim whose estimate sits "
        "on an edge (its null, a margin, its band) needs a very large study either way. `python -m harness design` "
        "prints the same; `report --until-decided` grows the study in rounds until the claims are decided.")
    if math.isfinite(seconds):
        intro += f"\n\nComputed in {fmt(seconds, decimals=0)} s."
    rows = [[r.id, r.kind, r.verdict, fmt(r.between_sd), fmt(r.within_sd), fmt_pct(r.usable, 2),
             fmt(r.seeds) if r.seeds else "n/a", fmt(r.polytopes) if r.polytopes else "n/a",
             fmt(r.runs) if r.runs else "n/a", duration(r.seconds) if r.polytopes else (r.note or "n/a")]
            for r in d.claims]
    tables = [Table(["claim", "kind", "verdict here", "sd between", "sd within", "usable runs", "seeds",
                     "polytopes", "runs", "time here"], rows,
                    caption=f"Each claim alone, at its cheapest seeds per polytope ({d.models} models per polytope and "
                            "seed).")]
    if d.seeds is not None:
        tables.append(Table(["claims decided", "polytopes", "runs", "time here", "adds"],
                            [[k, fmt(m), fmt(runs), duration(sec), cid] for k, (cid, m, runs, sec) in
                             enumerate(d.ladder, 1)],
                            caption=f"One study for the family, at {d.seeds} seeds per polytope: the claims decided "
                                    "(80% power each) as it grows."))
    return Section("study-design", "Study design: the polytopes that decide each claim", intro, tables=tables)
