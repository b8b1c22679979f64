"""Capability `import` (module `bulk_import`): name checks, routes, criteria, and the generated app's own import
tests in three domains — a club importing members from a spreadsheet (email as key, all or nothing), a shop
importing products (SKU as key, matches skipped, per-row commit) and a beekeeper importing inspections that name
their hive (hive and date as key, per-row commit)."""

from __future__ import annotations

import copy
import json

import pytest

from shared.engine.appspec.model import AppSpec, FeatureReading, RuleReading, spec_problems
from shared.engine.capabilities import module_for

from . import _ops_specs as S
from ._ops_specs import entity, f, role

bulk = module_for("import")


def club_members():
    """Sports club: the secretary imports members from a spreadsheet; coaches read them; visitors see nothing."""
    member = entity("member", "members", [
        f("full_name", required=True), f("email", "email", required=True, unique=True), f("phone", "phone"),
        f("joined_on", "date"), f("membership", "enum", values=["full", "junior", "honorary"], default="full"),
        f("yearly_fee", "money", min=0, max=500)], display="full_name")
    roles = [role("secretary", ["member"], ["member"]), role("coach", ["member"]), role("visitor", [])]
    caps = [{"kind": "import", "id": "member_import", "label": "Import members from a spreadsheet",
             "entity": "member", "key_fields": ["email"], "columns": {"E-mail address": "email"}}]
    return S.build("Club Roll", "A sports club keeps its member list.", [member], roles, caps, default_role="coach")


def shop_products():
    """Shop: products imported with the SKU as key; a product already there is skipped; good rows kept."""
    product = entity("product", "products", [
        f("title", required=True, max=120), f("sku", required=True, max=40), f("price", "money", required=True, min=0),
        f("stock", "integer", min=0, max=100000), f("active", "boolean"),
        f("category", "enum", values=["food", "drink", "gift"])], display="title")
    roles = [role("shopkeeper", ["product"], ["product"]), role("clerk", ["product"])]
    caps = [{"kind": "import", "id": "catalogue_upload", "label": "Upload the product catalogue as CSV",
             "entity": "product", "key_fields": ["sku"], "on_match": "skip", "commit": "per_row",
             "roles": ["owner", "shopkeeper"], "max_rows": 200, "max_bytes": 200000}]
    return S.build("Corner Shop", "A corner shop keeps its product catalogue.", [product], roles, caps)


def hive_inspections():
    """Beekeeping: inspections imported from a field notebook export, each naming its hive by name."""
    hive = entity("hive", "hives", [f("name", required=True, unique=True), f("apiary", "text")])
    inspection = entity("inspection", "inspections", [
        f("summary", required=True), f("hive_id", "reference", ref="hive", required=True),
        f("inspected_on", "date", required=True), f("queen_seen", "boolean"),
        f("frames_of_brood", "integer", min=0, max=20), f("temper", "enum", values=["calm", "nervous", "aggressive"]),
        f("notes", "long_text")], display="summary")
    roles = [role("beekeeper", ["hive", "inspection"], ["hive", "inspection"], scope="own"),
             role("helper", ["hive", "inspection"])]
    caps = [{"kind": "import", "id": "inspection_import", "label": "Import hive inspections from a CSV",
             "entity": "inspection", "key_fields": ["hive_id", "inspected_on"], "match_by": {"hive_id": "name"},
             "commit": "per_row"}]
    return S.build("Hive Notes", "Beekeepers record hive inspections.", [hive, inspection], roles, caps)


IDEAS = [club_members, shop_products, hive_inspections]
MUST = ("test_preview_reports_each_row_and_saves_nothing", "test_importing_the_same_file_twice_creates_nothing_new",
        "test_a_bad_row_never_leaves_half_a_row", "test_bad_files_are_refused_with_a_code_and_a_sentence",
        "test_wrong_role_and_anonymous_are_refused", "test_concurrent_imports_of_the_same_file_do_not_duplicate",
        "test_the_records_api_refuses_a_second_row_with_a_key", "test_the_report_csv_cannot_run_formulas",
        "test_page_previews_and_imports_with_the_form", "test_headers_match_names_and_labels_loosely")


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_import_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 11, run.output
    for must in MUST:
        assert mine.get(must) == "passed", (must, mine)
    assert set(mine.values()) == {"passed"}, mine
    # the whole project passes: the key rule keeps the generic CRUD tests of the entity working
    assert all(v == "passed" for v in run.results.values()), run.output


