"""Capability `ratings`: One rating per user per record (per criterion, when the words name criteria), averages,
sorting by rating; rating may open only once a date has passed or a state is reached. The raters rate what they
can see, records they made too (a client the visit they booked); only the record that is the rater (a person record
holding their login email) is refused."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..appspec.base import CapabilityBase, Name, SpecModel  # noqa: F401

KIND = "ratings"


class Params(CapabilityBase):
    kind: Literal["ratings"] = "ratings"
    entity: Name
    scale: int = Field(default=5, ge=2, le=10)
    with_review: bool = True
    raters: list[Name] = Field(default_factory=list, description=(
        "roles whose ratings count (each must read the entity); empty: every role that reads it except the "
        "default role, which anyone gets by signing up; name the default role here to let new sign-ups rate"))
    criteria: list[Name] = Field(default_factory=list, max_length=8, description=(
        "what is scored, one score per criterion per rater, e.g. ['texture', 'flavour'] for 'score each wheel for "
        "texture and flavour'; empty: one score"))
    opens_field: Name | None = Field(default=None, description=(
        "a field of `entity` that opens rating: a date/datetime (rating opens once it is set and not in the "
        "future, e.g. returned_on, date) or an enum (rating opens once it holds one of `opens_values`); "
        "None: a record may be rated at any time"))
    opens_values: list[Name] = Field(default_factory=list, description="enum `opens_field`: the states that open "
                                                                        "rating, e.g. ['returned']")
    opens_words: str | None = Field(default=None, max_length=120, description=(
        "the founder's words for when rating opens ('when it comes back', 'afterwards'), quoted in the refusal"))


PACKAGES: list[str] = []

REVIEW_MAX = 2000


def raters(cap: Params, spec) -> list[str]:
    """Roles (spec order) whose ratings count: `cap.raters`, or every reader of the entity but the default role
    (a self-signed-up account could otherwise be one of five fresh accounts that reorder the ranking)."""
    from . import _bind as b
    readers = b.readers(spec, cap.entity)
    if cap.raters:
        return [r for r in readers if r in cap.raters]
    return [r for r in readers if r != spec.default_role or r == "owner"]


def check(cap: Params, spec) -> list[str]:
    from . import _bind as b
    m = b.entity_problem(spec, cap.entity, "rated entity")
    if m:
        return [m]
    readers = b.readers(spec, cap.entity)
    if not readers:
        return [f"no role may read {cap.entity!r}, so nobody could rate it; add it to a role's read list"]
    p = [b.role_problem(spec, r, "rater role") for r in cap.raters]
    p += [f"rater role {r!r} may not read {cap.entity!r}; raters must be among its readers {readers}"
          for r in cap.raters if spec.role(r) is not None and r not in readers]
    p = [x for x in p if x]
    if len(set(cap.criteria)) != len(cap.criteria):
        p.append(f"criteria {cap.criteria} name one twice; name each once")
    ent = spec.entity(cap.entity)
    f = ent.field(cap.opens_field) if cap.opens_field else None
    if cap.opens_field and f is None:
        p.append(f"opens_field {cap.opens_field!r} is not a field of {cap.entity!r}; add it or drop opens_field")
    elif f is not None and f.type not in ("date", "datetime", "enum"):
        p.append(f"opens_field {cap.opens_field!r} is a {f.type}; it must be a date, datetime or enum field")
    elif f is not None and f.type == "enum" and (not cap.opens_values or set(cap.opens_values) - set(f.values)):
        p.append(f"opens_values {cap.opens_values} must name some of {cap.opens_field!r}'s values {f.values}")
    elif f is None and cap.opens_values:
        p.append("opens_values without opens_field: name the enum field that holds them")
    if not p and not raters(cap, spec):
        p.append(f"only the default role {spec.default_role!r} (anyone who signs up) reads {cap.entity!r}, so no "
                 f"rating would count; list the roles that may rate in `raters` (e.g. [{spec.default_role!r}] to "
                 f"let every sign-up rate)")
    return p


def routes(cap: Params, spec) -> list:
    from ..appspec.base import Route
    from . import _bind as b
    e = spec.entity(cap.entity)
    r, w = b.readers(spec, cap.entity), raters(cap, spec)
    a = f"/api/{cap.id}/{e.plural}"
    return [
        Route(method="GET", path=a, summary=f"{e.label_plural} sorted by average rating (sort=-rating|rating)",
              roles=r),
        Route(method="GET", path=f"{a}/<int:record_id>/ratings", summary="a record's ratings, average and count",
              roles=r),
        Route(method="PUT", path=f"{a}/<int:record_id>/rating",
              summary=f"rate 1..{cap.scale}" + (f" for each of {', '.join(cap.criteria)}" if cap.criteria else "")
              + " (a second rating by the same user replaces the first; a record one made may be rated, never the "
              "record that is oneself"
              + (f"; 409 until {cap.opens_field} opens it" if cap.opens_field else "") + ")", roles=w),
        Route(method="DELETE", path=f"{a}/<int:record_id>/rating", summary="withdraw my rating", roles=r),
        Route(method="GET", path=f"/{cap.id}/", summary="top-rated page", roles=r),
        Route(method="GET", path=f"/{cap.id}/<int:record_id>", summary="a record's ratings page with the form",
              roles=r),
        Route(method="POST", path=f"/{cap.id}/<int:record_id>", summary="rating form submit", roles=w),
    ]


def render(cap: Params, spec, tpl) -> dict[str, str]:
    from . import _bind as b
    e = spec.entity(cap.entity)
    readers = b.readers(spec, cap.entity)
    may_rate = raters(cap, spec)
    own = set(b.own_readers(spec, cap.entity))
    non_rater = next((r for r in readers if r not in may_rate), None)
    rater = pick_rater(may_rate, own)
    ctx = {
        "ent": e, "readers": readers, "review_max": REVIEW_MAX, "raters": may_rate,
        # a rater role for the tests: one that reads every row (so two raters rate one record), else one that reads
        # only its own rows (it rates the ones it can see)
        "rater": rater, "rater_reads_own": rater in own,
        "outsider": next((r.name for r in spec.roles if r.name not in readers), None),
        # reads the entity but its ratings do not count (the default role, unless the spec lists it)
        "non_rater": non_rater, "non_rater_reads_own": non_rater in own,
        "writer": b.writer_role(spec, cap.entity),
        "opens": ent_field(e, cap.opens_field),
        "open_values": open_values(cap, spec, True), "closed_values": open_values(cap, spec, False),
        "self_field": self_field(spec, cap.entity),
    }
    d = "capabilities/ratings/"
    return {
        f"app/capabilities/{cap.id}.py": tpl.render(d + "module.py.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/index.html": tpl.render(d + "index.html.j2", **ctx),
        f"app/templates/capabilities/{cap.id}/record.html": tpl.render(d + "record.html.j2", **ctx),
        f"tests/test_cap_{cap.id}.py": tpl.render(d + "test.py.j2", **ctx),
    }


def pick_rater(may_rate: list[str], own: set[str]) -> str:
    """The rater role the generated tests sign in as: a rater besides the owner that reads every row, else the
    owner when it rates, else a rater that reads only its own rows."""
    return next((r for r in may_rate if r != "owner" and r not in own),
                "owner" if "owner" in may_rate else next(iter(may_rate), "owner"))


def self_field(spec, entity: str):
    """The field of `entity` that makes a row someone's own person record (their login email, as the app's
    `own_clause` reads it), or None when no row of it is a person: rating such a row is rating oneself."""
    from ..appspec.model import person_email_field

    e = spec.entity(entity)
    name = person_email_field(e) if e is not None else None
    return e.field(name) if name else None


def ent_field(ent, name: str | None):
    """The field `name` of `ent` (None when `name` is None)."""
    return ent.field(name) if name else None


def open_values(cap: Params, spec, opened: bool) -> dict:
    """Field values for a generated-app test: a record open to rating (a date long past, the first opening state)
    or not (no date; a state that does not open it, or none when every state does)."""
    f = ent_field(spec.entity(cap.entity), cap.opens_field)
    if f is None:
        return {}
    if f.type == "enum":
        shut = next((v for v in f.values if v not in cap.opens_values), None)
        return {f.name: cap.opens_values[0] if opened else shut}
    return {f.name: ("2000-01-01" if f.type == "date" else "2000-01-01T00:00:00Z") if opened else
            ("2999-01-01" if f.type == "date" else "2999-01-01T00:00:00Z")}


def stars_body(cap: Params, stars: int) -> dict:
    """A rating request's JSON body giving `stars` (to every criterion, when the capability scores criteria)."""
    return {"scores": {c: stars for c in cap.criteria}} if cap.criteria else {"stars": stars}


