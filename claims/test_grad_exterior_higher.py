"""Exterior mean gradient norm higher for Lp (ratio 0.61x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import Counter, chain, copy_from, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="grad-exterior-higher",
    sentence="In the exterior the mean gradient norm is higher for Lp: 17.80 vs 10.79, Linear/Lp = 0.61x.",
    statistic=PairedRatio("grad_exterior", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.61, order=6,
    # The table gives the ratio to two decimals: within 10% (0.55 to 0.67) it is the same gap, beyond it another.
    tolerance=1.1,
    writeup=seed0("linear", "grad_exterior") / seed0("lp", "grad_exterior"),
)
EXPECTED = {"2x150": "magnitude undecided", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"),
    make_true=chain(copy_from("linear", "grad_exterior", "lp"), scale("linear", "grad_exterior", 0.61)),
    why="swapped, Lp's exterior gradient is the lower; Linear's set to 0.61x Lp's, run for run, pins the claimed 0.61x",
)
