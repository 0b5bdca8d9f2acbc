"""The report's figures, one function per figure; each returns inline SVG text.

Plotting only: report.py prepares the arrays and tables, these functions draw them.
matplotlib's object API (`Figure`, never pyplot) so no figure enters pyplot's registry:
nothing to close, nothing leaks between reports. SVG ids are salted with the figure's name,
so many figures can share one HTML page; large point clouds are rasterised inside the SVG
to keep the page small.
"""
from __future__ import annotations

import contextlib
import functools
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from harness.render.format import fmt, fmt_pct

# Fixed colours for the models the write-up compares; ablation variants take the rest.
MODEL_COLORS = {"lp": "#1f6fb4", "linear": "#d95f02", "lp2": "#7b3294"}
_OTHER_COLORS = ["#1b9e77", "#e7298a", "#66a61e", "#a6761d", "#e6ab02", "#666666", "#17becf", "#8c564b",
                 "#bcbd22", "#9467bd"]
REF = {"null": "#777777", "claimed": "#1a9850", "writeup": "#d7301f", "estimate": "#111111"}
# The one definition of the verdict colours: the report's badges (report.py makes their CSS
# from it) and the figures that colour by verdict.
VERDICT_COLORS = {"supported": "#1a7f37", "smaller than claimed": "#bc4c00", "larger than claimed": "#8a4600",
                  "magnitude undecided": "#9a6700", "not supported": "#6e7781", "contradicted": "#c0362c",
                  "equivalent": "#0f766e", "not shown equivalent": "#57606a"}

_RC = {
    "font.size": 8.5, "axes.titlesize": 9, "axes.labelsize": 8.5, "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5, "ytick.labelsize": 7.5, "axes.spines.top": False, "axes.spines.right": False,
    "legend.frameon": False, "axes.grid": True, "grid.color": "#e6e6e6", "grid.linewidth": 0.6,
    "axes.axisbelow": True, "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Bitstream Vera Sans", "Verdana"],
    "svg.fonttype": "none", "figure.dpi": 100, "savefig.dpi": 110,
}
WIDTH = 7.2  # inches, drawn at 8.5 pt type
FOREST_ROWS = 40  # claim figures: a labelled row per polytope up to this many, then a sorted caterpillar
RASTER_ROWS = 400  # ... whose intervals are drawn as an image past this many polytopes
GROW = 1.4  # on the page a figure may grow to GROW x its drawn size (type to ~12 pt)


def model_colors(models: Sequence[str]) -> dict[str, str]:
    """One colour per model name, stable for lp, linear and lp2."""
    out, k = {}, 0
    for m in models:
        if m in MODEL_COLORS:
            out[m] = MODEL_COLORS[m]
        else:
            out[m] = _OTHER_COLORS[k % len(_OTHER_COLORS)]
            k += 1
    return out


