"""Lp's interior gradient norms are bimodal, with a spike near zero."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns_either_way, assert_verdict, bimodal, unimodal

CLAIM = Claim(
    id="lp-bimodal",
    sentence="Lp's interior gradient norms are bimodal: a spike near zero (the mesa) and the rest spread from 5 to 18.",
    statistic=DipShare("lp"),
    kind="shape", direction=">", null=0.5, writeup=1.0, order=7,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Norms from one normal mode are not bimodal; a spike at zero beside a wide mode is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=unimodal("lp"),
                            make_true=bimodal("lp"))
