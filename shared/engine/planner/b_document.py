"""Planner builder for the `document` kind (a proposal; the lead wires it into capmap.BUILDERS).

"Issue invoices with line items and 20% VAT as PDF", "certificates signed off by the instructor", "an
inspection report signed by the inspector": the record the feature names is the document; the records that
point at it (or "line items" the words ask for) are its lines; a money field of the lines (times a quantity
field when the lines have one) is totalled; a stated percentage said of a tax or fee is added; a sign-off names
its role ("signed off by the inspector", "the instructor's sign-off"), which must be a role of the idea.
"""

from __future__ import annotations

import re

from .text import singular

#: words asking for lines on a document
LINE_WORDS = re.compile(r"\b(line[- ]?items?|lines|items|entries|rows|breakdown|itemi[sz]ed)\b")
#: a stated percentage of a tax or fee: "20% VAT", "VAT at 20%", "a 12.5% service charge"
_NUM = r"(\d+(?:\.\d+)?)\s?(?:%|percent|per ?cent)"
_TAX = r"(vat|gst|hst|sales tax|tax|service charge|service fee|booking fee|fee|surcharge|levy|duty)"
TAX_AFTER = re.compile(rf"{_NUM}\s+(?:of\s+|in\s+)?{_TAX}\b")
TAX_BEFORE = re.compile(rf"\b{_TAX}\s+(?:of|at|is|=)?\s*{_NUM}")
NOT_TAX = re.compile(r"\b(off|discounts?|deposits?|refunds?|tips?)\b")
#: who signs: "signed off by the inspector", "the instructor signs off", "the vet's signature"
SIGN = re.compile(r"\b(sign(s|ed|ing)?([- ]?off)?|sign-?offs?|signatures?|countersign\w*)\b")
SIGNED_BY = re.compile(r"\b(?:signed|countersigned|sign(?:ed)?[- ]?off|approved|certified)(?: off)? by (?:the |a |an |"
                       r"their |its |each |every )?(?:(?:second|another|other|different|independent|separate) )?"
                       r"([a-z][a-z'-]*)")
SIGNER_BEFORE = re.compile(r"\b(?:the |a |an |each |every )?([a-z][a-z'-]*?)(?:'s|s')? (?:signs?(?: off)?|sign-?off|"
                           r"signature|countersigns?|(?:has|have|had) (?:signed|countersigned))\b")
#: the document is held back until it is signed off: "issued only after the inspector signs it off", "can't be
#: released until the supervisor has signed it", "never sent before it is signed"
_HANDED = r"(?:issu|send|sent|releas|download|print|email|mail|publish|deliver|hand|shar|given|giv)\w*"
_NEG = r"(?:can ?not|can't|cannot|may not|must not|mustn't|won't|will not|never|isn't|is not|aren't|are not|not|no)"
HELD_UNTIL_SIGNED = re.compile(
    rf"\b{_HANDED}(?: out)?\b[^.;:]*?\b(?:only (?:after|once|when|if)|not (?:before|until)|until|unless|till)\b"
    rf"|\b{_NEG}\b(?: \w+){{0,3}}? {_HANDED}\b[^.;:]*?\bbefore\b"
    rf"|^(?:only )?(?:after|once)\b[^.;:]*?\bsign\w*[^.;:]*?\b{_HANDED}\b")
#: someone other than the record's maker signs: "a second technician signs", "countersigned by another nurse",
#: "an independent reviewer", "not the person who created it", "cannot sign off their own report"
OTHER_SIGNER = re.compile(r"\b(?:second|another|other|different|independent|separate)\b(?: [a-z'-]+)?(?: [a-z'-]+)? "
                          r"(?:signs?|countersigns?|has signed|must sign|sign(?:ed)?[- ]?off|signature)\b"
                          r"|\b(?:signed|countersigned|sign(?:ed)?[- ]?off)(?: off)? by (?:a |an )?(?:second|another|"
                          r"different|independent|separate)\b"
                          r"|\bfour[- ]eyes\b|\bother than (?:the|its|their|whoever)\b"
                          r"|\bnot (?:by )?(?:the (?:same )?\w+|whoever) (?:who|that) (?:made|created|wrote|drafted|prepared"
                          r"|raised|entered|issued)\b|\bsign\w*(?: off)? (?:their|his|her|your) own\b")
