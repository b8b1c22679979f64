// SaaS Factory dashboard: sign up / sign in, billing, idea intake, and live pipelines.
// Vanilla ES modules, no build step. The Firebase SDK comes from /vendor/firebase/ via the import map.
//
// Stable hooks for tests (ids double as data-testid unless noted):
//   document.body[data-state]        "loading" | "signed-out" | "signed-in" | "error"
//   #fatal                           boot failure message (SDK or config missing)
//   Auth:     #tab-signin #tab-signup
//             #signin-form #signin-email #signin-password #signin-submit #signin-error
//             #signup-form #signup-name #signup-company #signup-email #signup-password #signup-submit
//             #signup-error, per-field #signup-{name,company,email,password}-error
//             #google-signin (Firebase GoogleAuthProvider, a popup; locally the Auth emulator's IdP page, lib/google.js)
//             #google-error; a first Google sign-in creates the user's own workspace (POST /api/me/own-workspace)
//   Header:   #workspace-name #role-badge #credits (a number once billing loaded) #user-email #sign-out
//   Toast:    #toast (role=status; the latest message)
//   Billing:  #billing-panel #billing-summary #plans, per plan li[data-testid="plan-{name}"] with
//             button[data-testid="buy-{name}"] (owners only); #payment-pending (credits not arrived yet);
//             #billing-error #payments (li[data-testid="payment"][data-status])
//   Idea:     #idea-form #idea-title #idea-description #idea-audience #idea-features (one per line)
//             input[data-testid="gate-{stage}"] (approval gates) #idea-budget #idea-stack #idea-submit
//             #idea-error (general/402), per-field #idea-{title,description,audience,features,gates,budget,stack}-error
//             (the input gets aria-invalid="true")
//   List:     #pipelines-list > li[data-testid="pipeline-item"][data-pipeline-id][data-status][data-progress]
//             containing [data-testid="status-chip"], progress[data-testid="pipeline-progress"] and
//             button[data-testid="open-pipeline"]; #pipelines-empty #pipelines-error #factory-stats
//             #live-indicator[data-live]  "off" | "realtime" | "reconnecting" | "polling" | "offline"
//             (lib/live.js: #live-state words, #live-updated "last update hh:mm:ss"); #pipelines-loading
//             (nothing from the server yet: never "No pipelines yet" from cache); #runs-search #runs-filter
//             #runs-more (history: title search, status filter, older runs a page at a time)
//   Detail:   #pipeline-detail[data-pipeline-id][data-status][data-live="realtime"|"polling"]
//             #detail-title #detail-status[data-status] #detail-progress[data-progress] (a <progress>)
//             #detail-progress-label #detail-error (error_message when failed) #detail-awaiting
//             #detail-note (cancelled)
//             #detail-preview > a#preview-link (deployment summary url), #claim-note > a#claim-link (the
//             one-time link that makes the founder the app's owner: GET /api/factory/pipelines/{id}/claim,
//             which answers the workspace owner and the run's starter only; hidden for everyone else)
//             #detail-coverage > #coverage-headline ("N of M features built") and #coverage-body >
//             tr[data-testid="coverage-row"][data-status=built|failing|not_covered] (QA summary coverage)
//             #action-approve #approve-comment #action-retry #action-cancel #action-error
//             #action-edit-rerun (failed/cancelled: pre-fills the idea form with the run's idea)
//             #rerun-form (finished runs: web/views/rerun.js) with #rerun-stage (eligible stages), #action-rerun,
//             #rerun-error; a started rerun opens at #/runs/<new id>
//             #change-app (completed runs: web/views/change.js) with #action-change-app; the plan editor
//             (#plan-review, web/views/plan.js) then edits version N+1 and [data-testid=change-build] builds it as a
//             new run, opened at #/runs/<new id>; details#versions (web/views/versions.js): the app's versions,
//             a diff of any two, and rolling the preview back to an earlier one
//             #needs-input [data-testid=needs-input-panel] (status needs_input) with #needs-input-feedback, #resume-form
//             (#resume-title #resume-description #resume-audience #resume-features, pre-filled),
//             #action-resume (edit & validate again) #action-continue (continue anyway) #resume-error
//   Idea:     #refund-policy (shown before submitting), #idea-buy (after a 402: Buy runs)
//             tr[data-testid="stage-{stage}"][data-status] with td[data-col=status|attempt|duration|cost]
//             #events-feed > li[data-testid="event"][data-type][data-seq]
//             #artifacts-list > li[data-testid="artifact"][data-name][data-stage] with
//             a[data-testid="artifact-open"] and a[data-testid="artifact-download"]; #artifacts-empty
//             #cancel-confirm (#action-cancel-confirm / #action-cancel-keep), #retry-budget form with
//             #retry-budget-value (a budget-failed run), #stage-announcer (aria-live), #events-log[role=log]
//             #artifact-viewer (web/lib/viewer.js: every artifact kind in the page), #gate-review (web/lib/gate.js:
//             the viewer inline at an approval gate) with #action-request-changes, #preview-expiry and
//             #preview-expired > #action-redeploy (web/lib/preview.js)
//   Routes:   #/runs/{pipeline_id} opens a run (sets the title, moves focus and scroll to it); the older
//             #/pipelines/{pipeline_id} is rewritten to it; ?checkout=success|cancel after Stripe Checkout.

import { createApi, ApiError } from "./lib/api.js";
import { $, $$, h, say, show } from "./lib/dom.js";
import { startFirebase } from "./lib/firebase.js";
import { signInWithGoogle } from "./lib/google.js";
import {
  STAGES, TERMINAL, bytes, cost, dateTime, duration, label, money, statusLabel,
} from "./lib/format.js";
import { ideaField, ideaFromForm, signupFromForm } from "./lib/validate.js";
import { createLive } from "./lib/live.js";
import { addEvent as timelineEvent, announceStages, renderStages as timelineStages, stagesDone, startTicker } from "./views/timeline.js";
import { FILTERS, PAGE, fetchRuns, matches, runsQuery } from "./views/history.js";
import { mountTeam, unmountTeam } from "./views/team.js";
import { renderPlanReview } from "./views/plan.js";
import { createRerun } from "./views/rerun.js";
import { createChange } from "./views/change.js";
import { createVersions } from "./views/versions.js";
import { createViewer, viewKind } from "./lib/viewer.js";
import { renderGate } from "./lib/gate.js";
import { createPreviewLife } from "./lib/preview.js";

const CHECKOUT_KEY = "factory.checkout";
const PENDING_POLL_MS = 1000;
const PENDING_MAX_MS = 60_000;
const CAN_ACT = ["owner", "member"];

const state = {
  fb: null,
  api: null,
  user: null,
  tenantId: null,
  role: null,
  me: null,
  billing: null,
  plans: [],
  pipelines: new Map(), // id -> doc data (as last seen in the list)
  selectedId: null,
  selected: null,
  artifactsKey: "",
  artifactItems: [], // the selected run's artifacts (the viewer's gallery and the approval gate read them)
  viewer: null,
  previewLife: null,
  claim: { key: "", url: null }, // the selected run's claim link, fetched once per deployment
  subs: { list: [], detail: [] },
  pendingTimer: null,
  statusTimer: null,
  listSignature: "",
  checkoutReturn: null,
  live: null,
  list: { status: "", search: "", limit: PAGE, items: [], more: false, fromServer: false },
  focusRun: false, // move focus and scroll to the run once it is shown (a route change asked for it)
  focusHeading: false, // after a sign-in from the form, focus goes to the page's h1
};

// ------------------------------------------------------------------------------------------ boot

function setBodyState(s) {
  document.body.dataset.state = s;
}

function readCheckoutReturn() {
  const params = new URLSearchParams(location.search);
  const outcome = params.get("checkout");
  if (!outcome) return null;
  const sessionId = params.get("session_id");
  // Clean the address bar (keep the hash route) so a reload does not repeat the toast.
  history.replaceState(null, "", location.pathname + location.hash);
  return { outcome, sessionId };
}

