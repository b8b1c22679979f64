"""The planner: an idea -> an `AppSpec` (issues 10 and 11).

* `plan_builtin(idea, kinds=None)` — deterministic, offline. Entities, fields and roles come from the
  idea's own words (`draft.py`), key features map to capabilities with parameters (`capmap.py`), and every
  key feature is in the trace: `planned` with the capabilities that realise it, or `not_covered` with a
  reason a founder can read. Only kinds in `capabilities.available_kinds()` are planned.
* `plan_spec(context, gen)` — the development stage's entry point, whichever engine serves it. With the
  LLM engine the model writes the spec from `AppSpec`'s JSON schema and `spec_problems` is the repair
  check (unresolved names, features missing from the trace go back as repair messages); a spec that stays
  invalid raises `LLMOutputInvalid` with the reason.
* `planned_features(spec)` — the features the spec claims, for coverage accounting.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from ..appspec import (
    OWNER_ROLE,
    AppSpec,
    EntitySpec,
    FieldSpec,
    NavItem,
    PageSpec,
    RelationSpec,
    RoleSpec,
    TraceEntry,
    spec_problems,
)
from ..capabilities import available_kinds, module_for
from ..domain import normalise_idea
from ..generators import _BUILTIN_TASKS, Generator, builtin_task
from ..types import GenerationError
from . import lexicon as lx
from .b_flow import _money_range
from .capmap import (
    BEHAVIOUR,
    BUILDERS,
    IDENTITY,
    MERGE_LISTS,
    NotFit,
    cap_id,
    feature_ctx,
    is_records_feature,
    kinds_for,
)
from .draft import Draft, build, clip, ident, label
from .signup import signup_policy
from .text import plural, tokens

__all__ = ["plan_builtin", "plan_spec", "planned_features", "plan_entities", "spec_check", "TASK"]

TASK = "app_spec"
#: Kinds that have a page of their own in the generated app (the rest act inside entity pages).
PAGE_KINDS = frozenset({"booking", "ledger", "reminders", "audit_log", "custody", "live_board", "search",
                        "public_page", "leaderboard", "rotation", "matrix", "follow", "export", "workflow",
                        "ratings", "payments", "ai_summary", "limit", "selection", "assignment", "import", "trigger", "document", "vote", "agreement",
                        "enrolment"})

#: A capability page's title and navigation label: a short noun phrase in the spec's nouns, never the feature
#: sentence. `{e}`/`{es}`: the entity's label (plural), `{r}`/`{rs}`: the resource's or parent's.
SHORT_LABELS = {
    "booking": "{r} calendar", "ledger": "Balances", "reminders": "Reminders", "audit_log": "History",
    "custody": "{es} on loan", "live_board": "Live board", "search": "Search {es}", "public_page": "Public {es}",
    "leaderboard": "Leaderboard", "rotation": "{e} rota", "matrix": "{e} matrix", "follow": "Following",
    "export": "Export", "workflow": "{e} approvals", "ratings": "{e} ratings", "payments": "Payments",
    "ai_summary": "{e} summaries", "limit": "{r} limits", "selection": "Choose {es}", "assignment": "My {es}", "import": "Import {es}", "trigger": "{e} automations", "document": "{e} PDFs", "vote": "{e} votes", "agreement": "{e} requests",
    "enrolment": "{r} sign-ups",
}


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", text or "") if s.strip()]


def _fallback_entity(d: Draft) -> None:
    """An idea that names no record: one entity named after its first content noun, or 'item'."""
    idea = d.idea
    for text in [*(idea.get("key_features") or []), idea.get("description") or "", idea.get("title") or ""]:
        for w in tokens(str(text)):
            if (len(w) >= 3 and w.isalpha() and w not in lx.VERBS and w not in lx.ADJECTIVES
                    and w not in lx.PREPOSITIONS and w not in lx.VAGUE_NOUNS and w not in lx.BEHAVIOUR_NOUNS
                    and w not in ("the", "and", "for", "with", "app", "everything", "anything", "stuff")):
                from .text import singular

                e = d.add_entity(singular(w), str(text))
                d.add_field(e.name, "name", "text", str(text), origin="structure", required=True)
                d.fallback = e.name
                return
    e = d.add_entity("item", "the idea names no record; a list of items to start from")
    d.add_field(e.name, "name", "text", e.source, origin="structure", required=True)
    d.fallback = e.name


#: Features that name a record but ask for something records alone do not do (a computed tally, an
#: import channel, tenant isolation, a drag-and-drop planner): not covered, so never claimed.
NOT_RECORDS = re.compile(r"\b(tally|tallies|overview|statistics|stats|trends?|forecasts?|analytics|insights?|"
                         r"spaced repetition|drag\w*|separate (workspace|data|account)s?|multi[- ]tenan\w*|"
                         r"import\w*|sync\w*|integrat\w*|recurring|opened on|templates?|chat|threads?|"
                         r"direct messages?|everything)\b")


def _names_fields(d: Draft, ctx) -> bool:
    """The feature itself gave a record its fields or a link ("Cat profiles with age, colour and photos")."""
    src = clip(ctx.text)
    return any(f.source == src and f.origin == "words" for m in ctx.mentioned for f in d.fields_of(m))


def _acts_on_records(text: str) -> bool:
    """A verb that adds, links or completes records: "assign tickets to agents", "volunteers sign up"."""
    from .text import parse

    verbs = {v for c in parse(text) for v in c.verbs}
    return bool(verbs & {"add", "assign", "complete", "sign", "submit", "register", "enrol", "enroll", "create",
                         "post", "publish", "send", "list", "record", "log", "save", "store", "keep", "track"})


def _wanted(d: Draft, ctx, i: int, text: str, guard: bool = True) -> list[str]:
    """The kinds a feature asks for (guard=False: as if it stated no guard)."""
    wanted = [k for k, _w in kinds_for(text, guard)]
    if "workflow" in wanted and d.planned.get("rotation") and re.search(r"\bswap\w*|\btrad(e|es|ed|ing)\b",
                                                                        text.lower()):
        # "swap walks with manager approval" after a rota: the rota's swaps, approved
        wanted = ["rotation" if k == "workflow" else k for k in wanted]
        wanted = list(dict.fromkeys(wanted))
    joins = [j for _a, _b, j, src in d.m2m if src == clip(text)]
    if not wanted and joins:  # "dishes made from ingredients": the links are the records
        ctx.mentioned = joins[:1] + [m for m in ctx.mentioned if m not in joins]
        wanted = ["records"]
    if not wanted and _money_range(text.lower()):  # "gifts have a spending cap of £25": the amount's range
        wanted = ["records"]
    if i in getattr(d, "scopes", {}) and set(wanted) <= {"audit_log"}:  # who sees which rows: the records,
        wanted = ["records"]  # read-scoped ("see only the sitting history of their own household": their rows)
    if not wanted and (ctx.explicit or _names_fields(d, ctx)) and not NOT_RECORDS.search(text.lower()) and (
            is_records_feature(text) or _names_fields(d, ctx) or _acts_on_records(text)):
        wanted = ["records"]  # a list or records of a noun with attributes
    return wanted


def _plan_features(d: Draft, kinds: set[str]) -> tuple[list[dict], list[dict]]:
    caps: list[dict] = []
    by_key: dict[tuple, dict] = {}
    trace: list[dict] = []
    focus: str | None = None
    for i, text in enumerate(d.idea.get("key_features") or []):
        ctx = feature_ctx(d, i, text, focus)
        wanted = _wanted(d, ctx, i, text)
        ids: list[str] = []
        missing: list[str] = []
        unbound: list[str] = []  # a stated guard the planner could not bind: the words' other kinds are tried
        for kind in (todo := list(wanted)):
            if kind not in kinds:
                missing.append(f"{BEHAVIOUR[kind]} ({kind}) is not in the capability library yet")
                continue
            try:
                params = BUILDERS[kind](ctx)
                params = {k: v for k, v in params.items() if v is not None or k in ("holder_entity",)}
                probe = module_for(kind).Params.model_validate({"id": "probe", "label": "probe", "kind": kind,
                                                                 **params})
            except (NotFit, ValueError) as exc:
                reason = str(exc)
                if isinstance(exc, ValidationError):
                    reason = f"its parameters did not fit ({exc.errors()[0].get('msg')})"
                if kind == "guard" and wanted == ["guard"] and not unbound:
                    unbound.append(f"{BEHAVIOUR[kind]} ({kind}): {reason}")
                    todo.extend(k for k in _wanted(d, ctx, i, text, guard=False) if k not in todo)
                    continue
                missing.append(f"{BEHAVIOUR[kind]} ({kind}): {reason}")
                continue
            del probe
            d.planned.setdefault(kind, []).append(params)
            key = (kind, *[str(params.get(k)) for k in IDENTITY[kind]])
            cap = by_key.get(key)
            if cap is None:
                cid = cap_id(kind, params)
                n = 2
                while any(c["id"] == cid for c in caps):
                    cid = f"{cap_id(kind, params)[:34]}_{n}"
                    n += 1
                cap = {"id": cid, "label": clip(text, 80), "kind": kind, **params}
                caps.append(cap)
                by_key[key] = cap
            else:
                for lst in MERGE_LISTS.get(kind, ()):
                    for v in params.get(lst) or []:
                        if v not in cap[lst]:
                            cap[lst].append(v)
                for k, v in params.items():  # a later feature may fill what an earlier one left open
                    if cap.get(k) is None and v is not None:
                        cap[k] = v
            if cap["id"] not in ids:
                ids.append(cap["id"])
        if unbound and not ids:
            missing = unbound + missing
        ents = [m for m in ctx.mentioned if m in d.entities]
        if ids and not missing:
            trace.append({"feature": text, "status": "planned", "capabilities": ids, "entities": ents})
        elif ids:
            trace.append({"feature": text, "status": "not_covered", "capabilities": ids, "entities": ents,
                          "reason": clip("Only part of it is planned: " + "; ".join(missing), 400)})
        else:
            hit = NOT_RECORDS.search(text.lower())
            named = ", ".join(label(m).lower() for m in ents[:2])
            matches = library_matches(text)  # every kind is checked before "no capability" is said
            n_kinds = len(available_kinds())
            if missing:
                reason = "; ".join(missing)
            elif matches:
                asked = ", ".join(f"{k} ('{w}')" for k, w in matches[:4])
                reason = (f"of the library's {n_kinds} capability kinds, {asked} match its words, but the planner "
                          f"could not bind them to this idea's records, so it is not built")
            elif hit and ents:
                reason = (f"the capability library has nothing for '{hit.group(0)}' yet (all {n_kinds} kinds "
                          f"checked); the {named} records are kept, but this behaviour is not built")
            elif ents:
                reason = (f"no capability in the library (all {n_kinds} kinds checked) does what this feature asks "
                          f"beyond keeping {named} records, so it is not built")
            else:
                reason = (f"no capability in the library (all {n_kinds} kinds checked) matches what this feature "
                          f"asks for, and it names no record to keep")
            trace.append({"feature": text, "status": "not_covered", "capabilities": [], "entities": ents,
                          "reason": clip(reason[0].upper() + reason[1:], 400)})
        if ctx.mentioned:
            focus = ctx.mentioned[0]
    for cap in caps:  # a later feature may have turned a reference into a join ("... computed from courses")
        ent = d.entities.get(cap.get("entity") or "")
        for lst in ("fields", "filters"):
            if ent is not None and isinstance(cap.get(lst), list) and cap["kind"] in ("records", "search"):
                cap[lst] = [f for f in cap[lst] if f in ent.fields]
    return caps, trace


def _least(f) -> float | None:
    """The smallest value a number may take: the one the words or a capability set, else 0 for a measure or a count
    ("weight on arrival", "size in square feet", "candidates"): a negative weight is a typing slip, not a record. A
    quantity that can fall below zero (a temperature, a balance, a change, points) keeps no floor."""
    if f.min is not None or f.type not in ("integer", "decimal"):
        return f.min
    if f.max is not None and f.max <= 0:
        return None
    return None if set(f.name.split("_")) & lx.SIGNED_NUMBERS else 0


def _entity_specs(d: Draft) -> list[EntitySpec]:
    out = []
    used: set[str] = set()
    for e in d.entities.values():
        fields = list(e.fields.values())
        display = next((f for f in fields if f.name in ("name", "title") and f.type == "text"), None) or next(
            (f for f in fields if f.type == "text" and not e.people), None)  # a person is shown by name
        if display is None:
            word = "title" if e.name.split("_")[-1] in lx.EVENT_NOUNS or not e.people else "name"
            d.add_field(e.name, word, "text", e.source, origin="structure", required=True)
            f = e.fields.pop(word)
            e.fields = {word: f, **e.fields}
            display = f
        specs = []
        for f in [display] + [x for x in e.fields.values() if x is not display]:  # the title first
            specs.append(FieldSpec(
                name=f.name, label=f.label or label(f.name.removesuffix("_id") if f.type == "reference" else f.name),
                type=f.type, required=f.required or f is display, unique=False, min=_least(f), max=f.max,
                default=f.default, values=f.values if f.type == "enum" else [], ref=f.ref, source=clip(f.source)))
        pl = plural(e.name)
        if pl in used or pl == e.name:
            pl = f"{e.name}_list"[:40]
        used.update({e.name, pl})
        lab = e.label or label(e.name)
        lab_pl = " ".join([*lab.split()[:-1], plural(lab.split()[-1])]) if e.label else label(pl)
        out.append(EntitySpec(name=e.name, plural=pl, label=lab, label_plural=lab_pl, fields=specs,
                              display_field=display.name, source=clip(e.source)))
    return out


def _roles(d: Draft, entities: list[str]) -> tuple[list[RoleSpec], str]:
    roles = [RoleSpec(name=OWNER_ROLE, label="Owner", manage_users=True, read=entities, write=entities,
                      description="Runs the app: every record, and who may use it.",
                      source="the founder's customer who claims the app with its one-time claim link")]
    others = [r for r in d.roles.values() if r.name != OWNER_ROLE][:7]
    for r in others:
        if r.kind == "oversight":
            roles.append(RoleSpec(name=r.name, label=label(r.name), read=entities, write=[], scope="all",
                                  description="Reads every record and changes none.", source=r.source))
        elif r.kind == "staff":
            roles.append(RoleSpec(name=r.name, label=label(r.name), read=entities, write=entities, scope="all",
                                  description="Runs day-to-day work: reads and changes every record.",
                                  source=r.source))
        else:
            roles.append(RoleSpec(name=r.name, label=label(r.name), read=entities, write=entities, scope="own",
                                  description="Adds records and edits or deletes only their own.",
                                  source=r.source))
    scopes: dict[str, list[str]] = {}
    for who, scoped, _how in getattr(d, "scopes", {}).values():
        scopes.setdefault(who, []).extend(s for s in scoped if s in entities)
    for r in roles:
        if r.name in scopes and not r.manage_users:
            r.read_own = [e for e in dict.fromkeys(scopes[r.name]) if e in r.read or e in r.write]
            # people who see only their own records are private from each other: each sees their own person
            # record (the one with their login email), never their peers' names, emails and phones
            if r.read_own and r.name in entities and r.name not in r.read_own and d.fields_of(r.name, "email") \
                    and (r.name in r.read or r.name in r.write):
                r.read_own.append(r.name)
            r.description = clip(f"{r.description} Reads only its own "
                                 f"{', '.join(label(plural(e)).lower() for e in r.read_own)}.", 300)
    if len(roles) == 1:
        roles.append(RoleSpec(name="member", label="Member", read=entities, write=entities, scope="own",
                              description="Added by the owner: adds records and edits only their own.",
                              source="the idea names no other kind of user"))
    order = {"participant": 0, "staff": 1, "oversight": 2}
    default = sorted(roles[1:], key=lambda r: order.get(d.roles[r.name].kind if r.name in d.roles else "", 0))[0]
    return roles, default.name


def _pages(entities: list[EntitySpec], caps: list[dict]) -> tuple[list[PageSpec], list[NavItem]]:
    pages = [PageSpec(id="home", path="/", title="Dashboard", kind="home")]
    nav = [NavItem(label="Dashboard", page="home")]
    # a feature whose capability acts inside an entity's pages (records, checklists, files) is reached by its list
    featured = {c.get("entity") for c in caps if c["kind"] not in PAGE_KINDS}
    for e in entities:
        pages.append(PageSpec(id=e.plural, path=f"/{e.plural}", title=e.label_plural, kind="list", entity=e.name))
        pages.append(PageSpec(id=f"{e.name}_detail"[:40], path=f"/{e.plural}/<int:id>", title=e.label,
                              kind="detail", entity=e.name))
        pages.append(PageSpec(id=f"{e.name}_form"[:40], path=f"/{e.plural}/new", title=f"New {e.label.lower()}"[:80],
                              kind="form", entity=e.name))
        if not any(f.name.endswith("_id") for f in e.fields) or len(entities) <= 6 or e.name in featured:
            nav.append(NavItem(label=e.label_plural, page=e.plural))
    taken = {p.id for p in pages}
    for c in caps:
        if c["kind"] not in PAGE_KINDS:
            continue
        pid = ident(f"cap_{c['id']}")[:40]
        if pid in taken:
            continue
        taken.add(pid)
        title = _short_label(c, {e.name: e for e in entities})
        if any(n.label == title for n in nav):  # two reminders: "Reminders", then "Reminders: visits"
            title = clip(f"{title}: {(c.get('entity') or c['id']).replace('_', ' ')}s", 80)
        pages.append(PageSpec(id=pid, path=f"/{c['id']}", title=title, kind="capability", capability=c["id"]))
        nav.append(NavItem(label=title, page=pid))
    return pages, nav


def _short_label(cap: dict, ents: dict[str, EntitySpec]) -> str:
    """ "Kiln calendar", "Book approvals", "History": what a founder calls the page (see SHORT_LABELS)."""
    def lbl(name, plural=False):
        e = ents.get(name or "")
        return (e.label_plural if plural else e.label) if e else (name or "").replace("_", " ").capitalize()
    ent = cap.get("entity") or cap.get("item_entity") or cap.get("row_entity") or cap.get("charge_entity") or \
        next(iter(cap.get("entities") or []), None)
    other = cap.get("resource") or (cap.get("parent_field") or cap.get("record_field") or "").removesuffix("_id") or ent
    text = SHORT_LABELS.get(cap["kind"], cap["kind"].replace("_", " ").capitalize()).format(
        e=lbl(ent), es=lbl(ent, True).lower(), r=lbl(other), rs=lbl(other, True).lower())
    return clip(text[:1].upper() + text[1:], 80)


def _assemble(d: Draft, caps: list[dict], trace: list[dict]) -> AppSpec:
    idea = d.idea
    entities = _entity_specs(d)
    names = [e.name for e in entities]
    roles, default = _roles(d, names)
    for cap in caps:  # members sign up only through the enrolment's routes, as themselves; managers write the joins
        if cap["kind"] == "enrolment":
            managers = {OWNER_ROLE, *(cap.get("manager_roles") or [])}
            for r in roles:
                if r.name not in managers and cap["entity"] in r.write:
                    r.write = [e for e in r.write if e != cap["entity"]]
                    r.read = list(dict.fromkeys([*r.read, cap["entity"]]))
    signup = signup_policy(d, roles, entities, caps)
    relations = []
    for e in entities:
        for f in e.fields:
            if f.type == "reference":
                relations.append(RelationSpec(kind="many_to_one", entity=e.name, target=f.ref, field=f.name))
    for a, b, j, _src in d.m2m:
        relations.append(RelationSpec(kind="many_to_many", entity=a, target=b, through=j))
    pages, nav = _pages(entities, caps)
    title = str(idea.get("title") or "").strip() or "App"
    short = re.split(r"\s+[-–—|]\s+|:\s+", title, maxsplit=1)[0].strip()  # "KilnShare - kiln bookings ..."
    name = short if 2 <= len(short) <= 60 else clip(title, 60)
    desc = str(idea.get("description") or "").strip()
    first = (_sentences(desc) or [title])[0]
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", name.lower())).strip("-")
    slug = (slug if slug and slug[0].isalpha() else f"app-{slug}".strip("-"))[:40].rstrip("-") or "app"
    return AppSpec(
        name=name, slug=slug, purpose=clip(desc or first, 800), tagline=clip(first, 160),
        features=[str(f) for f in idea.get("key_features") or []][:30], roles=roles, default_role=default,
        signup=signup, entities=entities, relations=relations, capabilities=caps, pages=pages, navigation=nav,
        trace=[TraceEntry.model_validate(t) for t in trace])


def _features(idea: dict) -> list[str]:
    """The key features as the spec holds them: at most 300 characters each, each once (first wins)."""
    out, seen = [], set()
    for f in idea.get("key_features") or []:
        f = clip(str(f), 300)
        key = " ".join(re.findall(r"[a-z0-9]+", f.lower()))
        if key and key not in seen:
            seen.add(key)
            out.append(f)
    return out[:30]


def plan_entities(idea: dict) -> list[EntitySpec]:
    """The entities the built-in planner gives this idea (what the sitemap and wireframes show)."""
    return list(plan_builtin(idea).entities)


#: names of a check-out itself: with check-outs planned, a record of that name is the custody's own
_CHECKOUT_RECORDS = tuple(dict.fromkeys(n.replace(" ", sep) for n in lx.CHECKOUT_NOUNS for sep in ("", "_")))


def _drop_checkout_records(d, caps: list[dict], trace: list[dict]) -> None:
    """ "Email the librarian when a loan is overdue": the loan is a check-out the custody capability keeps, not a
    record of its own, unless a capability acts on it or another record points at it."""
    if not any(c["kind"] == "custody" for c in caps):
        return
    used = {v for c in caps for k, v in c.items() if isinstance(v, str) and k not in ("id", "label", "kind")}
    used |= {x for c in caps for v in c.values() if isinstance(v, list) for x in v if isinstance(x, str)}
    for name in _CHECKOUT_RECORDS:
        pointed = any(f.type == "reference" and f.ref == name for e in d.entities.values() for f in e.fields.values())
        if name in d.entities and name not in used and not pointed:
            d.entities.pop(name)
            d.m2m = [m for m in d.m2m if name not in m[:3]]
            for t in trace:
                t["entities"] = [e for e in t.get("entities", []) if e != name]


def plan_builtin(idea: dict, kinds: set[str] | tuple[str, ...] | None = None) -> AppSpec:
    """The deterministic plan of an idea. `kinds`: the capability kinds it may use (default: the available ones)."""
    idea = normalise_idea(idea)
    idea["key_features"] = _features(idea)
    allowed = set(available_kinds() if kinds is None else kinds)
    d = build(idea)
    if not d.entities:
        _fallback_entity(d)
    from .scopes import read_scopes

    d.scopes = read_scopes(d)
    for i, (_who, scoped, _how) in d.scopes.items():  # "keepers see only their own hives": the hives' records
        d.defined.setdefault(i, scoped[0])
    caps, trace = _plan_features(d, allowed)
    _drop_checkout_records(d, caps, trace)
    spec = _assemble(d, caps, trace)
    # a capability whose own check refuses it is dropped and its features say why
    for _round in range(3):
        refused: dict[str, list[str]] = {}
        for c in spec.capabilities:
            if c.kind in available_kinds():
                msgs = module_for(c.kind).check(c, spec)
                if msgs:
                    refused[c.id] = msgs
        if not refused:
            break
        caps = [c for c in caps if c["id"] not in refused]
        for t in trace:
            bad = [cid for cid in t["capabilities"] if cid in refused]
            if bad:
                t["capabilities"] = [cid for cid in t["capabilities"] if cid not in refused]
                why = "; ".join(f"{cid}: {refused[cid][0]}" for cid in bad)
                t["status"] = "not_covered"
                t["reason"] = clip(f"The planned capability did not fit this idea's data ({why})", 400)
        spec = _assemble(d, caps, trace)
    from ..criteria.certify import certify

    return certify(spec)


def library_matches(text: str) -> list[tuple[str, str]]:
    """[(kind, the words that ask for it)] over every kind in the library, before any exclusion: what the planner
    checks before it says no capability serves a feature."""
    from .capmap import CUES

    low = " " + re.sub(r"\s+", " ", text.lower()) + " "
    out = []
    for kind in available_kinds():
        for pat in CUES.get(kind, ()):
            m = re.search(rf"(?<![a-z0-9]){pat}(?![a-z0-9])", low)
            if m:
                out.append((kind, m.group(0).strip()))
                break
    return out


def planned_features(spec: AppSpec) -> list[str]:
    """Key features the spec claims as planned (each names at least one capability)."""
    return [t.feature for t in spec.trace if t.status == "planned" and t.capabilities]


def _builtin_app_spec(context: dict) -> AppSpec:
    return plan_builtin(context.get("idea") or {})


def plan_spec(context: dict, gen: Generator) -> AppSpec:
    """The app spec for `context` = {"idea": normalised idea, "feedback": QA feedback or None, ...}.

    Built-in: `plan_builtin`. LLM: the model writes the spec against AppSpec's JSON schema, with
    `spec_problems` as the repair check; `LLMOutputInvalid` when it stays invalid.
    """
    if _BUILTIN_TASKS.get(TASK) is not _builtin_app_spec:
        builtin_task(TASK)(_builtin_app_spec)
    idea = normalise_idea(context.get("idea") or {})
    ctx = dict(context, idea=idea)
    if getattr(gen, "engine", "") == "llm":
        from ..capabilities import describe

        ctx.setdefault("capability_kinds", describe())
        ctx.setdefault("key_features", idea.get("key_features") or [])
    check = spec_check(idea)
    spec = gen.generate(TASK, ctx, AppSpec, check=check)
    problems = check(spec)
    if problems:  # a generator that skipped the check (cannot happen with ours)
        raise GenerationError(f"app spec has problems: {problems[:5]}")
    from ..criteria.certify import certify

    return certify(spec)  # statuses follow from the readings, whoever wrote them


def spec_check(idea: dict):
    """`spec_problems` plus: the spec's `features` are exactly the idea's key features (so none escapes the trace)."""
    wanted = _features(idea)

    def check(spec: AppSpec) -> list[str]:
        have = {" ".join(re.findall(r"[a-z0-9]+", f.lower())) for f in spec.features}
        lost = [f for f in wanted if " ".join(re.findall(r"[a-z0-9]+", f.lower())) not in have]
        from ..criteria.certify import reading_problems

        return [f"key feature {f!r} is missing from 'features' (copy every key feature of the idea verbatim, "
                f"then trace it)" for f in lost] + spec_problems(spec) + reading_problems(spec)

    return check
