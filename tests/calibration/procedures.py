"""Equivalence procedures compared on the polytope means of the real 2 x 150 units.

The README ("Equivalence needs 90 polytopes") and stats.equivalence's docstring say that on
these data BCa, Hall's and Johnson's skew-corrected t and the plain t did no better than the
production bootstrap-t; this script is the evidence. Five 95% intervals for the mean of
polytope means, "equivalent" when the interval lies inside the claim's margins (a TOST, each
side at 2.5%):

  A  stats.equivalence: the production studentized polytope bootstrap (called with
     min_polytopes=1, so its refusal floor does not hide the rate)
  B  BCa (Efron 1987), scipy.stats.bootstrap(method="BCa")
  C  the plain t-interval
  D  Hall's (1992) transformation interval
  J  Johnson's (1978) modified t

(a) False "equivalent": each claim's units resampled and shifted onto the margin on the side
of their long tail exactly as the calibration does (simulate.empirical_default_study,
simulate.tail_margin), at 10, 30 and 90 polytopes, with Monte Carlo SE. The studies and A's
resamples draw from the seed of the calibration's own cell (results.json: the stress cell
with the floor lifted at 10 and 30 polytopes, 2000 studies; the required cell at 90, 4000),
so over its studies A's rate is that cell's exactly; B resamples from a seed of its own.
(b) On the real data: each 95% interval's width / the t-interval's (A and B over 20
bootstrap seeds: median, min, max; null where the interval is unbounded).

    python tests/calibration/procedures.py [--studies N]   # writes tests/calibration/procedures.json

Every cell is seeded from its key, so a rerun under the numpy and scipy recorded in the JSON
writes it byte for byte. Not a test: nothing in CI runs it. The default (4000 studies per
cell, Monte Carlo SE 0.34% at a 5% rate) takes about 5 minutes on one core.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as ss

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, as pytest puts it
from calibration import simulate  # noqa: E402

from harness.analysis import stats  # noqa: E402

OUT = Path(__file__).resolve().parent / "procedures.json"
LEVEL = 0.95
PROCEDURES = {"A": "bootstrap-t", "B": "BCa", "C": "t", "D": "Hall", "J": "Johnson"}
RATE_CLAIMS = ("soft(1)-keeps-accuracy", "soft(0.5)-keeps-accuracy", "soft(0.1)-keeps-accuracy", "accuracy-equal",
               "soft(1)-as-flat-as-lp")
POLYTOPES = (10, 30, 90)
WIDTH_SEEDS = 20


def t_interval(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C: the t-interval on polytope means (S, G), per study (Student 1908)."""
    g = m.shape[-1]
    est, se = m.mean(-1), m.std(-1, ddof=1) / math.sqrt(g)
    q = ss.t.ppf(0.5 + LEVEL / 2, g - 1)
    return est - q * se, est + q * se


def _skew_terms(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Mean, SE, Hall's a = gamma / (3 sqrt G) and b = gamma / (6 sqrt G) (gamma the sample skewness from
    biased moments, as Hall; Zhou & Dinh 2005), and the t quantile."""
    g = m.shape[-1]
    est = m.mean(-1)
    se = m.std(-1, ddof=1) / math.sqrt(g)
    c = m - est[..., None]
    m2, m3 = (c**2).mean(-1), (c**3).mean(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma = np.where(m2 > 0, m3 / m2**1.5, 0.0)
    return est, se, gamma / (3 * math.sqrt(g)), gamma / (6 * math.sqrt(g)), float(ss.t.ppf(0.5 + LEVEL / 2, g - 1))


def hall_interval(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D: Hall (1992, J. R. Statist. Soc. B 54:221) transformation, g(T) + b ~ t_{G-1} with T = (mean - mu) / se and
    g(t) = t + a t^2 + a^2 t^3 / 3, monotone, so g^-1(y) = ((1 + 3 a y)^(1/3) - 1) / a."""
    est, se, a, b, q = _skew_terms(m)

    def ginv(y: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.abs(a) > 1e-12, (np.cbrt(1 + 3 * a * y) - 1) / np.where(a == 0, 1, a), y)

    return est - ginv(q - b) * se, est - ginv(-q - b) * se


