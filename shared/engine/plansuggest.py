"""Suggested edits for the plan under review (issue 19, decision 0047): typed edits that would build a feature.

For every key feature the plan leaves partial or not covered, `suggest(spec)` proposes typed edits (the bodies
`planedit.apply` takes) derived from what the feature's trace already records, never from words about particular
ideas:

* a stated rule no capability realises: a capability's number or setting set to the rule's own (`set_rule_params`);
* a capability acting on another record than the one the words name: the same kind bound on the named record,
  with the rule's number (`bind_feature` with `new`), linking the counted records to it first when a per-record
  limit needs that link (`link_entities`);
* a record the words name beside the one acted on, or a field of it: its capability bound as well (`bind_feature`);
* a noun the reading left unread ("sowing month"): an attribute of that name and a type the name implies on the
  record the feature acts on (`add_attribute`); words the lexicon never calls nouns ("not", "only", "expired") are
  conditions, not attributes, and get no attribute;
* a capability another feature already has: bound to this one too.

Each candidate is tried on a copy: kept only when `apply` accepts it, the feature's status improves (built, or
fewer things missing) and no other feature's status gets worse. A feature with no such edit carries the reason:
the planner's, when the library has nothing for it, or what no typed edit can express.
"""

from __future__ import annotations

import re
from typing import Any, Literal, get_args, get_origin

from .appspec import AppSpec
from .criteria import noun_matches
from .criteria.certify import assess, primary, touched
from .planner.text import singular

#: Status order: a suggestion must move a feature up it, or keep it and leave fewer things missing.
_RANK = {"not_covered": 0, "partial": 1, "planned": 2}
MAX_PER_FEATURE = 3
#: The planner's reasons that say the capability library has nothing that does what the feature asks.
LIBRARY_LACKS = ("No capability in the library", "The capability library has nothing for")
_ENTITY_PARAMS = ("entity", "resource", "item_entity", "holder_entity", "charge_entity", "participant_entity",
                  "member_entity", "row_entity", "via_entity", "column_entity", "pdf_entity", "line_entity")


# ------------------------------------------------------------------------------------------ evaluation


def _score(status: str, not_built: list[str]) -> tuple[int, int]:
    return _RANK[status], -len(not_built)


def _quick(spec: AppSpec, edits: list[dict], index: int):
    """The feature's (status, not_built) after the edits, without the whole-spec checks (None: refused)."""
    from pydantic import ValidationError

    from . import planedit

    cur = spec
    try:
        for body in edits:
            data = cur.model_dump(mode="json")
            planedit._mutate(data, planedit.parse(body), cur)
            for t in data["trace"]:
                t["reading"] = None
            cur = AppSpec.model_validate(data)
    except (planedit.EditRefused, ValidationError, KeyError, TypeError, ValueError):
        return None
    t = cur.trace[index]
    try:
        a = assess(cur, t, index)
    except Exception:  # noqa: BLE001 - a candidate the assessment cannot read is no suggestion; apply decides
        return None
    if t.status == "not_covered" and t.capabilities and t.reason and a["status"] == "not_covered":
        return None
    return a["status"], a["not_built"]


def _applied(spec: AppSpec, edits: list[dict]) -> AppSpec | None:
    from . import planedit

    cur = spec
    try:
        for body in edits:
            cur, _ = planedit.apply(cur, body)
    except planedit.EditRefused:
        return None
    return cur


# ------------------------------------------------------------------------------------------ candidates


def _label(spec: AppSpec, name: str, plural: bool = False) -> str:
    e = spec.entity(name)
    return (e.label_plural if plural else e.label).lower() if e else name.replace("_", " ")


