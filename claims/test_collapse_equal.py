"""Do the two architectures collapse equally often? (A finding the write-up could not see.)"""
from harness.claims import Claim, PairedDiff
from harness.claimtest import Counter, assign, copy_from
from harness.writeup import seed0

CLAIM = Claim(
    id="collapse-equal",
    sentence="Lp and Linear collapse equally often (within 10 points) under the protocol.",
    statistic=PairedDiff("collapsed", a="lp", b="linear"),
    kind="equivalence", margin=(-0.10, 0.10), rule="all", order=3,
    writeup=seed0("lp", "collapsed") - seed0("linear", "collapsed"),
)
EXPECTED = {"2x150": "not shown equivalent", "30x10": "not shown equivalent", "until-decided": "contradicted"}
COUNTER = Counter(
    make_false=assign("lp", "collapsed", lambda r: True), make_true=copy_from("lp", "collapsed", "linear"),
    why="every Lp run collapsed is not equal; Linear's collapses run for run are",
)
