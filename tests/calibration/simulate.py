"""Calibration of the verdict statistics on simulated studies with a known truth (issue 12).

Every cell simulates many independent studies shaped like ours (polytopes, seeds nested in
them, skewed and tied values, balanced or unbalanced as after collapse exclusion), runs the
real functions of harness.analysis.stats on each, and records how often the answer is right:

  mean         mean_interval's 95% interval covers the mean of polytope means
  gmr          mean_interval on log ratios covers the log of the geometric-mean ratio
  ratio        ratio_interval's 95% interval covers E[num] / E[den]
  slope        slope_interval's 95% interval covers the slope
  equivalence  equivalence() says "equivalent" with the true mean exactly on a margin
  shape_null   mesa_shape calls a piecewise-constant unimodal sample a mesa
  shape_spike  mesa_shape finds a spike of flat points plus a mode above

Cells marked `required` are the grid the tests hold to (coverage 93.5-96.5%; "equivalent"
and shape false positives at most 5% + 3 Monte Carlo SE); the others are stress cells (a
strongly skewed polytope effect, a lognormal one, the slope under skewed heteroscedastic
noise) and power, reported as measured. Each cell draws from its own seed (from its key), so any cell
can be recomputed alone: tests/test_calibration.py re-runs some live and compares them with
the cache exactly.

    python tests/calibration/simulate.py [--family NAME ...] [--jobs N] [--missing-only]
                                                                # rewrites results.json (those families)
    python tests/calibration/simulate.py --real-data            # accuracy_differences.csv,
                                                                # real_shape.json and
                                                                # equivalence_units.json from the store

Shapes: S studies, G polytopes, SEEDS seeds per polytope (the default study's 30); a run is
kept or not by a mask (S, G, SEEDS).
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import special

from harness.analysis import stats

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
ACCURACY = HERE / "accuracy_differences.csv"
UNITS = HERE / "equivalence_units.json"
REAL_SHAPE = HERE / "real_shape.json"

SEEDS = 30  # seeds per polytope in the default study
RATIOS = (0.0, 0.1, 0.3, 1.0)  # between-polytope SD / within-polytope SD
POLYTOPES = (5, 10, 30)
COVERAGE_BAND = (0.935, 0.965)
CEILING = 0.05  # "equivalent" at the margin, shape false positives
MARGIN = (-0.01, 0.01)  # the accuracy claims' margin


def cell_seed(key: str) -> int:
    """A stable seed per cell, so a cell's numbers do not depend on which others ran."""
    return zlib.crc32(key.encode())


def mc_se(rate: float, studies: int) -> float:
    """Monte Carlo standard error of a rate measured over `studies` independent studies."""
    return math.sqrt(rate * (1 - rate) / studies)


def ceiling_bound(studies: int) -> float:
    """The most an error rate at CEILING may read over `studies` studies: 5% + 3 Monte Carlo SE."""
    return CEILING + 3 * mc_se(CEILING, studies)


# ---------------------------------------------------------------------------------------------
# Nested studies


def kept(rng: np.random.Generator, studies: int, n_polytopes: int, balanced: bool) -> np.ndarray:
    """Which runs a study keeps, (S, G, SEEDS): all of them, or, as after collapse exclusion,
    each polytope its own share q ~ U(0.15, 0.6) of its seeds (at least 2): 4-18 of 30, as the
    real pairs (5-14 of 30 per polytope in the default study)."""
    if balanced:
        return np.ones((studies, n_polytopes, SEEDS), bool)
    share = rng.uniform(0.15, 0.6, (studies, n_polytopes, 1))
    mask = rng.random((studies, n_polytopes, SEEDS)) < share
    mask[..., :2] = True
    return mask


def runs(values: np.ndarray, mask: np.ndarray, study: int) -> tuple[np.ndarray, np.ndarray]:
    """One study's kept runs: values (n,) (or (n, k) for values (S, G, SEEDS, k)) and their
    polytope labels (n,)."""
    polytope, _ = np.nonzero(mask[study])
    return values[study][mask[study]], polytope


def polytope_effect(rng: np.random.Generator, shape: tuple, sd: float, kind: str) -> np.ndarray:
    """Polytope effects with mean 0 and SD `sd`: normal, or right-skewed gamma (kind "gammaK":
    shape K, skewness 2 / sqrt(K); gamma1 is exponential, as Linear's flat fraction across 59
    polytopes: CV 1.03, skew 2.2)."""
    if sd == 0:
        return np.zeros(shape)
    if kind == "normal":
        return rng.normal(0, sd, shape)
    k = float(kind.removeprefix("gamma"))
    return (rng.gamma(k, 1 / math.sqrt(k), shape) - math.sqrt(k)) * sd


