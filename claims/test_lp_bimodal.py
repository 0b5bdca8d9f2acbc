"""Lp's interior gradient norms are bimodal, with a spike near zero."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns, assert_verdict, unimodal

CLAIM = Claim(
    id="lp-bimodal",
    sentence="Lp's interior gradient norms are bimodal: a spike near zero (the mesa) and the rest spread from 5 to 18.",
    statistic=DipShare("lp"),
    kind="shape", direction=">", null=0.5, writeup=1.0, order=7,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """Gradient norms drawn from one normal mode are not bimodal."""
    assert_turns(CLAIM, tables, unimodal("lp"), to=("contradicted",))