def _a(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _param_kinds(cap) -> dict[str, tuple[str, tuple]]:
    """Each settable parameter of a capability: ('number', ()) or ('choice', values)."""
    out: dict[str, tuple[str, tuple]] = {}
    for name, f in type(cap).model_fields.items():
        if name in ("id", "kind", "routes", "label"):
            continue
        ann = f.annotation
        args = [a for a in get_args(ann) if a is not type(None)] or [ann]
        for a in args:
            if a in (int, float):
                out[name] = ("number", ())
                break
            if get_origin(a) is Literal and len(get_args(a)) > 1:
                out[name] = ("choice", get_args(a))
                break
    return out


def _entities_named(spec: AppSpec, nouns: list[str]) -> list[str]:
    return [e.name for e in spec.entities for n in nouns if noun_matches(n, e.name)]


def _field_like(spec: AppSpec, old_ent: str, new_ent: str, fname: str) -> str | None:
    """A field of `new_ent` that can stand for `old_ent`'s `fname` (same type; a reference to the same record)."""
    o, n = spec.entity(old_ent), spec.entity(new_ent)
    f = o.field(fname) if o else None
    if f is None or n is None:
        return None
    if n.field(fname) is not None and n.field(fname).type == f.type:
        return fname
    same = [g.name for g in n.fields if g.type == f.type and (f.type != "reference" or g.ref == f.ref)]
    return same[0] if same else None


def _retarget(spec: AppSpec, cap, target: str) -> dict | None:
    """The capability's parameters acting on `target` instead of its first record (its fields followed)."""
    prim = [p for p in _ENTITY_PARAMS if isinstance(getattr(cap, p, None), str)]
    if not prim:
        return None
    old = getattr(cap, prim[0])
    if old == target:
        return None
    data = {k: v for k, v in cap.model_dump(mode="json").items() if k not in ("id", "routes", "label")}
    data[prim[0]] = target
    for k, v in list(data.items()):
        if isinstance(v, str) and (k == "field" or k.endswith("_field")) and k not in _ENTITY_PARAMS:
            new = _field_like(spec, old, target, v)
            if new is None:
                if type(cap).model_fields[k].is_required():
                    return None
                data[k] = None
            else:
                data[k] = new
    return data


def _numbered(cap_data: dict, cap, rules) -> list[dict]:
    """The capability's data, and with each unrealised rule's number in each of its number parameters."""
    out = [cap_data]
    nums = _param_kinds(cap)
    for r in rules:
        if r.number is None:
            continue
        v = int(r.number) if float(r.number).is_integer() else float(r.number)
        for p, (kind, _) in nums.items():
            if kind == "number" and p in cap_data:
                out.append({**cap_data, p: v})
    return out


def _type_for(name: str) -> str:
    from .planner import lexicon as lx

    parts = name.split("_")
    for t, cues in lx.TYPE_CUES:
        if any(p in cues for p in parts):
            return t
    return lx.ATTRIBUTE_TYPES.get(parts[-1], "text") if lx.ATTRIBUTE_TYPES.get(parts[-1]) not in ("enum", "file") \
        else "text"


#: Closed classes that are never an attribute: units of time a rule counts in, and pronouns.
_NOT_ATTRIBUTES = frozenset("""minute hour day night evening morning week weekend month year term season one other
others""".split())


def _attribute_word(w: str) -> bool:
    """A word that can name an attribute: a noun (or a coinage the lexicon does not know), not a condition ("not",
    "expired"), an adverb ("back", "more"), a verb's -s form ("goes"), a unit of time or a function word."""
    from .planner import lexicon as lx
    from .planner.pos import NUMBER_WORDS, classes, never_noun
    from .planner.reading import FUNCTION_WORDS

    if not re.fullmatch(r"[a-z][a-z-]*[a-z]", w) or w in NUMBER_WORDS or never_noun(w) or w in FUNCTION_WORDS \
            or w in lx.PREPOSITIONS or w in lx.CONJUNCTIONS or singular(w) in _NOT_ATTRIBUTES:
        return False
    c = classes(w)
    if not c:
        return True
    if "NOUN" not in c or "ADV" in c:
        return False
    return not (w.endswith("s") and "VERB" in c)  # "goes", "takes": a verb, whatever the lexicon's plural


def _candidates(spec: AppSpec, index: int) -> list[tuple[list[dict], str]]:
    t = spec.trace[index]
    rd = t.reading
    caps = [c for c in spec.capabilities if c.id in t.capabilities]
    out: list[tuple[list[dict], str]] = []
    if rd is None:
        return out
    from .criteria.kinds import REALISES

    open_rules = [r for r in rd.rules if not any(REALISES.get(c.kind, lambda *a: False)(c, spec, r, rd)
                                                 for c in caps)]
    # 1. an unrealised rule: a bound capability's number or setting carries it
    for c in caps:
        for p, (kind, values) in _param_kinds(c).items():
            for r in open_rules:
                if kind == "number" and r.number is not None:
                    v = int(r.number) if float(r.number).is_integer() else float(r.number)
                    if getattr(c, p, None) != v:
                        out.append(([{"op": "set_rule_params", "capability": c.id, "params": {p: v}}],
                                    f"Set {p.replace('_', ' ')} of '{c.label}' to {v}, so the app enforces "
                                    f"'{r.words}'."))
            if kind == "choice" and open_rules:
                for v in values:
                    if getattr(c, p, None) != v:
                        out.append(([{"op": "set_rule_params", "capability": c.id, "params": {p: v}}],
                                    f"Set {p.replace('_', ' ')} of '{c.label}' to {v}, as "
                                    f"'{open_rules[0].words}' says."))
    # the records the words name: the reading's record, records named beside it, records whose fields are named
    targets = [rd.record] if rd.record else []
    for u in rd.words:
        kind, _, target = u.maps_to.partition(":")
        if kind == "entity":
            targets.append(target)
        elif kind == "field":
            targets.append(target.split(".")[0])
    for r in open_rules:
        targets += _entities_named(spec, r.nouns)
    targets = [x for x in dict.fromkeys(targets) if spec.entity(x) is not None]
    prim = {p for c in caps for p in primary(c)}
    near = {n for c in caps for n in touched(c, spec)}
    # 2. a capability acting on another record: the same kind on the record the words name
    for c in caps:
        for x in targets:
            if x in primary(c):
                continue
            data = _retarget(spec, c, x)
            if data is None:
                continue
            rest = [cid for cid in t.capabilities if cid != c.id]
            for d in _numbered(data, c, open_rules):
                out.append(([{"op": "bind_feature", "feature": index, "capabilities": rest, "new": d}],
                            f"Make the {c.kind.replace('_', ' ')} act on {_label(spec, x, True)}, the record "
                            f"'{t.feature}' names."))
        # a per-record limit on the counted records, linked to the record the words name
        if c.kind == "limit" and rd.record and rd.record not in prim:
            counted = [e for r in open_rules for e in _entities_named(spec, r.nouns) if e != rd.record] or [c.entity]
            for e in dict.fromkeys(counted):
                ent = spec.entity(e)
                ref = next((f.name for f in ent.fields if f.type == "reference" and f.ref == rd.record), None)
                pre = [] if ref else [{"op": "link_entities", "entity": e, "target": rd.record}]
                ref = ref or f"{rd.record}_id"
                n = next((r.number for r in open_rules if r.number is not None), c.max)
                if n is None:
                    continue
                n = int(n) if float(n).is_integer() else n
                rest = [cid for cid in t.capabilities if cid != c.id]
                out.append((pre + [{"op": "bind_feature", "feature": index, "capabilities": rest,
                                    "new": {"kind": "limit", "entity": e, "scope": "parent", "parent_field": ref,
                                            "max": n}}],
                            f"Count {_label(spec, e, True)} per {_label(spec, rd.record)}: each "
                            f"{_label(spec, rd.record)} takes at most {n}, as '{t.feature}' says."))
    # 3. a record named beside the one acted on: its capability bound as well
    for x in targets:
        if x in near and x in prim:
            continue
        have = [c.id for c in spec.capabilities if x in primary(c) and c.id not in t.capabilities]
        for cid in have[:3]:
            out.append(([{"op": "bind_feature", "feature": index, "capabilities": [*t.capabilities, cid]}],
                        f"Also bind it to '{spec.capability(cid).label}', so the {_label(spec, x, True)} it names "
                        f"are part of it."))
        if not any(spec.capability(cid).kind == "records" for cid in have):
            out.append(([{"op": "bind_feature", "feature": index, "capabilities": list(t.capabilities),
                          "new": {"kind": "records", "entity": x}}],
                        f"Keep {_label(spec, x, True)} as part of it too, since '{t.feature}' names them."))
    # 4. a noun left unread: an attribute of the record the feature acts on
    unread = [i for i, u in enumerate(rd.words) if u.maps_to == "unread" and _attribute_word(u.word.lower())]
    homes = [x for x in [*(p for c in caps for p in primary(c)), rd.record] if x and spec.entity(x) is not None]
    homes = list(dict.fromkeys(homes))[:2]
    phrases: list[list[str]] = []
    for i in unread:
        if phrases and rd.words[i - 1].maps_to == "unread" and i - 1 in unread:
            phrases[-1].append(rd.words[i].word.lower())
        else:
            phrases.append([rd.words[i].word.lower()])
    for words in phrases:
        for name in dict.fromkeys(["_".join(singular(w).replace("-", "_") for w in words),
                                   *(singular(w).replace("-", "_") for w in words)]):
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                continue
            typ = _type_for(name)
            for h in homes:
                if spec.entity(h).field(name) is not None:
                    continue
                out.append(([{"op": "add_attribute", "entity": h, "attribute": {"name": name, "type": typ}}],
                            f"Give each {_label(spec, h)} {_a(name)} {name.replace('_', ' ')} ({typ.replace('_', ' ')}), so "
                            f"'{' '.join(words)}' is something the app keeps."))
    # 5. a capability another feature already has
    for c in spec.capabilities:
        if c.id not in t.capabilities and (set(primary(c)) & set(targets) or not caps):
            out.append(([{"op": "bind_feature", "feature": index, "capabilities": [*t.capabilities, c.id]}],
                        f"Also bind it to '{c.label}', which the plan already has."))
    seen, uniq = set(), []
    for edits, why in out:
        key = repr(edits)
        if key not in seen:
            seen.add(key)
            uniq.append((edits, why))
    return uniq


# ------------------------------------------------------------------------------------------ suggest


def unexpressed(spec: AppSpec, index: int) -> list[str]:
    """The feature's unread words no typed edit can make the app read: not nouns an attribute could carry."""
    rd = spec.trace[index].reading
    return list(dict.fromkeys(u.word for u in (rd.words if rd else []) if u.maps_to == "unread"
                              and not _attribute_word(u.word.lower())))


def why_none(spec: AppSpec, index: int) -> str:
    """Why no typed edit builds the feature, in the founder's words."""
    t = spec.trace[index]
    if t.status == "not_covered" and not t.capabilities:
        if (t.reason or "").startswith(LIBRARY_LACKS):
            return f"The library lacks the capability: {t.reason}"
        return f"No typed edit found: {t.reason}"
    words = unexpressed(spec, index)
    if words:
        return (f"No typed edit can express {', '.join(repr(w) for w in words)}: words of a condition, "
                f"a behaviour or a time, not records or attributes, and no capability the plan can bind reads them")
    return "No typed edit found that builds it: " + "; ".join(t.not_built)


def suggest_for(spec: AppSpec, index: int, full: bool = True) -> list[dict]:
    """The improving suggestions for one feature, best first (each checked with `apply` when `full`)."""
    t = spec.trace[index]
    before = _score(t.status, t.not_built)
    ranked = []
    for n, (edits, why) in enumerate(_candidates(spec, index)):
        got = _quick(spec, edits, index)
        if got is None or _score(*got) <= before:
            continue
        adds = sum(1 for e in edits if e["op"] != "bind_feature" or e.get("new")) + len(edits)
        ranked.append((_score(*got), (-adds, -n), edits, why))  # best first; then the fewest new things
    ranked.sort(key=lambda x: (x[0], x[1]), reverse=True)
    out: list[dict] = []
    statuses = [_RANK[x.status] for x in spec.trace]
    for score, _n, edits, why in ranked:
        if len(out) >= MAX_PER_FEATURE:
            break
        if full:
            edited = _applied(spec, edits)
            if edited is None:
                continue
            tt = edited.trace[index]
            if _score(tt.status, tt.not_built) <= before or any(
                    _RANK[x.status] < statuses[j] for j, x in enumerate(edited.trace) if j != index):
                continue
            score = _score(tt.status, tt.not_built)
        out.append({"edits": edits, "reason": why, "status_after": "built" if score[0] == 2 else "partial",
                    "missing_after": -score[1]})
    return out


def suggest(spec: AppSpec) -> list[dict]:
    """For every feature the plan leaves partial or not covered (and the founder has not marked not needed): the
    typed edits that would build it, or improve it, each with a one-sentence reason; or why there are none."""
    from .planedit import NOT_NEEDED

    out = []
    for i, t in enumerate(spec.trace):
        if t.status == "planned" or (t.reason or "") == NOT_NEEDED:
            continue
        got = suggest_for(spec, i)
        out.append({"index": i, "feature": t.feature, "status": "partial" if t.status == "partial" else "not_covered",
                    "suggestions": got, "none_because": None if got else why_none(spec, i)})
    return out


def apply_suggestions(spec: AppSpec, rounds: int = 10) -> tuple[AppSpec, list[dict[str, Any]]]:
    """Accept every first suggestion, round after round, through `planedit.apply` (as the API applies them), until
    no feature has one; returns the edited spec and the edits applied."""
    done: list[dict] = []
    for _ in range(rounds):
        moved = False
        for entry in suggest(spec):
            if not entry["suggestions"]:
                continue
            s = entry["suggestions"][0]
            edited = _applied(spec, s["edits"])
            t0 = spec.trace[entry["index"]]
            if edited is None or _score(edited.trace[entry["index"]].status, edited.trace[entry["index"]].not_built) \
                    <= _score(t0.status, t0.not_built):
                continue  # an earlier acceptance this round changed the plan under it
            spec, moved = edited, True
            done.append({"feature": entry["index"], **s})
        if not moved:
            break
    return spec, done
