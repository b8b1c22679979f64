"""The app compiler: an app spec (with no `spec_problems`) -> the files of a runnable Flask project.

`compile_project(spec, design)` renders Jinja2 templates (package data under `templates/`, with the
compile-time delimiters `[[ expr ]]`, `[% stmt %]` and `[# comment #]` so that generated Flask templates can
use `{{ }}` freely) and copies the fixed files under `templates/static_files/` verbatim. Every capability
of the spec adds its own files through its module's `render(cap, spec, tpl)`. The output is deterministic:
the same spec and design give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path

import jinja2

from ..appspec import AppSpec, EntitySpec, FieldSpec, spec_problems
from ..appspec.model import own_paths
from ..capabilities import module_for
from .pyliteral import py
from .revision import initial_revision, next_revision
from .samples import sample_payload

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = "static_files"
#: The version of what the factory writes into an app, recorded in the app's `app/factory.json`. 1.x: a hand
#: migration runner (`schema_migrations`); 2.0: Alembic revisions generated from the spec.
FACTORY_VERSION = "2.0"
#: The revision the compiler generates from the spec (the schema as the models declare it)
INITIAL_REVISION = "0001"
VERSIONS = "migrations/versions/"

#: pinned requirements of every generated app (capabilities add theirs through PACKAGES)
BASE_REQUIREMENTS = (
    "Flask==3.1.3",
    "Flask-Migrate==4.1.0",
    "Flask-SQLAlchemy==3.1.1",
    "alembic==1.20.1",
    "Mako==1.4.3",
    "Werkzeug==3.1.9",
    "Jinja2==3.1.6",
    "MarkupSafe==3.0.4",
    "itsdangerous==2.2.0",
    "click==8.5.1",
    "blinker==1.9.0",
    "SQLAlchemy==2.1.9",
    "typing_extensions==4.16.0",
    "gunicorn==27.0.1",
    "packaging==26.4",
    "psycopg==3.3.9",
    "psycopg-binary==3.3.9",
)


def doc(text) -> str:
    """Text safe inside a generated docstring or comment: no quotes that could end it, no backslashes."""
    return str(text).replace("\\", "/").replace('"', "'").replace("\r", " ")


def class_name(entity_name: str) -> str:
    return "".join(part.capitalize() for part in entity_name.split("_"))


def relation_name(entity: EntitySpec, field: FieldSpec) -> str:
    base = field.name[:-3] if field.name.endswith("_id") else field.name + "_row"
    taken = {f.name for f in entity.fields}
    return base if base not in taken else base + "_ref"


_SQL_TYPES = {
    "long_text": ("str", "sa.Text"), "integer": ("int", "sa.Integer"), "decimal": ("float", "sa.Numeric(asdecimal=False)"),
    "money": ("decimal.Decimal", "sa.Numeric(12, 2)"), "boolean": ("bool", "sa.Boolean"),
    "date": ("dt.date", "sa.Date"), "datetime": ("dt.datetime", "sa.DateTime"), "email": ("str", "sa.String(254)"),
    "phone": ("str", "sa.String(40)"), "url": ("str", "sa.String(500)"), "file": ("str", "sa.String(500)"),
    "enum": ("str", "sa.String(40)"),
}


def column(entity: EntitySpec, field: FieldSpec, plurals: dict[str, str]) -> str:
    """The typed `Mapped[...]` column declaration of one field."""
    opts = []
    if field.type == "reference":
        py_type, sql = "int", None
        opts.append(f'sa.ForeignKey("{plurals[field.ref]}.id")')
        opts.append("index=True")
    elif field.type == "text":
        py_type, sql = "str", f"sa.String({int(field.max) if field.max else 200})"
    else:
        py_type, sql = _SQL_TYPES[field.type]
    if sql:
        opts.insert(0, sql)
    if field.unique:
        opts.append("unique=True")
    nullable = not field.required and field.type != "boolean"
    ann = f"{py_type} | None" if nullable else py_type
    return f"{field.name}: orm.Mapped[{ann}] = orm.mapped_column({', '.join(opts)})"


def enum_checks(entity: EntitySpec) -> list[str]:
    """A named CHECK constraint per enum field: the database refuses a value the spec does not list (values and
    field names are snake_case `Name`s, so they are safe inside the SQL literal)."""
    out = []
    for f in entity.fields:
        if f.type == "enum":
            allowed = ", ".join(f"'{v}'" for v in f.values)
            name = f"ck_{entity.plural}_{f.name}"[:63]
            sql = f'"{f.name}" IN ({allowed})'
            out.append(f"sa.CheckConstraint({py(sql)}, name={py(name)})")
    return out


def relationship_line(entity: EntitySpec, field: FieldSpec) -> str:
    target = class_name(field.ref) + ("" if field.required else " | None")
    # the class by its module path: a capability's own table class may share the name ("Delivery" of reminders)
    return (f"{relation_name(entity, field)}: orm.Mapped[{target}] = orm.relationship("
            f"\"app.models.{class_name(field.ref)}\", foreign_keys=[{field.name}])")


def serialize(field: FieldSpec) -> str:
    """The expression turning `self.<field>` into its JSON value."""
    attr = f"self.{field.name}"
    return {"datetime": f"iso_datetime({attr})", "date": f"iso_date({attr})", "money": f"money_text({attr})",
            "decimal": f"number({attr})"}.get(field.type, attr)


_BAD = {"integer": "many", "decimal": "lots", "money": "12.345", "boolean": "maybe", "date": "banana",
        "datetime": "banana", "enum": "not-a-choice", "email": "not-an-email", "phone": "call me",
        "url": "not a url", "reference": 999999}


def bad_values(entity: EntitySpec) -> list[list]:
    """[field, value] pairs each of which validation must refuse (strings, so forms can send them too);
    booleans last (a checkbox cannot send a wrong value)."""
    out: list[list] = []
    for f in entity.fields:
        if f.type in ("text", "long_text", "file"):
            limit = {"text": 200, "long_text": 20000, "file": 500}[f.type]
            out.append([f.name, "x" * (int(min(f.max, limit)) + 1 if f.max is not None else limit + 1)])
            if f.min and f.min > 1:
                out.append([f.name, "x" * (int(f.min) - 1)])
        else:
            out.append([f.name, _BAD[f.type]])
        if f.type == "money":  # beyond the column, not a number, and negative unless the spec allows it
            out += [[f.name, "1e30"], [f.name, "NaN"]]
            if f.min is None:
                out.append([f.name, "-1.00"])
        if f.type == "integer":
            out.append([f.name, str(2**31)])
        if f.type in ("integer", "decimal", "money"):
            if f.max is not None:
                out.append([f.name, str(int(f.max) + 1)])
            if f.min is not None:
                out.append([f.name, str(int(f.min) - 1) if float(f.min).is_integer() else str(f.min - 1)])
    return sorted(out, key=lambda fv: fv[1] == "maybe")


def field_meta(f: FieldSpec) -> dict:
    return {"name": f.name, "label": f.label, "type": f.type, "required": f.required, "unique": f.unique,
            "min": f.min, "max": f.max, "default": f.default, "values": list(f.values), "ref": f.ref}


def managed_samples(spec: AppSpec) -> dict[tuple[str, str], object]:
    """(entity, field) -> the only value a new row may have, for fields a capability manages (a workflow's state
    starts as its initial state): capability modules declare them with `managed_fields(cap, spec)`, and the
    generated CRUD tests sample that value (field meta key "sample", read by tests/sampling.py)."""
    out: dict[tuple[str, str], object] = {}
    for cap in spec.capabilities:
        declare = getattr(module_for(cap.kind), "managed_fields", None)
        if declare is not None:
            out.update(declare(cap, spec))
    return out


def link_pairs(spec: AppSpec) -> dict[str, list[list[str]]]:
    """{join entity: [[reference field, reference field]]}: the two references a many_to_many relation's
    `through` entity links; each pair may be linked once (a unique constraint plus a 409 in check_unique)."""
    out: dict[str, list[list[str]]] = {}
    for r in spec.relations:
        join = spec.entity(r.through) if r.kind == "many_to_many" and r.through else None
        if join is None:
            continue
        refs = [f for f in join.fields if f.type == "reference"]
        a = next((f.name for f in refs if f.ref == r.entity), None)
        b = next((f.name for f in refs if f.ref == r.target and f.name != a), None)
        if a and b and [a, b] not in out.get(join.name, []):
            out.setdefault(join.name, []).append([a, b])
    return out


def staff_fields(spec: AppSpec) -> set[tuple[str, str]]:
    """(entity, field) pairs that only staff (roles of scope "all") may set: fields a rule reads to hold someone
    back, declared by capability modules with `staff_fields(cap, spec)` (the person a guard holds back cannot meet
    its condition by ticking it on their own record)."""
    out: set[tuple[str, str]] = set()
    for cap in spec.capabilities:
        declare = getattr(module_for(cap.kind), "staff_fields", None)
        if declare is not None:
            out.update(declare(cap, spec))
    return out


def field_extras(spec: AppSpec) -> dict[tuple[str, str], dict]:
    """(entity, field) -> extra field meta capability modules declare with `field_extras(cap, spec)`: a form `hint`
    ("exactly 90 minutes after Start at"), and `after`/`after_minutes` (the sample is that many minutes after the
    sample of field `after`, read by tests/sampling.py)."""
    out: dict[tuple[str, str], dict] = {}
    for cap in spec.capabilities:
        declare = getattr(module_for(cap.kind), "field_extras", None)
        if declare is not None:
            for key, extra in declare(cap, spec).items():
                out.setdefault(key, {}).update(extra)
    return out


def entities_meta(spec: AppSpec) -> dict:
    fixed = managed_samples(spec)
    pairs = link_pairs(spec)
    staff = staff_fields(spec)
    extras = field_extras(spec)

    def meta(e: EntitySpec, f: FieldSpec) -> dict:
        m = field_meta(f) | extras.get((e.name, f.name), {})
        if (e.name, f.name) in fixed:
            m["sample"] = fixed[(e.name, f.name)]
        if (e.name, f.name) in staff:
            m["staff_only"] = True
        return m

    return {e.name: {"name": e.name, "plural": e.plural, "label": e.label, "label_plural": e.label_plural,
                     "display_field": e.display_field, "fields": [meta(e, f) for f in e.fields],
                     "unique_together": pairs.get(e.name, [])}
            for e in spec.entities}


def roles_meta(spec: AppSpec) -> dict:
    return {r.name: {"label": r.label, "read": list(r.read), "write": list(r.write), "scope": r.scope,
                     "read_own": list(r.read_own), "manage_users": r.manage_users} for r in spec.roles}


def own_paths_meta(spec: AppSpec) -> dict:
    """{entity: own_paths} of every entity some role reads only where its own, and of those entities' parents
    (whose own rows make their children own, one level); empty when no role has read_own."""
    scoped = {n for r in spec.roles for n in r.read_own if spec.entity(n) is not None}
    parents = {parent for n in scoped for _f, parent in own_paths(spec, n)["parents"]}
    return {name: own_paths(spec, name) for name in sorted(scoped | parents)}


def navigation_meta(spec: AppSpec) -> list[dict]:
    pages = {p.id: p for p in spec.pages}
    nav = []
    for item in spec.navigation:
        page = pages.get(item.page)
        if page is None or "<" in page.path:
            continue
        nav.append({"label": item.label, "path": page.path, "entity": page.entity if page.kind == "list" else None})
    if not nav:
        nav = [{"label": e.label_plural, "path": f"/{e.plural}", "entity": e.name} for e in spec.entities]
    return nav


class Renderer:
    """What capability modules get as `tpl`: `tpl.render("capabilities/<kind>/<file>.j2", **ctx) -> str`."""

    def __init__(self, spec: AppSpec, env: jinja2.Environment):
        self.spec = spec
        self.env = env
        meta = entities_meta(spec)
        self.helpers = {
            "spec": spec,
            "entity": lambda s, name: s.entity(name),
            "sample": lambda entity_name, variant=0: sample_payload(meta[entity_name], variant),
            "entities_meta": meta,
        }

    def render(self, name: str, **ctx) -> str:
        merged = dict(self.helpers)
        merged.update(ctx)
        return self.env.get_template(name).render(**merged)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        variable_start_string="[[", variable_end_string="]]",
        block_start_string="[%", block_end_string="%]",
        comment_start_string="[#", comment_end_string="#]",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False,
    )
    env.filters["py"] = py
    env.filters["doc"] = doc
    env.globals.update(class_name=class_name, py=py, relation_name=relation_name, column=column,
                       serialize=serialize, relationship_line=relationship_line, bad_values=bad_values,
                       enum_checks=enum_checks)
    return env


def static_files() -> dict[str, bytes]:
    root = resources.files(__package__).joinpath("templates", STATIC)
    out: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name == "__pycache__":
                continue
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            else:
                out[rel] = child.read_bytes()

    walk(root, "")
    return out


def spec_with_routes(spec: AppSpec) -> AppSpec:
    """The spec with each capability's `routes` filled from its module's declaration."""
    caps = [c.model_copy(update={"routes": module_for(c.kind).routes(c, spec)}) for c in spec.capabilities]
    return spec.model_copy(update={"capabilities": caps})


def requirements(spec: AppSpec) -> list[str]:
    lines = list(BASE_REQUIREMENTS)
    for cap in spec.capabilities:
        for line in getattr(module_for(cap.kind), "PACKAGES", ()):
            if line not in lines:
                lines.append(line)
    return sorted(lines, key=str.lower)


def capability_settings(spec: AppSpec) -> list[tuple[str, str]]:
    """(variable, meaning) of the settings the spec's capabilities read, once each: their modules' SETTINGS, or
    what `settings(cap, spec)` says when a module's settings depend on the capability's parameters."""
    out: dict[str, str] = {}
    for cap in spec.capabilities:
        mod = module_for(cap.kind)
        declared = getattr(mod, "settings", None)
        for name, meaning in declared(cap, spec) if declared else getattr(mod, "SETTINGS", ()):
            out.setdefault(name, meaning)
    return list(out.items())


def revision_files(files: dict[str, bytes]) -> dict[str, bytes]:
    """The project's Alembic revisions (`migrations/versions/NNNN_*.py`), by path."""
    return {p: d for p, d in files.items() if p.startswith(VERSIONS) and p.endswith(".py") and "/" not in p[len(VERSIONS):]}