async function boot() {
  setBodyState("loading");
  state.checkoutReturn = readCheckoutReturn();
  wireStaticHandlers();
  try {
    state.fb = await startFirebase();
  } catch (e) {
    fatal(e.message || String(e));
    return;
  }
  state.api = createApi(async () => (state.fb.auth.currentUser ? state.fb.auth.currentUser.getIdToken() : null));
  state.live = createLive({
    fsMod: state.fb.fsMod, indicator: $("#live-indicator"), words: $("#live-state"), updated: $("#live-updated"),
    reload: reloadEverything,
  });
  startTicker($("#stages-body"));
  state.viewer = createViewer({ api: state.api, run: () => state.selected });
  state.previewLife = createPreviewLife({
    api: state.api, current: () => state.selected, canAct: () => CAN_ACT.includes(state.role),
    rerender: (p) => renderPreview(p), toast,
  });
  const { onAuthStateChanged } = state.fb.authMod;
  onAuthStateChanged(state.fb.auth, (user) => {
    if (user) {
      enter(user).catch((e) => {
        fatal(`Could not load your workspace: ${e.message}`);
        show($("#account-bar"), true); // so the user can at least sign out
      });
    } else {
      leave();
    }
  });
}

function fatal(message) {
  show($("#boot-status"), false);
  say($("#fatal"), message);
  setBodyState("error");
}

// ------------------------------------------------------------------------------------------ toasts

let toastTimer = null;
function toast(message, kind = "info") {
  const el = $("#toast");
  el.textContent = message;
  el.dataset.kind = kind;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 6000);
}

// ------------------------------------------------------------------------------------------ auth

function wireStaticHandlers() {
  $("#tab-signin").addEventListener("click", () => selectTab("signin"));
  $("#tab-signup").addEventListener("click", () => selectTab("signup"));
  for (const tab of $$('[role="tab"]')) {
    tab.addEventListener("keydown", (e) => {
      if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
        const next = tab.id === "tab-signin" ? "signup" : "signin";
        selectTab(next);
        $(`#tab-${next}`).focus();
      }
    });
  }
  $("#signin-form").addEventListener("submit", onSignIn);
  $("#google-signin").addEventListener("click", onGoogleSignIn);
  $("#signup-form").addEventListener("submit", onSignUp);
  $("#sign-out").addEventListener("click", () => state.fb && state.fb.authMod.signOut(state.fb.auth));
  $("#idea-form").addEventListener("submit", onSubmitIdea);
  $("#action-cancel").addEventListener("click", () => askCancel(true));
  $("#action-cancel-keep").addEventListener("click", () => askCancel(false));
  $("#action-cancel-confirm").addEventListener("click", () => { askCancel(false, false); act("cancel"); });
  $("#action-retry").addEventListener("click", () => act("retry"));
  $("#retry-budget").addEventListener("submit", onRetryBudget);
  $("#new-idea-jump").addEventListener("click", () => {
    $("#idea-panel").scrollIntoView({ block: "start" });
    $("#idea-title").focus();
  });
  const filter = $("#runs-filter");
  for (const [value, text] of FILTERS) filter.append(h("option", { value }, text));
  filter.addEventListener("change", () => {
    Object.assign(state.list, { status: filter.value, limit: PAGE });
    startPipelinesListener();
  });
  $("#runs-search").addEventListener("input", (e) => {
    state.list.search = e.target.value;
    renderList(state.list.items);
  });
  $("#runs-more").addEventListener("click", () => {
    state.list.limit += PAGE;
    startPipelinesListener();
  });
  $("#action-approve").addEventListener("click", () => act("approve"));
  $("#action-request-changes").addEventListener("click", () => act("request-changes"));
  $("#action-continue").addEventListener("click", () => act("continue"));
  $("#resume-form").addEventListener("submit", onResume);
  $("#action-edit-rerun").addEventListener("click", onEditRerun);
  state.renderRerun = createRerun($("#rerun-form"), {
    api: { rerun: (...a) => state.api.rerun(...a) },
    onStarted: (res, stage) => {
      toast(`A new run started from ${label(stage)}; the earlier stages reuse this run's results.`, "success");
      refreshBilling();
      location.hash = `#/runs/${res.pipeline_id}`;
    },
  });
  state.change = createChange($("#change-app"), {
    api: { plan: (...a) => state.api.plan(...a), changeApp: (...a) => state.api.changeApp(...a),
      buildChange: (...a) => state.api.buildChange(...a) },
    toast,
    rerender: () => renderPlan(state.selected),
    onBuilt: (res) => {
      toast(`Building version ${res.version} of the app in a new run; the preview keeps its records.`, "success");
      refreshBilling();
      location.hash = `#/runs/${res.pipeline_id}`;
    },
  });
  state.renderVersions = createVersions($("#versions"), {
    api: { versions: (...a) => state.api.versions(...a), versionsDiff: (...a) => state.api.versionsDiff(...a),
      rollbackPreview: (...a) => state.api.rollbackPreview(...a) },
    viewer: () => (state.user ? state.user.uid : null),
  });
  $("#idea-buy").addEventListener("click", onBuyFromIdea);
  window.addEventListener("hashchange", route);
  const gates = $("#idea-gates");
  for (const s of STAGES) {
    gates.append(h("label", { class: "gate" },
      h("input", { type: "checkbox", name: "approval_gates", value: s, id: `gate-${s}`, "data-testid": `gate-${s}` }),
      ` ${label(s)}`));
  }
}

function selectTab(which) {
  for (const name of ["signin", "signup"]) {
    const on = name === which;
    const tab = $(`#tab-${name}`);
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#${name}-panel`).hidden = !on;
  }
}

function authMessage(e) {
  const code = (e && e.code) || "";
  if (["auth/invalid-credential", "auth/wrong-password", "auth/user-not-found", "auth/invalid-email",
    "auth/invalid-login-credentials"].includes(code)) return "Wrong email or password.";
  if (code === "auth/too-many-requests") return "Too many attempts; wait a minute and try again.";
  if (code === "auth/network-request-failed") return "The sign-in service could not be reached; try again.";
  if (code === "auth/user-disabled") return "This account is disabled.";
  return (e && e.message) || "Sign-in failed.";
}

async function onSignIn(ev) {
  ev.preventDefault();
  const btn = $("#signin-submit");
  const err = $("#signin-error");
  say(err, "");
  const email = $("#signin-email").value.trim();
  const password = $("#signin-password").value;
  if (!email || !password) {
    say(err, "Enter your email and password.");
    return;
  }
  btn.disabled = true;
  try {
    state.focusHeading = true;
    await state.fb.authMod.signInWithEmailAndPassword(state.fb.auth, email, password);
  } catch (e) {
    state.focusHeading = false;
    say(err, authMessage(e));
  } finally {
    btn.disabled = false;
  }
}

/** Sign in with Google (a popup; locally the Auth emulator's fake identity provider). A new user has no
 * workspace yet: enter() creates their own, as the sign-up form does for an email account. */
async function onGoogleSignIn() {
  const btn = $("#google-signin");
  const err = $("#google-error");
  say(err, "");
  btn.disabled = true;
  try {
    state.focusHeading = true;
    await signInWithGoogle(state.fb);
  } catch (e) {
    state.focusHeading = false;
    const code = (e && e.code) || "";
    if (code === "auth/popup-closed-by-user" || code === "auth/cancelled-popup-request") return;
    say(err, code === "auth/popup-blocked"
      ? "Your browser blocked the Google sign-in window; allow pop-ups for this site and try again."
      : code === "auth/account-exists-with-different-credential"
        ? "This email already has an account with a password; sign in with your email and password."
        : authMessage(e));
  } finally {
    btn.disabled = false;
  }
}

/** True for an account signed in through an identity provider (Google), never through our sign-up form. */
function viaProvider(user) {
  return (user.providerData || []).some((p) => p.providerId === "google.com");
}

const SIGNUP_FIELDS = {
  display_name: ["signup-name", "signup-name-error"],
  company_name: ["signup-company", "signup-company-error"],
  email: ["signup-email", "signup-email-error"],
  password: ["signup-password", "signup-password-error"],
};

