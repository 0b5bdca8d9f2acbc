"""With p = 2 the Lp model shows the same bimodal structure."""
from harness.claims import Claim, DipShare
from harness.claimtest import assert_turns_either_way, assert_verdict, bimodal, unimodal

CLAIM = Claim(
    id="lp2-bimodal",
    sentence="With p = 2 the Lp model shows similar bimodal structure in its interior gradient norms.",
    statistic=DipShare("lp2"),
    kind="shape", direction=">", null=0.5, order=19,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Norms from one normal mode are not bimodal; a spike at zero beside a wide mode is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=unimodal("lp2"),
                            make_true=bimodal("lp2"))