def head_revision(files: dict[str, bytes]) -> str:
    """The newest revision a compiled project carries (its factory record names it)."""
    return json.loads(files["app/factory.json"])["revision"]


def compile_project(spec: AppSpec, design: dict, *, previous: dict[str, bytes] | None = None,
                    renames: dict[tuple[str, str], str] | None = None) -> dict[str, bytes]:
    """Render the whole project for `spec` (which must have no spec_problems).

    `previous`: the files of the project this spec changes (version N of the app, whose databases hold rows). Its
    revisions are kept verbatim and, when the schema differs, the next one is generated from the two projects' models
    (`revision.next_revision`; `renames` {(table, old column): new column} keeps a renamed attribute's data), so a
    database made by version N upgrades to N+1 keeping its rows."""
    spec = spec_with_routes(spec)
    env = environment()
    tpl = Renderer(spec, env)
    ctx = {
        "design": design,
        "roles": roles_meta(spec),
        "own_paths": own_paths_meta(spec),
        "entities": entities_meta(spec),
        "navigation": navigation_meta(spec),
        "capability_ids": [c.id for c in spec.capabilities],
        "requirements": requirements(spec),
        "capability_settings": capability_settings(spec),
        "plurals": {e.name: e.plural for e in spec.entities},
    }
    files: dict[str, str | bytes] = dict(static_files())
    files["app/spec.json"] = json.dumps(spec.model_dump(mode="json"), indent=2, sort_keys=True,
                                        ensure_ascii=False) + "\n"
    for name in ("app/spec_data.py", "app/models.py", "app/capabilities/__init__.py", "app/static/styles.css",
                 "tests/test_auth.py", "requirements.txt", "ruff.toml"):
        files[name] = tpl.render(name + ".j2", **ctx)
    for e in spec.entities:
        files[f"tests/test_{e.name}.py"] = tpl.render("tests/test_entity.py.j2", e=e, plan=test_plan(spec, e), **ctx)
    for cap in spec.capabilities:
        for path, text in module_for(cap.kind).render(cap, spec, _CapRenderer(tpl, cap)).items():
            if path in files:
                raise ValueError(f"capability {cap.id!r} renders {path!r}, which another part already wrote")
            files[path] = text
    files["tests/readiness.py"] = readiness_module(spec)
    out = {p: (d.encode("utf-8") if isinstance(d, str) else d) for p, d in sorted(files.items())}
    if previous is None:
        upgrade, downgrade = initial_revision(out)
        out[f"{VERSIONS}{INITIAL_REVISION}_initial.py"] = tpl.render(
            f"{VERSIONS}{INITIAL_REVISION}_initial.py.j2", upgrade=upgrade, downgrade=downgrade).encode("utf-8")
        head = INITIAL_REVISION
    else:
        kept = revision_files(previous)
        head = head_revision(previous)
        out.update(kept)
        change = next_revision(previous, out, renames=renames)
        if change is not None:
            upgrade, downgrade, said = change
            before, head = head, f"{int(head) + 1:04d}"
            out[f"{VERSIONS}{head}_change.py"] = tpl.render(
                f"{VERSIONS}change.py.j2", revision=head, down_revision=before, upgrade=upgrade, downgrade=downgrade,
                changes=said).encode("utf-8")
    revisions = sorted(Path(p).name.split("_", 1)[0] for p in revision_files(out))
    for name in ("tests/test_migrations.py", "README.md"):
        out[name] = tpl.render(name + ".j2", revisions=revisions, head=head, **ctx).encode("utf-8")
    out["app/factory.json"] = factory_record(out["app/spec.json"], head)
    return dict(sorted(out.items()))


