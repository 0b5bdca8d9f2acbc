"""Issue 13's two targets, from cold stores: the default `python -m harness report` (no options)
and `python -m harness report --until-decided` at its default budget. Each runs as its own
process into an empty store (a temporary folder) and is timed by wall clock; the write-up
claims it decides are read from what it wrote (the page's runs for the default, rounds.json
for the sequential study) through the same `decided` the sequential study stops on.

    python benchmarks/decisive.py [--only default|sequential] [--keep DIR]

Run it on an otherwise idle machine: training uses every core, and two-thread kernels stall
when another process holds one. Prints one line per command: wall time, runs trained, peak
memory (max RSS of the child) and the write-up claims decided; for the sequential study also
whether its verdicts at the last look are those the claim files record under
EXPECTED["until-decided"] (exit status 1 if not)."""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str], store: Path, out: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "report", *args, "--cache", str(store), "--out", str(out),
                    "--no-progress"], check=True)
    # the largest max RSS of the children so far: this one's, unless an earlier one was larger
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _decided_default(store: Path) -> tuple[int, int]:
    from harness.analysis.discovery import load_claims
    from harness.analysis.sequential import decided
    from harness.pipeline import study, tables, verdicts

    claims = [c for c in load_claims(None) if c.group == "write-up"]
    runs, points = tables(study(), cache=str(store), train=False)
    words = [v.verdict for v in verdicts(runs, points, claims=claims)]
    return sum(decided(w) for w in words), len(words)


def _decided_sequential(rounds: dict) -> tuple[int, int]:
    return int(rounds["rounds"][-1]["decided"]), len(rounds["family"])


def _recorded_sequential() -> dict[str, str]:
    """What the claim files record under EXPECTED["until-decided"]: each write-up claim's
    verdict at the last look of the sequential study at its default budget."""
    from harness.analysis.discovery import load_claims

    load_claims(None)  # imports each claim file as _mesa_claim_<stem>
    recorded = {}
    for name, mod in list(sys.modules.items()):
        claim, expected = getattr(mod, "CLAIM", None), getattr(mod, "EXPECTED", None)
        if name.startswith("_mesa_claim_") and claim is not None and "until-decided" in (expected or {}):
            recorded[claim.id] = expected["until-decided"]
    return recorded


def _check_recorded(rounds: dict) -> list[str]:
    """Write-up claims whose verdict at the sequential study's last look (rounds.json) is not
    what their claim file records (a claim that records none counts as a mismatch)."""
    recorded = _recorded_sequential()
    return [f"{c['id']}: recorded {recorded.get(c['id'])!r}, now {c['verdict']!r}"
            for c in rounds["rounds"][-1]["claims"] if recorded.get(c["id"]) != c["verdict"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("default", "sequential"))
    ap.add_argument("--keep", help="keep the stores and pages under this folder (default: a temporary one)")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mesa-decisive-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f}; folders under {root}")
    status = 0
    if args.only in (None, "default"):
        store, out = root / "store-default", root / "page-default"
        seconds, peak = _run([], store, out)
        n, of = _decided_default(store)
        print(f"report (default study), cold store: {seconds:.0f} s wall, peak {peak / 1024:.0f} MB, "
              f"{n} of {of} write-up claims decided (target: at most 240 s, at least 16)")
    if args.only in (None, "sequential"):
        store, out = root / "store-sequential", root / "page-sequential"
        seconds, peak = _run(["--until-decided"], store, out)
        rounds = json.loads((out / "rounds.json").read_text())
        n, of = _decided_sequential(rounds)
        print(f"report --until-decided (default budget), cold store: {seconds:.0f} s wall, peak {peak / 1024:.0f} MB, "
              f"{n} of {of} write-up claims decided (target: at most 600 s, at least 17)")
        changed = _check_recorded(rounds)
        print("verdicts at the last look: " + ("as the claim files record (EXPECTED['until-decided'])" if not changed
                                               else "NOT as recorded: " + "; ".join(changed)))
        status = 1 if changed else 0
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
