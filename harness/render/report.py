"""The HTML report: one self-contained page, `index.html`, with the run table (`runs.csv`)
beside it. Reads the run table, the per-point table, the claims and their verdicts; draws
with harness.figures; renders harness/render/templates/report.html with jinja2 (autoescaping on).

The per-claim parts are in claim_sections.py; later sections (`Section`: a title, an
introduction, figures and tables: multiverse, power, seed 0) are rendered after them. Every
number on the page goes through harness.render.format, every verdict colour comes from
figures.VERDICT_COLORS and every verdict meaning from analysis.verdicts.VERDICT_MEANINGS.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from harness.analysis.estimators import descriptive_mean
from harness.analysis.statistics import ALPHA, RULES, included
from harness.analysis.verdicts import N_BOOT, VERDICT_MEANINGS, VERDICTS, Claim, Verdict
from harness.config import REGS, VARIANTS, Measure
from harness.render import figures as figs
from harness.render.claim_sections import BADGE, claim_sections, family_size, groups, headline, hypothesis
from harness.render.format import fmt, fmt_ci, fmt_p, fmt_pct, id_ranges, slug
from harness.render.page import Figure, Section
from harness.schema import run_table, to_csv_safe
from harness.writeup import WRITEUP_SEED0

SMALL_MULTIPLES = 12

RULE_TEXT = {
    "exclude_collapsed": "runs that learned the task: finite training and not collapsed "
                         "(for a paired statistic, both runs of the pair)",
    "all": "every run whose training stayed finite, collapsed or not",
}


def _trainability(runs: pd.DataFrame, models: list[str], colors: dict) -> dict:
    rows, chart, acc = [], [], {}
    for m in models:
        g = runs[runs["model"] == m]
        ok = g["status"] == "ok"
        col = g.loc[ok, "collapsed"].astype(float).to_numpy()
        est, lo, hi, note = descriptive_mean(col, g.loc[ok, "polytope"].to_numpy(), share=True)
        learned = g[ok & ~g["collapsed"].astype(bool)]
        rows.append({"model": m, "runs": len(g), "nonfinite": int((~ok).sum()), "collapsed": int(col.sum()),
                     "rate": fmt_pct(est), "ci": f"[{fmt_pct(lo)}, {fmt_pct(hi)}]" if math.isfinite(lo) else "n/a",
                     "acc_learned": fmt(learned["accuracy"].median()),
                     "acc_collapsed": fmt(g.loc[ok & g["collapsed"].astype(bool), "accuracy"].median()),
                     "note": note})
        chart.append({"model": m, "rate": est, "low": lo, "high": hi})
        acc[m] = (learned["accuracy"].to_numpy(float),
                  g.loc[ok & g["collapsed"].astype(bool), "accuracy"].to_numpy(float))
    majority = float(runs["majority_rate"].median()) if len(runs) else float("nan")
    most = max(chart, key=lambda r: r["rate"] if math.isfinite(r["rate"]) else -1) if chart else None
    figures = [
        Figure("collapse-rates", figs.collapse_rates(chart, colors, "collapse-rates"),
               "Share of runs that collapsed, per model, with 95% cluster-bootstrap intervals (polytopes resampled, "
               "then seeds). A collapsed run has a dead final ReLU or predicts one class everywhere: it never "
               "learned the task, so it is no mesa. "
               + (f"The highest rate is {most['model']}'s, {fmt_pct(most['rate'])}." if most else "")),
        Figure("accuracy", figs.accuracy_distributions(acc, majority, "accuracy"),
               "Test accuracy of every run, learned (blue) and collapsed (grey), per model. Collapsed runs sit at "
               f"their polytope's majority-class rate (dashed: the median over runs, {fmt(majority)}); learned runs "
               f"sit near 1. The write-up's seed-0 runs scored {fmt(WRITEUP_SEED0['lp']['accuracy'])} (Lp) and "
               f"{fmt(WRITEUP_SEED0['linear']['accuracy'])} (Linear)."),
    ]
    return {"rows": rows, "figures": figures}


def _writeup_figures(runs: pd.DataFrame, points: pd.DataFrame, learned: pd.Series, colors: dict,
                     measure: Measure) -> list[Figure]:
    present = set(runs["model"])
    fig_models = [m for m in ("lp", "linear", "lp2") if m in present]
    out: list[Figure] = []
    thr = measure.flat_threshold
    w_lp, w_lin = WRITEUP_SEED0["lp"], WRITEUP_SEED0["linear"]
    meta = runs.loc[learned & runs["model"].isin(fig_models), ["key", "model", "polytope", "seed"]]
    pts = points.merge(meta, on="key", how="inner") if len(points) and len(meta) else pd.DataFrame(
        columns=["key", "point", "grad_norm", "distance", "region", "model", "polytope", "seed"])
    interior = pts[pts["region"] == "interior"]
    by_model = {m: interior.loc[interior["model"] == m, "grad_norm"].to_numpy(float) for m in fig_models}
    if any(v.size for v in by_model.values()):
        shares = ", ".join(f"{m} {fmt_pct(float((v < thr).mean()))}" for m, v in by_model.items() if v.size)
        out.append(Figure(
            "grad-hist", figs.grad_histograms(by_model, thr, colors, "grad-hist"),
            f"Interior gradient norms ||ds/dx|| pooled over every learned run, per model (left: density; right: the "
            f"same on a log axis). A mesa shows as a spike left of the flat threshold {fmt(thr)} (dashed) apart from "
            f"the bulk: the write-up's Lp was bimodal, its Linear unimodal. Share of interior points below "
            f"{fmt(thr)}: {shares} (write-up, seed 0: lp {fmt_pct(w_lp['flat_frac'])}, "
            f"linear {fmt_pct(w_lin['flat_frac'])})."))

    if {"lp", "linear"} <= present:
        keys = {(r.model, r.polytope, r.seed): r.key for r in meta.itertuples()}
        pairs = sorted({(p, s) for (m, p, s) in keys if m == "lp"} & {(p, s) for (m, p, s) in keys if m == "linear"})
        chosen = _spread(pairs, SMALL_MULTIPLES)
        if chosen:
            grads = {k: g["grad_norm"].to_numpy(float) for k, g in
                     interior[interior["model"].isin(["lp", "linear"])].groupby("key", observed=True)}
            panels = [(f"polytope {p}, seed {s}", {m: grads.get(keys[(m, p, s)], np.array([]))
                                                    for m in ("lp", "linear")}) for p, s in chosen]
            out.append(Figure(
                "grad-small-multiples", figs.grad_histogram_grid(panels, thr, colors, "grad-small-multiples"),
                f"Single runs, as in the write-up's figure: interior gradient norms of Lp and Linear trained on the "
                f"same polytope and seed ({len(chosen)} pairs where both learned, spread over polytopes). The legend "
                f"gives each run's flat count (norm < {fmt(thr)}) over its interior points; the write-up's seed 0 had "
                f"{w_lp['flat_count']}/{w_lp['n_interior']} (Lp) and {w_lin['flat_count']}/{w_lin['n_interior']} "
                "(Linear). See how much the spike at zero varies from run to run."))

    dist = {m: (pts.loc[pts["model"] == m, "distance"].to_numpy(float), pts.loc[pts["model"] == m, "grad_norm"]
                .to_numpy(float)) for m in fig_models}
    if any(d.size for d, _ in dist.values()):
        out.append(Figure(
            "grad-distance", figs.grad_vs_distance(dist, measure.band, thr, colors, "grad-distance"),
            f"Gradient norm against signed distance d(x) for every test point of the learned runs (a random "
            f"subsample drawn as dots; the black line and band are the binned median and 10-90% range of all "
            f"points). Left of the solid line is the interior, between it and the dotted line the boundary band "
            f"(0 < d < {fmt(measure.band)}). A mesa is a median near zero deep inside (d well below 0); the write-up "
            f"reports mean norms (interior / boundary / exterior) of {_regions(w_lp)} for Lp and {_regions(w_lin)} "
            "for Linear."))

    if {"lp", "linear"} <= present and len(interior):
        cols = ["polytope", "seed", "point", "grad_norm"]
        a = interior.loc[interior["model"] == "lp", cols]
        b = interior.loc[interior["model"] == "linear", cols]
        j = a.merge(b, on=["polytope", "seed", "point"], suffixes=("_lp", "_linear"))
        if len(j):
            x, y = j["grad_norm_lp"].to_numpy(float), j["grad_norm_linear"].to_numpy(float)
            out.append(Figure(
                "interior-pairs", figs.interior_pairs(x, y, thr, "Lp gradient norm", "Linear gradient norm",
                                                      "interior-pairs"),
                f"Interior Lp vs Linear, point by point: each interior test point of a (polytope, seed) where both "
                f"models learned, Lp's gradient norm across, Linear's up ({fmt(len(j))} points; colour: log count). "
                f"Points left of the red vertical line are flat for Lp; below the red horizontal line, flat for "
                f"Linear. Points flat for Lp but steep for Linear ({fmt_pct(float(((x < thr) & (y >= thr)).mean()))})"
                f" are the mesa the write-up describes; flat for Linear but not Lp: "
                f"{fmt_pct(float(((y < thr) & (x >= thr)).mean()))}."))

    if "param_w" in runs.columns:
        w = {}
        for m in fig_models:
            sel = runs.loc[learned & (runs["model"] == m), "param_w"]
            if len(sel):
                w[m] = np.concatenate([np.asarray(v, dtype=float).ravel() for v in sel])
        if w:
            out.append(Figure(
                "weights", figs.weight_distributions(w, colors, "weights"),
                "Aggregation weights w of every learned run, pooled per model: signed (left) and |w| on a log axis "
                "(right; dashed at 0.01 and 0.1; values below 1e-5, such as exact zeros, drawn at 1e-5). The "
                "write-up's mechanism predicts a cluster of near-zero |w| for Lp (seed 0: "
                f"{w_lp['n_absw_lt_001']} below 0.01) and negative weights doing the work for Linear (seed 0: "
                f"{w_lin['n_negative_w']} negative). Lp's stored sign does not act: only |w| enters the model."))

    lin = runs[learned & (runs["model"] == "linear")]
    if len(lin) and lin["flipped_flat_frac"].notna().any():
        flat = (lin["flat_frac"].to_numpy(float), lin["flipped_flat_frac"].to_numpy(float))
        acc = (lin["accuracy"].to_numpy(float), lin["flipped_accuracy"].to_numpy(float))
        d_acc = float(np.nanmedian(acc[1] - acc[0]))
        out.append(Figure(
            "flip", figs.flip_comparison(flat, acc, (w_lin["flat_frac"],
                                                     w_lin["flipped_flat_count"] / w_lin["n_interior"]), "flip"),
            "Original vs flipped Linear, one dot per learned Linear run: negative aggregation weights made positive "
            "with the matching first-layer rows negated. Dots on the dashed diagonal did not change. Left: flat "
            f"fraction (the write-up: {w_lin['flat_count']} flat points before, {w_lin['flipped_flat_count']} after; "
            "red star). Right: accuracy, which the write-up did not report; the flip is not function-preserving "
            f"(median change {fmt(d_acc)})."))
    return out


def _regions(w: Mapping[str, float]) -> str:
    return " / ".join(fmt(w[k]) for k in ("grad_interior", "grad_boundary", "grad_exterior"))


def _spread(pairs: Sequence[tuple[int, int]], k: int) -> list[tuple[int, int]]:
    """Up to k (polytope, seed) pairs, taking the lowest seeds of each polytope in turn."""
    by_poly: dict[int, list[int]] = {}
    for p, s in pairs:
        by_poly.setdefault(p, []).append(s)
    queues = [[(p, s) for s in sorted(ss)] for p, ss in sorted(by_poly.items())]
    out: list[tuple[int, int]] = []
    while len(out) < k and any(queues):
        for q in queues:
            if q and len(out) < k:
                out.append(q.pop(0))
    return out


def _ablation(runs: pd.DataFrame, learned: pd.Series, models: list[str], colors: dict) -> dict | None:
    if "reg" not in runs.columns or not (runs["reg"] != "none").any():
        return None
    summary: dict[str, dict] = {}
    rows = []
    for m in models:
        g = runs[runs["model"] == m]
        ok = g["status"] == "ok"
        lg = runs[learned & (runs["model"] == m)]
        cl = lg["polytope"].to_numpy()
        s = {"model": m, "reg": g["reg"].iloc[0], "lam": float(g["lam"].iloc[0]),
             "flat_frac": descriptive_mean(lg["flat_frac"].to_numpy(float), cl)[:3],
             "accuracy": descriptive_mean(lg["accuracy"].to_numpy(float), cl)[:3]}
        summary[m] = s
        rows.append({"model": m, "reg": s["reg"], "lam": fmt(s["lam"]) if s["reg"] in ("l1", "nonneg_soft") else "",
                     "learned": f"{len(lg)} / {len(g)}",
                     "collapse": fmt_pct(float(g.loc[ok, "collapsed"].astype(float).mean()) if ok.any() else None),
                     "flat": fmt(s["flat_frac"][0]), "flat_ci": fmt_ci(*s["flat_frac"][1:]),
                     "acc": fmt(s["accuracy"][0]), "acc_ci": fmt_ci(*s["accuracy"][1:]),
                     "negmass": fmt(lg["neg_w_mass"].median()) if g["arch"].iloc[0] == "linear" else "n/a"})
    sweeps = {reg: [s for s in summary.values() if s["reg"] == reg] for reg in REGS if reg != "none"}
    sweeps = {reg: rows for reg, rows in sweeps.items() if rows}
    refs = {m: summary[m] for m in ("linear", "lp") if m in summary}
    figures = [Figure(
        "ablation-sweeps", figs.ablation_sweeps(sweeps, refs, ["flat_frac", "accuracy"], colors, "ablation-sweeps"),
        "Flat fraction (top) and accuracy (bottom) of the Linear model trained with each regulariser, against "
        "its strength λ (hard non-negativity has none), learned runs only, with 95% cluster-bootstrap intervals. "
        "Dashed lines and bands: plain Linear and Lp with their intervals. A regulariser creates a mesa when its "
        "flat fraction climbs towards Lp's while its accuracy stays on Linear's.")]
    lin = runs[learned & (runs["arch"] == "linear")]
    if len(lin):
        groups = {m: (g["neg_w_mass"].to_numpy(float), g["flat_frac"].to_numpy(float))
                  for m in models if len(g := lin[lin["model"] == m])}
        lp_mean = {"lp": summary["lp"]["flat_frac"][0]} if "lp" in summary else {}
        figures.append(Figure(
            "negmass", figs.scatter_by_model(groups, colors, "negative-weight mass (sum of |w| over w < 0; "
                                             "symmetric log axis)", "flat fraction", "negmass", lp_mean,
                                             linthresh=0.01),
            "Flat fraction against negative-weight mass, one dot per learned run of every Linear variant. If signed "
            "cancellation is what prevents a mesa, flat fraction falls as the mass grows, and the runs with no "
            "negative weight (hard non-negativity) reach Lp's level (dashed)."))
    return {"rows": rows, "figures": figures}


def _methods(study, claims: Sequence[Claim], verdicts: Sequence[Verdict], runs: pd.DataFrame) -> dict:
    proto = study.protocol
    protocol_rows = [(k, fmt(v) if not isinstance(v, str) else v) for k, v in proto.as_dict().items()]
    protocol_rows.append(("steps per epoch (n_train // batch_size)", str(proto.steps_per_epoch)))
    measure = Measure()
    by_id = {c.id: c for c in claims}
    tests = []
    for v in verdicts:
        c = by_id.get(v.id)
        scale = c.statistic.scale if c is not None else ""
        if v.kind == "equivalence":
            test = "TOST on the polytope means"
        elif c is not None and c.statistic.test_name:
            test = c.statistic.test_name
        else:
            test = str(v.detail.get("test", "not tested (too few runs)"))
        tests.append({"id": v.id, "anchor": "claim-" + slug(v.id), "kind": v.kind, "statistic": v.statistic,
                      "scale": scale, "hypothesis": hypothesis(c, v), "test": test, "rule": v.rule})
    families = [(g, family_size(vs)) for g, vs in groups(claims, verdicts)]
    return {
        "p": proto, "protocol": protocol_rows,
        "measure": [(k, fmt(val) if not isinstance(val, str) else val)
                    for k, val in dataclasses.asdict(measure).items()],
        "models": [m.name for m in study.models],
        "n_polytopes": len(study.polytopes), "polytopes": id_ranges(study.polytopes),
        "n_seeds": len(study.seeds), "seeds": id_ranges(study.seeds), "n_runs": len(runs),
        "tests": tests, "families": families, "alpha": ALPHA, "n_boot": N_BOOT, "rules": RULE_TEXT,
        "rule_names": RULES, "flat_threshold": measure.flat_threshold, "band": measure.band,
    }


def _provenance_rows(prov: Mapping) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rows, versions = [], []
    for k, v in prov.items():
        if isinstance(v, Mapping):
            target = versions if k == "versions" else rows
            if k == "versions":
                versions.extend((str(a), fmt(b)) for a, b in v.items())
            else:
                target.append((k.replace("_", " "), ", ".join(f"{a} {fmt(b)}" for a, b in v.items()) or "n/a"))
        else:
            label = {"wall_s": "wall time (s)"}.get(k, k.replace("_", " "))
            rows.append((label, fmt(v)))
    return rows, versions


# -- rendering ------------------------------------------------------------------------------------
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("harness.render", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(fmt=fmt, fmt_p=fmt_p, fmt_ci=fmt_ci, pct=fmt_pct)
    return env


def render(study, runs: pd.DataFrame, points: pd.DataFrame, claims: Sequence[Claim], verdicts: Sequence[Verdict],
           prov: Mapping, sections: Sequence[Section] = ()) -> str:
    """The page as one HTML string."""
    t0 = time.perf_counter()
    runs = runs.reset_index(drop=True)
    points = points if points is not None else pd.DataFrame(columns=["key", "point", "grad_norm", "distance",
                                                                      "region"])
    registry = list(VARIANTS)  # models in the registry's order, others after them
    models = sorted(dict.fromkeys(runs["model"]), key=lambda m: (registry.index(m) if m in registry else 999, m))
    colors = figs.model_colors(models)
    learned = included(runs, "exclude_collapsed")
    measure = Measure()
    counts = Counter(v.verdict for v in verdicts)
    ctx = {
        "title": "Interior gradient comparison, Lp vs Linear: the write-up's claims across seeds and polytopes",
        "study": study.describe(), "study_key": study.key, "n_runs": len(runs),
        "n_polytopes": len(study.polytopes), "n_seeds": len(study.seeds),
        "date": prov.get("date", ""), "commit": str(prov.get("git_commit", "unknown"))[:12],
        "dirty": bool(prov.get("git_uncommitted_changes")),
        "counts": [(w, counts[w], BADGE[w]) for w in VERDICTS if counts[w]],
        "headline": headline(claims, verdicts),
        "trainability": _trainability(runs, models, colors),
        "writeup_figures": _writeup_figures(runs, points, learned, colors, measure),
        "claims": claim_sections(claims, verdicts, runs, points, colors),
        "ablation": _ablation(runs, learned, models, colors),
        "sections": list(sections),
        "methods": _methods(study, claims, verdicts, runs),
        "badges": [(w, BADGE[w], VERDICT_MEANINGS[w]) for w in VERDICTS],
        "badge_colors": [(BADGE[w], figs.VERDICT_COLORS[w]) for w in VERDICTS],
    }
    ctx["provenance"], ctx["versions"] = _provenance_rows(prov)
    ctx["provenance"].append(("report rendered in (s)", fmt(time.perf_counter() - t0)))
    return _environment().get_template("report.html").render(**ctx)


def write_report(out: Path, study, runs: pd.DataFrame, points: pd.DataFrame, claims: list[Claim],
                 verdicts: list[Verdict], prov: dict, sections: Sequence[Section] = ()) -> Path:
    """Writes out/index.html (self-contained: figures inline, no external request) and
    out/runs.csv (the tidy run table); returns the path of index.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    to_csv_safe(run_table(runs), out / "runs.csv")
    html = render(study, runs, points, claims, verdicts, prov, sections)
    path = out / "index.html"
    tmp = out / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
