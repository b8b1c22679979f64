"""Stage each function for deployment with only what it imports:

    build/<name>/ = functions/<name>/* + the repository modules its entry point imports + its group's pins

    python -m infra.package [name ...]      (all functions by default)

The modules are the import closure of the function's own files, computed from their source (`ast`, every
`import` and `from ... import` anywhere in a module, so lazy imports inside functions count too), restricted
to the repository's own modules. A package that loads its own modules by name (the stage engine's
capabilities and criteria are found with `importlib.import_module`) is shipped whole: see WHOLE_PACKAGES.

Requirements come from the function's group: the control plane (requirements/control.txt) or the stage
engine (requirements/engine.txt, which includes control.txt), flattened into one requirements.txt beside
main.py, since Cloud Build installs that file alone.

See docs/decisions/0037-lean-functions.md (which replaced the whole-`shared/` copy of 0002).
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
REQUIREMENTS = ROOT / "requirements"
# Packages shipped whole when any of their modules is imported: they import their own modules by computed
# names, which no reading of the source can follow, and carry data files (templates, catalogues).
WHOLE_PACKAGES = ("shared.engine",)
#: The six stages run the engine; the factory API's plan-review routes check founders' edits with its spec check;
#: build_events applies a built app's Cloud Run service with the deploy adapter (google-cloud-run is an engine pin).
ENGINE_FUNCTIONS = frozenset(f"stage_{s}" for s in topology.STAGES) | {"factory", "build_events"}


def group(name: str) -> str:
    """'engine' for the six stage functions (they run the stage engine), 'control' for every other."""
    topology.function(name)  # KeyError for an unknown function
    return "engine" if name in ENGINE_FUNCTIONS else "control"


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The source file of a repository module (`a.b` -> a/b/__init__.py or a/b.py), or None if not ours."""
    base = root.joinpath(*module.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    return None


def imported_names(path: Path, module: str) -> set[str]:
    """Every dotted name a module imports, absolute, including `from a import b` as both `a` and `a.b`."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names if a.name != "*")
    return names


def _package_modules(package: str, root: Path) -> list[str]:
    """Every module of a package tree, through its sub-packages (folders with an __init__.py) only."""
    top = root.joinpath(*package.split("."))
    out = [package]
    for path in sorted(top.rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts or not all((root / Path(*rel.parts[:i]) / "__init__.py").is_file()
                                                 for i in range(1, len(rel.parts))):
            continue  # e.g. templates/**/*.py: files the compiler copies, not modules
        mod = ".".join(rel.with_suffix("").parts)
        out.append(mod.removesuffix(".__init__"))
    return out


def closure(entries: list[Path], root: Path = ROOT) -> set[str]:
    """The repository modules that `entries` (a function's own files) import, directly or not."""
    seen: set[str] = set()
    stack: list[tuple[str, Path]] = [("__main__", p) for p in entries]
    while stack:
        module, path = stack.pop()
        for name in imported_names(path, module if module != "__main__" else ""):
            parts = name.split(".")
            for i in range(1, len(parts) + 1):  # importing a.b.c imports a and a.b first
                mod = ".".join(parts[:i])
                if mod in seen:
                    continue
                file = module_file(mod, root)
                if file is None:
                    break  # not ours (stdlib, a dependency) or a name inside a module
                seen.add(mod)
                stack.append((mod, file))
                for whole in WHOLE_PACKAGES:
                    if mod == whole or mod.startswith(whole + "."):
                        for m in _package_modules(whole, root):
                            if m not in seen and module_file(m, root):
                                seen.add(m)
                                stack.append((m, module_file(m, root)))
    return seen


def requirements(group_name: str) -> str:
    """The group's requirements file with its `-r` includes inlined (Cloud Build reads one file)."""
    def lines(path: Path) -> list[str]:
        out = []
        for line in path.read_text().splitlines():
            if line.startswith("-r "):
                out += lines(path.parent / line[3:].strip())
            else:
                out.append(line)
        return out

    return (f"# Written by infra/package.py from requirements/{group_name}.txt; edit that file, not this one.\n"
            + "\n".join(lines(REQUIREMENTS / f"{group_name}.txt")) + "\n")


def package(name: str, out: Path | None = None) -> Path:
    kind = group(name)
    src = ROOT / "functions" / name
    dest = (out or ROOT / "build") / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=IGNORE)
    modules = closure(sorted(p for p in src.rglob("*.py") if "__pycache__" not in p.parts))
    for mod in sorted(modules):
        if any(mod == w for w in WHOLE_PACKAGES):
            shutil.copytree(ROOT.joinpath(*mod.split(".")), dest.joinpath(*mod.split(".")), ignore=IGNORE,
                            dirs_exist_ok=True)
            continue
        file = module_file(mod)
        target = dest / file.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, target)
    (dest / "requirements.txt").write_text(requirements(kind))
    return dest


def main(argv: list[str]) -> None:
    names = argv or [f.name for f in topology.FUNCTIONS]
    for n in names:
        print(package(n))


if __name__ == "__main__":
    main(sys.argv[1:])
