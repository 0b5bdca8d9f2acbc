"""What flipping does to Linear's accuracy (the write-up did not report it)."""
from harness.claims import Claim, WithinDiff
from harness.claimtest import Counter, assign, scale
from harness.writeup import seed0

CLAIM = Claim(
    id="flip-keeps-accuracy",
    sentence="The flipped Linear model is still the model that solves the task: its accuracy is unchanged (within 1 point).",
    statistic=WithinDiff("flipped_accuracy", "accuracy", model="linear"),
    kind="equivalence", margin=(-0.01, 0.01), order=11,
    writeup=seed0("linear", "flipped_accuracy") - seed0("linear", "accuracy"),
)
EXPECTED = {"2x150": "contradicted", "30x10": "contradicted", "until-decided": "contradicted"}
COUNTER = Counter(
    make_false=scale("linear", "flipped_accuracy", 0.8),
    make_true=assign("linear", "flipped_accuracy", lambda r: r["accuracy"]),
    why="a flip that costs a fifth of the accuracy is not the same model; one that keeps it is",
)
