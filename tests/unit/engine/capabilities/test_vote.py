"""Capability `vote`: name checks, routes, criteria, and the generated app's own vote tests in three domains — a
product feedback board (up/down votes, closed when done or declined), a choir picking songs (up-votes only, three
votes per member) and a neighbourhood association ranking proposals (only residents vote, never on their own)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared.engine.appspec.model import AppSpec, FeatureReading, RuleReading, spec_problems
from shared.engine.capabilities import vote

from . import _ops_specs as S
from ._ops_specs import build, entity, f, role


def feedback_board():
    """Product feedback board: customers post and vote feature requests up or down; done or declined ones close."""
    req = entity("feature_request", "feature_requests", [
        f("title", required=True, max=140), f("details", "long_text"),
        f("status", "enum", values=["open", "planned", "done", "declined"], default="open")])
    roles = [role("customer", ["feature_request"], ["feature_request"], scope="own"),
             role("guest", ["feature_request"]), role("accountant", [])]
    caps = [{"kind": "vote", "id": "request_votes", "label": "Customers vote feature requests up or down",
             "entity": "feature_request", "allow_down": True, "status_field": "status",
             "closed_values": ["done", "declined"], "voter_roles": ["owner", "customer"]}]
    return build("Feedback Board", "A software company collects and ranks feature requests from customers.", [req],
                 roles, caps, default_role="customer")


def choir_songs():
    """Choir: the director adds songs; each member has 3 up-votes to pick the next concert's songs."""
    song = entity("song", "songs", [f("title", required=True), f("composer", "text"),
                                    f("voicing", "enum", values=["satb", "ssa", "ttbb"])])
    roles = [role("director", ["song"], ["song"]), role("member", ["song"])]
    caps = [{"kind": "vote", "id": "song_picks", "label": "Each member has 3 votes to pick songs",
             "entity": "song", "allow_down": False, "max_votes_per_user": 3}]
    return build("Choir Picks", "A community choir picks the songs for its next concert.", [song], roles, caps,
                 default_role="member")


def neighbourhood_proposals():
    """Neighbourhood association: residents propose and rank proposals; nobody votes on their own."""
    proposal = entity("proposal", "proposals", [
        f("title", required=True), f("summary", "long_text"), f("cost", "money", min=0),
        f("street", "text")])
    roles = [role("resident", ["proposal"], ["proposal"], scope="own"), role("visitor", ["proposal"])]
    caps = [{"kind": "vote", "id": "proposal_rank", "label": "Residents rank proposals, no votes on their own",
             "entity": "proposal", "voter_roles": ["resident"], "allow_self_votes": False}]
    return build("Our Street", "A neighbourhood association ranks residents' proposals.", [proposal], roles, caps,
                 default_role="resident")


IDEAS = [feedback_board, choir_songs, neighbourhood_proposals]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_generated_vote_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 11, run.output
    assert set(mine.values()) == {"passed"}, mine
    for must in ("test_a_vote_counts_once_and_a_second_vote_replaces_it", "test_withdrawing_removes_only_my_vote",
                 "test_the_ranking_orders_by_score_then_earliest",
                 "test_bad_values_are_refused_with_a_code_and_a_sentence", "test_a_missing_record_is_404",
                 "test_roles_without_access_are_refused", "test_the_rules_hold_on_a_direct_write",
                 "test_concurrent_votes_by_one_user_count_once", "test_page_shows_the_ranking_and_votes_with_the_form"):
        assert mine.get(must) == "passed", (must, mine)
    if cap.status_field:
        assert mine.get("test_a_closed_record_takes_no_votes") == "passed", mine
    if cap.max_votes_per_user:
        assert mine.get("test_concurrent_votes_never_go_over_the_budget") == "passed", mine
        assert mine.get("test_each_voter_has_only_its_budget_of_votes") == "passed", mine
    if not cap.allow_self_votes:
        assert mine.get("test_nobody_votes_on_their_own_record") == "passed", mine
    assert all(v == "passed" for v in run.results.values()), run.output


