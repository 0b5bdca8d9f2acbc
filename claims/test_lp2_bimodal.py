"""With p = 2 the Lp model shows the same bimodal structure: a mesa where Linear has none."""
from harness.claims import Claim, MesaContrast
from harness.claimtest import Counter, bimodal, unimodal

CLAIM = Claim(
    id="lp2-bimodal",
    sentence="With p = 2 the Lp model shows similar bimodal structure in its interior gradient norms.",
    statistic=MesaContrast("lp2", "linear"),
    kind="shape", direction=">", order=19,
)
EXPECTED = {"2x150": "supported", "30x10": "supported", "until-decided": "supported"}
COUNTER = Counter(
    make_false=unimodal("lp2"), make_true=bimodal("lp2"),
    why="norms from one normal mode have no mesa, as Linear's mostly have none; a spike at zero beside a wide mode is one",
)
