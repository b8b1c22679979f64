// Firebase (Auth + Firestore) for the dashboard. The SDK's CDN builds are served from /vendor/firebase/
// through index.html's import map. Locally the front door serves /__/emulators.json and we connect
// to the emulators; in production Firebase Hosting serves the project's web config at
// /__/firebase/init.json.

const SDK = "https://www.gstatic.com/firebasejs/12.19.0";

async function json(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) return null;
  try {
    return await res.json();
  } catch {
    return null;
  }
}

export async function startFirebase() {
  let appMod, authMod, fsMod;
  try {
    [appMod, authMod, fsMod] = await Promise.all([
      import(`${SDK}/firebase-app.js`),
      import(`${SDK}/firebase-auth.js`),
      import(`${SDK}/firebase-firestore.js`),
    ]);
  } catch (e) {
    throw new Error("The Firebase SDK could not be loaded from /vendor/firebase/ (run emulator/vendor_web.sh). " + e);
  }
  const emulators = await json("/__/emulators.json");
  let config;
  if (emulators && emulators.projectId) {
    config = { apiKey: "local-api-key", projectId: emulators.projectId, authDomain: location.host };
  } else {
    config = await json("/__/firebase/init.json");
    if (!config) throw new Error("No Firebase configuration: neither /__/emulators.json nor /__/firebase/init.json answered.");
  }
  const app = appMod.initializeApp(config);
  const auth = authMod.getAuth(app);
  const db = fsMod.getFirestore(app);
  if (emulators && emulators.projectId) {
    authMod.connectAuthEmulator(auth, `http://${emulators.auth}`, { disableWarnings: true });
    fsMod.connectFirestoreEmulator(db, emulators.firestore.host, Number(emulators.firestore.port));
  }
  return { app, auth, db, authMod, fsMod, emulated: Boolean(emulators && emulators.projectId), config };
}
