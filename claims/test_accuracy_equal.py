"""Both architectures learn the task equally well (99.0% vs 99.2%)."""
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, copy_from, scale

CLAIM = Claim(
    id="accuracy-equal",
    sentence="Both models learn the task equally well: accuracy 99.0% (Lp) vs 99.2% (Linear).",
    statistic=PairedDiff("accuracy", a="lp", b="linear"),
    kind="equivalence", margin=(-0.01, 0.01), writeup=0.990 - 0.992, order=1,
)
EXPECTED = {"30x10": "equivalent"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Lp losing a tenth of its accuracy is not equal learning; Linear's accuracy run for run is."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=scale("lp", "accuracy", 0.9),
                            make_true=copy_from("lp", "accuracy", "linear"))
