// The approval gate, inline: what the waiting stage made, opened in the viewer next to Approve and
// "Request changes". Request changes needs a comment; it is kept in the run's events (changes_requested)
// and the run keeps waiting (docs/decisions/0030): approve, cancel, or edit the idea and rerun.
//
// Hooks: #gate-review[data-stage] (hidden unless the run waits for an approval), #gate-artifacts >
// button[data-testid=gate-artifact][data-name], the viewer mounted in #gate-viewer-slot.

import { $, h, show } from "./dom.js";
import { label } from "./format.js";
import { viewKind } from "./viewer.js";

const PREFERRED = ["markdown", "wireframes", "palette", "spec", "json", "text", "project"];

export function renderGate({ run, artifacts, viewer }) {
  const panel = $("#gate-review");
  const stage = run && run.status === "awaiting_approval" ? run.awaiting_approval_for : null;
  if (!stage) {
    if (!panel.hidden && panel.contains(viewer.section)) viewer.close({ restoreFocus: false });
    viewer.mount(null);
    show(panel, false);
    panel.dataset.stage = "";
    return;
  }
  const mine = (artifacts || []).filter((a) => a.stage === stage && viewKind(a.name));
  // One entry for all wireframes: they open together as a gallery.
  const entries = [];
  for (const a of mine) {
    if (viewKind(a.name) === "wireframes" && entries.some((e) => viewKind(e.name) === "wireframes")) continue;
    entries.push(a);
  }
  $("#gate-review-heading").textContent = `Review ${label(stage)} before approving`;
  $("#gate-artifacts").replaceChildren(...entries.map((a) => {
    const wire = viewKind(a.name) === "wireframes";
    const n = wire ? mine.filter((x) => viewKind(x.name) === "wireframes").length : 0;
    return h("li", {}, h("button", {
      type: "button", class: "btn btn-quiet", "data-testid": "gate-artifact", dataset: { name: a.name },
      onclick: (e) => viewer.open(a, artifacts, e.currentTarget),
    }, wire ? `Wireframes (${n})` : a.name));
  }));
  show($("#gate-artifacts-empty"), entries.length === 0);
  viewer.mount($("#gate-viewer-slot"));
  show(panel, true);
  const key = `${run.pipeline_id}|${stage}|${entries.length}`;
  if (panel.dataset.opened !== key && entries.length) {
    panel.dataset.opened = key;
    const first = [...entries].sort((x, y) => PREFERRED.indexOf(viewKind(x.name)) - PREFERRED.indexOf(viewKind(y.name)))[0];
    viewer.open(first, artifacts, null, { focus: false });
  }
  panel.dataset.stage = stage;
}
