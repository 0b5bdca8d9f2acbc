"""With p = 2 the Lp model shows the same bimodal structure."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns, assert_verdict, unimodal

CLAIM = Claim(
    id="lp2-bimodal",
    sentence="With p = 2 the Lp model shows similar bimodal structure in its interior gradient norms.",
    statistic=DipShare("lp2"),
    kind="shape", direction=">", null=0.5, order=19,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """Gradient norms drawn from one normal mode are not bimodal."""
    assert_turns(CLAIM, tables, unimodal("lp2"), to=("contradicted",))
