"""The report sections that later work adds after the claims: how robust each verdict is
(the multiverse) and whether seed 0 was typical (the study design is render/design.py), each a Section
with its tables and figures, drawn from the analysis results."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.analysis.multiverse import CHOICE_LABEL, CHOICES, DEFAULT, Multiverse, _value_text
from harness.analysis.seedzero import SeedZero
from harness.analysis.statistics import RATIO_FLOOR
from harness.analysis.verdicts import Claim, Verdict
from harness.render.format import fmt, fmt_pct


def _robust_z(x: np.ndarray, log: bool) -> tuple[np.ndarray, float, float]:
    """Values on a common scale: log for ratios, centred at the median, divided by IQR/1.349
    (else the sd, else 1). Returns the scaled values and (centre, scale) for other points."""
    x = np.asarray(x, dtype=float)
    if log:
        x = np.log(np.clip(x, RATIO_FLOOR, None))
    f = x[np.isfinite(x)]
    if f.size == 0:
        return np.full_like(x, np.nan), 0.0, 1.0
    centre = float(np.median(f))
    q1, q3 = np.percentile(f, [25, 75])
    scale = (q3 - q1) / 1.349 or float(np.std(f)) or 1.0
    return (x - centre) / scale, centre, scale


def seed0_figure(rows: Sequence[SeedZero], verdicts: Sequence[Verdict], clip: float = 5.0) -> str:
    """One row per claim: its per-run values (strip and box) on a robust z scale, seed 0 marked."""
    from harness.render import figures as figs

    by_id = {v.id: v for v in verdicts}
    rows = [r for r in rows if r.value is not None and r.n_runs]
    rng = np.random.default_rng(0)
    with figs.style():
        fig, axes = figs.new_figure(figs.WIDTH, 0.26 * len(rows) + 0.9)
        ax = axes[0, 0]
        for i, r in enumerate(rows):
            log = r.log_axis
            z, centre, scale = _robust_z(by_id[r.id].unit_values, log)
            z = np.clip(z[np.isfinite(z) | np.isinf(z)], -clip, clip)
            y = len(rows) - 1 - i
            ax.scatter(z, y + rng.uniform(-0.22, 0.22, z.size), s=3, color="#8c96a0", alpha=0.35, lw=0,
                       rasterized=True)
            if z.size:
                q = np.percentile(z, [25, 50, 75])
                ax.plot([q[0], q[2]], [y, y], color="#333", lw=3.2, alpha=0.55, solid_capstyle="butt")
                ax.plot([q[1]], [y], marker="|", ms=8, color="#111")
            v = math.log(max(r.value, RATIO_FLOOR)) if log else r.value
            z0 = float(np.clip((v - centre) / scale, -clip, clip)) if math.isfinite(v) else clip
            ax.plot([z0], [y], marker="D", ms=5.5, color=figs.REF["writeup"], mec="white", mew=0.6)
            ax.text(clip + 0.25, y, fmt(r.percentile, decimals=0),
                    va="center", ha="left", fontsize=7)
        ax.set_yticks(range(len(rows)), [r.id for r in reversed(rows)], fontsize=7)
        ax.set_xlim(-clip - 0.3, clip + 1.3)
        ax.axvline(0, color=figs.REF["null"], lw=0.6)
        ax.text(clip + 0.25, len(rows) - 0.3, "pct", fontsize=7, ha="left")
        ax.set_xlabel("per-run value: distance from the median in robust sd (IQR / 1.349; log scale for ratios), "
                      f"clipped at ±{fmt(clip)}")
        ax.grid(axis="y", visible=False)
        return figs.to_svg(fig, "seed-zero")


def seed0_section(rows: Sequence[SeedZero], verdicts: Sequence[Verdict], seconds: float = float("nan")):
    """The report section "Was seed 0 typical?"."""
    from harness.render.page import Figure, Section, Table

    shown = [r for r in rows if r.value is not None and r.n_runs]
    if not shown:
        return None
    by_id = {v.id: v for v in verdicts}
    tails = [r.id for r in shown if math.isfinite(r.percentile) and (r.percentile < 10 or r.percentile > 90)]
    n_rep = sum(r.source == "reproduced" for r in shown)
    intro = (
        "The write-up reports one run: seed 0 under the experiment's own seeding (one integer seeds the polytope, the "
        "data, the initialisation and the shuffles; PROTOCOL.md). The harness reproduces that run exactly "
        "(reference.reproduce(0)) and computes each claim's per-run statistic on it (the Lp/Linear ratio or "
        "difference of the two models' columns; for a dip-test claim, the dip test on its interior gradient norms). "
        f"{n_rep} of the {len(shown)} values below come from the reproduced run, the rest from the write-up's table. "
        "Each is placed on the claim's distribution over the study's runs (the runs the claim counts), with its "
        "percentile (ties count half).\n\n"
        f"Seed 0 lies in the outer 10% of the runs for {len(tails)} of {len(shown)} claims"
        + (f": {', '.join(tails)}." if tails else ".")
        + " Claims on models the write-up did not run (lp2, the ablations) and the slope across runs have no "
          "seed-0 value.")
    if math.isfinite(seconds):
        intro += f" Reproducing the run took {fmt(seconds, decimals=0)} s."
    table_rows = []
    for r in shown:
        u = np.asarray(by_id[r.id].unit_values, dtype=float)
        u = u[~np.isnan(u)]
        table_rows.append([r.id, float(r.value), r.source, float(np.median(u)) if u.size else float("nan"),
                           float(r.percentile), r.n_runs])
    table = Table(["claim", "seed 0", "from", "median of runs", "percentile", "runs"], table_rows,
                  caption="The write-up's run against the study's runs, per claim (the claim's per-run statistic).")
    fig = Figure("seed-zero", seed0_figure(rows, verdicts),
                 "Each claim's per-run values (grey points, box from the 25th to the 75th percentile, median tick) "
                 "on a common scale, and the write-up's seed 0 (red diamond) with its percentile at the right. A "
                 "diamond in the middle means the write-up's single run was typical for that claim; near an edge, "
                 "it was not.")
    return Section("seed-zero", "Was seed 0 typical?", intro, figures=[fig], tables=[table])


def _choice_columns(mv: Multiverse) -> list[tuple[str, object]]:
    """(choice, value) pairs that some counted specification uses, in CHOICES order; a choice
    that keeps one value in every specification is left out."""
    counted = mv.outcomes[mv.outcomes["block"] != "reference"]
    return [(ch, v) for ch, vals in CHOICES.items() if counted[ch].nunique() > 1 for v in vals
            if (counted[ch] == v).any()]


def summary_figure(mv: Multiverse) -> str:
    """Heatmap: per claim (rows), the share of specifications in which it holds, overall and
    among the specifications that use each choice value (columns)."""
    from harness.render import figures as figs

    cols = _choice_columns(mv)
    rob = list(mv.robustness)
    mat = np.full((len(rob), len(cols) + 1), np.nan)
    for i, r in enumerate(rob):
        mat[i, 0] = r.share
        for j, (ch, v) in enumerate(cols, start=1):
            h, n = r.by_choice.get(f"{ch}={_value_text(v)}", (0, 0))
            mat[i, j] = h / n if n else np.nan
    labels = ["all"] + [f"{CHOICE_LABEL[ch]} {_value_text(v)}" + (" *" if v == getattr(DEFAULT, ch) else "")
                        for ch, v in cols]
    with figs.style():
        fig, axes = figs.new_figure(figs.WIDTH, 0.16 * len(rob) + 1.6)
        ax = axes[0, 0]
        im = ax.imshow(mat, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                if np.isfinite(mat[i, j]):
                    ax.text(j, i, fmt(100 * mat[i, j], decimals=0), ha="center", va="center", fontsize=5.2,
                            color="white" if abs(mat[i, j] - 0.5) > 0.35 else "#222")
        ax.xaxis.set_ticks_position("top")
        ax.set_xticks(range(len(labels)), labels, rotation=55, ha="left", rotation_mode="anchor", fontsize=6.3)
        ax.set_yticks(range(len(rob)), [f"{r.id} ({r.default_verdict})" for r in rob], fontsize=6.3)
        bounds = [0.5] + [j + 0.5 for j in range(1, len(cols)) if cols[j][0] != cols[j - 1][0]]
        for b in bounds:
            ax.axvline(b, color="white", lw=1.6)
        groups = [i + 0.5 for i in range(len(rob) - 1) if rob[i].group != rob[i + 1].group]
        for g in groups:
            ax.axhline(g, color="white", lw=2.2)
        ax.grid(False)
        fig.colorbar(im, ax=ax, shrink=0.3, label="share of specifications where the claim holds", pad=0.01)
        return figs.to_svg(fig, "multiverse-summary")


def curve_figure(mv: Multiverse, claim: Claim) -> str:
    """The specification curve of one claim: estimate and 95% CI in every counted
    specification, sorted by estimate and coloured by verdict (top), and which value of each
    choice every specification used (bottom)."""
    from matplotlib.figure import Figure as MplFigure

    from harness.render import figures as figs

    o = mv.of(claim.id)
    o = o[o["block"] != "reference"].sort_values("estimate", na_position="last").reset_index(drop=True)
    x = np.arange(len(o))
    est, lo, hi = (o[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
    rows = [(ch, v) for ch, v in _choice_columns(mv)]
    log = claim.statistic.log_axis and bool(np.all(est[np.isfinite(est)] > 0))
    with figs.style():
        fig = MplFigure(figsize=(figs.WIDTH, 2.2 + 0.105 * len(rows)), layout="constrained")
        gs = fig.add_gridspec(2, 1, height_ratios=[1.7, 0.105 * len(rows) + 0.25])
        ax = fig.add_subplot(gs[0])
        ax2 = fig.add_subplot(gs[1], sharex=ax)
        if claim.margin is not None:
            ax.axhspan(*claim.margin, color=figs.REF["claimed"], alpha=0.12, lw=0)
        else:
            ax.axhline(claim.null_value, color=figs.REF["null"], lw=0.9, ls="--")
        if claim.claimed is not None:
            ax.axhline(claim.claimed, color=figs.REF["claimed"], lw=1.0, ls="-.")
        many = len(o) > 150  # the full grid: draw the marks as an image inside the SVG
        for word, colour in figs.VERDICT_COLORS.items():
            m = (o["verdict"] == word).to_numpy()
            if m.any():
                with np.errstate(invalid="ignore"):
                    err = np.vstack([np.clip(est[m] - lo[m], 0, None), np.clip(hi[m] - est[m], 0, None)])
                err = np.where(np.isfinite(err), err, 0.0)
                bars = ax.errorbar(x[m], est[m], yerr=err, fmt="o", ms=1.6 if many else 3.2, lw=0.5 if many else 0.9,
                                   color=colour, label=word)
                for artist in bars.lines[0:1] + bars.lines[2]:
                    artist.set_rasterized(many)
        d = np.flatnonzero((o[list(CHOICES)] == pd.Series(DEFAULT.as_dict())).all(axis=1).to_numpy())
        if d.size:
            ax.plot(x[d], est[d], marker="o", ms=9, mfc="none", mec="black", mew=1.1, ls="none",
                    label="default specification")
        if log:
            ax.set_yscale("log")
        ax.set_ylim(*_ylim(est, lo, hi, [claim.null_value, claim.claimed, *(claim.margin or ())], log))
        ax.set_ylabel("estimate, 95% CI")
        ax.legend(loc="upper left", fontsize=6.5, ncol=3)
        ax.set_title(f"{claim.id}: holds in {int(o['holds'].sum())} of {int(o['testable'].sum())} specifications",
                     loc="left")
        ax.tick_params(labelbottom=False)
        for i, (ch, v) in enumerate(rows):
            m = (o[ch] == v).to_numpy()
            ax2.scatter(x[m], np.full(m.sum(), i), s=1.5 if many else 7, marker="s", lw=0, rasterized=many,
                        color="#9aa3ab" if v == getattr(DEFAULT, ch) else "#1f2328")
        for i in range(1, len(rows)):
            if rows[i][0] != rows[i - 1][0]:
                ax2.axhline(i - 0.5, color="#d0d7de", lw=0.7)
        ax2.set_yticks(range(len(rows)), [f"{CHOICE_LABEL[ch]} {_value_text(v)}" for ch, v in rows], fontsize=5.8)
        ax2.set_ylim(len(rows) - 0.5, -0.5)
        ax2.set_xlim(-0.8, len(o) - 0.2)
        ax2.grid(False)
        ax2.set_xlabel("specifications, sorted by estimate (grey: the default value of a choice)")
        return figs.to_svg(fig, f"spec-curve-{claim.id}")


def _ylim(est: np.ndarray, lo: np.ndarray, hi: np.ndarray, refs: list, log: bool) -> tuple[float, float]:
    """Limits that show every estimate and reference line, and intervals up to 3x the spread
    of the estimates beyond them (a few huge intervals would flatten the curve; they are cut)."""
    f = (np.log if log else np.asarray)
    pts = np.array([v for v in [*est, *refs] if v is not None and np.isfinite(v) and (not log or v > 0)], float)
    if pts.size == 0:
        return (0.1, 10.0) if log else (-1.0, 1.0)
    a, b = float(f(pts).min()), float(f(pts).max())
    span = max(b - a, 0.05 * max(abs(a), abs(b)), 1e-3)
    ends = np.array([v for v in [*lo, *hi] if np.isfinite(v) and (not log or v > 0)], float)
    if ends.size:
        a = max(min(a, float(f(ends).min())), a - 3 * span)
        b = min(max(b, float(f(ends).max())), b + 3 * span)
    pad = 0.06 * (b - a or 1.0)
    a, b = a - pad, b + pad
    return (math.exp(a), math.exp(b)) if log else (a, b)


def multiverse_section(mv: Multiverse, claims: Sequence[Claim], group: str = "write-up"):
    """The report section "How robust is each verdict?": definitions, the summary table and
    heatmap, and the specification curves of the claims in `group`."""
    from harness.render.page import Figure, Section, Table

    n_analysis = int((mv.outcomes.drop_duplicates("label")["block"] == "analysis").sum())
    n_training = len(mv.specs) - n_analysis
    blocks = [f"{n_analysis} specifications cross the analysis choices (flat threshold "
              f"{', '.join(_value_text(v) for v in CHOICES['flat_threshold'])}; boundary band "
              f"{', '.join(_value_text(v) for v in CHOICES['band'])}; centre interior mean or Chebyshev; inclusion "
              f"declared or all runs) on the report's study ({mv.main_size}), re-measuring its stored runs"]
    if n_training:
        blocks.append(f"{n_training} change training choices (faces {', '.join(map(str, CHOICES['n_faces']))}; "
                      f"hidden width {', '.join(map(str, CHOICES['hidden']))}; epochs "
                      f"{', '.join(map(str, CHOICES['epochs']))}) on a training study of {mv.train_size}"
                      + (" each alone from the default" if mv.plan == "default" else ", crossed with the analysis "
                         "choices"))
    else:
        blocks.append("training choices (faces, hidden width, epochs) are not part of this report: "
                      "`python -m harness report --multiverse default` adds them one at a time (and trains "
                      "about 6,000 small runs once), `--multiverse full` crosses all seven choices")
    intro = (
        "A verdict that flips when a reasonable analysis choice moves tells a reader little. Here every claim is "
        f"evaluated in {len(mv.specs)} specifications: " + "; ".join(blocks) + ". Each specification is "
        "evaluated exactly as the headline: the same tests and bootstrap, Holm within the claim's group in that "
        "specification.\n\n"
        "A claim holds in a specification when its verdict there is positive (supported or equivalent); its share "
        "is the number of specifications where it holds over the number where it could be tested. 'Same verdict' "
        "counts the specifications whose verdict word is the default's, so a contradicted claim that stays "
        "contradicted is stable too. 'Changes under' lists the choices that, changed alone from the default, turn "
        "the verdict from positive to not or back. Inclusion 'declared' keeps each claim's own rule (collapsed runs "
        "out for the mesa claims; claims about collapse always count every run, since excluding collapsed runs "
        "would define their answer away); 'all runs' counts every finite run for every claim.")
    if mv.train_size:
        intro += ("\n\nSpecifications with other training choices use the smaller training study; the column "
                  f"'default at {mv.train_size}' gives the default specification's verdict on that study, so that "
                  "a verdict lost to the smaller study is not read as lost to the choice.")
    columns = ["claim", "group", "default verdict", "holds in", "share", "same verdict", "changes under"]
    if mv.train_size:
        columns.append(f"default at {mv.train_size}")
    rows = []
    for r in mv.robustness:
        row = [r.id, r.group, r.default_verdict, f"{r.n_holds} / {r.n_specs}",
               fmt_pct(r.share, 2), fmt_pct(r.agree_share, 2), ", ".join(r.flips) or "none"]
        if mv.train_size:
            row.append(r.reference_verdict or "n/a")
        rows.append(row)
    table = Table(columns, rows, caption=f"Each claim across {len(mv.specs)} specifications ({mv.plan} plan).")
    figures = [Figure("multiverse-summary", summary_figure(mv),
                      "Share of specifications in which each claim holds (number in each cell, in percent): overall "
                      "(first column) and among the specifications that use each value of a choice (* marks the "
                      "default value). A column much redder than the rest of its row names the choice that breaks "
                      "the claim; rows are the claims, with their default verdict.")]
    for c in claims:
        if c.group == group and c.id in set(mv.outcomes["id"]):
            figures.append(Figure(f"spec-curve-{c.id}", curve_figure(mv, c),
                                  f"Specification curve of {c.id}: the estimate and 95% CI in every specification, "
                                  "sorted, coloured by verdict, the default specification circled; below, the value "
                                  "of each choice that specification used. Dashed: the null; dash-dot: the claimed "
                                  "value; band: the equivalence margin."))
    return Section("multiverse", "How robust is each verdict? The multiverse of choices", intro, figures=figures,
                   tables=[table])