NO_LOCK = re.compile(r"\b(still|remains?|stays?) (editable|changeable)\b|\bcan (still )?be (edited|changed) after\b")
PRICE_WORDS = ("amount", "price", "cost", "rate", "fee", "charge", "total", "subtotal", "value", "sum")
QUANTITY_WORDS = ("quantity", "qty", "units", "days", "hours", "nights", "weeks", "count", "number")
SCORE_WORDS = ("score", "points", "marks", "rating", "hours")
MONEY_WORDS = re.compile(r"\b(vat|tax|gst|invoices?|receipts?|bills?|totals?|prices?|costs?|amounts?|charges?|fees?|"
                         r"quotes?|estimates?)\b")
_LABELS = {"vat": "VAT", "gst": "GST", "hst": "HST"}
#: nouns of records that are documents themselves: preferred as the document's record when the words name one
DOCUMENT_NOUNS = frozenset({"invoice", "receipt", "certificate", "report", "note", "statement", "quote", "estimate",
                            "bill", "order", "contract", "licence", "license", "permit", "diploma", "award",
                            "ticket", "voucher", "letter"})


def stated_tax(text: str) -> tuple[float, str] | None:
    """(percent, label) of a tax or fee the words add, or None ("20% VAT" -> (20.0, "VAT"))."""
    low = text.lower()
    for pat, num_group, tax_group in ((TAX_AFTER, 1, 2), (TAX_BEFORE, 2, 1)):
        m = pat.search(low)
        if m and not NOT_TAX.search(low[max(0, m.start() - 12):m.end() + 6]):
            pct = float(m.group(num_group))
            word = m.group(tax_group)
            if 0 < pct <= 100:
                return pct, _LABELS.get(word, word.capitalize())
    return None


def _clauses(low: str) -> list[str]:
    """The sentences of the words (the held-back document and its sign-off are said in one)."""
    return [c.strip() for c in re.split(r"[.;!?]\s+|\n", low) if c.strip()]


def _signer(ctx) -> str | None:
    """The role the words say signs: "signed off by the inspector", "the instructor signs off"."""
    roles = ctx.draft.roles
    low = ctx.low
    for m in (*SIGNED_BY.finditer(low), *SIGNER_BEFORE.finditer(low)):
        name = singular(m.group(1).replace("'", ""))
        if name in roles:
            return name
    return None


def _pick(fields, words: tuple[str, ...], ctx) -> str | None:
    """A field whose name has one of `words`, the ones the feature names first."""
    named = [f for f in fields if any(p in ctx.words for p in f.name.split("_"))]
    for pool in (named, fields):
        for f in pool:
            if any(w in f.name.split("_") for w in words):
                return f.name
    return None


_DETERMINERS = frozenset({"a", "an", "the", "each", "every", "its", "their", "our", "this", "that"})


def _compound(words: list[str], i: int) -> str | None:
    """The document's name with the nouns that qualify it between a determiner and it ("a gas safety certificate"
    -> gas_safety_certificate), or None when no determiner leads them or a word could not be a noun."""
    from .draft import safe_name
    from .pos import classes, never_noun

    for k in (2, 1):
        if i - k - 1 < 0 or words[i - k - 1] not in _DETERMINERS:
            continue
        mods = words[i - k:i]
        if all(not never_noun(w) and "NOUN" in classes(w) and not w.endswith(("ed", "ing")) and
               singular(w) not in DOCUMENT_NOUNS and w not in ("pdf", "pdfs", "printable", "signed") for w in mods):
            return safe_name("_".join([*mods, singular(words[i])]))
    return None


def _document_record(ctx) -> str | None:
    """The record the words name as a document ("course certificates" -> certificate, linked to course; "an
    inspection report" -> the inspection when it is a record), made when the idea has none yet."""
    from .draft import safe_name
    from .reading import FUNCTION_WORDS

    d = ctx.draft
    words = re.findall(r"[a-z][a-z'-]*", ctx.low)
    for i, w in enumerate(words):
        noun = singular(w)
        if noun not in DOCUMENT_NOUNS:
            continue
        prev = singular(words[i - 1]) if i and words[i - 1] not in FUNCTION_WORDS else None
        pair = safe_name(f"{prev}_{noun}") if prev else None
        for name in (pair, prev if noun == "report" else None, noun):
            if name and name in d.entities and not d.entities[name].people and not d.entities[name].join:
                return name
        name = pair if prev and noun in ("note", "report", "statement", "order", "letter") and prev not in \
            d.entities and prev not in d.roles else _compound(words, i) or noun
        d.add_entity(name, ctx.text)
        d.add_field(name, "title", "text", ctx.text, origin="structure", required=True)
        if prev in d.entities and not d.entities[prev].people:
            d.add_ref(name, prev, ctx.text, required=True)
        return name
    return None


