// Formatting for the dashboard (dates, durations, money, sizes, labels).

export const STAGES = ["idea_validation", "tech_stack", "uiux_design", "development", "qa", "deployment"];
export const STAGE_LABELS = {
  idea_validation: "Idea validation",
  tech_stack: "Tech stack",
  uiux_design: "UI/UX design",
  development: "Development",
  qa: "QA",
  deployment: "Deployment",
};
export const TERMINAL = ["completed", "failed", "cancelled"];

export function label(s) {
  return STAGE_LABELS[s] || String(s || "").replaceAll("_", " ");
}

export function statusLabel(s) {
  return String(s || "unknown").replaceAll("_", " ");
}

/** A Firestore Timestamp, an ISO string, epoch seconds or a Date -> Date (or null). */
export function toDate(v) {
  if (!v) return null;
  if (v instanceof Date) return v;
  if (typeof v.toDate === "function") return v.toDate();
  if (typeof v === "number") return new Date(v < 1e12 ? v * 1000 : v);
  if (typeof v === "object" && "seconds" in v) return new Date(v.seconds * 1000);
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function time(v) {
  const d = toDate(v);
  return d ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
}

export function dateTime(v) {
  const d = toDate(v);
  return d ? d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" }) : "";
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "–";
  ms = Number(ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

export function money(amount, currency = "usd") {
  if (amount === null || amount === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

export function cost(c) {
  if (!c) return "–";
  const parts = [];
  if (c.compute_s) parts.push(`${Number(c.compute_s) < 1 ? Number(c.compute_s).toFixed(2) : Number(c.compute_s).toFixed(1)} s`);
  if (c.tokens) parts.push(`${Number(c.tokens).toLocaleString()} tok`);
  if (c.usd) parts.push(`$${Number(c.usd).toFixed(4)}`);
  return parts.length ? parts.join(" · ") : "–";
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
