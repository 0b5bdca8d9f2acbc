"""With p = 2 the Lp model shows the same bimodal structure."""
from harness.claims import Claim, DipShare
from harness.claimtest import Counter, bimodal, unimodal

CLAIM = Claim(
    id="lp2-bimodal",
    sentence="With p = 2 the Lp model shows similar bimodal structure in its interior gradient norms.",
    statistic=DipShare("lp2"),
    kind="shape", direction=">", null=0.5, order=19,
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=unimodal("lp2"), make_true=bimodal("lp2"),
    why="norms from one normal mode are not bimodal; a spike at zero beside a wide mode is",
)
