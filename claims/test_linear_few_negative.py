"""Linear has few negative weights (3 of 32)."""
from harness.claims import Claim, RunMean
from harness.claimtest import assert_turns_either_way, assert_verdict, assign

CLAIM = Claim(
    id="linear-few-negative",
    sentence="Linear has only few negative weights: 3 of 32 (few: under a quarter, 8 of 32).",
    statistic=RunMean("n_negative_w", model="linear"),
    direction="<", null=8.0, writeup=3.0, order=18,
)
EXPECTED = {"30x10": "not supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Half the weights negative is not few; three of 32 is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=assign("linear", "n_negative_w", lambda r: 16.0),
                            make_true=assign("linear", "n_negative_w", lambda r: 3.0))
