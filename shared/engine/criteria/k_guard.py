"""Criteria for `guard`: the act the words name (adding a record, moving it to a status) is refused with 409 and a
sentence while the condition fails, and goes through once it holds; a role that may not write the record is
refused too.

A stated rule is realised only when the capability carries it: a block ("cannot be sold", "cannot book a rink") by
a guard whose refused status the words name (a transition) or whose nouns all name records the guard acts on (a
create) or, for a guard that reads a checklist capability's items, the items of that checklist ("every skill" of a
skills checklist); a time window ("for at least 90 days") by a guard counting that many days since a date, or
("24 hours before a race's liberation time") by a cut-off of that many hours before a time.
"""

from __future__ import annotations

import re
from datetime import timedelta

from ..capabilities.guard import tested
from . import NOW, ScenarioError, a, entity_label, iso
from .k_trigger import _names, _rule_days

_EXPIRY_WORDS = re.compile(r" (?:expir\w*|lapsed?|run out|out of date) ")


def _stem(word: str) -> str:
    return re.sub(r"(?:ed|es|e|s|d)$", "", word)


def _condition_named(cap, words: str) -> bool:
    """Does the guard check the condition the rule's words name: a date run out by an expiry test, a state ("until
    its permit is approved", "until the secretary approves the proof") by a test of that state?"""
    if _EXPIRY_WORDS.search(words) and cap.test not in ("none_expired", "not_expired"):
        return False
    if cap.test == "not_expired" and not _EXPIRY_WORDS.search(words):
        return False
    if cap.test == "in_state":
        stems = {_stem(w) for w in words.split()}
        return any(_stem(v.split("_")[-1]) in stems for v in cap.test_values)
    return True


def _realises_guard(cap, spec, rule, reading) -> bool:
    if rule.category == "block":
        if rule.number is not None and (cap.test != "count_at_least" or float(cap.count) != rule.number):
            return False  # "unless two witnesses are recorded": held by a count of that many, not another test
        words = " " + " ".join(re.findall(r"[a-z0-9]+", (rule.words or "").lower())) + " "
        said = " ".join(w.word.lower() for w in (reading.words if reading is not None else []))
        if not _condition_named(cap, f"{words}{' '.join(re.findall(r'[a-z0-9]+', said))} "):
            return False
        if cap.on == "transition":
            return any(f" {v.replace('_', ' ')} " in words for v in cap.values)
        from .certify import touched

        own = set(touched(cap, spec)) | {cap.child_entity} - {None}
        items = set()
        if cap.test == "checklist_done":  # "every skill": the items of a skills checklist
            from ..planner.b_guard import checklist_item_nouns
            from ..planner.text import singular

            ck = spec.capability(cap.checklist)
            items = checklist_item_nouns(ck.label) if ck is not None else set()
            return all(not _names(spec, n) or _names(spec, n) & own or singular(n.lower()) in items
                       for n in rule.nouns)
        return all(not _names(spec, n) or _names(spec, n) & own for n in rule.nouns)
    if rule.category in ("price", "fee") and rule.number is not None and cap.test == "is_true":
        # "unless they've paid the £25 outing fee": the yes/no staff tick shows the amount it records as paid
        target = spec.entity(tested(cap, spec) or "")
        f = target.field(cap.test_field) if target is not None and cap.test_field else None
        n = f"{rule.number:g}"
        return f is not None and bool(re.search(rf"(?<![0-9.]){re.escape(n)}(?![0-9])", f.label or ""))
    if cap.test == "count_at_least" and rule.number is not None and rule.category in ("limit", "threshold",
                                                                                       "capacity", "quota", "other"):
        return float(rule.number) == float(cap.count)
    if cap.test == "before_cutoff":
        hours = _rule_hours(rule)
        return rule.category in ("time_window", "threshold") and hours is not None and float(cap.hours) == hours
    if rule.category in ("time_window", "threshold"):
        days = _rule_days(rule)
        return cap.test == "days_since" and days is not None and cap.days is not None and float(cap.days) == days
    return False


def _rule_hours(rule) -> float | None:
    """The rule's span in hours ("24 hours", "3 days", "two weeks"), None when it is not one."""
    from . import rule_number

    words = (rule.words or "").lower()
    unit = (rule.unit or "").strip().lower() or next(
        (u for u in ("hours", "days", "weeks") if re.search(rf"\b{u[:-1]}s?\b", words)), "")
    n = rule_number(rule)
    per = {"hour": 1, "hours": 1, "day": 24, "days": 24, "week": 168, "weeks": 168}.get(unit)
    return None if n is None or per is None else n * per


