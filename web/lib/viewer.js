// The artifact viewer: every kind a run stores, shown in the page (never in a new tab).
//
//   Markdown        rendered by marked, sanitised by DOMPurify (the only HTML that is ever parsed here)
//   JSON            a collapsible tree of <details>
//   design-system   the palette's swatches and the contrast ratio of each text/background pair
//   app-spec.json   the key features with their status sentences (built, partial, not covered), then the tree
//   wireframes/*.svg a gallery of <img> from Blob URLs (an SVG is never put into the DOM as markup, so any
//                   script in it never runs), each URL revoked when the gallery is replaced or closed
//   project.zip     a file tree from the API (GET .../project/files), one file's text at a time
//   anything else   plain text (an .html artifact is shown as its source)
//
// Hooks for tests: #artifact-viewer[data-name][data-kind] (role=region, heading #viewer-title), #viewer-body,
// [data-testid=viewer-markdown|json-tree|palette|contrast-row|spec-feature|wireframe|project-tree|project-file|
// file-content], #viewer-close. Escape closes it and focus goes back to what opened it.

import { marked } from "marked";
import DOMPurify from "dompurify";
import { $, h, show } from "./dom.js";
import { bytes, label } from "./format.js";

const TEXT = /\.(txt|ya?ml|html?|py|js|ts|css|toml|cfg|ini|sh|sql|csv)$|(^|\/)Dockerfile$/i;

/** What the viewer shows for an artifact name; null when only a download makes sense. */
export function viewKind(name) {
  const base = name.split("/").pop();
  if (/\.md$/i.test(name)) return "markdown";
  if (/\.svg$/i.test(name)) return "wireframes";
  if (name === "project.zip") return "project";
  if (base === "design-system.json") return "palette";
  if (base === "app-spec.json") return "spec";
  if (/\.json$/i.test(name)) return "json";
  if (TEXT.test(name)) return "text";
  return null;
}

// Links in rendered Markdown leave the dashboard safely; nothing else may carry a target.
DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.getAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

/** Markdown -> sanitised HTML (GitHub-flavoured: tables, and the <br> the reports use inside cells). */
export function markdownHtml(text) {
  const html = marked.parse(String(text), { gfm: true, async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ["style", "form", "input"] });
}

// ------------------------------------------------------------------------------------------ JSON tree

function jsonNode(key, value, depth) {
  const keyEl = key === null ? null : h("span", { class: "json-key" }, `${key}: `);
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
    const kind = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return h("details", { class: "json-node", open: depth < 2 },
      h("summary", {}, keyEl, h("span", { class: "json-count muted" }, kind)),
      h("ul", { class: "json-children" }, entries.map(([k, v]) => h("li", {}, jsonNode(k, v, depth + 1)))));
  }
  const type = value === null ? "null" : typeof value;
  return h("span", { class: "json-leaf" }, keyEl,
    h("span", { class: `json-${type}` }, type === "string" ? JSON.stringify(value) : String(value)));
}

export function jsonTree(value) {
  return h("div", { class: "json-tree", "data-testid": "json-tree" }, jsonNode(null, value, 0));
}

// ------------------------------------------------------------------------------------------ palette

