// The versions of an app (issue 19, decision 0039). On a completed run, a "Versions" panel (a <details>, loaded when
// opened) lists GET .../versions (number, who, when, the run that built it), compares any two with GET
// .../versions/diff (kinds of record, attributes, links, roles and rules added, removed and changed, as lists), and
// rolls the run's preview back to an earlier version (POST .../preview/rollback, after an inline confirmation: the
// downgrade drops what later versions added), showing the preview's address or the API's error.
//
// Hooks: details#versions[data-testid=versions] > summary#versions-toggle; #versions-list >
// tr[data-testid=version-row][data-version][data-preview="true"|"false"] with
// button[data-testid=version-rollback][data-version], then #versions-confirm with #versions-confirm-yes and
// #versions-confirm-no; #versions-compare (form) with #versions-a, #versions-b; #versions-diff[data-from][data-to] >
// section[data-testid=diff-part][data-part] > li[data-testid=diff-item][data-kind=added|removed|changed][data-name];
// #versions-result (role=status) with a#versions-preview-link; #versions-error.

import { h, say, show } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";

const PARTS = [
  ["entities", "Kinds of record"],
  ["attributes", "Attributes"],
  ["links", "Links"],
  ["roles", "Roles"],
  ["rules", "Rules"],
];
const KIND_WORDS = { added: "Added", removed: "Removed", changed: "Changed" };

