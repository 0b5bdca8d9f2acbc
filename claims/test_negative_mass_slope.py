"""Across runs and variants of Linear, flat fraction falls as negative-weight mass grows."""
from _ablation import VARIANTS

from harness.claims import Claim, Slope
from harness.claimtest import Counter, assign, chain

LINEAR_FAMILY = ("linear", *VARIANTS.values())

CLAIM = Claim(
    id="negative-mass-slope", group="ablation", order=44,
    sentence="The more negative-weight mass (sum of |w| over w < 0) a Linear-family model has, the fewer flat points.",
    statistic=Slope(y="flat_frac", x="neg_w_mass", models=LINEAR_FAMILY), direction="<",
)
EXPECTED = {"2x150": "supported", "30x10": "supported"}


def jitter(r):  # a little spread, so that the mixed model has residual variance to fit
    return 0.05 * ((r["seed"] * 7919 + r["polytope"] * 104729) % 13) / 13


COUNTER = Counter(
    make_false=chain(*(assign(m, "flat_frac", lambda r: r["neg_w_mass"] / (1 + r["neg_w_mass"]) + jitter(r))
                       for m in LINEAR_FAMILY)),
    make_true=chain(*(assign(m, "flat_frac", lambda r: 1 / (1 + r["neg_w_mass"]) + jitter(r)) for m in LINEAR_FAMILY)),
    why="flat fraction rising with negative mass reverses the slope; falling with it restores it",
)
