"""Criteria for `document`: a record (and its lines) downloads as a PDF that prints them and their totals, readers
only; with a sign-off, the named role signs it off once, the signer's name and time are printed, and (with the
lock) the record and its lines can no longer be changed.

The scenarios drive the capability's own routes (see `capabilities/document/module.py.j2`). A stated rule is
realised only when a parameter carries it: a tax or fee percentage ("20% VAT") when `tax_percent` is that number
and the words around it say a tax, fee or charge (never a discount or a deposit); a sign-off ("needs the
inspector's sign-off") when `signoff_role` is the role the words name; "cannot be changed once signed" when the
capability locks on sign-off and the words name no other role. Limits, thresholds, agreements between people and
other fees are other kinds' rules.
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, noun_matches, rule_number

#: words that make a percentage a tax or fee added to the document's total
_TAX_WORDS = re.compile(r"\b(vat|tax(es)?|gst|hst|pst|sales tax|levy|levies|dut(y|ies)|fees?|surcharges?|"
                        r"service charges?|charges?|commissions?)\b")
#: words that make a percentage something else: a share paid ahead, a reduction, a tip
_NOT_TAX = re.compile(r"\b(deposits?|discounts?|off|refunds?|tips?|down ?payments?|upfront|advance|reduc\w*)\b")
_SIGN = re.compile(r"\b(sign(s|ed|ing)?(?:[- ]?off)?|sign-?offs?|signatures?|countersign\w*|signatory)\b")
_LOCK = re.compile(r"\b(edit\w*|chang\w*|alter\w*|modif\w*|delet\w*|lock\w*|amend\w*|updat\w*|touch\w*|"
                   r"frozen|freez\w*|read[- ]only)\b")
_PERCENT = ("", "%", "percent", "per cent", "pct")


def _window(rule, reading) -> str:
    """The rule's words with the two words before and three after it in the feature ("20%" -> "with 20% vat")."""
    own = (rule.words or "").lower()
    if reading is None or rule not in reading.rules:
        return own
    tag = f"rule:{reading.rules.index(rule)}"
    at = [k for k, u in enumerate(reading.words) if u.maps_to == tag]
    if not at:
        return own
    before = [u.word for u in reading.words[max(0, at[0] - 2):at[0]] if not u.maps_to.startswith("rule:")]
    after = [u.word for u in reading.words[at[-1] + 1:at[-1] + 4] if not u.maps_to.startswith("rule:")]
    return " ".join([*before, own, *after]).lower()


def _own_entities(cap) -> set[str]:
    return {cap.entity, *([cap.line_entity] if cap.line_entity else [])}


def _names_other_entity(cap, spec, nouns) -> bool:
    """Does a noun name an entity the document is not made of?"""
    for noun in nouns:
        named = {e.name for e in spec.entities if noun_matches(noun, e.name)
                 or noun_matches(noun, "_".join(re.findall(r"[a-z0-9]+", e.label.lower())))}
        if named and not named & _own_entities(cap):
            return True
    return False


def _roles_named(spec, words) -> set[str]:
    return {r.name for w in words for r in spec.roles
            if noun_matches(w, r.name) or noun_matches(w, "_".join(re.findall(r"[a-z0-9]+", r.label.lower())))}


def _realises_tax(cap, spec, rule, reading) -> bool:
    """A percentage fee rule whose number is `tax_percent`, said of a tax, fee or charge (not a discount)."""
    n = rule_number(rule)
    if rule.category != "fee" or cap.tax_percent is None or not cap.total_field or n is None:
        return False
    if (rule.unit or "").strip().lower() not in _PERCENT or abs(n - float(cap.tax_percent)) > 1e-9:
        return False
    said = _window(rule, reading)
    label = cap.tax_label.lower()
    taxed = _TAX_WORDS.search(said) or re.search(rf"\b{re.escape(label)}\b", said)
    return bool(taxed) and not _NOT_TAX.search(said) and not _names_other_entity(cap, spec, rule.nouns)


