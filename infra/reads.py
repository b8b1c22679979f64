"""Which settings each function reads, found by reading the code (no hand list).

A function reads a setting when code reachable from its entry point touches that field of
`shared.settings.Settings`: `get_settings().x`, `s.x` on a name bound to `get_settings()`,
`s.require("x")`, or a Settings method or property that reads it (`s.local` reads `env`,
`s.function_url(...)` reads `function_url_template`). Every function also reads what the settings
validators read and the fields without a default (constructing Settings needs them).

Reachability is per top-level definition, not per module: `shared.runs.transitions` imports
`shared.billing` lazily inside the refund path, and that path never calls Stripe, so a stage
function does not "read" STRIPE_SECRET_KEY merely because `shared.billing.checkout` does. A unit is
a module's top-level code, a top-level function, or a class (all its methods). A unit reaches every
unit it names: `f(...)`, `mod.f`, `Class`, a function passed as a value, and the top-level code of
every module it imports (imports inside a function count when that function is reached). Everything
in a function's `main.py` is reached (routes register themselves through decorators).

Used by `infra/terraform_check.py` to compare the environment Terraform sets with what the code
reads.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared",)
TOP = "<module>"


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    is_package: bool
    defs: dict[str, ast.AST] = field(default_factory=dict)  # top-level functions and classes
    star_from: list[str] = field(default_factory=list)  # modules `from X import *` pulls names from
    settings_names: set[str] = field(default_factory=set)  # names bound to get_settings() anywhere


def _module_name(path: Path, root: Path) -> tuple[str, bool]:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _resolve_relative(mod: Module, level: int, target: str | None) -> str:
    base = mod.name.split(".")
    if not mod.is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


class Index:
    """Every module under shared/ (and the functions' main.py files added with `add_main`)."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.modules: dict[str, Module] = {}
        for pkg in PACKAGES:
            for path in sorted((root / pkg).rglob("*.py")):
                if "templates" in path.relative_to(root).parts:
                    continue  # files copied into generated apps, never imported by the factory
                name, is_pkg = _module_name(path, root)
                self._add(name, path, is_pkg)

    def _add(self, name: str, path: Path, is_pkg: bool) -> Module:
        tree = ast.parse(path.read_text(), filename=str(path))
        mod = Module(name, path, tree, is_pkg)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                mod.defs[node.name] = node
            elif _assigned(node):
                for bound in _assigned(node):
                    mod.defs[bound] = node
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                mod.star_from.append(_resolve_relative(mod, node.level, node.module) if node.level else node.module)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and _is_get_settings(node.value):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                mod.settings_names |= {t.id for t in targets if isinstance(t, ast.Name)}
        self.modules[name] = mod
        return mod

    def add_main(self, function: str) -> Module:
        path = self.root / "functions" / function / "main.py"
        return self._add(f"functions.{function}.main", path, False)

    # ------------------------------------------------------------------ names to units

    def lookup(self, module: str, name: str, seen: frozenset = frozenset()) -> tuple[str, str] | None:
        """The unit `name` in `module` stands for: a definition there, a submodule, or an imported name."""
        if module in seen or module not in self.modules:
            return None
        mod = self.modules[module]
        if name in mod.defs:
            return (module, name)
        sub = f"{module}.{name}"
        if sub in self.modules:
            return (sub, TOP)
        for node in mod.tree.body:  # re-exported through the package's own imports
            if isinstance(node, ast.ImportFrom):
                src = _resolve_relative(mod, node.level, node.module) if node.level else node.module
                for a in node.names:
                    if (a.asname or a.name) == name and a.name != "*":
                        return self.lookup(src, a.name, seen | {module}) or (
                            (f"{src}.{a.name}", TOP) if f"{src}.{a.name}" in self.modules else None)
        for src in mod.star_from:
            hit = self.lookup(src, name, seen | {module})
            if hit:
                return hit
        return None


def _assigned(node) -> list[str]:
    """Names a top-level `X = ...` binds: each is a unit of its own (a module-level dispatch table is
    reached when it is used, not whenever its module is imported)."""
    if isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        return [t.id for t in node.targets]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    return []


def _methods(cls: ast.ClassDef) -> dict[str, ast.AST]:
    return {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and not n.name.startswith("__")}


def _is_get_settings(node) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "get_settings")


