"""Linear's interior gradient norms are unimodal, with no spike at zero."""
from harness.claims import Claim, MesaShare
from harness.claimtest import Counter, bimodal, unimodal
from harness.writeup import seed0

CLAIM = Claim(
    id="linear-unimodal",
    sentence="Linear's interior gradient norms are unimodal: no spike at zero, all points spread from 5 to 13.",
    statistic=MesaShare("linear"),
    # Not an arbitrary half: the mesa criterion calls at most 5% of unimodal (piecewise-constant)
    # gradient samples a mesa (its calibration, tests/test_calibration.py), so a Linear share
    # significantly below 5% is what unimodal Linear gradients look like. The paired Lp - Linear
    # contrast of the same criterion is lp-bimodal.
    kind="shape", direction="<", null=0.05, writeup=seed0("linear", "bimodal"), order=8,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=bimodal("linear"), make_true=unimodal("linear"),
    why="a spike at zero beside a wide mode is a mesa; one normal mode is none",
)
