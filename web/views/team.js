// The team page (#/team) and the verify-your-email prompt. Self-contained: app.js calls mountTeam() once the
// signed-in user's /api/me is known, and unmountTeam() on sign-out.
//
// Members with their roles; owners invite, change roles, remove members and revoke pending invitations (the
// API refuses the last owner's removal or demotion with 409 last_owner, shown as its sentence). Every member
// can turn off the emails about their own runs. An unverified email gets a prompt to verify it (Firebase Auth
// sendEmailVerification), because invitations to other workspaces appear only to verified addresses.

import { $, h, say, show } from "../lib/dom.js";

const ROLES = ["owner", "member", "viewer"];
const ROLE_WORDS = { owner: "Owner", member: "Member", viewer: "Viewer" };

let ctx = null; // { api, fb, user, me, toast }

export function mountTeam(context) {
  ctx = context;
  renderVerifyPrompt();
  show($("#team-link"), Boolean(ctx.me && ctx.me.tenant));
  if (!mountTeam.wired) {
    window.addEventListener("hashchange", applyRoute);
    mountTeam.wired = true;
  }
  queueMicrotask(applyRoute); // after app.js has shown the workspace it is building
}

export function unmountTeam() {
  ctx = null;
  show($("#verify-email"), false);
  show($("#team-view"), false);
  show($("#team-link"), false);
  $("#team-view").replaceChildren();
}

function onTeamRoute() {
  return location.hash === "#/team";
}

function applyRoute() {
  if (!ctx || !(ctx.me && ctx.me.tenant)) return;
  const team = onTeamRoute();
  show($("#team-view"), team);
  show($("#app-view"), !team);
  const link = $("#team-link");
  link.textContent = team ? "Pipelines" : "Team";
  link.setAttribute("href", team ? "#/" : "#/team");
  if (team) {
    document.title = "Team · SaaS Factory";
    loadTeam({ focus: true });
  } else if (document.title.startsWith("Team")) {
    document.title = "SaaS Factory";
  }
}

// ------------------------------------------------------------------------------------------ verify email

function renderVerifyPrompt() {
  const box = $("#verify-email");
  const me = ctx.me || {};
  box.replaceChildren();
  if (me.email_verified || !me.email) {
    show(box, false);
    return;
  }
  const status = h("p", { class: "small", role: "status", "aria-live": "polite", dataset: { testid: "verify-status" } });
  const send = h("button", { type: "button", class: "btn btn-primary", dataset: { testid: "send-verification" } },
    "Send verification email");
  send.addEventListener("click", async () => {
    send.disabled = true;
    try {
      await ctx.fb.authMod.sendEmailVerification(ctx.fb.auth.currentUser);
      status.textContent = `We sent a link to ${me.email}. Open it, then choose “I have verified my email”.`;
    } catch (e) {
      status.textContent = `The email could not be sent (${e.code || e.message}). Try again in a minute.`;
    } finally {
      send.disabled = false;
    }
  });
  const done = h("button", { type: "button", class: "btn", dataset: { testid: "check-verification" } },
    "I have verified my email");
  done.addEventListener("click", async () => {
    const user = ctx.fb.auth.currentUser;
    await user.reload();
    if (!user.emailVerified) {
      status.textContent = "Your email is not verified yet: open the link in the email we sent, then try again.";
      return;
    }
    await user.getIdToken(true);
    location.reload(); // invitations and the token's new claim load fresh
  });
  box.append(
    h("h2", { id: "verify-heading" }, "Verify your email address"),
    h("p", {}, `Invitations to other workspaces appear only once ${me.email} is verified.`),
    h("div", { class: "actions" }, send, " ", done),
    status);
  show(box, true);
}

// ------------------------------------------------------------------------------------------ team

async function loadTeam({ focus = false } = {}) {
  const view = $("#team-view");
  if (!view.childElementCount) view.append(h("h1", { id: "team-heading", tabindex: "-1" }, "Team"));
  let team;
  try {
    team = await ctx.api.get("/api/team");
  } catch (e) {
    renderTeam(null, e.message);
    return;
  }
  renderTeam(team, "");
  if (focus) $("#team-heading").focus();
}

function isOwner() {
  return ctx && ctx.me && ctx.me.role === "owner";
}

async function call(method, path, body, done) {
  const err = $("#team-error");
  say(err, "");
  try {
    const out = await ctx.api.request(method, path, body);
    if (done) ctx.toast(done);
    await loadTeam();
    return out;
  } catch (e) {
    await loadTeam(); // show what is true again (e.g. a refused role change)
    say($("#team-error"), e.message);
    $("#team-error").scrollIntoView({ block: "nearest" });
    return null;
  }
}

function renderTeam(team, error) {
  const view = $("#team-view");
  const owner = isOwner();
  const heading = $("#team-heading") || h("h1", { id: "team-heading", tabindex: "-1" }, "Team");
  const err = h("div", { id: "team-error", class: "alert alert-error", role: "alert", dataset: { testid: "team-error" } });
  say(err, error);
  const parts = [heading, err];
  if (team) {
    parts.push(membersCard(team, owner), invitationsCard(team, owner), settingsCard());
  }
  view.replaceChildren(...parts);
}

