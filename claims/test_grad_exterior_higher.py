"""Exterior mean gradient norm higher for Lp (ratio 0.61x)."""
from harness.claims import Claim, PairedRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="grad-exterior-higher",
    sentence="In the exterior the mean gradient norm is higher for Lp: 17.80 vs 10.79, Linear/Lp = 0.61x.",
    statistic=PairedRatio("grad_exterior", num="linear", den="lp"),
    kind="magnitude", direction="<", claimed=0.61, writeup=10.79 / 17.80, order=6,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Lp's exterior gradient is the lower; Linear's 3% lower gives about 0.61x."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("linear", "grad_exterior", 0.97))
