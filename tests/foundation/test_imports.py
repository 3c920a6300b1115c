"""The import graph of the product code: no cycle, and no import up the pipeline's layers.

Built from the source with `ast` (nothing is imported), so a lazy import inside a function
counts as much as one at the top of a file; only imports under `if TYPE_CHECKING:` are
left out (they never run). docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("autoverify", "driveletter_audit", "reports")
SCRIPTS = ("scheduler",)

# Lowest first. A module may import its own layer and the layers below it, never one above.
# A new top-level module or package of autoverify/ gets a line here (the test says which).
LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer) for layer in (
    {"autoverify", "autoverify.errors", "autoverify.models", "autoverify.cron", "autoverify.findings"},
    {"autoverify.config", "autoverify.locks", "autoverify.guestfs_session", "autoverify.registry", "autoverify.agent_config",
     "autoverify.partitions", "autoverify.checks"},
    {"autoverify.discovery", "autoverify.readers", "autoverify.lab", "autoverify.store"},
    {"autoverify.inspection"},
    {"autoverify.verify", "driveletter_audit", "reports"},
    {"autoverify.scheduling"},
    {"autoverify.cli", "autoverify.__main__", "scheduler"},
))


def modules() -> dict[str, Path]:
    """Dotted module name -> source file, for every product module."""
    out = {name: ROOT / f"{name}.py" for name in SCRIPTS}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The product modules `module` imports at run time (`from a import b` names a.b when that is a module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for stmt in node.orelse:
                visit(stmt)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for a in node.names:
                sub = f"{base}.{a.name}"
                found.add(sub if sub in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: _imports(ast.parse(path.read_text(encoding="utf-8")), name, path.name == "__init__.py", known)
            - {name} for name, path in mods.items()}


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(edges):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(edges[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def group(module: str) -> str:
    """The unit the layers speak of: autoverify's top-level module or package, else the top package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "autoverify" else parts[0]


def rank(module: str) -> int | None:
    return next((i for i, layer in enumerate(LAYERS) if group(module) in layer), None)


def test_the_graph_is_read_from_the_source() -> None:
    edges = graph()
    assert "autoverify.store.queries" in edges["reports.model"]
    assert "autoverify.store.connection" in edges["autoverify.store.schema"]
    assert "autoverify.verify" in edges["autoverify.scheduling"]  # from autoverify.verify import ...
    assert "autoverify.store" in edges["autoverify.verify"]  # from autoverify import store
    assert "reports.model" not in edges["reports.changes"]  # only under TYPE_CHECKING


def test_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_import_cycle() -> None:
    cycle = _cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_every_module_has_a_layer() -> None:
    missing = sorted({group(m) for m in graph() if rank(m) is None})
    assert not missing, f"give {missing} a layer in LAYERS of {Path(__file__).name} (see docs/architecture.md)"


def test_no_upward_import() -> None:
    upward = sorted(f"{m} imports {t}" for m, targets in graph().items() for t in targets
                    if (rank(m) is not None and rank(t) is not None and rank(t) > rank(m)))  # type: ignore[operator]
    assert not upward, "imports up the layers:\n" + "\n".join(upward)
