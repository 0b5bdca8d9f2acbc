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


def claims_dir() -> Path:
    """$MESA_HARNESS_CLAIMS, else ./claims, else the claims/ beside the installed package."""
    env = os.environ.get(CLAIMS_ENV)
    if env:
        return Path(env)
    here = Path("claims")
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "claims"


def load_claims(directory: str | os.PathLike | None = None) -> list[Claim]:
    """Every claim declared by a .py file in the claims folder (as `CLAIM`, or a list
    `CLAIMS` for a claim checked at several settings), in (order, id) order."""
    d = Path(directory) if directory is not None else claims_dir()
    if not d.is_dir():
        raise HarnessError(f"no claims folder at {d}; run from the repository or set {CLAIMS_ENV}")
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

