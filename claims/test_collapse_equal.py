"""Do the two architectures collapse equally often? (A finding the write-up could not see.)"""
from harness.claims import Claim, PairedDiff
from harness.claimtest import assert_turns_either_way, assert_verdict, assign, copy_from

CLAIM = Claim(
    id="collapse-equal",
    sentence="Lp and Linear collapse equally often (within 10 points) under the protocol.",
    statistic=PairedDiff("collapsed", a="lp", b="linear"),
    kind="equivalence", margin=(-0.10, 0.10), writeup=0.0, rule="all", order=3,
)
EXPECTED = {"30x10": "not shown equivalent"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Every Lp run collapsed is not equal; Linear's collapses run for run are."""
    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=assign("lp", "collapsed", lambda r: True),
                            make_true=copy_from("lp", "collapsed", "linear"))
