"""Implicit in a single-seed write-up: a run under the protocol learns the task."""
from harness.claims import Claim, RunMean
from harness.claimtest import assert_turns_either_way, assert_verdict, assign, chain

CLAIM = Claim(
    id="collapse-rare",
    sentence="A run under the protocol learns the task (the write-up's one seed did): collapse is rare, under 5% of runs of either model.",
    statistic=RunMean("collapsed", model=("lp", "linear")),
    direction="<", null=0.05, writeup=0.0, rule="all", order=2,
)
EXPECTED = {"30x10": "contradicted"}


def test_verdict(verdicts, size, record_property):
    assert_verdict(CLAIM, EXPECTED, verdicts, size, record_property)


def test_counter_table_turns_the_verdict(tables, verdicts):
    """Every Lp run collapsed is not rare; one collapsed run in 600 is (with no collapse at
    all, every run would agree and the test would count polytopes, too few to show < 5%)."""
    def one_run(r):
        return (r["seed"] == 0) & (r["polytope"] == 0)

    assert_turns_either_way(CLAIM, tables, verdicts,
                            make_false=assign("lp", "collapsed", lambda r: True),
                            make_true=chain(assign("lp", "collapsed", one_run), assign("linear", "collapsed", one_run)))
