"""Fewer active ReLUs outside for Lp (40.4% vs 44.1%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="active-outside-fewer",
    sentence="Lp has fewer active hidden units outside the polytope: 40.4% vs 44.1%.",
    statistic=PairedDiff("active_outside", a="lp", b="linear"),
    direction="<", writeup=seed0("lp", "active_outside") - seed0("linear", "active_outside"), order=13,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("lp", "active_outside", 0.5),
    why="swapped, Lp has more active units outside; half as many is fewer",
)