def test_each_domain_runs_the_tests_of_what_it_binds():
    tests = {}
    for idea in IDEAS:
        _spec, files = S.compile_spec(idea())
        tests[idea.__name__] = files[f"tests/test_cap_{idea()['capabilities'][0]['id']}.py"].decode()
    assert "def test_a_closed_record_takes_no_votes" in tests["feedback_board"]
    assert "def test_a_closed_record_takes_no_votes" not in tests["choir_songs"]
    assert "def test_concurrent_votes_never_go_over_the_budget" in tests["choir_songs"]
    assert "def test_concurrent_votes_never_go_over_the_budget" not in tests["neighbourhood_proposals"]
    assert "def test_nobody_votes_on_their_own_record" in tests["neighbourhood_proposals"]
    assert "def test_nobody_votes_on_their_own_record" not in tests["feedback_board"]


CHILD = r"""
import json, tempfile
from app import create_app
app = create_app({"DATABASE_URL": "sqlite:///" + tempfile.mkdtemp() + "/x.db", "TESTING": True, "SECRET_KEY": "t"})
print(json.dumps(sorted({(m, str(r.rule)) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"}})))
"""


def test_declared_routes_are_the_served_routes(tmp_path):
    spec, files = S.compile_spec(feedback_board())
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    served = {tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])}
    [cap] = json.loads(files["app/spec.json"])["capabilities"]
    declared = {(r["method"], r["path"]) for r in cap["routes"]}
    assert declared == {x for x in served if x[1].startswith(("/api/request_votes/", "/request_votes/"))}
    roles = {(r["method"], r["path"]): r["roles"] for r in cap["routes"]}
    assert roles[("PUT", "/api/request_votes/records/<int:record_id>/vote")] == ["owner", "customer"]
    assert roles[("GET", "/api/request_votes/ranking")] == ["owner", "customer", "guest"]  # not the accountant


def test_compiling_twice_gives_the_same_bytes():
    a, b = S.compile_spec(choir_songs())[1], S.compile_spec(choir_songs())[1]
    mine = [n for n in a if "song_picks" in n]
    assert len(mine) == 3
    assert all(a[n] == b[n] for n in mine)


def test_voters_rules_and_test_roles():
    spec = AppSpec.model_validate(choir_songs())
    cap = spec.capabilities[0]
    assert vote.voters(cap, spec) == ["owner", "director", "member"]  # every reader by default
    assert vote.describe_rule(cap, spec) == "one up-vote per user per song; at most 3 votes per user"
    spec = AppSpec.model_validate(feedback_board())
    cap = spec.capabilities[0]
    assert vote.describe_rule(cap, spec) == ("one vote up or down per user per feature request; no votes on feature "
                                             "requests with status done or declined")
    assert vote.open_value(cap, spec) == "open"
    assert vote.roles_for_tests(cap, spec) == {"voter": "customer", "maker": "owner", "outsider": "guest",
                                               "stranger": "accountant", "self_voter": "owner"}
    spec = AppSpec.model_validate(neighbourhood_proposals())
    who = vote.roles_for_tests(spec.capabilities[0], spec)
    assert (who["voter"], who["outsider"], who["self_voter"]) == ("resident", "visitor", "resident")