def johnson_interval(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """J: Johnson (1978, JASA 73:536) modified t, T + b + a T^2 ~ t_{G-1} (a, b as Hall's): each bound the root of
    a T^2 + T + b - y = 0 on the branch through T = y - b at a = 0; no real root: unbounded."""
    est, se, a, b, q = _skew_terms(m)

    def root(y: float) -> np.ndarray:
        disc = 1 - 4 * a * (b - y)
        with np.errstate(invalid="ignore"):
            r = 2 * (y - b) / (1 + np.sqrt(np.maximum(disc, 0)))  # the stable form of (-1 + sqrt(disc)) / (2a)
        return np.where(disc < 0, np.sign(y - b) * np.inf, r)

    return est - root(q) * se, est - root(-q) * se


def bca_interval(m: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """B: BCa (Efron 1987, JASA 82:171) of the mean of polytope means (S, G), stats.N_BOOT_T resamples as A's;
    studies whose means are all equal: [v, v], as stats.equivalence."""
    low, high = m[:, 0].copy(), m[:, 0].copy()
    varied = np.nonzero(np.ptp(m, axis=-1) > 1e-12 * np.abs(m).max(-1))[0]
    chunk = max(1, 2000 // m.shape[-1])  # studies per call: the studies of one call share their resample indices
    for start in range(0, varied.size, chunk):
        sel = varied[start:start + chunk]
        ci = ss.bootstrap((m[sel],), np.mean, axis=-1, vectorized=True, method="BCa", confidence_level=LEVEL,
                          n_resamples=stats.N_BOOT_T, rng=rng).confidence_interval
        low[sel], high[sel] = ci.low, ci.high
    return low, high


def false_equivalent(claim: str, n_polytopes: int, studies: int) -> dict:
    """Each procedure's rate of "equivalent" over `studies` studies of n_polytopes resampled from the claim's
    units, shifted so that the mean of polytope means sits on its tail margin."""
    source, truth = simulate.default_source(claim), simulate.tail_margin(claim)
    margin = simulate.source_margin(source)
    key = simulate.cell_key(simulate.equivalence_cell, (studies, n_polytopes, source, False, truth, False))
    rng = np.random.default_rng(simulate.cell_seed(key))  # the calibration cell's seed: its studies, A its outcomes
    means, a_says = [], []
    for _ in range(studies):
        v, polytope = simulate.empirical_default_study(rng, claim, n_polytopes, truth)
        a_says.append(stats.equivalence(v, polytope, *margin, rng=rng, min_polytopes=1).outcome == "equivalent")
        means.append(stats.polytope_means(v, polytope)[0])
    m = np.stack(means)
    intervals = {"B": bca_interval(m, np.random.default_rng(simulate.cell_seed(f"procedures|BCa|{key}"))),
                 "C": t_interval(m), "D": hall_interval(m), "J": johnson_interval(m)}
    says = {"A": np.array(a_says)} | {p: (low > margin[0]) & (high < margin[1]) for p, (low, high) in intervals.items()}
    rates = {p: float(x.mean()) for p, x in says.items()}
    return {"claim": claim, "polytopes": n_polytopes, "truth": truth, "margin": list(margin), "studies": studies,
            "seed_key": key, "rate": rates,
            "mc_se": {p: simulate.mc_se(r, studies) for p, r in rates.items()},
            "bca_nan": int(np.isnan(intervals["B"][0]).sum() + np.isnan(intervals["B"][1]).sum())}


def width_ratios(claim: str) -> dict:
    """Each procedure's 95% interval width / the t-interval's on the claim's real units."""
    groups = simulate.real_units()[claim]["polytopes"]
    margin = simulate.source_margin(simulate.default_source(claim))
    v = np.concatenate([np.asarray(x, dtype=float) for x in groups])
    polytope = np.repeat(np.arange(len(groups)), [len(x) for x in groups])
    m = stats.polytope_means(v, polytope)[0][None]
    c_low, c_high = t_interval(m)
    width = float(c_high[0] - c_low[0])
    rng_a = np.random.default_rng(simulate.cell_seed(f"procedures|widths|A|{claim}"))
    rng_b = np.random.default_rng(simulate.cell_seed(f"procedures|widths|BCa|{claim}"))

    def ratio(interval: tuple[np.ndarray, np.ndarray]) -> float | None:
        r = float(interval[1][0] - interval[0][0]) / width
        return r if math.isfinite(r) else None

    a, b = [], []
    for _ in range(WIDTH_SEEDS):
        ci = stats.equivalence(v, polytope, *margin, rng=rng_a, min_polytopes=1).ci
        a.append((ci.high - ci.low) / width)
        b.append(ratio(bca_interval(m, rng_b)))

    return {"claim": claim, "polytopes": int(m.size), "skew": float(ss.skew(m[0])), "t_interval": [float(c_low[0]), float(c_high[0])],
            "A": [float(np.median(a)), min(a), max(a)], "B": [float(np.median(b)), min(b), max(b)],
            "D": ratio(hall_interval(m)), "J": ratio(johnson_interval(m))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=4000, help="studies per cell (default 4000)")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f'false "equivalent" at the tail margin, % of {args.studies} studies (Monte Carlo SE)')
    print(f"{'claim':26s} {'G':>3s}" + "".join(f"{p + ' ' + name:>14s}" for p, name in PROCEDURES.items()))
    rates = []
    for claim in RATE_CLAIMS:
        for g in POLYTOPES:
            cell = false_equivalent(claim, g, args.studies)
            rates.append(cell)
            print(f"{claim:26s} {g:3d}" + "".join(f"{100 * cell['rate'][p]:8.1f} ({100 * cell['mc_se'][p]:.1f})"
                                                for p in PROCEDURES), flush=True)
    claims = [c for c in simulate.real_units() if c.endswith("-keeps-accuracy") or c == "accuracy-equal"]
    print(f"\n95% interval width / the t-interval's on the real units (A, B: median [min-max] of {WIDTH_SEEDS} seeds)")
    print(f"{'claim':26s} {'G':>3s} {'skew':>6s} {'A bootstrap-t':>18s} {'B BCa':>18s} {'D Hall':>7s} {'J Johnson':>9s}")
    widths = []
    for claim in claims:
        w = width_ratios(claim)
        widths.append(w)
        print(f"{claim:26s} {w['polytopes']:3d} {w['skew']:6.2f} " + " ".join(
            f"{w[p][0]:.3f} [{w[p][1]:.2f}-{w[p][2]:.2f}]" for p in "AB")
            + "".join(f" {'inf' if w[p] is None else format(w[p], '.3f'):>{n}s}" for p, n in (("D", 7), ("J", 9))), flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")
    OUT.write_text(json.dumps({"procedures": PROCEDURES, "level": LEVEL, "n_resamples": stats.N_BOOT_T,
                               "versions": simulate.versions(), "studies": args.studies,
                               "false_equivalent": rates, "widths": widths}, indent=1) + "\n")


if __name__ == "__main__":
    main()
