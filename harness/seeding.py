"""The study's seeding: a run is (variant, polytope, seed). Initialisation depends on the
seed and the variant's family (so ablations of one family are paired on their start),
shuffles on the seed only. Same key, same numbers, whatever else is trained alongside."""
from __future__ import annotations

import math

import numpy as np

from .config import Protocol, Variant

_TAG_INIT, _TAG_SHUFFLE = 0x1417, 0x5407
_FAMILY_CODE = {"lp": 1, "linear": 2}

PARAM_NAMES = ("W1", "b1", "w", "b", "c", "e")


def init_params(variant: Variant, seed: int, protocol: Protocol) -> dict[str, np.ndarray]:
    """nn.Linear's default initialisation (U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight
    and bias), Lp weights U(0.1, 1.0) with bias 0, as PROTOCOL.md; float32."""
    rng = np.random.default_rng([_TAG_INIT, _FAMILY_CODE[variant.family], seed])
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


def epoch_perms(seed: int, protocol: Protocol) -> np.ndarray:
    """(epochs, steps_per_epoch * batch_size) int32: the part of each epoch's fresh
    permutation that is used (the last partial batch is dropped)."""
    rng = np.random.default_rng([_TAG_SHUFFLE, seed])
    base = np.broadcast_to(np.arange(protocol.n_train, dtype=np.int32), (protocol.epochs, protocol.n_train))
    used = protocol.steps_per_epoch * protocol.batch_size
    return np.ascontiguousarray(rng.permuted(base, axis=1)[:, :used])
