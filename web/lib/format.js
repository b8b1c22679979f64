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

const STATUS_WORDS = {
  awaiting_approval: "waiting for approval", needs_input: "needs your input", plan_review: "plan ready for review",
  dispatched: "starting",
};

export function statusLabel(s) {
  return STATUS_WORDS[s] || String(s || "unknown").replaceAll("_", " ");
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

/** A length of time in founder words: "under 1 s", "42 s", "1 min 12 s", "2 h 5 min". */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(Number(ms))) return "–";
  ms = Math.max(0, Number(ms));
  if (ms < 1000) return "under 1 s";
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total} s`;
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

export function money(amount, currency = "usd") {
  if (amount === null || amount === undefined) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(amount / 100);
  } catch {
    return `${(amount / 100).toFixed(2)} ${currency}`;
  }
}

/** What a stage or run used: dollars where known, then compute time and tokens, in words. */
export function cost(c) {
  if (!c) return "–";
  const parts = [];
  if (c.usd) parts.push(Number(c.usd) < 0.01 ? "under $0.01" : `$${Number(c.usd).toFixed(2)}`);
  if (c.compute_s) parts.push(`${duration(Number(c.compute_s) * 1000)} of compute`);
  if (c.tokens) parts.push(`${Number(c.tokens).toLocaleString()} tokens`);
  return parts.length ? parts.join(" · ") : "–";
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
