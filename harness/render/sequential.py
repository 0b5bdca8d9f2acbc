"""The report section of a sequential study (`report --until-decided`): how each claim's
repeated confidence interval narrowed round by round, and the round at which it was decided;
a figure (one panel per claim) and a table, drawn from analysis.sequential.History."""
from __future__ import annotations

import math
from collections.abc import Sequence

from harness.analysis.sequential import History
from harness.analysis.verdicts import Claim, Verdict
from harness.render.format import fmt, fmt_ci, fmt_p
from harness.render.page import Figure, Section, Table


def _track(history: History, claim_id: str) -> list[tuple[int, Verdict]]:
    """(polytopes, verdict) of one claim at every look where it was evaluated."""
    return [(r.polytopes, v) for r in history.rounds for v in r.verdicts if v.id == claim_id]


def narrowing_figure(history: History, claims: Sequence[Claim]) -> str:
    """Small multiples, one panel per claim of the family: the estimate and its repeated 95%
    interval after each round (x: polytopes so far), coloured by the verdict word at that look;
    the null (dotted), the claimed band or equivalence margin (shaded), and the round where the
    claim was decided (vertical line)."""
    from harness.render import figures as figs

    shown = [c for c in claims if c.id in history.family]
    ncols = 4
    nrows = max(1, math.ceil(len(shown) / ncols))
    with figs.style():
        fig, axes = figs.new_figure(figs.WIDTH, 1.25 * nrows + 0.4, nrows, ncols, sharex=True)
        for ax in axes.ravel()[len(shown):]:
            ax.set_visible(False)
        for ax, c in zip(axes.ravel(), shown, strict=False):
            track = [(x, v) for x, v in _track(history, c.id) if math.isfinite(v.estimate)]
            if not track:
                ax.set_title(f"{c.id} (untested)", fontsize=6, loc="left", pad=2)
                continue
            log = c.statistic.log_axis and all(v.ci.low > 0 for _, v in track)
            shade = getattr(track[-1][1], "band", None) or track[-1][1].margin
            if shade is not None:
                ax.axhspan(*shade, color=figs.REF["claimed"], alpha=0.12, lw=0)
            ax.axhline(track[-1][1].null, color=figs.REF["null"], lw=0.7, ls=":")
            for x, v in track:
                color = figs.VERDICT_COLORS.get(v.verdict, figs.REF["estimate"])
                ax.plot([x, x], [v.ci.low, v.ci.high], color=color, lw=1.4, solid_capstyle="butt")
                ax.plot([x], [v.estimate], "o", ms=2.2, color=color)
            at = history.decided_round(c.id)
            if at is not None:
                ax.axvline(history.rounds[at - 1].polytopes, color=figs.REF["estimate"], lw=0.6, ls="--", alpha=0.6)
            if log:  # the band, the null and every interval in view, with plain tick labels
                ends = [x for _, v in track for x in (v.ci.low, v.ci.high)] + [track[-1][1].null, *(shade or ())]
                ends = [x for x in ends if 0 < x < math.inf]
                figs._log_axis(ax, min(ends) / 1.15, max(ends) * 1.15, which="y")
            ax.set_title(c.id, fontsize=6, loc="left", pad=2)
            ax.tick_params(labelsize=5.5)
        for ax in axes[-1]:
            ax.set_xlabel("polytopes", fontsize=6)
        return figs.to_svg(fig, "sequential-narrowing")


def sequential_section(history: History, claims: Sequence[Claim]) -> Section:
    """The section "Sequential study": the design, the figure, and a table of each claim's
    decision round, verdict and final estimate with its repeated interval."""
    d = history.design
    last = history.rounds[-1]
    bounds = ", ".join(fmt(c) for c in d.bounds)
    intro = (
        f"The study grew in rounds of {history.round_polytopes} new polytopes at {history.seeds} seeds each, up to "
        f"{d.looks} rounds (a budget of {history.budget:,} runs, declared before the first look), and was looked at "
        f"after each round; it stopped after round {last.look} ({history.stopped}), at {last.polytopes} polytopes "
        f"and {last.runs:,} runs, {sum(r.trained for r in history.rounds):,} of them trained now.\n\n"
        "Looking after every round and stopping when the claims are decided would inflate false positives with "
        "single-look tests, so each look uses a group-sequential design (Lan and DeMets 1983) with an "
        "O'Brien-Fleming-type alpha-spending function over the declared rounds: the two-sided boundaries on the "
        f"z scale were {bounds}, strict early and close to a single look's 1.96 at the end. Each claim's own test "
        "(the t-test on polytope means, TOST, the binomial test when every run agrees) gives a repeated p-value (the "
        "smallest level at which this design stops at that look), Holm acts on those within each claim group "
        "(claims decided earlier counting as rejected), and each interval is a repeated 95% confidence interval "
        "(the 95% interval widened to the look's boundary), which covers the truth at every look at once. A claim "
        "keeps the word of the round where it was first decided; its interval keeps narrowing after that.")
    fig = Figure("sequential-narrowing", narrowing_figure(history, claims),
                 "Each claim's estimate and repeated 95% interval after each round (x: polytopes so far), coloured by "
                 "its verdict at that look. Dotted: the null; shaded: the claimed band or the equivalence margin; "
                 "dashed: the round where the claim was decided.")
    rows = []
    for c in claims:
        if c.id not in history.family:
            continue
        v = next((v for v in last.verdicts if v.id == c.id), None)
        at = history.decided_round(c.id)
        rows.append([c.id, v.verdict if v else "n/a", "not decided" if at is None else str(at),
                     "n/a" if at is None else str(history.rounds[at - 1].polytopes),
                     fmt(v.estimate) if v else "n/a", fmt_ci(v.ci.low, v.ci.high) if v else "n/a",
                     fmt_p(v.p_adj) if v else "n/a"])
    table = Table(["claim", "verdict", "decided in round", "polytopes then", "estimate", "repeated 95% CI",
                   "Holm p (repeated)"], rows,
                  caption=f"The write-up's claims at the last look (round {last.look}); decided: any word but "
                          "not supported, not shown equivalent or magnitude undecided.")
    progress = Table(["round", "polytopes", "runs", "trained", "decided", "seconds"],
                     [[str(r.look), str(r.polytopes), f"{r.runs:,}", f"{r.trained:,}",
                       f"{r.decided(history.family)} of {len(history.family)}", fmt(r.seconds, decimals=0)]
                      for r in history.rounds], caption="The rounds.")
    return Section("sequential", "Sequential study: rounds until the claims are decided", intro, figures=[fig],
                   tables=[table, progress])

