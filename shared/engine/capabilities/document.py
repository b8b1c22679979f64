"""Capability `document`: A PDF made from a record and its lines (columns, a total, an optional tax percentage), with an optional sign-off by a named role that records the signer and locks the record and its lines."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name

KIND = "document"


class Params(CapabilityBase):
    kind: Literal["document"] = "document"
    entity: Name = Field(description="the record the document is made from, e.g. invoice, certificate")
    title_field: Name | None = Field(default=None, description="field of `entity` printed as the document's title; "
                                                               "None = the entity's display field")
    header_fields: list[Name] = Field(default_factory=list, description="fields of `entity` printed under the "
                                      "title, label and value, e.g. ['customer_name', 'issued_on']")
    line_entity: Name | None = Field(default=None, description="the records printed as the document's lines, e.g. "
                                                               "invoice_line; None = a document without lines")
    line_field: Name | None = Field(default=None, description="reference field on `line_entity` pointing at "
                                                              "`entity`, e.g. invoice_id")
    line_columns: list[Name] = Field(default_factory=list, description="fields of `line_entity` printed as the "
                                     "table's columns, e.g. ['description']")
    total_field: Name | None = Field(default=None, description="money/integer/decimal field of `line_entity` that "
                                     "is totalled (a unit price when quantity_field is set), e.g. amount")
    quantity_field: Name | None = Field(default=None, description="integer/decimal field of `line_entity` that "
                                        "multiplies total_field on each line (quantity x unit price); None = "
                                        "total_field is the line's amount")
    tax_percent: float | None = Field(default=None, gt=0, le=100, description="a tax or fee added to the subtotal, "
                                      "in percent as the founder states it (20 for '20% VAT'); None = no tax")
    tax_label: str = Field(default="Tax", min_length=1, max_length=30, description="what the tax or fee is called "
                           "on the document, e.g. VAT, GST, Service fee")
    signoff_role: Name | None = Field(default=None, description="the role that signs the document off (name and "
                                      "time recorded, once), e.g. instructor; None = no sign-off")
    lock_on_signoff: bool = Field(default=True, description="after sign-off the record and its lines can no longer "
                                  "be changed or deleted by any route (409)")
    pdf_after_signoff: bool = Field(default=False, description="the PDF is issued only once the record is signed "
                                    "off: before that its download answers 409 not_signed_off and no listing links "
                                    "it ('issued only after the inspector signs it off')")
    signer_not_maker: bool = Field(default=False, description="the user who created the record may not sign it off "
                                   "(403 own_record), whatever their role, the owner too: another user of "
                                   "signoff_role signs ('a second technician signs it off')")


# fpdf2 and what it pulls in, pinned as the export capability pins them (a project with both installs one set).
PACKAGES: list[str] = ["fpdf2==2.8.9", "defusedxml==0.7.1", "fonttools==4.68.0", "Pillow==13.0.0"]

SETTINGS = [("DOCUMENT_MAX_LINES", "document: most lines one PDF prints (default 1000)")]

NUMBER_TYPES = ("integer", "decimal", "money")
QUANTITY_TYPES = ("integer", "decimal")
PRINTABLE = ("text", "long_text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum", "email",
             "phone", "url", "reference")
CENT = Decimal("0.01")


def line_parent(cap: Params, spec) -> str | None:
    """The entity `line_field` references, or None when it does not resolve to a reference."""
    ent = spec.entity(cap.line_entity) if cap.line_entity else None
    f = ent.field(cap.line_field) if ent is not None and cap.line_field else None
    return f.ref if f is not None and f.type == "reference" else None


def title_of(cap: Params, spec) -> str:
    ent = spec.entity(cap.entity)
    return cap.title_field or (ent.display_field if ent is not None else "")


def _fields_problems(spec, entity: str, names: list[str], what: str, skip: tuple[str, ...] = ()) -> list[str]:
    from . import _bind as b
    p = [m for m in (b.field_problem(spec, entity, n, what, PRINTABLE) for n in names) if m]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        p.append(f"{what} lists {twice} more than once; list each field once")
    p += [f"{what} {entity}.{n} is already printed elsewhere on the document; drop it from {what}"
          for n in names if n in skip]
    return p


def _line_problems(cap: Params, spec) -> list[str]:
    from . import _bind as b
    if cap.line_entity is None:
        extra = [n for n in ("line_field", "total_field", "quantity_field") if getattr(cap, n)]
        extra += ["line_columns"] if cap.line_columns else []
        extra += ["tax_percent"] if cap.tax_percent is not None else []
        return [f"{', '.join(extra)} need line_entity: the records printed as the document's lines"] if extra else []
    p = [m for m in (b.entity_problem(spec, cap.line_entity, "line_entity"),
                     b.no_writer_problem(spec, cap.line_entity, "line_entity")) if m]
    if p:
        return p
    if cap.line_entity == cap.entity:
        return [f"line_entity is {cap.entity!r} itself; the lines are records of another entity that point at it"]
    if not cap.line_field:
        return [f"line_entity {cap.line_entity!r} needs line_field: its reference field pointing at {cap.entity}"]
    m = b.field_problem(spec, cap.line_entity, cap.line_field, "line_field", ("reference",), ref=cap.entity)
    if m:
        return [m]
    if not cap.line_columns:
        p.append(f"line_columns is empty; name the fields of {cap.line_entity} printed as columns, e.g. "
                 f"['{spec.entity(cap.line_entity).display_field}']")
    p += _fields_problems(spec, cap.line_entity, cap.line_columns, "line_columns", skip=(cap.line_field,))
    p += [m for m in (b.field_problem(spec, cap.line_entity, cap.total_field, "total_field", NUMBER_TYPES),
                      b.field_problem(spec, cap.line_entity, cap.quantity_field, "quantity_field", QUANTITY_TYPES))
          if m]
    if cap.quantity_field and not cap.total_field:
        p.append("quantity_field multiplies total_field (the unit price); set total_field too")
    if cap.quantity_field and cap.quantity_field == cap.total_field:
        p.append("quantity_field and total_field are the same field; the quantity multiplies another field")
    if cap.tax_percent is not None and not cap.total_field:
        p.append(f"tax_percent {cap.tax_percent:g} needs total_field: the amount of each line it is added to")
    line = spec.entity(cap.line_entity)
    for name in (cap.total_field, cap.quantity_field):
        f = line.field(name) if name else None
        if f is not None and f.type in NUMBER_TYPES and f.max is not None and f.max <= 0:
            p.append(f"{cap.line_entity}.{name} has max {f.max:g}; a line's amount must be able to be above 0")
    return p


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    p = [m for m in (b.entity_problem(spec, cap.entity, "document entity"),
                     b.no_writer_problem(spec, cap.entity, "document entity")) if m]
    if spec.entity(cap.entity) is None:
        return p + _line_problems(cap, spec)
    title = title_of(cap, spec)
    m = b.field_problem(spec, cap.entity, title, "title_field", PRINTABLE)
    p += [m] if m else []
    p += _fields_problems(spec, cap.entity, cap.header_fields, "header_fields", skip=(title,))
    p += _line_problems(cap, spec)
    if not readers(cap, spec):
        p.append(f"no role may read {cap.entity}" + (f" and {cap.line_entity}" if cap.line_entity else "")
                 + ", so nobody could download the document; add them to a role's read list")
    if cap.signoff_role is not None:
        m = b.role_problem(spec, cap.signoff_role, "signoff_role")
        if m:
            p.append(m)
        elif cap.signoff_role not in readers(cap, spec):
            p.append(f"signoff_role {cap.signoff_role!r} may not read {cap.entity}"
                     + (f" and {cap.line_entity}" if cap.line_entity else "")
                     + ", so it could not see what it signs; add them to the role's read list")
    if cap.signoff_role is None:
        needs = [n for n in ("pdf_after_signoff", "signer_not_maker") if getattr(cap, n)]
        if needs:
            p.append(f"{' and '.join(needs)} need signoff_role: the role that signs the document off")
    if cap.tax_percent is not None and Decimal(str(cap.tax_percent)) != Decimal(str(cap.tax_percent)).quantize(
            Decimal("0.001")):
        p.append(f"tax_percent {cap.tax_percent} has more than three decimal places; state it as printed, e.g. 17.5")
    return p


def readers(cap: Params, spec) -> list[str]:
    """Roles (spec order) that may download the document: they read the record and, with lines, its lines."""
    from . import _bind as b
    rs = b.readers(spec, cap.entity)
    if cap.line_entity:
        lines = set(b.readers(spec, cap.line_entity))
        rs = [r for r in rs if r in lines]
    return rs


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    ent = spec.entity(cap.entity)
    r, a = readers(cap, spec), f"/api/{cap.id}/records/<int:record_id>"
    label = ent.label if ent is not None else cap.entity
    gate = " once it is signed off (409 before)" if cap.signoff_role and cap.pdf_after_signoff else ""
    out = [Route(method="GET", path=f"{a}.pdf", summary=f"the {label} as a PDF (attachment){gate}", roles=r),
           Route(method="GET", path=a, summary=f"what the {label}'s PDF prints: header, lines, totals, sign-off",
                 roles=r),
           Route(method="GET", path=f"/{cap.id}/", summary="page: documents with PDF links and their sign-off",
                 roles=r)]
    if cap.signoff_role:
        who = [cap.signoff_role]
        out += [Route(method="POST", path=f"{a}/signoff", summary=f"sign the {label} off once (name optional); "
                      + ("it and its lines are locked" if cap.lock_on_signoff else "records who and when")
                      + ("; not by the user who created it" if cap.signer_not_maker else ""), roles=who),
                Route(method="POST", path=f"/{cap.id}/records/<int:record_id>/signoff",
                      summary="sign off (form, CSRF)", roles=who)]
    return out


# ---------------------------------------------------------------------------------------------- amounts

def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def whole_numbers(cap: Params, spec) -> bool:
    """Are the amounts whole numbers (an integer total, no decimal quantity, no tax)? Else two decimal places."""
    line = spec.entity(cap.line_entity) if cap.line_entity else None
    t = line.field(cap.total_field) if line is not None and cap.total_field else None
    q = line.field(cap.quantity_field) if line is not None and cap.quantity_field else None
    return (t is not None and t.type == "integer" and (q is None or q.type == "integer")
            and cap.tax_percent is None)


def amount_text(value: Decimal, whole: bool) -> str:
    """An amount as JSON carries it: "1440.00" (or "12" for whole numbers)."""
    return str(int(value)) if whole else str(round_money(value))


def shown(value: Decimal, whole: bool) -> str:
    """An amount as the PDF prints it: "1,440.00" (or "1,440")."""
    return f"{int(value):,}" if whole else f"{round_money(value):,.2f}"


def totals(amounts: list[Decimal], tax_percent: float | None, whole: bool) -> dict[str, Decimal | None]:
    """Subtotal, tax (half-up to the cent) and total of line amounts (each already rounded)."""
    subtotal = sum(amounts, Decimal(0))
    if not whole:
        subtotal = round_money(subtotal)
    tax = None if tax_percent is None else round_money(subtotal * Decimal(str(tax_percent)) / 100)
    return {"subtotal": subtotal, "tax": tax, "total": subtotal + (tax or 0)}


def _fits(field, value: Decimal) -> bool:
    if value <= 0 or (field.min is not None and value < Decimal(str(field.min))):
        return False
    if field.max is not None and value > Decimal(str(field.max)):
        return False
    return value == value.to_integral_value() if field.type == "integer" else value == round_money(value)


def _pick(field, candidates: list[str], taken: list[Decimal]) -> Decimal | None:
    lo = Decimal(str(field.min if field.min is not None and field.min > 0 else 0))
    hi = Decimal(str(field.max)) if field.max is not None else lo + 1000
    spread = [lo + (hi - lo) * Decimal(k) / 8 for k in (4, 2, 6, 3, 5, 1, 7)]
    spread = [v.to_integral_value(ROUND_HALF_UP) if field.type == "integer" else round_money(v) for v in spread]
    pool = [Decimal(c) for c in candidates] + spread + [hi, lo]
    return next((v for v in pool if _fits(field, v) and v not in taken), None) or next(
        (v for v in pool if _fits(field, v)), None)


def _plain(value: Decimal, field):
    """A JSON value for the field: money as a string, integers as ints, decimals as floats."""
    if field.type == "money":
        return str(round_money(value))
    return int(value) if field.type == "integer" else float(value)


def sample_lines(cap: Params, spec) -> dict | None:
    """Three lines the generated tests and criteria create (values that fit the fields) with their amounts and
    the totals the document must print: {"lines": [{field: value}], "amounts", "subtotal", "tax", "total"} (JSON
    strings) and the same as the PDF prints them under "shown". None without a total_field."""
    if not cap.line_entity or not cap.total_field:
        return None
    line = spec.entity(cap.line_entity)
    t = line.field(cap.total_field)
    q = line.field(cap.quantity_field) if cap.quantity_field else None
    cands = {"money": ["350.00", "125.50", "42.25"], "integer": ["350", "125", "42"],
             "decimal": ["12.5", "3.25", "7"]}[t.type]
    qcands = ["2", "3", "1"] if q is None or q.type == "integer" else ["1.5", "2", "0.5"]
    whole = whole_numbers(cap, spec)
    lines, amounts, units, counts = [], [], [], []
    for i in range(3):
        unit = _pick(t, cands[i:] + cands[:i], units)
        count = _pick(q, qcands[i:] + qcands[:i], counts) if q is not None else Decimal(1)
        if unit is None or count is None:
            return None
        units.append(unit)
        counts.append(count)
        body = {cap.total_field: _plain(unit, t)}
        if q is not None:
            body[cap.quantity_field] = _plain(count, q)
        lines.append(body)
        amounts.append(unit * count if whole else round_money(unit * count))
    sums = totals(amounts, cap.tax_percent, whole)
    out = {"lines": lines, "amounts": [amount_text(a, whole) for a in amounts],
           "shown": {"amounts": [shown(a, whole) for a in amounts]}}
    for key, value in sums.items():
        out[key] = None if value is None else amount_text(value, whole)
        out["shown"][key] = None if value is None else shown(value, whole)
    return out


# ---------------------------------------------------------------------------------------------- render

def _columns(cap: Params, spec) -> list[list]:
    """The line table's columns: line_columns, then the quantity and unit fields, then the line's amount."""
    if not cap.line_entity:
        return []
    line = spec.entity(cap.line_entity)
    amounts = (cap.quantity_field, cap.total_field)  # last, so the totals stand under the amounts
    names = [n for n in cap.line_columns if n not in amounts] + [n for n in amounts if n]
    return _printed(spec, line, names)


def _printed(spec, ent, names: list[str]) -> list[list]:
    """[field, label, type, referenced entity, its title field] of each printed field."""
    out = []
    for n in names:
        f = ent.field(n)
        out.append([n, f.label, f.type, f.ref, spec.entity(f.ref).display_field if f.type == "reference" else None])
    return out


def _free_text(ent, names: list[str]) -> str | None:
    """A field among `names` the tests may fill with any short text (to print characters outside Latin-1)."""
    for n in names:
        f = ent.field(n) if ent is not None and n else None
        if f is not None and f.type in ("text", "long_text") and not f.unique and (f.max is None or f.max >= 40) \
                and (f.min or 0) <= 17:
            return n
    return None


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    ent = spec.entity(cap.entity)
    line = spec.entity(cap.line_entity) if cap.line_entity else None
    title = title_of(cap, spec)
    rs = readers(cap, spec)
    signer = cap.signoff_role
    # a reader who may not sign (the owner first), and a role that may not download at all
    bystander = next((r for r in ["owner", *rs] if r in rs and r != signer), None)
    stranger = next((r.name for r in spec.roles if r.name not in rs), None)
    ctx = {
        "ent": ent, "line": line, "title_f": _printed(spec, ent, [title])[0], "header": _printed(spec, ent, cap.header_fields),
        "columns": _columns(cap, spec), "readers": rs, "signer": signer, "bystander": bystander,
        "stranger": stranger, "writer": b.writer_role(spec, cap.entity),
        "line_writer": b.writer_role(spec, cap.line_entity) if line else None,
        "sample": sample_lines(cap, spec), "whole": whole_numbers(cap, spec),
        "signer_label": spec.role(signer).label if signer else None,
        "gated": bool(signer and cap.pdf_after_signoff), "not_maker": bool(signer and cap.signer_not_maker),
        # may a user of the signing role create the record (so be its maker)?
        "signer_makes": bool(signer) and any(r.name == signer and cap.entity in r.write for r in spec.roles),
        "free_title": _free_text(ent, [title]), "free_header": _free_text(ent, cap.header_fields),
        "free_column": _free_text(line, list(cap.line_columns)) if line else None,
        "detail": b.detail_path(spec, cap.entity), "app_name": spec.name,
        "refs": [f.name for f in ent.fields if f.type == "reference"],
        "line_refs": [f.name for f in (line.fields if line else []) if f.type == "reference"],
    }
    d = "capabilities/document/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }
