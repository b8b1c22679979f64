"""The team page (#/team) in the browser: an owner invites, the invitee is asked to verify their email (Firebase Auth
sendEmailVerification on the Auth emulator), verifies and accepts; the owner sees them, revokes another invitation,
is refused the last owner's demotion, and removes the member (issue 20)."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from tests.browser.axe import assert_no_serious_violations
from tests.helpers import PASSWORD, Api, auth_url

pytestmark = pytest.mark.timeout(150)


def sign_in(page, email: str) -> None:
    page.goto("/")
    page.wait_for_selector("body[data-state='signed-out']")
    page.fill("#signin-email", email)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-state='signed-in']")


def open_verification_link(email: str) -> None:
    """What clicking the emailed link does: apply the newest VERIFY_EMAIL code the Auth emulator holds for `email`."""
    host, project = os.environ["FIREBASE_AUTH_EMULATOR_HOST"], os.environ["GOOGLE_CLOUD_PROJECT"]
    codes = requests.get(f"http://{host}/emulator/v1/projects/{project}/oobCodes", timeout=10).json()["oobCodes"]
    mine = [c for c in codes if c["email"].lower() == email and c["requestType"] == "VERIFY_EMAIL"]
    assert mine, f"the page sent no verification email to {email}"
    r = requests.post(auth_url("accounts:update"), json={"oobCode": mine[-1]["oobCode"]}, timeout=10)
    assert r.status_code == 200 and r.json().get("emailVerified") is True, r.text


def members(page) -> dict[str, str]:
    return {row.get_attribute("data-email"): row.text_content() for row in page.query_selector_all("[data-testid='member']")}


def test_owner_invites_invitee_verifies_and_accepts_owner_removes(browsers):
    api = Api()
    owner = api.signup(company="Team Studio")
    page = browsers.new_page()
    page.on("dialog", lambda d: d.accept())
    sign_in(page, owner.email)
    assert page.is_visible("#verify-email"), "an unverified address is asked to verify"
    page.click("#team-link")
    page.wait_for_selector("#team-view:not([hidden]) [data-testid='members']")
    assert page.is_hidden("#app-view") and page.title().startswith("Team")
    assert page.evaluate("document.activeElement.id") == "team-heading"
    assert "(you)" in members(page)[owner.email]

    invitee_email = f"{uuid.uuid4().hex[:12]}@example.com"
    page.fill("#invite-email", invitee_email)
    page.select_option("#invite-role", "member")
    page.click("[data-testid='invite-submit']")
    page.wait_for_selector(f"[data-testid='pending-invitation'][data-email='{invitee_email}']")
    assert_no_serious_violations(page, "team")
    other = f"{uuid.uuid4().hex[:12]}@example.com"
    page.fill("#invite-email", other)
    page.click("[data-testid='invite-submit']")
    page.wait_for_selector(f"[data-testid='pending-invitation'][data-email='{other}']")
    page.click(f"[data-testid='pending-invitation'][data-email='{other}'] [data-testid='revoke-invitation']")
    page.wait_for_selector(f"[data-testid='pending-invitation'][data-email='{other}']", state="detached")
    assert [i["email"] for i in api.get("/api/team", owner).json()["invitations"]] == [invitee_email]

    # The invitee signs up in their own browser; the page asks them to verify, and only then shows the invitation.
    guest = browsers.new_page()
    guest.goto("/")
    guest.wait_for_selector("body[data-state='signed-out']")
    guest.click("#tab-signup")
    guest.fill("#signup-name", "Invited Person")
    guest.fill("#signup-company", "Guest's Own")
    guest.fill("#signup-email", invitee_email)
    guest.fill("#signup-password", PASSWORD)
    guest.click("#signup-submit")
    guest.wait_for_selector("body[data-state='signed-in']")
    guest.wait_for_selector("#verify-email:not([hidden])")
    assert guest.is_hidden("#invitations")
    guest.click("[data-testid='send-verification']")
    guest.wait_for_function("() => document.querySelector('[data-testid=verify-status]').textContent.includes('We sent a link')")
    guest.click("[data-testid='check-verification']")  # not yet: the page says so and stays
    guest.wait_for_function("() => document.querySelector('[data-testid=verify-status]').textContent.includes('not verified yet')")
    open_verification_link(invitee_email)
    guest.click("[data-testid='check-verification']")
    guest.wait_for_selector("[data-testid='invitation']")
    assert guest.is_hidden("#verify-email")
    assert "Team Studio invited you as member" in guest.text_content("[data-testid='invitation']")
    guest.click("[data-testid='accept-invitation']")
    guest.wait_for_function("() => document.querySelector('#workspace-name').textContent === 'Team Studio'")

    # The owner sees the new member; the last owner cannot be demoted (the API's sentence is shown); removal works.
    page.reload()
    page.wait_for_selector(f"[data-testid='member'][data-email='{invitee_email}']")
    assert not page.query_selector(f"[data-testid='pending-invitation'][data-email='{invitee_email}']")
    page.select_option(f"[data-testid='member'][data-email='{owner.email}'] [data-testid='member-role']", "viewer")
    page.wait_for_function("() => document.querySelector('#team-error').textContent.includes('at least one owner')")
    assert page.input_value(f"[data-testid='member'][data-email='{owner.email}'] [data-testid='member-role']") == "owner"
    page.click(f"[data-testid='member'][data-email='{invitee_email}'] [data-testid='remove-member']")
    page.wait_for_selector(f"[data-testid='member'][data-email='{invitee_email}']", state="detached")
    assert set(members(page)) == {owner.email}
    assert {m["email"] for m in api.get("/api/team", owner).json()["members"]} == {owner.email}

    page.click("#team-link")  # back to the pipelines
    page.wait_for_selector("#app-view:not([hidden])")
    assert page.is_hidden("#team-view")
