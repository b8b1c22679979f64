"""Compile a spec file and run the generated project's checks, printing the results.

    python -m shared.engine.compiler.try tests/fixtures/specs/kiln_studio.json [--out DIR] [--plain] [-k PATTERN]

By default the project runs through QA's sandbox (`stages.qa.run_checks`: ruff + the tests, isolated);
`--plain` runs `python -m unittest discover -s tests -t . -v` in DIR directly (quicker to debug; add
`-k PATTERN` to select tests). `--out DIR` keeps the project there (default: a temporary directory).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..artifacts import make_zip, sha256
from . import compile_project, count_test_methods, default_design, load_spec_file


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec")
    ap.add_argument("--out")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("-k", dest="pattern")
    args = ap.parse_args(argv)
    spec, problems = load_spec_file(args.spec)
    if problems:
        print("spec_problems:", *problems, sep="\n  - ")
        return 2
    started = time.monotonic()
    files = compile_project(spec, default_design(spec))
    again = compile_project(spec, default_design(spec))
    print(f"compiled {len(files)} files, {count_test_methods(files)} test methods in "
          f"{time.monotonic() - started:.2f}s (x2); zip sha256 {sha256(make_zip(files))[:16]}; "
          f"deterministic: {make_zip(files) == make_zip(again)}")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="compiled-"))
    if out.exists():
        shutil.rmtree(out)
    for rel, data in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    print(f"project in {out}")
    try:
        if args.plain:
            cmd = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"]
            if args.pattern:
                cmd += ["-k", args.pattern]
            lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                                  cwd=out, capture_output=True, text=True, check=False)
            print("ruff:", lint.stdout.strip() or lint.stderr.strip())
            return subprocess.run(cmd, cwd=out, check=False).returncode
        from ..stages.qa import run_checks
        from ..types import EngineConfig

        result = run_checks(files, EngineConfig())
        result.pop("_durations", None)
        t = result["tests"]
        print(f"QA passed: {result['passed']}; tests run {t['run']}, passed {t['passed']}, failures "
              f"{t['failures']}, errors {t['errors']}; lint {result['static']['counts']}")
        for f in result["findings"]:
            print(f"  {f['severity']} {f['code']} {f.get('file') or ''}:{f.get('line') or ''} "
                  f"{f.get('test') or ''} {f['message']}")
        for row in result.get("coverage", {}).get("features", []):
            print(f"  feature {row['feature']!r}: {row['status']} ({', '.join(row.get('capabilities', []))})")
        if result.get("test_output_tail"):
            print(result["test_output_tail"])
        return 0 if result["passed"] else 1
    finally:
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
