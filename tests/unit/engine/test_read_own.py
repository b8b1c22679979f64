"""Read scoping of roles (RoleSpec.read_own): a vet practice where pet owners see only their own pets and those
pets' visits. The spec is checked, compiled, and the generated app's own tests (generic CRUD and read-own tests,
search, export and live board) are run the way QA runs them."""

from __future__ import annotations

import json

import pytest

from shared.engine.appspec.model import AppSpec, own_paths, spec_problems
from shared.engine.compiler import own_paths_meta

from .capabilities import _ops_specs as S
from .capabilities._ops_specs import build, entity, f, role


def vet_practice(read_own=("owner_person", "pet", "visit")):
    """Vet practice: vets keep owners, pets and visits; a pet owner signs in with the email the practice holds
    for them and sees only their own record, their pets and their pets' visits."""
    person = entity("owner_person", "owner_people", [f("full_name", required=True), f("email", "email", unique=True),
                                                    f("phone", "phone")])
    pet = entity("pet", "pets", [f("name", required=True), f("species", "enum", values=["dog", "cat", "other"]),
                                 f("owner_person_id", "reference", ref="owner_person", required=True)])
    visit = entity("visit", "visits", [f("reason", required=True, max=120),
                                       f("pet_id", "reference", ref="pet", required=True),
                                       f("visit_on", "date"), f("notes", "long_text")], display="reason")
    names = ["owner_person", "pet", "visit"]
    pet_owner = {**role("pet_owner", names), "read_own": list(read_own)}
    caps = [
        {"kind": "search", "id": "visit_search", "label": "Search visits by reason and notes", "entity": "visit",
         "fields": ["reason", "notes"]},
        {"kind": "export", "id": "records_export", "label": "Export pets and visits", "entities": ["pet", "visit"],
         "pdf_entity": "visit"},
        {"kind": "live_board", "id": "clinic_board", "label": "Live board of pets and visits",
         "entities": ["pet", "visit"]},
    ]
    return build("Paw Clinic", "A vet practice keeps pets and their visits; owners see their own pets.",
                 [person, pet, visit], [role("vet", names, names), pet_owner], caps)


def test_the_vet_spec_has_no_problems_and_says_how_rows_are_own():
    spec = AppSpec.model_validate(vet_practice())
    assert spec_problems(spec) == []
    assert own_paths(spec, "pet") == {"email": None, "people": [["owner_person_id", "owner_person", "email"]],
                                      "parents": [["owner_person_id", "owner_person"]]}
    assert own_paths(spec, "visit") == {"email": None, "people": [], "parents": [["pet_id", "pet"]]}
    assert own_paths(spec, "owner_person") == {"email": "email", "people": [], "parents": []}


def test_read_own_must_name_an_entity_the_role_reads():
    d = vet_practice()
    d["roles"][2]["read"] = ["pet"]  # pet_owner no longer reads visits or owner records
    problems = spec_problems(AppSpec.model_validate(d))
    assert any("'pet_owner' has 'visit' in read_own but does not read it" in p for p in problems), problems
    assert any("'owner_person' in read_own" in p for p in problems), problems
    d = vet_practice()
    d["roles"][2]["read_own"] = ["pet", "kennel"]
    assert any("'kennel' in read_own" in p for p in spec_problems(AppSpec.model_validate(d)))
    d = vet_practice()
    d["roles"][0]["read_own"] = ["pet"]  # the owner manages users and sees everything
    assert any("'owner' manages users" in p for p in spec_problems(AppSpec.model_validate(d)))


