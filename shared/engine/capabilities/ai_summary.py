"""Capability `ai_summary`: AI summary or classification through OpenAI-compatible settings with a deterministic offline fallback; the record shows which was used."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ai_summary"


class Params(CapabilityBase):
    kind: Literal["ai_summary"] = "ai_summary"
    entity: Name
    source_field: Name = Field(description="text/long_text field read")
    mode: Literal["summary", "classification"] = "summary"
    labels: list[Name] = Field(default_factory=list, description="classification labels")


PACKAGES: list[str] = []  # the OpenAI-compatible call uses urllib from the standard library

SETTINGS = [
    ("LLM_BASE_URL", "ai_summary: OpenAI-compatible API base (e.g. https://api.openai.com/v1); unset = offline engine"),
    ("LLM_API_KEY", "ai_summary: the API key sent as a Bearer token"),
    ("LLM_MODEL", "ai_summary: model name (default gpt-4o-mini)"),
    ("LLM_TIMEOUT_S", "ai_summary: seconds to wait for the model before the offline engine answers (default 10)"),
]

SOURCE_TYPES = ("text", "long_text")


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    m = b.entity_problem(spec, cap.entity, "entity")
    if m:
        return [m]
    p = [x for x in (b.field_problem(spec, cap.entity, cap.source_field, "source_field", SOURCE_TYPES),) if x]
    if cap.mode == "classification":
        if len(cap.labels) < 2:
            p.append(f"classification needs at least two labels (got {cap.labels}); e.g. ['praise', 'complaint']")
        if len(set(cap.labels)) != len(cap.labels):
            p.append(f"labels lists a label twice: {cap.labels}")
    elif cap.labels:
        p.append("labels are only for mode 'classification'; remove them or set mode to 'classification'")
    if not b.readers(spec, cap.entity):
        p.append(f"no role may read {cap.entity!r}; add it to a role's read list")
    if not b.writers(spec, cap.entity):
        p.append(f"no role may write {cap.entity!r}, so there is no text to summarise; add it to a write list")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    e = spec.entity(cap.entity)
    r, w = b.readers(spec, cap.entity), b.writers(spec, cap.entity)
    a = f"/api/{cap.id}/{e.plural}"
    what = "summary" if cap.mode == "summary" else f"label ({', '.join(cap.labels)})"
    return [
        Route(method="GET", path=a, summary=f"stored {what} results" + (" (label=)" if cap.mode != "summary" else ""),
              roles=r),
        Route(method="GET", path=f"{a}/<int:record_id>",
              summary=f"the {what} of one record (made on first read or when its text changed); shows the engine",
              roles=r),
        Route(method="POST", path=f"{a}/<int:record_id>/run", summary=f"make the {what} again now", roles=w),
        Route(method="GET", path=f"/{cap.id}/", summary="results page", roles=r),
        Route(method="GET", path=f"/{cap.id}/<int:record_id>", summary="one record's result page", roles=r),
        Route(method="POST", path=f"/{cap.id}/<int:record_id>", summary="run again (form)", roles=w),
    ]


def _probe_text(f, words: str) -> str:
    hi = int(f.max) if f.max is not None else (200 if f.type == "text" else 4000)  # the column's own limit
    lo = int(f.min or 0)
    text = words[:hi].rstrip()  # the app strips text on the way in
    return text + "x" * max(0, lo - len(text))


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    e = spec.entity(cap.entity)
    src = e.field(cap.source_field)
    readers, writers = b.readers(spec, cap.entity), b.writers(spec, cap.entity)
    long = ("The kitchen opened a new seasonal menu this spring. Guests asked for lighter dishes with fresh "
            "herbs. The seasonal menu uses herbs from local farms and fresh bread every morning. Prices stay "
            "the same as last year.")
    if cap.mode == "classification":
        target = cap.labels[1]
        words = " ".join([target.replace("_", " ")] * 3) + "."
        probe = _probe_text(src, words)
    else:
        target = None
        probe = _probe_text(src, long)
    ctx = {
        "ent": e, "src": src, "readers": readers, "writers": writers,
        "writer": b.writer_role(spec, cap.entity),
        "reader_only": next((r for r in readers if r not in writers), None),
        "outsider": next((r.name for r in spec.roles if r.name not in readers), None),
        "probe": probe, "target": target,
    }
    d = "capabilities/ai_summary/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(d + "record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