def _imports(mod: Module, nodes) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """(local name -> (module, name or TOP)) and the modules whose top-level code the imports run."""
    names: dict[str, tuple[str, str]] = {}
    run: set[str] = set()
    # Imports inside a top-level `with` (a stage function's boot guard) run at import time too.
    nodes = [n for node in nodes for n in ([node, *node.body] if isinstance(node, ast.With) else [node])]
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in PACKAGES:
                    parts = a.name.split(".")
                    run |= {".".join(parts[: i + 1]) for i in range(len(parts))}
                    names[a.asname or parts[0]] = (a.name if a.asname else parts[0], TOP)
        elif isinstance(node, ast.ImportFrom):
            src = _resolve_relative(mod, node.level, node.module) if node.level else node.module
            if not src or src.split(".")[0] not in PACKAGES:
                continue
            parts = src.split(".")
            run |= {".".join(parts[: i + 1]) for i in range(len(parts))}
            for a in node.names:
                if a.name == "*":
                    continue
                names[a.asname or a.name] = (src, a.name)
    return names, run


class Reach:
    """Units reachable from entry points, and the Settings fields they touch."""

    def __init__(self, index: Index, fields: dict[str, set[str]], always: set[str]):
        self.index = index
        self.fields = fields  # Settings attribute (field, property or method) -> fields it reads
        self.always = always

    def _unit_nodes(self, module: str, unit: str) -> list[ast.AST]:
        mod = self.index.modules[module]
        if unit == TOP:
            out = []
            for node in mod.tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    out += [*node.decorator_list, *getattr(node, "bases", [])]
                elif not _assigned(node):
                    out.append(node)
            return out
        if "." in unit:  # a method
            cls, _, meth = unit.partition(".")
            return [_methods(mod.defs[cls])[meth]]
        node = mod.defs[unit]
        if isinstance(node, ast.ClassDef):  # the class body and its dunder methods; other methods on use
            return [*node.decorator_list, *node.bases,
                    *(n for n in node.body if not (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                                   and not n.name.startswith("__")))]
        return [node]

    def _valid(self, module: str, unit: str) -> bool:
        if module not in self.index.modules:
            return False
        defs = self.index.modules[module].defs
        if unit == TOP:
            return True
        cls, dot, meth = unit.partition(".")
        if dot:
            return isinstance(defs.get(cls), ast.ClassDef) and meth in _methods(defs[cls])
        return unit in defs

    def _edges(self, module: str, unit: str) -> tuple[set[tuple[str, str]], set[str]]:
        mod = self.index.modules[module]
        nodes = self._unit_nodes(module, unit)
        walked = [n for top in nodes for n in ast.walk(top)]
        top_names, top_run = _imports(mod, mod.tree.body)
        local_names, run = _imports(mod, walked)
        scope = {**top_names, **local_names}
        out: set[tuple[str, str]] = {(m, TOP) for m in run if m in self.index.modules}
        if unit != TOP:
            out.add((module, TOP))
        reads: set[str] = set()
        for n in walked:
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                if n.id in mod.defs and n.id != unit:
                    out.add((module, n.id))
                elif n.id in scope:
                    src, name = scope[n.id]
                    hit = (src, TOP) if name == TOP else self.index.lookup(src, name)
                    if hit:
                        out.add(hit)
            elif isinstance(n, ast.Attribute):
                base = n.value
                if isinstance(base, ast.Name) and base.id in scope:  # mod.f
                    src, name = scope[base.id]
                    target = src if name == TOP else f"{src}.{name}"
                    if target in self.index.modules:
                        hit = self.index.lookup(target, n.attr)
                        if hit:
                            out.add(hit)
                if _is_get_settings(base) or (isinstance(base, ast.Name) and base.id in mod.settings_names):
                    reads |= self.fields.get(n.attr, set())
                    if n.attr == "require":
                        call = next((c for c in walked if isinstance(c, ast.Call) and c.func is n), None)
                        reads |= {a.value for a in (call.args if call else []) if isinstance(a, ast.Constant)}
        return out, reads

    def reads(self, entries: list[tuple[str, str]]) -> tuple[set[str], set[tuple[str, str]]]:
        seen: set[tuple[str, str]] = set()
        todo = list(entries)
        fields = set(self.always)
        classes: set[tuple[str, str]] = set()
        attrs: set[str] = set()  # every attribute name the reached code uses (x.name)
        while True:
            while todo:
                u = todo.pop()
                if u in seen or not self._valid(*u):
                    continue
                seen.add(u)
                out, reads = self._edges(*u)
                fields |= reads
                if "." not in u[1] and isinstance(self.index.modules[u[0]].defs.get(u[1]), ast.ClassDef):
                    classes.add(u)
                attrs |= {n.attr for top in self._unit_nodes(*u) for n in ast.walk(top) if isinstance(n, ast.Attribute)}
                todo += [v for v in out if v not in seen]
            # A method of a reached class runs when the reached code names it (obj.method, obj.property).
            todo = [(m, f"{c}.{name}") for m, c in classes
                    for name in _methods(self.index.modules[m].defs[c]) if name in attrs and (m, f"{c}.{name}") not in seen]
            if not todo:
                return fields, seen