def _styled(draw: Callable[..., str]) -> Callable[..., str]:
    """Run a figure function under the report's rcParams (read as artists are made and saved)."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> str:
        with style():
            return draw(*args, **kwargs)

    return wrapper


def style() -> contextlib.AbstractContextManager:
    """The report's look, for figures drawn outside this module (report sections):

        with figures.style():
            fig, axes = figures.new_figure(figures.WIDTH, 3.0, 1, 2)
            axes[0, 0].plot(x, y)
            svg = figures.to_svg(fig, "my-figure")
    """
    return mpl.rc_context(_RC)


def new_figure(width: float, height: float, nrows: int = 1, ncols: int = 1, layout: str | None = "constrained",
               **kw) -> tuple[Figure, np.ndarray]:
    """A figure (width x height inches) and its axes, always a 2-D array. The per-claim figures,
    drawn dozens of times, pass layout=None and set margins by hand: constrained layout doubles
    the drawing time."""
    fig = Figure(figsize=(width, height), layout=layout)
    kw.setdefault("squeeze", False)
    return fig, fig.subplots(nrows, ncols, **kw)


def to_svg(fig: Figure, name: str) -> str:
    """The figure as an <svg> element for inline use: no XML prolog or metadata, ids salted
    with `name` (unique on the page), width following the page and height the viewBox."""
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": f"mesa-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.DOTALL)
    text = re.sub(r'<g id="[^"]*"', "<g", text)  # matplotlib's per-figure ids repeat across figures
    text = re.sub(r'<svg ([^>]*?)width="([\d.]+)pt" height="([\d.]+)pt"', _responsive, text, count=1)
    return text.strip()


def _responsive(m: re.Match) -> str:
    """The root tag without a fixed size: as wide as the page allows, up to GROW x drawn."""
    return f'<svg {m.group(1)}class="fig" role="img" style="max-width:{GROW * float(m.group(2)):.0f}pt"'


def _log_axis(ax, lo: float | None, hi: float | None, which: str = "x") -> None:
    """A log axis over [lo, hi] with plain tick labels (0.5, 1, 2, 1e-4) and no minor ticks:
    matplotlib's default mathtext labels and minor ticks cost more time than the rest of a
    small figure. Tick density follows the number of decades shown."""
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    decades = math.log10(hi / lo) if lo is not None and hi is not None and 0 < lo < hi else 3.0
    subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if decades <= 1.2 else (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=8))
    axis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, 6)))
    axis.set_minor_locator(NullLocator())
    if lo is not None and hi is not None:
        (ax.set_xlim if which == "x" else ax.set_ylim)(lo, hi)


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    return x[np.isfinite(x)]


def _clip_max(samples: Sequence[np.ndarray], q: float = 99.5) -> float:
    allv = np.concatenate([s for s in samples if s.size] or [np.zeros(1)])
    return float(np.percentile(allv, q)) if allv.size else 1.0


# -- trainability -----------------------------------------------------------------------------
@_styled
def collapse_rates(rows: Sequence[Mapping], colors: Mapping[str, str], name: str) -> str:
    """rows: dicts model, rate, low, high (shares in [0, 1]); a point with its 95% CI per model."""
    fig, ax = new_figure(WIDTH * 0.62, 0.5 + 0.32 * len(rows))
    ax = ax[0, 0]
    for i, r in enumerate(rows):
        c = colors.get(r["model"], "#333333")
        lo, hi = r["low"], r["high"]
        if math.isfinite(lo) and math.isfinite(hi):
            ax.plot([100 * lo, 100 * hi], [i, i], color=c, lw=2.2, solid_capstyle="butt")
        ax.plot([100 * r["rate"]], [i], "o", color=c, ms=6)
    ax.set_yticks(range(len(rows)), [r["model"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("collapsed runs (%), 95% CI")
    ax.grid(axis="y", visible=False)
    return to_svg(fig, name)


@_styled
def accuracy_distributions(acc: Mapping[str, tuple[np.ndarray, np.ndarray]], majority: float, name: str) -> str:
    """acc: model -> (accuracies of learned runs, of collapsed runs); one panel per model, in
    two columns when there are more than three models."""
    models = list(acc)
    ncols = 1 if len(models) <= 3 else 2
    nrows = max(1, math.ceil(len(models) / ncols))
    height = 0.55 + 0.95 * nrows
    fig, axes = new_figure(WIDTH, height, nrows, ncols, sharex=True, layout=None)
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.45 / height, top=1 - 0.22 / height, hspace=0.55,
                        wspace=0.12)
    allv = [_finite(v) for pair in acc.values() for v in pair]
    lo = min([v.min() for v in allv if v.size] + [majority if math.isfinite(majority) else 1.0]) - 0.01
    bins = np.linspace(max(lo, 0.0), 1.0, 61)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(models):
            ax.set_visible(False)
            continue
        m = models[k]
        learned, collapsed = (_finite(v) for v in acc[m])
        ax.hist([learned, collapsed], bins=bins, stacked=True, color=["#4a7ab5", "#c9c9c9"],
                label=[f"learned ({learned.size})", f"collapsed ({collapsed.size})"])
        if math.isfinite(majority):
            ax.axvline(majority, color=REF["null"], ls="--", lw=1)
        if k % ncols == 0:
            ax.set_ylabel("runs")
        ax.set_title(m, loc="left")
        ax.legend(loc="upper center")
    for ax in axes[-1]:
        ax.set_xlabel("test accuracy")
    return to_svg(fig, name)


# -- the write-up's figures across runs ---------------------------------------------------------
@_styled
def grad_histograms(samples: Mapping[str, np.ndarray], threshold: float, colors: Mapping[str, str],
                    name: str) -> str:
    """Pooled interior gradient norms per model: density histograms, linear and log counts."""
    samples = {m: v for m, v in ((m, _finite(v)) for m, v in samples.items()) if v.size}
    top = _clip_max(list(samples.values()))
    bins = np.linspace(0, max(top, threshold * 2), 71)
    fig, axes = new_figure(WIDTH, 2.6, 1, 2)
    for ax, logy in zip(axes[0], (False, True), strict=True):
        for m, v in samples.items():
            share = float((v < threshold).mean()) if v.size else float("nan")
            ax.hist(v, bins=bins, density=True, histtype="step", lw=1.4, color=colors[m],
                    label=f"{m}: {v.size:,} points, {fmt_pct(share)} < {fmt(threshold)}")
        ax.axvline(threshold, color=REF["null"], ls="--", lw=1)
        ax.set_xlabel(f"interior gradient norm ||ds/dx|| (axis cut at {fmt(bins[-1])})")
        if logy:
            _log_axis(ax, None, None, "y")
            ax.set_title("log density", loc="left")
        else:
            ax.set_title("density", loc="left")
            ax.legend(loc="upper right")
    return to_svg(fig, name)


@_styled
def grad_histogram_grid(panels: Sequence[tuple[str, Mapping[str, np.ndarray]]], threshold: float,
                        colors: Mapping[str, str], name: str, ncols: int = 4) -> str:
    """Small multiples: one panel per (polytope, seed) with each model's interior gradient norms."""
    nrows = max(1, math.ceil(len(panels) / ncols))
    fig, axes = new_figure(WIDTH, 0.3 + 1.45 * nrows, nrows, ncols)
    top = _clip_max([_finite(v) for _, d in panels for v in d.values()])
    bins = np.linspace(0, max(top, threshold * 2), 31)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        title, data = panels[k]
        for m, v in data.items():
            v = _finite(v)
            ax.hist(v, bins=bins, histtype="stepfilled", alpha=0.45, color=colors[m],
                    label=f"{m}: {int((v < threshold).sum())}/{v.size}")
        ax.axvline(threshold, color=REF["null"], ls="--", lw=0.8)
        ax.set_title(title, loc="left", fontsize=7.5)
        ax.legend(loc="upper right", fontsize=6.5, handlelength=1)
        ax.tick_params(labelsize=6.5)
    return to_svg(fig, name)


