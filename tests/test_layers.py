"""The package's imports point down the data flow only:
config/schema -> train -> runs -> analysis -> render -> pipeline/cli (README, "Layers").
analysis is handed tables (or a function to call): it imports no training, storage or
rendering code; render reads result objects and imports neither training nor storage.
Every import is read, function-level ones included, so a lazy import cannot hide a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import harness

ROOT = Path(harness.__file__).resolve().parent
BASE = {"harness.errors", "harness.config", "harness.schema", "harness.writeup", "harness.jsonable"}
TOP = {"harness.testing", "harness.pipeline", "harness.cli", "harness.cli_args", "harness.cli_parser", "harness.__main__",
       "harness", "harness.claims", "harness.claimtest"}
# layer -> the layers it may import (its own included)
MAY_IMPORT = {
    "base": {"base"},
    "harness.train": {"base", "harness.train"},
    "harness.runs": {"base", "harness.train", "harness.runs"},
    "harness.analysis": {"base", "harness.analysis"},
    "harness.render": {"base", "harness.analysis", "harness.render"},
    "top": {"base", "harness.train", "harness.runs", "harness.analysis", "harness.render", "top"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(mod: str) -> str:
    if mod in BASE:
        return "base"
    if mod in TOP or mod.startswith("harness.testing"):
        return "top"
    return ".".join(mod.split(".")[:2])


def imports(path: Path) -> set[str]:
    """The harness modules that `path` imports (resolved to modules, not names)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "harness"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.split(".")[0] != "harness":
                continue
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.add(sub if (ROOT.parent / Path(*sub.split("."))).with_suffix(".py").exists()
                        or (ROOT.parent / Path(*sub.split("."))).is_dir() else base)
    out.discard(me)
    return out


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted(ROOT.rglob("*.py"))}


def violations(g: dict[str, set[str]]) -> list[str]:
    return [f"{mod} ({layer(mod)}) imports {dep} ({layer(dep)})"
            for mod, deps in g.items() for dep in sorted(deps) if layer(dep) not in MAY_IMPORT[layer(mod)]]


def test_every_module_has_a_layer():
    unknown = [m for m in graph() if layer(m) not in MAY_IMPORT]
    assert not unknown, f"modules outside every layer: {unknown}"


def test_imports_point_down_the_data_flow():
    bad = violations(graph())
    assert not bad, "imports against the data flow:\n" + "\n".join(bad)


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for d in sorted(g.get(m, ())):
            if d not in g:
                continue
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack + [d])
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    """A checker that cannot fail is no check: a lazy render import inside analysis, and a
    storage import inside render, are both found."""
    pkg = tmp_path / "harness"
    (pkg / "analysis").mkdir(parents=True)
    (pkg / "render").mkdir()
    (pkg / "runs").mkdir()
    for d in (pkg, pkg / "analysis", pkg / "render", pkg / "runs"):
        (d / "__init__.py").write_text("")
    (pkg / "render" / "figures.py").write_text("")
    (pkg / "runs" / "store.py").write_text("")
    (pkg / "analysis" / "power.py").write_text("def f():\n    from harness.render import figures\n")
    (pkg / "render" / "page.py").write_text("from ..runs.store import x\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", pkg, raising=False)
    monkeypatch.setitem(globals(), "ROOT", pkg)
    bad = violations(graph())
    assert any("harness.analysis.power" in b and "harness.render.figures" in b for b in bad), bad
    assert any("harness.render.page" in b and "harness.runs.store" in b for b in bad), bad