def mean_study(rng: np.random.Generator, studies: int, n_polytopes: int, ratio: float, balanced: bool,
               between: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Runs (S, G, SEEDS) = polytope effect + seed noise, truth 0. The seed noise is skewed
    and tied: (Poisson(1/4) - 1/4) / (1/2), mean 0, SD 1, skewness 2, 78% of runs on one value
    (real per-run skewness: up to -3.3 for accuracy differences)."""
    noise = (rng.poisson(0.25, (studies, n_polytopes, SEEDS)) - 0.25) / 0.5
    values = polytope_effect(rng, (studies, n_polytopes, 1), ratio, between) + noise
    return values, kept(rng, studies, n_polytopes, balanced), 0.0


def gmr_study(rng: np.random.Generator, studies: int, n_polytopes: int, ratio: float,
              balanced: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-pair log(num / den) (S, G, SEEDS), num and den positive (gradient norms): log num =
    log 8 + u_g + e, log den = log 2 + v_g + e', u, v normal polytope effects, e, e' the log of
    an exponential, centred and scaled (skewness -1.14); truth log(8 / 2). Both are floored at
    the claims' RATIO_FLOOR (1e-4, never reached here) as PairedRatio does."""
    shape = (studies, n_polytopes, SEEDS)

    def log_exponential() -> np.ndarray:
        return (np.log(rng.exponential(1.0, shape)) - special.digamma(1.0)) / math.sqrt(special.polygamma(1, 1.0))

    scale = ratio  # each side's polytope SD / its seed SD, so also the log ratio's
    num = np.exp(math.log(8.0) + rng.normal(0, scale, (studies, n_polytopes, 1)) + log_exponential())
    den = np.exp(math.log(2.0) + rng.normal(0, scale, (studies, n_polytopes, 1)) + log_exponential())
    values = np.log(np.maximum(num, 1e-4)) - np.log(np.maximum(den, 1e-4))
    return values, kept(rng, studies, n_polytopes, balanced), math.log(4.0)


# Flat fractions (counts of flat points out of N_POINTS interior points): Lp's mean 0.3 with a
# small polytope effect, Linear's 0.04 with a large skewed one, zeros frequent (32% of real
# Linear runs), seed noise gamma with CV 1 (Linear) and 0.5 (Lp); truth E[num] / E[den].
N_POINTS = 90
NUM_MEAN, DEN_MEAN = 0.3, 0.04
NUM_SHAPE, DEN_SHAPE = 4.0, 1.0  # gamma shapes of the seed noise
NUM_SHARE = 1 / 3  # the numerator's polytope CV / the denominator's (real: 0.27 / 1.03)


def _multiplier(rng: np.random.Generator, shape: tuple, cv: float, kind: str) -> np.ndarray:
    """Polytope multipliers with mean 1 and coefficient of variation cv: gamma or lognormal."""
    if cv == 0:
        return np.ones(shape)
    if kind == "lognormal":
        sigma = math.sqrt(math.log1p(cv * cv))
        return np.exp(rng.normal(-sigma * sigma / 2, sigma, shape))
    k = 1 / cv**2
    return rng.gamma(k, 1 / k, shape)


def _mean_flat(mean: float, cv: float, shape: float, kind: str) -> float:
    """E[min(1, mean x L x W)], L a polytope multiplier (mean 1, CV cv), W ~ Gamma(shape,
    1/shape): the expected flat fraction, exactly (the binomial count is unbiased). For a given
    L, E[min(1, aW)] = a F_{k+1}(1/a) + 1 - F_k(1/a) with F the gamma CDFs; over L by
    quadrature (Gauss-Hermite for the lognormal, 200,000 gamma quantiles)."""
    if cv == 0:
        multipliers, weights = np.ones(1), np.ones(1)
    elif kind == "lognormal":
        nodes, weights = np.polynomial.hermite_e.hermegauss(80)
        sigma = math.sqrt(math.log1p(cv * cv))
        multipliers, weights = np.exp(-sigma * sigma / 2 + sigma * nodes), weights / weights.sum()
    else:
        k = 1 / cv**2
        u = (np.arange(200_000) + 0.5) / 200_000
        multipliers, weights = special.gammaincinv(k, u) / k, np.full(u.size, 1 / u.size)
    a = mean * multipliers
    value = a * special.gammainc(shape + 1, shape / a) + special.gammaincc(shape, shape / a)
    return float((weights * value).sum())


def ratio_study(rng: np.random.Generator, studies: int, n_polytopes: int, cv: float, balanced: bool,
                kind: str) -> tuple[np.ndarray, np.ndarray, float]:
    """Paired flat fractions (S, G, SEEDS, 2) (num, den) and the true ratio of means."""
    shape = (studies, n_polytopes, SEEDS)
    den_p = DEN_MEAN * _multiplier(rng, (studies, n_polytopes, 1), cv, kind) * rng.gamma(DEN_SHAPE, 1 / DEN_SHAPE, shape)
    num_p = NUM_MEAN * _multiplier(rng, (studies, n_polytopes, 1), cv * NUM_SHARE, kind) * \
        rng.gamma(NUM_SHAPE, 1 / NUM_SHAPE, shape)
    num = rng.binomial(N_POINTS, np.minimum(num_p, 1.0)) / N_POINTS
    den = rng.binomial(N_POINTS, np.minimum(den_p, 1.0)) / N_POINTS
    truth = _mean_flat(NUM_MEAN, cv * NUM_SHARE, NUM_SHAPE, kind) / _mean_flat(DEN_MEAN, cv, DEN_SHAPE, kind)
    return np.stack([num, den], axis=-1), kept(rng, studies, n_polytopes, balanced), truth


SLOPE = -0.5


def slope_study(rng: np.random.Generator, studies: int, n_polytopes: int, ratio: float, balanced: bool
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """Runs (S, G, SEEDS, 2) of (x, y), y = SLOPE x + polytope intercept + seed noise: x
    skewed (a polytope level plus an exponential), the noise as mean_study's (skewed, tied)
    and larger where x is (heteroscedastic), intercepts normal with SD `ratio`."""
    shape = (studies, n_polytopes, SEEDS)
    x = rng.normal(0, 1, (studies, n_polytopes, 1)) + rng.exponential(1.0, shape)
    noise = (rng.poisson(0.25, shape) - 0.25) / 0.5 * (0.5 + 0.5 * np.abs(x))
    y = SLOPE * x + rng.normal(0, ratio, (studies, n_polytopes, 1)) + noise
    return np.stack([x, y], axis=-1), kept(rng, studies, n_polytopes, balanced), SLOPE


# Accuracy differences on a grid of 1/500 (500 test points): a symmetric core (Skellam) minus,
# now and then, a loss of a geometric number of steps. "heavy" matches Lp - Linear (real: SD
# 0.0082, skewness -3.3, kurtosis 14.5, 28% zeros; here 0.0070, -3.1, 15.6, 23%), "moderate"
# the ablations (real: 0.0024-0.0053, -1.0 to -1.5; here 0.0035, -0.95, 2.8).
STEP = 0.002
ACCURACY_SHAPES = {"heavy": (1.2, 0.2, 0.18), "moderate": (0.8, 0.3, 0.5)}  # Skellam rate, loss probability, geometric p


def accuracy_study(rng: np.random.Generator, studies: int, n_polytopes: int, balanced: bool, shape_name: str,
                   truth: float, between: float = 0.3) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-pair accuracy differences (S, G, SEEDS) with mean of polytope means `truth`; a
    normal polytope effect of `between` x the seed noise's SD (real: 0.2-0.37)."""
    rate, loss_p, geometric_p = ACCURACY_SHAPES[shape_name]
    shape = (studies, n_polytopes, SEEDS)
    loss = np.where(rng.random(shape) < loss_p, rng.geometric(geometric_p, shape), 0)
    noise = STEP * (rng.poisson(rate, shape) - rng.poisson(rate, shape) - loss)
    mean = -STEP * loss_p / geometric_p
    sd = STEP * math.sqrt(2 * rate + loss_p * (2 - geometric_p) / geometric_p**2 - (loss_p / geometric_p) ** 2)
    values = truth - mean + rng.normal(0, between * sd, (studies, n_polytopes, 1)) + noise
    return values, kept(rng, studies, n_polytopes, balanced), truth


@functools.cache
def real_accuracy(claim: str) -> list[np.ndarray]:
    """The real per-pair accuracy differences of one claim, one array per polytope."""
    table = np.genfromtxt(ACCURACY, delimiter=",", names=True, dtype=None, encoding="utf-8")
    rows = table[table["claim"] == claim]
    return [rows["diff"][rows["polytope"] == p].astype(float) for p in np.unique(rows["polytope"])]


def empirical_accuracy_study(rng: np.random.Generator, claim: str, n_polytopes: int, shift_to: float | None
                             ) -> tuple[np.ndarray, np.ndarray]:
    """One study drawn from the 30-seed study's real differences of `claim` (empirical_study)."""
    return empirical_study(rng, real_accuracy(claim), n_polytopes, shift_to)


def empirical_study(rng: np.random.Generator, groups: list[np.ndarray], n_polytopes: int, shift_to: float | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One study drawn from real units `groups` (one array per polytope): G polytopes with
    replacement from the real ones, each with its real number of units drawn with replacement
    from its own; every value shifted so that the population's mean of polytope means is
    `shift_to` (None: unshifted)."""
    population = float(np.mean([g.mean() for g in groups]))
    shift = 0.0 if shift_to is None else shift_to - population
    picks = rng.integers(0, len(groups), n_polytopes)
    values = [rng.choice(groups[p], groups[p].size) + shift for p in picks]
    return np.concatenate(values), np.repeat(np.arange(n_polytopes), [v.size for v in values])


@functools.cache
def real_units() -> dict[str, dict]:
    """Every equivalence claim's unit values on the default 2 x 150 study: {claim id: {"margin":
    [low, high], "polytopes": [[values of one polytope], ...]}} (equivalence_units.json)."""
    return json.loads(UNITS.read_text())


def default_source(claim: str) -> str:
    """The name of a claim's 2 x 150 units as an equivalence cell's source."""
    return f"2x150:{claim}"


def source_margin(source: str) -> tuple[float, float]:
    """The margins an equivalence cell tests against: its claim's, for a 2 x 150 source."""
    if source.startswith("2x150:"):
        low, high = real_units()[source.removeprefix("2x150:")]["margin"]
        return float(low), float(high)
    return MARGIN


def tail_margin(claim: str) -> float:
    """The margin on the side of the long tail of a claim's polytope means: where a study that
    misses the rare extreme polytopes looks equivalent while the mean sits on the margin."""
    means = np.array([np.mean(g) for g in real_units()[claim]["polytopes"]])
    centred = means - means.mean()
    low, high = real_units()[claim]["margin"]
    return float(low if np.mean(centred**3) < 0 else high)


def empirical_default_study(rng: np.random.Generator, claim: str, n_polytopes: int, shift_to: float | None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """empirical_study from a claim's 2 x 150 units (1-2 runs per polytope after collapse
    exclusion: far more skewed polytope means than the 30-seed study's)."""
    return empirical_study(rng, default_groups(claim), n_polytopes, shift_to)


@functools.cache
def default_groups(claim: str) -> list[np.ndarray]:
    """A claim's 2 x 150 units, one array per polytope."""
    return [np.asarray(g, dtype=float) for g in real_units()[claim]["polytopes"]]


# ---------------------------------------------------------------------------------------------
# Piecewise-constant gradient samples


def snapped(rng: np.random.Generator, draw, n_points: int, regions: int, alpha: float) -> np.ndarray:
    """A ReLU network's gradient sample: `regions` linear regions, each with one value from
    `draw`, sized by Dirichlet(alpha) weights; n_points points fall into them. regions=100,
    alpha=0.6 gives the real runs' median of 43-45 distinct values and a largest tie of 8 out
    of 93 points; regions=45, alpha=1 is harsher (~30 values, heavier ties)."""
    values = draw(regions)
    weights = rng.dirichlet(np.full(regions, alpha))
    return values[rng.choice(regions, n_points, p=weights)]


def unimodal(rng: np.random.Generator, name: str):
    """Unimodal distributions of gradient norms with mass below the threshold 1: the mode at
    0 (exponential, half-normal), below 1 (gamma 1.5), near or above it with a tail to 0."""
    return {
        "linear-like": lambda k: 16 * rng.beta(1.6, 1.2, k),
        "weibull(1.5, 9)": lambda k: 9 * rng.weibull(1.5, k),
        "exponential(5)": lambda k: rng.exponential(5, k),
        "exponential(2)": lambda k: rng.exponential(2, k),
        "exponential(1)": lambda k: rng.exponential(1, k),
        "gamma(1.5, 1)": lambda k: rng.gamma(1.5, 1, k),
        "gamma(2, 1.5)": lambda k: rng.gamma(2, 1.5, k),
        "lognormal(5, 1)": lambda k: 5 * np.exp(rng.normal(0, 1, k)),
        "lognormal(1, 1.5)": lambda k: np.exp(rng.normal(0, 1.5, k)),
        "uniform(0, 20)": lambda k: rng.uniform(0, 20, k),
        "half-normal(4)": lambda k: np.abs(rng.normal(0, 4, k)),
    }[name]


NULL_SHAPES = ("linear-like", "weibull(1.5, 9)", "exponential(5)", "exponential(2)", "exponential(1)", "gamma(1.5, 1)",
               "gamma(2, 1.5)", "lognormal(5, 1)", "lognormal(1, 1.5)", "uniform(0, 20)", "half-normal(4)")


def mesa_sample(rng: np.random.Generator, spike: float, n_points: int, regions: int, alpha: float) -> np.ndarray:
    """A mesa run: a share `spike` of the points in 4 flat regions (one at ~0, three log-uniform
    over 0.001-0.5, as Lp's sub-threshold values: half below 0.004), the rest on the
    Linear-like unimodal shape."""
    k = rng.binomial(n_points, spike)

    def flat(m: int) -> np.ndarray:
        v = 10 ** rng.uniform(-3, math.log10(0.5), m)
        v[0] = 1e-7
        return v

    low = snapped(rng, flat, k, 4, 1.0) if k else np.array([])
    return np.concatenate([low, snapped(rng, unimodal(rng, "linear-like"), n_points - k, regions - 4, alpha)])


# ---------------------------------------------------------------------------------------------
# Cells


def _coverage_key(family: str, studies: int, n_polytopes: int, ratio: float, balanced: bool, between: str,
                  required: bool) -> str:
    return f"{family}|G={n_polytopes}|ratio={ratio}|{'balanced' if balanced else 'unbalanced'}|{between}"


def coverage_cell(family: str, studies: int, n_polytopes: int, ratio: float, balanced: bool, between: str,
                  required: bool) -> dict:
    """Coverage of the 95% interval over `studies` studies of one cell."""
    key = _coverage_key(family, studies, n_polytopes, ratio, balanced, between, required)
    rng = np.random.default_rng(cell_seed(key))
    if family == "mean":
        values, mask, truth = mean_study(rng, studies, n_polytopes, ratio, balanced, between)
    elif family == "gmr":
        values, mask, truth = gmr_study(rng, studies, n_polytopes, ratio, balanced)
    elif family == "slope":
        values, mask, truth = slope_study(rng, studies, n_polytopes, ratio, balanced)
    else:
        values, mask, truth = ratio_study(rng, studies, n_polytopes, ratio, balanced, between)
    below = above = 0
    widths = []
    for s in range(studies):
        v, polytope = runs(values, mask, s)
        if family == "ratio":
            ci = stats.ratio_interval(v[:, 0], v[:, 1], polytope, rng=rng).ci
        elif family == "slope":
            ci = stats.slope_interval(v[:, 1], v[:, 0], polytope, rng=rng).ci
        else:
            ci = stats.mean_interval(v, polytope).ci
        below += truth < ci.low
        above += truth > ci.high
        widths.append(ci.high - ci.low)
    coverage = 1 - (below + above) / studies
    return {"key": key, "family": family, "polytopes": n_polytopes, "ratio": ratio, "balanced": balanced,
            "between": between, "studies": studies, "truth": truth, "coverage": coverage,
            "miss_below": below / studies, "miss_above": above / studies, "mc_se": mc_se(coverage, studies),
            "median_width": float(np.median(widths)), "required": required,
            "ok": bool(COVERAGE_BAND[0] <= coverage <= COVERAGE_BAND[1])}


def _equivalence_key(studies: int, n_polytopes: int, source: str, balanced: bool, truth: float | None,
                     required: bool, min_polytopes: int | None = None) -> str:
    floor = "" if min_polytopes is None else f"|min_polytopes={min_polytopes}"
    return f"equivalence|G={n_polytopes}|{source}|{'balanced' if balanced else 'unbalanced'}|truth={truth}{floor}"


def equivalence_cell(studies: int, n_polytopes: int, source: str, balanced: bool, truth: float | None,
                     required: bool, min_polytopes: int | None = None) -> dict:
    """How often equivalence() says "equivalent" (the source's margins: +-0.01 but for a 2 x 150
    claim's own): with the truth on a margin the error rate, at the real mean (truth None,
    empirical sources) the power; and how often "beyond the margins" (at the margin, also an
    error; nominally at most 2.5%). min_polytopes: equivalence()'s refusal floor, if not its
    default (a stress cell: what the word would do where it is refused)."""
    key = _equivalence_key(studies, n_polytopes, source, balanced, truth, required, min_polytopes)
    # seeded without the floor: a stress cell draws the studies its required twin would
    rng = np.random.default_rng(cell_seed(_equivalence_key(studies, n_polytopes, source, balanced, truth, required)))
    margin = source_margin(source)
    floor = {} if min_polytopes is None else {"min_polytopes": min_polytopes}
    if source in ACCURACY_SHAPES:
        values, mask, _ = accuracy_study(rng, studies, n_polytopes, balanced, source, truth)
    outcomes = []
    for s in range(studies):
        if source in ACCURACY_SHAPES:
            v, polytope = runs(values, mask, s)
        elif source.startswith("2x150:"):
            v, polytope = empirical_default_study(rng, source.removeprefix("2x150:"), n_polytopes, truth)
        else:
            v, polytope = empirical_accuracy_study(rng, source, n_polytopes, truth)
        outcomes.append(stats.equivalence(v, polytope, *margin, rng=rng, **floor).outcome)
    rate = outcomes.count("equivalent") / studies
    bound = ceiling_bound(studies)
    return {"key": key, "family": "equivalence", "polytopes": n_polytopes, "source": source, "balanced": balanced,
            "truth": truth, "studies": studies, "equivalent": rate, "mc_se": mc_se(rate, studies),
            "beyond": outcomes.count("beyond the margins") / studies, "required": required,
            "min_polytopes": stats.EQUIVALENCE_MIN_POLYTOPES if min_polytopes is None else min_polytopes,
            "ok": bool(not required or rate <= bound)}


def _shape_key(samples: int, shape: str, n_points: int, regions: int, alpha: float, spike: float = 0.0) -> str:
    return f"{'shape_spike' if spike else 'shape_null'}|{shape}|points={n_points}|regions={regions}|alpha={alpha}|spike={spike}"


def shape_cell(samples: int, shape: str, n_points: int, regions: int, alpha: float, spike: float = 0.0) -> dict:
    """How often mesa_shape says "mesa": for a unimodal shape the false-positive rate, for
    a spike share the detection rate."""
    family = "shape_spike" if spike else "shape_null"
    key = _shape_key(samples, shape, n_points, regions, alpha, spike)
    rng = np.random.default_rng(cell_seed(key))
    hits = 0
    for _ in range(samples):
        x = mesa_sample(rng, spike, n_points, regions, alpha) if spike else \
            snapped(rng, unimodal(rng, shape), n_points, regions, alpha)
        hits += stats.mesa_shape(x, 1.0).mesa
    rate = hits / samples
    bound = ceiling_bound(samples)
    return {"key": key, "family": family, "shape": shape, "points": n_points, "regions": regions, "alpha": alpha,
            "spike": spike, "samples": samples, "mesa": rate, "mc_se": mc_se(rate, samples),
            "required": not spike, "ok": bool(spike or rate <= bound)}


def cell_key(function, args: tuple) -> str:
    """The key a cell function would give its cell, without simulating it."""
    return {coverage_cell: _coverage_key, equivalence_cell: _equivalence_key, shape_cell: _shape_key}[function](*args)


REGION_SETTINGS = ((100, 0.6), (45, 1.0))  # real-like, harsher
# Equivalence on the 2 x 150 units: the size from which the word may be said
# (stats.EQUIVALENCE_MIN_POLYTOPES, 4000 studies), and below it, with the refusal lifted, why
# it is refused there: {polytopes: studies}. The floor is the smallest of the CANDIDATES (multiples
# of 15) at which every claim's rate is at most 5% (tests/test_calibration.py checks the rule).
REFUSED_POLYTOPES = {10: 2000, 30: 2000, 45: 2000, 60: 4000, 75: 4000}
CANDIDATES = (45, 60, 75, 90, 105, 120)
EMPIRICAL = ("accuracy-equal", "hard-keeps-accuracy", "l1(0.001)-keeps-accuracy", "soft(0.1)-keeps-accuracy")


def plan() -> dict[str, list]:
    """Every cell, by family: (function, arguments). Studies: 2000 per coverage cell (Monte
    Carlo SE 0.49% at 95%, so the 93.5-96.5% band is 3 SE wide each side), 2000 per
    equivalence cell on simulated data, on the real units of every equivalence claim of the
    2 x 150 study 4000 at the smallest size that may say "equivalent" (SE 0.34% at 5%: the
    tightest cells), 2000-4000 per stress cell below it (the refusal lifted: 4000 at the
    candidate floors just below) and 1000 per power cell; the 30-seed study's accuracy differences as stress cells at 8, 10 and
    30 polytopes (4000); 1000 per shape cell."""
    grid = [(g, r, b) for g in POLYTOPES for r in RATIOS for b in (True, False)]
    floor = stats.EQUIVALENCE_MIN_POLYTOPES
    return {
        "mean": [(coverage_cell, ("mean", 2000, g, r, b, "normal", True)) for g, r, b in grid]
        + [(coverage_cell, ("mean", 2000, g, 1.0, b, kind, False)) for g in POLYTOPES for b in (True, False)
           for kind in ("gamma4", "gamma1")],
        "gmr": [(coverage_cell, ("gmr", 2000, g, r, b, "normal", True)) for g, r, b in grid],
        "ratio": [(coverage_cell, ("ratio", 2000, g, r, b, "gamma1", True)) for g, r, b in grid]
        + [(coverage_cell, ("ratio", 2000, g, 1.0, b, "lognormal", False)) for g in POLYTOPES for b in (True, False)],
        "slope": [(coverage_cell, ("slope", 2000, g, r, b, "normal", False)) for g in POLYTOPES for r in (0.0, 1.0)
                  for b in (True, False)],
        "equivalence": [(equivalence_cell, (2000, g, shape, b, MARGIN[0], True))
                        for g in (*POLYTOPES, floor) for shape in ACCURACY_SHAPES for b in (True, False)]
        + [(equivalence_cell, (4000, floor, default_source(claim), False, tail_margin(claim), True))
           for claim in real_units()]
        + [(equivalence_cell, (studies, g, default_source(claim), False, tail_margin(claim), False, 1))
           for g, studies in REFUSED_POLYTOPES.items() for claim in real_units()]
        + [(equivalence_cell, (1000, floor, default_source(claim), False, None, False)) for claim in real_units()]
        + [(equivalence_cell, (4000, g, claim, False, MARGIN[0], False, 1)) for g in (8, 10, 30) for claim in EMPIRICAL],
        "shape": [(shape_cell, (1000, shape, n, regions, alpha)) for shape in NULL_SHAPES for n in (54, 93)
                  for regions, alpha in REGION_SETTINGS]
        + [(shape_cell, (1000, "spike", 93, regions, alpha, spike)) for spike in (0.1, 0.2, 0.3)
           for regions, alpha in REGION_SETTINGS],
    }


def _cell(job: tuple) -> dict:
    function, args = job
    return function(*args)


def run(families: list[str], jobs: int = 1, missing_only: bool = False) -> None:
    """Recompute the cells of `families` and rewrite them in results.json (others kept, when
    they were made under the same numpy and scipy: their random streams may differ). With
    missing_only, a family's cached cells that are still planned are kept and only the others
    computed; cells no longer planned go either way. A cached cell is trusted as it is, so use
    it only when nothing a cell depends on beyond its key changed: the cell functions, the
    harness's statistics (the equivalence floor too), the data files, numpy and scipy."""
    cache = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"versions": versions(), "cells": []}
    todo = plan()
    if cache["versions"] != versions() and (missing_only or set(families) != set(todo)):
        raise SystemExit(f"results.json was made under {cache['versions']}, this is {versions()}: recompute every family")
    cells = {c["key"]: c for c in cache["cells"]}
    planned = {cell_key(function, args) for family in families for function, args in todo[family]}
    cells = {k: c for k, c in cells.items()  # a family's old cells go (unless kept below)
             if c["family"].split("_")[0] not in families or (missing_only and k in planned)}
    with ProcessPoolExecutor(jobs) as pool:  # each cell draws from its own seed: the same numbers at any jobs
        for family in families:
            start = time.perf_counter()
            jobs_ = [job for job in todo[family] if not (missing_only and cell_key(*job) in cells)]
            for cell in pool.map(_cell, jobs_):
                cells[cell["key"]] = cell
            print(f"{family}: {len(jobs_)} of {len(todo[family])} cells computed, {time.perf_counter() - start:.0f} s",
                  file=sys.stderr)
    RESULTS.write_text(json.dumps({"versions": versions(), "cells": sorted(cells.values(), key=lambda c: c["key"])},
                                  indent=1) + "\n")


def versions() -> dict[str, str]:
    """The libraries whose random streams and arithmetic the cached numbers depend on."""
    import scipy

    return {"numpy": np.__version__, "scipy": scipy.__version__}


def real_data() -> None:
    """From the store's default study (30 seeds x 10 polytopes): the real per-pair accuracy
    differences of the equivalence claims (accuracy_differences.csv) and the mesa criterion's
    rate on real Lp and Linear runs (real_shape.json)."""
    import pandas as pd

    from harness.analysis.discovery import load_claims
    from harness.config import Measure, parse_models
    from harness.runs.store import Store
    from harness.runs.study import Study, ensure_stored

    models = parse_models("lp,linear,linear+nonneg_hard,linear+l1(0.001),linear+nonneg_soft(0.1)")
    study = Study(tuple(models), tuple(range(10)), tuple(range(30)))
    table, points = ensure_stored(study, Store(Path(".cache/mesa-harness")))
    ok = table[(table["status"] == "ok") & ~table["collapsed"].astype(bool)]
    linear = ok[ok["model"] == "linear"].set_index(["polytope", "seed"])["accuracy"]
    names = {"accuracy-equal": "lp", "hard-keeps-accuracy": "linear+nonneg_hard",
             "l1(0.001)-keeps-accuracy": "linear+l1(0.001)", "soft(0.1)-keeps-accuracy": "linear+nonneg_soft(0.1)"}
    assert set(names) == set(EMPIRICAL) and {c.id for c in load_claims()} >= set(names)
    rows = []
    for claim, model in names.items():
        other = ok[ok["model"] == model].set_index(["polytope", "seed"])["accuracy"]
        pairs = pd.concat([other.rename("a"), linear.rename("b")], axis=1, join="inner").reset_index()
        rows.append(pd.DataFrame({"claim": claim, "polytope": pairs["polytope"], "seed": pairs["seed"],
                                  "diff": (pairs["a"] - pairs["b"]).round(6)}))
    pd.concat(rows).to_csv(ACCURACY, index=False)
    interior = points[points["region"] == "interior"]
    by_run = {k: g["grad_norm"].to_numpy(float) for k, g in interior.groupby("key", observed=True)}
    threshold = Measure().flat_threshold
    shape = {}
    for model in ("lp", "linear"):
        keys = ok[ok["model"] == model]["key"]
        marks = stats.mesa_per_run([by_run.get(k, np.array([])) for k in keys], threshold)
        flat = np.array([(by_run.get(k, np.array([])) < threshold).any() for k in keys])
        shape[model] = {"runs": int(np.isfinite(marks).sum()), "mesa": float(np.nanmean(marks))}
        if model == "linear":
            shape["linear, no flat point"] = {"runs": int((~flat).sum()), "mesa": float(np.nanmean(marks[~flat]))}
    REAL_SHAPE.write_text(json.dumps(shape, indent=1) + "\n")


def real_default_units() -> None:
    """From the store's default study (2 seeds x 150 polytopes): every equivalence claim's unit
    values by polytope, as the claim evaluates them (its inclusion rule applied), and its
    margins (equivalence_units.json)."""
    from harness.analysis.discovery import load_claims
    from harness.pipeline import study, tables

    runs_, points = tables(study(), cache=".cache/mesa-harness", train=False)
    out = {}
    for claim in load_claims():
        if claim.kind != "equivalence":
            continue
        unit = claim.statistic.units(runs_, points, claim.rule).finite(claim.statistic.inputs).table
        groups = unit.groupby("polytope", sort=True)["value"]
        out[claim.id] = {"margin": [float(m) for m in claim.margin],
                         "polytopes": [[round(float(x), 9) for x in g] for _, g in groups]}
    UNITS.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", choices=list(plan()), help="families to recompute (default all)")
    parser.add_argument("--real-data", action="store_true", help="refresh the files read from the store")
    parser.add_argument("--jobs", type=int, default=1, help="cells simulated at once (processes)")
    parser.add_argument("--missing-only", action="store_true",
                        help="keep the cached cells that are still planned; compute only the others")
    args = parser.parse_args()
    if args.real_data:
        real_data()
        real_default_units()
    else:
        run(args.family or list(plan()), args.jobs, args.missing_only)


if __name__ == "__main__":
    main()
