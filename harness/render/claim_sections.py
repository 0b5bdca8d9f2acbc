"""The per-claim parts of the report: the headline table ("Claims at a glance") and one
card per claim (its figure, caption and the facts behind its verdict), grouped by claim
family. Every number goes through harness.render.format."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from harness.analysis.verdicts import VERDICTS, Claim, Verdict
from harness.render import figures as figs
from harness.render.format import fmt, fmt_ci, fmt_p, ordinal, slug
from harness.render.page import Figure
from harness.render.text import caveats, empty_text, floor_text

# One CSS class per verdict word (coloured from figures.VERDICT_COLORS); the word itself is always printed too.
BADGE = {word: "v-" + re.sub(r"[^a-z]+", "-", word) for word in VERDICTS}
RULE_SHORT = {"exclude_collapsed": "runs that learned the task", "all": "every finite run, collapsed or not"}


GROUP_TITLES = {"write-up": "The write-up's claims", "ablation": "Ablation claims: the write-up's next steps"}


def groups(claims: Sequence[Claim], verdicts: Sequence[Verdict]) -> list[tuple[str, list[Verdict]]]:
    """Verdicts by claim group (a Holm family), groups in order of first appearance."""
    group_of = {c.id: c.group for c in claims}
    out: dict[str, list[Verdict]] = {}
    for v in verdicts:
        out.setdefault(group_of.get(v.id, "other"), []).append(v)
    return list(out.items())


def family_size(vs: Sequence[Verdict]) -> int:
    return sum(1 for v in vs if not math.isnan(v.p_value))


def headline(claims: Sequence[Claim], verdicts: Sequence[Verdict]) -> list[dict]:
    return [{"name": g, "title": GROUP_TITLES.get(g, g.capitalize()), "family": family_size(vs), "rows": _rows(vs)}
            for g, vs in groups(claims, verdicts)]


def _rows(verdicts: Sequence[Verdict]) -> list[dict]:
    return [{
        "id": v.id, "anchor": "claim-" + slug(v.id), "sentence": v.sentence, "kind": v.kind,
        "writeup": fmt(v.writeup), "estimate": fmt(v.estimate),
        "ci": fmt_ci(v.ci_low, v.ci_high) if math.isfinite(v.estimate) else "",
        "n_runs": v.n_runs, "n_polytopes": v.n_polytopes, "n_seeds": v.n_seeds, "n_excluded": v.n_excluded,
        "p_adj": fmt_p(v.p_adj), "verdict": v.verdict or "untested", "badge": BADGE.get(v.verdict, "v-none"),
        "percentile": ordinal(v.writeup_percentile), "caveats": caveats(v),
    } for v in verdicts]




def _axis_label(claim: Claim | None) -> str:
    return claim.statistic.axis_label() if claim is not None else "value"


def hypothesis(claim: Claim | None, v: Verdict) -> str:
    if v.kind == "equivalence" and v.margin is not None:
        return f"mean inside the margin [{fmt(v.margin[0])}, {fmt(v.margin[1])}] (TOST)"
    side = claim.direction if claim is not None else "≠"
    text = f"{side} {fmt(v.null)} (null {fmt(v.null)})"
    if v.kind == "magnitude" and v.band is not None:
        text += (f", with the 95% CI inside the band {fmt_ci(*v.band)} around the claimed {fmt(v.claimed)} "
                 "(wholly below it: smaller than claimed; wholly above: larger; across an edge: undecided)")
    if v.kind == "shape":
        text = f"share of runs {side} {fmt(v.null)}"
    return text


def _detail_value(key: str, v: object) -> str:
    """One entry of Verdict.detail as text: p-values as p, pairs as intervals, per-model
    summaries (model -> [mean x, mean y, n]) as a list."""
    if isinstance(v, Mapping) and key == "per_model":
        return "; ".join(f"{m} x̄ {fmt(val[0])}, ȳ {fmt(val[1])} ({fmt(val[2])} runs)"
                         if isinstance(val, (list, tuple)) and len(val) == 3 else f"{m}: {fmt(val)}"
                         for m, val in v.items())
    if isinstance(v, Mapping):
        return "; ".join(f"{k}: {fmt(val)}" for k, val in v.items())
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return fmt_ci(float(v[0]), float(v[1]))
    if key == "p" or key.endswith("_p"):
        return fmt_p(v)
    return fmt(v)


DETAIL_LABELS = {"share_at_ratio_floor": "share of units with a side at the ratio floor (1e-4)",
                 "median_dip_p": "median dip-test p", "mean_num": "mean numerator", "mean_den": "mean denominator",
                 "mixed_slope": "mixed-model slope (detail)", "mixed_ci": "mixed-model 95% CI (detail; the table shows the bootstrap-t's)",
                 "mixed_p": "mixed-model p (detail)",
                 "group_var": "between-polytope variance", "residual_var": "residual variance",
                 "converged": "mixed model converged", "per_model": "per model: mean x, mean y"}


def _claim_figure(c: Claim | None, v: Verdict, runs: pd.DataFrame, points: pd.DataFrame, colors: dict,
                  name: str) -> tuple[str, str, int]:
    """The claim's figure, its caption and how many units it draws."""
    if c is not None and not c.statistic.per_run:  # a relation across runs: each run is a dot
        s = c.statistic
        t = s.units(runs, points, v.rule).table
        groups = {m: (g["x"].to_numpy(float), g["value"].to_numpy(float)) for m, g in t.groupby("model", sort=False)}
        svg = figs.slope_evidence(groups, v.estimate, (v.ci_low, v.ci_high), colors, s.x, s.y, name)
        mixed = v.detail.get("mixed_ci")
        caption = (f"{s.y} against {s.x}, one dot per included run ({len(t)}), coloured by model; large dots are "
                   f"model means. The black line has the least-squares slope {fmt(v.estimate)} (studentized polytope-"
                   f"bootstrap 95% CI {fmt_ci(v.ci_low, v.ci_high)}, shaded) drawn through the grand mean; the claim "
                   f"needs it {c.direction} {fmt(v.null)}. The random-intercept mixed model, a detail: slope "
                   f"{fmt(v.detail.get('mixed_slope'))}, 95% CI {fmt_ci(*mixed) if mixed else 'n/a'} (narrower "
                   f"when its random effect collapses).")
        return svg, caption, len(t)
    log = c is not None and c.statistic.log_axis
    values = np.asarray(v.unit_values if v.unit_values is not None else [], dtype=float)
    drawn = values[np.isfinite(values) & ((values > 0) if log else True)]
    rows = [dict(r) for r in v.per_polytope]
    svg = figs.claim_evidence(rows, (v.estimate, v.ci_low, v.ci_high), values, log=log,
                              null=None if v.kind == "equivalence" else v.null, claimed=v.claimed,
                              writeup=v.writeup, margin=v.margin, band=v.band, xlabel=_axis_label(c), name=name)
    unit = _unit(c)
    caption = (f"Left: each polytope's mean over its {unit}s with a 95% t-interval across seeds "
               + ("" if c is None or c.statistic.per_polytope_interval else "(a ratio of means per polytope has no interval), ")
               + f"and the pooled estimate {fmt(v.estimate)} with its 95% interval on polytope means "
               f"{fmt_ci(v.ci_low, v.ci_high)} (black diamond). Right: the {drawn.size} per-{unit} values"
               + (" on a log axis" if log else "") + ". ")
    if v.writeup is not None:
        caption += (f"The red line is the write-up's seed-0 value {fmt(v.writeup)}, at the "
                    f"{ordinal(v.writeup_percentile)} percentile of the per-{unit} values. ")
    if v.kind == "equivalence":
        caption += "The green band is the equivalence margin: the claim holds when the 90% CI lies inside it. "
    else:
        if v.claimed is not None:
            caption += f"The green dash-dot line is the claimed value {fmt(v.claimed)}. "
        if v.band is not None:
            caption += (f"The green band {fmt_ci(*v.band)} is what the claim's tolerance admits around it: the "
                        "magnitude is supported when the 95% CI lies inside it. ")
        caption += f"The grey dashed line is the null, {fmt(v.null)}. "
    hidden = values.size - drawn.size
    if hidden:
        caption += f"{hidden} {'value' if hidden == 1 else 'values'} not drawn (zero, infinite or undefined here)."
    return svg, caption.strip(), drawn.size