function membersCard(team, owner) {
  const rows = team.members.map((m) => {
    const who = m.display_name ? `${m.display_name} (${m.email})` : m.email || m.uid;
    let roleCell = ROLE_WORDS[m.role] || m.role;
    let actions = "";
    if (owner) {
      const select = h("select", { "aria-label": `Role of ${m.email || m.uid}`, dataset: { testid: "member-role" } },
        ROLES.map((r) => h("option", { value: r, selected: r === m.role }, ROLE_WORDS[r])));
      select.addEventListener("change", () =>
        call("PATCH", `/api/team/members/${encodeURIComponent(m.uid)}`, { role: select.value },
          `${m.email} is now ${ROLE_WORDS[select.value].toLowerCase()}.`));
      roleCell = select;
      // The accessible name contains the visible word (WCAG 2.5.3, axe label-content-name-mismatch).
      const remove = h("button", { type: "button", class: "btn btn-danger",
        "aria-label": m.you ? "Leave this workspace" : `Remove ${m.email || m.uid}`,
        dataset: { testid: "remove-member" } }, m.you ? "Leave" : "Remove");
      remove.addEventListener("click", () => {
        if (!window.confirm(`Remove ${m.email} from this workspace? Their access ends at once.`)) return;
        call("DELETE", `/api/team/members/${encodeURIComponent(m.uid)}`, undefined, `${m.email} was removed.`);
      });
      actions = remove;
    }
    return h("tr", { dataset: { testid: "member", email: m.email || "" } },
      h("td", {}, who, m.you ? h("span", { class: "muted small" }, " (you)") : ""),
      h("td", {}, roleCell),
      owner ? h("td", {}, actions) : null);
  });
  return h("section", { class: "card", "aria-labelledby": "members-heading", dataset: { testid: "members" } },
    h("h2", { id: "members-heading" }, `Members (${team.members.length})`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Person"), h("th", { scope: "col" }, "Role"),
        owner ? h("th", { scope: "col" }, "Actions") : null)),
      h("tbody", {}, rows))),
    owner ? null : h("p", { class: "muted small" }, "Only owners can invite people or change roles."));
}

function invitationsCard(team, owner) {
  const pending = team.invitations || [];
  const list = h("ul", { class: "plain", dataset: { testid: "pending-invitations" } },
    pending.length ? pending.map((inv) => {
      const revoke = owner ? h("button", { type: "button", class: "btn btn-quiet", "aria-label": `Revoke the invitation to ${inv.email}`,
        dataset: { testid: "revoke-invitation" } }, "Revoke") : null;
      if (revoke) {
        revoke.addEventListener("click", () =>
          call("DELETE", `/api/team/invitations/${encodeURIComponent(inv.email)}`, undefined,
            `The invitation to ${inv.email} was revoked.`));
      }
      return h("li", { dataset: { testid: "pending-invitation", email: inv.email } },
        `${inv.email} — invited as ${(ROLE_WORDS[inv.role] || inv.role).toLowerCase()} `, revoke);
    }) : h("li", { class: "muted" }, "No pending invitations."));
  const section = h("section", { class: "card", "aria-labelledby": "invite-heading" },
    h("h2", { id: "invite-heading" }, "Invitations"), list);
  if (owner) {
    const email = h("input", { id: "invite-email", type: "email", required: true, autocomplete: "off",
      dataset: { testid: "invite-email" } });
    const role = h("select", { id: "invite-role", dataset: { testid: "invite-role" } },
      ROLES.map((r) => h("option", { value: r, selected: r === "member" }, ROLE_WORDS[r])));
    const form = h("form", { dataset: { testid: "invite-form" }, novalidate: true },
      h("div", { class: "field" }, h("label", { for: "invite-email" }, "Email address"), email),
      h("div", { class: "field" }, h("label", { for: "invite-role" }, "Role"), role),
      h("p", { class: "muted small" }, "They see the invitation after signing in with this address and verifying it."),
      h("button", { type: "submit", class: "btn btn-primary", dataset: { testid: "invite-submit" } }, "Invite"));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const address = email.value.trim();
      if (!address || !email.checkValidity()) {
        say($("#team-error"), "Enter the email address of the person to invite.");
        email.focus();
        return;
      }
      await call("POST", "/api/team/invitations", { email: address, role: role.value }, `${address} was invited.`);
    });
    section.append(h("h3", {}, "Invite someone"), form);
  }
  return section;
}

function settingsCard() {
  const on = !(ctx.me && ctx.me.settings && ctx.me.settings.notify_email === false);
  const box = h("input", { type: "checkbox", id: "notify-email", checked: on, dataset: { testid: "notify-email" } });
  const status = h("p", { class: "small muted", role: "status", "aria-live": "polite" });
  box.addEventListener("change", async () => {
    box.disabled = true;
    try {
      const out = await ctx.api.request("PATCH", "/api/me/settings", { notify_email: box.checked });
      ctx.me.settings = out.settings;
      status.textContent = out.settings.notify_email ? "We will email you about your runs." : "No more emails about your runs.";
    } catch (e) {
      box.checked = !box.checked;
      status.textContent = e.message;
    } finally {
      box.disabled = false;
    }
  });
  return h("section", { class: "card", "aria-labelledby": "notify-heading" },
    h("h2", { id: "notify-heading" }, "Your notifications"),
    h("label", { for: "notify-email", class: "gate" }, box,
      " Email me when a run I started finishes, fails, or waits for my input or approval"),
    status);
}
