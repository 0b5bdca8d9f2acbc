"""Interior mean gradient norm lower for Lp (ratio 1.22x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="grad-interior-lower",
    sentence="The interior mean gradient norm is lower for Lp: 6.07 vs 7.43, Linear/Lp = 1.22x.",
    statistic=PairedRatio("grad_interior", num="linear", den="lp"),
    kind="magnitude", direction=">", claimed=1.22, writeup=7.43 / 6.07, order=4,
)
EXPECTED = {"30x10": "not supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp's interior gradient is the higher; Linear's 8% higher gives about 1.22x."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("linear", "grad_interior", 1.08))
