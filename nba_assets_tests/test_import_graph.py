"""No import cycle in the package: every ``nba_assets`` import, at module level or inside a function.

Lazy imports hide cycles from Python but not from a reader: ``ddl`` and ``io.bigquery`` imported
each other, and the BigQuery store imported the Definitions. The command line that wires them
lives in ``nba_assets.warehouse``; the test keeps it that way.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nba_assets"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules ``path`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name.startswith("nba_assets"):
                out.add(name)
    return out


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    graph = {}
    for name, path in files.items():
        # A package's own __init__ is imported by its submodules' imports: not an edge of interest.
        graph[name] = {m for m in _imports(path, modules) if m != name and not name.startswith(m + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 40 and "nba_assets.definitions" in graph
    assert cycles(graph) == []


def test_storage_and_pure_layers_do_not_import_the_definitions() -> None:
    graph = import_graph()
    for name, imported in graph.items():
        if name.startswith(("nba_assets.io", "nba_assets.transforms", "nba_assets.predictors", "nba_assets.ddl")):
            assert "nba_assets.definitions" not in imported, name


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_history_window_is_written_once() -> None:
    """The 365-day window is one fact (``nba_assets.facts``): no other module of the package writes
    the number (it used to appear in eight constants and literals)."""
    where = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value == 365:
                where.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert len(where) == 2 and all(w.startswith("facts.py:") for w in where), where


def _outside_facts():
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).as_posix() != "facts.py":
            yield path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text())


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def test_the_week_start_is_written_once() -> None:
    """Model weeks start on Mondays: ``facts.week_of`` / ``facts.week_start`` and nowhere else
    (no ``.dt.weekday()`` arithmetic, no ``timedelta(days=d.weekday())``)."""
    where = []
    for name, tree in _outside_facts():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "weekday":
                inner = node.value
                if isinstance(inner, ast.Attribute) and inner.attr == "dt":
                    where.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Call) and _call_name(node) == "timedelta":
                for kw in node.keywords:
                    if kw.arg == "days" and "weekday" in ast.unparse(kw.value):
                        where.append(f"{name}:{node.lineno}")
    assert where == [], where


def test_the_default_tipoff_is_written_once() -> None:
    """A game without a known tip-off counts as 19:00 ET: ``facts.DEFAULT_TIPOFF_ET`` only."""
    where = []
    for name, tree in _outside_facts():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                hour_kw = any(kw.arg == "hour" and ast.unparse(kw.value) == "19" for kw in node.keywords)
                time_19 = _call_name(node) == "time" and node.args and ast.unparse(node.args[0]) == "19"
                if hour_kw or time_19:
                    where.append(f"{name}:{node.lineno}")
    assert where == [], where


def test_the_game_timezone_is_written_once() -> None:
    """Game dates and tip-offs are US Eastern: ``facts.GAME_TZ`` / ``facts.ET`` only (no other
    ``ZoneInfo`` and no other literal of the zone's name)."""
    where = []
    for name, tree in _outside_facts():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "ZoneInfo":
                where.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Constant) and node.value == "America/New_York":
                where.append(f"{name}:{node.lineno}")
    assert where == [], where


def test_dates_in_a_window_are_written_once() -> None:
    """Every date of a window: ``facts.dates_between`` only (no ``d + timedelta(days=i) for i in range``)."""
    where = []
    for name, tree in _outside_facts():
        for node in ast.walk(tree):
            if isinstance(node, ast.ListComp | ast.GeneratorExp | ast.SetComp):
                loop = node.generators[0]
                if not (isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Call)):
                    continue
                if _call_name(loop.iter) != "range":
                    continue
                for inner in ast.walk(node.elt):
                    if isinstance(inner, ast.Call) and _call_name(inner) == "timedelta":
                        if any(ast.unparse(kw.value) == loop.target.id for kw in inner.keywords):
                            where.append(f"{name}:{node.lineno}")
    assert where == [], where


def test_snapshot_leads_are_defined_once() -> None:
    """``SNAPSHOT_LEADS`` (the live snapshots before the first tip-off) is assigned in one module; the
    historical snapshots of past days are another fact with another name."""
    where = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(t, ast.Name) and t.id == "SNAPSHOT_LEADS" for t in targets):
                where.append(path.relative_to(PACKAGE).as_posix())
    assert where == ["edge.py"], where


def test_the_predictors_do_not_reach_into_storage() -> None:
    """The predictors are pure: no ``nba_assets.io`` import (the weekly artifact is
    ``predictors.artifacts``, the week start ``facts.week_of``)."""
    graph = import_graph()
    reaching = {
        name: sorted(m for m in imported if m.startswith("nba_assets.io"))
        for name, imported in graph.items()
        if name.startswith("nba_assets.predictors")
    }
    assert {k: v for k, v in reaching.items() if v} == {}


def test_the_bench_imports_no_test_module() -> None:
    bench = PACKAGE.parent / "bench"
    where = []
    for path in sorted(bench.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            where += [f"{path.name}:{node.lineno}" for n in names if n.startswith("nba_assets_tests")]
    assert where == [], where


def test_loading_the_definitions_imports_no_model_library() -> None:
    """scipy, xgboost and lightgbm are imported inside the functions that train or predict
    (``predictors/gbm.py``, ``predictors/ensemble.py``): a run that loads the definitions and needs
    none of them does not pay their import."""
    import subprocess
    import sys

    heavy = ("scipy", "xgboost", "lightgbm", "sklearn")
    code = f"import sys, nba_assets.definitions; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
