"""Implicit in a single-seed write-up: a run under the protocol learns the task."""
from harness.claims import Claim, RunMean
from harness.claimtest import Counter, assign, chain
from harness.writeup import seed0

CLAIM = Claim(
    id="collapse-rare",
    sentence="A run under the protocol learns the task (the write-up's one seed did): collapse is rare, under 5% of runs of either model.",
    statistic=RunMean("collapsed", model=("lp", "linear"), yes_no=True),
    direction="<", null=0.05, rule="all", order=2,
    writeup=(seed0("lp", "collapsed") + seed0("linear", "collapsed")) / 2,
)
EXPECTED = {"2x150": "contradicted", "30x10": "contradicted", "until-decided": "contradicted"}


def one_run(r):
    return (r["seed"] == 0) & (r["polytope"] == 0)


COUNTER = Counter(
    make_false=assign("lp", "collapsed", lambda r: True),
    make_true=chain(assign("lp", "collapsed", one_run), assign("linear", "collapsed", one_run)),
    why="every Lp run collapsed is not rare; one collapsed run in 600 is (with no collapse at all, every run "
        "would agree and the test would count polytopes, too few to show < 5%)",
)
