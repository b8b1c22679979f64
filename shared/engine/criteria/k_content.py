"""Criteria for the content capabilities: search, export, audit_log, public_page, live_board, matrix, ai_summary.

None of them enforces a numeric rule, so `REALISES` is False for every rule, with one exception: an audit log
realises a block rule saying its history cannot be edited or deleted ("the audit trail is append-only", "log
entries can never be changed", "... audit trail of sample changes that cannot be edited") when the rule is about
the history itself (of audited entities), never when it says a record itself cannot be edited.

Scenarios only use what the generated routes really answer (see each capability's module.py.j2).
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, field_label, noun_matches

_a = a
_ent_label = entity_label
_field_label = field_label


TEXT_TYPES = ("text", "long_text")
#: distinctive words that no sample value holds (and none is a prefix of another)
WORDS = ("quokkazed", "narwhalix", "axolotlum", "pangolire", "okapivet", "tapirusk", "dugongar", "caracalo")


# ---------------------------------------------------------------- shared helpers


def _role_label(spec, role: str | None) -> str:
    r = spec.role(role) if role else None
    return (r.label if r else (role or "user").replace("_", " ")).lower()


def _listing(words: list[str], conj: str = "and") -> str:
    return ", ".join(words[:-1]) + (f" {conj} " if len(words) > 1 else "") + (words[-1] if words else "")


def _reads(role, entity: str) -> bool:
    return entity in role.read or entity in role.write


def _readers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if _reads(r, entity)]


def _writers(spec, entity: str) -> list[str]:
    return [r.name for r in spec.roles if entity in r.write]


def _watcher(spec, entities: list[str]) -> str | None:
    """A role that reads every one of `entities`, preferring one that writes none of them (a pure reader)."""
    rs = [r.name for r in spec.roles if all(_reads(r, e) for e in entities)]
    pure = [n for n in rs if n != "owner" and not any(n in _writers(spec, e) for e in entities)]
    others = [n for n in rs if n != "owner"]
    return (pure or others or rs or [None])[0]


def _viewer(spec, entities: list[str]) -> str | None:
    """A role that reads every one of `entities`, as `_watcher` picks it, among the roles that read each either in
    full or only where the row is its own (read_own) and may make their own rows of it (a scenario can then give
    it rows that are its own)."""
    ok = {r.name for r in spec.roles if all(e not in r.read_own or e in r.write for e in entities)}
    rs = [r.name for r in spec.roles if r.name in ok and all(_reads(r, e) for e in entities)]
    pure = [n for n in rs if n != "owner" and not any(n in _writers(spec, e) for e in entities)]
    others = [n for n in rs if n != "owner"]
    return (pure or others or rs or [None])[0]


def _reads_own_only(spec, role: str | None, entity: str) -> bool:
    r = spec.role(role) if role else None
    return r is not None and entity in r.read_own


def _outsider(spec, entities: list[str]) -> str | None:
    """A role (not the owner) that may read none of `entities`."""
    return next((r.name for r in spec.roles if r.name != "owner" and not any(_reads(r, e) for e in entities)),
                None)


def _maker(p, entity: str) -> str:
    """The owner when the owner may write `entity` (one account makes all linked rows), else a writer."""
    owner = p.spec.role("owner")
    return "owner" if owner is not None and entity in owner.write else p.writer(entity)


def _managed(p, entity: str, field: str) -> bool:
    """Does a capability fix this field's value on new rows (so a scenario cannot choose it)?"""
    return any(m["name"] == field and "sample" in m for m in p.meta[entity]["fields"])


def _text(p, entity: str, field: str, words: str) -> str:
    """`words` as a value of text field `field`, padded to its minimum length; ScenarioError when it cannot fit."""
    f = p.entity(entity).field(field)
    if f is None or f.type not in TEXT_TYPES:
        raise ScenarioError(f"{entity}.{field} is not a text field")
    if _managed(p, entity, field):
        raise ScenarioError(f"{entity}.{field} is set by a capability, so a scenario cannot choose its text")
    hi = int(f.max) if f.max is not None else (200 if f.type == "text" else 2000)
    lo = int(f.min or 0)
    value = words if len(words) >= lo else words + " " + "x" * max(1, lo - len(words) - 1)
    if len(value) > hi:
        raise ScenarioError(f"{entity}.{field} holds at most {hi} characters, too few for {words!r}")
    return value


def _fits(spec, entity: str, field: str, n: int) -> bool:
    f = spec.entity(entity).field(field)
    hi = int(f.max) if f.max is not None else (200 if f.type == "text" else 2000)
    return hi >= n


def _refusals(p, path: str, outsider: str | None, what: str) -> None:
    """Nobody signed out, and no role without read access, gets `path`."""
    p.step("anon", "GET", path, expect=401, note=f"without signing in, {what} is refused")
    if outsider:
        p.step(p.actor(outsider), "GET", path, expect=403,
               note=f"{_a(_role_label(p.spec, outsider))}, who may not read it, is refused {what}")


# ---------------------------------------------------------------- search