def settings_fields() -> tuple[dict[str, set[str]], set[str]]:
    """(attribute -> fields it reads, fields every function reads) from shared/settings.py itself."""
    from shared.settings import Settings

    names = set(Settings.model_fields)
    attrs: dict[str, set[str]] = {n: {n} for n in names}
    always = {n for n, f in Settings.model_fields.items() if f.is_required()}
    tree = ast.parse((ROOT / "shared" / "settings.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        used = {a.attr for a in ast.walk(node)
                if isinstance(a, ast.Attribute) and isinstance(a.value, ast.Name) and a.value.id == "self"}
        used_fields = used & names
        decorators = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
        if "model_validator" in decorators:
            always |= used_fields
        attrs[node.name] = used_fields
    # Methods calling other methods (self.local inside another method).
    for _ in range(3):
        for name, used in list(attrs.items()):
            attrs[name] = used | {f for u in list(used) if u in attrs and u not in names for f in attrs[u]}
    return attrs, always


@dataclass(frozen=True)
class Analysis:
    """What one function's code reaches: the Settings fields it reads and the units it may run."""

    fields: frozenset[str]
    units: frozenset[tuple[str, str]]
    index: Index

    def reaches(self, module: str, unit: str) -> bool:
        return (module, unit) in self.units

    @functools.cached_property
    def calls(self) -> list[tuple[str, ast.Call]]:
        """(module, call) for every call in the reached units."""
        return [(m, n) for m, nodes in self.nodes() for n in nodes if isinstance(n, ast.Call)]

    def nodes(self):
        """Every AST node of every reached unit (a unit's own code, not the units it names)."""
        for module, unit in self.units:
            for top in Reach(self.index, {}, set())._unit_nodes(module, unit):
                yield module, list(ast.walk(top))


@functools.lru_cache(maxsize=1)
def _index() -> Index:
    return Index()


@functools.lru_cache(maxsize=64)
def _analyse_one(name: str) -> Analysis:
    index = _index()
    attrs, always = settings_fields()
    if not (ROOT / "functions" / name / "main.py").exists():
        return Analysis(frozenset(always), frozenset(), index)
    main = index.add_main(name)
    entries = [(main.name, TOP), *((main.name, d) for d in main.defs)]
    fields, seen = Reach(index, attrs, always).reads(entries)
    return Analysis(frozenset(fields), frozenset(seen), index)


def analyse(functions) -> dict[str, Analysis]:
    """{function name: Analysis} for topology Function entries (a function without a main.py reads only
    what constructing Settings reads). Parsed once per process."""
    return {fn.name: _analyse_one(fn.name) for fn in functions}


@functools.lru_cache(maxsize=1)
def function_reads() -> dict[str, frozenset[str]]:
    """{function name: the Settings field names its code reads}."""
    from shared import topology

    return {name: a.fields for name, a in analyse(topology.FUNCTIONS).items()}


def env_name(field_name: str) -> str:
    """The environment variable a Settings field is read from (the first alias)."""
    from pydantic import AliasChoices

    from shared.settings import Settings

    alias = Settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return str(alias or field_name.upper())


def secret_fields() -> set[str]:
    """Settings fields that hold secrets (SecretStr): Secret Manager, never plain environment."""
    import typing

    from pydantic import SecretStr

    from shared.settings import Settings

    out = set()
    for name, f in Settings.model_fields.items():
        ann = f.annotation
        if ann is SecretStr or SecretStr in typing.get_args(ann):
            out.add(name)
    return out


if __name__ == "__main__":
    for name, fields in function_reads().items():
        print(name, sorted(env_name(f) for f in fields))