def _realises_signoff(cap, spec, rule, reading) -> bool:
    """A sign-off rule naming the capability's own signer ("needs the inspector's sign-off"); or a lock rule
    ("cannot be changed once signed off") when the capability locks and the words name no other role."""
    if cap.signoff_role is None or rule.category not in ("agreement", "block"):
        return False
    said = _window(rule, reading)
    things = [n for n in rule.nouns if not _roles_named(spec, [n])]  # the signer's noun may also be a record
    if not _SIGN.search(said) or _names_other_entity(cap, spec, things):
        return False
    words = [*rule.nouns, *re.findall(r"[a-z][a-z'-]*", said)]
    if re.search(r"\b(second|another|other|different|independent)\b", said) and \
            not getattr(cap, "signer_not_maker", False):
        return False  # "a second technician signs it off": not the one who made it, which nothing here checks
    if re.search(r"\b(only after|only once|not before|until|unless)\b", said) and re.search(
            r"\b(issued|issue|download\w*|sent|send|released?|printed|produced|generated)\b",
            " ".join(w.word for w in reading.words) if reading is not None else said) and \
            not getattr(cap, "pdf_after_signoff", False):
        return False  # "a certificate PDF is issued only after ... signs it off": the PDF is held back till then
    roles = _roles_named(spec, words)
    if roles:
        return roles == {cap.signoff_role}
    return rule.category == "block" and cap.lock_on_signoff and bool(_LOCK.search(said))


def _realises_document(cap, spec, rule, reading) -> bool:
    return _realises_tax(cap, spec, rule, reading) or _realises_signoff(cap, spec, rule, reading)


# ---------------------------------------------------------------------------------------------------- derive

def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _rlabel(spec, role: str) -> str:
    r = spec.role(role)
    return (r.label if r else role.replace("_", " ")).lower()


def _stranger(cap, spec) -> str | None:
    from ..capabilities.document import readers

    rs = readers(cap, spec)
    return next((r.name for r in spec.roles if r.name not in rs), None)


def _bystander(cap, spec) -> str | None:
    """A role that may not sign off: a reader first, the owner last."""
    others = [r.name for r in spec.roles if r.name != cap.signoff_role]
    from ..capabilities.document import readers

    rs = readers(cap, spec)
    return next((r for r in others if r in rs and r != "owner"), None) or next(
        (r for r in others if r != "owner"), None) or next(iter(others), None)


def _params(cap, spec) -> dict:
    from ..capabilities.document import sample_lines, title_of

    ent = spec.entity(cap.entity)
    title = ent.field(title_of(cap, spec))
    return {"capability": cap.id, "entity": cap.entity, "line_entity": cap.line_entity, "line_field": cap.line_field,
            "title_field": title.name if title is not None and title.type in ("text", "long_text") else None,
            "sample": sample_lines(cap, spec), "tax_label": cap.tax_label,
            "tax_percent": None if cap.tax_percent is None else f"{cap.tax_percent:g}",
            "signer": cap.signoff_role, "lock": bool(cap.signoff_role and cap.lock_on_signoff),
            "gated": bool(cap.signoff_role and getattr(cap, "pdf_after_signoff", False)),
            "not_maker": bool(cap.signoff_role and getattr(cap, "signer_not_maker", False)),
            "stranger": _stranger(cap, spec), "bystander": _bystander(cap, spec)}


def _realised(cap, spec, reading, fn) -> list[int]:
    return [i for i, r in enumerate(reading.rules if reading else []) if fn(cap, spec, r, reading)]


def _derive_document(cap, spec, reading, feature) -> list[dict]:
    if spec.entity(cap.entity) is None or (cap.line_entity and spec.entity(cap.line_entity) is None):
        return []
    prm = _params(cap, spec)
    ent = entity_label(spec, cap.entity)
    lines = entity_label(spec, cap.line_entity, True) if cap.line_entity else None
    sample = prm["sample"]
    what = f"{a(ent)} with three {lines}" if lines else a(ent)
    if sample:
        tax = (f" ({sample['shown']['subtotal']} plus {cap.tax_percent:g}% {cap.tax_label} of "
               f"{sample['shown']['tax']})" if cap.tax_percent is not None else "")
        shows = f"lists each line and a total of {sample['shown']['total']}{tax}"
    else:
        shows = "prints its details" + (f" and its {lines}" if lines else "")
    refused = f"; {a(_rlabel(spec, prm['stranger']))} may not download it" if prm["stranger"] else ""
    once = " once signed off" if prm["gated"] else ""
    out = [{"text": _fit(f"{what[:1].upper()}{what[1:]} downloads{once} as a PDF that {shows}{refused}; the same "
                         f"{ent} gives the same file."),
            "template": "document.pdf", "params": prm, "rules": _realised(cap, spec, reading, _realises_tax)}]
    if cap.signoff_role:
        who = _rlabel(spec, cap.signoff_role)
        lock = (f", and so is a change to the {ent}" + (f" or its {lines}" if lines else "")) if prm["lock"] else ""
        other = f"; {a(_rlabel(spec, prm['bystander']))} may not sign it off" if prm["bystander"] else ""
        held = f"Its PDF is refused until {a(who)} signs {a(ent)} off. " if prm["gated"] else ""
        maker = (f"The {who} who created {a(ent)} may not sign it off; when another {who} does"
                 if prm["not_maker"] else f"When {a(who)} signs {a(ent)} off")
        out.append({"text": _fit(f"{held}{maker}, their name and the time are recorded and "
                                 f"printed on its PDF; signing it off again is refused{lock}{other}."),
                    "template": "document.signoff", "params": prm,
                    "rules": _realised(cap, spec, reading, _realises_signoff)})
    return out


