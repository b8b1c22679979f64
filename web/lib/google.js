// Sign in with Google. In production: Firebase Auth's GoogleAuthProvider with signInWithPopup.
//
// Locally the SDK's popup and redirect flows cannot run: both load Google's gapi script from
// apis.google.com to talk to the handler's iframe, and this machine has no internet. So the emulated
// flow opens the Auth emulator's own identity-provider page (served on this origin by the front door,
// as Hosting serves /__/auth/handler in production) in a popup; the person picks or adds a Google
// account there; the page hands its result to a same-origin frame of ours (/auth-relay.html), and the
// SDK signs in with that Google ID token (GoogleAuthProvider.credential + signInWithCredential, which
// the emulator answers through signInWithIdp as Firebase does). docs/decisions/0041.

const RESULT = "factory:idp-result";
const TIMEOUT_MS = 5 * 60_000;

function relayFrame(apiKey, appName) {
  const src = `/auth-relay.html?apiKey=${encodeURIComponent(apiKey)}&appName=${encodeURIComponent(appName)}`;
  let frame = document.querySelector("iframe[data-auth-relay]");
  if (!frame) {
    frame = document.createElement("iframe");
    frame.dataset.authRelay = "";
    frame.title = "Sign-in relay";
    frame.hidden = true;
    frame.tabIndex = -1;
    frame.setAttribute("aria-hidden", "true");
    frame.src = src;
    document.body.append(frame);
  }
  return frame;
}

/** The emulated popup: resolves with the Google ID token the emulator's IdP page issued. */
function emulatorIdpPopup(fb) {
  const { apiKey } = fb.app.options;
  const appName = fb.app.name;
  const frame = relayFrame(apiKey, appName);
  const params = new URLSearchParams({
    apiKey, appName, authType: "signInViaPopup", providerId: "google.com",
    eventId: String(Math.floor(Math.random() * 1e12)), v: "12.19.0",
  });
  // Opened synchronously in the click, so the browser allows it.
  const popup = window.open(`/emulator/auth/handler?${params}`, "google-signin", "width=500,height=600");
  if (!popup) return Promise.reject(Object.assign(new Error("popup blocked"), { code: "auth/popup-blocked" }));
  return new Promise((resolve, reject) => {
    const done = (fn, value) => {
      window.removeEventListener("message", onMessage);
      clearInterval(watch);
      clearTimeout(timer);
      try { popup.close(); } catch { /* already closed */ }
      fn(value);
    };
    const onMessage = (e) => {
      if (e.origin !== location.origin || e.source !== frame.contentWindow || !e.data || e.data.type !== RESULT) return;
      const ev = e.data.authEvent;
      if (ev.error) return done(reject, Object.assign(new Error(ev.error.message || "Google sign-in failed"), { code: "auth/internal-error" }));
      const token = new URL(ev.urlResponse, location.origin).searchParams.get("id_token");
      if (!token) return done(reject, Object.assign(new Error("Google sign-in returned no token"), { code: "auth/internal-error" }));
      done(resolve, token);
    };
    window.addEventListener("message", onMessage);
    const watch = setInterval(() => {
      if (popup.closed) done(reject, Object.assign(new Error("closed"), { code: "auth/popup-closed-by-user" }));
    }, 500);
    const timer = setTimeout(() => done(reject, Object.assign(new Error("timeout"), { code: "auth/timeout" })), TIMEOUT_MS);
  });
}

/** Sign in with Google; resolves with the UserCredential. */
export async function signInWithGoogle(fb) {
  const { GoogleAuthProvider, signInWithPopup, signInWithCredential } = fb.authMod;
  if (!fb.emulated) {
    const provider = new GoogleAuthProvider();
    provider.setCustomParameters({ prompt: "select_account" });
    return signInWithPopup(fb.auth, provider);
  }
  const idToken = await emulatorIdpPopup(fb);
  return signInWithCredential(fb.auth, GoogleAuthProvider.credential(idToken));
}
