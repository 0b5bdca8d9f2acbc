"""Does forcing weight suppression (L1) or forbidding signed cancellation (non-negativity)
give Linear a mesa? The write-up's "Next steps" 1 and 2; the outcome is an open question."""
from _ablation import VARIANTS

from harness.claims import Claim, RatioOfMeans
from harness.claimtest import Counter, scale, swap

CLAIMS = [
    Claim(id=f"{short}-mesa", group="ablation", order=41,
          sentence=f"{model} forms a mesa: more flat interior points than plain Linear, with accuracy kept.",
          statistic=RatioOfMeans("flat_frac", num=model, den="linear"), direction=">",
          requires=(f"{short}-keeps-accuracy",))
    for short, model in VARIANTS.items()
]
EXPECTED = {
    "2x150": {
        "hard-mesa": "supported",
        "l1(0.001)-mesa": "not supported",
        "l1(0.01)-mesa": "not supported",
        "l1(0.1)-mesa": "not supported",
        "soft(0.1)-mesa": "supported",
        "soft(0.5)-mesa": "not supported",
        "soft(1)-mesa": "not supported",
    },
    "30x10": {
        "hard-mesa": "not supported",
        "l1(0.001)-mesa": "not supported",
        "l1(0.01)-mesa": "not supported",
        "l1(0.1)-mesa": "not supported",
        "soft(0.1)-mesa": "not supported",
        "soft(0.5)-mesa": "not supported",
        "soft(1)-mesa": "not supported",
    },
}
COUNTER = {
    c.id: Counter(make_false=swap(c.statistic.num, "linear"), make_true=scale(c.statistic.num, "flat_frac", 10.0),
                  why="swapped with plain Linear the variant has fewer flat points; ten times its flat fraction "
                      "(a statistic, so it may pass 1) would be a mesa")
    for c in CLAIMS
}