def _line_entity(ctx, record: str) -> str | None:
    d = ctx.draft
    children = [e.name for e in d.entities.values() if not e.people and not e.join and e.name != record
                and any(f.type == "reference" and f.ref == record for f in e.fields.values())]
    named = [c for c in children if c in ctx.mentioned]
    if named or children:
        return (named or children)[0]
    if not LINE_WORDS.search(ctx.low):
        return None
    line = d.add_entity(f"{record}_line", ctx.text)
    d.add_field(line.name, "title", "text", ctx.text, origin="structure", required=True)
    if not d.add_ref(line.name, record, ctx.text, required=True):
        return None
    return line.name


def b_document(ctx) -> dict:
    from .capmap import NotFit, _ensure, _main, label_of

    d = ctx.draft
    record = _document_record(ctx) or _main(ctx, prefer_things=True)
    if record not in d.entities or d.entities[record].people or d.entities[record].join:
        raise NotFit("the words do not name the record the document is made from (an invoice, a certificate, a "
                     "report)")
    out: dict = {"entity": record, "header_fields": [], "line_entity": None, "line_field": None, "line_columns": [],
                 "total_field": None, "quantity_field": None, "tax_percent": None, "tax_label": "Tax",
                 "signoff_role": None, "lock_on_signoff": True, "pdf_after_signoff": False,
                 "signer_not_maker": False}
    tax = stated_tax(ctx.text)
    line = _line_entity(ctx, record)
    if line is None and tax is not None:
        raise NotFit(f"a {tax[0]:g}% {tax[1]} is added to the total of a document's lines, and the words do not "
                     f"say what the {label_of(record)}'s lines are")
    if line is not None:
        ref = f"{record}_id"
        if ref not in d.entities[line].fields:
            raise NotFit(f"{label_of(line)} has no link to {label_of(record)}")
        d.entities[line].fields[ref].required = True
        fields = [f for f in d.entities[line].fields.values() if f.type != "reference"]
        money = [f for f in fields if f.type == "money"]
        numbers = [f for f in fields if f.type in ("integer", "decimal")]
        total = _pick(money, PRICE_WORDS, ctx) or (money[0].name if money else None)
        if total is None and (tax is not None or MONEY_WORDS.search(ctx.low)):
            total = _ensure(ctx, line, "amount", "money", min=0, required=True)
        if total is None:
            total = _pick(numbers, SCORE_WORDS, ctx)
        quantity = _pick([f for f in numbers if f.name != total], QUANTITY_WORDS, ctx) if total in {
            f.name for f in money} or (total and tax) else None
        columns = [f.name for f in fields if f.type in ("text", "long_text", "enum", "date") and f.name not in
                   (total, quantity)][:4]
        if not columns:
            columns = [_ensure(ctx, line, "title", "text", required=True)]
        out.update(line_entity=line, line_field=ref, line_columns=columns, total_field=total, quantity_field=quantity)
    if tax is not None:
        if out["total_field"] is None:
            raise NotFit(f"a {tax[0]:g}% {tax[1]} needs an amount on each line to add it to")
        out.update(tax_percent=tax[0], tax_label=tax[1])
    if SIGN.search(ctx.low):
        signer = _signer(ctx)
        if signer is None:
            raise NotFit("the words say the document is signed off but not by whom; name the role that signs "
                         "(e.g. 'signed off by the inspector')")
        held = any(HELD_UNTIL_SIGNED.search(c) and SIGN.search(c) for c in _clauses(ctx.low))
        out.update(signoff_role=signer, lock_on_signoff=not NO_LOCK.search(ctx.low), pdf_after_signoff=held,
                   signer_not_maker=bool(OTHER_SIGNER.search(ctx.low)))
    fields = list(d.entities[record].fields.values())
    title = next((f for f in fields if f.name in ("name", "title") and f.type == "text"), None) or next(
        (f for f in fields if f.type == "text"), None)  # the display field the planner will choose
    out["header_fields"] = [f.name for f in fields if f is not title and f.type not in ("file", "long_text")
                            and not re.fullmatch(rf"{_TAX}|lines?|items?|pdfs?", f.name)][:6]
    return out
