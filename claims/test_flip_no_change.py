"""Flipping Linear's negative weights does not change its flat points."""
from harness.claims import Claim, WithinDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, assign

CLAIM = Claim(
    id="flip-no-change",
    sentence="Flipping Linear's negative weights to positive (negating their hidden units) produced no change in flat points: 3 and 3.",
    statistic=WithinDiff("flipped_flat_frac", "flat_frac", model="linear"),
    kind="equivalence", margin=(-0.02, 0.02), writeup=0.0, order=10,
)
EXPECTED = {"30x10": "equivalent"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """A flip that halves the flat points changes them; one that keeps them does not."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=assign("linear", "flipped_flat_frac", lambda r: r["flat_frac"] * 0.5),
                            make_true=assign("linear", "flipped_flat_frac", lambda r: r["flat_frac"]))
