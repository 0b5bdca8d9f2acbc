"""Results as terminal text and JSON: the verdict row (`python -m harness claims`, the pytest
messages), the README's table of verdict words, and the multiverse table and JSON."""
from __future__ import annotations

from collections.abc import Sequence

from harness.analysis.estimators import EmptyShare
from harness.analysis.multiverse import Multiverse
from harness.analysis.units import FloorSensitivity
from harness.analysis.verdicts import VERDICT_MEANINGS, VERDICTS, Verdict
from harness.jsonable import jsonable
from harness.render.format import fmt, fmt_ci, fmt_p, fmt_pct


def verdict_row(v: Verdict) -> str:
    """One verdict as one line: id, word, estimate, 95% CI, p, Holm p, n; beneath it, one
    indented line per caveat (`caveats`), where it has any."""
    gated = " (gated)" if v.gate else ""
    row = (f"{v.id:28s} {v.verdict + gated:21s} est {fmt(v.estimate):>9s} {v.ci_label} {fmt_ci(v.ci_low, v.ci_high):22s} "
           f"p {fmt_p(v.p_value):>7s} p_adj {fmt_p(v.p_adj):>7s}  n {v.n_runs} "
           f"({v.n_polytopes} polytopes, {v.n_excluded} excl.)"
           + (f" p_equivalent {fmt_p(v.p_equivalent)} p_beyond_margin {fmt_p(v.p_beyond_margin)}"
              if v.p_beyond_margin is not None else ""))
    return "\n".join([row, *(f"{'':28s}   {c}" for c in caveats(v))])


def caveats(v: Verdict) -> list[str]:
    """What a verdict's row shows beside its numbers, one line each: the estimate at other
    ratio floors where a floor reaches any unit (`floor_text`), and the units a zero count
    left undefined where there are any (`empty_text`). The terminal and the page show these
    same lines; the verdict word does not depend on them."""
    out = []
    fs = v.floor_sensitivity
    if fs is not None and fs.touched:
        out.append(floor_text(fs))
    if any(e.n_empty for e in v.empty):
        out.append(empty_text(v.empty))
    return out


def floor_text(fs: FloorSensitivity) -> str:
    """A floored ratio's estimate at each floor, the share of units at the default floor and,
    where the estimate moves by more than units.FLOOR_FOLD across floors, that the floor sets
    its magnitude."""
    text = (f"estimate with the ratio floor at {' / '.join(_power_of_ten(f) for f in fs.floors)}: "
            f"{' / '.join(fmt(e) for e in fs.estimates)} ({fmt_pct(fs.share_at_default)} of units at the "
            f"{_power_of_ten(fs.default)} floor)")
    if fs.set_by_floor:
        text += f"; its magnitude is set by the floor (it moves {fmt(fs.fold)}x across floors)"
    return text


def _power_of_ten(x: float) -> str:
    """A floor as 1e-3, 1e-4, ... (fmt would print 1e-3 as 0.001)."""
    mant, exp = f"{x:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def empty_text(empty: Sequence[EmptyShare]) -> str:
    """The units a zero count left undefined, per what was missing and per model: how many,
    on how many polytopes, and the mean share of a polytope's units with its 95% interval."""
    by_what: dict[str, list[EmptyShare]] = {}
    for e in empty:
        by_what.setdefault(e.what, []).append(e)
    parts = []
    for what, group in by_what.items():
        models = ", ".join(_empty_model(e) for e in group)
        n = sum(e.n_empty for e in group)
        unit = group[0].unit
        tail = (f": {'that' if n == 1 else 'those'} {unit}{' is' if n == 1 else 's are'} left out of the estimate"
                if n else "")
        parts.append(f"{what}: {models}{tail}")
    return "; ".join(parts)


def _empty_model(e: EmptyShare) -> str:
    share = f"{fmt_pct(e.share)} [{fmt_pct(e.ci.low)}, {fmt_pct(e.ci.high)}]"
    if not e.n:
        return f"{e.model}: no {e.unit}s to count"
    if not e.n_empty:
        return f"{e.model} in 0 of {e.n} {e.unit}s ({share})"
    return (f"{e.model} in {e.n_empty} of {e.n} {e.unit}s, on {e.polytopes_empty} of {e.n_polytopes} polytopes "
            f"({share} of a polytope's {e.unit}s)")


def verdict_table_markdown() -> str:
    """The README's "Verdicts" table, made from the meanings `decide` implements, so the
    two cannot drift apart (a test finds this exact text in README.md)."""
    rows = [f"| `{word}` | {VERDICT_MEANINGS[word]} |" for word in VERDICTS]
    return "\n".join(["| verdict | meaning |", "|---|---|", *rows])


def table_text(mv: Multiverse, power: Sequence | None = None) -> str:
    """The terminal table: per claim, the default verdict, where it holds, and seeds needed."""
    need = {p.id: p.display for p in power} if power else {}
    n_specs = len(mv.specs)
    head = (f"{'claim':28s} {'default verdict':20s} {'holds in':>14s} {'same verdict':>12s}  "
            f"{'seeds needed' if need else ''}")
    lines = [f"multiverse ({mv.plan}): {n_specs} specifications; main study {mv.main_size}"
             + (f", training choices on {mv.train_size}" if mv.train_size else "")
             + f"; {fmt(mv.seconds, decimals=0)} s", head]
    for r in mv.robustness:
        holds = f"{r.n_holds}/{r.n_specs} {fmt_pct(r.share, 2):>4s}" if r.n_specs else "untestable"
        agree = fmt_pct(r.agree_share, 2) if r.n_specs else ""
        line = f"{r.id:28s} {r.default_verdict:20s} {holds:>14s} {agree:>12s}  {need.get(r.id, '')}"
        lines.append(line.rstrip())
        if r.flips:
            lines.append(f"{'':28s}   changes under: {', '.join(r.flips)}")
        if r.reference_verdict is not None and r.reference_verdict != r.default_verdict:
            lines.append(f"{'':28s}   default specification on the training study: {r.reference_verdict}")
    return "\n".join(lines)


def as_json(mv: Multiverse, power: Sequence | None = None, seed0: Sequence | None = None) -> list[dict]:
    """One object per claim: the robustness summary, its specifications, power and seed 0
    (plain JSON values: harness.jsonable.dumps prints it)."""
    pw = {p.id: p.as_dict() for p in power or ()}
    s0 = {s.id: s.as_dict() for s in seed0 or ()}
    out = []
    for r in mv.robustness:
        o = mv.of(r.id)
        specs = [{k: v for k, v in row.items() if k not in ("id", "group")}
                 for row in o.drop(columns=["label"]).to_dict("records")]
        out.append({**r.as_dict(), "seeds_needed": pw.get(r.id, {}).get("seeds_needed"),
                    "seeds_answer": pw.get(r.id, {}).get("answer"), "power": pw.get(r.id), "seed0": s0.get(r.id),
                    "specifications": specs})
    return jsonable(out)