async function onSignUp(ev) {
  ev.preventDefault();
  const btn = $("#signup-submit");
  const err = $("#signup-error");
  say(err, "");
  const { body, errors } = signupFromForm({
    display_name: $("#signup-name").value,
    company_name: $("#signup-company").value,
    email: $("#signup-email").value,
    password: $("#signup-password").value,
  });
  showFieldErrors(SIGNUP_FIELDS, errors);
  if (Object.keys(errors).length) return;
  btn.disabled = true;
  btn.textContent = "Creating your workspace…";
  try {
    await state.api.signup(body);
    await state.fb.authMod.signInWithEmailAndPassword(state.fb.auth, body.email, body.password);
    $("#signup-form").reset();
  } catch (e) {
    if (e instanceof ApiError) {
      const fields = {};
      for (const d of e.fieldErrors) fields[String(d.field).split(".")[0]] = d.message;
      showFieldErrors(SIGNUP_FIELDS, fields);
      say(err, e.message);
    } else {
      say(err, authMessage(e));
    }
  } finally {
    btn.disabled = false;
    btn.textContent = "Create account";
  }
}

/** fields: {key: [inputId, errorId]}; errors: {key: message} */
function showFieldErrors(fields, errors) {
  let first = null;
  for (const [key, [inputId, errorId]] of Object.entries(fields)) {
    const msg = errors[key] || "";
    const input = $(`#${inputId}`);
    $(`#${errorId}`).textContent = msg;
    if (msg) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
  if (first) first.focus();
}

// ------------------------------------------------------------------------------------------ session

async function enter(user) {
  state.user = user;
  let token = await user.getIdTokenResult();
  let me = await state.api.me();
  if (me.claims_updated || !token.claims.tenant_id) {
    // A role or membership change the current token does not carry yet.
    await user.getIdToken(true);
    token = await user.getIdTokenResult();
    me = await state.api.me();
  }
  if (state.user !== user) return; // signed out meanwhile
  if (!me.tenant && !(me.workspaces || []).length && viaProvider(user)) {
    // A first Google sign-in: the Auth user exists, its workspace not yet. Create it (idempotent), then
    // take the token that names it.
    await state.api.post("/api/me/own-workspace", {});
    await user.getIdToken(true);
    token = await user.getIdTokenResult();
    me = await state.api.me();
    if (state.user !== user) return;
  }
  renderInvitations(me);
  mountTeam({ api: state.api, fb: state.fb, user, me, toast });
  if (!me.tenant) {
    // Signed in, but in no workspace (e.g. removed): only invitations can be acted on here.
    show($("#boot-status"), false);
    show($("#auth-view"), false);
    show($("#account-bar"), true);
    say($("#fatal"), "This account is not part of a workspace. Accept an invitation below, or ask an owner to invite you.");
    return;
  }
  state.me = me;
  state.tenantId = token.claims.tenant_id || (me.tenant && me.tenant.id);
  state.role = me.role || token.claims.role;
  renderHeader();
  show($("#boot-status"), false);
  say($("#fatal"), "");
  show($("#auth-view"), false);
  show($("#app-view"), true);
  show($("#account-bar"), true);
  setBodyState("signed-in");
  applyRole();
  $("#app-heading").textContent = `${(me.tenant && me.tenant.name) || "Your workspace"}: runs`;
  document.title = `${(me.tenant && me.tenant.name) || "Your workspace"} · SaaS Factory`;
  if (state.focusHeading) {
    state.focusHeading = false;
    $("#app-heading").focus();
  }
  await Promise.all([loadPlans(), refreshBilling()]);
  startBillingListener();
  startPipelinesListener();
  refreshStatus();
  route();
  handleCheckoutReturn();
}

function leave() {
  const wasSignedIn = Boolean(state.user);
  unmountTeam();
  stopSubs("list");
  stopSubs("detail");
  if (state.live) state.live.stopAll();
  state.list = { status: "", search: "", limit: PAGE, items: [], more: false, fromServer: false };
  document.title = "SaaS Factory";
  clearInterval(state.pendingTimer);
  Object.assign(state, {
    user: null, tenantId: null, role: null, me: null, billing: null, plans: [], selectedId: null,
    selected: null, artifactsKey: "", listSignature: "",
  });
  state.pipelines = new Map();
  $("#pipelines-list").replaceChildren();
  $("#events-feed").replaceChildren();
  $("#artifacts-list").replaceChildren();
  $("#plans").replaceChildren();
  $("#invitations").replaceChildren();
  show($("#invitations"), false);
  $("#payments").replaceChildren();
  show($("#pipeline-detail"), false);
  show($("#payment-pending"), false);
  $("#credits").textContent = "–";
  show($("#boot-status"), false);
  say($("#fatal"), "");
  show($("#app-view"), false);
  show($("#account-bar"), false);
  show($("#auth-view"), true);
  // Signing out forgets the open run; a link to a run opened while signed out is kept for after sign-in.
  if (location.hash && wasSignedIn) history.replaceState(null, "", location.pathname);
  setBodyState("signed-out");
}

/** Pending invitations, each with an explicit Accept and Decline (never joined implicitly). */
function renderInvitations(me) {
  const box = $("#invitations");
  const items = (me && me.pending_invitations) || [];
  box.replaceChildren();
  show(box, items.length > 0);
  for (const inv of items) {
    const act = async (verb) => {
      try {
        await state.api.post(`/api/me/invitations/${encodeURIComponent(inv.tenant_id)}/${verb}`);
        if (verb === "accept") {
          await state.user.getIdToken(true); // the new workspace is in the refreshed token
          location.reload(); // start clean in the joined workspace (listeners, lists, billing)
        } else {
          toast("Invitation declined.");
          renderInvitations({ pending_invitations: items.filter((i) => i !== inv) });
        }
      } catch (e) {
        toast(e.message, "error");
      }
    };
    box.append(h("p", { dataset: { testid: "invitation" } },
      `${inv.tenant_name || inv.tenant_id} invited you as ${inv.role}. `,
      h("button", { type: "button", class: "btn", dataset: { testid: "accept-invitation" }, onclick: () => act("accept") }, "Accept"),
      " ",
      h("button", { type: "button", class: "btn btn-quiet", dataset: { testid: "decline-invitation" }, onclick: () => act("decline") }, "Decline")));
  }
}

function renderHeader() {
  const me = state.me || {};
  $("#workspace-name").textContent = (me.tenant && me.tenant.name) || "Your workspace";
  const role = state.role || "member";
  const badge = $("#role-badge");
  badge.textContent = role;
  badge.dataset.role = role;
  $("#user-email").textContent = me.email || (state.user && state.user.email) || "";
}

function applyRole() {
  const canSubmit = CAN_ACT.includes(state.role);
  $("#idea-submit").disabled = !canSubmit;
  say($("#idea-error"), canSubmit ? "" : "Viewers can follow pipelines but not start them.");
  show($("#billing-owner-note"), state.role !== "owner");
}

function stopSubs(group) {
  for (const stop of state.subs[group]) {
    try { stop(); } catch { /* already stopped */ }
  }
  state.subs[group] = [];
}

/** The polling fallback (lib/live.js calls it while realtime fails): everything the live view shows. */
async function reloadEverything() {
  if (!state.user || !state.tenantId) return;
  const id = state.selectedId;
  const jobs = [reloadList(), refreshBilling()];
  if (id) jobs.push(reloadDetail(id), reloadEvents(id));
  await Promise.all(jobs);
}

// ------------------------------------------------------------------------------------------ billing

async function loadPlans() {
  try {
    const data = await state.api.plans();
    state.plans = data.plans || [];
    renderPlans();
  } catch (e) {
    say($("#billing-error"), `Plans could not be loaded: ${e.message}`);
  }
}

function renderPlans() {
  const owner = state.role === "owner";
  $("#plans").replaceChildren(...state.plans.map((p) => {
    const per = p.mode === "subscription" ? ` / ${p.interval || "period"}` : "";
    const verb = p.mode === "subscription" ? "Subscribe" : "Buy";
    const credits = p.credits_per === "period" ? `${p.credits} runs each ${p.interval || "period"}` : `${p.credits} runs, never expire`;
    return h("li", { class: "plan", "data-testid": `plan-${p.name}`, dataset: { plan: p.name } },
      h("div", { class: "plan-text" },
        h("strong", {}, p.title),
        h("span", { class: "muted small" }, `${money(p.amount, p.currency)}${per} · ${credits}`)),
      owner
        ? h("button", {
          type: "button", class: "btn btn-primary", "data-testid": `buy-${p.name}`,
          // The accessible name starts with the visible word (WCAG 2.5.3, axe label-content-name-mismatch).
          "aria-label": `${verb}: ${p.title}`, onclick: (e) => buy(p, e.currentTarget),
        }, verb)
        : null);
  }));
}

async function buy(plan, btn) {
  say($("#billing-error"), "");
  btn.disabled = true;
  btn.textContent = "Redirecting…";
  try {
    const session = await state.api.checkout(plan.name);
    const before = state.billing ? state.billing.credits : 0;
    sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({
      plan: plan.name, credits: plan.credits, before, session_id: session.session_id, at: Date.now(),
    }));
    location.assign(session.url);
  } catch (e) {
    say($("#billing-error"), e.message);
    btn.disabled = false;
    btn.textContent = plan.mode === "subscription" ? "Subscribe" : "Buy";
  }
}

