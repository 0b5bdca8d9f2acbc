"""About 10x more flat points for Lp (31.7% vs 3.0%)."""
from harness.claims import Claim, RatioOfMeans
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="flat-10x",
    sentence="Lp has 10x more flat interior points (gradient norm < 1.0): 32/101 (31.7%) vs 3/101 (3.0%).",
    statistic=RatioOfMeans("flat_frac", num="lp", den="linear"),
    kind="magnitude", direction=">", claimed=10.0, order=9,
    writeup=seed0("lp", "flat_count") / seed0("linear", "flat_count"),
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("lp", "flat_frac", 1.45),
    why="swapped, Linear has the flat points; Lp's flat fraction 45% higher gives about 10x",
)