def open_overrides(cap: Params, spec) -> dict:
    """Field values that make a new record open to rating (a date yesterday, the first opening state)."""
    from ..criteria import days_from_now

    f = ent_field(spec.entity(cap.entity), cap.opens_field)
    if f is None:
        return {}
    return {f.name: cap.opens_values[0] if f.type == "enum" else days_from_now(-1, f.type)}


def attacks(cap: Params, spec) -> list[dict]:
    """Exploit-gate attacks on this capability's rules (see `shared/engine/exploits`): a rater rates the record that
    is their own person record (403 self_rating), for every rater role, when the rated entity holds people."""
    from ..criteria import a
    from ..exploits import attack

    ent = spec.entity(cap.entity)
    me = self_field(spec, cap.entity)
    out = []
    for role in raters(cap, spec) if me is not None else []:
        p = attack(spec, f"ratings_self:{cap.id}:{role}", f"{a(spec.role(role).label.lower()).capitalize()} cannot "
                                                          f"rate the {ent.label.lower()} that is themselves.")
        who = p.actor(role)
        row = p.make(cap.entity, None, overrides={**open_overrides(cap, spec), me.name: f"${{actor.{who}.email}}"})
        rating = f"/api/{cap.id}/{ent.plural}/${{{row}.id}}/rating"
        p.step(who, "PUT", rating, json=stars_body(cap, cap.scale), expect=403, note="rate oneself")
        p.step(who, "GET", f"/api/{cap.id}/{ent.plural}/${{{row}.id}}/ratings", note="no rating was stored",
               checks=[{"path": "mine", "op": "false"}])
        out.append(p.scenario)
    if cap.with_review:
        role = next((r for r in raters(cap, spec) if r != "owner"), None)
        if role is not None and not spec.role(role).manage_users and cap.entity not in spec.role(role).read_own:
            p = attack(spec, f"ratings_privacy:{cap.id}", "A member reading a record's reviews sees who wrote them by "
                                                          "name, never by email address.")
            first, second = p.actor(role, "rater_a"), p.actor(role, "rater_b")
            row = p.make(cap.entity, None, overrides=open_overrides(cap, spec)) if cap.opens_field else \
                p.row(cap.entity)
            p.step(first, "PUT", f"/api/{cap.id}/{ent.plural}/${{{row}.id}}/rating",
                   json={**stars_body(cap, cap.scale), "review": "Fine."}, expect=[200, 201],
                   note="one member rates and reviews the record")
            p.step(second, "GET", f"/{cap.id}/${{{row}.id}}", note="another member reads the reviews' page",
                   checks=[{"op": "text_contains", "value": "Fine."},
                           {"op": "text_not_contains", "value": f"${{actor.{first}.email}}"}])
            out.append(p.scenario)
    return out