def _derive_search(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None or not _writers(spec, cap.entity):
        return []
    fields = [f for f in cap.fields if ent.field(f) is not None and ent.field(f).type in TEXT_TYPES]
    if not fields:
        return []
    reader = _viewer(spec, [cap.entity])
    outsider = _outsider(spec, [cap.entity])
    where = _listing([_field_label(spec, cap.entity, f) for f in fields], "or")
    own = _reads_own_only(spec, reader, cap.entity)  # it finds its own, never another's with the same word
    text = (f"{_a(_role_label(spec, reader)).capitalize()} searching {ent.label_plural.lower()} for a word finds "
            f"the {ent.label.lower()} {'they added ' if own else ''}with that word in its {where} and no other "
            f"{ent.label.lower()}" + (f", not even another {_role_label(spec, reader)}'s with the same word"
                                      if own else "")
            + (f"; {_a(_role_label(spec, outsider))} may not search." if outsider else "."))
    return [{"text": text, "template": "search.finds_word",
             "params": {"cap": cap.id, "entity": cap.entity, "fields": fields, "reader": reader,
                        "outsider": outsider}, "rules": []}]


def _search_finds_word(p, cap: str, entity: str, fields: list[str], reader: str | None,
                       outsider: str | None = None) -> None:
    ent = p.entity(entity)
    if len(fields) > len(WORDS):
        raise ScenarioError(f"at most {len(WORDS)} searched fields")
    writer = p.writer(entity)
    who = p.actor(reader) if reader else writer
    theirs = p.reads_own(who, entity)  # under read_own it searches among its own rows: they are made by it
    if theirs:
        writer = who
    other = p.make(entity, writer, note=f"a {ent.label.lower()} without any of the searched words")
    found = []
    for word, field in zip(WORDS, fields, strict=False):
        phrase = f"{word} {ent.label.lower()}"
        value = _text(p, entity, field, phrase if _fits(p.spec, entity, field, len(phrase)) else word)
        if theirs:  # another user of its role holds the same word: never found
            p.make(entity, p.actor(p.scenario["actors"][who]), {field: value},
                   note=f"another's {ent.label.lower()} whose {_field_label(p.spec, entity, field)} holds {word!r}")
        var = p.make(entity, writer, {field: value},
                     note=f"a {ent.label.lower()} whose {_field_label(p.spec, entity, field)} holds {word!r}")
        found.append((word, field, var))
    for word, field, var in found:
        p.step(who, "GET", f"/api/{cap}?q={word}", expect=200,
               note=f"search for {word!r}, held in a {_field_label(p.spec, entity, field)}",
               checks=[{"path": "items", "op": "len", "value": 1},
                       {"path": "items.0.record.id", "op": "eq", "value": f"${{{var}.id}}"},
                       {"path": "items.0.record.id", "op": "ne", "value": f"${{{other}.id}}"}])
    p.step(who, "GET", f"/api/{cap}?q=zzqqvvnomatch", expect=200, note="a word no record holds finds nothing",
           checks=[{"path": "items", "op": "len", "value": 0}])
    p.step(who, "GET", f"/api/{cap}?q=", expect=400, note="an empty search is refused")
    _refusals(p, f"/api/{cap}?q={found[0][0]}", outsider, "the search")


# ---------------------------------------------------------------- export

def _derive_export(cap, spec, reading, feature) -> list[dict]:
    ents = [e for e in cap.entities if spec.entity(e) is not None and _writers(spec, e)]
    out = []
    if ents:
        readers = {e: _viewer(spec, [e]) for e in ents}
        outsiders = {e: o for e in ents if (o := _outsider(spec, [e]))}
        plurals = _listing([_ent_label(spec, e, True) for e in ents])
        who = {_role_label(spec, r) for r in readers.values()}
        refused = "; ".join(f"{_a(_role_label(spec, o))} may not download the {_ent_label(spec, e, True)}"
                            for e, o in outsiders.items())
        # a reader of its own rows only (read_own) lists the ones it added, and no one else's
        own = [e for e in ents if _reads_own_only(spec, readers[e], e)]
        others = "; ".join(f"no other {_role_label(spec, readers[e])}'s {_ent_label(spec, e, True)}" for e in own)
        text = ((f"{_a(who.pop()).capitalize()} downloads {plurals}" if len(who) == 1
                 else f"Those who may read {plurals} download them")
                + f" as CSV spreadsheets that list each {' and '.join(_ent_label(spec, e) for e in ents)} "
                  f"{'they' if own else ''}{' ' if own else ''}just added" + (f", and {others}" if own else "")
                + (f"; {refused}." if refused else "."))
        out.append({"text": text, "template": "export.csv",
                    "params": {"cap": cap.id, "entities": ents, "readers": readers, "outsiders": outsiders},
                    "rules": []})
    for e in ents if getattr(cap, "period", None) else []:
        date_field = cap.date_fields.get(e)
        if not date_field or spec.entity(e).field(date_field) is None:
            continue
        per = cap.period
        text = (f"{_a(_role_label(spec, readers[e])).capitalize()} downloads the {per}'s "
                f"{_ent_label(spec, e, True)} as CSV for a chosen day: {_a(_ent_label(spec, e))} whose "
                f"{_field_label(spec, e, date_field)} falls in that {per} is listed, and one in the {per} before "
                f"and one in the {per} after are not.")
        out.append({"text": text, "template": "export.period",
                    "params": {"cap": cap.id, "entity": e, "date_field": date_field, "period": per,
                               "reader": readers[e]},
                    "rules": []})
    pdf = cap.pdf_entity
    if pdf and spec.entity(pdf) is not None and _writers(spec, pdf):
        reader = _viewer(spec, [pdf])
        outsider = _outsider(spec, [pdf])
        own = _reads_own_only(spec, reader, pdf)
        text = (f"{_a(_role_label(spec, reader)).capitalize()} downloads a PDF report of one "
                f"{_ent_label(spec, pdf)}{' of their own' if own else ''}; a report of "
                f"{_a(_ent_label(spec, pdf))} that does not exist"
                + (f", or another {_role_label(spec, reader)}'s," if own else "") + " is refused"
                + (f", and {_a(_role_label(spec, outsider))} may not download it." if outsider else "."))
        out.append({"text": text, "template": "export.pdf",
                    "params": {"cap": cap.id, "entity": pdf, "reader": reader, "outsider": outsider},
                    "rules": []})
    return out


def _marked_row(p, entity: str, word: str, maker: str | None = None) -> tuple[str, str | None]:
    """A new row of `entity` with `word` in its display field (or its first free text field), made by `maker` (a
    writer when None); (var, text)."""
    ent = p.entity(entity)
    maker = maker or p.writer(entity)
    order = [ent.display_field] + [f.name for f in ent.fields if f.name != ent.display_field]
    field = next((n for n in order if ent.field(n) is not None and ent.field(n).type in TEXT_TYPES
                  and not _managed(p, entity, n) and _fits(p.spec, entity, n, len(word))), None)
    if field is None:
        return p.make(entity, maker, note=f"add a {ent.label.lower()}"), None
    value = _text(p, entity, field, word)
    return p.make(entity, maker, {field: value},
                  note=f"add a {ent.label.lower()} whose {_field_label(p.spec, entity, field)} is {value!r}"), value


def _others_row(p, entity: str, who: str) -> str | None:
    """When `who` reads `entity` only where its own (read_own): a row another user of its role made, which `who`
    must not see (its variable); else None."""
    if not p.reads_own(who, entity):
        return None
    role = p.scenario["actors"][who]
    return p.make(entity, p.actor(role), note=f"another {role.replace('_', ' ')} adds a "
                                               f"{p.entity(entity).label.lower()}")


def _export_csv(p, cap: str, entities: list[str], readers: dict, outsiders: dict | None = None) -> None:
    outsiders = outsiders or {}
    if len(entities) > len(WORDS):
        raise ScenarioError(f"at most {len(WORDS)} exported entities")
    for word, entity in zip(WORDS, entities, strict=False):
        ent = p.entity(entity)
        who = p.actor(readers[entity]) if readers.get(entity) else "owner"
        other = _others_row(p, entity, who)
        var, value = _marked_row(p, entity, word, who if other else None)  # under read_own, its own row
        checks = [{"op": "text_contains", "value": "\r\n${" + var + ".id},"}]
        if value is not None:
            checks.append({"op": "text_contains", "value": value})
        if other:
            checks.append({"op": "text_not_contains", "value": "\r\n${" + other + ".id},"})
        dated = entity in (getattr(p.spec.capability(cap), "date_fields", None) or {})
        p.step(who, "GET", f"/api/{cap}/{ent.plural}.csv{'?all=1' if dated else ''}", expect=200, checks=checks,
               note=f"the CSV of {ent.label_plural.lower()} has the new row"
                    + (" (all=1: every row, whatever its date)" if dated else ""))
    for entity in entities:
        ent = p.entity(entity)
        _refusals(p, f"/api/{cap}/{ent.plural}.csv", outsiders.get(entity),
                  f"the CSV of {ent.label_plural.lower()}")


#: per period: (a day in it, a day in the period before, a day in the period after)
_PERIOD_DAYS = {"day": ("2030-01-10", "2030-01-09", "2030-01-11"),
                "week": ("2030-01-10", "2030-01-06", "2030-01-14"),  # 2030-01-07 is a Monday
                "month": ("2030-01-10", "2029-12-31", "2030-02-01"),
                "quarter": ("2030-01-10", "2029-12-31", "2030-04-01"),
                "year": ("2030-01-10", "2029-12-31", "2031-01-01")}


def _export_period(p, cap: str, entity: str, date_field: str, period: str, reader: str | None) -> None:
    """Rows dated in a period, the one before and the one after: the CSV for a day of the period lists only the
    first; with all=1 it lists all three."""
    from ..capabilities._booking_slots import SampleSlots

    ent = p.entity(entity)
    f = ent.field(date_field)
    if f is None or f.type not in ("date", "datetime"):
        raise ScenarioError(f"{entity}.{date_field} is not a date field")
    if _managed(p, entity, date_field):
        raise ScenarioError(f"{entity}.{date_field} is set by a capability, so a scenario cannot choose it")
    who = p.actor(reader) if reader else "owner"
    maker = who if p.makes_own(who, entity) else None
    slot = SampleSlots(p.spec, entity).limit_row_slot(date_field)
    at, before, after = _PERIOD_DAYS[period]

    def value(day: str) -> str:
        return day if f.type == "date" else f"{day}T12:00:00Z"

    label = ent.label.lower()
    rows = [p.make(entity, maker, slot({date_field: value(day)}),
                   note=f"add {_a(label)} dated {day} ({which})")
            for day, which in ((at, f"in the {period} asked for"), (before, f"the {period} before"),
                               (after, f"the {period} after"))]
    ids = ["\r\n${" + v + ".id}," for v in rows]
    p.step(who, "GET", f"/api/{cap}/{ent.plural}.csv?on={at}", expect=200,
           checks=[{"op": "text_contains", "value": ids[0]}, {"op": "text_not_contains", "value": ids[1]},
                   {"op": "text_not_contains", "value": ids[2]}],
           note=f"the CSV for the {period} of {at} lists only the {label} dated in it")
    p.step(who, "GET", f"/api/{cap}/{ent.plural}.csv?all=1", expect=200,
           checks=[{"op": "text_contains", "value": i} for i in ids],
           note=f"with all=1 the CSV lists every {label}")
    p.step(who, "GET", f"/api/{cap}/{ent.plural}.csv?on=someday", expect=400,
           checks=[{"path": "error.code", "op": "eq", "value": "bad_date"}],
           note="a day that is not YYYY-MM-DD is refused with a message naming the format")


def _export_pdf(p, cap: str, entity: str, reader: str | None, outsider: str | None = None) -> None:
    ent = p.entity(entity)
    who = p.actor(reader) if reader else "owner"
    other = _others_row(p, entity, who)
    var, _ = _marked_row(p, entity, WORDS[0], who if other else None)  # under read_own, its own row
    p.step(who, "GET", f"/api/{cap}/{ent.plural}/${{{var}.id}}.pdf", expect=200,
           checks=[{"op": "text_contains", "value": "%PDF-"}], note=f"the PDF report of the {ent.label.lower()}")
    p.step(who, "GET", f"/api/{cap}/{ent.plural}/999999.pdf", expect=404,
           note=f"a report of a {ent.label.lower()} that does not exist is refused")
    if other:
        p.step(who, "GET", f"/api/{cap}/{ent.plural}/${{{other}.id}}.pdf", expect=404,
               note=f"a report of another's {ent.label.lower()} is refused")
    _refusals(p, f"/api/{cap}/{ent.plural}/${{{var}.id}}.pdf", outsider, "the report")


# ---------------------------------------------------------------- audit_log

_HISTORY = re.compile(r"\b(history|histories|log|logs|logbook|audit|audits|audited|trail|trails|entry|entries|"
                      r"changelog)\b")
_IMMUTABLE = re.compile(
    r"append[- ]only|immutable|tamper[- ]?(proof|evident)|read[- ]only|"
    r"\b(cannot|can ?not|can't|never|must not|mustn't|may not|no one|nobody|not be|won't|unable)\b.*"
    r"\b(edit\w*|chang\w*|alter\w*|modif\w*|delet\w*|remov\w*|rewrit\w*|eras\w*|overwrit\w*|tamper\w*|"
    r"updat\w*)")
_VERB = re.compile(r"(edit|chang|alter|modif|delet|remov|rewrit|eras|overwrit|tamper|updat)\w*")
_GENERIC = {"change", "changes", "edit", "edits", "record", "records", "event", "events", "action", "actions",
            "activity", "update", "updates", "version", "versions", "revision", "revisions", "all", "every"}
_CHANGES = {"change", "changes", "edit", "edits", "revision", "revisions", "update", "updates"}


def _noun_kind(cap, noun: str) -> str:
    """history | audited_history | audited | other | none: what a rule's noun names."""
    words = re.findall(r"[a-z0-9]+", noun.lower())
    hist = any(_HISTORY.fullmatch(w) for w in words)
    rest = [w for w in words if not _HISTORY.fullmatch(w) and w not in _GENERIC and not _VERB.fullmatch(w)]
    if rest:
        if any(noun_matches(" ".join(rest), e) for e in cap.entities):
            return "audited_history" if hist else "audited"
        return "other"
    return "history" if hist else "none"


def _subject_is_history(cap, rule, reading) -> bool:
    """Is the word just before the rule's words in the feature the history ("audit trail ... that cannot be
    edited", "changes that cannot be deleted" in a feature naming this log)?"""
    if reading is None or rule not in reading.rules:
        return False
    tag = f"rule:{reading.rules.index(rule)}"
    uses = reading.words
    at = next((n for n, u in enumerate(uses) if u.maps_to == tag), None)
    if not at:
        return False
    before = uses[at - 1]
    if _HISTORY.fullmatch(before.word.lower()) or before.maps_to == f"capability:{cap.id}":
        return True
    names_log = any(u.maps_to == f"capability:{cap.id}" for u in uses)
    return before.word.lower() in _CHANGES and names_log


def _audit_realises(cap, spec, rule, reading) -> bool:
    """A block rule saying the history of audited entities cannot be edited or deleted. Not a rule that a record
    itself cannot be edited: the log records edits, it does not prevent them."""
    if rule.category != "block" or not _IMMUTABLE.search(rule.words.lower()):
        return False
    kinds = [_noun_kind(cap, n) for n in rule.nouns]
    if "other" in kinds:
        return False  # names something the log does not record
    in_words = bool(_HISTORY.search(rule.words.lower()))
    if "audited" in kinds and not in_words:
        return False  # "samples cannot be edited": about the record, not its history
    return in_words or "history" in kinds or "audited_history" in kinds or _subject_is_history(cap, rule, reading)


#: capability params naming entities whose rows get linked history entries (`__audit_of__`) of their own
_LINKED = {"custody": ("item_entity",), "ledger": ("charge_entity", "participant_entity"), "rotation": ("entity",)}


def _audit_target(spec, cap) -> tuple[str | None, str | None]:
    """(entity, role) the scenario acts with: an audited entity a role may write (one whose history holds only
    its own changes when there is one), and a role that reads it."""
    linked = {getattr(c, n, None) for c in spec.capabilities for n in _LINKED.get(c.kind, ())}
    ents = [e for e in sorted(cap.entities) if spec.entity(e) is not None and _writers(spec, e)]
    ent = next((e for e in ents if e not in linked), ents[0] if ents else None)
    return ent, (_watcher(spec, [ent]) if ent else None)


def _derive_audit(cap, spec, reading, feature) -> list[dict]:
    ent, reader = _audit_target(spec, cap)
    if ent is None:
        return []
    outsider = _outsider(spec, cap.entities)
    params = {"cap": cap.id, "entity": ent, "reader": reader, "outsider": outsider}
    e = _ent_label(spec, ent)
    out = [{"text": (f"When {_a(e)} is added and then changed, {_a(_role_label(spec, reader))} sees both in the "
                     f"history with who made them and the values before and after, the history verifies as intact, "
                     f"and an attempt to edit or delete a history entry is refused"
                     + (f"; {_a(_role_label(spec, outsider))} may not read it." if outsider else ".")),
            "template": "audit_log.history", "params": params, "rules": []}]
    for i, rule in enumerate(reading.rules if reading is not None else []):
        if _audit_realises(cap, spec, rule, reading):
            out.append({"text": (f"'{rule.words}': after {_a(e)} is changed, editing, deleting or adding a history "
                                 f"entry is refused, and the history is unchanged and still verifies."),
                        "template": "audit_log.append_only", "params": params, "rules": [i]})
    return out


def _change_field(p, entity: str, sent: dict) -> tuple[str, object]:
    """A field of a just-made row and a different valid value for it (the display field when it can)."""
    ent = p.entity(entity)
    other = p.payload(entity)
    order = [ent.display_field] + [f.name for f in ent.fields if f.type in TEXT_TYPES] + [f.name for f in ent.fields]
    for name in dict.fromkeys(order):
        f = ent.field(name)
        if (f is None or f.type in ("reference", "file") or _managed(p, entity, name) or name not in sent
                or name not in other or other[name] == sent[name]):
            continue
        return name, other[name]
    raise ScenarioError(f"no field of {entity!r} can be changed to a second value")


def _audit_change(p, cap: str, entity: str, reader: str | None) -> tuple[str, str, str, str, object, object]:
    """Make a row and change it; returns (writer, reader actor, row var, field, old, new)."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    who = p.actor(reader) if reader else writer
    var = p.make(entity, writer, note=f"a {p.scenario['actors'][writer]} adds a {ent.label.lower()}")
    sent = p.scenario["steps"][-1]["json"]
    field, new = _change_field(p, entity, sent)
    p.step(writer, "PATCH", f"/api/{ent.plural}/${{{var}.id}}", json={field: new}, expect=200,
           note=f"the same user changes its {_field_label(p.spec, entity, field)}")
    return writer, who, var, field, sent[field], new


def _no_rewrite(p, cap: str, writer: str, who: str, entity: str, var: str) -> None:
    """Every way to add, edit or delete a history entry is refused, and the history stays as it was."""
    p.step(who, "GET", f"/api/{cap}/entries?entity={entity}&record_id=${{{var}.id}}", expect=200,
           save="history_before", note="read the history")
    for actor in dict.fromkeys((writer, "owner")):
        p.step(actor, "POST", f"/api/{cap}/entries", json={"action": "create", "entity": entity},
               expect=[403, 404, 405], note="adding a history entry by hand is refused")
        for method in ("PUT", "PATCH", "DELETE"):
            p.step(actor, method, f"/api/{cap}/entries/${{history_before.items.0.id}}", json={"action": "create"},
                   expect=[403, 404, 405], note=f"{method} of a history entry is refused")
    p.step(who, "GET", f"/api/{cap}/entries?entity={entity}&record_id=${{{var}.id}}", expect=200,
           note="the history is unchanged",
           checks=[{"path": "total", "op": "eq", "value": "${history_before.total}"},
                   {"path": "items.0.hash", "op": "eq", "value": "${history_before.items.0.hash}"},
                   {"path": "items.0.after", "op": "eq", "value": "${history_before.items.0.after}"}])
    p.step(who, "GET", f"/api/{cap}/verify", expect=200, note="the history still verifies",
           checks=[{"path": "ok", "op": "true"}, {"path": "checked", "op": "ge", "value": 2}])


def _audit_history(p, cap: str, entity: str, reader: str | None, outsider: str | None = None) -> None:
    writer, who, var, field, old, new = _audit_change(p, cap, entity, reader)
    p.step(who, "GET", f"/api/{cap}/entries?entity={entity}&record_id=${{{var}.id}}", expect=200,
           note="the history of the record, newest first",
           checks=[{"path": "items", "op": "len", "value": 2},
                   {"path": "items.0.action", "op": "eq", "value": "update"},
                   {"path": f"items.0.before.{field}", "op": "eq", "value": old},
                   {"path": f"items.0.after.{field}", "op": "eq", "value": new},
                   {"path": "items.0.actor", "op": "eq", "value": f"${{actor.{writer}.name}}"},
                   {"path": "items.1.action", "op": "eq", "value": "create"},
                   {"path": "items.1.before", "op": "eq", "value": None},
                   {"path": f"items.1.after.{field}", "op": "eq", "value": old},
                   {"path": "items.1.actor", "op": "eq", "value": f"${{actor.{writer}.name}}"}])
    p.step(who, "GET", f"/api/{cap}/verify", expect=200, note="the history's chain verifies",
           checks=[{"path": "ok", "op": "true"}, {"path": "checked", "op": "ge", "value": 2}])
    _no_rewrite(p, cap, writer, who, entity, var)
    _refusals(p, f"/api/{cap}/entries", outsider, "the history")


def _audit_append_only(p, cap: str, entity: str, reader: str | None, outsider: str | None = None) -> None:
    writer, who, var, _field, _old, _new = _audit_change(p, cap, entity, reader)
    _no_rewrite(p, cap, writer, who, entity, var)


# ---------------------------------------------------------------- public_page

def _derive_public(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None or not _writers(spec, cap.entity):
        return []
    shown = _listing([_field_label(spec, cap.entity, f) for f in cap.fields])
    hidden = [f.name for f in ent.fields if f.name not in cap.fields]
    e = ent.label.lower()
    text = f"Without signing in, anyone sees {_a(e)}'s {shown} on the public page"
    if cap.published_field:
        text += (f" once it is marked {_field_label(spec, cap.entity, cap.published_field)}; an unmarked {e} "
                 f"is not shown")
    hidden = [f for f in hidden if f != cap.published_field]
    if hidden:
        text += (f"; its {_listing([_field_label(spec, cap.entity, f) for f in hidden[:4]])} "
                 f"{'is' if len(hidden) == 1 else 'are'} never shown")
    return [{"text": text + ", and the public page cannot change it.", "template": "public_page.visible",
             "params": {"cap": cap.id, "entity": cap.entity, "fields": list(cap.fields),
                        "published_field": cap.published_field}, "rules": []}]


def _public_visible(p, cap: str, entity: str, fields: list[str], published_field: str | None = None) -> None:
    ent = p.entity(entity)
    writer = p.writer(entity)
    hidden = [f for f in ent.fields if f.name not in fields]
    secret = next((f.name for f in hidden if f.type in TEXT_TYPES and f.name != published_field
                   and not _managed(p, entity, f.name) and _fits(p.spec, entity, f.name, 16)), None)
    over: dict = {}
    if published_field:
        over[published_field] = True
    if secret:
        over[secret] = _text(p, entity, secret, f"internal {WORDS[1]}")
    row = p.make(entity, writer, over, note=f"a {ent.label.lower()} to show publicly")
    sent = p.scenario["steps"][-1]["json"]
    draft = None
    if published_field:
        draft = p.make(entity, writer, {published_field: False},
                       note=f"a {ent.label.lower()} not marked {_field_label(p.spec, entity, published_field)}")
    listed = [{"path": "items", "op": "any", "key": "id", "value": f"${{{row}.id}}"}]
    if draft:
        listed.append({"path": "items", "op": "none", "key": "id", "value": f"${{{draft}.id}}"})
    p.step("anon", "GET", f"/api/{cap}", expect=200, checks=listed, note="the public list, without signing in")
    checks = [{"path": "id", "op": "eq", "value": f"${{{row}.id}}"}]
    checks += [{"path": f, "op": "eq", "value": sent[f]} for f in fields if f in sent]
    checks += [{"op": "text_not_contains", "value": f'"{f.name}"'} for f in hidden]
    checks += [{"op": "text_not_contains", "value": '"owner_id"'}]
    if secret:
        checks.append({"op": "text_not_contains", "value": sent[secret]})
    p.step("anon", "GET", f"/api/{cap}/${{{row}.id}}", expect=200, checks=checks,
           note="the public record shows only its public fields")
    page = []
    display = ent.field(ent.display_field)
    if display is not None and display.type in TEXT_TYPES and ent.display_field in sent:
        page.append({"op": "text_contains", "value": str(sent[ent.display_field])})
    if secret:
        page.append({"op": "text_not_contains", "value": sent[secret]})
    p.step("anon", "GET", f"/{cap}/${{{row}.id}}", expect=200, checks=page, note="the public page of the record")
    if draft:
        p.step("anon", "GET", f"/api/{cap}/${{{draft}.id}}", expect=404, note="the unmarked record is not public")
        p.step("anon", "GET", f"/{cap}/${{{draft}.id}}", expect=404, note="nor is its page")
    p.step("anon", "PATCH", f"/api/{cap}/${{{row}.id}}", json={ent.display_field: "changed"},
           expect=[401, 403, 404, 405], note="the public page cannot change the record")
    p.step("anon", "PATCH", f"/api/{ent.plural}/${{{row}.id}}", json={ent.display_field: "changed"},
           expect=[401, 403], note="nor can anyone signed out through the API")


# ---------------------------------------------------------------- live_board

def _derive_live(cap, spec, reading, feature) -> list[dict]:
    main = next((e for e in cap.entities if spec.entity(e) is not None and _writers(spec, e)), None)
    if main is None:
        return []
    reader = _viewer(spec, [main])
    outsider = _outsider(spec, cap.entities)
    e = _ent_label(spec, main)
    r = _role_label(spec, reader)
    own = _reads_own_only(spec, reader, main)  # it sees only its own rows: its own appear, another's never
    text = (f"{_a(e).capitalize()} {'they add' if own else 'added'} while {_a(r)} watches the live board appears "
            f"among the board's events, and nothing appears before it"
            + (f"; one another {r} adds never does" if own else "")
            + (f"; {_a(_role_label(spec, outsider))} may not watch the board." if outsider else "."))
    return [{"text": text, "template": "live_board.created_event",
             "params": {"cap": cap.id, "entity": main, "reader": reader, "outsider": outsider}, "rules": []}]


def _live_created(p, cap: str, entity: str, reader: str | None, outsider: str | None = None) -> None:
    """Replay from the event id the board reports, so a sequential runner sees events made after it."""
    ent = p.entity(entity)
    writer = p.writer(entity)
    who = p.actor(reader) if reader else writer
    p.step(who, "GET", f"/api/{cap}/recent", expect=200, save="board", note="open the board")
    stream = f"/api/{cap}/stream?timeout=0.3&last_event_id=${{board.last_event_id}}"
    p.step(who, "GET", stream.replace("0.3", "0.1"), expect=200, note="nothing has happened yet",
           checks=[{"op": "text_not_contains", "value": "event: change"}])
    other = _others_row(p, entity, who)  # under read_own: another's row, never on its board, then its own
    row = p.make(entity, who if other else writer, note=f"add a {ent.label.lower()}")
    event = '{{"action":"create","entity":"{}","id":${{{}.id}},'
    checks = [{"op": "text_contains", "value": "event: change"},
              {"op": "text_contains", "value": event.format(entity, row)}]
    if other:
        checks.append({"op": "text_not_contains", "value": event.format(entity, other)})
    p.step(who, "GET", stream, expect=200, note=f"the board's events include the new {ent.label.lower()}",
           checks=checks)
    p.step(who, "GET", f"/api/{cap}/stream?timeout=abc", expect=400, note="an unbounded timeout is refused")
    _refusals(p, f"/api/{cap}/stream?once=1&timeout=0.1", outsider, "the board")


# ---------------------------------------------------------------- matrix

def _derive_matrix(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities import matrix as m

    if m.link(spec, cap.row_entity, cap.via_entity) is None or m.link(spec, cap.via_entity, cap.column_entity) is None:
        return []
    readers = m.readers(spec, cap)
    if not readers:
        return []
    reader = next((r for r in readers if r != "owner"), readers[0])
    outsider = next((r.name for r in spec.roles if r.name not in readers and r.name != "owner"), None)
    row, via, col = (_ent_label(spec, n) for n in (cap.row_entity, cap.via_entity, cap.column_entity))
    text = (f"{_a(row).capitalize()} shows {_a(col)} when one of its {_ent_label(spec, cap.via_entity, True)} has "
            f"it: {_a(row)} whose {via} has two {_ent_label(spec, cap.column_entity, True)} shows both, one linked "
            f"to no {via} shows none, and unlinking the {via} removes them"
            + (f"; {_a(_role_label(spec, outsider))} may not see the view." if outsider else "."))
    return [{"text": text, "template": "matrix.derived",
             "params": {"cap": cap.id, "row": cap.row_entity, "via": cap.via_entity, "col": cap.column_entity,
                        "reader": reader, "outsider": outsider}, "rules": []}]


def _matrix_derived(p, cap: str, row: str, via: str, col: str, reader: str | None,
                    outsider: str | None = None) -> None:
    from ..capabilities import matrix as m

    l1, l2 = m.link(p.spec, row, via), m.link(p.spec, via, col)
    if l1 is None or l2 is None:
        raise ScenarioError(f"no many_to_many links {row} - {via} - {col}")
    (j1, r_fk, v_fk1), (j2, v_fk2, c_fk) = l1, l2
    vdisp = p.entity(via).display_field
    who = p.actor(reader) if reader else "owner"
    a, b = p.make(col, _maker(p, col)), p.make(col, _maker(p, col))
    v1, v2 = p.make(via, _maker(p, via)), p.make(via, _maker(p, via))
    r1, r2, r3 = (p.make(row, _maker(p, row)) for _ in range(3))
    link = p.make(j1.name, _maker(p, j1.name), {r_fk.name: f"${{{r1}.id}}", v_fk1.name: f"${{{v1}.id}}"},
                  note=f"link the first {row} to the first {via}")
    p.make(j1.name, _maker(p, j1.name), {r_fk.name: f"${{{r2}.id}}", v_fk1.name: f"${{{v2}.id}}"},
           note=f"link the second {row} to the second {via}")
    for v, c in ((v1, a), (v1, b), (v2, b)):
        p.make(j2.name, _maker(p, j2.name), {v_fk2.name: f"${{{v}.id}}", c_fk.name: f"${{{c}.id}}"},
               note=f"link a {via} to a {col}")
    base = f"/api/{cap}/rows"
    p.step(who, "GET", f"{base}/${{{r1}.id}}", expect=200, note=f"the first {row} has both {col} values",
           checks=[{"path": "columns", "op": "len", "value": 2},
                   {"path": "columns.0.id", "op": "eq", "value": f"${{{a}.id}}"},
                   {"path": "columns.1.id", "op": "eq", "value": f"${{{b}.id}}"},
                   {"path": "columns.0.via", "op": "contains", "value": f"${{{v1}.{vdisp}}}"}])
    p.step(who, "GET", f"{base}/${{{r2}.id}}", expect=200, note=f"the second {row} has only the second {col}",
           checks=[{"path": "columns", "op": "len", "value": 1},
                   {"path": "columns.0.id", "op": "eq", "value": f"${{{b}.id}}"},
                   {"path": "columns.0.via", "op": "contains", "value": f"${{{v2}.{vdisp}}}"}])
    p.step(who, "GET", f"{base}/${{{r3}.id}}", expect=200, note=f"the unlinked {row} has none",
           checks=[{"path": "columns", "op": "len", "value": 0}])
    p.step(who, "GET", f"/api/{cap}/matrix?without=${{{a}.id}}", expect=200, note=f"{row} rows free of the first {col}",
           checks=[{"path": "rows", "op": "none", "key": "id", "value": f"${{{r1}.id}}"},
                   {"path": "rows", "op": "any", "key": "id", "value": f"${{{r2}.id}}"},
                   {"path": "rows", "op": "any", "key": "id", "value": f"${{{r3}.id}}"}])
    p.step(_maker(p, j1.name), "DELETE", f"/api/{j1.plural}/${{{link}.id}}", expect=[200, 204],
           note=f"unlink the first {row} from its {via}")
    p.step(who, "GET", f"{base}/${{{r1}.id}}", expect=200, note=f"the first {row} now has none",
           checks=[{"path": "columns", "op": "len", "value": 0}])
    p.step(who, "GET", f"/api/{cap}/matrix?without=abc", expect=400, note="a bad filter is refused")
    _refusals(p, f"/api/{cap}/matrix", outsider, "the view")


# ---------------------------------------------------------------- ai_summary

#: a text whose extractive summary is its first two sentences (they share the most frequent words)
SUMMARY_PROBE = ("The spring schedule keeps fresh volunteers busy. Members love the spring schedule and the fresh "
                 "volunteers. Fees stay the same as last year. Parking is behind the old station building.")


def _derive_ai(cap, spec, reading, feature) -> list[dict]:
    ent = spec.entity(cap.entity)
    if ent is None or not _writers(spec, cap.entity):
        return []
    readers = _readers(spec, cap.entity)
    writers = _writers(spec, cap.entity)
    reader = _watcher(spec, [cap.entity])
    reader_only = next((r for r in readers if r not in writers), None)
    outsider = _outsider(spec, [cap.entity])
    e, src = ent.label.lower(), _field_label(spec, cap.entity, cap.source_field)
    params = {"cap": cap.id, "entity": cap.entity, "source": cap.source_field, "reader": reader,
              "reader_only": reader_only, "outsider": outsider}
    tail = (f"; {_a(_role_label(spec, reader_only))} may read it but not run it again" if reader_only else "") + \
        (f"; {_a(_role_label(spec, outsider))} may not see it." if outsider else ".")
    if cap.mode == "classification":
        if len(cap.labels) < 2:
            return []
        names = [lb.replace("_", " ") for lb in cap.labels]
        text = (f"Without any network, {_a(e)} whose {src} speaks of {_listing(names, 'or')} is labelled with it "
                f"and kept with the {e}; the labels are only {_listing(names)}, and an unknown label filter is "
                f"refused" + tail)
        return [{"text": text, "template": "ai_summary.classified",
                 "params": {**params, "labels": list(cap.labels)}, "rules": []}]
    text = (f"Without any network, a summary of {_a(e)}'s {src} is made from its main sentences, kept with the "
            f"{e}, and made again when that text is changed" + tail)
    return [{"text": text, "template": "ai_summary.summarised", "params": params, "rules": []}]


def _ai_refusals(p, cap: str, plural: str, var: str, reader_only: str | None, outsider: str | None) -> None:
    if reader_only:
        p.step(p.actor(reader_only), "POST", f"/api/{cap}/{plural}/${{{var}.id}}/run", expect=403,
               note=f"{_a(_role_label(p.spec, reader_only))} may not run it again")
    p.step("owner", "GET", f"/api/{cap}/{plural}/999999", expect=404, note="a record that does not exist")
    _refusals(p, f"/api/{cap}/{plural}/${{{var}.id}}", outsider, "the result")


def _ai_summarised(p, cap: str, entity: str, source: str, reader: str | None, reader_only: str | None = None,
                   outsider: str | None = None) -> None:
    ent = p.entity(entity)
    writer = p.writer(entity)
    who = p.actor(reader) if reader else writer
    api = f"/api/{cap}/{ent.plural}"
    long = _fits(p.spec, entity, source, len(SUMMARY_PROBE))
    text = _text(p, entity, source, SUMMARY_PROBE if long else "The spring schedule keeps volunteers busy.")
    var = p.make(entity, writer, {source: text}, note=f"a {ent.label.lower()} with a text to summarise")
    checks = [{"path": "engine", "op": "eq", "value": "fallback"}, {"path": "mode", "op": "eq", "value": "summary"},
              {"path": "record_id", "op": "eq", "value": f"${{{var}.id}}"}]
    if long:
        checks += [{"path": "summary", "op": "contains", "value": "The spring schedule keeps fresh volunteers busy."},
                   {"path": "summary", "op": "contains", "value": "Members love the spring schedule"},
                   {"path": "summary", "op": "not_contains", "value": "Parking"}]
    else:
        checks.append({"path": "summary", "op": "eq", "value": text})
    p.step(who, "GET", f"{api}/${{{var}.id}}", expect=200, checks=checks, note="its summary, made offline")
    p.step(who, "GET", api, expect=200, note="the summary is kept",
           checks=[{"path": "items", "op": "any", "key": "record_id", "value": f"${{{var}.id}}"}])
    new = _text(p, entity, source, "Fees changed this week.")
    p.step(writer, "PATCH", f"/api/{ent.plural}/${{{var}.id}}", json={source: new}, expect=200,
           note=f"change the {_field_label(p.spec, entity, source)}")
    p.step(who, "GET", f"{api}/${{{var}.id}}", expect=200, note="the summary follows the new text",
           checks=[{"path": "summary", "op": "eq", "value": new}, {"path": "stale", "op": "false"}])
    _ai_refusals(p, cap, ent.plural, var, reader_only, outsider)


def _ai_classified(p, cap: str, entity: str, source: str, labels: list[str], reader: str | None,
                   reader_only: str | None = None, outsider: str | None = None) -> None:
    ent = p.entity(entity)
    writer = p.writer(entity)
    who = p.actor(reader) if reader else writer
    api = f"/api/{cap}/{ent.plural}"
    first, second = labels[1], labels[2] if len(labels) > 2 else labels[0]
    if set(first.split("_")) & set(second.split("_")):
        raise ScenarioError(f"labels {first!r} and {second!r} share a word")
    made = []
    for label in (first, second):
        words = " ".join([label.replace("_", " ")] * 3) + "."
        var = p.make(entity, writer, {source: _text(p, entity, source, words)},
                     note=f"a {ent.label.lower()} whose text speaks of {label.replace('_', ' ')}")
        made.append((label, var))
    for label, var in made:
        p.step(who, "GET", f"{api}/${{{var}.id}}", expect=200, note=f"it is labelled {label!r}, offline",
               checks=[{"path": "label", "op": "in", "value": list(labels)},
                       {"path": "label", "op": "eq", "value": label},
                       {"path": "engine", "op": "eq", "value": "fallback"},
                       {"path": "record_id", "op": "eq", "value": f"${{{var}.id}}"}])
    (l1, v1), (_l2, v2) = made
    p.step(who, "GET", f"{api}?label={l1}", expect=200, note=f"the records kept as {l1!r}",
           checks=[{"path": "items", "op": "any", "key": "record_id", "value": f"${{{v1}.id}}"},
                   {"path": "items", "op": "none", "key": "record_id", "value": f"${{{v2}.id}}"}])
    p.step(who, "GET", f"{api}?label=zzunknownlabel", expect=400, note="a label outside the list is refused")
    _ai_refusals(p, cap, ent.plural, v1, reader_only, outsider)


# ---------------------------------------------------------------- tables

def _never(cap, spec, rule, reading) -> bool:
    return False


REALISES: dict = {"search": _never, "export": _never, "audit_log": _audit_realises, "public_page": _never,
                  "live_board": _never, "matrix": _never, "ai_summary": _never}
DERIVE = {"search": _derive_search, "export": _derive_export, "audit_log": _derive_audit,
          "public_page": _derive_public, "live_board": _derive_live, "matrix": _derive_matrix,
          "ai_summary": _derive_ai}
COMPILE = {
    "search.finds_word": _search_finds_word,
    "export.csv": _export_csv,
    "export.pdf": _export_pdf,
    "export.period": _export_period,
    "audit_log.history": _audit_history,
    "audit_log.append_only": _audit_append_only,
    "public_page.visible": _public_visible,
    "live_board.created_event": _live_created,
    "matrix.derived": _matrix_derived,
    "ai_summary.summarised": _ai_summarised,
    "ai_summary.classified": _ai_classified,
}
