"""Linear's interior gradient norms are unimodal, with no spike at zero."""
from harness.claims import Claim, MesaShare
from harness.claimtest import Counter, bimodal, unimodal
from harness.writeup import seed0

CLAIM = Claim(
    id="linear-unimodal",
    sentence="Linear's interior gradient norms are unimodal: no spike at zero, all points spread from 5 to 13.",
    statistic=MesaShare("linear"),
    kind="shape", direction="<", null=0.5, writeup=seed0("linear", "bimodal"), order=8,
)
EXPECTED = {"30x10": "supported"}
COUNTER = Counter(
    make_false=bimodal("linear"), make_true=unimodal("linear"),
    why="a spike at zero beside a wide mode is a mesa; one normal mode is none",
)
