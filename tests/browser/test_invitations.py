"""Invitations in the browser: an invited person who signs up lands in their own workspace, sees the
invitation only once their email is verified, and joins only by clicking Accept (issue 9, items 1-2)."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import Api, verify_email

pytestmark = pytest.mark.timeout(120)


def test_invitee_sees_the_invitation_after_verifying_and_joins_with_accept(browsers):
    api = Api()
    owner = api.signup(company="Inviting Studio")
    page = browsers.new_page()
    # The invitee signs up through the form with an email that is already invited.
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    r = api.post("/api/team/invitations", owner, json={"email": email, "role": "member"})
    assert r.status_code == 201, r.text
    page.goto("/")
    page.wait_for_selector("body[data-state='signed-out']")
    page.click("#tab-signup")
    page.fill("#signup-name", "Invited Person")
    page.fill("#signup-company", "My Own Co")
    page.fill("#signup-email", email)
    page.fill("#signup-password", "correct-horse-battery")
    page.click("#signup-submit")
    page.wait_for_selector("body[data-state='signed-in']")
    assert page.text_content("#workspace-name") == "My Own Co", "signup never joins the inviting workspace"
    assert page.is_hidden("#invitations"), "no invitation is shown to an unverified email"

    token = page.evaluate("""async () => {
        const { getAuth } = await import("https://www.gstatic.com/firebasejs/12.19.0/firebase-auth.js");
        return await getAuth().currentUser.getIdToken();
    }""")
    verify_email(token, email)
    page.reload()
    page.wait_for_selector("body[data-state='signed-in']")
    page.wait_for_selector("[data-testid='invitation']")
    assert "Inviting Studio invited you as member" in page.text_content("[data-testid='invitation']")
    page.click("[data-testid='accept-invitation']")
    page.wait_for_function("() => document.querySelector('#workspace-name').textContent === 'Inviting Studio'")
    assert page.text_content("#role-badge") == "member"
    assert page.is_hidden("#invitations")
    team = api.get("/api/team", owner).json()
    assert email in {m["email"] for m in team["members"]}

