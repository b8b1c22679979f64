"""Acceptance criteria: from a feature's reading to sentences in the founder's nouns, and from those to API
scenarios QA runs against the generated app (issue 16).

* `derive(cap, spec, reading) -> list[Criterion]` (per kind, in `kinds.py`): the criteria a capability bound to a
  feature can be held to, each a sentence plus a scenario `template` and its `params` (entity, field and role
  names, numbers), and the indices of the reading's rules it exercises.
* `compile_criterion(spec, criterion) -> scenario` turns one into steps over the app's HTTP routes (the ones
  `/api/schema` lists), with actors by role. `runner.py` executes scenarios in QA's sandbox.

Scenarios are built with `Plan`: `p.actor(role)` names a user with that role, `p.make(entity, actor)` creates a
row (and the rows it references first) from the same sample values the generated tests use, and `p.step(...)`
adds a request with its expected status and checks.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ..compiler.samples import sample_payload

#: The clock every scenario runs at (the app's `NOW` setting), so dates in criteria are exact.
NOW = datetime(2030, 1, 10, 12, 0, 0)
NOW_ISO = NOW.isoformat()


class ScenarioError(ValueError):
    """A criterion cannot be compiled against this spec (a name does not resolve); the criterion fails."""


class Plan:
    def __init__(self, spec, criterion_id: str, feature: str, text: str):
        from ..compiler import entities_meta

        self.spec = spec
        self.meta = entities_meta(spec)
        self.scenario = {"id": criterion_id, "feature": feature, "text": text, "now": NOW_ISO, "actors": {"owner": "owner"},
                         "steps": []}
        self._n = 0
        self._variant: dict[str, int] = {}

    # ------------------------------------------------------------------ actors

    def actor(self, role: str, name: str | None = None) -> str:
        """A user with `role` (a new one each call unless `name` is given twice). Actor "owner" is the owner who
        claimed the app with its claim token; "anon" is a client that never signed in."""
        if role == "owner" and name is None:
            return "owner"
        if self.spec.role(role) is None:
            raise ScenarioError(f"the spec has no role {role!r}")
        if name is None:
            name = f"{role}_{len(self.scenario['actors']) + 1}"
        if name not in self.scenario["actors"]:
            self.scenario["actors"][name] = role
        return name

    def writer(self, entity: str, exclude: tuple[str, ...] = ()) -> str:
        """A role that may create rows of `entity` (not the owner when another may), as an actor."""
        roles = [r.name for r in self.spec.roles if entity in r.write and r.name not in exclude]
        if not roles:
            raise ScenarioError(f"no role may write {entity!r}")
        non_owner = [r for r in roles if r != "owner"]
        return self.actor((non_owner or roles)[0])

    def reads_own(self, actor: str, entity: str) -> bool:
        """Does `actor`'s role read `entity` only where the row is its own (RoleSpec.read_own)?"""
        role = self.spec.role(self.scenario["actors"].get(actor, "owner"))
        return role is not None and entity in role.read_own

    def makes_own(self, actor: str, entity: str) -> bool:
        """Should a row of `entity` that `actor` refers to be made by `actor`? Yes when its role reads `entity`
        only where its own and may make one (a row the owner made would be as missing to it as a deleted one)."""
        role = self.spec.role(self.scenario["actors"].get(actor, "owner"))
        return self.reads_own(actor, entity) and entity in role.write

    # ------------------------------------------------------------------ rows

    def var(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def entity(self, name: str):
        ent = self.spec.entity(name)
        if ent is None:
            raise ScenarioError(f"the spec has no entity {name!r}")
        return ent

    def payload(self, entity: str, actor: str | None = None) -> dict:
        """A sample create body; as `actor` (a role that changes only its own rows) without the fields only staff
        may set (a rule reads them: an induction passed)."""
        v = self._variant.get(entity, 0)
        self._variant[entity] = v + 1
        out = sample_payload(self.meta[entity], v)
        role = self.spec.role(self.scenario["actors"].get(actor, "owner")) if actor else None
        if role is not None and role.scope != "all":
            for f in self.meta[entity]["fields"]:
                if f.get("staff_only"):
                    out.pop(f["name"], None)
        return out

    def make(self, entity: str, actor: str | None, overrides: dict | None = None, expect=201,
             note: str | None = None, parents: tuple = ()) -> str:
        """Create a row of `entity` as `actor` (None: the owner), referenced rows first; returns its variable."""
        actor = actor or "owner"
        ent = self.entity(entity)
        overrides = dict(overrides or {})
        body = self.payload(entity, actor)
        for f in ent.fields:
            if f.type != "reference" or f.name in overrides:
                continue
            if f.ref in parents + (entity,) and not f.required:
                continue
            own = self.makes_own(actor, f.ref)  # a keeper's inspection is of the keeper's own hive
            ref = self.make(f.ref, actor if own else None, parents=parents + (entity,))
            body[f.name] = f"${{{ref}.id}}"
        body.update(overrides)
        var = self.var(entity)
        self.step(actor, "POST", f"/api/{ent.plural}", json=body, expect=expect, save=var,
                  note=note or f"create a {ent.label.lower()}")
        return var

    def ready(self, entity: str, row: str, but: str | None = None) -> None:
        """Steps that make the new row `row` of `entity` free to move through its workflow past every rule holding a
        move back (`compiler.ready_actions`: a guard's count, yes/no, date or checklist, a payment due first), as
        the owner; `but`: the capability whose own rule the scenario tests (its action is left out)."""
        from ..compiler import ready_actions

        for act in [x for x in ready_actions(self.spec) if x["entity"] == entity and (but is None
                                                                                       or x.get("of") != but)]:
            target = f"${{{row}.{act['via']}}}" if act["via"] else f"${{{row}.id}}"
            if act["do"] == "children":
                for k in range(act["count"]):
                    self.make(act["child"], None, overrides={act["link"]: target},
                              note=f"ready: {act['child'].replace('_', ' ')} {k + 1} of {act['count']}")
            elif act["do"] == "set":
                self.step("owner", "PATCH", f"/api/{self.entity(act['target']).plural}/{target}",
                          json={act["field"]: act["value"]}, note=f"ready: {act['field'].replace('_', ' ')} set")
            elif act["do"] == "tick":
                ck = self.spec.capability(act["checklist"])
                var = self.var("checklist")
                self.step("owner", "GET", f"/api/{act['checklist']}/{target}", save=var, note="ready: its checklist")
                for i in range(len(getattr(ck, "items", None) or [])):
                    self.step("owner", "PATCH", f"/api/{act['checklist']}/items/${{{var}.items.{i}.id}}",
                              json={"done": True}, note="ready: tick an item")
            elif act["do"] == "move":  # the tested record moved through its workflow to the state asked for
                for name, role in act["moves"]:
                    self.step("owner" if role == "owner" else self.actor(role), "POST",
                              f"/api/{act['flow']}/records/{target}/{name}", note=f"ready: {name.replace('_', ' ')}")
            elif act["do"] == "pay":  # a checkout of it, and Stripe's signed word that it is paid
                self.scenario["stripe"] = True
                var, cap = self.var("checkout"), act["payments"]
                self.step("owner", "POST", f"/api/{cap}/{self.entity(entity).plural}/{target}/checkout", json={},
                          expect=201, save=var, note="ready: a checkout of it")
                obj = {"id": f"${{{var}.payment.session_id}}", "object": "checkout.session", "payment_status": "paid",
                       "amount_total": f"${{{var}.payment.amount_minor}}", "currency": f"${{{var}.payment.currency}}"}
                if act.get("mode") == "subscription":
                    obj["subscription"] = f"sub_{var}"
                self.step("anon", "POST", f"/api/{cap}/webhook", stripe_signed=True, note="ready: Stripe says paid",
                          json={"id": f"evt_{var}", "object": "event", "type": "checkout.session.completed",
                                "data": {"object": obj}},
                          checks=[{"path": "outcome", "op": "contains", "value": "paid" if act.get("mode") !=
                                   "subscription" else "active"}])

    def step(self, actor: str | None, method: str, path: str, *, json=None, expect=200, save: str | None = None,
             checks: list[dict] | None = None, note: str | None = None, files: dict | None = None,
             form: dict | None = None, now: str | None = None, stripe_signed: bool = False) -> None:
        s: dict = {"as": actor, "method": method, "path": path, "expect": expect}
        if json is not None:
            s["json"] = json
        if stripe_signed:  # the runner signs the body as Stripe signs a webhook
            s["stripe_signed"] = True
        if files:
            s["files"] = files
            s["form"] = form or {}
        if save:
            s["save"] = save
        if checks:
            s["checks"] = checks
        if note:
            s["note"] = note
        if now:
            s["now"] = now
        self.scenario["steps"].append(s)


def iso(dt: datetime, kind: str = "datetime") -> str:
    return dt.date().isoformat() if kind == "date" else dt.isoformat() + "Z"


def days_from_now(days: float, kind: str = "datetime") -> str:
    return iso(NOW + timedelta(days=days), kind)


def cid(*parts: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", "_".join(parts).lower()).strip("_")[:40] or "criterion"


def compile_criterion(spec, criterion, feature: str) -> dict:
    """The scenario for one criterion; `ScenarioError` when it names what the spec does not have."""
    from .kinds import COMPILERS

    fn = COMPILERS.get(criterion.template)
    if fn is None:
        raise ScenarioError(f"no scenario template {criterion.template!r}")
    p = Plan(spec, criterion.id, feature, criterion.text)
    fn(p, **criterion.params)
    return p.scenario


def compile_all(spec) -> tuple[list[dict], list[dict]]:
    """(scenarios, results of criteria that could not be compiled) for every criterion of the spec's trace."""
    scenarios, failed = [], []
    for t in spec.trace:
        for c in t.criteria:
            try:
                scenarios.append(compile_criterion(spec, c, t.feature))
            except (ScenarioError, KeyError, TypeError, ValueError) as exc:
                failed.append({"id": c.id, "passed": False, "steps_run": 0,
                               "detail": f"the criterion could not be compiled: {exc}"})
    return scenarios, failed


def noun_matches(noun: str, name: str | None) -> bool:
    """Does the founder's noun ("owner", "kiln", "safety defect") name this entity, field or role (snake_case)?
    Whole words only: "owner" names `owner`, `pet_owner` and `owner_email`, never `ownership`."""
    if not noun or not name:
        return False
    from ..planner.text import singular

    want = [singular(w) for w in re.findall(r"[a-z0-9]+", noun.lower())]
    have = [singular(w) for w in name.lower().split("_") if w]
    n = len(want)
    return any(have[i:i + n] == want for i in range(len(have) - n + 1)) if n else False


def rule_number(rule) -> float | None:
    return None if rule.number is None else float(rule.number)


def a(noun: str) -> str:
    """The noun with its indefinite article ("an invoice", "a kiln", "a user", "a one-off")."""
    vowel = noun[:1].lower() in "aeiou" and not re.match(r"(?i)u(s|ni|ti)|eu|one\b", noun)
    return f"{'an' if vowel else 'a'} {noun}"


def entity_label(spec, name: str, plural: bool = False) -> str:
    """An entity's label (or plural label) in lower case, for sentences; its name when the spec lacks it."""
    ent = spec.entity(name)
    if ent is None:
        return name.replace("_", " ") + ("s" if plural else "")
    return (ent.label_plural if plural else ent.label).lower()


def field_label(spec, entity: str, field: str | None) -> str:
    """A field's label in lower case, for sentences; its name when the spec lacks it."""
    ent = spec.entity(entity)
    f = ent.field(field) if ent is not None and field else None
    return (f.label if f else (field or "").replace("_", " ")).lower()
