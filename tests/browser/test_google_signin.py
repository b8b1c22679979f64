"""Sign-in with Google in the browser: the dashboard's GoogleAuthProvider popup opens the Auth emulator's
fake identity provider, where the test adds an account as a person would; a first Google sign-in lands
in a workspace of the user's own, as the sign-up form does for an email account."""

from __future__ import annotations

import uuid

import pytest

from tests.browser.axe import assert_no_serious_violations
from tests.helpers import Api

pytestmark = pytest.mark.timeout(120)


def test_first_google_sign_in_lands_in_a_workspace_of_their_own(browsers):
    page = browsers.new_page()
    page.goto("/")
    page.wait_for_selector("body[data-state='signed-out']")
    assert_no_serious_violations(page, "sign-in")
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    with page.expect_popup() as popup_info:
        page.click("#google-signin")
    idp = popup_info.value
    idp.wait_for_selector("#add-account-button")
    assert "/emulator/auth/handler" in idp.url, idp.url
    idp.click("#add-account-button")
    idp.fill("#email-input", email)
    idp.fill("#display-name-input", "Grace Google")
    idp.click("#sign-in")

    page.wait_for_selector("body[data-state='signed-in']")
    assert page.text_content("#workspace-name") == "Grace Google's workspace"
    assert page.text_content("#role-badge") == "owner"
    assert page.text_content("#user-email") == email
    assert page.evaluate("document.activeElement.id") == "app-heading", "focus moves to the page's heading"
    page.wait_for_selector("#credits[data-credits]")
    page.wait_for_selector("#plans [data-testid^='buy-']")  # the whole workspace view is drawn
    assert_no_serious_violations(page, "workspace")

    # The workspace is real: the API, with the page's own token, answers for it, and a repeat of the
    # creation (a second sign-in) returns it unchanged.
    token = page.evaluate("""async () => {
        const { getAuth } = await import("https://www.gstatic.com/firebasejs/12.19.0/firebase-auth.js");
        return await getAuth().currentUser.getIdToken();
    }""")
    api = Api()
    me = api.get("/api/me", token=token).json()
    assert me["role"] == "owner" and me["tenant"]["name"] == "Grace Google's workspace"
    again = api.post("/api/me/own-workspace", token=token, json={})
    assert again.status_code == 200 and again.json()["tenant_id"] == me["tenant"]["id"], again.text
