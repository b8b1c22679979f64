"""Capability `export`: CSV of any list and a PDF report of a record; a list may be of one calendar period (the
month's bookings, the year's catches): the period holding a chosen day (`on=`), today's by default."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "export"


class Params(CapabilityBase):
    kind: Literal["export"] = "export"
    entities: list[Name] = Field(min_length=1)
    pdf_entity: Name | None = None
    period: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        default=None, description="each CSV lists only the rows of one calendar period of its entity's date field: "
                                  "the period holding ?on=YYYY-MM-DD, today's without it (?all=1: every row)")
    date_fields: dict[Name, Name] = Field(default_factory=dict, description="with period: the date/datetime field "
                                          "of each exported entity that places a row in its period, e.g. "
                                          "{'booking': 'start_at'}; an entity not in it is listed whole")


# fpdf2 and what it pulls in, pinned (pure-Python PDF writer; core fonts, no font files shipped).
PACKAGES: list[str] = ["fpdf2==2.8.9", "defusedxml==0.7.1", "fonttools==4.68.0", "Pillow==13.0.0"]

SETTINGS = [("EXPORT_MAX_ROWS", "export: most rows one CSV holds (default 50000)")]

TEXT_TYPES = ("text", "long_text")


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p: list[str] = []
    for name in cap.entities:
        m = b.entity_problem(spec, name, "exported entity")
        if m:
            p.append(m)
        elif not b.readers(spec, name):
            p.append(f"no role may read {name!r}, so nobody could export it; add it to a role's read list")
    if len(set(cap.entities)) != len(cap.entities):
        p.append(f"entities lists a name twice: {cap.entities}; list each exported entity once")
    if cap.period and not cap.date_fields:
        p.append(f"period {cap.period!r} needs date_fields: the date or datetime field of each exported entity that "
                 f"places a row in its {cap.period}, e.g. {{{cap.entities[0]!r}: 'date'}}; or drop period")
    if cap.date_fields and not cap.period:
        p.append("date_fields are used only with period (day, week, month, quarter or year); set period or drop them")
    for name, field in cap.date_fields.items():
        if name not in cap.entities:
            p.append(f"date_fields names {name!r}, which is not exported; list it in entities or drop it")
        else:
            m = b.field_problem(spec, name, field, "date field", b.DATE_TYPES)
            if m:
                p.append(m)
    if cap.pdf_entity is not None:
        m = b.entity_problem(spec, cap.pdf_entity, "pdf_entity")
        if m:
            p.append(m)
        elif not b.readers(spec, cap.pdf_entity):
            p.append(f"no role may read pdf_entity {cap.pdf_entity!r}; add it to a role's read list")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    out = []
    for name in cap.entities:
        e = spec.entity(name)
        summary = (f"CSV of the {e.label} rows of one {cap.period} of {cap.date_fields.get(name)} (on=YYYY-MM-DD "
                   f"picks the {cap.period} holding that day, today's by default; all=1 lists every row; "
                   f"spreadsheet-formula safe)" if cap.period else
                   f"CSV of every {e.label} (spreadsheet-formula safe)")
        out.append(Route(method="GET", path=f"/api/{cap.id}/{e.plural}.csv", summary=summary,
                         roles=b.readers(spec, name)))
    if cap.pdf_entity:
        e = spec.entity(cap.pdf_entity)
        out.append(Route(method="GET", path=f"/api/{cap.id}/{e.plural}/<int:row_id>.pdf",
                         summary=f"PDF report of one {e.label}", roles=b.readers(spec, cap.pdf_entity)))
    every = sorted({r for n in cap.entities + ([cap.pdf_entity] if cap.pdf_entity else []) for r in b.readers(spec, n)},
                   key=[r.name for r in spec.roles].index)
    out.append(Route(method="GET", path=f"/{cap.id}/", summary="export page: CSV and PDF links", roles=every))
    return out


def _probe_text(f) -> str:
    """A value for text field `f` that starts with a spreadsheet formula and satisfies its length limits."""
    base = "=HYPERLINK(1)"
    lo = int(f.min or 0)
    hi = int(f.max) if f.max is not None else 200
    v = base if len(base) >= lo else base + "x" * (lo - len(base))
    return v[:hi] if hi >= 2 else "=1"


def _probe_title(f) -> str:
    if f.type == "enum":
        return f.values[0]
    lo = int(f.min or 0)
    hi = int(f.max) if f.max is not None else 200
    v = "Report" + "x" * max(0, lo - 6)
    return v[:max(hi, 1)]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    lists = []
    for name in cap.entities:
        e = spec.entity(name)
        inj = next((f for f in e.fields if f.type in TEXT_TYPES and (f.max is None or f.max >= 2)), None)
        lists.append({
            "ent": e,
            "columns": ["id"] + [f.name for f in e.fields] + ["created_at", "updated_at"],
            "text_fields": [f.name for f in e.fields if f.type in ("text", "long_text", "email", "phone", "url",
                                                                  "enum")],
            "readers": b.readers(spec, name),
            "outsider": next((r.name for r in spec.roles if r.name not in b.readers(spec, name)), None),
            "own_reader": next(iter(b.own_readers(spec, name)), None),
            "inj_field": inj.name if inj else None,
            "inj_value": _probe_text(inj) if inj else None,
            "date_field": cap.date_fields.get(name) if cap.period else None,
            "date_is_datetime": bool(cap.period and name in cap.date_fields and e.field(cap.date_fields[name])
                                     and e.field(cap.date_fields[name]).type == "datetime"),
        })
    pdf = None
    if cap.pdf_entity:
        e = spec.entity(cap.pdf_entity)
        disp = e.field(e.display_field)
        rows = []
        for f in e.fields:
            ref = spec.entity(f.ref) if f.type == "reference" else None
            rows.append({"name": f.name, "label": f.label, "type": f.type,
                         "ref": ref.name if ref else None, "ref_display": ref.display_field if ref else None})
        pdf = {"ent": e, "rows": rows, "readers": b.readers(spec, cap.pdf_entity),
               "outsider": next((r.name for r in spec.roles if r.name not in b.readers(spec, cap.pdf_entity)), None),
               "own_reader": next(iter(b.own_readers(spec, cap.pdf_entity)), None),
               "title_value": _probe_title(disp),
               "unicode_ok": disp.type == "text" and (disp.max is None or disp.max >= 12)
               and (disp.min or 0) <= 12}
    ctx = {"lists": lists, "pdf": pdf, "period": cap.period}
    d = "capabilities/export/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
