"""Where claims live: one file each in claims/, each declaring CLAIM (or CLAIMS)."""
from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import replace
from pathlib import Path

from harness.analysis.verdicts import Claim
from harness.errors import HarnessError

CLAIMS_ENV = "MESA_HARNESS_CLAIMS"
# The package's own claims: the repository's claims/, beside harness/.
DEFAULT_CLAIMS_DIR = Path(__file__).resolve().parents[2] / "claims"


def claims_dir(directory: str | os.PathLike | None = None) -> Path:
    """The folder claims load from: `directory` when given (--claims-dir), else
    $MESA_HARNESS_CLAIMS, else the package's own claims/. Never a claims/ found in the
    current folder: claim files are executed, and the folder a user happens to stand in is
    no place to take code from."""
    if directory is not None:
        if not str(directory).strip():
            raise HarnessError("--claims-dir is empty; name a folder of claim files, or leave it out for the "
                               "package's own claims")
        return Path(directory)
    env = os.environ.get(CLAIMS_ENV)
    return Path(env) if env else DEFAULT_CLAIMS_DIR


def is_default_dir(directory: str | os.PathLike) -> bool:
    """Whether `directory` is the package's own claims folder."""
    return Path(directory).resolve() == DEFAULT_CLAIMS_DIR.resolve()


def load_claims(directory: str | os.PathLike | None = None) -> list[Claim]:
    """Every claim declared by a .py file in the claims folder (`claims_dir(directory)`), as
    `CLAIM` or a list `CLAIMS` for a claim checked at several settings, in (order, id) order."""
    d = claims_dir(directory)
    if not d.is_dir():
        raise HarnessError(f"no claims folder at {d}; pass --claims-dir DIR or set {CLAIMS_ENV} to a folder of "
                           f"claim files")
    found: dict[str, Claim] = {}
    sys.path.insert(0, str(d.resolve()))  # claim files may share helpers (claims/_*.py)
    try:
        _load_into(d, found)
    finally:
        sys.path.remove(str(d.resolve()))
    return sorted(found.values(), key=lambda c: (c.order, c.id))


def _load_into(d: Path, found: dict[str, Claim]) -> None:
    for path in sorted(d.glob("*.py")):
        if path.name.startswith("_") or path.name == "conftest.py":
            continue
        name = f"_mesa_claim_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        try:
            spec.loader.exec_module(mod)
        except HarnessError as exc:
            raise HarnessError(f"{path.name}: {exc}")
        declared = list(getattr(mod, "CLAIMS", []))
        if getattr(mod, "CLAIM", None) is not None:
            declared.insert(0, mod.CLAIM)
        for claim in declared:
            if claim.id in found:
                raise HarnessError(f"claim id {claim.id!r} is declared twice ({found[claim.id].source} and {path.name})")
            found[claim.id] = replace(claim, source=path.name)


def select(claims: list[Claim], ids: str | None) -> list[Claim]:
    if not ids:
        return claims
    want = [x.strip() for x in ids.split(",") if x.strip()]
    known = {c.id: c for c in claims}
    for w in want:
        if w not in known:
            raise HarnessError(f"unknown claim {w!r}; known claims: {', '.join(known)}")
    return [known[w] for w in want]


def models_needed(claims: list[Claim]) -> list[str]:
    out: list[str] = []
    for c in claims:
        for m in c.statistic.models:
            if m not in out:
                out.append(m)
    return out