async function refreshBilling() {
  try {
    state.billing = await state.api.billing();
    say($("#billing-error"), "");
  } catch (e) {
    if (e.code !== "billing_not_found") say($("#billing-error"), `Billing could not be loaded: ${e.message}`);
    state.billing = state.billing || { credits: 0, status: "none", payments: [] };
  }
  renderBilling();
  return state.billing;
}

function renderBilling() {
  const b = state.billing || { credits: 0, status: "none", payments: [] };
  const credits = $("#credits");
  credits.textContent = String(b.credits ?? 0);
  credits.dataset.credits = String(b.credits ?? 0);
  const bits = [`${b.credits ?? 0} run${b.credits === 1 ? "" : "s"} left`];
  const plan = state.plans.find((x) => x.name === b.plan);
  if (b.plan) bits.push(plan ? plan.title : statusLabel(b.plan));
  if (b.status && !["none", "active", "paid"].includes(b.status)) bits.push(statusLabel(b.status));
  if (b.subscription && b.subscription.cancel_at_period_end) bits.push("subscription ends at period end");
  if (b.status === "past_due") bits.push("payment past due: update your card to keep running");
  $("#billing-summary").textContent = bits.join(" · ");
  const pays = b.payments || [];
  $("#payments").replaceChildren(...(pays.length ? pays.map((p) => h("li", {
    "data-testid": "payment", dataset: { status: p.status || "" },
  }, h("span", {}, p.kind === "run_refund" ? "1 run refunded" : `${p.plan || p.kind} · ${money(p.amount, p.currency || "usd")}`),
  h("span", { class: `chip chip-${p.status}` }, statusLabel(p.status)),
  h("span", { class: "muted small" }, dateTime(p.created)))) : [h("li", { class: "muted small" }, "No payments yet.")]));
}

function handleCheckoutReturn() {
  const ret = state.checkoutReturn;
  state.checkoutReturn = null;
  if (!ret) return;
  let stored = null;
  try { stored = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) || "null"); } catch { stored = null; }
  sessionStorage.removeItem(CHECKOUT_KEY);
  if (ret.outcome === "cancel") {
    toast("Checkout cancelled; you were not charged.");
    return;
  }
  if (ret.outcome !== "success") return;
  toast("Checkout complete. Thank you!", "success");
  const before = stored && typeof stored.before === "number" ? stored.before : 0;
  waitForCredits(before, ret.sessionId);
}

/** After Checkout, credits arrive with Stripe's webhook: poll briefly and say so meanwhile. */
function waitForCredits(before, sessionId) {
  const note = $("#payment-pending");
  const started = Date.now();
  clearInterval(state.pendingTimer);
  const check = async () => {
    const b = await refreshBilling();
    if ((b.credits ?? 0) > before) {
      clearInterval(state.pendingTimer);
      show(note, false);
      toast(`${b.credits - before} credit${b.credits - before === 1 ? "" : "s"} added. You can start the factory.`, "success");
      return;
    }
    const pending = (b.payments || []).some((p) => p.status === "pending");
    note.textContent = pending
      ? "Payment pending: your bank is still confirming it. Credits appear here as soon as it clears."
      : "Payment received. Your credits will appear in a moment…";
    show(note, true);
    if (Date.now() - started > PENDING_MAX_MS) {
      clearInterval(state.pendingTimer);
      note.textContent = "Payment pending: credits have not arrived yet. They appear here once Stripe confirms the payment; reload later.";
    }
  };
  state.pendingTimer = setInterval(() => check().catch(() => {}), PENDING_POLL_MS);
  check().catch(() => {});
}

// ------------------------------------------------------------------------------------------ ideas

function newIdempotencyKey() {
  if (globalThis.crypto && crypto.randomUUID) return `idea-${crypto.randomUUID()}`;
  return `idea-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

const IDEA_FIELDS = {
  title: ["idea-title", "idea-title-error"],
  description: ["idea-description", "idea-description-error"],
  target_audience: ["idea-audience", "idea-audience-error"],
  key_features: ["idea-features", "idea-features-error"],
  approval_gates: ["gate-idea_validation", "idea-gates-error"],
  compute_s: ["idea-budget", "idea-budget-error"],
  preferred_stack: ["idea-stack", "idea-stack-error"],
};

async function onSubmitIdea(ev) {
  ev.preventDefault();
  const err = $("#idea-error");
  say(err, "");
  const { body, errors } = ideaFromForm({
    title: $("#idea-title").value,
    description: $("#idea-description").value,
    target_audience: $("#idea-audience").value,
    features: $("#idea-features").value,
    gates: $$('input[name="approval_gates"]:checked').map((i) => i.value),
    compute_s: $("#idea-budget").value,
    preferred_stack: $("#idea-stack").value,
    plan_review: $("#idea-plan-review").checked,
  });
  if (state.rerunTokens) {
    body.constraints = { ...(body.constraints || {}) };
    body.constraints.budget = { ...(body.constraints.budget || {}), tokens: state.rerunTokens };
  }
  if (errors.compute_s || errors.preferred_stack) $("#idea-form details.advanced").open = true;
  showFieldErrors(IDEA_FIELDS, errors);
  if (Object.keys(errors).length) {
    say(err, "Please fix the highlighted fields.");
    return;
  }
  const btn = $("#idea-submit");
  btn.disabled = true;
  btn.textContent = "Starting…";
  show($("#idea-buy"), false);
  // One key per submission, kept until it succeeds: a dropped connection or a 503 is retried with
  // the same key, so a run that was created (and paid for) is found again, never created twice.
  const sameIdea = state.pendingIdea && state.pendingIdea.body === JSON.stringify(body);
  if (!sameIdea) state.pendingIdea = { body: JSON.stringify(body), key: newIdempotencyKey() };
  try {
    let res;
    for (let tries = 1; ; tries++) {
      try {
        res = await state.api.submitIdea(body, state.pendingIdea.key);
        break;
      } catch (e) {
        if (!(e instanceof ApiError) || ![0, 502, 503, 504].includes(e.status) || tries >= 4) throw e;
        await new Promise((r) => setTimeout(r, 1000 * tries));
      }
    }
    state.pendingIdea = null;
    state.rerunTokens = null;
    $("#idea-form").reset();
    toast("Your idea is in the factory. Watch it build below.", "success");
    refreshBilling();
    location.hash = `#/runs/${res.pipeline_id}`;
  } catch (e) {
    if (e instanceof ApiError && e.fieldErrors.length) {
      const fields = {};
      for (const d of e.fieldErrors) {
        const key = ideaField(d.field);
        if (key && !fields[key]) fields[key] = d.message;
      }
      showFieldErrors(IDEA_FIELDS, fields);
    }
    let msg = e.message;
    const outOfRuns = e.status === 402;
    if (outOfRuns && state.role !== "owner") msg = `${e.message} Ask the workspace owner to buy more runs.`;
    say(err, msg);
    show($("#idea-buy"), outOfRuns && state.role === "owner");
    if (outOfRuns) refreshBilling();
  } finally {
    btn.disabled = !CAN_ACT.includes(state.role);
    btn.textContent = "Start the factory";
  }
}