def ready_actions(spec: AppSpec) -> list[dict]:
    """What makes a new record free to move through its workflow past every rule that holds a move back (a guard's
    count of witnesses, a yes/no of the member): capability modules declare them with `ready_actions(cap, spec)`."""
    out: list[dict] = []
    for cap in spec.capabilities:
        declare = getattr(module_for(cap.kind), "ready_actions", None)
        if declare is not None:
            out += declare(cap, spec)
    return out


def readiness_module(spec: AppSpec) -> str:
    return ('"""What the tests do to a new record so that rules holding a move of its workflow back hold (generated;\n'
            'tests/support.py `ready` runs them): a guard\'s own tests prove the refusal, every other test moves\n'
            'records freely."""\n\nREADY = ' + json.dumps(ready_actions(spec), indent=4, sort_keys=True)
            .replace("true", "True").replace("false", "False").replace("null", "None") + "\n")


def factory_record(spec_json: bytes, revision: str = INITIAL_REVISION) -> bytes:
    """`app/factory.json`: what produced the app (copier's answers file): the factory version, the SHA-256 of the
    `app/spec.json` it was compiled from, and the newest migration revision the factory generated for it, so that
    a later spec change can be compiled into the next revision."""
    record = {"factory_version": FACTORY_VERSION, "spec_sha256": hashlib.sha256(spec_json).hexdigest(),
              "revision": revision}
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode("utf-8")


