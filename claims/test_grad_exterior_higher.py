"""Exterior mean gradient norm higher for Lp (ratio 0.61x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns, assert_verdict, swap

CLAIM = Claim(
    id="grad-exterior-higher",
    sentence="In the exterior the mean gradient norm is higher for Lp: 17.80 vs 10.79, Linear/Lp = 0.61x.",
    statistic=PairedRatio("grad_exterior", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.61, writeup=10.79 / 17.80, order=6,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables):
    """With Lp and Linear swapped, Lp's exterior gradient is the lower one."""
    assert_turns(CLAIM, tables, swap("lp", "linear"), to=("contradicted",))
