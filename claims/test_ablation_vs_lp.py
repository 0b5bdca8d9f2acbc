"""Is the regularised Linear's mesa as flat as Lp's?"""
from _ablation import VARIANTS

from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, copy_from, scale

CLAIMS = [
    Claim(id=f"{short}-as-flat-as-lp", group="ablation", order=42,
          sentence=f"{model} is as flat inside as Lp: flat fraction within 5 points of Lp's.",
          statistic=PairedDiff("flat_frac", a=model, b="lp"), kind="equivalence", margin=(-0.05, 0.05))
    for short, model in VARIANTS.items()
]
EXPECTED = {
    "2x150": {
        "hard-as-flat-as-lp": "not shown equivalent",
        "l1(0.001)-as-flat-as-lp": "contradicted",
        "l1(0.01)-as-flat-as-lp": "contradicted",
        "l1(0.1)-as-flat-as-lp": "not shown equivalent",
        "soft(0.1)-as-flat-as-lp": "contradicted",
        "soft(0.5)-as-flat-as-lp": "not shown equivalent",
        "soft(1)-as-flat-as-lp": "not shown equivalent",
    },
    "30x10": {
        "hard-as-flat-as-lp": "not shown equivalent",
        "l1(0.001)-as-flat-as-lp": "contradicted",
        "l1(0.01)-as-flat-as-lp": "not shown equivalent",
        "l1(0.1)-as-flat-as-lp": "not shown equivalent",
        "soft(0.1)-as-flat-as-lp": "not shown equivalent",
        "soft(0.5)-as-flat-as-lp": "not shown equivalent",
        "soft(1)-as-flat-as-lp": "not shown equivalent",
    },
}
COUNTER = {
    c.id: Counter(make_false=scale("lp", "flat_frac", 0.5), make_true=copy_from(c.statistic.a, "flat_frac", "lp"),
                  why="half of Lp's flat fraction is not as flat; Lp's own, run for run, is")
    for c in CLAIMS
}