# ---------------------------------------------------------------------------------------------------- compile

def _shown_string(text: str) -> str:
    """How an uncompressed PDF content stream shows `text` in one piece: "(VAT \\(20%\\)) Tj"."""
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return f"({escaped}) Tj"


def _writer(p, entity: str) -> str:
    if any(r.name == "owner" and entity in r.write for r in p.spec.roles):
        return "owner"
    return p.writer(entity)


def _reader(p, capability: str) -> str:
    from ..capabilities.document import readers

    cap = p.spec.capability(capability)
    if cap is None or cap.kind != "document":
        raise ScenarioError(f"the spec has no document capability {capability!r}")
    rs = readers(cap, p.spec)
    if not rs:
        raise ScenarioError(f"no role may read the {cap.entity} document")
    return "owner" if "owner" in rs else p.actor(rs[0])


def _setup(p, entity: str, line_entity: str | None, line_field: str | None, sample: dict | None,
           n: int, maker: str | None = None) -> tuple[str, list[str], str | None]:
    """A record made by `maker` (a writer by default) and `n` of its lines (the sample's values); (record var, line
    vars, line writer)."""
    rec = p.make(entity, maker or _writer(p, entity), note=f"{a(p.entity(entity).label.lower())} to print")
    made, who = [], None
    if line_entity:
        ent = p.entity(line_entity)
        if ent.field(line_field) is None or ent.field(line_field).ref != entity:
            raise ScenarioError(f"{line_entity}.{line_field} does not reference {entity}")
        who = _writer(p, line_entity)
        for i in range(n):
            body = {line_field: f"${{{rec}.id}}", **(sample["lines"][i % 3] if sample else {})}
            made.append(p.make(line_entity, who, body, note=f"line {i + 1} of the {p.entity(entity).label.lower()}"))
    return rec, made, who


def _signer_actor(p, signer: str, entity: str, maker: str | None, not_maker: bool) -> str:
    """A user of the signing role who did not make the record (`maker`, else the writer `_setup` picks): a second
    owner when the owner signs and made it."""
    owner_made = maker == "owner" or (maker is None and any(r.name == "owner" and entity in r.write
                                                              for r in p.spec.roles))
    if signer == "owner" and owner_made and not_maker:
        return p.actor("owner", "owner_signer")
    return p.actor(signer)


def _maker(p, entity: str, signer: str) -> str | None:
    """A user of the signing role who creates the record, or None when that role does not create one."""
    if not any(r.name == signer and entity in r.write for r in p.spec.roles):
        return None
    return "owner" if signer == "owner" else p.actor(signer)


def _pdf(p, capability: str, entity: str, line_entity: str | None, line_field: str | None, title_field: str | None,
         sample: dict | None, tax_label: str, tax_percent: str | None, stranger: str | None, signer: str | None = None,
         gated: bool = False, not_maker: bool = False, **_ignored) -> None:
    reader = _reader(p, capability)
    rec, lines, _who = _setup(p, entity, line_entity, line_field, sample, 3)
    base = f"/api/{capability}/records/${{{rec}.id}}"
    if gated and signer:
        p.step(reader, "GET", f"{base}.pdf", expect=409, checks=[{"path": "error.code", "op": "eq",
                                                                  "value": "not_signed_off"}],
               note="its PDF is not issued before the sign-off")
        p.step(_signer_actor(p, signer, entity, None, not_maker), "POST", f"{base}/signoff", json={"name": "Issuing Signer"},
               expect=200, note=f"the {_rlabel(p.spec, signer)} signs it off, so its PDF is issued")
    checks = [{"path": "lines", "op": "len", "value": len(lines)}]
    if title_field:
        checks.append({"path": "title", "op": "eq", "value": f"${{{rec}.{title_field}}}"})
    if sample:
        checks += [{"path": "total", "op": "eq", "value": sample["total"]},
                   {"path": "subtotal", "op": "eq", "value": sample["subtotal"]},
                   {"path": "tax", "op": "eq", "value": sample["tax"]}]
    p.step(reader, "GET", base, expect=200, checks=checks, note="what the document prints")
    shown = [{"op": "text_contains", "value": "%PDF-"}]
    if title_field:
        shown.append({"op": "text_contains", "value": f"${{{rec}.{title_field}}}"})
    if sample:
        shown += [{"op": "text_contains", "value": _shown_string("Total")},
                  {"op": "text_contains", "value": _shown_string(sample["shown"]["total"])}]
        if tax_percent:
            shown += [{"op": "text_contains", "value": _shown_string(f"{tax_label} ({tax_percent}%)")},
                      {"op": "text_contains", "value": _shown_string(sample["shown"]["tax"])}]
    p.step(reader, "GET", f"{base}.pdf", expect=200, checks=shown, note="the PDF prints the lines and the totals")
    p.step("anon", "GET", f"{base}.pdf", expect=401, note="a visitor who is not signed in may not download it")
    if stranger:
        p.step(p.actor(stranger), "GET", f"{base}.pdf", expect=403,
               note=f"{a(_rlabel(p.spec, stranger))} may not download it")
    p.step(reader, "GET", f"/api/{capability}/records/999999.pdf", expect=404, note="an unknown record: 404")


