"""Lp has more near-zero weights (|w| < 0.01: 4 vs 0)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, assign, swap

CLAIM = Claim(
    id="near-zero-weights-more",
    sentence="Lp learns to suppress some weights to near zero: 4 weights with |w| < 0.01 vs 0 in Linear.",
    statistic=PairedDiff("n_absw_lt_001", a="lp", b="linear"),
    direction=">", writeup=4.0, order=16,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Swapped, Linear has the near-zero weights; four more in Lp is more."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=swap("lp", "linear"),
                            make_true=assign("lp", "n_absw_lt_001", lambda r: r["n_absw_lt_001"] + 4))