def _derive_guard(cap, spec, reading, feature) -> list[dict]:
    from ..capabilities.guard import describe_rule

    if spec.entity(cap.entity) is None:
        return []
    rule = describe_rule(cap, spec)
    ent = entity_label(spec, cap.entity)
    if cap.where_field:
        ent = f"{ent} of kind {cap.where_values[0].replace('_', ' ')}"
    act = f"adding {a(ent)}" if cap.on == "create" else f"making {a(ent)} {cap.values[0].replace('_', ' ')}"
    text = (f"{rule[:1].upper()}{rule[1:]}: while it does not hold, {act} is refused with a reason naming the rule; "
            f"once it holds, it goes through, and someone who may not change {ent}s is refused.")
    if cap.test == "before_cutoff":
        from ..capabilities.guard import span_words

        tent = spec.entity(tested(cap, spec))
        f = tent.field(cap.test_field) if tent else None
        when = f"its {f.label.lower() if f else cap.test_field}" if cap.via_field is None else \
            f"its {tent.label.lower()}'s {f.label.lower() if f else cap.test_field}"
        text = (f"{rule[:1].upper()}{rule[1:]}: with {when} {cap.hours - 1} hours away, {act} is refused with a "
                f"reason naming the rule; {cap.hours + 1} hours away (outside the {span_words(cap.hours)}), it goes "
                f"through, and someone who may not change {ent}s is refused.")
    realised = [i for i, r in enumerate(reading.rules if reading is not None else [])
                if _realises_guard(cap, spec, r, reading)]
    return [{"text": text if len(text) <= 300 else text[:297] + "...", "template": "guard.refused_until",
             "params": {"capability": cap.id}, "rules": realised}]