def _signoff(p, capability: str, entity: str, line_entity: str | None, line_field: str | None, sample: dict | None,
             signer: str | None, lock: bool, bystander: str | None, gated: bool = False, not_maker: bool = False,
             **_ignored) -> None:
    if not signer:
        raise ScenarioError(f"document {capability!r} has no sign-off")
    reader = _reader(p, capability)
    maker = _maker(p, entity, signer) if not_maker else None
    rec, lines, who = _setup(p, entity, line_entity, line_field, sample, 1, maker=maker)
    base = f"/api/{capability}/records/${{{rec}.id}}"
    name = "Criteria Signer"
    if gated:
        p.step(reader, "GET", f"{base}.pdf", expect=409, checks=[{"path": "error.code", "op": "eq",
                                                                  "value": "not_signed_off"}],
               note="its PDF is refused until it is signed off")
    if maker:
        p.step(maker, "POST", f"{base}/signoff", json={"name": "Own Maker"}, expect=403,
               checks=[{"path": "error.code", "op": "eq", "value": "own_record"}],
               note=f"the {_rlabel(p.spec, signer)} who created it may not sign it off")
    if bystander:
        p.step(p.actor(bystander), "POST", f"{base}/signoff", json={"name": "Not Allowed"}, expect=403,
               note=f"{a(_rlabel(p.spec, bystander))} may not sign it off")
    p.step("anon", "POST", f"{base}/signoff", json={}, expect=401, note="nor may a visitor who is not signed in")
    sig = _signer_actor(p, signer, entity, maker, not_maker)
    p.step(sig, "POST", f"{base}/signoff", json={"name": name}, expect=200,
           checks=[{"path": "signoff.name", "op": "eq", "value": name},
                   {"path": "signoff.role", "op": "eq", "value": signer},
                   {"path": "signoff.at", "op": "eq", "value": p.scenario["now"] + "Z"}],
           note=f"the {_rlabel(p.spec, signer)} signs it off: name and time recorded")
    p.step(sig, "POST", f"{base}/signoff", json={"name": "Second Try"}, expect=409,
           checks=[{"path": "error.code", "op": "eq", "value": "already_signed"}], note="a second sign-off is refused")
    p.step(reader, "GET", f"{base}.pdf", expect=200,
           checks=[{"op": "text_contains", "value": f"Signed off by {name}"}], note="the PDF names the signer")
    if lock:
        ent = p.entity(entity)
        p.step(_writer(p, entity), "PATCH", f"/api/{ent.plural}/${{{rec}.id}}", json=p.payload(entity), expect=409,
               checks=[{"path": "error.code", "op": "eq", "value": "locked"}],
               note=f"the signed {ent.label.lower()} can no longer be changed")
        if lines:
            le = p.entity(line_entity)
            p.step(who, "PATCH", f"/api/{le.plural}/${{{lines[0]}.id}}", json=p.payload(line_entity), expect=409,
                   checks=[{"path": "error.code", "op": "eq", "value": "locked"}],
                   note="nor can its lines")
    p.step(reader, "GET", base, expect=200, checks=[{"path": "signoff.name", "op": "eq", "value": name},
                                                    {"path": "locked", "op": "eq", "value": lock}],
           note="the document shows its sign-off")


REALISES = {"document": _realises_document}
DERIVE = {"document": _derive_document}
COMPILE = {"document.pdf": _pdf, "document.signoff": _signoff}
