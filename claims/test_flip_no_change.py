"""Flipping Linear's negative weights does not change its flat points."""
from harness.claims import Claim, WithinDiff
from harness.claimtest import Counter, assign
from harness.writeup import seed0

CLAIM = Claim(
    id="flip-no-change",
    sentence="Flipping Linear's negative weights to positive (negating their hidden units) produced no change in flat points: 3 and 3.",
    statistic=WithinDiff("flipped_flat_frac", "flat_frac", model="linear"),
    kind="equivalence", margin=(-0.02, 0.02), order=10,
    writeup=seed0("linear", "flipped_flat_count") - seed0("linear", "flat_count"),
)
EXPECTED = {"2x150": "equivalent", "30x10": "not shown equivalent", "until-decided": "equivalent"}
COUNTER = Counter(
    make_false=assign("linear", "flipped_flat_frac", lambda r: r["flat_frac"] * 0.5),
    make_true=assign("linear", "flipped_flat_frac", lambda r: r["flat_frac"]),
    why="a flip that halves the flat points changes them; one that keeps them does not",
)
