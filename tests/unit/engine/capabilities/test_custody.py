"""Capability `custody`: name checks, routes, and the generated app's own custody tests in two domains
(holders are the app's users in one, holder records in the other)."""

from __future__ import annotations

import pytest

from shared.engine.appspec.model import AppSpec, spec_problems
from shared.engine.capabilities import custody

from . import _ops_specs as S

IDEAS = [S.tool_library, S.evidence_room]


@pytest.mark.parametrize("idea", IDEAS, ids=lambda f: f.__name__)
def test_generated_custody_tests_pass(idea):
    spec, cap, run, mine = S.built(idea())
    assert len(mine) >= 9, run.output
    for must in ("test_check_out_and_in_keeps_the_history", "test_a_held_item_cannot_be_checked_out_again",
                 "test_overdue_list", "test_anonymous_and_other_roles_are_refused",
                 "test_held_items_and_their_holders_cannot_be_deleted", "test_page_checks_out_with_its_form"):
        assert mine.get(must) == "passed", (must, mine)
    if cap.max_held:  # tool_library: at most 2 tools per member at a time; evidence_room: no such limit
        for must in ("test_a_holder_holds_at_most_the_stated_number",
                     "test_concurrent_check_outs_to_one_holder_never_pass_the_limit"):
            assert mine.get(must) == "passed", (must, mine)
    else:
        assert not any("holds_at_most" in name for name in mine), mine
    assert all(v == "passed" for v in run.results.values()), run.output


def test_checkout_roles_default_to_the_item_writers():
    spec = AppSpec.model_validate(S.evidence_room())
    routes = {(r.method, r.path): r.roles for r in custody.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/chain/items/<int:item_id>/checkout")] == ["owner", "clerk"]
    assert routes[("GET", "/api/chain/overdue")] == ["owner", "clerk", "auditor"]
    spec = AppSpec.model_validate(S.tool_library())
    routes = {(r.method, r.path): r.roles for r in custody.routes(spec.capabilities[0], spec)}
    assert routes[("POST", "/api/lending/items/<int:item_id>/checkin")] == ["owner", "member", "librarian"]


@pytest.mark.parametrize("idea, change, words", [
    (S.tool_library, {"item_entity": "drill"}, ["item_entity 'drill' is not an entity"]),
    (S.tool_library, {"holder_entity": "borrower"}, ["holder_entity 'borrower' is not an entity"]),
    (S.tool_library, {"checkout_roles": ["steward"]}, ["checkout role 'steward' is not a role"]),
    (S.tool_library, {"holder_entity": "tool"}, ["differ"]),
])
def test_check_names_what_does_not_resolve(idea, change, words):
    spec = AppSpec.model_validate(S.with_cap(idea(), **change))
    text = " | ".join(custody.check(spec.capabilities[0], spec))
    for w in words:
        assert w in text, (w, text)
    assert any("(custody)" in p for p in spec_problems(spec))


def test_check_wants_someone_who_may_check_out():
    d = S.tool_library()
    d["capabilities"][0]["checkout_roles"] = []
    d["roles"][0]["write"] = []  # the owner no longer writes tools, nor does anyone else but the librarian
    d["roles"][2]["write"] = []
    spec = AppSpec.model_validate(d)
    assert any("no role may check out" in p for p in custody.check(spec.capabilities[0], spec))