def _unit(c: Claim | None) -> str:
    return c.statistic.unit if c is not None else "run"


def _facts(c: Claim | None, v: Verdict, group: str, words: Mapping[str, str]) -> list[tuple[str, str]]:
    """The data behind one verdict, as (label, text) rows."""
    unit = _unit(c)
    test = v.detail.get("test", (c.statistic.test_name if c is not None else "") or "no test")
    if v.kind == "equivalence":
        test = ("equivalent when the 95% interval lies inside the margin, contradicted when it lies wholly past "
                f"one, the p of that side Holm-adjusted with the family; {test}")
    n = f"{v.n_runs} {unit}s on {v.n_polytopes} polytopes x up to {v.n_seeds} seeds; {v.n_excluded} excluded"
    writeup = (f"{fmt(v.writeup)}, {ordinal(v.writeup_percentile)} percentile" if v.writeup is not None
               else "not reported")
    facts = [
        ("statistic", v.statistic),
        ("test", f"{v.kind}: {hypothesis(c, v)}; {test}"),
        ("inclusion rule", f"{v.rule} ({RULE_SHORT.get(v.rule, 'see Methods')})"),
        (f"estimate, {v.ci_label}", f"{fmt(v.estimate)} {fmt_ci(v.ci_low, v.ci_high)}"),
        ("p, Holm-adjusted p", f"{fmt_p(v.p_value)}, {fmt_p(v.p_adj)} (Holm family: {group})"),
        *([("p equivalent, p beyond the margin", f"{fmt_p(v.p_equivalent)}, {fmt_p(v.p_beyond_margin)} (unadjusted)")]
          if v.p_beyond_margin is not None else []),
        ("n", n),
        ("write-up (seed 0)", writeup),
    ]
    if c is not None and c.requires:
        facts.append(("requires", ", ".join(f"{r} ({words.get(r, 'not evaluated')})" for r in c.requires)))
    ranked = sorted((r for r in v.per_polytope if math.isfinite(r["estimate"])), key=lambda r: r["estimate"])
    if len(ranked) >= 2:
        lo, hi = ranked[0], ranked[-1]
        extremes = (f"lowest: polytope {lo['polytope']} ({fmt(lo['estimate'])}); "
                    f"highest: polytope {hi['polytope']} ({fmt(hi['estimate'])})")
        facts.append(("polytopes at the extremes", extremes))
    if v.note:
        facts.append(("note", v.note))
    if v.floor_sensitivity is not None:
        facts.append(("estimate at other ratio floors", floor_text(v.floor_sensitivity)))
    if v.empty:
        facts.append(("no units to average", empty_text(v.empty)))
    facts += [(DETAIL_LABELS.get(k, k.replace("_", " ")), _detail_value(k, val))
              for k, val in v.detail.items() if k not in ("test", "beyond_margin_p") and not (isinstance(val, str) and val in v.note)]
    if c is not None and c.source:
        facts.append(("declared in", f"claims/{c.source}"))
    return facts


def claim_sections(claims: Sequence[Claim], verdicts: Sequence[Verdict], runs: pd.DataFrame,
                    points: pd.DataFrame, colors: dict) -> list[dict]:
    by_id = {c.id: c for c in claims}
    words = {v.id: v.verdict for v in verdicts}
    out = []
    for group, vs in groups(claims, verdicts):
        cards = []
        for v in vs:
            c = by_id.get(v.id)
            name = "claim-" + slug(v.id)
            svg, caption, _ = _claim_figure(c, v, runs, points, colors, name)
            facts = _facts(c, v, group, words)
            cards.append({"id": v.id, "anchor": name, "sentence": v.sentence, "verdict": v.verdict or "untested",
                          "badge": BADGE.get(v.verdict, "v-none"), "figure": Figure(name, svg, caption),
                          "facts": facts})
        out.append({"name": group, "title": GROUP_TITLES.get(group, group.capitalize()), "cards": cards})
    return out
