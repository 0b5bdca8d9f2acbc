"""Linear's interior gradient norms are unimodal, with no spike at zero."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns_either_way, assert_verdict, bimodal, unimodal

CLAIM = Claim(
    id="linear-unimodal",
    sentence="Linear's interior gradient norms are unimodal: no spike at zero, all points spread from 5 to 13.",
    statistic=DipShare("linear"),
    kind="shape", direction="<", null=0.5, writeup=0.0, order=8,
)
EXPECTED = {"30x10": "not supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """A spike at zero beside a wide mode is not unimodal; one normal mode is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=bimodal("linear"),
                            make_true=unimodal("linear"))
