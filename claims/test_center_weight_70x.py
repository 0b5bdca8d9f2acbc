"""About 70x gap in mean |w| of centre-active units, Linear over Lp."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, chain, copy_from, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="center-weight-70x",
    sentence="Units active at the polytope centre carry a 70x larger mean |w| in Linear than in Lp: 0.6112 vs 0.0086.",
    statistic=PairedRatio("center_active_absw", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=70.0, order=14,
    # "70x" rounds 71x of two tiny means (0.0086 in Lp): 35x to 140x still reads as "about 70x", beyond it one would say 30x or 150x.
    tolerance=2.0,
    writeup=seed0("linear", "center_active_absw") / seed0("lp", "center_active_absw"),
)
EXPECTED = {"2x150": "magnitude undecided", "30x10": "magnitude undecided", "until-decided": "magnitude undecided"}
COUNTER = Counter(
    make_false=swap("lp", "linear"),
    make_true=chain(copy_from("linear", "center_active_absw", "lp"), scale("linear", "center_active_absw", 70.0)),
    why="swapped, Lp's centre-active weights are the larger; Linear's set to 70x Lp's, run for run, pins the claimed 70x",
)