def test_each_domain_spec_has_no_problems_and_the_kind_is_available():
    from shared.engine.capabilities import available_kinds

    assert "import" in available_kinds()
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(club_members())
    routes = {(r.method, r.path): r.roles for r in bulk.routes(spec.capabilities[0], spec)}
    assert set(routes) == {("POST", "/api/member_import/preview"), ("POST", "/api/member_import/import"),
                           ("GET", "/api/member_import/runs"), ("GET", "/api/member_import/runs/<int:run_id>/report.csv"),
                           ("GET", "/api/member_import/template.csv"), ("GET", "/member_import/"),
                           ("POST", "/member_import/")}
    assert all(r == ["owner", "secretary"] for r in routes.values())  # the writers; coaches only read
    _, files = S.compile_spec(club_members())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == 7


def test_headers_match_names_labels_and_the_columns_param():
    spec = AppSpec.model_validate(hive_inspections())
    al = bulk.aliases(spec.capabilities[0], spec)
    assert al["hive"] == "hive_id" and al["hive id"] == "hive_id" and al["inspected on"] == "inspected_on"
    spec = AppSpec.model_validate(club_members())
    al = bulk.aliases(spec.capabilities[0], spec)
    assert al["e mail address"] == "email" and al["full name"] == "full_name"
    assert bulk.norm("  E-mail   ADDRESS ") == "e mail address"


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(hive_inspections())[1], S.compile_spec(hive_inspections())[1]
    mine = [n for n in a if "inspection_import" in n]
    assert len(mine) == 4  # the module, its file reader, its page and its tests
    assert all(a[n] == b[n] for n in mine)


def _changed(spec_dict, **change):
    d = copy.deepcopy(spec_dict)
    d["capabilities"][0].update(change)
    return d


