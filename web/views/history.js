// Run history (issue 20): pages of PAGE runs ("Show older runs" widens the live query by a page), a
// status filter (a Firestore equality filter, so the live query and the REST fallback agree) and a
// title search (client-side, over the runs loaded).

export const PAGE = 20;
const API_MAX = 100; // GET /api/factory/pipelines answers at most 100 a page

export const FILTERS = [
  ["", "All runs"],
  ["running", "Running"],
  ["queued", "Queued"],
  ["awaiting_approval", "Waiting for approval"],
  ["needs_input", "Needs your input"],
  ["plan_review", "Plan ready for review"],
  ["completed", "Completed"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
];

/** The live query for the list: newest first, optionally one status, `limit` runs. */
export function runsQuery(fsMod, db, tenantId, { status, limit }) {
  const { collection, query, where, orderBy, limit: lim } = fsMod;
  const col = collection(db, "tenants", tenantId, "pipelines");
  return status
    ? query(col, where("status", "==", status), orderBy("created_at", "desc"), lim(limit))
    : query(col, orderBy("created_at", "desc"), lim(limit));
}

/** The same list through the REST API (the polling fallback): pages on with the cursor up to `limit`. */
export async function fetchRuns(api, { status, limit }) {
  const out = [];
  let cursor = null;
  do {
    const params = new URLSearchParams({ limit: String(Math.min(API_MAX, limit - out.length)) });
    if (status) params.set("status", status);
    if (cursor) params.set("cursor", cursor);
    const page = await api.get(`/api/factory/pipelines?${params}`);
    out.push(...(page.pipelines || []));
    cursor = page.next_cursor;
  } while (cursor && out.length < limit);
  return { items: out, more: Boolean(cursor) };
}

export function matches(p, search) {
  const q = (search || "").trim().toLowerCase();
  return !q || String(p.project_name || p.pipeline_id || "").toLowerCase().includes(q);
}
