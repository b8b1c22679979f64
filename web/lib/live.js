// Honest live state for the dashboard (issue 20).
//
// Every Firestore listener the page holds goes through `live.listen`, which asks the SDK for metadata
// changes too (`includeMetadataChanges: true`) and so knows, per listener, whether what it last
// delivered came from the server or only from the SDK's cache (`metadata.fromCache`). From that and
// the browser's online/offline events the indicator says "Connected", "Reconnecting…" or "Offline",
// with the time of the last update known to be the server's.
//
// When realtime fails (a listener errors, or stays cache-only for STALE_MS while the page is open)
// a polling fallback calls `reload()` every POLL_MS: the app reloads everything the live view shows
// through the REST API. It stops once every listener is back on server data. An errored listener is
// dead in the SDK, so it is subscribed again on the browser's `online` event and every RESUBSCRIBE_MS
// while polling.
//
// Hooks for tests: #live-indicator[data-live] "off" | "realtime" | "reconnecting" | "polling" | "offline",
// #live-state (the words), #live-updated[data-at] (ISO time of the last server data).

export const STALE_MS = 5000;
export const POLL_MS = 3000;
export const RESUBSCRIBE_MS = 20_000;

const WORDS = {
  off: "",
  realtime: "Connected",
  reconnecting: "Reconnecting…",
  polling: "Reconnecting… (refreshing every few seconds)",
  offline: "Offline",
};

export function createLive({ fsMod, indicator, words, updated, reload, staleMs = STALE_MS, pollMs = POLL_MS }) {
  const watches = new Map(); // key -> {state: "waiting"|"server"|"cache"|"error", since, stop, args}
  let online = navigator.onLine !== false;
  let pollTimer = null;
  let lastResubscribe = 0;
  let lastUpdate = null;
  let reloading = false;
  let lastPollOk = null;

  function markServerData() {
    lastUpdate = new Date();
  }

  function listen(key, ref, onData, onError) {
    unlisten(key);
    const w = { state: "waiting", since: Date.now(), stop: null, args: [ref, onData, onError] };
    watches.set(key, w);
    w.stop = fsMod.onSnapshot(ref, { includeMetadataChanges: true }, (snap) => {
      if (watches.get(key) !== w) return;
      const fromCache = snap.metadata.fromCache;
      const next = fromCache ? "cache" : "server";
      if (next !== w.state) w.since = w.state === "waiting" && next === "cache" ? w.since : Date.now();
      w.state = next;
      w.pendingWrites = snap.metadata.hasPendingWrites;
      if (!fromCache) markServerData();
      onData(snap, { fromCache });
      evaluate();
    }, (e) => {
      if (watches.get(key) !== w) return;
      w.state = "error";
      w.since = Date.now();
      w.error = e;
      if (onError) onError(e);
      evaluate();
    });
    evaluate();
  }

  function unlisten(key) {
    const w = watches.get(key);
    if (!w) return;
    watches.delete(key);
    try { w.stop && w.stop(); } catch { /* already stopped */ }
    evaluate();
  }

  function stopAll() {
    for (const key of [...watches.keys()]) unlisten(key);
    stopPolling();
    lastUpdate = null;
    render("off");
  }

  function resubscribeErrored() {
    lastResubscribe = Date.now();
    for (const [key, w] of watches) if (w.state === "error") listen(key, ...w.args);
  }

  /** Is realtime failing: a listener errored, or it has had nothing but cache for staleMs? */
  function degraded() {
    const t = Date.now();
    for (const w of watches.values()) {
      if (w.state === "error") return true;
      if ((w.state === "waiting" || w.state === "cache") && t - w.since >= staleMs) return true;
    }
    return false;
  }

  function healthy() {
    return watches.size > 0 && [...watches.values()].every((w) => w.state === "server" && !w.pendingWrites);
  }

  async function tick() {
    if (reloading) return;
    reloading = true;
    try {
      await reload();
      lastPollOk = true;
      markServerData();
    } catch {
      lastPollOk = false;
    } finally {
      reloading = false;
      render();
    }
    if (Date.now() - lastResubscribe >= RESUBSCRIBE_MS) resubscribeErrored();
  }

  function startPolling() {
    if (pollTimer) return;
    lastResubscribe = Date.now();
    pollTimer = setInterval(tick, pollMs);
    tick();
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
    lastPollOk = null;
  }

  function mode() {
    if (!watches.size && !pollTimer) return "off";
    if (!online) return "offline";
    if (healthy()) return "realtime";
    if (pollTimer && lastPollOk) return "polling";
    return "reconnecting";
  }

  function render(m = mode()) {
    if (indicator.dataset.live !== m) indicator.dataset.live = m;
    const text = WORDS[m] || "";
    if (words.textContent !== text) words.textContent = text;
    const at = lastUpdate && m !== "off" ? lastUpdate : null;
    const label = at ? `last update ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })}` : "";
    if (updated.textContent !== label) updated.textContent = label;
    updated.dataset.at = at ? at.toISOString() : "";
  }

  function evaluate() {
    if (healthy()) stopPolling();
    else if (degraded()) startPolling();
    render();
  }

  window.addEventListener("online", () => { online = true; resubscribeErrored(); evaluate(); });
  window.addEventListener("offline", () => { online = false; evaluate(); });
  // Cache-only time is measured, not evented: look again every second.
  setInterval(() => { if (watches.size) evaluate(); }, 1000);

  return {
    listen,
    unlisten,
    stopAll,
    evaluate,
    /** True while the REST fallback is what keeps the page current. */
    get polling() { return Boolean(pollTimer); },
    /** The state of one listener: "waiting" | "server" | "cache" | "error" | undefined. */
    state: (key) => (watches.get(key) || {}).state,
  };
}