def _refused_until(p, capability: str) -> None:
    from ..capabilities.guard import state_moves, tested, tested_flow

    cap = next((c for c in p.spec.capabilities if c.id == capability and c.kind == "guard"), None)
    if cap is None:
        raise ScenarioError(f"the spec has no guard capability {capability!r}")
    ent = p.entity(cap.entity)
    target = tested(cap, p.spec)
    tent = p.entity(target)
    who = p.writer(cap.entity)
    label, tlabel = ent.label.lower(), tent.label.lower()
    state_flow = tested_flow(cap, p.spec)

    def cond(holds: bool) -> dict:
        if cap.test == "is_true":
            return {cap.test_field: holds}
        if cap.test == "days_since":
            f = tent.field(cap.test_field)
            return {cap.test_field: iso(NOW - timedelta(days=cap.days + 1 if holds else cap.days - 1), f.type)}
        if cap.test == "before_cutoff":  # the stated span, an hour either side (a date: the start of its day)
            f = tent.field(cap.test_field)
            at = NOW + timedelta(hours=cap.hours + 1 if holds else cap.hours - 1)
            if f.type == "date" and holds and (at.hour or at.minute):
                at += timedelta(days=1)
            return {cap.test_field: iso(at, f.type)}
        if cap.test == "not_expired":  # valid for most of a year, or run out two days ago
            f = tent.field(cap.test_field)
            return {cap.test_field: iso(NOW + timedelta(days=300) if holds else NOW - timedelta(days=2), f.type)}
        if cap.test == "in_state" and state_flow is None:
            failing = next(v for v in tent.field(cap.test_field).values if v not in cap.test_values)
            return {cap.test_field: cap.test_values[0] if holds else failing}
        return {}

    def fulfil(row: str) -> None:
        """The condition now holds on the tested row `row`: its fields set, or its workflow moved to the state."""
        if state_flow is None:
            p.step("owner", "PATCH", f"/api/{tent.plural}/${{{row}.id}}", json=cond(True),
                   note="the condition now holds")
            return
        for name, role in state_moves(cap, p.spec):
            p.step("owner" if role == "owner" else p.actor(role), "POST",
                   f"/api/{state_flow.id}/records/${{{row}.id}}/{name}",
                   note=f"its {tlabel} moved on: {name.replace('_', ' ')}")

    def checklist(row: str, all_ticked: bool, note: str) -> str | None:
        """Tick the items of `row`'s checklist (two added first when it names none): all, or all but the last,
        whose item path is returned."""
        ck = p.spec.capability(cap.checklist)
        api = f"/api/{cap.checklist}"
        paths = []
        if ck.items:
            var = p.var("checklist")
            p.step("owner", "GET", f"{api}/${{{row}.id}}", save=var, note=f"{note}: its checklist, none ticked",
                   checks=[{"path": "done", "op": "eq", "value": 0}])
            paths = [f"{api}/items/${{{var}.items.{i}.id}}" for i in range(len(ck.items))]
        else:
            for n in range(2):
                var = p.var("check")
                p.step("owner", "POST", f"{api}/${{{row}.id}}/items", json={"label": f"Check {n + 1}"}, expect=201,
                       save=var, note=f"{note}: a checklist item")
                paths.append(f"{api}/items/${{{var}.id}}")
        for path in paths if all_ticked else paths[:-1]:
            p.step("owner", "PATCH", path, json={"done": True}, note=f"{note}: tick an item")
        return None if all_ticked else paths[-1]

    def children(row: str, n: int, note: str) -> None:
        child = p.entity(cap.child_entity)
        for k in range(n):
            p.make(cap.child_entity, "owner", {cap.child_link: f"${{{row}.id}}"},
                   note=f"{note}: {child.label.lower()} {k + 1}")

    def others_ticked() -> None:
        other = p.make(target, "owner", note=f"another {tlabel}")
        checklist(other, True, f"the other {tlabel}")

    fixed = True if cap.test == "all_checked" else None
    if cap.test == "none_expired":
        fixed = iso(NOW + timedelta(days=300), p.entity(cap.child_entity).field(cap.test_field).type)
    renewed = "the last item is ticked" if cap.test == "all_checked" else "the item past its date is renewed"
    own: dict = {cap.where_field: cap.where_values[0]} if cap.where_field else {}
    item = None
    if cap.via_field:
        row = p.make(target, "owner", cond(False), note=f"{a(tlabel)} for whom the condition does not hold yet")
        if cap.test == "none_expired":
            child = p.entity(cap.child_entity)
            kind = child.field(cap.test_field).type
            p.make(cap.child_entity, "owner", {cap.child_link: f"${{{row}.id}}",
                                               cap.test_field: iso(NOW + timedelta(days=300), kind)},
                   note=f"one of its {child.label_plural.lower()}, still valid")
            item = p.make(cap.child_entity, "owner", {cap.child_link: f"${{{row}.id}}",
                                                      cap.test_field: iso(NOW - timedelta(days=2), kind)},
                          note=f"another of its {child.label_plural.lower()}, past its date")
        if cap.test == "all_checked":
            child = p.entity(cap.child_entity)
            p.make(cap.child_entity, "owner", {cap.child_link: f"${{{row}.id}}", cap.test_field: True},
                   note=f"one of its {child.label_plural.lower()}, ticked")
            item = p.make(cap.child_entity, "owner", {cap.child_link: f"${{{row}.id}}", cap.test_field: False},
                          note=f"another of its {child.label_plural.lower()}, not ticked yet")
        if cap.test == "checklist_done":
            item = checklist(row, False, f"the {tlabel}")
            others_ticked()
        if cap.test == "count_at_least":
            children(row, cap.count - 1, f"one short of {cap.count}")
        own[cap.via_field] = f"${{{row}.id}}"
    if cap.on == "transition":
        allowed = next(v for v in ent.field(cap.field).values if v not in cap.values)
        rec = p.make(cap.entity, who, {**own, **(cond(False) if cap.via_field is None else {}), cap.field: allowed},
                     note=f"{a(label)} whose condition does not hold yet")
        if cap.test == "checklist_done" and cap.via_field is None:
            item = checklist(rec, False, f"the {label}")
            others_ticked()
        if cap.test == "count_at_least" and cap.via_field is None:
            children(rec, cap.count - 1, f"one short of {cap.count}")
        path = f"/api/{ent.plural}/${{{rec}.id}}"
        refused = {"path": "error.code", "op": "eq", "value": "guard_not_met"}
        from ..capabilities.guard import _flow_ctx

        flow = _flow_ctx(cap, p.spec)
        last = None
        if flow:  # a workflow moves the status: through its transitions, the guarded one last
            p.ready(cap.entity, rec, but=cap.id)  # other rules holding the move back (a payment due first) hold
            *before, last = flow["moves"]
            for name, role, _start, end in before:
                p.step("owner" if role == "owner" else p.actor(role), "POST",
                       f"/api/{flow['cap']}/records/${{{rec}.id}}/{name}", note=f"moved to {end.replace('_', ' ')}")
            mover = "owner" if last[1] == "owner" else p.actor(last[1])

        def guarded(actor, expect, checks=None, note=""):
            if last is None:
                p.step(actor, "PATCH", path, json={cap.field: cap.values[0]}, expect=expect, checks=checks, note=note)
            else:
                p.step(mover if actor == who else actor, "POST", f"/api/{flow['cap']}/records/${{{rec}.id}}/{last[0]}",
                       expect=expect, checks=[{**c, "path": f"record.{c['path']}"} if c.get("path") == cap.field
                                              else c for c in checks or []], note=note)

        guarded(who, 409, [refused, {"op": "text_contains",
                                     "value": "before" if cap.test == "before_cutoff" else "until"}],
                f"it cannot be made {cap.values[0].replace('_', ' ')} yet")
        stranger = next((r.name for r in p.spec.roles if cap.entity not in r.write and r.name != "owner"), None)
        if cap.test == "checklist_done":
            p.step("owner", "PATCH", item, json={"done": True}, note="the last item of its checklist is ticked")
        elif cap.test == "count_at_least":
            children(rec if cap.via_field is None else row, 1, f"number {cap.count}")
        elif cap.via_field is None:
            p.step(who, "PATCH", path, json=cond(True), note="the condition now holds")
        elif cap.test == "checklist_done":
            p.step("owner", "PATCH", item, json={"done": True}, note="the last item of its checklist is ticked")
        elif item is not None:
            p.step("owner", "PATCH", f"/api/{p.entity(cap.child_entity).plural}/${{{item}.id}}",
                   json={cap.test_field: fixed}, note=renewed)
        else:
            fulfil(row)
        if stranger:
            guarded(p.actor(stranger), [403, 404], note=f"a {stranger.replace('_', ' ')} may not change it")
        else:  # every role may change it: someone signed out may not
            guarded("anon", 401, note="someone signed out may not change it")
        guarded(who, 200, [{"path": cap.field, "op": "eq", "value": cap.values[0]}],
                f"now it can be made {cap.values[0].replace('_', ' ')}")
        return
    mine = cond if cap.via_field is None else (lambda _holds: {})  # the condition on the record itself
    p.make(cap.entity, who, {**own, **mine(False)}, expect=409, note=f"adding {a(label)} is refused while the "
                                                                      f"condition does not hold")
    p.scenario["steps"][-1]["checks"] = [{"path": "error.code", "op": "eq", "value": "guard_not_met"}]
    if cap.where_field:  # another kind is not held back
        free = next(v for v in ent.field(cap.where_field).values if v not in cap.where_values)
        p.make(cap.entity, who, {**own, **mine(False), cap.where_field: free},
               note=f"{a(label)} of kind {free.replace('_', ' ')} is not held back")
    if cap.via_field is None:
        pass
    elif cap.test == "count_at_least":
        children(row, 1, f"number {cap.count}")
    elif cap.test == "checklist_done":
        p.step("owner", "PATCH", item, json={"done": True}, note="the last item of its checklist is ticked")
    elif item is not None:
        p.step("owner", "PATCH", f"/api/{p.entity(cap.child_entity).plural}/${{{item}.id}}",
               json={cap.test_field: fixed}, note=renewed)
    else:
        fulfil(row)
    stranger = next((r.name for r in p.spec.roles if cap.entity not in r.write and r.name != "owner"), None)
    if stranger:
        p.make(cap.entity, p.actor(stranger), {**own, **(cond(True) if cap.via_field is None else {})},
               expect=403, note=f"a {stranger.replace('_', ' ')} may not add one")
    else:  # every role may add one: someone signed out may not
        p.make(cap.entity, "anon", {**own, **(cond(True) if cap.via_field is None else {})}, expect=401,
               note="someone signed out may not add one")
    p.make(cap.entity, who, {**own, **(cond(True) if cap.via_field is None else {})},
           note=f"once it holds, {a(label)} can be added")


REALISES = {"guard": _realises_guard}
DERIVE = {"guard": _derive_guard}
COMPILE = {"guard.refused_until": _refused_until}