def test_the_spec_data_carries_read_own_and_the_own_paths():
    _spec, files = S.compile_spec(vet_practice())
    data = files["app/spec_data.py"].decode()
    assert "'read_own': ['owner_person', 'pet', 'visit']" in data or '"read_own": ["owner_person", "pet", "visit"]' in data
    assert "OWN_PATHS = " in data
    tests = files["tests/test_visit.py"].decode()
    assert "class VisitReadOwnTest" in tests
    assert "def test_rows_whose_pet_id_is_its_own_are_its_own" in tests
    assert "def test_rows_linked_to_its_person_record_are_its_own" in files["tests/test_pet.py"].decode()
    assert "def test_its_own_person_record_is_its_own" in files["tests/test_owner_person.py"].decode()
    # without read_own nothing of it is emitted, and OWN_PATHS is empty
    _spec, plain = S.compile_spec(vet_practice(read_own=()))
    assert "ReadOwnTest" not in "".join(v.decode() for k, v in plain.items() if k.startswith("tests/"))
    assert "OWN_PATHS = {}" in plain["app/spec_data.py"].decode()
    assert own_paths_meta(AppSpec.model_validate(vet_practice(read_own=["visit"]))) == {
        "pet": own_paths(AppSpec.model_validate(vet_practice()), "pet"),
        "visit": {"email": None, "people": [], "parents": [["pet_id", "pet"]]}}


READ_OWN_TESTS = {
    "test_pet": ["test_rows_it_created_are_its_own", "test_rows_linked_to_its_person_record_are_its_own",
                 "test_rows_whose_owner_person_id_is_its_own_are_its_own",
                 "test_abuse_filters_sorting_and_paging_reveal_no_other_row"],
    "test_visit": ["test_rows_it_created_are_its_own", "test_rows_whose_pet_id_is_its_own_are_its_own",
                   "test_abuse_filters_sorting_and_paging_reveal_no_other_row"],
    "test_owner_person": ["test_rows_it_created_are_its_own", "test_its_own_person_record_is_its_own"],
    "test_cap_visit_search": ["test_a_role_reading_only_its_own_rows_finds_only_those"],
    "test_cap_records_export": ["test_csv_of_pets_for_pet_owner_holds_only_its_own_rows",
                                "test_csv_of_visits_for_pet_owner_holds_only_its_own_rows",
                                "test_pdf_of_another_visit_is_404_for_pet_owner"],
    "test_cap_clinic_board": ["test_a_role_reading_only_its_own_rows_gets_only_their_events"],
}


def _read_own_results(run) -> dict[str, str]:
    return {f"{module}.{name}": run.of(module).get(name, "missing")
            for module, names in READ_OWN_TESTS.items() for name in names}


def test_the_generated_vet_app_passes_its_tests_with_read_scoping():
    spec, files = S.compile_spec(vet_practice())
    run = S.qa(files)
    assert run.passed, run.output
    assert set(_read_own_results(run).values()) == {"passed"}, _read_own_results(run)
    assert all(v == "passed" for v in run.results.values()), run.output
    # the acceptance criteria act as a role that can see the rows they make (the vet: a pet owner reads only its
    # own pets and visits and may make none, so it would not see one a criterion adds)
    criteria = {c["text"]: c["passed"] for feat in run.features for c in feat["criteria"]}
    assert len(criteria) >= 4 and all(criteria.values()), criteria


@pytest.mark.parametrize("mutation", ["no_scoping", "no_parent_path"])
def test_the_generated_read_own_tests_fail_without_the_scoping(mutation):
    """The generated tests can fail: with `visible` left open (or the parent path dropped) they do."""
    _spec, files = S.compile_spec(vet_practice())
    security = files["app/security.py"].decode()
    if mutation == "no_scoping":
        old = '    return bool(role and entity in role.get("read_own", ()))'
        new = "    return False"
    else:
        old = "    if parents:\n"
        new = "    if False:\n"
    assert old in security
    files = dict(files, **{"app/security.py": security.replace(old, new).encode()})
    results = _read_own_results(S.qa(files))
    if mutation == "no_scoping":
        assert all(v != "passed" for v in results.values()), results
    else:
        assert results["test_visit.test_rows_whose_pet_id_is_its_own_are_its_own"] != "passed", results
        assert results["test_visit.test_rows_it_created_are_its_own"] == "passed", results


