"""Within Lp, centre-active |w| far below inactive |w| (0.0086 vs 1.5796)."""
from harness.claims import Claim, WithinRatio
from harness.claimtest import assert_turns_either_way, assert_verdict, assign

CLAIM = Claim(
    id="lp-active-suppressed",
    sentence="Within Lp, units active at the centre have their weights suppressed: mean |w| 0.0086 vs 1.5796 for inactive units.",
    statistic=WithinRatio("center_inactive_absw", "center_active_absw", model="lp"),
    direction=">", writeup=1.5796 / 0.0086, order=15,
)
EXPECTED = {"30x10": "supported"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Centre-active weights twice the inactive ones are not suppressed; a hundredth are."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=assign("lp", "center_active_absw", lambda r: r["center_inactive_absw"] * 2),
                            make_true=assign("lp", "center_active_absw", lambda r: r["center_inactive_absw"] / 100))
