"""The README's Python API example runs as written (in a scratch folder and store)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import harness

README = Path(__file__).resolve().parents[1] / "README.md"


def api_example() -> str:
    text = README.read_text()
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs(tmp_path):
    code = api_example()
    assert "import harness" in code and "harness.report(" in code
    env = {**os.environ, "MESA_HARNESS_CACHE": str(tmp_path / "store"), "NUMBA_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    page = tmp_path / "reports" / "notebook" / "index.html"
    assert page.is_file() and "flat-10x" in page.read_text()
    assert (tmp_path / "reports" / "notebook" / "runs.csv").is_file()
    assert "flat-10x" in r.stdout  # the example prints its verdicts


def test_import_harness_is_light_and_lazy():
    """`import harness` loads no engine, plotting or statistics until an attribute is used."""
    code = ("import sys, harness; heavy = [m for m in ('numba', 'torch', 'matplotlib', 'scipy') if m in sys.modules];"
            "print(heavy); assert not heavy; assert callable(harness.verdicts)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert set(harness.__all__) <= set(dir(harness))


def test_the_readme_maps_every_module():
    """README "How it works" names every module of the package in its table."""
    root = Path(harness.__file__).resolve().parent
    table = README.read_text().split("## How it works", 1)[1].split("## Python API", 1)[0]
    named = set(re.findall(r"`([\w/]+\.py)`", table))
    missing = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if path.name in ("__init__.py", "__main__.py"):
            continue
        if rel not in named and f"harness/{rel}" not in named:
            missing.append(rel)
    assert not missing, f"modules missing from the README's module table: {missing}"


def test_the_api_keeps_to_the_store_it_is_given(tmp_path):
    """tables(cache=...) and report(cache=...) use that store alone: no default store folder
    appears in the working folder, and the page names the store the runs came from."""
    store = tmp_path / "elsewhere"
    code = (f"import harness\ns = harness.study(seeds=2, polytopes=2, models=['lp', 'linear'])\n"
            f"r, p = harness.tables(s, cache={str(store)!r})\n"
            f"harness.report(s, r, p, harness.verdicts(r, p), out='page', cache={str(store)!r})\n")
    env = {k: v for k, v in os.environ.items() if k != "MESA_HARNESS_CACHE"}
    env["NUMBA_NUM_THREADS"] = "1"
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert not (tmp_path / ".cache").exists()
    assert str(store.resolve()) in (tmp_path / "page" / "index.html").read_text()
