"""Fewer active ReLUs inside for Lp (21.8% vs 33.8%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="active-inside-fewer",
    sentence="Lp has fewer active hidden units inside the polytope: 21.8% vs 33.8%.",
    statistic=PairedDiff("active_inside", a="lp", b="linear"),
    direction="<", writeup=seed0("lp", "active_inside") - seed0("linear", "active_inside"), order=12,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("lp", "active_inside", 0.5),
    why="swapped, Lp has more active units inside; half as many is fewer",
)
