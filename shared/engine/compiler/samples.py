"""Sample values for generated tests: the very module the generated project ships as tests/sampling.py,
loaded from the package data so the compiler and the generated tests cannot disagree."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parent / "templates" / "static_files" / "tests" / "sampling.py"
_spec = importlib.util.spec_from_file_location("saas_factory_generated_sampling", _PATH)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

sample_value = _module.sample_value
sample_payload = _module.sample_payload
