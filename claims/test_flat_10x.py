"""About 10x more flat points for Lp (31.7% vs 3.0%)."""
from harness.claims import Claim, RatioOfMeans
from harness.claimtest import assert_turns_either_way, assert_verdict, scale, swap

CLAIM = Claim(
    id="flat-10x",
    sentence="Lp has 10x more flat interior points (gradient norm < 1.0): 32/101 (31.7%) vs 3/101 (3.0%).",
    statistic=RatioOfMeans("flat_frac", num="lp", den="linear"),
    kind="magnitude", direction=">", claimed=10.0, writeup=32 / 3, order=9,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Linear has the flat points; Lp's flat fraction 45% higher gives about 10x."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=scale("lp", "flat_frac", 1.45))
