"""Linear's interior gradient norms are unimodal, with no spike at zero."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns, assert_verdict, unimodal

CLAIM = Claim(
    id="linear-unimodal",
    sentence="Linear's interior gradient norms are unimodal: no spike at zero, all points spread from 5 to 13.",
    statistic=DipShare("linear"),
    kind="shape", direction="<", null=0.5, writeup=0.0, order=8,
)
EXPECTED = {"30x10": "contradicted"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """Gradient norms drawn from one normal mode are unimodal: the claim then holds."""
    assert_turns(CLAIM, tables, unimodal("linear"), to=("supported",))
