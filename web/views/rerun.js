// "Rerun from…" (issue 20): on a finished run, a select of the stages it can restart at (each one whose
// predecessors all completed) and a button. POST /api/factory/pipelines/{id}/rerun starts a NEW run (one
// credit) whose earlier stages reuse this run's results and artifacts; the page then opens it (#/runs/<id>).

import { STAGES, TERMINAL, label } from "../lib/format.js";
import { h, say, show } from "../lib/dom.js";

/** The stages a finished run can be rerun from: the first stage, and each one after a completed stage. */
export function rerunStages(p) {
  if (!p || !TERMINAL.includes(p.status)) return [];
  const out = [];
  for (const s of STAGES) {
    out.push(s);
    if (((p.stages || {})[s] || {}).status !== "completed") break;
  }
  return out;
}

function newKey() {
  if (globalThis.crypto && crypto.randomUUID) return `rerun-${crypto.randomUUID()}`;
  return `rerun-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * Mount on the form (#rerun-form with #rerun-stage, #action-rerun, #rerun-error). `onStarted(result)` runs after
 * the new run exists. Returns render(run, canAct) to call on every update of the open run.
 */
export function createRerun(form, { api, onStarted }) {
  const select = form.querySelector("#rerun-stage");
  const btn = form.querySelector("#action-rerun");
  const err = form.querySelector("#rerun-error");
  let run = null;
  let shown = "";
  // One key per (run, stage) until it succeeds: a retried click after a lost answer finds the run it paid for.
  let pending = null;

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!run) return;
    const stage = select.value;
    if (!pending || pending.id !== run.pipeline_id || pending.stage !== stage) {
      pending = { id: run.pipeline_id, stage, key: newKey() };
    }
    say(err, "");
    btn.disabled = true;
    try {
      const res = await api.rerun(run.pipeline_id, stage, pending.key);
      pending = null;
      onStarted(res, stage);
    } catch (e) {
      say(err, e.message);
    } finally {
      btn.disabled = false;
    }
  });

  return function render(p, canAct) {
    run = p;
    const stages = canAct ? rerunStages(p) : [];
    show(form, stages.length > 0);
    const sig = `${p.pipeline_id}:${stages.join(",")}`;
    if (sig === shown) return;
    shown = sig;
    say(err, "");
    select.replaceChildren(...stages.map((s) => h("option", { value: s }, label(s))));
    select.value = stages[stages.length - 1] || "";  // the latest place it can restart: the most reuse
  };
}