function luminance(hex) {
  const m = /^#?([0-9a-f]{6})$/i.exec(String(hex || ""));
  if (!m) return null;
  const n = parseInt(m[1], 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/** WCAG 2 contrast ratio of two #rrggbb colours (null when either is not one). */
export function contrastRatio(a, b) {
  const la = luminance(a);
  const lb = luminance(b);
  if (la === null || lb === null) return null;
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function paletteView(design) {
  const colors = design.colors || {};
  const pairs = ((design.contrast || {}).pairs || []);
  const swatches = h("ul", { class: "swatches", "data-testid": "palette" }, Object.entries(colors).map(([name, hex]) => {
    const onWhite = contrastRatio(hex, "#ffffff");
    return h("li", { class: "swatch", "data-testid": "swatch", dataset: { token: name } },
      h("span", { class: "swatch-chip", style: `background:${/^#[0-9a-f]{6}$/i.test(hex) ? hex : "transparent"}`, "aria-hidden": "true" }),
      h("span", {}, h("strong", {}, name.replaceAll("_", " ")), " ", h("code", {}, String(hex))),
      onWhite ? h("span", { class: "muted small" }, `${onWhite.toFixed(2)}:1 on white`) : null);
  }));
  const rows = pairs.map((p) => {
    const ratio = typeof p.ratio === "number" ? p.ratio : contrastRatio(p.foreground_hex, p.background_hex);
    const ok = p.passes !== undefined ? Boolean(p.passes) : ratio >= (p.required || 4.5);
    return h("tr", { "data-testid": "contrast-row", dataset: { passes: String(ok) } },
      h("th", { scope: "row" }, `${String(p.foreground || "").replaceAll("_", " ")} on ${String(p.background || "").replaceAll("_", " ")}`),
      h("td", {}, h("span", { class: "contrast-sample", style: `color:${p.foreground_hex};background:${p.background_hex}` }, "Aa")),
      h("td", {}, ratio ? `${Number(ratio).toFixed(2)}:1` : "–"),
      h("td", {}, p.required ? `${p.required}:1 (${p.level || "AA"})` : "–"),
      h("td", {}, ok ? "Passes" : "Fails"),
      h("td", { class: "small" }, String(p.usage || "")));
  });
  return [
    h("h4", {}, "Palette"), swatches,
    rows.length ? h("h4", {}, "Contrast") : null,
    rows.length ? h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Contrast" }, h("table", { class: "viewer-table", "data-testid": "contrast-table" },
      h("thead", {}, h("tr", {}, ["Text on background", "Sample", "Ratio", "Needed", "Result", "Used for"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows))) : null,
  ];
}

// ------------------------------------------------------------------------------------------ app spec

const SPEC_STATUS = {
  built: "Built", partial: "Partly built", failing: "Built, but its tests fail", not_covered: "Not covered",
  planned: "Planned", unplanned: "Not covered",
};

function specFeatures(spec, coverage) {
  const byFeature = new Map((Array.isArray(coverage) ? coverage : []).map((r) => [r.feature, r]));
  const trace = Array.isArray(spec.trace) ? spec.trace : (spec.features || []).map((f) => ({ feature: f }));
  return h("ul", { class: "spec-features" }, trace.map((t) => {
    const c = byFeature.get(t.feature) || {};
    const status = c.status || t.status || "planned";
    const missing = (Array.isArray(c.not_built) ? c.not_built : t.not_built) || [];
    const sentences = [];
    if (c.built_as || t.built_as) sentences.push(String(c.built_as || t.built_as));
    if (missing.length) sentences.push(`Not built: ${missing.join("; ")}`);
    if ((c.reason || t.reason) && status !== "built") sentences.push(String(c.reason || t.reason));
    // The QA summary counts criteria ({total, passed}); the spec lists them ([{text}]).
    const counts = c.criteria && !Array.isArray(c.criteria) ? c.criteria : null;
    if (counts && counts.total) sentences.push(`Acceptance criteria: ${Number(counts.passed || 0)} of ${Number(counts.total)} passed`);
    const list = [c.criteria, t.criteria].find(Array.isArray) || [];
    const criteria = list.map((k) => h("li", { dataset: { passed: String(k.passed ?? "") } },
      `${k.passed === true ? "✓ " : k.passed === false ? "✗ " : ""}${k.text || k.id || ""}`));
    return h("li", { class: "spec-feature", "data-testid": "spec-feature", dataset: { status } },
      h("strong", {}, String(t.feature || "")), " ",
      h("span", { class: `chip chip-${status === "built" ? "completed" : status === "not_covered" || status === "failing" ? "failed" : "pending"}` },
        SPEC_STATUS[status] || String(status).replaceAll("_", " ")),
      sentences.map((s) => h("p", { class: "small" }, s)),
      criteria.length ? h("ul", { class: "small criteria" }, criteria) : null);
  }));
}

// ------------------------------------------------------------------------------------------ the viewer

export function createViewer({ api, run }) {
  const section = $("#artifact-viewer");
  const body = $("#viewer-body");
  const title = $("#viewer-title");
  const home = section.parentNode;
  const homeNext = section.nextSibling;
  let urls = [];
  let opener = null;
  let openerName = null;
  let token = 0;
  let current = null;

  function revoke() {
    for (const u of urls) URL.revokeObjectURL(u);
    urls = [];
  }

  function close({ restoreFocus = true } = {}) {
    if (section.hidden) return;
    token += 1;
    revoke();
    body.replaceChildren();
    show(section, false);
    section.dataset.name = "";
    current = null;
    if (restoreFocus && opener) {
      // The artifact list may have been drawn again meanwhile: then focus the same artifact's link.
      const target = document.contains(opener) ? opener : document.querySelector(
        `[data-testid='artifact'][data-name="${CSS.escape(openerName || "")}"] [data-testid='artifact-open']`);
      if (target) target.focus();
    }
    opener = null;
  }

  section.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
    }
  });
  $("#viewer-close").addEventListener("click", () => close());

  /** Put the viewer in `slot` (the approval gate's panel), or back in its place in the run view. */
  function mount(slot) {
    const target = slot || home;
    if (section.parentNode === target) return;
    if (slot) slot.append(section);
    else home.insertBefore(section, homeNext && homeNext.parentNode === home ? homeNext : null);
  }

  /** Show artifact `a` (`all`: the run's artifacts, for the wireframe gallery). `focus: false` when it
   *  opens by itself (the approval gate), so a live update never moves the reader's focus. */
  async function open(a, all, from, { focus = true } = {}) {
    const kind = viewKind(a.name);
    if (!kind) return;
    const mine = ++token;
    revoke();
    opener = focus ? (from || document.activeElement) : null;
    openerName = a.name;
    current = a.name;
    section.dataset.name = a.name;
    section.dataset.kind = kind;
    section.dataset.ready = "false";
    title.textContent = kind === "wireframes" ? `Wireframes (${label(a.stage)})` : a.name;
    body.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    show(section, true);
    if (focus) title.focus();
    try {
      const nodes = await render(kind, a, all || [], () => mine === token);
      if (mine !== token) return;
      body.replaceChildren(...[nodes].flat().filter(Boolean));
      section.dataset.ready = "true";
    } catch (e) {
      if (mine !== token) return;
      body.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, `Could not show ${a.name}: ${e.message}`));
      section.dataset.ready = "error";
    }
  }

  async function text(a) {
    return (await api.blob(a.url)).text();
  }

  async function render(kind, a, all, alive) {
    if (kind === "markdown") {
      const el = h("div", { class: "markdown", "data-testid": "viewer-markdown" });
      el.innerHTML = markdownHtml(await text(a)); // sanitised by DOMPurify just above
      for (const [i, t] of [...el.querySelectorAll("table")].entries()) {
        // Focusable, so a table wider than the viewer can be scrolled from the keyboard (axe).
        const wrap = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Table ${i + 1}` });
        t.replaceWith(wrap);
        wrap.append(t);
      }
      return el;
    }
    if (kind === "json" || kind === "palette" || kind === "spec") {
      const data = JSON.parse(await text(a));
      if (kind === "json") return jsonTree(data);
      const head = kind === "palette" ? paletteView(data) : [
        h("h4", {}, "Key features"),
        specFeatures(data, (((((run() || {}).stages || {}).qa || {}).summary || {}).coverage)),
      ];
      return [...head, h("details", { class: "raw" }, h("summary", {}, `All of ${a.name}`), jsonTree(data))];
    }
    if (kind === "wireframes") {
      const frames = all.filter((x) => x.stage === a.stage && viewKind(x.name) === "wireframes");
      const ordered = [a, ...frames.filter((x) => x.name !== a.name)];
      const figures = [];
      for (const f of ordered) {
        const blob = await api.blob(f.url);
        if (!alive()) return [];
        const url = URL.createObjectURL(new Blob([blob], { type: "image/svg+xml" }));
        urls.push(url);
        const name = f.name.split("/").pop().replace(/\.svg$/i, "");
        figures.push(h("figure", { class: "wireframe", "data-testid": "wireframe", dataset: { name: f.name } },
          h("img", { src: url, alt: `Wireframe of the ${name.replaceAll("-", " ")} page`, loading: "lazy" }),
          h("figcaption", {}, name)));
      }
      return h("div", { class: "gallery" }, figures);
    }
    if (kind === "project") return projectView(a);
    return h("pre", { class: "file-text", "data-testid": "file-content" }, await text(a));
  }

  async function projectView(a) {
    const pid = (run() || {}).pipeline_id;
    const data = await api.get(`/api/factory/pipelines/${encodeURIComponent(pid)}/project/files`);
    const content = h("div", { class: "project-file", "aria-live": "polite" },
      h("p", { class: "muted small" }, "Choose a file to read it."));
    const root = {};
    for (const f of data.files || []) {
      const parts = f.path.split("/");
      let node = root;
      for (const dir of parts.slice(0, -1)) node = (node[`${dir}/`] ||= {});
      node[parts.at(-1)] = f;
    }
    const showFile = async (f, btn) => {
      for (const b of section.querySelectorAll("[data-testid='project-file'][aria-current]")) b.removeAttribute("aria-current");
      btn.setAttribute("aria-current", "true");
      content.replaceChildren(h("p", { class: "muted" }, `Loading ${f.path}…`));
      try {
        const one = await api.get(`/api/factory/pipelines/${encodeURIComponent(pid)}/project/files/${f.path.split("/").map(encodeURIComponent).join("/")}`);
        content.replaceChildren(
          h("h4", { "data-testid": "file-path" }, one.path, " ", h("span", { class: "muted small" }, bytes(one.size))),
          one.text === null
            ? h("p", { class: "muted" }, "This file is not text; download project.zip to get it.")
            : h("pre", { class: "file-text", "data-testid": "file-content" }, one.text),
          one.truncated ? h("p", { class: "muted small" }, "Shortened; the whole file is in project.zip.") : null);
      } catch (e) {
        content.replaceChildren(h("p", { class: "alert alert-error", role: "alert" }, `Could not read ${f.path}: ${e.message}`));
      }
    };
    const tree = (node, depth) => h("ul", { class: "file-tree" }, Object.keys(node).sort((x, y) => {
      const dx = x.endsWith("/");
      const dy = y.endsWith("/");
      return dx === dy ? x.localeCompare(y) : dx ? -1 : 1;
    }).map((k) => {
      const v = node[k];
      if (k.endsWith("/")) {
        return h("li", {}, h("details", { open: depth < 1 }, h("summary", {}, k), tree(v, depth + 1)));
      }
      const btn = h("button", { type: "button", class: "linkish", "data-testid": "project-file", dataset: { path: v.path } }, k);
      btn.addEventListener("click", () => showFile(v, btn));
      return h("li", {}, btn, " ", h("span", { class: "muted small" }, bytes(v.size)));
    }));
    return h("div", { class: "project", "data-testid": "project-tree" },
      h("p", { class: "muted small" }, `${(data.files || []).length} files`),
      h("div", { class: "project-grid" }, h("nav", { "aria-label": "Project files" }, tree(root, 0)), content));
  }

  return { open, close, mount, section, get current() { return current; } };
}
