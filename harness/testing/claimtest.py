"""pytest support for claim files: the recorded-verdict check and counter-tables.

A counter-table is the study's own run table changed so that the claim's truth changes
(two models swapped, a column scaled); a check that cannot turn its verdict on it is no check.
A claim file declares its counter-tables as data (`COUNTER = Counter(make_false=..., make_true=...)`)
and the plugin (harness/testing/plugin.py) turns them into tests; the assertions below are
also callable from explicit test functions."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest

from harness.analysis.verdicts import POSITIVE, Claim, Verdict, decide, evaluate
from harness.config import DEFAULT_POLYTOPES, DEFAULT_SEEDS  # noqa: F401 - claim files and conftests import them from here
from harness.jsonable import jsonable
from harness.render.format import fmt, fmt_ci, fmt_p
from harness.render.text import verdict_row

Tables = tuple[pd.DataFrame, pd.DataFrame]
Transform = Callable[[pd.DataFrame, pd.DataFrame], Tables]

# What a verdict test reports of its verdict (as the user property "claim_verdict"): the
# controller's table, the run's record and --compare read these and nothing else.
SUMMARY_FIELDS = ("verdict", "estimate", "ci_low", "ci_high", "p_value", "p_adj", "n_runs", "n_polytopes", "n_seeds",
                  "n_excluded", "note")


@dataclass(frozen=True)
class Counter:
    """A claim's counter-tables, as data: `make_false` must turn a positive verdict negative,
    `make_true` any other positive (see assert_turns_either_way); `why` says in words why
    each should, and is shown when one does not."""

    make_false: Transform
    make_true: Transform
    why: str = ""


def size_label(seeds: int, polytopes: int) -> str:
    """The key of a claim file's EXPECTED for a study of `seeds` per polytope: "2x150"."""
    return f"{seeds}x{polytopes}"


def verdict_summary(v: Verdict, expected: str | None, size: str) -> dict:
    """A verdict as plain JSON values, with the verdict it was expected to have at this size."""
    d = v.as_dict()
    return jsonable({"id": v.id, **{k: d[k] for k in SUMMARY_FIELDS}, "expected": expected, "size": size,
                     "row": verdict_row(v)})


def figures(v: Verdict) -> str:
    """The measured figures behind a verdict, for pytest's skip/xfail/fail messages."""
    return (f"{v.verdict}: estimate {fmt(v.estimate)}, 95% CI {fmt_ci(v.ci_low, v.ci_high)}, p_adj {fmt_p(v.p_adj)}, "
            f"n {v.n_runs} runs on {v.n_polytopes} polytopes ({v.n_excluded} excluded)")


def assert_verdict(claim: Claim, expected: dict, verdicts: dict[str, Verdict], size: str,
                   record: Callable[[str, object], None] | None = None) -> None:
    """Passes when the verdict is the one recorded for this study size (expected maps a size
    like "2x150" to a verdict word, or to {claim id: word} for a file of several claims).
    A recorded verdict that is not positive shows as xfail with the measured figures; any
    change of verdict fails."""
    v = verdicts[claim.id]
    want = expected.get(size)
    if isinstance(want, dict):
        want = want.get(claim.id)
    if record is not None:
        record("claim_verdict", verdict_summary(v, want, size))
    if want is None:
        pytest.skip(f"no verdict recorded for size {size}; measured {figures(v)}")
    if v.verdict != want:
        pytest.fail(f"verdict of {claim.id} changed: recorded {want!r}, now {figures(v)}", pytrace=False)
    if want not in POSITIVE:
        pytest.xfail(f"the data do not support {claim.id}: {figures(v)}")


def counter_verdict(claim: Claim, tables: Tables, transform: Transform) -> Verdict:
    """The claim's verdict on a changed table, as a family of one (no Holm penalty: a
    counter-table that still reads as supported without it would also with it)."""
    runs, points = transform(*tables)
    v = evaluate(claim, runs, points)
    return decide(claim, v, v.p_value)


def baseline(claim: Claim, raw: Verdict) -> Verdict:
    """The claim's verdict on the unchanged table as on a counter-table (a family of one,
    `requires` not applied), from its evaluation before Holm (`evaluate`'s result)."""
    return decide(claim, raw, raw.p_value)


