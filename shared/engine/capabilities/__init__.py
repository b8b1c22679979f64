"""The capability library: typed behaviours the compiler can put into a generated app.

One module per capability kind (`KINDS`). Each module defines:

* `KIND` and `Params` — a pydantic model, a member of the spec's discriminated union (`kind` is the
  discriminator), whose fields bind the behaviour to the spec's entities, fields and roles by name;
* `check(cap, spec) -> list[str]` — name-resolution and type problems, in sentences a model (or a person)
  can act on; an empty list means the capability fits the spec;
* `routes(cap, spec) -> list[Route]` — the HTTP routes it adds (declared in the spec and at `/api/schema`);
* `render(cap, spec, tpl) -> dict[str, str]` — the files it adds to the project, rendered from its Jinja2
  templates under `shared/engine/compiler/templates/capabilities/<kind>/` with `tpl.render(name, **ctx)`.
  It always adds `app/capabilities/<cap.id>.py` (a Flask blueprint `bp`, plus its own SQLAlchemy models)
  and `tests/test_cap_<cap.id>.py` (behaviour tests through HTTP, at least one abuse case);
* `PACKAGES` — pinned requirement lines the generated app needs for it (e.g. `"segno==1.6.6"`).

A kind whose module does not (yet) define `render` is not *available*: the planner must never plan it,
and a feature that needs it is traced `not_covered` with the reason.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType
from typing import Annotated, Union

from pydantic import Field

KINDS: tuple[str, ...] = (
    "records", "booking", "workflow", "ledger", "reminders", "audit_log", "custody", "live_board", "search",
    "attachments", "public_page", "checklist", "versioning", "ratings", "leaderboard", "rotation", "payments",
    "export", "ai_summary", "matrix", "follow", "limit", "selection", "assignment", "import", "trigger", "document", "vote", "agreement",
    "enrolment", "guard",
)

#: kinds whose module has another name (`import` is a Python keyword)
_FILES = {"import": "bulk_import"}

_MODULES: dict[str, ModuleType] = {k: importlib.import_module(f"{__name__}.{_FILES.get(k, k)}")
                                   for k in KINDS}

Capability = Annotated[Union[tuple(m.Params for m in _MODULES.values())], Field(discriminator="kind")]  # noqa: UP007


def module_for(kind: str) -> ModuleType:
    try:
        return _MODULES[kind]
    except KeyError:
        raise KeyError(f"unknown capability kind {kind!r}; known: {', '.join(KINDS)}") from None


@cache
def available_kinds() -> tuple[str, ...]:
    """Kinds the compiler can build (their module implements check, routes and render)."""
    return tuple(k for k, m in _MODULES.items() if all(hasattr(m, fn) for fn in ("check", "routes", "render")))


def describe() -> list[dict]:
    """One line per kind for prompts and docs: kind, what it does, whether it can be built."""
    avail = set(available_kinds())
    return [{"kind": k, "behaviour": (m.__doc__ or "").split(":", 1)[-1].strip(), "available": k in avail}
            for k, m in _MODULES.items()]
