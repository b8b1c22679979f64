// Client-side checks that mirror the server's models (shared/models/pipeline.py IdeaCreate,
// shared/models/accounts.py SignupCreate), so a user hears about a bad field before a round trip.
// The server stays the authority: its 400 `details` [{field, message}] are shown the same way.

import { STAGES } from "./format.js";

export const LIMITS = {
  title: [3, 120],
  description: [20, 5000],
  target_audience: [3, 300],
  feature: [2, 200],
  features_max: 20,
  compute_s_max: 24 * 3600,
  preferred_stack_max: 80,
};

const len = (s) => [...s].length; // code points, as Python counts

function range(errors, field, value, [lo, hi], what) {
  const n = len(value);
  if (n < lo) errors[field] = `${what} must be at least ${lo} characters (now ${n}).`;
  else if (n > hi) errors[field] = `${what} must be at most ${hi} characters (now ${n}).`;
}

/** -> {body, errors}: the POST /api/ideas body, and {field: message} for what is wrong. */
export function ideaFromForm({ title, description, target_audience, features, gates, compute_s, preferred_stack, plan_review = true }) {
  const errors = {};
  title = (title || "").trim();
  description = (description || "").trim();
  target_audience = (target_audience || "").trim();
  range(errors, "title", title, LIMITS.title, "The title");
  range(errors, "description", description, LIMITS.description, "The description");
  range(errors, "target_audience", target_audience, LIMITS.target_audience, "The target audience");

  const key_features = (features || "").split("\n").map((f) => f.trim()).filter(Boolean);
  if (key_features.length > LIMITS.features_max) {
    errors.key_features = `At most ${LIMITS.features_max} key features (now ${key_features.length}).`;
  } else {
    const bad = key_features.find((f) => len(f) < LIMITS.feature[0] || len(f) > LIMITS.feature[1]);
    if (bad !== undefined) errors.key_features = `Each key feature must be 2-200 characters ("${bad.slice(0, 40)}").`;
  }

  const constraints = {};
  const approval_gates = (gates || []).filter((g) => STAGES.includes(g));
  if (approval_gates.length) constraints.approval_gates = approval_gates;
  const raw = String(compute_s ?? "").trim();
  if (raw !== "") {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || n > LIMITS.compute_s_max) {
      errors.compute_s = `The compute budget must be a number of seconds above 0 and at most ${LIMITS.compute_s_max}.`;
    } else {
      constraints.budget = { compute_s: n };
    }
  }
  preferred_stack = (preferred_stack || "").trim();
  if (preferred_stack) {
    if (len(preferred_stack) > LIMITS.preferred_stack_max) {
      errors.preferred_stack = `The preferred stack must be at most ${LIMITS.preferred_stack_max} characters.`;
    } else {
      constraints.preferred_stack = preferred_stack;
    }
  }
  // Plan review (issue 19) is on unless the founder unticks it; the API's default is off, so say it either way.
  constraints.plan_review = Boolean(plan_review);
  const body = { title, description, target_audience, key_features, constraints };
  return { body, errors };
}

/** The server's field path ("constraints.budget.compute_s", "key_features.3") -> our field key. */
export function ideaField(path) {
  const p = String(path || "");
  if (p.startsWith("constraints.budget")) return "compute_s";
  if (p.startsWith("constraints.preferred_stack")) return "preferred_stack";
  if (p.startsWith("constraints.approval_gates")) return "approval_gates";
  if (p.startsWith("key_features")) return "key_features";
  const head = p.split(".")[0];
  return ["title", "description", "target_audience"].includes(head) ? head : null;
}

export function signupFromForm({ display_name, company_name, email, password }) {
  const errors = {};
  display_name = (display_name || "").trim();
  company_name = (company_name || "").trim();
  email = (email || "").trim();
  if (!display_name) errors.display_name = "Tell us your name.";
  else if (len(display_name) > 80) errors.display_name = "At most 80 characters.";
  if (!company_name) errors.company_name = "Name your workspace.";
  else if (len(company_name) > 120) errors.company_name = "At most 120 characters.";
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errors.email = "Enter a valid email address.";
  if ((password || "").length < 8) errors.password = "The password needs at least 8 characters.";
  else if (password.length > 128) errors.password = "At most 128 characters.";
  return { body: { email, password, display_name, company_name }, errors };
}
