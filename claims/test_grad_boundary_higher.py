"""Boundary-band mean gradient norm higher for Lp (ratio 0.62x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(
    id="grad-boundary-higher",
    sentence="In the boundary band the mean gradient norm is higher for Lp: 14.82 vs 9.14, Linear/Lp = 0.62x.",
    statistic=PairedRatio("grad_boundary", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.62, writeup=9.14 / 14.82, order=5,
)
EXPECTED = {"30x10": "direction only"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """With Lp and Linear swapped, Lp's boundary gradient is the lower one."""
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted",))
