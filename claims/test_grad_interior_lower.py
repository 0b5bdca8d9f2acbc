"""Interior mean gradient norm lower for Lp (ratio 1.22x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(
    id="grad-interior-lower",
    sentence="The interior mean gradient norm is lower for Lp: 6.07 vs 7.43, Linear/Lp = 1.22x.",
    statistic=PairedRatio("grad_interior", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=1.22, writeup=7.43 / 6.07, order=4,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """With Lp and Linear swapped, Lp's interior gradient is the higher one."""
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted",))
