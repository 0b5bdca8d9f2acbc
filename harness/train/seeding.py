"""The study's seeding: a run is (variant, polytope, seed). The polytope's geometry and test
points depend on the polytope only (task.py); the initialisation on (polytope, seed) and the
variant's family, so ablations of one family start where plain Linear starts; the shuffles
and the training sample on (polytope, seed). Same key, same numbers, whatever else is
trained alongside.

Why (polytope, seed) and not the seed alone: the statistics treat seeds as nested in
polytopes. With an initialisation shared by every polytope, seed s would be the same start
on all of them, and what the start decides (whether a run collapses: almost entirely the
sign of the last layer's initial weight) would repeat across polytopes; polytope means
would then be correlated and the nested intervals too narrow. A seed is a replicate within
its polytope."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from harness.config import Protocol, Variant

_TAG_INIT, _TAG_SHUFFLE = 0x1417, 0x5407
_FAMILY_CODE = {"lp": 1, "linear": 2}

PARAM_NAMES = ("W1", "b1", "w", "b", "c", "e")


def init_params(variant: Variant, polytope: int, seed: int, protocol: Protocol) -> dict[str, np.ndarray]:
    """nn.Linear's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight
    and bias), Lp weights U(0.1, 1.0) with bias 0, as PROTOCOL.md; float32."""
    rng = np.random.default_rng([_TAG_INIT, _FAMILY_CODE[variant.family], polytope, seed])
    h, d = protocol.hidden, protocol.dim
    k1 = 1 / math.sqrt(d)
    out = {"W1": rng.uniform(-k1, k1, size=(h, d)), "b1": rng.uniform(-k1, k1, size=h)}
    if variant.arch == "lp":
        out["w"] = rng.uniform(protocol.lp_init_low, protocol.lp_init_high, size=h)
        out["b"] = np.zeros(())
    else:
        k2 = 1 / math.sqrt(h)
        out["w"] = rng.uniform(-k2, k2, size=h)
        out["b"] = np.asarray(rng.uniform(-k2, k2))
    out["c"] = np.asarray(rng.uniform(-1.0, 1.0))
    out["e"] = np.asarray(rng.uniform(-1.0, 1.0))
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def shuffle_key(polytope: int, seed: int) -> np.uint64:
    """The 64-bit key of a run's shuffle stream."""
    return np.random.SeedSequence([_TAG_SHUFFLE, polytope, seed]).generate_state(1, np.uint64)[0]


@njit(cache=True)
def _splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + np.uint64(0x9E3779B97F4A7C15)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def fill_permutation(perm: np.ndarray, key: np.uint64, epoch: int) -> None:
    """perm <- a fresh uniform permutation of 0..n-1 for this (shuffle key, epoch):
    Fisher-Yates driven by splitmix64. The batched kernel calls it inside its loop, so
    no (epochs, n) table is kept per model; the reference engine calls the same code."""
    n = perm.shape[0]
    for i in range(n):
        perm[i] = i
    state = key ^ (np.uint64(epoch) * np.uint64(0xD1B54A32D192ED03))
    for i in range(n - 1, 0, -1):
        state, r = _splitmix64(state)
        j = int((r >> np.uint64(11)) * (1.0 / 9007199254740992.0) * (i + 1))  # 53-bit uniform
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp


def epoch_perms(polytope: int, seed: int, protocol: Protocol) -> np.ndarray:
    """(epochs, n_train) int64: each epoch's permutation, for the reference engine (the
    first steps_per_epoch * batch_size entries are used; the last partial batch is dropped)."""
    key = shuffle_key(polytope, seed)
    out = np.empty((protocol.epochs, protocol.n_train), dtype=np.int64)
    for ep in range(protocol.epochs):
        fill_permutation(out[ep], key, ep)
    return out
