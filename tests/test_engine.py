"""The batched engine is the reference engine, faster: parity, independence, seed 0."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from harness.config import VARIANTS, RunSpec
from harness.train.engine import make_batch, train_batch
from harness.train.reference import train_study_run
from harness.train.seeding import epoch_perms, init_params
from harness.train.task import study_task, study_train_data

ALL = ["lp", "linear", "lp2", "linear+l1(0.01)", "linear+nonneg_soft(0.5)", "linear+nonneg_hard"]


def test_batched_equals_reference_in_float64(short):
    """A model trained inside a batch of 16 ends where the reference engine (torch modules,
    torch.optim.Adam, clip_grad_norm_) ends, to 1e-8, for every kind of variant."""
    pr = short
    specs = [RunSpec(VARIANTS[ALL[i % 6]], i % 4, 100 + i, pr) for i in range(16)]
    out = train_batch(make_batch(specs), dtype=np.float64)
    for i in range(6):
        s = specs[i]
        task = study_task(s.polytope, pr)
        x, y = study_train_data(task, s.seed, pr)
        init = init_params(s.variant, s.polytope, s.seed, pr)
        ref = train_study_run(s.variant, init, x, y, epoch_perms(s.polytope, s.seed, pr), pr, torch.float64)
        moved = max(np.abs(ref[k] - init[k]).max() for k in ref)
        assert moved > 1e-2, "training must move the parameters for the comparison to mean anything"
        for k in ref:
            np.testing.assert_allclose(out[k][i], ref[k], atol=1e-8, rtol=0, err_msg=f"{s.variant.name} {k}")


def test_a_runs_numbers_do_not_depend_on_its_batch(short):
    target = RunSpec(VARIANTS["lp"], 3, 7, short)
    others_a = [RunSpec(VARIANTS["linear"], p, s, short) for p in range(3) for s in range(3)]
    others_b = [RunSpec(VARIANTS["linear+l1(0.1)"], 5, s, short) for s in range(20, 25)]
    a = train_batch(make_batch(others_a[:4] + [target] + others_a[4:]))
    b = train_batch(make_batch([target] + others_b))
    c = train_batch(make_batch([target]))
    for k in a:
        assert np.array_equal(a[k][4], b[k][0]) and np.array_equal(b[k][0], c[k][0])


def test_seeding_nests_seeds_in_polytopes(short):
    """Geometry and test points depend on the polytope only; initialisation, shuffles and
    training data on (polytope, seed), shared by the variants of one family."""
    t1, t2 = study_task(4, short), study_task(4, short)
    assert np.array_equal(t1.x_test, t2.x_test)
    assert not np.array_equal(study_task(5, short).x_test, t1.x_test)
    i1, i2 = init_params(VARIANTS["lp"], 4, 9, short), init_params(VARIANTS["lp2"], 4, 9, short)
    assert all(np.array_equal(i1[k], i2[k]) for k in i1)
    lin, l1 = init_params(VARIANTS["linear"], 4, 9, short), init_params(VARIANTS["linear+l1(0.1)"], 4, 9, short)
    assert all(np.array_equal(lin[k], l1[k]) for k in lin)
    assert not np.array_equal(init_params(VARIANTS["lp"], 4, 10, short)["W1"], i1["W1"])
    assert not np.array_equal(init_params(VARIANTS["lp"], 5, 9, short)["W1"], i1["W1"])  # nested
    p1, p2 = epoch_perms(0, 3, short), epoch_perms(0, 3, short)
    assert np.array_equal(p1, p2) and sorted(p1[0]) == list(range(2000))
    assert not np.array_equal(p1[0], p1[1]) and not np.array_equal(p1, epoch_perms(1, 3, short))


def test_reproduce_matches_the_writeup_seed0():
    """`python -m harness reproduce --json` gives the write-up's seed-0 table (torch 2.13, CPU)."""
    out = subprocess.run([sys.executable, "-m", "harness", "reproduce", "--json"], capture_output=True, text=True,
                         check=True)
    r = json.loads(out.stdout)
    lp, lin = r["lp"], r["linear"]
    assert lp["accuracy"] == pytest.approx(0.990, abs=0.002) and lin["accuracy"] == pytest.approx(0.992, abs=0.002)
    assert (lp["flat_count"], lp["n_interior"], lin["flat_count"], lin["flipped_flat_count"]) == (32, 101, 3, 3)
    for key, a, b in [("grad_interior", 6.07, 7.43), ("grad_boundary", 14.82, 9.14), ("grad_exterior", 17.80, 10.79)]:
        assert lp[key] == pytest.approx(a, abs=0.01) and lin[key] == pytest.approx(b, abs=0.01)
    assert lp["active_inside"] == pytest.approx(0.218, abs=0.001) and lin["active_inside"] == pytest.approx(0.338, abs=0.001)
    assert lp["active_outside"] == pytest.approx(0.404, abs=0.001) and lin["active_outside"] == pytest.approx(0.441, abs=0.001)
    assert (lp["center_active_n"], lin["center_active_n"]) == (4, 3)
    assert lp["center_active_absw"] == pytest.approx(0.0086, abs=1e-4)
    assert lin["center_active_absw"] == pytest.approx(0.6112, abs=1e-4)
    assert lp["center_inactive_absw"] == pytest.approx(1.5796, abs=1e-4)
    assert lin["center_inactive_absw"] == pytest.approx(0.7993, abs=1e-4)
    assert (lp["n_absw_lt_001"], lp["n_absw_lt_01"], lin["n_absw_lt_001"], lin["n_absw_lt_01"]) == (4, 5, 0, 2)
    assert lp["min_absw"] == pytest.approx(0.0005, abs=1e-4) and lin["min_absw"] == pytest.approx(0.0234, abs=1e-4)
    assert lin["n_negative_w"] == 3
    assert lp["collapsed"] is False and lin["collapsed"] is False
