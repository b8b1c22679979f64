"""Stage each function for deployment: build/<name>/ = functions/<name>/* + shared/ + requirements.txt.

    python -m infra.package [name ...]      (all functions by default)

See docs/decisions/0002-shared-code-packaging.md.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import topology  # noqa: E402

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def package(name: str, out: Path | None = None) -> Path:
    topology.function(name)  # KeyError for an unknown function
    dest = (out or ROOT / "build") / name
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(ROOT / "functions" / name, dest, ignore=IGNORE)
    shutil.copytree(ROOT / "shared", dest / "shared", ignore=IGNORE)
    shutil.copy(ROOT / "requirements.txt", dest / "requirements.txt")
    return dest


def main(argv: list[str]) -> None:
    names = argv or [f.name for f in topology.FUNCTIONS]
    for n in names:
        print(package(n))


if __name__ == "__main__":
    main(sys.argv[1:])
