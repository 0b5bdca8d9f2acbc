"""Lp has a smaller minimum |w| (0.0005 vs 0.0234)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="min-weight-smaller",
    sentence="Lp's smallest |w| is far smaller than Linear's: 0.0005 vs 0.0234.",
    statistic=PairedRatio("min_absw", num="linear", den="lp"),
    direction=">", writeup=seed0("linear", "min_absw") / seed0("lp", "min_absw"), order=17,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("lp", "min_absw", 0.1),
    why="swapped, Linear has the smaller minimum; a tenth of Lp's is smaller",
)
