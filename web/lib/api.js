// Calls to our /api (same origin, behind the front door). Every call carries the Firebase ID token.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** [{field, message}] when the server said which fields were wrong. */
  get fieldErrors() {
    return Array.isArray(this.details) ? this.details.filter((d) => d && d.field) : [];
  }
}

export function createApi(getToken) {
  async function request(method, path, body, { auth = true, raw = false, headers: extra = {} } = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (auth) {
      const token = await getToken();
      if (!token) throw new ApiError(401, "signed_out", "You are signed out; sign in again.");
      headers.Authorization = `Bearer ${token}`;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
    } catch (e) {
      throw new ApiError(0, "network", "The server could not be reached; check your connection and try again.");
    }
    if (raw && res.ok) return res;
    const text = await res.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(res.status, err.code || `http_${res.status}`,
        err.message || `The request failed (HTTP ${res.status}).`, err.details ?? null);
    }
    return data;
  }

  return {
    request,
    get: (path, opts) => request("GET", path, undefined, opts),
    post: (path, body = {}, opts) => request("POST", path, body, opts),
    signup: (body) => request("POST", "/api/auth/signup", body, { auth: false }),
    me: () => request("GET", "/api/me"),
    plans: () => request("GET", "/api/billing/plans"),
    billing: () => request("GET", "/api/billing"),
    checkout: (plan) => request("POST", "/api/billing/checkout", { plan }),
    /** The key makes a repeat of the same submission return the same run (never a second charge). */
    submitIdea: (idea, idempotencyKey) => request("POST", "/api/ideas", idea, { headers: { "Idempotency-Key": idempotencyKey } }),
    pipeline: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}`),
    /** The run's idea as written (pre-fills "Edit & resume" and "Edit & rerun"). */
    pipelineIdea: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/idea`),
    pipelines: (limit = 20) => request("GET", `/api/factory/pipelines?limit=${limit}`),
    action: (id, action, body = {}) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/${action}`, body),
    /** A new run of a finished run from `fromStage` (one credit; the key makes a repeat return the same run). */
    rerun: (id, fromStage, idempotencyKey) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/rerun`,
      { from_stage: fromStage }, { headers: { "Idempotency-Key": idempotencyKey } }),
    artifacts: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/artifacts`),
    /** The deployed app's owner claim link: the workspace owner's and the run starter's only (403 for others). */
    claim: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/claim`),
    status: () => request("GET", "/api/factory/status"),
    /** The plan under review (issue 19): the spec as a founder reads it, with the edits made so far. */
    plan: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/plan`),
    /** One typed edit ({op, ...}); a 422 plan_edit_invalid carries details.problems in the founder's words. */
    planEdit: (id, edit) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/plan/edits`, edit),
    planUndo: (id) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/plan/undo`, {}),
    planApprove: (id, comment) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/plan/approve`,
      comment ? { comment } : {}),
    /** Change the built app (issue 19): its spec opens as version N+1 in the plan editor (409 when one is open). */
    changeApp: (id) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/change`, {}),
    /** Build the open change: a new run from development (one credit; the key makes a repeat return the same run). */
    buildChange: (id, idempotencyKey) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/change/build`,
      {}, { headers: { "Idempotency-Key": idempotencyKey } }),
    /** The versions of the run's app, oldest first: {current, versions: [{version, pipeline_id, by, at}]}. */
    versions: (id) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/versions`),
    versionsDiff: (id, a, b) => request("GET", `/api/factory/pipelines/${encodeURIComponent(id)}/versions/diff?${
      new URLSearchParams({ a: String(a), b: String(b) })}`),
    /** Restart the run's preview at an earlier version (its database downgraded, the records kept). */
    rollbackPreview: (id, version) => request("POST", `/api/factory/pipelines/${encodeURIComponent(id)}/preview/rollback`,
      { version }),
    /** An artifact as a Blob (the URL needs the bearer header, so no plain link works). */
    async blob(url) {
      const res = await request("GET", url, undefined, { raw: true });
      return res.blob();
    },
  };
}
