"""Capability `document`: name checks, routes, amounts, and the generated app's own document tests in three domains
— a crane hire yard's invoice with day-rate lines and 20% VAT, a first-aid course certificate signed off by an
instructor (no lines), and a kennel inspection report with scored findings signed off by the inspector."""

from __future__ import annotations

import copy
import json

import pytest

from shared.engine.appspec.model import AppSpec, RuleReading, spec_problems
from shared.engine.capabilities import document

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def crane_invoices():
    """Crane hire yard: the office invoices customers per crane and day; accountants read; drivers see cranes."""
    crane = entity("crane", "cranes", [f("name", required=True), f("lift_tonnes", "integer", min=1, max=500)])
    invoice = entity("invoice", "invoices", [
        f("number", required=True, unique=True, max=40), f("customer_name", required=True), f("site", "text"),
        f("issued_on", "date", required=True)], display="number")
    line = entity("invoice_line", "invoice_lines", [
        f("description", required=True), f("invoice_id", "reference", ref="invoice", required=True),
        f("crane_id", "reference", ref="crane", required=True), f("days", "integer", required=True, min=1, max=60),
        f("day_rate", "money", required=True, min=0, max=5000)], display="description")
    roles = [role("office", ["crane", "invoice", "invoice_line"], ["crane", "invoice", "invoice_line"]),
             role("accountant", ["crane", "invoice", "invoice_line"]), role("driver", ["crane"])]
    caps = [{"kind": "document", "id": "invoice_pdf", "label": "Invoice PDF with line items and 20% VAT",
             "entity": "invoice", "header_fields": ["customer_name", "site", "issued_on"],
             "line_entity": "invoice_line", "line_field": "invoice_id", "line_columns": ["description", "crane_id"],
             "quantity_field": "days", "total_field": "day_rate", "tax_percent": 20, "tax_label": "VAT"}]
    return build("Lift Ledger", "A crane hire yard invoices customers for crane days.", [crane, invoice, line],
                 roles, caps)


def first_aid_certificates():
    """First-aid school: admins issue certificates for courses; the instructor signs each off; no lines."""
    course = entity("course", "courses", [f("title", required=True), f("held_on", "date", required=True)])
    cert = entity("certificate", "certificates", [
        f("holder_name", required=True), f("course_id", "reference", ref="course", required=True),
        f("issued_on", "date", required=True), f("result", "enum", values=["pass", "merit", "fail"])],
        display="holder_name")
    roles = [role("admin", ["course", "certificate"], ["course", "certificate"]),
             role("instructor", ["course", "certificate"]), role("learner", ["certificate"]),
             role("visitor", ["course"])]
    caps = [{"kind": "document", "id": "certificate_pdf", "label": "Certificates signed off by the instructor",
             "entity": "certificate", "header_fields": ["course_id", "issued_on", "result"],
             "signoff_role": "instructor"}]
    return build("Aid Ready", "A first-aid school issues course certificates.", [course, cert], roles, caps)


def kennel_inspections():
    """Kennel inspections: keepers (own records) write reports and scored findings; the inspector signs off."""
    kennel = entity("kennel", "kennels", [f("name", required=True), f("licence_no", "text")])
    report = entity("inspection", "inspections", [
        f("title", required=True, max=120), f("kennel_id", "reference", ref="kennel", required=True),
        f("visited_on", "date", required=True), f("summary", "long_text")])
    finding = entity("finding", "findings", [
        f("area", required=True), f("inspection_id", "reference", ref="inspection", required=True),
        f("observation", "long_text"), f("score", "integer", required=True, min=0, max=10)], display="area")
    roles = [role("keeper", ["kennel", "inspection", "finding"], ["kennel", "inspection", "finding"], scope="own"),
             role("inspector", ["kennel", "inspection", "finding"]), role("public", ["kennel"])]
    caps = [{"kind": "document", "id": "inspection_report", "label": "Inspection report signed by the inspector",
             "entity": "inspection", "header_fields": ["kennel_id", "visited_on", "summary"],
             "line_entity": "finding", "line_field": "inspection_id", "line_columns": ["area", "observation"],
             "total_field": "score", "signoff_role": "inspector"}]
    return build("Kennel Check", "A council inspects licensed kennels.", [kennel, report, finding], roles, caps,
                 default_role="keeper")


