// The frame /auth-relay.html?apiKey=…&appName=… (local sign-in with Google, see lib/google.js): the Auth
// emulator's IdP popup posts {eventType: "sendAuthEvent", data: {authEvent}} here; only a same-origin
// sender is believed, and the event goes only to the same-origin parent.
window.addEventListener("message", (e) => {
  if (e.origin !== location.origin || !e.data || e.data.eventType !== "sendAuthEvent") return;
  const authEvent = e.data.data && e.data.data.authEvent;
  if (authEvent) window.parent.postMessage({ type: "factory:idp-result", authEvent }, location.origin);
});
