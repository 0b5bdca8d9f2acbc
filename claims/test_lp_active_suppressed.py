"""Within Lp, centre-active |w| far below inactive |w| (0.0086 vs 1.5796), where Linear's are
alike (0.6112 vs 0.7993): a contrast, so it is tested as one (issue 12 point 8)."""
from harness.claims import Claim, PairedWithinRatio
from harness.claimtest import Counter, assign, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="lp-active-suppressed",
    sentence="Within Lp, units active at the centre have their weights suppressed: mean |w| 0.0086 vs 1.5796 for "
             "inactive units, a far larger gap than Linear's 0.6112 vs 0.7993.",
    statistic=PairedWithinRatio("center_inactive_absw", "center_active_absw", a="lp", b="linear"),
    direction=">", order=15,
    writeup=(seed0("lp", "center_inactive_absw") / seed0("lp", "center_active_absw"))
    / (seed0("linear", "center_inactive_absw") / seed0("linear", "center_active_absw")),
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"),
    make_true=assign("lp", "center_active_absw", lambda r: r["center_inactive_absw"] / 100),
    why="swapped, Linear has the suppressed centre; Lp's centre-active weights a hundredth of its inactive ones are",
)