def test_a_spec_dump_round_trips_read_own():
    spec = AppSpec.model_validate(vet_practice())
    again = AppSpec.model_validate(json.loads(json.dumps(spec.model_dump(mode="json"))))
    assert again.role("pet_owner").read_own == ["owner_person", "pet", "visit"]
    assert again.role("vet").read_own == []


def bill_desk():
    """A grooming parlour's bills: a customer signs up, adds their own contact record and bills, pays them, uploads
    the receipt, is emailed the day before one is due, searches, exports and watches them on a live board, all only
    their own; clerks keep the contact records (and rate them) but never see a bill. So no role other than the
    owner reads every bill: the customer is the one who pays, for its own."""
    contact = entity("contact", "contacts", [f("full_name", required=True), f("email", "email")], display="full_name")
    bill = entity("bill", "bills", [f("description", required=True, max=120), f("amount", "money", required=True),
                                    f("due_on", "date"), f("contact_id", "reference", ref="contact")],
                  display="description")
    names = ["contact", "bill"]
    customer = {**role("customer", names, names, scope="own"), "read_own": names}
    clerk = role("clerk", ["contact"], ["contact"])
    caps = [
        {"kind": "payments", "id": "bill_payments", "label": "Customers pay their bills by card", "entity": "bill",
         "amount_field": "amount"},
        {"kind": "attachments", "id": "bill_receipts", "label": "Attach a PDF receipt to each bill",
         "entity": "bill", "allowed_types": ["application/pdf"]},
        {"kind": "reminders", "id": "bill_due", "label": "Email the contact the day before a bill is due",
         "entity": "bill", "field": "due_on", "rule": "due_in_days", "days": 1, "channel": "email",
         "recipient_field": "contact_id.email"},
        {"kind": "export", "id": "bill_export", "label": "Export bills", "entities": ["bill"], "pdf_entity": "bill"},
        {"kind": "live_board", "id": "bill_board", "label": "Live board of bills", "entities": ["bill"]},
        {"kind": "ratings", "id": "contact_ratings", "label": "Rate contacts", "entity": "contact", "scale": 5},
        {"kind": "search", "id": "bill_search", "label": "Search bills by description", "entity": "bill",
         "fields": ["description"]},
    ]
    return build("Bill Desk", "A grooming parlour's customers pay their own bills.", [contact, bill],
                 [customer, clerk], caps)


BILL_TESTS = {
    "test_cap_bill_payments": ["test_a_role_reading_only_its_own_rows_pays_only_for_its_own",
                               "test_abuse_a_second_checkout_of_a_paid_record_is_refused",
                               "test_signed_webhook_confirms_the_payment_once"],
    "test_cap_bill_receipts": ["test_abuse_another_users_record_attachments_cannot_be_changed"],
    "test_cap_contact_ratings": ["test_abuse_fresh_accounts_cannot_reorder_the_ranking"],
}


def test_capabilities_serve_a_role_that_reads_only_its_own_rows():
    """Payments, attachments, reminders, export, live board and ratings where the customer reads only its own
    rows: the generated tests (named ones included) and every acceptance criterion pass, acting as a user who owns
    the row, and the criteria check that another customer's rows never show."""
    spec, files = S.compile_spec(bill_desk())
    assert spec_problems(spec) == []
    run = S.qa(files)
    assert run.passed, run.output
    named = {f"{m}.{n}": run.of(m).get(n, "missing") for m, names in BILL_TESTS.items() for n in names}
    assert set(named.values()) == {"passed"}, named
    assert all(v == "passed" for v in run.results.values()), run.output
    criteria = {c["text"]: c["passed"] for feat in run.features for c in feat["criteria"]}
    failed = [c for feat in run.features for c in feat["criteria"] if not c["passed"]]
    assert len(criteria) >= 6 and not failed, [(c["text"], c.get("detail")) for c in failed]
    theirs = [t for t in criteria if "no other customer's bills" in t or "another customer" in t]
    assert len(theirs) >= 5, sorted(criteria)  # payments, CSV, PDF, live board, search
