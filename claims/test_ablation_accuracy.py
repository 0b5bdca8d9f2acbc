"""Each regulariser keeps Linear's accuracy: a mesa bought by not learning the task does not count."""
import pytest
from _ablation import VARIANTS

from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, copy_from, scale

CLAIMS = [
    Claim(id=f"{short}-keeps-accuracy", group="ablation", order=40,
          sentence=f"{model} learns the task as well as plain Linear (accuracy within 1 point).",
          statistic=PairedDiff("accuracy", a=model, b="linear"), kind="equivalence", margin=(-0.01, 0.01))
    for short, model in VARIANTS.items()
]
EXPECTED = {"30x10": {
    "hard-keeps-accuracy": "equivalent",
    "l1(0.001)-keeps-accuracy": "equivalent",
    "l1(0.01)-keeps-accuracy": "not shown equivalent",
    "l1(0.1)-keeps-accuracy": "contradicted",
    "soft(0.1)-keeps-accuracy": "equivalent",
    "soft(0.5)-keeps-accuracy": "equivalent",
    "soft(1)-keeps-accuracy": "equivalent",
}}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_verdict(claim, verdicts, size, record_property):
    assert_verdict(claim, EXPECTED, verdicts, size, record_property)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_counter_table_turns_the_verdict(claim, tables, verdicts):
    """Losing a tenth of the accuracy is not equal; matching Linear run for run is."""
    model = claim.statistic.a
    assert_turns_either_way(claim, tables, verdicts, make_false=scale(model, "accuracy", 0.9),
                            make_true=copy_from(model, "accuracy", "linear"))
