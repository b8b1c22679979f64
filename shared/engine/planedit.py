"""The founder's typed edits of the app spec under review (issue 19, decision 0035).

An edit is one typed operation (`Edit`, discriminated on `op`), never free text that becomes code. `apply(spec, edit)`
returns the edited spec, checked as the planner's own output is (the AppSpec model, `spec_problems`, the reading
accounting) and with every key feature's reading, criteria, "built as" sentence and status recomputed (`certify`),
or raises `EditRefused` with the problems in the founder's words; the input spec is never changed. `founder_view`
is the spec as a founder reads it: the data model (entities, typed attributes, links), the role x entity matrix,
every key feature with its reading and status, and the signup policy; `suggest` proposes, for every feature left
partial or not covered, the typed edits that would build it (decision 0047).
"""

from __future__ import annotations

import copy
import hashlib
import re
import threading
from collections import OrderedDict
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .appspec import AppSpec, spec_problems
from .appspec.base import Label, Name
from .appspec.model import FIELD_TYPES, FieldType
from .capabilities import available_kinds

#: The reason a feature the founder marked not needed carries (status `not_covered`, no capability).
NOT_NEEDED = "Not needed: the founder marked this feature as not needed while reviewing the plan"
#: Founder-facing statuses "if built as planned".
STATUS_WORDS = {"planned": "built", "partial": "partial", "not_covered": "not_covered"}
OPS = ("add_attribute", "rename_attribute", "retype_attribute", "add_entity", "link_entities", "add_role",
       "set_scope", "set_rule_params", "bind_feature", "mark_not_needed")
_FIXED_PARAMS = ("id", "kind", "routes")


