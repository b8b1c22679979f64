"""Issue 22: idea validation that holds on ideas it has never seen.

Restatements are found by the product features they cover (the catalogue's `core_features`, matched with
stems, roots and the synonym table), a differentiator is a stated difference of one of four kinds quoted from
the idea, and the held-out set (tests/fixtures/heldout_validation.json, never tuned on) meets its targets
through the same function `make bench` reports (bench/validation_heldout.py)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from bench import validation_heldout
from shared.engine import EngineConfig, StageInput, no_artifacts, restatement, run_stage
from shared.engine.stages.idea_validation import mentioned_products

from .corpus import load_ideas

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HELDOUT = validation_heldout.heldout_ideas()
KINDS = {"audience", "constraint", "price", "contrast"}


def _run(idea: dict):
    return run_stage("idea_validation", StageInput("p-h", "t1", idea, {}, no_artifacts), EngineConfig())


def _report(idea: dict) -> dict:
    return json.loads(_run(idea).artifacts["validation-report.json"])


_HELDOUT_REPORTS: dict[str, dict] = {}


def _heldout_report(idea: dict) -> dict:
    """Each held-out idea is validated once per test session (two tests read its report)."""
    if idea["id"] not in _HELDOUT_REPORTS:
        _HELDOUT_REPORTS[idea["id"]] = _report(idea)
    return _HELDOUT_REPORTS[idea["id"]]


@cache
def _all_reports() -> tuple[tuple[dict, dict], ...]:
    corpora = (load_ideas() + json.loads((FIXTURES / "validation_corpus.json").read_text())["ideas"]
               + json.loads((FIXTURES / "heldout_ideas.json").read_text())["ideas"])
    return tuple([(idea, _report(idea)) for idea in corpora if idea.get("expect") != "reject"]
                 + [(idea, _heldout_report(idea)) for idea in HELDOUT])


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w$%€£'-]+", " ", text.lower()).split())


def _idea_text(idea: dict) -> str:
    return _norm(" . ".join([str(idea.get("title") or ""), str(idea.get("description") or ""),
                             str(idea.get("target_audience") or ""), *(idea.get("key_features") or []),
                             *(str(v) for v in (idea.get("constraints") or {}).values())]))


# ------------------------------------------------------------------ the held-out set and its figures


def test_the_heldout_set_is_big_varied_and_names_no_product():
    restated = [i for i in HELDOUT if i["kind"] == "restatement"]
    good = [i for i in HELDOUT if i["kind"] == "good"]
    assert len(restated) >= 32 and len(good) >= 32
    assert len({i["product"] for i in restated}) >= 32
    from shared.engine import market

    assert len({market.product(i["product"])["category"] for i in restated}) >= 20, "across categories"
    for idea in HELDOUT:
        assert idea["expect"] == ("needs_work" if idea["kind"] == "restatement" else "go")
        assert idea["description"] and idea["target_audience"] and len(idea["key_features"]) >= 3
        assert mentioned_products(idea) == [], (idea["id"], "a held-out idea does not name a product")
    issue_probes = {"Wikipedia", "Uber", "Airbnb", "Slack", "Dropbox", "Calendly", "Trello", "Shopify"}
    assert not issue_probes & {i["product"] for i in restated}, "the issue's eight are the tuning probes"


def test_heldout_figures_over_every_round_stay_above_the_targets():
    """A regression guard, not a held-out claim: rounds 1-4 were tuned on after their first run (the file's
    `rounds`), so only round 5 is unseen; make bench reports the unseen and first-run figures apart."""
    out = validation_heldout.figures(HELDOUT, _heldout_report)
    c = out["counts"]
    assert c["restatements"] == sum(i["kind"] == "restatement" for i in HELDOUT)
    assert c["good"] == sum(i["kind"] == "good" for i in HELDOUT)
    assert out["heldout_restatements_paused"] == round(c["restatements_paused"] / c["restatements"], 3)
    assert out["heldout_restatements_paused"] >= 0.9, out["misses"]
    assert out["heldout_good_ideas_go"] >= 0.95, out["misses"]
    assert len(out["misses"]) == c["restatements"] - c["restatements_paused"] + c["good"] - c["good_go"]


def test_the_file_records_which_rounds_were_tuned_on_and_their_first_run():
    rounds = validation_heldout.rounds()
    assert {str(i.get("round", 1)) for i in HELDOUT} == set(rounds)
    assert any(not r["tuned_on"] for r in rounds.values())  # something stays unseen
    unseen = validation_heldout.unseen_ideas()
    assert unseen and all(not rounds[str(i.get("round", 1))]["tuned_on"] for i in unseen)
    first = validation_heldout.first_run_totals()
    assert first["restatements_paused"].endswith(f"/{sum(i['kind'] == 'restatement' for i in HELDOUT)}")


def test_figures_count_a_pause_only_when_it_names_the_right_product():
    uber = {"id": "x", "kind": "restatement", "title": "GoRide", "description": (
        "Riders request a car from their phone, a nearby driver accepts, the rider tracks the car on a map and "
        "pays in the app.")}
    good = next(i for i in HELDOUT if i["kind"] == "good")
    assert validation_heldout.figures([{**uber, "product": "Uber"}])["heldout_restatements_paused"] == 1.0
    wrong = validation_heldout.figures([{**uber, "product": "Lyft"}, good])
    assert wrong["heldout_restatements_paused"] == 0.0 and wrong["heldout_good_ideas_go"] == 1.0
    assert wrong["misses"] == [{"id": "x", "verdict": "needs_work", "clone_of": ["Uber"], "expected": "Lyft"}]


# ------------------------------------------------------------------ differentiators are stated differences


def test_every_differentiator_is_one_of_four_kinds_and_quotes_the_idea():
    seen = set()
    for idea, report in _all_reports():
        text = _idea_text(idea)
        for d in report["differentiators"]:
            assert d["kind"] in KINDS, (idea.get("id"), d)
            assert _norm(d["quote"]) in text, (idea.get("id"), d["quote"])
            seen.add(d["kind"])
        if report["clone_of"]:
            assert report["verdict"] == "needs_work" and not report["differentiators"], idea.get("id")
            assert report["matched_features"], "a restatement says what matches"
    assert seen == KINDS, f"every kind is exercised by the corpora: {seen}"


UBER = {"title": "GoRide", "description": "Riders request a car from their phone, a nearby driver accepts, the "
                                          "rider tracks the car on a map and pays in the app.",
        "target_audience": "Riders in cities",
        "key_features": ["Request a ride", "Track the driver on a map", "Pay in the app"]}


def test_a_restatement_pauses_naming_the_product_what_matches_and_how_to_set_it_apart():
    r = _run(UBER)
    report = json.loads(r.artifacts["validation-report.json"])
    assert r.outcome == "ok" and r.summary["needs_input"] is True and r.summary["clone_of"] == ["Uber"]
    assert report["verdict"] == "needs_work" and report["differentiators"] == []
    assert len(report["matched_features"]) >= 3
    advice = next(f for f in report["feedback"] if "restatement of Uber" in f)
    assert "core features" in advice and report["matched_features"][0] in advice
    for kind in ("audience", "constraint or workflow", "price or business model", "contrast"):
        assert kind in advice
    md = r.artifacts["validation-report.md"].decode()
    assert "**Restates:** Uber" in md


def test_leftover_words_never_set_a_restatement_apart():
    padded = dict(UBER, description=UBER["description"] + " It has a modern look, lovely colours, quick pages "
                  "and a friendly mascot called Zippy.")
    report = _report(padded)
    assert report["clone_of"] == ["Uber"] and report["verdict"] == "needs_work", report["differentiators"]


@pytest.mark.parametrize("change,kind,quote", [
    ({"target_audience": "Wheelchair users and care homes",
      "description": UBER["description"] + " Every car is a wheelchair-accessible van with a ramp."},
     "audience", "Wheelchair users"),
    ({"description": UBER["description"] + " Drivers pay a flat $30 monthly fee instead of a commission."},
     "price", "instead of a commission"),
    ({"key_features": UBER["key_features"] + ["Book by SMS from a basic phone with no internet"]},
     "constraint", "Book by SMS from a basic phone with no internet"),
    ({"description": UBER["description"] + " Unlike other ride apps, riders never see surge prices."},
     "contrast", "Unlike other ride apps"),
])
def test_a_stated_difference_lets_a_restatement_go_and_is_quoted_with_its_kind(change, kind, quote):
    report = _report({**UBER, **change})
    assert report["verdict"] == "go" and report["clone_of"] == [], report
    assert "Uber" in report["competitors"]
    assert any(d["kind"] == kind and quote.lower() in d["quote"].lower() for d in report["differentiators"]), \
        report["differentiators"]
    reason = next(r for r in report["scores"]["market_signal"]["reasons"] if r.startswith("Restates Uber"))
    assert f'{kind} "' in reason


def test_what_the_product_already_does_is_not_a_difference():
    # the same model as the product's (it takes a commission), an audience it serves, a feature it has
    same = dict(UBER, description=UBER["description"] + " We take a 20% commission on every ride.",
                target_audience="Riders and drivers", key_features=UBER["key_features"] + ["Rate the driver"])
    report = _report(same)
    assert report["clone_of"] == ["Uber"], report["differentiators"]


# ------------------------------------------------------------------ matching by meaning


def test_synonyms_and_roots_match_words_of_the_same_meaning():
    assert restatement.keys("car") & restatement.keys("ride") & restatement.keys("driver")
    assert restatement.keys("article") & restatement.keys("encyclopedia")
    assert not restatement.keys("car") & restatement.keys("encyclopedia")
    assert restatement.root("suggestion") == restatement.root("suggest")
    assert restatement.root("expiry") == restatement.root("expire")
    assert restatement.root("delivery") == restatement.root("deliver")
    assert restatement.root("station") != restatement.root("stat")


def test_four_letter_words_meet_their_inflections():
    from shared.engine import market

    assert restatement.root(market.term("voted")) == restatement.root(market.term("vote"))
    assert restatement.root(market.term("coding")) == restatement.root(market.term("code"))


def test_general_synonym_groups_hold_across_the_catalogue():
    assert restatement.keys("neighbour") & restatement.keys("local")
    assert restatement.keys("media") & restatement.keys("photo") and restatement.keys("media") & restatement.keys("audio")
    assert not restatement.keys("photo") & restatement.keys("audio"), "a bridge word does not merge its groups"


def test_contrasts_in_the_problem_as_it_is_today_are_not_differences():
    # "without a ride home" describes the problem before the product is introduced, not something GoRide drops
    setup = dict(UBER, description="Late at night people wait for ages without a ride home. GoRide: "
                 + UBER["description"])
    report = _report(setup)
    assert report["clone_of"] == ["Uber"] and report["differentiators"] == [], report["differentiators"]
    # an explicit comparison in the opening still counts
    unlike = dict(UBER, description="Unlike other ride apps, riders never see surge prices. GoRide: "
                  + UBER["description"])
    assert _report(unlike)["verdict"] == "go"


def test_a_workflow_another_product_of_the_category_has_is_no_difference():
    # parcels by courier: a ride-hailing workflow (another product of the category has it), not one Uber lacks
    report = _report(dict(UBER, key_features=UBER["key_features"] + ["Send parcels across town with a courier"]))
    assert report["clone_of"] == ["Uber"], report["differentiators"]


def test_near_identical_products_name_the_best_known_of_the_category():
    vault = {"title": "PassVault", "description": "PassVault keeps passwords in an encrypted vault, fills them in "
             "and generates new ones.", "target_audience": "Individuals",
             "key_features": ["Encrypted password vault", "Autofill", "Password generator"]}
    assert _report(vault)["clone_of"] == ["1Password"]
    from shared.engine import market

    assert restatement.prominence("1Password") == 0 and market.product("Bitwarden")["category"] == "password-management"


def test_a_short_idea_covers_a_long_feature_list_by_its_defining_features():
    # Slack lists seven features, most defining first; an idea naming three of the first four covers 3/4 of them
    idea = {"description": "Teams talk in channels by project, send direct messages and reply in threads."}
    cov = restatement.coverage(restatement.terms(restatement.does_text(idea)), "Slack")
    assert cov.total == 7 and len(cov.covered) == 3 and cov.defining == 3
    assert cov.share == 3 / restatement.DEFINING
    # with half of the idea's words outside Slack's entry, three defining features make it close; the same three
    # features at the end of the list count only as a share of all seven
    first = restatement.Coverage("Slack", cov.covered, 7, cov.words, 0.4, defining=3)
    late = restatement.Coverage("Slack", cov.covered, 7, cov.words, 0.4, defining=0)
    assert first.close and late.share == 3 / 7 and not late.close


def test_owners_of_a_business_name_no_group_the_product_misses():
    design = {"title": "Designly", "description": "Business owners need flyers. Designly gives non-designers templates for social posts and "
              "posters, a drag-and-drop editor with stock photos and a brand kit.",
              "target_audience": "Small business owners and marketers",
              "key_features": ["Templates for posts and posters", "Drag-and-drop editor", "Brand kit"]}
    assert not [d for d in restatement.differentiators(design, "Canva") if d["kind"] == "audience"]
    dental = dict(design, target_audience="Dental practice owners",
                  description=design["description"] + " Dental practices brand their waiting-room posters.")
    assert [d["quote"] for d in restatement.differentiators(dental, "Canva") if d["kind"] == "audience"]


def test_a_model_the_products_own_features_name_is_no_price_difference():
    # Buy Me a Coffee takes a commission, and its features name one-off support payments and memberships
    tips = {"title": "TipCup", "description": "TipCup gives each creator a page where supporters send a one-off "
            "tip or join a monthly membership.", "key_features": ["One-off support with a message"]}
    assert restatement.differentiators(tips, "Buy Me a Coffee") == []
    flat = dict(tips, key_features=["A flat $5 a month for creators instead of a commission"])
    assert {d["kind"] for d in restatement.differentiators(flat, "Buy Me a Coffee")} == {"price"}


def test_anonymous_and_anonymised_are_one_meaning():
    ads = {"title": "LocalBoard", "description": "LocalBoard lists free classified ads: things for sale, rooms "
           "to rent and jobs.", "key_features": ["Anonymous email replies"]}
    assert restatement.keys(market_term("anonymous")) & restatement.keys(market_term("anonymised"))
    assert restatement.differentiators(ads, "Craigslist") == []


def market_term(word: str) -> str:
    from shared.engine import market

    return market.term(word)


# ------------------------------------------------------------------ rules added after round 5's misses
# (round 5 is tuned on since; these pin the rules on its ideas, and round 6 measured them unseen)


def _idea(idea_id: str) -> dict:
    return next(i for i in HELDOUT if i["id"] == idea_id)


def test_a_product_the_words_point_at_far_more_than_any_other_is_close_when_half_its_features_are_covered():
    hits = [{"name": "A", "score": 30.0}, {"name": "B", "score": 19.9}]
    assert restatement.dominant_product(hits) == "A"
    assert restatement.dominant_product([{"name": "A", "score": 30.0}, {"name": "B", "score": 20.1}]) is None
    cov = restatement.Coverage("A", ["f1", "f2"], 4, [], explained=0.2)
    assert not cov.close  # half the features, little of the idea explained: not close on coverage alone
    cov.dominant = True
    assert cov.close
    # a long e-reader pitch (fonts, dictionary, highlights) explains little of itself by the entry, yet names it
    report = _report(_idea("h5-ebook-reader"))
    assert report["needs_input"] and report["clone_of"] == ["Kindle"]


def test_a_feature_the_entry_merely_does_not_list_is_no_difference_on_its_own():
    report = _report(_idea("h5-fast-inbox"))  # "Snooze and send later": an email client's ordinary features
    assert report["needs_input"] and report["clone_of"] == ["Superhuman"]
    assert report["differentiators"] == []
    assert any("are not a difference on their own" in r for r in _reasons(report))
    # beside a difference of another kind it still counts, and is quoted
    idea = {**_idea("h5-fast-inbox"), "target_audience": "Court interpreters",
            "description": _idea("h5-fast-inbox")["description"] + " Built for court interpreters."}
    report = _report(idea)
    assert report["verdict"] == "go" and {d["kind"] for d in report["differentiators"]} >= {"audience"}


def test_a_constraint_another_product_of_the_category_has_is_no_difference():
    report = _report(_idea("h5-doctor-video"))  # "a licensed doctor": telehealth peers see licensed clinicians
    assert report["needs_input"] and report["clone_of"] == ["Teladoc Health"]


def _reasons(report: dict) -> list[str]:
    found = []

    def walk(x):
        if isinstance(x, str):
            found.append(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(report["scores"])
    return found