@_styled
def grad_vs_distance(data: Mapping[str, tuple[np.ndarray, np.ndarray]], band: float, threshold: float,
                     colors: Mapping[str, str], name: str, max_points: int = 6000) -> str:
    """Per model: gradient norm against signed distance d(x) (negative inside). A random subsample
    of points (rasterised), the binned median and the 10-90% band over all points."""
    models = list(data)
    fig, axes = new_figure(WIDTH, 2.5, 1, len(models), sharey=True, sharex=True)
    rng = np.random.default_rng(0)
    allg = [_finite(g) for _, g in data.values()]
    top = _clip_max(allg, 99.8)
    for ax, m in zip(axes[0], models, strict=True):
        d, g = (np.asarray(a, dtype=float) for a in data[m])
        ok = np.isfinite(d) & np.isfinite(g)
        d, g = d[ok], g[ok]
        pick = rng.choice(d.size, size=min(max_points, d.size), replace=False) if d.size else np.arange(0)
        ax.scatter(d[pick], g[pick], s=2, alpha=0.25, color=colors[m], lw=0, rasterized=True)
        if d.size:
            edges = np.linspace(d.min(), d.max(), 41)
            idx = np.clip(np.digitize(d, edges) - 1, 0, len(edges) - 2)
            mids, med, q10, q90 = [], [], [], []
            for b in range(len(edges) - 1):
                gb = g[idx == b]
                if gb.size >= 20:
                    mids.append((edges[b] + edges[b + 1]) / 2)
                    q10.append(np.percentile(gb, 10))
                    med.append(np.median(gb))
                    q90.append(np.percentile(gb, 90))
            ax.fill_between(mids, q10, q90, color=colors[m], alpha=0.18, lw=0)
            ax.plot(mids, med, color="black", lw=1.3, label="median, 10-90%")
        ax.axvline(0, color=REF["null"], lw=0.8)
        ax.axvline(band, color=REF["null"], lw=0.8, ls=":")
        ax.axhline(threshold, color=REF["null"], lw=0.8, ls="--")
        ax.set_title(f"{m} ({d.size:,} points)", loc="left")
        ax.set_xlabel("signed distance d(x)  (< 0 inside)")
        ax.set_ylim(0, top * 1.02)
    axes[0, 0].set_ylabel("gradient norm")
    axes[0, 0].legend(loc="upper left")
    return to_svg(fig, name)


