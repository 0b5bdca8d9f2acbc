"""Boundary-band mean gradient norm higher for Lp (ratio 0.62x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="grad-boundary-higher",
    sentence="In the boundary band the mean gradient norm is higher for Lp: 14.82 vs 9.14, Linear/Lp = 0.62x.",
    statistic=PairedRatio("grad_boundary", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.62, order=5,
    writeup=seed0("linear", "grad_boundary") / seed0("lp", "grad_boundary"),
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=scale("linear", "grad_boundary", 0.93),
    why="swapped, Lp's boundary gradient is the lower; Linear's 7% lower gives about 0.62x",
)