// ------------------------------------------------------------------------------------------ pipelines list

function startBillingListener() {
  // The balance document (tenants/{t}/billing/state, readable by members per firestore.rules): any
  // server change (a credit spent in another session, a refund, a payment) refreshes the billing view.
  let timer = null;
  const ref = state.fb.fsMod.doc(state.fb.db, "tenants", state.tenantId, "billing", "state");
  let first = true;
  state.live.listen("billing", ref, (snap, { fromCache }) => {
    if (fromCache) return;
    if (first) { first = false; return; } // enter() has just loaded it
    clearTimeout(timer);
    timer = setTimeout(refreshBilling, 30);
  }, () => { /* the polling fallback reloads billing too */ });
}

function startPipelinesListener() {
  stopSubs("list");
  const { status, limit } = state.list;
  state.list.fromServer = false;
  renderList([], false);
  const q = runsQuery(state.fb.fsMod, state.fb.db, state.tenantId, { status, limit });
  state.live.listen("list", q, (snap, { fromCache }) => {
    // Cache-only data is not the truth (it can be empty or partial while the server has runs): wait.
    if (fromCache || state.list.status !== status || state.list.limit !== limit) return;
    say($("#pipelines-error"), "");
    state.list.more = snap.size >= limit;
    renderList(snap.docs.map((d) => ({ pipeline_id: d.id, ...d.data() })), true);
  }, (e) => {
    say($("#pipelines-error"), `Live updates are unavailable (${e.code || e.message}); refreshing every few seconds.`);
  });
}

async function reloadList() {
  const { status, limit } = state.list;
  const { items, more } = await fetchRuns(state.api, { status, limit });
  if (state.list.status !== status || state.list.limit !== limit) return; // changed meanwhile
  state.list.more = more;
  renderList(items, true);
}

function renderList(items, fromServer = state.list.fromServer) {
  const list = $("#pipelines-list");
  const focusedId = document.activeElement && document.activeElement.closest("[data-pipeline-id]")
    ? document.activeElement.closest("[data-pipeline-id]").dataset.pipelineId : null;
  state.list.fromServer = Boolean(fromServer);
  state.list.items = items;
  if (fromServer) for (const p of items) state.pipelines.set(p.pipeline_id, p);
  const shown = items.filter((p) => matches(p, state.list.search));
  show($("#pipelines-loading"), !state.list.fromServer);
  const empty = $("#pipelines-empty");
  const filterName = (FILTERS.find(([v]) => v === state.list.status) || ["", ""])[1].toLowerCase();
  empty.textContent = state.list.search.trim()
    ? `No run loaded matches "${state.list.search.trim()}".${state.list.more ? " Show older runs to search further." : ""}`
    : state.list.status ? `No runs are ${filterName}.` : "No pipelines yet. Submit an idea to start one.";
  show(empty, state.list.fromServer && shown.length === 0);
  show($("#runs-more"), state.list.fromServer && state.list.more);
  list.replaceChildren(...shown.map((p) => {
    const selected = p.pipeline_id === state.selectedId;
    const progress = Number(p.progress || 0);
    const stage = p.status === "running" || p.status === "queued" ? ` · ${label(p.current_stage)}` : "";
    return h("li", {
      class: `pipeline-item${selected ? " selected" : ""}`, "data-testid": "pipeline-item",
      dataset: { pipelineId: p.pipeline_id, status: p.status, progress: String(progress) },
    }, h("button", {
      type: "button", class: "pipeline-open", "data-testid": "open-pipeline",
      "aria-current": selected ? "true" : null,
      onclick: () => {
        if (location.hash === `#/runs/${p.pipeline_id}`) focusRun();
        else location.hash = `#/runs/${p.pipeline_id}`;
      },
    },
    h("span", { class: "pipeline-line" },
      h("span", { class: "pipeline-name" }, p.project_name || p.pipeline_id),
      h("span", { class: `chip chip-${p.status}`, "data-testid": "status-chip" }, statusLabel(p.status))),
    h("span", { class: "pipeline-line" },
      h("progress", {
        max: 100, value: progress, "data-testid": "pipeline-progress",
        "aria-label": `${p.project_name || "Pipeline"} progress`,
      }),
      h("span", { class: "muted small nowrap" }, `${progress}%${stage}`)),
    h("span", { class: "muted small" }, `Started ${dateTime(p.created_at)}${featuresBuilt(p)}`)));
  }));
  if (focusedId) {
    const again = list.querySelector(`[data-pipeline-id="${CSS.escape(focusedId)}"] button`);
    if (again) again.focus();
  }
  // Refresh the summary numbers when a run starts, changes status or finishes.
  const signature = items.map((p) => `${p.pipeline_id}:${p.status}`).join(",");
  if (signature !== state.listSignature) refreshStatus();
  state.listSignature = signature;
}

function refreshStatus() {
  clearTimeout(state.statusTimer);
  state.statusTimer = setTimeout(async () => {
    if (!state.user) return;
    try {
      const s = await state.api.status();
      const c = s.counts || {};
      const parts = [`${s.total} run${s.total === 1 ? "" : "s"}`];
      for (const k of ["running", "awaiting_approval", "completed", "failed"]) if (c[k]) parts.push(`${c[k]} ${statusLabel(k)}`);
      if (s.success_rate !== null && s.success_rate !== undefined) parts.push(`success ${Math.round(s.success_rate * 100)}%`);
      if (s.avg_duration_ms) parts.push(`avg ${duration(s.avg_duration_ms)}`);
      $("#factory-stats").textContent = parts.join(" · ");
    } catch {
      $("#factory-stats").textContent = "";
    }
  }, 300);
}

// ------------------------------------------------------------------------------------------ detail

