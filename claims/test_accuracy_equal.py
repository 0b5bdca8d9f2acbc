"""Both architectures learn the task equally well (99.0% vs 99.2%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, copy_from, scale
from harness.writeup import seed0

CLAIM = Claim(
    id="accuracy-equal",
    sentence="Both models learn the task equally well: accuracy 99.0% (Lp) vs 99.2% (Linear).",
    statistic=PairedDiff("accuracy", a="lp", b="linear"),
    kind="equivalence", margin=(-0.01, 0.01), writeup=seed0("lp", "accuracy") - seed0("linear", "accuracy"), order=1,
)
EXPECTED = {"2x150": "equivalent", "30x10": "not shown equivalent", "until-decided": "equivalent"}
COUNTER = Counter(
    make_false=scale("lp", "accuracy", 0.9), make_true=copy_from("lp", "accuracy", "linear"),
    why="Lp losing a tenth of its accuracy is not equal learning; Linear's accuracy run for run is",
)
