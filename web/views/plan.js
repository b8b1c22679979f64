// The plan under review (issue 19, decision 0035): the spec as a founder reads it (the data model as a diagram,
// who may do what, every key feature with its reading and status, the signup policy) and the founder's structured
// edits. Every edit is a typed operation picked from forms and pickers, posted to the plan API, which checks it; a
// refused edit shows the problems in the founder's words next to its form. Nothing the founder types becomes code,
// and every piece of text goes into the page through textContent or attributes (the diagram is SVG built with DOM
// calls).
//
// The same editor edits a change of a built app (decision 0039): on a completed run whose change is open
// (web/views/change.js, `ctx.change.isOpen(run)`), the plan is the built spec as version N+1, and "Build this change"
// ([data-testid=change-build], `ctx.change.build()`) takes the place of approving it.

import { h } from "../lib/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const STATUS_WORDS = { built: "Built", partial: "Partial", not_covered: "Not covered", not_needed: "Not needed" };
const EDIT_KINDS = [
  ["retype_attribute", "Change an attribute's type"],
  ["rename_attribute", "Rename an attribute"],
  ["add_attribute", "Add an attribute"],
  ["add_entity", "Add a kind of record"],
  ["link_entities", "Link two kinds of record"],
  ["add_role", "Add a role"],
  ["set_scope", "Change what a role may read or write"],
  ["set_rule_params", "Change a rule's settings"],
  ["bind_feature", "Build a feature with another capability"],
  ["mark_not_needed", "Mark a feature as not needed"],
];

const view = { pid: null, mode: null, data: null, loading: false, op: "retype_attribute", busy: false };

/** "review": the run waits for its plan's review; "change": a completed run's app is being changed; else null. */
function modeOf(p, ctx) {
  if (!p) return null;
  if (p.status === "plan_review") return "review";
  return p.status === "completed" && ctx.change && ctx.change.isOpen(p) ? "change" : null;
}

function heading() {
  if (view.mode !== "change") return "Review the plan";
  return view.data ? `Change the app: version ${view.data.version}` : "Change the app";
}

/** Called on every snapshot of the open run: shows the plan while the run waits for review or while a change of
 * its built app is open, hides it otherwise. */
export function renderPlanReview(root, p, ctx) {
  const mode = modeOf(p, ctx);
  if (!mode) {
    if (!root.hidden || view.pid) {
      root.hidden = true;
      root.replaceChildren();
      Object.assign(view, { pid: null, mode: null, data: null });
    }
    return;
  }
  root.hidden = false;
  if (view.pid === p.pipeline_id && view.mode === mode && (view.data || view.loading)) return;
  view.pid = p.pipeline_id;
  view.mode = mode;
  view.data = null;
  load(root, ctx);
}

async function load(root, ctx, said = "") {
  const pid = view.pid;
  view.loading = true;
  if (!view.data) root.replaceChildren(h("h3", { id: "plan-heading" }, heading()), h("p", { class: "muted" }, "Loading the plan…"));
  try {
    const data = await ctx.api.plan(pid);
    if (view.pid !== pid) return;
    view.data = data;
    draw(root, ctx, said);
  } catch (e) {
    if (view.pid !== pid) return;
    root.replaceChildren(h("h3", { id: "plan-heading" }, heading()),
      h("div", { class: "alert alert-error", role: "alert", "data-testid": "plan-error" }, `The plan could not be loaded: ${e.message}`));
  } finally {
    view.loading = false;
  }
}

// ------------------------------------------------------------------------------------------ the plan as read

