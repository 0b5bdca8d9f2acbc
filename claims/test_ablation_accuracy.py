"""Each regulariser keeps Linear's accuracy: a mesa bought by not learning the task does not count."""
from _ablation import VARIANTS

from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, copy_from, scale

CLAIMS = [
    Claim(id=f"{short}-keeps-accuracy", group="ablation", order=40,
          sentence=f"{model} learns the task as well as plain Linear (accuracy within 1 point).",
          statistic=PairedDiff("accuracy", a=model, b="linear"), kind="equivalence", margin=(-0.01, 0.01))
    for short, model in VARIANTS.items()
]
EXPECTED = {
    "2x150": {
        "hard-keeps-accuracy": "equivalent",
        "l1(0.001)-keeps-accuracy": "equivalent",
        "l1(0.01)-keeps-accuracy": "contradicted",
        "l1(0.1)-keeps-accuracy": "contradicted",
        "soft(0.1)-keeps-accuracy": "equivalent",
        "soft(0.5)-keeps-accuracy": "not shown equivalent",
        "soft(1)-keeps-accuracy": "not shown equivalent",
    },
    "30x10": {
        "hard-keeps-accuracy": "not shown equivalent",
        "l1(0.001)-keeps-accuracy": "not shown equivalent",
        "l1(0.01)-keeps-accuracy": "not shown equivalent",
        "l1(0.1)-keeps-accuracy": "contradicted",
        "soft(0.1)-keeps-accuracy": "not shown equivalent",
        "soft(0.5)-keeps-accuracy": "not shown equivalent",
        "soft(1)-keeps-accuracy": "not shown equivalent",
    },
}
COUNTER = {
    c.id: Counter(make_false=scale(c.statistic.a, "accuracy", 0.9), make_true=copy_from(c.statistic.a, "accuracy", "linear"),
                  why="losing a tenth of the accuracy is not equal; matching Linear run for run is")
    for c in CLAIMS
}
