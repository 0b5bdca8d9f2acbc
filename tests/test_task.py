"""Task geometry (PROTOCOL.md, "Task")."""
import numpy as np
import pytest

from harness.config import Measure, Protocol
from harness.errors import HarnessError
from harness.train.task import experiment_task, regions, study_task


def test_normals_are_unit_at_jittered_angles_and_radii_in_range():
    pr = Protocol()
    for pid in range(20):
        poly = study_task(pid, pr).polytope
        assert np.allclose(np.linalg.norm(poly.normals, axis=1), 1, atol=1e-6)
        angles = np.arctan2(poly.normals[:, 1], poly.normals[:, 0])
        base = 2 * np.pi * np.arange(6) / 6
        off = (angles - base + np.pi) % (2 * np.pi) - np.pi
        assert np.all(np.abs(off) <= 0.2 + 1e-6)
        assert np.all((poly.radii >= 0.4) & (poly.radii <= 1.0))
        assert poly.labels(np.zeros((1, 2), np.float32))[0] == 1  # the origin is inside


def test_about_a_fifth_of_points_are_inside_and_regions_follow_distance():
    pr = Protocol()
    shares = [study_task(p, pr).y_test.mean() for p in range(30)]
    assert 0.15 < np.mean(shares) < 0.27
    t = study_task(0, pr)
    d = t.polytope.distance(t.x_test)
    assert np.array_equal(d <= 0, t.y_test == 1)
    r = regions(d, 0.2)
    assert set(np.unique(r)) == {0, 1, 2}
    assert np.all(d[r == 1] > 0) and np.all(d[r == 1] < 0.2) and np.all(d[r == 2] >= 0.2)


def test_inside_distance_is_euclidean_distance_to_nearest_face():
    t = study_task(3, Protocol())
    x = t.x_test[t.y_test == 1][:20].astype(np.float64)
    n, r = t.polytope.normals.astype(np.float64), t.polytope.radii.astype(np.float64)
    nearest = np.min(r - x @ n.T, axis=1)  # unit normals: slack = distance to the face's line
    assert np.allclose(-t.polytope.distance(x), nearest, atol=1e-6)


def test_experiment_seeding_matches_protocol_draw_order():
    task, x, y, rng = experiment_task(0, Protocol())
    g = np.random.default_rng(0)
    jit = g.uniform(-0.2, 0.2, size=6)
    rad = g.uniform(0.4, 1.0, size=6)
    assert np.allclose(task.polytope.radii, rad.astype(np.float32))
    ang = 2 * np.pi * np.arange(6) / 6 + jit
    assert np.allclose(task.polytope.normals[:, 0], np.cos(ang).astype(np.float32))
    g2 = np.random.default_rng(0)
    assert np.array_equal(x, g2.uniform(-1.5, 1.5, size=(2000, 2)).astype(np.float32))
    assert int(task.y_test.sum()) == 101


def test_higher_dimensions_and_chebyshev_center():
    pr = Protocol(dim=3, n_faces=12)
    t = study_task(1, pr)
    assert t.x_test.shape == (500, 3)
    c = study_task(0, Protocol()).center(Measure(center="chebyshev"))
    assert study_task(0, Protocol()).polytope.labels(c[None])[0] == 1


@pytest.mark.parametrize("kw", [dict(n_faces=2), dict(hidden=0), dict(dim=1), dict(radius_low=-1)])
def test_bad_protocols_are_refused_in_one_line(kw):
    with pytest.raises(HarnessError) as e:
        Protocol(**kw)
    assert "\n" not in str(e.value)
