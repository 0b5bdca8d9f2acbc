"""Interior mean gradient norm lower for Lp (ratio 1.22x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="grad-interior-lower",
    sentence="The interior mean gradient norm is lower for Lp: 6.07 vs 7.43, Linear/Lp = 1.22x.",
    statistic=PairedRatio("grad_interior", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=1.22, order=4,
    writeup=seed0("linear", "grad_interior") / seed0("lp", "grad_interior"),
)
EXPECTED = {"30x10": "not supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("linear", "grad_interior", 1.08),
    why="swapped, Lp's interior gradient is the higher; Linear's 8% higher gives about 1.22x",
)
