"""Interior mean gradient norm lower for Lp (ratio 1.22x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, chain, copy_from, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="grad-interior-lower",
    sentence="The interior mean gradient norm is lower for Lp: 6.07 vs 7.43, Linear/Lp = 1.22x.",
    statistic=PairedRatio("grad_interior", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=1.22, order=4,
    # The table gives the ratio to two decimals: within 10% (1.11 to 1.34) it is the same gap, beyond it another.
    tolerance=1.1,
    writeup=seed0("linear", "grad_interior") / seed0("lp", "grad_interior"),
)
EXPECTED = {"2x150": "magnitude undecided", "30x10": "not supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"),
    make_true=chain(copy_from("linear", "grad_interior", "lp"), scale("linear", "grad_interior", 1.22)),
    why="swapped, Lp's interior gradient is the higher; Linear's set to 1.22x Lp's, run for run, pins the claimed 1.22x",
)
