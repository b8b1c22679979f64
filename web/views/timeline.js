// The run as a timeline (issue 20): events newest first, stages as rows (cards on a phone) whose
// running duration ticks, the progress bar in words, and stage changes announced to screen readers.

import { h } from "../lib/dom.js";
import { STAGES, TERMINAL, cost, duration, label, statusLabel, time, toDate } from "../lib/format.js";

const RUNNING = ["running", "dispatched"];

/** "3 of 6 stages done" */
export function stagesDone(p) {
  const stages = p.stages || {};
  const done = STAGES.filter((s) => (stages[s] || {}).status === "completed").length;
  return `${done} of ${STAGES.length} stages done`;
}

/** One event into the feed, newest (highest seq) first; a repeat of the same event is ignored. */
export function addEvent(feed, id, e, viewer = null) {
  if (feed.querySelector(`[data-event-id="${CSS.escape(id)}"]`)) return;
  const seq = Number(e.seq || 0);
  const at = toDate(e.at);
  const li = h("li", {
    "data-testid": "event", class: `event event-${e.type}`, dataset: { type: e.type || "", seq: String(seq), eventId: id },
  },
  h("time", { class: "muted small", datetime: at ? at.toISOString() : null }, time(e.at)),
  h("span", { class: "event-type" }, statusLabel(e.type)),
  e.stage ? h("span", { class: "muted small" }, label(e.stage)) : null,
  h("span", { class: "event-message" }, e.message || statusLabel(e.type)),
  e.comment ? h("q", { class: "event-comment", "data-testid": "event-comment" }, String(e.comment)) : null,
  e.comment && e.by ? h("span", { class: "muted small" }, viewer && e.by === viewer ? "— you" : "— a teammate") : null,
  typeof e.progress === "number" ? h("span", { class: "muted small nowrap" }, `${e.progress}%`) : null);
  const before = [...feed.children].find((c) => Number(c.dataset.seq) < seq);
  feed.insertBefore(li, before || null);
}

function stageDuration(st) {
  if (st.duration_ms !== undefined && st.duration_ms !== null) return { text: duration(st.duration_ms) };
  const a = toDate(st.started_at);
  if (a && RUNNING.includes(st.status)) return { text: `${duration(Date.now() - a.getTime())} so far`, started: a };
  const b = toDate(st.finished_at);
  return { text: a && b ? duration(b - a) : "–" };
}

/** The stage rows; each cell carries data-label so a phone shows them as labelled cards. */
export function renderStages(tbody, p) {
  const stages = p.stages || {};
  tbody.replaceChildren(...STAGES.map((s) => {
    const st = stages[s] || { status: "pending" };
    const current = s === p.current_stage && !TERMINAL.includes(p.status);
    const d = stageDuration(st);
    return h("tr", { "data-testid": `stage-${s}`, dataset: { status: st.status || "pending" }, class: current ? "current" : null },
      h("th", { scope: "row" }, label(s)),
      h("td", { dataset: { col: "status", label: "Status" } },
        h("span", { class: `chip chip-${st.status || "pending"}` }, statusLabel(st.status || "pending"))),
      h("td", { dataset: { col: "attempt", label: "Attempt" } }, st.attempt ? String(st.attempt) : "–"),
      h("td", {
        dataset: { col: "duration", label: "Duration", ...(d.started ? { started: String(d.started.getTime()) } : {}) },
      }, d.text),
      h("td", { dataset: { col: "cost", label: "Used" } }, cost(st.cost)));
  }));
}

/** Running stages' durations go up every second without a new snapshot. */
export function startTicker(root) {
  return setInterval(() => {
    for (const cell of root.querySelectorAll("td[data-col='duration'][data-started]")) {
      cell.textContent = `${duration(Date.now() - Number(cell.dataset.started))} so far`;
    }
  }, 1000);
}

/** Say what changed since the last snapshot of the same run ("Tech stack completed."), politely. */
export function announceStages(region, p, prev) {
  if (!prev || prev.pipeline_id !== p.pipeline_id) return;
  const said = [];
  for (const s of STAGES) {
    const was = ((prev.stages || {})[s] || {}).status;
    const now = ((p.stages || {})[s] || {}).status;
    if (now && was !== now && now !== "pending") said.push(`${label(s)} ${statusLabel(now)}.`);
  }
  if (prev.status !== p.status) said.push(`Run ${statusLabel(p.status)}.`);
  if (said.length) region.textContent = said.join(" ");
}