function valueWords(v) {
  if (v === null || v === undefined) return "none";
  if (Array.isArray(v)) return v.length ? v.map(valueWords).join(", ") : "none";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** "type: text → integer; required: false → true" for one changed item. */
function changeWords(c) {
  const keys = Object.keys({ ...(c.from || {}), ...(c.to || {}) });
  return keys.map((k) => `${k.replaceAll("_", " ")}: ${valueWords((c.from || {})[k])} → ${valueWords((c.to || {})[k])}`).join("; ");
}

/** The preview's version (what a rollback starts from), or null when the run has no local preview to roll back. */
function previewVersion(run, data) {
  const dep = ((run || {}).stages || {}).deployment || {};
  const summary = dep.summary || {};
  if (dep.status !== "completed" || summary.mode !== "local_preview") return null;
  return Number(summary.preview_version || (data && data.current) || 1);
}

/** Mount on the (empty) details#versions. `viewer()` is the signed-in uid. Returns render(run, canAct). */
export function createVersions(root, { api, viewer }) {
  const st = { pid: null, run: null, canAct: false, data: null, loading: false, shown: "", confirming: null };

  const list = h("tbody", { id: "versions-list" });
  const table = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": "versions-toggle" },
    h("table", { "data-testid": "versions-table" },
      h("thead", {}, h("tr", {}, ["Version", "Who", "When", "Run", "Preview"].map((t) => h("th", { scope: "col" }, t)))),
      list));
  const loading = h("p", { class: "muted small", id: "versions-loading" }, "Loading the versions…");
  const confirm = h("div", { id: "versions-confirm", class: "alert alert-info confirm", role: "group", "aria-labelledby": "versions-confirm-text", "data-testid": "versions-confirm", hidden: true });
  const result = h("div", { id: "versions-result", class: "alert alert-success", role: "status", "data-testid": "versions-result", tabindex: "-1", hidden: true });
  const err = h("div", { id: "versions-error", class: "alert alert-error", role: "alert", "data-testid": "versions-error", hidden: true });
  const pickA = h("select", { id: "versions-a", "data-testid": "versions-a" });
  const pickB = h("select", { id: "versions-b", "data-testid": "versions-b" });
  const compareBtn = h("button", { type: "submit", class: "btn", id: "versions-compare-submit", "data-testid": "versions-compare-submit" }, "Show the difference");
  const compare = h("form", { id: "versions-compare", class: "versions-compare", "data-testid": "versions-compare", novalidate: true, hidden: true },
    h("div", { class: "actions" },
      h("label", { for: "versions-a" }, "From"), pickA, h("label", { for: "versions-b" }, "to"), pickB, compareBtn));
  const diff = h("div", { id: "versions-diff", class: "versions-diff", "data-testid": "versions-diff", "aria-live": "polite" });
  const only = h("p", { class: "muted small", id: "versions-only-one", hidden: true },
    "Only one version so far: change the app to make another.");
  root.replaceChildren(h("summary", { id: "versions-toggle", "data-testid": "versions-toggle" }, "Versions of this app"),
    h("div", { class: "versions-body" }, loading, table, confirm, result, err, only, compare, diff));
  show(table, false);

  root.addEventListener("toggle", () => {
    if (root.open && !st.data && !st.loading) load();
  });

  async function load() {
    const pid = st.pid;
    st.loading = true;
    show(loading, true);
    say(err, "");
    try {
      const data = await api.versions(pid);
      if (st.pid !== pid) return;
      st.data = data;
      st.shown = "";
      drawPickers();
      drawRows();
    } catch (e) {
      if (st.pid === pid) say(err, `The versions could not be loaded: ${e.message}`);
    } finally {
      if (st.pid === pid) show(loading, false);
      st.loading = false;
    }
  }

  function drawPickers() {
    const vs = st.data.versions || [];
    const options = () => vs.map((v) => h("option", { value: String(v.version) }, `Version ${v.version}`));
    pickA.replaceChildren(...options());
    pickB.replaceChildren(...options());
    if (vs.length >= 2) {
      pickA.value = String(vs[vs.length - 2].version);
      pickB.value = String(vs[vs.length - 1].version);
    }
    show(compare, vs.length >= 2);
    show(only, vs.length < 2);
  }

  function drawRows() {
    if (!st.data) return;
    const at = previewVersion(st.run, st.data);
    const sig = `${st.pid}|${at}|${st.canAct}|${(st.data.versions || []).length}`;
    if (sig === st.shown) return;
    st.shown = sig;
    const me = viewer();
    list.replaceChildren(...(st.data.versions || []).map((v) => {
      const here = v.pipeline_id === st.pid;
      const canRollBack = st.canAct && at !== null && v.version < at;
      const rollback = canRollBack ? h("button", { type: "button", class: "btn", "data-testid": "version-rollback", dataset: { version: String(v.version) } },
        "Roll the preview back to this version") : null;
      if (rollback) rollback.addEventListener("click", () => ask(v.version, rollback));
      return h("tr", { "data-testid": "version-row", dataset: { version: String(v.version), preview: String(v.version === at) } },
        h("th", { scope: "row" }, `Version ${v.version}`),
        h("td", {}, !v.by ? "—" : v.by === me ? "you" : "a teammate"),
        h("td", {}, dateTime(v.at) || "—"),
        h("td", {}, here ? "this run" : h("a", { href: `#/runs/${encodeURIComponent(v.pipeline_id)}` }, "open its run")),
        h("td", {}, v.version === at ? h("strong", {}, "the preview runs this one") : rollback || "—"));
    }));
    show(table, true);
    if (st.confirming !== null && !(at !== null && st.confirming < at)) ask(null);
  }

  /** Ask before a rollback (the downgrade drops what later versions added, with its values); null closes it. */
  function ask(version, from = null) {
    st.confirming = version;
    if (version === null) {
      confirm.replaceChildren();
      show(confirm, false);
      return;
    }
    const yes = h("button", { type: "button", class: "btn btn-danger", id: "versions-confirm-yes", "data-testid": "versions-confirm-yes" },
      `Yes, roll back to version ${version}`);
    const no = h("button", { type: "button", class: "btn", id: "versions-confirm-no", "data-testid": "versions-confirm-no" }, "Keep the preview as it is");
    confirm.replaceChildren(
      h("p", { id: "versions-confirm-text" }, `Roll the preview back to version ${version}? Its records stay, but what later `
        + "versions added (their fields and kinds of record, with the values entered in them) is dropped from the preview's database."),
      h("div", { class: "actions" }, yes, no));
    show(confirm, true);
    no.addEventListener("click", () => {
      ask(null);
      if (from && from.isConnected) from.focus();
    });
    yes.addEventListener("click", () => rollBack(version, yes));
    yes.focus();
  }

  async function rollBack(version, btn) {
    const pid = st.pid;
    btn.disabled = true;
    say(err, "");
    say(result, "");
    try {
      const res = await api.rollbackPreview(pid, version);
      if (st.pid !== pid) return;
      ask(null);
      const url = (res.preview || {}).url || "";
      result.replaceChildren(`The preview runs version ${res.version} again${res.revision ? ` (its database at revision ${res.revision})` : ""}: `,
        h("a", { id: "versions-preview-link", "data-testid": "versions-preview-link", href: url, target: "_blank", rel: "noopener noreferrer" }, url));
      show(result, true);
      result.focus();
    } catch (e) {
      if (st.pid !== pid) return;
      say(err, e.message);
      btn.disabled = false;
    }
  }

  compare.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const pid = st.pid;
    const a = Number(pickA.value);
    const b = Number(pickB.value);
    compareBtn.disabled = true;
    say(err, "");
    try {
      const res = await api.versionsDiff(pid, a, b);
      if (st.pid !== pid) return;
      drawDiff(res);
    } catch (e) {
      if (st.pid === pid) say(err, e.message);
    } finally {
      compareBtn.disabled = false;
    }
  });

  function drawDiff(res) {
    const d = res.diff || {};
    diff.dataset.from = String(res.from);
    diff.dataset.to = String(res.to);
    const head = h("h4", {}, `From version ${res.from} to version ${res.to}`);
    if (d.same) {
      diff.replaceChildren(head, h("p", { "data-testid": "diff-same" }, "Nothing differs between these two versions."));
      return;
    }
    const parts = PARTS.filter(([k]) => d[k] && (d[k].added.length || d[k].removed.length || d[k].changed.length));
    diff.replaceChildren(head, ...parts.map(([k, title]) => {
      const p = d[k];
      const items = [
        ...p.added.map((n) => ["added", n, n]),
        ...p.removed.map((n) => ["removed", n, n]),
        ...p.changed.map((c) => ["changed", c.name, `${c.name} (${changeWords(c)})`]),
      ];
      return h("section", { "data-testid": "diff-part", dataset: { part: k } }, h("h5", {}, title),
        h("ul", {}, items.map(([kind, name, words]) => h("li", { "data-testid": "diff-item", dataset: { kind, name } },
          h("span", { class: `chip chip-diff-${kind}` }, KIND_WORDS[kind]), ` ${words}`))));
    }));
  }

  return function render(p, canAct) {
    const visible = Boolean(p) && p.status === "completed";
    show(root, visible);
    const want = visible ? p.pipeline_id : null;
    if (st.pid !== want) {
      Object.assign(st, { pid: want, data: null, shown: "", confirming: null });
      root.open = false;
      list.replaceChildren();
      show(table, false);
      show(compare, false);
      show(only, false);
      show(loading, true);
      diff.replaceChildren();
      confirm.replaceChildren();
      show(confirm, false);
      say(result, "");
      say(err, "");
    }
    if (!visible) return;
    st.run = p;
    st.canAct = canAct;
    drawRows();
  };
}