class EditRefused(ValueError):
    """The edit would make the spec invalid (or names something the spec does not have): nothing changed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Attribute(_Op):
    name: Name
    label: Label | None = None
    type: FieldType = "text"
    required: bool = False
    values: list[Name] = Field(default_factory=list, max_length=30, description="enum: the allowed values")
    ref: Name | None = Field(default=None, description="reference: the entity it points at")
    default: str | int | float | bool | None = None
    min: float | None = None
    max: float | None = None


class AddAttribute(_Op):
    op: Literal["add_attribute"]
    entity: Name
    attribute: Attribute


class RenameAttribute(_Op):
    op: Literal["rename_attribute"]
    entity: Name
    name: Name
    to: Name
    label: Label | None = None


class RetypeAttribute(_Op):
    op: Literal["retype_attribute"]
    entity: Name
    name: Name
    type: FieldType
    values: list[Name] = Field(default_factory=list, max_length=30)
    ref: Name | None = None


class AddEntity(_Op):
    op: Literal["add_entity"]
    name: Name
    label: Label
    plural: Name | None = None
    label_plural: Label | None = None
    attributes: list[Attribute] = Field(min_length=1, max_length=30)


class LinkEntities(_Op):
    op: Literal["link_entities"]
    entity: Name = Field(description="the entity that points (each of its records names one `target`)")
    target: Name
    field: Name | None = Field(default=None, description="the reference attribute; default <target>_id")
    label: Label | None = None
    required: bool = False


class AddRole(_Op):
    op: Literal["add_role"]
    name: Name
    label: Label
    description: str = Field(default="", max_length=300)
    read: list[Name] = Field(default_factory=list)
    write: list[Name] = Field(default_factory=list)
    read_own: list[Name] = Field(default_factory=list)
    scope: Literal["all", "own"] = "all"


class SetScope(_Op):
    op: Literal["set_scope"]
    role: Name
    entity: Name | None = Field(default=None, description="the entity whose access changes (none: `edit` only)")
    read: Literal["none", "all", "own"] | None = Field(default=None, description="own: only rows that are theirs")
    write: bool | None = None
    edit: Literal["all", "own"] | None = Field(default=None, description="role-wide: edit any row, or own rows only")


class SetRuleParams(_Op):
    op: Literal["set_rule_params"]
    capability: Name
    params: dict[str, Any] = Field(min_length=1, max_length=20)


class BindFeature(_Op):
    op: Literal["bind_feature"]
    feature: int | str = Field(description="the key feature: its index in the list, or its words")
    capabilities: list[Name] = Field(default_factory=list, description="existing capabilities to bind it to")
    new: dict[str, Any] | None = Field(default=None, description="a capability of the library to add and bind: "
                                                                 "{kind, ...its parameters}")


class MarkNotNeeded(_Op):
    op: Literal["mark_not_needed"]
    feature: int | str


Edit = Annotated[Union[AddAttribute, RenameAttribute, RetypeAttribute, AddEntity, LinkEntities, AddRole,  # noqa: UP007
                       SetScope, SetRuleParams, BindFeature, MarkNotNeeded], Field(discriminator="op")]
EDIT = TypeAdapter(Edit)


def parse(body: dict) -> BaseModel:
    """The typed edit of a request body; `EditRefused` (in words) for an unknown op or a malformed one."""
    try:
        return EDIT.validate_python(body)
    except ValidationError as exc:
        raise EditRefused([_pydantic_words(e) for e in exc.errors()][:10]) from None


# ------------------------------------------------------------------------------------------ words


def _labels(spec: AppSpec) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in spec.entities:
        out[e.name] = e.label
        for f in e.fields:
            out[f"{e.name}.{f.name}"] = f"{e.label}'s {f.label}"
    return out


def founder_words(problem: str, spec: AppSpec) -> str:
    """A check's sentence in the founder's nouns: `invoice.amount` becomes "Invoice's Amount", 'client' "Client"."""
    names = _labels(spec)
    out = re.sub(r"\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\b", lambda m: names.get(m.group(1), m.group(1)), problem)
    out = re.sub(r"'([a-z][a-z0-9_]*)'", lambda m: f'"{names[m.group(1)]}"' if m.group(1) in names
                 else m.group(0), out)
    return out[:1].upper() + out[1:]


def _pydantic_words(err: dict) -> str:
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    loc = [str(x) for x in err.get("loc", ()) if not str(x).isdigit()]
    where = loc[-1].replace("_", " ") if loc and err.get("type") != "value_error" else ""
    if err.get("type") == "string_pattern_mismatch":
        msg = "must be a lower-case name of letters, digits and underscores, starting with a letter (e.g. due_date)"
    elif err.get("type") == "union_tag_invalid":
        return f"unknown edit; choose one of: {', '.join(OPS)}"
    elif err.get("type") == "literal_error" and loc and loc[-1] == "type":
        msg = f"must be one of {', '.join(FIELD_TYPES)}"
    return f"{where}: {msg}" if where else msg


# ------------------------------------------------------------------------------------------ apply


def _entity(data: dict, name: str) -> dict:
    e = next((e for e in data["entities"] if e["name"] == name), None)
    if e is None:
        raise EditRefused([f"there is no entity {name!r}; the entities are "
                           f"{', '.join(x['name'] for x in data['entities'])}"])
    return e


def _field(ent: dict, name: str) -> dict:
    f = next((f for f in ent["fields"] if f["name"] == name), None)
    if f is None:
        raise EditRefused([f"{ent['label']} has no attribute {name!r}; its attributes are "
                           f"{', '.join(x['name'] for x in ent['fields'])}"])
    return f


def _feature(data: dict, key: int | str) -> dict:
    trace = data["trace"]
    if isinstance(key, int):
        if 0 <= key < len(trace):
            return trace[key]
    else:
        norm = " ".join(re.findall(r"[a-z0-9]+", key.lower()))
        for t in trace:
            if " ".join(re.findall(r"[a-z0-9]+", t["feature"].lower())) == norm:
                return t
    raise EditRefused([f"there is no key feature {key!r}; the features are numbered 0 to {len(trace) - 1}"])


def _attr(a: Attribute) -> dict:
    d = a.model_dump(exclude_none=True)
    d["label"] = a.label or a.name.replace("_", " ").capitalize()
    d.setdefault("source", "added by the founder")
    return d


def _rename_in(value, old: str, new: str):
    if value == old:
        return new
    if isinstance(value, list):
        return [_rename_in(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rename_in(v, old, new) for k, v in value.items()}
    return value


def _entity_pages(data: dict, ent: dict) -> None:
    taken = {p["id"] for p in data["pages"]}
    for pid, path, title, kind in (
            (ent["plural"], f"/{ent['plural']}", ent["label_plural"], "list"),
            (f"{ent['name']}_detail"[:40], f"/{ent['plural']}/<int:id>", ent["label"], "detail"),
            (f"{ent['name']}_form"[:40], f"/{ent['plural']}/new", f"New {ent['label'].lower()}"[:80], "form")):
        if pid not in taken:
            data["pages"].append({"id": pid, "path": path, "title": title, "kind": kind, "entity": ent["name"],
                                  "capability": None})
    if not any(n["page"] == ent["plural"] for n in data["navigation"]):
        data["navigation"].append({"label": ent["label_plural"], "page": ent["plural"]})


def _mutate(data: dict, e, spec: AppSpec) -> str:
    """Apply one edit to the spec's JSON in place; returns a one-line description for the edit log."""
    if isinstance(e, AddAttribute):
        ent = _entity(data, e.entity)
        ent["fields"].append(_attr(e.attribute))
        if e.attribute.type == "reference" and e.attribute.ref:
            data["relations"].append({"kind": "many_to_one", "entity": e.entity, "target": e.attribute.ref,
                                      "field": e.attribute.name, "through": None})
        return f"added {e.attribute.name} ({e.attribute.type}) to {ent['label']}"
    if isinstance(e, RenameAttribute):
        ent = _entity(data, e.entity)
        f = _field(ent, e.name)
        if f["type"] == "reference" and not e.to.endswith("_id"):
            raise EditRefused([f"{ent['label']}'s {f['label']} links to another record, so its name must end in "
                               f"_id (e.g. {e.to}_id)"])
        f["name"] = e.to
        if e.label:
            f["label"] = e.label
        if ent["display_field"] == e.name:
            ent["display_field"] = e.to
        for r in data["relations"]:
            if r["entity"] == e.entity and r.get("field") == e.name:
                r["field"] = e.to
        from .criteria.certify import touched

        for i, cap in enumerate(data["capabilities"]):  # a capability of this entity names it by the old name
            if e.entity in touched(spec.capabilities[i], spec):
                data["capabilities"][i] = {k: (v if k in _FIXED_PARAMS + ("label",) else _rename_in(v, e.name, e.to))
                                           for k, v in cap.items()}
        return f"renamed {ent['label']}'s {e.name} to {e.to}"
    if isinstance(e, RetypeAttribute):
        ent = _entity(data, e.entity)
        f = _field(ent, e.name)
        was = f["type"]
        f.update(type=e.type, values=list(e.values) if e.type == "enum" else [],
                 ref=e.ref if e.type == "reference" else None)
        if f.get("default") is not None and (e.type != was):
            f["default"] = None  # a default of the old type does not carry over
        if e.type not in ("integer", "decimal", "money", "text", "long_text", "email", "phone", "url"):
            f["min"] = f["max"] = None
        data["relations"] = [r for r in data["relations"] if not (r["entity"] == e.entity and r.get("field") == e.name)]
        if e.type == "reference" and e.ref:
            data["relations"].append({"kind": "many_to_one", "entity": e.entity, "target": e.ref, "field": e.name,
                                      "through": None})
        return f"changed {ent['label']}'s {f['label']} from {was} to {e.type}"
    if isinstance(e, AddEntity):
        if any(x["name"] == e.name for x in data["entities"]):
            raise EditRefused([f"there is already an entity {e.name!r}; choose another name"])
        attrs = [_attr(a) for a in e.attributes]
        display = next((a["name"] for a in attrs if a["type"] in ("text", "long_text", "email", "phone", "url",
                                                                   "enum")), None)
        if display is None:
            raise EditRefused([f"{e.label} needs at least one text attribute to show as each record's title "
                               f"(e.g. name)"])
        plural = e.plural or (e.name + ("es" if e.name.endswith(("s", "x", "ch", "sh")) else "s"))[:40]
        ent = {"name": e.name, "plural": plural, "label": e.label, "label_plural": e.label_plural or f"{e.label}s",
               "fields": attrs, "display_field": display, "source": "added by the founder"}
        data["entities"].append(ent)
        for a in attrs:
            if a["type"] == "reference":
                data["relations"].append({"kind": "many_to_one", "entity": e.name, "target": a.get("ref"),
                                          "field": a["name"], "through": None})
        owner = next((r for r in data["roles"] if r["name"] == "owner"), None)
        if owner is not None:  # the owner reads and writes every entity, as the planner plans it
            owner["read"].append(e.name)
            owner["write"].append(e.name)
        _entity_pages(data, ent)
        return f"added the entity {e.label}"
    if isinstance(e, LinkEntities):
        ent = _entity(data, e.entity)
        tgt = _entity(data, e.target)
        name = e.field or f"{e.target}_id"
        ent["fields"].append({"name": name, "label": e.label or tgt["label"], "type": "reference", "ref": e.target,
                              "required": e.required, "source": "added by the founder"})
        data["relations"].append({"kind": "many_to_one", "entity": e.entity, "target": e.target, "field": name,
                                  "through": None})
        return f"linked each {ent['label']} to a {tgt['label']}"
    if isinstance(e, AddRole):
        if any(r["name"] == e.name for r in data["roles"]):
            raise EditRefused([f"there is already a role {e.name!r}; choose another name"])
        data["roles"].append({**e.model_dump(exclude={"op"}), "manage_users": False, "source": "added by the founder"})
        return f"added the role {e.label}"
    if isinstance(e, SetScope):
        role = next((r for r in data["roles"] if r["name"] == e.role), None)
        if role is None:
            raise EditRefused([f"there is no role {e.role!r}; the roles are {', '.join(r['name'] for r in data['roles'])}"])
        if e.entity is None and e.edit is None:
            raise EditRefused(["say what changes: an entity with read or write, or edit (all or own)"])
        said = []
        if e.entity is not None:
            _entity(data, e.entity)
            if e.read is not None:
                role["read"] = [n for n in role["read"] if n != e.entity]
                role["read_own"] = [n for n in role["read_own"] if n != e.entity]
                if e.read != "none":
                    role["read"].append(e.entity)
                if e.read == "own":
                    role["read_own"].append(e.entity)
                said.append(f"reads {e.read} {e.entity}")
            if e.write is not None:
                role["write"] = [n for n in role["write"] if n != e.entity] + ([e.entity] if e.write else [])
                said.append(f"{'writes' if e.write else 'does not write'} {e.entity}")
        if e.edit is not None:
            role["scope"] = e.edit
            said.append(f"edits {e.edit} rows")
        return f"{role['label']} " + ", ".join(said)
    if isinstance(e, SetRuleParams):
        idx = next((i for i, c in enumerate(data["capabilities"]) if c["id"] == e.capability), None)
        if idx is None:
            raise EditRefused([f"there is no capability {e.capability!r}; the capabilities are "
                               f"{', '.join(c['id'] for c in data['capabilities'])}"])
        fixed = sorted(set(e.params) & set(_FIXED_PARAMS))
        if fixed:
            raise EditRefused([f"{', '.join(fixed)} cannot be set; bind the feature to another capability instead"])
        cap = data["capabilities"][idx]
        unknown = sorted(k for k in e.params if k not in cap and k != "label")
        if unknown:
            raise EditRefused([f"{cap['label']} has no setting {', '.join(unknown)}; its settings are "
                               f"{', '.join(k for k in cap if k not in _FIXED_PARAMS)}"])
        cap.update(e.params)
        return f"set {', '.join(f'{k}={v}' for k, v in e.params.items())} on {cap['label']}"[:300]
    if isinstance(e, BindFeature):
        t = _feature(data, e.feature)
        ids = {c["id"] for c in data["capabilities"]}
        missing = [c for c in e.capabilities if c not in ids]
        if missing:
            raise EditRefused([f"there is no capability {', '.join(missing)}; add it with `new` or choose one of "
                               f"{', '.join(sorted(ids))}"])
        bound = list(dict.fromkeys(e.capabilities))
        if e.new is not None:
            kind = e.new.get("kind")
            if kind not in available_kinds():
                raise EditRefused([f"the library has no capability {kind!r}; choose one of "
                                   f"{', '.join(available_kinds())}"])
            new = dict(e.new)
            base = new.get("id") or f"{kind}_{new.get('entity') or new.get('resource') or len(data['capabilities'])}"
            cid, n = str(base)[:40], 2
            while cid in ids:
                cid, n = f"{str(base)[:36]}_{n}", n + 1
            new.setdefault("label", t["feature"][:80])
            new["id"] = cid
            data["capabilities"].append(new)
            bound.append(cid)
        if not bound:
            raise EditRefused(["bind the feature to at least one capability (or mark it not needed)"])
        t.update(capabilities=bound, status="planned", reason=None, not_built=[])
        return f"bound {t['feature']!r} to {', '.join(bound)}"[:300]
    if isinstance(e, MarkNotNeeded):
        t = _feature(data, e.feature)
        t.update(capabilities=[], status="not_covered", reason=NOT_NEEDED, not_built=[], criteria=[], built_as=None)
        return f"marked {t['feature']!r} as not needed"[:300]
    raise EditRefused(["unknown edit"])  # pragma: no cover - the union has no other member


