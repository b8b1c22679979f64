"""No import cycles in shared/ (decision 0043), read from the source with `ast`.

Module level: the imports a module runs when it is imported (its body and class bodies, not function bodies,
not `if TYPE_CHECKING:` blocks). No cycle is allowed among all of shared/.

Control plane (everything but the stage engine, shared/engine/, whose planner has its own lazy web): no cycle
either when the imports inside functions are counted too, so a lazy import is never a hidden cycle. The one
escape hatch is an import inside a function whose line says why, with `# import cycle: <reason>`.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = "# import cycle:"


def modules(root: Path, package: str = "shared") -> dict[str, Path]:
    """Every module of `package` under `root` (files the engine copies into generated apps are not modules)."""
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root)
        if "templates" in rel.parts or "__pycache__" in rel.parts:
            continue
        out[".".join(rel.with_suffix("").parts).removesuffix(".__init__")] = path
    return out


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports(name: str, path: Path, known: set[str], *, lazy: bool) -> dict[str, int]:
    """The modules of `known` that module `name` imports, each with the line of its first import. Module level
    only unless `lazy`; a lazy import marked with ESCAPE is left out."""
    src, tree = _parsed(path)
    lines = src.splitlines()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in known:  # `from a.b import f`: f is a name in module a.b
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    def add(dotted: str, lineno: int) -> None:
        target = resolve(dotted)
        if target and target != name:
            found.setdefault(target, lineno)

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue  # annotations only: never imported at run time
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)) and (lazy or not in_function):
                if in_function and ESCAPE in lines[child.lineno - 1]:
                    continue
                if isinstance(child, ast.Import):
                    for alias in child.names:
                        add(alias.name, child.lineno)
                else:
                    base = child.module or ""
                    if child.level:
                        parts = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join([*parts, base] if base else parts)
                    for alias in child.names:
                        add(f"{base}.{alias.name}", child.lineno)
            visit(child, inner)

    visit(tree, False)
    return found


@functools.cache
def _parsed(path: Path) -> tuple[str, ast.Module]:
    src = path.read_text()
    return src, ast.parse(src, str(path))


def graph(mods: dict[str, Path], *, lazy: bool) -> dict[str, dict[str, int]]:
    known = set(mods)
    return {name: imports(name, path, known, lazy=lazy) for name, path in mods.items()}


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module, as a path back to its start
    (`webs` names every module of each component)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan; shared/ is a few hundred modules, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g.get(v, {})):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(g):
        if v not in index:
            connect(v)
    out = []
    for comp in comps:  # walk inside the component from its first module back to it
        members, start = set(comp), min(comp)
        path, seen = [start], {start}
        while True:
            nxt = sorted(w for w in g[path[-1]] if w in members)
            back = [w for w in nxt if w == start]
            if back and len(path) > 1:
                out.append([*path, start])
                break
            step = next((w for w in nxt if w not in seen), None) or nxt[0]
            if step in seen:  # closed a loop not through start: report that loop
                out.append([*path[path.index(step):], step])
                break
            path.append(step)
            seen.add(step)
    return out


def describe(cycle: list[str], g: dict[str, dict[str, int]]) -> str:
    """`a (line 3) -> b (line 9) -> a`, and the other modules caught in the same web, if any."""
    text = " -> ".join(f"{a} (line {g[a][b]})" for a, b in zip(cycle, cycle[1:], strict=False)) + f" -> {cycle[-1]}"
    web = sorted(_web(cycle[0], g) - set(cycle))
    return text + (f"; also in this web: {', '.join(web)}" if web else "")


def _web(start: str, g: dict[str, dict[str, int]]) -> set[str]:
    """The modules on some cycle through `start` (reachable from it and reaching it)."""
    def reach(edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for w in edges.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    fwd = {a: set(bs) for a, bs in g.items()}
    rev: dict[str, set[str]] = {}
    for a, bs in g.items():
        for b in bs:
            rev.setdefault(b, set()).add(a)
    return reach(fwd) & reach(rev)


def test_shared_has_no_module_level_import_cycle():
    g = graph(modules(ROOT), lazy=False)
    found = cycles(g)
    assert not found, "import cycles at module level in shared/:\n" + "\n".join(describe(c, g) for c in found)


def test_control_plane_has_no_import_cycle_even_through_imports_inside_functions():
    g = graph(modules(ROOT), lazy=True)
    found = [c for c in cycles(g) if any(not m.startswith("shared.engine") for m in c)]
    assert not found, ("import cycles in shared/ through imports inside functions (restructure, or mark the "
                       f"import with '{ESCAPE} <why>'):\n" + "\n".join(describe(c, g) for c in found))


def test_the_checks_name_a_cycle_they_find(tmp_path):
    """The detector itself: a module-level cycle, a lazy one, and a lazy one excused by its comment."""
    pkg = tmp_path / "shared"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from shared import b\n")
    (pkg / "b.py").write_text("from shared.sub.c import f\n")
    (pkg / "sub" / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from shared import d\n"
                                      "def f():\n    from .. import a\n")
    (pkg / "d.py").write_text("from shared.sub import c\n"
                              "def g():\n    from shared import e  # import cycle: d and e are tested apart\n")
    (pkg / "e.py").write_text("import shared.d\n")
    mods = modules(tmp_path)
    top = graph(mods, lazy=False)
    assert cycles(top) == []  # a, b, c only close their loop inside a function; c -> d is TYPE_CHECKING
    assert cycles(graph(mods, lazy=True)) == [["shared.a", "shared.b", "shared.sub.c", "shared.a"]]
    (pkg / "sub" / "c.py").write_text("from shared import a\n")
    _parsed.cache_clear()
    top = graph(mods, lazy=False)
    [cycle] = cycles(top)
    assert describe(cycle, top) == "shared.a (line 1) -> shared.b (line 1) -> shared.sub.c (line 1) -> shared.a"
