"""About 70x gap in mean |w| of centre-active units, Linear over Lp."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="center-weight-70x",
    sentence="Units active at the polytope centre carry a 70x larger mean |w| in Linear than in Lp: 0.6112 vs 0.0086.",
    statistic=PairedRatio("center_active_absw", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=70.0, order=14,
    writeup=seed0("linear", "center_active_absw") / seed0("lp", "center_active_absw"),
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("lp", "center_active_absw", 2.5),
    why="swapped, Lp's centre-active weights are the larger; Lp's 2.5x larger gives about 70x",
)