def recertify(spec: AppSpec) -> AppSpec:
    """Every feature's reading, criteria, "built as" and status recomputed from the spec as it now stands."""
    from .criteria.certify import certify

    fresh = spec.model_copy(update={"trace": [t.model_copy(update={"reading": None}) for t in spec.trace]})
    return certify(fresh)


def apply(spec: AppSpec, edit) -> tuple[AppSpec, str]:
    """(the edited spec, checked and recertified, with routes filled in; what the edit did). `EditRefused` with
    the problems in the founder's words when the edited spec fails a check; `spec` itself is never changed."""
    from .compiler import spec_with_routes
    from .criteria.certify import reading_problems

    e = parse(edit) if isinstance(edit, dict) else edit
    data = spec.model_dump(mode="json")
    said = _mutate(data, e, spec)
    for t in data["trace"]:
        t["reading"] = None
        if t["status"] == "partial" and not t["not_built"]:
            t["not_built"] = ["to be assessed"]
    try:
        edited = AppSpec.model_validate(data)
    except ValidationError as exc:
        raise EditRefused([founder_words(_pydantic_words(x), spec) for x in exc.errors()][:10]) from None
    problems = spec_problems(edited)
    if problems:
        raise EditRefused([founder_words(p, edited) for p in problems][:10])
    edited = recertify(edited)
    problems = reading_problems(edited)
    if problems:  # pragma: no cover - the built-in reading accounts for every word
        raise EditRefused([founder_words(p, edited) for p in problems][:10])
    return spec_with_routes(edited), said


