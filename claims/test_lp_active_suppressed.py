"""Within Lp, centre-active |w| far below inactive |w| (0.0086 vs 1.5796)."""
from harness.claims import Claim, WithinRatio
from harness.claimtest import Counter, assign
from harness.writeup import seed0

CLAIM = Claim(
    id="lp-active-suppressed",
    sentence="Within Lp, units active at the centre have their weights suppressed: mean |w| 0.0086 vs 1.5796 for inactive units.",
    statistic=WithinRatio("center_inactive_absw", "center_active_absw", model="lp"),
    direction=">", order=15,
    writeup=seed0("lp", "center_inactive_absw") / seed0("lp", "center_active_absw"),
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=assign("lp", "center_active_absw", lambda r: r["center_inactive_absw"] * 2),
    make_true=assign("lp", "center_active_absw", lambda r: r["center_inactive_absw"] / 100),
    why="centre-active weights twice the inactive ones are not suppressed; a hundredth are",
)
