"""The app spec (version 1): the one contract between planning and code.

Stored as the artifact `app-spec.json` (and `app-spec.md` for people). A planner (built-in or LLM) produces
it from the idea; `spec_problems` is the semantic check (names resolve, the trace covers every key
feature); the compiler renders the project from a spec with no problems, never from the prose.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from ..capabilities import Capability, available_kinds, module_for
from .base import RESERVED_NAMES, Evidence, Label, Name, SpecModel

SPEC_VERSION = 1

FIELD_TYPES = ("text", "long_text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum", "email",
               "phone", "url", "reference", "file")
FieldType = Literal["text", "long_text", "integer", "decimal", "money", "boolean", "date", "datetime", "enum",
                    "email", "phone", "url", "reference", "file"]
NUMERIC = ("integer", "decimal", "money")
TEXTUAL = ("text", "long_text", "email", "phone", "url")
OWNER_ROLE = "owner"


class FieldSpec(SpecModel):
    name: Name
    label: Label
    type: FieldType
    required: bool = False
    unique: bool = False
    min: float | None = Field(default=None, description="numbers: smallest value; text: shortest length")
    max: float | None = Field(default=None, description="numbers: largest value; text: longest length")
    default: str | int | float | bool | None = None
    values: list[Name] = Field(default_factory=list, description="enum: the allowed values")
    ref: Name | None = Field(default=None, description="reference: the target entity's name")
    source: Evidence = Field(default="", description="the idea's words this field comes from")

    @model_validator(mode="after")
    def _shape(self):
        if self.name in RESERVED_NAMES:
            raise ValueError(f"field name {self.name!r} is reserved; choose another name")
        if self.type == "enum" and len(self.values) < 2:
            raise ValueError(f"enum field {self.name!r} needs at least two values")
        if self.type != "enum" and self.values:
            raise ValueError(f"field {self.name!r} has values but is not an enum")
        if (self.type == "reference") != (self.ref is not None):
            raise ValueError(f"field {self.name!r}: 'ref' is set exactly when the type is 'reference'")
        if self.type == "reference" and not self.name.endswith("_id"):
            raise ValueError(f"reference field {self.name!r} must be named <something>_id, e.g. {self.ref}_id")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"field {self.name!r}: min {self.min} is above max {self.max}")
        if self.type == "enum" and self.default is not None and self.default not in self.values:
            raise ValueError(f"field {self.name!r}: default {self.default!r} is not one of its values")
        return self


class EntitySpec(SpecModel):
    name: Name
    plural: Name
    label: Label
    label_plural: Label
    fields: list[FieldSpec] = Field(min_length=1, max_length=30)
    display_field: Name = Field(description="the text field shown as the record's title")
    source: Evidence = Field(default="", description="the idea's words this entity comes from")

    @model_validator(mode="after")
    def _shape(self):
        names = [f.name for f in self.fields]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"entity {self.name!r} has duplicate fields {dup}")
        for n in (self.name, self.plural):
            if n in RESERVED_NAMES:
                raise ValueError(f"entity name {n!r} is reserved; choose another name")
        disp = next((f for f in self.fields if f.name == self.display_field), None)
        if disp is None or disp.type not in TEXTUAL + ("enum",):
            raise ValueError(f"entity {self.name!r}: display_field {self.display_field!r} must be one of its "
                             f"text fields")
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


class RelationSpec(SpecModel):
    kind: Literal["many_to_one", "many_to_many"]
    entity: Name = Field(description="many_to_one: the entity holding the reference field")
    target: Name
    field: Name | None = Field(default=None, description="many_to_one: the reference field on `entity`")
    through: Name | None = Field(default=None, description="many_to_many: the join entity (references both)")


class RoleSpec(SpecModel):
    name: Name
    label: Label
    description: str = Field(default="", max_length=300)
    read: list[Name] = Field(default_factory=list, description="entities this role may read")
    write: list[Name] = Field(default_factory=list, description="entities this role may create/edit/delete")
    scope: Literal["all", "own"] = Field(default="all", description="own: may edit/delete only rows it created")
    read_own: list[Name] = Field(default_factory=list, description=(
        "entities this role reads only where the row is its own: created by the user, or pointing (through a "
        "reference field) at a person record whose email is the user's login email, or whose required parent "
        "reference points at a row that is its own (one level)"))
    manage_users: bool = False
    source: Evidence = Field(default="", description="the idea's words this role comes from")


class SignupSpec(SpecModel):
    """Who may create an account without the owner (issue 18's signup policy)."""

    policy: Literal["invite", "public"] = Field(default="invite", description=(
        "invite: only people the owner (or a role that manages users) invites or adds get an account; public: "
        "anyone may sign up, into `role`"))
    role: Name | None = Field(default=None, description=(
        "public only: the role a self-sign-up gets; it must not manage users, and it reads every entity other "
        "than `public` only where the row is its own (read_own)"))
    public: list[Name] = Field(default_factory=list, description=(
        "public only: entities the self-sign-up role reads in full (what a public audience browses: the services, "
        "events or items offered), never a record about a person"))
    source: Evidence = Field(default="", description="the idea's words that make the audience public")


class PageSpec(SpecModel):
    id: Name
    path: str = Field(pattern=r"^/[a-z0-9_/<>:-]*$", max_length=120)
    title: Label
    kind: Literal["home", "list", "detail", "form", "capability"]
    entity: Name | None = None
    capability: Name | None = None


class NavItem(SpecModel):
    label: Label
    page: Name


RULE_CATEGORIES = ("limit", "capacity", "uniqueness", "exclusivity", "agreement", "time_window", "duration",
                   "threshold", "fee", "price", "escalation", "block", "recipient", "channel", "scope", "sequence")
RuleCategory = Literal["limit", "capacity", "uniqueness", "exclusivity", "agreement", "time_window", "duration",
                       "threshold", "fee", "price", "escalation", "block", "recipient", "channel", "scope", "sequence"]


class WordUse(SpecModel):
    """One content word of a key feature and what it maps to in the spec (the accounting)."""

    word: str = Field(min_length=1, max_length=60, description="the word as the founder wrote it (lower case)")
    maps_to: str = Field(max_length=120, description=(
        "entity:<name> | field:<entity>.<field> | role:<name> | capability:<id> | capability:<id>.<param> | "
        "rule:<n> | effect:<n> | action:<verb> (records are added, listed, read, edited) | page (a list, page or "
        "view of records) | app (the web app itself) | unread (nothing in the spec realises it)"))


class RuleReading(SpecModel):
    """A rule the feature states, with its numbers, in the founder's words."""

    category: RuleCategory
    words: str = Field(min_length=1, max_length=160, description="the feature's words that state it, verbatim")
    number: float | None = Field(default=None, description="the number stated (\"three\" -> 3), if any")
    unit: str | None = Field(default=None, max_length=30, description="days, hours, percent, ...")
    nouns: list[str] = Field(default_factory=list, description="the nouns it is about (singular, lower case)")


class EffectReading(SpecModel):
    """Something that happens when the feature's action is taken."""

    kind: Literal["create", "change", "notify", "block"]
    words: str = Field(min_length=1, max_length=160)
    recipient: str | None = Field(default=None, max_length=40, description="notify: who is told (a people noun)")
    channel: Literal["email", "sms", "in_app"] | None = None


class FeatureReading(SpecModel):
    """How one key feature reads: who does what to which record, the rules and effects, and every word's use."""

    actors: list[str] = Field(default_factory=list, description="roles (or people nouns) who act")
    action: str | None = Field(default=None, max_length=40, description="the main verb, base form")
    record: str | None = Field(default=None, description="the entity acted on")
    attributes: list[str] = Field(default_factory=list, description="fields named, as <entity>.<field>")
    links: list[str] = Field(default_factory=list, description="links named, as <entity>.<reference field>")
    rules: list[RuleReading] = Field(default_factory=list)
    effects: list[EffectReading] = Field(default_factory=list)
    words: list[WordUse] = Field(default_factory=list, description="every content word of the feature, in order")


class Criterion(SpecModel):
    """An acceptance criterion in the founder's nouns; QA compiles `template` + `params` into an API scenario."""

    id: Name
    text: str = Field(min_length=1, max_length=300)
    template: str = Field(min_length=1, max_length=60, description="a scenario template of shared/engine/criteria")
    params: dict = Field(default_factory=dict)
    rules: list[int] = Field(default_factory=list, description="indices of the reading's rules it exercises")
    capability: Name | None = None


class TraceEntry(SpecModel):
    feature: str = Field(min_length=1, max_length=300, description="the key feature, verbatim from the idea")
    status: Literal["planned", "partial", "not_covered"] = Field(description=(
        "planned: every word is read and every rule realised (QA still runs the criteria); partial: some of it is "
        "built, `not_built` says what is not; not_covered: nothing of it, `reason` says why"))
    capabilities: list[Name] = Field(default_factory=list, description="ids of the capabilities realising it")
    entities: list[Name] = Field(default_factory=list)
    reason: str | None = Field(default=None, max_length=400, description="not_covered: why, for the founder")
    reading: FeatureReading | None = None
    criteria: list[Criterion] = Field(default_factory=list)
    built_as: str | None = Field(default=None, max_length=400, description="what was built, in the founder's nouns")
    not_built: list[str] = Field(default_factory=list, description="what was not built, in the founder's words")

    @model_validator(mode="after")
    def _shape(self):
        if self.status in ("planned", "partial") and not self.capabilities:
            raise ValueError(f"feature {self.feature!r} is {self.status} but names no capability; a table alone is "
                             f"not a feature — name the capability or mark it not_covered with a reason")
        if self.status == "not_covered" and not (self.reason or "").strip():
            raise ValueError(f"feature {self.feature!r} is not_covered but gives no reason")
        if self.status == "partial" and not self.not_built:
            raise ValueError(f"feature {self.feature!r} is partial but `not_built` does not say what is missing")
        return self


class AppSpec(SpecModel):
    version: Literal[1] = SPEC_VERSION
    name: str = Field(min_length=1, max_length=60)
    slug: str = Field(pattern=r"^[a-z][a-z0-9-]{0,39}$")
    purpose: str = Field(min_length=1, max_length=800)
    tagline: str = Field(min_length=1, max_length=160)
    features: list[str] = Field(default_factory=list, max_length=30, description="the idea's key features")
    roles: list[RoleSpec] = Field(min_length=1, max_length=8)
    default_role: Name = Field(description="role given to users the owner adds unless another is chosen")
    signup: SignupSpec = Field(default_factory=SignupSpec, description="who may create an account")
    entities: list[EntitySpec] = Field(min_length=1, max_length=12)
    relations: list[RelationSpec] = Field(default_factory=list)
    capabilities: list[Capability] = Field(default_factory=list, max_length=40)
    pages: list[PageSpec] = Field(default_factory=list)
    navigation: list[NavItem] = Field(default_factory=list)
    trace: list[TraceEntry] = Field(default_factory=list)

    def entity(self, name: str) -> EntitySpec | None:
        return next((e for e in self.entities if e.name == name), None)

    def role(self, name: str) -> RoleSpec | None:
        return next((r for r in self.roles if r.name == name), None)

    def capability(self, cap_id: str):
        return next((c for c in self.capabilities if c.id == cap_id), None)


def person_email_field(entity: EntitySpec) -> str | None:
    """The login-email field of a people entity: its email field named `email`, else its first email field;
    None for an entity with no email field (not a people entity)."""
    emails = [f.name for f in entity.fields if f.type == "email"]
    return "email" if "email" in emails else (emails[0] if emails else None)


def own_paths(spec: AppSpec, entity_name: str) -> dict:
    """How a row of `entity_name` is a user's own (RoleSpec.read_own), besides having been created by the user:

    * "email": the row is itself a person record whose email field (this one) is the user's login email;
    * "people": [field, people entity, its email field]: the row's reference `field` points at a person record
      whose email is the user's login email;
    * "parents": [field, parent entity]: the row's required reference `field` points at a parent row that is the
      user's own by creation, its own email or its people links (one level: a parent's parents do not count).
    """
    e = spec.entity(entity_name)
    people, parents = [], []
    for f in e.fields if e is not None else []:
        target = spec.entity(f.ref) if f.type == "reference" else None
        if target is None:
            continue
        email = person_email_field(target)
        if email is not None:
            people.append([f.name, target.name, email])
        if f.required and target.name != entity_name:
            parents.append([f.name, target.name])
    return {"email": person_email_field(e) if e is not None else None, "people": people, "parents": parents}


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _signup_problems(spec: AppSpec, roles: dict, ents: dict) -> list[str]:
    """A public sign-up goes into a least-privilege role: no user management, reads scoped to its own rows
    except the entities the spec calls public, and no public entity holds a person's contact details."""
    s = spec.signup
    p = [f"signup.public names unknown entity {n!r}" for n in s.public if n not in ents]
    if s.policy == "invite":
        if s.role or s.public:
            p.append("signup policy 'invite' takes no role or public entities: drop them, or make the policy "
                     "'public'")
        return p
    role = roles.get(s.role or "")
    if role is None:
        return [*p, f"signup policy 'public' needs `role`, one of the roles {sorted(roles)}"]
    if role.manage_users or role.name == OWNER_ROLE:
        p.append(f"signup role {role.name!r} manages users; a self-sign-up must get a role that does not")
    for n in dict.fromkeys(role.read + role.write):
        if n in ents and n not in s.public and n not in role.read_own:
            p.append(f"signup role {role.name!r} reads every {n!r} row: add {n!r} to its read_own or to "
                     f"signup.public")
    for n in s.public:
        e = ents.get(n)
        if e is not None and any(f.type in ("email", "phone") for f in e.fields):
            p.append(f"public entity {n!r} holds people's contact details (an email or phone field); keep it "
                     f"private")
    return p


def spec_problems(spec: AppSpec) -> list[str]:
    """Semantic problems, each a sentence naming what to fix. Empty means the spec can be compiled."""
    p: list[str] = []
    ents = {e.name: e for e in spec.entities}
    seen: set[str] = set()
    for e in spec.entities:
        for n in {e.name, e.plural}:
            if n in seen:
                p.append(f"entity name {n!r} is used twice")
            seen.add(n)
        for f in e.fields:
            if f.type == "reference" and f.ref not in ents:
                p.append(f"field {e.name}.{f.name} references unknown entity {f.ref!r}; "
                         f"known entities: {sorted(ents)}")
    for r in spec.relations:
        src, tgt = ents.get(r.entity), ents.get(r.target)
        if src is None or tgt is None:
            p.append(f"relation {r.entity}->{r.target}: unknown entity {r.entity if src is None else r.target!r}")
            continue
        if r.kind == "many_to_one":
            f = src.field(r.field or "")
            if f is None or f.type != "reference" or f.ref != r.target:
                p.append(f"relation {r.entity}->{r.target}: field {r.field!r} must be a reference field on "
                         f"{r.entity} whose ref is {r.target!r}")
        else:
            j = ents.get(r.through or "")
            if j is None:
                p.append(f"many_to_many relation {r.entity}<->{r.target} needs a join entity in 'through'")
            else:
                refs = {f.ref for f in j.fields if f.type == "reference"}
                if not {r.entity, r.target} <= refs:
                    p.append(f"join entity {j.name!r} must have reference fields to both {r.entity!r} and "
                             f"{r.target!r}")
    roles = {r.name: r for r in spec.roles}
    if len(roles) != len(spec.roles):
        p.append("role names must be unique")
    owner = roles.get(OWNER_ROLE)
    if owner is None or not owner.manage_users:
        p.append(f"there must be a role named {OWNER_ROLE!r} with manage_users true (who claims the app)")
    if spec.default_role not in roles:
        p.append(f"default_role {spec.default_role!r} is not one of the roles {sorted(roles)}")
    for r in spec.roles:
        for n in r.read + r.write:
            if n not in ents:
                p.append(f"role {r.name!r} names unknown entity {n!r}")
        for n in r.read_own:
            if n not in r.read and n not in r.write:
                p.append(f"role {r.name!r} has {n!r} in read_own but does not read it; add it to read or drop it "
                         f"from read_own")
        if r.read_own and r.manage_users:
            p.append(f"role {r.name!r} manages users, so it sees every row: drop its read_own")
    p.extend(_signup_problems(spec, roles, ents))
    ids = [c.id for c in spec.capabilities]
    for d in sorted({i for i in ids if ids.count(i) > 1}):
        p.append(f"capability id {d!r} is used twice")
    avail = set(available_kinds())
    for c in spec.capabilities:
        if c.kind not in avail:
            p.append(f"capability {c.id!r}: kind {c.kind!r} is not in the library yet; mark its feature "
                     f"not_covered instead")
            continue
        p.extend(f"capability {c.id!r} ({c.kind}): {msg}" for msg in module_for(c.kind).check(c, spec))
    pages = {pg.id for pg in spec.pages}
    for pg in spec.pages:
        if pg.entity and pg.entity not in ents:
            p.append(f"page {pg.id!r} names unknown entity {pg.entity!r}")
        if pg.capability and pg.capability not in ids:
            p.append(f"page {pg.id!r} names unknown capability {pg.capability!r}")
    for n in spec.navigation:
        if n.page not in pages:
            p.append(f"navigation item {n.label!r} points at unknown page {n.page!r}")
    traced: dict[str, int] = {}
    for t in spec.trace:
        traced[_norm(t.feature)] = traced.get(_norm(t.feature), 0) + 1
        for cid in t.capabilities:
            if cid not in ids:
                p.append(f"trace of {t.feature!r} names unknown capability {cid!r}; known: {sorted(ids)}")
        for en in t.entities:
            if en not in ents:
                p.append(f"trace of {t.feature!r} names unknown entity {en!r}")
    for feat in spec.features:
        if traced.get(_norm(feat), 0) == 0:
            p.append(f"key feature {feat!r} is missing from the trace: add it with its capabilities, or mark it "
                     f"not_covered with a reason")
    for key, n in traced.items():
        if n > 1:
            p.append(f"feature {key!r} appears {n} times in the trace")
    return p
