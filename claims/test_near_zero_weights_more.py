"""Lp has more near-zero weights (|w| < 0.01: 4 vs 0)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, assign, swap
from harness.writeup import seed0

CLAIM = Claim(
    id="near-zero-weights-more",
    sentence="Lp learns to suppress some weights to near zero: 4 weights with |w| < 0.01 vs 0 in Linear.",
    statistic=PairedDiff("n_absw_lt_001", a="lp", b="linear"),
    direction=">", writeup=seed0("lp", "n_absw_lt_001") - seed0("linear", "n_absw_lt_001"), order=16,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=swap("lp", "linear"), make_true=assign("lp", "n_absw_lt_001", lambda r: r["n_absw_lt_001"] + 4),
    why="swapped, Linear has the near-zero weights; four more in Lp is more",
)
