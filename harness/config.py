"""The faithful protocol (../shared/PROTOCOL.md) as the default configuration, and the
registry of model variants. Every protocol constant lives here and nowhere else."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import re
from dataclasses import dataclass, field

from harness.errors import HarnessError

# Bumped whenever a change alters what a run produces (chunk provenance; Dask workers must match).
ENGINE_VERSION = "4"


def key_engine(variant: Variant) -> str:
    """The engine version in a run's store key: the version at which runs of its kind last
    changed, so that a change to one kind of model does not orphan the store's other runs.
    4: Lp with p = 2 squares and takes a square root instead of pow (last-bit differences, so
    new trajectories; 2.7x faster). Lp with p = 1 and Linear train bit for bit as at 3
    (measured on 20 runs each)."""
    return "4" if variant.arch == "lp" and variant.p == 2.0 else "3"

# The default study, in seeds per polytope and polytopes: what `harness report`, `make report`,
# `pytest claims` and a claim file's EXPECTED key "2x150" mean when no size is given. The CLI's
# defaults, Study.of's and the pytest plugin's read these two names (the Makefile passes none).
# Polytope-heavy by design (README, "Designs and sequential studies"): the polytope is the independent unit
# and costs next to nothing to draw, a seed costs a training run, so Cochran's two-stage
# allocation n* = sqrt(c_polytope s_w^2 / (c_run s_b^2)) (analysis/design.py, on the variance
# components of the 30 x 10 pilot) is below 2 for nearly every claim; 2 is the floor that keeps
# the within-polytope spread estimable for the next `harness design`. The polytopes keep the
# old default's 300 runs per model (30 x 10 before).
DEFAULT_SEEDS = 2
DEFAULT_POLYTOPES = 150
# The sequential study's default rounds (`report --until-decided`, analysis/sequential.py):
# ROUND_POLYTOPES new polytopes per round at ROUND_SEEDS seeds each (the allocation `python -m
# harness design` finds for every claim: polytopes cost next to nothing, so the fewest seeds
# that still estimate the within-polytope spread), and DEFAULT_BUDGET runs in all.
ROUND_SEEDS = 2
ROUND_POLYTOPES = 400
DEFAULT_BUDGET = 14_400
MAX_LOOKS = 200  # the most rounds a budget may declare

ARCHS = ("lp", "linear")
REGS = ("none", "l1", "nonneg_soft", "nonneg_hard")


@dataclass(frozen=True)
class Protocol:
    """Everything that determines how a run trains (PROTOCOL.md: Task, Models, Training)."""

    dim: int = 2
    n_faces: int = 6
    jitter: float = 0.2  # angle jitter, uniform in [-jitter, jitter]
    radius_low: float = 0.4
    radius_high: float = 1.0
    box: float = 1.5  # points ~ U([-box, box]^dim)
    n_train: int = 2000
    n_test: int = 500
    hidden: int = 32
    lp_eps: float = 1e-6
    lp_init_low: float = 0.1  # Lp weights w_i ~ U(0.1, 1.0)
    lp_init_high: float = 1.0
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-8
    batch_size: int = 128
    epochs: int = 200
    clip: float = 1.0

    def __post_init__(self) -> None:
        checks = [
            (self.dim >= 2, f"dim must be at least 2 (got {self.dim})"),
            (self.n_faces >= self.dim + 1,
             f"a bounded polytope in {self.dim}-D needs at least {self.dim + 1} faces (got {self.n_faces})"),
            (self.hidden >= 1, f"hidden must be at least 1 unit (got {self.hidden})"),
            (0 < self.radius_low <= self.radius_high,
             f"radii need 0 < radius_low <= radius_high (got {self.radius_low}, {self.radius_high})"),
            (self.box > 0, f"box must be positive (got {self.box})"),
            (self.n_test >= 1 and self.n_train >= self.batch_size,
             f"need n_test >= 1 and n_train >= batch_size (got {self.n_test}, {self.n_train}, {self.batch_size})"),
            (self.epochs >= 1 and self.batch_size >= 1, "epochs and batch_size must be at least 1"),
            (self.lr > 0 and self.clip > 0, "lr and clip must be positive"),
        ]
        for ok, msg in checks:
            if not ok:
                raise HarnessError(msg)

    @property
    def steps_per_epoch(self) -> int:
        return self.n_train // self.batch_size  # the last partial batch is dropped

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Measure:
    """Analysis settings of the per-run measurements (PROTOCOL.md: Measurements).
    They do not change training: stored runs are re-measured under other values."""

    flat_threshold: float = 1.0
    band: float = 0.2  # boundary band 0 < d < band
    center: str = "interior_mean"  # or "chebyshev"

    def __post_init__(self) -> None:
        if not self.flat_threshold > 0:
            raise HarnessError(f"flat_threshold must be positive (got {self.flat_threshold})")
        if not self.band > 0:
            raise HarnessError(f"band must be positive (got {self.band})")
        if self.center not in ("interior_mean", "chebyshev"):
            raise HarnessError(f"center must be 'interior_mean' or 'chebyshev' (got {self.center!r})")


@dataclass(frozen=True)
class Variant:
    """A model variant: architecture, Lp power, and how the aggregation weights train."""

    name: str
    arch: str
    p: float = math.nan
    reg: str = "none"
    lam: float = 0.0

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise HarnessError(f"unknown architecture {self.arch!r}; choose one of {', '.join(ARCHS)}")
        if self.reg not in REGS:
            raise HarnessError(f"unknown regulariser {self.reg!r}; choose one of {', '.join(REGS)}")
        if self.arch == "lp" and not (self.p >= 1):
            raise HarnessError(f"Lp aggregation needs p >= 1 (got p = {self.p}) in variant {self.name!r}")
        if self.arch == "linear" and not math.isnan(self.p):
            raise HarnessError(f"linear variant {self.name!r} takes no p")
        if self.reg in ("l1", "nonneg_soft") and not self.lam > 0:
            raise HarnessError(f"regulariser {self.reg} needs lam > 0 in variant {self.name!r}")
        if self.lam < 0 or not math.isfinite(self.lam):
            raise HarnessError(f"lam must be a finite number >= 0 in variant {self.name!r}")

    @property
    def family(self) -> str:
        """Runs of one family and seed share their initialisation (a paired ablation)."""
        return self.arch

    def key_dict(self) -> dict:
        return {"arch": self.arch, "p": None if math.isnan(self.p) else self.p,
                "reg": self.reg, "lam": self.lam}


def _variants() -> dict[str, Variant]:
    vs = [
        Variant("lp", "lp", p=1.0),
        Variant("linear", "linear"),
        Variant("lp2", "lp", p=2.0),
        *(Variant(f"linear+l1({lam:g})", "linear", reg="l1", lam=lam) for lam in (1e-3, 1e-2, 1e-1)),
        *(Variant(f"linear+nonneg_soft({lam:g})", "linear", reg="nonneg_soft", lam=lam) for lam in (0.1, 0.5, 1.0)),
        Variant("linear+nonneg_hard", "linear", reg="nonneg_hard"),
    ]
    return {v.name: v for v in vs}


VARIANTS: dict[str, Variant] = _variants()
MAIN_MODELS = ("lp", "linear")


def get_variant(name: str) -> Variant:
    """A registered variant by name, or one spelled out as `lp(p=3)`. A spelled-out variant
    that is a registered one (`lp(p=1)` is `lp`, `lp(p=2.0)` is `lp2`) is returned under its
    registered name, and any other under one canonical spelling (`lp(p=3.0)` is `lp(p=3)`),
    so that one run has one name: two names would train and store it twice."""
    if name in VARIANTS:
        return VARIANTS[name]
    m = re.fullmatch(r"lp\(p=([-+0-9.eE]+)\)", name)
    if not m:
        raise HarnessError(f"unknown model {name!r}; choose from {', '.join(VARIANTS)} (or lp(p=P))")
    try:
        p = float(m.group(1))
    except ValueError:
        raise HarnessError(f"model {name!r}: {m.group(1)!r} is not a number; write it like lp(p=3) or lp(p=1.5)")
    if not math.isfinite(p):
        raise HarnessError(f"model {name!r}: p must be a finite number")
    variant = Variant(f"lp(p={int(p) if p.is_integer() else repr(p)})", "lp", p=p)
    registered = {json.dumps(v.key_dict(), sort_keys=True): v for v in VARIANTS.values()}
    return registered.get(json.dumps(variant.key_dict(), sort_keys=True), variant)


def parse_models(text: str | None) -> list[Variant]:
    """Variants named in --models, each once however it is spelled; None or "" is every
    registered variant."""
    if text is None or text.strip() == "":
        return list(VARIANTS.values())
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise HarnessError("--models is empty; name at least one model, e.g. --models lp,linear")
    return list(dict.fromkeys(get_variant(n) for n in names))


# ASCII digits only: `\d` and str.isdigit also accept other scripts' digits ('３'), which a
# seed written on a command line should not silently become.
_RANGE_PART = re.compile(r"([0-9]+)(?:-([0-9]+))?")
# Seeds and polytopes are stored in 64-bit integer columns.
MAX_ID = 2**63 - 1


def _intervals(text: str, what: str) -> list[tuple[int, int]]:
    """The inclusive (low, high) pairs that `text` selects, checked but not expanded."""
    if text is None or not str(text).strip():
        raise HarnessError(f"--{what} is empty; give a count such as 10 or a range such as 0-9")
    parts = [q.strip() for q in str(text).split(",")]
    out = []
    for part in parts:
        m = _RANGE_PART.fullmatch(part)
        if not m:
            odd = [c for c in part if c.isdigit() and not c.isascii()]
            if odd:
                raise HarnessError(f"--{what} {text!r} has the non-ASCII digit {odd[0]!r}; write it with 0-9")
            raise HarnessError(f"--{what} {text!r} is not a count or range; write it like 10, 0-9 or 0,3,7-9")
        lo = int(m.group(1))
        if m.group(2) is not None:
            hi = int(m.group(2))
            if hi < lo:
                raise HarnessError(f"--{what} {part!r} is reversed; write the smaller number first ({hi}-{lo})")
            out.append((lo, hi))
        elif len(parts) > 1:
            out.append((lo, lo))
        elif lo == 0:
            raise HarnessError(f"--{what} 0 selects nothing; give a count of at least 1 or a range")
        else:
            out.append((0, lo - 1))
    return out


def range_size(text: str, what: str) -> int:
    """How many seeds or polytopes `text` selects, counted without listing them, so that a
    selection too large for memory can be refused before it is built."""
    size, end = 0, -1
    for lo, hi in sorted(_intervals(text, what)):
        if hi > end:
            size += hi - max(lo, end + 1) + 1
            end = hi
    return size


def parse_range(text: str, what: str) -> list[int]:
    """Seeds or polytopes: a bare number N means the first N (0..N-1); 'a-b' is the
    inclusive range; parts join with commas ('0-4,9'). One rule for every command."""
    intervals = _intervals(text, what)
    top = max(hi for _, hi in intervals)
    if top > MAX_ID:
        raise HarnessError(f"--{what} {text!r} goes past {MAX_ID}, the largest id a run table can hold")
    out: list[int] = []
    for lo, hi in intervals:
        out.extend(range(lo, hi + 1))
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class RunSpec:
    """One trained model: identified by (variant, polytope, seed) under a protocol."""

    variant: Variant
    polytope: int
    seed: int
    protocol: Protocol = field(default_factory=Protocol)

    @property
    def key(self) -> str:
        """The store key: sha256 of the sorted JSON of variant, protocol, polytope, seed and
        engine version. The protocol's and variant's JSON are made once per value (_json_of):
        dataclasses.asdict on every key was a third of a large study's bookkeeping."""
        blob = (f'{{"engine": {json.dumps(key_engine(self.variant))}, "polytope": {json.dumps(self.polytope)}, '
                f'"protocol": {_json_of(self.protocol)}, "seed": {json.dumps(self.seed)}, '
                f'"variant": {_json_of(self.variant)}}}')
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


@functools.lru_cache(maxsize=256)
def _json_of(part: Protocol | Variant) -> str:
    """json.dumps(..., sort_keys=True) of a protocol's as_dict or a variant's key_dict: the
    pieces RunSpec.key nests, exactly as json.dumps of the whole would write them."""
    return json.dumps(part.as_dict() if isinstance(part, Protocol) else part.key_dict(), sort_keys=True)
