"""About 70x gap in mean |w| of centre-active units, Linear over Lp."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="center-weight-70x",
    sentence="Units active at the polytope centre carry a 70x larger mean |w| in Linear than in Lp: 0.6112 vs 0.0086.",
    statistic=PairedRatio("center_active_absw", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=70.0, writeup=0.6112 / 0.0086, order=14,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp's centre-active weights are the larger; Lp's 2.5x larger gives about 70x."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("lp", "center_active_absw", 2.5))