def bike_receipts():
    """Bike repair shop: a receipt with no lines whose own field is called "total" (printed as a header row, which is
    no total line of the document)."""
    receipt = entity("repair_receipt", "repair_receipts", [
        f("reference", required=True), f("total", "money", min=0, max=5000), f("paid_on", "date")],
        display="reference")
    roles = [role("mechanic", ["repair_receipt"], ["repair_receipt"])]
    caps = [{"kind": "document", "id": "receipt_pdf", "label": "A receipt PDF per repair",
             "entity": "repair_receipt", "header_fields": ["total", "paid_on"]}]
    return build("Spoke Slip", "A bike repair shop hands out receipts.", [receipt], roles, caps)


IDEAS = [crane_invoices, first_aid_certificates, kennel_inspections, bike_receipts]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_document_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 6, run.output
    assert set(mine.values()) == {"passed"}, mine
    for must in ("test_the_pdf_prints_the_record_its_lines_and_totals", "test_the_same_record_gives_the_same_bytes",
                 "test_text_outside_latin1_is_replaced_not_an_error", "test_readers_download_and_others_are_refused"):
        assert mine.get(must) == "passed", (must, mine)
    if cap.signoff_role:
        for must in ("test_only_the_named_role_signs_off", "test_concurrent_signoffs_record_one",
                     "test_a_signed_document_is_locked_on_every_route", "test_a_second_signoff_is_refused"):
            assert mine.get(must) == "passed", (must, mine)
    assert all(v == "passed" for v in run.results.values()), run.output


