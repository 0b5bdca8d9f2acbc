"""The write-up's mechanism, carried over: in a variant that forms a mesa, the units active
at the centre have their |w| suppressed far below the inactive units'."""
import pytest
from _ablation import VARIANTS

from harness.claims import Claim, WithinRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, assign

CLAIMS = [
    Claim(id=f"{short}-center-suppressed", group="ablation", order=43,
          sentence=f"In {model}, which forms a mesa, centre-active units have suppressed |w| (below inactive units').",
          statistic=WithinRatio("center_inactive_absw", "center_active_absw", model=model), direction=">",
          requires=(f"{short}-mesa",))
    for short, model in VARIANTS.items()
]
EXPECTED = {"30x10": {
    "hard-center-suppressed": "supported",
    "l1(0.001)-center-suppressed": "not supported",
    "l1(0.01)-center-suppressed": "not supported",
    "l1(0.1)-center-suppressed": "not supported",
    "soft(0.1)-center-suppressed": "supported",
    "soft(0.5)-center-suppressed": "supported",
    "soft(1)-center-suppressed": "supported",
}}


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_verdict(claim, verdicts, size, record_property):
    assert_verdict(claim, EXPECTED, verdicts, size, record_property)


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_counter_table_turns_the_verdict(claim, tables, verdicts):
    """Centre-active weights twice the inactive ones are not suppressed; a hundredth are."""
    m = claim.statistic.model
    assert_turns_either_way(
        claim, tables, verdicts,
        make_false=assign(m, "center_active_absw", lambda r: r["center_inactive_absw"] * 2),
        make_true=assign(m, "center_active_absw", lambda r: r["center_inactive_absw"] / 100))
