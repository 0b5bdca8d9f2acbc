"""Lp's interior gradient norms are bimodal, with a spike near zero."""
from harness.claims import Claim, DipShare
from harness.claimtest import Counter, bimodal, unimodal
from harness.writeup import seed0

CLAIM = Claim(
    id="lp-bimodal",
    sentence="Lp's interior gradient norms are bimodal: a spike near zero (the mesa) and the rest spread from 5 to 18.",
    statistic=DipShare("lp"),
    kind="shape", direction=">", null=0.5, writeup=seed0("lp", "bimodal"), order=7,
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=unimodal("lp"), make_true=bimodal("lp"),
    why="norms from one normal mode are not bimodal; a spike at zero beside a wide mode is",
)
