"""What flipping does to Linear's accuracy (the write-up did not report it)."""
from harness.claims import Claim, WithinDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, assign, scale

CLAIM = Claim(
    id="flip-keeps-accuracy",
    sentence="The flipped Linear model is still the model that solves the task: its accuracy is unchanged (within 1 point).",
    statistic=WithinDiff("flipped_accuracy", "accuracy", model="linear"),
    kind="equivalence", margin=(-0.01, 0.01), writeup=0.866 - 0.992, order=11,
)
EXPECTED = {"30x10": "contradicted"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """A flip that costs a fifth of the accuracy is not the same model; one that keeps it is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=scale("linear", "flipped_accuracy", 0.8),
                            make_true=assign("linear", "flipped_accuracy", lambda r: r["accuracy"]))
