"""Linear has few negative weights (3 of 32)."""
from harness.claims import Claim, RunMean
from harness.claimtest import Counter, assign
from harness.writeup import seed0

CLAIM = Claim(
    id="linear-few-negative",
    sentence="Linear has only few negative weights: 3 of 32 (few: under a quarter, 8 of 32).",
    statistic=RunMean("n_negative_w", model="linear"),
    direction="<", null=8.0, writeup=seed0("linear", "n_negative_w"), order=18,
)
EXPECTED = {"2x150": "not supported", "30x10": "not supported", "until-decided": "not supported"}
COUNTER = Counter(
    make_false=assign("linear", "n_negative_w", lambda r: 16.0), make_true=assign("linear", "n_negative_w", lambda r: 3.0),
    why="half the weights negative is not few; three of 32 is",
)
