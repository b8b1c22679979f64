"""The signup policy (issue 18): invite-only unless the idea has a public audience, and then a least-privilege
sign-up role. Ideas written for this file (no corpus idea, not held out)."""

from __future__ import annotations

from shared.engine.appspec import spec_problems
from shared.engine.appspec.model import SignupSpec
from shared.engine.compiler import compile_project
from shared.engine.planner import plan_builtin
from shared.engine.stages import uiux_design

from .capabilities import _caps3_specs as S


def _plan(title: str, description: str, features: list[str], audience: str = "") -> object:
    spec = plan_builtin({"title": title, "description": description, "key_features": features,
                         "target_audience": audience})
    assert spec_problems(spec) == []
    return spec


def test_members_of_a_club_are_invited_not_signed_up():
    spec = _plan("Reel Club", "A fishing club keeps its members' catches and the club's boats.",
                 ["Members log catches with weight and species", "Boat list"], "Small angling clubs")
    assert spec.signup.policy == "invite" and spec.signup.role is None and spec.signup.public == []


def test_customers_sign_up_and_read_the_catalogue_in_full_and_their_own_records_only():
    spec = _plan("Court Time", "A sports centre rents out courts by the hour.",
                 ["Customers book a court for an hour without double bookings", "Court list with surface type"],
                 "Sports centres and their customers")
    assert spec.signup.policy == "public"
    role = spec.role(spec.signup.role)
    assert role.name == "customer" and not role.manage_users
    assert spec.signup.public == ["court"]  # what the bookings refer to: browsed by everyone
    assert role.read_own == ["court_booking"]  # what a customer did: their own only
    assert "customer" in spec.signup.source.lower()


def test_the_words_anyone_can_sign_up_make_a_participant_role_public():
    spec = _plan("Stargaze", "Astronomy nights at a village observatory; anyone can sign up to log sightings.",
                 ["Stargazers log sightings of planets"], "Village observatories")
    assert spec.signup.policy == "public", spec.signup
    assert "anyone can sign up" in spec.signup.source.lower()


def test_invite_only_words_win_over_a_public_sounding_role():
    spec = _plan("Members Table", "An invite-only supper club where guests reserve seats at monthly dinners.",
                 ["Guests reserve seats at dinners"], "Supper clubs")
    assert spec.signup.policy == "invite"


def test_a_person_record_or_contact_details_are_never_public():
    spec = _plan("Clinic Book", "Patients book appointments for treatments at a small clinic.",
                 ["Patients book appointments for a treatment", "Patient records with phone and email"],
                 "Small clinics")
    assert spec.signup.policy == "public"
    for name in spec.signup.public:
        ent = spec.entity(name)
        assert not any(f.type in ("email", "phone") for f in ent.fields), name
    assert "patient" not in spec.signup.public and "appointment" not in spec.signup.public


def test_spec_problems_hold_a_public_signup_to_least_privilege():
    spec = S.spec("caps3_academy", "ratings")
    bad = spec.model_copy(deep=True)
    bad.signup = SignupSpec(policy="public")
    assert any("needs `role`" in p for p in spec_problems(bad))
    bad.signup = SignupSpec(policy="public", role="owner")
    assert any("manages users" in p for p in spec_problems(bad))
    role = next(r for r in bad.roles if not r.manage_users and r.read)
    bad.signup = SignupSpec(policy="public", role=role.name)
    assert any(f"signup role {role.name!r} reads every" in p for p in spec_problems(bad))
    bad.signup = SignupSpec(policy="invite", role=role.name)
    assert any("takes no role" in p for p in spec_problems(bad))
    role.read_own = list(dict.fromkeys(role.read + role.write))
    bad.signup = SignupSpec(policy="public", role=role.name)
    assert spec_problems(bad) == []


def test_the_app_knows_its_policy():
    spec = S.spec("caps3_academy", "ratings")
    design = uiux_design.finalize(uiux_design.propose({"title": spec.name, "description": spec.purpose}, []))
    files = compile_project(spec, design)
    data = files["app/spec_data.py"].decode()
    assert 'SIGNUP_POLICY = "invite"' in data and "SIGNUP_ROLE = None" in data
    assert "sign-up is by invitation only" in files["README.md"].decode()