function route() {
  if (!state.user) return;
  const legacy = location.hash.match(/^#\/pipelines\/([A-Za-z0-9_-]+)$/);
  if (legacy) history.replaceState(null, "", `${location.pathname}${location.search}#/runs/${legacy[1]}`);
  const m = location.hash.match(/^#\/runs\/([A-Za-z0-9_-]+)$/);
  const id = m ? m[1] : null;
  if (id === state.selectedId) return;
  openDetail(id);
  if (id) focusRun();
}

/** Bring the open run into view and put the keyboard there (a tap on a phone visibly does something). */
function focusRun() {
  const section = $("#pipeline-detail");
  if (section.hidden) return;
  section.scrollIntoView({ block: "start" });
  $("#detail-title").focus({ preventScroll: true });
}

function workspaceTitle() {
  const me = state.me || {};
  return `${(me.tenant && me.tenant.name) || "Your workspace"} · SaaS Factory`;
}

function openDetail(id) {
  stopSubs("detail");
  state.live.unlisten("run");
  state.live.unlisten("events");
  state.selectedId = id;
  state.selected = null;
  state.artifactsKey = "";
  state.artifactItems = [];
  if (state.viewer) state.viewer.close({ restoreFocus: false });
  const section = $("#pipeline-detail");
  $("#events-feed").replaceChildren();
  $("#artifacts-list").replaceChildren();
  show($("#artifacts-empty"), true);
  say($("#action-error"), "");
  say($("#detail-error"), "");
  askCancel(false, false);
  show($("#retry-budget"), false);
  $("#stage-announcer").textContent = "";
  for (const li of $$("#pipelines-list [data-pipeline-id]")) {
    const on = li.dataset.pipelineId === id;
    li.classList.toggle("selected", on);
    const b = li.querySelector("button");
    if (on) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
  }
  if (!id) {
    show(section, false);
    document.title = workspaceTitle();
    return;
  }
  section.dataset.pipelineId = id;
  section.dataset.live = "off";
  delete section.dataset.status;
  const known = state.pipelines.get(id);
  $("#detail-title").textContent = (known && known.project_name) || "Loading… waiting for the server";
  document.title = `${(known && known.project_name) || "Run"} · SaaS Factory`;
  show(section, true);

  const { doc, collection, query, orderBy } = state.fb.fsMod;
  const pref = doc(state.fb.db, "tenants", state.tenantId, "pipelines", id);
  state.live.listen("run", pref, (snap, { fromCache }) => {
    // From the cache alone, a missing document proves nothing: wait for the server (or the fallback).
    if (state.selectedId !== id || fromCache) return;
    section.dataset.live = "realtime";
    if (!snap.exists()) {
      renderMissing();
      return;
    }
    renderDetail({ pipeline_id: snap.id, ...snap.data() });
  }, (e) => {
    if (state.selectedId !== id) return;
    if (e.code === "permission-denied") {
      // Not readable here (another workspace's run, or membership gone): the API says which.
      state.live.unlisten("run");
      state.live.unlisten("events");
      reloadDetail(id).catch((err) => say($("#action-error"), err.message));
      return;
    }
    say($("#action-error"), `Live updates are unavailable (${e.code || e.message}); refreshing every few seconds.`);
  });
  state.live.listen("events", query(collection(pref, "events"), orderBy("seq")), (snap) => {
    if (state.selectedId !== id) return;
    for (const ch of snap.docChanges()) {
      if (ch.type === "added") addEvent(ch.doc.id, ch.doc.data());
    }
  }, (e) => {
    if (e.code === "permission-denied") state.live.unlisten("events"); // the run's listener says why
  });
}

/** The fallback's read of the open run: the API is the truth, a 404 included. */
async function reloadDetail(id) {
  try {
    const p = await state.api.pipeline(id);
    if (state.selectedId !== id) return;
    $("#pipeline-detail").dataset.live = "polling";
    renderDetail(p);
  } catch (err) {
    if (err.status !== 404) throw err;
    if (state.selectedId === id) renderMissing();
  }
}

/** The fallback's read of the open run's events: those after the newest one shown. */
async function reloadEvents(id) {
  const feed = $("#events-feed");
  let after = Math.max(0, ...[...feed.children].map((li) => Number(li.dataset.seq) || 0));
  for (let pages = 0; pages < 10; pages++) {
    let page;
    try {
      page = await state.api.get(`/api/factory/pipelines/${encodeURIComponent(id)}/events?after=${after}`);
    } catch (err) {
      if (err.status === 404) return;
      throw err;
    }
    if (state.selectedId !== id) return;
    for (const e of page.events || []) addEvent(e.id, e);
    if (!page.next_after) return;
    after = page.next_after;
  }
}

function renderMissing() {
  $("#detail-title").textContent = "Pipeline not found";
  say($("#detail-error"), "There is no such pipeline in your workspace.");
  $("#pipeline-detail").dataset.status = "missing";
  document.title = "Run not found · SaaS Factory";
  for (const id of ["action-approve", "action-retry", "action-cancel", "approve-comment", "action-edit-rerun", "needs-input",
    "cancel-confirm", "retry-budget", "action-request-changes", "gate-review", "preview-expired", "rerun-form",
    "change-app", "versions"]) {
    show($(`#${id}`), false);
  }
}

function renderDetail(p) {
  announceStages($("#stage-announcer"), p, state.selected);
  state.selected = p;
  const section = $("#pipeline-detail");
  section.dataset.status = p.status;
  $("#detail-title").textContent = p.project_name || p.pipeline_id;
  document.title = `${p.project_name || "Run"} · SaaS Factory`;
  const chip = $("#detail-status");
  chip.textContent = statusLabel(p.status);
  chip.dataset.status = p.status;
  chip.className = `chip chip-${p.status}`;

  const meta = [`Started ${dateTime(p.created_at)}`];
  if (!TERMINAL.includes(p.status) && p.current_stage) meta.push(`now: ${label(p.current_stage)}`);
  if (p.completed_at) meta.push(`finished ${dateTime(p.completed_at)}`);
  if (p.duration_ms) meta.push(`took ${duration(p.duration_ms)}`);
  if (p.spent && (p.spent.compute_s || p.spent.usd)) meta.push(`spent ${cost(p.spent)}`);
  $("#detail-meta").textContent = meta.join(" · ");

  const progress = Math.max(0, Math.min(100, Number(p.progress || 0)));
  const bar = $("#detail-progress");
  bar.value = progress;
  bar.dataset.progress = String(progress);
  const done = stagesDone(p);
  bar.setAttribute("aria-valuetext", `${done}, ${progress}% (${statusLabel(p.status)})`);
  $("#detail-progress-label").textContent = done;

  say($("#detail-error"), p.status === "failed" ? (p.error_message || "The run failed.") : "");
  let note = "";
  if (p.status === "cancelled") {
    const by = state.user && p.error_message ? p.error_message.replace(state.user.uid, "you") : "";
    note = `This run was cancelled${by.startsWith("Cancelled by ") ? ` ${by.slice(10)}` : ""}.`;
  }
  say($("#detail-note"), note);
  say($("#detail-awaiting"), p.status === "awaiting_approval"
    ? `Waiting for your approval of ${label(p.awaiting_approval_for)} before the next stage starts.` : "");
  if (p.credit && p.credit.state === "refunded" && TERMINAL.includes(p.status)) {
    say($("#detail-note"), `${note ? `${note} ` : ""}Your credit for this run was refunded.`);
  }

  const canAct = CAN_ACT.includes(state.role);
  const awaiting = p.status === "awaiting_approval";
  show($("#action-approve"), canAct && awaiting);
  show($("#approve-comment"), canAct && awaiting);
  const budgetKey = p.status === "failed" && p.error_code === "budget_exceeded" ? usedUpBudget(p) : null;
  show($("#action-retry"), canAct && p.status === "failed" && !budgetKey);
  renderRetryBudget(p, canAct ? budgetKey : null);
  show($("#action-request-changes"), canAct && awaiting);
  show($("#action-cancel"), canAct && !TERMINAL.includes(p.status));
  if (!canAct || TERMINAL.includes(p.status)) askCancel(false, false);
  show($("#action-edit-rerun"), canAct && ["failed", "cancelled"].includes(p.status));
  state.renderRerun(p, canAct);
  if (awaiting) $("#action-approve").textContent = `Approve ${label(p.awaiting_approval_for)}`;

  renderStages(p);
  renderCoverage(p);
  renderPreview(p);
  maybeLoadArtifacts(p);
  renderGate({ run: p, artifacts: state.artifactItems, viewer: state.viewer });
  renderNeedsInput(p, canAct);
  state.change.render(p, canAct);
  renderPlan(p);
  state.renderVersions(p, canAct);
  // A refund changes the balance: show it without a reload (once per refund of this run).
  const refundKey = p.credit && p.credit.state === "refunded" ? `${p.pipeline_id}|${p.credit.refunds}` : "";
  if (refundKey && state.lastRefundSeen !== refundKey) {
    state.lastRefundSeen = refundKey;
    refreshBilling();
  }
}

/** The plan editor: a plan under review, or a completed run's change while one is open (web/views/change.js). */
function renderPlan(p) {
  if (!p) return;
  renderPlanReview($("#plan-review"), p, { api: state.api, canAct: CAN_ACT.includes(state.role), toast, change: state.change });
}

function renderStages(p) {
  timelineStages($("#stages-body"), p);
}

function featuresBuilt(p) {
  const qa = (((p.stages || {}).qa || {}).summary) || {};
  if (!qa.features_total) return "";
  const partial = Number(qa.features_partial || 0);
  return ` · ${Number(qa.features_built || 0)} of ${Number(qa.features_total)} features built`
    + (partial ? `, ${partial} partial` : "");
}

const COVERAGE_LABEL = { built: "Built", partial: "Partial", failing: "Tests failing", not_covered: "Not covered" };

function coverageWords(r) {
  // What was built, and what was not, in the founder's own words (issue 16).
  const parts = [];
  if (r.built_as) parts.push(h("div", {}, String(r.built_as)));
  const missing = Array.isArray(r.not_built) ? r.not_built : [];
  if (r.status === "partial" && missing.length) parts.push(h("div", { class: "small" }, `Not built: ${missing.join("; ")}`));
  else if (r.reason && r.status !== "built") parts.push(h("div", { class: "small" }, String(r.reason)));
  const c = r.criteria || {};
  if (c.total) parts.push(h("div", { class: "small" }, `Acceptance criteria: ${Number(c.passed || 0)} of ${Number(c.total)} passed`));
  return parts.length ? parts : ["–"];
}

function renderCoverage(p) {
  const summary = (((p.stages || {}).qa || {}).summary) || {};
  const rows = Array.isArray(summary.coverage) ? summary.coverage : [];
  const total = Number(summary.features_total || 0);
  show($("#detail-coverage"), total > 0);
  if (!total) return;
  const partial = Number(summary.features_partial || 0);
  const notCovered = rows.filter((r) => r.status === "not_covered").length;
  $("#coverage-headline").textContent = `${Number(summary.features_built || 0)} of ${total} features built`
    + (partial ? `, ${partial} partial` : "") + (notCovered ? `, ${notCovered} not covered` : "")
    + (summary.coverage_truncated ? " (table shortened)" : "")
    + (summary.exploits && Array.isArray(summary.exploits.failed) && summary.exploits.failed.length
      ? ` · exploit gate failed: ${summary.exploits.failed.join(", ")}` : "");
  $("#coverage-body").replaceChildren(...rows.map((r) => h("tr", { "data-testid": "coverage-row", dataset: { status: r.status } },
    h("th", { scope: "row" }, String(r.feature || "")),
    h("td", {}, h("span", { class: `chip chip-${r.status === "built" ? "completed" : r.status === "failing" ? "failed" : r.status === "partial" ? "running" : "pending"}` },
      COVERAGE_LABEL[r.status] || String(r.status || ""))),
    h("td", {}, (r.capabilities || []).join(", ") || "–"),
    h("td", { class: "small" }, r.tests_total ? `${(r.tests || []).join(", ")}${r.tests_total > (r.tests || []).length ? ` +${r.tests_total - r.tests.length} more` : ""}` : "–"),
    h("td", { class: "small" }, ...coverageWords(r)))));
}

function previewUrl(p) {
  const dep = (p.stages || {}).deployment || {};
  const summary = dep.summary || {};
  const url = summary.url || (summary.preview && summary.preview.url);
  return dep.status === "completed" && typeof url === "string" && /^https?:\/\//.test(url) ? url : null;
}

function claimUrl(url) {
  const claim = state.claim.url;
  return url && typeof claim === "string" && claim.startsWith(url.replace(/\/+$/, "") + "/claim?token=") ? claim : null;
}

// The claim link is not in the run document (every member of the workspace reads that): it is asked of
// the API once per deployment, by those who may start runs (viewers never may see it). The API answers
// the workspace owner and the member who started the run; anyone else gets a 403 and sees no link.
function maybeLoadClaim(p, url) {
  const dep = (p.stages || {}).deployment || {};
  const key = url && CAN_ACT.includes(state.role) ? `${p.pipeline_id}|${dep.attempt || 0}|${url}` : "";
  if (key === state.claim.key) return;
  state.claim = { key, url: null };
  if (!key) return;
  state.api.claim(p.pipeline_id).then((data) => {
    if (state.claim.key !== key) return;
    state.claim = { key, url: data && data.claim_url };
    if (state.selected && state.selected.pipeline_id === p.pipeline_id) renderPreview(state.selected);
  }).catch(() => {}); // 403 (not the owner nor the starter) or 404 (not deployed): no link to show
}

function renderPreview(p) {
  const url = previewUrl(p);
  const link = $("#preview-link");
  if (url) {
    link.href = url;
    link.textContent = url;
  } else {
    link.removeAttribute("href");
  }
  maybeLoadClaim(p, url);
  const claim = claimUrl(url);
  const claimLink = $("#claim-link");
  if (claim) claimLink.href = claim;
  else claimLink.removeAttribute("href");
  show($("#claim-note"), Boolean(claim));
  // An expired preview is not "Deployed": the expired state offers a redeploy instead of a dead link.
  const expired = state.previewLife.render(p, url);
  show($("#detail-preview"), Boolean(url) && !expired);
}

function addEvent(id, e) {
  timelineEvent($("#events-feed"), id, e, state.user ? state.user.uid : null);
}

// ------------------------------------------------------------------------------------------ actions

/** Cancel asks first: open (or close) the inline confirmation. */
function askCancel(open, refocus = true) {
  show($("#cancel-confirm"), open);
  $("#action-cancel").setAttribute("aria-expanded", String(open));
  if (open) $("#action-cancel-confirm").focus();
  else if (refocus && !$("#action-cancel").hidden) $("#action-cancel").focus();
}

/** Which budget a budget-failed run used up ("compute_s" | "tokens"). */
function usedUpBudget(p) {
  const budget = p.budget || {};
  const spent = p.spent || {};
  return ["compute_s", "tokens"].find((k) => budget[k] && Number(spent[k] || 0) >= Number(budget[k])) || "compute_s";
}

/** A budget-failed run: a number field to raise the budget, pre-filled with twice what it used. */
function renderRetryBudget(p, key, details = null) {
  const form = $("#retry-budget");
  show(form, Boolean(key));
  if (!key) return;
  const budget = (details && details.budget) || p.budget || {};
  const spent = (details && details.spent) || p.spent || {};
  const used = Number(spent[key] || 0);
  const words = key === "tokens"
    ? [`${used.toLocaleString()} tokens`, `${Number(budget[key] || 0).toLocaleString()} tokens`]
    : [duration(used * 1000), duration(Number(budget[key] || 0) * 1000)];
  $("#retry-budget-text").textContent = `This run stopped because it used its budget: ${words[0]} of ${words[1]}`
    + `${key === "tokens" ? "" : " of compute"}. Raise the budget to retry it from where it stopped.`;
  $("#retry-budget-label").textContent = key === "tokens" ? "New token budget" : "New compute budget (seconds)";
  const input = $("#retry-budget-value");
  input.min = String(key === "tokens" ? Math.floor(used) + 1 : Math.ceil(used + 0.001));
  const fillKey = `${p.pipeline_id}|${key}|${used}`;
  if (form.dataset.filledFor !== fillKey) {
    form.dataset.filledFor = fillKey;
    input.value = String(Math.max(1, Math.ceil(Math.max(used, Number(budget[key] || 0)) * 2)));
  }
  form.dataset.key = key;
}

async function onRetryBudget(ev) {
  ev.preventDefault();
  const form = $("#retry-budget");
  const input = $("#retry-budget-value");
  const key = form.dataset.key || "compute_s";
  const n = Number(input.value);
  if (!input.value.trim() || !Number.isFinite(n) || n <= 0 || n < Number(input.min || 0)) {
    input.setAttribute("aria-invalid", "true");
    say($("#action-error"), `Enter a budget of at least ${input.min || 1}${key === "tokens" ? " tokens" : " seconds"}: more than the run has used.`);
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  await act("retry", { budget: { [key]: key === "tokens" ? Math.round(n) : n } }, $("#action-retry-budget"));
}

async function act(action, extra = null, btn = $(`#action-${action}`)) {
  const id = state.selectedId;
  if (!id) return;
  say($("#action-error"), "");
  btn.disabled = true;
  try {
    let body = extra || {};

    if (action === "approve") {
      const stage = state.selected && state.selected.awaiting_approval_for;
      const comment = $("#approve-comment").value.trim();
      body = { ...(stage ? { stage } : {}), ...(comment ? { comment } : {}) };
    }
    if (action === "request-changes") {
      const stage = state.selected && state.selected.awaiting_approval_for;
      const comment = $("#approve-comment").value.trim();
      if (!comment) {
        say($("#action-error"), "Write what should change in the comment field, then request changes.");
        $("#approve-comment").focus();
        return;
      }
      body = { ...(stage ? { stage } : {}), comment };
    }
    await state.api.action(id, action, body);
    $("#approve-comment").value = "";
    toast({
      cancel: "Run cancelled.", retry: "Retrying the run.", approve: "Approved; the factory continues.",
      "request-changes": "Changes requested; the run waits here and your comment is in its events.",
      continue: "Continuing with the idea as it stands.",
    }[action], "success");
    if (action === "cancel" || action === "retry") refreshBilling();
  } catch (e) {
    if (action === "retry" && e.code === "budget_exceeded" && state.selected) {
      // Retrying needs a larger budget: offer the field, not the API's wording.
      renderRetryBudget(state.selected, usedUpBudget({ ...state.selected, ...(e.details || {}) }), e.details);
      show($("#action-retry"), false);
      say($("#action-error"), "The budget is used up: raise it below to retry.");
      $("#retry-budget-value").focus();
    } else {
      say($("#action-error"), e.message);
    }
  } finally {
    btn.disabled = false;
  }
}

// ------------------------------------------------------------------------------------------ needs input & edits

function featuresText(list) {
  return (list || []).join("\n");
}

function renderNeedsInput(p, canAct) {
  const panel = $("#needs-input");
  const waiting = p.status === "needs_input";
  show(panel, waiting);
  if (!waiting) return;
  const summary = ((p.stages || {}).idea_validation || {}).summary || {};
  $("#needs-input-feedback").replaceChildren(
    ...(summary.feedback || []).map((f) => h("li", { "data-testid": "needs-input-item" }, f)));
  for (const id of ["action-resume", "action-continue"]) $(`#${id}`).disabled = !canAct;
  // Pre-fill the form once per pause (a later snapshot must not overwrite what the founder is typing).
  const key = `${p.pipeline_id}|${((p.stages || {}).idea_validation || {}).attempt || 0}`;
  if (panel.dataset.filledFor === key) return;
  panel.dataset.filledFor = key;
  panel.dataset.filled = "false";
  say($("#resume-error"), "");
  state.api.pipelineIdea(p.pipeline_id).then((idea) => {
    if (state.selectedId !== p.pipeline_id) return;
    $("#resume-title").value = idea.title || "";
    $("#resume-description").value = idea.description || "";
    $("#resume-audience").value = idea.target_audience || "";
    $("#resume-features").value = featuresText(idea.key_features);
    panel.dataset.filled = "true";
  }).catch((e) => say($("#resume-error"), `The idea could not be loaded: ${e.message}`));
}

async function onResume(ev) {
  ev.preventDefault();
  const id = state.selectedId;
  if (!id) return;
  const { body, errors } = ideaFromForm({
    title: $("#resume-title").value,
    description: $("#resume-description").value,
    target_audience: $("#resume-audience").value,
    features: $("#resume-features").value,
    gates: [],
    compute_s: "",
    preferred_stack: "",
  });
  if (Object.keys(errors).length) {
    say($("#resume-error"), `Please fix: ${Object.values(errors).join(" ")}`);
    return;
  }
  const btn = $("#action-resume");
  btn.disabled = true;
  say($("#resume-error"), "");
  try {
    const { title, description, target_audience, key_features } = body;
    await state.api.action(id, "resume", { title, description, target_audience, key_features });
    toast("Saved. Validating your idea again…", "success");
  } catch (e) {
    say($("#resume-error"), e.message);
  } finally {
    btn.disabled = false;
  }
}

async function onEditRerun() {
  const id = state.selectedId;
  if (!id) return;
  say($("#action-error"), "");
  try {
    const idea = await state.api.pipelineIdea(id);
    $("#idea-title").value = idea.title || "";
    $("#idea-description").value = idea.description || "";
    $("#idea-audience").value = idea.target_audience || "";
    $("#idea-features").value = featuresText(idea.key_features);
    const c = idea.constraints || {};
    const gates = c.approval_gates || [];
    for (const box of $$('input[name="approval_gates"]')) box.checked = gates.includes(box.value);
    // Every constraint comes along: the budget, the preferred stack (and a token budget, which the
    // form has no field for, is kept aside and sent with the rerun).
    $("#idea-budget").value = c.budget && c.budget.compute_s ? String(c.budget.compute_s) : "";
    $("#idea-stack").value = c.preferred_stack || "";
    $("#idea-plan-review").checked = c.plan_review !== false;
    state.rerunTokens = c.budget && c.budget.tokens ? c.budget.tokens : null;
    if (gates.length || c.budget || c.preferred_stack) $("#idea-form details.advanced").open = true;
    $("#idea-panel").scrollIntoView({ behavior: "smooth", block: "start" });
    $("#idea-title").focus();
    toast("The idea form is filled in with this run's idea: edit it and start a new run.");
  } catch (e) {
    say($("#action-error"), `The idea could not be loaded: ${e.message}`);
  }
}

function onBuyFromIdea(ev) {
  const plan = state.plans.find((p) => p.mode !== "subscription") || state.plans[0];
  if (!plan) {
    $("#billing-panel").scrollIntoView({ behavior: "smooth" });
    return;
  }
  buy(plan, ev.currentTarget);
}

// ------------------------------------------------------------------------------------------ artifacts

function maybeLoadArtifacts(p) {
  const names = STAGES.flatMap((s) => ((p.stages || {})[s] || {}).artifacts || []);
  const key = `${p.pipeline_id}|${names.join(",")}|${p.status}`;
  if (key === state.artifactsKey) return;
  state.artifactsKey = key;
  if (!names.length && !TERMINAL.includes(p.status)) return;
  loadArtifacts(p.pipeline_id);
}

async function loadArtifacts(id) {
  try {
    const data = await state.api.artifacts(id);
    if (state.selectedId !== id) return;
    renderArtifacts(data.artifacts || []);
  } catch (e) {
    if (state.selectedId === id) say($("#action-error"), `Artifacts could not be listed: ${e.message}`);
  }
}

function renderArtifacts(items) {
  state.artifactItems = items;
  if (state.selected) renderGate({ run: state.selected, artifacts: items, viewer: state.viewer });
  show($("#artifacts-empty"), items.length === 0);
  const groups = STAGES.map((s) => [s, items.filter((a) => a.stage === s)]).filter(([, list]) => list.length);
  const other = items.filter((a) => !STAGES.includes(a.stage));
  if (other.length) groups.push(["other", other]);
  $("#artifacts-list").replaceChildren(...groups.map(([stage, list]) => h("li", { class: "artifact-group" },
    h("h4", {}, label(stage)),
    h("ul", {}, list.map(artifactItem)))));
}

function artifactItem(a) {
  const base = a.name.split("/").pop();
  const viewable = Boolean(viewKind(a.name));
  return h("li", { "data-testid": "artifact", class: "artifact", dataset: { name: a.name, stage: a.stage } },
    h("span", { class: "artifact-name" }, a.name),
    h("span", { class: "muted small nowrap" }, bytes(a.size)),
    h("span", { class: "artifact-links" },
      viewable ? h("a", {
        href: a.url, "data-testid": "artifact-open", "aria-label": `Open ${a.name}`,
        onclick: (e) => { e.preventDefault(); state.viewer.open(a, state.artifactItems, e.currentTarget); },
      }, "Open") : null,
      h("a", {
        href: a.url, "data-testid": "artifact-download", "aria-label": `Download ${a.name}`, download: base,
        onclick: (e) => { e.preventDefault(); downloadArtifact(a); },
      }, "Download")));
}

async function artifactBlob(a) {
  return state.api.blob(a.url);
}

async function downloadArtifact(a) {
  try {
    const blob = await artifactBlob(a);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: a.name.split("/").pop(), hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    say($("#action-error"), `Could not download ${a.name}: ${e.message}`);
  }
}

boot();