@_styled
def interior_pairs(x: np.ndarray, y: np.ndarray, threshold: float, xlabel: str, ylabel: str, name: str) -> str:
    """Each interior test point of a paired (polytope, seed): one model's gradient norm against the
    other's, as a 2-D histogram with log counts; the diagonal and the flat threshold marked."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    fig, axes = new_figure(WIDTH * 0.62, 3.4)
    ax = axes[0, 0]
    top = _clip_max([x, y], 99.5) if x.size else 1.0
    if x.size:
        h = ax.hist2d(x, y, bins=70, range=[[0, top], [0, top]],
                      norm=LogNorm(), cmap="viridis", rasterized=True)
        fig.colorbar(h[3], ax=ax, label="points")
    ax.plot([0, top], [0, top], color="white", lw=0.8, ls="--")
    ax.axvline(threshold, color="#ff7f7f", lw=0.8)
    ax.axhline(threshold, color="#ff7f7f", lw=0.8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.grid(False)
    return to_svg(fig, name)


@_styled
def weight_distributions(weights: Mapping[str, np.ndarray], colors: Mapping[str, str], name: str,
                         floor: float = 1e-5) -> str:
    """Aggregation weights w of every run pooled, per model: signed (left) and |w| on a log axis
    (right; values below `floor`, e.g. exact zeros, are drawn at the floor)."""
    fig, axes = new_figure(WIDTH, 2.6, 1, 2)
    ws = {m: w for m, w in ((m, _finite(w)) for m, w in weights.items()) if w.size}
    allw = np.concatenate([w for w in ws.values() if w.size] or [np.zeros(1)])
    lim = float(np.percentile(np.abs(allw), 99.5)) or 1.0
    sbins = np.linspace(-lim, lim, 81)
    abins = np.logspace(math.log10(floor), math.log10(max(lim, floor * 10)), 71)
    for m, w in ws.items():
        axes[0, 0].hist(np.clip(w, -lim, lim), bins=sbins, density=True, histtype="step", lw=1.3, color=colors[m],
                        label=f"{m}: {fmt_pct((w < 0).mean())} negative")
        axes[0, 1].hist(np.clip(np.abs(w), floor, abins[-1]), bins=abins, density=False,
                        weights=np.full(w.size, 1 / max(w.size, 1)), histtype="step", lw=1.3, color=colors[m],
                        label=f"{m}: {fmt_pct((np.abs(w) < 0.01).mean())} below 0.01")
    axes[0, 0].axvline(0, color=REF["null"], lw=0.8)
    axes[0, 0].set_xlabel("signed w (stored; Lp uses only |w|)")
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(loc="upper left")
    for t in (0.01, 0.1):
        axes[0, 1].axvline(t, color=REF["null"], lw=0.8, ls="--")
    _log_axis(axes[0, 1], floor, abins[-1])
    axes[0, 1].set_xlabel("|w| (log scale)")
    axes[0, 1].set_ylabel("share of weights per bin")
    axes[0, 1].legend(loc="upper left")
    return to_svg(fig, name)


@_styled
def flip_comparison(flat: tuple[np.ndarray, np.ndarray], acc: tuple[np.ndarray, np.ndarray],
                    writeup_flat: tuple[float, float] | None, name: str) -> str:
    """Linear runs: flat fraction and accuracy before (x) and after (y) the weight flip."""
    fig, axes = new_figure(WIDTH, 3.0, 1, 2)
    for ax, (x, y), label in zip(axes[0], (flat, acc), ("flat fraction", "accuracy"), strict=True):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        ax.scatter(x, y, s=9, alpha=0.5, color=MODEL_COLORS["linear"], lw=0, rasterized=x.size > 3000)
        both = np.concatenate([x, y]) if x.size else np.array([0.0, 1.0])
        lo, hi = float(both.min()), float(both.max())
        pad = 0.03 * (hi - lo or 1.0)
        ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color=REF["null"], lw=0.9, ls="--", label="no change")
        ax.set_xlabel(f"{label}, original")
        ax.set_ylabel(f"{label}, flipped")
        ax.set_title(f"{label} ({x.size} runs)", loc="left")
        if label == "flat fraction" and writeup_flat is not None:
            ax.plot([writeup_flat[0]], [writeup_flat[1]], marker="*", ms=11, color=REF["writeup"], ls="none",
                    label="write-up, seed 0")
        ax.legend(loc="upper left")
    return to_svg(fig, name)


# -- one claim ---------------------------------------------------------------------------------
def _reference_lines(ax, *, null, claimed, writeup, margin, band, clip) -> None:
    for span in (margin, band):
        if span is not None:
            ax.axvspan(span[0], span[1], color=REF["claimed"], alpha=0.12, lw=0)
    if margin is None and null is not None:
        ax.axvline(null, color=REF["null"], ls="--", lw=1)
    if claimed is not None:
        ax.axvline(claimed, color=REF["claimed"], lw=1.2, ls="-.")
    if writeup is not None and math.isfinite(writeup):
        ax.axvline(clip(writeup), color=REF["writeup"], lw=1.2)


def _legend_handles(*, null, claimed, writeup, margin, band) -> list:
    handles = [Line2D([], [], color=REF["estimate"], lw=1.2, label="pooled estimate")]
    if writeup is not None and math.isfinite(writeup):
        handles.append(Line2D([], [], color=REF["writeup"], lw=1.2, label="write-up, seed 0"))
    if claimed is not None:
        handles.append(Line2D([], [], color=REF["claimed"], lw=1.2, ls="-.", label="claimed"))
    if margin is not None:
        handles.append(Patch(color=REF["claimed"], alpha=0.12, label="equivalence margin"))
    if band is not None:
        handles.append(Patch(color=REF["claimed"], alpha=0.12, label="claimed band"))
    if margin is None and null is not None:
        handles.append(Line2D([], [], color=REF["null"], lw=1, ls="--", label="null"))
    return handles


@_styled
def claim_evidence(rows: Sequence[Mapping], pooled: tuple[float, float, float], values: np.ndarray, *,
                   log: bool, null: float | None, claimed: float | None, writeup: float | None,
                   margin: tuple[float, float] | None, xlabel: str, name: str,
                   band: tuple[float, float] | None = None) -> str:
    """Left: forest plot of the per-polytope estimates (rows: polytope, estimate, low, high, n)
    with the pooled estimate and its 95% CI (a diamond). Right: histogram of the per-run values.
    Reference lines: null (grey dashed), claimed value (green dash-dot), equivalence margin or
    a magnitude claim's band around the claimed value (green band), the write-up's seed-0
    value (red). On a log axis, values <= 0 or infinite are
    drawn as arrows at the edge (forest) or left out (histogram)."""
    est, plo, phi = pooled
    vals = _finite(values)
    if log:
        vals = vals[vals > 0]
    k = len(rows)
    # Up to FOREST_ROWS polytopes: one labelled row each. Beyond (polytope-heavy studies have
    # hundreds), a caterpillar: the polytopes sorted by estimate, drawn as two collections in a
    # figure of fixed height (rasterized past RASTER_ROWS), so drawing time and page size stop
    # growing with the study.
    labelled = k <= FOREST_ROWS
    height = 1.25 + 0.19 * (max(k + 1, 8) if labelled else FOREST_ROWS)
    fig, axes = new_figure(WIDTH, height, 1, 2, layout=None, width_ratios=[1.15, 1])
    fig.subplots_adjust(left=0.2 if labelled else 0.12, right=0.985, bottom=0.85 / height, top=1 - 0.3 / height,
                        wspace=0.28)
    fax, hax = axes[0]

    every = [est, plo, phi, *(r["estimate"] for r in rows), *(r["low"] for r in rows), *(r["high"] for r in rows),
             *(x for x in (null, claimed, writeup) if x is not None), *(margin or ()), *(band or ())]
    good = [x for x in every if x is not None and math.isfinite(x) and (x > 0 or not log)]
    lo_ax, hi_ax = (min(good), max(good)) if good else ((0.1, 10.0) if log else (-1.0, 1.0))
    if log:
        lo_ax, hi_ax = lo_ax / 1.4, hi_ax * 1.4
    else:
        pad = 0.06 * ((hi_ax - lo_ax) or abs(hi_ax) or 1.0)
        lo_ax, hi_ax = lo_ax - pad, hi_ax + pad

    def clip(x: float) -> float:
        if math.isnan(x):
            return x
        if x == -math.inf or (log and x <= 0):
            return lo_ax
        return min(max(x, lo_ax), hi_ax)

    if not labelled:  # sorted by estimate (NaN last), so the rows read as a distribution
        rows = sorted(rows, key=lambda r: (math.isnan(r["estimate"]), r["estimate"]))
    segs, marks, edges = [], [], []
    for i, r in enumerate(rows):
        e, lo, hi = r["estimate"], r["low"], r["high"]
        if math.isfinite(lo) and math.isfinite(hi):
            segs.append([(clip(lo), i), (clip(hi), i)])
        inside = math.isfinite(e) and (e > 0 or not log) and lo_ax <= e <= hi_ax
        (marks if inside else edges).append((clip(e), i, ">" if e > 0 else "<"))
    raster = k > RASTER_ROWS
    fax.add_collection(LineCollection(segs, colors="#4a7ab5", linewidths=1.4 if labelled else 0.8,
                                      rasterized=raster))
    if marks:
        fax.plot([m[0] for m in marks], [m[1] for m in marks], "s", ls="none", color="#4a7ab5",
                 ms=4 if labelled else 2, rasterized=raster)
    for shape in (">", "<"):
        pts = [m for m in edges if m[2] == shape]
        if pts:
            fax.plot([m[0] for m in pts], [m[1] for m in pts], shape, ls="none", color="#4a7ab5", ms=5,
                     rasterized=raster)
    if math.isfinite(est):
        half = 0.3 if labelled else max(0.3, 0.012 * k)
        if math.isfinite(plo) and math.isfinite(phi):
            fax.fill([clip(plo), clip(est), clip(phi), clip(est)], [k, k - half, k, k + half], color=REF["estimate"])
        else:
            fax.plot([est], [k], "D", color=REF["estimate"])
    if labelled:
        labels = [f"polytope {r['polytope']} (n={r['n']})" for r in rows] + ["pooled, 95% CI"]
        fax.set_yticks(range(k + 1), labels)
        fax.set_ylim(k + 0.7, -0.7)
    else:
        fax.set_yticks([k], ["pooled"])
        fax.set_ylim(k + max(0.7, 0.03 * k), -0.7)
        fax.set_ylabel(f"{k} polytopes, by estimate")
    if log:
        _log_axis(fax, lo_ax, hi_ax)
    fax.set_xlim(lo_ax, hi_ax)
    for ax in (fax, hax):
        ax.set_xlabel(xlabel)
        _reference_lines(ax, null=null, claimed=claimed, writeup=writeup, margin=margin, band=band, clip=clip)
    fax.grid(axis="y", visible=False)
    fax.set_title(("per polytope" if labelled else f"per polytope ({k}, sorted)") if rows
                  else "per polytope: none (no per-polytope estimate)", loc="left")

    h_lo, h_hi = lo_ax, hi_ax
    if vals.size:
        uniq = np.unique(vals)
        if not log and uniq.size <= 40 and np.allclose(uniq, np.round(uniq)):  # counts, 0/1 indicators
            counts = np.array([(vals == u).sum() for u in uniq])
            step = float(np.diff(uniq).min()) if uniq.size > 1 else 1.0
            hax.bar(uniq, counts, width=0.6 * step, color="#7fa3cf", lw=0)
            h_lo, h_hi = min(lo_ax, uniq.min() - 0.5 * step), max(hi_ax, uniq.max() + 0.5 * step)
        else:
            if log:
                h_lo, h_hi = min(lo_ax, vals.min() / 1.1), max(hi_ax, vals.max() * 1.1)
                bins = np.logspace(math.log10(h_lo), math.log10(h_hi), 41)
            else:
                pad = 0.03 * ((vals.max() - vals.min()) or 1.0)
                h_lo, h_hi = min(lo_ax, vals.min() - pad), max(hi_ax, vals.max() + pad)
                bins = np.linspace(h_lo, h_hi, 41)
            hax.hist(vals, bins=bins, color="#7fa3cf", lw=0)
    if log:
        _log_axis(hax, h_lo, h_hi)
    hax.set_xlim(h_lo, h_hi)
    if math.isfinite(est):
        hax.axvline(clip(est), color=REF["estimate"], lw=1.2)
    hax.set_ylabel("count")
    hax.set_title(f"per run ({vals.size})", loc="left")
    handles = _legend_handles(null=null, claimed=claimed, writeup=writeup, margin=margin, band=band)
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5, bbox_to_anchor=(0.55, 0.0))
    return to_svg(fig, name)


@_styled
def slope_evidence(groups: Mapping[str, tuple[np.ndarray, np.ndarray]], slope: float, ci: tuple[float, float],
                   colors: Mapping[str, str], xlabel: str, ylabel: str, name: str) -> str:
    """A slope claim: one point per run (x, y), coloured by model, with each model's mean (large
    marker) and the fitted slope drawn through the grand mean, its 95% CI as a fan."""
    fig, axes = new_figure(WIDTH, 3.2, layout=None)
    fig.subplots_adjust(left=0.09, right=0.76, bottom=0.15, top=0.95)
    ax = axes[0, 0]
    xs, ys = [], []
    n = sum(np.asarray(x).size for x, _ in groups.values())
    for m, (x, y) in groups.items():
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        xs.append(x)
        ys.append(y)
        ax.scatter(x, y, s=12, alpha=0.5, lw=0, color=colors[m], rasterized=n > 3000)
        if x.size:
            ax.plot([x.mean()], [y.mean()], "o", ms=8, mec="white", mew=1, color=colors[m], label=m)
    x, y = np.concatenate(xs or [np.zeros(0)]), np.concatenate(ys or [np.zeros(0)])
    if x.size and math.isfinite(slope):
        grid = np.linspace(x.min(), x.max(), 50)
        xm, ym = x.mean(), y.mean()
        ax.plot(grid, ym + slope * (grid - xm), color=REF["estimate"], lw=1.5, label=f"slope {fmt(slope)}")
        if all(math.isfinite(c) for c in ci):
            a, b = ym + ci[0] * (grid - xm), ym + ci[1] * (grid - xm)
            ax.fill_between(grid, np.minimum(a, b), np.maximum(a, b), color=REF["estimate"], alpha=0.12, lw=0,
                            label="95% CI of the slope")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return to_svg(fig, name)


# -- ablations ---------------------------------------------------------------------------------
@_styled
def ablation_sweeps(sweeps: Mapping[str, Sequence[Mapping]], refs: Mapping[str, Mapping], metrics: Sequence[str],
                    colors: Mapping[str, str], name: str) -> str:
    """Rows: metrics; columns: regularisers. sweeps: reg -> rows with lam, model and, per metric,
    (estimate, low, high); refs: model -> the same per metric, drawn as horizontal lines and bands."""
    regs = list(sweeps)
    fig, axes = new_figure(WIDTH, 0.4 + 2.0 * len(metrics), len(metrics), len(regs), sharey="row")
    for j, reg in enumerate(regs):
        pts = sorted(sweeps[reg], key=lambda r: r["lam"])
        swept = any(r["lam"] > 0 for r in pts)
        xs = [r["lam"] if swept else k for k, r in enumerate(pts)]
        for i, metric in enumerate(metrics):
            ax = axes[i, j]
            for mname, ref in refs.items():
                e, lo, hi = ref[metric]
                if math.isfinite(e):
                    ax.axhline(e, color=colors[mname], lw=1.1, ls="--", label=f"{mname} (reference)")
                if math.isfinite(lo) and math.isfinite(hi):
                    ax.axhspan(lo, hi, color=colors[mname], alpha=0.1, lw=0)
            ys = np.array([r[metric] for r in pts], dtype=float).reshape(-1, 3)
            err = np.abs(np.vstack([ys[:, 0] - ys[:, 1], ys[:, 2] - ys[:, 0]]))
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(xs, ys[:, 0], yerr=err, fmt="o-", color="#1b9e77", capsize=3, lw=1.3, ms=5,
                        label="regularised Linear, 95% CI")
            if swept:
                _log_axis(ax, min(xs) / 2, max(xs) * 2)
                ax.set_xlabel("regularisation strength λ")
            else:
                ax.set_xticks(xs, [r["model"] for r in pts])
                ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
            if j == 0:
                ax.set_ylabel(metric.replace("_", " "))
            if i == 0:
                ax.set_title(reg, loc="left")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=3, fontsize=7.5)
    return to_svg(fig, name)


@_styled
def scatter_by_model(groups: Mapping[str, tuple[np.ndarray, np.ndarray]], colors: Mapping[str, str], xlabel: str,
                     ylabel: str, name: str, hlines: Mapping[str, float] | None = None,
                     linthresh: float | None = None) -> str:
    """One point per run, coloured by model; optional horizontal reference lines per model.
    linthresh: a symmetric-log x axis, linear within +-linthresh (for masses spanning decades)."""
    fig, axes = new_figure(WIDTH * 0.8, 3.4)
    ax = axes[0, 0]
    n = sum(np.asarray(x).size for x, _ in groups.values())
    for m, (x, y) in groups.items():
        ax.scatter(x, y, s=14, alpha=0.6, lw=0, color=colors[m], label=m, rasterized=n > 3000)
    for m, v in (hlines or {}).items():
        if math.isfinite(v):
            ax.axhline(v, color=colors[m], ls="--", lw=1.1, label=f"{m} mean")
    if linthresh is not None:
        ax.set_xscale("symlog", linthresh=linthresh)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v, 6)))
        ax.xaxis.set_minor_locator(NullLocator())
        if all(np.nanmin(np.asarray(x, dtype=float), initial=0.0) >= 0 for x, _ in groups.values()):
            ax.set_xlim(left=-0.5 * linthresh)  # masses are never negative
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
    return to_svg(fig, name)
