"""Boundary-band mean gradient norm higher for Lp (ratio 0.62x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="grad-boundary-higher",
    sentence="In the boundary band the mean gradient norm is higher for Lp: 14.82 vs 9.14, Linear/Lp = 0.62x.",
    statistic=PairedRatio("grad_boundary", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.62, writeup=9.14 / 14.82, order=5,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp's boundary gradient is the lower; Linear's 7% lower gives about 0.62x."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("linear", "grad_boundary", 0.93))
