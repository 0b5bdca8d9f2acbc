"""The write-up's mechanism, carried over: in a variant that forms a mesa, the units active
at the centre have their |w| suppressed far below the inactive units'."""
from _ablation import VARIANTS

from harness.claims import Claim, WithinRatio
from harness.claimtest import Counter, assign

CLAIMS = [
    Claim(id=f"{short}-center-suppressed", group="ablation", order=43,
          sentence=f"In {model}, which forms a mesa, centre-active units have suppressed |w| (below inactive units').",
          statistic=WithinRatio("center_inactive_absw", "center_active_absw", model=model), direction=">",
          requires=(f"{short}-mesa",))
    for short, model in VARIANTS.items()
]
EXPECTED = {
    "2x150": {
        "hard-center-suppressed": "supported",
        "l1(0.001)-center-suppressed": "not supported",
        "l1(0.01)-center-suppressed": "not supported",
        "l1(0.1)-center-suppressed": "not supported",
        "soft(0.1)-center-suppressed": "supported",
        "soft(0.5)-center-suppressed": "not supported",
        "soft(1)-center-suppressed": "not supported",
    },
    "30x10": {
        "hard-center-suppressed": "not supported",
        "l1(0.001)-center-suppressed": "not supported",
        "l1(0.01)-center-suppressed": "not supported",
        "l1(0.1)-center-suppressed": "not supported",
        "soft(0.1)-center-suppressed": "not supported",
        "soft(0.5)-center-suppressed": "not supported",
        "soft(1)-center-suppressed": "not supported",
    },
}
COUNTER = {
    c.id: Counter(make_false=assign(c.statistic.model, "center_active_absw", lambda r: r["center_inactive_absw"] * 2),
                  make_true=assign(c.statistic.model, "center_active_absw", lambda r: r["center_inactive_absw"] / 100),
                  why="centre-active weights twice the inactive ones are not suppressed; a hundredth are")
    for c in CLAIMS
}