@pytest.mark.parametrize("spec_dict, words", [
    (_changed(club_members(), entity="person"), ["entity 'person' is not an entity"]),
    (_changed(club_members(), key_fields=["mail"]), ["key field 'mail' is not a field of 'member'", "email"]),
    (_changed(club_members(), key_fields=["yearly_fee"]), ["member.yearly_fee is a money field but must be"]),
    (_changed(club_members(), key_fields=["membership"]), ["have only enum or reference fields"]),
    (_changed(club_members(), key_fields=["email", "email"]), ["list a field twice"]),
    (_changed(club_members(), columns={"Mail": "mail"}), ["maps 'Mail' to 'mail', which is not a field"]),
    (_changed(club_members(), columns={"--": "email"}), ["has no letters or digits"]),
    (_changed(club_members(), roles=["coach"]), ["role 'coach' may import but may not write 'member'"]),
    (_changed(club_members(), roles=["boss"]), ["role 'boss' is not a role", "known roles"]),
    (_changed(hive_inspections(), match_by={"summary": "name"}), ["summary is a text field but must be reference"]),
    (_changed(hive_inspections(), match_by={"hive_id": "colour"}), ["'colour' is not a field of 'hive'", "apiary"]),
    (_changed(hive_inspections(), key_fields=["hive_id"]), ["have only enum or reference fields"]),
])
def test_check_names_what_does_not_resolve(spec_dict, words):
    spec = AppSpec.model_validate(spec_dict)
    text = " | ".join(bulk.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(import)" in p for p in spec_problems(spec)), spec_problems(spec)


def test_check_refuses_a_key_another_capability_sets_and_two_keys_for_one_entity():
    d = shop_products()
    d["capabilities"].append({"kind": "workflow", "id": "stocking", "label": "Products move through stages",
                              "entity": "product", "state_field": "category", "states": ["food", "drink", "gift"],
                              "initial": "food", "transitions": [{"name": "go", "from_states": ["food"], "to": "drink",
                                                                  "roles": ["owner"]}]})
    d["capabilities"][0].update(key_fields=["sku", "category"])
    spec = AppSpec.model_validate(d)
    assert any("is set by capability 'stocking'" in p for p in bulk.check(spec.capabilities[0], spec))
    d = shop_products()
    d["capabilities"].append(dict(d["capabilities"][0], id="title_upload", key_fields=["title"]))
    spec = AppSpec.model_validate(d)
    assert any("one entity has one key" in p for p in bulk.check(spec.capabilities[1], spec))


# ---------------------------------------------------------------------------------------------- criteria

def _rule(category="uniqueness", words="without duplicates", number=None, nouns=(), unit=None):
    return RuleReading(category=category, words=words, number=number, nouns=list(nouns), unit=unit)


@pytest.mark.parametrize("rule, expected", [
    (_rule(), True),
    (_rule(words="no duplicate members", nouns=["member"]), True),
    (_rule(words="one member per email", nouns=["member", "email"]), True),
    (_rule(words="each email only once", nouns=["email"]), True),
    (_rule(words="no duplicate coaches", nouns=["coach"]), False),  # a role, not the imported record
    (_rule(words="unique phone number", nouns=["phone"]), False),  # not the key the import matches by
    (_rule(category="limit", words="up to 1000 rows", number=1000, nouns=["row"]), True),
    (_rule(category="limit", words="up to 500 rows", number=500, nouns=["row"]), False),  # another number
    (_rule(category="limit", words="at most 3 members per family", number=3, nouns=["member"]), False),
    (_rule(category="time_window", words="within 3 days", number=3, unit="days"), False),
])
def test_realises_only_its_key_and_its_row_cap(rule, expected):
    from shared.engine.criteria.k_import import REALISES

    spec = AppSpec.model_validate(club_members())
    assert REALISES["import"](spec.capabilities[0], spec, rule, None) is expected


def test_criteria_speak_the_founders_nouns_and_exercise_the_realised_rule():
    from shared.engine.criteria.k_import import DERIVE

    spec = AppSpec.model_validate(club_members())
    reading = FeatureReading(record="member", rules=[_rule(category="limit", words="at most 3", number=3),
                                                     _rule(words="no duplicate members", nouns=["member"])])
    crits = DERIVE["import"](spec.capabilities[0], spec, reading, "Import members from a spreadsheet")
    assert [c["template"] for c in crits] == ["import.upload_report", "import.rerun_creates_nothing"]
    assert crits[1]["rules"] == [1] and crits[0]["rules"] == []
    assert crits[0]["text"].startswith("When a secretary uploads a file of three members, one with a bad phone, the "
                                       "preview lists two members to add")
    assert crits[0]["text"].endswith("a coach may not import.") and "by its email" in crits[1]["text"]
    spec = AppSpec.model_validate(hive_inspections())
    crits = DERIVE["import"](spec.capabilities[0], spec, None, "")
    assert [c["template"] for c in crits] == ["import.upload_report", "import.rerun_creates_nothing",
                                              "import.reference_by_name"]
    assert "hive" in crits[2]["text"]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_criteria_compile_to_scenarios_over_the_declared_routes(idea):
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.k_import import DERIVE

    spec = AppSpec.model_validate(idea())
    cap = spec.capabilities[0]
    for n, c in enumerate(DERIVE["import"](cap, spec, None, cap.label)):
        from shared.engine.appspec.model import Criterion

        scenario = compile_criterion(spec, Criterion(id=f"c{n}", text=c["text"], template=c["template"],
                                                     params=c["params"]), cap.label)
        paths = {s["path"] for s in scenario["steps"]}
        assert f"/api/{cap.id}/import" in paths
        assert any(s["expect"] == 403 or s["expect"] == 401 for s in scenario["steps"]) or n > 0


# ---------------------------------------------------------------------------------------------- planner builder

@pytest.mark.parametrize("features, want", [
    (["Members with name, email and phone", "Import members from a spreadsheet"],
     {"entity": "member", "key_fields": ["email"], "on_match": "update", "commit": "all_or_nothing"}),
    (["Products with title, SKU, price and stock", "Upload the product catalogue as CSV by SKU, skipping existing "
                                                   "products"],
     {"entity": "product", "key_fields": ["sku"], "on_match": "skip"}),
    (["Log inspections of each hive with date and notes", "Import inspections from a CSV file, up to 300 rows"],
     {"entity": "inspection", "key_fields": ["hive_id", "date"], "max_rows": 300}),
    (["Pets with name and registration number", "Import pets from a spreadsheet matched by registration number, "
                                                "keep the good rows"],
     {"entity": "pet", "key_fields": ["registration_number"], "commit": "per_row"}),
])
def test_the_builder_binds_the_records_and_the_key_the_words_give(features, want):
    from shared.engine.planner.b_import import b_import
    from shared.engine.planner.capmap import feature_ctx
    from shared.engine.planner.draft import build

    d = build({"title": "T", "description": "", "key_features": features})
    params = b_import(feature_ctx(d, 1, features[1], None))
    assert {k: params.get(k) for k in want} == want, params
    assert all(d.entities[params["entity"]].fields[k].required for k in params["key_fields"])
    bulk.Params.model_validate({"id": "probe", "label": "probe", "kind": "import", **params})


def test_the_builder_refuses_records_nothing_identifies():
    from shared.engine.planner.b_import import b_import
    from shared.engine.planner.capmap import NotFit, feature_ctx
    from shared.engine.planner.draft import build

    features = ["Keep recipes with a title and steps", "Import recipes from a spreadsheet"]
    d = build({"title": "T", "description": "", "key_features": features})
    with pytest.raises(NotFit, match="what identifies a recipe"):
        b_import(feature_ctx(d, 1, features[1], None))