function draw(root, ctx, said) {
  const { plan, edits } = view.data;
  const applied = (edits || []).filter((e) => !e.undone);
  const live = h("p", { id: "plan-live", class: "plan-live", role: "status", "aria-live": "polite", "data-testid": "plan-live" }, said);
  const changing = view.mode === "change";
  root.dataset.mode = view.mode;
  root.replaceChildren(
    h("h3", { id: "plan-heading", tabindex: "-1" }, heading()),
    h("p", { class: "small" }, changing
      ? `This is the built app's plan, opened as version ${view.data.version}. Change what should be different below `
        + "(each change is checked as you make it), then build this change: a new run rebuilds the app for one credit "
        + "and its preview keeps the records people entered."
      : "Nothing has been built yet. Check the data, who may do what and each feature; change what "
        + "is not right below (each change is checked as you make it), then approve the plan to build it."),
    live,
    h("h4", {}, "Data"),
    diagram(plan),
    h("h4", {}, "Who may do what"),
    matrix(plan),
    h("h4", {}, "Key features"),
    features(plan, root, ctx),
    h("h4", {}, "Sign-up and public pages"),
    h("p", { "data-testid": "plan-signup" }, signupWords(plan)),
    editor(root, ctx, plan),
    h("h4", {}, "Changes made"),
    applied.length
      ? h("ol", { class: "plan-edits", "data-testid": "plan-edits" },
        applied.map((e) => h("li", { "data-testid": "plan-edit", dataset: { seq: String(e.seq), op: e.op.op || "" } }, e.said || e.op.op)))
      : h("p", { class: "muted small", "data-testid": "plan-edits-empty" }, "No changes yet."),
    actions(root, ctx, applied.length),
  );
}

function signupWords(plan) {
  const s = plan.signup || {};
  const who = s.policy === "public"
    ? `Anyone may sign up${s.role ? ` (as ${s.role})` : ""}.`
    : "People join by invitation only.";
  const pub = plan.public_entities || [];
  const names = pub.map((n) => entityLabel(plan, n));
  return `${who} ${pub.length ? `Visible without signing in: ${names.join(", ")}.` : "Nothing is visible without signing in."}`;
}

function entityLabel(plan, name) {
  const e = plan.entities.find((x) => x.name === name);
  return e ? e.label : name;
}

function svg(tag, attrs = {}, text = null) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  if (text !== null) el.textContent = text;
  return el;
}

function typeWords(a) {
  if (a.type === "reference" && a.links_to) return `→ ${a.links_to}`;
  if (a.type === "enum" && a.values.length) return `one of ${a.values.join(", ")}`;
  return a.type.replaceAll("_", " ");
}

