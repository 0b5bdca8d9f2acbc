"""Fewer active ReLUs outside for Lp (40.4% vs 44.1%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="active-outside-fewer",
    sentence="Lp has fewer active hidden units outside the polytope: 40.4% vs 44.1%.",
    statistic=PairedDiff("active_outside", a="lp", b="linear"),
    direction="<", writeup=0.404 - 0.441, order=13,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp has more active units outside; half as many is fewer."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("lp", "active_outside", 0.5))