@pytest.mark.parametrize("idea, change, words", [
    (feedback_board, {"entity": "wish"}, ["voted entity 'wish' is not an entity"]),
    (feedback_board, {"status_field": "title"}, ["feature_request.title is a text field but must be enum"]),
    (feedback_board, {"status_field": "stage"}, ["'stage' is not a field of 'feature_request'"]),
    (feedback_board, {"closed_values": ["shipped"]}, ["['shipped'] are not values of feature_request.status"]),
    (feedback_board, {"closed_values": []}, ["needs closed_values"]),
    (feedback_board, {"status_field": None}, ["closed_values need status_field"]),
    (feedback_board, {"closed_values": ["open", "planned", "done", "declined"]}, ["every value", "is closed"]),
    (feedback_board, {"closed_values": ["open"]}, ["has default 'open', a closed value"]),
    (feedback_board, {"voter_roles": ["boss"]}, ["voter role 'boss' is not a role", "known roles"]),
    (feedback_board, {"voter_roles": ["accountant"]}, ["voter role 'accountant' may not read"]),
    (feedback_board, {"voter_roles": ["customer", "customer"]}, ["list a role twice"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(vote.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(vote)" in p for p in spec_problems(spec)), spec_problems(spec)


def test_check_accepts_the_ideas_and_refuses_a_second_vote_on_the_same_records():
    for idea in IDEAS:
        spec = AppSpec.model_validate(idea())
        assert spec_problems(spec) == [], idea.__name__
    d = choir_songs()
    twin = dict(d["capabilities"][0], id="song_again", label="Vote songs again")
    d["capabilities"].append(twin)
    d["trace"].append({"feature": twin["label"], "status": "planned", "capabilities": ["song_again"]})
    d["features"].append(twin["label"])
    spec = AppSpec.model_validate(d)
    assert any("already has votes from capability 'song_picks'" in p for p in vote.check(spec.capabilities[1], spec))
    with pytest.raises(ValueError, match="max_votes_per_user"):
        AppSpec.model_validate(S.with_cap(choir_songs(), max_votes_per_user=0))


# ------------------------------------------------------------------------------------------------ criteria


def _realises(idea, **rule) -> bool:
    from shared.engine.criteria.kinds import REALISES

    spec = AppSpec.model_validate(idea())
    return REALISES["vote"](spec.capabilities[0], spec, RuleReading(**rule), None)


def test_a_rule_is_realised_only_with_its_own_number_and_nouns():
    assert _realises(choir_songs, category="limit", words="each member has 3 votes", number=3,
                     nouns=["member", "vote"])
    assert _realises(choir_songs, category="limit", words="at most 3 votes per member", number=3, nouns=["vote"])
    assert not _realises(choir_songs, category="limit", words="each member has 5 votes", number=5,
                         nouns=["member", "vote"])  # another number
    assert not _realises(choir_songs, category="limit", words="at most 3 songs per concert", number=3,
                         nouns=["song", "concert"])  # not votes
    assert not _realises(choir_songs, category="limit", words="3 votes per song", number=3,
                         nouns=["vote", "song"])  # a limit per record, not per voter
    assert not _realises(feedback_board, category="limit", words="each customer has 3 votes", number=3,
                         nouns=["customer", "vote"])  # no budget at all
    assert _realises(feedback_board, category="uniqueness", words="one vote per customer", number=1,
                     nouns=["vote", "customer"])
    assert _realises(neighbourhood_proposals, category="uniqueness", words="one vote per person per proposal",
                     nouns=["vote", "person", "proposal"])
    assert not _realises(neighbourhood_proposals, category="uniqueness", words="two votes per resident", number=2,
                         nouns=["vote", "resident"])
    assert not _realises(neighbourhood_proposals, category="uniqueness", words="one proposal per street", number=1,
                         nouns=["proposal", "street"])  # not about votes
    assert not _realises(choir_songs, category="time_window", words="3 days", number=3, unit="days")


def test_criteria_speak_the_founders_nouns_and_exercise_the_realised_rule():
    from shared.engine.criteria.kinds import DERIVE

    spec = AppSpec.model_validate(choir_songs())
    reading = FeatureReading(record="song", rules=[
        RuleReading(category="limit", words="each member has 3 votes", number=3, nouns=["member", "vote"])])
    crits = DERIVE["vote"](spec.capabilities[0], spec, reading, "Each member has 3 votes to pick songs")
    assert [c["template"] for c in crits] == ["vote.rank_by_votes", "vote.budget"]
    assert crits[1]["rules"] == [0] and crits[0]["rules"] == []
    assert "3 songs" in crits[1]["text"] and "a 4th is refused" in crits[1]["text"]
    spec = AppSpec.model_validate(feedback_board())
    crits = DERIVE["vote"](spec.capabilities[0], spec, None, "")
    assert [c["template"] for c in crits] == ["vote.rank_by_votes", "vote.closed"]
    assert crits[0]["text"].startswith("Feature requests are ranked by their up-votes minus their down-votes")
    spec = AppSpec.model_validate(neighbourhood_proposals())
    crits = DERIVE["vote"](spec.capabilities[0], spec, None, "")
    assert [c["template"] for c in crits] == ["vote.rank_by_votes", "vote.no_self_votes"]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda fn: fn.__name__)
def test_criteria_compile_to_scenarios_over_the_declared_routes(idea):
    from shared.engine.appspec.model import Criterion
    from shared.engine.compiler import spec_with_routes
    from shared.engine.criteria import compile_criterion
    from shared.engine.criteria.kinds import DERIVE

    spec = spec_with_routes(AppSpec.model_validate(idea()))
    cap = spec.capabilities[0]
    declared = {(r.method, r.path.replace("<int:record_id>", "*")) for r in cap.routes}
    for i, c in enumerate(DERIVE["vote"](cap, spec, None, cap.label)):
        crit = Criterion(id=f"c{i}", text=c["text"], template=c["template"], params=c["params"])
        scenario = compile_criterion(spec, crit, cap.label)
        mine = [s for s in scenario["steps"] if s["path"].startswith(f"/api/{cap.id}/")]
        assert mine, scenario
        for s in mine:
            path = "/".join("*" if "${" in part or part.isdigit() else part for part in s["path"].split("?")[0].split("/"))
            assert (s["method"], path) in declared, s


def test_one_vote_per_person_read_as_a_limit_is_the_one_vote_per_record():
    assert _realises(neighbourhood_proposals, category="limit", words="one vote per resident", number=1,
                     nouns=["vote", "resident"])
    assert not _realises(choir_songs, category="limit", words="one vote per member", number=1,
                         nouns=["vote", "member"])  # each member has 3 votes here, not one
    assert not _realises(neighbourhood_proposals, category="limit", words="one vote per resident a week", number=1,
                         nouns=["vote", "resident"])  # no period here
    assert _realises(neighbourhood_proposals, category="block", words="nobody can vote on their own proposal",
                     nouns=["proposal"])
    assert not _realises(feedback_board, category="block", words="nobody can vote on their own request",
                         nouns=["feature request"])  # self-votes are allowed there
    assert _realises(feedback_board, category="block", words="no votes on done requests", nouns=["request"])
    assert not _realises(feedback_board, category="block", words="no votes on planned requests", nouns=["request"])


# ------------------------------------------------------------------------------------------------ planner builder


def _build(description: str, feature: str) -> dict:
    from shared.engine.planner.b_vote import b_vote
    from shared.engine.planner.capmap import feature_ctx
    from shared.engine.planner.draft import build as draft

    d = draft({"title": "Idea", "description": description, "key_features": [feature]})
    return b_vote(feature_ctx(d, 0, feature, None))


def test_the_builder_reads_the_vote_from_the_words():
    board = _build("Customers post feature requests.",
                   "Customers vote feature requests up or down; voting closes when a request is done or declined")
    assert (board["entity"], board["allow_down"], board["max_votes_per_user"]) == ("request", True, None)
    assert (board["status_field"], board["closed_values"], board["voter_roles"]) == ("status", ["done", "declined"],
                                                                                       ["customer"])
    choir = _build("A choir picks songs for its concert. The director adds songs.",
                   "Each member has 3 votes to pick songs for the next concert")
    assert (choir["entity"], choir["allow_down"], choir["max_votes_per_user"]) == ("song", False, 3)  # not "vote"
    assert (choir["status_field"], choir["allow_self_votes"]) == (None, True)
    street = _build("Residents of a neighbourhood association submit proposals.",
                    "Residents rank proposals by votes, but nobody can vote on their own proposal")
    assert (street["entity"], street["allow_self_votes"], street["voter_roles"]) == ("proposal", False, ["resident"])
    ideas = _build("Members share ideas.", "Members vote on ideas, one vote per idea")
    assert ideas["max_votes_per_user"] is None  # one per record, not a budget of one


def test_the_builder_refuses_words_without_votes_or_records():
    from shared.engine.planner.capmap import NotFit

    with pytest.raises(NotFit, match="does not ask for votes"):
        _build("Members share ideas.", "Members rate ideas with stars")