def assert_turns_either_way(claim: Claim, tables: Tables, verdicts: dict[str, Verdict] | None, make_false: Transform,
                            make_true: Transform, base: Verdict | None = None, why: str = "") -> Verdict:
    """The claim's own verdict on the unchanged table (a family of one, `requires` not
    applied, as on a counter-table) must turn: a positive one negative on `make_false`'s
    table, any other positive on `make_true`'s. Either way the check is shown able to change
    its mind, and a transform that changes nothing cannot pass. `base` is that unchanged
    verdict when it is already known (the plugin shares it), else it is evaluated here;
    `verdicts` is not read (kept for the claim files that pass it)."""
    base = base if base is not None else counter_verdict(claim, tables, lambda r, p: (r, p))
    if base.verdict in POSITIVE:
        return assert_turns(claim, tables, make_false, to=("contradicted", "not supported", "not shown equivalent"),
                            why=why)
    return assert_turns(claim, tables, make_true, to=POSITIVE, why=why)


def assert_turns(claim: Claim, tables: Tables, transform: Transform, to: tuple[str, ...], why: str = "") -> Verdict:
    """The claim's verdict on the table `transform` makes is one of `to`; else the test fails
    with one line (no traceback: the figures say what happened)."""
    v = counter_verdict(claim, tables, transform)
    if v.verdict not in to:
        because = f" ({why})" if why else ""
        pytest.fail(f"on the counter-table {claim.id} still reads {figures(v)}; expected one of "
                    f"{', '.join(to)}{because}", pytrace=False)
    return v


# -- transforms ------------------------------------------------------------------------------
def swap(a: str, b: str) -> Transform:
    """Models a and b exchange their runs (per-point rows follow their run's key)."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        m = runs["model"].map({a: b, b: a}).fillna(runs["model"])
        return runs.assign(model=m), points

    return t


def scale(model: str, column: str, factor: float) -> Transform:
    """Multiplies one column of one model's runs."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        r = runs.copy()
        sel = r["model"] == model
        r.loc[sel, column] = r.loc[sel, column] * factor
        return r, points

    return t


def assign(model: str, column: str, fn: Callable[[pd.DataFrame], object]) -> Transform:
    """Sets one column of one model's runs to fn(those runs)."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        r = runs.copy()
        sel = r["model"] == model
        r.loc[sel, column] = fn(r.loc[sel])
        return r, points

    return t


def grad_points(model: str, fn: Callable[[pd.Series], pd.Series]) -> Transform:
    """Replaces the per-point gradient norms of one model's runs by fn(norms)."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        keys = set(runs.loc[runs["model"] == model, "key"])
        p = points.copy()
        sel = p["key"].isin(keys)
        p.loc[sel, "grad_norm"] = fn(p.loc[sel, "grad_norm"]).to_numpy()
        return runs, p

    return t


def chain(*transforms: Transform) -> Transform:
    """Applies transforms in order."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        for f in transforms:
            runs, points = f(runs, points)
        return runs, points

    return t


def unimodal(model: str, seed: int = 0) -> Transform:
    """Replaces one model's gradient norms by draws from one normal mode (mean 10, sd 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return grad_points(model, lambda g: pd.Series(rng.normal(10.0, 1.0, len(g))))


def copy_from(model: str, column: str, source: str) -> Transform:
    """Sets one column of `model`'s runs to `source`'s values run for run (same polytope
    and seed): the two then agree exactly."""

    def t(runs: pd.DataFrame, points: pd.DataFrame) -> Tables:
        src = runs[runs["model"] == source].set_index(["polytope", "seed"])[column]
        r = runs.copy()
        sel = r["model"] == model
        r.loc[sel, column] = src.reindex(list(zip(r.loc[sel, "polytope"], r.loc[sel, "seed"]))).to_numpy()
        return r, points

    return t


def bimodal(model: str, seed: int = 0) -> Transform:
    """Replaces one model's gradient norms by a spike near zero (a third of the points) and
    a wide mode from 5 to 18: the write-up's picture of a mesa."""
    import numpy as np

    rng = np.random.default_rng(seed)

    def draw(g: pd.Series) -> pd.Series:
        spike = rng.random(len(g)) < 1 / 3
        return pd.Series(np.where(spike, rng.uniform(0, 0.3, len(g)), rng.uniform(5, 18, len(g))))

    return grad_points(model, draw)
