// "Change the app" (issue 19, decision 0039). On a completed run, "Change the app" (POST .../change) opens the built
// spec as version N+1 in the same plan editor (web/views/plan.js in its change mode: the same edits and undo), and
// "Build this change" there (POST .../change/build with an Idempotency-Key made here) starts a new run from
// development for one credit; the page then opens that run. Whether a change is open is read from GET .../plan (404:
// the run never had one) once per run and again when its events move on (a teammate may open or build one).
//
// Hooks: #change-app[data-change="none"|"open"|"built"] with #action-change-app, #change-app-text,
// #change-app-error and, once built, a#change-built-link (the run that built it).

import { h, say, show } from "../lib/dom.js";

function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return `change-${crypto.randomUUID()}`;
  return `change-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** The change of this run's app as the dashboard shows it: "open", "built" or "none" (a run's own build is none). */
function stateOf(change) {
  const s = (change || {}).status;
  return s === "open" || s === "built" ? s : "none";
}

/**
 * Mount on the (empty) section #change-app. `rerender()` redraws what depends on whether a change is open (the plan
 * editor); `onBuilt(result)` runs once the new run exists. Returns {render(run, canAct), isOpen(run), build()}.
 */
export function createChange(root, { api, toast, rerender, onBuilt }) {
  const st = { pid: null, seq: null, change: null, known: false, loading: false, shown: "", canAct: false };
  // One key per (run, version) until the build answers: a retried click after a lost answer finds the run it paid for.
  let pending = null;

  const text = h("p", { id: "change-app-text", class: "small" });
  const btn = h("button", { type: "button", id: "action-change-app", class: "btn", "data-testid": "action-change-app" },
    "Change the app");
  const err = h("div", { id: "change-app-error", class: "alert alert-error", role: "alert", "data-testid": "change-app-error", hidden: true });
  const built = h("p", { id: "change-built", hidden: true });
  root.replaceChildren(h("h3", { id: "change-app-heading" }, "Change the app"), text, built,
    h("div", { class: "actions" }, btn), err);

  async function load() {
    const pid = st.pid;
    st.loading = true;
    let change = null;
    try {
      change = (await api.plan(pid)).change || null;
    } catch (e) {
      if (e.status !== 404) {  // 404: no plan stored (the run was never reviewed nor changed): nothing open
        if (st.pid === pid) say(err, `Whether a change is open could not be read: ${e.message}`);
      }
    } finally {
      st.loading = false;
    }
    if (st.pid !== pid) return;
    const was = stateOf(st.change);
    st.change = change;
    st.known = true;
    draw();
    if (was !== stateOf(change)) rerender();
  }

  function draw() {
    const s = stateOf(st.change);
    const c = st.change || {};
    const sig = `${st.pid}|${s}|${c.version}|${c.pipeline_id}|${st.canAct}|${st.known}`;
    if (sig === st.shown) return;
    st.shown = sig;
    root.dataset.change = s;
    show(root, st.known);
    show(btn, s === "none" && st.canAct);
    btn.disabled = false;
    if (s === "open") {
      text.textContent = `Version ${c.version} of the app is open in the plan editor below (based on version `
        + `${c.base_version}). Change what should be different, then build this change.`;
    } else if (s === "built") {
      text.textContent = `Version ${c.version} of this app was built by a newer run; change that one instead.`;
    } else {
      text.textContent = "Opens this app's plan as its next version in the plan editor. Building the change is a new run "
        + "for one credit, and the preview keeps the records people entered (new fields get their default).";
    }
    if (s === "built" && c.pipeline_id) {
      built.replaceChildren("Open ", h("a", { id: "change-built-link", "data-testid": "change-built-link",
        href: `#/runs/${encodeURIComponent(c.pipeline_id)}` }, `the run of version ${c.version}`), ".");
      show(built, true);
    } else {
      built.replaceChildren();
      show(built, false);
    }
  }

  btn.addEventListener("click", async () => {
    const pid = st.pid;
    if (!pid) return;
    btn.disabled = true;
    say(err, "");
    try {
      const res = await api.changeApp(pid);
      if (st.pid !== pid) return;
      st.change = { status: "open", version: res.version, base_version: res.base_version };
      draw();
      rerender();
      toast(`Version ${res.version} of the app is open in the plan editor.`, "success");
    } catch (e) {
      if (st.pid !== pid) return;
      say(err, e.message);
      btn.disabled = false;
      if (e.code === "change_open" || e.code === "change_built") load();
    }
  });

  return {
    render(p, canAct) {
      if (!p || p.status !== "completed") {
        if (st.pid) Object.assign(st, { pid: null, seq: null, change: null, known: false, shown: "" });
        say(err, "");
        show(root, false);
        return;
      }
      if (st.pid !== p.pipeline_id) {
        Object.assign(st, { pid: p.pipeline_id, seq: null, change: null, known: false, shown: "" });
        say(err, "");
      }
      st.canAct = canAct;
      if (st.seq !== p.event_seq && !st.loading) {
        st.seq = p.event_seq;
        load();
      }
      draw();
    },

    /** True while this completed run has a change open (the plan editor shows it). */
    isOpen(p) {
      return Boolean(p && p.pipeline_id === st.pid && stateOf(st.change) === "open");
    },

    /** Build the open change (plan.js's "Build this change"); an API error is thrown with the API's message. */
    async build() {
      const pid = st.pid;
      const version = (st.change || {}).version;
      if (!pending || pending.pid !== pid || pending.version !== version) pending = { pid, version, key: newKey() };
      const res = await api.buildChange(pid, pending.key);
      pending = null;
      if (st.pid === pid) {
        st.change = { ...st.change, status: "built", pipeline_id: res.pipeline_id };
        draw();
        rerender();
      }
      onBuilt(res);
      return res;
    },
  };
}
