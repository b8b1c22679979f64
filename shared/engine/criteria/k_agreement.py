"""Criteria for `agreement`: a change one person asks for waits for the other person's agreement, is applied once on
acceptance, and cannot be made by a direct write.

The scenarios drive the capability's own routes (see `capabilities/agreement/module.py.j2`): two people, each a
user and the person record with their sign-in email; a record naming the first. One asks for the change (201); it
is not applied yet; the asker may not accept it (403); a second request for the same field is refused (409); the
person asked accepts (200) and the record has the new values; accepting again is refused (409). A direct write of a
guarded field is refused (409 "agreement_needed"); with an exempt role, its write goes through and a request made
before it is then stale (409).

A stated rule (category "agreement") is realised only when its nouns name the person who must agree (the person
entity or the party field) and the record (the capability's entity, or the reading's record), and name no other
record or a role that is not that person (a coordinator's approval is not the other volunteer's agreement).
"""

from __future__ import annotations

import re

from . import ScenarioError, a, entity_label, field_label, noun_matches, rule_number

#: the verbs of agreeing themselves ("agrees", "accepts"): no record's name, even when a spec has such an entity
_AGREES = re.compile(r"(agree|accept|confirm|consent|approv)\w*")


def _snake(label: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", label.lower()))


def _names(spec, noun: str, name: str) -> bool:
    ent = spec.entity(name)
    forms = [name] + ([_snake(ent.label), _snake(ent.label_plural)] if ent is not None else [])
    return any(noun_matches(noun, x) for x in forms)


def _person(cap, spec) -> str | None:
    from ..capabilities.agreement import person_entity

    return person_entity(cap, spec)


def _window(rule, reading) -> list[tuple[str, str]]:
    """(word, maps_to) of the rule's nouns and words, and of the feature's words just around them: "only when the
    new plotholder agrees" reads as a rule "agrees" after "new" and "plotholder" (mapped to its entity)."""
    own = [(w.lower(), "") for w in rule.nouns] + [(w, "") for w in re.findall(r"[a-z0-9]+", rule.words.lower())
                                                   if not _AGREES.fullmatch(w)]
    if reading is None or rule not in reading.rules:
        return own
    tag = f"rule:{reading.rules.index(rule)}"
    at = [k for k, u in enumerate(reading.words) if u.maps_to == tag]
    if not at:
        return own
    near = [*reading.words[max(0, at[0] - 3):at[0]], *reading.words[at[-1] + 1:at[-1] + 3]]
    return own + [(u.word.lower(), u.maps_to) for u in near if not u.maps_to.startswith("rule:")]


def _side(cap, spec, person: str, word: str, maps_to: str) -> str | None:
    """"party", "record", "other" (another record, or a role that is not the person) or None (names nothing)."""
    kind, _, target = maps_to.partition(":")
    if kind == "field":
        target, _, field = target.partition(".")
        kind = "entity"
        if target == cap.entity and field == cap.party_field:
            return "party"
    if kind == "entity":
        return "party" if target == person else "record" if target == cap.entity else "other"
    if _names(spec, word, person) or noun_matches(word, cap.party_field.removesuffix("_id")):
        return "party"
    if _names(spec, word, cap.entity):
        return "record"
    if any(_names(spec, word, e.name) for e in spec.entities) or any(noun_matches(word, r.name) for r in spec.roles):
        return "other"
    return None


def _realises_agreement(cap, spec, rule, reading) -> bool:
    """An agreement rule naming the person who must agree (new or current, as bound) and the record, and nothing
    else the spec has (another record, or a role's approval rather than the person's agreement)."""
    person = _person(cap, spec)
    if rule.category != "agreement" or person is None:
        return False
    window = _window(rule, reading)
    words = " ".join(w for w, _m in window)
    n = rule_number(rule)
    if n is not None and not (n == 1 or (n == 2 and "both" in words)):
        return False
    if (cap.party == "current" and re.search(r"\b(new|receiving|incoming)\b", words)) or (
            cap.party == "new" and re.search(r"\b(current|present|existing)\b", words)):
        return False
    sides = {_side(cap, spec, person, w, m) for w, m in window}
    if "other" in sides:
        return False
    named = reading is not None and (reading.record == cap.entity or f"entity:{cap.entity}" in
                                     {u.maps_to for u in reading.words})  # the feature names the record elsewhere
    return "party" in sides and ("record" in sides or named)


def _realised(cap, spec, reading) -> list[int]:
    if reading is None:
        return []
    return [i for i, r in enumerate(reading.rules) if _realises_agreement(cap, spec, r, reading)]


def _rlabel(spec, role: str) -> str:
    r = spec.role(role)
    return (r.label if r else role.replace("_", " ")).lower()


def _fit(text: str) -> str:
    return text if len(text) <= 300 else text[:297].rstrip() + "..."


def _params(cap, spec) -> dict:
    from ..capabilities.agreement import _samples

    return {"capability": cap.id, "entity": cap.entity, "person": _person(cap, spec), "party_field": cap.party_field,
            "email_field": cap.person_email_field, "party": cap.party, "samples": _samples(cap, spec),
            "fields": list(cap.fields), "exempt": next((r for r in cap.exempt_roles if r != "owner"), None)
            or (cap.exempt_roles[0] if cap.exempt_roles else None)}


def _derive_agreement(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.agreement import asker_role

    person = _person(cap, spec)
    asker = asker_role(cap, spec)
    if spec.entity(cap.entity) is None or person is None or asker is None:
        return []
    ent, who, pl = entity_label(spec, cap.entity), a(_rlabel(spec, asker)), entity_label(spec, person)
    if cap.party == "new":
        first = (f"When {who} asks to give their {ent} to another {pl}, nothing changes until that {pl} accepts")
    else:
        first = f"When {who} asks for {a(ent)}, nothing changes until the {pl} who holds it agrees"
    first += ("; the one who asked cannot accept it, a second request for it is refused, and accepting twice "
              "applies the change once.")
    fields = " and ".join(field_label(spec, cap.entity, f).removesuffix(" id") for f in cap.fields)
    second = f"Changing {a(ent)}'s {fields} directly is refused with a reason: it needs the {pl}'s agreement"
    prm = _params(cap, spec)
    if prm["exempt"]:
        exempt = "the owner" if prm["exempt"] == "owner" else a(_rlabel(spec, prm["exempt"]))
        second += (f"; {exempt} may still change it, and a request made before that is not "
                   f"applied")
    rules = _realised(cap, spec, reading)
    out = [{"text": _fit(first), "template": "agreement.agree_then_apply", "params": prm, "rules": rules}]
    if any(cap.entity in r.write and r.name not in cap.exempt_roles for r in spec.roles):  # someone to refuse
        out.append({"text": _fit(second + "."), "template": "agreement.no_direct_write", "params": prm,
                    "rules": rules})
    return out


# ---------------------------------------------------------------------------------------------------- compile


def _maker(p, entity: str) -> str:
    if any(r.name == "owner" and entity in r.write for r in p.spec.roles):
        return "owner"
    return p.writer(entity)


def _viewer(p, entity: str) -> str:
    roles = [r.name for r in p.spec.roles if entity in r.read or entity in r.write]
    if not roles:
        raise ScenarioError(f"no role may read {entity!r}")
    return "owner" if "owner" in roles else p.actor(roles[0])


def _setup(p, capability, entity, person, party_field, email_field, party, samples):
    """Two people who sign in (A holds the record), the record, and who asks, who agrees and the change."""
    from ..capabilities.agreement import asker_role

    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "agreement"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no agreement capability {capability!r}")
    role = asker_role(cap, p.spec)
    if role is None:
        raise ScenarioError(f"no role but the owner may ask for a change of a {entity}")
    one, two = p.actor(role), p.actor(role)
    pm, label = _maker(p, person), p.entity(person).label.lower()
    pa = p.make(person, pm, {email_field: f"${{actor.{one}.email}}"}, note=f"the {label} who holds it signs in")
    pb = p.make(person, pm, {email_field: f"${{actor.{two}.email}}"}, note=f"another {label} who signs in")
    rec = p.make(entity, _maker(p, entity), {party_field: f"${{{pa}.id}}"}, note=f"a {p.entity(entity).label.lower()} "
                                                                                f"held by the first {label}")
    change = dict(samples)
    if party == "new" or party_field in cap.fields:
        change[party_field] = f"${{{pb}.id}}"
    asker, agrees = (one, two) if party == "new" else (two, one)
    return cap, rec, pa, pb, asker, agrees, change


def _ask(p, asker, capability, rec, change, expect=201, save=None, note="ask for the change"):
    p.step(asker, "POST", f"/api/{capability}/requests", json={"record_id": f"${{{rec}.id}}", "changes": change},
           expect=expect, save=save, note=note,
           checks=[{"path": "status", "op": "eq", "value": "pending"}] if expect == 201 else None)


def _agree_then_apply(p, capability: str, entity: str, person: str, party_field: str, email_field: str,
                      party: str, samples: dict, fields: list, exempt: str | None = None) -> None:
    cap, rec, pa, _pb, asker, agrees, change = _setup(p, capability, entity, person, party_field, email_field,
                                                      party, samples)
    ent = p.entity(entity)
    viewer, label = _viewer(p, entity), ent.label.lower()
    req = p.var("request")
    _ask(p, asker, capability, rec, change, save=req)
    p.step(viewer, "GET", f"/api/{ent.plural}/${{{rec}.id}}", checks=[
        {"path": party_field, "op": "eq", "value": f"${{{pa}.id}}"}], note=f"the {label} is unchanged meanwhile")
    act = f"/api/{capability}/requests/${{{req}.id}}"
    p.step(asker, "POST", f"{act}/accept", json={}, expect=403, note="the one who asked cannot accept it")
    p.step("anon", "POST", f"{act}/accept", json={}, expect=401, note="a visitor who is not signed in cannot")
    _ask(p, asker, capability, rec, change, expect=409, note="a second request for the same field is refused")
    p.step(agrees, "GET", f"/api/{capability}/requests", checks=[
        {"path": "to_agree", "op": "any", "key": "id", "value": f"${{{req}.id}}"}], note="it waits for the other")
    p.step(agrees, "POST", f"{act}/accept", json={}, checks=[
        {"path": "request.status", "op": "eq", "value": "accepted"},
        *({"path": f"record.{k}", "op": "eq", "value": v} for k, v in change.items())],
        note="the person asked accepts: the change is applied")
    p.step(agrees, "POST", f"{act}/accept", json={}, expect=409, note="accepting again changes nothing")
    p.step(viewer, "GET", f"/api/{ent.plural}/${{{rec}.id}}", checks=[
        {"path": k, "op": "eq", "value": v} for k, v in change.items()], note=f"the {label} has the new values")


def _no_direct_write(p, capability: str, entity: str, person: str, party_field: str, email_field: str,
                     party: str, samples: dict, fields: list, exempt: str | None = None) -> None:
    cap, rec, pa, _pb, asker, agrees, change = _setup(p, capability, entity, person, party_field, email_field,
                                                      party, samples)
    ent = p.entity(entity)
    writers = [r.name for r in p.spec.roles if entity in r.write and r.name not in cap.exempt_roles]
    if not writers:
        raise ScenarioError(f"every role that may write {entity!r} is exempt")
    direct = "owner" if "owner" in writers else p.actor(writers[0])
    path = f"/api/{ent.plural}/${{{rec}.id}}"
    for k, v in change.items():
        p.step(direct, "PATCH", path, json={k: v}, expect=409, note=f"a direct change of {k} is refused",
               checks=[{"path": "error.code", "op": "eq", "value": "agreement_needed"},
                       {"op": "text_contains", "value": "agrees"}])
    viewer = _viewer(p, entity)
    p.step(viewer, "GET", path, checks=[{"path": party_field, "op": "eq", "value": f"${{{pa}.id}}"}],
           note="the record is unchanged")
    if exempt is None:
        return
    req = p.var("request")
    _ask(p, asker, capability, rec, change, save=req)
    moved = p.make(person, _maker(p, person), note="a third person")
    p.step(exempt if exempt == "owner" else p.actor(exempt), "PATCH", path, json={party_field: f"${{{moved}.id}}"},
           note="an exempt role may change it directly")
    p.step(agrees, "POST", f"/api/{capability}/requests/${{{req}.id}}/accept", json={}, expect=409,
           checks=[{"path": "error.code", "op": "eq", "value": "stale"}],
           note="the request made before is stale and not applied")
    p.step(viewer, "GET", path, checks=[{"path": party_field, "op": "eq", "value": f"${{{moved}.id}}"}],
           note="the exempt change stands")


REALISES = {"agreement": _realises_agreement}
DERIVE = {"agreement": _derive_agreement}
COMPILE = {"agreement.agree_then_apply": _agree_then_apply, "agreement.no_direct_write": _no_direct_write}