# ------------------------------------------------------------------------------------------ the founder's view


#: suggestions already computed, by the spec's content hash (least recently used first): a plan is read again and
#: again (the page opens, the editor refreshes after each edit) while its spec stays the same version, and working
#: the suggestions out takes a second or two for a plan with several partial features.
SUGGEST_CACHE_SIZE = 32
_suggested: OrderedDict[str, list[dict]] = OrderedDict()
_suggested_lock = threading.Lock()


def spec_key(spec: AppSpec) -> str:
    """The spec's content hash: equal for equal specs, whatever document they were loaded from."""
    return hashlib.sha256(spec.model_dump_json().encode("utf-8")).hexdigest()


def suggest(spec: AppSpec) -> list[dict]:
    """For every feature left partial or not covered: typed edits (bodies `apply` takes, in order) that would build
    it or leave less of it missing, each with a one-sentence reason, or why there are none (`plansuggest`).
    Computed once per spec content and kept (`SUGGEST_CACHE_SIZE` specs); callers get their own copy."""
    from .plansuggest import suggest as _suggest

    key = spec_key(spec)
    with _suggested_lock:
        hit = _suggested.get(key)
        if hit is not None:
            _suggested.move_to_end(key)
            return copy.deepcopy(hit)
    out = _suggest(spec)
    with _suggested_lock:
        _suggested[key] = copy.deepcopy(out)
        while len(_suggested) > SUGGEST_CACHE_SIZE:
            _suggested.popitem(last=False)
    return out


