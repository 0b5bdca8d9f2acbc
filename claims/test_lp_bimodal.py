"""Lp's interior gradient norms are bimodal, with a spike near zero: a mesa where Linear has none."""
from harness.claims import Claim, MesaContrast
from harness.claimtest import Counter, bimodal, unimodal
from harness.writeup import seed0

CLAIM = Claim(
    id="lp-bimodal",
    sentence="Lp's interior gradient norms are bimodal: a spike near zero (the mesa) and the rest spread from 5 to 18.",
    statistic=MesaContrast("lp", "linear"),
    kind="shape", direction=">", writeup=seed0("lp", "bimodal") - seed0("linear", "bimodal"), order=7,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=unimodal("lp"), make_true=bimodal("lp"),
    why="norms from one normal mode have no mesa, as Linear's mostly have none; a spike at zero beside a wide mode is one",
)
