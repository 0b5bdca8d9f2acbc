"""About 70x gap in mean |w| of centre-active units, Linear over Lp."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(
    id="center-weight-70x",
    sentence="Units active at the polytope centre carry a 70x larger mean |w| in Linear than in Lp: 0.6112 vs 0.0086.",
    statistic=PairedRatio("center_active_absw", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=70.0, writeup=0.6112 / 0.0086, order=14,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """With Lp and Linear swapped, Lp's centre-active weights are the larger."""
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted",))
