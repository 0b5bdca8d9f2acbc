"""About 10x more flat points for Lp (31.7% vs 3.0%)."""
from harness.claims import Claim, RatioOfMeans
from harness.claimtest import Counter, chain, copy_from, scale, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="flat-10x",
    sentence="Lp has 10x more flat interior points (gradient norm < 1.0): 32/101 (31.7%) vs 3/101 (3.0%).",
    statistic=RatioOfMeans("flat_frac", num="lp", den="linear"),
    kind="magnitude", direction=">", claimed=10.0, order=9,
    # "10x" is a round figure (the table gives 10.6x): 5x to 20x still reads as "about ten times", beyond it one would say 5x or 20x.
    tolerance=2.0,
    writeup=seed0("lp", "flat_count") / seed0("linear", "flat_count"),
)
EXPECTED = {"2x150": "magnitude undecided", "30x10": "not supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"),
    make_true=chain(copy_from("lp", "flat_frac", "linear"), scale("lp", "flat_frac", 10.0)),
    why="swapped, Linear has the flat points; Lp's flat fraction set to 10x Linear's, run for run, pins the claimed 10x",
)
