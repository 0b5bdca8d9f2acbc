"""Fewer active ReLUs inside for Lp (21.8% vs 33.8%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="active-inside-fewer",
    sentence="Lp has fewer active hidden units inside the polytope: 21.8% vs 33.8%.",
    statistic=PairedDiff("active_inside", a="lp", b="linear"),
    direction="<", writeup=0.218 - 0.338, order=12,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp has more active units inside; half as many is fewer."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("lp", "active_inside", 0.5))
