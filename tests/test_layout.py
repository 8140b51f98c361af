"""The layout of `utils` shows the architecture: a small core, chapter code beside it, checkers on top.

Imports only flow downwards (exercises -> chapters -> core), no chapter's checkers import another
chapter's, the import graph has no cycle, and the core stays small (CORE_LIMIT lines).
"""

from __future__ import annotations

import ast
from pathlib import Path

UTILS = Path(__file__).resolve().parent.parent / "utils"
CORE_LIMIT = 2020  # utils.start() took over 18 lines of every first cell


def _module_name(path: Path) -> str:
    parts = path.relative_to(UTILS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of the utils modules that `path` imports (at any depth, lazily or not)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("utils")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("utils"):
                if node.module:  # `from . import config` depends on utils.config, not on utils/__init__
                    found.add(target)
                found |= {f"{target}.{a.name}" for a in node.names
                          if (UTILS.parent / f"{target}.{a.name}".replace(".", "/")).with_suffix(".py").exists()}
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in UTILS.rglob("*.py")}


def test_the_core_imports_no_chapter_module_and_no_checker():
    for name, path in _modules().items():
        if name.count(".") == 1 or name == "utils":  # utils, utils.gan, utils.vae, ...
            bad = {m for m in _imports(path) if m.startswith(("utils.chapters", "utils.exercises"))}
            assert not bad, f"core module {name} imports {sorted(bad)}"


def test_chapter_modules_import_no_checker():
    for name, path in _modules().items():
        if name.startswith("utils.chapters"):
            bad = {m for m in _imports(path) if m.startswith("utils.exercises")}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_no_chapters_checkers_import_another_chapters():
    for name, path in _modules().items():
        if name.startswith("utils.exercises.ch"):
            others = {m for m in _imports(path) if m.startswith("utils.exercises.ch") and m != name}
            assert not others, f"{name} imports {sorted(others)}: shared checker code goes in fixtures.py"


def test_the_import_graph_has_no_cycle():
    modules = _modules()
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    state: dict[str, str] = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                raise AssertionError(f"import cycle: {' -> '.join(trail + [node, nxt])}")
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [])


def test_the_core_stays_small():
    core = sorted(UTILS.glob("*.py"))
    lines = {p.name: len(p.read_text().splitlines()) for p in core}
    assert sum(lines.values()) <= CORE_LIMIT, (
        f"utils/*.py holds {sum(lines.values())} lines (limit {CORE_LIMIT}): {lines}. Code that one chapter "
        "uses belongs in utils/chapters/")


def test_the_layout_checks_can_fail():
    """The import reader sees relative, absolute and lazy imports (so the tests above can fail)."""
    probe = UTILS / "chapters" / "faces.py"
    assert "utils.gan" in _imports(probe)
    assert "utils.exercises.framework" in _imports(UTILS / "exercises" / "ch02.py")