class _CapRenderer:
    """The renderer handed to one capability: adds `cap` to every context."""

    def __init__(self, base: Renderer, cap):
        self._base = base
        self._cap = cap
        self.spec = base.spec

    def render(self, name: str, **ctx) -> str:
        return self._base.render(name, **{"cap": self._cap, **ctx})


def managed_fields(spec: AppSpec) -> dict[str, list[str]]:
    """{entity: [field]} that a capability sets itself (e.g. a workflow's state field): the foundation's
    generated tests neither expect them to round-trip nor PATCH them. A capability module declares them with
    an optional `managed_fields(cap, spec) -> [(entity, field)]`."""
    out: dict[str, set[str]] = {}
    for cap in spec.capabilities:
        mod = module_for(cap.kind)
        if hasattr(mod, "managed_fields"):
            pairs = mod.managed_fields(cap, spec)
        elif cap.kind == "workflow":  # until the workflow module declares its state field itself
            pairs = [(cap.entity, cap.state_field)]
        else:
            pairs = []
        for ent, field in pairs:
            out.setdefault(ent, set()).add(field)
    return {k: sorted(v) for k, v in out.items()}


def test_plan(spec: AppSpec, e: EntitySpec) -> dict:
    """Which roles the generated tests of entity `e` use (None when the spec has no such role)."""
    def first(pred):
        return next((r.name for r in spec.roles if pred(r)), None)

    managed = managed_fields(spec).get(e.name, [])
    editable = [f for f in e.fields if f.type != "reference" and f.name not in managed]
    return {
        "managed": managed,
        "first": editable[0] if editable else e.field(e.display_field),
        "read_only": first(lambda r: e.name in r.read and e.name not in r.write and e.name not in r.read_own),
        "no_read": first(lambda r: e.name not in r.read and e.name not in r.write),
        "own_writer": first(lambda r: r.scope == "own" and e.name in r.write and e.name not in r.read_own),
        "writer": first(lambda r: r.name != "owner" and r.scope == "all" and e.name in r.write),
        "refs": [f for f in e.fields if f.type == "reference"],
        "own_reader": first(lambda r: e.name in r.read_own),
        "own_paths": own_paths(spec, e.name),
        # the fewest rows one user may keep ("each neighbour holds at most 2 bookings"): a test that makes several
        # rows as one user makes no more than that
        "user_cap": min((c.max for c in spec.capabilities if c.kind == "limit" and c.entity == e.name
                         and getattr(c, "scope", None) == "user" and c.max is not None), default=None),
    }


def default_design(spec: AppSpec) -> dict:
    """The UI/UX stage's design system for a spec (when no design-system.json is at hand, e.g. in tests)."""
    from ..stages import uiux_design

    return uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))


def count_test_methods(files: dict[str, bytes]) -> int:
    import re

    return sum(len(re.findall(rb"^    def test_\w+\(self", data, re.MULTILINE))
               for path, data in files.items() if path.startswith("tests/test_") and path.endswith(".py"))


def load_spec_file(path: str) -> tuple[AppSpec, list[str]]:
    """The spec in a JSON file and its `spec_problems` (the dev tools' common first step)."""
    spec = AppSpec.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))
    return spec, spec_problems(spec)
