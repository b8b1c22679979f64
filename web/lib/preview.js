// A local preview's life: a countdown to its expiry, then an expired state (never "Deployed" with a dead
// link) and "Redeploy preview", which starts it again from the run's stored project at no credit cost
// (POST /api/factory/pipelines/{id}/preview).
//
// Hooks: #preview-expiry[data-expires-at] (inside #detail-preview), #preview-expired (role=status) with
// #preview-expired-text and #action-redeploy.

import { $, say, show } from "./dom.js";
import { time, toDate } from "./format.js";

/** "14:05" for 845 s: minutes and seconds, as a founder reads a countdown. */
export function countdown(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function previewExpiry(run) {
  const dep = ((run || {}).stages || {}).deployment || {};
  const summary = dep.summary || {};
  if (dep.status !== "completed" || summary.mode !== "local_preview" || !summary.preview) return null;
  const at = toDate(summary.preview.expires_at);
  return at ? at.getTime() : null;
}

export function createPreviewLife({ api, current, canAct, rerender, toast }) {
  let timer = null;

  function stop() {
    clearInterval(timer);
    timer = null;
  }

  /** Show the countdown or the expired state; true when the preview has expired (hide "Deployed"). */
  function render(run, url) {
    const expiresAt = url ? previewExpiry(run) : null;
    const left = expiresAt === null ? null : expiresAt - Date.now();
    const expired = left !== null && left <= 0;
    const label = $("#preview-expiry");
    show(label, left !== null && !expired);
    label.dataset.expiresAt = expiresAt === null ? "" : String(expiresAt);
    if (left !== null && !expired) label.textContent = `Expires in ${countdown(left)} (at ${time(new Date(expiresAt))})`;
    const box = $("#preview-expired");
    show(box, expired);
    if (expired) {
      $("#preview-expired-text").textContent = `The preview expired at ${time(new Date(expiresAt))}. `
        + "Redeploy it to open the app again: it starts from this run's stored project and uses no credit.";
      show($("#action-redeploy"), canAct());
    }
    stop();
    if (left !== null && !expired) {
      timer = setInterval(() => {
        const r = current();
        if (!r || r.pipeline_id !== run.pipeline_id) return stop();
        const now = expiresAt - Date.now();
        if (now <= 0) rerender(r);
        else label.textContent = `Expires in ${countdown(now)} (at ${time(new Date(expiresAt))})`;
      }, 1000);
    }
    return expired;
  }

  async function redeploy() {
    const run = current();
    if (!run) return;
    const btn = $("#action-redeploy");
    btn.disabled = true;
    say($("#action-error"), "");
    try {
      await api.post(`/api/factory/pipelines/${encodeURIComponent(run.pipeline_id)}/preview`, {});
      toast("The preview is running again.", "success");
    } catch (e) {
      say($("#action-error"), e.message);
    } finally {
      btn.disabled = false;
    }
  }

  $("#action-redeploy").addEventListener("click", redeploy);
  return { render, stop };
}
