"""Stage 1 against the sourced catalogue: well-formed data, a fresh index, BM25 matches with evidence,
restatements named, reasons true of the text (flip pairs), and the validation corpus."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shared.engine import EngineConfig, StageInput, catalogues, market, no_artifacts, run_stage
from shared.engine.data import build_index
from shared.engine.stages.idea_validation import build_report

from .corpus import idea_by_id, load_ideas
from .fake_llm import FakeLLM

CORPUS = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "validation_corpus.json").read_text())["ideas"]
CATALOGUE = catalogues.market_catalogue()
PRODUCTS = [(c, p) for c in CATALOGUE["categories"] for p in c["products"]]


def _validate(idea: dict, config: EngineConfig | None = None):
    return run_stage("idea_validation", StageInput("p-val", "t1", idea, {}, no_artifacts), config or EngineConfig())


def _report(result) -> dict:
    return json.loads(result.artifacts["validation-report.json"])


def _reasons(report: dict) -> list[str]:
    return [r for dim in ("clarity", "specificity", "market_signal") for r in report["scores"][dim]["reasons"]]


# ------------------------------------------------------------------ the catalogue


def test_catalogue_is_large_sourced_and_well_formed():
    assert len(CATALOGUE["categories"]) >= 60
    assert len(PRODUCTS) >= 400
    pricing = set(CATALOGUE["pricing_models"])
    ids = [c["id"] for c in CATALOGUE["categories"]]
    assert len(ids) == len(set(ids))
    names = [p["name"].lower() for _, p in PRODUCTS]
    assert len(names) == len(set(names)), "product names must be unique"
    aliases = [a.lower() for _, p in PRODUCTS for a in (p.get("aliases") or [p["name"]])]
    assert len(aliases) == len(set(aliases)), "an alias may point at one product only"
    for cat, p in PRODUCTS:
        assert set(p) <= {"name", "url", "description", "pricing", "aliases", "core_features", "users",
                          "pricing_model", "sources"}, p
        # described by what it does (issue 22): 5-8 short feature phrases, its users, its pricing in words,
        # and the product's own pages as sources
        assert 5 <= len(p["core_features"]) <= 8, p["name"]
        assert all(f.strip() and len(f) <= 90 and "\n" not in f for f in p["core_features"]), p["name"]
        assert len({f.lower() for f in p["core_features"]}) == len(p["core_features"]), p["name"]
        assert p["users"] and all(u.strip() for u in p["users"]), p["name"]
        assert p["pricing_model"].strip(), p["name"]
        assert p["sources"] and all(urlparse(x).scheme == "https" for x in p["sources"]), p["name"]
        assert urlparse(p["sources"][0]).netloc == urlparse(p["url"]).netloc, p["name"]
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cat["id"]) and cat["name"]
        u = urlparse(p["url"])
        assert u.scheme == "https" and "." in u.netloc and " " not in p["url"], p
        assert p["pricing"] in pricing, p
        d = p["description"]
        assert 20 <= len(d) <= 200 and "\n" not in d and d.endswith("."), p
        assert len(cat["products"]) >= 5, cat["id"]


def test_committed_index_is_fresh():
    assert build_index.main(["--check"]) == 0, "run: python -m shared.engine.data.build_index"
    assert market.loaded().stale is False
    ix = market.loaded().index
    assert ix["documents"] == len(PRODUCTS) and len(ix["docs"]) == len(PRODUCTS)


def test_a_changed_catalogue_makes_the_index_stale():
    changed = json.loads(json.dumps(CATALOGUE))
    changed["categories"][0]["products"][0]["description"] = "Something else entirely."
    fresh = market.build_index(CATALOGUE, market.catalogue_sha256())
    other = market.build_index(changed, "0" * 64)
    assert fresh["docs"][0]["tf"] != other["docs"][0]["tf"]
    assert market.render_index(fresh) == (catalogues.DATA_DIR / market.INDEX_FILE).read_text(encoding="utf-8")


# ------------------------------------------------------------------ matching


def test_matches_carry_score_and_the_words_that_matched():
    text = "Restaurants show diners which dishes contain allergens such as gluten on their menus."
    hits = market.search(text, limit=5)
    assert hits and hits[0]["category"] == "menu-allergen"
    assert all(h["category"] not in ("food-delivery", "restaurant-reservations") for h in hits[:3])
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    lowered = text.lower()
    for h in hits:
        assert h["matched_words"] and all(w in lowered for w in h["matched_words"])


@pytest.mark.parametrize("idea_id,category", [
    ("invoice-flow", "invoicing-accounting"), ("pawwalk", "pet-services"), ("landlord-lite", "property-management"),
    ("fleet-care", "fleet-logistics"), ("minutes-ai", "meeting-transcription"), ("leafy", "plant-care-garden"),
    ("gear-share", "peer-rentals"), ("shop-shield", "fraud-security"), ("class-tasks", "school-lms"),
    ("shift-hero", "volunteer-nonprofit"),
])
def test_realistic_ideas_find_their_category(idea_id, category):
    report = _report(_validate(idea_by_id(idea_id)))
    assert category in [c["id"] for c in report["categories"]], report["categories"]
    assert report["similar_products"], "a realistic idea gets similar products"
    for p in report["similar_products"]:
        assert p["source"] == "catalogue" and p["source_url"].startswith("https://")
        assert p["score"] is not None and p["matched_words"]


def test_similar_products_are_fast_with_the_full_catalogue():
    import time

    idea = idea_by_id("clinic-slot")
    _validate(idea)  # warm: the index is built once per process
    times = []
    for _ in range(5):
        t = time.perf_counter()
        _validate(idea)
        times.append(time.perf_counter() - t)
    assert sorted(times)[2] < 0.2


# ------------------------------------------------------------------ restatements


def test_the_encyclopedia_restatement_names_wikipedia():
    idea = {"title": "OpenPedia", "description": "A free online encyclopedia where anyone can create and edit articles."}
    r = _validate(idea)
    report = _report(r)
    assert r.outcome == "ok" and report["verdict"] == "needs_work" and report["needs_input"] is True
    assert report["clone_of"] == ["Wikipedia"]
    assert any("Wikipedia" in f and "differently" in f for f in report["feedback"])
    assert report["similar_products"][0]["name"] == "Wikipedia"


def test_a_restatement_with_a_differentiator_goes_with_the_competitor_named():
    base = idea_by_id("gym-class")  # "ClassPass Lite for Studios": names ClassPass, says what is different
    report = _report(_validate(base))
    assert report["verdict"] == "go" and report["clone_of"] == []
    assert "ClassPass" in report["competitors"]
    assert any("ClassPass" in r and "sets itself apart" in r for r in _reasons(report)) or \
        report["similar_products"][0]["name"] in report["competitors"]


@pytest.mark.parametrize("idea", CORPUS, ids=[i["id"] for i in CORPUS])
def test_validation_corpus(idea):
    r = _validate(idea)
    report = _report(r)
    assert r.outcome == "ok" and report["verdict"] == idea["expect"], (report["verdict"], report["clone_of"])
    if idea["kind"] == "restatement":
        assert report["clone_of"] == [idea["expect_product"]]
        assert any(idea["expect_product"] in f for f in report["feedback"])
        assert r.summary["needs_input"] is True
    elif idea["kind"] == "vague":
        assert r.summary["needs_input"] is True and report["feedback"]
    else:
        assert idea["expect_competitor"] in report["competitors"] and not report["clone_of"]
        assert r.summary["needs_input"] is False


def test_validation_corpus_is_big_enough():
    kinds = [i["kind"] for i in CORPUS]
    assert kinds.count("restatement") >= 20 and kinds.count("vague") >= 10
    assert len({i["expect_product"] for i in CORPUS if i["kind"] == "restatement"}) >= 20


def test_good_ideas_still_go():
    goes = [i for i in load_ideas() if i["expect"] == "go"]
    assert len(goes) >= 20
    for idea in goes:
        assert _validate(idea).summary["verdict"] == "go", idea["id"]


# ------------------------------------------------------------------ reasons true of the text


def _evidence_ok(reason: str, idea_text: str) -> bool:
    cited = re.findall(r'"([^"]+)"', reason)
    if cited:
        return all(c.lower() in idea_text.lower() for c in cited)
    return bool(re.search(r"\d", reason)) or bool(re.match(r"(No |Does not |Not )", reason))


@pytest.mark.parametrize("idea", [i for i in load_ideas() if i["expect"] != "reject"] + CORPUS,
                         ids=[i["id"] for i in load_ideas() if i["expect"] != "reject"] + [i["id"] for i in CORPUS])
def test_every_reason_cites_its_words_or_says_what_is_absent(idea):
    text = " . ".join([str(idea.get("title") or ""), str(idea.get("description") or ""),
                       str(idea.get("target_audience") or ""), " . ".join(idea.get("key_features") or []),
                       " ".join(sorted((idea.get("constraints") or {}).keys()))])
    for reason in _reasons(_report(_validate(idea))):
        assert _evidence_ok(reason, text), reason


BASE = {
    "title": "ChairTime",
    "description": "Independent barbers book appointments on paper and lose clients to no-shows. ChairTime gives each "
                   "barber an online booking page and sends text reminders the day before.",
    "target_audience": "Independent barbers with one or two chairs",
    "key_features": ["Online booking page per barber", "Text reminders the day before",
                     "Client list with visit history", "Weekly schedule view"],
}


def _reason_about(idea: dict, needle: str) -> list[str]:
    return [r for r in _reasons(_report(_validate(idea))) if needle in r]


def test_flip_money_flow():
    paid = dict(BASE, description=BASE["description"] + " Barbers pay a monthly subscription of $19.")
    assert _reason_about(BASE, "Does not say who pays")
    assert not _reason_about(BASE, "Mentions how money flows")
    flows = _reason_about(paid, "Mentions how money flows")
    assert flows and '"pay"' in flows[0] and '"subscription"' in flows[0]
    assert not _reason_about(paid, "Does not say who pays")


def test_flip_money_flow_ignores_a_budget_constraint():
    with_budget = dict(BASE, constraints={"budget": {"compute_s": 100}})
    assert _reason_about(with_budget, "Does not say who pays")
    assert not _reason_about(with_budget, "Mentions how money flows")


def test_flip_stated_problem():
    no_problem = dict(BASE, description="ChairTime gives each barber an online booking page and sends text reminders "
                                        "the day before an appointment.")
    stated = _reason_about(BASE, "States a problem")
    assert stated and '"on paper"' in stated[0] and '"lose"' in stated[0]
    assert not _reason_about(BASE, "Does not say what problem")
    assert _reason_about(no_problem, "Does not say what problem")
    assert not _reason_about(no_problem, "States a problem")


def test_flip_named_audience():
    no_audience = dict(BASE, target_audience="", description=BASE["description"].replace("Independent barbers", "They"))
    named = _reason_about(BASE, "Names a target audience")
    assert named and "Independent barbers with one or two chairs" in named[0]
    assert _reason_about(no_audience, "No target audience given")
    assert not _reason_about(no_audience, "Names a target audience")


def test_problem_cues_match_words_not_substrings():
    # "template" contains "late", "hardware" contains "hard": neither states a problem
    idea = dict(BASE, description="ChairTime ships hardware templates and a booking page for each barber.")
    assert _reason_about(idea, "Does not say what problem")


# ------------------------------------------------------------------ the LLM engine's own suggestions


def test_model_suggested_products_are_kept_apart(state_dir):
    idea = idea_by_id("invoice-flow")
    answer = build_report(idea).model_dump(mode="json")
    answer["model_suggested_products"] = [{"name": "InvoiceMagic 3000", "source_url": "https://invoicemagic.example",
                                           "category": "invoicing-accounting"}]
    with FakeLLM([{"content": answer}]) as fake:
        config = EngineConfig(engine_by_stage={"idea_validation": "llm"}, llm_base_url=fake.base_url,
                              llm_api_key="k", llm_timeout_s=2.0, state_dir=state_dir)
        report = _report(_validate(idea, config))
    assert [p["name"] for p in report["model_suggested_products"]] == ["InvoiceMagic 3000"]
    assert report["model_suggested_products"][0]["source"] == "model"
    assert "InvoiceMagic 3000" not in [p["name"] for p in report["similar_products"]]
    assert all(p["source"] == "catalogue" and market.product(p["name"]) for p in report["similar_products"])
