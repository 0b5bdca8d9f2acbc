"""Lp has a smaller minimum |w| (0.0005 vs 0.0234)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="min-weight-smaller",
    sentence="Lp's smallest |w| is far smaller than Linear's: 0.0005 vs 0.0234.",
    statistic=PairedRatio("min_absw", num="linear", den="lp"),
    direction=">", writeup=0.0234 / 0.0005, order=17,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Linear has the smaller minimum; a tenth of Lp's is smaller."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("lp", "min_absw", 0.1))
