"""JSON output is valid JSON: numbers that are undefined (NaN) or infinite are null, never the
`NaN`/`Infinity` tokens Python's json writes by default and other parsers reject."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from harness.analysis.discovery import load_claims
from harness.analysis.verdicts import evaluate_all
from harness.cli import main
from harness.jsonable import dumps, jsonable
from harness.runs.io import read_run_table
from harness.runs.store import Store
from harness.runs.study import Study, ensure
from harness.schema import run_table

MODELS = ("lp", "linear", "lp2")


def strict_loads(text: str) -> object:
    """json.loads that fails on NaN, Infinity and -Infinity, as a strict JSON parser does."""

    def reject(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=reject)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """A small study (3 seeds x 3 polytopes, trained once) in a store, and its run table
    changed so that claims have undefined and infinite numbers: Linear has no flat point
    (every ratio over its flat fraction is infinite), and all but one lp2 run collapsed (lp2's
    claims have fewer than 2 usable runs, so NaN estimates)."""
    root = tmp_path_factory.mktemp("json")
    study = Study.of(MODELS, polytopes=3, seeds=3)
    runs, points = ensure(study, Store(root / "store"))
    runs = runs.copy()
    runs.loc[runs["model"] == "linear", "flat_frac"] = 0.0
    lp2 = runs.index[runs["model"] == "lp2"]
    runs.loc[lp2[1:], "collapsed"] = True
    run_table(runs).to_csv(root / "runs.csv", index=False)
    points.to_parquet(root / "points.parquet", index=False)
    return root


def test_claims_json_has_no_nan_or_infinity_tokens(tables, capsys):
    runs, points = read_run_table(tables / "runs.csv")
    claims = [c for c in load_claims() if set(c.models) <= set(MODELS)]
    numbers = [x for v in evaluate_all(claims, runs, points) for x in (v.estimate, v.ci_low, v.ci_high, v.p_value)]
    assert any(math.isnan(x) for x in numbers) and any(math.isinf(x) for x in numbers), "the table should need nulls"

    assert main(["claims", "--runs", str(tables / "runs.csv"), "--json"]) == 0
    out = strict_loads(capsys.readouterr().out)
    assert len(out) == len(claims)
    assert any(d["estimate"] is None for d in out)
    assert all(d[k] is None or math.isfinite(d[k]) for d in out for k in ("estimate", "ci_low", "ci_high", "p_adj"))


def test_multiverse_json_has_no_nan_or_infinity_tokens(tables, capsys):
    """One polytope: no claim can be tested across polytopes, so estimates, p and the power
    plateaus are undefined."""
    code = main(["multiverse", "--analysis-only", "--json", "--no-progress", "--cache", str(tables / "store"),
                 "--models", ",".join(MODELS), "--seeds", "2", "--polytopes", "1",
                 "--claims", "flat-10x,lp2-bimodal,accuracy-equal", "--reps", "10", "--power-seeds", "2,3"])
    assert code == 0
    out = strict_loads(capsys.readouterr().out)
    specs = [s for o in out for s in o["specifications"]]
    assert specs and any(s["estimate"] is None for s in specs)


def test_the_strict_parser_rejects_what_json_dumps_writes_for_nan():
    """The checks above would be worthless if the parser let NaN through."""
    with pytest.raises(ValueError, match="NaN"):
        strict_loads(json.dumps([float("nan")]))
    with pytest.raises(ValueError, match="Infinity"):
        strict_loads(json.dumps({"ratio": float("inf")}))


def test_jsonable_gives_plain_values():
    value = {"a": (1, np.float64(2.5), np.int64(3)), "b": np.array([0.5, np.nan]), "c": float("-inf"),
             "d": [np.bool_(True), "text", None], "e": {"f": np.float32(np.inf)}}
    assert jsonable(value) == {"a": [1, 2.5, 3], "b": [0.5, None], "c": None, "d": [True, "text", None],
                               "e": {"f": None}}
    assert dumps({"x": float("nan"), "y": 1.0}) == '{"x": null, "y": 1.0}'
