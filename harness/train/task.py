"""The task (PROTOCOL.md, "Task"): random convex polytopes in H-form, points, labels,
signed distance and regions. Pure numpy; all arrays float32 as in the experiment."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.config import Measure, Protocol
from harness.errors import HarnessError

# Stream tags keep the study's random streams apart (polytope vs training data vs ...).
_TAG_POLYTOPE, _TAG_TRAIN = 0x5017, 0x7241


@dataclass(frozen=True)
class Polytope:
    """P = {x : normals @ x <= radii}. normals (m, d) unit rows, radii (m,)."""

    normals: np.ndarray
    radii: np.ndarray

    @property
    def dim(self) -> int:
        return self.normals.shape[1]

    def slack(self, x: np.ndarray) -> np.ndarray:
        """r_k - n_k . x for points (..., d) -> (..., m)."""
        return self.radii - x @ self.normals.T

    def labels(self, x: np.ndarray) -> np.ndarray:
        """1.0 inside (every slack >= 0), else 0.0; float32."""
        return np.all(self.slack(x) >= 0, axis=-1).astype(np.float32)

    def distance(self, x: np.ndarray) -> np.ndarray:
        """d(x) = max_k (n_k . x - r_k): negative inside, positive outside."""
        return np.max(-self.slack(x), axis=-1)

    def chebyshev_center(self) -> np.ndarray:
        """Centre of the largest inscribed ball (a linear programme)."""
        from scipy.optimize import linprog

        m, d = self.normals.shape
        c = np.zeros(d + 1)
        c[-1] = -1.0  # maximise the radius t
        a_ub = np.hstack([self.normals.astype(np.float64), np.ones((m, 1))])
        res = linprog(c, A_ub=a_ub, b_ub=self.radii.astype(np.float64),
                      bounds=[(None, None)] * d + [(0, None)], method="highs")
        return res.x[:d].astype(np.float32)


def regions(distance: np.ndarray, band: float) -> np.ndarray:
    """0 interior (d <= 0), 1 boundary band (0 < d < band), 2 exterior (d >= band)."""
    return np.where(distance <= 0, 0, np.where(distance < band, 1, 2)).astype(np.int8)


def make_polytope(rng: np.random.Generator, protocol: Protocol) -> Polytope:
    """Normals at angles 2*pi*k/m plus U(-jitter, jitter) (2-D) or normalised Gaussians
    (d > 2); radii U(radius_low, radius_high). Draw order as in the experiment."""
    m, d = protocol.n_faces, protocol.dim
    if d == 2:
        jitter = rng.uniform(-protocol.jitter, protocol.jitter, size=m)
        radii = rng.uniform(protocol.radius_low, protocol.radius_high, size=m)
        angles = 2 * np.pi * np.arange(m) / m + jitter
        normals = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        g = rng.standard_normal(size=(m, d))
        normals = g / np.linalg.norm(g, axis=1, keepdims=True)
        radii = rng.uniform(protocol.radius_low, protocol.radius_high, size=m)
    poly = Polytope(normals.astype(np.float32), radii.astype(np.float32))
    if d > 2 and not _bounded(poly):
        raise HarnessError(f"{m} random faces in {d}-D did not bound a polytope; use more faces")
    return poly


def _bounded(poly: Polytope) -> bool:
    """A polytope with the origin inside is bounded iff the normals positively span R^d."""
    from scipy.optimize import linprog

    m, d = poly.normals.shape
    for sign in (1.0, -1.0):
        for axis in range(d):
            c = np.zeros(d)
            c[axis] = -sign
            res = linprog(c, A_ub=poly.normals.astype(np.float64), b_ub=poly.radii.astype(np.float64),
                          bounds=[(None, None)] * d, method="highs")
            if res.status == 3:  # unbounded
                return False
    return True


def sample_points(rng: np.random.Generator, n: int, protocol: Protocol) -> np.ndarray:
    return rng.uniform(-protocol.box, protocol.box, size=(n, protocol.dim)).astype(np.float32)


@dataclass(frozen=True)
class TaskData:
    """One polytope with its test points (depend on the polytope only)."""

    polytope_id: int
    polytope: Polytope
    x_test: np.ndarray  # (n_test, d) float32
    y_test: np.ndarray  # (n_test,) float32

    def center(self, measure: Measure) -> np.ndarray:
        if measure.center == "chebyshev":
            return self.polytope.chebyshev_center()
        inside = self.polytope.distance(self.x_test) <= 0
        if not inside.any():
            raise HarnessError(
                f"polytope {self.polytope_id} has no interior test point; shrink the sampling box or add test points")
        return self.x_test[inside].mean(axis=0)


def study_task(polytope_id: int, protocol: Protocol) -> TaskData:
    """The study's polytope `polytope_id`: geometry and test points from its own stream."""
    if polytope_id < 0:
        raise HarnessError(f"polytope ids are non-negative integers (got {polytope_id})")
    rng = np.random.default_rng([_TAG_POLYTOPE, polytope_id])
    poly = make_polytope(rng, protocol)
    x_test = sample_points(rng, protocol.n_test, protocol)
    return _checked(TaskData(polytope_id, poly, x_test, poly.labels(x_test)), protocol)


def _checked(task: TaskData, protocol: Protocol) -> TaskData:
    if not task.y_test.any():
        raise HarnessError(f"the sampling box [-{protocol.box}, {protocol.box}]^{protocol.dim} gave polytope "
                           f"{task.polytope_id} no interior test point; use a smaller box or more test points")
    return task


def study_train_data(task: TaskData, seed: int, protocol: Protocol) -> tuple[np.ndarray, np.ndarray]:
    """Training points for (polytope, seed): the data sample varies with the seed too."""
    rng = np.random.default_rng([_TAG_TRAIN, task.polytope_id, seed])
    x = sample_points(rng, protocol.n_train, protocol)
    return x, task.polytope.labels(x)


def experiment_task(seed: int, protocol: Protocol) -> tuple[TaskData, np.ndarray, np.ndarray, np.random.Generator]:
    """The experiment's own seeding (PROTOCOL.md): returns the task, training data and the
    generator `rng` that goes on to draw the epoch permutations."""
    if seed < 0:
        raise HarnessError(f"the experiment's seed must be a non-negative integer (got {seed})")
    rng = np.random.default_rng(seed)
    poly = make_polytope(np.random.default_rng(seed), protocol)
    x_train = sample_points(rng, protocol.n_train, protocol)
    x_test = sample_points(rng, protocol.n_test, protocol)
    task = _checked(TaskData(-1, poly, x_test, poly.labels(x_test)), protocol)
    return task, x_train, poly.labels(x_train), rng