def test_routes_are_declared_under_the_capability_and_guarded():
    spec = AppSpec.model_validate(kennel_inspections())
    routes = {(r.method, r.path): r.roles for r in document.routes(spec.capabilities[0], spec)}
    base = "/api/inspection_report/records/<int:record_id>"
    assert routes == {("GET", f"{base}.pdf"): ["owner", "keeper", "inspector"],
                      ("GET", base): ["owner", "keeper", "inspector"],
                      ("GET", "/inspection_report/"): ["owner", "keeper", "inspector"],
                      ("POST", f"{base}/signoff"): ["inspector"],
                      ("POST", "/inspection_report/records/<int:record_id>/signoff"): ["inspector"]}
    spec = AppSpec.model_validate(crane_invoices())  # no sign-off: no sign-off routes; drivers read no invoices
    routes = document.routes(spec.capabilities[0], spec)
    assert len(routes) == 3 and all(r.roles == ["owner", "office", "accountant"] for r in routes)
    _, files = S.compile_spec(crane_invoices())
    assert len(json.loads(files["app/spec.json"])["capabilities"][0]["routes"]) == 3
    assert "fpdf2==2.8.9" in files["requirements.txt"].decode().splitlines()


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(kennel_inspections())[1], S.compile_spec(kennel_inspections())[1]
    mine = [n for n in a if "inspection_report" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


def test_the_sample_lines_and_totals_are_exact():
    spec = AppSpec.model_validate(crane_invoices())  # 2 x 350.00 + 3 x 125.50 + 1 x 42.25 = 1118.75, 20% VAT
    s = document.sample_lines(spec.capabilities[0], spec)
    assert s["lines"] == [{"day_rate": "350.00", "days": 2}, {"day_rate": "125.50", "days": 3},
                          {"day_rate": "42.25", "days": 1}]
    assert (s["amounts"], s["subtotal"], s["tax"], s["total"]) == (["700.00", "376.50", "42.25"], "1118.75",
                                                                   "223.75", "1342.50")
    assert s["shown"]["total"] == "1,342.50"
    spec = AppSpec.model_validate(kennel_inspections())  # integer scores 0..10: whole numbers, no tax
    s = document.sample_lines(spec.capabilities[0], spec)
    assert (s["amounts"], s["total"], s["tax"]) == (["5", "3", "8"], "16", None)
    assert document.sample_lines(*_first(first_aid_certificates())) is None
    from decimal import Decimal
    t = document.totals([Decimal("0.10")], 17.5, whole=False)  # 0.0175 -> 0.02 (half-up)
    assert (t["tax"], t["total"]) == (Decimal("0.02"), Decimal("0.12"))
    t = document.totals([Decimal("0.30")], 17.5, whole=False)  # 0.0525 -> 0.05
    assert (t["tax"], t["total"]) == (Decimal("0.05"), Decimal("0.35"))


def _first(spec_dict):
    spec = AppSpec.model_validate(spec_dict)
    return spec.capabilities[0], spec


def _changed(spec_dict, where=None, **change):
    """A copy with the capability (or, with where=(entity, field), one field) changed."""
    d = copy.deepcopy(spec_dict)
    if where is None:
        d["capabilities"][0].update(change)
    else:
        ent = next(e for e in d["entities"] if e["name"] == where[0])
        next(x for x in ent["fields"] if x["name"] == where[1]).update(change)
    return d


@pytest.mark.parametrize("spec_dict, words", [
    (_changed(crane_invoices(), entity="bill"), ["document entity 'bill' is not an entity", "known entities"]),
    (_changed(crane_invoices(), title_field="headline"), ["title_field 'headline' is not a field of 'invoice'"]),
    (_changed(crane_invoices(), header_fields=["number"]), ["invoice.number is already printed"]),
    (_changed(crane_invoices(), header_fields=["site", "site"]), ["lists ['site'] more than once"]),
    (_changed(crane_invoices(), line_entity="invoice_row"), ["line_entity 'invoice_row' is not an entity"]),
    (_changed(crane_invoices(), line_field="crane_id"), ["references 'crane' but must reference 'invoice'"]),
    (_changed(crane_invoices(), line_field=None), ["needs line_field"]),
    (_changed(crane_invoices(), line_columns=[]), ["line_columns is empty", "description"]),
    (_changed(crane_invoices(), line_columns=["invoice_id"]), ["invoice_line.invoice_id is already printed"]),
    (_changed(crane_invoices(), total_field="description"), ["text field but must be integer or decimal or money"]),
    (_changed(crane_invoices(), quantity_field="day_rate"), ["money field but must be integer or decimal",
                                                            "quantity_field and total_field are the same"]),
    (_changed(crane_invoices(), total_field=None), ["quantity_field multiplies total_field",
                                                    "tax_percent 20 needs total_field"]),
    (_changed(crane_invoices(), line_entity=None, line_field=None, line_columns=[], quantity_field=None,
              total_field=None), ["tax_percent need line_entity"]),
    (_changed(crane_invoices(), line_entity="invoice"), ["line_entity is 'invoice' itself"]),
    (_changed(crane_invoices(), signoff_role="driver"), ["signoff_role 'driver' may not read invoice"]),
    (_changed(crane_invoices(), signoff_role="foreman"), ["signoff_role 'foreman' is not a role", "known roles"]),
    (_changed(crane_invoices(), tax_percent=17.12345), ["more than three decimal places"]),
    (_changed(crane_invoices(), ("invoice_line", "day_rate"), min=-10, max=-1),
     ["invoice_line.day_rate has max -1"]),
])
def test_check_names_what_does_not_resolve(spec_dict, words):
    spec = AppSpec.model_validate(spec_dict)
    text = " | ".join(document.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any(p.startswith("capability 'invoice_pdf' (document)") for p in spec_problems(spec))


def test_check_accepts_the_three_ideas():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__
        assert document.check(spec.capabilities[0], spec) == []
    d = _changed(first_aid_certificates(), lock_on_signoff=False)  # a sign-off that records, without the lock
    _spec, files = S.compile_spec(d)
    tests = files["tests/test_cap_certificate_pdf.py"].decode()
    assert "def test_signing_off_does_not_lock" in tests
    assert "def test_a_signed_document_is_locked_on_every_route" not in tests
    assert "LOCK = False" in files["app/capabilities/certificate_pdf.py"].decode()


# ---------------------------------------------------------------------------------------------- criteria

def _rule(category, words, number=None, unit=None, nouns=()):
    return RuleReading(category=category, words=words, number=number, unit=unit, nouns=list(nouns))


@pytest.mark.parametrize("idea, rule, expected", [
    (crane_invoices, _rule("fee", "20% VAT", 20, "percent", ["vat"]), True),
    (crane_invoices, _rule("fee", "a 20% service charge", 20, "percent", ["service", "charge"]), True),
    (crane_invoices, _rule("fee", "17.5% VAT", 17.5, "percent", ["vat"]), False),  # another number
    (crane_invoices, _rule("fee", "20% off", 20, "percent"), False),  # a discount, not a tax
    (crane_invoices, _rule("fee", "a 20% deposit", 20, "percent", ["deposit"]), False),
    (crane_invoices, _rule("fee", "20% of the crane fee", 20, "percent", ["crane", "fee"]), False),  # another record
    (crane_invoices, _rule("threshold", "above 20", 20), False),
    (crane_invoices, _rule("agreement", "with the customer's agreement", nouns=["customer"]), False),
    (first_aid_certificates, _rule("agreement", "needs the instructor's sign-off", nouns=["instructor"]), True),
    (first_aid_certificates, _rule("agreement", "needs the admin's sign-off", nouns=["admin"]), False),
    (first_aid_certificates, _rule("agreement", "needs the learner's agreement", nouns=["learner"]), False),
    (first_aid_certificates, _rule("agreement", "after sign-off"), False),  # names no role
    (first_aid_certificates, _rule("block", "cannot be edited once signed off"), True),  # the lock
    (first_aid_certificates, _rule("block", "cannot be edited once signed by the admin", nouns=["admin"]), False),
    (first_aid_certificates, _rule("block", "cannot be deleted"), False),  # no sign-off
    (first_aid_certificates, _rule("fee", "20% VAT", 20, "percent", ["vat"]), False),  # no lines, no tax
    (kennel_inspections, _rule("agreement", "once the inspector signs off", nouns=["inspector"]), True),
    (kennel_inspections, _rule("limit", "at most 10 findings per inspection", 10, nouns=["finding"]), False),
])
def test_realises_only_its_own_number_and_role(idea, rule, expected):
    from shared.engine.criteria.k_document import REALISES

    cap, spec = _first(idea())
    assert REALISES["document"](cap, spec, rule, None) is expected


def test_realises_a_lock_only_when_the_capability_locks():
    from shared.engine.criteria.k_document import REALISES

    cap, spec = _first(_changed(first_aid_certificates(), lock_on_signoff=False))
    assert REALISES["document"](cap, spec, _rule("block", "cannot be edited once signed off"), None) is False
    assert REALISES["document"](cap, spec, _rule("agreement", "needs the instructor's sign-off",
                                                 nouns=["instructor"]), None) is True


def test_criteria_speak_the_founders_nouns_and_carry_the_realised_rules():
    from shared.engine.appspec.model import FeatureReading
    from shared.engine.criteria.k_document import DERIVE

    cap, spec = _first(crane_invoices())
    reading = FeatureReading(record="invoice", rules=[_rule("limit", "at most 3 cranes", 3),
                                                      _rule("fee", "20% VAT", 20, "percent", ["vat"])])
    crits = DERIVE["document"](cap, spec, reading, "Invoices with line items and 20% VAT")
    assert [c["template"] for c in crits] == ["document.pdf"]
    assert crits[0]["rules"] == [1]
    assert crits[0]["text"] == ("An invoice with three invoice lines downloads as a PDF that lists each line and a "
                                "total of 1,342.50 (1,118.75 plus 20% VAT of 223.75); a driver may not download it; "
                                "the same invoice gives the same file.")
    cap, spec = _first(kennel_inspections())
    reading = FeatureReading(record="inspection", rules=[_rule("agreement", "the inspector's sign-off",
                                                               nouns=["inspector"])])
    crits = DERIVE["document"](cap, spec, reading, "")
    assert [c["template"] for c in crits] == ["document.pdf", "document.signoff"]
    assert crits[1]["rules"] == [0] and crits[0]["rules"] == []
    assert crits[1]["text"].startswith("When an inspector signs an inspection off, their name and the time are "
                                       "recorded and printed on its PDF; signing it off again is refused, and so "
                                       "is a change to the inspection or its findings; a keeper may not sign")


def test_criteria_compile_against_the_capabilitys_routes():
    from shared.engine.appspec.model import Criterion
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.k_document import DERIVE

    cap, spec = _first(kennel_inspections())
    pdf, signoff = DERIVE["document"](cap, spec, None, "")
    scen = compile_criterion(spec, Criterion(id="c1", **{k: signoff[k] for k in ("text", "template", "params")}), "f")
    steps = [(s["as"], s["method"], s["path"], s["expect"]) for s in scen["steps"]]
    assert ("anon", "POST", "/api/inspection_report/records/${inspection_2.id}/signoff", 401) in steps
    assert [s[3] for s in steps if s[2].endswith("/signoff")] == [403, 401, 200, 409]
    assert [s[3] for s in steps if s[1] == "PATCH"] == [409, 409]  # the report and its finding are locked
    assert sorted(scen["actors"].values()) == ["inspector", "keeper", "owner"]
    scen = compile_criterion(spec, Criterion(id="c0", **{k: pdf[k] for k in ("text", "template", "params")}), "f")
    texts = [c["value"] for s in scen["steps"] for c in s.get("checks", []) if c["op"] == "text_contains"]
    assert "(16) Tj" in texts and "(Total) Tj" in texts


# ---------------------------------------------------------------------------------------------- planner proposal

#: what the lead adds to planner/capmap.py (CUES, EXCLUSIVE, BEHAVIOUR, BUILDERS, IDENTITY), as the tests wire it
DOCUMENT_NOUNS = r"pdfs?|certificates?|invoices?|receipts?|delivery notes?|reports?|printable|line[- ]items?"
PROPOSED_CUES = (r"pdfs?", r"printable", r"sign(s|ed|ing)?[- ]?off", r"signed by", r"signatures?",
                 r"countersign\w*", r"line[- ]items?", r"itemi[sz]ed",
                 r"(issue[sd]?|generat\w+|produc\w+|print\w*)(?= (an? |the |their |each )?(\w+ )?(invoices?|"
                 r"receipts?|certificates?|delivery notes?))")  # the verb only: the noun stays the record's word
PROPOSED_EXCLUSIVE = (
    ("document", "export", r"line[- ]items?|sign|invoice|receipt|certificate|delivery note|vat|gst|tax"),
    ("export", "document", r"^(?!.*(line[- ]items?|sign|invoice|receipt|certificate|delivery note|vat|gst|tax))"),
    ("document", "workflow", DOCUMENT_NOUNS),
    ("workflow", "document", rf"^(?!.*({DOCUMENT_NOUNS}))"),
)


@pytest.fixture
def wired(monkeypatch):
    from shared.engine.planner import capmap
    from shared.engine.planner.b_document import b_document

    monkeypatch.setitem(capmap.CUES, "document", PROPOSED_CUES)
    monkeypatch.setattr(capmap, "EXCLUSIVE", PROPOSED_EXCLUSIVE + capmap.EXCLUSIVE)
    monkeypatch.setitem(capmap.BEHAVIOUR, "document", "a PDF document of a record and its lines, optionally signed "
                                                      "off by a named role")
    monkeypatch.setitem(capmap.BUILDERS, "document", b_document)
    monkeypatch.setitem(capmap.IDENTITY, "document", ("entity",))


def _plan(description, features):
    from shared.engine.planner import plan_builtin

    return plan_builtin({"title": "T", "description": description, "key_features": features})


def test_the_builder_plans_an_invoice_with_lines_and_vat(wired):
    spec = _plan("A crane hire yard hires cranes to customers and invoices them.",
                 ["Invoices with line items and 20% VAT as PDF"])
    [cap] = [c for c in spec.capabilities if c.kind == "document"]
    assert (cap.entity, cap.line_entity, cap.line_field) == ("invoice", "invoice_line", "invoice_id")
    assert (cap.tax_percent, cap.tax_label, cap.signoff_role) == (20, "VAT", None)
    assert spec.entity("invoice_line").field(cap.total_field).type == "money"
    assert document.check(cap, spec) == []
    assert not [c for c in spec.capabilities if c.kind == "export"]


def test_the_builder_plans_a_signed_certificate(wired):
    spec = _plan("Instructors run first-aid courses and learners earn certificates.",
                 ["Print course certificates signed off by the instructor"])
    [cap] = [c for c in spec.capabilities if c.kind == "document"]
    assert (cap.entity, cap.signoff_role, cap.lock_on_signoff, cap.line_entity) == ("certificate", "instructor",
                                                                                   True, None)
    assert document.check(cap, spec) == []


def test_the_builder_says_what_is_missing(wired):
    from shared.engine.planner.b_document import stated_tax

    spec = _plan("A studio issues reports.", ["Reports are signed off before they go out as PDF"])
    [t] = spec.trace
    assert not [c for c in spec.capabilities if c.kind == "document"]
    assert "not by whom" in " ".join([t.reason or "", *t.not_built]), t
    assert stated_tax("prices include VAT at 17.5%") == (17.5, "VAT")
    assert stated_tax("a 10% service charge") == (10.0, "Service charge")
    assert stated_tax("20% off every invoice") is None
    spec = _plan("An agency pays contractors.", ["Expense claims signed off by the manager"])
    assert not [c for c in spec.capabilities if c.kind == "document"]  # an approval, not a document