/** Entities as boxes (their attributes with types), links as arrows from the record that points to the one named. */
function diagram(plan) {
  const W = 230; const ROW = 18; const HEAD = 26; const GAP_X = 70; const GAP_Y = 50;
  const cols = Math.max(1, Math.min(3, Math.ceil(Math.sqrt(plan.entities.length))));
  const boxes = new Map();
  let rowTop = 10; let rowH = 0;
  plan.entities.forEach((e, i) => {
    const c = i % cols;
    if (c === 0 && i) { rowTop += rowH + GAP_Y; rowH = 0; }
    const hgt = HEAD + ROW * e.attributes.length + 8;
    rowH = Math.max(rowH, hgt);
    boxes.set(e.name, { x: 10 + c * (W + GAP_X), y: rowTop, w: W, h: hgt, e });
  });
  const width = 20 + cols * W + (cols - 1) * GAP_X;
  const height = rowTop + rowH + 10;
  const linkWords = plan.links.map((l) => `each ${entityLabel(plan, l.from)} points to a ${entityLabel(plan, l.to)}`);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", class: "plan-diagram", "data-testid": "plan-diagram",
    "aria-label": `Data: ${plan.entities.map((e) => e.label).join(", ")}. ${linkWords.join("; ") || "No links."}`,
  });
  const defs = svg("defs");
  const marker = svg("marker", { id: "plan-arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "plan-arrowhead" }));
  defs.append(marker);
  root.append(defs);
  for (const l of plan.links) {
    const a = boxes.get(l.from); const b = boxes.get(l.to);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = edge(a, b);
    const g = svg("g", { class: "plan-link", "data-testid": "diagram-link", "data-from": l.from, "data-to": l.to, "data-attribute": l.attribute || "" });
    g.append(svg("line", { x1, y1, x2, y2, "marker-end": "url(#plan-arrow)" }));
    g.append(svg("text", { x: (x1 + x2) / 2 + 4, y: (y1 + y2) / 2 - 4, class: "plan-link-label" }, l.attribute || l.kind));
    root.append(g);
  }
  for (const { x, y, w, h: hgt, e } of boxes.values()) {
    const g = svg("g", { class: "plan-entity", "data-testid": "diagram-entity", "data-entity": e.name });
    g.append(svg("rect", { x, y, width: w, height: hgt, rx: 6 }));
    g.append(svg("text", { x: x + 10, y: y + 18, class: "plan-entity-name" }, e.label));
    e.attributes.forEach((a, i) => {
      const t = svg("text", { x: x + 10, y: y + HEAD + 12 + i * ROW, class: "plan-attr", "data-testid": "diagram-attribute", "data-attribute": a.name, "data-type": a.type });
      t.append(svg("tspan", {}, `${a.label}${a.required ? " *" : ""}`));
      t.append(svg("tspan", { class: "plan-attr-type", dx: 6 }, typeWords(a)));
      g.append(t);
    });
    root.append(g);
  }
  return h("div", { class: "plan-diagram-wrap" }, root);
}

function edge(a, b) {
  const ca = [a.x + a.w / 2, a.y + a.h / 2]; const cb = [b.x + b.w / 2, b.y + b.h / 2];
  const clip = (box, from, to) => {
    const dx = to[0] - from[0]; const dy = to[1] - from[1];
    const sx = dx ? (box.w / 2) / Math.abs(dx) : Infinity; const sy = dy ? (box.h / 2) / Math.abs(dy) : Infinity;
    const s = Math.min(sx, sy, 1);
    return [from[0] + dx * s, from[1] + dy * s];
  };
  const p1 = clip(a, ca, cb); const p2 = clip(b, cb, ca);
  return [p1[0], p1[1], p2[0], p2[1]];
}

function matrix(plan) {
  const cell = (c) => {
    if (!c || c.read === "none") return c && c.write ? "write only" : "—";
    const read = c.read === "own" ? "reads own" : "reads all";
    return c.write ? `${read}, writes (${c.edit === "own" ? "own rows" : "any row"})` : read;
  };
  return h("div", { class: "table-wrap" }, h("table", { class: "plan-matrix", "data-testid": "plan-matrix" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Role"), plan.entities.map((e) => h("th", { scope: "col" }, e.label)))),
    h("tbody", {}, plan.matrix.map((r) => h("tr", { "data-testid": "matrix-row", dataset: { role: r.role } },
      h("th", { scope: "row" }, r.label, r.manages_users ? h("span", { class: "muted small" }, " (manages users)") : null),
      plan.entities.map((e) => {
        const c = r.entities[e.name];
        return h("td", { "data-testid": "matrix-cell", dataset: { role: r.role, entity: e.name, read: c ? c.read : "none", write: String(Boolean(c && c.write)) } }, cell(c));
      }))))));
}

function features(plan, root, ctx) {
  return h("ol", { class: "plan-features", "data-testid": "plan-features" }, plan.features.map((f) => {
    const rd = f.reading;
    const parts = [
      h("div", { class: "plan-feature-head" }, h("span", { class: "plan-feature-words" }, f.feature),
        h("span", { class: `chip chip-feature-${f.status}`, "data-testid": "feature-status" }, STATUS_WORDS[f.status] || f.status)),
    ];
    if (rd) {
      const who = (rd.actors || []).join(", ");
      const what = [rd.action, rd.record].filter(Boolean).join(" ");
      if (who || what) parts.push(h("div", { class: "small" }, `Read as: ${[who, what].filter(Boolean).join(" — ")}`));
      if (rd.unread && rd.unread.length) parts.push(h("div", { class: "small", "data-testid": "feature-unread" }, `Words not understood: ${rd.unread.join(", ")}`));
    }
    if (f.built_as) parts.push(h("div", { "data-testid": "feature-built-as" }, `Built as: ${f.built_as}`));
    if (f.status === "partial" && f.not_built.length) parts.push(h("div", { class: "small", "data-testid": "feature-not-built" }, `Not built: ${f.not_built.join("; ")}`));
    if (f.reason) parts.push(h("div", { class: "small" }, f.reason));
    for (const c of f.capabilities) {
      const ps = Object.entries(c.params).filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && !v.length));
      parts.push(h("div", { class: "small muted" }, `${c.label} (${c.kind})${ps.length ? `: ${ps.map(([k, v]) => `${k} = ${Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")}` : ""}`));
    }
    if (f.criteria.length) {
      parts.push(h("details", { class: "small" }, h("summary", {}, `Acceptance criteria (${f.criteria.length})`),
        h("ul", {}, f.criteria.map((c) => h("li", {}, c.text)))));
    }
    parts.push(...suggestions(f, root, ctx));
    return h("li", { class: "plan-feature", "data-testid": "plan-feature", dataset: { index: String(f.index), status: f.status } }, parts);
  }));
}

// Suggested edits (decision 0047): typed edits the server derived from the feature's trace, each checked there to
// build the feature or leave less of it missing; "Apply" posts them, in order, through the same edits API.
function suggestions(f, root, ctx) {
  const list = f.suggested_edits || [];
  if (!list.length) {
    return f.no_suggestion ? [h("div", { class: "small muted", "data-testid": "feature-no-suggestion" }, `No suggested change: ${f.no_suggestion}`)] : [];
  }
  const err = h("div", { class: "alert alert-error small", role: "alert", "data-testid": "suggestion-error", hidden: true });
  const items = list.map((s, n) => {
    const btn = h("button", { type: "button", class: "btn btn-small", "data-testid": "suggestion-apply", disabled: !ctx.canAct }, "Apply");
    btn.addEventListener("click", async () => {
      if (view.busy) return;
      view.busy = true;
      btn.disabled = true;
      err.hidden = true;
      const said = [];
      try {
        for (const body of s.edits) said.push((await ctx.api.planEdit(view.pid, body)).edit.said);
        await load(root, ctx, `Done: ${said.join("; ")}.`);
      } catch (e) {
        const problems = e.details && Array.isArray(e.details.problems) ? e.details.problems : [];
        err.textContent = `That suggestion was not applied${said.length ? " in full" : ""}: ${problems.length ? problems.join("; ") : e.message}`;
        err.hidden = false;
        btn.disabled = !ctx.canAct;
        if (said.length) await load(root, ctx, `Done: ${said.join("; ")}.`);
      } finally {
        view.busy = false;
      }
    });
    const after = s.status_after === "built" ? "then built" : `then partial, ${s.missing_after} thing${s.missing_after === 1 ? "" : "s"} missing`;
    return h("li", { "data-testid": "suggested-edit", dataset: { n: String(n) } }, h("span", {}, `${s.reason} (${after}) `), btn);
  });
  return [h("div", { class: "small plan-suggestions" }, h("div", {}, "Suggested changes:"),
    h("ul", { "data-testid": "feature-suggestions" }, items), err)];
}

// ------------------------------------------------------------------------------------------ the editor

let uid = 0;
function field(labelText, control, hint = null) {
  const id = control.id || `plan-f-${++uid}`;
  control.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, labelText, hint ? h("span", { class: "hint" }, ` (${hint})`) : null), control);
}
const select = (name, options, value = null) => h("select", { name, "data-testid": `plan-${name}` },
  options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
const text = (name, attrs = {}) => h("input", { name, "data-testid": `plan-${name}`, maxlength: 80, autocomplete: "off", ...attrs });
const check = (name, labelText) => {
  const id = `plan-f-${++uid}`;
  return h("div", { class: "field check" }, h("label", { for: id }, h("input", { type: "checkbox", id, name, "data-testid": `plan-${name}` }), ` ${labelText}`));
};

function entityOptions(plan) { return plan.entities.map((e) => [e.name, e.label]); }
function attrOptions(plan, entity) {
  const e = plan.entities.find((x) => x.name === entity) || plan.entities[0];
  return e ? e.attributes.map((a) => [a.name, `${a.label} (${a.type.replaceAll("_", " ")})`]) : [];
}
function featureOptions(plan) { return plan.features.map((f) => [String(f.index), `${f.index + 1}. ${f.feature} — ${STATUS_WORDS[f.status] || f.status}`]); }
/** A default as its type's JSON value (a number or yes/no); anything else, or what does not read, as typed (the
 * check then says what is wrong with it). */
function defaultOf(type, raw) {
  if (["integer", "decimal", "money"].includes(type) && raw !== "" && Number.isFinite(Number(raw))) return Number(raw);
  if (type === "boolean" && ["true", "false", "yes", "no"].includes(raw.toLowerCase())) return ["true", "yes"].includes(raw.toLowerCase());
  return raw;
}
const names = (s) => String(s || "").split(",").map((x) => x.trim()).filter(Boolean);

/** The fields of one kind of edit, and how the form becomes the typed edit. */
function editFields(op, plan, form) {
  const types = (plan.attribute_types || []).map((t) => [t, t.replaceAll("_", " ")]);
  const typeExtras = () => [
    field("Allowed values", text("values", { maxlength: 600 }), "for a choice: names separated by commas, e.g. open, paid"),
    field("Links to", select("ref", [["", "—"], ...entityOptions(plan)]), "for a link to another record"),
  ];
  const attrPicker = () => {
    const ent = select("entity", entityOptions(plan));
    const attr = select("name", attrOptions(plan, ent.value));
    ent.addEventListener("change", () => attr.replaceChildren(...attrOptions(plan, ent.value).map(([v, t]) => h("option", { value: v }, t))));
    return [field("Record", ent), field("Attribute", attr)];
  };
  const v = (n) => (form.elements[n] ? form.elements[n].value : "");
  const typed = (body) => {
    if (body.type === "enum") body.values = names(v("values"));
    if (body.type === "reference" && v("ref")) body.ref = v("ref");
    return body;
  };
  switch (op) {
    case "retype_attribute":
      return { fields: [...attrPicker(), field("New type", select("type", types)), ...typeExtras()],
        body: () => typed({ op, entity: v("entity"), name: v("name"), type: v("type") }) };
    case "rename_attribute":
      return { fields: [...attrPicker(), field("New name", text("to", { maxlength: 40 }), "lower case, e.g. due_date"), field("New label", text("label"), "optional")],
        body: () => ({ op, entity: v("entity"), name: v("name"), to: v("to").trim(), ...(v("label").trim() ? { label: v("label").trim() } : {}) }) };
    case "add_attribute":
      return { fields: [field("Record", select("entity", entityOptions(plan))), field("Name", text("name", { maxlength: 40 }), "lower case, e.g. notes"),
        field("Label", text("label"), "optional"), field("Type", select("type", types)), ...typeExtras(), check("required", "Required"),
        field("Default", text("default", { maxlength: 200 }), "optional: the value records already entered get")],
        body: () => ({ op, entity: v("entity"), attribute: typed({ name: v("name").trim(), type: v("type"), required: form.elements.required.checked,
          ...(v("label").trim() ? { label: v("label").trim() } : {}), ...(v("default").trim() ? { default: defaultOf(v("type"), v("default").trim()) } : {}) }) }) };
    case "add_entity":
      return { fields: [field("Name", text("name", { maxlength: 40 }), "lower case, e.g. supplier"), field("Label", text("label"), "e.g. Supplier"),
        field("Title attribute", text("title_attr", { maxlength: 40, value: "name" }), "a text attribute shown as each record's title")],
        body: () => ({ op, name: v("name").trim(), label: v("label").trim(), attributes: [{ name: v("title_attr").trim(), type: "text", required: true }] }) };
    case "link_entities":
      return { fields: [field("Each record of", select("entity", entityOptions(plan))), field("points to one", select("target", entityOptions(plan), plan.entities[1] && plan.entities[1].name)),
        check("required", "Required")],
        body: () => ({ op, entity: v("entity"), target: v("target"), required: form.elements.required.checked }) };
    case "add_role":
      return { fields: [field("Name", text("name", { maxlength: 40 }), "lower case, e.g. volunteer"), field("Label", text("label"), "e.g. Volunteer"),
        field("Edits", select("scope", [["own", "only their own rows"], ["all", "any row"]]))],
        body: () => ({ op, name: v("name").trim(), label: v("label").trim(), scope: v("scope") }) };
    case "set_scope":
      return { fields: [field("Role", select("role", plan.matrix.map((r) => [r.role, r.label]))), field("Record", select("entity", entityOptions(plan))),
        field("Reads", select("read", [["", "unchanged"], ["none", "nothing"], ["all", "all of them"], ["own", "only their own"]])),
        field("Writes", select("write", [["", "unchanged"], ["true", "yes"], ["false", "no"]]))],
        body: () => ({ op, role: v("role"), entity: v("entity"), ...(v("read") ? { read: v("read") } : {}), ...(v("write") ? { write: v("write") === "true" } : {}) }) };
    case "set_rule_params": {
      const caps = plan.capabilities.filter((c) => Object.values(c.params).some((x) => typeof x === "number" || typeof x === "boolean" || x === null));
      const cap = select("capability", caps.map((c) => [c.id, `${c.label} (${c.kind})`]));
      const box = h("div", { class: "plan-params" });
      const fill = () => {
        const c = caps.find((x) => x.id === cap.value);
        box.replaceChildren(...(c ? Object.entries(c.params) : []).filter(([, x]) => typeof x === "number" || typeof x === "boolean"
          || (x === null)).map(([k, x]) => (typeof x === "boolean"
          ? h("div", { class: "field check" }, h("label", {}, h("input", { type: "checkbox", name: `param:${k}`, "data-kind": "bool", "data-was": String(x), checked: x, "data-testid": `plan-param-${k}` }), ` ${k.replaceAll("_", " ")}`))
          : field(k.replaceAll("_", " "), h("input", { type: "number", step: "any", inputmode: "decimal", name: `param:${k}`, "data-kind": "number", "data-was": x === null ? "" : String(x), value: x === null ? "" : String(x), "data-testid": `plan-param-${k}` }), x === null ? "not set" : null))));
      };
      cap.addEventListener("change", fill);
      fill();
      return { fields: caps.length ? [field("Rule", cap), box] : [h("p", { class: "muted small" }, "No rule has a number or yes/no setting.")],
        body: () => {
          const params = {};
          for (const el of box.querySelectorAll("input[name^='param:']")) {
            const k = el.name.slice(6);
            if (el.dataset.kind === "bool") { if (String(el.checked) !== el.dataset.was) params[k] = el.checked; } // only what changed
            else if (el.value.trim() !== "" && el.value.trim() !== el.dataset.was) params[k] = Number(el.value);
            else if (el.value.trim() === "" && el.dataset.was !== "") params[k] = null;
          }
          return { op, capability: v("capability"), params };
        } };
    }
    case "bind_feature":
      return { fields: [field("Feature", select("feature", featureOptions(plan))),
        field("Build it with", select("capability", [["", "—"], ...plan.capabilities.map((c) => [c.id, `${c.label} (${c.kind})`])]), "a capability the plan already has"),
        field("or a new capability of the library", select("kind", [["", "—"], ...(plan.library || []).map((k) => [k, k.replaceAll("_", " ")])])),
        field("acting on", select("new_entity", entityOptions(plan)), "for a new capability")],
        body: () => ({ op, feature: Number(v("feature")), capabilities: v("capability") ? [v("capability")] : [],
          ...(v("kind") ? { new: { kind: v("kind"), entity: v("new_entity") } } : {}) }) };
    case "mark_not_needed":
      return { fields: [field("Feature", select("feature", featureOptions(plan)))], body: () => ({ op, feature: Number(v("feature")) }) };
    default:
      return { fields: [], body: () => ({ op }) };
  }
}

function editor(root, ctx, plan) {
  const problems = h("div", { class: "alert alert-error", role: "alert", tabindex: "-1", "data-testid": "plan-problems", hidden: true });
  const form = h("form", { class: "plan-edit-form", "data-testid": "plan-edit-form", novalidate: true });
  const kind = select("op", EDIT_KINDS, view.op);
  kind.id = "plan-op";
  const slot = h("div", { class: "plan-op-fields" });
  let current = null;
  const build = () => {
    view.op = kind.value;
    problems.hidden = true;
    current = editFields(kind.value, plan, form);
    slot.replaceChildren(...current.fields);
  };
  kind.addEventListener("change", build);
  const submit = h("button", { type: "submit", class: "btn btn-primary", "data-testid": "plan-apply", disabled: !ctx.canAct }, "Apply the change");
  form.append(field("Change", kind), slot, problems, h("div", { class: "actions" }, submit));
  build();
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (view.busy) return;
    view.busy = true;
    submit.disabled = true;
    problems.hidden = true;
    try {
      const res = await ctx.api.planEdit(view.pid, current.body());
      await load(root, ctx, `Done: ${res.edit.said}.`);
      const again = root.querySelector("#plan-op");
      if (again) again.focus();
    } catch (e) {
      const list = e.details && Array.isArray(e.details.problems) ? e.details.problems
        : Array.isArray(e.details) ? e.details.map((d) => (d.field ? `${d.field.replaceAll("_", " ")}: ${d.message}` : d.message)) : [];
      problems.replaceChildren(h("p", {}, e.status === 422 ? "That change was not made: it would leave the plan with problems." : e.message),
        list.length ? h("ul", {}, list.map((x) => h("li", { "data-testid": "plan-problem" }, x))) : null);
      problems.hidden = false;
      problems.focus();
      submit.disabled = !ctx.canAct;
    } finally {
      view.busy = false;
    }
  });
  return h("section", { class: "plan-editor", "aria-labelledby": "plan-editor-heading" },
    h("h4", { id: "plan-editor-heading" }, "Change the plan"), form);
}

function actions(root, ctx, editCount) {
  const err = h("div", { class: "alert alert-error", role: "alert", "data-testid": "plan-action-error", hidden: true });
  const undo = h("button", { type: "button", class: "btn", "data-testid": "plan-undo", disabled: !ctx.canAct || !editCount }, "Undo the last change");
  undo.addEventListener("click", async () => {
    undo.disabled = true;
    try {
      const res = await ctx.api.planUndo(view.pid);
      await load(root, ctx, `Undid change ${res.undone}.`);
      const h3 = root.querySelector("#plan-heading");
      if (h3) h3.focus();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      undo.disabled = false;
    }
  });
  if (view.mode === "change") return changeActions(root, ctx, undo, err, editCount);
  const comment = h("input", { id: "plan-approve-comment", maxlength: 1000, "data-testid": "plan-approve-comment" });
  const approve = h("button", { type: "button", class: "btn btn-primary", "data-testid": "plan-approve", disabled: !ctx.canAct }, "Approve the plan and build it");
  approve.addEventListener("click", async () => {
    approve.disabled = true;
    try {
      await ctx.api.planApprove(view.pid, comment.value.trim());
      const live = root.querySelector("#plan-live");
      if (live) live.textContent = "Plan approved; building it.";
      ctx.toast("Plan approved: the factory builds it now.", "success");
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      approve.disabled = !ctx.canAct;
    }
  });
  return h("div", { class: "plan-actions" },
    h("div", { class: "field" }, h("label", { for: "plan-approve-comment" }, "Comment ", h("span", { class: "hint" }, "(optional)")), comment),
    h("div", { class: "actions" }, undo, approve), err);
}

/** A change of a built app is not approved but built: a new run for one credit (web/views/change.js). */
function changeActions(root, ctx, undo, err, editCount) {
  const build = h("button", { type: "button", class: "btn btn-primary", "data-testid": "change-build", id: "change-build",
    disabled: !ctx.canAct || !editCount }, "Build this change");
  build.addEventListener("click", async () => {
    build.disabled = true;
    err.hidden = true;
    try {
      const res = await ctx.change.build();
      const live = root.querySelector("#plan-live");
      if (live) live.textContent = `Building version ${res.version}: the new run opens.`;
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
      build.disabled = !ctx.canAct;
    }
  });
  return h("div", { class: "plan-actions" },
    h("p", { class: "small muted" }, editCount ? "Building the change uses one credit." : "Make a change first: an unchanged plan has nothing to build."),
    h("div", { class: "actions" }, undo, build), err);
}