def feature_status(t) -> str:
    if t.status == "not_covered" and (t.reason or "") == NOT_NEEDED:
        return "not_needed"
    return STATUS_WORDS[t.status]


def trace_status(spec: AppSpec) -> list[dict]:
    """Each key feature's status if built as planned: built, partial (with what is not), not covered (why)."""
    return [{"index": i, "feature": t.feature, "status": feature_status(t), "capabilities": list(t.capabilities),
             "not_built": list(t.not_built), "reason": t.reason if t.status == "not_covered" else None}
            for i, t in enumerate(spec.trace)]


def _params(cap) -> dict:
    return {k: v for k, v in cap.model_dump(mode="json").items() if k not in _FIXED_PARAMS + ("label",)}


def founder_view(spec: AppSpec) -> dict:
    """The spec as a founder reads it (the plan page's data)."""
    ents = [{"name": e.name, "label": e.label, "label_plural": e.label_plural, "title_attribute": e.display_field,
             "attributes": [{"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                             "values": list(f.values), "links_to": f.ref, "default": f.default}
                            for f in e.fields]} for e in spec.entities]
    links = [{"from": r.entity, "to": r.target, "kind": r.kind, "attribute": r.field, "through": r.through,
              "required": bool(r.field and spec.entity(r.entity) and spec.entity(r.entity).field(r.field)
                               and spec.entity(r.entity).field(r.field).required)}
             for r in spec.relations]
    matrix = []
    for r in spec.roles:
        cells = {}
        for e in spec.entities:
            read = "own" if e.name in r.read_own else ("all" if e.name in r.read or e.name in r.write else "none")
            cells[e.name] = {"read": read, "write": e.name in r.write,
                             "edit": (r.scope if e.name in r.write else None)}
        matrix.append({"role": r.name, "label": r.label, "manages_users": r.manage_users, "edit": r.scope,
                       "entities": cells})
    caps = {c.id: c for c in spec.capabilities}
    suggested = {x["index"]: x for x in suggest(spec)}
    features = []
    for i, t in enumerate(spec.trace):
        rd = t.reading
        features.append({
            "index": i, "feature": t.feature, "status": feature_status(t),
            "reading": None if rd is None else {
                "actors": rd.actors, "action": rd.action, "record": rd.record, "attributes": rd.attributes,
                "links": rd.links, "rules": [r.model_dump(mode="json") for r in rd.rules],
                "effects": [x.model_dump(mode="json") for x in rd.effects],
                "unread": [u.word for u in rd.words if u.maps_to == "unread"]},
            "built_as": t.built_as, "not_built": list(t.not_built),
            "reason": t.reason if t.status == "not_covered" else None,
            "capabilities": [{"id": c, "kind": caps[c].kind, "label": caps[c].label, "params": _params(caps[c])}
                             for c in t.capabilities if c in caps],
            "criteria": [{"id": c.id, "text": c.text} for c in t.criteria],
            "suggested_edits": suggested[i]["suggestions"] if i in suggested else [],
            "no_suggestion": suggested[i]["none_because"] if i in suggested else None,
        })
    return {"name": spec.name, "entities": ents, "links": links, "matrix": matrix, "features": features,
            "signup": {"policy": spec.signup.policy, "role": spec.signup.role},
            "public_entities": list(spec.signup.public),
            "capabilities": [{"id": c.id, "kind": c.kind, "label": c.label, "params": _params(c)}
                             for c in spec.capabilities],
            "library": list(available_kinds()), "attribute_types": list(FIELD_TYPES), "edits": list(OPS)}
